// Sparse-dense products on CsrMatrix (sparse/csr.hpp): spmm, sddmm, and the softmax over each
// row's entries (segment_softmax / edge_softmax), all with gradients.
//
//   spmm(A, X)      out[r] = sum_k A[r, c_k] X[c_k]:  A [rows, cols], X [cols, F] -> [rows, F]
//   sddmm(A, P, Q)  out[k] = <P[r_k], Q[c_k]> at A's entries k = (r_k, c_k):
//                   P [rows, F], Q [cols, F] -> [nnz]
//   segment_softmax(src, row_ptr)   softmax of src over each run row_ptr[i] .. row_ptr[i+1]
//   edge_softmax(A)                 segment_softmax of A's values over each row
//
// Multi-head form (graph attention): values [nnz, H] with X [cols, H, C] gives [rows, H, C]
// (head h uses values[:, h]); sddmm of P [rows, H, C] and Q [cols, H, C] gives [nnz, H].
//
// The two products are each other's adjoints, so their gradients close over them and
// create_graph works to any order:
//   spmm:  grad X = spmm(Aᵀ, g)  (Aᵀ's pattern is computed once and cached in A's pattern)
//          grad values = sddmm(A, g, X)
//   sddmm: grad P = spmm(A with values g, Q),  grad Q = spmm((A with values g)ᵀ, P)
//   segment_softmax: grad src = y * (g - expand(segment_sum(g * y))), one fused kernel in a
//          plain backward
//
// Kernels (backend/sparse.hpp): parallel over output rows (no atomics, deterministic), split
// so every thread gets about the same number of entries; the innermost loop runs over the F
// contiguous features. The CSR index arrays are passed on the dense operands' device: the
// pattern stays on the host, and CsrPattern::on_device caches its copies on a CUDA device.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>

#include <ember/backend/sparse.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/indexing.hpp>
#include <ember/ops/scatter.hpp>
#include <ember/sparse/csr.hpp>

