// Indexing along a dimension: index_select / index_add, gather / scatter_add, masked_fill,
// one_hot.
//
// Gradient contract: each selecting op has an accumulating partner that is its adjoint, and
// each one's rule is the other one, so create_graph gives second derivatives:
//   index_select(x)        grad x = index_add(zeros, g)
//   index_add(x, src)      grad x = g, grad src = index_select(g)
//   gather(x)              grad x = scatter_add(zeros, g)
//   scatter_add(x, src)    grad x = g, grad src = gather(g) (zero outside index's shape)
//
// Index tensors are int64 or int32. Every index is bounds-checked (serially, before the
// parallel kernel, because an exception cannot leave an OpenMP region) and a bad one throws
// ember::Error naming the op, the value, the dimension size and the shapes. Negative indices
// are rejected, as in torch.gather.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include <ember/backend/indexing.hpp>
#include <ember/core/tensor.hpp>

namespace ember {

template <class T, class I>
Tensor<T> index_add(const Tensor<T>& x, int64_t dim, const Tensor<I>& index,
                    const Tensor<T>& source);
template <class T, class I>
Tensor<T> scatter_add(const Tensor<T>& x, int64_t dim, const Tensor<I>& index,
                      const Tensor<T>& src);

namespace detail {

template <class I>
inline constexpr bool is_index_type_v = std::is_same_v<I, int64_t> || std::is_same_v<I, int32_t>;

// Throws unless every element of `index` is in [0, size) (an index on a CUDA device is read
// from a host copy, with the same errors).
template <class I>
void check_index_bounds(const Tensor<I>& index, int64_t size, const char* op, int64_t dim,
                        const Shape& input_shape) {
  static_assert(is_index_type_v<I>, "index tensors must be int64 or int32");
  int64_t v = 0;
  if (backend::find_out_of_bounds(index, size, v))
    fail(op, ": index ", v, " is out of bounds for dimension ", dim, " with size ", size,
         " (input shape ", shape_str(input_shape), ", index shape ", shape_str(index.shape()), ")");
}

// A 1-D (or 0-d) index for dimension `dim` of a tensor of shape `shape`, broadcast over the
// other dimensions, so index_select / index_add can run as gather / scatter_add.
template <class I>
Tensor<I> broadcast_index(const Tensor<I>& index, const Shape& shape, int64_t dim) {
  Shape s(shape.size(), 1);
  s[dim] = index.numel();
  return index.detach().reshape(s).expand(shape);
}

template <class I>
void check_index_vector(const Tensor<I>& index, const char* op, const Shape& input_shape) {
  static_assert(is_index_type_v<I>, "index tensors must be int64 or int32");
  EMBER_CHECK(index.defined(), op, ": index is undefined");
  EMBER_CHECK(index.dim() <= 1, op, ": index must be 0-D or 1-D, got shape ",
              shape_str(index.shape()), " (input shape ", shape_str(input_shape), ")");
}

}  // namespace detail

// out[..., j, ...] = x[..., index[j], ...] along `dim`. Like torch.index_select.
template <class T, class I>
Tensor<T> index_select(const Tensor<T>& x, int64_t dim, const Tensor<I>& index) {
  EMBER_CHECK(x.dim() > 0,
              "index_select: expected an input with at least one dimension, got shape ",
              shape_str(x.shape()));
  dim = wrap_dim(dim, x.dim(), "index_select");
  detail::check_index_vector(index, "index_select", x.shape());
  detail::check_index_bounds(index, x.shape()[dim], "index_select", dim, x.shape());
  Shape out_shape = x.shape();
  out_shape[dim] = index.numel();
  Tensor<T> out =
      backend::gather(x, dim, detail::broadcast_index(index, out_shape, dim), "index_select");
  if constexpr (is_differentiable_v<T>) {
    if (any_requires_grad(x))
      record(out, "index_select", {x}, [index, in = x.shape(), dim](const Tensor<T>& g) -> Grads {
        return {index_add(Tensor<T>::zeros(in, g.device()), dim, index, g)};
      });
  }
  return out;
}

// out = x, then out[..., index[j], ...] += source[..., j, ...] along `dim` (repeated indices
// accumulate). Like torch.index_add (without alpha).
template <class T, class I>
Tensor<T> index_add(const Tensor<T>& x, int64_t dim, const Tensor<I>& index,
                    const Tensor<T>& source) {
  EMBER_CHECK(x.dim() > 0, "index_add: expected an input with at least one dimension, got shape ",
              shape_str(x.shape()));
  dim = wrap_dim(dim, x.dim(), "index_add");
  detail::check_index_vector(index, "index_add", x.shape());
  bool ok = source.dim() == x.dim() && source.shape()[dim] == index.numel();
  for (int64_t d = 0; ok && d < x.dim(); ++d) ok = d == dim || source.shape()[d] == x.shape()[d];
  EMBER_CHECK(ok, "index_add: source must have the input's shape except in dimension ", dim,
              ", where it needs the index's length ", index.numel(), "; got input shape ",
              shape_str(x.shape()), ", source shape ", shape_str(source.shape()), ", index shape ",
              shape_str(index.shape()));
  detail::check_index_bounds(index, x.shape()[dim], "index_add", dim, x.shape());
  Tensor<T> out = backend::scatter_add(x, dim, detail::broadcast_index(index, source.shape(), dim),
                                       source, "index_add");
  if constexpr (is_differentiable_v<T>) {
    if (any_requires_grad(x, source))
      record(out, "index_add", {x, source},
             [index, dim, wx = x.requires_grad(),
              ws = source.requires_grad()](const Tensor<T>& g) -> Grads {
               return {wx ? AnyTensor(g) : AnyTensor(),
                       ws ? AnyTensor(index_select(g, dim, index)) : AnyTensor()};
             });
  }
  return out;
}

// out[a][k][b] = x[a][index[a][k][b]][b] for dim = 1 (and likewise for any dim). index has the
// input's rank and is no larger than it outside `dim`; out has index's shape. Like torch.gather.
template <class T, class I>
Tensor<T> gather(const Tensor<T>& x, int64_t dim, const Tensor<I>& index) {
  static_assert(detail::is_index_type_v<I>, "gather: index tensors must be int64 or int32");
  EMBER_CHECK(index.defined(), "gather: index is undefined");
  dim = wrap_dim(dim, x.dim(), "gather");
  if (x.dim() == 0) {  // a scalar behaves as shape [1]
    EMBER_CHECK(index.dim() == 0, "gather: index must be 0-D for a 0-D input, got shape ",
                shape_str(index.shape()));
    return gather(x.reshape({1}), 0, index.reshape({1})).reshape({});
  }
  bool ok = index.dim() == x.dim();
  for (int64_t d = 0; ok && d < x.dim(); ++d) ok = d == dim || index.shape()[d] <= x.shape()[d];
  EMBER_CHECK(ok,
              "gather: index must have the input's rank and be no larger than it outside "
              "dimension ",
              dim, "; got input shape ", shape_str(x.shape()), ", index shape ",
              shape_str(index.shape()));
  detail::check_index_bounds(index, x.shape()[dim], "gather", dim, x.shape());
  Tensor<T> out = backend::gather(x, dim, index, "gather");
  if constexpr (is_differentiable_v<T>) {
    if (any_requires_grad(x))
      record(out, "gather", {x}, [index, in = x.shape(), dim](const Tensor<T>& g) -> Grads {
        return {scatter_add(Tensor<T>::zeros(in, g.device()), dim, index, g)};
      });
  }
  return out;
}

// out = x, then out[a][index[a][k][b]][b] += src[a][k][b] for dim = 1 (repeated indices
// accumulate). index has the rank of x and src, is no larger than src anywhere and no larger
// than x outside `dim`; src elements outside index's shape are unused. Like torch.scatter_add.
template <class T, class I>
Tensor<T> scatter_add(const Tensor<T>& x, int64_t dim, const Tensor<I>& index,
                      const Tensor<T>& src) {
  static_assert(detail::is_index_type_v<I>, "scatter_add: index tensors must be int64 or int32");
  EMBER_CHECK(index.defined(), "scatter_add: index is undefined");
  dim = wrap_dim(dim, x.dim(), "scatter_add");
  if (x.dim() == 0) {
    EMBER_CHECK(index.dim() == 0 && src.dim() == 0,
                "scatter_add: index and src must be 0-D for a "
                "0-D input, got index shape ",
                shape_str(index.shape()), ", src shape ", shape_str(src.shape()));
    return scatter_add(x.reshape({1}), 0, index.reshape({1}), src.reshape({1})).reshape({});
  }
  bool ok = index.dim() == x.dim() && src.dim() == x.dim();
  for (int64_t d = 0; ok && d < x.dim(); ++d)
    ok = index.shape()[d] <= src.shape()[d] && (d == dim || index.shape()[d] <= x.shape()[d]);
  EMBER_CHECK(ok,
              "scatter_add: index must have the rank of input and src, be no larger than src, "
              "and no larger than input outside dimension ",
              dim, "; got input shape ", shape_str(x.shape()), ", index shape ",
              shape_str(index.shape()), ", src shape ", shape_str(src.shape()));
  detail::check_index_bounds(index, x.shape()[dim], "scatter_add", dim, x.shape());
  Tensor<T> out = backend::scatter_add(x, dim, index, src, "scatter_add");
  if constexpr (is_differentiable_v<T>) {
    if (any_requires_grad(x, src))
      record(out, "scatter_add", {x, src},
             [index, dim, src_shape = src.shape(), wx = x.requires_grad(),
              ws = src.requires_grad()](const Tensor<T>& g) -> Grads {
               AnyTensor gsrc;
               if (ws) {
                 Tensor<T> picked = gather(g, dim, index);
                 if (picked.shape() != src_shape) {  // src elements outside index's shape get zero
                   const Shape part = index.shape();
                   picked = detail::embed_into_zeros(picked, src_shape, [part](const Tensor<T>& z) {
                     Tensor<T> v = z;
                     for (int64_t d = 0; d < int64_t(part.size()); ++d) v = v.slice(d, 0, part[d]);
                     return v;
                   });
                 }
                 gsrc = picked;
               }
               return {wx ? AnyTensor(g) : AnyTensor(), gsrc};
             });
  }
  return out;
}

// x with `value` wherever mask (broadcast against x) is true. Like torch.masked_fill.
template <class T>
Tensor<T> masked_fill(const Tensor<T>& x, const Tensor<bool>& mask, std::type_identity_t<T> value) {
  EMBER_CHECK(mask.defined(), "masked_fill: mask is undefined");
  Tensor<T> out = backend::masked_fill(x, mask, T(value), "masked_fill");
  if constexpr (is_differentiable_v<T>) {
    if (any_requires_grad(x))
      record(out, "masked_fill", {x}, [mask, in = x.shape()](const Tensor<T>& g) -> Grads {
        return {sum_to(masked_fill(g, mask, T(0)), in)};
      });
  }
  return out;
}

// labels.shape + [num_classes] with a 1 at each label. num_classes < 0 means max(labels) + 1.
// For a float encoding: one_hot(labels, n).to<float>().
template <class I>
Tensor<int64_t> one_hot(const Tensor<I>& labels, int64_t num_classes = -1) {
  static_assert(detail::is_index_type_v<I>, "one_hot: labels must be int64 or int32");
  // Encoded on the host (labels on a CUDA device are copied: the bounds check reads them there
  // anyway), and the result goes back to the labels' device.
  const Tensor<I> lc = labels.detach().to(Device::cpu()).contiguous();
  const I* p = lc.data_ptr();
  if (num_classes < 0) {
    EMBER_CHECK(lc.numel() > 0, "one_hot: cannot infer num_classes from empty labels of shape ",
                shape_str(labels.shape()), "; pass num_classes");
    num_classes = int64_t(*std::max_element(p, p + lc.numel())) + 1;
  }
  detail::check_index_bounds(lc, num_classes, "one_hot", labels.dim(), labels.shape());
  return backend::one_hot(lc, num_classes).to(labels.device());
}

}  // namespace ember
