// Host linear algebra (include/ember/numeric/): Matrix <-> Tensor, Householder QR, eigh and
// top_eigs, Cholesky / solves / ridge regression, PCA. Reference values are exact
// decompositions from textbooks or numpy results pasted below (the Python call is named).
#include <doctest/doctest.h>

#include <cmath>
#include <ember/core/random.hpp>
#include <ember/numeric.hpp>
#include <functional>
#include <string>
#include <utility>
#include <vector>

using namespace ember;
using namespace ember::numeric;

namespace {

Matrix random_matrix(int64_t rows, int64_t cols, uint64_t seed) {
  Generator gen(seed);
  Matrix m(rows, cols);
  for (int64_t i = 0; i < rows * cols; ++i) m.data()[i] = gen.normal();
  return m;
}

Matrix random_orthogonal(int64_t n, uint64_t seed) { return qr(random_matrix(n, n, seed)).Q; }

// V diag(values) V^T: a symmetric matrix whose eigenpairs are known.
Matrix with_eigenpairs(const Matrix& v, const std::vector<double>& values) {
  Matrix scaled = v;
  for (int64_t i = 0; i < v.rows(); ++i)
    for (int64_t j = 0; j < v.cols(); ++j) scaled(i, j) *= values[size_t(j)];
  return matmul(scaled, v, false, true);
}

// |A V - V diag(values)|, the eigen-residual.
double eigen_residual(const Matrix& a, const Eigh& e) {
  Matrix av = matmul(a, e.vectors);
  for (int64_t i = 0; i < av.rows(); ++i)
    for (int64_t j = 0; j < av.cols(); ++j) av(i, j) -= e.vectors(i, j) * e.values[size_t(j)];
  return max_abs(av);
}

double orthonormality_error(const Matrix& q) {
  return max_abs_diff(matmul(q, q, true, false), Matrix::identity(q.cols()));
}

// Each column's entry of largest magnitude is positive (the documented sign convention).
bool signs_fixed(const Matrix& v) {
  for (int64_t j = 0; j < v.cols(); ++j) {
    int64_t best = 0;
    for (int64_t i = 1; i < v.rows(); ++i)
      if (std::abs(v(i, j)) > std::abs(v(best, j))) best = i;
    if (v(best, j) <= 0) return false;
  }
  return true;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("numeric::Matrix converts to and from 2-D tensors") {
  const Tensor<float> t = Tensor<float>::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  const Matrix m(t);
  CHECK(m.rows() == 2);
  CHECK(m.cols() == 3);
  CHECK(m(1, 0) == 4.0);
  CHECK(m(0, 2) == 3.0);
  const Matrix mt(t.t());  // a transpose view: strides [1, 3]
  CHECK(mt.rows() == 3);
  CHECK(mt(2, 1) == 6.0);
  CHECK(mt(0, 1) == 4.0);
  const Tensor<double> back = m.to_tensor<double>();
  CHECK(back.shape() == Shape{2, 3});
  CHECK(back.to_vector() == std::vector<double>{1, 2, 3, 4, 5, 6});
  CHECK(Matrix(back).values() == m.values());
  CHECK(m.to_tensor<float>().to_vector() == t.to_vector());
  CHECK_THROWS_AS(Matrix(Tensor<double>::zeros({2, 3, 4})), Error);
  CHECK_THROWS_AS(Matrix(2, 2, {1.0, 2.0, 3.0}), Error);
  CHECK_THROWS_AS(matmul(Matrix(2, 3), Matrix(2, 3)), Error);
}

TEST_CASE("qr matches a known decomposition") {
  // The textbook example (Wikipedia, "QR decomposition"); numpy.linalg.qr gives the same
  // factors after flipping signs so that diag(R) > 0.
  const Matrix a(3, 3, {12, -51, 4, 6, 167, -68, -4, 24, -41});
  const QR f = qr(a);
  const Matrix q(3, 3,
                 {150. / 175, -69. / 175, -58. / 175, 75. / 175, 158. / 175, 6. / 175, -50. / 175,
                  30. / 175, -165. / 175});
  const Matrix r(3, 3, {14, 21, -14, 0, 175, -70, 0, 0, 35});
  CHECK(max_abs_diff(f.Q, q) < 1e-14);
  CHECK(max_abs_diff(f.R, r) < 1e-12);
}

TEST_CASE("qr reconstructs tall, square and rank-deficient matrices") {
  for (auto [m, n] : std::vector<std::pair<int64_t, int64_t>>{{50, 20}, {30, 30}, {7, 1}}) {
    CAPTURE(m);
    CAPTURE(n);
    const Matrix a = random_matrix(m, n, uint64_t(m * 100 + n));
    const QR f = qr(a);
    REQUIRE(f.Q.rows() == m);
    REQUIRE(f.Q.cols() == n);
    REQUIRE(f.R.rows() == n);
    REQUIRE(f.R.cols() == n);
    CHECK(max_abs_diff(matmul(f.Q, f.R), a) < 1e-12 * max_abs(a));
    CHECK(orthonormality_error(f.Q) < 1e-13);
    for (int64_t i = 0; i < n; ++i) {
      CHECK(f.R(i, i) >= 0);
      for (int64_t j = 0; j < i; ++j) CHECK(f.R(i, j) == 0.0);
    }
  }
  // A zero column and a repeated column: Q stays orthonormal and Q R = A.
  Matrix a = random_matrix(6, 4, 5);
  for (int64_t i = 0; i < 6; ++i) {
    a(i, 1) = 0.0;
    a(i, 3) = a(i, 0);
  }
  const QR f = qr(a);
  CHECK(orthonormality_error(f.Q) < 1e-13);
  CHECK(max_abs_diff(matmul(f.Q, f.R), a) < 1e-13 * max_abs(a));
  CHECK(std::abs(f.R(1, 1)) == 0.0);
  CHECK(std::abs(f.R(3, 3)) < 1e-14);

  CHECK_THROWS_AS(qr(Matrix(2, 3)), Error);
}

TEST_CASE("eigh recovers known eigenpairs") {
  const int64_t n = 40;
  const Matrix v = random_orthogonal(n, 11);
  std::vector<double> values(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) values[size_t(i)] = -20.0 + 1.25 * double(i);  // ascending
  const Matrix a = with_eigenpairs(v, values);
  const Eigh e = eigh(a);
  REQUIRE(e.values.size() == size_t(n));
  for (int64_t i = 0; i < n; ++i)
    CHECK(e.values[size_t(i)] == doctest::Approx(values[size_t(i)]).epsilon(1e-12));
  CHECK(eigen_residual(a, e) < 1e-12 * 30);
  CHECK(orthonormality_error(e.vectors) < 1e-13);
  CHECK(signs_fixed(e.vectors));
  // Distinct eigenvalues: each vector is the constructed one up to sign.
  for (int64_t j = 0; j < n; ++j) {
    double dot = 0.0;
    for (int64_t i = 0; i < n; ++i) dot += e.vectors(i, j) * v(i, j);
    CHECK(std::abs(std::abs(dot) - 1.0) < 1e-12);
  }

  // A diagonal matrix: exact values, unit vectors with the positive sign.
  const Eigh d = eigh(Matrix(3, 3, {3, 0, 0, 0, 1, 0, 0, 0, 2}));
  CHECK(d.values == std::vector<double>{1, 2, 3});
  CHECK(d.vectors.values() == std::vector<double>{0, 0, 1, 1, 0, 0, 0, 1, 0});
  CHECK(eigh(Matrix(1, 1, {-4.5})).values == std::vector<double>{-4.5});
}

TEST_CASE("eigh on repeated eigenvalues returns an orthonormal basis of each eigenspace") {
  const int64_t n = 12;
  const Matrix v = random_orthogonal(n, 3);
  const std::vector<double> values{-1, -1, 0.5, 2, 2, 2, 2, 3, 7, 7, 7, 7};
  const Matrix a = with_eigenpairs(v, values);
  const Eigh e = eigh(a);
  for (int64_t i = 0; i < n; ++i)
    CHECK(e.values[size_t(i)] == doctest::Approx(values[size_t(i)]).epsilon(1e-12));
  CHECK(eigen_residual(a, e) < 1e-12 * 7);
  CHECK(orthonormality_error(e.vectors) < 1e-13);
  // The projector onto the eigenspace of 2 (columns 3..6) is basis-independent.
  const Matrix p_found = matmul(e.vectors.columns(3, 7), e.vectors.columns(3, 7), false, true);
  const Matrix p_true = matmul(v.columns(3, 7), v.columns(3, 7), false, true);
  CHECK(max_abs_diff(p_found, p_true) < 1e-12);
  // The identity: every vector basis is right; the eigenvalues are exact.
  const Eigh id = eigh(Matrix::identity(5));
  CHECK(id.values == std::vector<double>(5, 1.0));
  CHECK(orthonormality_error(id.vectors) < 1e-15);
}

TEST_CASE("eigh rejects non-square, non-symmetric and non-finite input") {
  CHECK_THROWS_AS(eigh(Matrix(2, 3)), Error);
  const std::string msg = message_of([] { eigh(Matrix(2, 2, {1, 2, 2.5, 1})); });
  CHECK(msg.find("eigh") != std::string::npos);
  CHECK(msg.find("symmetric") != std::string::npos);
  CHECK_THROWS_AS(eigh(Matrix(2, 2, {1, NAN, NAN, 1})), Error);
}

TEST_CASE("top_eigs matches eigh's largest eigenpairs on a 300 x 300 matrix") {
  const int64_t n = 300, k = 6;
  const Matrix v = random_orthogonal(n, 21);
  std::vector<double> values(static_cast<size_t>(n));
  // A decaying PSD spectrum with a gap after the top k, as of a covariance or a kernel.
  for (int64_t i = 0; i < n; ++i) values[size_t(i)] = 100.0 * std::pow(0.85, double(n - 1 - i));
  const Matrix a = with_eigenpairs(v, values);
  const Eigh all = eigh(a);
  const Eigh top = top_eigs(a, k);
  REQUIRE(top.values.size() == size_t(k));
  REQUIRE(top.vectors.rows() == n);
  REQUIRE(top.vectors.cols() == k);
  for (int64_t j = 0; j < k; ++j) {
    CAPTURE(j);
    CHECK(top.values[size_t(j)] == doctest::Approx(all.values[size_t(n - 1 - j)]).epsilon(1e-12));
    for (int64_t i = 0; i < n; ++i)
      REQUIRE(std::abs(top.vectors(i, j) - all.vectors(i, n - 1 - j)) < 1e-8);
  }
  CHECK(signs_fixed(top.vectors));
  CHECK(orthonormality_error(top.vectors) < 1e-13);
}

TEST_CASE("top_eigs with a shift finds the algebraically largest of an indefinite matrix") {
  const int64_t n = 60;
  const Matrix v = random_orthogonal(n, 8);
  std::vector<double> values(static_cast<size_t>(n));
  // Most of the spectrum is negative and larger in magnitude than the top three.
  for (int64_t i = 0; i < n; ++i) values[size_t(i)] = -50.0 + double(i) * 0.5;
  values[size_t(n - 1)] = 10.0;
  values[size_t(n - 2)] = 9.0;
  values[size_t(n - 3)] = 8.0;
  const Matrix a = with_eigenpairs(v, values);
  // Unshifted: the dominant eigenvalues are the most negative ones.
  const Eigh dominant = top_eigs(a, 2);
  CHECK(dominant.values[0] == doctest::Approx(-50.0).epsilon(1e-10));
  CHECK(dominant.values[1] == doctest::Approx(-49.5).epsilon(1e-10));
  TopEigsOptions options;
  options.shift = 50.0;  // the spectrum of A + 50 I is >= 0
  const Eigh largest = top_eigs(a, 3, options);
  CHECK(largest.values[0] == doctest::Approx(10.0).epsilon(1e-10));
  CHECK(largest.values[1] == doctest::Approx(9.0).epsilon(1e-10));
  CHECK(largest.values[2] == doctest::Approx(8.0).epsilon(1e-10));
  CHECK(eigen_residual(a, largest) < 1e-8);
}

TEST_CASE("top_eigs rejects bad input and reports non-convergence") {
  const Matrix a = with_eigenpairs(random_orthogonal(20, 4), std::vector<double>(20, 1.0));
  CHECK_THROWS_AS(top_eigs(a, 21), Error);
  CHECK_THROWS_AS(top_eigs(a, 0), Error);
  CHECK_THROWS_AS(top_eigs(Matrix(3, 4), 1), Error);
  CHECK_THROWS_AS(top_eigs(Matrix(3, 3, {1, 0, 0, 1, 1, 0, 0, 0, 1}), 1), Error);
  TopEigsOptions bad_block;
  bad_block.block_size = 2;
  CHECK_THROWS_AS(top_eigs(a, 3, bad_block), Error);

  // Eigenvalues 1, 1 - 1e-6, ... leave the block almost no gap: one iteration cannot converge.
  std::vector<double> close(20);
  for (size_t i = 0; i < close.size(); ++i) close[i] = 1.0 - 1e-6 * double(19 - i);
  TopEigsOptions one;
  one.max_iterations = 1;
  const std::string msg =
      message_of([&] { top_eigs(with_eigenpairs(random_orthogonal(20, 6), close), 2, one); });
  CHECK(msg.find("top_eigs: no convergence after 1 iterations") != std::string::npos);
}

TEST_CASE("cholesky factors a known matrix and solves") {
  // The textbook example (Wikipedia, "Cholesky decomposition").
  const Matrix a(3, 3, {4, 12, -16, 12, 37, -43, -16, -43, 98});
  const Matrix l = cholesky(a);
  CHECK(max_abs_diff(l, Matrix(3, 3, {2, 0, 0, 6, 1, 0, -8, 5, 3})) < 1e-14);

  const int64_t n = 30;
  const Matrix g = random_matrix(n, n, 9);
  Matrix spd = matmul(g, g, false, true);
  for (int64_t i = 0; i < n; ++i) spd(i, i) += 1.0;
  const Matrix b = random_matrix(n, 4, 10);
  const Matrix x = solve_spd(spd, b);
  CHECK(max_abs_diff(matmul(spd, x), b) < 1e-10);
  CHECK(max_abs_diff(matmul(cholesky(spd), cholesky(spd), false, true), spd) <
        1e-12 * max_abs(spd));
}

TEST_CASE("cholesky names the failing pivot of a matrix that is not positive definite") {
  const std::string msg = message_of([] { cholesky(Matrix(3, 3, {1, 2, 0, 2, 1, 0, 0, 0, 1})); });
  CHECK(msg.find("not positive definite") != std::string::npos);
  CHECK(msg.find("pivot 1 is -3") != std::string::npos);
  CHECK_THROWS_AS(cholesky(Matrix(2, 2, {1, 0, 0, 0})), Error);  // semidefinite
  CHECK_THROWS_AS(cholesky(Matrix(2, 3)), Error);
  CHECK_THROWS_AS(cholesky(Matrix(2, 2, {2, 1, 0, 2})), Error);  // not symmetric
  CHECK_THROWS_AS(cholesky_solve(Matrix::identity(3), Matrix(2, 1)), Error);
}

TEST_CASE("ridge_regression matches numpy's normal-equation solve") {
  const Matrix x(8, 3, {0.5, -1.2, 2.0,  1.5,  0.3,  -0.7, -0.8, 2.2, 0.1, 2.1,  -0.4, 1.3,
                        0.0, 1.1,  -1.9, -1.4, -0.6, 0.8,  0.9,  1.7, 0.4, -0.3, -2.0, -1.1});
  const Matrix y(
      8, 2,
      {1.0, -0.5, 2.3, 0.7, -1.1, 1.9, 3.2, 0.2, -0.4, -1.6, -2.0, 0.9, 1.8, 1.1, -0.9, -2.4});
  // np.linalg.solve(X.T @ X + 0.7 * np.eye(3), X.T @ Y) with the X, Y above (numpy 1.26).
  const Matrix expected(3, 2,
                        {1.4207562841027046, -0.12336569404207465, 0.10299067073507111,
                         0.6975888079896201, 0.1994192332061004, 0.6300107479491858});
  CHECK(max_abs_diff(ridge_regression(x, y, 0.7), expected) < 1e-13);

  // lambda = 0 is least squares: the residual is orthogonal to the columns of X.
  const Matrix w = ridge_regression(x, y, 0.0);
  Matrix residual = matmul(x, w);
  for (int64_t i = 0; i < residual.rows(); ++i)
    for (int64_t j = 0; j < residual.cols(); ++j) residual(i, j) = y(i, j) - residual(i, j);
  CHECK(max_abs(matmul(x, residual, true, false)) < 1e-12);

  CHECK_THROWS_AS(ridge_regression(x, Matrix(7, 2), 0.7), Error);
  CHECK_THROWS_AS(ridge_regression(x, y, -1.0), Error);
  // A zero feature makes X^T X singular with an exactly zero pivot (no rounding involved).
  Matrix rank_deficient = x;
  for (int64_t i = 0; i < 8; ++i) rank_deficient(i, 2) = 0.0;
  const std::string msg = message_of([&] { ridge_regression(rank_deficient, y, 0.0); });
  CHECK(msg.find("ridge_regression") != std::string::npos);
  CHECK(msg.find("pivot 2") != std::string::npos);
}

TEST_CASE("PCA recovers the long axis of an elongated 2-D cloud") {
  const int64_t n = 500;
  const double angle = 0.5235987755982988;  // 30 degrees
  const double c = std::cos(angle), s = std::sin(angle);
  Generator gen(42);
  Matrix x(n, 2);
  for (int64_t i = 0; i < n; ++i) {
    const double along = 3.0 * gen.normal(), across = 0.3 * gen.normal();
    x(i, 0) = 5.0 + c * along - s * across;
    x(i, 1) = -2.0 + s * along + c * across;
  }
  PCA pca;
  const Matrix z = pca.fit_transform(x);
  REQUIRE(pca.n_components() == 2);
  // The long axis, with its larger entry (cos 30 > sin 30) positive.
  CHECK(pca.components()(0, 0) == doctest::Approx(c).epsilon(0.01));
  CHECK(pca.components()(0, 1) == doctest::Approx(s).epsilon(0.02));
  CHECK(std::abs(pca.components()(0, 0) * pca.components()(1, 0) +
                 pca.components()(0, 1) * pca.components()(1, 1)) < 1e-14);
  CHECK(pca.explained_variance()[0] == doctest::Approx(9.0).epsilon(0.15));
  CHECK(pca.explained_variance()[1] == doctest::Approx(0.09).epsilon(0.15));
  CHECK(pca.explained_variance_ratio()[0] > 0.98);
  CHECK(pca.explained_variance_ratio()[0] + pca.explained_variance_ratio()[1] ==
        doctest::Approx(1.0).epsilon(1e-12));
  CHECK(pca.mean()[0] == doctest::Approx(5.0).epsilon(0.05));
  CHECK(pca.mean()[1] == doctest::Approx(-2.0).epsilon(0.05));
  // The coordinates along each axis have mean 0 and the explained variance.
  for (int64_t comp = 0; comp < 2; ++comp) {
    double sum = 0.0, sum_sq = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      sum += z(i, comp);
      sum_sq += z(i, comp) * z(i, comp);
    }
    CHECK(std::abs(sum / n) < 1e-12);
    CHECK(sum_sq / double(n - 1) ==
          doctest::Approx(pca.explained_variance()[size_t(comp)]).epsilon(1e-12));
  }
  CHECK(max_abs_diff(pca.inverse_transform(z), x) < 1e-12);
  // One component keeps the long axis only.
  PCA one(1);
  one.fit(x);
  CHECK(one.transform(x).cols() == 1);
  CHECK(max_abs_diff(one.components(), pca.components().transposed().columns(0, 1).transposed()) <
        1e-12);
}

TEST_CASE("PCA with fewer samples than features goes through the Gram matrix") {
  const Matrix x = random_matrix(5, 8, 77);
  PCA pca;
  pca.fit(x);
  REQUIRE(pca.n_components() == 5);
  CHECK(orthonormality_error(pca.components().transposed()) < 1e-12);
  // The variances are the covariance matrix's eigenvalues (eigh of the 8 x 8 covariance).
  Matrix xc = x;
  for (int64_t i = 0; i < 5; ++i)
    for (int64_t j = 0; j < 8; ++j) xc(i, j) -= pca.mean()[size_t(j)];
  Matrix cov = matmul(xc, xc, true, false);
  const Eigh e = eigh(numeric::detail::symmetrised(cov));
  for (int64_t c = 0; c < 4; ++c)
    CHECK(pca.explained_variance()[size_t(c)] ==
          doctest::Approx(e.values[size_t(7 - c)] / 4.0).epsilon(1e-10));
  CHECK(pca.explained_variance()[4] < 1e-12);  // centering 5 samples leaves rank 4
  CHECK(max_abs_diff(pca.inverse_transform(pca.transform(x)), x) < 1e-12);
}

TEST_CASE("PCA rejects bad input") {
  CHECK_THROWS_AS(PCA(-1), Error);
  CHECK_THROWS_AS(PCA(3).fit(Matrix(10, 2)), Error);
  CHECK_THROWS_AS(PCA().fit(Matrix(1, 4)), Error);
  CHECK_THROWS_AS(PCA().transform(Matrix(3, 2)), Error);
  PCA pca;
  pca.fit(random_matrix(10, 3, 1));
  CHECK_THROWS_AS(pca.transform(Matrix(4, 2)), Error);
  CHECK_THROWS_AS(pca.inverse_transform(Matrix(4, 2)), Error);
}
