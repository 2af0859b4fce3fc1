// Convolutions (conv1d/2d/3d, conv_transpose2d), unfold / fold and the Conv modules: values
// and gradients against PyTorch (tests/fixtures/conv), gradcheck and gradgradcheck in float64
// (strided, padded, dilated, grouped and depthwise, non-contiguous inputs), naive loops, and
// errors for bad shapes.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <ember/autograd/gradcheck.hpp>
#include <ember/core/tensor.hpp>
#include <ember/nn/conv.hpp>
#include <ember/ops/conv.hpp>
#include <ember/ops/unary.hpp>

#include "conv_fixtures.hpp"
#include "float_bounds.hpp"

using namespace ember;

namespace {

using Inputs = std::vector<Tensor<double>>;

Tensor<double> leaf(const Shape& shape, Generator& gen) {
  return Tensor<double>::randn(shape, gen).requires_grad_();
}

std::string thrown_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// conv2d by definition (cross-correlation), for one configuration.
Tensor<double> naive_conv2d(const Tensor<double>& x, const Tensor<double>& w, int64_t sh,
                            int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw,
                            int64_t groups) {
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const int64_t O = w.size(0), Cg = w.size(1), KH = w.size(2), KW = w.size(3), Og = O / groups;
  const int64_t OH = (H + 2 * ph - dh * (KH - 1) - 1) / sh + 1;
  const int64_t OW = (W + 2 * pw - dw * (KW - 1) - 1) / sw + 1;
  (void)C;
  auto y = Tensor<double>::zeros({N, O, OH, OW});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t i = 0; i < OH; ++i)
        for (int64_t j = 0; j < OW; ++j) {
          double acc = 0;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t a = 0; a < KH; ++a)
              for (int64_t b = 0; b < KW; ++b) {
                const int64_t h = i * sh - ph + a * dh, v = j * sw - pw + b * dw;
                if (h < 0 || h >= H || v < 0 || v >= W) continue;
                acc += x.at({n, (o / Og) * Cg + c, h, v}) * w.at({o, c, a, b});
              }
          y.at({n, o, i, j}) = acc;
        }
  return y;
}

// Checks out, grad_x, grad_w (and grad_b) of a fixture case in float64 and float32.
template <class T, class F>
void check_case(const char* name, F fn, double rtol) {
  CAPTURE(name);
  const auto c = conv_fixtures::load(name);
  auto x = c.get<T>("x").requires_grad_();
  auto w = c.get<T>("w").requires_grad_();
  Tensor<T> b = c.has("b") ? c.get<T>("b").requires_grad_() : Tensor<T>();
  Tensor<T> out = fn(c, x, w, b);
  CHECK(conv_fixtures::compare(out, c.get<T>("out"), rtol) == "");
  out.backward(c.get<T>("grad_out"));
  CHECK(conv_fixtures::compare(x.grad(), c.get<T>("grad_x"), rtol) == "");
  CHECK(conv_fixtures::compare(w.grad(), c.get<T>("grad_w"), rtol) == "");
  if (b.defined()) CHECK(conv_fixtures::compare(b.grad(), c.get<T>("grad_b"), rtol) == "");
}

template <class T>
Tensor<T> conv2d_case(const conv_fixtures::Case& c, const Tensor<T>& x, const Tensor<T>& w,
                      const Tensor<T>& b) {
  if (c.options().find("same")) return conv2d(x, w, b, {.same_padding = true});
  const auto s = c.ints("stride"), p = c.ints("padding"), d = c.ints("dilation");
  return conv2d(x, w, b,
                {.stride = {s[0], s[1]}, .padding = {p[0], p[1]}, .dilation = {d[0], d[1]},
                 .groups = c.options().at("groups").as_int64()});
}

template <class T>
Tensor<T> conv_transpose2d_case(const conv_fixtures::Case& c, const Tensor<T>& x,
                                const Tensor<T>& w, const Tensor<T>& b) {
  const auto s = c.ints("stride"), p = c.ints("padding"), op = c.ints("output_padding"),
             d = c.ints("dilation");
  return conv_transpose2d(x, w, b,
                          {.stride = {s[0], s[1]}, .padding = {p[0], p[1]},
                           .output_padding = {op[0], op[1]},
                           .groups = c.options().at("groups").as_int64(),
                           .dilation = {d[0], d[1]}});
}

