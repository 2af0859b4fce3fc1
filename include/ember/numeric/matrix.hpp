// ember::numeric::Matrix: a small dense row-major float64 matrix for host linear algebra (QR,
// symmetric eigendecomposition, Cholesky, PCA). It is deliberately not a Tensor: no autograd,
// no device, no strides; the factorisations below index it directly and hand it to BLAS as
// is. Convert at the edges with Matrix(tensor) and to_tensor<T>().
#pragma once

#include <cblas.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <ember/core/error.hpp>
#include <ember/core/tensor.hpp>
#include <string>
#include <utility>
#include <vector>

namespace ember::numeric {

class Matrix {
 public:
  Matrix() = default;
  // A rows x cols matrix of zeros.
  Matrix(int64_t rows, int64_t cols) : rows_(rows), cols_(cols) {
    EMBER_CHECK(rows >= 0 && cols >= 0, "Matrix: sizes must be non-negative, got ", rows, " x ",
                cols);
    data_.assign(size_t(rows * cols), 0.0);
  }
  // A rows x cols matrix from its values in row-major order.
  Matrix(int64_t rows, int64_t cols, std::vector<double> values) : rows_(rows), cols_(cols) {
    EMBER_CHECK(rows >= 0 && cols >= 0 && int64_t(values.size()) == rows * cols,
                "Matrix: ", values.size(), " values for a ", rows, " x ", cols,
                " matrix (expected ", rows * cols, ")");
    data_ = std::move(values);
  }
  // A copy of a 2-D float or double tensor of shape [rows, cols] (any strides, any device).
  template <class T>
  explicit Matrix(const Tensor<T>& t) {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                  "Matrix: converts from Tensor<float> or Tensor<double>");
    EMBER_CHECK(t.dim() == 2, "Matrix: expected a 2-D tensor [rows, cols], got shape ",
                shape_str(t.shape()));
    rows_ = t.shape()[0];
    cols_ = t.shape()[1];
    const std::vector<T> values = t.detach().to_vector();  // row-major, copied to the host
    data_.assign(values.begin(), values.end());
  }

  static Matrix identity(int64_t n) {
    Matrix m(n, n);
    for (int64_t i = 0; i < n; ++i) m(i, i) = 1.0;
    return m;
  }

  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  bool is_square() const { return rows_ == cols_; }
  // "[rows, cols]", the way sizes appear in error messages.
  std::string shape_string() const { return shape_str({rows_, cols_}); }

  double& operator()(int64_t i, int64_t j) { return data_[size_t(i * cols_ + j)]; }
  double operator()(int64_t i, int64_t j) const { return data_[size_t(i * cols_ + j)]; }
  double* data() { return data_.data(); }
  const double* data() const { return data_.data(); }
  const std::vector<double>& values() const { return data_; }

  Matrix transposed() const {
    Matrix t(cols_, rows_);
    for (int64_t i = 0; i < rows_; ++i)
      for (int64_t j = 0; j < cols_; ++j) t(j, i) = (*this)(i, j);
    return t;
  }
  // Columns [begin, end) as a new rows x (end - begin) matrix.
  Matrix columns(int64_t begin, int64_t end) const {
    EMBER_CHECK(0 <= begin && begin <= end && end <= cols_, "Matrix::columns: range [", begin, ", ",
                end, ") outside a matrix of shape ", shape_string());
    Matrix out(rows_, end - begin);
    for (int64_t i = 0; i < rows_; ++i)
      std::copy_n(data_.data() + i * cols_ + begin, end - begin, out.data() + i * out.cols_);
    return out;
  }

  // A new CPU tensor of shape [rows, cols] holding these values (rounded for float).
  template <class T = double>
  Tensor<T> to_tensor() const {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                  "Matrix::to_tensor: converts to Tensor<float> or Tensor<double>");
    return Tensor<T>::from_vector(std::vector<T>(data_.begin(), data_.end()), {rows_, cols_});
  }

 private:
  int64_t rows_ = 0, cols_ = 0;
  std::vector<double> data_;
};

