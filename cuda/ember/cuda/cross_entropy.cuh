// Fused cross entropy of logits [rows, n] against class indices, with a per-row weight w (the
// class weight of the target, 0 for ignored rows), as backend/cpu/cross_entropy.hpp:
//   forward:  loss[r] = -(((x[r, t[r]] - m) - log_s) w[r]),  m = max(x[r]),
//             log_s = log(sum(exp(x[r] - m))), keeping m and log_s;
//   backward: gx[r, c] = g[r] w[r] (exp((x[r, c] - m) - log_s) - [c == t[r]]).
// log_softmax's (x - m) - log(s), as softmax.cuh: x - (m + log(s)) would lose log(s)'s digits
// when |m| is large (and a logsumexp rounded to T would lose them again in the backward).
// One read of the logits forward and one read + one write backward, where log_softmax + pick
// would write and re-read a full [rows, n] tensor each way. One block per row (grid-stride over
// rows); max and sum by warp shuffles, accumulated as softmax.cuh does (double for float).
//
// Kernels and the launchers of backend/cross_entropy.hpp; included by one translation unit
// (cuda/src/reduce_more.cu), which gets the float and double instances at the end of this file.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include <ember/backend/cross_entropy.hpp>
#include <ember/cuda/check.cuh>
#include <ember/cuda/reduce.cuh>
#include <ember/cuda/runtime.cuh>

namespace ember::cuda::kernels {

template <class T>
__global__ void cross_entropy_forward(T* __restrict__ loss, T* __restrict__ max_out,
                                      T* __restrict__ log_sum_out, const T* __restrict__ x,
                                      const int64_t* __restrict__ target, const T* __restrict__ w,
                                      int64_t rows, int64_t n) {
  using A = typename AccOf<T>::type;
  __shared__ A shared[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * n;
    A m = -INFINITY;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) m = fmax(m, A(xr[i]));
    m = block_max(m, shared);
    if (m == -INFINITY) m = 0;  // an all -inf row: 0 * log(0) gives NaN, as log_softmax does
    A s = 0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += exp(A(xr[i]) - m);
    s = block_sum(s, shared);
    if (threadIdx.x == 0) {
      const A log_s = log(s);
      const int64_t t = target[r];  // validated on the host (index_targets)
      const A picked = (t >= 0 && t < n) ? A(xr[t]) : A(NAN);
      max_out[r] = T(m);
      log_sum_out[r] = T(log_s);
      loss[r] = T(-(((picked - m) - log_s) * A(w[r])));
    }
  }
}

template <class T>
__global__ void cross_entropy_backward(T* __restrict__ gx, const T* __restrict__ g,
                                       const T* __restrict__ max, const T* __restrict__ log_sum,
                                       const T* __restrict__ x, const int64_t* __restrict__ target,
                                       const T* __restrict__ w, int64_t rows, int64_t n) {
  using A = typename AccOf<T>::type;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const A gw = A(g[r]) * A(w[r]), m = A(max[r]), log_s = A(log_sum[r]);
    const int64_t t = target[r];
    const int64_t off = r * n;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
      gx[off + i] = T(gw * (exp((A(x[off + i]) - m) - log_s) - (i == t ? A(1) : A(0))));
  }
}

}  // namespace ember::cuda::kernels

namespace ember::cuda {

namespace detail {

// Blocks for one-block-per-row kernels: every row, up to a few waves (rows loop inside). The
// block is sized from the row (detail::row_threads: one warp for up to 128 classes).
inline unsigned cross_entropy_blocks(int64_t rows, int device) {
  return unsigned(std::max<int64_t>(1, std::min<int64_t>(rows, int64_t(sm_count(device)) * 32)));
}

}  // namespace detail

template <class T>
void cross_entropy_forward(T* loss, T* max, T* log_sum, const T* x, const int64_t* target,
                           const T* weight, int64_t rows, int64_t n, int device) {
  if (rows == 0) return;
  EMBER_CHECK(n > 0, "cross_entropy: 0 classes");
  detail::use_device(device);
  kernels::cross_entropy_forward<T>
      <<<detail::cross_entropy_blocks(rows, device), detail::row_threads(n), 0,
         detail::stream(device)>>>(loss, max, log_sum, x, target, weight, rows, n);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void cross_entropy_backward(T* gx, const T* g, const T* max, const T* log_sum, const T* x,
                            const int64_t* target, const T* weight, int64_t rows, int64_t n,
                            int device) {
  if (rows * n == 0) return;
  detail::use_device(device);
  kernels::cross_entropy_backward<T>
      <<<detail::cross_entropy_blocks(rows, device), detail::row_threads(n), 0,
         detail::stream(device)>>>(gx, g, max, log_sum, x, target, weight, rows, n);
  EMBER_CUDA_CHECK_LAUNCH();
}

template void cross_entropy_forward<float>(float*, float*, float*, const float*, const int64_t*,
                                           const float*, int64_t, int64_t, int);
template void cross_entropy_forward<double>(double*, double*, double*, const double*,
                                            const int64_t*, const double*, int64_t, int64_t, int);
template void cross_entropy_backward<float>(float*, const float*, const float*, const float*,
                                            const float*, const int64_t*, const float*, int64_t,
                                            int64_t, int);
template void cross_entropy_backward<double>(double*, const double*, const double*,
                                             const double*, const double*, const int64_t*,
                                             const double*, int64_t, int64_t, int);

}  // namespace ember::cuda
