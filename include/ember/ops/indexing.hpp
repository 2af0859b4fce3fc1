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
#include <array>
#include <cstdint>
#include <ember/backend/cpu/elementwise.hpp>
#include <ember/backend/cpu/loops.hpp>
#include <ember/backend/cpu/parallel.hpp>
#include <ember/backend/cuda/dispatch_indexing.hpp>
#include <ember/core/tensor.hpp>
#include <type_traits>
#include <vector>

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

// Throws unless every element of `index` is in [0, size). Serial and strided (an expanded index
// is not copied).
template <class I>
void check_index_bounds(const Tensor<I>& index, int64_t size, const char* op, int64_t dim,
                        const Shape& input_shape) {
  static_assert(is_index_type_v<I>, "index tensors must be int64 or int32");
  if (index.device().is_cuda()) {  // CUDA: checked on a host copy (the same errors)
    check_index_bounds(index.detach().to(Device::cpu()), size, op, dim, input_shape);
    return;
  }
  check_cpu(index.device(), op);
  if (index.numel() == 0) return;
  const cpu::Layout<1> L = cpu::coalesce<1>(index.shape(), {index.strides()});
  const int nd = int(L.shape.size());
  const I* p = index.data_ptr();
  std::vector<int64_t> pos(size_t(nd), 0);
  int64_t off = 0;
  for (int64_t n = index.numel(); n > 0; n -= L.shape[nd - 1]) {
    const int64_t inner = L.shape[nd - 1], st = L.strides[0][nd - 1];
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t v = int64_t(p[off + i * st]);
      if (v < 0 || v >= size)
        fail(op, ": index ", v, " is out of bounds for dimension ", dim, " with size ", size,
             " (input shape ", shape_str(input_shape), ", index shape ", shape_str(index.shape()),
             ")");
    }
    for (int d = nd - 2; d >= 0; --d) {  // next row
      off += L.strides[0][d];
      if (++pos[d] < L.shape[d]) break;
      off -= pos[d] * L.strides[0][d];
      pos[d] = 0;
    }
  }
}

