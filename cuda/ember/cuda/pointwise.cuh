// The CUDA kernels and launchers of backend/pointwise.hpp: every op of
// backend/pointwise_formulas.hpp, forward (value) and backward (g * derivative), each from
// the one Formula the CPU map uses too. Grid-stride loops; when every operand is contiguous and
// 16-byte aligned they move 16 bytes per access (float4 / double2).
//
// Included by exactly one translation unit (cuda/src/elementwise.cu), which gets the float and
// double instances of the launchers at the end of this file.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include <ember/backend/pointwise.hpp>
#include <ember/cuda/check.cuh>
#include <ember/cuda/elementwise.cuh>
#include <ember/cuda/runtime.cuh>

namespace ember::cuda {

namespace kernels {

// Forward: out[i] = value(x[i]).
template <class T, class F>
struct PointwiseValue {
  pointwise::Scalars<T> s;
  __device__ __forceinline__ T operator()(T x, T) const { return F::value(x, s); }
};

// Backward: out[i] = g[i] * derivative(v[i]) (real types: conj is the identity).
template <class T, class F>
struct PointwiseGrad {
  pointwise::Scalars<T> s;
  __device__ __forceinline__ T operator()(T g, T v) const { return g * F::derivative(v, s); }
};

// out = f(a, b) elementwise over l (b unused by the forward functor: it gets a).
template <class T, class Fn>
__global__ void pointwise_contiguous(T* __restrict__ out, const T* __restrict__ a,
                                     const T* __restrict__ b, int64_t n, bool vec, Fn f) {
  const int64_t tid = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  int64_t done = 0;
  if (vec) {
    using V = typename Vec16<T>::type;
    constexpr int W = Vec16<T>::n;
    const int64_t nv = n / W;
    for (int64_t i = tid; i < nv; i += stride) {
      V va = reinterpret_cast<const V*>(a)[i], vb = reinterpret_cast<const V*>(b)[i], vo;
      const T* pa = reinterpret_cast<const T*>(&va);
      const T* pb = reinterpret_cast<const T*>(&vb);
      T* po = reinterpret_cast<T*>(&vo);
#pragma unroll
      for (int j = 0; j < W; ++j) po[j] = f(pa[j], pb[j]);
      reinterpret_cast<V*>(out)[i] = vo;
    }
    done = nv * W;
  }
  for (int64_t i = done + tid; i < n; i += stride) out[i] = f(a[i], b[i]);
}

template <class T, class Fn>
__global__ void pointwise_strided(T* __restrict__ out, const T* __restrict__ a,
                                  const T* __restrict__ b, const StridedLayout l, int b_operand,
                                  Fn f) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < l.numel; i += stride)
    out[offset_of(l, 0, i)] = f(a[offset_of(l, 1, i)], b[offset_of(l, b_operand, i)]);
}

}  // namespace kernels

namespace detail {

inline bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// Launches f over l: operands 0 (out), 1 (a) and b_operand (b: 2, or 1 when b is a).
template <class T, class Fn>
void launch_pointwise(T* out, const T* a, const T* b, int b_operand, const StridedLayout& l,
                      int device, Fn f) {
  if (l.numel == 0) return;
  constexpr int kThreads = 256;
  use_device(device);
  cudaStream_t st = stream(device);
  if (l.contiguous) {
    const bool vec = aligned16(out) && aligned16(a) && aligned16(b);
    const int64_t work = vec ? (l.numel + 3) / 4 : l.numel;
    kernels::pointwise_contiguous<T><<<grid_for(work, kThreads, device), kThreads, 0, st>>>(
        out, a, b, l.numel, vec, f);
  } else {
    kernels::pointwise_strided<T><<<grid_for(l.numel, kThreads, device), kThreads, 0, st>>>(
        out, a, b, l, b_operand, f);
  }
  EMBER_CUDA_CHECK_LAUNCH();
}

// The formulas with a derivative (those with a from_output member).
template <class F, class = void>
struct has_derivative : std::false_type {};
template <class F>
struct has_derivative<F, std::void_t<decltype(F::from_output)>> : std::true_type {};

}  // namespace detail

template <class T>
void pointwise(pointwise::Op op, T* out, const T* x, pointwise::Scalars<T> s,
               const StridedLayout& l, int device) {
  switch (op) {
#define EMBER_POINTWISE_CASE(name)                                                          \
  case pointwise::Op::name:                                                                 \
    return detail::launch_pointwise(                                                        \
        out, x, x, 1, l, device,                                                            \
        kernels::PointwiseValue<T, pointwise::Formula<pointwise::Op::name>>{s});
    EMBER_POINTWISE_OPS(EMBER_POINTWISE_CASE)
#undef EMBER_POINTWISE_CASE
  }
  fail("cuda::pointwise: unknown op ", int(op));
}

template <class T>
void pointwise_backward(pointwise::Op op, T* out, const T* g, const T* v, pointwise::Scalars<T> s,
                        const StridedLayout& l, int device) {
  switch (op) {
#define EMBER_POINTWISE_CASE(name)                                                          \
  case pointwise::Op::name:                                                                 \
    if constexpr (detail::has_derivative<pointwise::Formula<pointwise::Op::name>>::value)   \
      return detail::launch_pointwise(                                                      \
          out, g, v, 2, l, device,                                                          \
          kernels::PointwiseGrad<T, pointwise::Formula<pointwise::Op::name>>{s});           \
    break;
    EMBER_POINTWISE_OPS(EMBER_POINTWISE_CASE)
#undef EMBER_POINTWISE_CASE
  }
  fail("cuda::pointwise_backward: op ", int(op), " has no derivative");
}

// The two dtypes with CUDA kernels.
template void pointwise<float>(pointwise::Op, float*, const float*, pointwise::Scalars<float>,
                               const StridedLayout&, int);
template void pointwise<double>(pointwise::Op, double*, const double*, pointwise::Scalars<double>,
                                const StridedLayout&, int);
template void pointwise_backward<float>(pointwise::Op, float*, const float*, const float*,
                                        pointwise::Scalars<float>, const StridedLayout&, int);
template void pointwise_backward<double>(pointwise::Op, double*, const double*, const double*,
                                         pointwise::Scalars<double>, const StridedLayout&, int);

}  // namespace ember::cuda
