// Layer norm over the last n elements of each row (llm.c's layernorm.cuh, ember's contract).
//
// Contract: forward writes y and saves mean and rstd per row; backward overwrites gx, gw and
// gb. The parameter gradients are column sums over the rows: each block sums its chunk of rows
// for its columns in double and writes that partial, and sum_partials (reduce.cuh) adds the
// chunks in order, so gw and gb have the same bits on every run (no float atomics) and keep
// the double accumulation the CPU has. A [chunks, n] partial buffer, never [rows, n].
//
//   xhat = (x - mean) rstd,  y = xhat w + b
//   gx = rstd (gw' - mean(gw') - xhat mean(gw' xhat)),  gw' = g w
//   gw = sum_rows g xhat,  gb = sum_rows g
//
// Kernels and the launchers of backend/layer_norm.hpp; included by one translation unit
// (cuda/src/nn.cu), which gets the float and double instances at the end of this file.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <utility>

#include <ember/backend/layer_norm.hpp>
#include <ember/cuda/check.cuh>
#include <ember/cuda/reduce.cuh>
#include <ember/cuda/runtime.cuh>

namespace ember::cuda::kernels {

// One block per row. Two passes over the row (mean, then the centred variance), which is
// exact where the one-pass formula E[x^2] - E[x]^2 cancels.
template <class T>
__global__ void layer_norm_forward(T* __restrict__ y, T* __restrict__ mean, T* __restrict__ rstd,
                                   const T* __restrict__ x, const T* __restrict__ w,
                                   const T* __restrict__ b, int64_t n, double eps) {
  using A = typename AccOf<T>::type;
  __shared__ A shared[32];
  const int64_t off = int64_t(blockIdx.x) * n;
  A s = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += A(x[off + i]);
  const A mu = block_sum(s, shared) / A(n);
  A v = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const A d = A(x[off + i]) - mu;
    v += d * d;
  }
  const A r = A(1) / sqrt(block_sum(v, shared) / A(n) + A(eps));
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    A o = (A(x[off + i]) - mu) * r;
    if (w) o *= A(w[i]);
    if (b) o += A(b[i]);
    y[off + i] = T(o);
  }
  if (threadIdx.x == 0) {
    mean[blockIdx.x] = T(mu);
    rstd[blockIdx.x] = T(r);
  }
}

// gx: one block per row.
template <class T>
__global__ void layer_norm_backward_input(T* __restrict__ gx, const T* __restrict__ g,
                                          const T* __restrict__ x, const T* __restrict__ w,
                                          const T* __restrict__ mean, const T* __restrict__ rstd,
                                          int64_t n) {
  using A = typename AccOf<T>::type;
  __shared__ A shared[32];
  const int64_t off = int64_t(blockIdx.x) * n;
  const A mu = mean[blockIdx.x], r = rstd[blockIdx.x];
  A s1 = 0, s2 = 0;  // sum(gw'), sum(gw' xhat)
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const A gw = A(g[off + i]) * (w ? A(w[i]) : A(1));
    s1 += gw;
    s2 += gw * (A(x[off + i]) - mu) * r;
  }
  s1 = block_sum(s1, shared) / A(n);
  s2 = block_sum(s2, shared) / A(n);
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const A gw = A(g[off + i]) * (w ? A(w[i]) : A(1));
    const A xhat = (A(x[off + i]) - mu) * r;
    gx[off + i] = T(r * (gw - s1 - xhat * s2));
  }
}