// The kernel behind all four index ops. Walks every position of `shape` (the index's shape):
// at position (a, k, b) with k along `dim`, it hands f the element of the "k side" tensor at
// (a, k, b) and the element of the "target" tensor at (a, index[a, k, b], b):
//   gather:      f(out_elem, x_elem)   { out_elem = x_elem; }
//   scatter_add: f(src_elem, out_elem) { out_elem += src_elem; }
// Work is split over positions (a, b) (and chunks of the innermost of them), never over k, so
// each thread owns whole target fibers: accumulation is race-free and, since every element's
// sum runs in increasing k, bit-identical for any thread count. The target must not alias
// itself across (a, b) (it is a fresh contiguous tensor wherever it is written).
template <class T, class I, class F>
void index_along_dim(const Shape& shape, int64_t dim, const I* idx, const Shape& idx_st, T* kside,
                     const Shape& k_st, T* target, const Shape& t_st, F f) {
  int64_t numel = 1;
  for (int64_t s : shape) numel *= s;
  if (numel == 0) return;
  const int64_t K = shape[dim];
  Shape rest;
  std::array<Shape, 3> rest_st;
  for (int64_t d = 0; d < int64_t(shape.size()); ++d) {
    if (d == dim) continue;
    rest.push_back(shape[d]);
    rest_st[0].push_back(idx_st[d]);
    rest_st[1].push_back(k_st[d]);
    rest_st[2].push_back(t_st[d]);
  }
  const cpu::Layout<3> L = cpu::coalesce<3>(rest, rest_st);
  const int nd = int(L.shape.size());
  const int64_t M = L.shape[nd - 1];
  const int64_t outer = numel / K / M;
  const int64_t is_k = idx_st[dim], ks_k = k_st[dim], ts_k = t_st[dim];
  const int64_t is_m = L.strides[0][nd - 1], ks_m = L.strides[1][nd - 1],
                ts_m = L.strides[2][nd - 1];
  // Loop order follows memory: k outermost when the innermost rest dim is unit-stride in the
  // tensors (index_select / embedding-style rows), else each fiber's k loop innermost.
  const bool k_outer = M > 1 && (ts_m == 1 || ks_m == 1);
  const int64_t want_tasks = 4 * int64_t(cpu::max_threads());
  int64_t chunk = M;
  if (outer < want_tasks && M > 64)
    chunk = std::max<int64_t>(64, (M * outer + want_tasks - 1) / want_tasks);
  const int64_t chunks = (M + chunk - 1) / chunk;

  cpu::parallel_for(outer * chunks, numel, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      int64_t o = task / chunks;
      const int64_t i0 = (task % chunks) * chunk, i1 = std::min(M, i0 + chunk);
      int64_t io = 0, ko = 0, to = 0;
      for (int d = nd - 2; d >= 0; --d) {
        const int64_t c = o % L.shape[d];
        o /= L.shape[d];
        io += c * L.strides[0][d];
        ko += c * L.strides[1][d];
        to += c * L.strides[2][d];
      }
      if (k_outer) {
        for (int64_t k = 0; k < K; ++k)
          for (int64_t i = i0; i < i1; ++i)
            f(kside[ko + k * ks_k + i * ks_m],
              target[to + int64_t(idx[io + k * is_k + i * is_m]) * ts_k + i * ts_m]);
      } else {
        for (int64_t i = i0; i < i1; ++i)
          for (int64_t k = 0; k < K; ++k)
            f(kside[ko + k * ks_k + i * ks_m],
              target[to + int64_t(idx[io + k * is_k + i * is_m]) * ts_k + i * ts_m]);
      }
    }
  });
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
  const bool on_cuda = cuda::use_cuda("index_select", x, index);
  if (!on_cuda) check_cpu(x.device(), "index_select");
  EMBER_CHECK(x.dim() > 0,
              "index_select: expected an input with at least one dimension, got shape ",
              shape_str(x.shape()));
  dim = wrap_dim(dim, x.dim(), "index_select");
  detail::check_index_vector(index, "index_select", x.shape());
  detail::check_index_bounds(index, x.shape()[dim], "index_select", dim, x.shape());
  Shape out_shape = x.shape();
  out_shape[dim] = index.numel();
  Tensor<T> out = Tensor<T>::empty(out_shape, x.device());
  const Tensor<I> idx = detail::broadcast_index(index, out_shape, dim);
  if (on_cuda)
    cuda::gather_along_dim(out_shape, dim, idx, out, x, "index_select");
  else
    detail::index_along_dim(out_shape, dim, idx.data_ptr(), idx.strides(), out.data_ptr(),
                            out.strides(), x.data_ptr(), x.strides(),
                            [](T& o, const T& v) { o = v; });
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
  const bool on_cuda = cuda::use_cuda("index_add", x, source, index);
  if (!on_cuda) check_same_device(x, source, "index_add");
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
  Tensor<T> out = x.detach().clone();
  const Tensor<I> idx = detail::broadcast_index(index, source.shape(), dim);
  if (on_cuda)
    cuda::scatter_add_along_dim(source.shape(), dim, idx, source, out, "index_add");
  else
    detail::index_along_dim(source.shape(), dim, idx.data_ptr(), idx.strides(), source.data_ptr(),
                            source.strides(), out.data_ptr(), out.strides(),
                            [](const T& s, T& o) { o += s; });
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
  const bool on_cuda = cuda::use_cuda("gather", x, index);
  if (!on_cuda) check_cpu(x.device(), "gather");
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
  Tensor<T> out = Tensor<T>::empty(index.shape(), x.device());
  if (on_cuda)
    cuda::gather_along_dim(index.shape(), dim, index, out, x, "gather");
  else
    detail::index_along_dim(index.shape(), dim, index.data_ptr(), index.strides(), out.data_ptr(),
                            out.strides(), x.data_ptr(), x.strides(),
                            [](T& o, const T& v) { o = v; });
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
  const bool on_cuda = cuda::use_cuda("scatter_add", x, src, index);
  if (!on_cuda) check_same_device(x, src, "scatter_add");
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
  Tensor<T> out = x.detach().clone();
  if (on_cuda)
    cuda::scatter_add_along_dim(index.shape(), dim, index, src, out, "scatter_add");
  else
    detail::index_along_dim(index.shape(), dim, index.data_ptr(), index.strides(), src.data_ptr(),
                            src.strides(), out.data_ptr(), out.strides(),
                            [](const T& s, T& o) { o += s; });
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
  const bool on_cuda = cuda::use_cuda("masked_fill", x, mask);
  if (!on_cuda) check_cpu(x.device(), "masked_fill");
  EMBER_CHECK(mask.defined(), "masked_fill: mask is undefined");
  if (!on_cuda) check_cpu(mask.device(), "masked_fill");
  Tensor<T> out =
      on_cuda ? cuda::masked_fill(x, mask, T(value), "masked_fill")
              : cpu::map_binary<T>(x, mask, "masked_fill",
                                   [value](T v, bool m) { return m ? value : v; });
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
  // CUDA labels: encoded from a host copy (the bounds check reads them there anyway), and the
  // result goes back to their device.
  const bool on_cuda = cuda::use_cuda("one_hot", labels);
  const Tensor<I> lc = (on_cuda ? labels.detach().to(Device::cpu()) : labels.detach()).contiguous();
  const I* p = lc.data_ptr();
  if (num_classes < 0) {
    EMBER_CHECK(lc.numel() > 0, "one_hot: cannot infer num_classes from empty labels of shape ",
                shape_str(labels.shape()), "; pass num_classes");
    num_classes = int64_t(*std::max_element(p, p + lc.numel())) + 1;
  }
  detail::check_index_bounds(lc, num_classes, "one_hot", labels.dim(), labels.shape());
  Shape shape = labels.shape();
  shape.push_back(num_classes);
  Tensor<int64_t> out = Tensor<int64_t>::zeros(shape);
  int64_t* o = out.data_ptr();
  for (int64_t i = 0; i < lc.numel(); ++i) o[i * num_classes + int64_t(p[i])] = 1;
  return on_cuda ? out.to(labels.device()) : out;
}

}  // namespace ember
