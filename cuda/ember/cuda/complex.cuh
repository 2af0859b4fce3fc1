// Complex elementwise kernels (complex<float> / complex<double>) for the ops the spectral
// layers use: add, sub, mul, div (with broadcasting, through a StridedLayout of three
// operands), neg, conj, a complex scalar added or multiplied, and complex(re, im) from two real
// operands. std::complex<R> is laid out as R[2] (re, im), so the kernels read it through Cx<R>,
// a plain pair that device code can do arithmetic on.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <ember/backend/cuda/api.hpp>

namespace ember::cuda::kernels {

template <class R>
struct Cx {
  R re, im;
};

// Offsets (in elements) of the linear index i in each of the first N operands of l.
template <int N>
__device__ inline void layout_offsets(const StridedLayout& l, int64_t i, int64_t (&off)[N]) {
  for (int op = 0; op < N; ++op) off[op] = 0;
  if (l.contiguous) {
    for (int op = 0; op < N; ++op) off[op] = i;
    return;
  }
  for (int d = l.ndim - 1; d >= 0; --d) {
    const int64_t s = l.shape[d], idx = i % s;
    i /= s;
    for (int op = 0; op < N; ++op) off[op] += idx * l.strides[op][d];
  }
}

// Smith's algorithm (as libgcc's __divsc3 without its rescaling): no overflow of |b|^2 for
// large b, and the same rounding behaviour as the CPU's std::complex division in practice.
template <class R>
__device__ inline Cx<R> cx_div(Cx<R> a, Cx<R> b) {
  if (fabs(b.re) >= fabs(b.im)) {
    const R r = b.im / b.re, den = b.re + b.im * r;
    return {(a.re + a.im * r) / den, (a.im - a.re * r) / den};
  }
  const R r = b.re / b.im, den = b.re * r + b.im;
  return {(a.re * r + a.im) / den, (a.im * r - a.re) / den};
}

template <class R>
__device__ inline Cx<R> cx_mul(Cx<R> a, Cx<R> b) {
  return {a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re};
}

// op: 0 add, 1 sub, 2 mul, 3 div (BinaryOp's values).
template <class R>
__global__ void complex_binary(int op, Cx<R>* __restrict__ out, const Cx<R>* __restrict__ a,
                               const Cx<R>* __restrict__ b, StridedLayout l) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < l.numel; i += stride) {
    int64_t off[3];
    layout_offsets<3>(l, i, off);
    const Cx<R> x = a[off[1]], y = b[off[2]];
    Cx<R> r;
    switch (op) {
      case 0:
        r = {x.re + y.re, x.im + y.im};
        break;
      case 1:
        r = {x.re - y.re, x.im - y.im};
        break;
      case 2:
        r = cx_mul(x, y);
        break;
      default:
        r = cx_div(x, y);
        break;
    }
    out[off[0]] = r;
  }
}

// op: 0 neg, 1 conj, 2 x + s, 3 x * s (ComplexUnaryOp's values).
template <class R>
__global__ void complex_unary(int op, Cx<R>* __restrict__ out, const Cx<R>* __restrict__ x, Cx<R> s,
                              StridedLayout l) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < l.numel; i += stride) {
    int64_t off[2];
    layout_offsets<2>(l, i, off);
    const Cx<R> v = x[off[1]];
    Cx<R> r;
    switch (op) {
      case 0:
        r = {-v.re, -v.im};
        break;
      case 1:
        r = {v.re, -v.im};
        break;
      case 2:
        r = {v.re + s.re, v.im + s.im};
        break;
      default:
        r = cx_mul(v, s);
        break;
    }
    out[off[0]] = r;
  }
}

// out = re + i im (operand 0 complex, 1 and 2 real, strides in elements of each).
template <class R>
__global__ void complex_from_parts(Cx<R>* __restrict__ out, const R* __restrict__ re,
                                   const R* __restrict__ im, StridedLayout l) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < l.numel; i += stride) {
    int64_t off[3];
    layout_offsets<3>(l, i, off);
    out[off[0]] = Cx<R>{re[off[1]], im[off[2]]};
  }
}

// Zeroes the imaginary parts of bin 0 and (nyquist: even n) bin h - 1 of `rows` half spectra
// of h bins: the parts a C2R transform must ignore (the CPU's c2r does), so that cuFFT sees an
// exactly Hermitian input whatever its own handling of them.
template <class R>
__global__ void zero_dc_nyquist_imag(Cx<R>* __restrict__ x, int64_t rows, int64_t h, bool nyquist) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t r = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; r < rows; r += stride) {
    x[r * h].im = R(0);
    if (nyquist) x[r * h + h - 1].im = R(0);
  }
}

// x[i] *= s over n reals (a complex array counts 2 per element): FFT normalisation.
template <class R>
__global__ void scale_reals(R* __restrict__ x, int64_t n, R s) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) x[i] *= s;
}

}  // namespace ember::cuda::kernels
