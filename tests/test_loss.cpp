// Tests for ember::nn::functional losses (and the nn loss modules): values against
// hand-computed / PyTorch numbers, first and second derivatives in float64, bad input.
#include <doctest/doctest.h>

#include <cmath>
#include <ember/autograd/gradcheck.hpp>
#include <ember/nn/functional/loss.hpp>
#include <ember/nn/loss.hpp>
#include <limits>
#include <string>
#include <vector>

using namespace ember;
namespace F = ember::nn::functional;
using F::Reduction;

namespace {

using TD = Tensor<double>;
using TI = Tensor<int64_t>;

TD mat(std::vector<double> v, Shape s) { return TD::from_vector(v, s); }

std::string error_of(auto&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// Both derivative checks of f over `inputs`; "" when both pass.
std::string check_grads(const GradcheckFn& f, const std::vector<TD>& inputs) {
  std::string r = gradcheck_report(f, inputs);
  if (r.empty()) r = gradgradcheck_report(f, inputs);
  return r;
}

TD leaf(TD t) { return t.detach().requires_grad_(); }

}  // namespace

// ---------------------------------------------------------------------- cross_entropy values

TEST_CASE("cross_entropy: class indices, PyTorch's values") {
  const TD logits = mat({1, 2, 3, 1, 1, 1}, {2, 3});
  const TI target{2, 0};
  // Row 0: logsumexp(1, 2, 3) - 3 = 0.40760596; row 1: log 3 = 1.09861229.
  CHECK(F::cross_entropy(logits, target).item() == doctest::Approx(0.75310912).epsilon(1e-8));
  CHECK(F::cross_entropy(logits, target, {.reduction = Reduction::Sum}).item() ==
        doctest::Approx(1.50621825).epsilon(1e-8));
  const TD none = F::cross_entropy(logits, target, {.reduction = Reduction::None});
  REQUIRE(none.shape() == Shape{2});
  CHECK(none.at({0}) == doctest::Approx(0.40760596).epsilon(1e-8));
  CHECK(none.at({1}) == doctest::Approx(1.09861229).epsilon(1e-8));

  // float32 gives the same to float precision.
  CHECK(double(F::cross_entropy(logits.to<float>(), target).item()) ==
        doctest::Approx(0.75310912).epsilon(1e-6));

  // Unbatched: logits [C], target 0-d.
  CHECK(F::cross_entropy(mat({1, 2, 3}, {3}), TI::scalar(2)).item() ==
        doctest::Approx(0.40760596).epsilon(1e-8));
  CHECK(
      F::cross_entropy(mat({1, 2, 3}, {3}), TI::scalar(2), {.reduction = Reduction::None}).dim() ==
      0);
}

TEST_CASE("cross_entropy: label smoothing, from the formula") {
  const TD logits = mat({1, 2, 3, 1, 1, 1}, {2, 3});
  const TI target{2, 0};
  const double eps = 0.1;
  // (1 - eps) * nll + eps / C * sum_c -log p_c, per row, then the mean.
  const double lse0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  const double row0 = (1 - eps) * (lse0 - 3) + eps / 3 * ((lse0 - 1) + (lse0 - 2) + (lse0 - 3));
  const double row1 = (1 - eps) * std::log(3.0) + eps / 3 * (3 * std::log(3.0));
  CHECK(row0 == doctest::Approx(0.50760596).epsilon(1e-8));
  const double got = F::cross_entropy(logits, target, {.label_smoothing = eps}).item();
  CHECK(got == doctest::Approx((row0 + row1) / 2).epsilon(1e-12));
  CHECK(got == doctest::Approx(0.80310912).epsilon(1e-8));

  // Probability targets (one-hot) with the same smoothing give the same loss.
  const TD onehot = mat({0, 0, 1, 1, 0, 0}, {2, 3});
  CHECK(F::cross_entropy(logits, onehot, {.label_smoothing = eps}).item() ==
        doctest::Approx(got).epsilon(1e-12));
  CHECK(F::cross_entropy(logits, onehot).item() == doctest::Approx(0.75310912).epsilon(1e-8));
}

TEST_CASE("cross_entropy: class weights and ignore_index") {
  const TD logits = mat({1, 2, 3, 1, 1, 1}, {2, 3});
  const TD w{1.0, 2.0, 3.0};
  // Weighted mean: (3 * 0.40760596 + 1 * 1.09861229) / (3 + 1).
  CHECK(F::cross_entropy(logits, TI{2, 0}, {.weight = w}).item() ==
        doctest::Approx((3 * 0.40760596 + 1.09861229) / 4).epsilon(1e-8));
  CHECK(F::cross_entropy(logits, TI{2, 0}, {.weight = w, .reduction = Reduction::Sum}).item() ==
        doctest::Approx(3 * 0.40760596 + 1.09861229).epsilon(1e-8));

  // Ignored targets are excluded from the mean (and contribute 0 under None).
  CHECK(F::cross_entropy(logits, TI{2, -100}).item() == doctest::Approx(0.40760596).epsilon(1e-8));
  CHECK(F::cross_entropy(logits, TI{2, 1}, {.ignore_index = 1}).item() ==
        doctest::Approx(0.40760596).epsilon(1e-8));
  const TD none = F::cross_entropy(logits, TI{-100, 0}, {.reduction = Reduction::None});
  CHECK(none.at({0}) == 0.0);
  // Everything ignored: 0 / 0, NaN as in PyTorch.
  CHECK(std::isnan(F::cross_entropy(logits, TI{-100, -100}).item()));

  // Weights + smoothing + ignore_index, PyTorch's formula:
  // ((1 - eps) * sum_i w[t_i] nll_i + eps / C * sum_i sum_c -w_c log p_ic) / sum_i w[t_i]
  // over the non-ignored i.
  const TD big = mat({0.5, -1, 2, 0.1, 0.3, -0.2, 1.5, 1, 0}, {3, 3});
  const TI t{1, -100, 2};
  const double eps = 0.2;
  double num_nll = 0, num_smooth = 0, den = 0;
  const std::vector<double> wv = {1, 2, 3};
  for (int64_t i : {0, 2}) {
    double lse = 0;
    for (int64_t c = 0; c < 3; ++c) lse += std::exp(big.at({i, c}));
    lse = std::log(lse);
    const int64_t ti = t.at({i});
    num_nll += wv[ti] * (lse - big.at({i, ti}));
    for (int64_t c = 0; c < 3; ++c) num_smooth += wv[c] * (lse - big.at({i, c}));
    den += wv[ti];
  }
  const double want = ((1 - eps) * num_nll + eps / 3 * num_smooth) / den;
  CHECK(F::cross_entropy(big, t, {.weight = w, .label_smoothing = eps}).item() ==
        doctest::Approx(want).epsilon(1e-12));
}

TEST_CASE("cross_entropy: spatial targets equal the flattened problem") {
  Generator gen(5);
  const TD x = TD::randn({2, 3, 4}, gen);  // [N, C, d]
  const TI t = TI::randint(0, 3, {2, 4}, gen);
  const TD flat = x.permute({0, 2, 1}).reshape({8, 3});
  CHECK(F::cross_entropy(x, t).item() ==
        doctest::Approx(F::cross_entropy(flat, t.reshape({8})).item()).epsilon(1e-12));
  CHECK(F::cross_entropy(x, t, {.reduction = Reduction::None}).shape() == Shape{2, 4});
  CHECK(F::cross_entropy(x, t, {.label_smoothing = 0.3}).item() ==
        doctest::Approx(F::cross_entropy(flat, t.reshape({8}), {.label_smoothing = 0.3}).item())
            .epsilon(1e-12));
}

TEST_CASE("cross_entropy: probability targets") {
  const TD logits = mat({1, 2, 3, 1, 1, 1}, {2, 3});
  const TD q = mat({0.5, 0.25, 0.25, 0.2, 0.3, 0.5}, {2, 3});
  const double lse0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  const double row0 = 0.5 * (lse0 - 1) + 0.25 * (lse0 - 2) + 0.25 * (lse0 - 3);
  const double row1 = std::log(3.0);
  CHECK(F::cross_entropy(logits, q).item() == doctest::Approx((row0 + row1) / 2).epsilon(1e-12));
  // Class weights scale each class's term; Mean still divides by N (PyTorch's rule).
  const TD w{1.0, 2.0, 3.0};
  const double wrow0 = 0.5 * (lse0 - 1) + 2 * 0.25 * (lse0 - 2) + 3 * 0.25 * (lse0 - 3);
  const double wrow1 = (0.2 + 2 * 0.3 + 3 * 0.5) * std::log(3.0);
  CHECK(F::cross_entropy(logits, q, {.weight = w}).item() ==
        doctest::Approx((wrow0 + wrow1) / 2).epsilon(1e-12));
  CHECK(F::cross_entropy(logits, q, {.reduction = Reduction::None}).shape() == Shape{2});
}

// ---------------------------------------------------------------------- nll_loss

TEST_CASE("nll_loss: picks -log_probs[target], weighted mean") {
  const TD lp = mat({-0.1, -2.0, -3.0, -1.0, -0.5, -4.0}, {2, 3});
  CHECK(F::nll_loss(lp, TI{0, 1}).item() == doctest::Approx((0.1 + 0.5) / 2));
  CHECK(F::nll_loss(lp, TI{2, 1}, {.weight = TD{1.0, 4.0, 2.0}}).item() ==
        doctest::Approx((2 * 3.0 + 4 * 0.5) / 6));
  CHECK(F::nll_loss(lp, TI{2, 1}, {.reduction = Reduction::Sum}).item() == doctest::Approx(3.5));
  CHECK(F::nll_loss(lp, TI{2, -100}).item() == doctest::Approx(3.0));
}

// ---------------------------------------------------------------------- derivatives

TEST_CASE("cross_entropy / nll_loss: first and second derivatives") {
  Generator gen(11);
  const TI t = TI::from_vector({0, 3, -100, 2, 1}, {5});
  const TD w = TD::rand({4}, gen, 0.5, 2.0);
  for (double eps : {0.0, 0.25}) {
    for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
      CAPTURE(eps);
      CAPTURE(int(r));
      const TD x = leaf(TD::randn({5, 4}, gen));
      CHECK(check_grads(
                [&](const auto& in) {
                  return F::cross_entropy(in[0], t, {.reduction = r, .label_smoothing = eps});
                },
                {x}) == "");
      CHECK(check_grads(
                [&](const auto& in) {
                  return F::cross_entropy(in[0], t,
                                          {.weight = w, .reduction = r, .label_smoothing = eps});
                },
                {x}) == "");
    }
  }
  // Non-contiguous logits, spatial layout.
  const TD xt = leaf(TD::randn({4, 3}, gen)).t().detach().requires_grad_();  // [3, 4]: N=3, C=4
  CHECK(!xt.is_contiguous());
  CHECK(check_grads(
            [&](const auto& in) {
              return F::cross_entropy(in[0], TI{3, 0, 1}, {.label_smoothing = 0.1});
            },
            {xt}) == "");
  const TD xs = leaf(TD::randn({2, 3, 2, 2}, gen));
  const TI ts = TI::randint(0, 3, {2, 2, 2}, gen);
  CHECK(check_grads(
            [&](const auto& in) {
              return F::cross_entropy(in[0], ts, {.weight = TD{1.0, 2.0, 0.5}});
            },
            {xs}) == "");

