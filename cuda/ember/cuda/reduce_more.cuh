// The kernels and launchers of backend/reduce.hpp: sum, max / min / argmax / argmin /
// logsumexp / var / std over the middle dim of a contiguous [outer, n, inner] tensor, pick /
// place along that dim (max(dim)'s values and gradient), and the cumulative sum along it. The
// block reductions they share with other families are in reduce.cuh.
//
// Reducers mirror the CPU ones in backend/cpu/reduce.hpp (same accumulator types, same merge
// rules), so results agree up to summation order. Each has an aggregate Acc (no default member
// initialisers: it lives in __shared__ memory), init, add (element v at reduced index k),
// merge (order-independent, ties broken by index for the arg reducers) and write.
//
// Included by exactly one translation unit (cuda/src/reduce_more.cu), which gets the float and
// double instances of the launchers at the end of this file.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cfloat>
#include <climits>
#include <cstdint>
#include <cub/block/block_scan.cuh>
#include <type_traits>

#include <ember/backend/cuda/api.hpp>
#include <ember/backend/reduce.hpp>
#include <ember/cuda/check.cuh>
#include <ember/cuda/reduce.cuh>
#include <ember/cuda/runtime.cuh>

namespace ember::cuda::kernels {

// ---------------------------------------------------------------- sum

// Sums by shape, each accumulating in AccOf<T> (double for float, as the CPU) and without
// atomics, so a sum has the same bits on every run:
// - inner == 1, short rows (n <= kShortRow): one thread per row;
// - inner == 1, longer rows: a block per row, sized from n (detail::row_threads); when there are
//   few rows each row is split over `parts` blocks, which write partials that sum_partials
//   (reduce.cuh) adds in order;
// - inner > 1 (sums over leading dims, every bias gradient): 32 x 8 tiles, 32 neighbouring
//   columns per block (coalesced) and the rows split over the 8 thread rows and over `parts`
//   blocks, so [8192, 768] summed over dim 0 runs on the whole GPU, not on 768 threads.
constexpr int64_t kShortRow = 32;
constexpr int kTileColumns = 32, kTileRows = 8;

template <class T>
__global__ void sum_short_rows(T* __restrict__ out, const T* __restrict__ x, int64_t outer,
                               int64_t n) {
  using A = typename AccOf<T>::type;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t o = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; o < outer; o += stride) {
    A acc = 0;
    for (int64_t k = 0; k < n; ++k) acc += A(x[o * n + k]);
    out[o] = T(acc);
  }
}

// Block (row o, part) sums row o's elements [part * chunk, (part + 1) * chunk): into out with
// one part, else into partial[part * outer + o].
template <class T>
__global__ void sum_rows(T* __restrict__ out, typename AccOf<T>::type* __restrict__ partial,
                         const T* __restrict__ x, int64_t outer, int64_t n, int64_t chunk) {
  using A = typename AccOf<T>::type;
  __shared__ A shared[32];
  const int64_t begin = int64_t(blockIdx.y) * chunk;
  const int64_t end = begin + chunk < n ? begin + chunk : n;
  for (int64_t o = blockIdx.x; o < outer; o += gridDim.x) {
    const T* row = x + o * n;
    A acc = 0;
    for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) acc += A(row[i]);
    acc = block_sum(acc, shared);
    if (threadIdx.x == 0) {
      if (partial)
        partial[int64_t(blockIdx.y) * outer + o] = acc;
      else
        out[o] = T(acc);
    }
  }
}

// Block (tile b of outer * tiles, part) of kTileColumns x kTileRows threads: column i of outer
// index o, rows [part * chunk, (part + 1) * chunk) strided over threadIdx.y; into out with one
// part, else into partial[part * outer * inner + o * inner + i].
template <class T>
__global__ void sum_columns_tiled(T* __restrict__ out, typename AccOf<T>::type* __restrict__ partial,
                                  const T* __restrict__ x, int64_t outer, int64_t n,
                                  int64_t inner, int64_t tiles, int64_t chunk) {
  using A = typename AccOf<T>::type;
  __shared__ A sh[kTileRows][kTileColumns + 1];
  const int64_t r0 = int64_t(blockIdx.y) * chunk;
  const int64_t r1 = r0 + chunk < n ? r0 + chunk : n;
  for (int64_t b = blockIdx.x; b < outer * tiles; b += gridDim.x) {
    const int64_t o = b / tiles, i = (b % tiles) * kTileColumns + threadIdx.x;
    A acc = 0;
    if (i < inner)
      for (int64_t r = r0 + threadIdx.y; r < r1; r += kTileRows) acc += A(x[(o * n + r) * inner + i]);
    sh[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && i < inner) {
      A total = 0;
      for (int k = 0; k < kTileRows; ++k) total += sh[k][threadIdx.x];
      if (partial)
        partial[int64_t(blockIdx.y) * outer * inner + o * inner + i] = total;
      else
        out[o * inner + i] = T(total);
    }
    __syncthreads();  // sh is reused by the next tile
  }
}

