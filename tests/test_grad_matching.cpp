// nn/functional/gradient_matching.hpp: the layer-wise (1 - cosine) distance of dataset
// condensation against hand-computed values, and the framework check of the DOORPING example
// (examples/doorping): the gradient of the matching distance D with respect to the synthetic
// images, which runs through grad(..., {.create_graph = true}) and so through the backward
// rules of conv2d, relu, avg_pool2d, linear and cross_entropy, agrees with central finite
// differences on a tiny ConvNet in float64.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <ember/autograd/engine.hpp>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/nn/functional/gradient_matching.hpp>
#include <ember/nn/functional/loss.hpp>
#include <ember/ops/activation.hpp>
#include <ember/ops/conv.hpp>
#include <ember/ops/linalg.hpp>
#include <ember/ops/pool.hpp>
#include <vector>

using namespace ember;
namespace F = ember::nn::functional;

namespace {

using T64 = Tensor<double>;

// 1 - a.b / (|a| |b| + eps): one row's term, computed by hand on the host.
double row_term(const std::vector<double>& a, const std::vector<double>& b, double eps) {
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return 1.0 - dot / (std::sqrt(na) * std::sqrt(nb) + eps);
}

// A tiny ConvNet of the example's shape, in float64 from functional ops:
// 2 x [conv 3x3 pad 1 (+bias), relu, avg-pool 2] on 1x8x8 images, flatten, linear 12 -> 6,
// relu, linear 6 -> 3 classes. Parameters in the order an nn::Module would list them.
struct TinyNet {
  std::vector<T64> params;  // w1 b1 w2 b2 w3 b3 w4 b4

  explicit TinyNet(Generator& gen) {
    auto p = [&](Shape s, double scale) {
      return (T64::randn(s, gen) * scale).detach().requires_grad_();
    };
    params = {p({3, 1, 3, 3}, 0.5), p({3}, 0.1), p({3, 3, 3, 3}, 0.3), p({3}, 0.1),
              p({6, 12}, 0.4),      p({6}, 0.1), p({3, 6}, 0.5),       p({3}, 0.1)};
  }

  T64 forward(const T64& x) const {
    T64 h = avg_pool2d(relu(conv2d(x, params[0], params[1], {.padding = 1})), 2);
    h = avg_pool2d(relu(conv2d(h, params[2], params[3], {.padding = 1})), 2);
    h = relu(linear(h.reshape({h.size(0), -1}), params[4], params[5]));
    return linear(h, params[6], params[7]);
  }
};

// D summed over the classes, as dataset condensation builds it: for class c, the real
// batch's gradient (a constant) against the synthetic images' gradient, kept differentiable
// when create_graph is set.
T64 matching_loss(const TinyNet& net, const T64& syn, int64_t ipc, const std::vector<T64>& real,
                  bool create_graph) {
  T64 d;
  for (int64_t c = 0; c < int64_t(real.size()); ++c) {
    const T64 real_loss = F::cross_entropy(net.forward(real[size_t(c)]),
                                           Tensor<int64_t>::full({real[size_t(c)].size(0)}, c));
    std::vector<T64> g_real = grad<double>({real_loss}, net.params);
    for (T64& g : g_real) g = g.detach();
    const T64 syn_loss =
        F::cross_entropy(net.forward(syn.narrow(0, c * ipc, ipc)), Tensor<int64_t>::full({ipc}, c));
    const std::vector<T64> g_syn =
        grad<double>({syn_loss}, net.params, {}, {.create_graph = create_graph});
    const T64 term = F::gradient_match_distance(g_syn, g_real);
    d = d.defined() ? add(d, term) : term;
  }
  return d;
}

}  // namespace

TEST_CASE("layer_match_distance: row-wise 1 - cos against hand-computed values") {
  const double eps = 1e-6;
  // Rows [1, 0] / [1, 0] (cos 1) and [0, 1] / [1, 1] (cos 1/sqrt 2).
  const T64 gs = T64::from_vector({1, 0, 0, 1}, {2, 2});
  const T64 gr = T64::from_vector({1, 0, 1, 1}, {2, 2});
  const double want = row_term({1, 0}, {1, 0}, eps) + row_term({0, 1}, {1, 1}, eps);
  CHECK(want == doctest::Approx(1.0 - 1.0 / std::sqrt(2.0)).epsilon(1e-5));
  CHECK(F::layer_match_distance(gs, gr).item() == doctest::Approx(want).epsilon(1e-12));
  // Scale does not matter (a cosine), but the eps term does, slightly.
  CHECK(F::layer_match_distance(gs * 5.0, gr * 0.25).item() ==
        doctest::Approx(row_term({5, 0}, {0.25, 0}, eps) + row_term({0, 5}, {0.25, 0.25}, eps))
            .epsilon(1e-12));
  CHECK(F::layer_match_distance(gs, gr, 0.0).item() ==
        doctest::Approx(1.0 - 1.0 / std::sqrt(2.0)).epsilon(1e-14));
  // Opposite rows give 2 each.
  CHECK(F::layer_match_distance(gs, gs * -1.0, 0.0).item() == doctest::Approx(4.0));

  // A conv gradient [out, in, kh, kw] is matched per output channel over in * kh * kw values:
  // here out 2, in 2, 1x2 kernels, so rows of 4.
  const std::vector<double> a{1, 2, 0, -1, 3, 0, 0, 1}, b{2, 1, 1, 0, -1, 2, 0, 1};
  const double conv_want =
      row_term({1, 2, 0, -1}, {2, 1, 1, 0}, eps) + row_term({3, 0, 0, 1}, {-1, 2, 0, 1}, eps);
  CHECK(
      F::layer_match_distance(T64::from_vector(a, {2, 2, 1, 2}), T64::from_vector(b, {2, 2, 1, 2}))
          .item() == doctest::Approx(conv_want).epsilon(1e-12));
  // Not the cosine of the whole flattened tensor (that would be 1 - cos over 8 values).
  CHECK(std::abs(conv_want - row_term(a, b, eps)) > 0.1);
}