template <class T>
void check_all_fixtures(double rtol) {
  for (const char* name : {"conv2d_groups", "conv2d_depthwise", "conv2d_same_even", "conv2d_stride3"})
    check_case<T>(name, [](auto& c, auto& x, auto& w, auto& b) { return conv2d_case<T>(c, x, w, b); }, rtol);
  for (const char* name : {"conv_transpose2d", "conv_transpose2d_dilated"})
    check_case<T>(name, [](auto& c, auto& x, auto& w, auto& b) { return conv_transpose2d_case<T>(c, x, w, b); }, rtol);
  check_case<T>("conv1d", [](auto& c, auto& x, auto& w, auto& b) {
    const auto s = c.ints("stride"), p = c.ints("padding"), d = c.ints("dilation");
    return conv1d(x, w, b, {.stride = s[0], .padding = p[0], .dilation = d[0]});
  }, rtol);
  check_case<T>("conv3d", [](auto& c, auto& x, auto& w, auto& b) {
    const auto s = c.ints("stride"), p = c.ints("padding"), d = c.ints("dilation");
    return conv3d(x, w, b, {.stride = {s[0], s[1], s[2]}, .padding = {p[0], p[1], p[2]},
                            .dilation = {d[0], d[1], d[2]}, .groups = 2});
  }, rtol);
}

}  // namespace

TEST_CASE("conv: values and gradients match PyTorch (float64 and float32)") {
  check_all_fixtures<double>(1e-10);
  check_all_fixtures<float>(1e-5);
}

TEST_CASE("conv2d: matches a naive loop on random configurations, contiguous or not") {
  Generator gen(7);
  struct Cfg { int64_t n, c, o, h, w, kh, kw, sh, sw, ph, pw, dh, dw, g; };
  for (const Cfg& f : {Cfg{2, 4, 6, 9, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1},
                       Cfg{1, 6, 4, 7, 10, 2, 3, 2, 3, 0, 2, 2, 1, 2},
                       Cfg{3, 4, 4, 6, 6, 3, 1, 1, 2, 1, 0, 1, 1, 4},
                       Cfg{2, 3, 5, 5, 5, 1, 1, 1, 1, 0, 0, 1, 1, 1},  // pointwise fast path
                       Cfg{1, 2, 2, 6, 5, 1, 1, 2, 1, 1, 0, 1, 1, 2}}) {
    CAPTURE(f.c);
    CAPTURE(f.kh);
    auto x = Tensor<double>::randn({f.n, f.c, f.h, f.w}, gen);
    auto w = Tensor<double>::randn({f.o, f.c / f.g, f.kh, f.kw}, gen);
    auto want = naive_conv2d(x, w, f.sh, f.sw, f.ph, f.pw, f.dh, f.dw, f.g);
    auto got = conv2d(x, w, Tensor<double>(), {.stride = {f.sh, f.sw}, .padding = {f.ph, f.pw},
                                               .dilation = {f.dh, f.dw}, .groups = f.g});
    CHECK(conv_fixtures::compare(got, want, 1e-12) == "");
    // Non-contiguous input and weight (transposed views) give the same result.
    auto xt = x.transpose(2, 3).contiguous().transpose(2, 3);
    auto wt = w.transpose(0, 1).contiguous().transpose(0, 1);
    CHECK_FALSE(xt.is_contiguous());
    auto got2 = conv2d(xt, wt, Tensor<double>(), {.stride = {f.sh, f.sw}, .padding = {f.ph, f.pw},
                                                  .dilation = {f.dh, f.dw}, .groups = f.g});
    CHECK(conv_fixtures::compare(got2, want, 1e-12) == "");
  }
}

