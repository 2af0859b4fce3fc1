// The kernels of the optimizers (optim/sgd.hpp, optim/adam.hpp) on the parameters' device: the
// CPU kernels of backend/cpu/optim.hpp, or on CUDA the fused multi-tensor steps of
// cuda/ember/cuda/optim.cuh. No autograd: the optimizers update leaves in place under
// NoGradGuard. (Gradient clipping's kernels are in backend/clip.hpp.)
//
// Parameters and gradients arrive as TensorImpls (any floating-point or complex dtype,
// contiguous, checked by optim/optimizer.hpp); a complex one is updated as pairs of reals
// (torch.view_as_real), exactly as PyTorch does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include <ember/backend/cpu/optim.hpp>
#include <ember/backend/device.hpp>
#include <ember/core/tensor_class.hpp>

namespace ember {

namespace cuda {

// Fused optimizer steps over many parameters (multi-tensor: one launch per chunk of tensors),
// formula for formula and rounding for rounding as backend/cpu/optim.hpp. Pointers are device
// pointers to n reals (a complex parameter as pairs of reals). For R = float and double.
template <class R>
struct SgdParam {
  R* param = nullptr;
  const R* grad = nullptr;
  R* momentum_buffer = nullptr;  // null without momentum
  int64_t n = 0;
  bool first = false;  // the buffer's first step (buf = g)
  double lr = 0, momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false, maximize = false;
};
template <class R>
void sgd_step(const SgdParam<R>* params, size_t count, int device);

template <class R>
struct AdamParam {
  R* param = nullptr;
  const R* grad = nullptr;
  R* exp_avg = nullptr;
  R* exp_avg_sq = nullptr;
  R* max_exp_avg_sq = nullptr;  // null without amsgrad
  int64_t n = 0;
  int64_t step = 1;        // this parameter's step count t, after incrementing
  bool decoupled = false;  // AdamW's weight decay
  double lr = 0, beta1 = 0, beta2 = 0, eps = 0, weight_decay = 0;
  bool maximize = false;
};
template <class R>
void adam_step(const AdamParam<R>* params, size_t count, int device);

}  // namespace cuda

namespace backend {

// Calls f(static_cast<R*>(nullptr)) with R the real type underneath a floating-point or complex
// dtype: optimizers and clipping treat complex<R> storage as pairs of R.
template <class F>
void visit_real_dtype(DType d, const char* op, F&& f) {
  visit_dtype(d, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    if constexpr (is_differentiable_v<T>)
      f(static_cast<real_t<T>*>(nullptr));
    else
      fail(op, ": expected a floating-point or complex tensor, got dtype ", dtype_name(d));
  });
}

// The elements of a contiguous tensor as reals (complex numbers as (re, im) pairs).
template <class R>
R* real_data(const TensorImpl& t) {
  return reinterpret_cast<R*>(static_cast<char*>(t.storage->data()) +
                              t.offset * int64_t(dtype_size(t.dtype)));
}
inline int64_t real_numel(const TensorImpl& t) {
  const bool complex = t.dtype == DType::Complex64 || t.dtype == DType::Complex128;
  return t.numel() * (complex ? 2 : 1);
}

// True when t lives on a CUDA device. A CUDA tensor in a CPU-only build throws check_cpu's
// error, so the optimizers accept a parameter or gradient anywhere in a CUDA build and on the
// CPU only otherwise.
inline bool tensor_on_cuda(const char* op, const TensorImpl& t) {
  const Device d = t.storage->device();
  if (!d.is_cuda()) return false;
  if constexpr (!cuda_built) check_cpu(d, op);
  return true;
}

// Moves an optimizer state tensor to `device` when it is elsewhere (a state_dict loaded from
// another device); a no-op otherwise.
inline void move_state_to(AnyTensor& state, const Device& device) {
  if (!state.defined() || state.impl->storage->device() == device) return;
  state = visit_dtype(state.impl->dtype, [&](auto* tag) -> AnyTensor {
    using T = std::remove_pointer_t<decltype(tag)>;
    return Tensor<T>(state.impl).detach().to(device);
  });
}

// The updates of one optimizer step: a CPU parameter's runs at once; a CUDA parameter's is
// queued and launch() runs the queue, one multi-tensor launch per (optimizer kind, real type,
// device) and chunk of parameters. Pointers must stay valid until launch() (the optimizer holds
// the tensors).
class OptimizerSteps {
 public:
  // SGD (optim/sgd.hpp) of p with its gradient and momentum buffer (null without momentum).
  void sgd(const TensorImpl& p, const TensorImpl* buf, bool first, double lr, double momentum,
           double dampening, double weight_decay, bool nesterov, bool maximize, const char* op) {
    const bool cuda = tensor_on_cuda(op, p);
    visit_real_dtype(p.dtype, op, [&](auto* tag) {
      using R = std::remove_pointer_t<decltype(tag)>;
      R* const m = buf ? real_data<R>(*buf) : nullptr;
      if (!cuda) {
        cpu::sgd_step<R>(real_data<R>(p), real_data<R>(*p.grad), m, real_numel(p), lr, momentum,
                         dampening, weight_decay, nesterov, maximize, first);
        return;
      }
      if constexpr (!cuda_kernels_v<R>) {
        no_cuda_kernel<R>(op);
      } else {
        cuda::SgdParam<R> q;
        q.param = real_data<R>(p);
        q.grad = real_data<R>(*p.grad);
        q.momentum_buffer = m;
        q.n = real_numel(p);
        q.first = first;
        q.lr = lr, q.momentum = momentum, q.dampening = dampening, q.weight_decay = weight_decay;
        q.nesterov = nesterov, q.maximize = maximize;
        lists<R>().sgd.push_back({p.storage->device().index, q});
      }
    });
  }

