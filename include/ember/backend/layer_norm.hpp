// layer_norm kernels (ops/layer_norm.hpp) on the input's device: the CPU kernels of
// backend/cpu/layer_norm.hpp or the CUDA kernels of cuda/ember/cuda/layer_norm.cuh. Kernels
// only; the op records the rule.
//
// x is seen as rows × n (n: the normalized elements, the last dims); weight and bias are n
// values or undefined (none).
#pragma once

#include <cstdint>

#include <ember/backend/cpu/layer_norm.hpp>
#include <ember/backend/device.hpp>
#include <ember/core/tensor_class.hpp>

namespace ember {

namespace cuda {

// Layer norm over the last n elements of each of `rows` contiguous rows; w, b may be null.
// mean and rstd ([rows]) are written for the backward pass. For T = float and double.
template <class T>
void layer_norm_forward(T* y, T* mean, T* rstd, const T* x, const T* w, const T* b, int64_t rows,
                        int64_t n, double eps, int device);
// gx, gw, gb may each be null (not wanted); gw and gb are overwritten, not accumulated.
template <class T>
void layer_norm_backward(T* gx, T* gw, T* gb, const T* g, const T* x, const T* w, const T* mean,
                         const T* rstd, int64_t rows, int64_t n, int device);

}  // namespace cuda

namespace backend {

// The forward's output and what its backward reads: each row's mean and rstd ([rows]).
template <class T>
struct LayerNormForward {
  Tensor<T> y, mean, rstd;
};

// The layer_norm of x over its last n elements (x.numel() a multiple of n), scaled by weight and
// shifted by bias where defined.
template <class T>
LayerNormForward<T> layer_norm_forward(const Tensor<T>& x, const Tensor<T>& weight,
                                       const Tensor<T>& bias, int64_t n, double eps,
                                       const char* name) {
  const bool cuda = on_cuda(name, x, weight, bias);
  const Device dev = x.device();
  const int64_t rows = n == 0 ? 0 : x.numel() / n;
  LayerNormForward<T> r{Tensor<T>::empty(x.shape(), dev), Tensor<T>::empty({rows}, dev),
                        Tensor<T>::empty({rows}, dev)};
  if (rows == 0) return r;
  const Tensor<T> xc = x.detach().contiguous();
  const Tensor<T> wc = weight.defined() ? weight.detach().contiguous() : Tensor<T>();
  const Tensor<T> bc = bias.defined() ? bias.detach().contiguous() : Tensor<T>();
  const T* w = wc.defined() ? wc.data_ptr() : nullptr;
  const T* b = bc.defined() ? bc.data_ptr() : nullptr;
  if (cuda) {
    if constexpr (!cuda_kernels_v<T>)
      no_cuda_kernel<T>(name);
    else
      cuda::layer_norm_forward(r.y.data_ptr(), r.mean.data_ptr(), r.rstd.data_ptr(), xc.data_ptr(),
                               w, b, rows, n, eps, dev.index);
  } else {
    cpu::layer_norm_forward<T>(xc.data_ptr(), w, b, r.y.data_ptr(), r.mean.data_ptr(),
                               r.rstd.data_ptr(), rows, n, T(eps));
  }
  return r;
}

// The gradients of the fused backward, undefined where not wanted: gx of x's shape, gw and gb
// of n values.
template <class T>
struct LayerNormGrads {
  Tensor<T> gx, gw, gb;
};

// The backward from the output gradient g and the forward's mean and rstd.
template <class T>
LayerNormGrads<T> layer_norm_backward(const Tensor<T>& g, const Tensor<T>& x,
                                      const Tensor<T>& weight, const Tensor<T>& mean,
                                      const Tensor<T>& rstd, int64_t n, bool want_x, bool want_w,
                                      bool want_b, const char* name) {
  const bool cuda = on_cuda(name, g, x, weight, mean, rstd);
  const Device dev = x.device();
  const int64_t rows = mean.numel();
  LayerNormGrads<T> r;
  if (want_x) r.gx = Tensor<T>::empty(x.shape(), dev);
  // Without rows the parameter gradients are sums of nothing; else the kernels write them.
  if (want_w) r.gw = rows == 0 ? Tensor<T>::zeros({n}, dev) : Tensor<T>::empty({n}, dev);
  if (want_b) r.gb = rows == 0 ? Tensor<T>::zeros({n}, dev) : Tensor<T>::empty({n}, dev);
  if (rows == 0) return r;
  const Tensor<T> gc = g.detach().contiguous(), xc = x.detach().contiguous();
  const Tensor<T> wc = weight.defined() ? weight.detach().contiguous() : Tensor<T>();
  auto ptr = [](const Tensor<T>& t) { return t.defined() ? t.data_ptr() : nullptr; };
  if (cuda) {
    if constexpr (!cuda_kernels_v<T>)
      no_cuda_kernel<T>(name);
    else
      cuda::layer_norm_backward(ptr(r.gx), ptr(r.gw), ptr(r.gb), gc.data_ptr(), xc.data_ptr(),
                                ptr(wc), mean.data_ptr(), rstd.data_ptr(), rows, n, dev.index);
  } else {
    cpu::layer_norm_backward<T>(gc.data_ptr(), xc.data_ptr(), ptr(wc), mean.data_ptr(),
                                rstd.data_ptr(), ptr(r.gx), ptr(r.gw), ptr(r.gb), rows, n);
  }
  return r;
}

}  // namespace backend
}  // namespace ember