TEST_CASE("conv2d: the Winograd F(2x2, 3x3) path matches naive loops, values and gradients") {
  // 3x3, stride 1, one group, >= 16 channels and >= 128 output tiles take the Winograd path
  // (backend/cpu/winograd.hpp) in all three passes; odd sizes exercise the cropped edge tiles
  // and paddings 0 and 2 the zero border. References are plain loops in float64.
  Generator gen(21);
  struct Cfg { int64_t n, c, o, h, w, pad; };
  for (const Cfg& f : {Cfg{2, 16, 17, 16, 16, 1}, Cfg{1, 17, 16, 23, 25, 1},
                       Cfg{4, 16, 16, 13, 14, 0}, Cfg{2, 20, 18, 17, 15, 2}}) {
    CAPTURE(f.h);
    CAPTURE(f.pad);
    const int64_t OH = f.h + 2 * f.pad - 2, OW = f.w + 2 * f.pad - 2;
    cpu::ConvGeom g;
    g.N = f.n, g.C = f.c, g.O = f.o;
    g.in[1] = f.h, g.in[2] = f.w, g.out[1] = OH, g.out[2] = OW;
    g.k[1] = g.k[2] = 3;
    g.pad[1] = g.pad[2] = f.pad;
    REQUIRE(cpu::winograd_applies(g));
    auto x = Tensor<double>::randn({f.n, f.c, f.h, f.w}, gen);
    auto w = Tensor<double>::randn({f.o, f.c, 3, 3}, gen);
    auto gy = Tensor<double>::randn({f.n, f.o, OH, OW}, gen);
    // Reference input and weight gradients of sum(y * gy).
    auto gx_ref = Tensor<double>::zeros(x.shape()), gw_ref = Tensor<double>::zeros(w.shape());
    for (int64_t n = 0; n < f.n; ++n)
      for (int64_t o = 0; o < f.o; ++o)
        for (int64_t i = 0; i < OH; ++i)
          for (int64_t j = 0; j < OW; ++j)
            for (int64_t c = 0; c < f.c; ++c)
              for (int64_t a = 0; a < 3; ++a)
                for (int64_t b = 0; b < 3; ++b) {
                  const int64_t h = i - f.pad + a, v = j - f.pad + b;
                  if (h < 0 || h >= f.h || v < 0 || v >= f.w) continue;
                  const double gyv = gy.at({n, o, i, j});
                  gx_ref.at({n, c, h, v}) += gyv * w.at({o, c, a, b});
                  gw_ref.at({o, c, a, b}) += gyv * x.at({n, c, h, v});
                }
    const auto y_ref = naive_conv2d(x, w, 1, 1, f.pad, f.pad, 1, 1, 1);
    auto check = [&](auto tag, double rtol) {
      using T = decltype(tag);
      auto xt = x.template to<T>().clone().requires_grad_();
      auto wt = w.template to<T>().clone().requires_grad_();
      auto y = conv2d(xt, wt, Tensor<T>(), {.padding = f.pad});
      y.backward(gy.template to<T>());
      CHECK(conv_fixtures::compare(y.template to<double>(), y_ref, rtol) == "");
      CHECK(conv_fixtures::compare(xt.grad().template to<double>(), gx_ref, rtol) == "");
      CHECK(conv_fixtures::compare(wt.grad().template to<double>(), gw_ref, rtol) == "");
    };
    check(double{}, 1e-12);
    // float32 sums of 144-180 products: a few 1e-6 relative at the smaller outputs, the same
    // as the im2col path's (conv2d golden tests use C <= 8).
    check(float{}, 5e-5);
  }
}

