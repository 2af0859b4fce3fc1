// nn/functional/variational.hpp (Gaussian KL, the Gaussian-mixture KL bound) and
// nn/functional/self_critical.hpp (the self-critical policy-gradient loss with the avg, mid and
// mid2 baselines): hand-computed values, central-difference gradient checks in float64, and
// the mixture bound against the true mixture KL computed by quadrature.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <ember/autograd/engine.hpp>
#include <ember/autograd/gradcheck.hpp>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/nn/functional/self_critical.hpp>
#include <ember/nn/functional/variational.hpp>
#include <ember/ops/softmax.hpp>
#include <vector>

using namespace ember;
namespace F = ember::nn::functional;

namespace {

using T64 = Tensor<double>;

T64 vec(std::vector<double> v, Shape s = {}) {
  if (s.empty()) s = {int64_t(v.size())};
  return T64::from_vector(v, s);
}

// KL(N(m1, s1^2) || N(m2, s2^2)) from standard deviations, by hand.
double kl1(double m1, double s1, double m2, double s2) {
  return std::log(s2 / s1) + (s1 * s1 + (m1 - m2) * (m1 - m2)) / (2 * s2 * s2) - 0.5;
}

double normal_pdf(double x, double m, double s) {
  const double z = (x - m) / s;
  return std::exp(-0.5 * z * z) / (s * std::sqrt(2 * M_PI));
}

}  // namespace

TEST_CASE("gaussian_kl matches the closed form by hand") {
  // N(1, 2^2) || N(0, 1): log(1/2) + (4 + 1)/2 - 1/2 = 1.3068528...
  const T64 kl = F::gaussian_kl(vec({1.0, 0.0, 0.5}), vec({std::log(4.0), 0.0, 0.3}),
                                vec({0.0, 3.0, 0.5}), vec({0.0, std::log(9.0), 0.3}));
  const auto v = kl.to_vector();
  CHECK(v[0] == doctest::Approx(std::log(0.5) + 2.0).epsilon(1e-12));
  CHECK(v[0] == doctest::Approx(kl1(1, 2, 0, 1)).epsilon(1e-12));
  CHECK(v[1] == doctest::Approx(kl1(0, 1, 3, 3)).epsilon(1e-12));  // log 3 + 10/18 - 1/2
  CHECK(v[2] == doctest::Approx(0.0).epsilon(1e-12));              // identical Gaussians
  // Summed over the last dim, with a prior broadcast over a batch of 2.
  const T64 mu = vec({1.0, 0.0, -1.0, 2.0}, {2, 2}),
            lv = vec({0.0, std::log(4.0), 0.5, 0.0}, {2, 2});
  const T64 d = F::diag_gaussian_kl(mu, lv, vec({0.0, 0.0}), vec({0.0, 0.0}));
  REQUIRE(d.shape() == Shape{2});
  CHECK(d.to_vector()[0] == doctest::Approx(kl1(1, 1, 0, 1) + kl1(0, 2, 0, 1)).epsilon(1e-12));
  CHECK(d.to_vector()[1] ==
        doctest::Approx(kl1(-1, std::exp(0.25), 0, 1) + kl1(2, 1, 0, 1)).epsilon(1e-12));
  // Non-negative on random arguments.
  Generator g(1);
  const T64 r = F::gaussian_kl(T64::randn({50}, g), T64::randn({50}, g), T64::randn({50}, g),
                               T64::randn({50}, g));
  for (double x : r.to_vector()) CHECK(x >= -1e-12);
}

TEST_CASE("gaussian_kl gradients: closed form and central differences") {
  // dKL/dmu1 = (mu1 - mu2) / s2^2, dKL/dlv1 = (s1^2 / s2^2 - 1) / 2.
  T64 mu1 = vec({0.7}).requires_grad_(), lv1 = vec({0.4}).requires_grad_();
  const T64 mu2 = vec({-0.2}), lv2 = vec({1.1});
  const auto gr = grad<double>({sum(F::gaussian_kl(mu1, lv1, mu2, lv2))}, {mu1, lv1});
  CHECK(gr[0].item() == doctest::Approx(0.9 / std::exp(1.1)).epsilon(1e-12));
  CHECK(gr[1].item() == doctest::Approx(0.5 * (std::exp(0.4 - 1.1) - 1)).epsilon(1e-12));

  Generator g(2);
  std::vector<T64> in;
  for (int i = 0; i < 4; ++i) in.push_back(T64::randn({3, 4}, g).requires_grad_());
  auto f = [](const std::vector<T64>& x) { return F::gaussian_kl(x[0], x[1], x[2], x[3]); };
  CHECK(gradcheck_report(f, in) == "");
  CHECK(gradgradcheck_report(f, in) == "");
  auto fd = [](const std::vector<T64>& x) { return F::diag_gaussian_kl(x[0], x[1], x[2], x[3]); };
  CHECK(gradcheck_report(fd, in) == "");
}

