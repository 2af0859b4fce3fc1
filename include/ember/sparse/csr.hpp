// CsrMatrix<T, I>: a sparse [rows, cols] matrix in compressed sparse row form.
//
//   row_ptr [rows + 1]   entries of row r are positions row_ptr[r] .. row_ptr[r+1]
//   col_idx [nnz]        their columns, strictly increasing within a row (sorted, no duplicates)
//   values  [nnz] or [nnz, H...]   one value (or one value per head) per entry; may require grad
//
// The index arrays form an immutable "pattern" shared (by shared_ptr) between a matrix, its
// copies and every matrix made from it with with_values(); the pattern caches, computed once
// on first use, the row of every entry and the transposed pattern with the permutation that
// maps this matrix's entries to the transpose's. So spmm's backward (Aᵀ·g) costs one gather of
// the values, not a sort, and a matrix whose values do not require grad also caches the
// gathered transposed values.
//
// Structure-changing operations are differentiable with respect to the values: transpose
// permutes them (a row gather whose gradient is the inverse permutation), from_dense gathers
// them (index_select), to_dense scatters them (index_add), from_coo sums duplicates
// (scatter_sum), row_normalize and gcn_normalize are composed of segment_sum, rsqrt,
// index_select and mul. The index arrays themselves carry no gradient.
//
// Conventions: from_edge_index(n, src, dst) puts edge e at A[src[e], dst[e]] (torch_sparse's
// SparseTensor(row = edge_index[0], col = edge_index[1])); message passing source -> target
// (PyG's flow) is then Aᵀ·X; nn/gnn.hpp builds its aggregation matrices with rows = targets.
#pragma once

#include <algorithm>
#include <cstdint>
#include <ember/backend/cpu/parallel.hpp>
#include <ember/backend/scatter.hpp>
#include <ember/backend/sparse.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/indexing.hpp>
#include <ember/ops/scatter.hpp>
#include <ember/ops/unary.hpp>
#include <memory>
#include <mutex>
#include <numeric>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace ember::sparse {

template <class I>
inline constexpr bool is_csr_index_v = std::is_same_v<I, int64_t> || std::is_same_v<I, int32_t>;

// The index arrays of a CSR matrix plus lazily computed, cached derived data. Immutable once
// built (the caches are filled under a mutex), so it is safely shared between matrices.
template <class I>
struct CsrPattern {
  int64_t rows = 0, cols = 0;
  Tensor<I> row_ptr, col_idx;  // contiguous, validated

  int64_t nnz() const { return col_idx.numel(); }

  // Row of every entry (COO row indices), [nnz] int64.
  const Tensor<int64_t>& entry_rows() const {
    std::lock_guard<std::mutex> lock(mu_);
    if (!entry_rows_.defined()) entry_rows_ = backend::rows_of_entries(row_ptr64());
    return entry_rows_;
  }
  // row_ptr as int64 (segment ops take int64).
  Tensor<int64_t> row_ptr64() const { return row_ptr.template to<int64_t>(); }

  // row_ptr and col_idx on `device`, copied on first use and cached: the pattern itself stays
  // on the host (its derived data is computed there), the CUDA kernels read these copies.
  std::pair<Tensor<I>, Tensor<I>> on_device(Device device) const {
    if (device.is_cpu()) return {row_ptr, col_idx};
    std::lock_guard<std::mutex> lock(mu_);
    for (const DeviceArrays& d : device_arrays_)
      if (d.device == device) return {d.row_ptr, d.col_idx};
    device_arrays_.push_back({device, row_ptr.to(device), col_idx.to(device)});
    return {device_arrays_.back().row_ptr, device_arrays_.back().col_idx};
  }