  // Probability targets: gradients reach logits and target.
  const TD xp = leaf(TD::randn({3, 4}, gen));
  const TD qp = leaf(TD::rand({3, 4}, gen));
  CHECK(check_grads(
            [&](const auto& in) {
              return F::cross_entropy(in[0], in[1], {.weight = w, .label_smoothing = 0.2});
            },
            {xp, qp}) == "");
  CHECK(check_grads(
            [&](const auto& in) {
              return F::cross_entropy(in[0], in[1], {.reduction = Reduction::None});
            },
            {xp, qp}) == "");

  const TD lp = leaf(TD::randn({5, 4}, gen));
  CHECK(check_grads([&](const auto& in) { return F::nll_loss(in[0], t, {.weight = w}); }, {lp}) ==
        "");
}

TEST_CASE("regression losses: derivatives") {
  Generator gen(12);
  const TD a = leaf(TD::randn({3, 4}, gen));
  const TD b = leaf(TD::randn({4, 3}, gen)).t().detach().requires_grad_();  // non-contiguous
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    CHECK(check_grads([&](const auto& in) { return F::mse_loss(in[0], in[1], r); }, {a, b}) == "");
    CHECK(check_grads([&](const auto& in) { return F::l1_loss(in[0], in[1], r); }, {a, b}) == "");
    CHECK(check_grads(
              [&](const auto& in) {
                return F::smooth_l1_loss(in[0], in[1], {.reduction = r, .beta = 0.7});
              },
              {a, b}) == "");
  }
}

