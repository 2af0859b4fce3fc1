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
//   segment_softmax: grad src = y * (g - expand(segment_sum(g * y)))
//
// Kernels: parallel over output rows (no atomics, deterministic), split so every thread gets
// about the same number of entries; the innermost loop runs over the F contiguous features.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ember/backend/cpu/parallel.hpp>
#include <ember/backend/cuda/dispatch_spectral.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/indexing.hpp>
#include <ember/ops/scatter.hpp>
#include <ember/sparse/csr.hpp>
#include <limits>
#include <vector>

namespace ember {

namespace detail {

// Calls f(r0, r1) on row ranges that together cover [0, rows), one per thread, each holding
// about the same number of entries (+ rows, so empty rows count too).
template <class I, class F>
void parallel_rows_balanced(int64_t rows, const I* rp, int64_t work, F&& f) {
  const int64_t nt = std::max(1, cpu::max_threads());
  if (nt == 1 || work < cpu::kParallelGrain || rows < 2) {
    f(int64_t(0), rows);
    return;
  }
  const int64_t total = int64_t(rp[rows]) + rows;
  cpu::parallel_for(nt, work, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      // First row r with rp[r] + r >= target: binary search on the monotone rp[r] + r.
      auto first_row = [&](int64_t target) {
        int64_t lo = 0, hi = rows;
        while (lo < hi) {
          const int64_t mid = (lo + hi) / 2;
          if (int64_t(rp[mid]) + mid < target)
            lo = mid + 1;
          else
            hi = mid;
        }
        return lo;
      };
      const int64_t r0 = t == 0 ? 0 : first_row(total * t / nt);
      const int64_t r1 = t == nt - 1 ? rows : first_row(total * (t + 1) / nt);
      if (r0 < r1) f(r0, r1);
    }
  });
}

