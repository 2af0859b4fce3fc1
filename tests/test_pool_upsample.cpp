// Pooling (max with indices, average, adaptive), interpolation (nearest, bilinear with
// align_corners true / false) and padding (constant, reflect, replicate, circular): values and
// gradients against PyTorch (tests/fixtures/conv), gradcheck and gradgradcheck in float64
// (non-contiguous inputs too), hand-computed values, modules and errors.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <ember/autograd/gradcheck.hpp>
#include <ember/core/tensor.hpp>
#include <ember/nn/pool.hpp>
#include <ember/ops/pool.hpp>
#include <ember/ops/upsample.hpp>

#include "conv_fixtures.hpp"

using namespace ember;

namespace {

using Inputs = std::vector<Tensor<double>>;

Tensor<double> leaf(const Shape& shape, Generator& gen) {
  return Tensor<double>::randn(shape, gen).requires_grad_();
}

// Distinct values (no ties in max pooling, so finite differences are well defined).
Tensor<double> distinct_leaf(const Shape& shape, Generator& gen) {
  auto t = Tensor<double>::randn(shape, gen);
  auto v = Tensor<double>::arange(0.0, double(t.numel())).reshape(shape);
  return add(mul(v, 0.1), mul(t, 0.01)).detach().requires_grad_();
}

std::string thrown_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// out and grad_x of a one-input fixture case, in T.
template <class T, class F>
void check_case(const char* name, F fn, double rtol) {
  CAPTURE(name);
  const auto c = conv_fixtures::load(name);
  auto x = c.get<T>("x").requires_grad_();
  Tensor<T> out = fn(c, x);
  CHECK(conv_fixtures::compare(out, c.get<T>("out"), rtol) == "");
  out.backward(c.get<T>("grad_out"));
  CHECK(conv_fixtures::compare(x.grad(), c.get<T>("grad_x"), rtol) == "");
}

template <class T>
void check_fixtures(double rtol) {
  using C = conv_fixtures::Case;
  check_case<T>("max_pool2d", [](const C&, const Tensor<T>& x) {
    return max_pool2d(x, {3, 2}, {.stride = {2, 1}, .padding = 1, .dilation = {1, 2}, .ceil_mode = true});
  }, rtol);
  check_case<T>("avg_pool2d", [](const C&, const Tensor<T>& x) {
    return avg_pool2d(x, 3, {.stride = 2, .padding = 1, .ceil_mode = true, .count_include_pad = false});
  }, rtol);
  check_case<T>("avg_pool2d_incl", [](const C&, const Tensor<T>& x) {
    return avg_pool2d(x, {2, 3}, {.stride = {1, 2}, .padding = 1});
  }, rtol);
  check_case<T>("adaptive_avg_pool2d", [](const C&, const Tensor<T>& x) { return adaptive_avg_pool2d(x, {3, 4}); }, rtol);
  check_case<T>("adaptive_max_pool2d", [](const C&, const Tensor<T>& x) { return adaptive_max_pool2d(x, {4, 3}); }, rtol);
  check_case<T>("bilinear_size", [](const C&, const Tensor<T>& x) {
    return interpolate(x, {.size = {7, 9}, .mode = InterpolateMode::Bilinear, .align_corners = false});
  }, rtol);
  check_case<T>("bilinear_size_ac", [](const C&, const Tensor<T>& x) {
    return interpolate(x, {.size = {7, 3}, .mode = InterpolateMode::Bilinear, .align_corners = true});
  }, rtol);
  check_case<T>("bilinear_scale", [](const C&, const Tensor<T>& x) {
    return interpolate(x, {.scale_factor = {1.5, 2.5}, .mode = InterpolateMode::Bilinear});
  }, rtol);
  check_case<T>("nearest_size", [](const C&, const Tensor<T>& x) { return interpolate(x, {.size = {7, 3}}); }, rtol);
  check_case<T>("nearest_scale", [](const C&, const Tensor<T>& x) {
    return interpolate(x, {.scale_factor = {2.0, 1.5}});
  }, rtol);
  check_case<T>("pad_reflect", [](const C&, const Tensor<T>& x) {
    return pad(x, {2, 1, 1, 3}, {.mode = PadMode::Reflect});
  }, rtol);
  check_case<T>("pad_constant", [](const C&, const Tensor<T>& x) {
    return pad(x, {1, 2, 0, 1, 1, 0}, {.value = 0.5});
  }, rtol);
}

template <class T>
void check_indices(const char* name, const Tensor<int64_t>& idx) {
  CAPTURE(name);
  const auto want = conv_fixtures::load(name).get<double>("indices").to_vector();
  const auto got = idx.to_vector();
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK(double(got[i]) == want[i]);
}

}  // namespace

