// TensorImpl: the untyped state behind every Tensor<T>: a strided view of shared storage plus
// the autograd fields. Untyped so the engine can keep tensors of every dtype in one graph.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include <ember/autograd/node.hpp>
#include <ember/core/dtype.hpp>
#include <ember/core/storage.hpp>

namespace ember {

using Shape = std::vector<int64_t>;

struct TensorImpl {
  DType dtype = DType::Float32;
  Shape shape;
  Shape strides;  // in elements
  int64_t offset = 0;  // in elements, into storage
  std::shared_ptr<Storage> storage;

  bool requires_grad = false;
  ImplPtr grad;                    // accumulated gradient of a leaf
  std::shared_ptr<Node> grad_fn;   // how this tensor was made; null for leaves
  uint64_t version = 0;            // bumped by in-place writes, checked by saved tensors
  std::shared_ptr<LeafHooks> hooks;  // autograd/hooks.hpp; null for almost every tensor

  int64_t numel() const {
    int64_t n = 1;
    for (int64_t s : shape) n *= s;
    return n;
  }
  bool is_contiguous() const {
    int64_t expected = 1;
    for (int d = int(shape.size()) - 1; d >= 0; --d) {
      if (shape[d] != 1 && strides[d] != expected) return false;
      expected *= shape[d];
    }
    return true;
  }
};

// True when two tensors may read or write the same bytes: they share a storage and the byte
// ranges their elements span intersect (views of one storage with different dtypes, as
// view_as_real makes, compare in bytes). Conservative: interleaved views that touch disjoint
// elements of one range count as overlapping. An empty tensor overlaps nothing.
inline bool may_overlap(const TensorImpl& a, const TensorImpl& b) {
  if (!a.storage || a.storage != b.storage || a.numel() == 0 || b.numel() == 0) return false;
  auto span = [](const TensorImpl& t, int64_t& lo, int64_t& hi) {
    const int64_t size = int64_t(dtype_size(t.dtype));
    int64_t first = t.offset, last = t.offset;
    for (size_t d = 0; d < t.shape.size(); ++d) {
      const int64_t reach = (t.shape[d] - 1) * t.strides[d];
      (reach < 0 ? first : last) += reach;
    }
    lo = first * size;
    hi = last * size + size - 1;
  };
  int64_t alo, ahi, blo, bhi;
  span(a, alo, ahi);
  span(b, blo, bhi);
  return alo <= bhi && blo <= ahi;
}

// Number of elements of a shape, rejecting negative sizes and int64 overflow.
inline int64_t checked_numel(const Shape& shape, const char* op) {
  int64_t n = 1;
  for (int64_t s : shape) {
    EMBER_CHECK(s >= 0, op, ": negative dimension ", s, " in shape ", shape_str(shape));
    if (s != 0 && n > std::numeric_limits<int64_t>::max() / s)
      fail(op, ": shape ", shape_str(shape), " has more elements than fit in int64");
    n *= s;
  }
  return n;
}

// Wraps a possibly negative dimension index into [0, ndim).
inline int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
  const int64_t n = ndim == 0 ? 1 : ndim;  // a scalar accepts dim 0 / -1 like PyTorch
  EMBER_CHECK(dim >= -n && dim < n, op, ": dimension ", dim, " out of range for a tensor of ",
              ndim, " dimensions");
  return dim < 0 ? dim + n : dim;
}

}  // namespace ember
