// softmax / log_softmax kernels (ops/softmax.hpp) on the input's device: the CPU kernels of
// backend/cpu/softmax.hpp or the CUDA kernels of cuda/ember/cuda/softmax.cuh. Kernels only;
// the op records the rule.
#pragma once

#include <cstdint>
#include <tuple>

#include <ember/backend/cpu/softmax.hpp>
#include <ember/backend/device.hpp>
#include <ember/core/tensor_class.hpp>

namespace ember {

namespace cuda {

// Softmax over the middle dim of a contiguous [outer, n, inner] tensor (log: log_softmax),
// and its gradient from the output y; for T = float and double.
template <class T>
void softmax_forward(bool log, T* y, const T* x, int64_t outer, int64_t n, int64_t inner,
                     int device);
template <class T>
void softmax_backward(bool log, T* gx, const T* g, const T* y, int64_t outer, int64_t n,
                      int64_t inner, int device);

}  // namespace cuda

namespace backend {

// [outer, n, inner] around dimension d (a 0-d tensor is one row of one element).
inline std::tuple<int64_t, int64_t, int64_t> split_at_dim(const Shape& shape, int64_t d) {
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < d; ++i) outer *= shape[i];
  for (int64_t i = d + 1; i < int64_t(shape.size()); ++i) inner *= shape[i];
  return {outer, shape.empty() ? 1 : shape[d], inner};
}

// softmax (Log: log_softmax) of x along the wrapped dim d; a fresh contiguous tensor.
template <bool Log, class T>
Tensor<T> softmax_forward(const Tensor<T>& x, int64_t d, const char* name) {
  const bool cuda = on_cuda(name, x);
  const Tensor<T> xc = x.detach().contiguous();
  Tensor<T> out = Tensor<T>::empty(x.shape(), x.device());
  if (out.numel() == 0) return out;
  const auto [outer, n, inner] = split_at_dim(x.shape(), d);
  if (cuda) {
    if constexpr (!cuda_kernels_v<T>) no_cuda_kernel<T>(name);
    else cuda::softmax_forward(Log, out.data_ptr(), xc.data_ptr(), outer, n, inner, x.device().index);
  } else {
    cpu::softmax_forward<T, Log>(xc.data_ptr(), out.data_ptr(), outer, n, inner);
  }
  return out;
}

// The input gradient from the output gradient g and the output y, along d.
template <bool Log, class T>
Tensor<T> softmax_backward(const Tensor<T>& g, const Tensor<T>& y, int64_t d, const char* name) {
  const bool cuda = on_cuda(name, g, y);
  const Tensor<T> gc = g.detach().contiguous(), yc = y.detach().contiguous();
  Tensor<T> gx = Tensor<T>::empty(y.shape(), y.device());
  if (gx.numel() == 0) return gx;
  const auto [outer, n, inner] = split_at_dim(y.shape(), d);
  if (cuda) {
    if constexpr (!cuda_kernels_v<T>) no_cuda_kernel<T>(name);
    else
      cuda::softmax_backward(Log, gx.data_ptr(), gc.data_ptr(), yc.data_ptr(), outer, n, inner,
                             y.device().index);
  } else {
    cpu::softmax_backward<T, Log>(gc.data_ptr(), yc.data_ptr(), gx.data_ptr(), outer, n, inner);
  }
  return gx;
}

}  // namespace backend
}  // namespace ember
