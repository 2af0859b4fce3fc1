// Tensor-level CUDA entry points of the indexing family (ops/indexing.hpp, ops/scatter.hpp,
// nn/embedding.hpp), dropout (ops/dropout.hpp) and the fused optimizer steps (optim/), in the
// style of backend/cuda/dispatch.hpp: kernels only, the ops record their own backward rules
// with ops that dispatch the same way. Kernels exist for float and double values with int64
// indices; an int32 index is widened on the way (one host round trip).
//
// Determinism (core/determinism.hpp). Without ember::set_deterministic(true) these CUDA ops
// accumulate with atomicAdd, so float sums round in whatever order the atomics land and two
// runs may differ in the last bits:
//   scatter_add, index_add, scatter_sum, scatter_mean (forward),
//   and the backward of gather (scatter_add), index_select and embedding (index_add).
// With the switch on they sort the positions by target (cub radix sort) and sum each target in
// index order on one thread: bitwise reproducible, and bitwise equal to the CPU's result. All
// other ops here are deterministic on CUDA either way: index_select, gather, masked_fill,
// segment_sum (one thread per output row), dropout (a counter-based Philox keyed by the seed,
// independent of the launch shape) and the optimizer steps (elementwise).
//
// Index bounds are checked on the host, on a copy of the index (a device-to-host copy that
// waits for the stream), so a bad index throws the same ember::Error as on the CPU.
#pragma once

#include <cstdint>
#include <ember/backend/cuda/api.hpp>
#include <ember/backend/cuda/dispatch.hpp>
#include <ember/core/determinism.hpp>
#include <ember/core/tensor_def.hpp>
#include <tuple>
#include <type_traits>
#include <vector>

