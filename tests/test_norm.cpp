// Tests for ops/batch_norm.hpp, ops/norm_more.hpp (group_norm, instance_norm, normalize) and
// nn/norm.hpp (BatchNorm1d/2d, LayerNorm, GroupNorm, InstanceNorm2d): float64 gradient and
// second-derivative checks, running statistics against hand-computed numbers, and golden values
// from PyTorch (tests/fixtures/transformer/, made by make_fixtures.py), compared in float64.
#include <doctest/doctest.h>

#include <cmath>
#include <ember/autograd/gradcheck.hpp>
#include <ember/core/tensor.hpp>
#include <ember/io/json.hpp>
#include <ember/nn/norm.hpp>
#include <ember/ops/batch_norm.hpp>
#include <ember/ops/layer_norm.hpp>
#include <ember/ops/norm_more.hpp>
#include <ember/ops/reduce_more.hpp>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

using namespace ember;

namespace {

using T64 = Tensor<double>;
namespace json = io::json;

json::Value load_fixture(const std::string& name) {
  const std::string path = EMBER_SOURCE_DIR "/tests/fixtures/transformer/" + name + ".json";
  std::ifstream f(path);
  REQUIRE_MESSAGE(f.good(), "cannot open ", path);
  const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return json::parse(text);
}

T64 fixture_tensor(const json::Value& v) {
  Shape shape;
  for (const auto& s : v.at("shape").as_array()) shape.push_back(s.as_int64());
  std::vector<double> data;
  for (const auto& x : v.at("data").as_array()) data.push_back(x.as_double());
  return T64::from_vector(data, shape.empty() ? Shape{} : shape);
}

// ||a - b|| / ||b|| over all elements (shapes must match).
template <class A, class B>
double rel_err(const Tensor<A>& a, const Tensor<B>& b) {
  REQUIRE(a.shape() == b.shape());
  const auto va = a.to_vector();
  const auto vb = b.to_vector();
  double num = 0, den = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    num += (double(va[i]) - double(vb[i])) * (double(va[i]) - double(vb[i]));
    den += double(vb[i]) * double(vb[i]);
  }
  return std::sqrt(num) / std::max(std::sqrt(den), 1e-300);
}

void check_close(const std::vector<double>& got, const std::vector<double>& want, double tol) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(tol));
}

}  // namespace

// ------------------------------------------------------------------ batch_norm

TEST_CASE("batch_norm: gradcheck and gradgradcheck, training, [N, C, *] and [N, C]") {
  Generator gen(1);
  T64 w = T64::rand({3}, gen, 0.5, 1.5).requires_grad_();
  T64 b = T64::randn({3}, gen).requires_grad_();
  T64 rm = T64::zeros({3}), rv = T64::ones({3});
  // Non-contiguous [4, 3, 5] input (a transpose of [3, 4, 5]).
  T64 x = T64::randn({3, 4, 5}, gen).transpose(0, 1).detach().requires_grad_();
  REQUIRE_FALSE(x.is_contiguous());
  auto f = [&](const std::vector<T64>& v) { return batch_norm(v[0], rm, rv, v[1], v[2], true); };
  CHECK(gradcheck_report(f, {x, w, b}) == "");
  CHECK(gradgradcheck_report(f, {x, w, b}) == "");
  // [N, C] (non-contiguous), no affine, no running stats.
  T64 x2 = T64::randn({3, 5}, gen).t().detach().requires_grad_();
  auto f2 = [&](const std::vector<T64>& v) {
    return batch_norm(v[0], T64(), T64(), T64(), T64(), true);
  };
  CHECK(gradcheck_report(f2, {x2}) == "");
  CHECK(gradgradcheck_report(f2, {x2}) == "");
  // 4-D with only a weight.
  T64 x4 = T64::randn({2, 3, 2, 2}, gen).requires_grad_();
  auto f4 = [&](const std::vector<T64>& v) {
    return batch_norm(v[0], T64(), T64(), v[1], T64(), true);
  };
  CHECK(gradcheck_report(f4, {x4, w}) == "");
  CHECK(gradgradcheck_report(f4, {x4, w}) == "");
}