TEST_CASE("bce_with_logits, kl_div, cosine_similarity: derivatives") {
  Generator gen(13);
  const TD x = leaf(TD::randn({4, 3}, gen, 0.0, 2.0));
  const TD y = leaf(TD::rand({4, 3}, gen));
  const TD pw = leaf(TD::rand({3}, gen, 0.5, 3.0));
  const TD w = TD::rand({4, 1}, gen, 0.5, 2.0);
  CHECK(
      check_grads([&](const auto& in) { return F::binary_cross_entropy_with_logits(in[0], in[1]); },
                  {x, y}) == "");
  CHECK(check_grads(
            [&](const auto& in) {
              return F::binary_cross_entropy_with_logits(
                  in[0], in[1], {.weight = w, .reduction = Reduction::Sum, .pos_weight = in[2]});
            },
            {x, y, pw}) == "");

  const TD logq = leaf(TD::randn({4, 3}, gen));
  const TD p = leaf(TD::rand({4, 3}, gen, 0.1, 1.0));
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::BatchMean, Reduction::None}) {
    CHECK(check_grads([&](const auto& in) { return F::kl_div(in[0], in[1], {.reduction = r}); },
                      {logq, p}) == "");
    CHECK(check_grads(
              [&](const auto& in) {
                return F::kl_div(in[0], in[1], {.reduction = r, .log_target = true});
              },
              {logq, logq.detach().clone().requires_grad_()}) == "");
  }

  const TD u = leaf(TD::randn({4, 3}, gen));
  const TD v = leaf(TD::randn({3, 4}, gen)).t().detach().requires_grad_();  // non-contiguous
  const TD row = leaf(TD::randn({1, 3}, gen));  // broadcast against [4, 3]
  CHECK(check_grads([&](const auto& in) { return F::cosine_similarity(in[0], in[1]); }, {u, v}) ==
        "");
  CHECK(check_grads([&](const auto& in) { return F::cosine_similarity(in[0], in[1], 0); },
                    {u, v}) == "");
  CHECK(check_grads([&](const auto& in) { return F::cosine_similarity(in[0], in[1], -1); },
                    {u, row}) == "");
}

