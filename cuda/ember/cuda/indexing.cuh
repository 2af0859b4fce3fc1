// Kernels of the indexing family: gather / scatter_add along a dim (behind index_select,
// index_add, gather, scatter_add, scatter_sum and embedding), masked_fill, segment_sum and the
// dropout mask. Grid-stride loops with int64 positions; offsets come from IndexLayout (see
// backend/cuda/api.hpp) so strided and expanded operands need no copies.
//
// scatter_add has two paths: atomicAdd (fast; float sums round in whatever order the atomics
// land) and a deterministic one: positions sorted by target offset with a stable radix sort,
// then every run of equal targets summed by one thread in increasing position, which is the
// CPU's order, so the result is also bit-identical to the CPU's.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <ember/backend/cuda/api.hpp>
#include <ember/cuda/philox.cuh>

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

// One thread per output (row i, feature c); consecutive threads read consecutive features.
// scatter_max over rows sorted by target (ptr: [rows + 1] run starts, order: the source row of
// each sorted position, increasing within a run): out / arg per (row, feature), the first
// maximum in increasing source row (NaN wins, as max); empty rows give 0 and argmax e_rows.
// mask (zero-filled by the caller, [e_rows, f]) gets 1 at each argmax: every source row is in
// one run only, so no two threads write the same element.
template <class T>
__global__ void scatter_max_sorted(T* __restrict__ out, int64_t* __restrict__ arg,
                                   T* __restrict__ mask, const T* __restrict__ src,
                                   const int64_t* __restrict__ ptr,
                                   const int64_t* __restrict__ order, int64_t rows, int64_t f,
                                   int64_t e_rows) {
  const int64_t total = rows * f;
  for (int64_t t = grid_start(); t < total; t += grid_stride()) {
    const int64_t i = t / f, c = t % f;
    const int64_t b = ptr[i], end = ptr[i + 1];
    if (b == end) {
      out[t] = T(0);
      arg[t] = e_rows;
      continue;
    }
    int64_t best_row = order[b];
    T best = src[best_row * f + c];
    for (int64_t k = b + 1; k < end; ++k) {
      const int64_t r = order[k];
      const T v = src[r * f + c];
      if (v > best || (v != v && best == best)) {
        best = v;
        best_row = r;
      }
    }
    out[t] = best;
    arg[t] = best_row;
    if (mask) mask[best_row * f + c] = T(1);
  }
}

template <class T>
__global__ void segment_sum(T* __restrict__ out, const T* __restrict__ src,
                            const int64_t* __restrict__ row_ptr, int64_t rows, int64_t f) {
  const int64_t total = rows * f;
  for (int64_t t = grid_start(); t < total; t += grid_stride()) {
    const int64_t i = t / f, c = t % f;
    T acc = 0;
    for (int64_t k = row_ptr[i]; k < row_ptr[i + 1]; ++k) acc += src[k * f + c];
    out[t] = acc;
  }
}

template <class T>
__global__ void dropout_mask(T* __restrict__ mask, int64_t n, double keep, T scale, uint64_t seed,
                             uint64_t offset) {
  for (int64_t i = grid_start(); i < n; i += grid_stride())
    mask[i] = philox_uniform(seed, offset, uint64_t(i)) < keep ? scale : T(0);
}

}  // namespace ember::cuda::kernels