TEST_CASE("mixture_kl_upper_bound: the formula by hand, its gradient, and that it bounds") {
  // K = 2, D = 1: c1 = (.3, .7), c2 = (.5, .5); component 0 the same N(0, 1) on both sides,
  // component 1 N(1, 2^2) against N(0, 1).
  const T64 c1 = vec({.3, .7}), c2 = vec({.5, .5});
  const T64 mu1 = vec({0.0, 1.0}, {2, 1}), lv1 = vec({0.0, std::log(4.0)}, {2, 1});
  const T64 mu2 = vec({0.0, 0.0}, {2, 1}), lv2 = vec({0.0, 0.0}, {2, 1});
  const double want = .3 * std::log(.3 / .5) + .7 * std::log(.7 / .5) + .7 * kl1(1, 2, 0, 1);
  const T64 b = F::mixture_kl_upper_bound(c1, mu1, lv1, c2, mu2, lv2);
  CHECK(b.shape() == Shape{});
  CHECK(b.item() == doctest::Approx(want).epsilon(1e-12));

  // The true KL between the two 1-D mixtures, by quadrature, lies below the bound.
  double kl = 0;
  const double h = 1e-3;
  for (double x = -30; x <= 30; x += h) {
    const double p = .3 * normal_pdf(x, 0, 1) + .7 * normal_pdf(x, 1, 2);
    const double q = .5 * normal_pdf(x, 0, 1) + .5 * normal_pdf(x, 0, 1);
    if (p > 0) kl += p * std::log(p / q) * h;
  }
  CHECK(kl > 0.1);
  CHECK(kl < b.item());

  // A zero weight contributes nothing (0 log 0 = 0); equal weights leave the weighted KLs.
  const T64 b0 = F::mixture_kl_upper_bound(vec({0.0, 1.0}), mu1, lv1, c2, mu2, lv2);
  CHECK(b0.item() == doctest::Approx(std::log(2.0) + kl1(1, 2, 0, 1)).epsilon(1e-12));
  const T64 be = F::mixture_kl_upper_bound(c2, mu1, lv1, c2, mu2, lv2);
  CHECK(be.item() == doctest::Approx(.5 * kl1(1, 2, 0, 1)).epsilon(1e-12));

  // Batched [N, K] weights from a softmax, [N, K, D] components: gradients by central
  // differences with respect to the logits and the Gaussians.
  Generator g(3);
  std::vector<T64> in = {T64::randn({2, 3}, g), T64::randn({2, 3, 4}, g), T64::randn({2, 3, 4}, g),
                         T64::randn({2, 3}, g), T64::randn({2, 3, 4}, g), T64::randn({2, 3, 4}, g)};
  for (auto& t : in) t.requires_grad_();
  auto f = [](const std::vector<T64>& x) {
    return F::mixture_kl_upper_bound(softmax(x[0], -1), x[1], x[2], softmax(x[3], -1), x[4], x[5]);
  };
  CHECK(f(in).shape() == Shape{2});
  CHECK(gradcheck_report(f, in) == "");

  CHECK_THROWS_AS(F::mixture_kl_upper_bound(vec({.5, .5}), mu1, lv1, vec({1.0}), mu2, lv2), Error);
  CHECK_THROWS_AS(
      F::mixture_kl_upper_bound(vec({.2, .3, .5}), mu1, lv1, vec({.2, .3, .5}), mu2, lv2), Error);
}