// ---------------------------------------------------------------------- other values

TEST_CASE("mse / l1 / smooth_l1: values") {
  const TD a{1.0, 2.0, -3.0, 0.5};
  const TD b{1.5, 0.0, -3.0, 0.0};
  // d = [-0.5, 2, 0, 0.5]
  CHECK(F::mse_loss(a, b).item() == doctest::Approx((0.25 + 4 + 0 + 0.25) / 4));
  CHECK(F::mse_loss(a, b, Reduction::Sum).item() == doctest::Approx(4.5));
  CHECK(F::mse_loss(a, b, Reduction::None).to_vector() == std::vector<double>{0.25, 4, 0, 0.25});
  CHECK(F::l1_loss(a, b).item() == doctest::Approx(3.0 / 4));
  // beta = 1: 0.5 d^2 inside, |d| - 0.5 outside.
  CHECK(F::smooth_l1_loss(a, b, {.reduction = Reduction::None}).to_vector() ==
        std::vector<double>{0.125, 1.5, 0, 0.125});
  // beta = 0.4: |0.5| >= 0.4 -> 0.5 - 0.2 = 0.3; 2 -> 1.8.
  const std::vector<double> sl =
      F::smooth_l1_loss(a, b, {.reduction = Reduction::None, .beta = 0.4}).to_vector();
  CHECK(sl[0] == doctest::Approx(0.3));
  CHECK(sl[1] == doctest::Approx(1.8));
  CHECK(sl[2] == 0.0);
  CHECK(F::smooth_l1_loss(a, b, {.beta = 0.0}).item() == doctest::Approx(F::l1_loss(a, b).item()));
}