// op(A) * op(B) through cblas_dgemm, op = transpose where the flag is set.
inline Matrix matmul(const Matrix& a, const Matrix& b, bool trans_a = false, bool trans_b = false) {
  const int64_t m = trans_a ? a.cols() : a.rows(), k = trans_a ? a.rows() : a.cols();
  const int64_t kb = trans_b ? b.cols() : b.rows(), n = trans_b ? b.rows() : b.cols();
  EMBER_CHECK(k == kb, "numeric::matmul: inner sizes differ: ", a.shape_string(),
              trans_a ? "^T" : "", " x ", b.shape_string(), trans_b ? "^T" : "");
  EMBER_CHECK(m <= INT_MAX && n <= INT_MAX && k <= INT_MAX,
              "numeric::matmul: sizes exceed BLAS's 32-bit integers");
  Matrix c(m, n);
  if (m == 0 || n == 0) return c;
  if (k == 0) return c;  // an empty sum; BLAS rejects a zero leading dimension
  cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, int(m), int(n), int(k), 1.0, a.data(),
              int(a.cols()), b.data(), int(b.cols()), 0.0, c.data(), int(n));
  return c;
}

// Largest |a_ij - b_ij|; the two matrices must have one shape.
inline double max_abs_diff(const Matrix& a, const Matrix& b) {
  EMBER_CHECK(a.rows() == b.rows() && a.cols() == b.cols(), "numeric::max_abs_diff: shapes ",
              a.shape_string(), " and ", b.shape_string(), " differ");
  double m = 0.0;
  for (size_t i = 0; i < a.values().size(); ++i)
    m = std::max(m, std::abs(a.values()[i] - b.values()[i]));
  return m;
}

// Largest |a_ij| (0 for an empty matrix).
inline double max_abs(const Matrix& a) {
  double m = 0.0;
  for (double v : a.values()) m = std::max(m, std::abs(v));
  return m;
}

namespace detail {

// Symmetric up to rounding: |a_ij - a_ji| <= 1e-10 * max|a|. Callers that need an exactly
// symmetric input (the factorisations read one triangle) symmetrise after this check, so
// a matrix built as V D V^T, symmetric only to the last bits, is accepted.
inline void check_symmetric(const Matrix& a, const char* op) {
  EMBER_CHECK(a.is_square(), op, ": expected a square matrix, got shape ", a.shape_string());
  const double tol = 1e-10 * max_abs(a);
  for (int64_t i = 0; i < a.rows(); ++i)
    for (int64_t j = 0; j < i; ++j)
      EMBER_CHECK(std::abs(a(i, j) - a(j, i)) <= tol, op,
                  ": expected a symmetric matrix, but entry (", i, ", ", j, ") = ", a(i, j),
                  " differs from (", j, ", ", i, ") = ", a(j, i), " (shape ", a.shape_string(),
                  ")");
}

inline void check_finite(const Matrix& a, const char* op) {
  for (int64_t i = 0; i < a.rows(); ++i)
    for (int64_t j = 0; j < a.cols(); ++j)
      EMBER_CHECK(std::isfinite(a(i, j)), op, ": entry (", i, ", ", j, ") of the ",
                  a.shape_string(), " input is ", a(i, j), "; expected finite values");
}

// Euclidean norm of n values `stride` apart, scaled by the largest so that squaring neither
// overflows nor underflows.
inline double norm2(int64_t n, const double* x, int64_t stride) {
  double scale = 0.0;
  for (int64_t i = 0; i < n; ++i) scale = std::max(scale, std::abs(x[i * stride]));
  if (scale == 0.0) return 0.0;
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double y = x[i * stride] / scale;
    sum += y * y;
  }
  return scale * std::sqrt(sum);
}

inline Matrix symmetrised(const Matrix& a) {
  Matrix s = a;
  for (int64_t i = 0; i < a.rows(); ++i)
    for (int64_t j = 0; j < i; ++j) s(i, j) = s(j, i) = 0.5 * (a(i, j) + a(j, i));
  return s;
}

// Flips the sign of column j where needed so that its entry of largest magnitude (the first
// such, in row order) is positive: eigenvectors and principal axes are defined up to sign,
// and this makes the returned one a function of the input alone.
inline void fix_column_signs(Matrix& v) {
  for (int64_t j = 0; j < v.cols(); ++j) {
    int64_t best = 0;
    for (int64_t i = 1; i < v.rows(); ++i)
      if (std::abs(v(i, j)) > std::abs(v(best, j))) best = i;
    if (v.rows() > 0 && v(best, j) < 0)
      for (int64_t i = 0; i < v.rows(); ++i) v(i, j) = -v(i, j);
  }
}

}  // namespace detail
}  // namespace ember::numeric