TEST_CASE("batch_norm: gradcheck and gradgradcheck, eval mode") {
  Generator gen(2);
  T64 w = T64::rand({3}, gen, 0.5, 1.5).requires_grad_();
  T64 b = T64::randn({3}, gen).requires_grad_();
  T64 rm = T64::randn({3}, gen), rv = T64::rand({3}, gen, 0.5, 2.0);
  T64 x = T64::randn({4, 3, 2}, gen).requires_grad_();
  auto f = [&](const std::vector<T64>& v) { return batch_norm(v[0], rm, rv, v[1], v[2], false); };
  CHECK(gradcheck_report(f, {x, w, b}) == "");
  CHECK(gradgradcheck_report(f, {x, w, b}) == "");
  // Eval output is (x - rm) / sqrt(rv + eps) * w + b, and the running stats stay.
  const T64 y = batch_norm(x, rm, rv, w, b, false, 0.1, 1e-5);
  for (int64_t c = 0; c < 3; ++c) {
    const double want =
        (x.at({1, c, 1}) - rm.at({c})) / std::sqrt(rv.at({c}) + 1e-5) * w.at({c}) + b.at({c});
    CHECK(y.at({1, c, 1}) == doctest::Approx(want).epsilon(1e-12));
  }
}

TEST_CASE("batch_norm: the create_graph gradient equals the fused one") {
  Generator gen(3);
  for (bool training : {true, false}) {
    T64 w = T64::rand({3}, gen, 0.5, 1.5).requires_grad_();
    T64 b = T64::randn({3}, gen).requires_grad_();
    T64 x = T64::randn({5, 3, 4}, gen).requires_grad_();
    T64 rm = T64::randn({3}, gen), rv = T64::rand({3}, gen, 0.5, 2.0);
    T64 gy = T64::randn({5, 3, 4}, gen);
    auto run = [&](bool create_graph) {
      T64 y = batch_norm(x, rm.clone(), rv.clone(), w, b, training);
      return grad<double>({y}, {x, w, b}, {gy}, {.create_graph = create_graph});
    };
    auto fused = run(false), composite = run(true);
    for (int i = 0; i < 3; ++i) CHECK(rel_err(composite[i], fused[i]) < 1e-12);
  }
}

TEST_CASE("batch_norm: a large input (the parallel kernels) matches the composite formula") {
  Generator gen(11);
  T64 x = T64::randn({8, 16, 16, 32}, gen, 0.5, 2.0).requires_grad_();
  T64 w = T64::rand({16}, gen, 0.5, 1.5).requires_grad_();
  T64 b = T64::randn({16}, gen).requires_grad_();
  const T64 gy = T64::randn(x.shape(), gen);
  const T64 y = batch_norm(x, T64(), T64(), w, b, true);
  const auto fused = grad<double>({y}, {x, w, b}, {gy});
  // Reference from reductions over dims {0, 2, 3}.
  const T64 mu = mean(x, {0, 2, 3}, true);
  const T64 var_b = var(x, {0, 2, 3}, {.correction = 0, .keepdim = true});
  const T64 ref = add(mul(div(sub(x, mu), sqrt(add(var_b, 1e-5))), w.reshape({1, 16, 1, 1})),
                      b.reshape({1, 16, 1, 1}));
  CHECK(rel_err(y, ref) < 1e-12);
  const auto want = grad<double>({ref}, {x, w, b}, {gy});
  for (int i = 0; i < 3; ++i) CHECK(rel_err(fused[i], want[i]) < 1e-10);
  // float32 agrees with float64 to float precision (row sums in float, totals in double).
  const Tensor<float> yf = batch_norm(x.detach().to<float>(), Tensor<float>(), Tensor<float>(),
                                      w.detach().to<float>(), b.detach().to<float>(), true);
  CHECK(rel_err(yf, y) < 1e-6);
}

