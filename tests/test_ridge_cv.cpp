// Ridge regression with intercept and standardisation, and k-fold choice of lambda
// (numeric/ridge_cv.hpp): recovery of a known linear model, agreement with the plain closed
// form, deterministic balanced folds, and the lambda chosen on noiseless versus noisy data.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <ember/core/random.hpp>
#include <ember/numeric/ridge_cv.hpp>
#include <vector>

using namespace ember;
using namespace ember::numeric;

namespace {

// X [n, d] with column j of mean 3j and scale (j + 1) * 10^(j % 3 - 1); y = b + X w + noise.
struct Problem {
  Matrix x, y;
  std::vector<double> w;
  double b = 0.0;
};

Problem make_problem(int64_t n, int64_t d, double weight_scale, double noise, uint64_t seed) {
  Generator gen(seed);
  Problem p{Matrix(n, d), Matrix(n, 1), std::vector<double>(size_t(d)), -1.5};
  for (int64_t j = 0; j < d; ++j) p.w[size_t(j)] = weight_scale * gen.normal();
  for (int64_t i = 0; i < n; ++i) {
    double s = p.b;
    for (int64_t j = 0; j < d; ++j) {
      p.x(i, j) =
          3.0 * double(j) + double(j + 1) * std::pow(10.0, double(j % 3 - 1)) * gen.normal();
      s += p.x(i, j) * p.w[size_t(j)];
    }
    p.y(i, 0) = s + noise * gen.normal();
  }
  return p;
}

}  // namespace

TEST_CASE("fit_ridge recovers a known linear model with intercept") {
  const Problem p = make_problem(80, 5, 1.0, 0.0, 1);
  const RidgeModel m = fit_ridge(p.x, p.y, 1e-9);
  const Matrix c = m.coefficients();
  REQUIRE(c.rows() == 5);
  for (int64_t j = 0; j < 5; ++j) CHECK(c(j, 0) == doctest::Approx(p.w[size_t(j)]).epsilon(1e-6));
  CHECK(m.intercept()[0] == doctest::Approx(p.b).epsilon(1e-6));
  const Matrix pred = m.predict(p.x);
  CHECK(max_abs_diff(pred, p.y) < 1e-6);
  // Standardised weights are the raw ones times the column scales.
  for (int64_t j = 0; j < 5; ++j)
    CHECK(m.weights(j, 0) == doctest::Approx(c(j, 0) * m.x_scale[size_t(j)]));
  // Larger lambda, smaller standardised weights.
  double prev = 1e300;
  for (double l : {1e-3, 1.0, 10.0, 1e3}) {
    const Matrix w = fit_ridge(p.x, p.y, l).weights;
    double norm = 0.0;
    for (double v : w.values()) norm += v * v;
    CHECK(norm < prev);
    prev = norm;
  }
}

TEST_CASE("fit_ridge without centring or scaling is cholesky.hpp's ridge_regression") {
  const Problem p = make_problem(30, 4, 1.0, 0.3, 2);
  const RidgeModel m = fit_ridge(p.x, p.y, 2.5, {.fit_intercept = false, .standardize = false});
  CHECK(max_abs_diff(m.weights, ridge_regression(p.x, p.y, 2.5)) < 1e-12);
  CHECK(m.intercept()[0] == 0.0);
  // With both on: the same as ridge_regression on the standardised, centred data by hand.
  const RidgeModel s = fit_ridge(p.x, p.y, 2.5);
  Matrix z = p.x, yc = p.y;
  double ym = 0.0;
  for (int64_t i = 0; i < 30; ++i) ym += p.y(i, 0) / 30.0;
  for (int64_t j = 0; j < 4; ++j) {
    double mu = 0.0, var = 0.0;
    for (int64_t i = 0; i < 30; ++i) mu += p.x(i, j) / 30.0;
    for (int64_t i = 0; i < 30; ++i) var += (p.x(i, j) - mu) * (p.x(i, j) - mu) / 30.0;
    for (int64_t i = 0; i < 30; ++i) z(i, j) = (p.x(i, j) - mu) / std::sqrt(var);
  }
  for (int64_t i = 0; i < 30; ++i) yc(i, 0) -= ym;
  CHECK(max_abs_diff(s.weights, ridge_regression(z, yc, 2.5)) < 1e-10);
  // A constant column gets scale 1 and weight 0.
  Matrix xc = p.x;
  for (int64_t i = 0; i < 30; ++i) xc(i, 2) = 7.0;
  const RidgeModel mc = fit_ridge(xc, p.y, 0.1);
  CHECK(mc.x_scale[2] == 1.0);
  CHECK(std::abs(mc.weights(2, 0)) < 1e-12);
}

