// Optimizers (SGD, Adam, AdamW), learning-rate schedules and gradient clipping: each update
// rule against numbers worked out by hand from PyTorch's formulas, state_dict round trips,
// and a small end-to-end minimisation through the autograd engine.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <type_traits>

#include <ember/backend/cpu/optim.hpp>

#include <cmath>
#include <complex>
#include <limits>
#include <numbers>
#include <string>
#include <type_traits>
#include <vector>

#include <ember/core/tensor.hpp>
#include <ember/nn/functional/loss.hpp>
#include <ember/nn/linear.hpp>
#include <ember/ops/linalg.hpp>
#include <ember/optim/adam.hpp>
#include <ember/optim/clip.hpp>
#include <ember/optim/scheduler.hpp>
#include <ember/optim/sgd.hpp>

using namespace ember;
using doctest::Approx;

namespace {

// Throws ember::Error and the message contains `part`.
template <class F>
bool throws_with(F&& f, const std::string& part) {
  try {
    f();
  } catch (const Error& e) {
    if (std::string(e.what()).find(part) != std::string::npos) return true;
    MESSAGE("message was: " << std::string(e.what()));
    return false;
  }
  return false;
}

// A 1-D tensor (Tensor<double>{x} with one value would be a 0-d scalar).
Tensor<double> vec(const std::vector<double>& v) {
  return Tensor<double>::from_vector(v, {int64_t(v.size())});
}
Tensor<double> param(const std::vector<double>& v) { return vec(v).requires_grad_(); }

// Runs opt on p with the gradients gs (one per step) and returns p's first element after each.
std::vector<double> run(optim::Optimizer& opt, const Tensor<double>& p,
                        const std::vector<double>& gs) {
  std::vector<double> out;
  for (double g : gs) {
    p.set_grad(Tensor<double>::full(p.shape(), g));
    opt.step();
    out.push_back(p.to_vector()[0]);
  }
  return out;
}

const AnyTensor* find(const StateDict& sd, const std::string& name) {
  for (const auto& [n, t] : sd)
    if (n == name) return &t;
  return nullptr;
}

StateDict replaced(StateDict sd, const std::string& name, AnyTensor t) {
  for (auto& [n, v] : sd)
    if (n == name) v = std::move(t);
  return sd;
}

std::vector<double> lrs_over(optim::LRScheduler& s, int epochs) {
  std::vector<double> out{s.get_last_lr()[0]};
  for (int e = 1; e < epochs; ++e) {
    s.step();
    out.push_back(s.get_last_lr()[0]);
  }
  return out;
}

void check_close(const std::vector<double>& got, const std::vector<double>& want,
                 double eps = 1e-12) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("index " << i);
    CHECK(got[i] == Approx(want[i]).epsilon(eps));
  }
}

}  // namespace

// ---------------------------------------------------------------------- SGD

TEST_CASE("SGD: plain, momentum, dampening, nesterov, weight decay, maximize") {
  SUBCASE("plain: p -= lr * g") {
    auto p = param({1.0, -2.0});
    optim::SGD opt({p}, {.lr = 0.1});
    p.set_grad(Tensor<double>{0.5, 1.0});
    opt.step();
    check_close(p.to_vector(), {0.95, -2.1});
  }
  SUBCASE("momentum 0.9, g = 1, lr 0.1") {
    // buf: 1 (the first gradient), 0.9 + 1 = 1.9, 1.71 + 1 = 2.71; p -= 0.1 * buf.
    auto p = param({1.0});
    optim::SGD opt({p}, {.lr = 0.1, .momentum = 0.9});
    check_close(run(opt, p, {1, 1, 1}), {0.9, 0.71, 0.439});
  }
  SUBCASE("dampening 0.5 (not applied to the first buffer)") {
    // buf: 1, 0.9 + 0.5 = 1.4, 1.26 + 0.5 = 1.76.
    auto p = param({1.0});
    optim::SGD opt({p}, {.lr = 0.1, .momentum = 0.9, .dampening = 0.5});
    check_close(run(opt, p, {1, 1, 1}), {0.9, 0.76, 0.584});
  }
  SUBCASE("nesterov: g + momentum * buf") {
    // buf: 1, 1.9, 2.71; step direction: 1 + 0.9 * buf = 1.9, 2.71, 3.439.
    auto p = param({1.0});
    optim::SGD opt({p}, {.lr = 0.1, .momentum = 0.9, .nesterov = true});
    check_close(run(opt, p, {1, 1, 1}), {0.81, 0.539, 0.1951});
  }
  SUBCASE("weight decay 0.1 added to the gradient") {
    // d = 1 + 0.1 p: 1.1, 1.089, 1.07811.
    auto p = param({1.0});
    optim::SGD opt({p}, {.lr = 0.1, .weight_decay = 0.1});
    check_close(run(opt, p, {1, 1, 1}), {0.89, 0.7811, 0.673289});
  }
  SUBCASE("weight decay 0.1 with momentum 0.9") {
    // d: 1.1, 1.089, 1.06821; buf: 1.1, 0.99 + 1.089 = 2.079, 1.8711 + 1.06821 = 2.93931.
    auto p = param({1.0});
    optim::SGD opt({p}, {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.1});
    check_close(run(opt, p, {1, 1, 1}), {0.89, 0.6821, 0.388169});
  }
  SUBCASE("maximize climbs the gradient") {
    auto p = param({1.0});
    optim::SGD opt({p}, {.lr = 0.1, .maximize = true});
    check_close(run(opt, p, {1, 1, 1}), {1.1, 1.2, 1.3});
  }
}

