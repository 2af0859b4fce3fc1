// Pooling kernels over planes [P, H, W] -> [P, OH, OW]: max (value and flat index), the
// gather at those indices, window means, and the adjoints of both as gathers. One thread per
// output position, windows read from the tables ops/pool.hpp builds on the host
// (strided_windows / adaptive_windows), so values and indices match the CPU.
//
// Kernels and the launchers of backend/pool.hpp; included by one translation unit
// (cuda/src/spatial.cu), which gets the float and double instances at the end of this file.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include <ember/backend/pool.hpp>
#include <ember/cuda/check.cuh>
#include <ember/cuda/conv.cuh>  // sp_start, sp_stride, kSpatialThreads
#include <ember/cuda/reduce.cuh>
#include <ember/cuda/runtime.cuh>

namespace ember::cuda::kernels {

// The window of (oh, ow) from the host-built tables (see PoolShape in backend/pool.hpp).
struct Window {
  int64_t hl, hh, wl, wh;
};
__device__ __forceinline__ Window window_of(const PoolShape& g, const int64_t* __restrict__ win,
                                            int64_t oh, int64_t ow) {
  return {win[oh], win[g.OH + oh], win[2 * g.OH + ow], win[2 * g.OH + g.OW + ow]};
}

template <class T>
__global__ void max_pool_forward(const PoolShape g, const int64_t* __restrict__ win,
                                 const T* __restrict__ x, T* __restrict__ y,
                                 int64_t* __restrict__ idx) {
  const int64_t total = g.P * g.OH * g.OW;
  for (int64_t i = sp_start(); i < total; i += sp_stride()) {
    const int64_t ow = i % g.OW, oh = (i / g.OW) % g.OH, p = i / (g.OW * g.OH);
    const Window wd = window_of(g, win, oh, ow);
    const int64_t hl = wd.hl, hh = wd.hh, wl = wd.wl, wh = wd.wh;
    const int64_t hs = g.step[0], ws = g.step[1];
    const T* xp = x + p * g.H * g.W;
    T best = -INFINITY;
    int64_t arg = -1;
    bool nan = false;
    for (int64_t h = hl; h < hh && !nan; h += hs)
      for (int64_t w = wl; w < wh; w += ws) {
        const T v = xp[h * g.W + w];
        if (arg < 0 || v > best || isnan(v)) {
          best = v;
          arg = h * g.W + w;
          if (isnan(v)) {
            nan = true;
            break;
          }
        }
      }
    y[i] = best;
    idx[i] = arg < 0 ? 0 : arg;
  }
}

template <class T>
__global__ void plane_gather(const T* __restrict__ x, const int64_t* __restrict__ idx,
                             T* __restrict__ y, int64_t P, int64_t n_in, int64_t n_out) {
  const int64_t total = P * n_out;
  for (int64_t i = sp_start(); i < total; i += sp_stride()) y[i] = x[(i / n_out) * n_in + idx[i]];
}

// out[p, oh, ow] = (sum of the window) * inv_div[oh, ow], summed in the CPU's order.
template <class T>
__global__ void window_mean(const PoolShape g, const int64_t* __restrict__ win,
                            const T* __restrict__ src, const T* __restrict__ inv_div,
                            T* __restrict__ out) {
  const int64_t total = g.P * g.OH * g.OW;
  for (int64_t i = sp_start(); i < total; i += sp_stride()) {
    const int64_t ow = i % g.OW, oh = (i / g.OW) % g.OH, p = i / (g.OW * g.OH);
    const Window wd = window_of(g, win, oh, ow);
    const T* xp = src + p * g.H * g.W;
    T acc = T(0);
    for (int64_t h = wd.hl; h < wd.hh; h += g.step[0])
      for (int64_t w = wd.wl; w < wd.wh; w += g.step[1]) acc += xp[h * g.W + w];
    out[i] = acc * inv_div[oh * g.OW + ow];
  }
}

// The adjoint of max pooling (idx given) or of window_mean (inv_div given): one thread per
// input element, summing over the windows that cover it (lists built on the host), in output
// order. No atomics, so deterministic.
template <class T>
__global__ void pool_adjoint(const PoolShape g, const int64_t* __restrict__ offsets,
                             const int64_t* __restrict__ entries, const int64_t* __restrict__ idx,
                             const T* __restrict__ inv_div, const T* __restrict__ src,
                             T* __restrict__ out) {
  using A = typename AccOf<T>::type;
  const int64_t total = g.P * g.H * g.W;
  const int64_t* col_off = offsets + g.H + 1;
  for (int64_t i = sp_start(); i < total; i += sp_stride()) {
    const int64_t w = i % g.W, h = (i / g.W) % g.H, p = i / (g.W * g.H);
    const int64_t plane = p * g.OH * g.OW, self = h * g.W + w;
    A acc = 0;
    for (int64_t a = offsets[h]; a < offsets[h + 1]; ++a) {
      const int64_t oh = entries[a];
      for (int64_t b = col_off[w]; b < col_off[w + 1]; ++b) {
        const int64_t o = oh * g.OW + entries[b];
        if (idx) {
          if (idx[plane + o] == self) acc += A(src[plane + o]);
        } else {
          acc += A(src[plane + o] * inv_div[o]);
        }
      }
    }
    out[i] = T(acc);
  }
}

}  // namespace ember::cuda::kernels