  // Adam, or AdamW when `decoupled` (optim/adam.hpp), of p at its step count t with its moments
  // (max_exp_avg_sq null without amsgrad).
  void adam(const TensorImpl& p, const TensorImpl& exp_avg, const TensorImpl& exp_avg_sq,
            const TensorImpl* max_exp_avg_sq, int64_t t, bool decoupled, double lr, double beta1,
            double beta2, double eps, double weight_decay, bool maximize, const char* op) {
    const bool cuda = tensor_on_cuda(op, p);
    visit_real_dtype(p.dtype, op, [&](auto* tag) {
      using R = std::remove_pointer_t<decltype(tag)>;
      R* const vmax = max_exp_avg_sq ? real_data<R>(*max_exp_avg_sq) : nullptr;
      if (!cuda) {
        auto step = decoupled ? cpu::adam_step<R, true> : cpu::adam_step<R, false>;
        step(real_data<R>(p), real_data<R>(*p.grad), real_data<R>(exp_avg),
             real_data<R>(exp_avg_sq), vmax, real_numel(p), t, lr, beta1, beta2, eps, weight_decay,
             maximize);
        return;
      }
      if constexpr (!cuda_kernels_v<R>) {
        no_cuda_kernel<R>(op);
      } else {
        cuda::AdamParam<R> q;
        q.param = real_data<R>(p);
        q.grad = real_data<R>(*p.grad);
        q.exp_avg = real_data<R>(exp_avg);
        q.exp_avg_sq = real_data<R>(exp_avg_sq);
        q.max_exp_avg_sq = vmax;
        q.n = real_numel(p);
        q.step = t, q.decoupled = decoupled;
        q.lr = lr, q.beta1 = beta1, q.beta2 = beta2, q.eps = eps, q.weight_decay = weight_decay;
        q.maximize = maximize;
        lists<R>().adam.push_back({p.storage->device().index, q});
      }
    });
  }

  // Launches everything queued (in queue order per device) and empties the queue.
  void launch() {
    flush(f32_);
    flush(f64_);
  }

 private:
  template <class R>
  struct Lists {
    std::vector<std::pair<int, cuda::SgdParam<R>>> sgd;
    std::vector<std::pair<int, cuda::AdamParam<R>>> adam;
  };
  Lists<float> f32_;
  Lists<double> f64_;

  template <class R>
  Lists<R>& lists() {
    if constexpr (std::is_same_v<R, float>)
      return f32_;
    else
      return f64_;
  }

  // Groups the entries of one device and hands them to `step` in one call.
  template <class P, class Step>
  static void by_device(std::vector<std::pair<int, P>>& queue, Step step) {
    std::vector<P> batch;
    while (!queue.empty()) {
      const int dev = queue.front().first;
      batch.clear();
      std::vector<std::pair<int, P>> rest;
      for (const auto& entry : queue) {
        if (entry.first == dev)
          batch.push_back(entry.second);
        else
          rest.push_back(entry);
      }
      step(batch.data(), batch.size(), dev);
      queue.swap(rest);
    }
  }
  // The queue is empty in a CPU-only build (tensor_on_cuda throws first), and the launchers
  // are not referenced there.
  template <class R>
  static void flush(Lists<R>& l) {
    if constexpr (cuda_kernels_v<R>) {
      by_device(l.sgd,
                [](const cuda::SgdParam<R>* q, size_t n, int d) { cuda::sgd_step(q, n, d); });
      by_device(l.adam,
                [](const cuda::AdamParam<R>* q, size_t n, int d) { cuda::adam_step(q, n, d); });
    }
  }
};

}  // namespace backend
}  // namespace ember