TEST_CASE("batch_norm: running statistics after two steps (hand-computed)") {
  // Step 1, N = 3: channel 0 = {1, 3, 5} (mean 3, unbiased var 4), channel 1 = {2, 4, 9}
  // (mean 5, unbiased var 13). Step 2, N = 2: {0, 2} (mean 1, var 2), {0, 4} (mean 2, var 8).
  const T64 x1 = T64::from_vector({1, 2, 3, 4, 5, 9}, {3, 2});
  const T64 x2 = T64::from_vector({0, 0, 2, 4}, {2, 2});
  T64 rm = T64::zeros({2}), rv = T64::ones({2});
  const T64 y1 = batch_norm(x1, rm, rv, T64(), T64(), true, 0.1, 1e-5);
  check_close(rm.to_vector(), {0.3, 0.5}, 1e-14);  // 0.9 * 0 + 0.1 * mean
  check_close(rv.to_vector(), {1.3, 2.2}, 1e-14);  // 0.9 * 1 + 0.1 * unbiased var
  // The output normalises with the biased variance: 8/3 and 26/3.
  CHECK(y1.at({0, 0}) == doctest::Approx(-2 / std::sqrt(8.0 / 3 + 1e-5)).epsilon(1e-12));
  CHECK(y1.at({2, 1}) == doctest::Approx(4 / std::sqrt(26.0 / 3 + 1e-5)).epsilon(1e-12));
  batch_norm(x2, rm, rv, T64(), T64(), true, 0.1, 1e-5);
  check_close(rm.to_vector(), {0.37, 0.65}, 1e-14);
  check_close(rv.to_vector(), {1.37, 2.78}, 1e-14);

  // The same through BatchNorm1d (float32), which also counts the batches.
  nn::BatchNorm1d bn(2);
  bn.forward(x1.to<float>());
  bn.forward(x2.to<float>());
  check_close(bn.running_mean.to<double>().to_vector(), {0.37, 0.65}, 1e-6);
  check_close(bn.running_var.to<double>().to_vector(), {1.37, 2.78}, 1e-6);
  CHECK(bn.num_batches_tracked.item() == 2);
  // momentum = None: a cumulative average (factor 1, then 1/2).
  nn::BatchNorm1d cum(2, {.momentum = std::nullopt});
  cum.forward(x1.to<float>());
  cum.forward(x2.to<float>());
  CHECK(cum.running_mean.at({0}) == doctest::Approx(2.0));
  CHECK(cum.running_mean.at({1}) == doctest::Approx(3.5));
  CHECK(cum.running_var.at({0}) == doctest::Approx(3.0));
  CHECK(cum.running_var.at({1}) == doctest::Approx(10.5));
  // eval() stops the updates and normalises with the running stats.
  bn.eval();
  const Tensor<float> ye = bn.forward(x1.to<float>());
  CHECK(bn.num_batches_tracked.item() == 2);
  CHECK(ye.at({0, 0}) == doctest::Approx((1 - 0.37) / std::sqrt(1.37 + 1e-5)).epsilon(1e-5));
}

TEST_CASE("batch_norm: golden values from PyTorch (float64, 1e-10 relative)") {
  const json::Value fx = load_fixture("batch_norm");
  const double momentum = fx.at("momentum").as_double(), eps = fx.at("eps").as_double();
  const T64 w0 = fixture_tensor(fx.at("weight")), b0 = fixture_tensor(fx.at("bias"));
  for (const char* mode : {"train", "eval", "train2d"}) {
    INFO("mode: ", mode);
    const json::Value& c = fx.at(mode);
    const bool training = std::string(mode) != "eval";
    T64 x =
        fixture_tensor(std::string(mode) == "train2d" ? c.at("x") : fx.at("x")).requires_grad_();
    T64 w = w0.clone().requires_grad_(), b = b0.clone().requires_grad_();
    T64 rm = fixture_tensor(fx.at("running_mean0")), rv = fixture_tensor(fx.at("running_var0"));
    const T64 y = batch_norm(x, rm, rv, w, b, training, momentum, eps);
    y.backward(fixture_tensor(c.at("gy")));
    CHECK(rel_err(y, fixture_tensor(c.at("y"))) < 1e-10);
    CHECK(rel_err(x.grad(), fixture_tensor(c.at("gx"))) < 1e-10);
    CHECK(rel_err(w.grad(), fixture_tensor(c.at("gweight"))) < 1e-10);
    CHECK(rel_err(b.grad(), fixture_tensor(c.at("gbias"))) < 1e-10);
    CHECK(rel_err(rm, fixture_tensor(c.at("running_mean"))) < 1e-10);
    CHECK(rel_err(rv, fixture_tensor(c.at("running_var"))) < 1e-10);
  }
}

