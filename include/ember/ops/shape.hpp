// Joining and splitting: cat, stack, split, chunk, and the copies flip and repeat.
//
// Gradient contract: cat's rule hands each input the narrow of the output gradient that it
// filled; split and chunk return narrow views, whose gradients come from Tensor::slice;
// flip is its own inverse; repeat is built from reshape, expand and clone, so it needs no
// rule of its own. Every rule is made of differentiable ops, so create_graph works.
#pragma once

#include <algorithm>
#include <cstdint>
#include <ember/backend/shape.hpp>
#include <ember/core/tensor.hpp>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace ember {

// Concatenates tensors along `dim`; all shapes must agree except in `dim`.
template <class T>
Tensor<T> cat(const std::vector<Tensor<T>>& tensors, int64_t dim = 0) {
  EMBER_CHECK(!tensors.empty(), "cat: expected a non-empty list of tensors");
  const Tensor<T>& first = tensors[0];
  EMBER_CHECK(first.defined(), "cat: tensor 0 is undefined");
  EMBER_CHECK(first.dim() > 0, "cat: zero-dimensional tensor 0 cannot be concatenated");
  dim = wrap_dim(dim, first.dim(), "cat");
  Shape out_shape = first.shape();
  out_shape[dim] = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor<T>& t = tensors[i];
    EMBER_CHECK(t.defined(), "cat: tensor ", i, " is undefined");
    bool ok = t.dim() == first.dim();
    for (int64_t d = 0; ok && d < t.dim(); ++d) ok = d == dim || t.shape()[d] == first.shape()[d];
    if (!ok) {
      Shape want = first.shape();
      std::string pattern = "[";
      for (int64_t d = 0; d < first.dim(); ++d)
        pattern += (d ? ", " : "") + (d == dim ? std::string("*") : std::to_string(want[d]));
      fail("cat: along dimension ", dim, " every tensor must have shape ", pattern + "]",
           " (from tensor 0, shape ", shape_str(first.shape()), "), but tensor ", i, " has shape ",
           shape_str(t.shape()));
    }
    out_shape[dim] += t.shape()[dim];
  }

  Tensor<T> out = backend::cat(tensors, dim, out_shape, "cat");

  if constexpr (is_differentiable_v<T>) {
    const bool needs =
        GradMode::is_enabled() && std::any_of(tensors.begin(), tensors.end(),
                                              [](const Tensor<T>& t) { return t.requires_grad(); });
    if (needs) {
      std::vector<int64_t> sizes;
      std::vector<bool> wants;
      for (const Tensor<T>& t : tensors) {
        sizes.push_back(t.shape()[dim]);
        wants.push_back(t.requires_grad());
      }
      record(out, "cat", std::vector<AnyTensor>(tensors.begin(), tensors.end()), [sizes, wants, dim](const Tensor<T>& g) -> Grads {
        Grads grads;
        int64_t off = 0;
        for (size_t i = 0; i < sizes.size(); ++i) {
          grads.push_back(wants[i] ? AnyTensor(g.narrow(dim, off, sizes[i])) : AnyTensor());
          off += sizes[i];
        }
        return grads;
      });
    }
  }
  return out;
}

// Joins equally shaped tensors along a new dimension `dim` (in [-(d+1), d]).
template <class T>
Tensor<T> stack(const std::vector<Tensor<T>>& tensors, int64_t dim = 0) {
  EMBER_CHECK(!tensors.empty(), "stack: expected a non-empty list of tensors");
  EMBER_CHECK(tensors[0].defined(), "stack: tensor 0 is undefined");
  dim = wrap_dim(dim, tensors[0].dim() + 1, "stack");
  std::vector<Tensor<T>> expanded;
  expanded.reserve(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    EMBER_CHECK(tensors[i].defined(), "stack: tensor ", i, " is undefined");
    EMBER_CHECK(tensors[i].shape() == tensors[0].shape(),
                "stack: every tensor must have the same "
                "shape; tensor 0 has shape ",
                shape_str(tensors[0].shape()), " but tensor ", i, " has shape ",
                shape_str(tensors[i].shape()));
    expanded.push_back(tensors[i].unsqueeze(dim));
  }
  return cat(expanded, dim);
}

// Views of consecutive pieces of x along `dim`, of the given sizes (which must sum to the size
// of that dimension). Like torch.split_with_sizes.
template <class T>
std::vector<Tensor<T>> split_with_sizes(const Tensor<T>& x, const std::vector<int64_t>& sizes,
                                        int64_t dim = 0) {
  dim = wrap_dim(dim, x.dim(), "split");
  EMBER_CHECK(x.dim() > 0, "split: cannot split a zero-dimensional tensor");
  int64_t total = 0;
  for (int64_t s : sizes) {
    EMBER_CHECK(s >= 0, "split: sizes must be non-negative, got ", shape_str(sizes));
    total += s;
  }
  EMBER_CHECK(total == x.shape()[dim], "split: sizes ", shape_str(sizes), " sum to ", total,
              " but dimension ", dim, " of shape ", shape_str(x.shape()), " has size ",
              x.shape()[dim]);
  std::vector<Tensor<T>> out;
  int64_t offset = 0;
  for (int64_t s : sizes) {
    out.push_back(x.narrow(dim, offset, s));
    offset += s;
  }
  return out;
}

