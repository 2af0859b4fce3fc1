// Reductions over any set of dimensions, and the Reducers of ember's reductions (sum, mean,
// var / std, max / min, argmax / argmin, logsumexp); pick / place along reduced dims (the
// values of max(x, dim) and their gradient); the cumulative sum along a dim.
//
// Two layouts are fast: the reduced dims are the innermost ones (each output reduces one
// contiguous run) or the outermost ones (rows are combined elementwise, as a bias gradient
// needs). Anything else is first permuted and copied into the first layout.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include <ember/backend/cpu/parallel.hpp>
#include <ember/core/tensor_class.hpp>

namespace ember {

// Normalised, sorted, unique reduction dims; all dims when `dims` is empty.
inline std::vector<int64_t> reduction_dims(const std::vector<int64_t>& dims, int64_t ndim, const char* op) {
  std::vector<int64_t> out;
  if (dims.empty()) {
    for (int64_t d = 0; d < ndim; ++d) out.push_back(d);
    return out;
  }
  for (int64_t d : dims) out.push_back(wrap_dim(d, ndim, op));
  std::sort(out.begin(), out.end());
  EMBER_CHECK(std::adjacent_find(out.begin(), out.end()) == out.end(), op,
              ": dimension repeated in ", shape_str(dims));
  if (ndim == 0) out.clear();
  return out;
}

// Output shape of a reduction.
inline Shape reduced_shape(const Shape& shape, const std::vector<int64_t>& rdims, bool keepdim) {
  Shape out;
  for (int64_t d = 0; d < int64_t(shape.size()); ++d) {
    const bool reduced = std::binary_search(rdims.begin(), rdims.end(), d);
    if (!reduced) out.push_back(shape[d]);
    else if (keepdim) out.push_back(1);
  }
  return out;
}

namespace cpu {

// Reduces x over rdims (from reduction_dims) with a Reducer:
//   using Acc = ...;  Acc init() const;  void add(Acc&, T value, int64_t index) const;
//   void merge(Acc&, const Acc&) const;  R finish(const Acc&, int64_t count) const;
// `index` is the position within the reduced run (row-major over rdims), for argmax-style
// reductions; merge combines partial results of consecutive chunks (left then right).
template <class R, class T, class Reducer>
Tensor<R> reduce(const Tensor<T>& x, const std::vector<int64_t>& rdims, bool keepdim, const Reducer& red) {
  using Acc = typename Reducer::Acc;
  const Shape out_shape = reduced_shape(x.shape(), rdims, keepdim);
  Tensor<R> out = Tensor<R>::empty(out_shape, x.device());
  R* o = out.data_ptr();
  int64_t inner = 1;
  for (int64_t d : rdims) inner *= x.shape()[d];
  const int64_t outer = out.numel();
  if (outer == 0) return out;

  // Kept dims first, reduced dims last; copy unless that layout is already contiguous.
  std::vector<int64_t> perm;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (!std::binary_search(rdims.begin(), rdims.end(), d)) perm.push_back(d);
  perm.insert(perm.end(), rdims.begin(), rdims.end());

  // Reduced dims leading and contiguous: combine whole rows (e.g. a bias gradient).
  bool reduced_leading = x.is_contiguous() && inner > 1 && outer > 1;
  for (size_t i = 0; i < rdims.size() && reduced_leading; ++i)
    if (rdims[i] != int64_t(i)) reduced_leading = false;
  if (reduced_leading) {
    const T* p = x.data_ptr();
    parallel_for(outer, outer * inner, [&](int64_t begin, int64_t end) {
      std::vector<Acc> acc(size_t(end - begin), red.init());
      for (int64_t r = 0; r < inner; ++r) {
        const T* row = p + r * outer;
        for (int64_t j = begin; j < end; ++j) red.add(acc[j - begin], row[j], r);
      }
      for (int64_t j = begin; j < end; ++j) o[j] = red.finish(acc[j - begin], inner);
    });
    return out;
  }

  Tensor<T> xp = x.detach().permute(perm);
  if (!xp.is_contiguous()) xp = xp.contiguous();
  const T* p = xp.data_ptr();
  if (outer == 1 && inner >= 2 * kParallelGrain && max_threads() > 1) {
    // One long reduction: split it across threads and merge the partial results.
    const int threads = max_threads();
    std::vector<Acc> partial(size_t(threads), red.init());
    parallel_for(threads, inner, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) {
        const int64_t chunk = (inner + threads - 1) / threads;
        const int64_t s = std::min(inner, t * chunk), f = std::min(inner, s + chunk);
        for (int64_t i = s; i < f; ++i) red.add(partial[t], p[i], i);
      }
    });
    Acc total = red.init();
    for (int t = 0; t < threads; ++t) {
      const int64_t chunk = (inner + threads - 1) / threads;
      if (std::min(inner, t * chunk) < inner) red.merge(total, partial[t]);
    }
    o[0] = red.finish(total, inner);
    return out;
  }
  parallel_for(outer, outer * inner, [&](int64_t begin, int64_t end) {
    for (int64_t j = begin; j < end; ++j) {
      Acc acc = red.init();
      const T* run = p + j * inner;
      for (int64_t i = 0; i < inner; ++i) red.add(acc, run[i], i);
      o[j] = red.finish(acc, inner);
    }
  });
  return out;
}

