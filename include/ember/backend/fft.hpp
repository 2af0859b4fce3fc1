// The FFT kernels of ops/fft.hpp on the operand's device: the CPU engine of
// backend/cpu/fft.hpp or cuFFT (plans and launchers in cuda/ember/cuda/fft.cuh). Kernels only;
// the ops record the rules. Each returns a fresh contiguous tensor, multiplied by `scale`:
//
//   fft_c2c(x, dims, forward)   complex -> complex over the (distinct, wrapped) dims;
//   fft_r2c(x, dim)             real -> the n/2 + 1 non-negative bins along dim;
//   fft_c2r(X, dim, n)          those bins -> n real points along dim (the imaginary parts of
//                               DC and Nyquist ignored);
//   fft_rfft2(x), fft_irfft2(X, n1)   the same pair over the last two dims, fused.
//
// On CUDA: c2c as batched n-D C2C / Z2Z over groups of up to three dims, r2c / rfft2 as 1-D /
// 2-D R2C, c2r as a 1-D C2R, and irfft2 as C2C over dim -2 then C2R over the last dim.
#pragma once

#include <algorithm>
#include <complex>
#include <cstdint>
#include <vector>

#include <ember/backend/complex.hpp>
#include <ember/backend/cpu/fft.hpp>
#include <ember/backend/device.hpp>
#include <ember/core/tensor_class.hpp>