TEST_CASE("pool / interpolate / pad: values and gradients match PyTorch") {
  check_fixtures<double>(1e-10);
  check_fixtures<float>(1e-5);
  // Indices of max pooling are PyTorch's flat h*W + w.
  auto x = conv_fixtures::load("max_pool2d").get<float>("x");
  check_indices<float>("max_pool2d", max_pool2d_with_indices(x, {3, 2}, {.stride = {2, 1}, .padding = 1, .dilation = {1, 2}, .ceil_mode = true}).second);
  auto xa = conv_fixtures::load("adaptive_max_pool2d").get<double>("x");
  check_indices<double>("adaptive_max_pool2d", adaptive_max_pool2d_with_indices(xa, {4, 3}).second);
}

TEST_CASE("max_pool2d: hand-computed values, indices, unbatched input") {
  auto x = Tensor<double>::from_vector({1, 5, 2, 0,  //
                                        3, 4, 8, 1,  //
                                        0, 2, 6, 7,  //
                                        9, 1, 3, 2},
                                       {1, 4, 4});
  auto [out, idx] = max_pool2d_with_indices(x, 2);
  CHECK(out.shape() == Shape{1, 2, 2});
  CHECK(out.to_vector() == std::vector<double>{5, 8, 9, 7});
  CHECK(idx.to_vector() == std::vector<int64_t>{1, 6, 12, 11});
  // Gradient goes to the argmax only.
  auto xl = x.detach().requires_grad_();
  sum(max_pool2d(xl, 2)).backward();
  CHECK(xl.grad().to_vector() == std::vector<double>{0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0});
  // avg: window means, stride = kernel by default.
  CHECK(avg_pool2d(x, 2).to_vector() == std::vector<double>{13.0 / 4, 11.0 / 4, 12.0 / 4, 18.0 / 4});
  CHECK(adaptive_avg_pool2d(x, 1).to_vector() == std::vector<double>{54.0 / 16});
}

TEST_CASE("pooling: gradcheck and gradgradcheck, non-contiguous inputs") {
  Generator gen(1);
  auto x = distinct_leaf({2, 2, 7, 6}, gen);
  auto xt = distinct_leaf({2, 2, 6, 7}, gen).transpose(2, 3).detach().requires_grad_();
  CHECK_FALSE(xt.is_contiguous());
  const std::vector<std::pair<const char*, std::function<Tensor<double>(const Inputs&)>>> fns = {
      {"max", [](const Inputs& v) { return max_pool2d(v[0], {3, 2}, {.stride = {2, 1}, .padding = 1, .ceil_mode = true}); }},
      {"max_dilated", [](const Inputs& v) { return max_pool2d(v[0], 2, {.stride = 1, .dilation = 2}); }},
      {"avg", [](const Inputs& v) { return avg_pool2d(v[0], 3, {.stride = 2, .padding = 1, .count_include_pad = false}); }},
      {"avg_div", [](const Inputs& v) { return avg_pool2d(v[0], {2, 3}, {.stride = 1, .ceil_mode = true, .divisor_override = 4}); }},
      {"adaptive_avg", [](const Inputs& v) { return adaptive_avg_pool2d(v[0], {3, 4}); }},
      {"adaptive_max", [](const Inputs& v) { return adaptive_max_pool2d(v[0], {4, 5}); }},
  };
  for (const auto& [name, fn] : fns) {
    CAPTURE(name);
    for (const auto& in : {x, xt}) {
      CHECK(gradcheck_report(fn, {in}) == "");
      CHECK(gradgradcheck_report(fn, {in}) == "");
    }
  }
}