// ---------------------------------------------------------------- reducers

// float sums accumulate in double: a 10^6-element float sum would otherwise lose digits.
// Integer (and bool) sums accumulate in int64.
template <class T>
using sum_acc_t = std::conditional_t<
    std::is_same_v<T, float>, double,
    std::conditional_t<std::is_same_v<T, std::complex<float>>, std::complex<double>,
                       std::conditional_t<std::is_integral_v<T>, int64_t, T>>>;

// Sum, or mean (the sum divided by the count in the accumulator's type).
template <class T>
struct SumReducer {
  using Acc = sum_acc_t<T>;
  bool mean = false;
  Acc init() const { return Acc(0); }
  void add(Acc& a, T v, int64_t) const { a += Acc(v); }
  void merge(Acc& a, const Acc& b) const { a += b; }
  T finish(const Acc& a, int64_t n) const {
    if constexpr (std::is_integral_v<T>) return T(mean ? a / n : a);
    else return mean ? T(a / real_t<Acc>(n)) : T(a);
  }
};

// Variance from sums shifted by the first value seen (K): n, sum(x - K), sum((x - K)^2).
// One add per element and no division (Welford divides per element); with K a sample of
// the data the shifted sums do not cancel catastrophically. float accumulates in double.
template <class T>
struct VarReducer {
  using A = std::conditional_t<std::is_same_v<T, float>, double, T>;
  struct Acc {
    int64_t n = 0;
    A shift = 0, s1 = 0, s2 = 0;
  };
  int64_t correction = 1;
  bool take_sqrt = false;
  Acc init() const { return {}; }
  void add(Acc& a, T v, int64_t) const {
    if (a.n == 0) a.shift = A(v);
    const A d = A(v) - a.shift;
    a.s1 += d;
    a.s2 += d * d;
    ++a.n;
  }
  void merge(Acc& a, const Acc& b) const {
    if (b.n == 0) return;
    if (a.n == 0) {
      a = b;
      return;
    }
    const A delta = b.shift - a.shift;  // b's sums re-centred on a's shift
    a.s2 += b.s2 + 2 * delta * b.s1 + A(b.n) * delta * delta;
    a.s1 += b.s1 + A(b.n) * delta;
    a.n += b.n;
  }
  T finish(const Acc& a, int64_t) const {
    const A m2 = std::max(A(0), a.s2 - a.s1 * a.s1 / A(a.n));  // NaN for n = 0, like PyTorch
    const A v = m2 / A(std::max<int64_t>(0, a.n - correction));
    return T(take_sqrt ? std::sqrt(v) : v);
  }
};

// The index (row-major over the reduced dims) of the first largest (Max) or smallest value;
// NaN counts as the extreme, as in PyTorch.
template <class T, bool Max>
struct ArgReducer {
  struct Acc {
    T v{};
    int64_t i = -1;
  };
  static bool better(T v, T best) {
    if (v != v) return best == best;  // the first NaN wins and stays
    return Max ? v > best : v < best;
  }
  Acc init() const { return {}; }
  void add(Acc& a, T v, int64_t i) const {
    if (a.i < 0 || better(v, a.v)) a = {v, i};
  }
  void merge(Acc& a, const Acc& b) const {  // a holds earlier elements: ties keep a
    if (b.i >= 0 && (a.i < 0 || better(b.v, a.v))) a = b;
  }
  int64_t finish(const Acc& a, int64_t) const { return a.i; }
};

// The largest (Max) or smallest value; NaN propagates.
template <class T, bool Max>
struct ExtremeReducer {
  using Acc = T;
  Acc init() const {
    return Max ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
  }
  void add(Acc& a, T v, int64_t) const {
    if (v != v || (Max ? v > a : v < a)) a = v;
  }
  void merge(Acc& a, const Acc& b) const { add(a, b, 0); }
  T finish(const Acc& a, int64_t) const { return a; }
};

