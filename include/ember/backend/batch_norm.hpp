// batch_norm kernels (ops/batch_norm.hpp) on the input's device: the CPU kernels of
// backend/cpu/batch_norm.hpp or the CUDA kernels of cuda/ember/cuda/batch_norm.cuh. Kernels
// only; the op records the rule and updates the running statistics.
//
// The input is seen as [N, C, S] (S = product of the dims after C); the per-channel tensors
// (statistics, weight, bias) have C values, weight and bias may be undefined (none).
#pragma once

#include <cstdint>

#include <ember/backend/cpu/batch_norm.hpp>
#include <ember/backend/device.hpp>
#include <ember/core/tensor_class.hpp>

namespace ember {

namespace cuda {

// Batch norm of x [N, C, S] per channel. Training: writes the batch mean and biased var [C];
// eval: reads them (the running stats). Writes rstd [C] and y. w, b may be null. For T = float
// and double.
template <class T>
void batch_norm_forward(const T* x, const T* w, const T* b, T* y, T* mean, T* var, T* rstd,
                        int64_t N, int64_t C, int64_t S, bool training, double eps, int device);
// gx, gw, gb may each be null (not wanted); all overwritten.
template <class T>
void batch_norm_backward(const T* g, const T* x, const T* w, const T* mean, const T* rstd, T* gx,
                         T* gw, T* gb, int64_t N, int64_t C, int64_t S, bool training, int device);

}  // namespace cuda

namespace backend {

// The forward's output and its per-channel statistics: in training the batch's mean and biased
// var, in eval copies of the running ones (the backward must not see later in-place updates of
// the running stats); rstd = 1 / sqrt(var + eps).
template <class T>
struct BatchNormForward {
  Tensor<T> y, mean, var, rstd;
};

// batch_norm of x [N, C, *] (N * C * S elements) with the batch statistics (training) or the
// running ones (eval: running_mean / running_var defined).
template <class T>
BatchNormForward<T> batch_norm_forward(const Tensor<T>& x, const Tensor<T>& running_mean,
                                       const Tensor<T>& running_var, const Tensor<T>& weight,
                                       const Tensor<T>& bias, int64_t N, int64_t C, int64_t S,
                                       bool training, double eps, const char* name) {
  const bool cuda = on_cuda(name, x, running_mean, running_var, weight, bias);
  const Device dev = x.device();
  BatchNormForward<T> r;
  r.y = Tensor<T>::empty(x.shape(), dev);
  if (training) {
    r.mean = Tensor<T>::empty({C}, dev);
    r.var = Tensor<T>::empty({C}, dev);
  } else {
    r.mean = running_mean.detach().clone();
    r.var = running_var.detach().clone();
  }
  r.rstd = Tensor<T>::empty({C}, dev);
  if (N * C * S == 0) return r;
  const Tensor<T> xc = x.detach().contiguous();
  const Tensor<T> wc = weight.defined() ? weight.detach().contiguous() : Tensor<T>();
  const Tensor<T> bc = bias.defined() ? bias.detach().contiguous() : Tensor<T>();
  const T* w = wc.defined() ? wc.data_ptr() : nullptr;
  const T* b = bc.defined() ? bc.data_ptr() : nullptr;
  if (cuda) {
    if constexpr (!cuda_kernels_v<T>)
      no_cuda_kernel<T>(name);
    else
      cuda::batch_norm_forward(xc.data_ptr(), w, b, r.y.data_ptr(), r.mean.data_ptr(),
                               r.var.data_ptr(), r.rstd.data_ptr(), N, C, S, training, eps,
                               dev.index);
  } else {
    cpu::batch_norm_forward<T>(xc.data_ptr(), w, b, r.y.data_ptr(), r.mean.data_ptr(),
                               r.var.data_ptr(), r.rstd.data_ptr(), N, C, S, training, eps);
  }
  return r;
}

// The gradients of the fused backward, undefined where not wanted: gx of x's shape, gw and gb
// of C values.
template <class T>
struct BatchNormGrads {
  Tensor<T> gx, gw, gb;
};

// The backward from the output gradient g and the forward's mean and rstd (in eval the
// statistics are constants: gx = w * rstd * g).
template <class T>
BatchNormGrads<T> batch_norm_backward(const Tensor<T>& g, const Tensor<T>& x,
                                      const Tensor<T>& weight, const Tensor<T>& mean,
                                      const Tensor<T>& rstd, int64_t N, int64_t C, int64_t S,
                                      bool training, bool want_x, bool want_w, bool want_b,
                                      const char* name) {
  const bool cuda = on_cuda(name, g, x, weight, mean, rstd);
  const Device dev = x.device();
  BatchNormGrads<T> r;
  if (want_x) r.gx = Tensor<T>::empty(x.shape(), dev);
  // Empty channels: the parameter gradients are sums of nothing; else the kernels write them.
  const bool empty = N * S == 0;
  if (want_w) r.gw = empty ? Tensor<T>::zeros({C}, dev) : Tensor<T>::empty({C}, dev);
  if (want_b) r.gb = empty ? Tensor<T>::zeros({C}, dev) : Tensor<T>::empty({C}, dev);
  if (empty || C == 0) return r;
  const Tensor<T> gc = g.detach().contiguous(), xc = x.detach().contiguous();
  const Tensor<T> wc = weight.defined() ? weight.detach().contiguous() : Tensor<T>();
  auto ptr = [](const Tensor<T>& t) { return t.defined() ? t.data_ptr() : nullptr; };
  if (cuda) {
    if constexpr (!cuda_kernels_v<T>)
      no_cuda_kernel<T>(name);
    else
      cuda::batch_norm_backward(gc.data_ptr(), xc.data_ptr(), ptr(wc), mean.data_ptr(),
                                rstd.data_ptr(), ptr(r.gx), ptr(r.gw), ptr(r.gb), N, C, S, training,
                                dev.index);
  } else {
    cpu::batch_norm_backward<T>(gc.data_ptr(), xc.data_ptr(), ptr(wc), mean.data_ptr(),
                                rstd.data_ptr(), ptr(r.gx), ptr(r.gw), ptr(r.gb), N, C, S,
                                training);
  }
  return r;
}

}  // namespace backend
}  // namespace ember
