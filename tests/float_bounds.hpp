// Tolerances from the error analysis of floating-point sums, not from one machine's kernels.
//
// A sum of K products computed in floating point, in any order and with or without FMA, lies
// within gamma(K) * sum_k |a_k * b_k| of the exact sum, with gamma(K) = K u / (1 - K u) and u
// the unit roundoff (Higham, "Accuracy and Stability of Numerical Algorithms", §3.1). Two
// kernels that add the same products in different orders (OpenBLAS picks its kernel for the
// CPU at run time, and a batch split into chunks changes the GEMM's shape) therefore differ by
// at most 2 * gamma(K) * sum_k |a_k * b_k|: the same computation on absolute values, in
// float64, bounds the difference element by element.
#pragma once

#include <cmath>
#include <cstdint>
#include <ember/core/tensor.hpp>
#include <limits>
#include <sstream>
#include <string>

namespace float_bounds {

// gamma(K) for element type T: K u / (1 - K u), u = epsilon / 2.
template <class T>
double gamma(int64_t terms) {
  const double u = double(std::numeric_limits<T>::epsilon()) / 2;
  const double ku = double(terms) * u;
  return ku / (1 - ku);
}

// "" when |got - want| <= bound elementwise (all three the same shape), else the worst element.
template <class T>
std::string within(const ember::Tensor<T>& got, const ember::Tensor<T>& want,
                   const ember::Tensor<double>& bound) {
  if (!got.defined() || !want.defined()) return "undefined result";
  if (got.shape() != want.shape() || got.shape() != bound.shape())
    return "shapes " + ember::shape_str(got.shape()) + ", " + ember::shape_str(want.shape()) +
           " and bound " + ember::shape_str(bound.shape());
  const auto a = got.to_vector(), b = want.to_vector();
  const auto e = bound.to_vector();
  for (size_t i = 0; i < a.size(); ++i) {
    const double diff = std::abs(double(a[i]) - double(b[i]));
    if (!(diff <= e[i])) {
      std::ostringstream s;
      s << "element " << i << ": " << a[i] << " vs " << b[i] << " differ by " << diff << ", bound "
        << e[i];
      return s.str();
    }
  }
  return "";
}

// The bound on the difference of two reorderings of sums of `terms` products whose absolute
// values sum to `abs_sum` (computed in float64 from |a| and |b|).
template <class T>
ember::Tensor<double> reorder_bound(const ember::Tensor<double>& abs_sum, int64_t terms) {
  const double g = 2 * gamma<T>(terms);
  ember::Tensor<double> out = abs_sum.contiguous().clone();
  for (int64_t i = 0; i < out.numel(); ++i) out.data_ptr()[i] *= g;
  return out;
}

}  // namespace float_bounds