// ---------------------------------------------------------------- reducers

template <class T>
struct Limits;
template <>
struct Limits<float> {
  static constexpr float lowest = -FLT_MAX, highest = FLT_MAX;
};
template <>
struct Limits<double> {
  static constexpr double lowest = -DBL_MAX, highest = DBL_MAX;
};

// Largest (Max) or smallest value, NaN propagating; starts from lowest() / max() as the CPU.
template <class T, bool Max>
struct ExtremeR {
  struct Acc {
    T v;
  };
  __device__ Acc init() const { return {Max ? Limits<T>::lowest : Limits<T>::highest}; }
  __device__ void add(Acc& a, T v, int64_t) const {
    if (v != v || (Max ? v > a.v : v < a.v)) a.v = v;
  }
  __device__ void merge(Acc& a, const Acc& b) const { add(a, b.v, 0); }
  __device__ void write(T* values, int64_t*, int64_t j, const Acc& a) const {
    if (values) values[j] = a.v;
  }
};

// First index of the largest (Max) or smallest value; the first NaN wins.
template <class T, bool Max>
struct ArgR {
  struct Acc {
    T v;
    int64_t i;
  };
  __device__ static bool better(T v, T best) {
    if (v != v) return best == best;
    return Max ? v > best : v < best;
  }
  __device__ Acc init() const { return {T(0), -1}; }
  __device__ void add(Acc& a, T v, int64_t k) const {
    if (a.i < 0 || better(v, a.v)) a = {v, k};  // k increases within one thread
  }
  // Threads see interleaved indices, so an equal value keeps the smaller index.
  __device__ void merge(Acc& a, const Acc& b) const {
    if (b.i < 0) return;
    if (a.i < 0 || better(b.v, a.v) || (!better(a.v, b.v) && b.i < a.i)) a = b;
  }
  __device__ void write(T* values, int64_t* indices, int64_t j, const Acc& a) const {
    if (values) values[j] = a.v;
    if (indices) indices[j] = a.i;
  }
};

// Running max m and s = sum exp(x - m), in double for float (as the CPU reducer).
template <class T>
struct LseR {
  using A = typename AccOf<T>::type;
  struct Acc {
    A m, s;
  };
  __device__ Acc init() const { return {-A(INFINITY), A(0)}; }
  __device__ static void push(Acc& a, A m, A s) {
    if (s == A(0)) return;
    if (m > a.m) {
      a.s = a.s * exp(a.m - m) + s;
      a.m = m;
    } else if (m == a.m) {
      a.s += s;
    } else {
      a.s += s * exp(m - a.m);
    }
  }
  __device__ void add(Acc& a, T v, int64_t) const {
    if (A(v) != -A(INFINITY)) push(a, A(v), A(1));
  }
  __device__ void merge(Acc& a, const Acc& b) const { push(a, b.m, b.s); }
  __device__ void write(T* values, int64_t*, int64_t j, const Acc& a) const {
    values[j] = a.s == A(0) ? T(-INFINITY) : T(a.m + log(a.s));
  }
};

// Variance from sums shifted by the first value seen (the CPU's VarReducer).
template <class T>
struct VarR {
  using A = typename AccOf<T>::type;
  struct Acc {
    int64_t n;
    A shift, s1, s2;
  };
  int64_t correction;
  bool take_sqrt;
  __device__ Acc init() const { return {0, A(0), A(0), A(0)}; }
  __device__ void add(Acc& a, T v, int64_t) const {
    if (a.n == 0) a.shift = A(v);
    const A d = A(v) - a.shift;
    a.s1 += d;
    a.s2 += d * d;
    ++a.n;
  }
  __device__ void merge(Acc& a, const Acc& b) const {
    if (b.n == 0) return;
    if (a.n == 0) {
      a = b;
      return;
    }
    const A delta = b.shift - a.shift;
    a.s2 += b.s2 + A(2) * delta * b.s1 + A(b.n) * delta * delta;
    a.s1 += b.s1 + A(b.n) * delta;
    a.n += b.n;
  }
  __device__ void write(T* values, int64_t*, int64_t j, const Acc& a) const {
    A m2 = a.s2 - a.s1 * a.s1 / A(a.n);
    m2 = A(0) < m2 ? m2 : A(0);  // exactly the CPU's std::max(A(0), m2)
    const int64_t dof = a.n - correction > 0 ? a.n - correction : 0;
    const A v = m2 / A(dof);
    values[j] = T(take_sqrt ? sqrt(v) : v);
  }
};

