// Symmetric eigendecomposition: eigh (all pairs) and top_eigs (the k dominant pairs of a large
// matrix by subspace iteration).
//
// eigh is Householder tridiagonalisation followed by the implicit QL algorithm with Wilkinson
// shifts (EISPACK's tred2 / tql2, in the form of the public-domain JAMA library; LAPACK's
// dsteqr is the same method). Chosen over cyclic Jacobi because it costs about 9 n^3 flops
// where Jacobi needs 6-10 sweeps of about 4 n^3 each with vectors, and QL converges in a
// fixed, small number of steps per eigenvalue (about 1.5) instead of a data-dependent number
// of sweeps; Jacobi's better relative accuracy for tiny eigenvalues matters little for the
// covariance and Gram matrices this serves. Its accuracy is backward stable: |A v - l v| is
// a few ulps of |A|.
#pragma once

#include <cblas.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <ember/core/random.hpp>
#include <ember/numeric/matrix.hpp>
#include <ember/numeric/qr.hpp>
#include <limits>
#include <numeric>
#include <vector>

namespace ember::numeric {

// Eigenpairs: vectors(:, i) is the unit eigenvector of values[i]. Each vector's entry of
// largest magnitude is positive (the first such entry on a tie), so the result is a function
// of the input alone.
struct Eigh {
  std::vector<double> values;
  Matrix vectors;
};

namespace detail {

// Householder reduction of the symmetric matrix in v to tridiagonal form (d: diagonal, e:
// subdiagonal in e[1..n-1]); v ends as the orthogonal transformation. JAMA's tred2.
inline void tridiagonalise(Matrix& v, std::vector<double>& d, std::vector<double>& e) {
  const int64_t n = v.rows();
  for (int64_t j = 0; j < n; ++j) d[j] = v(n - 1, j);
  for (int64_t i = n - 1; i > 0; --i) {
    double scale = 0.0, h = 0.0;  // scaling keeps h = |x|^2 from under- or overflowing
    for (int64_t k = 0; k < i; ++k) scale += std::abs(d[k]);
    if (scale == 0.0) {
      e[i] = d[i - 1];
      for (int64_t j = 0; j < i; ++j) {
        d[j] = v(i - 1, j);
        v(i, j) = 0.0;
        v(j, i) = 0.0;
      }
    } else {
      for (int64_t k = 0; k < i; ++k) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      double f = d[i - 1];
      double g = f > 0 ? -std::sqrt(h) : std::sqrt(h);
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (int64_t j = 0; j < i; ++j) e[j] = 0.0;
      // Apply the similarity transformation to the remaining columns.
      for (int64_t j = 0; j < i; ++j) {
        f = d[j];
        v(j, i) = f;
        g = e[j] + v(j, j) * f;
        for (int64_t k = j + 1; k <= i - 1; ++k) {
          g += v(k, j) * d[k];
          e[k] += v(k, j) * f;
        }
        e[j] = g;
      }
      f = 0.0;
      for (int64_t j = 0; j < i; ++j) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const double hh = f / (h + h);
      for (int64_t j = 0; j < i; ++j) e[j] -= hh * d[j];
      for (int64_t j = 0; j < i; ++j) {
        f = d[j];
        g = e[j];
        for (int64_t k = j; k <= i - 1; ++k) v(k, j) -= (f * e[k] + g * d[k]);
        d[j] = v(i - 1, j);
        v(i, j) = 0.0;
      }
    }
    d[i] = h;
  }
  // Accumulate the transformations.
  for (int64_t i = 0; i < n - 1; ++i) {
    v(n - 1, i) = v(i, i);
    v(i, i) = 1.0;
    const double h = d[i + 1];
    if (h != 0.0) {
      for (int64_t k = 0; k <= i; ++k) d[k] = v(k, i + 1) / h;
      for (int64_t j = 0; j <= i; ++j) {
        double g = 0.0;
        for (int64_t k = 0; k <= i; ++k) g += v(k, i + 1) * v(k, j);
        for (int64_t k = 0; k <= i; ++k) v(k, j) -= g * d[k];
      }
    }
    for (int64_t k = 0; k <= i; ++k) v(k, i + 1) = 0.0;
  }
  for (int64_t j = 0; j < n; ++j) {
    d[j] = v(n - 1, j);
    v(n - 1, j) = 0.0;
  }
  v(n - 1, n - 1) = 1.0;
  e[0] = 0.0;
}

// Implicit QL with Wilkinson shifts on the tridiagonal (d, e), rotating the rows of w (the
// transposed eigenvector matrix: row i is the vector of d[i], so each rotation runs over
// contiguous memory). JAMA's tql2 plus an iteration cap.
inline void tridiagonal_ql(std::vector<double>& d, std::vector<double>& e, Matrix& w) {
  const int64_t n = int64_t(d.size());
  for (int64_t i = 1; i < n; ++i) e[i - 1] = e[i];
  e[n - 1] = 0.0;
  const double eps = std::numeric_limits<double>::epsilon();
  double f = 0.0, tst1 = 0.0;
  constexpr int kMaxIterations = 60;  // per eigenvalue; QL needs about 1.5 on average
  for (int64_t l = 0; l < n; ++l) {
    tst1 = std::max(tst1, std::abs(d[l]) + std::abs(e[l]));
    int64_t m = l;
    while (m < n - 1 && std::abs(e[m]) > eps * tst1) ++m;  // e[n-1] = 0 ends the search
    if (m > l) {
      int iterations = 0;
      do {
        EMBER_CHECK(++iterations <= kMaxIterations,
                    "eigh: the QL iteration did not converge for eigenvalue ", l, " of ", n,
                    " within ", kMaxIterations, " steps");
        // Implicit shift.
        double g = d[l];
        double p = (d[l + 1] - g) / (2.0 * e[l]);
        double r = std::hypot(p, 1.0);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const double dl1 = d[l + 1];
        double h = g - d[l];
        for (int64_t i = l + 2; i < n; ++i) d[i] -= h;
        f += h;
        // Implicit QL transformation.
        p = d[m];
        double c = 1.0, c2 = 1.0, c3 = 1.0, s = 0.0, s2 = 0.0;
        const double el1 = e[l + 1];
        for (int64_t i = m - 1; i >= l; --i) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = std::hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          double* wi = w.data() + i * n;
          double* wi1 = wi + n;
          for (int64_t k = 0; k < n; ++k) {
            const double t = wi1[k];
            wi1[k] = s * wi[k] + c * t;
            wi[k] = c * wi[k] - s * t;
          }
        }
        p = -s * s2 * c3 * el1 * e[l] / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (std::abs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0.0;
  }
}

}  // namespace detail

// All eigenpairs of a symmetric matrix, eigenvalues ascending. The input must be symmetric
// to 1e-10 of its largest entry; it is symmetrised before use.
inline Eigh eigh(const Matrix& a) {
  detail::check_finite(a, "eigh");
  detail::check_symmetric(a, "eigh");
  const int64_t n = a.rows();
  Eigh out{{}, Matrix(n, n)};
  if (n == 0) return out;
  Matrix v = detail::symmetrised(a);
  std::vector<double> d(static_cast<size_t>(n)), e(static_cast<size_t>(n));
  detail::tridiagonalise(v, d, e);
  Matrix w = v.transposed();
  detail::tridiagonal_ql(d, e, w);
  // Ascending order; a stable sort keeps the QL order among equal eigenvalues.
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t(0));
  std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return d[x] < d[y]; });
  out.values.resize(size_t(n));
  for (int64_t j = 0; j < n; ++j) {
    out.values[size_t(j)] = d[size_t(order[size_t(j)])];
    const double* row = w.data() + order[size_t(j)] * n;
    for (int64_t i = 0; i < n; ++i) out.vectors(i, j) = row[i];
  }
  detail::fix_column_signs(out.vectors);
  return out;
}

