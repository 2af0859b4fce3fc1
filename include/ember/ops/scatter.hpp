// Scatter and segment reductions over the leading (node / edge) dimension, in the convention of
// torch_scatter / PyTorch Geometric: src [E, F...] and a 1-D index [E] give [dim_size, F...],
// out[i] = reduce over { src[e] : index[e] == i }. These are distinct from ember::scatter_add
// (ops/indexing.hpp), which follows torch.Tensor.scatter_add_ (an index of src's rank).
//
//   scatter_sum(src, index, dim_size)   sum; empty rows are 0
//   scatter_mean(src, index, dim_size)  sum / max(count, 1); empty rows are 0
//   scatter_max(src, index, dim_size)   (max, argmax); empty rows give 0 and argmax E
//   segment_sum(src, row_ptr)           sum over the sorted runs [row_ptr[i], row_ptr[i+1])
//
// Kernels (backend/scatter.hpp): the index is counting-sorted (stable, O(E + dim_size)) into
// runs, then every output row is reduced by one thread in increasing e. No atomics, and
// bit-identical results for any thread count. The F inner loop is unit-stride (src is made
// contiguous) and vectorises.
//
// Gradients (written with differentiable ops, so create_graph works):
//   scatter_sum:  grad src = index_select(g, 0, index)
//   scatter_mean: composed of scatter_sum and a constant division
//   scatter_max:  grad src[e] = g[index[e]] where e is the argmax of its row/feature, else 0
//   segment_sum:  grad src = index_select(g, 0, row_of_entry)
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <tuple>
#include <utility>

#include <ember/backend/scatter.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/indexing.hpp>