TEST_CASE("layer_norm: golden values from PyTorch (float64, 1e-10 relative)") {
  const json::Value fx = load_fixture("layer_norm");
  T64 x = fixture_tensor(fx.at("x")).requires_grad_();
  T64 w = fixture_tensor(fx.at("weight")).requires_grad_();
  T64 b = fixture_tensor(fx.at("bias")).requires_grad_();
  const T64 y = layer_norm(x, {4, 5}, w, b, 1e-5);
  y.backward(fixture_tensor(fx.at("gy")));
  CHECK(rel_err(y, fixture_tensor(fx.at("y"))) < 1e-10);
  CHECK(rel_err(x.grad(), fixture_tensor(fx.at("gx"))) < 1e-10);
  CHECK(rel_err(w.grad(), fixture_tensor(fx.at("gweight"))) < 1e-10);
  CHECK(rel_err(b.grad(), fixture_tensor(fx.at("gbias"))) < 1e-10);
  // The float32 module on the same values, at float32 precision.
  nn::LayerNorm ln(Shape{4, 5});
  ln.load_state_dict({{"weight", w.detach().to<float>()}, {"bias", b.detach().to<float>()}});
  CHECK(rel_err(ln.forward(x.detach().to<float>()), fixture_tensor(fx.at("y"))) < 1e-5);
}

TEST_CASE("batch_norm: bad input throws") {
  const T64 x = T64::zeros({4, 3, 2});
  CHECK_THROWS_AS(batch_norm(x, T64(), T64(), T64::ones({4}), T64(), true),
                  Error);  // weight [4], C = 3
  CHECK_THROWS_AS(batch_norm(x, T64::zeros({2}), T64::ones({2}), T64(), T64(), true), Error);
  CHECK_THROWS_AS(batch_norm(x, T64(), T64(), T64(), T64(), false), Error);  // eval, no stats
  CHECK_THROWS_AS(batch_norm(T64::zeros({1, 3}), T64(), T64(), T64(), T64(), true), Error);
  CHECK_THROWS_AS(batch_norm(T64::zeros({4}), T64(), T64(), T64(), T64(), true), Error);
  try {
    batch_norm(x, T64(), T64(), T64::ones({4}), T64(), true);
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find("batch_norm") != std::string::npos);
    CHECK(msg.find("[4, 3, 2]") != std::string::npos);
  }
  nn::BatchNorm2d bn(3);
  CHECK_THROWS_AS(bn.forward(Tensor<float>::zeros({2, 3, 4})), Error);     // 3-D into 2d
  CHECK_THROWS_AS(bn.forward(Tensor<float>::zeros({2, 4, 2, 2})), Error);  // 4 channels
  nn::BatchNorm1d bn1(3);
  CHECK_THROWS_AS(bn1.forward(Tensor<float>::zeros({2, 3, 4, 5})), Error);
}

// ------------------------------------------------------------------ group_norm, instance_norm

