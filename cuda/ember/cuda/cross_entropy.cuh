// Fused cross entropy of logits [rows, n] against class indices, with a per-row weight w (the
// class weight of the target, 0 for ignored rows):
//   forward:  loss[r] = w[r] (logsumexp(x[r]) - x[r, t[r]]), also keeping lse[r];
//   backward: gx[r, c] = g[r] w[r] (exp(x[r, c] - lse[r]) - [c == t[r]]).
// One read of the logits forward and one read + one write backward, where log_softmax + pick
// would write and re-read a full [rows, n] tensor each way. One block per row (grid-stride over
// rows); max and sum by warp shuffles, accumulated as softmax.cuh does (double for float).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <ember/cuda/reduce.cuh>

namespace ember::cuda::kernels {

template <class T>
__global__ void cross_entropy_forward(T* __restrict__ loss, T* __restrict__ lse_out,
                                      const T* __restrict__ x, const int64_t* __restrict__ target,
                                      const T* __restrict__ w, int64_t rows, int64_t n) {
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
      const A lse = m + log(s);
      const int64_t t = target[r];  // validated on the host (index_targets)
      const A picked = (t >= 0 && t < n) ? A(xr[t]) : A(NAN);
      lse_out[r] = T(lse);
      loss[r] = T(A(w[r]) * (lse - picked));
    }
  }
}

template <class T>
__global__ void cross_entropy_backward(T* __restrict__ gx, const T* __restrict__ g,
                                       const T* __restrict__ lse, const T* __restrict__ x,
                                       const int64_t* __restrict__ target, const T* __restrict__ w,
                                       int64_t rows, int64_t n) {
  using A = typename AccOf<T>::type;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const A gw = A(g[r]) * A(w[r]), l = A(lse[r]);
    const int64_t t = target[r];
    const int64_t off = r * n;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
      gx[off + i] = T(gw * (exp(A(x[off + i]) - l) - (i == t ? A(1) : A(0))));
  }
}

}  // namespace ember::cuda::kernels