TEST_CASE("binary_cross_entropy_with_logits: values, stable for large logits") {
  const TD x{100.0, -100.0, 100.0, -100.0};
  const TD y{1.0, 1.0, 0.0, 0.0};
  const TD none = F::binary_cross_entropy_with_logits(x, y, {.reduction = Reduction::None});
  const std::vector<double> v = none.to_vector();
  CHECK(v[0] == doctest::Approx(std::exp(-100.0)).epsilon(1e-6));  // not 0 from log(1 - tiny)
  CHECK(v[0] > 0.0);
  CHECK(v[1] == 100.0);
  CHECK(v[2] == 100.0);
  CHECK(v[3] == doctest::Approx(std::exp(-100.0)).epsilon(1e-6));
  // Gradient sigmoid(x) - y stays finite.
  const TD xl = leaf(x);
  F::binary_cross_entropy_with_logits(xl, y, {.reduction = Reduction::Sum}).backward();
  const std::vector<double> g = xl.grad().to_vector();
  CHECK(g[0] == doctest::Approx(0.0));
  CHECK(g[1] == doctest::Approx(-1.0));
  CHECK(g[2] == doctest::Approx(1.0));
  CHECK(g[3] == doctest::Approx(0.0));
  // float32 too.
  const Tensor<float> lf = F::binary_cross_entropy_with_logits(x.to<float>(), y.to<float>(),
                                                               {.reduction = Reduction::Sum});
  CHECK(std::isfinite(lf.item()));
  CHECK(lf.item() == doctest::Approx(200.0f));

  // Moderate logits against the textbook formula; pos_weight scales the positive term.
  const TD xm{-1.5, 0.0, 0.7, 2.0};
  const TD ym{0.0, 1.0, 0.3, 1.0};
  const TD pw{3.0};
  double want = 0, want_pw = 0;
  for (int i = 0; i < 4; ++i) {
    const double s = 1 / (1 + std::exp(-xm.at({i}))), yi = ym.at({i});
    want += -(yi * std::log(s) + (1 - yi) * std::log(1 - s));
    want_pw += -(3.0 * yi * std::log(s) + (1 - yi) * std::log(1 - s));
  }
  CHECK(F::binary_cross_entropy_with_logits(xm, ym).item() ==
        doctest::Approx(want / 4).epsilon(1e-12));
  CHECK(F::binary_cross_entropy_with_logits(xm, ym, {.pos_weight = pw}).item() ==
        doctest::Approx(want_pw / 4).epsilon(1e-12));
  CHECK(F::binary_cross_entropy_with_logits(TD{0.0}, TD{1.0}, {.pos_weight = pw}).item() ==
        doctest::Approx(3 * std::log(2.0)));
  // Per-element weight.
  CHECK(F::binary_cross_entropy_with_logits(TD{0.0, 0.0}, TD{1.0, 0.0},
                                            {.weight = TD{2.0, 0.0}, .reduction = Reduction::Sum})
            .item() == doctest::Approx(2 * std::log(2.0)));
}

