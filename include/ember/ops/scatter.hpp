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
// Kernels: the index is counting-sorted (stable, O(E + dim_size)) into runs, then every output
// row is reduced by one thread in increasing e. No atomics, and bit-identical results for any
// thread count. The F inner loop is unit-stride (src is made contiguous) and vectorises.
//
// Gradients (written with differentiable ops, so create_graph works):
//   scatter_sum:  grad src = index_select(g, 0, index)
//   scatter_mean: composed of scatter_sum and a constant division
//   scatter_max:  grad src[e] = g[index[e]] where e is the argmax of its row/feature, else 0
//   segment_sum:  grad src = index_select(g, 0, row_of_entry)
#pragma once

#include <algorithm>
#include <cstdint>
#include <ember/backend/cpu/parallel.hpp>
#include <ember/backend/cuda/dispatch_indexing.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/indexing.hpp>
#include <utility>
#include <vector>

// Marks an inner loop as safe to vectorise: `omp simd` where OpenMP is on (it vectorises even
// at -O2), else GCC's ivdep.
#ifndef EMBER_PRAGMA_SIMD
#if defined(_OPENMP)
#define EMBER_PRAGMA_SIMD _Pragma("omp simd")
#else
#define EMBER_PRAGMA_SIMD _Pragma("GCC ivdep")
#endif
#endif

namespace ember {

namespace detail {

// Checks a torch_scatter-style call and returns the number of output rows.
template <class T>
int64_t check_scatter_args(const Tensor<T>& src, const Tensor<int64_t>& index, int64_t dim_size,
                           const char* op) {
  const bool on_cuda = cuda::use_cuda(op, src, index);
  if (!on_cuda) check_cpu(src.device(), op);
  EMBER_CHECK(index.defined() && src.defined(), op, ": src and index must be defined");
  if (!on_cuda) check_cpu(index.device(), op);
  // CUDA: the index is read on the host (max, bounds), from one copy.
  const Tensor<int64_t> host_index = on_cuda ? index.detach().to(Device::cpu()) : index;
  EMBER_CHECK(src.dim() >= 1, op, ": expected src of shape [E, F...], got ",
              shape_str(src.shape()));
  EMBER_CHECK(index.dim() == 1 && index.size(0) == src.size(0), op,
              ": expected a 1-D index with one entry per row of src (", src.size(0),
              "), got index shape ", shape_str(index.shape()), " for src shape ",
              shape_str(src.shape()));
  if (dim_size < 0) {  // torch_scatter's default: max(index) + 1
    const Tensor<int64_t> ic = host_index.contiguous();
    const int64_t* p = ic.data_ptr();
    dim_size = ic.numel() ? *std::max_element(p, p + ic.numel()) + 1 : 0;
    dim_size = std::max<int64_t>(dim_size, 0);
  }
  check_index_bounds(host_index, dim_size, op, 0, src.shape());
  return dim_size;
}

// Stable counting sort of `index` (values in [0, n)): ptr [n + 1] and order [E], so rows of
// output i are order[ptr[i] .. ptr[i+1]).
inline void counting_sort(const int64_t* idx, int64_t e, int64_t n, std::vector<int64_t>& ptr,
                          std::vector<int64_t>& order) {
  ptr.assign(size_t(n) + 1, 0);
  for (int64_t k = 0; k < e; ++k) ++ptr[size_t(idx[k]) + 1];
  for (int64_t i = 0; i < n; ++i) ptr[size_t(i) + 1] += ptr[size_t(i)];
  order.resize(size_t(e));
  std::vector<int64_t> next(ptr.begin(), ptr.end() - 1);
  for (int64_t k = 0; k < e; ++k) order[size_t(next[size_t(idx[k])]++)] = k;
}

// The row of each entry of a CSR-style row_ptr: [ptr[n]] int64.
inline Tensor<int64_t> rows_of_entries(const int64_t* ptr, int64_t n) {
  Tensor<int64_t> rows = Tensor<int64_t>::empty({n > 0 ? ptr[n] : 0});
  int64_t* r = rows.data_ptr();
  cpu::parallel_for(n, n > 0 ? ptr[n] : 0, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      for (int64_t k = ptr[i]; k < ptr[i + 1]; ++k) r[k] = i;
  });
  return rows;
}

// out[i, :] = sum over k in [ptr[i], ptr[i+1]) of src[order ? order[k] : k, :], rows of width f.
template <class T>
void segment_reduce_sum(const T* src, const int64_t* order, const int64_t* ptr, int64_t n,
                        int64_t f, T* out) {
  cpu::parallel_for(n, (ptr[n] + n) * std::max<int64_t>(f, 1), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      T* __restrict__ o = out + i * f;
      std::fill_n(o, f, T(0));
      for (int64_t k = ptr[i]; k < ptr[i + 1]; ++k) {
        const T* __restrict__ s = src + (order ? order[k] : k) * f;
        EMBER_PRAGMA_SIMD
        for (int64_t c = 0; c < f; ++c) o[c] += s[c];
      }
    }
  });
}

