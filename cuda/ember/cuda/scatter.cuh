// Kernels of the scatter family (backend/scatter.hpp): scatter_max over the runs of the host's
// stable sort of the index, and segment_sum over the runs of a row_ptr. One thread per output
// (row i, feature c), consecutive threads on consecutive features; each run is read in
// increasing position, so both are deterministic. (scatter_sum is the indexing family's
// scatter, indexing.cuh.)
//
// Kernels and the launchers of backend/scatter.hpp; included by one translation unit
// (cuda/src/indexing.cu), which gets the float and double instances at the end of this file.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include <ember/backend/scatter.hpp>
#include <ember/cuda/check.cuh>
#include <ember/cuda/runtime.cuh>

namespace ember::cuda::kernels {

// scatter_max over rows sorted by target (ptr: [rows + 1] run starts, order: the source row of
// each sorted position, increasing within a run): out / arg per (row, feature), the first
// maximum in increasing source row (NaN wins, as max); empty rows give 0 and argmax e_rows.
// mask (zero-filled by the caller, [e_rows, f]) gets 1 at each argmax: every source row is in
// one run only, so no two threads write the same element.
template <class T>
__global__ void scatter_max_sorted(T* __restrict__ out, int64_t* __restrict__ arg,
                                   T* __restrict__ mask, const T* __restrict__ src,
                                   const int64_t* __restrict__ ptr,
                                   const int64_t* __restrict__ order, int64_t rows, int64_t f,
                                   int64_t e_rows) {
  const int64_t total = rows * f, stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; t < total; t += stride) {
    const int64_t i = t / f, c = t % f;
    const int64_t b = ptr[i], end = ptr[i + 1];
    if (b == end) {
      out[t] = T(0);
      arg[t] = e_rows;
      continue;
    }
    int64_t best_row = order[b];
    T best = src[best_row * f + c];
    for (int64_t k = b + 1; k < end; ++k) {
      const int64_t r = order[k];
      const T v = src[r * f + c];
      if (v > best || (v != v && best == best)) {
        best = v;
        best_row = r;
      }
    }
    out[t] = best;
    arg[t] = best_row;
    if (mask) mask[best_row * f + c] = T(1);
  }
}

template <class T>
__global__ void segment_sum(T* __restrict__ out, const T* __restrict__ src,
                            const int64_t* __restrict__ row_ptr, int64_t rows, int64_t f) {
  const int64_t total = rows * f, stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; t < total; t += stride) {
    const int64_t i = t / f, c = t % f;
    T acc = 0;
    for (int64_t k = row_ptr[i]; k < row_ptr[i + 1]; ++k) acc += src[k * f + c];
    out[t] = acc;
  }
}

}  // namespace ember::cuda::kernels

namespace ember::cuda {

template <class T>
void scatter_max(T* out, int64_t* arg, T* mask, const T* src, const int64_t* ptr,
                 const int64_t* order, int64_t rows, int64_t f, int64_t e_rows, int device) {
  if (rows * f == 0) return;
  constexpr int threads = 256;
  detail::use_device(device);
  kernels::scatter_max_sorted<T>
      <<<detail::grid_for(rows * f, threads, device), threads, 0, detail::stream(device)>>>(
          out, arg, mask, src, ptr, order, rows, f, e_rows);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void segment_sum(T* out, const T* src, const int64_t* row_ptr, int64_t rows, int64_t f,
                 int device) {
  if (rows * f == 0) return;
  constexpr int threads = 256;
  detail::use_device(device);
  kernels::segment_sum<T>
      <<<detail::grid_for(rows * f, threads, device), threads, 0, detail::stream(device)>>>(
          out, src, row_ptr, rows, f);
  EMBER_CUDA_CHECK_LAUNCH();
}

template void scatter_max<float>(float*, int64_t*, float*, const float*, const int64_t*,
                                 const int64_t*, int64_t, int64_t, int64_t, int);
template void scatter_max<double>(double*, int64_t*, double*, const double*, const int64_t*,
                                  const int64_t*, int64_t, int64_t, int64_t, int);
template void segment_sum<float>(float*, const float*, const int64_t*, int64_t, int64_t, int);
template void segment_sum<double>(double*, const double*, const int64_t*, int64_t, int64_t, int);

}  // namespace ember::cuda
