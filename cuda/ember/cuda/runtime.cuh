// The CUDA runtime state shared by ember's .cu files (cuda/src/runtime.cu defines it): the
// device guard, the stream of each device, the cuBLAS handle of a stream, launch sizes.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <cstdint>

#include <ember/core/error.hpp>

namespace ember::cuda::detail {

// Makes `device` current for this thread (cheap when it already is).
void use_device(int device);
// Returns the memory pool's cached blocks of `device` to the driver, after the frees queued on
// `stream` (the device's current one): the retry after an out-of-memory error of an allocation
// outside the pool (cuFFT plans, cuBLAS workspaces) or inside it.
void trim_pool(int device, cudaStream_t stream);
// The stream work for `device` goes on (ember's own unless set_stream gave another).
cudaStream_t stream(int device);
// The cuBLAS handle for `device`'s current stream, with the math mode of allow_tf32.
cublasHandle_t cublas_handle(int device);
// Multiprocessor count of `device` (cached), to size grid-stride launches.
int sm_count(int device);

// Blocks for a grid-stride loop over n items with `threads` per block: enough to fill the GPU
// (a few waves), no more than needed.
inline unsigned grid_for(int64_t n, int threads, int device) {
  const int64_t need = (n + threads - 1) / threads;
  const int64_t cap = int64_t(sm_count(device)) * 32;
  return unsigned(std::max<int64_t>(1, std::min(need, cap)));
}

// Threads for a block that owns one row of n elements: a multiple of 32, up to 1024.
inline int row_threads(int64_t n) {
  int64_t t = 32;
  while (t < 1024 && t * 4 < n) t *= 2;  // at least ~4 elements per thread
  return int(t);
}

// Rows launched one block each must fit in one grid dimension.
inline void check_grid(int64_t blocks, const char* op) {
  EMBER_CHECK(blocks <= int64_t(INT32_MAX), op, ": ", blocks,
              " rows is more than one CUDA grid holds");
}

}  // namespace ember::cuda::detail
