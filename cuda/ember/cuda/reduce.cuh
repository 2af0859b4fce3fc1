// Block reductions shared by the kernels of many families: warp and block sums and maxima
// with shuffles, and AccOf (sums of float accumulate in double, as the CPU does). No
// launchers: the reduction family's kernels and launchers are in reduce_more.cuh.
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

}  // namespace ember::cuda::kernels
