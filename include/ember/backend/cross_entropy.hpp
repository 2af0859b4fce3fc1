// The fused cross entropy (nn/functional/loss.hpp) on the logits' device: the CPU kernels of
// backend/cpu/cross_entropy.hpp or the CUDA kernels of cuda/ember/cuda/cross_entropy.cuh.
// Kernels only; the loss records the rule.
//
// Logits x [rows, n] against class indices t [rows] (validated by the caller) with a per-row
// weight w [rows] (the class weight of the target, 0 for ignored rows):
//   loss[r] = -(((x[r, t] - m) - log_s) w[r]),  m = max(x[r]), log_s = log(sum(exp(x[r] - m)))
// (log_softmax's (x - m) - log(s): x - (m + log(s)) would lose log(s)'s digits when |m| is
// large), and from the loss gradient g [rows]
//   gx[r, c] = g[r] w[r] (exp((x[r, c] - m) - log_s) - [c == t]).
#pragma once

#include <cstdint>

#include <ember/backend/cpu/cross_entropy.hpp>
#include <ember/backend/device.hpp>
#include <ember/core/tensor_class.hpp>

namespace ember {

namespace cuda {

// The loss of contiguous logits x [rows, n], and each row's max and log-sum for the backward;
// for T = float and double.
template <class T>
void cross_entropy_forward(T* loss, T* max, T* log_sum, const T* x, const int64_t* target,
                           const T* weight, int64_t rows, int64_t n, int device);
// gx [rows, n] from the loss gradient g [rows] (contiguous).
template <class T>
void cross_entropy_backward(T* gx, const T* g, const T* max, const T* log_sum, const T* x,
                            const int64_t* target, const T* weight, int64_t rows, int64_t n,
                            int device);

}  // namespace cuda

namespace backend {

// The per-row loss and what the backward reads: each row's max and log-sum ([rows]).
template <class T>
struct CrossEntropyForward {
  Tensor<T> loss, max, log_sum;
};

template <class T>
CrossEntropyForward<T> cross_entropy_forward(const Tensor<T>& x, const Tensor<int64_t>& target,
                                             const Tensor<T>& w, const char* name) {
  const bool cuda = on_cuda(name, x, target, w);
  const Device dev = x.device();
  const int64_t rows = x.size(0), n = x.size(1);
  CrossEntropyForward<T> r{Tensor<T>::empty({rows}, dev), Tensor<T>::empty({rows}, dev),
                           Tensor<T>::empty({rows}, dev)};
  if (rows == 0) return r;
  EMBER_CHECK(n > 0, name, ": 0 classes");
  const Tensor<T> xc = x.detach().contiguous(), wc = w.detach().contiguous();
  const Tensor<int64_t> tc = target.contiguous();
  if (cuda) {
    if constexpr (!cuda_kernels_v<T>)
      no_cuda_kernel<T>(name);
    else
      cuda::cross_entropy_forward(r.loss.data_ptr(), r.max.data_ptr(), r.log_sum.data_ptr(),
                                  xc.data_ptr(), tc.data_ptr(), wc.data_ptr(), rows, n, dev.index);
  } else {
    cpu::cross_entropy_forward(xc.data_ptr(), tc.data_ptr(), wc.data_ptr(), r.loss.data_ptr(),
                               r.max.data_ptr(), r.log_sum.data_ptr(), rows, n);
  }
  return r;
}

// The gradient with respect to the logits, from the loss gradient g [rows].
template <class T>
Tensor<T> cross_entropy_backward(const Tensor<T>& g, const Tensor<T>& x,
                                 const Tensor<int64_t>& target, const Tensor<T>& w,
                                 const Tensor<T>& max, const Tensor<T>& log_sum, const char* name) {
  const bool cuda = on_cuda(name, g, x, target, w, max, log_sum);
  Tensor<T> gx = Tensor<T>::empty(x.shape(), x.device());
  if (gx.numel() == 0) return gx;
  const Tensor<T> gc = g.detach().contiguous(), xc = x.detach().contiguous();
  const Tensor<T> wc = w.detach().contiguous();
  const Tensor<int64_t> tc = target.contiguous();
  const int64_t rows = x.size(0), n = x.size(1);
  if (cuda) {
    if constexpr (!cuda_kernels_v<T>)
      no_cuda_kernel<T>(name);
    else
      cuda::cross_entropy_backward(gx.data_ptr(), gc.data_ptr(), max.data_ptr(), log_sum.data_ptr(),
                                   xc.data_ptr(), tc.data_ptr(), wc.data_ptr(), rows, n,
                                   x.device().index);
  } else {
    cpu::cross_entropy_backward(gc.data_ptr(), xc.data_ptr(), tc.data_ptr(), wc.data_ptr(),
                                max.data_ptr(), log_sum.data_ptr(), gx.data_ptr(), rows, n);
  }
  return gx;
}

}  // namespace backend
}  // namespace ember
