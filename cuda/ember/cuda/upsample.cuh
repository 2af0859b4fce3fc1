// Padding and 2-D interpolation kernels: gathers through the index tables that
// ops/upsample.hpp builds on the host (so boundary rules and PyTorch's index arithmetic are
// exactly the CPU's), and the adjoint of both as a gather through the inverse lists (the big
// positions that read each small one, also built on the host): no atomics, so deterministic.
//
// Kernels and the launchers of backend/upsample.hpp; included by one translation unit
// (cuda/src/spatial.cu), which gets the float and double instances at the end of this file.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include <ember/backend/cuda/api.hpp>
#include <ember/backend/upsample.hpp>
#include <ember/cuda/check.cuh>
#include <ember/cuda/conv.cuh>  // sp_start, sp_stride, kSpatialThreads
#include <ember/cuda/reduce.cuh>
#include <ember/cuda/runtime.cuh>

namespace ember::cuda::kernels {

// One thread per element of the padded tensor [outer, big...]: its source, or the fill.
template <class T>
__global__ void pad_forward(const SeparableShape g, const int64_t* __restrict__ tables,
                            const T* __restrict__ src, T fill, T* __restrict__ out) {
  int64_t big_inner = 1, small_inner = 1;
  for (int j = 0; j < g.k; ++j) {
    big_inner *= g.big[j];
    small_inner *= g.small[j];
  }
  const int64_t total = g.outer * big_inner;
  for (int64_t i = sp_start(); i < total; i += sp_stride()) {
    int64_t rem = i % big_inner, off = 0, mul = 1;
    bool valid = true;
    for (int j = g.k - 1; j >= 0; --j) {  // last dim fastest
      const int64_t s = tables[g.base[j] + rem % g.big[j]];
      rem /= g.big[j];
      if (s < 0) valid = false;
      off += s * mul;
      mul *= g.small[j];
    }
    out[i] = valid ? src[(i / big_inner) * small_inner + off] : fill;
  }
}

// Bilinear (or nearest: i1 = i0, w1 = 0) interpolation of planes, the CPU's formula.
template <class T>
__global__ void interpolate(const T* __restrict__ src, const int64_t* __restrict__ idx,
                            const T* __restrict__ wts, T* __restrict__ out, int64_t P, int64_t H,
                            int64_t W, int64_t OH, int64_t OW) {
  const int64_t total = P * OH * OW;
  for (int64_t i = sp_start(); i < total; i += sp_stride()) {
    const int64_t ow = i % OW, oh = (i / OW) % OH, p = i / (OW * OH);
    const int64_t h0 = idx[oh], h1 = idx[OH + oh];
    const int64_t w0 = idx[2 * OH + ow], w1 = idx[2 * OH + OW + ow];
    const T a0 = wts[oh], a1 = wts[OH + oh];
    const T b0 = wts[2 * OH + ow], b1 = wts[2 * OH + OW + ow];
    const T* r0 = src + (p * H + h0) * W;
    const T* r1 = src + (p * H + h1) * W;
    out[i] = a0 * (b0 * r0[w0] + b1 * r0[w1]) + a1 * (b0 * r1[w0] + b1 * r1[w1]);
  }
}

// One thread per element of out [outer, small...]: the weighted sum of the src [outer, big...]
// elements that read it, walking the product of its per-dim lists (an odometer, last dim
// fastest).
template <class T>
__global__ void separable_adjoint(const SeparableShape g, const int64_t* __restrict__ offsets,
                                  const int64_t* __restrict__ entries,
                                  const T* __restrict__ weights, const T* __restrict__ src,
                                  T* __restrict__ out) {
  using A = typename AccOf<T>::type;
  int64_t big_inner = 1, small_inner = 1;
  for (int j = 0; j < g.k; ++j) {
    big_inner *= g.big[j];
    small_inner *= g.small[j];
  }
  const int64_t total = g.outer * small_inner;
  for (int64_t i = sp_start(); i < total; i += sp_stride()) {
    int64_t beg[kMaxDims], end[kMaxDims], cur[kMaxDims];
    bool empty = false;
    int64_t rem = i % small_inner;
    for (int j = g.k - 1; j >= 0; --j) {
      const int64_t s = rem % g.small[j];
      rem /= g.small[j];
      beg[j] = cur[j] = offsets[g.base[j] + s];
      end[j] = offsets[g.base[j] + s + 1];
      if (beg[j] == end[j]) empty = true;
    }
    A acc = 0;
    const T* sp = src + (i / small_inner) * big_inner;
    while (!empty) {
      int64_t off = 0;
      A w = 1;
      for (int j = 0; j < g.k; ++j) {
        off = off * g.big[j] + entries[cur[j]];
        if (weights) w *= A(weights[cur[j]]);
      }
      acc += w * A(sp[off]);
      int j = g.k - 1;  // next combination
      while (j >= 0 && ++cur[j] == end[j]) {
        cur[j] = beg[j];
        --j;
      }
      if (j < 0) break;
    }
    out[i] = T(acc);
  }
}

}  // namespace ember::cuda::kernels

namespace ember::cuda {

template <class T>
void pad(const SeparableShape& g, const int64_t* tables, const T* src, double fill, T* out,
         int device) {
  using kernels::kSpatialThreads;
  int64_t total = g.outer;
  for (int j = 0; j < g.k; ++j) total *= g.big[j];
  if (total == 0) return;
  detail::use_device(device);
  kernels::pad_forward<T><<<detail::grid_for(total, kSpatialThreads, device), kSpatialThreads, 0,
                            detail::stream(device)>>>(g, tables, src, T(fill), out);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void interpolate(const T* src, const int64_t* idx, const T* wts, T* out, int64_t P, int64_t H,
                 int64_t W, int64_t OH, int64_t OW, int device) {
  using kernels::kSpatialThreads;
  const int64_t total = P * OH * OW;
  if (total == 0) return;
  detail::use_device(device);
  kernels::interpolate<T><<<detail::grid_for(total, kSpatialThreads, device), kSpatialThreads, 0,
                            detail::stream(device)>>>(src, idx, wts, out, P, H, W, OH, OW);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void separable_adjoint(const SeparableShape& g, const int64_t* offsets, const int64_t* entries,
                       const T* weights, const T* src, T* out, int device) {
  using kernels::kSpatialThreads;
  int64_t total = g.outer;
  for (int j = 0; j < g.k; ++j) total *= g.small[j];
  if (total == 0) return;
  detail::use_device(device);
  kernels::separable_adjoint<T><<<detail::grid_for(total, kSpatialThreads, device),
                                  kSpatialThreads, 0, detail::stream(device)>>>(
      g, offsets, entries, weights, src, out);
  EMBER_CUDA_CHECK_LAUNCH();
}

template void pad<float>(const SeparableShape&, const int64_t*, const float*, double, float*, int);
template void pad<double>(const SeparableShape&, const int64_t*, const double*, double, double*,
                          int);
template void interpolate<float>(const float*, const int64_t*, const float*, float*, int64_t,
                                 int64_t, int64_t, int64_t, int64_t, int);
template void interpolate<double>(const double*, const int64_t*, const double*, double*, int64_t,
                                  int64_t, int64_t, int64_t, int64_t, int);
template void separable_adjoint<float>(const SeparableShape&, const int64_t*, const int64_t*,
                                       const float*, const float*, float*, int);
template void separable_adjoint<double>(const SeparableShape&, const int64_t*, const int64_t*,
                                        const double*, const double*, double*, int);

}  // namespace ember::cuda