TEST_CASE("SGD: float32 parameters, large tensors (threaded) match small ones exactly") {
  Generator gen(7);
  const int64_t n = 100000;  // above the parallel grain
  auto big = Tensor<float>::randn({n}, gen).requires_grad_();
  auto grad = Tensor<float>::randn({n}, gen);
  std::vector<Tensor<float>> small;
  for (int64_t k = 0; k < n; k += 1000)
    small.push_back(big.slice(0, k, k + 1000).detach().clone().requires_grad_());
  std::vector<AnyTensor> small_params(small.begin(), small.end());
  const optim::SGDOptions o{.lr = 0.05, .momentum = 0.9, .weight_decay = 1e-2, .nesterov = true};
  optim::SGD a({big}, o), b(small_params, o);
  for (int step = 0; step < 3; ++step) {
    big.set_grad(grad.clone());
    for (size_t i = 0; i < small.size(); ++i)
      small[i].set_grad(grad.slice(0, int64_t(i) * 1000, int64_t(i + 1) * 1000).clone());
    a.step();
    b.step();
  }
  bool same = true;
  for (size_t i = 0; i < small.size(); ++i)
    same = same && big.slice(0, int64_t(i) * 1000, int64_t(i + 1) * 1000).to_vector() ==
                       small[i].to_vector();
  CHECK(same);
}

// ---------------------------------------------------------------------- Adam / AdamW

TEST_CASE("Adam: three steps by hand") {
  // lr 0.1, betas (0.9, 0.999), eps 1e-8, gradients 1, -2, 0.5.
  // t=1: m = 0.1, v = 0.001; m/(1-0.9) = 1, v/(1-0.999) = 1 -> p = 1 - 0.1 / (1 + 1e-8).
  // t=2: m = 0.09 - 0.2 = -0.11, v = 0.000999 + 0.004 = 0.004999; corrected m = -0.11 / 0.19,
  //      v = 0.004999 / 0.001999 -> p += 0.1 * 0.578947 / 1.581389.
  // t=3: m = -0.099 + 0.05 = -0.049, v = 0.004994001 + 0.00025; bias 0.271 and 0.002997001.
  auto p = param({1.0});
  optim::Adam opt({p}, {.lr = 0.1});
  check_close(run(opt, p, {1, -2, 0.5}),
              {0.90000000099999999, 0.93661035347207489, 0.95027941967382157});
  const StateDict sd = opt.state_dict();
  CHECK(Tensor<int64_t>(find(sd, "state.0.step")->impl).item() == 3);
  CHECK(Tensor<double>(find(sd, "state.0.exp_avg")->impl).item() == Approx(-0.049));
  CHECK(Tensor<double>(find(sd, "state.0.exp_avg_sq")->impl).item() == Approx(0.005244001));
  CHECK(find(sd, "state.0.max_exp_avg_sq") == nullptr);
}

TEST_CASE("Adam: L2 weight decay in the gradient; AdamW: decoupled decay") {
  SUBCASE("Adam weight_decay 0.1: g + 0.1 p") {
    // t=1: g = 1.1, corrected m / sqrt(v) = 1.1 / 1.1 -> 1 - 0.1 / (1 + 1e-8 / 1.1).
    auto p = param({1.0});
    optim::Adam opt({p}, {.lr = 0.1, .weight_decay = 0.1});
    check_close(run(opt, p, {1, -2, 0.5}),
                {0.90000000090909094, 0.93106429483919217, 0.93764215493736103});
  }
  SUBCASE("AdamW weight_decay 0.1: p *= 1 - 0.01 first") {
    // t=1: p = 0.99 - 0.1 / (1 + 1e-8); the moments are Adam's without decay.
    auto p = param({1.0});
    optim::AdamW opt({p}, {.lr = 0.1, .weight_decay = 0.1});
    check_close(run(opt, p, {1, -2, 0.5}),
                {0.89000000099999999, 0.91771035346207475, 0.92220231612920067});
  }
  SUBCASE("AdamW = Adam without decay, after p *= 1 - lr * wd, at every step") {
    Generator gen(3);
    auto w = Tensor<double>::randn({4, 5}, gen).requires_grad_();
    auto v = w.detach().clone().requires_grad_();
    const double lr = 0.01, wd = 0.3;
    optim::AdamW adamw({w}, {.lr = lr, .weight_decay = wd});
    optim::Adam adam({v}, {.lr = lr});
    for (int step = 0; step < 3; ++step) {
      const auto g = Tensor<double>::randn({4, 5}, gen);
      const auto w0 = w.to_vector(), v0 = v.to_vector();
      w.set_grad(g.clone());
      v.set_grad(g.clone());
      adamw.step();
      adam.step();
      const auto w1 = w.to_vector(), v1 = v.to_vector();
      for (size_t k = 0; k < w1.size(); ++k)
        CHECK(w1[k] == Approx(w0[k] * (1 - lr * wd) - (v0[k] - v1[k])).epsilon(1e-13));
    }
  }
  CHECK(optim::AdamWOptions{}.weight_decay == 0.01);
  CHECK(optim::AdamOptions{}.weight_decay == 0.0);
}

TEST_CASE("Adam: amsgrad keeps the largest second moment") {
  // Gradients 2, 0.01, 0.01: v = 0.004, then 0.0039961 < 0.004, so v_max stays 0.004 and the
  // steps after the first are smaller than plain Adam's.
  auto p = param({1.0}), q = param({1.0});
  optim::Adam ams({p}, {.lr = 0.1, .amsgrad = true});
  optim::Adam plain({q}, {.lr = 0.1});
  check_close(run(ams, p, {2, 0.01, 0.01}),
              {0.90000000049999995, 0.83265561844326574, 0.78030484442570169});
  check_close(run(plain, q, {2, 0.01, 0.01}),
              {0.90000000049999995, 0.83262276403050295, 0.78022089883408574});
  CHECK(Tensor<double>(find(ams.state_dict(), "state.0.max_exp_avg_sq")->impl).item() ==
        Approx(0.004));
}

