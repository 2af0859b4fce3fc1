// The causal mask of attention: x [B, L, S] (contiguous) gets `value` wherever j > i + diagonal.
// In place on the op's own clone; the backward is the same fill with 0.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace ember::cuda::kernels {

template <class T>
__global__ void fill_above_diagonal(T* __restrict__ x, int64_t total, int64_t L, int64_t S,
                                    int64_t diagonal, T value) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; idx < total; idx += stride) {
    const int64_t j = idx % S, i = (idx / S) % L;
    if (j > i + diagonal) x[idx] = value;
  }
}

}  // namespace ember::cuda::kernels