// out[r, h, :] = sum_k v[k, h] * x[c_k, h, :] over rows [r0, r1); x rows of H * C elements.
// always_inline so that spmm_rows_avx2 below compiles this same body for AVX2 + FMA.
template <class T, class I>
__attribute__((always_inline)) inline void spmm_rows(int64_t r0, int64_t r1, const I* __restrict__ rp, const I* __restrict__ ci,
               const T* __restrict__ v, const T* __restrict__ x, int64_t H, int64_t C,
               T* __restrict__ out) {
  const int64_t F = H * C;
  for (int64_t r = r0; r < r1; ++r) {
    T* __restrict__ o = out + r * F;
    std::fill_n(o, F, T(0));
    const int64_t k0 = int64_t(rp[r]), k1 = int64_t(rp[r + 1]);
    if (H == 1) {
      int64_t k = k0;
      for (; k + 1 < k1; k += 2) {  // two rows at a time: half the loads and stores of o
        const T a0 = v[k], a1 = v[k + 1];
        const T* __restrict__ x0 = x + int64_t(ci[k]) * F;
        const T* __restrict__ x1 = x + int64_t(ci[k + 1]) * F;
        EMBER_PRAGMA_SIMD
        for (int64_t c = 0; c < F; ++c) o[c] += a0 * x0[c] + a1 * x1[c];
      }
      if (k < k1) {
        const T a0 = v[k];
        const T* __restrict__ x0 = x + int64_t(ci[k]) * F;
        EMBER_PRAGMA_SIMD
        for (int64_t c = 0; c < F; ++c) o[c] += a0 * x0[c];
      }
    } else {
      for (int64_t k = k0; k < k1; ++k) {
        const T* __restrict__ xr = x + int64_t(ci[k]) * F;
        for (int64_t h = 0; h < H; ++h) {
          const T a = v[k * H + h];
          T* __restrict__ oh = o + h * C;
          const T* __restrict__ xh = xr + h * C;
          EMBER_PRAGMA_SIMD
          for (int64_t c = 0; c < C; ++c) oh[c] += a * xh[c];
        }
      }
    }
  }
}

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__AVX2__)
// The same loop (spmm_rows, inlined) compiled for AVX2 + FMA, chosen at run time where the CPU
// has them (the library is built for baseline x86-64, so plain code gets only SSE2).
template <class T, class I>
__attribute__((target("avx2,fma"))) void spmm_rows_avx2(
    int64_t r0, int64_t r1, const I* __restrict__ rp, const I* __restrict__ ci,
    const T* __restrict__ v, const T* __restrict__ x, int64_t H, int64_t C, T* __restrict__ out) {
  spmm_rows<T, I>(r0, r1, rp, ci, v, x, H, C, out);
}
inline bool cpu_has_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}
#endif

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
  // CUDA: the pattern stays on the host, its index arrays are cached on the device.
  const bool on_cuda = cuda::use_cuda(op, x, a.values());
  if (!on_cuda) check_cpu(x.device(), op);
  const Tensor<T>& vals = a.values();
  const auto [H, C] = detail::sparse_heads(vals, x, a.cols(), op, "X");
  Tensor<T> out;
  if (on_cuda) {
    const auto [drp, dci] = a.pattern()->on_device(x.device());
    Shape out_shape = x.shape();
    out_shape[0] = a.rows();
    out = cuda::spmm_csr(drp, dci, vals.detach().contiguous(), x.detach().contiguous(), a.rows(), H,
                         C, out_shape);
  } else {
    const Tensor<T> xc = x.detach().contiguous(), vc = vals.detach().contiguous();
    Shape out_shape = x.shape();
    out_shape[0] = a.rows();
    out = Tensor<T>::empty(out_shape);
    const I* rp = a.row_ptr().data_ptr();
    const I* ci = a.col_idx().data_ptr();
    const T* v = vc.data_ptr();
    const T* xp = xc.data_ptr();
    T* o = out.data_ptr();
    const int64_t work = (a.nnz() + a.rows()) * H * C;
    detail::parallel_rows_balanced(a.rows(), rp, work, [&](int64_t r0, int64_t r1) {
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__AVX2__)
      if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
        if (detail::cpu_has_avx2()) {
          detail::spmm_rows_avx2<T, I>(r0, r1, rp, ci, v, xp, H, C, o);
          return;
        }
      }
#endif
      detail::spmm_rows<T, I>(r0, r1, rp, ci, v, xp, H, C, o);
    });
  }
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
  const bool on_cuda = cuda::use_cuda(op, p, q);
  if (!on_cuda) {
    check_cpu(p.device(), op);
    check_cpu(q.device(), op);
  }
  EMBER_CHECK((p.dim() == 2 || p.dim() == 3) && q.dim() == p.dim() && p.size(0) == a.rows() &&
                  q.size(0) == a.cols() &&
                  std::equal(p.shape().begin() + 1, p.shape().end(), q.shape().begin() + 1),
              op, ": expected P [", a.rows(), ", F] and Q [", a.cols(),
              ", F] (or [.., H, C] both) for a [", a.rows(), ", ", a.cols(), "] matrix, got P ",
              shape_str(p.shape()), " and Q ", shape_str(q.shape()));
  const int64_t H = p.dim() == 3 ? p.size(1) : 1, C = p.dim() == 3 ? p.size(2) : p.size(1);
  Tensor<T> out;
  if (on_cuda) {
    const auto [drp, dci] = a.pattern()->on_device(p.device());
    out = cuda::sddmm_csr(drp, dci, p.detach().contiguous(), q.detach().contiguous(), a.rows(), H, C,
                          p.dim() == 3 ? Shape{a.nnz(), H} : Shape{a.nnz()});
  } else {
    const Tensor<T> pc = p.detach().contiguous(), qc = q.detach().contiguous();
    out = p.dim() == 3 ? Tensor<T>::empty({a.nnz(), H}) : Tensor<T>::empty({a.nnz()});
    const I* rp = a.row_ptr().data_ptr();
    const I* ci = a.col_idx().data_ptr();
    const T* pp = pc.data_ptr();
    const T* qp = qc.data_ptr();
    T* o = out.data_ptr();
    const int64_t F = H * C;
    detail::parallel_rows_balanced(a.rows(), rp, (a.nnz() + a.rows()) * F,
                                   [&](int64_t r0, int64_t r1) {
                                     for (int64_t r = r0; r < r1; ++r) {
                                       const T* __restrict__ pr = pp + r * F;
                                       for (int64_t k = int64_t(rp[r]); k < int64_t(rp[r + 1]); ++k) {
                                         const T* __restrict__ qr = qp + int64_t(ci[k]) * F;
                                         for (int64_t h = 0; h < H; ++h) {
                                           T acc = T(0);
                                           const T* __restrict__ ph = pr + h * C;
                                           const T* __restrict__ qh = qr + h * C;
#ifdef _OPENMP
#pragma omp simd reduction(+ : acc)
#endif
                                           for (int64_t c = 0; c < C; ++c) acc += ph[c] * qh[c];
                                           o[k * H + h] = acc;
                                         }
                                       }
                                     }
                                   });
  }
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
  if (cuda::use_cuda(op, src)) {  // row_ptr is validated on the host, then copied
    const Tensor<int64_t> rp_host = row_ptr.defined() ? row_ptr.to(Device::cpu()) : row_ptr;
    check_row_ptr(rp_host, src.size(0), op);
    const Tensor<int64_t> rp = rp_host.to(src.device());
    Tensor<T> out = cuda::segment_softmax_forward(src.detach().contiguous(), rp);
    // The backward is one kernel; under create_graph it is the CPU's differentiable
    // composition instead (its ops run on the GPU too), so second derivatives are right.
    if (any_requires_grad(src))
      record(out, "segment_softmax", {src},
             [src, rp, rp_host, y = out.detach()](const Tensor<T>& g) -> Grads {
               if (!GradMode::is_enabled()) return {cuda::segment_softmax_backward(g, y, rp)};
               const Tensor<T> yy = segment_softmax(src, rp);
               const Tensor<T> gy = mul(g, yy);
               const Tensor<T> rows_sum = segment_sum(gy, rp);
               const Tensor<int64_t> rp_c = rp_host.contiguous();
               const Tensor<int64_t> rows =
                   detail::rows_of_entries(rp_c.data_ptr(), rp_c.numel() - 1).to(src.device());
               return {sub(gy, mul(yy, index_select(rows_sum, 0, rows)))};
             });
    return out;
  }
  check_cpu(src.device(), op);
  check_row_ptr(row_ptr, src.size(0), op);
  const Tensor<T> s = src.detach().contiguous();
  const Tensor<int64_t> rp = row_ptr.contiguous();
  const int64_t n = rp.numel() - 1, H = detail::prod_rest(s.shape());
  Tensor<T> out = Tensor<T>::empty(src.shape());
  const T* sp = s.data_ptr();
  T* o = out.data_ptr();
  const int64_t* p = rp.data_ptr();
  detail::parallel_rows_balanced(n, p, (s.size(0) + n) * H * 8, [&](int64_t r0, int64_t r1) {
    std::vector<T> mx(static_cast<size_t>(H)), sm(static_cast<size_t>(H));
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t k0 = p[r], k1 = p[r + 1];
      if (k0 == k1) continue;
      std::fill(mx.begin(), mx.end(), -std::numeric_limits<T>::infinity());
      std::fill(sm.begin(), sm.end(), T(0));
      for (int64_t k = k0; k < k1; ++k)
        for (int64_t h = 0; h < H; ++h) mx[h] = std::max(mx[h], sp[k * H + h]);
      for (int64_t k = k0; k < k1; ++k)
        for (int64_t h = 0; h < H; ++h) {
          // A row of -inf only (fully masked) would give nan; use 0 as the shift then.
          const T m = std::isinf(mx[h]) ? T(0) : mx[h];
          const T e = std::exp(sp[k * H + h] - m);
          o[k * H + h] = e;
          sm[h] += e;
        }
      for (int64_t k = k0; k < k1; ++k)
        for (int64_t h = 0; h < H; ++h) o[k * H + h] /= sm[h];
    }
  });
  if (any_requires_grad(src))
    record(out, "segment_softmax", {src}, [src, rp, y = out.detach()](const Tensor<T>& g) -> Grads {
      // Recompute y from src under create_graph so the rule itself is differentiable.
      const Tensor<T> yy = GradMode::is_enabled() ? segment_softmax(src, rp) : y;
      const Tensor<T> gy = mul(g, yy);
      const Tensor<T> rows_sum = segment_sum(gy, rp);
      const Tensor<int64_t> rows = detail::rows_of_entries(rp.data_ptr(), rp.numel() - 1);
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