TEST_CASE("conv2d: batches split into chunks (threaded or not) agree with one sample at a time") {
  // The kernels process the batch in chunks of samples (several per GEMM for small images, one
  // for large ones) spread over threads; the weight gradient sums per-thread partials. Compare
  // output, input gradient and weight gradient with per-sample calls. The two differ only in
  // the order of the GEMM's sums (and OpenBLAS's kernel for each GEMM shape, chosen per CPU),
  // so the tolerance is the reordering bound of float_bounds.hpp: each output is a sum of
  // C/groups*9 products, each input gradient of O/groups*9, the weight gradient of N*H*W.
  // O = 8 keeps these shapes on the im2col path (Winograd needs O >= 16), whose products are
  // exactly those of the definition, so conv2d on |x|, |w|, |g| in float64 gives their sums.
  Generator gen(11);
  struct Cfg { int64_t n, c, o, hw, groups; };
  for (const Cfg& f : {Cfg{48, 16, 8, 16, 1}, Cfg{5, 64, 8, 40, 1}, Cfg{33, 8, 8, 12, 2}}) {
    CAPTURE(f.n);
    auto x = Tensor<float>::randn({f.n, f.c, f.hw, f.hw}, gen).requires_grad_();
    auto w = Tensor<float>::randn({f.o, f.c / f.groups, 3, 3}, gen).requires_grad_();
    const Conv2dOptions opt{.padding = 1, .groups = f.groups};
    auto y = conv2d(x, w, Tensor<float>(), opt);
    auto g = Tensor<float>::randn(y.shape(), gen);
    y.backward(g);

    auto x_abs = abs(x.detach().to<double>()).requires_grad_();
    auto w_abs = abs(w.detach().to<double>()).requires_grad_();
    auto y_abs = conv2d(x_abs, w_abs, Tensor<double>(), opt);
    y_abs.backward(abs(g.to<double>()));
    using float_bounds::reorder_bound;
    const auto y_bound = reorder_bound<float>(y_abs.detach(), f.c / f.groups * 9);
    const auto gx_bound = reorder_bound<float>(x_abs.grad(), f.o / f.groups * 9);
    const auto gw_bound = reorder_bound<float>(w_abs.grad(), f.n * f.hw * f.hw);

    Tensor<float> gw_sum = Tensor<float>::zeros(w.shape());
    for (int64_t n = 0; n < f.n; n += 4) {
      auto xn = x.detach().slice(0, n, n + 1).requires_grad_();
      auto wn = w.detach().requires_grad_();
      auto yn = conv2d(xn, wn, Tensor<float>(), opt);
      CHECK(float_bounds::within(y.detach().slice(0, n, n + 1), yn.detach(),
                                 y_bound.slice(0, n, n + 1)) == "");
      yn.backward(g.slice(0, n, n + 1).contiguous());
      CHECK(float_bounds::within(x.grad().slice(0, n, n + 1), xn.grad(),
                                 gx_bound.slice(0, n, n + 1)) == "");
    }
    NoGradGuard no_grad;
    for (int64_t n = 0; n < f.n; ++n) {
      auto xn = x.detach().slice(0, n, n + 1);
      // the weight gradient of sample n alone, from a fresh graph
      AutoGradMode enable(true);
      auto wn = w.detach().requires_grad_();
      conv2d(xn, wn, Tensor<float>(), opt).backward(g.slice(0, n, n + 1).contiguous());
      NoGradGuard inner;
      gw_sum = add(gw_sum, wn.grad());
    }
    CHECK(float_bounds::within(w.grad(), gw_sum, gw_bound) == "");
  }
}

TEST_CASE("conv2d: called from inside the caller's OpenMP threads") {
  // The kernels then run serially in each thread (no nested teams, per-thread workspaces), so
  // OpenBLAS may pick other kernels than in the threaded call: the results agree within the
  // reordering bound of a sum of 16*9 products (float_bounds.hpp; O = 8 keeps im2col).
  Generator gen(12);
  std::vector<Tensor<float>> xs, ref(4), got(4);
  auto w = Tensor<float>::randn({8, 16, 3, 3}, gen);
  for (int i = 0; i < 4; ++i) xs.push_back(Tensor<float>::randn({6, 16, 24, 24}, gen));
  for (int i = 0; i < 4; ++i) ref[size_t(i)] = conv2d(xs[size_t(i)], w, Tensor<float>(), {.padding = 1});
#pragma omp parallel for num_threads(2)
  for (int i = 0; i < 4; ++i) got[size_t(i)] = conv2d(xs[size_t(i)], w, Tensor<float>(), {.padding = 1});
  const auto w_abs = abs(w.to<double>());
  for (int i = 0; i < 4; ++i) {
    const auto bound = float_bounds::reorder_bound<float>(
        conv2d(abs(xs[size_t(i)].to<double>()), w_abs, Tensor<double>(), {.padding = 1}), 16 * 9);
    CHECK(float_bounds::within(got[size_t(i)], ref[size_t(i)], bound) == "");
  }
}

