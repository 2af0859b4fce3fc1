// Elementwise kernels: the binary ops, predicates and where of backend/elementwise.hpp (each
// applying that header's formula, binary_value / predicate_value, as the CPU map does) and
// their launchers; fill and strided copy (launched by cuda/src/elementwise.cu); offset_of and
// Vec16, which pointwise.cuh uses too.
// Grid-stride loops; when every operand is contiguous (and 16-byte aligned) the binary loops
// move 16 bytes per access (float4 / double2), the copy-bandwidth path of the `add` workload.
//
// Included by exactly one translation unit (cuda/src/elementwise.cu), which gets the float and
// double (and, for predicates, bool) instances of the launchers at the end of this file.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include <ember/backend/cuda/api.hpp>
#include <ember/backend/elementwise.hpp>
#include <ember/cuda/check.cuh>
#include <ember/cuda/runtime.cuh>

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

// ---------------------------------------------------------------- binary ops

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
      for (int j = 0; j < W; ++j) po[j] = elementwise::binary_value<Op>(pa[j], pb[j]);
      reinterpret_cast<V*>(out)[i] = vo;
    }
    done = nv * W;
  }
  for (int64_t i = done + tid; i < n; i += stride)
    out[i] = elementwise::binary_value<Op>(a[i], b[i]);
}

template <class T, BinaryOp Op>
__global__ void binary_strided(T* __restrict__ out, const T* __restrict__ a,
                               const T* __restrict__ b, const StridedLayout l) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < l.numel; i += stride)
    out[offset_of(l, 0, i)] =
        elementwise::binary_value<Op>(a[offset_of(l, 1, i)], b[offset_of(l, 2, i)]);
}

// ---------------------------------------------------------------- predicates, where

// Layout operands (out, a, b); b null means the scalar s instead.
template <class T, PredicateOp Op>
__global__ void predicate_kernel(bool* __restrict__ out, const T* __restrict__ a,
                                 const T* __restrict__ b, T s, const StridedLayout l) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < l.numel; i += stride) {
    const T y = b ? b[offset_of(l, 2, i)] : s;
    out[offset_of(l, 0, i)] = elementwise::predicate_value<Op>(a[offset_of(l, 1, i)], y);
  }
}

// l: (out, a, b); lc: (out, cond) over the same shape, so index i is the same element in both.
template <class T>
__global__ void where_kernel(T* __restrict__ out, const bool* __restrict__ cond,
                             const T* __restrict__ a, const T* __restrict__ b,
                             const StridedLayout l, const StridedLayout lc) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < l.numel; i += stride)
    out[offset_of(l, 0, i)] =
        cond[offset_of(lc, 1, i)] ? a[offset_of(l, 1, i)] : b[offset_of(l, 2, i)];
}

// ---------------------------------------------------------------- fill, strided copy

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

