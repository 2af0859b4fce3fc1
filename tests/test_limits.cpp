// Limits: element-count overflow, negative or zero sizes where they are invalid, and shape
// mismatches for every op family must throw ember::Error with a message that names the op and
// what was wrong (never a crash, a huge allocation or a silent wrong answer).
#include <doctest/doctest.h>

#include <cstdint>
#include <ember/core/tensor.hpp>
#include <ember/nn/functional/loss.hpp>
#include <ember/nn/linear.hpp>
#include <ember/ops/dropout.hpp>
#include <ember/ops/indexing.hpp>
#include <ember/ops/layer_norm.hpp>
#include <ember/ops/linalg.hpp>
#include <ember/ops/shape.hpp>
#include <ember/ops/softmax.hpp>
#include <ember/optim/adam.hpp>
#include <ember/optim/sgd.hpp>
#include <functional>
#include <limits>
#include <memory>
#include <string>

using namespace ember;

namespace {

// The ember::Error message f throws ("" when it throws nothing; another exception fails).
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// f throws ember::Error and its message contains every one of `parts`.
void check_error(const std::function<void()>& f, std::initializer_list<std::string> parts) {
  const std::string msg = error_of(f);
  INFO("message: '", msg, "'");
  CHECK_FALSE(msg.empty());
  for (const std::string& p : parts)
    CHECK_MESSAGE(msg.find(p) != std::string::npos, "missing '", p, "'");
}

constexpr int64_t kBig = int64_t{1} << 32;

}  // namespace

TEST_CASE("limits: element-count overflow is an Error, not a wrap-around allocation") {
  check_error(
      [] {
        (void)Tensor<float>::zeros({kBig, kBig});
      },
      {"[4294967296, 4294967296]", "int64"});
  check_error([] { (void)Tensor<float>::empty({kBig, kBig, 4}); }, {"int64"});
  check_error([] { (void)Tensor<float>::randn({kBig, kBig}); }, {"int64"});
  // Views to an overflowing shape, including a stride-0 expand that needs no memory.
  const Tensor<float> one = Tensor<float>::zeros({1, 1});
  check_error([&] { (void)one.view({kBig, kBig}); }, {"view"});
  check_error([&] { (void)one.reshape({kBig, kBig, kBig}); }, {"reshape"});
  check_error([&] { (void)one.expand({kBig, kBig}); }, {"expand", "int64"});
}

TEST_CASE("limits: negative sizes") {
  check_error([] { (void)Tensor<float>::zeros({2, -3}); }, {"negative dimension -3", "[2, -3]"});
  check_error([] { (void)Tensor<double>::ones({-1}); }, {"negative dimension"});
  const Tensor<float> x = Tensor<float>::zeros({2, 6});
  check_error([&] { (void)x.view({-1, -1}); }, {"view"});
  check_error([&] { (void)x.view({-2, 6}); }, {"view"});
  check_error([&] { (void)x.reshape({5, -1}); }, {"[2, 6]"});
  check_error([&] { (void)x.expand({2, -2}); }, {"expand"});
  check_error([] { nn::Linear(-1, 3); }, {"Linear", "in_features=-1"});
  check_error([&] { (void)split(x, -1, 1); }, {"split"});
  check_error([&] { (void)repeat(x, {1, -1}); }, {"repeat"});
}

TEST_CASE("limits: zero where it is invalid") {
  const Tensor<float> x = Tensor<float>::zeros({2, 6});
  check_error([&] { (void)chunk(x, 0, 1); }, {"chunk"});
  check_error([&] { (void)split(x, 0, 1); }, {"split"});
  check_error([&] { (void)Tensor<float>::zeros({0, 3}).view({-1, 0}); }, {"view"});
  // Probabilities and hyperparameters outside their domain.
  check_error([&] { (void)dropout(x, 1.5); }, {"dropout", "1.5"});
  check_error([&] { (void)dropout(x, -0.1); }, {"dropout"});
  Tensor<float> p = Tensor<float>::zeros({3}).requires_grad_();
  check_error([&] { optim::Adam opt({p}, {.lr = -1.0}); }, {"Adam"});
  check_error([&] { optim::Adam opt({p}, {.beta1 = 1.0}); }, {"Adam"});
  check_error([&] { optim::SGD opt({p}, {.lr = -0.1}); }, {"SGD"});
}

TEST_CASE("limits: shape mismatches, arithmetic and reductions") {
  const Tensor<float> a = Tensor<float>::zeros({2, 3}), b = Tensor<float>::zeros({4});
  check_error([&] { (void)add(a, b); }, {"add", "[2, 3]", "[4]"});
  check_error([&] { (void)mul(a, b); }, {"mul", "[2, 3]", "[4]"});
  check_error([&] { (void)div(b, a); }, {"div"});
  check_error([&] { (void)sum(a, {2}); }, {"dimension 2"});
  check_error([&] { (void)mean(a, {-3}); }, {"dimension -3"});
  check_error([&] { (void)sum_to(a, {5}); }, {"[2, 3]"});
}

