// The causal mask of attention: x [B, L, S] (contiguous) gets `value` wherever j > i + diagonal.
// In place on the op's own clone; the backward is the same fill with 0.
//
// The kernel and the launcher of backend/attention.hpp; included by one translation unit
// (cuda/src/spectral.cu), which gets the float and double instances at the end of this file.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include <ember/backend/attention.hpp>
#include <ember/cuda/check.cuh>
#include <ember/cuda/runtime.cuh>

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

namespace ember::cuda {

template <class T>
void fill_above_diagonal(T* x, int64_t B, int64_t L, int64_t S, int64_t diagonal, T value,
                         int device) {
  const int64_t total = B * L * S;
  if (total == 0) return;
  detail::use_device(device);
  kernels::fill_above_diagonal<T>
      <<<detail::grid_for(total, 256, device), 256, 0, detail::stream(device)>>>(
          x, total, L, S, diagonal, value);
  EMBER_CUDA_CHECK_LAUNCH();
}

template void fill_above_diagonal<float>(float*, int64_t, int64_t, int64_t, int64_t, float, int);
template void fill_above_diagonal<double>(double*, int64_t, int64_t, int64_t, int64_t, double,
                                          int);

}  // namespace ember::cuda