TEST_CASE("conv2d: gradcheck and gradgradcheck (stride, padding, dilation, groups, depthwise)") {
  Generator gen(1);
  struct Cfg { int64_t c, o, h, w, kh, kw, s, p, d, g; bool bias; };
  for (const Cfg& f : {Cfg{2, 3, 5, 4, 3, 2, 1, 1, 1, 1, true},
                       Cfg{4, 2, 6, 5, 2, 3, 2, 1, 1, 2, false},
                       Cfg{3, 3, 5, 5, 3, 3, 1, 2, 2, 3, true},  // depthwise, dilated
                       Cfg{2, 2, 4, 3, 1, 1, 1, 0, 1, 1, true}}) {
    CAPTURE(f.kh);
    CAPTURE(f.g);
    auto x = leaf({2, f.c, f.h, f.w}, gen);
    auto w = leaf({f.o, f.c / f.g, f.kh, f.kw}, gen);
    auto b = f.bias ? leaf({f.o}, gen) : Tensor<double>();
    const Conv2dOptions opt{.stride = f.s, .padding = f.p, .dilation = f.d, .groups = f.g};
    auto fn = [&](const Inputs& v) { return conv2d(v[0], v[1], f.bias ? v[2] : Tensor<double>(), opt); };
    Inputs in{x, w};
    if (f.bias) in.push_back(b);
    CHECK(gradcheck_report(fn, in) == "");
    CHECK(gradgradcheck_report(fn, in) == "");
  }
  // Non-contiguous input; "same" padding with an even kernel (asymmetric).
  auto xt = Tensor<double>::randn({2, 2, 5, 4}, gen).transpose(2, 3).detach().requires_grad_();
  auto w = leaf({3, 2, 2, 3}, gen);
  auto fn = [](const Inputs& v) { return conv2d(v[0], v[1], Tensor<double>(), {.same_padding = true}); };
  CHECK(fn({xt, w}).shape() == Shape{2, 3, 4, 5});
  CHECK(gradcheck_report(fn, {xt, w}) == "");
  CHECK(gradgradcheck_report(fn, {xt, w}) == "");
}

TEST_CASE("conv1d / conv3d: gradcheck and gradgradcheck") {
  Generator gen(2);
  auto x1 = leaf({2, 4, 9}, gen), w1 = leaf({6, 2, 3}, gen), b1 = leaf({6}, gen);
  auto f1 = [](const Inputs& v) {
    return conv1d(v[0], v[1], v[2], {.stride = 2, .padding = 2, .dilation = 2, .groups = 2});
  };
  CHECK(gradcheck_report(f1, {x1, w1, b1}) == "");
  CHECK(gradgradcheck_report(f1, {x1, w1, b1}) == "");
  auto x3 = leaf({1, 2, 4, 3, 4}, gen), w3 = leaf({2, 1, 2, 2, 3}, gen);
  auto f3 = [](const Inputs& v) {
    return conv3d(v[0], v[1], Tensor<double>(),
                  {.stride = {1, 2, 1}, .padding = {1, 0, 1}, .dilation = {1, 1, 2}, .groups = 2});
  };
  CHECK(gradcheck_report(f3, {x3, w3}) == "");
  CHECK(gradgradcheck_report(f3, {x3, w3}) == "");
  // A depth-1 conv3d is a conv2d (unit strides: the shifted-copy im2col in 3-D).
  {
    NoGradGuard no_grad;
    auto x2 = Tensor<double>::randn({2, 3, 6, 5}, gen), w2 = Tensor<double>::randn({4, 3, 3, 3}, gen);
    auto y3 = conv3d(x2.unsqueeze(2), w2.unsqueeze(2), Tensor<double>(), {.padding = {0, 1, 1}});
    auto y2 = conv2d(x2, w2, Tensor<double>(), {.padding = 1});
    CHECK(conv_fixtures::compare(y3.squeeze(2), y2, 1e-12) == "");
  }
  // Unbatched input: [C, L] -> [O, L'].
  auto y = conv1d(Tensor<double>::randn({4, 9}, gen), w1.detach(), Tensor<double>(), {.groups = 2});
  CHECK(y.shape() == Shape{6, 7});
}

TEST_CASE("conv_transpose2d: gradcheck and gradgradcheck; adjoint of conv2d") {
  Generator gen(3);
  auto x = leaf({2, 4, 3, 4}, gen), w = leaf({4, 3, 3, 2}, gen), b = leaf({6}, gen);
  auto fn = [](const Inputs& v) {
    return conv_transpose2d(v[0], v[1], v[2],
                            {.stride = {2, 3}, .padding = {1, 0}, .output_padding = {1, 2},
                             .groups = 2, .dilation = {1, 1}});
  };
  CHECK(fn({x, w, b}).shape() == Shape{2, 6, 6, 13});
  CHECK(gradcheck_report(fn, {x, w, b}) == "");
  CHECK(gradgradcheck_report(fn, {x, w, b}) == "");
  // <conv_transpose(y, w), x> == <y, conv(x, w)> for the same stride / padding / dilation.
  NoGradGuard no_grad;
  auto xs = Tensor<double>::randn({2, 3, 7, 8}, gen);
  auto ws = Tensor<double>::randn({5, 3, 3, 3}, gen);
  auto ys = conv2d(xs, ws, Tensor<double>(), {.stride = 2, .padding = 1, .dilation = {1, 2}});
  auto r = Tensor<double>::randn(ys.shape(), gen);
  auto back = conv_transpose2d(r, ws, Tensor<double>(),
                               {.stride = 2, .padding = 1, .output_padding = {0, 1}, .dilation = {1, 2}});
  REQUIRE(back.shape() == xs.shape());
  CHECK(sum(mul(back, xs)).item() == doctest::Approx(sum(mul(r, ys)).item()).epsilon(1e-12));
}