TEST_CASE("kl_div: batchmean is the KL divergence per sample") {
  // p = target probabilities, q = model probabilities (input as log q).
  const TD p = mat({0.5, 0.5, 0.0, 0.1, 0.2, 0.7}, {2, 3});
  const TD q = mat({0.25, 0.25, 0.5, 0.3, 0.3, 0.4}, {2, 3});
  const TD logq = log(q);
  double kl = 0;
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t c = 0; c < 3; ++c)
      if (p.at({i, c}) > 0) kl += p.at({i, c}) * std::log(p.at({i, c}) / q.at({i, c}));
  CHECK(F::kl_div(logq, p, {.reduction = Reduction::BatchMean}).item() ==
        doctest::Approx(kl / 2).epsilon(1e-12));
  CHECK(F::kl_div(logq, p, {.reduction = Reduction::Sum}).item() ==
        doctest::Approx(kl).epsilon(1e-12));
  CHECK(F::kl_div(logq, p).item() == doctest::Approx(kl / 6).epsilon(1e-12));
  CHECK(F::kl_div(logq, p, {.reduction = Reduction::None}).at({0, 2}) == 0.0);  // 0 log 0 = 0
  // log_target gives the same with the target as log p (where p > 0).
  const TD p2 = mat({0.5, 0.4, 0.1, 0.1, 0.2, 0.7}, {2, 3});
  CHECK(F::kl_div(logq, log(p2), {.reduction = Reduction::BatchMean, .log_target = true}).item() ==
        doctest::Approx(F::kl_div(logq, p2, {.reduction = Reduction::BatchMean}).item())
            .epsilon(1e-12));
  // A zero target gives finite gradients.
  const TD pl = leaf(p), ql = leaf(logq);
  F::kl_div(ql, pl, {.reduction = Reduction::Sum}).backward();
  for (double gv : pl.grad().to_vector()) CHECK(std::isfinite(gv));
  CHECK(ql.grad().to_vector() == (-p).to_vector());
}

TEST_CASE("cosine_similarity: orthogonal, parallel, zero, broadcast") {
  const TD a = mat({1, 0, 0, 1, 2, 3, 1, 1, 0}, {3, 3});
  const TD b = mat({0, 5, 0, 2, 4, 6, -3, -3, 0}, {3, 3});
  const std::vector<double> s = F::cosine_similarity(a, b).to_vector();
  CHECK(s[0] == doctest::Approx(0.0));
  CHECK(s[1] == doctest::Approx(1.0));
  CHECK(s[2] == doctest::Approx(-1.0));
  // Along dim 0 (columns).
  const TD c = F::cosine_similarity(a, b, 0);
  CHECK(c.shape() == Shape{3});
  const double dot0 = 1 * 0 + 1 * 2 + 1 * -3, n0 = std::sqrt(3.0), m0 = std::sqrt(0 + 4 + 9.0);
  CHECK(c.at({0}) == doctest::Approx(dot0 / (n0 * m0)));
  // A zero vector: eps keeps it finite (0), and its gradient finite.
  const TD z = leaf(TD::zeros({1, 3}));
  const TD r = F::cosine_similarity(z, mat({1, 2, 3}, {1, 3}));
  CHECK(r.item() == 0.0);
  r.backward();
  for (double gv : z.grad().to_vector()) CHECK(std::isfinite(gv));
  // Broadcast [1, 3] against [3, 3].
  const TD bc = F::cosine_similarity(mat({1, 0, 0}, {1, 3}), a);
  CHECK(bc.shape() == Shape{3});
  CHECK(bc.at({0}) == doctest::Approx(1.0));
  CHECK(bc.at({2}) == doctest::Approx(1 / std::sqrt(2.0)));
}

// ---------------------------------------------------------------------- bad input