namespace ember::cuda {

template <class T>
void max_pool_forward(const PoolShape& g, const int64_t* windows, const T* x, T* y, int64_t* idx,
                      int device) {
  using kernels::kSpatialThreads;
  const int64_t total = g.P * g.OH * g.OW;
  if (total == 0) return;
  detail::use_device(device);
  kernels::max_pool_forward<T><<<detail::grid_for(total, kSpatialThreads, device),
                                 kSpatialThreads, 0, detail::stream(device)>>>(g, windows, x, y,
                                                                               idx);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void plane_gather(const T* x, const int64_t* idx, T* y, int64_t P, int64_t n_in, int64_t n_out,
                  int device) {
  using kernels::kSpatialThreads;
  const int64_t total = P * n_out;
  if (total == 0) return;
  detail::use_device(device);
  kernels::plane_gather<T><<<detail::grid_for(total, kSpatialThreads, device), kSpatialThreads, 0,
                             detail::stream(device)>>>(x, idx, y, P, n_in, n_out);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void window_mean(const PoolShape& g, const int64_t* windows, const T* src, const T* inv_div,
                 T* out, int device) {
  using kernels::kSpatialThreads;
  const int64_t total = g.P * g.OH * g.OW;
  if (total == 0) return;
  detail::use_device(device);
  kernels::window_mean<T><<<detail::grid_for(total, kSpatialThreads, device), kSpatialThreads, 0,
                            detail::stream(device)>>>(g, windows, src, inv_div, out);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void pool_adjoint(const PoolShape& g, const int64_t* offsets, const int64_t* entries,
                  const int64_t* idx, const T* inv_div, const T* src, T* out, int device) {
  using kernels::kSpatialThreads;
  const int64_t total = g.P * g.H * g.W;
  if (total == 0) return;
  detail::use_device(device);
  kernels::pool_adjoint<T><<<detail::grid_for(total, kSpatialThreads, device), kSpatialThreads, 0,
                             detail::stream(device)>>>(g, offsets, entries, idx, inv_div, src,
                                                       out);
  EMBER_CUDA_CHECK_LAUNCH();
}

template void max_pool_forward<float>(const PoolShape&, const int64_t*, const float*, float*,
                                      int64_t*, int);
template void max_pool_forward<double>(const PoolShape&, const int64_t*, const double*, double*,
                                       int64_t*, int);
template void plane_gather<float>(const float*, const int64_t*, float*, int64_t, int64_t, int64_t,
                                  int);
template void plane_gather<double>(const double*, const int64_t*, double*, int64_t, int64_t,
                                   int64_t, int);
template void window_mean<float>(const PoolShape&, const int64_t*, const float*, const float*,
                                 float*, int);
template void window_mean<double>(const PoolShape&, const int64_t*, const double*, const double*,
                                  double*, int);
template void pool_adjoint<float>(const PoolShape&, const int64_t*, const int64_t*, const int64_t*,
                                  const float*, const float*, float*, int);
template void pool_adjoint<double>(const PoolShape&, const int64_t*, const int64_t*,
                                   const int64_t*, const double*, const double*, double*, int);

}  // namespace ember::cuda
