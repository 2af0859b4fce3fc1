// The dropout keep-and-scale mask from the counter-based Philox generator (philox.cuh): element
// i is kept when its uniform at counter (i, offset) under the key `seed` is below 1 - p, so the
// mask depends only on (seed, offset, i), not on the launch shape.
//
// Kernel and the launcher of backend/dropout.hpp; included by one translation unit
// (cuda/src/indexing.cu), which gets the float and double instances at the end of this file.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include <ember/backend/dropout.hpp>
#include <ember/cuda/check.cuh>
#include <ember/cuda/philox.cuh>
#include <ember/cuda/runtime.cuh>

namespace ember::cuda::kernels {

template <class T>
__global__ void dropout_mask(T* __restrict__ mask, int64_t n, double keep, T scale, uint64_t seed,
                             uint64_t offset) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    mask[i] = philox_uniform(seed, offset, uint64_t(i)) < keep ? scale : T(0);
}

}  // namespace ember::cuda::kernels

namespace ember::cuda {

template <class T>
void dropout_mask(T* mask, int64_t n, double p, uint64_t seed, uint64_t offset, int device) {
  if (n == 0) return;
  constexpr int threads = 256;
  detail::use_device(device);
  const double keep = 1.0 - p;
  const T scale = T(1.0 / keep);  // as backend/cpu/dropout.hpp: the scale rounded once to T
  kernels::dropout_mask<T>
      <<<detail::grid_for(n, threads, device), threads, 0, detail::stream(device)>>>(
          mask, n, keep, scale, seed, offset);
  EMBER_CUDA_CHECK_LAUNCH();
}

template void dropout_mask<float>(float*, int64_t, double, uint64_t, uint64_t, int);
template void dropout_mask<double>(double*, int64_t, double, uint64_t, uint64_t, int);

}  // namespace ember::cuda
