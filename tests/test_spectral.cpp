// Tests for nn/spectral.hpp (SpectralConv1d/2d, FNO1d/2d, KNO1d/2d) and golden checks of
// rfft2 / irfft2 / SpectralConv2d against PyTorch (tests/fixtures/spectral/make_fixtures.py).
#include <doctest/doctest.h>

#include <cmath>
#include <complex>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <ember/autograd/gradcheck.hpp>
#include <ember/io/json.hpp>
#include <ember/nn/functional/loss.hpp>
#include <ember/nn/spectral.hpp>
#include <ember/optim/adam.hpp>

#ifndef EMBER_SOURCE_DIR
#error "EMBER_SOURCE_DIR must be defined (the repository root)"
#endif

using namespace ember;

namespace {

using T64 = Tensor<double>;
using C64 = std::complex<double>;
using TC = Tensor<C64>;

const io::json::Value& fixtures() {
  static const io::json::Value v = [] {
    std::ifstream f(EMBER_SOURCE_DIR "/tests/fixtures/spectral/spectral.json");
    REQUIRE(f.good());
    std::stringstream ss;
    ss << f.rdbuf();
    return io::json::parse(ss.str());
  }();
  return v;
}

T64 real_tensor(const io::json::Value& v) {
  Shape shape;
  for (auto& d : v.at("shape").as_array()) shape.push_back(d.as_int64());
  std::vector<double> data;
  for (auto& d : v.at("data").as_array()) data.push_back(d.as_double());
  return T64::from_vector(data, shape);
}

TC complex_tensor(const io::json::Value& v) { return view_as_complex(real_tensor(v)).clone(); }

// max |a - b| / max(1, max |b|): a relative error on the scale of the values.
template <class T>
double rel_err(const Tensor<T>& a, const Tensor<T>& b) {
  REQUIRE(a.shape() == b.shape());
  const auto av = a.to_vector(), bv = b.to_vector();
  double e = 0, m = 1;
  for (size_t i = 0; i < av.size(); ++i) {
    e = std::max(e, double(std::abs(av[i] - bv[i])));
    m = std::max(m, double(std::abs(bv[i])));
  }
  return e / m;
}

}  // namespace

TEST_CASE("rfft2 and irfft2 match PyTorch, values and gradients (float64, 1e-10)") {
  const auto& f = fixtures().at("rfft2");
  T64 x = real_tensor(f.at("x")).requires_grad_();
  TC y = rfft2(x);
  CHECK(rel_err(y, complex_tensor(f.at("y"))) < 1e-10);
  sum(add(mul(real(y), real_tensor(f.at("wr"))), mul(imag(y), real_tensor(f.at("wi"))))).backward();
  CHECK(rel_err(x.grad(), real_tensor(f.at("grad_x"))) < 1e-10);

  const auto& g = fixtures().at("irfft2");
  TC X = complex_tensor(g.at("X")).requires_grad_();
  T64 out = irfft2(X, std::vector<int64_t>{5, 6});
  CHECK(rel_err(out, real_tensor(g.at("y"))) < 1e-10);
  sum(mul(out, real_tensor(g.at("w")))).backward();
  CHECK(rel_err(X.grad(), complex_tensor(g.at("grad_X"))) < 1e-10);
}