namespace ember {

namespace detail {

// Value heads H and channels C of an spmm / sddmm call, or an error naming the shapes.
template <class T>
std::pair<int64_t, int64_t> sparse_heads(const Tensor<T>& values, const Tensor<T>& x,
                                         int64_t x_rows, const char* op, const char* what) {
  if (values.dim() == 1) {
    EMBER_CHECK(x.dim() == 2 && x.size(0) == x_rows, op, ": expected ", what, " of shape [", x_rows,
                ", F] for scalar values, got ", shape_str(x.shape()));
    return {1, x.size(1)};
  }
  EMBER_CHECK(
      values.dim() == 2 && x.dim() == 3 && x.size(0) == x_rows && x.size(1) == values.size(1), op,
      ": expected ", what, " of shape [", x_rows,
      ", H, C] for values of shape [nnz, H] (H = ", values.dim() == 2 ? values.size(1) : -1,
      "), got values ", shape_str(values.shape()), " and ", what, " ", shape_str(x.shape()));
  return {x.size(1), x.size(2)};
}

}  // namespace detail

template <class T, class I>
Tensor<T> sddmm(const sparse::CsrMatrix<T, I>& a, const Tensor<T>& p, const Tensor<T>& q);

// Sparse × dense: [rows, cols] × X [cols, F] -> [rows, F]; with values [nnz, H] and X
// [cols, H, C] -> [rows, H, C]. Differentiable in X and in A's values.
template <class T, class I>
Tensor<T> spmm(const sparse::CsrMatrix<T, I>& a, const Tensor<T>& x) {
  const char* op = "spmm";
  EMBER_CHECK(a.defined() && x.defined(), op, ": the matrix and X must be defined");
  const Tensor<T>& vals = a.values();
  const auto [H, C] = detail::sparse_heads(vals, x, a.cols(), op, "X");
  const auto [rp, ci] = a.pattern()->on_device(x.device());
  Tensor<T> out = backend::spmm(rp, ci, vals, x, a.rows(), H, C, op);
  if constexpr (is_differentiable_v<T>) {
    if (any_requires_grad(vals, x))
      record(out, "spmm", {vals, x}, [a, x](const Tensor<T>& g) -> Grads {
        AnyTensor gv, gx;
        if (a.values().requires_grad()) gv = sddmm(a, g, conj(x));
        if (x.requires_grad()) {  // Aᴴ·g (conj is the identity on real values)
          const sparse::CsrMatrix<T, I> at = a.transpose();
          gx = spmm(is_complex_v<T> ? at.with_values(conj(at.values())) : at, g);
        }
        return {gv, gx};
      });
  }
  return out;
}

// Sampled dense-dense product: out[k] = sum_f P[r_k, f] * Q[c_k, f] at each entry k = (r_k, c_k)
// of A's pattern (A's values are not used). P [rows, F], Q [cols, F] -> [nnz]; with
// P [rows, H, C], Q [cols, H, C] -> [nnz, H]. Differentiable in P and Q.
template <class T, class I>
Tensor<T> sddmm(const sparse::CsrMatrix<T, I>& a, const Tensor<T>& p, const Tensor<T>& q) {
  const char* op = "sddmm";
  EMBER_CHECK(a.defined() && p.defined() && q.defined(), op, ": inputs must be defined");
  EMBER_CHECK((p.dim() == 2 || p.dim() == 3) && q.dim() == p.dim() && p.size(0) == a.rows() &&
                  q.size(0) == a.cols() &&
                  std::equal(p.shape().begin() + 1, p.shape().end(), q.shape().begin() + 1),
              op, ": expected P [", a.rows(), ", F] and Q [", a.cols(),
              ", F] (or [.., H, C] both) for a [", a.rows(), ", ", a.cols(), "] matrix, got P ",
              shape_str(p.shape()), " and Q ", shape_str(q.shape()));
  const int64_t H = p.dim() == 3 ? p.size(1) : 1, C = p.dim() == 3 ? p.size(2) : p.size(1);
  const auto [rp, ci] = a.pattern()->on_device(p.device());
  Tensor<T> out = backend::sddmm(rp, ci, p, q, a.rows(), H, C, op);
  if constexpr (is_differentiable_v<T>) {
    if (any_requires_grad(p, q))
      record(out, "sddmm", {p, q}, [a, p, q](const Tensor<T>& g) -> Grads {
        const sparse::CsrMatrix<T, I> ga = a.with_values(g);
        AnyTensor gp, gq;
        if (p.requires_grad()) gp = spmm(ga, conj(q));
        if (q.requires_grad()) gq = spmm(ga.transpose(), conj(p));
        return {gp, gq};
      });
  }
  return out;
}

// Softmax of src [E, H...] over each segment row_ptr[i] .. row_ptr[i+1] along dim 0 (per
// column): torch_geometric.utils.softmax(src, ptr=row_ptr). Empty segments produce nothing.
template <class T>
Tensor<T> segment_softmax(const Tensor<T>& src, const Tensor<int64_t>& row_ptr) {
  static_assert(std::is_floating_point_v<T>, "segment_softmax: needs a real floating-point tensor");
  const char* op = "segment_softmax";
  EMBER_CHECK(src.defined() && src.dim() >= 1, op, ": expected src of shape [E, H...], got ",
              src.defined() ? shape_str(src.shape()) : std::string("undefined"));
  // row_ptr is validated on the host (a copy of a CUDA row_ptr), then used on src's device.
  const Tensor<int64_t> rp_host =
      row_ptr.defined() ? row_ptr.detach().to(Device::cpu()).contiguous() : row_ptr;
  check_row_ptr(rp_host, src.size(0), op);
  const Tensor<int64_t> rp = rp_host.to(src.device());
  Tensor<T> out = backend::segment_softmax_forward(src, rp, op);
  // The backward is one kernel; under create_graph it is the same formula from differentiable
  // ops, with y recomputed from src so that the rule itself is differentiable.
  if (any_requires_grad(src))
    record(out, op, {src}, [src, rp, rp_host, y = out.detach(), op](const Tensor<T>& g) -> Grads {
      if (!GradMode::is_enabled()) return {backend::segment_softmax_backward(g, y, rp, op)};
      const Tensor<T> yy = segment_softmax(src, rp);
      const Tensor<T> gy = mul(g, yy);
      const Tensor<T> rows_sum = segment_sum(gy, rp);
      const Tensor<int64_t> rows = backend::rows_of_entries(rp_host).to(src.device());
      return {sub(gy, mul(yy, index_select(rows_sum, 0, rows)))};
    });
  return out;
}

// Softmax of A's values over the entries of each row (for a matrix with rows = targets: over
// each node's incoming edges), [nnz] or [nnz, H]. Returns the new values; use
// a.with_values(edge_softmax(a)) for the matrix.
template <class T, class I>
Tensor<T> edge_softmax(const sparse::CsrMatrix<T, I>& a) {
  EMBER_CHECK(a.defined(), "edge_softmax: the matrix must be defined");
  return segment_softmax(a.values(), a.pattern()->row_ptr64());
}

// Softmax of per-entry scores [nnz, H...] aligned with A's entries, over each row.
template <class T, class I>
Tensor<T> edge_softmax(const sparse::CsrMatrix<T, I>& a, const Tensor<T>& scores) {
  EMBER_CHECK(a.defined(), "edge_softmax: the matrix must be defined");
  EMBER_CHECK(scores.defined() && scores.dim() >= 1 && scores.size(0) == a.nnz(),
              "edge_softmax: expected scores of shape [nnz, H...] with nnz = ", a.nnz(), ", got ",
              scores.defined() ? shape_str(scores.shape()) : std::string("undefined"));
  return segment_softmax(scores, a.pattern()->row_ptr64());
}

}  // namespace ember