// log(sum(exp(x))) in one pass: keeps the running max m and s = sum(exp(x - m)), rescaling s
// when the max grows. -inf terms contribute nothing; NaN propagates through s.
template <class T>
struct LogSumExpReducer {
  using A = std::conditional_t<std::is_same_v<T, float>, double, T>;
  struct Acc {
    A m = -std::numeric_limits<A>::infinity();
    A s = 0;
  };
  Acc init() const { return {}; }
  static void push(Acc& a, A m, A s) {  // adds s * exp(m)
    if (s == 0) return;
    if (m > a.m) {
      a.s = a.s * std::exp(a.m - m) + s;
      a.m = m;
    } else if (m == a.m) {
      a.s += s;  // also +inf with +inf, where exp(m - a.m) would be NaN
    } else {
      a.s += s * std::exp(m - a.m);
    }
  }
  void add(Acc& a, T v, int64_t) const {
    if (A(v) != -std::numeric_limits<A>::infinity()) push(a, A(v), A(1));
  }
  void merge(Acc& a, const Acc& b) const { push(a, b.m, b.s); }
  T finish(const Acc& a, int64_t) const {
    if (a.s == 0) return -std::numeric_limits<T>::infinity();  // empty or all -inf
    return T(a.m + std::log(a.s));
  }
};

// ---------------------------------------------------------------- pick / place

// For each output j of a keepdim reduction over rdims, the offset (in `strides`) of the
// element at j's kept coordinates and at reduced position idx[j] (row-major over rdims).
inline std::vector<int64_t> picked_offsets(const Shape& shape, const Shape& strides,
                                           const std::vector<int64_t>& rdims, const int64_t* idx,
                                           int64_t count) {
  std::vector<int64_t> kept;
  for (int64_t d = 0; d < int64_t(shape.size()); ++d)
    if (!std::binary_search(rdims.begin(), rdims.end(), d)) kept.push_back(d);
  std::vector<int64_t> out(static_cast<size_t>(count));
  for (int64_t j = 0; j < count; ++j) {
    int64_t off = 0, rest = j, r = idx[j];
    for (auto d = kept.rbegin(); d != kept.rend(); ++d) {
      off += (rest % shape[*d]) * strides[*d];
      rest /= shape[*d];
    }
    for (auto d = rdims.rbegin(); d != rdims.rend(); ++d) {
      off += (r % shape[*d]) * strides[*d];
      r /= shape[*d];
    }
    out[j] = off;
  }
  return out;
}

// src's elements at the positions idx (contiguous, src's keepdim reduction shape over rdims)
// picks: a fresh tensor of idx's shape.
template <class T>
Tensor<T> pick(const Tensor<T>& src, const Tensor<int64_t>& idx,
               const std::vector<int64_t>& rdims) {
  Tensor<T> out = Tensor<T>::empty(idx.shape(), src.device());
  const std::vector<int64_t> off =
      picked_offsets(src.shape(), src.strides(), rdims, idx.data_ptr(), idx.numel());
  const T* s = src.data_ptr();
  T* o = out.data_ptr();
  for (int64_t j = 0; j < idx.numel(); ++j) o[j] = s[off[size_t(j)]];
  return out;
}

// Zeros of in_shape with src (idx's shape) written at the positions idx picks.
template <class T>
Tensor<T> place(const Tensor<T>& src, const Tensor<int64_t>& idx, const Shape& in_shape,
                const std::vector<int64_t>& rdims) {
  Tensor<T> out = Tensor<T>::zeros(in_shape, src.device());
  const Tensor<T> sc = src.contiguous();
  const std::vector<int64_t> off =
      picked_offsets(in_shape, out.strides(), rdims, idx.data_ptr(), idx.numel());
  T* o = out.data_ptr();
  for (int64_t j = 0; j < idx.numel(); ++j) o[off[size_t(j)]] = sc.data_ptr()[j];
  return out;
}

// ---------------------------------------------------------------- cumulative sums

// out[o, j, i] = sum over r <= j of x[o, r, i] (reverse: over r >= j), along the middle dim of
// a contiguous [outer, n, inner] x. Each column accumulates in order in sum_acc_t<T> (double
// for float, as the sums), so a float cumsum keeps its digits over long rows.
template <class T>
void cumsum(T* out, const T* x, int64_t outer, int64_t n, int64_t inner, bool reverse) {
  using Acc = sum_acc_t<T>;
  parallel_for(outer, outer * n * inner, [&](int64_t begin, int64_t end) {
    std::vector<Acc> acc(static_cast<size_t>(inner));
    for (int64_t o = begin; o < end; ++o) {
      std::fill(acc.begin(), acc.end(), Acc(0));
      for (int64_t k = 0; k < n; ++k) {
        const int64_t at = (o * n + (reverse ? n - 1 - k : k)) * inner;
        for (int64_t i = 0; i < inner; ++i) {
          acc[size_t(i)] += Acc(x[at + i]);
          out[at + i] = T(acc[size_t(i)]);
        }
      }
    }
  });
}

}  // namespace cpu
}  // namespace ember