constexpr int kReduceThreads = 256;  // a power of two: the tree below halves it

// inner == 1: one block per row (grid-stride over rows), a shared-memory tree per row.
template <class T, class R>
__global__ void __launch_bounds__(kReduceThreads)
    reduce_rows_kernel(R r, T* values, int64_t* indices, const T* __restrict__ x, int64_t outer,
                       int64_t n) {
  __shared__ typename R::Acc sh[kReduceThreads];
  const int t = threadIdx.x;
  for (int64_t row = blockIdx.x; row < outer; row += gridDim.x) {
    const T* p = x + row * n;
    typename R::Acc a = r.init();
    for (int64_t k = t; k < n; k += kReduceThreads) r.add(a, p[k], k);
    sh[t] = a;
    __syncthreads();
    for (int s = kReduceThreads / 2; s > 0; s >>= 1) {
      if (t < s) r.merge(sh[t], sh[t + s]);
      __syncthreads();
    }
    if (t == 0) r.write(values, indices, row, sh[0]);
    __syncthreads();  // sh is reused by the next row
  }
}

// inner > 1: one thread per (o, i) column, reading along n (coalesced over i).
template <class T, class R>
__global__ void reduce_columns_kernel(R r, T* values, int64_t* indices, const T* __restrict__ x,
                                      int64_t outer, int64_t n, int64_t inner) {
  const int64_t total = outer * inner;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; c < total; c += stride) {
    const int64_t o = c / inner, i = c % inner;
    const T* p = x + o * n * inner + i;
    typename R::Acc a = r.init();
    for (int64_t k = 0; k < n; ++k) r.add(a, p[k * inner], k);
    r.write(values, indices, c, a);
  }
}

// ---------------------------------------------------------------- pick / place along a dim

template <class T>
__global__ void pick_kernel(T* __restrict__ out, const T* __restrict__ src,
                            const int64_t* __restrict__ idx, int64_t outer, int64_t n,
                            int64_t inner) {
  const int64_t total = outer * inner;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; c < total; c += stride) {
    const int64_t o = c / inner, i = c % inner, k = idx[c];
    out[c] = (k >= 0 && k < n) ? src[(o * n + k) * inner + i] : T(NAN);  // NaN: a bad index shows
  }
}

// out is zeroed first; each (o, i) writes one distinct element, so no atomics are needed.
template <class T>
__global__ void place_kernel(T* __restrict__ out, const T* __restrict__ src,
                             const int64_t* __restrict__ idx, int64_t outer, int64_t n,
                             int64_t inner) {
  const int64_t total = outer * inner;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; c < total; c += stride) {
    const int64_t o = c / inner, i = c % inner, k = idx[c];
    if (k >= 0 && k < n) out[(o * n + k) * inner + i] = src[c];
  }
}

// ---------------------------------------------------------------- cumulative sum

constexpr int kScanThreads = 256;

// inner == 1: one block per row (grid-stride over rows). The row is scanned in tiles of
// kScanThreads elements with a block scan, the running total of the tiles before carried in
// (AccOf: double for float). reverse walks the row from its end.
template <class T>
__global__ void __launch_bounds__(kScanThreads)
    cumsum_rows_kernel(T* __restrict__ out, const T* __restrict__ x, int64_t outer, int64_t n,
                       bool reverse) {
  using A = typename AccOf<T>::type;
  using Scan = cub::BlockScan<A, kScanThreads>;
  __shared__ typename Scan::TempStorage temp;
  for (int64_t row = blockIdx.x; row < outer; row += gridDim.x) {
    A carry = 0;
    for (int64_t base = 0; base < n; base += kScanThreads) {
      const int64_t k = base + threadIdx.x;
      const int64_t at = row * n + (reverse ? n - 1 - k : k);
      A v = k < n ? A(x[at]) : A(0), tile_total;
      Scan(temp).InclusiveSum(v, v, tile_total);
      if (k < n) out[at] = T(carry + v);
      carry += tile_total;
      __syncthreads();  // temp is reused by the next tile
    }
  }
}

