// Batch norm kernels over x [N, C, S]: one block per channel, reducing its N*S values with
// block_sum (float accumulates in double, as the CPU's row totals do). Same contract and
// formulas as batch_norm.hpp's cpu::batch_norm_forward / batch_norm_backward:
//   training: mean, biased var (two passes, no E[x^2] - E[x]^2 cancellation); eval: given,
//   rstd = 1 / sqrt(var + eps), y = x * scale + shift with scale = rstd * w,
//   gx = a*g + k*x + d (k = d = 0 in eval), gw = sum(g * (x - mean)) * rstd, gb = sum(g).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <ember/cuda/reduce.cuh>

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
