// The CPU kernels of the sparse family (ops/sparse.hpp, sparse/csr.hpp): spmm, sddmm, the
// softmax over each segment of entries and its backward, and the row gather that permutes
// entry values into the transpose's order.
//
// Parallel over output rows (no atomics, deterministic), split so every thread gets about the
// same number of entries; the innermost loop runs over the F contiguous features.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include <ember/backend/cpu/parallel.hpp>
#include <ember/backend/cpu/scatter.hpp>  // EMBER_PRAGMA_SIMD

namespace ember::cpu {

// Calls f(r0, r1) on row ranges that together cover [0, rows), one per thread, each holding
// about the same number of entries (+ rows, so empty rows count too).
template <class I, class F>
void parallel_rows_balanced(int64_t rows, const I* rp, int64_t work, F&& f) {
  const int64_t nt = std::max(1, max_threads());
  if (nt == 1 || work < kParallelGrain || rows < 2) {
    f(int64_t(0), rows);
    return;
  }
  const int64_t total = int64_t(rp[rows]) + rows;
  parallel_for(nt, work, [&](int64_t b, int64_t e) {
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
__attribute__((always_inline)) inline void spmm_rows(
    int64_t r0, int64_t r1, const I* __restrict__ rp, const I* __restrict__ ci,
    const T* __restrict__ v, const T* __restrict__ x, int64_t H, int64_t C, T* __restrict__ out) {
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

// out [rows, H * C] = A · x for the CSR arrays (rp [rows + 1], ci [nnz]), values v [nnz, H]
// and x [cols, H * C], all contiguous.
template <class T, class I>
void spmm(const I* rp, const I* ci, const T* v, const T* x, int64_t rows, int64_t nnz, int64_t H,
          int64_t C, T* out) {
  const int64_t work = (nnz + rows) * H * C;
  parallel_rows_balanced(rows, rp, work, [&](int64_t r0, int64_t r1) {
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__AVX2__)
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
      if (cpu_has_avx2()) {
        spmm_rows_avx2<T, I>(r0, r1, rp, ci, v, x, H, C, out);
        return;
      }
    }
#endif
    spmm_rows<T, I>(r0, r1, rp, ci, v, x, H, C, out);
  });
}

// out[k, h] = <p[r_k, h, :], q[c_k, h, :]> at every entry k = (r_k, c_k) of the CSR pattern;
// p [rows, H * C], q [cols, H * C], out [nnz, H], all contiguous.
template <class T, class I>
void sddmm(const I* rp, const I* ci, const T* p, const T* q, int64_t rows, int64_t nnz, int64_t H,
           int64_t C, T* out) {
  const int64_t F = H * C;
  parallel_rows_balanced(rows, rp, (nnz + rows) * F, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* __restrict__ pr = p + r * F;
      for (int64_t k = int64_t(rp[r]); k < int64_t(rp[r + 1]); ++k) {
        const T* __restrict__ qr = q + int64_t(ci[k]) * F;
        for (int64_t h = 0; h < H; ++h) {
          T acc = T(0);
          const T* __restrict__ ph = pr + h * C;
          const T* __restrict__ qh = qr + h * C;
#ifdef _OPENMP
#pragma omp simd reduction(+ : acc)
#endif
          for (int64_t c = 0; c < C; ++c) acc += ph[c] * qh[c];
          out[k * H + h] = acc;
        }
      }
    }
  });
}

// Softmax of src [E, H] over each segment rp[s] .. rp[s+1] (per column h), nseg segments.
// Empty segments produce nothing.
template <class T>
void segment_softmax_forward(const T* src, const int64_t* rp, int64_t nseg, int64_t H, T* out) {
  const int64_t e = nseg > 0 ? rp[nseg] : 0;
  parallel_rows_balanced(nseg, rp, (e + nseg) * H * 8, [&](int64_t r0, int64_t r1) {
    std::vector<T> mx(static_cast<size_t>(H)), sm(static_cast<size_t>(H));
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t k0 = rp[r], k1 = rp[r + 1];
      if (k0 == k1) continue;
      std::fill(mx.begin(), mx.end(), -std::numeric_limits<T>::infinity());
      std::fill(sm.begin(), sm.end(), T(0));
      for (int64_t k = k0; k < k1; ++k)
        for (int64_t h = 0; h < H; ++h) mx[h] = std::max(mx[h], src[k * H + h]);
      for (int64_t k = k0; k < k1; ++k)
        for (int64_t h = 0; h < H; ++h) {
          // A row of -inf only (fully masked) would give nan; use 0 as the shift then.
          const T m = std::isinf(mx[h]) ? T(0) : mx[h];
          const T ex = std::exp(src[k * H + h] - m);
          out[k * H + h] = ex;
          sm[h] += ex;
        }
      for (int64_t k = k0; k < k1; ++k)
        for (int64_t h = 0; h < H; ++h) out[k * H + h] /= sm[h];
    }
  });
}

// Its gradient from g and the output y ([E, H]): gx = g y - y sum_segment(g y) per column h,
// each segment's sum in increasing k (the order of segment_sum, so a plain backward gives the
// same numbers as the create_graph rule).
template <class T>
void segment_softmax_backward(const T* g, const T* y, const int64_t* rp, int64_t nseg, int64_t H,
                              T* gx) {
  const int64_t e = nseg > 0 ? rp[nseg] : 0;
  parallel_rows_balanced(nseg, rp, (e + nseg) * H * 4, [&](int64_t r0, int64_t r1) {
    std::vector<T> sm(static_cast<size_t>(H));
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t k0 = rp[r], k1 = rp[r + 1];
      std::fill(sm.begin(), sm.end(), T(0));
      for (int64_t k = k0; k < k1; ++k)
        for (int64_t h = 0; h < H; ++h) sm[h] += g[k * H + h] * y[k * H + h];
      for (int64_t k = k0; k < k1; ++k)
        for (int64_t h = 0; h < H; ++h) {
          const T gy = g[k * H + h] * y[k * H + h];
          gx[k * H + h] = gy - y[k * H + h] * sm[h];
        }
    }
  });
}

// out[k, :] = v[perm[k], :] for k < n, rows of W elements.
template <class T>
void gather_rows(const T* v, const int64_t* perm, int64_t n, int64_t W, T* out) {
  parallel_for(n, n * W, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) std::copy_n(v + perm[k] * W, W, out + k * W);
  });
}

}  // namespace ember::cpu