TEST_CASE("unfold / fold: PyTorch values, gradients, adjointness") {
  for (auto rtol : {1e-10}) {
    const auto c = conv_fixtures::load("unfold");
    auto x = c.get<double>("x").requires_grad_();
    auto out = unfold(x, {2, 3}, {.dilation = {1, 2}, .padding = {1, 0}, .stride = {2, 1}});
    CHECK(conv_fixtures::compare(out, c.get<double>("out"), rtol) == "");
    out.backward(c.get<double>("grad_out"));
    CHECK(conv_fixtures::compare(x.grad(), c.get<double>("grad_x"), rtol) == "");
    const auto f = conv_fixtures::load("fold");
    auto cols = f.get<double>("x").requires_grad_();
    auto folded = fold(cols, {5, 7}, {2, 3}, {.dilation = {1, 2}, .padding = {1, 0}, .stride = {2, 1}});
    CHECK(conv_fixtures::compare(folded, f.get<double>("out"), rtol) == "");
    folded.backward(f.get<double>("grad_out"));
    CHECK(conv_fixtures::compare(cols.grad(), f.get<double>("grad_x"), rtol) == "");
  }
  Generator gen(4);
  auto x = leaf({1, 2, 5, 4}, gen);
  auto fu = [](const Inputs& v) { return unfold(v[0], 2, {.padding = 1, .stride = {2, 1}}); };
  CHECK(gradcheck_report(fu, {x}) == "");
  CHECK(gradgradcheck_report(fu, {x}) == "");
  auto cols = leaf({8, 6}, gen);  // unbatched
  auto ff = [](const Inputs& v) { return fold(v[0], {4, 5}, 2, {.stride = {1, 2}}); };
  CHECK(ff({cols}).shape() == Shape{2, 4, 5});
  CHECK(gradcheck_report(ff, {cols}) == "");
}

TEST_CASE("conv: bad shapes throw ember::Error with clear messages") {
  auto x = Tensor<float>::randn({2, 6, 8, 8});
  auto w = Tensor<float>::randn({4, 3, 3, 3});
  CHECK(thrown_message([&] { conv2d(x, w, Tensor<float>(), {.groups = 4}); }).find("not divisible by groups") != std::string::npos);
  CHECK_THROWS_AS(conv2d(x, w), Error);  // 6 channels vs 3 * groups 1
  CHECK(thrown_message([&] { conv2d(x, w); }).find("[4, 3, 3, 3]") != std::string::npos);
  CHECK_NOTHROW(conv2d(x, w, Tensor<float>(), {.groups = 2}));
  auto small = Tensor<float>::randn({1, 3, 2, 2});
  auto w3 = Tensor<float>::randn({4, 3, 3, 3});
  CHECK(thrown_message([&] { conv2d(small, w3); }).find("larger than the padded input") != std::string::npos);
  CHECK_NOTHROW(conv2d(small, w3, Tensor<float>(), {.padding = 1}));
  CHECK(thrown_message([&] { conv2d(Tensor<float>::randn({3, 8}), w3); }).find("3-D (unbatched) or 4-D") != std::string::npos);
  CHECK_THROWS_AS(conv2d(Tensor<float>::randn({1, 3, 8, 8}), Tensor<float>::randn({4, 3, 3})), Error);
  CHECK_THROWS_AS(conv2d(Tensor<float>::randn({1, 3, 8, 8}), w3, Tensor<float>::randn({5})), Error);
  CHECK_THROWS_AS(conv2d(Tensor<float>::randn({1, 3, 8, 8}), w3, Tensor<float>(), {.stride = 2, .same_padding = true}), Error);
  CHECK_THROWS_AS(conv2d(Tensor<float>::randn({1, 3, 8, 8}), w3, Tensor<float>(), {.stride = 0}), Error);
  CHECK_THROWS_AS(conv1d(Tensor<float>::randn({1, 3, 8, 8}), w3), Error);
  CHECK_THROWS_AS(conv3d(Tensor<float>::randn({1, 3, 8, 8}), w3), Error);
  // conv_transpose2d: weight [in, out/groups, k...]; output_padding below stride or dilation.
  auto xt = Tensor<float>::randn({1, 4, 3, 3});
  CHECK_THROWS_AS(conv_transpose2d(xt, Tensor<float>::randn({3, 2, 3, 3})), Error);
  CHECK(thrown_message([&] { conv_transpose2d(xt, Tensor<float>::randn({4, 2, 3, 3}), Tensor<float>(), {.output_padding = 1}); })
            .find("output_padding") != std::string::npos);
  CHECK_THROWS_AS(conv_transpose2d(xt, Tensor<float>::randn({4, 2, 3, 3}), Tensor<float>(), {.groups = 3}), Error);
  CHECK_THROWS_AS(unfold(Tensor<float>::randn({1, 2, 3, 3}), 4), Error);
  CHECK_THROWS_AS(fold(Tensor<float>::randn({1, 8, 5}), {4, 5}, 2), Error);
  CHECK_THROWS_AS(fold(Tensor<float>::randn({1, 7, 12}), {4, 5}, 2), Error);
}