// The product of all dims after the first: the feature width of a [E, F...] tensor.
inline int64_t prod_rest(const Shape& s) {
  int64_t n = 1;
  for (size_t d = 1; d < s.size(); ++d) n *= s[d];
  return n;
}

inline Shape with_rows(const Shape& s, int64_t rows) {
  Shape out = s;
  out[0] = rows;
  return out;
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
  Tensor<T> out;
  if (src.device().is_cuda()) {  // index_add of src's rows into zeros
    out = Tensor<T>::zeros(detail::with_rows(src.shape(), dim_size), src.device());
    cuda::scatter_add_along_dim(src.shape(), 0, detail::broadcast_index(index, src.shape(), 0),
                                src.detach(), out, "scatter_sum");
  } else {
    const Tensor<T> s = src.detach().contiguous();
    const Tensor<int64_t> ic = index.contiguous();
    const int64_t e = s.size(0), f = detail::prod_rest(s.shape());
    std::vector<int64_t> ptr, order;
    detail::counting_sort(ic.data_ptr(), e, dim_size, ptr, order);
    out = Tensor<T>::empty(detail::with_rows(src.shape(), dim_size));
    detail::segment_reduce_sum(s.data_ptr(), order.data(), ptr.data(), dim_size, f,
                               out.data_ptr());
  }
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
  Shape cshape(size_t(src.dim()), 1);
  cshape[0] = dim_size;
  Tensor<T> count = Tensor<T>::zeros(cshape);
  const Tensor<int64_t> ic =
      index.device().is_cuda() ? index.detach().to(Device::cpu()) : index.contiguous();
  for (int64_t k = 0; k < ic.numel(); ++k) count.data_ptr()[ic.data_ptr()[k]] += T(1);
  for (int64_t i = 0; i < dim_size; ++i) count.data_ptr()[i] = std::max(count.data_ptr()[i], T(1));
  return div(scatter_sum(src, index, dim_size), count.to(src.device()));
}