template <class T>
std::vector<Tensor<T>> split(const Tensor<T>& x, const std::vector<int64_t>& sizes,
                             int64_t dim = 0) {
  return split_with_sizes(x, sizes, dim);
}
// A braced list always means sizes (split(x, {2}) is one piece of size 2, as in PyTorch), not a
// split_size: C++ prefers this overload for a braced list over the int64_t one.
template <class T>
std::vector<Tensor<T>> split(const Tensor<T>& x, std::initializer_list<int64_t> sizes,
                             int64_t dim = 0) {
  return split_with_sizes(x, std::vector<int64_t>(sizes), dim);
}

// Views of pieces of split_size along `dim`; the last is smaller when the size does not divide.
template <class T>
std::vector<Tensor<T>> split(const Tensor<T>& x, int64_t split_size, int64_t dim = 0) {
  dim = wrap_dim(dim, x.dim(), "split");
  EMBER_CHECK(x.dim() > 0, "split: cannot split a zero-dimensional tensor");
  const int64_t n = x.shape()[dim];
  EMBER_CHECK(split_size > 0 || (split_size == 0 && n == 0),
              "split: split_size must be positive, got ", split_size, " for dimension ", dim,
              " of shape ", shape_str(x.shape()));
  if (n == 0) return {x.narrow(dim, 0, 0)};
  std::vector<int64_t> sizes;
  for (int64_t start = 0; start < n; start += split_size)
    sizes.push_back(std::min(split_size, n - start));
  return split_with_sizes(x, sizes, dim);
}

// PyTorch's chunk: pieces of ceil(n / chunks) elements, so there may be fewer than `chunks`
// (6 into 4 gives 2, 2, 2).
template <class T>
std::vector<Tensor<T>> chunk(const Tensor<T>& x, int64_t chunks, int64_t dim = 0) {
  EMBER_CHECK(chunks > 0, "chunk: chunks must be positive, got ", chunks);
  dim = wrap_dim(dim, x.dim(), "chunk");
  EMBER_CHECK(x.dim() > 0, "chunk: cannot chunk a zero-dimensional tensor");
  const int64_t n = x.shape()[dim];
  if (n == 0) return split_with_sizes(x, std::vector<int64_t>(size_t(chunks), 0), dim);
  return split(x, (n + chunks - 1) / chunks, dim);
}

// Reverses the order of elements along each of `dims` (a copy, as in PyTorch).
template <class T>
Tensor<T> flip(const Tensor<T>& x, const std::vector<int64_t>& dims) {
  const int64_t nd = x.dim();
  std::vector<bool> flipped(size_t(std::max<int64_t>(nd, 1)), false);
  for (int64_t d : dims) {
    const int64_t w = wrap_dim(d, nd, "flip");
    EMBER_CHECK(!flipped[w], "flip: dimension ", w, " repeated in ", shape_str(dims));
    flipped[w] = true;
  }
  Tensor<T> out = backend::flip(x, flipped, "flip");
  if constexpr (is_differentiable_v<T>) {
    if (any_requires_grad(x))
      record(out, "flip", {x}, [dims](const Tensor<T>& g) -> Grads { return {flip(g, dims)}; });
  }
  return out;
}

// Tiles x: repeats[i] copies along dimension i (x gets leading size-1 dims when repeats is
// longer than its rank), like torch.Tensor.repeat. Always a fresh copy.
template <class T>
Tensor<T> repeat(const Tensor<T>& x, const std::vector<int64_t>& repeats) {
  EMBER_CHECK(int64_t(repeats.size()) >= x.dim(), "repeat: got ", repeats.size(),
              " repeats for a tensor of shape ", shape_str(x.shape()), "; need at least ", x.dim());
  const size_t lead = repeats.size() - size_t(x.dim());
  // Interleave each dim with a size-1 dim in front, broadcast that to the repeat count, copy,
  // then merge the pairs: [r0, s0, r1, s1] -> [r0*s0, r1*s1].
  Shape pairs, expanded, result;
  for (size_t d = 0; d < repeats.size(); ++d) {
    EMBER_CHECK(repeats[d] >= 0, "repeat: repeats must be non-negative, got ", shape_str(repeats));
    const int64_t s = d < lead ? 1 : x.shape()[d - lead];
    pairs.insert(pairs.end(), {1, s});
    expanded.insert(expanded.end(), {repeats[d], s});
    result.push_back(repeats[d] * s);
  }
  return x.reshape(pairs).expand(expanded).clone().reshape(result);
}

}  // namespace ember