TEST_CASE("reward baselines: avg (leave-one-out mean), mid and mid2 (midranges)") {
  // Two inputs of 4 samples each.
  const std::vector<double> r = {1, 2, 3, 10, 0.5, 0.5, 0.5, 0.5};
  const auto avg = F::reward_baselines(r, 4, F::RewardBaseline::Avg);
  const std::vector<double> want_avg = {15.0 / 3, 14.0 / 3, 13.0 / 3, 2.0, .5, .5, .5, .5};
  const auto mid = F::reward_baselines(r, 4, F::RewardBaseline::Mid);
  const std::vector<double> want_mid = {5.5, 5.5, 5.5, 5.5, .5, .5, .5, .5};
  const auto mid2 = F::reward_baselines(r, 4, F::RewardBaseline::Mid2);
  const std::vector<double> want_mid2 = {6.0, 5.5, 5.5, 2.0, .5, .5, .5, .5};
  for (size_t i = 0; i < r.size(); ++i) {
    CAPTURE(i);
    CHECK(avg[i] == doctest::Approx(want_avg[i]).epsilon(1e-12));
    CHECK(mid[i] == doctest::Approx(want_mid[i]).epsilon(1e-12));
    CHECK(mid2[i] == doctest::Approx(want_mid2[i]).epsilon(1e-12));
  }
  // A long low tail: the midrange lies below the mean, so more samples get a positive
  // advantage than against the mean of all five.
  const std::vector<double> tail = {1.0, .95, .9, .85, 0.0};
  const double mid_t = F::reward_baselines(tail, 5, F::RewardBaseline::Mid)[0];
  CHECK(mid_t == doctest::Approx(0.5));
  CHECK(mid_t < (1.0 + .95 + .9 + .85) / 5);

  CHECK_THROWS_AS(F::reward_baselines({1, 2, 3}, 2, F::RewardBaseline::Avg), Error);
  CHECK_THROWS_AS(F::reward_baselines({1, 2}, 1, F::RewardBaseline::Mid), Error);
  CHECK_THROWS_AS(F::reward_baselines({1, std::nan("")}, 2, F::RewardBaseline::Mid), Error);
}

TEST_CASE("self_critical_loss: value and gradient by hand") {
  // Two inputs, n = 2: with the avg baseline b_i is the other sample's reward.
  // Per-token log-probabilities [4, 3] with padding zeros.
  T64 lp = vec({-1.0, -0.5, 0.0, -2.0, 0.0, 0.0, -0.3, -0.2, -0.1, -1.5, -1.0, 0.0}, {4, 3})
               .requires_grad_();
  const std::vector<double> r = {0.8, 0.2, 1.0, 1.0};
  const std::vector<double> adv = {0.6, -0.6, 0.0, 0.0};
  const std::vector<double> seq = {-1.5, -2.0, -0.6, -2.5};
  double want = 0;
  for (size_t i = 0; i < 4; ++i) want += -adv[i] * seq[i] / 4;
  const T64 loss = F::self_critical_loss(lp, r, 2, F::RewardBaseline::Avg);
  CHECK(loss.item() == doctest::Approx(want).epsilon(1e-12));
  const auto g = grad<double>({loss}, {lp})[0].to_vector();
  for (size_t i = 0; i < 4; ++i)
    for (size_t t = 0; t < 3; ++t)
      CHECK(g[i * 3 + t] == doctest::Approx(-adv[i] / 4).epsilon(1e-12));
  // Sequence log-probabilities [B] give the same loss.
  const T64 loss_seq = F::self_critical_loss(vec(seq), r, 2, F::RewardBaseline::Avg);
  CHECK(loss_seq.item() == doctest::Approx(want).epsilon(1e-12));
  // The mid baseline with n = 4 (one input): b = (1.0 + 0.2) / 2 = 0.6 for every sample.
  const T64 loss_mid = F::self_critical_loss(vec(seq), r, 4, F::RewardBaseline::Mid);
  double want_mid = 0;
  for (size_t i = 0; i < 4; ++i) want_mid += -(r[i] - 0.6) * seq[i] / 4;
  CHECK(loss_mid.item() == doctest::Approx(want_mid).epsilon(1e-12));
  // Float works too, and bad sizes are rejected.
  const Tensor<float> lpf = Tensor<float>::from_vector({-1.f, -2.f}, {2});
  CHECK(F::self_critical_loss(lpf, {1.0, 0.0}, 2, F::RewardBaseline::Avg).item() ==
        doctest::Approx(-(1.0 * -1.0 + -1.0 * -2.0) / 2));
  CHECK_THROWS_AS(F::policy_gradient_loss(vec(seq), {1.0, 2.0}), Error);
  CHECK_THROWS_AS(F::policy_gradient_loss(T64::zeros({2, 2, 2}), {1.0, 2.0}), Error);
}