TEST_CASE("nn::Conv2d / Conv1d / Conv3d / ConvTranspose2d modules") {
  Generator gen(5);
  nn::Conv2d conv(4, 6, 3, {.stride = 2, .padding = 1, .groups = 2}, gen);
  CHECK(conv.weight.shape() == Shape{6, 2, 3, 3});
  CHECK(conv.bias.shape() == Shape{6});
  CHECK(conv.parameters().size() == 2);
  // PyTorch's default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias, fan_in 18.
  const double bound = 1.0 / std::sqrt(18.0);
  for (float v : conv.weight.to_vector()) CHECK(std::abs(v) <= bound);
  for (float v : conv.bias.to_vector()) CHECK(std::abs(v) <= bound);
  double m = 0;
  for (float v : conv.weight.to_vector()) m = std::max(m, double(std::abs(v)));
  CHECK(m > 0.5 * bound);
  auto x = Tensor<float>::randn({2, 4, 9, 9}, gen);
  auto y = conv.forward(x);
  CHECK(y.shape() == Shape{2, 6, 5, 5});
  CHECK(conv_fixtures::compare(y, conv2d(x, conv.weight, conv.bias, {.stride = 2, .padding = 1, .groups = 2}), 1e-6) == "");
  sum(y).backward();
  CHECK(conv.weight.grad().defined());
  CHECK(conv.bias.grad().defined());
  CHECK(conv.extra_repr().find("kernel_size=(3, 3)") != std::string::npos);

  nn::Conv2d same(3, 5, {2, 3}, {.bias = false, .same_padding = true}, gen);
  CHECK_FALSE(same.bias.defined());
  CHECK(same.parameters().size() == 1);
  CHECK(same.forward(Tensor<float>::randn({1, 3, 6, 7}, gen)).shape() == Shape{1, 5, 6, 7});
  CHECK_THROWS_AS(conv.forward(Tensor<float>::randn({2, 3, 9, 9})), Error);

  nn::Conv1d c1(2, 3, 3, {.padding = 1}, gen);
  CHECK(c1.forward(Tensor<float>::randn({4, 2, 10}, gen)).shape() == Shape{4, 3, 10});
  nn::Conv3d c3(2, 3, 3, {.stride = 2}, gen);
  CHECK(c3.forward(Tensor<float>::randn({1, 2, 7, 7, 7}, gen)).shape() == Shape{1, 3, 3, 3, 3});
  nn::ConvTranspose2d ct(4, 2, 4, {.stride = 2, .padding = 1}, gen);
  CHECK(ct.weight.shape() == Shape{4, 2, 4, 4});
  CHECK(ct.forward(Tensor<float>::randn({1, 4, 5, 5}, gen)).shape() == Shape{1, 2, 10, 10});
  // ConvTranspose's fan_in is weight.size(1) * k (PyTorch computes it from [in, out/g, k]).
  const double tb = 1.0 / std::sqrt(2.0 * 16.0);
  for (float v : ct.weight.to_vector()) CHECK(std::abs(v) <= tb);
  CHECK(ct.state_dict().size() == 2);
}
