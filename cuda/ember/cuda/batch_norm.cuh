// Batch norm kernels over x [N, C, S]: one block per channel, reducing its N*S values with
// block_sum (float accumulates in double, as the CPU's row totals do). Same contract and
// formulas as backend/cpu/batch_norm.hpp's cpu::batch_norm_forward / batch_norm_backward:
//   training: mean, biased var (two passes, no E[x^2] - E[x]^2 cancellation); eval: given,
//   rstd = 1 / sqrt(var + eps), y = x * scale + shift with scale = rstd * w,
//   gx = a*g + k*x + d (k = d = 0 in eval), gw = sum(g * (x - mean)) * rstd, gb = sum(g).
//
// Kernels and the launchers of backend/batch_norm.hpp; included by one translation unit
// (cuda/src/spatial.cu), which gets the float and double instances at the end of this file.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include <ember/backend/batch_norm.hpp>
#include <ember/cuda/check.cuh>
#include <ember/cuda/reduce.cuh>
#include <ember/cuda/runtime.cuh>

namespace ember::cuda::kernels {

template <class T>
__global__ void batch_norm_forward(const T* __restrict__ x, const T* __restrict__ w,
                                   const T* __restrict__ b, T* __restrict__ y, T* __restrict__ mean,
                                   T* __restrict__ var, T* __restrict__ rstd, int64_t N, int64_t C,
                                   int64_t S, bool training, double eps) {
  using A = typename AccOf<T>::type;
  __shared__ A shared[32];
  const int64_t c = blockIdx.x, M = N * S;
  double mu, v;
  if (training) {
    A s = 0;
    for (int64_t j = threadIdx.x; j < M; j += blockDim.x) s += A(x[((j / S) * C + c) * S + j % S]);
    mu = double(block_sum(s, shared)) / double(M);
    A q = 0;
    for (int64_t j = threadIdx.x; j < M; j += blockDim.x) {
      const A d = A(x[((j / S) * C + c) * S + j % S]) - A(mu);
      q += d * d;
    }
    v = double(block_sum(q, shared)) / double(M);
    if (threadIdx.x == 0) {
      mean[c] = T(mu);
      var[c] = T(v);
    }
  } else {
    mu = double(mean[c]);
    v = double(var[c]);
  }
  const double r = 1.0 / sqrt(v + eps);
  if (threadIdx.x == 0) rstd[c] = T(r);
  const T scale = T(r * (w ? double(w[c]) : 1.0));
  const T shift = T((b ? double(b[c]) : 0.0) - mu * double(scale));
  for (int64_t j = threadIdx.x; j < M; j += blockDim.x) {
    const int64_t o = ((j / S) * C + c) * S + j % S;
    y[o] = x[o] * scale + shift;
  }
}

template <class T>
__global__ void batch_norm_backward(const T* __restrict__ g, const T* __restrict__ x,
                                    const T* __restrict__ w, const T* __restrict__ mean,
                                    const T* __restrict__ rstd, T* __restrict__ gx,
                                    T* __restrict__ gw, T* __restrict__ gb, int64_t N, int64_t C,
                                    int64_t S, bool training) {
  using A = typename AccOf<T>::type;
  __shared__ A shared[32];
  const int64_t c = blockIdx.x, M = N * S;
  const double mu = double(mean[c]), r = double(rstd[c]);
  const T muT = T(mu);
  A sg = 0, sgx = 0;  // sum(g), sum(g * (x - mean))
  for (int64_t j = threadIdx.x; j < M; j += blockDim.x) {
    const int64_t o = ((j / S) * C + c) * S + j % S;
    sg += A(g[o]);
    sgx += A(g[o] * (x[o] - muT));
  }
  const double tg = double(block_sum(sg, shared));
  const double tgx = double(block_sum(sgx, shared));
  if (threadIdx.x == 0) {
    if (gw) gw[c] = T(tgx * r);
    if (gb) gb[c] = T(tg);
  }
  if (!gx) return;
  const double wr = r * (w ? double(w[c]) : 1.0);
  const double Md = double(M);
  const T a = T(wr);
  const T k = training ? T(-wr * r * r * tgx / Md) : T(0);
  const T d = training ? T(-wr * tg / Md + wr * r * r * tgx / Md * mu) : T(0);
  for (int64_t j = threadIdx.x; j < M; j += blockDim.x) {
    const int64_t o = ((j / S) * C + c) * S + j % S;
    gx[o] = a * g[o] + k * x[o] + d;
  }
}

}  // namespace ember::cuda::kernels

namespace ember::cuda {

namespace detail {

// Threads for a block that reduces one channel of m values (a multiple of 32, up to 512: the
// double kernels stay clear of the register limit of a 1024-thread block).
inline int channel_threads(int64_t m) {
  int64_t t = 32;
  while (t < 512 && t * 4 < m) t *= 2;
  return int(t);
}

}  // namespace detail

template <class T>
void batch_norm_forward(const T* x, const T* w, const T* b, T* y, T* mean, T* var, T* rstd,
                        int64_t N, int64_t C, int64_t S, bool training, double eps, int device) {
  if (C == 0 || N * S == 0) return;
  EMBER_CHECK(C <= int64_t(INT32_MAX), "batch_norm: ", C,
              " channels is more than one CUDA grid holds");
  detail::use_device(device);
  kernels::batch_norm_forward<T>
      <<<unsigned(C), detail::channel_threads(N * S), 0, detail::stream(device)>>>(
          x, w, b, y, mean, var, rstd, N, C, S, training, eps);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void batch_norm_backward(const T* g, const T* x, const T* w, const T* mean, const T* rstd, T* gx,
                         T* gw, T* gb, int64_t N, int64_t C, int64_t S, bool training,
                         int device) {
  if (C == 0) return;
  detail::use_device(device);
  if (N * S == 0) {  // empty channels: zero sums
    cudaStream_t st = detail::stream(device);
    if (gw) EMBER_CUDA_CHECK(cudaMemsetAsync(gw, 0, size_t(C) * sizeof(T), st));
    if (gb) EMBER_CUDA_CHECK(cudaMemsetAsync(gb, 0, size_t(C) * sizeof(T), st));
    return;
  }
  EMBER_CHECK(C <= int64_t(INT32_MAX), "batch_norm_backward: ", C,
              " channels is more than one CUDA grid holds");
  kernels::batch_norm_backward<T>
      <<<unsigned(C), detail::channel_threads(N * S), 0, detail::stream(device)>>>(
          g, x, w, mean, rstd, gx, gw, gb, N, C, S, training);
  EMBER_CUDA_CHECK_LAUNCH();
}

template void batch_norm_forward<float>(const float*, const float*, const float*, float*, float*,
                                        float*, float*, int64_t, int64_t, int64_t, bool, double,
                                        int);
template void batch_norm_forward<double>(const double*, const double*, const double*, double*,
                                         double*, double*, double*, int64_t, int64_t, int64_t,
                                         bool, double, int);
template void batch_norm_backward<float>(const float*, const float*, const float*, const float*,
                                         const float*, float*, float*, float*, int64_t, int64_t,
                                         int64_t, bool, int);
template void batch_norm_backward<double>(const double*, const double*, const double*,
                                          const double*, const double*, double*, double*,
                                          double*, int64_t, int64_t, int64_t, bool, int);

}  // namespace ember::cuda