namespace ember::cuda {

// Where the optimizers accept a parameter or gradient: anywhere in a CUDA build, else the CPU
// (with check_cpu's error).
inline void check_backend(const Device& d, const char* op) {
#ifdef EMBER_WITH_CUDA
  (void)d, (void)op;
#else
  check_cpu(d, op);
#endif
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

namespace detail {

// The index as int64 on `device` (int32 is widened through the host).
template <class I>
Tensor<int64_t> int64_index(const Tensor<I>& index, const Device& device) {
  if constexpr (std::is_same_v<I, int64_t>)
    return index.detach();
  else
    return index.detach().to(Device::cpu()).template to<int64_t>().to(device);
}

#ifdef EMBER_WITH_CUDA
// The IndexLayout of a gather / scatter over `shape` along `dim`: size-1 dims other than dim
// are dropped, so up to kMaxDims remain.
inline IndexLayout index_layout(const Shape& shape, int64_t dim, const Shape& index_strides,
                                const Shape& kside_strides, const Shape& target_strides,
                                int64_t target_extent, const char* op) {
  IndexLayout l;
  l.numel = 1;
  l.target_extent = target_extent;
  for (int64_t d = 0; d < int64_t(shape.size()); ++d) {
    l.numel *= shape[size_t(d)];
    if (shape[size_t(d)] == 1 && d != dim) continue;
    EMBER_CHECK(l.ndim < kMaxDims, op, ": the CUDA kernel handles at most ", kMaxDims,
                " dimensions of size > 1, got shape ", shape_str(shape));
    if (d == dim) l.dim = l.ndim;
    l.shape[l.ndim] = shape[size_t(d)];
    l.index_strides[l.ndim] = index_strides[size_t(d)];
    l.kside_strides[l.ndim] = kside_strides[size_t(d)];
    l.target_strides[l.ndim] = target_strides[size_t(d)];
    ++l.ndim;
  }
  return l;
}
#endif

inline int64_t numel_of(const Shape& s) {
  int64_t n = 1;
  for (int64_t v : s) n *= v;
  return n;
}

// The real type behind a floating-point or complex dtype; Float32 / Complex64 -> true.
inline bool is_single(DType d) { return d == DType::Float32 || d == DType::Complex64; }
template <class R>
R* real_ptr(const TensorImpl& t) {
  return reinterpret_cast<R*>(static_cast<char*>(t.storage->data()) +
                              t.offset * int64_t(dtype_size(t.dtype)));
}
inline int64_t real_count(const TensorImpl& t) {
  const bool complex = t.dtype == DType::Complex64 || t.dtype == DType::Complex128;
  return t.numel() * (complex ? 2 : 1);
}

}  // namespace detail

// kside (strided, the index's shape `shape`) = target at the indexed positions along dim:
// the kernel of gather and index_select (index_along_dim's "k side" gets written).
template <class T, class I>
void gather_along_dim(const Shape& shape, int64_t dim, const Tensor<I>& index, Tensor<T>& kside,
                      const Tensor<T>& target, const char* op) {
  detail::check_dtype<T>(op);
  if (detail::numel_of(shape) == 0) return;
  if constexpr (has_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    const Device dev = kside.device();
    const Tensor<int64_t> idx = detail::int64_index(index, dev);
    const IndexLayout l =
        detail::index_layout(shape, dim, idx.strides(), kside.strides(), target.strides(), 0, op);
    cuda::index_gather(kside.data_ptr(), target.data_ptr(), idx.data_ptr(), l, dev.index);
#else
    (void)dim, (void)index, (void)kside, (void)target;
    detail::no_cuda(op);
#endif
  }
}

// target (a fresh contiguous tensor) += src at the indexed positions along dim, over the
// index's shape `shape`: the kernel of scatter_add, index_add and scatter_sum. Atomics, or the
// sorted deterministic path under ember::deterministic().
template <class T, class I>
void scatter_add_along_dim(const Shape& shape, int64_t dim, const Tensor<I>& index,
                           const Tensor<T>& src, Tensor<T>& target, const char* op) {
  detail::check_dtype<T>(op);
  if (detail::numel_of(shape) == 0) return;
  if constexpr (has_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    EMBER_CHECK(target.is_contiguous(), op,
                ": internal error: the CUDA scatter target must be "
                "contiguous");
    const Device dev = target.device();
    const Tensor<int64_t> idx = detail::int64_index(index, dev);
    const IndexLayout l = detail::index_layout(shape, dim, idx.strides(), src.strides(),
                                               target.strides(), target.numel(), op);
    cuda::index_scatter_add(target.data_ptr(), src.data_ptr(), idx.data_ptr(), l,
                            ember::deterministic(), dev.index);
#else
    (void)dim, (void)index, (void)src, (void)target;
    detail::no_cuda(op);
#endif
  }
}

// x with `value` where mask (both broadcast to their common shape) is true.
template <class T>
Tensor<T> masked_fill(const Tensor<T>& x, const Tensor<bool>& mask, T value, const char* op) {
  detail::check_dtype<T>(op);
  const Shape shape = broadcast_shapes(x.shape(), mask.shape(), op);
  Tensor<T> out = Tensor<T>::empty(shape, x.device());
  if (out.numel() == 0) return out;
  if constexpr (has_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    Tensor<T> ex = x.detach().expand(shape);
    Tensor<bool> em = mask.detach().expand(shape);
    StridedLayout l;
    if (!make_layout(l, shape, {&out.strides(), &ex.strides(), &em.strides()})) {
      ex = ex.contiguous();
      em = em.contiguous();
      make_layout(l, shape, {&out.strides(), &ex.strides(), &em.strides()});
    }
    cuda::masked_fill(out.data_ptr(), ex.data_ptr(), em.data_ptr(), double(value), l,
                      x.device().index);
#else
    (void)value;
    detail::no_cuda(op);
#endif
  }
  return out;
}

// [rows, F...] sums of the runs [row_ptr[i], row_ptr[i+1]) of src [E, F...] (row_ptr checked,
// on src's device).
// scatter_max of src [E, F...] (on the GPU) into out_shape rows, given the host's stable sort
// of the index by target (ptr, order: host tensors). Returns (out, argmax, mask) where mask
// [E, F...] is 1 at every argmax (the backward's constant) when want_mask, else undefined.
template <class T>
std::tuple<Tensor<T>, Tensor<int64_t>, Tensor<T>> scatter_max(const Tensor<T>& src,
                                                              const Tensor<int64_t>& ptr,
                                                              const Tensor<int64_t>& order,
                                                              const Shape& out_shape,
                                                              bool want_mask, const char* op) {
  detail::check_dtype<T>(op);
  Tensor<T> out = Tensor<T>::empty(out_shape, src.device());
  Tensor<int64_t> arg = Tensor<int64_t>::empty(out_shape, src.device());
  Tensor<T> mask = want_mask ? Tensor<T>::zeros(src.shape(), src.device()) : Tensor<T>();
  if (out.numel() == 0) return {out, arg, mask};
  if constexpr (has_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    const Tensor<T> s = src.detach().contiguous();
    const Tensor<int64_t> p = ptr.contiguous().to(src.device()), o = order.contiguous().to(src.device());
    const int64_t rows = out_shape[0], f = rows ? out.numel() / rows : 0;
    cuda::scatter_max(out.data_ptr(), arg.data_ptr(), want_mask ? mask.data_ptr() : nullptr,
                      s.data_ptr(), p.data_ptr(), o.data_ptr(), rows, f, src.size(0),
                      src.device().index);
#else
    (void)ptr, (void)order;
    detail::no_cuda(op);
#endif
  }
  return {out, arg, mask};
}

template <class T>
Tensor<T> segment_sum(const Tensor<T>& src, const Tensor<int64_t>& row_ptr, const Shape& out_shape,
                      const char* op) {
  detail::check_dtype<T>(op);
  Tensor<T> out = Tensor<T>::empty(out_shape, src.device());  // every element is written
  if (out.numel() == 0) return out;
  if constexpr (has_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    const Tensor<T> s = src.detach().contiguous();
    const Tensor<int64_t> rp = row_ptr.detach().contiguous();
    const int64_t rows = out_shape[0], f = rows ? out.numel() / rows : 0;
    cuda::segment_sum(out.data_ptr(), s.data_ptr(), rp.data_ptr(), rows, f, src.device().index);
#else
    (void)row_ptr;
    detail::no_cuda(op);
#endif
  }
  return out;
}

// The dropout keep-and-scale mask on `device`: Philox keyed by (seed, offset 0), element i
// kept when its uniform is below 1 - p (0 <= p < 1).
template <class T>
Tensor<T> dropout_mask(const Shape& shape, double p, uint64_t seed, const Device& device) {
  detail::check_dtype<T>("dropout");
  Tensor<T> mask = Tensor<T>::empty(shape, device);
  if (mask.numel() == 0) return mask;
  if constexpr (has_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    cuda::dropout_mask(mask.data_ptr(), mask.numel(), p, seed, 0, device.index);
#else
    (void)p, (void)seed;
    detail::no_cuda("dropout");
#endif
  }
  return mask;
}

// Optimizer updates of CUDA parameters, queued during step() and launched together by
// launch(): one multi-tensor launch per (optimizer kind, real type, device) and chunk of
// parameters. Pointers must stay valid until launch() (the optimizer holds the tensors).
class OptimBatch {
 public:
  void sgd(const TensorImpl& p, const TensorImpl* buf, bool first, double lr, double momentum,
           double dampening, double weight_decay, bool nesterov, bool maximize) {
#ifdef EMBER_WITH_CUDA
    auto add = [&](auto* tag) {
      using R = std::remove_pointer_t<decltype(tag)>;
      SgdParam<R> q;
      q.param = detail::real_ptr<R>(p);
      q.grad = detail::real_ptr<R>(*p.grad);
      q.momentum_buffer = buf ? detail::real_ptr<R>(*buf) : nullptr;
      q.n = detail::real_count(p);
      q.first = first;
      q.lr = lr, q.momentum = momentum, q.dampening = dampening, q.weight_decay = weight_decay;
      q.nesterov = nesterov, q.maximize = maximize;
      lists<R>().sgd.push_back({p.storage->device().index, q});
    };
    detail::is_single(p.dtype) ? add(static_cast<float*>(nullptr))
                               : add(static_cast<double*>(nullptr));
#else
    (void)p, (void)buf, (void)first, (void)lr, (void)momentum, (void)dampening, (void)weight_decay,
        (void)nesterov, (void)maximize;
    detail::no_cuda("SGD.step");
#endif
  }

  void adam(const TensorImpl& p, const TensorImpl& exp_avg, const TensorImpl& exp_avg_sq,
            const TensorImpl* max_exp_avg_sq, int64_t step, bool decoupled, double lr, double beta1,
            double beta2, double eps, double weight_decay, bool maximize) {
#ifdef EMBER_WITH_CUDA
    auto add = [&](auto* tag) {
      using R = std::remove_pointer_t<decltype(tag)>;
      AdamParam<R> q;
      q.param = detail::real_ptr<R>(p);
      q.grad = detail::real_ptr<R>(*p.grad);
      q.exp_avg = detail::real_ptr<R>(exp_avg);
      q.exp_avg_sq = detail::real_ptr<R>(exp_avg_sq);
      q.max_exp_avg_sq = max_exp_avg_sq ? detail::real_ptr<R>(*max_exp_avg_sq) : nullptr;
      q.n = detail::real_count(p);
      q.step = step, q.decoupled = decoupled;
      q.lr = lr, q.beta1 = beta1, q.beta2 = beta2, q.eps = eps, q.weight_decay = weight_decay;
      q.maximize = maximize;
      lists<R>().adam.push_back({p.storage->device().index, q});
    };
    detail::is_single(p.dtype) ? add(static_cast<float*>(nullptr))
                               : add(static_cast<double*>(nullptr));
#else
    (void)p, (void)exp_avg, (void)exp_avg_sq, (void)max_exp_avg_sq, (void)step, (void)decoupled,
        (void)lr, (void)beta1, (void)beta2, (void)eps, (void)weight_decay, (void)maximize;
    detail::no_cuda("Adam.step");
#endif
  }

  // Launches everything queued (in queue order per device) and empties the queue.
  void launch() {
#ifdef EMBER_WITH_CUDA
    flush(f32_);
    flush(f64_);
#endif
  }

 private:
#ifdef EMBER_WITH_CUDA
  template <class R>
  struct Lists {
    std::vector<std::pair<int, SgdParam<R>>> sgd;
    std::vector<std::pair<int, AdamParam<R>>> adam;
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
  template <class R>
  static void flush(Lists<R>& l) {
    by_device(l.sgd, [](const SgdParam<R>* q, size_t n, int d) { cuda::sgd_step(q, n, d); });
    by_device(l.adam, [](const AdamParam<R>* q, size_t n, int d) { cuda::adam_step(q, n, d); });
  }
#endif
};

}  // namespace ember::cuda
