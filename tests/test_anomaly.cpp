// Anomaly mode (autograd/anomaly.hpp): the first NaN/Inf in a recorded op's forward output or
// in a backward rule's gradient throws an Error naming the op; check_loss and check_finite.
#include <doctest/doctest.h>

#include <cmath>
#include <ember/autograd/anomaly.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/unary.hpp>
#include <functional>
#include <limits>
#include <string>

using namespace ember;

namespace {

std::string thrown_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("anomaly: off by default; guard turns it on for a scope and restores it") {
  CHECK_FALSE(is_anomaly_enabled());
  {
    AnomalyGuard guard;
    CHECK(is_anomaly_enabled());
    {
      AnomalyGuard off(false);
      CHECK_FALSE(is_anomaly_enabled());
    }
    CHECK(is_anomaly_enabled());
  }
  CHECK_FALSE(is_anomaly_enabled());
  detect_anomaly(true);
  CHECK(is_anomaly_enabled());
  detect_anomaly(false);
  CHECK_FALSE(is_anomaly_enabled());
}

TEST_CASE("anomaly: forward NaN names the op and shape; off, the NaN flows silently") {
  const Tensor<double> x = Tensor<double>::from_vector({1, -1, 2, 3}, {2, 2}).requires_grad_();
  CHECK_NOTHROW((void)log(x));  // off: log(-1) = NaN, no error
  AnomalyGuard guard;
  const std::string msg = thrown_message([&] { (void)log(x); });
  CHECK(msg == "anomaly: op 'log' produced NaN in its forward output [2, 2]");
  // Inf: 1/0.
  const Tensor<double> z = Tensor<double>{0.0, 1.0}.requires_grad_();
  CHECK(thrown_message([&] { (void)reciprocal(z); }) ==
        "anomaly: op 'reciprocal' produced Inf in its forward output [2]");
  // Finite results pass, also on a non-contiguous view.
  const Tensor<double> y = Tensor<double>::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}).requires_grad_();
  CHECK_NOTHROW((void)exp(y.transpose(0, 1)));
  // Ops that record no node are not scanned (documented scope).
  const Tensor<double> plain = Tensor<double>{-1.0};
  CHECK_NOTHROW((void)log(plain));
}

TEST_CASE("anomaly: forward infinities can be allowed (masks), NaN still caught") {
  const Tensor<double> z = Tensor<double>{0.0, 1.0}.requires_grad_();
  AnomalyGuard guard(true, /*forward_inf_is_anomaly=*/false);
  CHECK_NOTHROW((void)reciprocal(z));  // Inf allowed in forward outputs
  const Tensor<double> x = Tensor<double>{-1.0}.requires_grad_();
  CHECK(thrown_message([&] { (void)log(x); }) ==
        "anomaly: op 'log' produced NaN in its forward output [1]");
  {
    AnomalyGuard strict;  // nested: back to the default, and restored on exit
    CHECK_THROWS_AS((void)reciprocal(z), Error);
  }
  CHECK_NOTHROW((void)reciprocal(z));
  // Backward still rejects infinities in gradients.
  const Tensor<double> s = sum(sqrt(Tensor<double>{0.0}.requires_grad_()));
  CHECK_THROWS_AS(s.backward(), Error);
}

TEST_CASE("anomaly: backward NaN names the op and the input") {
  // sqrt(0) = 0 is finite, its gradient 0.5/sqrt(0) is Inf.
  const Tensor<double> x = Tensor<double>{0.0, 4.0}.requires_grad_();
  AnomalyGuard guard;
  const Tensor<double> s = sum(sqrt(x));
  const std::string msg = thrown_message([&] { s.backward(); });
  CHECK(msg == "anomaly: op 'sqrt' produced Inf in the gradient for input 0 in backward [2]");
  // Off: the same backward runs and leaves Inf in the gradient.
  AnomalyGuard off(false);
  const Tensor<double> x2 = Tensor<double>{0.0, 4.0}.requires_grad_();
  sum(sqrt(x2)).backward();
  CHECK(std::isinf(x2.grad().to_vector()[0]));
}

TEST_CASE("anomaly: complex tensors are scanned; integer tensors are always finite") {
  using C = std::complex<double>;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK(detail::first_nonfinite(*Tensor<C>{C(1, 0), C(0, nan)}.impl()) == std::string("NaN"));
  CHECK(detail::first_nonfinite(*Tensor<C>{C(1, 2)}.impl()) == nullptr);
  CHECK(detail::first_nonfinite(*Tensor<int64_t>{1, 2}.impl()) == nullptr);
}

TEST_CASE("check_finite and check_loss") {
  const double inf = std::numeric_limits<double>::infinity();
  CHECK_NOTHROW(check_finite(Tensor<double>{1, 2}, "mine"));
  CHECK(thrown_message([&] {
          check_finite(Tensor<double>{1, inf}, "mine");
        }) == "anomaly: op 'mine' produced Inf in its forward output [2]");
  CHECK_NOTHROW(check_loss(Tensor<float>::scalar(0.5f), 3));
  const std::string msg = thrown_message(
      [&] { check_loss(Tensor<float>::scalar(std::numeric_limits<float>::quiet_NaN()), 17); });
  CHECK(msg.rfind("check_loss: the loss is NaN at step 17", 0) == 0);
  CHECK(thrown_message([&] {
          check_loss(Tensor<double>::scalar(-inf), 2);
        }).rfind("check_loss: the loss is Inf at step 2", 0) == 0);
  CHECK_THROWS_AS(check_loss(Tensor<double>{1, 2}, 0), Error);  // not one element
}
