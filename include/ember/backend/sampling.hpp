// The kernels of the sampling family (ops/sampling.hpp: multinomial) on the input's device.
// Both devices pick by the inverse CDF of backend/categorical.hpp; the CPU kernel
// (backend/cpu/sampling.hpp) draws its uniforms from the Generator, the CUDA one
// (cuda/ember/cuda/sampling.cuh) from the counter-based Philox generator keyed by one value
// drawn from the Generator, as dropout's masks: a seed gives the same samples on every run and
// launch shape, but not the CPU's. Kernels only; the op checks the weights.
#pragma once

#include <cstdint>
#include <ember/backend/cpu/sampling.hpp>
#include <ember/backend/device.hpp>
#include <ember/core/random.hpp>
#include <ember/core/tensor_class.hpp>

namespace ember {

namespace cuda {

// out[r, s] (contiguous [rows, num_samples]): a category of row r of the contiguous [rows,
// categories] weights p, valid as cpu::multinomial's. The uniform of sample s of row r is
// Philox's at counter (s, r) under the key seed, so the samples depend only on (seed, p).
// With replacement one thread per sample bisects its row's running sums; without, one thread
// per row draws its samples in order, zeroing each drawn weight. For T = float and double.
template <class T>
void multinomial(int64_t* out, const T* p, int64_t rows, int64_t categories, int64_t num_samples,
                 bool replacement, uint64_t seed, int device);

}  // namespace cuda

namespace backend {

// num_samples categories for every row of the [rows, categories] weights p (checked by the op),
// as a [rows, num_samples] int64 tensor on p's device.
template <class T>
Tensor<int64_t> multinomial(const Tensor<T>& p, int64_t num_samples, bool replacement,
                            Generator& gen, const char* name) {
  const int64_t rows = p.shape()[0], categories = p.shape()[1];
  Tensor<int64_t> out = Tensor<int64_t>::empty({rows, num_samples}, p.device());
  if (out.numel() == 0) return out;
  const Tensor<T> pc = p.detach().contiguous();
  if (on_cuda(name, p)) {
    if constexpr (!cuda_kernels_v<T>)
      no_cuda_kernel<T>(name);
    else
      cuda::multinomial(out.data_ptr(), pc.data_ptr(), rows, categories, num_samples, replacement,
                        gen.next_u64(), p.device().index);
  } else {
    cpu::multinomial(out.data_ptr(), pc.data_ptr(), rows, categories, num_samples, replacement,
                     gen);
  }
  return out;
}

}  // namespace backend
}  // namespace ember