  // The pattern of the transpose and `perm`: the transpose's entry k is this pattern's entry
  // perm[k]. Computed once; the transpose's own transpose points back here.
  std::pair<std::shared_ptr<const CsrPattern>, Tensor<int64_t>> transposed(
      const std::shared_ptr<const CsrPattern>& self) const {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto back = t_weak_.lock()) return {back, t_perm_};
    if (t_strong_) return {t_strong_, t_perm_};
    // Counting sort of the entries by column; within a column rows come out increasing, so
    // the transpose is sorted.
    auto t = std::make_shared<CsrPattern>();
    t->rows = cols;
    t->cols = rows;
    const int64_t n = nnz();
    t->row_ptr = Tensor<I>::zeros({cols + 1});
    t->col_idx = Tensor<I>::empty({n});
    Tensor<int64_t> perm = Tensor<int64_t>::empty({n}), inv = Tensor<int64_t>::empty({n});
    const I* rp = row_ptr.data_ptr();
    const I* ci = col_idx.data_ptr();
    I* trp = t->row_ptr.data_ptr();
    I* tci = t->col_idx.data_ptr();
    int64_t* pp = perm.data_ptr();
    int64_t* ip = inv.data_ptr();
    for (int64_t k = 0; k < n; ++k) ++trp[int64_t(ci[k]) + 1];
    for (int64_t c = 0; c < cols; ++c) trp[c + 1] += trp[c];
    std::vector<int64_t> next(trp, trp + cols);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t k = int64_t(rp[r]); k < int64_t(rp[r + 1]); ++k) {
        const int64_t pos = next[size_t(ci[k])]++;
        tci[pos] = I(r);
        pp[pos] = k;
        ip[k] = pos;
      }
    t->t_weak_ = self;  // weak: the transpose must not keep its origin alive (no cycle)
    t->t_perm_ = inv;
    t_strong_ = t;
    t_perm_ = perm;
    return {t_strong_, t_perm_};
  }

 private:
  struct DeviceArrays {
    Device device;
    Tensor<I> row_ptr, col_idx;
  };
  mutable std::mutex mu_;
  mutable std::vector<DeviceArrays> device_arrays_;
  mutable Tensor<int64_t> entry_rows_;
  mutable std::shared_ptr<const CsrPattern> t_strong_;
  mutable std::weak_ptr<const CsrPattern> t_weak_;
  mutable Tensor<int64_t> t_perm_;
};

namespace detail {

// Throws unless (rows, cols, row_ptr, col_idx) is a valid CSR pattern with sorted, distinct
// columns in every row.
template <class I>
void validate_csr(int64_t rows, int64_t cols, const Tensor<I>& row_ptr, const Tensor<I>& col_idx,
                  const char* op) {
  EMBER_CHECK(rows >= 0 && cols >= 0, op, ": expected non-negative sizes, got [", rows, ", ", cols,
              "]");
  EMBER_CHECK(row_ptr.defined() && col_idx.defined(), op, ": row_ptr and col_idx must be defined");
  check_cpu(row_ptr.device(), op);
  check_cpu(col_idx.device(), op);
  EMBER_CHECK(row_ptr.dim() == 1 && row_ptr.numel() == rows + 1, op,
              ": row_ptr must have rows + 1 = ", rows + 1, " entries, got shape ",
              shape_str(row_ptr.shape()));
  EMBER_CHECK(col_idx.dim() == 1, op, ": col_idx must be 1-D, got shape ",
              shape_str(col_idx.shape()));
  const Tensor<I> rpc = row_ptr.contiguous(), cic = col_idx.contiguous();
  const I* rp = rpc.data_ptr();
  const I* ci = cic.data_ptr();
  const int64_t nnz = cic.numel();
  EMBER_CHECK(rp[0] == 0, op, ": row_ptr[0] must be 0, got ", int64_t(rp[0]));
  for (int64_t r = 0; r < rows; ++r)
    EMBER_CHECK(rp[r + 1] >= rp[r], op, ": row_ptr must be non-decreasing, but row_ptr[", r,
                "] = ", int64_t(rp[r]), " > row_ptr[", r + 1, "] = ", int64_t(rp[r + 1]));
  EMBER_CHECK(int64_t(rp[rows]) == nnz, op, ": row_ptr[", rows, "] = ", int64_t(rp[rows]),
              " must equal the number of entries (col_idx has ", nnz, ")");
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = int64_t(rp[r]); k < int64_t(rp[r + 1]); ++k) {
      const int64_t c = int64_t(ci[k]);
      EMBER_CHECK(c >= 0 && c < cols, op, ": column index ", c, " at entry ", k, " (row ", r,
                  ") is out of range for ", cols, " columns");
      EMBER_CHECK(k == int64_t(rp[r]) || int64_t(ci[k - 1]) < c, op, ": columns of row ", r,
                  " must be strictly increasing (sorted, no duplicates; from_coo sorts and sums), "
                  "got ",
                  int64_t(ci[k - 1]), " then ", c, " at entry ", k);
    }
}

