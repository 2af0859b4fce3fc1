// Convolution kernels: im2col / col2im over the general 3-D geometry (ConvShape: 1-D and 2-D
// convolutions are 3-D ones with leading spatial sizes of 1), and the channel-major copies
// that put a chunk of samples side by side for one GEMM per group.
//
// Column layout. Row r = c*K + kk (channel c of all C, kernel offset kk = (kd, kh, kw)) of
// sample b, column l = (od, oh, ow), lives at cols[r * ld_row + b * ld_b + l]:
//   [C*K, nb, L] (ld_row = nb*L, ld_b = L): group gi's rows form one [Cg*K, nb*L] matrix, the
//     GEMM operand of conv (chunks of nb samples);
//   [nb, C*K, L] (ld_row = L, ld_b = C*K*L): unfold's output layout (PyTorch's).
//
// col2im is written as a gather (one thread per input element summing the column entries that
// were read from it), so it needs no atomics and is deterministic.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <ember/backend/cuda/api.hpp>
#include <ember/cuda/reduce.cuh>

namespace ember::cuda::kernels {

__device__ __forceinline__ int64_t sp_stride() { return int64_t(gridDim.x) * blockDim.x; }
__device__ __forceinline__ int64_t sp_start() {
  return int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
}

// cols (layout above) from x, which points at the chunk's first sample [nb, C, in...].
template <class T>
__global__ void im2col(const ConvShape g, const T* __restrict__ x, T* __restrict__ cols, int64_t nb,
                       int64_t ld_row, int64_t ld_b) {
  const int64_t K = g.k[0] * g.k[1] * g.k[2];
  const int64_t L = g.out[0] * g.out[1] * g.out[2];
  const int64_t S = g.in[0] * g.in[1] * g.in[2];
  const int64_t total = g.C * K * nb * L;
  for (int64_t i = sp_start(); i < total; i += sp_stride()) {
    const int64_t l = i % L;
    const int64_t t = i / L;
    const int64_t b = t % nb, r = t / nb;
    const int64_t c = r / K, kk = r % K;
    const int64_t kw = kk % g.k[2], kh = (kk / g.k[2]) % g.k[1], kd = kk / (g.k[2] * g.k[1]);
    const int64_t ow = l % g.out[2], oh = (l / g.out[2]) % g.out[1], od = l / (g.out[2] * g.out[1]);
    const int64_t id = od * g.stride[0] - g.pad[0] + kd * g.dil[0];
    const int64_t ih = oh * g.stride[1] - g.pad[1] + kh * g.dil[1];
    const int64_t iw = ow * g.stride[2] - g.pad[2] + kw * g.dil[2];
    T v = T(0);
    if (id >= 0 && id < g.in[0] && ih >= 0 && ih < g.in[1] && iw >= 0 && iw < g.in[2])
      v = x[(b * g.C + c) * S + (id * g.in[1] + ih) * g.in[2] + iw];
    cols[r * ld_row + b * ld_b + l] = v;
  }
}

// The output positions o along one dim whose window reads input position i at kernel offset
// kk: o*stride - pad + kk*dil == i. False when there is none.
__device__ __forceinline__ bool source_of(int64_t i, int64_t kk, int64_t stride, int64_t pad,
                                          int64_t dil, int64_t n_out, int64_t& o) {
  const int64_t num = i + pad - kk * dil;
  if (num < 0 || num % stride != 0) return false;
  o = num / stride;
  return o < n_out;
}

// x [nb, C, in...] (overwritten) = col2im(cols): each input element sums its column entries.
template <class T>
__global__ void col2im(const ConvShape g, const T* __restrict__ cols, T* __restrict__ x, int64_t nb,
                       int64_t ld_row, int64_t ld_b) {
  using A = typename AccOf<T>::type;
  const int64_t K = g.k[0] * g.k[1] * g.k[2];
  const int64_t total = nb * g.C * g.in[0] * g.in[1] * g.in[2];
  for (int64_t i = sp_start(); i < total; i += sp_stride()) {
    const int64_t iw = i % g.in[2];
    int64_t t = i / g.in[2];
    const int64_t ih = t % g.in[1];
    t /= g.in[1];
    const int64_t id = t % g.in[0];
    t /= g.in[0];
    const int64_t c = t % g.C, b = t / g.C;
    const T* base = cols + c * K * ld_row + b * ld_b;
    A acc = 0;
    for (int64_t kd = 0; kd < g.k[0]; ++kd) {
      int64_t od;
      if (!source_of(id, kd, g.stride[0], g.pad[0], g.dil[0], g.out[0], od)) continue;
      for (int64_t kh = 0; kh < g.k[1]; ++kh) {
        int64_t oh;
        if (!source_of(ih, kh, g.stride[1], g.pad[1], g.dil[1], g.out[1], oh)) continue;
        for (int64_t kw = 0; kw < g.k[2]; ++kw) {
          int64_t ow;
          if (!source_of(iw, kw, g.stride[2], g.pad[2], g.dil[2], g.out[2], ow)) continue;
          const int64_t kk = (kd * g.k[1] + kh) * g.k[2] + kw;
          const int64_t l = (od * g.out[1] + oh) * g.out[2] + ow;
          acc += A(base[kk * ld_row + l]);
        }
      }
    }
    x[i] = T(acc);
  }
}

// dst [rows, nb, L] = src [nb, rows, L] (a chunk of samples, channel-major).
template <class T>
__global__ void to_channel_major(const T* __restrict__ src, T* __restrict__ dst, int64_t nb,
                                 int64_t rows, int64_t L) {
  const int64_t total = nb * rows * L;
  for (int64_t i = sp_start(); i < total; i += sp_stride()) {
    const int64_t l = i % L, t = i / L;
    const int64_t b = t % nb, r = t / nb;
    dst[i] = src[(b * rows + r) * L + l];
  }
}

// dst [nb, rows, L] = src [rows, nb, L] + bias[r] (bias may be null; src null reads zeros).
// With nb == 1 the layouts coincide and src may equal dst (each element is read and written
// by the same thread).
template <class T>
__global__ void from_channel_major(const T* src, const T* __restrict__ bias, T* dst, int64_t nb,
                                   int64_t rows, int64_t L) {
  const int64_t total = nb * rows * L;
  for (int64_t i = sp_start(); i < total; i += sp_stride()) {
    const int64_t l = i % L, t = i / L;
    const int64_t r = t % rows, b = t / rows;
    T v = src ? src[(r * nb + b) * L + l] : T(0);
    if (bias) v += bias[r];
    dst[i] = v;
  }
}

}  // namespace ember::cuda::kernels