TEST_CASE("complex<float> parameters are updated as pairs of reals") {
  using C = std::complex<float>;
  auto z = Tensor<C>::from_vector({C(1, -2), C(0.5f, 0)}, {2}).requires_grad_();
  auto r = Tensor<float>::from_vector({1, -2, 0.5f, 0}, {4}).requires_grad_();
  SUBCASE("Adam, amsgrad, weight decay") {
    const optim::AdamOptions o{.lr = 0.1, .weight_decay = 0.05, .amsgrad = true};
    optim::Adam a({z}, o), b({r}, o);
    for (int step = 0; step < 3; ++step) {
      z.set_grad(Tensor<C>::from_vector({C(0.5f, 3), C(-1, 0.25f)}, {2}));
      r.set_grad(Tensor<float>::from_vector({0.5f, 3, -1, 0.25f}, {4}));
      a.step();
      b.step();
      const auto zv = z.to_vector();
      const auto rv = r.to_vector();
      CHECK(zv[0] == C(rv[0], rv[1]));
      CHECK(zv[1] == C(rv[2], rv[3]));
    }
  }
  SUBCASE("first Adam step moves each component by lr (|g| per component, not |z|)") {
    optim::Adam a({z}, {.lr = 0.1});
    z.set_grad(Tensor<C>::from_vector({C(0.5f, 3), C(-1, 0.25f)}, {2}));
    a.step();
    CHECK(z.to_vector()[0].real() == Approx(0.9));
    CHECK(z.to_vector()[0].imag() == Approx(-2.1));
  }
  SUBCASE("SGD with momentum") {
    const optim::SGDOptions o{.lr = 0.1, .momentum = 0.9, .weight_decay = 0.1};
    optim::SGD a({z}, o), b({r}, o);
    for (int step = 0; step < 3; ++step) {
      z.set_grad(Tensor<C>::from_vector({C(0.5f, 3), C(-1, 0.25f)}, {2}));
      r.set_grad(Tensor<float>::from_vector({0.5f, 3, -1, 0.25f}, {4}));
      a.step();
      b.step();
    }
    const auto zv = z.to_vector();
    const auto rv = r.to_vector();
    CHECK(zv[0] == C(rv[0], rv[1]));
    CHECK(zv[1] == C(rv[2], rv[3]));
  }
}

TEST_CASE("Adam: large tensors (threaded) match small ones exactly") {
  Generator gen(11);
  const int64_t n = 50000;
  auto big = Tensor<double>::randn({n}, gen).requires_grad_();
  std::vector<Tensor<double>> small;
  for (int64_t k = 0; k < n; k += 500)
    small.push_back(big.slice(0, k, k + 500).detach().clone().requires_grad_());
  const optim::AdamOptions o{.lr = 0.01, .weight_decay = 0.01, .amsgrad = true};
  optim::Adam a({big}, o), b(std::vector<AnyTensor>(small.begin(), small.end()), o);
  for (int step = 0; step < 3; ++step) {
    const auto g = Tensor<double>::randn({n}, gen);
    big.set_grad(g.clone());
    for (size_t i = 0; i < small.size(); ++i)
      small[i].set_grad(g.slice(0, int64_t(i) * 500, int64_t(i + 1) * 500).clone());
    a.step();
    b.step();
  }
  bool same = true;
  for (size_t i = 0; i < small.size(); ++i)
    same = same &&
           big.slice(0, int64_t(i) * 500, int64_t(i + 1) * 500).to_vector() == small[i].to_vector();
  CHECK(same);
}

// ---------------------------------------------------------------------- groups, grads, errors

TEST_CASE("param groups: own lr or the defaults; lr readable and writable") {
  auto a = param({1.0}), b = param({1.0}), c = param({1.0});
  optim::SGD opt({{.params = {a}, .options = optim::SGDOptions{.lr = 0.5}}, {.params = {b}}},
                 {.lr = 0.1, .momentum = 0.9});
  REQUIRE(opt.num_groups() == 2);
  CHECK(opt.lr(0) == 0.5);
  CHECK(opt.lr(1) == 0.1);
  CHECK(opt.options(0).momentum == 0.0);  // a group's options are taken whole
  CHECK(opt.options(1).momentum == 0.9);
  a.set_grad(vec({1.0}));
  b.set_grad(vec({1.0}));
  opt.step();
  CHECK(a.item() == Approx(0.5));
  CHECK(b.item() == Approx(0.9));

  opt.set_lr(1, 0.2);
  CHECK(opt.lr(1) == 0.2);
  CHECK_THROWS_AS(opt.set_lr(2, 0.1), Error);
  CHECK(throws_with([&] { opt.set_lr(0, -1); }, "invalid learning rate"));

  opt.add_param_group({.params = {c}, .options = optim::SGDOptions{.lr = 1.0}});
  CHECK(opt.num_groups() == 3);
  CHECK(opt.parameters().size() == 3);
  CHECK(throws_with([&] { opt.add_param_group({.params = {a}}); }, "more than once"));
}

TEST_CASE("zero_grad drops gradients; parameters without a gradient are skipped") {
  auto a = param({1.0, 2.0}), b = param({3.0});
  optim::Adam opt({a, b}, {.lr = 0.1});
  sum(a * a).backward();
  CHECK(a.grad().defined());
  CHECK(!b.grad().defined());
  opt.step();
  CHECK(a.to_vector()[0] == Approx(0.9));
  CHECK(b.item() == 3.0);  // untouched
  const StateDict sd = opt.state_dict();
  CHECK(find(sd, "state.0.exp_avg") != nullptr);
  CHECK(find(sd, "state.1.exp_avg") == nullptr);  // no state for a parameter never stepped
  opt.zero_grad();
  CHECK(!a.grad().defined());
  const auto before = a.to_vector();
  opt.step();  // nothing has a gradient
  CHECK(a.to_vector() == before);
}