struct TopEigsOptions {
  // Converged when every wanted pair has |A x - l x| <= tol * |A| (|A| estimated by the
  // largest Ritz value's magnitude). The eigenvalue error is then about tol^2 |A|^2 / gap.
  double tol = 1e-10;
  int64_t max_iterations = 1000;
  // Size p of the iterated block; 0 chooses min(n, max(2k, k + 8)). A larger block converges
  // in fewer iterations: the error shrinks by |l_{p+1}| / |l_k| per iteration.
  int64_t block_size = 0;
  // Iterate on A + shift I (the results are for A). Subspace iteration finds the eigenvalues
  // of largest magnitude; for an indefinite A pass -(a lower bound of its spectrum), e.g. a
  // Gershgorin bound, to get the algebraically largest instead.
  double shift = 0.0;
  uint64_t seed = 0;  // of the random start block
};

// The k eigenpairs of largest |l + shift| of a large symmetric matrix (for a positive
// semidefinite one, the k largest eigenvalues), in decreasing order of |l + shift|, by
// orthogonal (subspace) iteration: Y = A X through cblas_dsymm, a Rayleigh-Ritz step on span(X)
// each iteration, then X = orth(Y) by Householder QR. Reads the upper triangle of A (after
// checking that A is symmetric). Throws ember::Error when the residuals do not reach `tol`
// within `max_iterations`. Same sign convention as eigh.
inline Eigh top_eigs(const Matrix& a, int64_t k, const TopEigsOptions& options = {}) {
  EMBER_CHECK(a.is_square(), "top_eigs: expected a square matrix, got shape ", a.shape_string());
  const int64_t n = a.rows();
  EMBER_CHECK(1 <= k && k <= n, "top_eigs: k = ", k, " eigenpairs requested of a ",
              a.shape_string(), " matrix; expected 1 <= k <= ", n);
  const int64_t p =
      options.block_size == 0 ? std::min(n, std::max(2 * k, k + 8)) : options.block_size;
  EMBER_CHECK(k <= p && p <= n, "top_eigs: block_size ", p, " must lie in [k, n] = [", k, ", ", n,
              "]");
  EMBER_CHECK(options.tol > 0 && options.max_iterations >= 1,
              "top_eigs: expected tol > 0 and max_iterations >= 1, got tol = ", options.tol,
              ", max_iterations = ", options.max_iterations);
  EMBER_CHECK(n <= INT_MAX, "top_eigs: size ", n, " exceeds BLAS's 32-bit integers");
  detail::check_finite(a, "top_eigs");
  detail::check_symmetric(a, "top_eigs");

  Generator gen(options.seed);
  Matrix start(n, p);
  for (int64_t i = 0; i < n * p; ++i) start.data()[i] = gen.normal();
  Matrix x = qr(start).Q;
  Matrix y(n, p);
  double worst = 0.0;  // the largest relative residual of the last iteration, for the error
  for (int64_t iteration = 0; iteration < options.max_iterations; ++iteration) {
    // Y = (A + shift I) X, the one product with A per iteration.
    cblas_dsymm(CblasRowMajor, CblasLeft, CblasUpper, int(n), int(p), 1.0, a.data(), int(n),
                x.data(), int(p), 0.0, y.data(), int(p));
    if (options.shift != 0.0)
      for (int64_t i = 0; i < n * p; ++i) y.data()[i] += options.shift * x.data()[i];

    // Rayleigh-Ritz on span(X): H = X^T Y, H = W diag(theta) W^T, Ritz vectors X W with
    // A (X W) = Y W. Ordered by decreasing |theta|, the order of dominance.
    const Eigh ritz = eigh(detail::symmetrised(matmul(x, y, true, false)));
    std::vector<int64_t> order(static_cast<size_t>(p));
    std::iota(order.begin(), order.end(), int64_t(0));
    std::stable_sort(order.begin(), order.end(), [&](int64_t i, int64_t j) {
      return std::abs(ritz.values[size_t(i)]) > std::abs(ritz.values[size_t(j)]);
    });
    Matrix w(p, p);
    std::vector<double> theta(static_cast<size_t>(p));
    for (int64_t j = 0; j < p; ++j) {
      theta[size_t(j)] = ritz.values[size_t(order[size_t(j)])];
      for (int64_t i = 0; i < p; ++i) w(i, j) = ritz.vectors(i, order[size_t(j)]);
    }
    x = matmul(x, w);
    y = matmul(y, w);

    const double norm_a = std::abs(theta[0]);
    worst = 0.0;
    for (int64_t j = 0; j < k; ++j) {
      double r2 = 0.0;
      for (int64_t i = 0; i < n; ++i) {
        const double r = y(i, j) - theta[size_t(j)] * x(i, j);
        r2 += r * r;
      }
      worst = std::max(worst, norm_a > 0 ? std::sqrt(r2) / norm_a : 0.0);
    }
    if (worst <= options.tol) {
      Eigh out{std::vector<double>(size_t(k)), x.columns(0, k)};
      for (int64_t j = 0; j < k; ++j) out.values[size_t(j)] = theta[size_t(j)] - options.shift;
      detail::fix_column_signs(out.vectors);
      return out;
    }
    x = qr(y).Q;
  }
  fail("top_eigs: no convergence after ", options.max_iterations,
       " iterations: the largest relative residual |A x - l x| / |A| is ", worst,
       " > tol = ", options.tol, " (k = ", k, ", block_size = ", p, ", matrix ", a.shape_string(),
       "); raise max_iterations or block_size, or loosen tol");
}

}  // namespace ember::numeric
