// The kernels and the launcher of backend/sort.hpp: a stable sort of every row of a contiguous
// [rows, n] tensor with cub's segmented sort on (key, position) pairs.
//
// The keys are x made canonical first: NaN of any sign becomes +NaN, which the radix order
// puts after +inf, and -0.0 becomes 0.0, which the radix order would otherwise put first; the
// order is then the CPU's nan_last_less, and the stable sort keeps ties in position order as
// the CPU does. The values are read back from x at the sorted positions, so -0.0 and NaN
// payloads come out as they went in.
//
// Included by one translation unit (cuda/src/indexing.cu), after indexing.cuh (its Scratch);
// the float and double instances are at the end of this file.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <cub/device/device_segmented_sort.cuh>
#include <ember/backend/sort.hpp>
#include <ember/cuda/check.cuh>
#include <ember/cuda/indexing.cuh>  // detail::Scratch
#include <ember/cuda/runtime.cuh>
#include <type_traits>

namespace ember::cuda::kernels {

template <class T>
__device__ __forceinline__ T canonical_sort_key(T v) {
  if (v != v) {  // +NaN, the largest value in the radix order
    if constexpr (std::is_same_v<T, float>)
      return __int_as_float(0x7fc00000);
    else
      return __longlong_as_double(0x7ff8000000000000LL);
  }
  return v == T(0) ? T(0) : v;  // -0.0 as 0.0
}

// keys[i] = canonical x[i], positions[i] = i's position in its row of n.
template <class T>
__global__ void sort_keys_kernel(T* __restrict__ keys, int64_t* __restrict__ positions,
                                 const T* __restrict__ x, int64_t total, int64_t n) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    keys[i] = canonical_sort_key(x[i]);
    positions[i] = i % n;
  }
}

// offsets[r] = r * n for r <= rows: row r is [offsets[r], offsets[r + 1]).
__global__ void row_offsets_kernel(int64_t* __restrict__ offsets, int64_t rows, int64_t n) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t r = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; r <= rows; r += stride)
    offsets[r] = r * n;
}

// values[i] = x[row of i, positions[i]].
template <class T>
__global__ void take_sorted_kernel(T* __restrict__ values, const int64_t* __restrict__ positions,
                                   const T* __restrict__ x, int64_t total, int64_t n) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride)
    values[i] = x[(i / n) * n + positions[i]];
}

}  // namespace ember::cuda::kernels

namespace ember::cuda {

template <class T>
void sort_rows(T* values, int64_t* indices, const T* x, int64_t rows, int64_t n, bool descending,
               int device) {
  const int64_t total = rows * n;
  if (total == 0) return;
  detail::use_device(device);
  cudaStream_t st = detail::stream(device);
  constexpr int threads = detail::kIndexThreads;
  detail::Scratch keys(size_t(total) * sizeof(T), device);
  detail::Scratch sorted_keys(size_t(total) * sizeof(T), device);
  detail::Scratch positions(size_t(total) * sizeof(int64_t), device);
  detail::Scratch offsets(size_t(rows + 1) * sizeof(int64_t), device);
  kernels::sort_keys_kernel<T><<<detail::grid_for(total, threads, device), threads, 0, st>>>(
      keys.as<T>(), positions.as<int64_t>(), x, total, n);
  EMBER_CUDA_CHECK_LAUNCH();
  kernels::row_offsets_kernel<<<detail::grid_for(rows + 1, threads, device), threads, 0, st>>>(
      offsets.as<int64_t>(), rows, n);
  EMBER_CUDA_CHECK_LAUNCH();
  const int64_t* begin = offsets.as<int64_t>();
  // One call sizes the temporary storage (temp == nullptr), the next sorts.
  size_t bytes = 0;
  const auto segmented_sort = [&](void* temp) {
    return descending ? cub::DeviceSegmentedSort::StableSortPairsDescending(
                            temp, bytes, keys.as<T>(), sorted_keys.as<T>(), positions.as<int64_t>(),
                            indices, total, rows, begin, begin + 1, st)
                      : cub::DeviceSegmentedSort::StableSortPairs(
                            temp, bytes, keys.as<T>(), sorted_keys.as<T>(), positions.as<int64_t>(),
                            indices, total, rows, begin, begin + 1, st);
  };
  EMBER_CUDA_CHECK(segmented_sort(nullptr));
  detail::Scratch temp(bytes > 0 ? bytes : 1, device);  // a null pointer would mean "size it"
  EMBER_CUDA_CHECK(segmented_sort(temp.as<void>()));
  kernels::take_sorted_kernel<T>
      <<<detail::grid_for(total, threads, device), threads, 0, st>>>(values, indices, x, total, n);
  EMBER_CUDA_CHECK_LAUNCH();
}

template void sort_rows<float>(float*, int64_t*, const float*, int64_t, int64_t, bool, int);
template void sort_rows<double>(double*, int64_t*, const double*, int64_t, int64_t, bool, int);

}  // namespace ember::cuda
