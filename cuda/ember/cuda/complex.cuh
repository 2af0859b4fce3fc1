// Complex elementwise kernels (complex<float> / complex<double>) for the ops the spectral
// layers use: add, sub, mul, div (with broadcasting, through a StridedLayout of three
// operands), neg, conj, a complex scalar added or multiplied, and complex(re, im) from two real
// operands. std::complex<R> is laid out as R[2] (re, im), so the kernels read it through Cx<R>,
// a plain pair that device code can do arithmetic on.
//
// Kernels and the launchers of backend/complex.hpp; included by one translation unit
// (cuda/src/spectral.cu), which gets the float and double instances at the end of this file.
#pragma once

#include <cuda_runtime.h>

#include <complex>
#include <cstdint>

#include <ember/backend/complex.hpp>
#include <ember/backend/cuda/api.hpp>
#include <ember/cuda/check.cuh>
#include <ember/cuda/runtime.cuh>

namespace ember::cuda::kernels {

template <class R>
struct Cx {
  R re, im;
};

// A std::complex<R> array seen as Cx<R> (the same R[2] layout).
template <class R>
Cx<R>* as_cx(std::complex<R>* p) {
  return reinterpret_cast<Cx<R>*>(p);
}
template <class R>
const Cx<R>* as_cx(const std::complex<R>* p) {
  return reinterpret_cast<const Cx<R>*>(p);
}

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

// op: 0 neg, 1 conj, 2 x + s, 3 x * s (backend::ComplexUnaryOp's values).
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

}  // namespace ember::cuda::kernels

namespace ember::cuda {

template <class R>
void complex_binary(BinaryOp op, std::complex<R>* out, const std::complex<R>* a,
                    const std::complex<R>* b, const StridedLayout& l, int device) {
  int code;
  switch (op) {
    case BinaryOp::Add:
      code = 0;
      break;
    case BinaryOp::Sub:
      code = 1;
      break;
    case BinaryOp::Mul:
      code = 2;
      break;
    case BinaryOp::Div:
      code = 3;
      break;
    default:
      fail("complex_binary: unsupported op ", int(op), " for complex tensors");
  }
  if (l.numel == 0) return;
  detail::use_device(device);
  kernels::complex_binary<R>
      <<<detail::grid_for(l.numel, 256, device), 256, 0, detail::stream(device)>>>(
          code, kernels::as_cx(out), kernels::as_cx(a), kernels::as_cx(b), l);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class R>
void complex_unary(backend::ComplexUnaryOp op, std::complex<R>* out, const std::complex<R>* x,
                   std::complex<R> s, const StridedLayout& l, int device) {
  if (l.numel == 0) return;
  detail::use_device(device);
  const kernels::Cx<R> sc{s.real(), s.imag()};
  kernels::complex_unary<R>
      <<<detail::grid_for(l.numel, 256, device), 256, 0, detail::stream(device)>>>(
          int(op), kernels::as_cx(out), kernels::as_cx(x), sc, l);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class R>
void complex_from_parts(std::complex<R>* out, const R* re, const R* im, const StridedLayout& l,
                        int device) {
  if (l.numel == 0) return;
  detail::use_device(device);
  kernels::complex_from_parts<R>
      <<<detail::grid_for(l.numel, 256, device), 256, 0, detail::stream(device)>>>(
          kernels::as_cx(out), re, im, l);
  EMBER_CUDA_CHECK_LAUNCH();
}

template void complex_binary<float>(BinaryOp, std::complex<float>*, const std::complex<float>*,
                                    const std::complex<float>*, const StridedLayout&, int);
template void complex_binary<double>(BinaryOp, std::complex<double>*, const std::complex<double>*,
                                     const std::complex<double>*, const StridedLayout&, int);
template void complex_unary<float>(backend::ComplexUnaryOp, std::complex<float>*,
                                   const std::complex<float>*, std::complex<float>,
                                   const StridedLayout&, int);
template void complex_unary<double>(backend::ComplexUnaryOp, std::complex<double>*,
                                    const std::complex<double>*, std::complex<double>,
                                    const StridedLayout&, int);
template void complex_from_parts<float>(std::complex<float>*, const float*, const float*,
                                        const StridedLayout&, int);
template void complex_from_parts<double>(std::complex<double>*, const double*, const double*,
                                         const StridedLayout&, int);

}  // namespace ember::cuda
