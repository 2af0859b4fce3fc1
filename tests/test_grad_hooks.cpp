// Post-accumulate-grad hooks (autograd/hooks.hpp): run once per backward, after the leaf's
// .grad() holds the accumulated gradient, in an order where a leaf near the output comes
// first; removed by their handle; not run by grad().
#include <doctest/doctest.h>

#include <ember/autograd/hooks.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/arith.hpp>
#include <ember/ops/reduce.hpp>
#include <string>
#include <vector>

using namespace ember;

TEST_CASE("post-accumulate-grad hook sees the accumulated gradient once per backward") {
  auto w = Tensor<double>::from_vector({1.0, 2.0, 3.0}, {3}).requires_grad_();
  std::vector<double> seen;
  int calls = 0;
  HookHandle h = register_post_accumulate_grad_hook<double>(w, [&](const Tensor<double>& t) {
    ++calls;
    REQUIRE(t.grad().defined());
    seen = t.grad().to_vector();
  });
  // w is used twice: the hook must run after both contributions are summed, not per use.
  sum(add(mul(w, w), w)).backward();  // d/dw = 2w + 1
  CHECK(calls == 1);
  CHECK(seen == std::vector<double>{3.0, 5.0, 7.0});
  sum(w).backward();  // accumulates: 2w + 1 + 1
  CHECK(calls == 2);
  CHECK(seen == std::vector<double>{4.0, 6.0, 8.0});

  grad<double>({sum(w)}, {w});  // grad() leaves .grad() alone, so runs no hook
  CHECK(calls == 2);

  h.remove();
  sum(w).backward();
  CHECK(calls == 2);
}

TEST_CASE("post-accumulate-grad hooks fire output side first and die with their handle") {
  auto a = Tensor<double>::from_vector({1.0, 2.0}, {2}).requires_grad_();
  auto b = Tensor<double>::from_vector({3.0, 4.0}, {2}).requires_grad_();
  std::string order;
  {
    HookHandle ha =
        register_post_accumulate_grad_hook<double>(a, [&](const Tensor<double>&) { order += "a"; });
    HookHandle hb =
        register_post_accumulate_grad_hook<double>(b, [&](const Tensor<double>&) { order += "b"; });
    // b is applied last (nearest the loss), so its gradient is final first.
    sum(mul(add(mul(a, a), a), b)).backward();
    CHECK(order == "ba");
  }
  sum(mul(a, b)).backward();  // handles gone: no more calls
  CHECK(order == "ba");
}

TEST_CASE("post-accumulate-grad hook rejects tensors that are not trainable leaves") {
  auto x = Tensor<double>::from_vector({1.0}, {1});
  CHECK_THROWS_WITH_AS(register_post_accumulate_grad_hook<double>(x, [](const Tensor<double>&) {}),
                       doctest::Contains("without requires_grad"), Error);
  x.requires_grad_();
  auto y = mul(x, x);
  CHECK_THROWS_WITH_AS(register_post_accumulate_grad_hook<double>(y, [](const Tensor<double>&) {}),
                       doctest::Contains("result of an op"), Error);
}