TEST_CASE("optimizers reject bad parameters, gradients and hyper-parameters") {
  Generator gen(5);
  auto p = param({1.0, 2.0});
  CHECK(throws_with([] { optim::SGD(std::vector<AnyTensor>{}, {.lr = 0.1}); },
                    "empty parameter list"));
  CHECK(throws_with(
      [&] {
        optim::SGD({Tensor<double>::randn({4, 3}, gen).t().detach().requires_grad_()});
      },
      "contiguous"));
  CHECK(throws_with([&] { optim::SGD({p * 2.0}); }, "not a leaf"));
  CHECK(throws_with([] { optim::SGD({Tensor<int64_t>{1, 2}}); }, "dtype int64"));
  CHECK(throws_with([] { optim::SGD({AnyTensor()}); }, "undefined"));
  CHECK(throws_with([&] { optim::SGD({p, p}); }, "more than once"));
  CHECK(throws_with([&] { optim::SGD({p}, {.lr = -0.1}); }, "invalid learning rate"));
  CHECK(throws_with([&] { optim::SGD({p}, {.lr = 0.1, .dampening = 0.1, .nesterov = true}); },
                    "Nesterov"));
  CHECK(throws_with([&] { optim::SGD({p}, {.lr = 0.1, .nesterov = true}); }, "Nesterov"));
  CHECK(throws_with([&] { optim::Adam({p}, {.beta1 = 1.0}); }, "beta1"));
  CHECK(throws_with([&] { optim::AdamW({p}, {.eps = -1}); }, "eps"));

  optim::Adam opt({p});
  p.set_grad(Tensor<double>{1.0, 2.0, 3.0});
  CHECK(throws_with([&] { opt.step(); }, "shape [3]; expected float64 and [2]"));
  p.impl()->grad = Tensor<float>{1.0f, 2.0f}.impl();  // set_grad is typed
  CHECK(throws_with([&] { opt.step(); }, "dtype float32"));
  auto m = Tensor<double>::randn({3, 2}, gen).requires_grad_();
  optim::SGD sgd({m});
  m.set_grad(Tensor<double>::randn({2, 3}, gen).t());
  CHECK(throws_with([&] { sgd.step(); }, "contiguous gradient"));
  opt.options(0).lr = -1;  // writable, checked at the next step
  p.set_grad(Tensor<double>{1.0, 2.0});
  CHECK(throws_with([&] { opt.step(); }, "Adam.step: invalid learning rate"));
}

// A copy would share state tensors with the original.
static_assert(!std::is_copy_constructible_v<optim::Adam> &&
              std::is_move_constructible_v<optim::Adam>);

TEST_CASE("an optimizer step bumps the parameter's version counter (in-place write)") {
  auto p = param({1.0, 2.0});
  optim::SGD opt({p}, {.lr = 0.1});
  auto y = sum(p * p);  // saves p
  p.set_grad(Tensor<double>{1.0, 1.0});
  const auto v0 = p.impl()->version;
  opt.step();
  CHECK(p.impl()->version > v0);
}

// ---------------------------------------------------------------------- state_dict