TEST_CASE("group_norm: gradcheck, gradgradcheck and a reference formula") {
  Generator gen(4);
  T64 x = T64::randn({2, 4, 3, 2}, gen).requires_grad_();
  T64 w = T64::randn({4}, gen).requires_grad_();
  T64 b = T64::randn({4}, gen).requires_grad_();
  auto f = [&](const std::vector<T64>& v) { return group_norm(v[0], 2, v[1], v[2]); };
  CHECK(gradcheck_report(f, {x, w, b}) == "");
  CHECK(gradgradcheck_report(f, {x, w, b}) == "");
  T64 xt = T64::randn({3, 2, 4}, gen).permute({1, 2, 0}).detach().requires_grad_();  // [2, 4, 3]
  REQUIRE_FALSE(xt.is_contiguous());
  auto f1 = [&](const std::vector<T64>& v) { return group_norm(v[0], 4); };
  CHECK(gradcheck_report(f1, {xt}) == "");
  CHECK(gradgradcheck_report(f1, {xt}) == "");
  // Reference: (x - mean) / sqrt(var + eps) over each group of 2 channels and all positions.
  NoGradGuard no_grad;
  const T64 xg = x.reshape({2, 2, 12});
  const T64 mu = mean(xg, {2}, true);
  const T64 var_b = var(xg, {2}, {.correction = 0, .keepdim = true});
  const T64 ref = add(
      mul(div(sub(xg, mu), sqrt(add(var_b, 1e-5))).reshape({2, 4, 3, 2}), w.reshape({1, 4, 1, 1})),
      b.reshape({1, 4, 1, 1}));
  CHECK(rel_err(group_norm(x, 2, w, b), ref) < 1e-12);
  CHECK_THROWS_AS(group_norm(x, 3), Error);                  // 4 channels, 3 groups
  CHECK_THROWS_AS(group_norm(x, 2, T64::ones({3})), Error);  // weight [3]
  CHECK_THROWS_AS(nn::GroupNorm(3, 4), Error);
}

TEST_CASE("instance_norm: gradcheck, running stats and use_input_stats=false") {
  Generator gen(5);
  T64 x = T64::randn({2, 3, 4}, gen).requires_grad_();
  T64 w = T64::randn({3}, gen).requires_grad_();
  T64 b = T64::randn({3}, gen).requires_grad_();
  auto f = [&](const std::vector<T64>& v) { return instance_norm(v[0], T64(), T64(), v[1], v[2]); };
  CHECK(gradcheck_report(f, {x, w, b}) == "");
  CHECK(gradgradcheck_report(f, {x, w, b}) == "");
  // Equal to group_norm with one group per channel.
  CHECK(rel_err(instance_norm(x.detach(), T64(), T64(), w.detach(), b.detach()),
                group_norm(x.detach(), 3, w.detach(), b.detach())) < 1e-13);
  // Running stats: average over N of each instance's mean and unbiased variance.
  // x[:, 0, :] = {0, 2, 4, 6} (mean 3, var 20/3) and {1, 1, 1, 1} (mean 1, var 0).
  T64 xs = T64::zeros({2, 1, 4});
  for (int64_t i = 0; i < 4; ++i) {
    xs.at({0, 0, i}) = 2.0 * double(i);
    xs.at({1, 0, i}) = 1.0;
  }
  T64 rm = T64::zeros({1}), rv = T64::ones({1});
  instance_norm(xs, rm, rv, T64(), T64(), true, 0.1, 1e-5);
  CHECK(rm.item() == doctest::Approx(0.1 * 2.0).epsilon(1e-14));
  CHECK(rv.item() == doctest::Approx(0.9 + 0.1 * (20.0 / 3.0) / 2.0).epsilon(1e-14));
  // Without input stats it is batch_norm in eval.
  const T64 rm3 = T64::randn({3}, gen), rv3 = T64::rand({3}, gen, 0.5, 2.0);
  CHECK(rel_err(instance_norm(x.detach(), rm3, rv3, w.detach(), b.detach(), false),
                batch_norm(x.detach(), rm3, rv3, w.detach(), b.detach(), false)) < 1e-15);
  CHECK_THROWS_AS(instance_norm(T64::zeros({2, 3}), T64(), T64()), Error);  // no spatial dim
  CHECK_THROWS_AS(instance_norm(x.detach(), T64(), T64(), T64::ones({2})), Error);
  CHECK_THROWS_AS(instance_norm(x.detach(), T64(), T64(), T64(), T64(), false), Error);
}

// ------------------------------------------------------------------ normalize

