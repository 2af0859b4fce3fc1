// Ridge regression with an intercept and standardised features, and the choice of lambda by
// k-fold cross-validation over a grid (the fusion regressor of the SSTAM note: "standardise,
// then fit ridge regression (closed form; lambda chosen by 5-fold CV on train)").
//
//   fit_ridge(X, Y, lambda)       centre X and Y, scale X's columns to unit variance (both
//                                 with the training data's statistics), then the closed form
//                                 of cholesky.hpp's ridge_regression
//   kfold_assignment(n, k, seed)  the fold of each sample: a seeded shuffle dealt round-robin,
//                                 so fold sizes differ by at most one
//   ridge_cv(X, Y, lambdas)       for each lambda, the pooled held-out mean squared error over
//                                 the k folds (each fold's model refitted with that fold's own
//                                 training statistics); the lambda with the smallest error,
//                                 ties going to the larger lambda; the model refitted on all data
//   log_grid(lo, hi, n)           n lambdas evenly spaced in log10 from lo to hi
//
// lambda applies to the standardised problem, so one grid fits features of any units.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ember/core/error.hpp>
#include <ember/core/random.hpp>
#include <ember/numeric/cholesky.hpp>
#include <ember/numeric/matrix.hpp>
#include <limits>
#include <numeric>
#include <utility>
#include <vector>

namespace ember::numeric {

struct RidgeOptions {
  bool fit_intercept = true;  // centre X and Y (the intercept is not penalised)
  bool standardize = true;    // scale X's columns to unit (population) variance
};

struct RidgeModel {
  Matrix weights;               // [d, t], on the centred and scaled features
  std::vector<double> x_mean;   // [d] (zeros without an intercept)
  std::vector<double> x_scale;  // [d] (ones without standardisation)
  std::vector<double> y_mean;   // [t] (zeros without an intercept)
  double lambda = 0.0;

  // Predictions [n, t] for X [n, d].
  Matrix predict(const Matrix& x) const {
    EMBER_CHECK(x.cols() == weights.rows(), "RidgeModel::predict: X ", x.shape_string(), " needs ",
                weights.rows(), " columns (the features the model was fitted on)");
    Matrix z = transformed(x);
    Matrix y = matmul(z, weights);
    for (int64_t i = 0; i < y.rows(); ++i)
      for (int64_t j = 0; j < y.cols(); ++j) y(i, j) += y_mean[size_t(j)];
    return y;
  }
  // The weights in the original feature units ([d, t]): y = intercept + X coefficients.
  Matrix coefficients() const {
    Matrix c = weights;
    for (int64_t i = 0; i < c.rows(); ++i)
      for (int64_t j = 0; j < c.cols(); ++j) c(i, j) /= x_scale[size_t(i)];
    return c;
  }
  std::vector<double> intercept() const {
    const Matrix c = coefficients();
    std::vector<double> b = y_mean;
    for (int64_t j = 0; j < c.cols(); ++j)
      for (int64_t i = 0; i < c.rows(); ++i) b[size_t(j)] -= x_mean[size_t(i)] * c(i, j);
    return b;
  }
  // (X - mean) / scale.
  Matrix transformed(const Matrix& x) const {
    Matrix z = x;
    for (int64_t i = 0; i < z.rows(); ++i)
      for (int64_t j = 0; j < z.cols(); ++j)
        z(i, j) = (z(i, j) - x_mean[size_t(j)]) / x_scale[size_t(j)];
    return z;
  }
};

namespace detail {
inline Matrix rows_of(const Matrix& m, const std::vector<int64_t>& rows) {
  Matrix out(int64_t(rows.size()), m.cols());
  for (size_t r = 0; r < rows.size(); ++r)
    for (int64_t j = 0; j < m.cols(); ++j) out(int64_t(r), j) = m(rows[r], j);
  return out;
}
}  // namespace detail

// Ridge on X [n, d], Y [n, t] with the options' centring and scaling. A column that is
// constant in X (standard deviation below 1e-12 of its magnitude) gets scale 1 (it is all zeros
// once centred, and the penalty keeps its weight 0).
inline RidgeModel fit_ridge(const Matrix& x, const Matrix& y, double lambda,
                            RidgeOptions options = {}) {
  EMBER_CHECK(x.rows() == y.rows() && x.rows() > 0, "fit_ridge: X ", x.shape_string(), " and Y ",
              y.shape_string(), " need the same, positive number of rows (samples)");
  const int64_t n = x.rows(), d = x.cols(), t = y.cols();
  RidgeModel m;
  m.lambda = lambda;
  m.x_mean.assign(size_t(d), 0.0);
  m.x_scale.assign(size_t(d), 1.0);
  m.y_mean.assign(size_t(t), 0.0);
  if (options.fit_intercept) {
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < d; ++j) m.x_mean[size_t(j)] += x(i, j) / double(n);
      for (int64_t j = 0; j < t; ++j) m.y_mean[size_t(j)] += y(i, j) / double(n);
    }
  }
  if (options.standardize) {
    for (int64_t j = 0; j < d; ++j) {
      double var = 0.0;
      for (int64_t i = 0; i < n; ++i) {
        const double c = x(i, j) - m.x_mean[size_t(j)];
        var += c * c / double(n);
      }
      // Constant up to the rounding of the mean: treat as constant.
      const double sd = std::sqrt(var);
      m.x_scale[size_t(j)] = sd > 1e-12 * std::max(1.0, std::abs(m.x_mean[size_t(j)])) ? sd : 1.0;
    }
  }
  Matrix yc = y;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < t; ++j) yc(i, j) -= m.y_mean[size_t(j)];
  m.weights = ridge_regression(m.transformed(x), yc, lambda);
  return m;
}

