// softmax / log_softmax over the middle dim of a contiguous [outer, n, inner] tensor.
// inner == 1 (the last dim, the common case): one block per row, max and sum by warp
// shuffles then across warps in shared memory. inner > 1: one thread per (outer, inner)
// column, reading along n (coalesced over inner).
//
// Backward, from the output y: softmax gx = y (g - sum(g y)); log_softmax gx = g - exp(y) sum(g).
// log_softmax is (x - m) - log(s), as on the CPU (backend/cpu/softmax.hpp): x - (m + log(s))
// would lose log(s)'s digits when |m| is large.
//
// Kernels and the launchers of backend/softmax.hpp; included by one translation unit
// (cuda/src/nn.cu), which gets the float and double instances at the end of this file.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include <ember/backend/softmax.hpp>
#include <ember/cuda/check.cuh>
#include <ember/cuda/reduce.cuh>
#include <ember/cuda/runtime.cuh>

namespace ember::cuda::kernels {

template <class T, bool Log>
__global__ void softmax_rows_forward(T* __restrict__ y, const T* __restrict__ x, int64_t n) {
  using A = typename AccOf<T>::type;
  __shared__ A shared[32];
  const T* xr = x + int64_t(blockIdx.x) * n;
  T* yr = y + int64_t(blockIdx.x) * n;
  A m = -INFINITY;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) m = fmax(m, A(xr[i]));
  m = block_max(m, shared);
  if (m == -INFINITY) m = 0;  // an all -inf row: exp gives 0 / 0 = NaN, as PyTorch
  A s = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += exp(A(xr[i]) - m);
  s = block_sum(s, shared);
  if constexpr (Log) {
    const A log_s = log(s);
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) yr[i] = T((A(xr[i]) - m) - log_s);
  } else {
    const A inv = A(1) / s;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) yr[i] = T(exp(A(xr[i]) - m) * inv);
  }
}

template <class T, bool Log>
__global__ void softmax_rows_backward(T* __restrict__ gx, const T* __restrict__ g,
                                      const T* __restrict__ y, int64_t n) {
  using A = typename AccOf<T>::type;
  __shared__ A shared[32];
  const int64_t off = int64_t(blockIdx.x) * n;
  A s = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
    s += Log ? A(g[off + i]) : A(g[off + i]) * A(y[off + i]);
  s = block_sum(s, shared);
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const A gv = g[off + i], yv = y[off + i];
    gx[off + i] = Log ? T(gv - exp(yv) * s) : T(yv * (gv - s));
  }
}

template <class T, bool Log>
__global__ void softmax_columns_forward(T* __restrict__ y, const T* __restrict__ x, int64_t outer,
                                        int64_t n, int64_t inner) {
  using A = typename AccOf<T>::type;
  const int64_t total = outer * inner, stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; c < total; c += stride) {
    const int64_t base = (c / inner) * n * inner + c % inner;
    A m = -INFINITY;
    for (int64_t r = 0; r < n; ++r) m = fmax(m, A(x[base + r * inner]));
    if (m == -INFINITY) m = 0;
    A s = 0;
    for (int64_t r = 0; r < n; ++r) s += exp(A(x[base + r * inner]) - m);
    const A log_s = log(s), inv = A(1) / s;
    for (int64_t r = 0; r < n; ++r) {
      const A v = x[base + r * inner];
      y[base + r * inner] = Log ? T((v - m) - log_s) : T(exp(v - m) * inv);
    }
  }
}

template <class T, bool Log>
__global__ void softmax_columns_backward(T* __restrict__ gx, const T* __restrict__ g,
                                         const T* __restrict__ y, int64_t outer, int64_t n,
                                         int64_t inner) {
  using A = typename AccOf<T>::type;
  const int64_t total = outer * inner, stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; c < total; c += stride) {
    const int64_t base = (c / inner) * n * inner + c % inner;
    A s = 0;
    for (int64_t r = 0; r < n; ++r) {
      const int64_t i = base + r * inner;
      s += Log ? A(g[i]) : A(g[i]) * A(y[i]);
    }
    for (int64_t r = 0; r < n; ++r) {
      const int64_t i = base + r * inner;
      const A gv = g[i], yv = y[i];
      gx[i] = Log ? T(gv - exp(yv) * s) : T(yv * (gv - s));
    }
  }
}

}  // namespace ember::cuda::kernels

namespace ember::cuda {

template <class T>
void softmax_forward(bool log, T* y, const T* x, int64_t outer, int64_t n, int64_t inner,
                     int device) {
  if (outer * n * inner == 0) return;
  detail::use_device(device);
  cudaStream_t st = detail::stream(device);
  if (inner == 1) {
    detail::check_grid(outer, "softmax");
    const int threads = detail::row_threads(n);
    if (log)
      kernels::softmax_rows_forward<T, true><<<unsigned(outer), threads, 0, st>>>(y, x, n);
    else
      kernels::softmax_rows_forward<T, false><<<unsigned(outer), threads, 0, st>>>(y, x, n);
  } else {
    const unsigned grid = detail::grid_for(outer * inner, 256, device);
    if (log)
      kernels::softmax_columns_forward<T, true><<<grid, 256, 0, st>>>(y, x, outer, n, inner);
    else
      kernels::softmax_columns_forward<T, false><<<grid, 256, 0, st>>>(y, x, outer, n, inner);
  }
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void softmax_backward(bool log, T* gx, const T* g, const T* y, int64_t outer, int64_t n,
                      int64_t inner, int device) {
  if (outer * n * inner == 0) return;
  detail::use_device(device);
  cudaStream_t st = detail::stream(device);
  if (inner == 1) {
    detail::check_grid(outer, "softmax_backward");
    const int threads = detail::row_threads(n);
    if (log)
      kernels::softmax_rows_backward<T, true><<<unsigned(outer), threads, 0, st>>>(gx, g, y, n);
    else
      kernels::softmax_rows_backward<T, false><<<unsigned(outer), threads, 0, st>>>(gx, g, y, n);
  } else {
    const unsigned grid = detail::grid_for(outer * inner, 256, device);
    if (log)
      kernels::softmax_columns_backward<T, true><<<grid, 256, 0, st>>>(gx, g, y, outer, n, inner);
    else
      kernels::softmax_columns_backward<T, false><<<grid, 256, 0, st>>>(gx, g, y, outer, n, inner);
  }
  EMBER_CUDA_CHECK_LAUNCH();
}

template void softmax_forward<float>(bool, float*, const float*, int64_t, int64_t, int64_t, int);
template void softmax_forward<double>(bool, double*, const double*, int64_t, int64_t, int64_t, int);
template void softmax_backward<float>(bool, float*, const float*, const float*, int64_t, int64_t,
                                      int64_t, int);
template void softmax_backward<double>(bool, double*, const double*, const double*, int64_t,
                                       int64_t, int64_t, int);

}  // namespace ember::cuda
