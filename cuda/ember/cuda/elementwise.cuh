// Elementwise kernels: binary ops with broadcasting, fill and strided copy (the pointwise ops
// of one tensor are in pointwise.cuh).
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
  else if constexpr (Op == BinaryOp::Pow)
    return pow(a, b);
  else if constexpr (Op == BinaryOp::Maximum)
    return (a > b || a != a) ? a : b;  // NaN propagates, as on the CPU
  else if constexpr (Op == BinaryOp::Minimum)
    return (a < b || a != a) ? a : b;
  else if constexpr (Op == BinaryOp::MaxWeight)
    return a == b ? T(0.5) : T(!(a < b));
  else if constexpr (Op == BinaryOp::MinWeight)
    return a == b ? T(0.5) : T(!(a > b));
  else if constexpr (Op == BinaryOp::EqMask)
    return a == b ? T(1) : T(0);
  else  // DivOrZero
    return b > T(0) ? a / b : T(0);
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