TEST_CASE("SpectralConv2d matches PyTorch: float64 functional 1e-10, float32 module 1e-5") {
  const auto& f = fixtures().at("spectral_conv2d");
  T64 x = real_tensor(f.at("x")).requires_grad_();
  TC w1 = complex_tensor(f.at("w1")).requires_grad_();
  TC w2 = complex_tensor(f.at("w2")).requires_grad_();
  T64 y = nn::functional::spectral_conv2d(x, w1, w2);
  CHECK(rel_err(y, real_tensor(f.at("y"))) < 1e-10);
  sum(mul(y, real_tensor(f.at("g")))).backward();
  CHECK(rel_err(x.grad(), real_tensor(f.at("grad_x"))) < 1e-10);
  CHECK(rel_err(w1.grad(), complex_tensor(f.at("grad_w1"))) < 1e-10);
  CHECK(rel_err(w2.grad(), complex_tensor(f.at("grad_w2"))) < 1e-10);

  // The float32 module with the same weights (copied in through load_state_dict).
  nn::SpectralConv2d layer(3, 2, 3, 3);
  layer.load_state_dict({{"w1", complex_tensor(f.at("w1")).to<std::complex<float>>()},
                         {"w2", complex_tensor(f.at("w2")).to<std::complex<float>>()}});
  Tensor<float> xf = real_tensor(f.at("x")).to<float>().requires_grad_();
  Tensor<float> yf = layer.forward(xf);
  CHECK(rel_err(yf, real_tensor(f.at("y")).to<float>()) < 1e-5);
  sum(mul(yf, real_tensor(f.at("g")).to<float>())).backward();
  CHECK(rel_err(xf.grad(), real_tensor(f.at("grad_x")).to<float>()) < 1e-5);
  CHECK(rel_err(layer.w1.grad(), complex_tensor(f.at("grad_w1")).to<std::complex<float>>()) < 1e-5);
  CHECK(rel_err(layer.w2.grad(), complex_tensor(f.at("grad_w2")).to<std::complex<float>>()) < 1e-5);
}

TEST_CASE("spectral layers: gradcheck through real parametrisations of the complex weights") {
  Generator gen(7);
  T64 x = T64::randn({2, 2, 6, 5}, gen).requires_grad_();
  T64 a = T64::randn({2, 3, 2, 2}, gen).requires_grad_();
  T64 b = T64::randn({2, 3, 2, 2}, gen).requires_grad_();
  auto f2 = [](const std::vector<T64>& v) {
    TC w = complex(v[1], v[2]);
    return nn::functional::spectral_conv2d(v[0], w, conj(w));
  };
  CHECK(gradcheck_report(f2, {x, a, b}) == "");
  CHECK(gradgradcheck_report(f2, {x, a, b}) == "");
  // Non-contiguous input.
  T64 xt = T64::randn({2, 2, 5, 6}, gen).transpose(2, 3).detach().requires_grad_();
  CHECK(gradcheck_report(f2, {xt, a, b}) == "");

  T64 x1 = T64::randn({2, 2, 7}, gen).requires_grad_();
  T64 c = T64::randn({2, 3, 3}, gen).requires_grad_();
  T64 d = T64::randn({2, 3, 3}, gen).requires_grad_();
  auto f1 = [](const std::vector<T64>& v) {
    return nn::functional::spectral_conv1d(v[0], complex(v[1], v[2]));
  };
  CHECK(gradcheck_report(f1, {x1, c, d}) == "");
  CHECK(gradgradcheck_report(f1, {x1, c, d}) == "");

  // spectral_mix against a hand-written einsum, and its gradient convention.
  TC xm = TC::randn({2, 3, 2, 2}, gen), wm = TC::randn({3, 4, 2, 2}, gen);
  TC ym = nn::functional::spectral_mix(xm, wm);
  REQUIRE(ym.shape() == Shape{2, 4, 2, 2});
  C64 want = 0;
  for (int64_t i = 0; i < 3; ++i) want += xm.at({1, i, 0, 1}) * wm.at({i, 2, 0, 1});
  CHECK(std::abs(ym.at({1, 2, 0, 1}) - want) < 1e-12);
  auto fm = [](const std::vector<T64>& v) {
    TC y = nn::functional::spectral_mix(complex(v[0], v[1]), complex(v[2], v[3]));
    return add(real(y), mul(imag(y), 3.0));
  };
  std::vector<T64> parts;
  for (const Shape& s : {Shape{2, 3, 2}, Shape{2, 3, 2}, Shape{3, 2, 2}, Shape{3, 2, 2}})
    parts.push_back(T64::randn(s, gen).requires_grad_());
  CHECK(gradcheck_report(fm, parts) == "");
}

