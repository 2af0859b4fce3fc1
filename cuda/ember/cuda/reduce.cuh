// Reductions: warp and block sums with shuffles, and the sum over the middle dim of a
// contiguous [outer, n, inner] tensor. Sums of float accumulate in double (as the CPU does).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace ember::cuda::kernels {

template <class T>
struct AccOf {
  using type = T;
};
template <>
struct AccOf<float> {
  using type = double;
};

template <class A>
__device__ __forceinline__ A warp_sum(A v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

template <class A>
__device__ __forceinline__ A warp_max(A v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmax(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets it.
// `shared` holds 32 values. Safe to call repeatedly (syncs before reuse).
template <class A>
__device__ A block_sum(A v, A* shared) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  v = warp_sum(v);
  __syncthreads();
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  v = lane < warps ? shared[lane] : A(0);
  return warp_sum(v);
}

template <class A>
__device__ A block_max(A v, A* shared) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  v = lane < warps ? shared[lane] : A(-INFINITY);
  return warp_max(v);
}

// inner == 1: block (o, part) sums row o's elements [part * chunk, (part + 1) * chunk);
// with one part it writes the row's sum, else it atomically adds into a zeroed output.
template <class T>
__global__ void sum_rows(T* __restrict__ out, const T* __restrict__ x, int64_t n, int64_t chunk,
                         bool atomic) {
  using A = typename AccOf<T>::type;
  __shared__ A shared[32];
  const int64_t o = blockIdx.x;
  const int64_t begin = int64_t(blockIdx.y) * chunk;
  const int64_t end = begin + chunk < n ? begin + chunk : n;
  const T* row = x + o * n;
  A acc = 0;
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) acc += A(row[i]);
  acc = block_sum(acc, shared);
  if (threadIdx.x == 0) {
    if (atomic)
      atomicAdd(out + o, T(acc));
    else
      out[o] = T(acc);
  }
}

// inner > 1: one thread per (o, i) column, reading along n (coalesced over i).
template <class T>
__global__ void sum_columns(T* __restrict__ out, const T* __restrict__ x, int64_t outer, int64_t n,
                            int64_t inner) {
  using A = typename AccOf<T>::type;
  const int64_t total = outer * inner;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; c < total; c += stride) {
    const int64_t o = c / inner, i = c % inner;
    const T* p = x + o * n * inner + i;
    A acc = 0;
    for (int64_t r = 0; r < n; ++r) acc += A(p[r * inner]);
    out[c] = T(acc);
  }
}

}  // namespace ember::cuda::kernels
