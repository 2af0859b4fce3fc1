// The kernels and the launcher of backend/sampling.hpp: multinomial draws by the inverse CDF of
// backend/categorical.hpp (the CPU's rule), with the uniform of sample s of row r taken from
// Philox (philox.cuh) at counter (s, r) under the key seed: the samples depend only on
// (seed, weights), not on the launch shape.
//
// With replacement: one thread per row writes its running sums (in double), then one thread
// per sample bisects them. Without replacement the draws of a row depend on each other: one
// thread per row copies its weights and draws in order, zeroing each drawn weight.
//
// Included by one translation unit (cuda/src/indexing.cu), after indexing.cuh (its Scratch);
// the float and double instances are at the end of this file.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <ember/backend/categorical.hpp>
#include <ember/backend/sampling.hpp>
#include <ember/cuda/check.cuh>
#include <ember/cuda/indexing.cuh>  // detail::Scratch
#include <ember/cuda/philox.cuh>
#include <ember/cuda/runtime.cuh>

namespace ember::cuda::kernels {

// cdf[r, c] = p[r, 0] + ... + p[r, c], summed in order in double.
template <class T>
__global__ void running_sums_kernel(double* __restrict__ cdf, const T* __restrict__ p, int64_t rows,
                                    int64_t categories) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t r = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; r < rows; r += stride) {
    double running = 0;
    for (int64_t c = 0; c < categories; ++c)
      cdf[r * categories + c] = running += double(p[r * categories + c]);
  }
}

template <class T>
__global__ void draw_with_replacement_kernel(int64_t* __restrict__ out,
                                             const double* __restrict__ cdf,
                                             const T* __restrict__ p, int64_t rows,
                                             int64_t categories, int64_t num_samples,
                                             uint64_t seed) {
  const int64_t total = rows * num_samples;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    const int64_t r = i / num_samples, s = i % num_samples;
    out[i] = categorical::pick_from_cdf(cdf + r * categories, p + r * categories, categories,
                                        philox_uniform(seed, uint64_t(r), uint64_t(s)));
  }
}

// weights: [rows, categories] scratch for the remaining weights of each row.
template <class T>
__global__ void draw_without_replacement_kernel(int64_t* __restrict__ out,
                                                double* __restrict__ weights,
                                                const T* __restrict__ p, int64_t rows,
                                                int64_t categories, int64_t num_samples,
                                                uint64_t seed) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t r = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; r < rows; r += stride) {
    double* w = weights + r * categories;
    for (int64_t c = 0; c < categories; ++c) w[c] = double(p[r * categories + c]);
    for (int64_t s = 0; s < num_samples; ++s) {
      const int64_t pick = categorical::pick_from_weights(
          w, categories, philox_uniform(seed, uint64_t(r), uint64_t(s)));
      out[r * num_samples + s] = pick;
      w[pick] = 0;
    }
  }
}

}  // namespace ember::cuda::kernels

namespace ember::cuda {

template <class T>
void multinomial(int64_t* out, const T* p, int64_t rows, int64_t categories, int64_t num_samples,
                 bool replacement, uint64_t seed, int device) {
  if (rows * num_samples == 0) return;
  detail::use_device(device);
  cudaStream_t st = detail::stream(device);
  constexpr int threads = detail::kIndexThreads;
  detail::Scratch scratch(size_t(rows * categories) * sizeof(double), device);
  const unsigned row_blocks = detail::grid_for(rows, threads, device);
  if (replacement) {
    kernels::running_sums_kernel<T>
        <<<row_blocks, threads, 0, st>>>(scratch.as<double>(), p, rows, categories);
    EMBER_CUDA_CHECK_LAUNCH();
    kernels::draw_with_replacement_kernel<T>
        <<<detail::grid_for(rows * num_samples, threads, device), threads, 0, st>>>(
            out, scratch.as<double>(), p, rows, categories, num_samples, seed);
  } else {
    kernels::draw_without_replacement_kernel<T><<<row_blocks, threads, 0, st>>>(
        out, scratch.as<double>(), p, rows, categories, num_samples, seed);
  }
  EMBER_CUDA_CHECK_LAUNCH();
}

template void multinomial<float>(int64_t*, const float*, int64_t, int64_t, int64_t, bool, uint64_t,
                                 int);
template void multinomial<double>(int64_t*, const double*, int64_t, int64_t, int64_t, bool,
                                  uint64_t, int);

}  // namespace ember::cuda
