// More reductions: var, std, max / min, amax / amin, argmax / argmin, logsumexp.
//
// Forward passes are cpu::reduce with a Reducer (see backend/cpu/reduce.hpp). Gradients:
//   var:        g * 2 (x - mean(x)) / (n - correction), from differentiable ops;
//   std:        g * (x - mean(x)) / ((n - correction) * std);
//   max(x, dim) / min(x, dim): g goes to the one index returned (the first occurrence of the
//               extreme value, as PyTorch's max(dim) does);
//   max(x) / min(x) (all elements) and amax / amin: g is split evenly among tied elements,
//               as PyTorch does for these;
//   logsumexp:  g * softmax(x) over the reduced dims.
// All rules are differentiable, so second derivatives work.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include <ember/backend/cpu/elementwise.hpp>
#include <ember/backend/cpu/reduce.hpp>
#include <ember/backend/cuda/dispatch.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/arith.hpp>
#include <ember/ops/reduce.hpp>
#include <ember/ops/softmax.hpp>

namespace ember {

struct VarOptions {
  int64_t correction = 1;  // divide by n - correction: 1 is Bessel's (unbiased), 0 the population
  bool keepdim = false;
};

// What max_with_indices / min_with_indices return (PyTorch's torch.return_types.max).
template <class T>
struct ValuesIndices {
  Tensor<T> values;
  Tensor<int64_t> indices;
};

namespace detail {

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

template <class T>
Tensor<T> scatter_picked(const Tensor<T>& g, const Tensor<int64_t>& idx, const Shape& in_shape,
                         const std::vector<int64_t>& rdims);

// src's elements picked by idx (shape: src's keepdim reduction over rdims). Its gradient
// scatters back, and the scatter's gradient picks again: second derivatives work.
template <class T>
Tensor<T> gather_picked(const Tensor<T>& src, const Tensor<int64_t>& idx,
                        const std::vector<int64_t>& rdims) {
  Tensor<T> out;
  if (cuda::use_cuda("gather_picked", src, idx)) {  // CUDA: one reduced dim (max(x, dim))
    EMBER_CHECK(rdims.size() == 1, "gather_picked: CUDA handles one reduced dim, got ",
                rdims.size());
    out = cuda::pick_dim(src, idx, rdims[0], "gather_picked");
  } else {
    out = Tensor<T>::empty(idx.shape(), src.device());
    const std::vector<int64_t> off =
        picked_offsets(src.shape(), src.strides(), rdims, idx.data_ptr(), idx.numel());
    const T* s = src.data_ptr();
    T* o = out.data_ptr();
    for (int64_t j = 0; j < idx.numel(); ++j) o[j] = s[off[size_t(j)]];
  }
  if (any_requires_grad(src))
    record(out, "gather_picked", {src},
           [idx, in_shape = src.shape(), rdims](const Tensor<T>& g) -> Grads {
             return {scatter_picked(g, idx, in_shape, rdims)};
           });
  return out;
}

// Zeros of in_shape with g (keepdim shape) written at the positions idx picks.
template <class T>
Tensor<T> scatter_picked(const Tensor<T>& g, const Tensor<int64_t>& idx, const Shape& in_shape,
                         const std::vector<int64_t>& rdims) {
  Tensor<T> out;
  if (cuda::use_cuda("scatter_picked", g, idx)) {
    EMBER_CHECK(rdims.size() == 1, "scatter_picked: CUDA handles one reduced dim, got ",
                rdims.size());
    out = cuda::place_dim(g, idx, in_shape, rdims[0], "scatter_picked");
  } else {
    out = Tensor<T>::zeros(in_shape, g.device());
    const Tensor<T> gc = g.contiguous();
    const std::vector<int64_t> off =
        picked_offsets(in_shape, out.strides(), rdims, idx.data_ptr(), idx.numel());
    T* o = out.data_ptr();
    for (int64_t j = 0; j < idx.numel(); ++j) o[off[size_t(j)]] = gc.data_ptr()[j];
  }
  if (any_requires_grad(g))
    record(out, "scatter_picked", {g},
           [idx, rdims](const Tensor<T>& gg) -> Grads { return {gather_picked(gg, idx, rdims)}; });
  return out;
}

template <class T>
void check_nonempty_reduction(const Tensor<T>& x, const std::vector<int64_t>& rdims,
                              const char* op) {
  for (int64_t d : rdims)
    EMBER_CHECK(x.shape()[d] > 0, op, ": cannot reduce over dimension ", d, " of size 0 (shape ",
                shape_str(x.shape()), "): the result has no identity");
}

// Values and first-occurrence indices of the max (Max) or min along one dim.
template <class T, bool Max>
ValuesIndices<T> extreme_with_indices(const Tensor<T>& x, int64_t dim, bool keepdim,
                                      const char* op) {
  static_assert(!is_complex_v<T>, "max / min: complex numbers have no order");
  const bool on_cuda = cuda::use_cuda(op, x);
  if (!on_cuda) check_cpu(x.device(), op);
  const std::vector<int64_t> rdims = reduction_dims({wrap_dim(dim, x.dim(), op)}, x.dim(), op);
  check_nonempty_reduction(x, rdims, op);
  Tensor<int64_t> idx;
  Tensor<T> picked;  // keepdim shape
  if (on_cuda) {  // one kernel gives the values and their indices
    cuda::reduce_arg(Max ? cuda::ReduceOp::ArgMax : cuda::ReduceOp::ArgMin, x, rdims, true, picked,
                     idx, op);
  } else {
    idx = cpu::reduce<int64_t>(x, rdims, true, ArgReducer<T, Max>{});
    picked = gather_picked(x.detach(), idx, rdims);
  }
  const Shape keep = idx.shape(), out_shape = reduced_shape(x.shape(), rdims, keepdim);
  Tensor<T> values = picked.view(out_shape);
  if constexpr (is_differentiable_v<T>) {
    if (any_requires_grad(x))
      record(values, op, {x},
             [idx, keep, in_shape = x.shape(), rdims](const Tensor<T>& g) -> Grads {
               return {scatter_picked(g.reshape(keep), idx, in_shape, rdims)};
             });
  }
  return {values, keepdim ? idx : idx.view(out_shape)};
}

// amax / amin: the gradient is split evenly among the elements equal to the result.
template <class T, bool Max>
Tensor<T> extreme_values(const Tensor<T>& x, const std::vector<int64_t>& dims, bool keepdim,
                         const char* op) {
  static_assert(!is_complex_v<T>, "max / min: complex numbers have no order");
  const bool on_cuda = cuda::use_cuda(op, x);
  if (!on_cuda) check_cpu(x.device(), op);
  const std::vector<int64_t> rdims = reduction_dims(dims, x.dim(), op);
  check_nonempty_reduction(x, rdims, op);
  Tensor<T> out =
      on_cuda ? cuda::reduce_values(Max ? cuda::ReduceOp::Max : cuda::ReduceOp::Min, x, rdims,
                                    keepdim, 0, op)
              : cpu::reduce<T>(x, rdims, keepdim, ExtremeReducer<T, Max>{});
  if constexpr (is_differentiable_v<T>) {
    if (any_requires_grad(x)) {
      const Shape keep = reduced_shape(x.shape(), rdims, true);
      record(out, op, {x},
             [x, m = out.detach().reshape(keep), rdims, keep](const Tensor<T>& g) -> Grads {
               Tensor<T> share;  // 1 / (number of ties) at the tied elements, 0 elsewhere: no graph
               if (x.device().is_cuda()) {
                 NoGradGuard no_grad;
                 const Tensor<T> hit = cuda::binary(cuda::BinaryOp::EqMask, x.detach(), m, "amax");
                 share = cuda::binary(cuda::BinaryOp::DivOrZero, hit, sum(hit, rdims, true),
                                      "amax");
               } else {
                 NoGradGuard no_grad;
                 const Tensor<T> hit = cpu::map_binary<T>(
                     x.detach(), m, "amax", [](T a, T b) { return a == b ? T(1) : T(0); });
                 const Tensor<T> count = sum(hit, rdims, true);
                 share = cpu::map_binary<T>(hit, count, "amax",
                                            [](T h, T c) { return c > T(0) ? h / c : T(0); });
               }
               return {mul(g.reshape(keep), share)};
             });
    }
  }
  return out;
}

// softmax over several dims (the gradient of logsumexp), from differentiable ops.
template <class T>
Tensor<T> softmax_over(const Tensor<T>& x, const std::vector<int64_t>& rdims) {
  if (x.dim() == 0) return softmax(x.reshape({1}), 0).reshape({});
  if (rdims.size() == 1) return softmax(x, rdims[0]);
  std::vector<int64_t> perm, inverse(size_t(x.dim()));
  Shape flat;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (!std::binary_search(rdims.begin(), rdims.end(), d)) {
      perm.push_back(d);
      flat.push_back(x.shape()[d]);
    }
  perm.insert(perm.end(), rdims.begin(), rdims.end());
  flat.push_back(-1);
  for (size_t i = 0; i < perm.size(); ++i) inverse[size_t(perm[i])] = int64_t(i);
  const Tensor<T> xp = x.permute(perm);
  return softmax(xp.reshape(flat), -1).reshape(xp.shape()).permute(inverse);
}

}  // namespace detail

// Variance over dims (all when empty), divided by n - correction.
template <class T>
Tensor<T> var(const Tensor<T>& x, const std::vector<int64_t>& dims = {}, VarOptions opt = {}) {
  static_assert(std::is_floating_point_v<T>, "var: needs a float or double tensor");
  const bool on_cuda = cuda::use_cuda("var", x);
  if (!on_cuda) check_cpu(x.device(), "var");
  const std::vector<int64_t> rdims = reduction_dims(dims, x.dim(), "var");
  Tensor<T> out =
      on_cuda
          ? cuda::reduce_values(cuda::ReduceOp::Var, x, rdims, opt.keepdim, opt.correction, "var")
          : cpu::reduce<T>(x, rdims, opt.keepdim,
                           detail::VarReducer<T>{.correction = opt.correction});
  if (any_requires_grad(x)) {
    int64_t n = 1;
    for (int64_t d : rdims) n *= x.shape()[d];
    record(out, "var", {x}, [x, rdims, n, c = opt.correction](const Tensor<T>& g) -> Grads {
      const Tensor<T> xc = sub(x, mean(x, rdims, true));
      return {mul(g.reshape(detail::keepdim_shape(x.shape(), rdims)), mul(xc, T(2) / T(n - c)))};
    });
  }
  return out;
}

// Standard deviation: sqrt(var(x, dims, opt)). Named as in PyTorch; after `using namespace
// ember` an unqualified std(x) is ambiguous with namespace std, so call it ember::std(x).
template <class T>
Tensor<T> std(const Tensor<T>& x, const std::vector<int64_t>& dims = {}, VarOptions opt = {}) {
  static_assert(std::is_floating_point_v<T>, "std: needs a float or double tensor");
  const bool on_cuda = cuda::use_cuda("std", x);
  if (!on_cuda) check_cpu(x.device(), "std");
  const std::vector<int64_t> rdims = reduction_dims(dims, x.dim(), "std");
  Tensor<T> out =
      on_cuda
          ? cuda::reduce_values(cuda::ReduceOp::Std, x, rdims, opt.keepdim, opt.correction, "std")
          : cpu::reduce<T>(x, rdims, opt.keepdim,
                           detail::VarReducer<T>{.correction = opt.correction, .take_sqrt = true});
  if (any_requires_grad(x)) {
    int64_t n = 1;
    for (int64_t d : rdims) n *= x.shape()[d];
    const Shape keep = detail::keepdim_shape(x.shape(), rdims);
    record(out, "std", {x},
           [x, s = out.detach().reshape(keep), rdims, keep, n,
            c = opt.correction](const Tensor<T>& g) -> Grads {
             // Under create_graph the std in the denominator must itself be connected to x.
             const Tensor<T> sd =
                 GradMode::is_enabled() ? std(x, rdims, {.correction = c, .keepdim = true}) : s;
             const Tensor<T> xc = sub(x, mean(x, rdims, true));
             return {mul(div(g.reshape(keep), sd), mul(xc, T(1) / T(n - c)))};
           });
  }
  return out;
}

// Largest element (a 0-d tensor); the gradient is shared evenly among ties.
template <class T>
Tensor<T> max(const Tensor<T>& x) {
  return detail::extreme_values<T, true>(x, {}, false, "max");
}

template <class T>
Tensor<T> min(const Tensor<T>& x) {
  return detail::extreme_values<T, false>(x, {}, false, "min");
}

// Max along dim, with the index of its first occurrence (PyTorch's max(x, dim)).
template <class T>
ValuesIndices<T> max_with_indices(const Tensor<T>& x, int64_t dim, bool keepdim = false) {
  return detail::extreme_with_indices<T, true>(x, dim, keepdim, "max");
}

template <class T>
ValuesIndices<T> min_with_indices(const Tensor<T>& x, int64_t dim, bool keepdim = false) {
  return detail::extreme_with_indices<T, false>(x, dim, keepdim, "min");
}

// Max values along dim; the gradient goes to the first occurrence only.
template <class T>
Tensor<T> max(const Tensor<T>& x, int64_t dim, bool keepdim = false) {
  return max_with_indices(x, dim, keepdim).values;
}

template <class T>
Tensor<T> min(const Tensor<T>& x, int64_t dim, bool keepdim = false) {
  return min_with_indices(x, dim, keepdim).values;
}

// Max over dims (all when empty); the gradient is shared evenly among ties.
template <class T>
Tensor<T> amax(const Tensor<T>& x, const std::vector<int64_t>& dims = {}, bool keepdim = false) {
  return detail::extreme_values<T, true>(x, dims, keepdim, "amax");
}

template <class T>
Tensor<T> amin(const Tensor<T>& x, const std::vector<int64_t>& dims = {}, bool keepdim = false) {
  return detail::extreme_values<T, false>(x, dims, keepdim, "amin");
}

// Index of the first maximum along dim.
template <class T>
Tensor<int64_t> argmax(const Tensor<T>& x, int64_t dim, bool keepdim = false) {
  return max_with_indices(x.detach(), dim, keepdim).indices;
}

template <class T>
Tensor<int64_t> argmin(const Tensor<T>& x, int64_t dim, bool keepdim = false) {
  return min_with_indices(x.detach(), dim, keepdim).indices;
}

// Index of the first maximum of the flattened tensor (a 0-d tensor).
template <class T>
Tensor<int64_t> argmax(const Tensor<T>& x) {
  static_assert(!is_complex_v<T>, "argmax: complex numbers have no order");
  const bool on_cuda = cuda::use_cuda("argmax", x);
  if (!on_cuda) check_cpu(x.device(), "argmax");
  EMBER_CHECK(x.numel() > 0, "argmax: the input of shape ", shape_str(x.shape()), " is empty");
  if (on_cuda) {
    Tensor<T> values;
    Tensor<int64_t> indices;
    cuda::reduce_arg(cuda::ReduceOp::ArgMax, x, reduction_dims({}, x.dim(), "argmax"), false,
                     values, indices, "argmax");
    return indices;
  }
  return cpu::reduce<int64_t>(x, reduction_dims({}, x.dim(), "argmax"), false,
                              detail::ArgReducer<T, true>{});
}

template <class T>
Tensor<int64_t> argmin(const Tensor<T>& x) {
  static_assert(!is_complex_v<T>, "argmin: complex numbers have no order");
  const bool on_cuda = cuda::use_cuda("argmin", x);
  if (!on_cuda) check_cpu(x.device(), "argmin");
  EMBER_CHECK(x.numel() > 0, "argmin: the input of shape ", shape_str(x.shape()), " is empty");
  if (on_cuda) {
    Tensor<T> values;
    Tensor<int64_t> indices;
    cuda::reduce_arg(cuda::ReduceOp::ArgMin, x, reduction_dims({}, x.dim(), "argmin"), false,
                     values, indices, "argmin");
    return indices;
  }
  return cpu::reduce<int64_t>(x, reduction_dims({}, x.dim(), "argmin"), false,
                              detail::ArgReducer<T, false>{});
}

// log(sum(exp(x), dims)), computed without overflow; all dims when dims is empty.
template <class T>
Tensor<T> logsumexp(const Tensor<T>& x, const std::vector<int64_t>& dims = {},
                    bool keepdim = false) {
  static_assert(std::is_floating_point_v<T>, "logsumexp: needs a float or double tensor");
  const bool on_cuda = cuda::use_cuda("logsumexp", x);
  if (!on_cuda) check_cpu(x.device(), "logsumexp");
  const std::vector<int64_t> rdims = reduction_dims(dims, x.dim(), "logsumexp");
  Tensor<T> out =
      on_cuda ? cuda::reduce_values(cuda::ReduceOp::LogSumExp, x, rdims, keepdim, 0, "logsumexp")
              : cpu::reduce<T>(x, rdims, keepdim, detail::LogSumExpReducer<T>{});
  if (any_requires_grad(x)) {
    const Shape keep = reduced_shape(x.shape(), rdims, true);
    record(out, "logsumexp", {x},
           [x, lse = out.detach().reshape(keep), rdims, keep](const Tensor<T>& g) -> Grads {
             if (GradMode::is_enabled())
               return {mul(g.reshape(keep), detail::softmax_over(x, rdims))};
             if (x.device().is_cuda()) return {mul(g.reshape(keep), exp(sub(x.detach(), lse)))};
             const Tensor<T> p = cpu::map_binary<T>(x.detach(), lse, "logsumexp",
                                                    [](T v, T l) { return T(std::exp(v - l)); });
             return {mul(g.reshape(keep), p)};
           });
  }
  return out;
}

}  // namespace ember
