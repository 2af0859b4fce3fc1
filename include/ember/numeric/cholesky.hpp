// Cholesky factorisation A = L L^T of a symmetric positive definite matrix, the solves it
// gives, and ridge regression in closed form.
#pragma once

#include <cmath>
#include <cstdint>
#include <ember/numeric/matrix.hpp>

namespace ember::numeric {

// The lower-triangular L with a positive diagonal and A = L L^T. A must be symmetric (to 1e-10
// of its largest entry; the lower triangle is read); a pivot <= 0 means A is not positive
// definite, and the error names it.
inline Matrix cholesky(const Matrix& a) {
  detail::check_finite(a, "cholesky");
  detail::check_symmetric(a, "cholesky");
  const int64_t n = a.rows();
  Matrix l(n, n);
  for (int64_t j = 0; j < n; ++j) {
    const double* lj = l.data() + j * n;
    double pivot = a(j, j);
    for (int64_t k = 0; k < j; ++k) pivot -= lj[k] * lj[k];
    EMBER_CHECK(pivot > 0.0, "cholesky: the ", a.shape_string(),
                " matrix is not positive definite: pivot ", j, " is ", pivot,
                " (expected > 0 after eliminating the first ", j, " columns)");
    const double ljj = std::sqrt(pivot);
    l(j, j) = ljj;
    for (int64_t i = j + 1; i < n; ++i) {
      const double* li = l.data() + i * n;
      double s = a(i, j);
      for (int64_t k = 0; k < j; ++k) s -= li[k] * lj[k];
      l(i, j) = s / ljj;
    }
  }
  return l;
}

// X with A X = B, given L = cholesky(A): forward substitution L Z = B, then back
// substitution L^T X = Z, for all columns of B at once.
inline Matrix cholesky_solve(const Matrix& l, const Matrix& b) {
  EMBER_CHECK(l.is_square(), "cholesky_solve: expected a square factor L, got shape ",
              l.shape_string());
  EMBER_CHECK(b.rows() == l.rows(), "cholesky_solve: the right-hand side ", b.shape_string(),
              " needs ", l.rows(), " rows to match the factor ", l.shape_string());
  const int64_t n = l.rows(), r = b.cols();
  for (int64_t i = 0; i < n; ++i)
    EMBER_CHECK(l(i, i) > 0.0, "cholesky_solve: diagonal entry ", i, " of L is ", l(i, i),
                "; expected a Cholesky factor (positive diagonal)");
  Matrix x = b;
  for (int64_t i = 0; i < n; ++i) {  // L Z = B, row by row (row i of L times rows of Z)
    double* xi = x.data() + i * r;
    for (int64_t k = 0; k < i; ++k) {
      const double lik = l(i, k);
      const double* xk = x.data() + k * r;
      for (int64_t c = 0; c < r; ++c) xi[c] -= lik * xk[c];
    }
    for (int64_t c = 0; c < r; ++c) xi[c] /= l(i, i);
  }
  for (int64_t i = n - 1; i >= 0; --i) {  // L^T X = Z: (L^T)(i, k) = L(k, i)
    double* xi = x.data() + i * r;
    for (int64_t k = i + 1; k < n; ++k) {
      const double lki = l(k, i);
      const double* xk = x.data() + k * r;
      for (int64_t c = 0; c < r; ++c) xi[c] -= lki * xk[c];
    }
    for (int64_t c = 0; c < r; ++c) xi[c] /= l(i, i);
  }
  return x;
}

// X with A X = B for a symmetric positive definite A.
inline Matrix solve_spd(const Matrix& a, const Matrix& b) {
  EMBER_CHECK(a.is_square() && b.rows() == a.rows(), "solve_spd: expected a square A and a B ",
              "with as many rows, got A ", a.shape_string(), " and B ", b.shape_string());
  return cholesky_solve(cholesky(a), b);
}

// Ridge regression without intercept: W [d, t] minimising |X W - Y|^2 + lambda |W|^2 for X
// [n, d] and Y [n, t], i.e. W = (X^T X + lambda I)^-1 X^T Y (center X and Y first for an
// intercept). lambda >= 0; lambda = 0 is least squares and needs X of full column rank.
inline Matrix ridge_regression(const Matrix& x, const Matrix& y, double lambda) {
  EMBER_CHECK(x.rows() == y.rows(), "ridge_regression: X ", x.shape_string(), " and Y ",
              y.shape_string(), " must have the same number of rows (samples)");
  EMBER_CHECK(lambda >= 0.0 && std::isfinite(lambda),
              "ridge_regression: expected a finite lambda >= 0, got ", lambda);
  detail::check_finite(x, "ridge_regression");
  detail::check_finite(y, "ridge_regression");
  Matrix gram = matmul(x, x, true, false);
  for (int64_t i = 0; i < gram.rows(); ++i) gram(i, i) += lambda;
  // X^T X is symmetric in exact arithmetic but dgemm may round its two triangles differently.
  Matrix l;
  try {
    l = cholesky(detail::symmetrised(gram));
  } catch (const Error& e) {
    fail("ridge_regression: X^T X + lambda I is not positive definite for X ", x.shape_string(),
         " and lambda = ", lambda, " (X lacks full column rank; use lambda > 0): ", e.what());
  }
  return cholesky_solve(l, matmul(x, y, true, false));
}

}  // namespace ember::numeric