// (max, argmax) of src[e] over index[e] == i, per feature. Empty rows get 0 and argmax E
// (src.size(0)), as torch_scatter.scatter_max does. Ties pick the smallest e.
template <class T>
std::pair<Tensor<T>, Tensor<int64_t>> scatter_max(const Tensor<T>& src,
                                                  const Tensor<int64_t>& index,
                                                  int64_t dim_size = -1) {
  static_assert(!is_complex_v<T>, "scatter_max: complex numbers have no order");
  dim_size = detail::check_scatter_args(src, index, dim_size, "scatter_max");
  const bool on_cuda = cuda::use_cuda("scatter_max", src, index);
  // The index is sorted on the host (a copy, for CUDA: check_scatter_args read it there too).
  const Tensor<int64_t> ic = (on_cuda ? index.detach().to(Device::cpu()) : index).contiguous();
  const int64_t e = src.size(0), f = detail::prod_rest(src.shape());
  std::vector<int64_t> ptr, order;
  detail::counting_sort(ic.data_ptr(), e, dim_size, ptr, order);
  const Shape oshape = detail::with_rows(src.shape(), dim_size);
  if (on_cuda) {  // one GPU thread per (row, feature) scans its sorted run
    const auto to_tensor = [](const std::vector<int64_t>& v) {
      return Tensor<int64_t>::from_vector(v, {int64_t(v.size())});
    };
    const auto res = cuda::scatter_max(src, to_tensor(ptr), to_tensor(order), oshape,
                                       any_requires_grad(src), "scatter_max");
    Tensor<T> out = std::get<0>(res), mask = std::get<2>(res);
    Tensor<int64_t> arg = std::get<1>(res);
    if (any_requires_grad(src))
      record(out, "scatter_max", {src}, [index, mask](const Tensor<T>& g) -> Grads {
        return {mul(index_select(g, 0, index), mask)};
      });
    return {out, arg};
  }
  const Tensor<T> s = src.detach().contiguous();
  Tensor<T> out = Tensor<T>::empty(oshape);
  Tensor<int64_t> arg = Tensor<int64_t>::empty(oshape);
  const T* sp = s.data_ptr();
  T* op = out.data_ptr();
  int64_t* ap = arg.data_ptr();
  cpu::parallel_for(dim_size, (e + dim_size) * std::max<int64_t>(f, 1), [&](int64_t b, int64_t en) {
    for (int64_t i = b; i < en; ++i) {
      T* o = op + i * f;
      int64_t* a = ap + i * f;
      if (ptr[i] == ptr[i + 1]) {
        std::fill_n(o, f, T(0));
        std::fill_n(a, f, e);
        continue;
      }
      const int64_t first = order[ptr[i]];
      std::copy_n(sp + first * f, f, o);
      std::fill_n(a, f, first);
      for (int64_t k = ptr[i] + 1; k < ptr[i + 1]; ++k) {
        const int64_t src_row = order[k];
        const T* r = sp + src_row * f;
        for (int64_t c = 0; c < f; ++c)
          if (r[c] > o[c] || (r[c] != r[c] && o[c] == o[c])) {  // NaN propagates, like max
            o[c] = r[c];
            a[c] = src_row;
          }
      }
    }
  });
  if (any_requires_grad(src)) {
    // mask[e, :] = 1 where e is the argmax of its own output row: a constant of the graph.
    Tensor<T> mask = Tensor<T>::zeros(src.shape());
    T* m = mask.data_ptr();
    const int64_t* ip = ic.data_ptr();
    for (int64_t k = 0; k < e; ++k)
      for (int64_t c = 0; c < f; ++c) m[k * f + c] = ap[ip[k] * f + c] == k ? T(1) : T(0);
    record(out, "scatter_max", {src}, [index, mask](const Tensor<T>& g) -> Grads {
      return {mul(index_select(g, 0, index), mask)};
    });
  }
  return {out, arg};
}

// out[i] = sum of src[row_ptr[i] .. row_ptr[i+1]) along dim 0: [rows, F...] from src [E, F...]
// (torch_scatter.segment_sum_csr).
template <class T>
Tensor<T> segment_sum(const Tensor<T>& src, const Tensor<int64_t>& row_ptr) {
  const bool on_cuda = cuda::use_cuda("segment_sum", src, row_ptr);
  if (!on_cuda) check_cpu(src.device(), "segment_sum");
  EMBER_CHECK(src.defined() && src.dim() >= 1, "segment_sum: expected src of shape [E, F...], got ",
              src.defined() ? shape_str(src.shape()) : std::string("undefined"));
  // CUDA: row_ptr is checked (and the backward's rows built) on a host copy.
  const Tensor<int64_t> host_ptr =
      on_cuda && row_ptr.defined() ? row_ptr.detach().to(Device::cpu()) : row_ptr;
  check_row_ptr(host_ptr, src.size(0), "segment_sum");
  const Tensor<int64_t> rp = host_ptr.contiguous();
  const int64_t n = rp.numel() - 1;
  Tensor<T> out;
  if (on_cuda) {
    out = cuda::segment_sum(src, row_ptr, detail::with_rows(src.shape(), n), "segment_sum");
  } else {
    const Tensor<T> s = src.detach().contiguous();
    const int64_t f = detail::prod_rest(s.shape());
    out = Tensor<T>::empty(detail::with_rows(src.shape(), n));
    detail::segment_reduce_sum(s.data_ptr(), static_cast<const int64_t*>(nullptr), rp.data_ptr(),
                               n, f, out.data_ptr());
  }
  if (any_requires_grad(src))
    record(out, "segment_sum", {src}, [rp](const Tensor<T>& g) -> Grads {
      return {index_select(
          g, 0, detail::rows_of_entries(rp.data_ptr(), rp.numel() - 1).to(g.device()))};
    });
  return out;
}

}  // namespace ember
