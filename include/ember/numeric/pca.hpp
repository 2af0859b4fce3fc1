// Principal component analysis through a symmetric eigendecomposition: the data are centered,
// and the principal axes are the eigenvectors of the d x d covariance Xc^T Xc / (n - 1) or,
// when there are fewer samples than features, are recovered from the n x n Gram matrix
// Xc Xc^T (its eigenvectors u give the axes Xc^T u: the SVD of Xc without an SVD routine),
// whichever matrix is smaller. Variances use n - 1, as numpy.cov and scikit-learn do.
#pragma once

#include <algorithm>
#include <cstdint>
#include <ember/numeric/eigh.hpp>
#include <ember/numeric/matrix.hpp>
#include <ember/numeric/qr.hpp>
#include <vector>

namespace ember::numeric {

class PCA {
 public:
  // Keep n_components axes; 0 keeps min(samples, features) of them.
  explicit PCA(int64_t n_components = 0) : requested_(n_components) {
    EMBER_CHECK(n_components >= 0, "PCA: n_components must be >= 0 (0: all), got ", n_components);
  }

  // Learns the mean and the principal axes of the rows of x [samples, features].
  PCA& fit(const Matrix& x) {
    const int64_t n = x.rows(), d = x.cols();
    EMBER_CHECK(n >= 2 && d >= 1, "PCA::fit: expected at least 2 samples of at least 1 feature, ",
                "got data of shape ", x.shape_string());
    const int64_t k = requested_ == 0 ? std::min(n, d) : requested_;
    EMBER_CHECK(k <= std::min(n, d), "PCA::fit: n_components = ", k, " exceeds min(samples, ",
                "features) = ", std::min(n, d), " for data of shape ", x.shape_string());
    detail::check_finite(x, "PCA::fit");

    mean_.assign(size_t(d), 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < d; ++j) mean_[size_t(j)] += x(i, j);
    for (double& m : mean_) m /= double(n);
    const Matrix xc = centered(x);
    double total = 0.0;  // the trace of the covariance: the sum of all variances
    for (double v : xc.values()) total += v * v;
    total /= double(n - 1);

    Matrix axes;  // [d, k], principal axes as columns, by decreasing variance
    explained_variance_.assign(size_t(k), 0.0);
    if (d <= n) {
      const Eigh e = eigh(detail::symmetrised(matmul(xc, xc, true, false)));
      axes = Matrix(d, k);
      for (int64_t c = 0; c < k; ++c) {  // eigh is ascending: take from the end
        explained_variance_[size_t(c)] = std::max(0.0, e.values[size_t(d - 1 - c)]) / double(n - 1);
        for (int64_t i = 0; i < d; ++i) axes(i, c) = e.vectors(i, d - 1 - c);
      }
    } else {
      const Eigh e = eigh(detail::symmetrised(matmul(xc, xc, false, true)));
      Matrix u(n, k);
      for (int64_t c = 0; c < k; ++c) {
        explained_variance_[size_t(c)] = std::max(0.0, e.values[size_t(n - 1 - c)]) / double(n - 1);
        for (int64_t i = 0; i < n; ++i) u(i, c) = e.vectors(i, n - 1 - c);
      }
      // Xc^T u has length sqrt(eigenvalue); QR normalises the columns and, where an
      // eigenvalue is zero (centering costs one rank), completes them to an orthonormal set.
      axes = qr(matmul(xc, u, true, false)).Q;
    }
    detail::fix_column_signs(axes);
    components_ = axes.transposed();
    explained_variance_ratio_.assign(size_t(k), 0.0);
    if (total > 0)
      for (int64_t c = 0; c < k; ++c)
        explained_variance_ratio_[size_t(c)] = explained_variance_[size_t(c)] / total;
    return *this;
  }

  // Coordinates of the rows of x [samples, features] along the axes: (x - mean) components^T.
  Matrix transform(const Matrix& x) const {
    check_fitted("PCA::transform");
    EMBER_CHECK(x.cols() == int64_t(mean_.size()), "PCA::transform: data of shape ",
                x.shape_string(), " has ", x.cols(), " features; the PCA was fitted on ",
                mean_.size());
    return matmul(centered(x), components_, false, true);
  }

  Matrix fit_transform(const Matrix& x) { return fit(x).transform(x); }

  // Back from coordinates z [samples, k] to features: z components + mean.
  Matrix inverse_transform(const Matrix& z) const {
    check_fitted("PCA::inverse_transform");
    EMBER_CHECK(z.cols() == components_.rows(), "PCA::inverse_transform: coordinates of shape ",
                z.shape_string(), " for ", components_.rows(), " components");
    Matrix x = matmul(z, components_);
    for (int64_t i = 0; i < x.rows(); ++i)
      for (int64_t j = 0; j < x.cols(); ++j) x(i, j) += mean_[size_t(j)];
    return x;
  }

  // [k, features]: row c is the c-th principal axis (unit length; its entry of largest
  // magnitude is positive), by decreasing explained variance.
  const Matrix& components() const { return components_; }
  // The variance of the data along each axis (n - 1 in the denominator).
  const std::vector<double>& explained_variance() const { return explained_variance_; }
  // explained_variance / the total variance of the data (all axes, kept or not).
  const std::vector<double>& explained_variance_ratio() const { return explained_variance_ratio_; }
  const std::vector<double>& mean() const { return mean_; }
  int64_t n_components() const { return components_.rows(); }

 private:
  void check_fitted(const char* op) const { EMBER_CHECK(!mean_.empty(), op, ": call fit first"); }
  Matrix centered(const Matrix& x) const {
    Matrix xc = x;
    for (int64_t i = 0; i < x.rows(); ++i)
      for (int64_t j = 0; j < x.cols(); ++j) xc(i, j) -= mean_[size_t(j)];
    return xc;
  }

  int64_t requested_;
  std::vector<double> mean_;
  Matrix components_;
  std::vector<double> explained_variance_;
  std::vector<double> explained_variance_ratio_;
};

}  // namespace ember::numeric
