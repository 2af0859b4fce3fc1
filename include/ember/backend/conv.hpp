// Convolution kernels (ops/conv.hpp) on the operands' device: the CPU kernels of
// backend/cpu/conv.hpp (im2col + GEMM, Winograd) or the CUDA kernels of
// cuda/ember/cuda/conv.cuh (im2col / col2im kernels and cuBLAS). Kernels only: the ops record
// the rules. Inputs may be non-contiguous; outputs are fresh contiguous tensors on the inputs'
// device. The geometry is the ops' cpu::ConvGeom (converted to the plain ConvShape for CUDA).
#pragma once

#include <cstdint>

#include <ember/backend/cpu/conv.hpp>
#include <ember/backend/cpu/im2col.hpp>
#include <ember/backend/device.hpp>
#include <ember/core/tensor_class.hpp>

namespace ember {

namespace cuda {

// Geometry of a convolution x [N, C, in...] * w [O, C/G, k...] -> y [N, O, out...], the spatial
// dims padded to three (size 1, kernel 1, stride 1, no padding), as cpu::ConvGeom.
struct ConvShape {
  int64_t N = 1, C = 1, O = 1, G = 1;
  int64_t in[3] = {1, 1, 1}, k[3] = {1, 1, 1}, out[3] = {1, 1, 1};
  int64_t stride[3] = {1, 1, 1}, pad[3] = {0, 0, 0}, dil[3] = {1, 1, 1};
};

// The launchers of cuda/ember/cuda/conv.cuh, for T = float and double. All buffers
// contiguous device memory; outputs named "overwritten" need no initialisation.
//
// y = conv(x, w) (+ bias [O] when not null): im2col per chunk of samples, then one cuBLAS
// GEMM batched over the groups.
template <class T>
void conv_forward(const ConvShape& g, const T* x, const T* w, const T* bias, T* y, int device);
// gx [N, C, in...] (overwritten) = the input gradient for gy [N, O, out...]: col2im(wᵀ·gy).
template <class T>
void conv_backward_input(const ConvShape& g, const T* gy, const T* w, T* gx, int device);
// gw [O, C/G, k...] (overwritten) = sum over samples of gy·colsᵀ.
template <class T>
void conv_backward_weight(const ConvShape& g, const T* x, const T* gy, T* gw, int device);
// unfold: cols [N, C*K, L] = the blocks of x [N, C, in...]; fold: the adjoint (x overwritten).
template <class T>
void unfold(const ConvShape& g, const T* x, T* cols, int device);
template <class T>
void fold(const ConvShape& g, const T* cols, T* x, int device);

}  // namespace cuda

namespace backend {

namespace detail {

inline cuda::ConvShape conv_shape(const cpu::ConvGeom& g) {
  cuda::ConvShape s;
  s.N = g.N, s.C = g.C, s.O = g.O, s.G = g.G;
  for (int i = 0; i < 3; ++i) {
    s.in[i] = g.in[i], s.k[i] = g.k[i], s.out[i] = g.out[i];
    s.stride[i] = g.stride[i], s.pad[i] = g.pad[i], s.dil[i] = g.dil[i];
  }
  return s;
}

}  // namespace detail

// y [out_shape] = conv(x, w) + bias (bias may be undefined).
template <class T>
Tensor<T> conv_forward(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& bias,
                       const cpu::ConvGeom& g, const Shape& out_shape, const char* name) {
  const bool cuda = on_cuda(name, x, w, bias);
  Tensor<T> y = Tensor<T>::empty(out_shape, x.device());
  const Tensor<T> xc = x.detach().contiguous(), wc = w.detach().contiguous();
  const Tensor<T> bc = bias.defined() ? bias.detach().contiguous() : Tensor<T>();
  const T* bp = bc.defined() ? bc.data_ptr() : nullptr;
  if (cuda) {
    if constexpr (!cuda_kernels_v<T>) no_cuda_kernel<T>(name);
    else
      cuda::conv_forward(detail::conv_shape(g), xc.data_ptr(), wc.data_ptr(), bp, y.data_ptr(),
                         x.device().index);
  } else {
    cpu::conv_forward<T>(g, xc.data_ptr(), wc.data_ptr(), bp, y.data_ptr());
  }
  return y;
}

// z [in_shape] = the transposed convolution of gy (the input gradient of conv).
template <class T>
Tensor<T> conv_backward_input(const Tensor<T>& gy, const Tensor<T>& w, const cpu::ConvGeom& g,
                              const Shape& in_shape, const char* name) {
  const bool cuda = on_cuda(name, gy, w);
  Tensor<T> z = Tensor<T>::empty(in_shape, gy.device());
  const Tensor<T> gc = gy.detach().contiguous(), wc = w.detach().contiguous();
  if (cuda) {
    if constexpr (!cuda_kernels_v<T>) no_cuda_kernel<T>(name);
    else
      cuda::conv_backward_input(detail::conv_shape(g), gc.data_ptr(), wc.data_ptr(), z.data_ptr(),
                                gy.device().index);
  } else {
    cpu::conv_backward_input<T>(g, gc.data_ptr(), wc.data_ptr(), z.data_ptr());
  }
  return z;
}

// gw [w_shape] = the weight gradient of conv for input x and output gradient gy.
template <class T>
Tensor<T> conv_backward_weight(const Tensor<T>& x, const Tensor<T>& gy, const cpu::ConvGeom& g,
                               const Shape& w_shape, const char* name) {
  const bool cuda = on_cuda(name, x, gy);
  Tensor<T> gw = Tensor<T>::empty(w_shape, x.device());
  const Tensor<T> xc = x.detach().contiguous(), gc = gy.detach().contiguous();
  if (cuda) {
    if constexpr (!cuda_kernels_v<T>) no_cuda_kernel<T>(name);
    else
      cuda::conv_backward_weight(detail::conv_shape(g), xc.data_ptr(), gc.data_ptr(),
                                 gw.data_ptr(), x.device().index);
  } else {
    cpu::conv_backward_weight<T>(g, xc.data_ptr(), gc.data_ptr(), gw.data_ptr());
  }
  return gw;
}

// cols [N, C*K, L] = unfold(x [N, C, ...]); g.N is the number of samples.
template <class T>
Tensor<T> unfold(const Tensor<T>& x, const cpu::ConvGeom& g, const char* name) {
  const bool cuda = on_cuda(name, x);
  Tensor<T> cols = Tensor<T>::empty({g.N, g.C * g.K(), g.L()}, x.device());
  const Tensor<T> xc = x.detach().contiguous();
  if (cuda) {
    if constexpr (!cuda_kernels_v<T>) no_cuda_kernel<T>(name);
    else cuda::unfold(detail::conv_shape(g), xc.data_ptr(), cols.data_ptr(), x.device().index);
  } else {
    cpu::unfold<T>(g, xc.data_ptr(), cols.data_ptr());
  }
  return cols;
}

// x [x_shape] = fold(cols [N, C*K, L]), the adjoint of unfold.
template <class T>
Tensor<T> fold(const Tensor<T>& cols, const cpu::ConvGeom& g, const Shape& x_shape,
               const char* name) {
  const bool cuda = on_cuda(name, cols);
  Tensor<T> x = Tensor<T>::empty(x_shape, cols.device());
  const Tensor<T> cc = cols.detach().contiguous();
  if (cuda) {
    if constexpr (!cuda_kernels_v<T>) no_cuda_kernel<T>(name);
    else cuda::fold(detail::conv_shape(g), cc.data_ptr(), x.data_ptr(), cols.device().index);
  } else {
    cpu::fold<T>(g, cc.data_ptr(), x.data_ptr());
  }
  return x;
}

}  // namespace backend
}  // namespace ember
