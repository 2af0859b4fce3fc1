// Model pieces for the vision examples: the simplex ETF (its Gram identity, unit norms, equal
// angles), the fixed ETF classifier, the non-local block (identity at initialisation, and a
// golden comparison with hand-written loops in double), and ResNet's stage widths, stage
// outputs and features/head split.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <ember/ember.hpp>
#include <ember/nn/etf.hpp>
#include <ember/nn/models/resnet.hpp>
#include <ember/nn/non_local.hpp>
#include <vector>

using namespace ember;

TEST_CASE("simplex ETF: W^T W = K/(K-1) I - 1/(K-1) 11^T, unit columns, cosines -1/(K-1)") {
  for (auto [dim, k] : std::vector<std::pair<int64_t, int64_t>>{{10, 10}, {64, 19}, {5, 2}}) {
    Generator gen(uint64_t(dim * 100 + k));
    const Tensor<double> w = nn::simplex_etf<double>(dim, k, gen);
    const Tensor<float> wf = nn::simplex_etf<float>(dim, k, gen);
    REQUIRE(w.shape() == Shape{dim, k});
    const std::vector<double> gram = matmul(w.t(), w).to_vector();
    const std::vector<float> gram_f = matmul(wf.t(), wf).to_vector();
    double worst = 0, worst_f = 0;
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < k; ++j) {
        const double want = (i == j ? double(k) : 0.0) / double(k - 1) - 1.0 / double(k - 1);
        worst = std::max(worst, std::abs(gram[size_t(i * k + j)] - want));
        worst_f = std::max(worst_f, std::abs(double(gram_f[size_t(i * k + j)]) - want));
      }
    CHECK(worst < 1e-12);
    CHECK(worst_f < 1e-5);
    // The columns sum to zero: the frame is centred.
    CHECK(double(amax(abs(sum(w, {1}))).item()) < 1e-12);
  }
  Generator gen(1);
  CHECK_THROWS_WITH_AS(nn::simplex_etf<float>(4, 5, gen), doctest::Contains("dim >= classes"),
                       Error);
  CHECK_THROWS_AS(nn::simplex_etf<float>(4, 1, gen), Error);
}

TEST_CASE("EtfClassifier: a fixed frame in the buffers, logits x W") {
  Generator gen(2);
  nn::EtfClassifier etf(16, 5, gen);
  CHECK(etf.parameters().empty());
  CHECK(etf.named_buffers().size() == 1);
  const Tensor<float> x = Tensor<float>::randn({3, 16}, gen);
  const Tensor<float> logits = etf.forward(x);
  REQUIRE(logits.shape() == Shape{3, 5});
  CHECK(logits.to_vector() == matmul(x, etf.weight).to_vector());
  CHECK_THROWS_WITH_AS(etf.forward(Tensor<float>::zeros({3, 15})),
                       doctest::Contains("expected features [N, 16]"), Error);
}

TEST_CASE("NonLocalBlock2d: identity at initialisation, and equal to the formula in double") {
  Generator gen(3);
  const int64_t n = 2, c = 4, h = 3, w = 2, p = h * w, inner = 2;
  nn::NonLocalBlock2d block(c, inner, gen);
  const Tensor<float> x = Tensor<float>::randn({n, c, h, w}, gen);
  CHECK(block.forward(x).to_vector() == x.to_vector());
  {
    NoGradGuard no_grad;
    block.out->weight.copy_(Tensor<float>::randn(block.out->weight.shape(), gen));
    block.out->bias.copy_(Tensor<float>::randn(block.out->bias.shape(), gen));
  }
  const std::vector<float> got = block.forward(x).to_vector(), xv = x.to_vector();
  // 1x1 conv in double: out[o, pos] = b[o] + sum_i W[o, i] in[i, pos]
  auto conv = [&](const nn::Conv2d& cv, const std::vector<double>& in, int64_t cin, int64_t cout) {
    const std::vector<float> wt = cv.weight.to_vector(), b = cv.bias.to_vector();
    std::vector<double> o(size_t(cout * p));
    for (int64_t oc = 0; oc < cout; ++oc)
      for (int64_t q = 0; q < p; ++q) {
        double s = b[size_t(oc)];
        for (int64_t ic = 0; ic < cin; ++ic)
          s += double(wt[size_t(oc * cin + ic)]) * in[size_t(ic * p + q)];
        o[size_t(oc * p + q)] = s;
      }
    return o;
  };
  double worst = 0;
  for (int64_t b = 0; b < n; ++b) {
    std::vector<double> in(xv.begin() + b * c * p, xv.begin() + (b + 1) * c * p);
    const auto th = conv(*block.theta, in, c, inner), ph = conv(*block.phi, in, c, inner),
               gv = conv(*block.g, in, c, inner);
    std::vector<double> y(size_t(inner * p), 0.0);
    for (int64_t i = 0; i < p; ++i) {
      std::vector<double> e(static_cast<size_t>(p));
      double mx = -1e300, z = 0;
      for (int64_t j = 0; j < p; ++j) {
        double s = 0;
        for (int64_t k = 0; k < inner; ++k) s += th[size_t(k * p + i)] * ph[size_t(k * p + j)];
        e[size_t(j)] = s;
        mx = std::max(mx, s);
      }
      for (double& v : e) z += (v = std::exp(v - mx));
      for (int64_t j = 0; j < p; ++j)
        for (int64_t k = 0; k < inner; ++k)
          y[size_t(k * p + i)] += e[size_t(j)] / z * gv[size_t(k * p + j)];
    }
    const auto zout = conv(*block.out, y, inner, c);
    for (int64_t q = 0; q < c * p; ++q)
      worst = std::max(
          worst, std::abs(double(got[size_t(b * c * p + q)]) - (zout[size_t(q)] + in[size_t(q)])));
  }
  CHECK(worst < 1e-5);
  CHECK_THROWS_WITH_AS(block.forward(Tensor<float>::zeros({1, 3, 2, 2})),
                       doctest::Contains("expected an input [N, 4, H, W]"), Error);
}

TEST_CASE("ResNet: stage widths, stage outputs, and forward = head(features)") {
  Generator gen(4);
  auto net =
      nn::models::resnet18({.num_classes = 10, .cifar_stem = true, .widths = {8, 16, 32, 64}}, gen);
  net->eval();
  const Tensor<float> x = Tensor<float>::randn({2, 3, 16, 16}, gen);
  const auto stages = net->stages(x);
  CHECK(stages[0].shape() == Shape{2, 8, 16, 16});
  CHECK(stages[1].shape() == Shape{2, 16, 8, 8});
  CHECK(stages[2].shape() == Shape{2, 32, 4, 4});
  CHECK(stages[3].shape() == Shape{2, 64, 2, 2});
  const Tensor<float> maps = net->features(x);
  CHECK(maps.to_vector() == stages[3].to_vector());
  CHECK(net->forward(x).to_vector() == net->head(maps).to_vector());
  CHECK(net->fc->in_features() == 64);
  // 64x narrower than the default: far fewer parameters than ResNet-18's 11.2 M.
  CHECK(net->num_parameters() < 200000);
  CHECK_THROWS_WITH_AS(nn::models::resnet18({.widths = {8, 0, 32, 64}}, gen),
                       doctest::Contains("stage width must be positive"), Error);
  CHECK_THROWS_WITH_AS(net->head(Tensor<float>::zeros({1, 32, 2, 2})),
                       doctest::Contains("expected maps [N, 64, h, w]"), Error);
}
