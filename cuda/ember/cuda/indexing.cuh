// Kernels of the indexing family: gather / scatter_add along a dim (behind index_select,
// index_add, gather, scatter_add, scatter_sum and embedding) and masked_fill. Grid-stride
// loops with int64 positions; offsets come from IndexLayout (see backend/indexing.hpp) so
// strided and expanded operands need no copies.
//
// scatter_add has two paths: atomicAdd (fast; float sums round in whatever order the atomics
// land) and a deterministic one: positions sorted by target offset with a stable radix sort
// (cub::DeviceRadixSort), then every run of equal targets summed by one thread in increasing
// position, which is the CPU's order, so the result is also bit-identical to the CPU's.
//
// Kernels and the launchers of backend/indexing.hpp; included by one translation unit
// (cuda/src/indexing.cu), which gets the float and double instances at the end of this file.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cub/device/device_radix_sort.cuh>

#include <ember/backend/indexing.hpp>
#include <ember/cuda/check.cuh>
#include <ember/cuda/runtime.cuh>

namespace ember::cuda::kernels {

// Offsets of position p in the k-side tensor, the index and the target (the target's without
// the indexed dim's term, which needs index[p]).
struct IndexOffsets {
  int64_t kside = 0, index = 0, target = 0;
};

__device__ __forceinline__ IndexOffsets index_offsets(const IndexLayout& l, int64_t p) {
  IndexOffsets o;
  for (int d = l.ndim - 1; d >= 0; --d) {
    const int64_t s = l.shape[d], c = p % s;
    p /= s;
    o.kside += c * l.kside_strides[d];
    o.index += c * l.index_strides[d];
    if (d != l.dim) o.target += c * l.target_strides[d];
  }
  return o;
}

__device__ __forceinline__ int64_t grid_start() {
  return int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ int64_t grid_stride() { return int64_t(gridDim.x) * blockDim.x; }

template <class T>
__global__ void index_gather(T* __restrict__ kside, const T* __restrict__ target,
                             const int64_t* __restrict__ index, IndexLayout l) {
  for (int64_t p = grid_start(); p < l.numel; p += grid_stride()) {
    const IndexOffsets o = index_offsets(l, p);
    kside[o.kside] = target[o.target + index[o.index] * l.target_strides[l.dim]];
  }
}

template <class T>
__global__ void index_scatter_add_atomic(T* target, const T* __restrict__ kside,
                                         const int64_t* __restrict__ index, IndexLayout l) {
  for (int64_t p = grid_start(); p < l.numel; p += grid_stride()) {
    const IndexOffsets o = index_offsets(l, p);
    atomicAdd(target + o.target + index[o.index] * l.target_strides[l.dim], kside[o.kside]);
  }
}

// Deterministic path, step 1: the sort keys (target offsets) and values (positions).
template <class K>
__global__ void index_scatter_keys(K* __restrict__ keys, int64_t* __restrict__ pos,
                                   const int64_t* __restrict__ index, IndexLayout l) {
  for (int64_t p = grid_start(); p < l.numel; p += grid_stride()) {
    const IndexOffsets o = index_offsets(l, p);
    keys[p] = K(o.target + index[o.index] * l.target_strides[l.dim]);
    pos[p] = p;
  }
}

// Step 3, after a stable sort by key: the first entry of each run of equal keys sums the run
// in increasing position into its target, starting from the target's value (as the CPU does).
template <class T>
__global__ void index_scatter_runs(T* __restrict__ target, const T* __restrict__ kside,
                                   const uint64_t* __restrict__ keys,
                                   const int64_t* __restrict__ pos, IndexLayout l) {
  for (int64_t i = grid_start(); i < l.numel; i += grid_stride()) {
    const uint64_t key = keys[i];
    if (i > 0 && keys[i - 1] == key) continue;
    T acc = target[key];
    for (int64_t j = i; j < l.numel && keys[j] == key; ++j)
      acc += kside[index_offsets(l, pos[j]).kside];
    target[key] = acc;
  }
}

__device__ __forceinline__ int64_t strided_offset(const StridedLayout& l, int op, int64_t i) {
  int64_t off = 0;
  for (int d = l.ndim - 1; d >= 0; --d) {
    const int64_t s = l.shape[d];
    off += (i % s) * l.strides[op][d];
    i /= s;
  }
  return off;
}

template <class T>
__global__ void masked_fill(T* __restrict__ out, const T* __restrict__ x,
                            const bool* __restrict__ mask, T value, StridedLayout l) {
  for (int64_t i = grid_start(); i < l.numel; i += grid_stride())
    out[strided_offset(l, 0, i)] =
        mask[strided_offset(l, 2, i)] ? value : x[strided_offset(l, 1, i)];
}

}  // namespace ember::cuda::kernels

namespace ember::cuda {

namespace detail {

inline constexpr int kIndexThreads = 256;

// Device scratch memory from the stream-ordered pool, released (stream-ordered) on scope exit.
class Scratch {
 public:
  Scratch(size_t nbytes, int device)
      : p_(nbytes ? allocate(nbytes, device) : nullptr), n_(nbytes), device_(device) {}
  ~Scratch() {
    if (!p_) return;
    try {
      deallocate(p_, n_, device_);
    } catch (...) {  // a destructor must not throw (the launch error, if any, is reported)
    }
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  template <class U>
  U* as() const {
    return static_cast<U*>(p_);
  }

 private:
  void* p_;
  size_t n_;
  int device_;
};

}  // namespace detail

template <class T>
void index_gather(T* kside, const T* target, const int64_t* index, const IndexLayout& l,
                  int device) {
  if (l.numel == 0) return;
  constexpr int threads = detail::kIndexThreads;
  detail::use_device(device);
  kernels::index_gather<T>
      <<<detail::grid_for(l.numel, threads, device), threads, 0, detail::stream(device)>>>(
          kside, target, index, l);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void index_scatter_add(T* target, const T* kside, const int64_t* index, const IndexLayout& l,
                       bool deterministic, int device) {
  if (l.numel == 0) return;
  constexpr int threads = detail::kIndexThreads;
  detail::use_device(device);
  cudaStream_t st = detail::stream(device);
  const unsigned grid = detail::grid_for(l.numel, threads, device);
  if (!deterministic) {
    kernels::index_scatter_add_atomic<T><<<grid, threads, 0, st>>>(target, kside, index, l);
    EMBER_CUDA_CHECK_LAUNCH();
    return;
  }
  // Sort only the bits a target offset can have (fewer radix passes).
  int end_bit = 1;
  while (end_bit < 64 && (uint64_t(1) << end_bit) < uint64_t(std::max<int64_t>(l.target_extent, 1)))
    ++end_bit;
  const size_t n = size_t(l.numel);
  detail::Scratch keys(n * sizeof(uint64_t), device), keys_sorted(n * sizeof(uint64_t), device);
  detail::Scratch pos(n * sizeof(int64_t), device), pos_sorted(n * sizeof(int64_t), device);
  kernels::index_scatter_keys<uint64_t>
      <<<grid, threads, 0, st>>>(keys.as<uint64_t>(), pos.as<int64_t>(), index, l);
  EMBER_CUDA_CHECK_LAUNCH();
  size_t temp_bytes = 0;
  EMBER_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(
      nullptr, temp_bytes, keys.as<uint64_t>(), keys_sorted.as<uint64_t>(), pos.as<int64_t>(),
      pos_sorted.as<int64_t>(), l.numel, 0, end_bit, st));
  detail::Scratch temp(std::max<size_t>(temp_bytes, 1), device);
  EMBER_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(
      temp.as<void>(), temp_bytes, keys.as<uint64_t>(), keys_sorted.as<uint64_t>(),
      pos.as<int64_t>(), pos_sorted.as<int64_t>(), l.numel, 0, end_bit, st));
  kernels::index_scatter_runs<T><<<grid, threads, 0, st>>>(
      target, kside, keys_sorted.as<uint64_t>(), pos_sorted.as<int64_t>(), l);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void masked_fill(T* out, const T* x, const bool* mask, T value, const StridedLayout& l,
                 int device) {
  if (l.numel == 0) return;
  constexpr int threads = detail::kIndexThreads;
  detail::use_device(device);
  kernels::masked_fill<T>
      <<<detail::grid_for(l.numel, threads, device), threads, 0, detail::stream(device)>>>(
          out, x, mask, value, l);
  EMBER_CUDA_CHECK_LAUNCH();
}

template void index_gather<float>(float*, const float*, const int64_t*, const IndexLayout&, int);
template void index_gather<double>(double*, const double*, const int64_t*, const IndexLayout&, int);
template void index_scatter_add<float>(float*, const float*, const int64_t*, const IndexLayout&,
                                       bool, int);
template void index_scatter_add<double>(double*, const double*, const int64_t*, const IndexLayout&,
                                        bool, int);
template void masked_fill<float>(float*, const float*, const bool*, float, const StridedLayout&,
                                 int);
template void masked_fill<double>(double*, const double*, const bool*, double, const StridedLayout&,
                                  int);

}  // namespace ember::cuda