TEST_CASE("normalize: values, gradcheck and gradgradcheck") {
  const T64 v = T64::from_vector({3, 4, 0, 0}, {2, 2});
  const std::vector<double> got = normalize(v, 2.0, 1).to_vector();
  check_close(got, {0.6, 0.8, 0, 0}, 1e-15);  // a zero row stays zero (divided by eps)
  check_close(normalize(v, 1.0, 1).to_vector(), {3.0 / 7, 4.0 / 7, 0, 0}, 1e-15);
  check_close(normalize(v, 2.0, 0).to_vector(), {1, 1, 0, 0}, 1e-15);

  Generator gen(6);
  for (double p : {2.0, 1.0, 3.0}) {
    INFO("p = ", p);
    T64 x = T64::randn({3, 4}, gen).requires_grad_();
    auto f = [p](const std::vector<T64>& xs) { return normalize(xs[0], p, 1); };
    CHECK(gradcheck_report(f, {x}) == "");
    CHECK(gradgradcheck_report(f, {x}) == "");
  }
  T64 xt = T64::randn({4, 3, 2}, gen).transpose(0, 2).detach().requires_grad_();
  auto f = [](const std::vector<T64>& xs) { return normalize(xs[0], 2.0, -1); };
  CHECK(gradcheck_report(f, {xt}) == "");
  CHECK(gradgradcheck_report(f, {xt}) == "");
  // A zero vector gets PyTorch's finite gradient 1 / eps (the clamped norm passes none),
  // not NaN from the norm's 0 / 0.
  T64 z = T64::zeros({1, 3}).requires_grad_();
  normalize(z).backward(T64::ones({1, 3}));
  for (double g : z.grad().to_vector()) CHECK(g == doctest::Approx(1e12));
  CHECK_THROWS_AS(normalize(v, 0.0), Error);
  CHECK_THROWS_AS(normalize(v, 2.0, 2), Error);
}

// ------------------------------------------------------------------ modules

TEST_CASE("norm modules: parameters, buffers, modes and agreement with the ops") {
  Generator gen(7);
  const Tensor<float> x = Tensor<float>::randn({4, 3, 2, 2}, gen);
  nn::BatchNorm2d bn(3);
  std::vector<std::string> keys;
  for (auto& [name, t] : bn.state_dict()) keys.push_back(name);
  CHECK(keys == std::vector<std::string>{"weight", "bias", "running_mean", "running_var",
                                         "num_batches_tracked"});
  CHECK(bn.parameters().size() == 2);
  const Tensor<float> y = bn.forward(x);
  Tensor<float> rm = Tensor<float>::zeros({3}), rv = Tensor<float>::ones({3});
  CHECK(rel_err(y, batch_norm(x, rm, rv, Tensor<float>(), Tensor<float>(), true)) < 1e-6);
  CHECK(rel_err(bn.running_mean, rm) < 1e-6);
  sum(mul(y, y)).backward();
  CHECK(bn.weight.grad().defined());
  CHECK(bn.bias.grad().defined());
  // Without running stats, eval uses the batch statistics.
  nn::BatchNorm2d plain(3, {.affine = false, .track_running_stats = false});
  CHECK(plain.state_dict().empty());
  plain.eval();
  CHECK(rel_err(plain.forward(x), y.detach()) < 1e-6);

  nn::GroupNorm gn(3, 3);
  CHECK(rel_err(gn.forward(x), group_norm(x, 3)) < 1e-7);
  nn::InstanceNorm2d in(3);
  CHECK(in.state_dict().empty());
  CHECK(rel_err(in.forward(x), group_norm(x, 3)) < 1e-6);
  CHECK(rel_err(in.forward(x.select(0, 1)), group_norm(x, 3).select(0, 1)) < 1e-6);
  nn::InstanceNorm2d in_t(3, {.affine = true, .track_running_stats = true});
  in_t.forward(x);
  CHECK(in_t.num_batches_tracked.item() == 1);
  CHECK(in_t.running_mean.at({0}) != 0.0f);
  CHECK_THROWS_AS(in.forward(Tensor<float>::zeros({2, 4, 2, 2})), Error);
  nn::LayerNorm ln(4);
  CHECK(ln.repr() == "LayerNorm((4,), eps=1e-05, elementwise_affine=True)");
  CHECK_THROWS_AS(ln.forward(Tensor<float>::zeros({2, 3})), Error);
}
