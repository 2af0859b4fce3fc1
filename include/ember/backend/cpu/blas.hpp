// GEMM through OpenBLAS's cblas interface (link -lopenblas).
//
// Strided matrices are handed to BLAS without copying whenever their layout allows it: a
// row-major matrix (strides [ld, 1]) goes as is, a transpose view (strides [1, ld]) goes with
// CblasTrans. Only other layouts (a slice with a column step, a broadcast row) are copied.
// OpenBLAS threads each call itself, so callers must not wrap gemm in OpenMP regions.
#pragma once

#include <cblas.h>

#include <algorithm>
#include <climits>
#include <complex>
#include <cstdint>
#include <type_traits>

#include <ember/core/error.hpp>

namespace ember::cpu {

template <class T>
inline constexpr bool is_blas_type_v =
    std::is_same_v<T, float> || std::is_same_v<T, double> ||
    std::is_same_v<T, std::complex<float>> || std::is_same_v<T, std::complex<double>>;

// How one matrix operand of shape [rows, cols] with strides [s0, s1] is passed to BLAS.
struct BlasOperand {
  bool ok = false;     // false: the layout needs a contiguous copy first
  bool trans = false;  // stored as the row-major transpose ([cols, rows], leading dim ld)
  int64_t ld = 1;
};

// A size-1 dimension's stride is irrelevant, so e.g. a [1, k] row is fine with any s0.
inline BlasOperand blas_operand(int64_t rows, int64_t cols, int64_t s0, int64_t s1) {
  BlasOperand op;
  if ((cols == 1 || s1 == 1) && (rows == 1 || s0 >= std::max<int64_t>(cols, 1))) {
    op.ok = true;
    op.ld = rows == 1 ? std::max<int64_t>(cols, 1) : s0;
  } else if ((rows == 1 || s0 == 1) && (cols == 1 || s1 >= std::max<int64_t>(rows, 1))) {
    op.ok = true;
    op.trans = true;
    op.ld = cols == 1 ? std::max<int64_t>(rows, 1) : s1;
  }
  return op;
}

// Row-major C[m, n] = alpha * op(A)[m, k] * op(B)[k, n] + beta * C, with op = transpose where
// the trans flag is set (conj_* turns it into the conjugate transpose, complex only).
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc, bool conj_a = false,
          bool conj_b = false) {
  static_assert(is_blas_type_v<T>, "gemm: BLAS handles float, double and their complex types");
  EMBER_CHECK(m <= INT_MAX && n <= INT_MAX && k <= INT_MAX && lda <= INT_MAX && ldb <= INT_MAX &&
                  ldc <= INT_MAX,
              "gemm: sizes m=", m, " n=", n, " k=", k, " exceed BLAS's 32-bit integers");
  if (m == 0 || n == 0) return;
  const auto ta = trans_a ? (conj_a ? CblasConjTrans : CblasTrans) : CblasNoTrans;
  const auto tb = trans_b ? (conj_b ? CblasConjTrans : CblasTrans) : CblasNoTrans;
  const int M = int(m), N = int(n), K = int(k), LA = int(lda), LB = int(ldb), LC = int(ldc);
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, alpha, a, LA, b, LB, beta, c, LC);
  } else if constexpr (std::is_same_v<T, double>) {
    cblas_dgemm(CblasRowMajor, ta, tb, M, N, K, alpha, a, LA, b, LB, beta, c, LC);
  } else if constexpr (std::is_same_v<T, std::complex<float>>) {
    cblas_cgemm(CblasRowMajor, ta, tb, M, N, K, &alpha, a, LA, b, LB, &beta, c, LC);
  } else {
    cblas_zgemm(CblasRowMajor, ta, tb, M, N, K, &alpha, a, LA, b, LB, &beta, c, LC);
  }
}

}  // namespace ember::cpu
