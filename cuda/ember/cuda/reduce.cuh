// Block reductions shared by the kernels of many families: warp and block sums and maxima
// with shuffles, AccOf (sums of float accumulate in double, as the CPU does), and the ordered
// sum of per-block partials that replaces float atomics. No launchers: the reduction family's
// kernels and launchers are in reduce_more.cuh.
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

// out[i] = sum over p < parts of partial[p * count + i], in increasing p, in the accumulator
// type: the second pass of a reduction split over several blocks. Each block writes its
// partial sums (never rounded to T) and this adds them in a fixed order, so the result has the
// same bits on every run, which float atomics in arrival order would not give.
template <class T, class A>
__global__ void sum_partials(T* __restrict__ out, const A* __restrict__ partial, int64_t parts,
                             int64_t count) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride) {
    A acc = 0;
    for (int64_t p = 0; p < parts; ++p) acc += partial[p * count + i];
    out[i] = T(acc);
  }
}

}  // namespace ember::cuda::kernels
