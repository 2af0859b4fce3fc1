// The note's criterion 5, run inside the example as well as in the suite
// (tests/test_grad_matching.cpp): on a tiny ConvNet of the example's shape in float64, the
// gradient of the matching distance D with respect to the synthetic images, obtained through
// grad(..., {.create_graph = true}) exactly as condense.hpp obtains it, against central finite
// differences of D. Returns |analytic - numeric| / |numeric| over all pixels.
#pragma once

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

namespace doorping {

struct FrameworkCheck {
  double relative_error = 0;
  double gradient_norm = 0;
  int64_t pixels = 0;
};

inline FrameworkCheck check_matching_gradient(uint64_t seed) {
  using T64 = ember::Tensor<double>;
  namespace F = ember::nn::functional;
  ember::Generator gen(seed);
  // 2 x [conv 3x3 pad 1, relu, avg-pool 2] on 1x8x8, linear 12 -> 6, relu, linear 6 -> 3.
  auto param = [&](ember::Shape s, double scale) {
    T64 p = ember::mul(T64::randn(s, gen), scale).detach();
    p.requires_grad_();
    return p;
  };
  const std::vector<T64> params{
      param({3, 1, 3, 3}, 0.5), param({3}, 0.1), param({3, 3, 3, 3}, 0.3), param({3}, 0.1),
      param({6, 12}, 0.4),      param({6}, 0.1), param({3, 6}, 0.5),       param({3}, 0.1)};
  auto forward = [&](const T64& x) {
    T64 h =
        ember::avg_pool2d(ember::relu(ember::conv2d(x, params[0], params[1], {.padding = 1})), 2);
    h = ember::avg_pool2d(ember::relu(ember::conv2d(h, params[2], params[3], {.padding = 1})), 2);
    h = ember::relu(ember::linear(h.reshape({h.size(0), -1}), params[4], params[5]));
    return ember::linear(h, params[6], params[7]);
  };
  const int64_t classes = 3, ipc = 2;
  std::vector<T64> real;
  for (int64_t c = 0; c < classes; ++c) real.push_back(T64::randn({5, 1, 8, 8}, gen));
  auto distance = [&](const T64& syn, bool create_graph) {
    T64 d;
    for (int64_t c = 0; c < classes; ++c) {
      const T64& xr = real[size_t(c)];
      std::vector<T64> g_real = ember::grad<double>(
          {F::cross_entropy(forward(xr), ember::Tensor<int64_t>::full({xr.size(0)}, c))}, params);
      for (T64& g : g_real) g = g.detach();
      const std::vector<T64> g_syn =
          ember::grad<double>({F::cross_entropy(forward(syn.narrow(0, c * ipc, ipc)),
                                                ember::Tensor<int64_t>::full({ipc}, c))},
                              params, {}, {.create_graph = create_graph});
      const T64 term = F::gradient_match_distance(g_syn, g_real);
      d = d.defined() ? ember::add(d, term) : term;
    }
    return d;
  };

  T64 syn = T64::randn({classes * ipc, 1, 8, 8}, gen);
  syn.requires_grad_();
  const std::vector<double> analytic =
      ember::grad<double>({distance(syn, true)}, {syn})[0].to_vector();
  const std::vector<double> base = syn.detach().to_vector();
  const double h = 1e-6;
  double diff = 0, norm = 0;
  for (size_t i = 0; i < base.size(); ++i) {
    std::vector<double> plus = base, minus = base;
    plus[i] += h;
    minus[i] -= h;
    const double numeric = (distance(T64::from_vector(plus, syn.shape()), false).item() -
                            distance(T64::from_vector(minus, syn.shape()), false).item()) /
                           (2 * h);
    diff += (analytic[i] - numeric) * (analytic[i] - numeric);
    norm += numeric * numeric;
  }
  return {std::sqrt(diff) / std::sqrt(norm), std::sqrt(norm), int64_t(base.size())};
}

}  // namespace doorping