TEST_CASE("limits: shape mismatches, linear algebra") {
  const Tensor<float> a = Tensor<float>::zeros({2, 3}), b = Tensor<float>::zeros({4, 5});
  check_error([&] { (void)matmul(a, b); }, {"matmul", "[2, 3]", "[4, 5]"});
  check_error([&] { (void)mm(a, Tensor<float>::zeros({3})); }, {"mm"});
  check_error(
      [&] {
        (void)bmm(Tensor<float>::zeros({2, 2, 3}), Tensor<float>::zeros({3, 3, 4}));
      },
      {"bmm"});
  check_error([&] { (void)linear(a, Tensor<float>::zeros({5, 4})); }, {"linear"});
  check_error(
      [&] {
        (void)linear(a, Tensor<float>::zeros({5, 3}), Tensor<float>::zeros({4}));
      },
      {"linear"});
  nn::Linear layer(3, 4);
  check_error([&] { (void)layer.forward(Tensor<float>::zeros({2, 5})); }, {"[2, 5]"});
}

TEST_CASE("limits: shape mismatches, shape ops") {
  const Tensor<float> a = Tensor<float>::zeros({2, 3}), b = Tensor<float>::zeros({2, 4});
  check_error([&] { (void)cat<float>({a, b}, 0); }, {"cat", "[2, 3]", "[2, 4]"});
  check_error([&] { (void)cat<float>({a, Tensor<float>::zeros({3})}, 0); }, {"cat"});
  check_error([] { (void)cat(std::vector<Tensor<float>>{}, 0); }, {"cat"});
  check_error([&] { (void)stack<float>({a, b}, 0); }, {"stack"});
  check_error([&] { (void)split(a, {1, 1}, 1); }, {"split"});
  check_error([&] { (void)a.view({4, 2}); }, {"view", "[2, 3]"});
  check_error([&] { (void)a.transpose(0, 2); }, {"dimension 2"});
  check_error([&] { (void)a.expand({3, 3}); }, {"expand"});
}

TEST_CASE("limits: shape mismatches, softmax and layer_norm") {
  const Tensor<float> x = Tensor<float>::zeros({2, 3});
  check_error([&] { (void)softmax(x, 2); }, {"dimension 2"});
  check_error([&] { (void)log_softmax(x, -3); }, {"dimension -3"});
  check_error([&] { (void)layer_norm(x, {4}); }, {"layer_norm", "[2, 3]", "[4]"});
  check_error([&] { (void)layer_norm(x, {3}, Tensor<float>::ones({4})); }, {"layer_norm"});
  check_error([&] { (void)layer_norm(x, {}); }, {"layer_norm"});
}

TEST_CASE("limits: shape mismatches and bad indices, indexing") {
  const Tensor<float> x = Tensor<float>::zeros({4, 3});
  const Tensor<int64_t> out_of_range{0, 4};
  check_error([&] { (void)index_select(x, 0, out_of_range); }, {"index_select", "4"});
  check_error([&] { (void)index_select(x, 0, Tensor<int64_t>{-5}); }, {"index_select"});
  check_error([&] { (void)gather(x, 0, Tensor<int64_t>::zeros({2})); }, {"gather"});
  check_error([&] { (void)gather(x, 1, Tensor<int64_t>::full({2, 3}, 3)); }, {"gather"});
  check_error(
      [&] {
        (void)scatter_add(x, 0, Tensor<int64_t>::zeros({2, 3}), Tensor<float>::zeros({1, 3}));
      },
      {"scatter_add"});
  check_error(
      [&] {
        (void)index_add(x, 0, Tensor<int64_t>{0, 1}, Tensor<float>::zeros({3, 3}));
      },
      {"index_add"});
  check_error([&] { (void)masked_fill(x, Tensor<bool>::zeros({5}), 1.0f); }, {"masked_fill"});
}

TEST_CASE("limits: shape mismatches, losses") {
  const Tensor<float> logits = Tensor<float>::zeros({4, 3});
  check_error([&] { (void)nn::functional::cross_entropy(logits, Tensor<int64_t>::zeros({5})); },
              {"cross_entropy"});
  check_error(
      [&] {
        (void)nn::functional::cross_entropy(logits, Tensor<int64_t>{0, 1, 2, 3});
      },
      {"cross_entropy"});
  check_error(
      [&] {
        (void)nn::functional::mse_loss(logits, Tensor<float>::zeros({4, 2}));
      },
      {"mse_loss"});
}

TEST_CASE("limits: shape mismatches, autograd and optimizers") {
  const Tensor<float> x = Tensor<float>::zeros({2, 3}).requires_grad_();
  const Tensor<float> y = mul(x, 2.0f);
  check_error([&] { y.backward(); }, {"backward", "[2, 3]"});  // implicit grad needs one element
  check_error([&] { y.backward(Tensor<float>::ones({3, 2})); }, {"backward", "[3, 2]"});
  const Tensor<float> p = Tensor<float>::zeros({3}).requires_grad_();
  optim::SGD opt({p}, {.lr = 0.1});
  p.set_grad(Tensor<float>::ones({4}));
  check_error([&] { opt.step(); }, {"SGD"});
}