TEST_CASE("losses: bad input throws ember::Error with a useful message") {
  const TD logits = mat({1, 2, 3, 1, 1, 1}, {2, 3});
  std::string msg = error_of([&] { F::cross_entropy(logits, TI{3, 0}); });
  CHECK(contains(msg, "cross_entropy"));
  CHECK(contains(msg, "target 3"));
  CHECK(contains(msg, "3 classes"));
  CHECK_THROWS_AS(F::cross_entropy(logits, TI{-1, 0}), Error);
  CHECK_THROWS_AS(F::nll_loss(logits, TI{0, 7}), Error);
  msg = error_of([&] { F::cross_entropy(logits, TI{0, 1, 2}); });
  CHECK(contains(msg, "[2, 3]"));
  CHECK(contains(msg, "[3]"));
  CHECK_THROWS_AS(F::cross_entropy(logits, TI{0, 1}, {.weight = TD{1.0, 2.0}}), Error);
  CHECK_THROWS_AS(F::cross_entropy(logits, TI{0, 1}, {.label_smoothing = 1.5}), Error);
  CHECK_THROWS_AS(F::cross_entropy(logits, TI{0, 1}, {.reduction = Reduction::BatchMean}), Error);
  CHECK_THROWS_AS(F::cross_entropy(logits, mat({1, 0, 0}, {1, 3})), Error);  // prob target shape
  CHECK_THROWS_AS(F::cross_entropy(TD::scalar(1.0), TI::scalar(0)), Error);

  msg = error_of([&] { F::mse_loss(TD::zeros({4}), TD::zeros({4, 1})); });
  CHECK(contains(msg, "mse_loss"));
  CHECK(contains(msg, "[4, 1]"));
  CHECK_THROWS_AS(F::l1_loss(TD::zeros({2}), TD::zeros({3})), Error);
  CHECK_THROWS_AS(F::mse_loss(TD::zeros({2}), TD::zeros({2}), Reduction::BatchMean), Error);
  CHECK_THROWS_AS(F::smooth_l1_loss(TD::zeros({2}), TD::zeros({2}), {.beta = -1.0}), Error);
  CHECK_THROWS_AS(F::binary_cross_entropy_with_logits(TD::zeros({2, 3}), TD::zeros({3})), Error);
  CHECK_THROWS_AS(F::binary_cross_entropy_with_logits(TD::zeros({2, 3}), TD::zeros({2, 3}),
                                                      {.pos_weight = TD::ones({4})}),
                  Error);
  CHECK_THROWS_AS(F::binary_cross_entropy_with_logits(TD::zeros({2, 3}), TD::zeros({2, 3}),
                                                      {.weight = TD::ones({2, 3, 2})}),
                  Error);
  CHECK_THROWS_AS(F::kl_div(TD::zeros({2, 3}), TD::zeros({3, 2})), Error);
  CHECK_THROWS_AS(F::cosine_similarity(TD::zeros({2, 3}), TD::zeros({2, 4})), Error);
  CHECK_THROWS_AS(F::cosine_similarity(TD::zeros({2, 3}), TD::zeros({2, 3}), 2), Error);
}

// ---------------------------------------------------------------------- modules

TEST_CASE("nn::CrossEntropyLoss / nn::MSELoss") {
  const Tensor<float> logits = mat({1, 2, 3, 1, 1, 1}, {2, 3}).to<float>();
  nn::CrossEntropyLoss ce;
  CHECK(double(ce(logits, Tensor<int64_t>{2, 0}).item()) ==
        doctest::Approx(0.75310912).epsilon(1e-6));
  CHECK(double(ce(logits, mat({0, 0, 1, 1, 0, 0}, {2, 3}).to<float>()).item()) ==
        doctest::Approx(0.75310912).epsilon(1e-6));
  nn::CrossEntropyLoss weighted({.weight = Tensor<float>{1, 2, 3}, .label_smoothing = 0.1});
  CHECK(weighted.state_dict().size() == 1);
  CHECK(weighted.state_dict()[0].first == "weight");
  CHECK(weighted.parameters().empty());
  CHECK(double(weighted(logits, Tensor<int64_t>{2, 0}).item()) ==
        doctest::Approx(F::cross_entropy(mat({1, 2, 3, 1, 1, 1}, {2, 3}), TI{2, 0},
                                         {.weight = TD{1.0, 2.0, 3.0}, .label_smoothing = 0.1})
                            .item())
            .epsilon(1e-6));
  nn::MSELoss mse(Reduction::Sum);
  CHECK(mse(Tensor<float>{1, 2}, Tensor<float>{0, 0}).item() == 5.0f);
}