TEST_CASE("state_dict round trip: a restored optimizer continues identically") {
  Generator gen(21);
  auto train = [&](optim::Optimizer& opt, std::vector<Tensor<double>>& ps,
                   const std::vector<Tensor<double>>& gs) {
    for (size_t i = 0; i < ps.size(); ++i) ps[i].set_grad(gs[i].clone());
    opt.step();
  };
  auto grads = [&] {
    return std::vector<Tensor<double>>{Tensor<double>::randn({3, 2}, gen),
                                       Tensor<double>::randn({4}, gen)};
  };
  auto clone = [](const std::vector<Tensor<double>>& ps) {
    std::vector<Tensor<double>> out;
    for (const auto& p : ps) out.push_back(p.detach().clone().requires_grad_());
    return out;
  };
  std::vector<Tensor<double>> ps{Tensor<double>::randn({3, 2}, gen).requires_grad_(),
                                 Tensor<double>::randn({4}, gen).requires_grad_()};

  SUBCASE("Adam with amsgrad, two groups") {
    auto make = [](std::vector<Tensor<double>>& q) {
      return optim::Adam(
          {{.params = {q[0]}},
           {.params = {q[1]}, .options = optim::AdamOptions{.lr = 0.05, .amsgrad = true}}},
          {.lr = 0.01});
    };
    optim::Adam a = make(ps);
    train(a, ps, grads());
    train(a, ps, grads());
    const StateDict sd = a.state_dict();
    CHECK(Tensor<int64_t>(find(sd, "state.1.step")->impl).item() == 2);
    CHECK(Tensor<double>(find(sd, "param_groups.1.lr")->impl).item() == 0.05);
    CHECK(Tensor<double>(find(sd, "param_groups.1.amsgrad")->impl).item() == 1.0);
    CHECK(Tensor<int64_t>(find(sd, "param_groups.1.params")->impl).to_vector() ==
          std::vector<int64_t>{1});
    CHECK(find(sd, "state.0.max_exp_avg_sq") == nullptr);
    CHECK(find(sd, "state.1.max_exp_avg_sq") != nullptr);

    auto qs = clone(ps);
    auto b = optim::Adam({qs[0], qs[1]}, {.lr = 0.3});  // one group: wrong layout
    CHECK(throws_with([&] { b.load_state_dict(sd); }, "does not match group 0"));
    optim::Adam c = make(qs);
    c.set_lr(0, 0.123);
    c.load_state_dict(sd);
    CHECK(c.lr(0) == 0.01);  // hyper-parameters come back too
    const auto g = grads();
    train(a, ps, g);
    train(c, qs, g);
    CHECK(ps[0].to_vector() == qs[0].to_vector());
    CHECK(ps[1].to_vector() == qs[1].to_vector());
    // state_dict() was a snapshot: the step after it did not change it.
    CHECK(Tensor<int64_t>(find(sd, "state.0.step")->impl).item() == 2);
  }
  SUBCASE("SGD with momentum") {
    optim::SGD a({ps[0], ps[1]}, {.lr = 0.1, .momentum = 0.9, .nesterov = true});
    train(a, ps, grads());
    train(a, ps, grads());
    const StateDict sd = a.state_dict();
    CHECK(find(sd, "state.0.momentum_buffer") != nullptr);
    CHECK(Tensor<double>(find(sd, "param_groups.0.nesterov")->impl).item() == 1.0);
    auto qs = clone(ps);
    optim::SGD b({qs[0], qs[1]});
    b.load_state_dict(sd);
    CHECK(b.options(0).nesterov);
    CHECK(b.options(0).momentum == 0.9);
    const auto g = grads();
    train(a, ps, g);
    train(b, qs, g);
    CHECK(ps[0].to_vector() == qs[0].to_vector());
    CHECK(ps[1].to_vector() == qs[1].to_vector());
  }
  SUBCASE("bad state dicts throw and change nothing") {
    optim::Adam a({ps[0], ps[1]}, {.lr = 0.01});
    train(a, ps, grads());
    const StateDict sd = a.state_dict();
    auto qs = clone(ps);
    optim::Adam b({qs[0], qs[1]}, {.lr = 0.7});
    CHECK(throws_with(
        [&] {
          b.load_state_dict(replaced(sd, "state.0.exp_avg", Tensor<double>::zeros({2, 3})));
        },
        "entry 'state.0.exp_avg' has dtype float64 and shape [2, 3]"));
    CHECK(throws_with(
        [&] { b.load_state_dict(replaced(sd, "state.1.exp_avg_sq", Tensor<float>::zeros({4}))); },
        "dtype float32"));
    CHECK(throws_with(
        [&] { b.load_state_dict(replaced(sd, "state.0.step", Tensor<double>::scalar(1))); },
        "int64 scalar"));
    CHECK(throws_with([&] { b.load_state_dict(replaced(sd, "param_groups.0.lr", vec({0.1}))); },
                      "float64 scalar"));
    CHECK(throws_with(
        [&] {
          b.load_state_dict(replaced(sd, "param_groups.0.amsgrad", Tensor<double>::scalar(0.5)));
        },
        "0 or 1"));
    CHECK(throws_with(
        [&] { b.load_state_dict(replaced(sd, "param_groups.0.params", Tensor<int64_t>{0})); },
        "does not match group 0"));
    StateDict extra = sd;
    extra.emplace_back("state.0.momentum_buffer", Tensor<double>::zeros({3, 2}));
    CHECK(throws_with([&] { b.load_state_dict(extra); }, "unknown state 'momentum_buffer'"));
    StateDict out_of_range = sd;
    out_of_range.emplace_back("state.2.step", Tensor<int64_t>::scalar(1));
    CHECK(throws_with([&] { b.load_state_dict(out_of_range); }, "names no parameter"));
    StateDict missing;
    for (const auto& e : sd)
      if (e.first != "state.0.exp_avg") missing.push_back(e);
    CHECK(throws_with([&] { b.load_state_dict(missing); }, "no entry 'state.0.exp_avg'"));
    missing.clear();
    for (const auto& e : sd)
      if (e.first != "param_groups.0.eps") missing.push_back(e);
    CHECK(throws_with([&] { b.load_state_dict(missing); }, "missing entry 'param_groups.0.eps'"));
    CHECK(throws_with(
        [&] {
          b.load_state_dict(replaced(sd, "param_groups.0.beta2", Tensor<double>::scalar(2.0)));
        },
        "beta2"));
    StateDict bad_name = sd;
    bad_name.emplace_back("lr", Tensor<double>::scalar(1));
    CHECK(throws_with([&] { b.load_state_dict(bad_name); }, "unexpected entry 'lr'"));
    // Nothing was changed by the failed loads.
    CHECK(b.lr(0) == 0.7);
    CHECK(find(b.state_dict(), "state.0.step") == nullptr);
  }
}

// ---------------------------------------------------------------------- schedulers