TEST_CASE("interpolate: hand-computed values, gradcheck and gradgradcheck") {
  // Nearest x2 repeats; bilinear align_corners=true on [0, 1] gives linspace.
  auto x = Tensor<double>::from_vector({0, 1}, {1, 1, 1, 2});
  CHECK(interpolate(x, {.scale_factor = {2.0}}).to_vector() == std::vector<double>{0, 0, 1, 1, 0, 0, 1, 1});
  auto lin = interpolate(x, {.size = {1, 5}, .mode = InterpolateMode::Bilinear, .align_corners = true});
  CHECK(lin.to_vector() == std::vector<double>{0, 0.25, 0.5, 0.75, 1});
  // align_corners=false, x2: source positions -0.25 (clamped to 0), 0.25, 0.75, 1.25 -> 1.
  auto half = interpolate(x, {.size = {1, 4}, .mode = InterpolateMode::Bilinear});
  CHECK(half.to_vector() == std::vector<double>{0, 0.25, 0.75, 1});

  Generator gen(2);
  auto xi = leaf({2, 2, 4, 5}, gen);
  auto xt = Tensor<double>::randn({2, 2, 5, 4}, gen).transpose(2, 3).detach().requires_grad_();
  const std::vector<InterpolateOptions> opts = {
      {.size = {7, 9}, .mode = InterpolateMode::Bilinear, .align_corners = false},
      {.size = {3, 8}, .mode = InterpolateMode::Bilinear, .align_corners = true},
      {.scale_factor = {1.5}, .mode = InterpolateMode::Bilinear},
      {.size = {7, 3}},
      {.scale_factor = {2.0, 0.5}},
  };
  for (size_t i = 0; i < opts.size(); ++i) {
    CAPTURE(i);
    auto fn = [o = opts[i]](const Inputs& v) { return interpolate(v[0], o); };
    for (const auto& in : {xi, xt}) {
      CHECK(gradcheck_report(fn, {in}) == "");
      CHECK(gradgradcheck_report(fn, {in}) == "");
    }
  }
}

