// Sums and means over dimensions, and sum_to (the gradient of broadcasting); the kernels are
// in backend/reduce.hpp. Other reductions (var, std, max, min, logsumexp, argmax, argmin) are
// in ops/reduce_more.hpp.
#pragma once

#include <type_traits>
#include <vector>

#include <ember/backend/reduce.hpp>
#include <ember/core/tensor_class.hpp>
#include <ember/ops/arith.hpp>

namespace ember {

namespace detail {

// The inverse of a reduction's shape change: puts size-1 dims back where keepdim would have.
inline Shape keepdim_shape(const Shape& in, const std::vector<int64_t>& rdims) {
  return reduced_shape(in, rdims, true);
}

}  // namespace detail

// Sum over dims (all when empty). float sums accumulate in double, integer and bool sums in
// int64.
template <class T>
Tensor<T> sum(const Tensor<T>& x, const std::vector<int64_t>& dims = {}, bool keepdim = false) {
  const auto rdims = reduction_dims(dims, x.dim(), "sum");
  Tensor<T> out = backend::sum(x, rdims, keepdim, "sum");
  if constexpr (is_differentiable_v<T>) {
    if (any_requires_grad(x))
      record(out, "sum", {x}, [in = x.shape(), rdims](const Tensor<T>& g) -> Grads {
        return {g.reshape(detail::keepdim_shape(in, rdims)).expand(in)};
      });
  }
  return out;
}

// Mean over dims (all when empty); NaN over 0 elements.
template <class T>
Tensor<T> mean(const Tensor<T>& x, const std::vector<int64_t>& dims = {}, bool keepdim = false) {
  static_assert(is_differentiable_v<T>, "mean: needs a floating-point or complex tensor");
  const auto rdims = reduction_dims(dims, x.dim(), "mean");
  int64_t count = 1;
  for (int64_t d : rdims) count *= x.shape()[d];
  Tensor<T> out = backend::mean(x, rdims, keepdim, "mean");
  if (any_requires_grad(x)) {
    record(out, "mean", {x}, [in = x.shape(), rdims, count](const Tensor<T>& g) -> Grads {
      return {mul(g, T(1) / T(real_t<T>(count))).reshape(detail::keepdim_shape(in, rdims)).expand(in)};
    });
  }
  return out;
}

// Sums t down to `shape` (which t's shape broadcasts from): the gradient of broadcasting.
template <class T>
Tensor<T> sum_to(const Tensor<T>& t, const Shape& shape) {
  if (t.shape() == shape) return t;
  const int64_t lead = t.dim() - int64_t(shape.size());
  EMBER_CHECK(lead >= 0, "sum_to: cannot reduce shape ", shape_str(t.shape()), " to ", shape_str(shape));
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < t.dim(); ++d) {
    if (d < lead) dims.push_back(d);
    else if (shape[d - lead] == 1 && t.shape()[d] != 1) dims.push_back(d);
    else
      EMBER_CHECK(shape[d - lead] == t.shape()[d], "sum_to: cannot reduce shape ",
                  shape_str(t.shape()), " to ", shape_str(shape));
  }
  if (dims.empty()) return t.reshape(shape);
  return sum(t, dims, true).reshape(shape);
}

}  // namespace ember