TEST_CASE("closed-form schedulers: lr sequences") {
  auto p = param({1.0});
  SUBCASE("StepLR(step_size 2, gamma 0.1) from 0.1") {
    optim::SGD opt({p}, {.lr = 0.1});
    optim::StepLR s(opt, 2, 0.1);
    check_close(lrs_over(s, 6), {0.1, 0.1, 0.01, 0.01, 0.001, 0.001});
    CHECK(opt.lr(0) == Approx(0.001));
    CHECK(s.last_epoch() == 5);
  }
  SUBCASE("MultiStepLR(milestones {5, 2}, gamma 0.5)") {
    optim::SGD opt({p}, {.lr = 1.0});
    optim::MultiStepLR s(opt, {5, 2}, 0.5);
    check_close(lrs_over(s, 7), {1, 1, 0.5, 0.5, 0.5, 0.25, 0.25});
  }
  SUBCASE("ExponentialLR(0.5)") {
    optim::SGD opt({p}, {.lr = 1.0});
    optim::ExponentialLR s(opt, 0.5);
    check_close(lrs_over(s, 4), {1, 0.5, 0.25, 0.125});
  }
  SUBCASE("PolyLR(total 4, power 2): (1 - t/4)^2, then 0") {
    optim::SGD opt({p}, {.lr = 1.0});
    optim::PolyLR s(opt, 4, 2.0);
    check_close(lrs_over(s, 6), {1, 0.5625, 0.25, 0.0625, 0, 0});
  }
  SUBCASE("CosineAnnealingLR(T_max 4): (1 + cos(pi t / 4)) / 2") {
    optim::SGD opt({p}, {.lr = 1.0});
    optim::CosineAnnealingLR s(opt, 4);
    const double c = (1 + std::cos(std::numbers::pi / 4)) / 2;  // 0.853553...
    check_close(lrs_over(s, 5), {1, c, 0.5, 1 - c, 0}, 1e-12);
  }
  SUBCASE("CosineWarmupLR(warmup 4, total 12, min_lr 0.1): endpoints and midpoint") {
    optim::SGD opt({p}, {.lr = 1.0});
    optim::CosineWarmupLR s(opt, 4, 12, 0.1);
    const std::vector<double> lr = lrs_over(s, 15);
    CHECK(lr[0] == 0.0);           // warmup starts at 0
    CHECK(lr[1] == Approx(0.25));  // base * 1 / 4
    CHECK(lr[2] == Approx(0.5));
    CHECK(lr[4] == Approx(1.0));  // the base lr at the end of warmup
    // progress 1/4: 0.1 + 0.9 * (1 + cos(pi / 4)) / 2
    CHECK(lr[6] == Approx(0.1 + 0.9 * (1 + std::cos(std::numbers::pi / 4)) / 2));
    CHECK(lr[8] == Approx(0.55));  // midpoint: (base + min_lr) / 2
    CHECK(lr[12] == Approx(0.1));  // min_lr at total_steps ...
    CHECK(lr[14] == Approx(0.1));  // ... and after
    CHECK(throws_with([&] { optim::CosineWarmupLR(opt, 5, 5); }, "warmup_steps < total_steps"));
  }
  SUBCASE("each group has its own base lr") {
    auto q = param({1.0});
    optim::SGD opt({{.params = {p}}, {.params = {q}, .options = optim::SGDOptions{.lr = 2.0}}},
                   {.lr = 1.0});
    optim::ExponentialLR s(opt, 0.5);
    s.step();
    CHECK(s.get_last_lr() == std::vector<double>{0.5, 1.0});
    CHECK(s.base_lrs() == std::vector<double>{1.0, 2.0});
    CHECK(opt.lr(1) == 1.0);
  }
  SUBCASE("LambdaLR: base * f(epoch)") {
    optim::SGD opt({p}, {.lr = 2.0});
    optim::LambdaLR s(opt, [](int64_t e) { return 1.0 / double(e + 1); });
    check_close(lrs_over(s, 3), {2.0, 1.0, 2.0 / 3});
  }
  SUBCASE("state_dict round trip") {
    optim::SGD opt({p}, {.lr = 1.0});
    optim::StepLR s(opt, 2, 0.5);
    s.step();
    s.step();
    s.step();
    optim::SGD opt2({param({1.0})}, {.lr = 1.0});
    optim::StepLR s2(opt2, 2, 0.5);
    s2.load_state_dict(s.state_dict());
    CHECK(s2.last_epoch() == 3);
    s.step();
    s2.step();
    CHECK(s2.get_last_lr() == s.get_last_lr());
    CHECK(opt2.lr(0) == 0.25);
    CHECK(throws_with(
        [&] {
          s2.load_state_dict({{"last_epoch", Tensor<int64_t>::scalar(1)}});
        },
        "missing entry 'base_lrs'"));
    CHECK(throws_with(
        [&] {
          s2.load_state_dict({{"last_epoch", Tensor<double>::scalar(1)}});
        },
        "int64 scalar"));
  }
  SUBCASE("bad arguments") {
    optim::SGD opt({p});
    CHECK_THROWS_AS(optim::StepLR(opt, 0), Error);
    CHECK_THROWS_AS(optim::ExponentialLR(opt, -1), Error);
    CHECK_THROWS_AS(optim::PolyLR(opt, 0), Error);
    CHECK_THROWS_AS(optim::CosineAnnealingLR(opt, 0), Error);
    optim::StepLR s(opt, 1);
    opt.add_param_group({.params = {param({2.0})}});
    CHECK(throws_with([&] { s.step(); }, "parameter groups"));
  }
}

TEST_CASE("ReduceLROnPlateau") {
  auto p = param({1.0});
  optim::SGD opt({p}, {.lr = 1.0});
  auto lrs = [&](optim::ReduceLROnPlateau& s, const std::vector<double>& metrics) {
    std::vector<double> out;
    for (double m : metrics) {
      s.step(m);
      out.push_back(s.get_last_lr()[0]);
    }
    return out;
  };
  SUBCASE("patience 2: the third bad epoch in a row halves the lr") {
    optim::ReduceLROnPlateau s(opt, {.factor = 0.5, .patience = 2});
    // 10, 9 improve; 9 again is not better by the relative threshold 1e-4.
    check_close(lrs(s, {10, 9, 9, 9, 9, 9, 9, 9}), {1, 1, 1, 1, 0.5, 0.5, 0.5, 0.25});
    CHECK(s.best() == 9);
    CHECK(s.num_bad_epochs() == 0);
    // An improvement resets the count.
    check_close(lrs(s, {9, 8, 9, 9, 9}), {0.25, 0.25, 0.25, 0.25, 0.125});
  }
  SUBCASE("cooldown 2: bad epochs right after a drop are not counted") {
    optim::ReduceLROnPlateau s(opt, {.factor = 0.5, .patience = 2, .cooldown = 2});
    check_close(lrs(s, {10, 9, 9, 9, 9, 9, 9, 9, 9, 9}),
                {1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.25});
  }
  SUBCASE("mode max with an absolute threshold") {
    optim::ReduceLROnPlateau s(opt, {.mode = optim::PlateauMode::Max,
                                     .factor = 0.5,
                                     .patience = 0,
                                     .threshold = 0.5,
                                     .threshold_mode = optim::ThresholdMode::Abs});
    // 1 improves on -inf; 1.4 is not above 1 + 0.5: drop; 2 is: keep.
    check_close(lrs(s, {1, 1.4, 2, 2}), {1, 0.5, 0.5, 0.25});
  }
  SUBCASE("min_lr bounds the drops") {
    optim::ReduceLROnPlateau s(opt, {.factor = 0.1, .patience = 0, .min_lr = 0.05});
    check_close(lrs(s, {1, 1, 1, 1}), {1, 0.1, 0.05, 0.05});
  }
  SUBCASE("state_dict round trip and bad options") {
    optim::ReduceLROnPlateau s(opt, {.factor = 0.5, .patience = 2});
    lrs(s, {10, 9, 9});
    optim::ReduceLROnPlateau t(opt, {.factor = 0.5, .patience = 2});
    t.load_state_dict(s.state_dict());
    CHECK(t.best() == 9);
    CHECK(t.num_bad_epochs() == 1);
    CHECK(throws_with([&] { optim::ReduceLROnPlateau(opt, {.factor = 1.0}); }, "factor"));
    CHECK(throws_with(
        [&] {
          t.load_state_dict({{"best", Tensor<double>::scalar(1)}});
        },
        "missing entry"));
  }
}

