// Kernels for compare.hpp and reduce_more.hpp: bool-valued predicates, where (four operands),
// the reductions max / min / argmax / argmin / logsumexp / var / std over the middle dim of a
// contiguous [outer, n, inner] tensor, and pick / place along that dim (max(dim)'s values and
// gradient).
//
// Reducers mirror the CPU ones in ops/reduce_more.hpp (same accumulator types, same merge
// rules), so results agree up to summation order. Each has an aggregate Acc (no default member
// initialisers: it lives in __shared__ memory), init, add (element v at reduced index k),
// merge (order-independent, ties broken by index for the arg reducers) and write.
#pragma once

#include <cuda_runtime.h>

#include <cfloat>
#include <cstdint>
#include <ember/backend/cuda/api.hpp>
#include <ember/cuda/elementwise.cuh>
#include <ember/cuda/reduce.cuh>
#include <type_traits>

namespace ember::cuda::kernels {

// ---------------------------------------------------------------- predicates, where

template <class T, PredicateOp Op>
__device__ __forceinline__ bool predicate_op(T a, T b) {
  if constexpr (Op == PredicateOp::Eq)
    return a == b;
  else if constexpr (Op == PredicateOp::Ne)
    return a != b;
  else if constexpr (Op == PredicateOp::Lt)
    return a < b;
  else if constexpr (Op == PredicateOp::Le)
    return a <= b;
  else if constexpr (Op == PredicateOp::Gt)
    return a > b;
  else if constexpr (Op == PredicateOp::Ge)
    return a >= b;
  else if constexpr (Op == PredicateOp::And)
    return a != T(0) && b != T(0);
  else if constexpr (Op == PredicateOp::Or)
    return a != T(0) || b != T(0);
  else if constexpr (Op == PredicateOp::Not)
    return a == T(0);
  else if constexpr (std::is_floating_point_v<T>) {  // by IEEE comparisons: no name lookup of
    if constexpr (Op == PredicateOp::IsNan)           // isnan, which ember::isnan could hide
      return a != a;
    else if constexpr (Op == PredicateOp::IsInf)
      return a == T(INFINITY) || a == T(-INFINITY);
    else
      return a - a == T(0);  // NaN for NaN and +-inf
  } else {  // bool: never NaN or infinite
    return Op == PredicateOp::IsFinite;
  }
}

// Layout operands (out, a, b); b null means the scalar s instead.
template <class T, PredicateOp Op>
__global__ void predicate_kernel(bool* __restrict__ out, const T* __restrict__ a,
                                 const T* __restrict__ b, T s, const StridedLayout l) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < l.numel; i += stride) {
    const T y = b ? b[offset_of(l, 2, i)] : s;
    out[offset_of(l, 0, i)] = predicate_op<T, Op>(a[offset_of(l, 1, i)], y);
  }
}

// l: (out, a, b); lc: (out, cond) over the same shape, so index i is the same element in both.
template <class T>
__global__ void where_kernel(T* __restrict__ out, const bool* __restrict__ cond,
                             const T* __restrict__ a, const T* __restrict__ b,
                             const StridedLayout l, const StridedLayout lc) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < l.numel; i += stride)
    out[offset_of(l, 0, i)] =
        cond[offset_of(lc, 1, i)] ? a[offset_of(l, 1, i)] : b[offset_of(l, 2, i)];
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

}  // namespace ember::cuda::kernels