// inner > 1: one thread per (o, i) column, summing along n in order (coalesced over i).
template <class T>
__global__ void cumsum_columns_kernel(T* __restrict__ out, const T* __restrict__ x, int64_t outer,
                                      int64_t n, int64_t inner, bool reverse) {
  using A = typename AccOf<T>::type;
  const int64_t total = outer * inner;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; c < total; c += stride) {
    const int64_t o = c / inner, i = c % inner;
    A acc = 0;
    for (int64_t k = 0; k < n; ++k) {
      const int64_t at = (o * n + (reverse ? n - 1 - k : k)) * inner + i;
      acc += A(x[at]);
      out[at] = T(acc);
    }
  }
}

}  // namespace ember::cuda::kernels

namespace ember::cuda {

namespace detail {

constexpr int kReduceColumnThreads = 256;  // grid-stride kernels: one thread per column

template <class T, class R>
void launch_reduce(const R& r, T* values, int64_t* indices, const T* x, int64_t outer, int64_t n,
                   int64_t inner, int device) {
  cudaStream_t st = stream(device);
  // Short rows (n <= kShortRow) take the one-thread-per-output kernel, which is the columns
  // kernel with inner == 1: a block per row would leave most of its threads idle.
  if (inner == 1 && n > kernels::kShortRow) {
    const unsigned blocks = unsigned(std::min<int64_t>(outer, int64_t(sm_count(device)) * 32));
    kernels::reduce_rows_kernel<T, R>
        <<<std::max(1u, blocks), kernels::kReduceThreads, 0, st>>>(r, values, indices, x, outer, n);
  } else {
    constexpr int threads = kReduceColumnThreads;
    kernels::reduce_columns_kernel<T, R>
        <<<grid_for(outer * inner, threads, device), threads, 0, st>>>(r, values, indices, x,
                                                                       outer, n, inner);
  }
  EMBER_CUDA_CHECK_LAUNCH();
}

}  // namespace detail

template <class T>
void sum_dim(T* out, const T* x, int64_t outer, int64_t n, int64_t inner, int device) {
  using A = typename kernels::AccOf<T>::type;
  if (outer * inner == 0) return;
  detail::use_device(device);
  cudaStream_t st = detail::stream(device);
  const int64_t want_blocks = int64_t(detail::sm_count(device)) * 4;
  // The row split: `parts` blocks per output when there are fewer than want_blocks outputs'
  // worth of blocks, never chunks shorter than min_chunk rows; then one ordered second pass.
  auto split = [&](int64_t blocks, int64_t min_chunk, int64_t& parts, int64_t& chunk) {
    parts = blocks >= want_blocks ? 1 : (want_blocks + blocks - 1) / blocks;
    parts = std::max<int64_t>(1, std::min<int64_t>({parts, (n + min_chunk - 1) / min_chunk, 65535}));
    chunk = (n + parts - 1) / parts;
    parts = (n + chunk - 1) / chunk;
  };
  auto finish = [&](A* partial, int64_t parts, int64_t count) {
    if (!partial) return;
    EMBER_CUDA_CHECK_LAUNCH();
    kernels::sum_partials<T, A><<<detail::grid_for(count, 256, device), 256, 0, st>>>(
        out, partial, parts, count);
    EMBER_CUDA_CHECK_LAUNCH();
    deallocate(partial, size_t(parts * count) * sizeof(A), device);
  };
  if (inner == 1 && n <= kernels::kShortRow) {
    kernels::sum_short_rows<T><<<detail::grid_for(outer, 256, device), 256, 0, st>>>(out, x, outer, n);
    EMBER_CUDA_CHECK_LAUNCH();
  } else if (inner == 1) {
    int64_t parts, chunk;
    split(outer, 4096, parts, chunk);
    A* partial = parts > 1 ? static_cast<A*>(allocate(size_t(parts * outer) * sizeof(A), device)) : nullptr;
    const unsigned rows = unsigned(std::min<int64_t>(outer, int64_t(detail::sm_count(device)) * 32));
    kernels::sum_rows<T><<<dim3(rows, unsigned(parts)), detail::row_threads(std::min(n, chunk)), 0, st>>>(
        out, partial, x, outer, n, chunk);
    if (partial) finish(partial, parts, outer);
    else EMBER_CUDA_CHECK_LAUNCH();
  } else {
    const int64_t tiles = (inner + kernels::kTileColumns - 1) / kernels::kTileColumns;
    int64_t parts, chunk;
    split(outer * tiles, 8 * kernels::kTileRows, parts, chunk);
    A* partial = parts > 1 ? static_cast<A*>(allocate(size_t(parts * outer * inner) * sizeof(A), device)) : nullptr;
    const unsigned blocks = unsigned(std::min<int64_t>(outer * tiles, int64_t(detail::sm_count(device)) * 32));
    kernels::sum_columns_tiled<T><<<dim3(blocks, unsigned(parts)), dim3(kernels::kTileColumns, kernels::kTileRows), 0, st>>>(
        out, partial, x, outer, n, inner, tiles, chunk);
    if (partial) finish(partial, parts, outer * inner);
    else EMBER_CUDA_CHECK_LAUNCH();
  }
}

template <class T>
void reduce_dim(ReduceOp op, T* values, int64_t* indices, const T* x, int64_t outer, int64_t n,
                int64_t inner, int64_t correction, int device) {
  if (outer * inner == 0) return;
  EMBER_CHECK(n > 0, "cuda::reduce_dim: cannot reduce over 0 elements");
  detail::use_device(device);
  auto launch = [&](const auto& r) {
    detail::launch_reduce(r, values, indices, x, outer, n, inner, device);
  };
  switch (op) {
    case ReduceOp::Max:
      return launch(kernels::ExtremeR<T, true>{});
    case ReduceOp::Min:
      return launch(kernels::ExtremeR<T, false>{});
    case ReduceOp::ArgMax:
      return launch(kernels::ArgR<T, true>{});
    case ReduceOp::ArgMin:
      return launch(kernels::ArgR<T, false>{});
    case ReduceOp::LogSumExp:
      return launch(kernels::LseR<T>{});
    case ReduceOp::Var:
      return launch(kernels::VarR<T>{correction, false});
    case ReduceOp::Std:
      return launch(kernels::VarR<T>{correction, true});
  }
  fail("cuda::reduce_dim: unknown op ", int(op));
}

template <class T>
void pick_dim(T* out, const T* src, const int64_t* idx, int64_t outer, int64_t n, int64_t inner,
              int device) {
  if (outer * inner == 0) return;
  detail::use_device(device);
  constexpr int threads = detail::kReduceColumnThreads;
  kernels::pick_kernel<T><<<detail::grid_for(outer * inner, threads, device), threads, 0,
                            detail::stream(device)>>>(out, src, idx, outer, n, inner);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void place_dim(T* out, const T* src, const int64_t* idx, int64_t outer, int64_t n, int64_t inner,
               int device) {
  if (outer * n * inner == 0) return;
  detail::use_device(device);
  cudaStream_t st = detail::stream(device);
  constexpr int threads = detail::kReduceColumnThreads;
  EMBER_CUDA_CHECK(cudaMemsetAsync(out, 0, size_t(outer * n * inner) * sizeof(T), st));
  kernels::place_kernel<T><<<detail::grid_for(outer * inner, threads, device), threads, 0, st>>>(
      out, src, idx, outer, n, inner);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void cumsum_dim(T* out, const T* x, int64_t outer, int64_t n, int64_t inner, bool reverse,
                int device) {
  if (outer * n * inner == 0) return;
  detail::use_device(device);
  cudaStream_t st = detail::stream(device);
  if (inner == 1) {
    const unsigned blocks =
        unsigned(std::min<int64_t>(outer, int64_t(detail::sm_count(device)) * 8));
    kernels::cumsum_rows_kernel<T>
        <<<blocks, kernels::kScanThreads, 0, st>>>(out, x, outer, n, reverse);
  } else {
    constexpr int threads = detail::kReduceColumnThreads;
    kernels::cumsum_columns_kernel<T>
        <<<detail::grid_for(outer * inner, threads, device), threads, 0, st>>>(out, x, outer, n,
                                                                               inner, reverse);
  }
  EMBER_CUDA_CHECK_LAUNCH();
}

// The two dtypes with CUDA kernels.
template void sum_dim<float>(float*, const float*, int64_t, int64_t, int64_t, int);
template void sum_dim<double>(double*, const double*, int64_t, int64_t, int64_t, int);
template void reduce_dim<float>(ReduceOp, float*, int64_t*, const float*, int64_t, int64_t,
                                int64_t, int64_t, int);
template void reduce_dim<double>(ReduceOp, double*, int64_t*, const double*, int64_t, int64_t,
                                 int64_t, int64_t, int);
template void pick_dim<float>(float*, const float*, const int64_t*, int64_t, int64_t, int64_t,
                              int);
template void pick_dim<double>(double*, const double*, const int64_t*, int64_t, int64_t, int64_t,
                               int);
template void place_dim<float>(float*, const float*, const int64_t*, int64_t, int64_t, int64_t,
                               int);
template void place_dim<double>(double*, const double*, const int64_t*, int64_t, int64_t,
                                int64_t, int);

template void cumsum_dim<float>(float*, const float*, int64_t, int64_t, int64_t, bool, int);
template void cumsum_dim<double>(double*, const double*, int64_t, int64_t, int64_t, bool, int);

}  // namespace ember::cuda
