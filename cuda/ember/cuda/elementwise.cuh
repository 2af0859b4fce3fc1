// Elementwise kernels: binary ops with broadcasting, unary ops, fill and strided copy.
// Grid-stride loops; when every operand is contiguous (and 16-byte aligned) the loops move
// 16 bytes per access (float4 / double2), the copy-bandwidth path of the `add` workload.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include <ember/backend/cuda/api.hpp>

namespace ember::cuda::kernels {

// Element offset of linear index i in operand `op` of layout l (row-major over l.shape).
__device__ __forceinline__ int64_t offset_of(const StridedLayout& l, int op, int64_t i) {
  int64_t off = 0;
  for (int d = l.ndim - 1; d >= 0; --d) {
    const int64_t s = l.shape[d];
    off += (i % s) * l.strides[op][d];
    i /= s;
  }
  return off;
}

template <class T, BinaryOp Op>
__device__ __forceinline__ T binary_op(T a, T b) {
  if constexpr (Op == BinaryOp::Add)
    return a + b;
  else if constexpr (Op == BinaryOp::Sub)
    return a - b;
  else if constexpr (Op == BinaryOp::Mul)
    return a * b;
  else if constexpr (Op == BinaryOp::Div)
    return a / b;
  else
    return b > T(0) ? a : T(0);  // ReluBackward: gradient a where the output b is positive
}

template <class T, UnaryOp Op>
__device__ __forceinline__ T unary_op(T x, T s) {
  constexpr T kInvSqrt2 = T(0.70710678118654752440);
  constexpr T kInvSqrt2Pi = T(0.39894228040143267794);
  constexpr T kBeta = T(0.79788456080286535588);  // sqrt(2 / pi)
  constexpr T kKappa = T(0.044715);
  if constexpr (Op == UnaryOp::Neg)
    return -x;
  else if constexpr (Op == UnaryOp::Exp)
    return exp(x);
  else if constexpr (Op == UnaryOp::Log)
    return log(x);
  else if constexpr (Op == UnaryOp::Relu)
    return x < T(0) ? T(0) : x;  // NaN stays NaN
  else if constexpr (Op == UnaryOp::Gelu)
    return T(0.5) * x * (T(1) + erf(x * kInvSqrt2));
  else if constexpr (Op == UnaryOp::GeluTanh)
    return x / (T(1) + exp(T(-2) * kBeta * (x + kKappa * x * x * x)));
  else if constexpr (Op == UnaryOp::AddScalar)
    return x + s;
  else if constexpr (Op == UnaryOp::MulScalar)
    return x * s;
  else if constexpr (Op == UnaryOp::RSubScalar)
    return s - x;
  else if constexpr (Op == UnaryOp::RDivScalar)
    return s / x;
  else if constexpr (Op == UnaryOp::Step)
    return x > T(0) ? T(1) : T(0);
  else if constexpr (Op == UnaryOp::GeluGrad) {
    const T cdf = T(0.5) * (T(1) + erf(x * kInvSqrt2));
    return cdf + x * kInvSqrt2Pi * exp(T(-0.5) * x * x);
  } else {  // GeluTanhGrad, as the CPU kernel (ops/activation.hpp)
    const T x2 = x * x;
    const T e = exp(T(-2) * kBeta * (x + kKappa * x2 * x));
    const T sg = T(1) / (T(1) + e);
    const T one_minus_s = sg < T(0.5) ? T(1) - sg : e * sg;
    return sg + T(2) * x * sg * one_minus_s * kBeta * (T(1) + T(3) * kKappa * x2);
  }
}

// 16 bytes of T.
template <class T>
struct Vec16;
template <>
struct Vec16<float> {
  using type = float4;
  static constexpr int n = 4;
};
template <>
struct Vec16<double> {
  using type = double2;
  static constexpr int n = 2;
};

template <class T, BinaryOp Op>
__global__ void binary_contiguous(T* __restrict__ out, const T* __restrict__ a,
                                  const T* __restrict__ b, int64_t n, bool vec) {
  const int64_t tid = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  int64_t done = 0;
  if (vec) {
    using V = typename Vec16<T>::type;
    constexpr int W = Vec16<T>::n;
    const int64_t nv = n / W;
    for (int64_t i = tid; i < nv; i += stride) {
      V va = reinterpret_cast<const V*>(a)[i], vb = reinterpret_cast<const V*>(b)[i], vo;
      T* pa = reinterpret_cast<T*>(&va);
      T* pb = reinterpret_cast<T*>(&vb);
      T* po = reinterpret_cast<T*>(&vo);
#pragma unroll
      for (int j = 0; j < W; ++j) po[j] = binary_op<T, Op>(pa[j], pb[j]);
      reinterpret_cast<V*>(out)[i] = vo;
    }
    done = nv * W;
  }
  for (int64_t i = done + tid; i < n; i += stride) out[i] = binary_op<T, Op>(a[i], b[i]);
}

template <class T, BinaryOp Op>
__global__ void binary_strided(T* __restrict__ out, const T* __restrict__ a,
                               const T* __restrict__ b, const StridedLayout l) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < l.numel; i += stride)
    out[offset_of(l, 0, i)] = binary_op<T, Op>(a[offset_of(l, 1, i)], b[offset_of(l, 2, i)]);
}

template <class T, UnaryOp Op>
__global__ void unary_contiguous(T* __restrict__ out, const T* __restrict__ x, T s, int64_t n,
                                 bool vec) {
  const int64_t tid = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  int64_t done = 0;
  if (vec) {
    using V = typename Vec16<T>::type;
    constexpr int W = Vec16<T>::n;
    const int64_t nv = n / W;
    for (int64_t i = tid; i < nv; i += stride) {
      V vx = reinterpret_cast<const V*>(x)[i], vo;
      T* px = reinterpret_cast<T*>(&vx);
      T* po = reinterpret_cast<T*>(&vo);
#pragma unroll
      for (int j = 0; j < W; ++j) po[j] = unary_op<T, Op>(px[j], s);
      reinterpret_cast<V*>(out)[i] = vo;
    }
    done = nv * W;
  }
  for (int64_t i = done + tid; i < n; i += stride) out[i] = unary_op<T, Op>(x[i], s);
}

template <class T, UnaryOp Op>
__global__ void unary_strided(T* __restrict__ out, const T* __restrict__ x, T s,
                              const StridedLayout l) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < l.numel; i += stride)
    out[offset_of(l, 0, i)] = unary_op<T, Op>(x[offset_of(l, 1, i)], s);
}

// Typeless element of E bytes (E = 1, 2, 4, 8, 16).
template <int E>
struct Bytes;
template <>
struct Bytes<1> {
  using type = uint8_t;
};
template <>
struct Bytes<2> {
  using type = uint16_t;
};
template <>
struct Bytes<4> {
  using type = uint32_t;
};
template <>
struct Bytes<8> {
  using type = uint64_t;
};
template <>
struct Bytes<16> {
  using type = ulonglong2;
};

template <class E>
__global__ void fill_kernel(E* __restrict__ out, E value, int64_t n) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    out[i] = value;
}

template <class E>
__global__ void copy_kernel(E* __restrict__ out, const E* __restrict__ in, const StridedLayout l) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < l.numel; i += stride)
    out[offset_of(l, 0, i)] = in[offset_of(l, 1, i)];
}

}  // namespace ember::cuda::kernels