TEST_CASE("k-fold assignment: balanced, deterministic per seed") {
  const std::vector<int64_t> a = kfold_assignment(23, 5, 7), b = kfold_assignment(23, 5, 7);
  const std::vector<int64_t> c = kfold_assignment(23, 5, 8);
  CHECK(a == b);
  CHECK(a != c);
  std::vector<int> sizes(5, 0);
  for (int64_t f : a) {
    REQUIRE((f >= 0 && f < 5));
    ++sizes[size_t(f)];
  }
  std::sort(sizes.begin(), sizes.end());
  CHECK(sizes == std::vector<int>{4, 4, 5, 5, 5});
  // Not simply contiguous blocks.
  CHECK(!std::is_sorted(a.begin(), a.end()));
  CHECK_THROWS_AS((void)kfold_assignment(3, 5, 0), ember::Error);
  CHECK_THROWS_AS((void)kfold_assignment(10, 1, 0), ember::Error);
}

TEST_CASE("ridge_cv: small lambda on noiseless data, large on noisy data with few samples") {
  const std::vector<double> grid = log_grid(1e-6, 1e4, 11);
  REQUIRE(grid.size() == 11);
  CHECK(grid[0] == doctest::Approx(1e-6));
  CHECK(grid[5] == doctest::Approx(0.1));
  CHECK(grid[10] == doctest::Approx(1e4));

  const Problem clean = make_problem(60, 6, 1.0, 0.0, 3);
  const RidgeCvResult rc = ridge_cv(clean.x, clean.y, grid, {.folds = 5, .seed = 1});
  CHECK(rc.lambda == doctest::Approx(1e-6));
  CHECK(rc.best_index == 0);
  CHECK(rc.cv_mse[0] < 1e-8);
  CHECK(std::is_sorted(rc.cv_mse.begin(), rc.cv_mse.end()));  // more shrinkage, worse fit
  const Problem fresh = make_problem(20, 6, 1.0, 0.0, 3);     // same weights (same seed), new rows
  CHECK(max_abs_diff(rc.model.predict(fresh.x), fresh.y) < 1e-4);

  // 15 samples, 8 features whose effects are tiny next to unit noise: shrink hard.
  const Problem noisy = make_problem(15, 8, 0.02, 1.0, 4);
  const RidgeCvResult rn = ridge_cv(noisy.x, noisy.y, grid, {.folds = 5, .seed = 1});
  CHECK(rn.lambda >= 10.0);
  CHECK(rn.cv_mse[size_t(rn.best_index)] == *std::min_element(rn.cv_mse.begin(), rn.cv_mse.end()));
  CHECK(rn.cv_mse[size_t(rn.best_index)] < rn.cv_mse[0]);
  // Deterministic: the same seed gives the same folds, errors and choice.
  const RidgeCvResult rn2 = ridge_cv(noisy.x, noisy.y, grid, {.folds = 5, .seed = 1});
  CHECK(rn2.folds == rn.folds);
  CHECK(rn2.cv_mse == rn.cv_mse);
  CHECK(rn2.lambda == rn.lambda);
  CHECK(ridge_cv(noisy.x, noisy.y, grid, {.folds = 5, .seed = 2}).folds != rn.folds);
  CHECK(rn.model.lambda == rn.lambda);
}

TEST_CASE("ridge_cv: failed fits score +inf, bad grids are errors") {
  // 9 features, 10 samples: lambda = 0 has 8 training rows per fold of 5, and fails.
  const Problem p = make_problem(10, 9, 1.0, 0.1, 5);
  const RidgeCvResult r = ridge_cv(p.x, p.y, {0.0, 1.0}, {.folds = 5});
  CHECK(std::isinf(r.cv_mse[0]));
  CHECK(r.lambda == 1.0);
  CHECK_THROWS_AS((void)ridge_cv(p.x, p.y, {0.0}, {.folds = 5}), ember::Error);
  CHECK_THROWS_AS((void)ridge_cv(p.x, p.y, {}, {}), ember::Error);
  CHECK_THROWS_AS((void)ridge_cv(p.x, p.y, {-1.0}, {}), ember::Error);
  CHECK_THROWS_AS((void)ridge_cv(p.x, p.y, {1.0}, {.folds = 11}), ember::Error);
  CHECK_THROWS_AS((void)log_grid(0.0, 1.0, 3), ember::Error);
}