// gw, gb: block (column tile, row chunk) sums its rows for its columns (coalesced over
// columns) into its row of the partial buffers pw, pb ([chunks, n], double for float).
template <class T>
__global__ void layer_norm_backward_params(typename AccOf<T>::type* __restrict__ pw,
                                           typename AccOf<T>::type* __restrict__ pb,
                                           const T* __restrict__ g, const T* __restrict__ x,
                                           const T* __restrict__ mean, const T* __restrict__ rstd,
                                           int64_t rows, int64_t n, int64_t rows_per_block) {
  using A = typename AccOf<T>::type;
  const int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= n) return;
  const int64_t r0 = int64_t(blockIdx.y) * rows_per_block;
  const int64_t r1 = r0 + rows_per_block < rows ? r0 + rows_per_block : rows;
  A sw = 0, sb = 0;
  for (int64_t r = r0; r < r1; ++r) {
    const A gv = g[r * n + j];
    sb += gv;
    if (pw) sw += gv * (A(x[r * n + j]) - A(mean[r])) * A(rstd[r]);
  }
  if (pw) pw[int64_t(blockIdx.y) * n + j] = sw;
  if (pb) pb[int64_t(blockIdx.y) * n + j] = sb;
}

}  // namespace ember::cuda::kernels

namespace ember::cuda {

template <class T>
void layer_norm_forward(T* y, T* mean, T* rstd, const T* x, const T* w, const T* b, int64_t rows,
                        int64_t n, double eps, int device) {
  if (rows == 0 || n == 0) return;
  detail::check_grid(rows, "layer_norm");
  detail::use_device(device);
  kernels::layer_norm_forward<T>
      <<<unsigned(rows), detail::row_threads(n), 0, detail::stream(device)>>>(y, mean, rstd, x, w,
                                                                              b, n, eps);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void layer_norm_backward(T* gx, T* gw, T* gb, const T* g, const T* x, const T* w, const T* mean,
                         const T* rstd, int64_t rows, int64_t n, int device) {
  if (rows == 0 || n == 0) return;
  detail::check_grid(rows, "layer_norm_backward");
  detail::use_device(device);
  cudaStream_t st = detail::stream(device);
  if (gx) {
    kernels::layer_norm_backward_input<T>
        <<<unsigned(rows), detail::row_threads(n), 0, st>>>(gx, g, x, w, mean, rstd, n);
    EMBER_CUDA_CHECK_LAUNCH();
  }
  if (gw || gb) {
    const int threads = 256;
    const int64_t col_blocks = (n + threads - 1) / threads;
    // Enough row chunks for a few waves; each block then adds once per column.
    const int64_t want = int64_t(detail::sm_count(device)) * 8;
    int64_t chunks =
        std::max<int64_t>(1, std::min<int64_t>(rows, (want + col_blocks - 1) / col_blocks));
    chunks = std::min<int64_t>(chunks, 65535);
    const int64_t per = (rows + chunks - 1) / chunks;
    chunks = (rows + per - 1) / per;
    using A = typename kernels::AccOf<T>::type;
    const size_t bytes = size_t(chunks * n) * sizeof(A);
    A* pw = gw ? static_cast<A*>(allocate(bytes, device)) : nullptr;
    A* pb = gb ? static_cast<A*>(allocate(bytes, device)) : nullptr;
    kernels::layer_norm_backward_params<T>
        <<<dim3(unsigned(col_blocks), unsigned(chunks)), threads, 0, st>>>(pw, pb, g, x, mean, rstd,
                                                                           rows, n, per);
    EMBER_CUDA_CHECK_LAUNCH();
    for (auto [out, partial] : {std::pair{gw, pw}, std::pair{gb, pb}}) {
      if (!out) continue;
      kernels::sum_partials<T, A><<<detail::grid_for(n, threads, device), threads, 0, st>>>(
          out, partial, chunks, n);
      EMBER_CUDA_CHECK_LAUNCH();
      deallocate(partial, bytes, device);
    }
  }
}

template void layer_norm_forward<float>(float*, float*, float*, const float*, const float*,
                                        const float*, int64_t, int64_t, double, int);
template void layer_norm_forward<double>(double*, double*, double*, const double*, const double*,
                                         const double*, int64_t, int64_t, double, int);
template void layer_norm_backward<float>(float*, float*, float*, const float*, const float*,
                                         const float*, const float*, const float*, int64_t,
                                         int64_t, int);
template void layer_norm_backward<double>(double*, double*, double*, const double*,
                                          const double*, const double*, const double*,
                                          const double*, int64_t, int64_t, int);

}  // namespace ember::cuda