// ---------------------------------------------------------------------- clipping

TEST_CASE("clip_grad_norm_: returns the total norm and scales the gradients") {
  auto a = param({0.0, 0.0}), b = param({0.0}), c = param({0.0});
  auto set = [&] {
    a.set_grad(Tensor<double>{3.0, -4.0});
    b.set_grad(vec({12.0}));
  };
  const std::vector<AnyTensor> ps{a, b, c};  // c has no gradient
  SUBCASE("2-norm: sqrt(9 + 16 + 144) = 13") {
    set();
    CHECK(optim::clip_grad_norm_(ps, 6.5) == Approx(13));
    const double coef = 6.5 / (13 + 1e-6);
    check_close(a.grad().to_vector(), {3 * coef, -4 * coef});
    check_close(b.grad().to_vector(), {12 * coef});
    CHECK(!c.grad().defined());
  }
  SUBCASE("no change below max_norm") {
    set();
    CHECK(optim::clip_grad_norm_(ps, 13.1) == Approx(13));
    CHECK(a.grad().to_vector() == std::vector<double>{3, -4});
  }
  SUBCASE("inf, 1 and 3 norms") {
    set();
    CHECK(optim::clip_grad_norm_(ps, 100, std::numeric_limits<double>::infinity()) == 12);
    CHECK(optim::clip_grad_norm_(ps, 100, 1) == Approx(19));
    CHECK(optim::clip_grad_norm_(ps, 100, 3) == Approx(std::cbrt(27.0 + 64 + 1728)));
    CHECK(optim::clip_grad_norm_(ps, 6, std::numeric_limits<double>::infinity()) == 12);
    check_close(b.grad().to_vector(), {12 * 6 / (12 + 1e-6)});
  }
  SUBCASE("complex gradients: |z|") {
    using C = std::complex<float>;
    auto z = Tensor<C>::from_vector({C(0, 0)}, {1}).requires_grad_();
    z.set_grad(Tensor<C>::from_vector({C(3, 4)}, {1}));
    CHECK(optim::clip_grad_norm_({z}, 1.0) == Approx(5));
    CHECK(optim::clip_grad_norm_({z}, 1.0, std::numeric_limits<double>::infinity()) ==
          Approx(1).epsilon(1e-5));
    CHECK(z.grad().to_vector()[0].real() == Approx(0.6).epsilon(1e-5));
  }
  SUBCASE("non-finite norms, no gradients, bad arguments") {
    a.set_grad(Tensor<double>{std::nan(""), 1.0});
    CHECK(throws_with([&] { optim::clip_grad_norm_(ps, 1.0, 2.0, true); }, "non-finite"));
    CHECK(std::isnan(optim::clip_grad_norm_(ps, 1.0)));
    CHECK(std::isnan(a.grad().to_vector()[1]));  // PyTorch's behaviour: NaN spreads
    CHECK(optim::clip_grad_norm_({c}, 1.0) == 0.0);
    CHECK(throws_with([&] { optim::clip_grad_norm_(ps, -1.0); }, "max_norm"));
    CHECK(throws_with([&] { optim::clip_grad_norm_(ps, 1.0, 0.0); }, "norm_type"));
    Generator gen(1);
    auto m = Tensor<double>::randn({3, 2}, gen).requires_grad_();
    m.set_grad(Tensor<double>::randn({2, 3}, gen).t());
    CHECK(throws_with([&] { optim::clip_grad_norm_({m}, 1.0); }, "contiguous gradient"));
  }
  SUBCASE("a large gradient (threaded) gives the serial norm") {
    Generator gen(2);
    auto w = Tensor<float>::randn({200000}, gen).requires_grad_();
    w.set_grad(Tensor<float>::randn({200000}, gen));
    double want = 0;
    for (float v : w.grad().to_vector()) want += double(v) * v;
    CHECK(optim::clip_grad_norm_({w}, 1e9) == Approx(std::sqrt(want)).epsilon(1e-12));
  }
}

TEST_CASE("clip_grad_value_") {
  auto a = param({0.0, 0.0, 0.0});
  a.set_grad(Tensor<double>{-3.0, 0.5, 2.0});
  optim::clip_grad_value_({a}, 1.0);
  CHECK(a.grad().to_vector() == std::vector<double>{-1.0, 0.5, 1.0});
  using C = std::complex<double>;
  auto z = Tensor<C>::from_vector({C(1, 1)}, {1}).requires_grad_();
  z.set_grad(Tensor<C>::from_vector({C(3, 4)}, {1}));
  CHECK(throws_with([&] { optim::clip_grad_value_({z}, 1.0); }, "complex"));
  CHECK(throws_with([&] { optim::clip_grad_value_({a}, -1.0); }, "clip_value"));
}