namespace ember::cuda {

namespace detail {

constexpr int kElementwiseThreads = 256;

template <class T, BinaryOp Op>
void launch_binary(T* out, const T* a, const T* b, const StridedLayout& l, int device) {
  constexpr int threads = kElementwiseThreads;
  cudaStream_t st = stream(device);
  if (l.contiguous) {
    auto aligned = [](const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; };
    const bool vec = aligned(out) && aligned(a) && aligned(b);
    const int64_t work = vec ? (l.numel + 3) / 4 : l.numel;
    kernels::binary_contiguous<T, Op>
        <<<grid_for(work, threads, device), threads, 0, st>>>(out, a, b, l.numel, vec);
  } else {
    kernels::binary_strided<T, Op>
        <<<grid_for(l.numel, threads, device), threads, 0, st>>>(out, a, b, l);
  }
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T, PredicateOp Op>
void launch_predicate(bool* out, const T* a, const T* b, T s, const StridedLayout& l, int device) {
  constexpr int threads = kElementwiseThreads;
  kernels::predicate_kernel<T, Op>
      <<<grid_for(l.numel, threads, device), threads, 0, stream(device)>>>(out, a, b, s, l);
  EMBER_CUDA_CHECK_LAUNCH();
}

}  // namespace detail

template <class T>
void binary(BinaryOp op, T* out, const T* a, const T* b, const StridedLayout& l, int device) {
  if (l.numel == 0) return;
  detail::use_device(device);
  switch (op) {
#define EMBER_BINARY_CASE(name) \
  case BinaryOp::name:          \
    return detail::launch_binary<T, BinaryOp::name>(out, a, b, l, device);
    EMBER_BINARY_CASE(Add)
    EMBER_BINARY_CASE(Sub)
    EMBER_BINARY_CASE(Mul)
    EMBER_BINARY_CASE(Div)
    EMBER_BINARY_CASE(Pow)
    EMBER_BINARY_CASE(Maximum)
    EMBER_BINARY_CASE(Minimum)
    EMBER_BINARY_CASE(MaxWeight)
    EMBER_BINARY_CASE(MinWeight)
    EMBER_BINARY_CASE(EqMask)
    EMBER_BINARY_CASE(DivOrZero)
#undef EMBER_BINARY_CASE
  }
  fail("cuda::binary: unknown op ", int(op));
}

template <class T>
void predicate(PredicateOp op, bool* out, const T* a, const T* b, double scalar,
               const StridedLayout& l, int device) {
  if (l.numel == 0) return;
  detail::use_device(device);
  const T s = T(scalar);
  switch (op) {
#define EMBER_PREDICATE_CASE(name) \
  case PredicateOp::name:          \
    return detail::launch_predicate<T, PredicateOp::name>(out, a, b, s, l, device);
    EMBER_PREDICATE_CASE(Eq)
    EMBER_PREDICATE_CASE(Ne)
    EMBER_PREDICATE_CASE(Lt)
    EMBER_PREDICATE_CASE(Le)
    EMBER_PREDICATE_CASE(Gt)
    EMBER_PREDICATE_CASE(Ge)
    EMBER_PREDICATE_CASE(And)
    EMBER_PREDICATE_CASE(Or)
    EMBER_PREDICATE_CASE(Not)
    EMBER_PREDICATE_CASE(IsNan)
    EMBER_PREDICATE_CASE(IsInf)
    EMBER_PREDICATE_CASE(IsFinite)
#undef EMBER_PREDICATE_CASE
  }
  fail("cuda::predicate: unknown op ", int(op));
}

template <class T>
void where(T* out, const bool* cond, const T* a, const T* b, const StridedLayout& l,
           const StridedLayout& lc, int device) {
  if (l.numel == 0) return;
  EMBER_CHECK(l.numel == lc.numel, "cuda::where: layouts of ", l.numel, " and ", lc.numel,
              " elements");
  detail::use_device(device);
  constexpr int threads = detail::kElementwiseThreads;
  kernels::where_kernel<T><<<detail::grid_for(l.numel, threads, device), threads, 0,
                             detail::stream(device)>>>(out, cond, a, b, l, lc);
  EMBER_CUDA_CHECK_LAUNCH();
}

// The dtypes with CUDA kernels (predicates: bool too).
template void binary<float>(BinaryOp, float*, const float*, const float*, const StridedLayout&,
                            int);
template void binary<double>(BinaryOp, double*, const double*, const double*,
                             const StridedLayout&, int);
template void predicate<float>(PredicateOp, bool*, const float*, const float*, double,
                               const StridedLayout&, int);
template void predicate<double>(PredicateOp, bool*, const double*, const double*, double,
                                const StridedLayout&, int);
template void predicate<bool>(PredicateOp, bool*, const bool*, const bool*, double,
                              const StridedLayout&, int);
template void where<float>(float*, const bool*, const float*, const float*, const StridedLayout&,
                           const StridedLayout&, int);
template void where<double>(double*, const bool*, const double*, const double*,
                            const StridedLayout&, const StridedLayout&, int);

}  // namespace ember::cuda