// The fold (0..k-1) of each of n samples: a Fisher-Yates shuffle seeded by `seed`, dealt
// round-robin. The same (n, k, seed) gives the same folds on every machine.
inline std::vector<int64_t> kfold_assignment(int64_t n, int64_t k, uint64_t seed) {
  EMBER_CHECK(k >= 2 && k <= n, "kfold_assignment: need 2 <= k <= n, got k = ", k, ", n = ", n);
  std::vector<int64_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), int64_t{0});
  Generator gen(seed);
  for (int64_t i = n - 1; i > 0; --i)
    std::swap(perm[size_t(i)], perm[size_t(gen.randint(0, i + 1))]);
  std::vector<int64_t> fold(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) fold[size_t(perm[size_t(i)])] = i % k;
  return fold;
}

// n values from lo to hi (both > 0), evenly spaced in log10.
inline std::vector<double> log_grid(double lo, double hi, int64_t n) {
  EMBER_CHECK(lo > 0.0 && hi >= lo && n >= 1 && (n > 1 || lo == hi),
              "log_grid: need 0 < lo <= hi and n >= 1 (n = 1 only for lo = hi), got lo = ", lo,
              ", hi = ", hi, ", n = ", n);
  std::vector<double> g(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    g[size_t(i)] = n == 1 ? lo
                          : std::pow(10.0, std::log10(lo) + (std::log10(hi) - std::log10(lo)) *
                                                                double(i) / double(n - 1));
  return g;
}

struct RidgeCvOptions {
  int64_t folds = 5;
  uint64_t seed = 0;  // of the fold assignment
  RidgeOptions ridge{};
};

struct RidgeCvResult {
  double lambda = 0.0;      // the chosen lambda
  int64_t best_index = -1;  // its index in lambdas
  std::vector<double> lambdas;
  std::vector<double> cv_mse;  // pooled held-out MSE per lambda (+inf where a fit failed)
  std::vector<int64_t> folds;  // the fold of each sample
  RidgeModel model;            // refitted on all samples with the chosen lambda
};

// k-fold choice of lambda over `lambdas` for X [n, d], Y [n, t]. A lambda whose fit fails on
// some fold (lambda = 0 with fewer training rows than features) scores +inf; if all fail, the
// error says so.
inline RidgeCvResult ridge_cv(const Matrix& x, const Matrix& y, const std::vector<double>& lambdas,
                              RidgeCvOptions options = {}) {
  EMBER_CHECK(!lambdas.empty(), "ridge_cv: the lambda grid is empty");
  for (double l : lambdas)
    EMBER_CHECK(std::isfinite(l) && l >= 0.0, "ridge_cv: lambdas must be finite and >= 0, got ", l);
  EMBER_CHECK(x.rows() == y.rows(), "ridge_cv: X ", x.shape_string(), " and Y ", y.shape_string(),
              " must have the same number of rows (samples)");
  const int64_t n = x.rows(), k = options.folds;
  EMBER_CHECK(k >= 2 && k <= n, "ridge_cv: ", k,
              "-fold cross-validation needs 2 <= folds <= ", "the ", n, " samples");
  RidgeCvResult r;
  r.lambdas = lambdas;
  r.folds = kfold_assignment(n, k, options.seed);
  r.cv_mse.assign(lambdas.size(), 0.0);
  std::vector<std::vector<int64_t>> train(static_cast<size_t>(k)), test(static_cast<size_t>(k));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t f = 0; f < k; ++f)
      (r.folds[size_t(i)] == f ? test : train)[size_t(f)].push_back(i);
  for (int64_t f = 0; f < k; ++f) {
    const Matrix xtr = detail::rows_of(x, train[size_t(f)]),
                 ytr = detail::rows_of(y, train[size_t(f)]);
    const Matrix xte = detail::rows_of(x, test[size_t(f)]),
                 yte = detail::rows_of(y, test[size_t(f)]);
    for (size_t l = 0; l < lambdas.size(); ++l) {
      if (!std::isfinite(r.cv_mse[l])) continue;
      try {
        const Matrix pred = fit_ridge(xtr, ytr, lambdas[l], options.ridge).predict(xte);
        for (int64_t i = 0; i < pred.rows(); ++i)
          for (int64_t j = 0; j < pred.cols(); ++j) {
            const double e = pred(i, j) - yte(i, j);
            r.cv_mse[l] += e * e / double(n * y.cols());
          }
      } catch (const Error&) {
        r.cv_mse[l] = std::numeric_limits<double>::infinity();
      }
    }
  }
  for (size_t l = 0; l < lambdas.size(); ++l) {
    if (!std::isfinite(r.cv_mse[l])) continue;
    const bool better = r.best_index < 0 || r.cv_mse[l] < r.cv_mse[size_t(r.best_index)] ||
                        (r.cv_mse[l] == r.cv_mse[size_t(r.best_index)] &&
                         lambdas[l] > lambdas[size_t(r.best_index)]);
    if (better) r.best_index = int64_t(l);
  }
  EMBER_CHECK(r.best_index >= 0, "ridge_cv: every lambda of the grid failed to fit (X ",
              x.shape_string(), "; include a lambda > 0)");
  r.lambda = lambdas[size_t(r.best_index)];
  r.model = fit_ridge(x, y, r.lambda, options.ridge);
  return r;
}

}  // namespace ember::numeric