// ---------------------------------------------------------------------- end to end

TEST_CASE("end to end: minimise sum((x - 3)^2) through autograd") {
  // Returns the loss of the last step.
  auto minimise = [](optim::Optimizer& opt, const Tensor<double>& x, optim::LRScheduler* sched) {
    double loss = 0;
    for (int step = 0; step < 200; ++step) {
      opt.zero_grad();
      const auto d = x - 3.0;
      const auto l = sum(d * d);
      l.backward();
      opt.step();
      if (sched) sched->step();
      loss = l.item();
    }
    return loss;
  };
  auto x = Tensor<double>::zeros({3}).requires_grad_();
  SUBCASE("SGD with momentum") {
    optim::SGD opt({x}, {.lr = 0.1, .momentum = 0.5});
    CHECK(minimise(opt, x, nullptr) < 1e-12);
    for (double v : x.to_vector()) CHECK(v == Approx(3).epsilon(1e-9));
  }
  SUBCASE("Adam") {
    optim::Adam opt({x}, {.lr = 0.1});
    minimise(opt, x, nullptr);
    for (double v : x.to_vector()) CHECK(v == Approx(3).epsilon(1e-2));
  }
  SUBCASE("AdamW (no decay) with a warmup + cosine schedule") {
    optim::AdamW opt({x}, {.lr = 0.2, .weight_decay = 0});
    optim::CosineWarmupLR sched(opt, 10, 200);
    minimise(opt, x, &sched);
    CHECK(opt.lr(0) == 0.0);
    for (double v : x.to_vector()) CHECK(v == Approx(3).epsilon(1e-3));
  }
}

TEST_CASE("end to end: a Module's parameters() with AdamW, clipping and a schedule") {
  // Fit y = x w + 0.25 with nn::Linear(3, 1) in float32; bias in its own group without decay.
  Generator gen(4);
  nn::Linear lin(3, 1, {}, gen);
  const auto x = Tensor<float>::randn({64, 3}, gen);
  const auto y = matmul(x, Tensor<float>::from_vector({1.5f, -2.0f, 0.5f}, {3, 1})) + 0.25f;
  optim::AdamW opt(
      {{.params = {lin.weight}},
       {.params = {lin.bias}, .options = optim::AdamWOptions{.lr = 0.05, .weight_decay = 0}}},
      {.lr = 0.05, .weight_decay = 1e-4});
  optim::CosineWarmupLR sched(opt, 20, 400, 1e-3);
  double first = 0, last = 0;
  for (int step = 0; step < 400; ++step) {
    opt.zero_grad();
    const auto loss = nn::functional::mse_loss(lin(x), y);
    loss.backward();
    optim::clip_grad_norm_(lin.parameters(), 1.0);
    opt.step();
    sched.step();
    (step == 0 ? first : last) = loss.item();
  }
  CHECK(last < 1e-4 * first);
  CHECK(lin.bias.item() == Approx(0.25).epsilon(1e-2));
  CHECK(opt.state_dict().size() == 2 * 3 + 2 * 8);  // 3 states per parameter; 7 + params per group
}

TEST_CASE("optim: the vectorised Adam kernel gives the scalar loop's bits") {
  // cpu::adam_step runs an AVX2 clone where the CPU has it; it must round every operation as
  // the plain loop does (no FMA), for every option and a length that leaves a tail.
  const int64_t n = 1003;
  Generator gen(8);
  const auto g = Tensor<float>::randn({n}, gen).to_vector();
  const auto p0 = Tensor<float>::randn({n}, gen).to_vector();
  const auto m0 = Tensor<float>::randn({n}, gen).to_vector();
  auto v0 = Tensor<float>::rand({n}, gen).to_vector();
  for (const double weight_decay : {0.0, 0.01})
    for (const bool amsgrad : {false, true})
      for (const double beta1 : {0.9, 0.3})
        for (const bool maximize : {false, true}) {
          CAPTURE(weight_decay);
          CAPTURE(amsgrad);
          CAPTURE(beta1);
          auto p = p0, m = m0, v = v0, vmax = v0;
          cpu::adam_step<float, false>(p.data(), g.data(), m.data(), v.data(),
                                       amsgrad ? vmax.data() : nullptr, n, 3, 1e-3, beta1, 0.999,
                                       1e-8, weight_decay, maximize);
          // The same step by the scalar loop, with the scalars adam_step forms.
          auto q = p0, qm = m0, qv = v0, qvmax = v0;
          const double bias1 = 1 - std::pow(beta1, 3.0), bias2 = 1 - std::pow(0.999, 3.0);
          cpu::AdamScalars<float> s;
          s.neg_step = float(-(1e-3 / bias1)), s.bias2_sqrt = float(std::sqrt(bias2));
          s.w1 = float(1 - beta1), s.b2 = float(0.999), s.w2 = float(1 - 0.999), s.eps = 1e-8f;
          s.wd = float(weight_decay), s.shrink = float(1 - 1e-3 * weight_decay);
          s.sign = maximize ? -1.0f : 1.0f;
          s.decay = weight_decay != 0, s.amsgrad = amsgrad, s.lerp_low = std::abs(s.w1) < 0.5f;
          cpu::adam_range<float, false>(q.data(), g.data(), qm.data(), qv.data(),
                                        amsgrad ? qvmax.data() : nullptr, 0, n, s);
          CHECK(std::memcmp(p.data(), q.data(), sizeof(float) * size_t(n)) == 0);
          CHECK(std::memcmp(m.data(), qm.data(), sizeof(float) * size_t(n)) == 0);
          CHECK(std::memcmp(v.data(), qv.data(), sizeof(float) * size_t(n)) == 0);
        }
}
