// The dropout mask (ops/dropout.hpp) on a device: the CPU kernel of backend/cpu/dropout.hpp
// draws it from the Generator; the CUDA kernel of cuda/ember/cuda/dropout.cuh from a
// counter-based Philox generator keyed by one value drawn from the Generator, so a seed gives
// the same mask on every run and launch shape, but a different one from the CPU's.
#pragma once

#include <cstdint>

#include <ember/backend/cpu/dropout.hpp>
#include <ember/backend/device.hpp>
#include <ember/core/random.hpp>
#include <ember/core/tensor_class.hpp>

namespace ember {

namespace cuda {

// mask[i] = (u(seed, offset, i) < 1 - p) ? 1 / (1 - p) : 0 for i < n, where u is uniform in
// [0, 1) from a counter-based Philox 4x32-10 keyed by seed at counter (i, offset): the mask
// depends only on (seed, offset, i), not on the launch shape. 0 <= p < 1. For T = float and
// double.
template <class T>
void dropout_mask(T* mask, int64_t n, double p, uint64_t seed, uint64_t offset, int device);

}  // namespace cuda

namespace backend {

// The keep-and-scale mask of `shape` on `device`: 1 / (1 - p) with probability 1 - p, else 0
// (0 <= p < 1).
template <class T>
Tensor<T> dropout_mask(const Shape& shape, double p, Generator& gen, const Device& device,
                       const char* name) {
  Tensor<T> mask = Tensor<T>::empty(shape, device);
  if (on_cuda(name, mask)) {
    if constexpr (!cuda_kernels_v<T>)
      no_cuda_kernel<T>(name);
    else
      cuda::dropout_mask(mask.data_ptr(), mask.numel(), p, gen.next_u64(), 0, device.index);
  } else {
    cpu::dropout_mask(mask.data_ptr(), mask.numel(), p, gen);
  }
  return mask;
}

}  // namespace backend
}  // namespace ember