TEST_CASE("FNO2d, FNO1d, KNO2d, KNO1d: shapes, parameters, training steps") {
  Generator gen(11);
  nn::FNO2d fno(8, 3, {}, gen);
  Tensor<float> x = Tensor<float>::randn({2, 3, 12, 12}, gen);
  Tensor<float> target = Tensor<float>::randn({2, 1, 12, 12}, gen);
  CHECK(fno.forward(x).shape() == Shape{2, 1, 12, 12});
  bool found = false;
  for (auto& [name, t] : fno.named_parameters()) found = found || name == "spectral.3.w2";
  CHECK(found);
  // 8 -> lift (3*8+8), 4 x (2 * 8*8*3*3 complex + 8*8+8), p1 (8*128+128), p2 (128+1)
  optim::Adam opt(fno.parameters(), {.lr = 1e-2});
  float first = 0, last = 0;
  for (int step = 0; step < 15; ++step) {
    auto loss = nn::functional::mse_loss(fno.forward(x), target);
    if (step == 0) first = loss.item();
    last = loss.item();
    opt.zero_grad();
    loss.backward();
    opt.step();
  }
  CHECK(last < first);
  CHECK(fno.spectral[0]->w1.grad().defined());

  nn::FNO1d fno1(6, 4, {.in_channels = 2}, gen);
  CHECK(fno1.forward(Tensor<float>::randn({3, 2, 16}, gen)).shape() == Shape{3, 1, 16});

  nn::KNO2d kno(4, {.o = 6, .modes = 3, .power = 2}, gen);
  Tensor<float> frames = Tensor<float>::randn({2, 8, 8, 4}, gen).requires_grad_();
  Tensor<float> pred = kno.forward(frames);
  CHECK(pred.shape() == Shape{2, 8, 8, 4});
  CHECK(kno.reconstruct(frames).shape() == Shape{2, 8, 8, 4});
  sum(pred).backward();
  CHECK(kno.koopman->weight.grad().defined());
  CHECK(frames.grad().defined());
  nn::KNO1d kno1(3, {.o = 5, .modes = 4, .power = 3}, gen);
  CHECK(kno1.forward(Tensor<float>::randn({2, 16, 3}, gen)).shape() == Shape{2, 16, 3});
  // Mesh independence: the same model runs at another resolution.
  CHECK(kno1.forward(Tensor<float>::randn({2, 32, 3}, gen)).shape() == Shape{2, 32, 3});
}

TEST_CASE("spectral layers: bad input throws ember::Error") {
  Generator gen(12);
  nn::SpectralConv2d s(3, 2, 5, 5, gen);
  CHECK_THROWS_AS(s.forward(Tensor<float>::randn({1, 3, 8, 16}, gen)), Error);  // 2*5 > 8 rows
  CHECK_THROWS_AS(s.forward(Tensor<float>::randn({1, 3, 16, 6}, gen)), Error);  // 5 > 6/2+1 cols
  CHECK_THROWS_AS(s.forward(Tensor<float>::randn({1, 4, 16, 16}, gen)), Error);  // channels
  CHECK_THROWS_AS(s.forward(Tensor<float>::randn({3, 16, 16}, gen)), Error);     // rank
  nn::SpectralConv1d s1(2, 2, 9, gen);
  CHECK_THROWS_AS(s1.forward(Tensor<float>::randn({1, 2, 8}, gen)), Error);
  CHECK_THROWS_AS(nn::SpectralConv2d(0, 2, 3, 3), Error);
  nn::KNO2d kno(4, {.o = 4, .modes = 2, .power = 1}, gen);
  CHECK_THROWS_AS(kno.forward(Tensor<float>::randn({1, 8, 8, 3}, gen)), Error);
  try {
    s.forward(Tensor<float>::randn({1, 3, 8, 16}, gen));
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("modes") != std::string::npos);
  }
}