TEST_CASE("pad: modes, hand-computed values, gradcheck and gradgradcheck") {
  auto x = Tensor<double>::from_vector({1, 2, 3}, {1, 1, 3});
  CHECK(pad(x, {2, 1}, {.mode = PadMode::Reflect}).to_vector() == std::vector<double>{3, 2, 1, 2, 3, 2});
  CHECK(pad(x, {2, 1}, {.mode = PadMode::Replicate}).to_vector() == std::vector<double>{1, 1, 1, 2, 3, 3});
  CHECK(pad(x, {2, 1}, {.mode = PadMode::Circular}).to_vector() == std::vector<double>{2, 3, 1, 2, 3, 1});
  CHECK(pad(x, {1, 1}, {.value = -1}).to_vector() == std::vector<double>{-1, 1, 2, 3, -1});
  CHECK(pad(x, {-1, 1}).to_vector() == std::vector<double>{2, 3, 0});  // negative pads crop
  Generator gen(3);
  auto xi = leaf({2, 3, 4, 5}, gen);
  auto xt = Tensor<double>::randn({2, 3, 5, 4}, gen).transpose(2, 3).detach().requires_grad_();
  const std::vector<std::pair<std::vector<int64_t>, PadOptions>> cases = {
      {{2, 1, 1, 3}, {.mode = PadMode::Reflect}},
      {{1, 2, 0, 0}, {.mode = PadMode::Reflect}},
      {{1, 0, 2, 2}, {.mode = PadMode::Replicate}},
      {{2, 1, 0, 3}, {.mode = PadMode::Circular}},
      {{1, -1, 0, 2, 1, 1}, {.value = 2.5}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    CAPTURE(i);
    auto fn = [c = cases[i]](const Inputs& v) { return pad(v[0], c.first, c.second); };
    for (const auto& in : {xi, xt}) {
      CHECK(gradcheck_report(fn, {in}) == "");
      CHECK(gradgradcheck_report(fn, {in}) == "");
    }
  }
}

TEST_CASE("pool / interpolate / pad: bad input throws ember::Error") {
  auto x = Tensor<float>::randn({1, 2, 4, 4});
  CHECK(thrown_message([&] { max_pool2d(Tensor<float>::randn({4, 4}), 2); }).find("3-D [C, H, W] or 4-D") != std::string::npos);
  CHECK(thrown_message([&] { max_pool2d(x, 5); }).find("larger than the input") != std::string::npos);
  CHECK_THROWS_AS(max_pool2d(x, 2, {.padding = 2}), Error);  // padding above kernel / 2
  CHECK_THROWS_AS(max_pool2d(x, 0), Error);
  CHECK_THROWS_AS(avg_pool2d(x, 5), Error);
  CHECK_THROWS_AS(adaptive_avg_pool2d(x, {0, 2}), Error);
  CHECK_THROWS_AS(adaptive_max_pool2d(Tensor<float>::randn({2, 3, 4, 4, 4}), 2), Error);
  CHECK_THROWS_AS(interpolate(x, {}), Error);                                 // neither size nor scale
  CHECK_THROWS_AS(interpolate(x, {.size = {8, 8}, .scale_factor = {2.0}}), Error);  // both
  CHECK_THROWS_AS(interpolate(x, {.size = {8, 8}, .align_corners = true}), Error);  // nearest
  CHECK_THROWS_AS(interpolate(Tensor<float>::randn({4, 4}), {.size = {8, 8}}), Error);
  CHECK(thrown_message([&] { pad(x, {4, 0, 0, 0}, {.mode = PadMode::Reflect}); }).find("smaller than dim") != std::string::npos);
  CHECK_THROWS_AS(pad(x, {1, 1, 1}), Error);
  CHECK_THROWS_AS(pad(x, {-3, -2}), Error);
  CHECK_THROWS_AS(pad(Tensor<float>::randn({4}), {1, 1}, {.mode = PadMode::Reflect}), Error);
}

TEST_CASE("nn pooling modules") {
  Generator gen(4);
  auto x = Tensor<float>::randn({2, 3, 8, 8}, gen);
  nn::MaxPool2d mp(2);
  CHECK(mp.forward(x).shape() == Shape{2, 3, 4, 4});
  CHECK(conv_fixtures::compare(mp.forward(x), max_pool2d(x, 2), 0) == "");
  CHECK(mp.parameters().empty());
  nn::AvgPool2d ap(3, {.stride = 2, .padding = 1});
  CHECK(ap.forward(x).shape() == Shape{2, 3, 4, 4});
  nn::AdaptiveAvgPool2d gap(1);
  CHECK(gap.forward(x).shape() == Shape{2, 3, 1, 1});
  nn::AdaptiveMaxPool2d amp({3, 5});
  CHECK(amp.forward(x).shape() == Shape{2, 3, 3, 5});
  nn::Upsample up({.scale_factor = {2.0}, .mode = InterpolateMode::Bilinear, .align_corners = false});
  CHECK(up.forward(x).shape() == Shape{2, 3, 16, 16});
  CHECK(mp.extra_repr().find("kernel_size=(2, 2)") != std::string::npos);
}
