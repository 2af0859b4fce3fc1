// Kernels of the shape family (ops/shape.hpp) on the operands' device: cat's copies and flip.
// Both are copies of any dtype: on the CPU the kernels of backend/cpu/shape.hpp, on CUDA the
// typeless strided copy kernel (core/storage.hpp's device_strided_copy). Kernels only; the ops
// record the rules.
#pragma once

#include <cstdint>
#include <vector>

#include <ember/backend/cpu/shape.hpp>
#include <ember/backend/cuda/api.hpp>
#include <ember/backend/device.hpp>
#include <ember/core/tensor_class.hpp>

namespace ember::backend {

namespace detail {

inline int64_t prod(const Shape& s, size_t begin, size_t end) {
  int64_t n = 1;
  for (size_t d = begin; d < end; ++d) n *= s[d];
  return n;
}

}  // namespace detail

// The concatenation of `tensors` (shapes checked) along dim, of shape out_shape.
template <class T>
Tensor<T> cat(const std::vector<Tensor<T>>& tensors, int64_t dim, const Shape& out_shape,
              const char* name) {
  const Tensor<T>& first = tensors[0];
  bool cuda = false;
  for (const Tensor<T>& t : tensors) cuda = on_cuda(name, first, t);  // all on one device
  Tensor<T> out = Tensor<T>::empty(out_shape, first.device());
  const int64_t outer = detail::prod(out_shape, 0, size_t(dim));
  const int64_t inner = detail::prod(out_shape, size_t(dim) + 1, out_shape.size());
  int64_t offset = 0;
  for (const Tensor<T>& t : tensors) {
    const int64_t n = t.shape()[dim];
    if (n > 0 && t.numel() > 0) {
      if (!cuda && t.is_contiguous()) {
        // Each input is `outer` contiguous blocks of n * inner elements, copied whole.
        cpu::copy_blocks(t.data_ptr(), outer, n * inner, out.data_ptr() + offset * inner,
                         out_shape[dim] * inner);
      } else {  // also the CUDA path: one strided copy kernel per input
        NoGradGuard no_grad;
        out.narrow(dim, offset, n).copy_(t.detach());
      }
    }
    offset += n;
  }
  return out;
}

// A copy of x reversed along the dims flagged in `flipped` (one flag per dim).
template <class T>
Tensor<T> flip(const Tensor<T>& x, const std::vector<bool>& flipped, const char* name) {
  const bool cuda = on_cuda(name, x);
  Tensor<T> out = Tensor<T>::empty(x.shape(), x.device());
  if (out.numel() == 0) return out;
  if (!cuda) {
    const Tensor<T> xc = x.detach().contiguous();
    cpu::flip(xc.data_ptr(), x.shape(), xc.strides(), flipped, out.data_ptr());
    return out;
  }
  // CUDA: one strided copy that reads x from its far corner along the flipped dims with negated
  // strides (make_layout merges such dims like any others, and the copy kernel takes signed
  // strides).
  Tensor<T> xd = x.detach();
  for (int attempt = 0;; ++attempt) {
    std::vector<int64_t> st = xd.strides();
    int64_t base = 0;
    for (int64_t d = 0; d < xd.dim(); ++d)
      if (flipped[size_t(d)]) {
        base += (xd.shape()[size_t(d)] - 1) * st[size_t(d)];
        st[size_t(d)] = -st[size_t(d)];
      }
    cuda::StridedLayout l;
    if (cuda::make_layout(l, x.shape(), {&out.strides(), &st})) {
      ember::detail::device_strided_copy(out.data_ptr(), out.strides(), xd.data_ptr() + base, st,
                                         x.shape(), sizeof(T), x.device());
      return out;
    }
    EMBER_CHECK(attempt == 0, name, ": shape ", shape_str(x.shape()), " has more than ",
                cuda::kMaxDims, " non-mergeable dims");
    xd = xd.contiguous();
  }
}

}  // namespace ember::backend