TEST_CASE("gradient_match_distance: sums the weight layers and skips the biases") {
  const double eps = 1e-6;
  const std::vector<T64> gs{T64::from_vector({1, 0, 0, 1}, {2, 2}), T64::from_vector({1, 2}, {2}),
                            T64::from_vector({1, 2, 3}, {1, 3})};
  const std::vector<T64> gr{T64::from_vector({1, 0, 1, 1}, {2, 2}), T64::from_vector({-7, 9}, {2}),
                            T64::from_vector({3, 2, 1}, {1, 3})};
  const double want = row_term({1, 0}, {1, 0}, eps) + row_term({0, 1}, {1, 1}, eps) +
                      row_term({1, 2, 3}, {3, 2, 1}, eps);
  CHECK(F::gradient_match_distance(gs, gr).item() == doctest::Approx(want).epsilon(1e-12));

  CHECK_THROWS_WITH_AS(F::gradient_match_distance(gs, {gr[0], gr[1]}),
                       doctest::Contains("3 synthetic gradients but 2 real"), Error);
  CHECK_THROWS_WITH_AS(
      F::gradient_match_distance(std::vector<T64>{gs[0]}, std::vector<T64>{gr[0].reshape({4, 1})}),
      doctest::Contains("[2, 2] (synthetic) and [4, 1] (real)"), Error);
  CHECK_THROWS_WITH_AS(F::gradient_match_distance(std::vector<T64>{gs[1]}, std::vector<T64>{gr[1]}),
                       doctest::Contains("nothing to match"), Error);
}

TEST_CASE("layer_match_distance: a zero synthetic row has a finite gradient (PyTorch's), no NaN") {
  // A hidden unit that none of the synthetic images activates has an all-zero weight gradient
  // row; sqrt at 0 must not turn the backward into NaN. The norm then contributes nothing (as
  // PyTorch's norm backward gives at 0) and the dot product -g_real / eps remains.
  const T64 gs = T64::from_vector({0, 0, 0.5, -1}, {2, 2}).requires_grad_();
  const T64 gr = T64::from_vector({1, 2, 1, 1}, {2, 2});
  const T64 d = F::layer_match_distance(gs, gr);
  CHECK(d.item() == doctest::Approx(1.0 + row_term({0.5, -1}, {1, 1}, 1e-6)).epsilon(1e-12));
  const std::vector<double> g = grad<double>({d}, {gs})[0].to_vector();
  for (double v : g) CHECK(std::isfinite(v));
  CHECK(g[0] == doctest::Approx(-1.0 / 1e-6));
  CHECK(g[1] == doctest::Approx(-2.0 / 1e-6));
  CHECK(std::abs(g[2]) + std::abs(g[3]) > 0.1);  // the other row still learns
}

TEST_CASE("dD/dS through create_graph agrees with central differences (tiny ConvNet, float64)") {
  Generator gen(7);
  const TinyNet net(gen);
  const int64_t classes = 3, ipc = 2;
  std::vector<T64> real;
  for (int64_t c = 0; c < classes; ++c) real.push_back(T64::randn({5, 1, 8, 8}, gen));
  const T64 syn = T64::randn({classes * ipc, 1, 8, 8}, gen).requires_grad_();

  // The analytic gradient: the double backward the example uses.
  const T64 d = matching_loss(net, syn, ipc, real, /*create_graph=*/true);
  CHECK(d.item() > 0.0);
  const std::vector<double> analytic = grad<double>({d}, {syn})[0].to_vector();

  // Central differences over every pixel of every synthetic image (h = 1e-6: the truncation
  // error, h^2 times a third derivative, and the rounding error, 1e-16 / h, both stay near
  // 1e-10 relative).
  const double h = 1e-6;
  std::vector<double> numeric(analytic.size());
  const std::vector<double> base = syn.detach().to_vector();
  for (size_t i = 0; i < base.size(); ++i) {
    std::vector<double> plus = base, minus = base;
    plus[i] += h;
    minus[i] -= h;
    const double dp =
        matching_loss(net, T64::from_vector(plus, syn.shape()), ipc, real, false).item();
    const double dm =
        matching_loss(net, T64::from_vector(minus, syn.shape()), ipc, real, false).item();
    numeric[i] = (dp - dm) / (2 * h);
  }
  double diff = 0, norm = 0;
  for (size_t i = 0; i < numeric.size(); ++i) {
    diff += (analytic[i] - numeric[i]) * (analytic[i] - numeric[i]);
    norm += numeric[i] * numeric[i];
  }
  const double rel = std::sqrt(diff) / std::sqrt(norm);
  INFO("relative error |analytic - numeric| / |numeric| = " << rel
                                                            << ", |numeric| = " << std::sqrt(norm));
  CHECK(std::sqrt(norm) > 1e-3);  // a gradient worth checking
  CHECK(rel < 1e-4);              // the note's criterion 5

  // The second-order path is what carries the signal: a matching loss built from
  // gradients without create_graph has no path back to the synthetic images at all.
  const T64 flat = matching_loss(net, syn, ipc, real, /*create_graph=*/false);
  CHECK(!flat.requires_grad());
}
