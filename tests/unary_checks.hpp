// Checks shared by the tests of one-input ops (test_unary.cpp, test_activation.cpp).
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <ember/autograd/gradcheck.hpp>
#include <ember/core/tensor.hpp>

namespace ember_test {

using ember::Generator;
using ember::Shape;
using T64 = ember::Tensor<double>;
using Make = std::function<T64(const Shape&, Generator&)>;
using Op = std::function<T64(const T64&)>;

// Gradient and second-derivative checks of a one-input op on a random 3-D shape and on a
// non-contiguous (transposed) input. A piecewise-linear op has no second derivative of its
// own, so its gradgradcheck runs on op(x) * x, which still checks that its backward rule is
// differentiable in the incoming gradient.
inline void check_grads(const std::string& name, const Op& op, const Make& make,
                        bool piecewise_linear = false) {
  INFO("op: ", name);
  Generator gen(42);
  const auto f = [&](const std::vector<T64>& xs) { return op(xs[0]); };
  const auto f2 = [&](const std::vector<T64>& xs) {
    return piecewise_linear ? ember::mul(op(xs[0]), xs[0]) : op(xs[0]);
  };
  T64 x = make({2, 3, 4}, gen).requires_grad_();
  CHECK(ember::gradcheck_report(f, {x}) == "");
  CHECK(ember::gradgradcheck_report(f2, {x}) == "");
  T64 xt = make({4, 3}, gen).t().detach().requires_grad_();
  REQUIRE_FALSE(xt.is_contiguous());
  CHECK(ember::gradcheck_report(f, {xt}) == "");
  CHECK(ember::gradgradcheck_report(f2, {xt}) == "");
}

// float32 forward agrees with float64 run on the same (float-rounded) input.
template <class F>
void check_float32(const std::string& name, F op, const T64& x64) {
  INFO("op: ", name);
  const ember::Tensor<float> xf = x64.to<float>();
  const std::vector<float> got = op(xf).to_vector();
  const std::vector<double> want = op(xf.to<double>()).to_vector();
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i)
    CHECK(std::abs(double(got[i]) - want[i]) <= 1e-6 * std::max(1.0, std::abs(want[i])));
}

}  // namespace ember_test
