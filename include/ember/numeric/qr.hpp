// Householder QR of a tall matrix: A = Q R with Q [m, n] having orthonormal columns and R
// [n, n] upper triangular, diag(R) >= 0 (the sign choice that makes the factorisation unique
// for a full-rank A, as in numpy's documentation example and most textbooks).
//
// Householder rather than Gram-Schmidt: Q^T Q = I to rounding whatever the conditioning of A,
// which subspace iteration (eigh.hpp's top_eigs) relies on to re-orthonormalise its block.
#pragma once

#include <cmath>
#include <cstdint>
#include <ember/numeric/matrix.hpp>
#include <vector>

namespace ember::numeric {

struct QR {
  Matrix Q;  // [m, n], Q^T Q = I
  Matrix R;  // [n, n], upper triangular, diag(R) >= 0
};

inline QR qr(const Matrix& a) {
  const int64_t m = a.rows(), n = a.cols();
  EMBER_CHECK(m >= n, "qr: expected a matrix with at least as many rows as columns (m >= n), ",
              "got shape ", a.shape_string());
  detail::check_finite(a, "qr");

  // Reduce a copy of A to R in place, keeping each unit reflector v_j (H_j = I - 2 v v^T acts
  // on rows j..m-1). Rows are walked in the inner loops so every access is contiguous.
  Matrix r = a;
  std::vector<std::vector<double>> reflectors(static_cast<size_t>(n));
  std::vector<double> w(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) {
    std::vector<double>& v = reflectors[size_t(j)];
    v.assign(size_t(m - j), 0.0);
    const double norm_x = detail::norm2(m - j, r.data() + j * n + j, n);
    if (norm_x == 0.0) continue;  // a zero column: H_j = I (v stays zero)
    // alpha takes the sign opposite to x_0 so that x - alpha e_1 does not cancel.
    const double alpha = r(j, j) > 0 ? -norm_x : norm_x;
    for (int64_t i = j; i < m; ++i) v[size_t(i - j)] = r(i, j);
    v[0] -= alpha;
    const double norm_v = detail::norm2(m - j, v.data(), 1);
    for (double& x : v) x /= norm_v;
    // R[j:, j:] -= 2 v (v^T R[j:, j:])
    std::fill(w.begin() + j, w.end(), 0.0);
    for (int64_t i = j; i < m; ++i) {
      const double vi = v[size_t(i - j)];
      for (int64_t c = j; c < n; ++c) w[size_t(c)] += vi * r(i, c);
    }
    for (int64_t i = j; i < m; ++i) {
      const double vi2 = 2.0 * v[size_t(i - j)];
      for (int64_t c = j; c < n; ++c) r(i, c) -= vi2 * w[size_t(c)];
    }
    r(j, j) = alpha;  // exact values below the diagonal: alpha e_1 and zeros
    for (int64_t i = j + 1; i < m; ++i) r(i, j) = 0.0;
  }

  // Q = H_0 H_1 ... H_{n-1} [I_n; 0], applied right to left. Before H_j is applied, rows >= j
  // of columns < j are still zero, so only columns j.. are touched.
  Matrix q(m, n);
  for (int64_t i = 0; i < n; ++i) q(i, i) = 1.0;
  for (int64_t j = n - 1; j >= 0; --j) {
    const std::vector<double>& v = reflectors[size_t(j)];
    std::fill(w.begin() + j, w.end(), 0.0);
    for (int64_t i = j; i < m; ++i) {
      const double vi = v[size_t(i - j)];
      if (vi == 0.0) continue;
      for (int64_t c = j; c < n; ++c) w[size_t(c)] += vi * q(i, c);
    }
    for (int64_t i = j; i < m; ++i) {
      const double vi2 = 2.0 * v[size_t(i - j)];
      if (vi2 == 0.0) continue;
      for (int64_t c = j; c < n; ++c) q(i, c) -= vi2 * w[size_t(c)];
    }
  }

  QR out{std::move(q), Matrix(n, n)};
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = i; c < n; ++c) out.R(i, c) = r(i, c);
  // diag(R) >= 0: flip row i of R together with column i of Q, which leaves Q R unchanged.
  for (int64_t i = 0; i < n; ++i) {
    if (out.R(i, i) >= 0) continue;
    for (int64_t c = i; c < n; ++c) out.R(i, c) = -out.R(i, c);
    for (int64_t row = 0; row < m; ++row) out.Q(row, i) = -out.Q(row, i);
  }
  return out;
}

}  // namespace ember::numeric