// The entries of values [nnz, ...] in the order perm (out[k] = values[perm[k]], perm and its
// inverse inv on the host): the transpose's values. Its gradient is the gather by inv (no
// accumulation: each entry has one source), so it is differentiable to any order.
template <class T>
Tensor<T> permute_entries(const Tensor<T>& values, const Tensor<int64_t>& perm,
                          const Tensor<int64_t>& inv) {
  Tensor<T> out = backend::gather_rows(values, perm.to(values.device()), "csr_permute_values");
  if constexpr (is_differentiable_v<T>) {
    if (any_requires_grad(values))
      record(out, "csr_permute_values", {values},
             [perm, inv](const Tensor<T>& g) -> Grads { return {permute_entries(g, inv, perm)}; });
  }
  return out;
}

template <class T>
void validate_values(const Tensor<T>& values, int64_t nnz, const char* op) {
  // Values may live on a CUDA device (spmm / sddmm / transpose run there); the pattern may not.
  EMBER_CHECK(values.defined(), op, ": values must be defined");
  EMBER_CHECK(values.dim() >= 1 && values.size(0) == nnz, op,
              ": values must have shape [nnz] or [nnz, H...] with nnz = ", nnz, ", got ",
              shape_str(values.shape()));
}

}  // namespace detail

template <class T, class I = int64_t>
class CsrMatrix {
  static_assert(is_csr_index_v<I>, "CsrMatrix: indices must be int64 or int32");

 public:
  using value_type = T;
  using index_type = I;

  CsrMatrix() = default;

  // From CSR arrays; validates them (sorted, distinct, in-range columns) and throws
  // ember::Error on malformed input.
  CsrMatrix(int64_t rows, int64_t cols, const Tensor<I>& row_ptr, const Tensor<I>& col_idx,
            const Tensor<T>& values) {
    detail::validate_csr(rows, cols, row_ptr, col_idx, "CsrMatrix");
    detail::validate_values(values, col_idx.numel(), "CsrMatrix");
    auto p = std::make_shared<CsrPattern<I>>();
    p->rows = rows;
    p->cols = cols;
    p->row_ptr = row_ptr.detach().contiguous();
    p->col_idx = col_idx.detach().contiguous();
    pattern_ = std::move(p);
    values_ = values;
    tcache_ = std::make_shared<TCache>();
  }

  // From a pattern already known to be valid, sharing it.
  CsrMatrix(std::shared_ptr<const CsrPattern<I>> pattern, const Tensor<T>& values)
      : pattern_(std::move(pattern)), values_(values), tcache_(std::make_shared<TCache>()) {
    EMBER_CHECK(pattern_ != nullptr, "CsrMatrix: null pattern");
    detail::validate_values(values_, pattern_->nnz(), "CsrMatrix");
  }

