// Sorting along a dim: sort, argsort, topk. The kernels are in backend/sort.hpp (CPU:
// backend/cpu/sort.hpp; CUDA: cuda/ember/cuda/sort.cuh).
//
// Order: stable (equal elements keep their order, as torch.sort(..., stable=True); -0.0 and
// 0.0 are equal), NaN the largest value (last ascending, first descending), as PyTorch.
//
// Gradient contract: the values are x's elements at the returned indices, gather(x, dim,
// indices), so their gradient is gather's rule, scatter_add(zeros, dim, indices, g): g goes
// back to the positions it came from, and scatter_add's own rule (gather) gives second
// derivatives. The indices carry no gradient.
#pragma once

#include <cstdint>
#include <ember/backend/sort.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/indexing.hpp>
#include <ember/ops/reduce_more.hpp>  // ValuesIndices
#include <type_traits>

namespace ember {

namespace detail {

// The first k elements of every row along dim of x sorted stably (descending or not), with
// their positions; the values' rule scatters g back to those positions.
template <class T>
ValuesIndices<T> sorted_prefix(const Tensor<T>& x, int64_t dim, bool descending, int64_t k,
                               const char* op) {
  static_assert(!is_complex_v<T>, "sort / topk: complex numbers have no order");
  const int64_t d = wrap_dim(dim, x.dim(), op);
  if (x.dim() == 0) {  // a scalar sorts as shape [1]
    ValuesIndices<T> r = sorted_prefix(x.reshape({1}), 0, descending, k, op);
    if (k == 1) r = {r.values.reshape({}), r.indices.reshape({})};
    return r;
  }
  const int64_t n = x.shape()[size_t(d)];
  EMBER_CHECK(k >= 0 && k <= n, op, ": k must be in [0, ", n, "] (the size of dimension ", d,
              " of the input of shape ", shape_str(x.shape()), "), got ", k);
  auto [values, indices] = backend::sort(x, d, descending, k, op);
  if constexpr (is_differentiable_v<T>) {
    if (any_requires_grad(x))
      record(values, op, {x}, [indices, in = x.shape(), d](const Tensor<T>& g) -> Grads {
        return {scatter_add(Tensor<T>::zeros(in, g.device()), d, indices, g)};
      });
  }
  return {values, indices};
}

}  // namespace detail

// x sorted along dim, ascending (descending: largest first), and the int64 positions of the
// sorted elements along dim: values = gather(x, dim, indices). Like torch.sort(x, dim,
// descending, stable=True), NaN the largest value.
template <class T>
ValuesIndices<T> sort(const Tensor<T>& x, int64_t dim = -1, bool descending = false) {
  const int64_t n = x.dim() == 0 ? 1 : x.shape()[size_t(wrap_dim(dim, x.dim(), "sort"))];
  return detail::sorted_prefix(x, dim, descending, n, "sort");
}

// The positions that sort x along dim (sort(x, dim, descending).indices).
template <class T>
Tensor<int64_t> argsort(const Tensor<T>& x, int64_t dim = -1, bool descending = false) {
  return sort(x.detach(), dim, descending).indices;
}

// The k largest elements along dim (the k smallest when !largest), largest (smallest) first,
// and their int64 positions along dim; equal elements are taken in position order, NaN counts
// as the largest. Like torch.topk. sorted = false is accepted and returns the same sorted
// result (PyTorch leaves that order unspecified). 0 <= k <= the size of dim.
template <class T>
ValuesIndices<T> topk(const Tensor<T>& x, int64_t k, int64_t dim = -1, bool largest = true,
                      bool sorted = true) {
  (void)sorted;
  return detail::sorted_prefix(x, dim, largest, k, "topk");
}

}  // namespace ember