namespace ember {

namespace detail {

// Checks a torch_scatter-style call and returns the number of output rows.
template <class T>
int64_t check_scatter_args(const Tensor<T>& src, const Tensor<int64_t>& index, int64_t dim_size,
                           const char* op) {
  EMBER_CHECK(index.defined() && src.defined(), op, ": src and index must be defined");
  EMBER_CHECK(src.dim() >= 1, op, ": expected src of shape [E, F...], got ",
              shape_str(src.shape()));
  EMBER_CHECK(index.dim() == 1 && index.size(0) == src.size(0), op,
              ": expected a 1-D index with one entry per row of src (", src.size(0),
              "), got index shape ", shape_str(index.shape()), " for src shape ",
              shape_str(src.shape()));
  // The index is read on the host (max, bounds), from one copy of a CUDA index.
  const Tensor<int64_t> host_index = index.detach().to(Device::cpu());
  if (dim_size < 0) {  // torch_scatter's default: max(index) + 1
    const Tensor<int64_t> ic = host_index.contiguous();
    const int64_t* p = ic.data_ptr();
    dim_size = ic.numel() ? *std::max_element(p, p + ic.numel()) + 1 : 0;
    dim_size = std::max<int64_t>(dim_size, 0);
  }
  check_index_bounds(host_index, dim_size, op, 0, src.shape());
  return dim_size;
}

}  // namespace detail

// Validates a CSR-style segment pointer: 1-D int64, ptr[0] == 0, non-decreasing, ptr[n] == e.
inline void check_row_ptr(const Tensor<int64_t>& row_ptr, int64_t entries, const char* op) {
  EMBER_CHECK(row_ptr.defined() && row_ptr.dim() == 1 && row_ptr.numel() >= 1, op,
              ": row_ptr must be a 1-D tensor of length rows + 1, got shape ",
              row_ptr.defined() ? shape_str(row_ptr.shape()) : std::string("undefined"));
  check_cpu(row_ptr.device(), op);
  const Tensor<int64_t> rp = row_ptr.contiguous();
  const int64_t* p = rp.data_ptr();
  const int64_t n = rp.numel() - 1;
  EMBER_CHECK(p[0] == 0, op, ": row_ptr must start at 0, got ", p[0]);
  for (int64_t i = 0; i < n; ++i)
    EMBER_CHECK(p[i + 1] >= p[i], op, ": row_ptr must be non-decreasing, but row_ptr[", i,
                "] = ", p[i], " > row_ptr[", i + 1, "] = ", p[i + 1]);
  EMBER_CHECK(p[n] == entries, op, ": row_ptr ends at ", p[n], " but there are ", entries,
              " entries");
}

// out[i] = sum of src[e] over index[e] == i; out has shape [dim_size, F...] (dim_size < 0:
// max(index) + 1). torch_scatter.scatter_sum(src, index, dim=0, dim_size=dim_size).
template <class T>
Tensor<T> scatter_sum(const Tensor<T>& src, const Tensor<int64_t>& index, int64_t dim_size = -1) {
  dim_size = detail::check_scatter_args(src, index, dim_size, "scatter_sum");
  Tensor<T> out = backend::scatter_sum(src, index, dim_size, "scatter_sum");
  if (any_requires_grad(src))
    record(out, "scatter_sum", {src},
           [index](const Tensor<T>& g) -> Grads { return {index_select(g, 0, index)}; });
  return out;
}

// Mean of src[e] over index[e] == i (0 for rows nothing scatters to).
// torch_scatter.scatter_mean(src, index, dim=0, dim_size=dim_size).
template <class T>
Tensor<T> scatter_mean(const Tensor<T>& src, const Tensor<int64_t>& index, int64_t dim_size = -1) {
  dim_size = detail::check_scatter_args(src, index, dim_size, "scatter_mean");
  const Tensor<T> count = backend::scatter_counts<T>(index, dim_size, src.dim(), src.device());
  return div(scatter_sum(src, index, dim_size), count);
}

// (max, argmax) of src[e] over index[e] == i, per feature. Empty rows get 0 and argmax E
// (src.size(0)), as torch_scatter.scatter_max does. Ties pick the smallest e.
template <class T>
std::pair<Tensor<T>, Tensor<int64_t>> scatter_max(const Tensor<T>& src,
                                                  const Tensor<int64_t>& index,
                                                  int64_t dim_size = -1) {
  static_assert(!is_complex_v<T>, "scatter_max: complex numbers have no order");
  dim_size = detail::check_scatter_args(src, index, dim_size, "scatter_max");
  const bool wants = any_requires_grad(src);
  Tensor<T> out, mask;
  Tensor<int64_t> arg;
  std::tie(out, arg, mask) = backend::scatter_max(src, index, dim_size, wants, "scatter_max");
  // mask[e, :] = 1 where e is the argmax of its own output row: a constant of the graph.
  if (wants)
    record(out, "scatter_max", {src}, [index, mask](const Tensor<T>& g) -> Grads {
      return {mul(index_select(g, 0, index), mask)};
    });
  return {out, arg};
}

// out[i] = sum of src[row_ptr[i] .. row_ptr[i+1]) along dim 0: [rows, F...] from src [E, F...]
// (torch_scatter.segment_sum_csr).
template <class T>
Tensor<T> segment_sum(const Tensor<T>& src, const Tensor<int64_t>& row_ptr) {
  EMBER_CHECK(src.defined() && src.dim() >= 1, "segment_sum: expected src of shape [E, F...], got ",
              src.defined() ? shape_str(src.shape()) : std::string("undefined"));
  // row_ptr is checked (and the backward's rows built) on a host copy.
  const Tensor<int64_t> host_ptr =
      row_ptr.defined() ? row_ptr.detach().to(Device::cpu()).contiguous() : row_ptr;
  check_row_ptr(host_ptr, src.size(0), "segment_sum");
  Tensor<T> out = backend::segment_sum(src, row_ptr, host_ptr, "segment_sum");
  if (any_requires_grad(src))
    record(out, "segment_sum", {src}, [host_ptr](const Tensor<T>& g) -> Grads {
      return {index_select(g, 0, backend::rows_of_entries(host_ptr).to(g.device()))};
    });
  return out;
}

}  // namespace ember