  // From coordinates: entry e at (row_idx[e], col_idx[e]) with value values[e] (all ones when
  // values is undefined). Entries are sorted by (row, column) and duplicates summed, like
  // torch.sparse_coo_tensor(...).coalesce(). Differentiable in values.
  static CsrMatrix from_coo(int64_t rows, int64_t cols, const Tensor<I>& row_idx,
                            const Tensor<I>& col_idx, const Tensor<T>& values = Tensor<T>()) {
    const char* op = "CsrMatrix::from_coo";
    EMBER_CHECK(rows >= 0 && cols >= 0, op, ": expected non-negative sizes, got [", rows, ", ",
                cols, "]");
    EMBER_CHECK(row_idx.defined() && col_idx.defined() && row_idx.dim() == 1 &&
                    col_idx.dim() == 1 && row_idx.numel() == col_idx.numel(),
                op, ": expected 1-D row and column indices of equal length, got shapes ",
                row_idx.defined() ? shape_str(row_idx.shape()) : "undefined", " and ",
                col_idx.defined() ? shape_str(col_idx.shape()) : "undefined");
    const int64_t e = row_idx.numel();
    if (values.defined()) detail::validate_values(values, e, op);
    ember::detail::check_index_bounds(row_idx, rows, op, 0, {rows, cols});
    ember::detail::check_index_bounds(col_idx, cols, op, 1, {rows, cols});
    const Tensor<I> ri = row_idx.contiguous(), cj = col_idx.contiguous();
    const I* r = ri.data_ptr();
    const I* c = cj.data_ptr();
    // Bucket by row (stable), then sort each row's entries by column.
    std::vector<int64_t> ptr(size_t(rows) + 1, 0), order(static_cast<size_t>(e));
    for (int64_t k = 0; k < e; ++k) ++ptr[size_t(r[k]) + 1];
    for (int64_t i = 0; i < rows; ++i) ptr[size_t(i) + 1] += ptr[size_t(i)];
    {
      std::vector<int64_t> next(ptr.begin(), ptr.end() - 1);
      for (int64_t k = 0; k < e; ++k) order[size_t(next[size_t(r[k])]++)] = k;
    }
    cpu::parallel_for(rows, e * 8, [&](int64_t b, int64_t en) {
      for (int64_t i = b; i < en; ++i)
        std::stable_sort(order.begin() + ptr[size_t(i)], order.begin() + ptr[size_t(i) + 1],
                         [c](int64_t x, int64_t y) { return c[x] < c[y]; });
    });
    // Deduplicate: slot[k] is the output entry of input entry k.
    Tensor<int64_t> slot = Tensor<int64_t>::empty({e});
    int64_t* sl = slot.data_ptr();
    Tensor<I> row_ptr = Tensor<I>::empty({rows + 1});
    std::vector<I> cols_out;
    cols_out.reserve(size_t(e));
    I* rp = row_ptr.data_ptr();
    rp[0] = 0;
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t q = ptr[size_t(i)]; q < ptr[size_t(i) + 1]; ++q) {
        const int64_t k = order[size_t(q)];
        if (q == ptr[size_t(i)] || c[order[size_t(q) - 1]] != c[k]) cols_out.push_back(c[k]);
        sl[k] = int64_t(cols_out.size()) - 1;
      }
      rp[i + 1] = I(cols_out.size());
    }
    const int64_t nnz = int64_t(cols_out.size());
    Tensor<I> ci = Tensor<I>::empty({nnz});
    std::copy(cols_out.begin(), cols_out.end(), ci.data_ptr());
    Tensor<T> vals = values.defined() ? scatter_sum(values, slot, nnz)
                                      : scatter_sum(Tensor<T>::ones({e}), slot, nnz);
    auto p = std::make_shared<CsrPattern<I>>();
    p->rows = rows;
    p->cols = cols;
    p->row_ptr = row_ptr;
    p->col_idx = ci;
    return CsrMatrix(std::shared_ptr<const CsrPattern<I>>(std::move(p)), vals);
  }

  // A[src[e], dst[e]] = values[e] (ones when undefined), duplicates summed: the [n, n]
  // adjacency matrix of a directed graph.
  static CsrMatrix from_edge_index(int64_t num_nodes, const Tensor<I>& src, const Tensor<I>& dst,
                                   const Tensor<T>& values = Tensor<T>()) {
    return from_coo(num_nodes, num_nodes, src, dst, values);
  }
  // The same from a PyG edge_index [2, E] (row 0 = source, row 1 = target).
  static CsrMatrix from_edge_index(int64_t num_nodes, const Tensor<I>& edge_index,
                                   const Tensor<T>& values = Tensor<T>()) {
    EMBER_CHECK(edge_index.defined() && edge_index.dim() == 2 && edge_index.size(0) == 2,
                "CsrMatrix::from_edge_index: expected edge_index of shape [2, E], got ",
                edge_index.defined() ? shape_str(edge_index.shape()) : "undefined");
    return from_coo(num_nodes, num_nodes, edge_index.select(0, 0), edge_index.select(0, 1), values);
  }

  // The nonzero entries of a 2-D dense matrix (differentiable: values are gathered).
  static CsrMatrix from_dense(const Tensor<T>& dense) {
    EMBER_CHECK(dense.defined() && dense.dim() == 2,
                "CsrMatrix::from_dense: expected a 2-D tensor, got shape ",
                dense.defined() ? shape_str(dense.shape()) : "undefined");
    check_cpu(dense.device(), "CsrMatrix::from_dense");
    const int64_t rows = dense.size(0), cols = dense.size(1);
    const Tensor<T> d = dense.detach().contiguous();
    const T* p = d.data_ptr();
    Tensor<I> row_ptr = Tensor<I>::empty({rows + 1});
    std::vector<I> ci;
    std::vector<int64_t> flat;
    row_ptr.data_ptr()[0] = 0;
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < cols; ++c)
        if (p[r * cols + c] != T(0)) {
          ci.push_back(I(c));
          flat.push_back(r * cols + c);
        }
      row_ptr.data_ptr()[r + 1] = I(ci.size());
    }
    auto pat = std::make_shared<CsrPattern<I>>();
    pat->rows = rows;
    pat->cols = cols;
    pat->row_ptr = row_ptr;
    pat->col_idx = Tensor<I>::empty({int64_t(ci.size())});
    std::copy(ci.begin(), ci.end(), pat->col_idx.data_ptr());
    const Tensor<int64_t> fi = Tensor<int64_t>::from_vector(flat, {int64_t(flat.size())});
    return CsrMatrix(std::shared_ptr<const CsrPattern<I>>(std::move(pat)),
                     index_select(dense.reshape({rows * cols}), 0, fi));
  }

  // ------------------------------------------------------------------ properties
  bool defined() const { return pattern_ != nullptr; }
  int64_t rows() const { return checked().rows; }
  int64_t cols() const { return checked().cols; }
  Shape shape() const { return {rows(), cols()}; }
  int64_t nnz() const { return checked().nnz(); }
  const Tensor<I>& row_ptr() const { return checked().row_ptr; }
  const Tensor<I>& col_idx() const { return checked().col_idx; }
  const Tensor<T>& values() const { return values_; }
  // Row of every entry (the COO row indices), int64, cached in the pattern.
  const Tensor<int64_t>& row_indices() const { return checked().entry_rows(); }
  const std::shared_ptr<const CsrPattern<I>>& pattern() const { return pattern_; }
  bool requires_grad() const { return values_.defined() && values_.requires_grad(); }

  // The same pattern with other values ([nnz] or [nnz, H...]).
  CsrMatrix with_values(const Tensor<T>& values) const { return CsrMatrix(pattern_, values); }

  // The matrix with its values on `device` (differentiably, as Tensor::to). The pattern is
  // shared and stays on the host; spmm, sddmm, transpose and edge_softmax then run on the
  // device (the other structure operations are CPU only).
  CsrMatrix to(Device device) const { return with_values(values_.to(device)); }

  // ------------------------------------------------------------------ structure
  // The [cols, rows] transpose. The pattern and permutation are computed once per pattern;
  // values are gathered (where they are): differentiably when they require grad, else once per
  // values tensor (cached, and refreshed after an in-place write that bumps its version; a raw
  // write through data_ptr() to constant values is not seen).
  CsrMatrix transpose() const {
    auto [tp, perm] = checked().transposed(pattern_);
    if (values_.requires_grad())  // tp's own perm is the inverse: the gradient's gather
      return CsrMatrix(tp, detail::permute_entries(values_, perm, tp->transposed(tp).second));
    std::lock_guard<std::mutex> lock(tcache_->mu);
    if (!tcache_->tvalues.defined() || tcache_->version != values_.impl()->version) {
      NoGradGuard no_grad;
      tcache_->tvalues =
          backend::gather_rows(values_, perm.to(values_.device()), "CsrMatrix::transpose");
      tcache_->version = values_.impl()->version;
    }
    return CsrMatrix(tp, tcache_->tvalues);
  }

  // Dense [rows, cols, H...] (differentiable: the values are scattered into zeros).
  Tensor<T> to_dense() const {
    const int64_t r = rows(), c = cols();
    Shape flat_shape = values_.shape();
    flat_shape[0] = r * c;
    Shape out_shape = values_.shape();
    out_shape[0] = c;
    out_shape.insert(out_shape.begin(), r);
    const Device dev = values_.device();  // the pattern is on the host: indices follow values
    return index_add(Tensor<T>::zeros(flat_shape, dev), 0, flat_indices().to(dev), values_)
        .reshape(out_shape);
  }

  // D^-1 A with D = diag(row sums): every nonempty row sums to 1 (rows summing to 0 stay as
  // they are). Scalar values only.
  CsrMatrix row_normalize() const {
    check_scalar_values("CsrMatrix::row_normalize");
    const Device dev = values_.device();  // the pattern is on the host: indices follow values
    Tensor<T> rowsum = segment_sum(values_, checked().row_ptr64().to(dev));
    const Tensor<T> rowsum_host = rowsum.detach().to(Device::cpu());
    Tensor<T> fix = Tensor<T>::zeros({rows()});  // a constant: 1 where a row sums to 0
    for (int64_t i = 0; i < rows(); ++i)
      if (rowsum_host.data_ptr()[i] == T(0)) fix.data_ptr()[i] = T(1);
    const Tensor<T> denom = add(rowsum, fix.to(dev));
    return with_values(div(values_, index_select(denom, 0, row_indices().to(dev))));
  }

  // Â = D^-1/2 (A + I) D^-1/2 with D = diag(row sums of A + I), the GCN propagation matrix of
  // Kipf & Welling, computed as ../shared/bench/torch_peer.py's random_graph does: the
  // identity is added to every node (on top of any existing self loop), the degree is the row
  // sum including it, and each entry is a_ij * (d_i^-1/2 * d_j^-1/2). Square, scalar values.
  CsrMatrix gcn_normalize() const {
    const char* op = "CsrMatrix::gcn_normalize";
    check_scalar_values(op);
    EMBER_CHECK(rows() == cols(), op, ": expected a square matrix, got [", rows(), ", ", cols(),
                "]");
    const int64_t n = rows(), nz = nnz();
    const I* rp = row_ptr().data_ptr();
    const I* ci = col_idx().data_ptr();
    // The pattern of A + I: each row's columns with the diagonal merged in.
    Tensor<I> nrp = Tensor<I>::empty({n + 1});
    std::vector<I> ncols;
    ncols.reserve(size_t(nz + n));
    Tensor<int64_t> pos = Tensor<int64_t>::empty({nz});  // where A's entries land
    std::vector<int64_t> diag(static_cast<size_t>(n));
    nrp.data_ptr()[0] = 0;
    for (int64_t i = 0; i < n; ++i) {
      bool placed = false;
      for (int64_t k = int64_t(rp[i]); k < int64_t(rp[i + 1]); ++k) {
        const int64_t c = int64_t(ci[k]);
        if (!placed && c >= i) {
          if (c > i) ncols.push_back(I(i));
          diag[size_t(i)] = int64_t(ncols.size()) - (c > i ? 1 : 0);
          placed = true;
        }
        pos.data_ptr()[k] = int64_t(ncols.size());
        ncols.push_back(I(c));
      }
      if (!placed) {
        diag[size_t(i)] = int64_t(ncols.size());
        ncols.push_back(I(i));
      }
      nrp.data_ptr()[i + 1] = I(ncols.size());
    }
    const int64_t nnz2 = int64_t(ncols.size());
    auto pat = std::make_shared<CsrPattern<I>>();
    pat->rows = n;
    pat->cols = n;
    pat->row_ptr = nrp;
    pat->col_idx = Tensor<I>::empty({nnz2});
    std::copy(ncols.begin(), ncols.end(), pat->col_idx.data_ptr());
    std::shared_ptr<const CsrPattern<I>> cp = std::move(pat);
    Tensor<T> eye = Tensor<T>::zeros({nnz2});  // the identity, a constant
    for (int64_t i = 0; i < n; ++i) eye.data_ptr()[diag[size_t(i)]] = T(1);
    // The pattern was built on the host; the values' arithmetic runs where they are.
    const Device dev = values_.device();
    const Tensor<T> a = index_add(eye.to(dev), 0, pos.to(dev), values_);  // A + I
    const Tensor<T> dinv = rsqrt(segment_sum(a, cp->row_ptr64().to(dev)));
    const Tensor<int64_t> cols64 = cp->col_idx.template to<int64_t>().to(dev);
    const Tensor<T> scale = mul(index_select(dinv, 0, cp->entry_rows().to(dev)),
                                index_select(dinv, 0, cols64));
    return CsrMatrix(cp, mul(a, scale));
  }

 private:
  struct TCache {
    std::mutex mu;
    Tensor<T> tvalues;
    uint64_t version = 0;
  };

  const CsrPattern<I>& checked() const {
    EMBER_CHECK(pattern_ != nullptr, "CsrMatrix: use of an empty (default-constructed) matrix");
    return *pattern_;
  }
  void check_scalar_values(const char* op) const {
    EMBER_CHECK(values_.dim() == 1, op, ": expected scalar values [nnz], got ",
                shape_str(values_.shape()));
  }
  // r * cols + c of every entry.
  Tensor<int64_t> flat_indices() const {
    const Tensor<int64_t>& rows_e = row_indices();
    Tensor<int64_t> flat = Tensor<int64_t>::empty({nnz()});
    const I* ci = col_idx().data_ptr();
    for (int64_t k = 0; k < nnz(); ++k)
      flat.data_ptr()[k] = rows_e.data_ptr()[k] * cols() + int64_t(ci[k]);
    return flat;
  }

  std::shared_ptr<const CsrPattern<I>> pattern_;
  Tensor<T> values_;
  std::shared_ptr<TCache> tcache_;
};

}  // namespace ember::sparse
