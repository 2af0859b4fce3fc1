// Reductions over any set of dimensions.
//
// Two layouts are fast: the reduced dims are the innermost ones (each output reduces one
// contiguous run) or the outermost ones (rows are combined elementwise, as a bias gradient
// needs). Anything else is first permuted and copied into the first layout.
#pragma once

#include <algorithm>
#include <vector>

#include <ember/backend/cpu/parallel.hpp>
#include <ember/core/tensor_def.hpp>

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

}  // namespace cpu
}  // namespace ember