namespace ember {

namespace cuda {

// cuFFT over contiguous signals in cuFFT's basic layout: `batch` signals of sizes n[0..rank)
// (rank 1 to 3) back to back, unnormalised, then multiplied by `scale` (1: no extra pass); for
// R = float and double. C2C: out and in may not alias. R2C: n are the real sizes; each output
// signal has n[rank-1] / 2 + 1 bins in its last dim. C2R: n are the real output sizes; `in` is
// copied first (cuFFT's C2R overwrites its input), so it is left intact; for rank 1 the copy's
// DC and Nyquist bins have their imaginary parts zeroed (ignored, as by the CPU's c2r).
template <class R>
void fft_c2c(std::complex<R>* out, const std::complex<R>* in, int rank, const int64_t* n,
             int64_t batch, bool forward, double scale, int device);
template <class R>
void fft_r2c(std::complex<R>* out, const R* in, int rank, const int64_t* n, int64_t batch,
             double scale, int device);
template <class R>
void fft_c2r(R* out, const std::complex<R>* in, int rank, const int64_t* n, int64_t batch,
             double scale, int device);

}  // namespace cuda

namespace backend {

namespace detail {

// t (contiguous) itself when its data is 16-byte aligned, else an aligned copy: a view with a
// storage offset may start anywhere, and cuFFT's kernels may load their inputs in vectors.
template <class T>
Tensor<T> cufft_aligned(const Tensor<T>& t) {
  if (reinterpret_cast<std::uintptr_t>(t.data_ptr()) % 16 == 0) return t;
  return t.clone();
}

// The complex transform over `dims` of x on CUDA. cuFFT transforms trailing dims of contiguous
// signals, so each group of up to three dims is permuted last (one copy unless it already
// is), transformed as one batched n-D FFT, and permuted back.
template <class C>
Tensor<C> cufft_c2c(const Tensor<C>& x, const std::vector<int64_t>& dims, bool forward,
                    double scale, const char* name) {
  Tensor<C> cur = x.detach();
  if (cur.numel() == 0) return cur.contiguous();
  if (dims.empty())
    return complex_unary(ComplexUnaryOp::MulScalar, cur, C(real_t<C>(scale)), name);
  const int64_t nd = cur.dim();
  for (size_t i = 0; i < dims.size(); i += 3) {
    const size_t j = std::min(dims.size(), i + 3);
    const std::vector<int64_t> group(dims.begin() + int64_t(i), dims.begin() + int64_t(j));
    std::vector<int64_t> perm;
    for (int64_t d = 0; d < nd; ++d)
      if (std::find(group.begin(), group.end(), d) == group.end()) perm.push_back(d);
    perm.insert(perm.end(), group.begin(), group.end());
    const Tensor<C> src = cufft_aligned(cur.permute(perm).contiguous());
    int64_t n[3], signal = 1;
    for (size_t g = 0; g < group.size(); ++g)
      signal *= n[g] = src.shape()[size_t(nd) - group.size() + g];
    Tensor<C> dst = Tensor<C>::empty(src.shape(), src.device());
    cuda::fft_c2c(dst.data_ptr(), src.data_ptr(), int(group.size()), n, src.numel() / signal,
                  forward, j == dims.size() ? scale : 1.0, src.device().index);
    std::vector<int64_t> inv(size_t(nd), 0);
    for (int64_t d = 0; d < nd; ++d) inv[size_t(perm[size_t(d)])] = d;
    cur = dst.permute(inv);
  }
  return cur.contiguous();
}

// The half spectrum of the real, contiguous x over its last `rank` dims (1 or 2) on CUDA, into
// out [..., n_last / 2 + 1].
template <class R>
void cufft_r2c(Tensor<std::complex<R>>& out, const Tensor<R>& x, int rank, double scale) {
  if (out.numel() == 0 || x.numel() == 0) return;
  const Tensor<R> src = cufft_aligned(x);
  int64_t n[3], signal = 1;
  for (int g = 0; g < rank; ++g) signal *= n[g] = src.shape()[size_t(src.dim() - rank + g)];
  cuda::fft_r2c(out.data_ptr(), src.data_ptr(), rank, n, src.numel() / signal, scale,
                x.device().index);
}

// The real signal of `n_last` points from the contiguous half spectrum X [..., n_last / 2 + 1]
// along its last dim (rank 1) on CUDA; X is left intact.
template <class C>
Tensor<real_t<C>> cufft_c2r(const Tensor<C>& X, int64_t n_last, double scale) {
  using R = real_t<C>;
  Shape os = X.shape();
  os.back() = n_last;
  Tensor<R> out = Tensor<R>::empty(os, X.device());
  if (out.numel() == 0) return out;
  const int64_t n[1] = {n_last};
  cuda::fft_c2r(out.data_ptr(), X.data_ptr(), 1, n, out.numel() / n_last, scale,
                X.device().index);
  return out;
}

// [outer, n, inner] around dim d of shape.
inline void fft_split(const Shape& shape, int64_t d, int64_t& outer, int64_t& inner) {
  outer = inner = 1;
  for (int64_t k = 0; k < d; ++k) outer *= shape[size_t(k)];
  for (int64_t k = d + 1; k < int64_t(shape.size()); ++k) inner *= shape[size_t(k)];
}

}  // namespace detail

// The complex transform of x over `dims` (distinct, wrapped), unnormalised, times scale.
template <class C>
Tensor<C> fft_c2c(const Tensor<C>& x, const std::vector<int64_t>& dims, bool forward,
                  double scale, const char* name) {
  using R = real_t<C>;
  if (on_cuda(name, x)) {
    if constexpr (!cuda_complex_kernels_v<C>) no_cuda_kernel<C>(name);
    else return detail::cufft_c2c(x, dims, forward, scale, name);
  }
  if (dims.empty()) return complex_unary(ComplexUnaryOp::MulScalar, x, C(R(scale)), name);
  Tensor<C> cur = x.detach().contiguous();
  for (size_t i = 0; i < dims.size(); ++i) {
    const int64_t d = dims[i];
    int64_t outer, inner;
    detail::fft_split(cur.shape(), d, outer, inner);
    Tensor<C> next = Tensor<C>::empty(cur.shape(), cur.device());
    cpu::fft::c2c<R>(cur.data_ptr(), next.data_ptr(), outer, cur.shape()[size_t(d)], inner,
                     forward ? -1 : 1, i + 1 == dims.size() ? R(scale) : R(1));
    cur = next;
  }
  return cur;
}

// The n/2 + 1 non-negative bins of the real x along dim, times scale.
template <class R>
Tensor<std::complex<R>> fft_r2c(const Tensor<R>& x, int64_t dim, double scale, const char* name) {
  using C = std::complex<R>;
  const bool cuda = on_cuda(name, x);
  const int64_t n = x.shape()[size_t(dim)], h = n / 2 + 1;
  const bool last = dim == x.dim() - 1;
  // The kernels transform rows: move dim last (a copy when it is not).
  const Tensor<R> src = (last ? x.detach() : x.detach().transpose(dim, -1)).contiguous();
  Shape os = src.shape();
  os.back() = h;
  Tensor<C> y = Tensor<C>::empty(os, x.device());
  if (cuda) {
    if constexpr (!cuda_complex_kernels_v<C>) no_cuda_kernel<R>(name);
    else detail::cufft_r2c(y, src, 1, scale);
  } else {
    cpu::fft::r2c<R>(src.data_ptr(), y.data_ptr(), n == 0 ? 0 : src.numel() / n, n, R(scale));
  }
  return last ? y : y.transpose(dim, -1).contiguous();
}

// n real points along dim from the n/2 + 1 bins of X there, times scale.
template <class C>
Tensor<real_t<C>> fft_c2r(const Tensor<C>& X, int64_t dim, int64_t n, double scale,
                          const char* name) {
  using R = real_t<C>;
  const bool cuda = on_cuda(name, X);
  const int64_t h = n / 2 + 1;
  const bool last = dim == X.dim() - 1;
  const Tensor<C> src = (last ? X.detach() : X.detach().transpose(dim, -1)).contiguous();
  Tensor<R> y;
  if (cuda) {
    if constexpr (!cuda_complex_kernels_v<C>) no_cuda_kernel<C>(name);
    else y = detail::cufft_c2r(src, n, scale);
  } else {
    Shape os = src.shape();
    os.back() = n;
    y = Tensor<R>::empty(os, X.device());
    cpu::fft::c2r<R>(src.data_ptr(), y.data_ptr(), h == 0 ? 0 : src.numel() / h, n, R(scale));
  }
  return last ? y : y.transpose(dim, -1).contiguous();
}

// rfft over the last two dims of x (n0 x n1 -> n0 x (n1/2 + 1)), times scale: on the CPU one
// fused kernel (cpu::fft::rfft2), on CUDA one 2-D R2C.
template <class R>
Tensor<std::complex<R>> fft_rfft2(const Tensor<R>& x, double scale, const char* name) {
  using C = std::complex<R>;
  const bool cuda = on_cuda(name, x);
  const int64_t nd = x.dim(), n0 = x.shape()[size_t(nd - 2)], n1 = x.shape()[size_t(nd - 1)];
  const Tensor<R> src = x.detach().contiguous();
  Shape os = x.shape();
  os.back() = n1 / 2 + 1;
  Tensor<C> out = Tensor<C>::empty(os, x.device());
  if (cuda) {
    if constexpr (!cuda_complex_kernels_v<C>) no_cuda_kernel<R>(name);
    else detail::cufft_r2c(out, src, 2, scale);
  } else {
    cpu::fft::rfft2<R>(src.data_ptr(), out.data_ptr(), n0 * n1 == 0 ? 0 : src.numel() / (n0 * n1),
                       n0, n1, R(scale));
  }
  return out;
}

// irfft over the last two dims of X [..., n0, n1/2 + 1] -> [..., n0, n1], times scale.
template <class C>
Tensor<real_t<C>> fft_irfft2(const Tensor<C>& X, int64_t n1, double scale, const char* name) {
  using R = real_t<C>;
  const int64_t nd = X.dim(), n0 = X.shape()[size_t(nd - 2)], h = n1 / 2 + 1;
  const Tensor<C> src = X.detach().contiguous();
  if (on_cuda(name, X)) {
    // C2C over dim -2, then a 1-D C2R over the last dim. cuFFT's 2-D C2R leaves its result
    // unspecified for a spectrum that is not Hermitian along dim -2 (as the spectral layers
    // produce); the composition is what the CPU's fused kernel computes.
    if constexpr (!cuda_complex_kernels_v<C>) no_cuda_kernel<C>(name);
    else return detail::cufft_c2r(detail::cufft_c2c(src, {nd - 2}, false, 1.0, name), n1, scale);
  }
  Shape os = X.shape();
  os.back() = n1;
  Tensor<R> out = Tensor<R>::empty(os, X.device());
  cpu::fft::irfft2<R>(src.data_ptr(), out.data_ptr(), n0 * h == 0 ? 0 : src.numel() / (n0 * h),
                      n0, n1, R(scale));
  return out;
}

// A [1, .., h, .., 1] complex tensor (ndim dims, h along dim) of ones with `w` at positions
// lo .. hi - 1, on `device` (built on the host, then copied: it is h values). The Hermitian
// weights of the r2c / c2r gradients.
template <class C>
Tensor<C> hermitian_weights(int64_t ndim, int64_t dim, int64_t h, int64_t lo, int64_t hi, double w,
                            Device device = Device::cpu()) {
  Shape s(size_t(ndim), 1);
  s[size_t(dim)] = h;
  Tensor<C> t = Tensor<C>::ones(s);
  for (int64_t k = lo; k < hi; ++k) t.data_ptr()[k] = C(real_t<C>(w));
  return t.to(device);
}

}  // namespace backend
}  // namespace ember
