// Convolution kernels: im2col / col2im over the general 3-D geometry (ConvShape: 1-D and 2-D
// convolutions are 3-D ones with leading spatial sizes of 1), and the channel-major copies
// that put a chunk of samples side by side for one GEMM per group; their launchers (conv
// forward, input and weight gradients through cuBLAS, unfold and fold), which define the
// declarations of backend/conv.hpp. Included by one translation unit (cuda/src/spatial.cu),
// which gets the float and double instances at the end of this file. The grid-stride helpers
// sp_start / sp_stride are shared with pool.cuh and upsample.cuh.
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

#include <algorithm>
#include <cstdint>

#include <ember/backend/conv.hpp>
#include <ember/backend/cuda/api.hpp>
#include <ember/cuda/check.cuh>
#include <ember/cuda/reduce.cuh>
#include <ember/cuda/runtime.cuh>

namespace ember::cuda::kernels {

// Grid-stride loops of the spatial kernels (conv, pool, upsample), launched with
// kSpatialThreads threads per block.
inline constexpr int kSpatialThreads = 256;
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

namespace ember::cuda {

namespace conv_detail {

using kernels::kSpatialThreads;

inline int64_t K_of(const ConvShape& g) { return g.k[0] * g.k[1] * g.k[2]; }
inline int64_t L_of(const ConvShape& g) { return g.out[0] * g.out[1] * g.out[2]; }
inline int64_t S_of(const ConvShape& g) { return g.in[0] * g.in[1] * g.in[2]; }

// Device scratch from the stream-ordered pool, freed (in stream order) at scope exit: work
// queued before the free still sees the memory.
template <class T>
struct Scratch {
  T* ptr = nullptr;
  size_t bytes = 0;
  int device = 0;
  Scratch(int64_t count, int dev)
      : bytes(size_t(std::max<int64_t>(count, 0)) * sizeof(T)), device(dev) {
    ptr = static_cast<T*>(allocate(bytes, device));
  }
  ~Scratch() {
    try {
      deallocate(ptr, bytes, device);
    } catch (...) {  // a destructor must not throw; the pool reclaims it at exit
    }
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
};

// Samples per chunk: the column matrix [C*K, nb, L] stays near 256 MB (at least one sample).
template <class T>
int64_t conv_chunk(const ConvShape& g) {
  constexpr int64_t budget = int64_t(256) << 20;
  const int64_t per_sample = std::max<int64_t>(1, g.C * K_of(g) * L_of(g) * int64_t(sizeof(T)));
  return std::clamp<int64_t>(budget / per_sample, 1, std::max<int64_t>(g.N, 1));
}

template <class T>
void launch_im2col(const ConvShape& g, const T* x, T* cols, int64_t nb, int64_t ld_row,
                   int64_t ld_b, int device) {
  const int64_t total = g.C * K_of(g) * nb * L_of(g);
  if (total == 0) return;
  kernels::im2col<T><<<detail::grid_for(total, kSpatialThreads, device), kSpatialThreads, 0,
                       detail::stream(device)>>>(g, x, cols, nb, ld_row, ld_b);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void launch_col2im(const ConvShape& g, const T* cols, T* x, int64_t nb, int64_t ld_row,
                   int64_t ld_b, int device) {
  const int64_t total = nb * g.C * S_of(g);
  if (total == 0) return;
  kernels::col2im<T><<<detail::grid_for(total, kSpatialThreads, device), kSpatialThreads, 0,
                       detail::stream(device)>>>(g, cols, x, nb, ld_row, ld_b);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void launch_to_channel_major(const T* src, T* dst, int64_t nb, int64_t rows, int64_t L,
                             int device) {
  const int64_t total = nb * rows * L;
  if (total == 0) return;
  kernels::to_channel_major<T><<<detail::grid_for(total, kSpatialThreads, device),
                                 kSpatialThreads, 0, detail::stream(device)>>>(src, dst, nb,
                                                                               rows, L);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void launch_from_channel_major(const T* src, const T* bias, T* dst, int64_t nb, int64_t rows,
                               int64_t L, int device) {
  const int64_t total = nb * rows * L;
  if (total == 0) return;
  kernels::from_channel_major<T><<<detail::grid_for(total, kSpatialThreads, device),
                                   kSpatialThreads, 0, detail::stream(device)>>>(src, bias, dst,
                                                                                 nb, rows, L);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void zero(T* p, int64_t n, int device) {
  if (n > 0) EMBER_CUDA_CHECK(cudaMemsetAsync(p, 0, size_t(n) * sizeof(T), detail::stream(device)));
}

}  // namespace conv_detail

// For a chunk of nb samples, every GEMM works on the channel-major layout [rows, nb*L] of one
// group and is batched over the G groups (one stride per operand).
template <class T>
void conv_forward(const ConvShape& g, const T* x, const T* w, const T* bias, T* y, int device) {
  using namespace conv_detail;
  const int64_t L = L_of(g), S = S_of(g), K = K_of(g);
  if (g.N == 0 || g.O == 0 || L == 0) return;
  detail::use_device(device);
  const int64_t Cg = g.C / g.G, Og = g.O / g.G, rows = Cg * K;
  if (rows == 0) {  // no input channels: the bias alone
    launch_from_channel_major<T>(nullptr, bias, y, g.N, g.O, L, device);
    return;
  }
  const int64_t chunk = conv_chunk<T>(g);
  Scratch<T> cols(g.C * K * chunk * L, device);
  Scratch<T> tmp(chunk > 1 ? g.O * chunk * L : 0, device);
  for (int64_t n0 = 0; n0 < g.N; n0 += chunk) {
    const int64_t nb = std::min(chunk, g.N - n0);
    launch_im2col<T>(g, x + n0 * g.C * S, cols.ptr, nb, nb * L, L, device);
    // With one sample [O, 1, L] is [1, O, L]: the GEMM writes y in place.
    T* out = nb == 1 ? y + n0 * g.O * L : tmp.ptr;
    GemmArgs a;
    a.m = Og, a.n = nb * L, a.k = rows;
    a.lda = rows, a.stride_a = Og * rows;
    a.ldb = nb * L, a.stride_b = rows * nb * L;
    a.ldc = nb * L, a.stride_c = Og * nb * L;
    a.batch = g.G;
    gemm(a, w, cols.ptr, out, device);
    if (nb > 1 || bias)
      launch_from_channel_major<T>(out, bias, y + n0 * g.O * L, nb, g.O, L, device);
  }
}

template <class T>
void conv_backward_input(const ConvShape& g, const T* gy, const T* w, T* gx, int device) {
  using namespace conv_detail;
  const int64_t L = L_of(g), S = S_of(g), K = K_of(g);
  if (g.N == 0 || g.C == 0 || S == 0) return;
  detail::use_device(device);
  const int64_t Cg = g.C / g.G, Og = g.O / g.G, rows = Cg * K;
  if (rows == 0 || L == 0 || Og == 0) {
    zero(gx, g.N * g.C * S, device);
    return;
  }
  const int64_t chunk = conv_chunk<T>(g);
  Scratch<T> cols(g.C * K * chunk * L, device);
  Scratch<T> gyc(chunk > 1 ? g.O * chunk * L : 0, device);
  for (int64_t n0 = 0; n0 < g.N; n0 += chunk) {
    const int64_t nb = std::min(chunk, g.N - n0);
    const T* gyp = gy + n0 * g.O * L;
    if (nb > 1) {
      launch_to_channel_major<T>(gyp, gyc.ptr, nb, g.O, L, device);
      gyp = gyc.ptr;
    }
    // cols_g [rows, nb*L] = w_gᵀ [rows, Og] · gy_g [Og, nb*L]
    GemmArgs a;
    a.trans_a = true;
    a.m = rows, a.n = nb * L, a.k = Og;
    a.lda = rows, a.stride_a = Og * rows;
    a.ldb = nb * L, a.stride_b = Og * nb * L;
    a.ldc = nb * L, a.stride_c = rows * nb * L;
    a.batch = g.G;
    gemm(a, w, gyp, cols.ptr, device);
    launch_col2im<T>(g, cols.ptr, gx + n0 * g.C * S, nb, nb * L, L, device);
  }
}

template <class T>
void conv_backward_weight(const ConvShape& g, const T* x, const T* gy, T* gw, int device) {
  using namespace conv_detail;
  const int64_t L = L_of(g), S = S_of(g), K = K_of(g);
  detail::use_device(device);
  const int64_t Cg = g.C / g.G, Og = g.O / g.G, rows = Cg * K;
  if (g.O * rows == 0) return;
  if (g.N == 0 || L == 0 || Og == 0) {
    zero(gw, g.O * rows, device);
    return;
  }
  const int64_t chunk = conv_chunk<T>(g);
  Scratch<T> cols(g.C * K * chunk * L, device);
  Scratch<T> gyc(chunk > 1 ? g.O * chunk * L : 0, device);
  for (int64_t n0 = 0; n0 < g.N; n0 += chunk) {
    const int64_t nb = std::min(chunk, g.N - n0);
    launch_im2col<T>(g, x + n0 * g.C * S, cols.ptr, nb, nb * L, L, device);
    const T* gyp = gy + n0 * g.O * L;
    if (nb > 1) {
      launch_to_channel_major<T>(gyp, gyc.ptr, nb, g.O, L, device);
      gyp = gyc.ptr;
    }
    // gw_g [Og, rows] (+)= gy_g [Og, nb*L] · cols_gᵀ [nb*L, rows]; chunks accumulate.
    GemmArgs a;
    a.trans_b = true;
    a.m = Og, a.n = rows, a.k = nb * L;
    a.lda = nb * L, a.stride_a = Og * nb * L;
    a.ldb = nb * L, a.stride_b = rows * nb * L;
    a.ldc = rows, a.stride_c = Og * rows;
    a.batch = g.G;
    a.beta = n0 == 0 ? 0.0 : 1.0;
    gemm(a, gyp, cols.ptr, gw, device);
  }
}

template <class T>
void unfold(const ConvShape& g, const T* x, T* cols, int device) {
  using namespace conv_detail;
  detail::use_device(device);
  const int64_t rows = g.C * K_of(g), L = L_of(g);
  launch_im2col<T>(g, x, cols, g.N, L, rows * L, device);
}

template <class T>
void fold(const ConvShape& g, const T* cols, T* x, int device) {
  using namespace conv_detail;
  detail::use_device(device);
  const int64_t rows = g.C * K_of(g), L = L_of(g);
  launch_col2im<T>(g, cols, x, g.N, L, rows * L, device);
}

template void conv_forward<float>(const ConvShape&, const float*, const float*, const float*,
                                  float*, int);
template void conv_forward<double>(const ConvShape&, const double*, const double*, const double*,
                                   double*, int);
template void conv_backward_input<float>(const ConvShape&, const float*, const float*, float*,
                                         int);
template void conv_backward_input<double>(const ConvShape&, const double*, const double*, double*,
                                          int);
template void conv_backward_weight<float>(const ConvShape&, const float*, const float*, float*,
                                          int);
template void conv_backward_weight<double>(const ConvShape&, const double*, const double*,
                                           double*, int);
template void unfold<float>(const ConvShape&, const float*, float*, int);
template void unfold<double>(const ConvShape&, const double*, double*, int);
template void fold<float>(const ConvShape&, const float*, float*, int);
template void fold<double>(const ConvShape&, const double*, double*, int);

}  // namespace ember::cuda
