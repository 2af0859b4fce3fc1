// More reductions: var, std, max / min, amax / amin, argmax / argmin, logsumexp, and the
// cumulative sum cumsum. The kernels are in backend/reduce.hpp (CPU Reducers:
// backend/cpu/reduce.hpp). Gradients:
//   var:        g * 2 (x - mean(x)) / (n - correction), from differentiable ops;
//   std:        g * (x - mean(x)) / ((n - correction) * std);
//   max(x, dim) / min(x, dim): g goes to the one index returned (the first occurrence of the
//               extreme value, as PyTorch's max(dim) does);
//   max(x) / min(x) (all elements) and amax / amin: g is split evenly among tied elements,
//               as PyTorch does for these;
//   logsumexp:  g * softmax(x) over the reduced dims;
//   cumsum:     the cumulative sum of g taken from the end of the dim (each input element
//               feeds every output at or after it).
// All rules are differentiable, so second derivatives work.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include <ember/backend/elementwise.hpp>
#include <ember/backend/reduce.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/arith.hpp>
#include <ember/ops/reduce.hpp>
#include <ember/ops/softmax.hpp>
#include <ember/ops/unary.hpp>

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

template <class T>
Tensor<T> scatter_picked(const Tensor<T>& g, const Tensor<int64_t>& idx, const Shape& in_shape,
                         const std::vector<int64_t>& rdims);

// src's elements picked by idx (shape: src's keepdim reduction over rdims; on CUDA one reduced
// dim). Its gradient scatters back, and the scatter's gradient picks again: second
// derivatives work.
template <class T>
Tensor<T> gather_picked(const Tensor<T>& src, const Tensor<int64_t>& idx,
                        const std::vector<int64_t>& rdims) {
  Tensor<T> out = backend::gather_picked(src, idx, rdims, "gather_picked");
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
  Tensor<T> out = backend::scatter_picked(g, idx, in_shape, rdims, "scatter_picked");
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
  const std::vector<int64_t> rdims = reduction_dims({wrap_dim(dim, x.dim(), op)}, x.dim(), op);
  check_nonempty_reduction(x, rdims, op);
  Tensor<T> values;
  const Tensor<int64_t> idx = backend::arg_reduce<Max>(x, rdims, keepdim, &values, op);
  if constexpr (is_differentiable_v<T>) {
    if (any_requires_grad(x))
      record(values, op, {x},
             [idx, keep = reduced_shape(x.shape(), rdims, true), in_shape = x.shape(),
              rdims](const Tensor<T>& g) -> Grads {
               return {scatter_picked(g.reshape(keep), idx.reshape(keep), in_shape, rdims)};
             });
  }
  return {values, idx};
}

// amax / amin: the gradient is split evenly among the elements equal to the result.
template <class T, bool Max>
Tensor<T> extreme_values(const Tensor<T>& x, const std::vector<int64_t>& dims, bool keepdim,
                         const char* op) {
  static_assert(!is_complex_v<T>, "max / min: complex numbers have no order");
  using backend::BinaryOp;
  const std::vector<int64_t> rdims = reduction_dims(dims, x.dim(), op);
  check_nonempty_reduction(x, rdims, op);
  Tensor<T> out = backend::reduce<Max ? backend::ReduceOp::Max : backend::ReduceOp::Min>(
      x, rdims, keepdim, 0, op);
  if constexpr (is_differentiable_v<T>) {
    if (any_requires_grad(x)) {
      const Shape keep = reduced_shape(x.shape(), rdims, true);
      record(out, op, {x},
             [x, m = out.detach().reshape(keep), rdims, keep, op](const Tensor<T>& g) -> Grads {
               // 1 / (number of ties) at the tied elements, 0 elsewhere: a constant (no graph).
               const Tensor<T> hit = backend::binary<BinaryOp::EqMask>(x.detach(), m, op);
               const Tensor<T> share = backend::binary<BinaryOp::DivOrZero>(
                   hit, backend::sum(hit, rdims, true, op), op);
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

// The cumulative sum along the wrapped dim d, from the start (or, reverse, from the end) of the
// dim. Linear, so its rule is the other direction's cumsum of g, itself recorded: gradients of
// any order.
template <class T>
Tensor<T> cumsum_along(const Tensor<T>& x, int64_t d, bool reverse) {
  Tensor<T> out = backend::cumsum(x, d, reverse, "cumsum");
  if (any_requires_grad(x))
    record(out, "cumsum", {x},
           [d, reverse](const Tensor<T>& g) -> Grads { return {cumsum_along(g, d, !reverse)}; });
  return out;
}

}  // namespace detail

// Variance over dims (all when empty), divided by n - correction.
template <class T>
Tensor<T> var(const Tensor<T>& x, const std::vector<int64_t>& dims = {}, VarOptions opt = {}) {
  static_assert(std::is_floating_point_v<T>, "var: needs a float or double tensor");
  const std::vector<int64_t> rdims = reduction_dims(dims, x.dim(), "var");
  Tensor<T> out =
      backend::reduce<backend::ReduceOp::Var>(x, rdims, opt.keepdim, opt.correction, "var");
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
  const std::vector<int64_t> rdims = reduction_dims(dims, x.dim(), "std");
  Tensor<T> out =
      backend::reduce<backend::ReduceOp::Std>(x, rdims, opt.keepdim, opt.correction, "std");
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
  EMBER_CHECK(x.numel() > 0, "argmax: the input of shape ", shape_str(x.shape()), " is empty");
  return backend::arg_reduce<true>(x, reduction_dims({}, x.dim(), "argmax"), false, nullptr,
                                   "argmax");
}

template <class T>
Tensor<int64_t> argmin(const Tensor<T>& x) {
  static_assert(!is_complex_v<T>, "argmin: complex numbers have no order");
  EMBER_CHECK(x.numel() > 0, "argmin: the input of shape ", shape_str(x.shape()), " is empty");
  return backend::arg_reduce<false>(x, reduction_dims({}, x.dim(), "argmin"), false, nullptr,
                                    "argmin");
}

// log(sum(exp(x), dims)), computed without overflow; all dims when dims is empty.
template <class T>
Tensor<T> logsumexp(const Tensor<T>& x, const std::vector<int64_t>& dims = {},
                    bool keepdim = false) {
  static_assert(std::is_floating_point_v<T>, "logsumexp: needs a float or double tensor");
  const std::vector<int64_t> rdims = reduction_dims(dims, x.dim(), "logsumexp");
  Tensor<T> out =
      backend::reduce<backend::ReduceOp::LogSumExp>(x, rdims, keepdim, 0, "logsumexp");
  if (any_requires_grad(x)) {
    const Shape keep = reduced_shape(x.shape(), rdims, true);
    record(out, "logsumexp", {x},
           [x, lse = out.detach().reshape(keep), rdims, keep](const Tensor<T>& g) -> Grads {
             if (GradMode::is_enabled())
               return {mul(g.reshape(keep), detail::softmax_over(x, rdims))};
             return {mul(g.reshape(keep), exp(sub(x.detach(), lse)))};  // softmax, from lse
           });
  }
  return out;
}

// out[..., j, ...] = x[..., 0, ...] + ... + x[..., j, ...] along dim (like torch.cumsum); a
// 0-d x is its own cumsum. Sums accumulate in double for float.
template <class T>
Tensor<T> cumsum(const Tensor<T>& x, int64_t dim) {
  static_assert(is_differentiable_v<T>, "cumsum: needs a floating-point or complex tensor");
  return detail::cumsum_along(x, wrap_dim(dim, x.dim(), "cumsum"), false);
}

}  // namespace ember
