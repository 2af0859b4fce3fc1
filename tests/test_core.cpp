// Tensor creation, views and storage semantics, the autograd engine, and the arithmetic and
// sum/mean ops that live in the core.
#include <doctest/doctest.h>

#include <ember/autograd/gradcheck.hpp>
#include <ember/core/tensor.hpp>
#include <limits>
#include <sstream>

using namespace ember;

namespace {

// Throws and the message contains `part`.
template <class F>
bool throws_with(F&& f, const std::string& part) {
  try {
    f();
  } catch (const Error& e) {
    if (std::string(e.what()).find(part) != std::string::npos) return true;
    MESSAGE("message was: " << e.what());
    return false;
  }
  return false;
}

Tensor<double> noncontiguous(int64_t rows, int64_t cols, Generator& gen) {
  return Tensor<double>::randn({cols, rows}, gen).t().detach().requires_grad_();
}

}  // namespace

TEST_CASE("creation") {
  auto z = Tensor<float>::zeros({2, 3});
  CHECK(z.shape() == Shape{2, 3});
  CHECK(z.strides() == Shape{3, 1});
  CHECK(z.numel() == 6);
  CHECK(z.to_vector() == std::vector<float>(6, 0.0f));
  CHECK(Tensor<int64_t>::full({2}, 7).to_vector() == std::vector<int64_t>{7, 7});
  CHECK(Tensor<float>::arange(0.0f, 5.0f, 2.0f).to_vector() == std::vector<float>{0, 2, 4});
  CHECK(Tensor<int32_t>::arange(4).to_vector() == std::vector<int32_t>{0, 1, 2, 3});
  CHECK(Tensor<double>::linspace(0, 1, 5).to_vector() == std::vector<double>{0, 0.25, 0.5, 0.75, 1});
  auto v = Tensor<float>{1, 2, 3};
  CHECK(v.shape() == Shape{3});
  auto m = Tensor<double>::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(m.at({1, 2}) == 6);
  CHECK(m.at({-1, 0}) == 4);
  CHECK(Tensor<float>::scalar(2.5f).item() == 2.5f);
  CHECK(Tensor<float>::scalar(2.5f).dim() == 0);
}

TEST_CASE("random creation is deterministic for a seed") {
  Generator a(7), b(7), c(8);
  auto x = Tensor<float>::randn({100}, a), y = Tensor<float>::randn({100}, b), w = Tensor<float>::randn({100}, c);
  CHECK(x.to_vector() == y.to_vector());
  CHECK(x.to_vector() != w.to_vector());
  Generator g(1);
  auto r = Tensor<int64_t>::randint(3, 6, {1000}, g);
  for (int64_t v : r.to_vector()) CHECK((v >= 3 && v < 6));
  auto u = Tensor<double>::rand({20000}, g);
  CHECK(mean(u).item() == doctest::Approx(0.5).epsilon(0.02));
  auto n = Tensor<double>::randn({20000}, g);
  CHECK(mean(n).item() == doctest::Approx(0.0).epsilon(0.03));
  CHECK(mean(n * n).item() == doctest::Approx(1.0).epsilon(0.03));
}

TEST_CASE("views share storage") {
  auto x = Tensor<float>::arange(0.0f, 12.0f).reshape({3, 4});
  auto t = x.t();
  CHECK(t.shares_storage_with(x));
  CHECK(t.shape() == Shape{4, 3});
  CHECK(t.strides() == Shape{1, 4});
  CHECK(!t.is_contiguous());
  CHECK(t.at({3, 2}) == 11.0f);
  auto s = x.slice(1, 1, 4, 2);  // columns 1 and 3
  CHECK(s.shape() == Shape{3, 2});
  CHECK(s.to_vector() == std::vector<float>{1, 3, 5, 7, 9, 11});
  s.at({0, 0}) = 100.0f;  // writes through to x
  CHECK(x.at({0, 1}) == 100.0f);
  auto row = x.select(0, 2);
  CHECK(row.to_vector() == std::vector<float>{8, 9, 10, 11});
  CHECK(x.narrow(0, 1, 2).shape() == Shape{2, 4});
  CHECK(x.unsqueeze(0).shape() == Shape{1, 3, 4});
  CHECK(x.unsqueeze(-1).shape() == Shape{3, 4, 1});
  CHECK(x.unsqueeze(0).squeeze(0).shape() == Shape{3, 4});
  CHECK(Tensor<float>::zeros({1, 3, 1}).squeeze().shape() == Shape{3});
  auto e = Tensor<float>{1, 2, 3}.unsqueeze(1).expand({3, 4});
  CHECK(e.strides() == Shape{1, 0});
  CHECK(e.to_vector() == std::vector<float>{1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3});
  auto p = Tensor<float>::zeros({2, 3, 4}).permute({2, 0, 1});
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(x.flatten().shape() == Shape{12});
  CHECK(x.reshape({-1, 6}).shape() == Shape{2, 6});
}

TEST_CASE("view versus reshape of non-contiguous tensors") {
  auto x = Tensor<float>::arange(0.0f, 24.0f).reshape({2, 3, 4});
  // Merging dims 0 and 1 of a permuted tensor is not possible without a copy.
  auto p = x.permute({1, 0, 2});
  CHECK_THROWS_AS(p.view({6, 4}), Error);
  auto r = p.reshape({6, 4});
  CHECK(!r.shares_storage_with(x));
  CHECK(r.at({1, 0}) == 12.0f);
  // A view that only splits a dimension works on a non-contiguous tensor.
  auto t = x.transpose(0, 2);  // [4, 3, 2]
  auto v = t.view({2, 2, 3, 2});
  CHECK(v.shares_storage_with(x));
  CHECK(v.at({1, 1, 2, 1}) == x.at({1, 2, 3}));
  // contiguous() copies only when needed.
  CHECK(x.contiguous().shares_storage_with(x));
  CHECK(!t.contiguous().shares_storage_with(x));
  CHECK(t.contiguous().is_contiguous());
}

TEST_CASE("clone, detach, to") {
  auto x = Tensor<float>{1.5f, -2.5f, 3.0f};
  auto c = x.clone();
  c.at({0}) = 9;
  CHECK(x.at({0}) == 1.5f);
  auto d = x.detach();
  CHECK(d.shares_storage_with(x));
  CHECK(x.to<int32_t>().to_vector() == std::vector<int32_t>{1, -2, 3});
  CHECK(x.to<double>().to_vector() == std::vector<double>{1.5, -2.5, 3.0});
  CHECK(x.to<bool>().to_vector() == std::vector<bool>{true, true, true});
  auto z = x.to<std::complex<float>>();
  CHECK(z.at({1}) == std::complex<float>(-2.5f, 0.0f));
  std::ostringstream os;
  os << Tensor<int64_t>{1, 2};
  CHECK(os.str().find("int64") != std::string::npos);
}

TEST_CASE("fill_ and copy_ with broadcasting") {
  auto x = Tensor<float>::zeros({2, 3});
  x.slice(1, 1, 3).fill_(5.0f);
  CHECK(x.to_vector() == std::vector<float>{0, 5, 5, 0, 5, 5});
  x.copy_(Tensor<float>{1, 2, 3});
  CHECK(x.to_vector() == std::vector<float>{1, 2, 3, 1, 2, 3});
  CHECK_THROWS_AS(x.copy_(Tensor<float>{1, 2}), Error);
}

TEST_CASE("copy_ between overlapping views of one storage reads the source first") {
  // Rows 0..1 into rows 1..2 of the first 3 columns: not one contiguous run, so a row-by-row
  // copy would read row 1 after writing it.
  auto x = Tensor<double>::arange(0, 12).reshape({3, 4});
  x.narrow(0, 1, 2).narrow(1, 0, 3).copy_(x.narrow(0, 0, 2).narrow(1, 0, 3));
  CHECK(x.to_vector() == std::vector<double>{0, 1, 2, 3, 0, 1, 2, 7, 4, 5, 6, 11});
  // The same backwards (rows 1..2 into rows 0..1), and a transposed overlap.
  auto y = Tensor<double>::arange(0, 12).reshape({3, 4});
  y.narrow(0, 0, 2).narrow(1, 0, 3).copy_(y.narrow(0, 1, 2).narrow(1, 0, 3));
  CHECK(y.to_vector() == std::vector<double>{4, 5, 6, 3, 8, 9, 10, 7, 8, 9, 10, 11});
  auto z = Tensor<double>::arange(0, 9).reshape({3, 3});
  z.copy_(z.t());
  CHECK(z.to_vector() == std::vector<double>{0, 3, 6, 1, 4, 7, 2, 5, 8});
}

TEST_CASE("may_overlap: shared storage and intersecting byte ranges") {
  auto x = Tensor<float>::zeros({4, 4});
  CHECK(may_overlap(*x.impl(), *x.impl()));
  CHECK(may_overlap(*x.narrow(0, 0, 2).impl(), *x.narrow(0, 1, 2).impl()));
  CHECK(!may_overlap(*x.narrow(0, 0, 2).impl(), *x.narrow(0, 2, 2).impl()));  // rows 0-1, 2-3
  CHECK(!may_overlap(*x.impl(), *Tensor<float>::zeros({4, 4}).impl()));     // other storage
  CHECK(!may_overlap(*x.narrow(0, 0, 0).impl(), *x.impl()));                 // empty
  CHECK(may_overlap(*x.select(1, 0).impl(), *x.select(0, 3).impl()));        // column 0, row 3
}

TEST_CASE("bad shapes and sizes give clear errors") {
  CHECK(throws_with([] { Tensor<float>::zeros({2, -1}); }, "negative dimension -1"));
  CHECK(throws_with([] { Tensor<float>::empty({int64_t(1) << 40, int64_t(1) << 40}); }, "more elements than fit"));
  CHECK(throws_with([] { Tensor<float>::zeros({2, 3}).reshape({4, 2}); }, "cannot reshape [2, 3]"));
  CHECK(throws_with([] { Tensor<float>::zeros({2, 3}).reshape({-1, -1}); }, "only one dimension can be -1"));
  CHECK(throws_with([] { Tensor<float>::zeros({2, 3}).transpose(0, 2); }, "out of range"));
  CHECK(throws_with([] { Tensor<float>::zeros({2, 3}).expand({4, 3}); }, "cannot be broadcast"));
  CHECK(throws_with([] { Tensor<float>::zeros({2, 3}) + Tensor<float>::zeros({4}); }, "add: shapes [2, 3] and [4]"));
  CHECK(throws_with([] { Tensor<float>::zeros({2, 3}).item(); }, "one element"));
  CHECK(throws_with([] { Tensor<float>::zeros({2}).at({2}); }, "out of range"));
  CHECK(throws_with([] { Tensor<float>::from_vector({1, 2, 3}, {2, 2}); }, "do not fill shape [2, 2]"));
  CHECK(throws_with([] { Tensor<float>().shape(); }, "undefined tensor"));
  CHECK(throws_with([] { Tensor<int64_t>::zeros({2}).requires_grad_(); }, "cannot require gradients"));
#ifndef EMBER_WITH_CUDA
  CHECK(throws_with([] { Tensor<float>::zeros({2}, Device::cuda()); }, "configure with -DEMBER_CUDA=ON"));
#endif
  CHECK(throws_with([] { sum(Tensor<float>::zeros({2, 3}), {0, 0}); }, "repeated"));
  CHECK(throws_with([] { Tensor<float>(Tensor<double>::zeros({1}).impl()); }, "cannot wrap a tensor of dtype float64"));
}

TEST_CASE("broadcasting arithmetic values") {
  auto a = Tensor<float>::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  auto b = Tensor<float>{10, 20, 30};
  CHECK((a + b).to_vector() == std::vector<float>{11, 22, 33, 14, 25, 36});
  CHECK((a * b.unsqueeze(0)).to_vector() == std::vector<float>{10, 40, 90, 40, 100, 180});
  CHECK((a - 1.0f).to_vector() == std::vector<float>{0, 1, 2, 3, 4, 5});
  CHECK((2.0f * a).to_vector() == std::vector<float>{2, 4, 6, 8, 10, 12});
  CHECK((6.0f / a).at({1, 2}) == 1.0f);
  CHECK((1.0f - a).at({0, 0}) == 0.0f);
  CHECK((-a).at({0, 1}) == -2.0f);
  CHECK(pow(a, 2.0f).at({1, 1}) == 25.0f);
  auto col = Tensor<float>{1, 2}.unsqueeze(1);  // [2, 1] with [3] -> [2, 3]
  CHECK((col * b).to_vector() == std::vector<float>{10, 20, 30, 20, 40, 60});
  CHECK(sum(a).item() == 21.0f);
  CHECK(sum(a, {0}).to_vector() == std::vector<float>{5, 7, 9});
  CHECK(sum(a, {1}, true).shape() == Shape{2, 1});
  CHECK(mean(a, {-1}).to_vector() == std::vector<float>{2, 5});
  CHECK(sum(a.t(), {1}).to_vector() == std::vector<float>{5, 7, 9});
  CHECK(sum_to(a, {1, 3}).to_vector() == std::vector<float>{5, 7, 9});
}

TEST_CASE("large reductions are accurate and parallel-safe") {
  auto x = Tensor<float>::ones({1 << 20});
  CHECK(sum(x).item() == float(1 << 20));
  auto m = Tensor<float>::ones({3000, 700});
  auto s0 = sum(m, {0});
  auto s1 = sum(m, {1});
  CHECK(s0.at({699}) == 3000.0f);
  CHECK(s1.at({2999}) == 700.0f);
  auto big = Tensor<double>::arange(0.0, 1e6);
  CHECK(sum(big).item() == 1e6 * (1e6 - 1) / 2);
}

TEST_CASE("gradients of arithmetic and reductions") {
  Generator gen(11);
  auto a = Tensor<double>::randn({3, 4}, gen).requires_grad_();
  auto b = Tensor<double>::randn({4}, gen).requires_grad_();
  auto c = noncontiguous(3, 4, gen);
  auto pos = add(Tensor<double>::rand({3, 4}, gen), 0.5).requires_grad_();
  auto check = [&](std::string name, GradcheckFn f, std::vector<Tensor<double>> in) {
    INFO(name);
    CHECK(gradcheck_report(f, in) == "");
    CHECK(gradgradcheck_report(f, in) == "");
  };
  check("add", [](const auto& x) { return x[0] + x[1]; }, {a, b});
  check("sub", [](const auto& x) { return x[0] - x[1]; }, {c, b});
  check("mul", [](const auto& x) { return x[0] * x[1]; }, {a, c});
  check("div", [](const auto& x) { return x[0] / (x[1] + 3.0); }, {c, pos});
  check("neg", [](const auto& x) { return -x[0]; }, {c});
  check("scalars", [](const auto& x) { return (2.0 - x[0]) * 3.0 + 1.0 / (x[1] + 2.0); }, {a, pos});
  check("pow scalar", [](const auto& x) { return pow(x[0], 3.0); }, {c});
  check("pow tensor", [](const auto& x) { return pow(x[0], x[1]); }, {pos, a});
  check("sum dims", [](const auto& x) { return sum(x[0], {0}, true) * x[0]; }, {c});
  check("sum all", [](const auto& x) { return sum(x[0] * x[0]); }, {c});
  check("mean", [](const auto& x) { return mean(x[0], {1}) * mean(x[0]); }, {a});
  check("views", [](const auto& x) {
    return x[0].t().reshape({2, 6}).slice(1, 1, 6, 2) * x[0].select(0, 1).narrow(0, 0, 3).unsqueeze(0);
  }, {a});
  check("expand", [](const auto& x) { return x[0].unsqueeze(0).expand({5, 4}) * x[0]; }, {b});
  check("permute", [](const auto& x) { return x[0].reshape({2, 3, 2}).permute({2, 0, 1}).contiguous(); }, {a});
  // Through float32 the finite difference needs a step float can resolve.
  GradcheckFn through_float = [](const auto& x) { return x[0].template to<float>().template to<double>() * 2.0; };
  CHECK(gradcheck_report(through_float, {a}, {.eps = 1e-2, .atol = 1e-4, .rtol = 1e-3}) == "");
}

TEST_CASE("leaf gradients accumulate; zero_grad clears") {
  auto x = Tensor<double>{1, 2, 3}.requires_grad_();
  sum(x * x).backward();
  CHECK(x.grad().to_vector() == std::vector<double>{2, 4, 6});
  sum(x).backward();
  CHECK(x.grad().to_vector() == std::vector<double>{3, 5, 7});
  x.zero_grad();
  CHECK(!x.grad().defined());
  // A value used twice gets both contributions.
  auto y = Tensor<double>::scalar(3.0).requires_grad_();
  (y * y + y).backward();
  CHECK(y.grad().item() == 7.0);
  // Grads of different leaves never share memory, even when the rule returns one tensor.
  auto p = Tensor<double>{1, 2}.requires_grad_(), q = Tensor<double>{3, 4}.requires_grad_();
  sum(p + q).backward();
  CHECK(!p.grad().shares_storage_with(q.grad()));
}

TEST_CASE("backward errors") {
  auto x = Tensor<double>{1, 2, 3}.requires_grad_();
  auto y = x * x;
  CHECK(throws_with([&] { y.backward(); }, "implicitly only for an output with one element"));
  CHECK(throws_with([&] { y.backward(Tensor<double>{1, 1}); }, "gradient of output 0 has dtype float64 and shape [2]"));
  auto s = sum(y);
  s.backward();
  CHECK(throws_with([&] { s.backward(); }, "backward through the graph a second time"));
  auto r = sum(x * x);
  r.backward({}, true);
  r.backward();  // retained once, so a second pass works
  CHECK(x.grad().to_vector() == std::vector<double>{2 + 2 + 2, 4 + 4 + 4, 6 + 6 + 6});
  CHECK(throws_with([] { Tensor<double>{1.0}.backward(); }, "does not require grad"));
  auto w = Tensor<double>{1.0}.requires_grad_();
  auto unused = Tensor<double>{2.0}.requires_grad_();
  CHECK(throws_with([&] { grad<double>({w * 2.0}, {unused}); }, "was not used"));
  auto g = grad<double>({w * 2.0}, {unused}, {}, {.allow_unused = true});
  CHECK(!g[0].defined());
}

TEST_CASE("no_grad, detach and in-place guards") {
  auto x = Tensor<double>{1, 2}.requires_grad_();
  {
    NoGradGuard guard;
    auto y = x * 2.0;
    CHECK(!y.requires_grad());
    x.fill_(3.0);  // allowed: no graph is being recorded
  }
  CHECK(GradMode::is_enabled());
  CHECK(!(x * 2.0).detach().requires_grad());
  CHECK(throws_with([&] { x.fill_(1.0); }, "in-place write to a leaf that requires grad"));
  CHECK((x * 2.0).grad_fn()->name == "mul_scalar");
  CHECK(x.is_leaf());
}

TEST_CASE("grad with create_graph gives second and third derivatives") {
  auto x = Tensor<double>::scalar(2.0).requires_grad_();
  auto y = x * x * x;  // y = x^3
  auto g1 = grad<double>({y}, {x}, {}, {.create_graph = true})[0];  // 3x^2 = 12
  CHECK(g1.item() == doctest::Approx(12.0));
  auto g2 = grad<double>({g1}, {x}, {}, {.create_graph = true})[0];  // 6x = 12
  CHECK(g2.item() == doctest::Approx(12.0));
  auto g3 = grad<double>({g2}, {x})[0];  // 6
  CHECK(g3.item() == doctest::Approx(6.0));
  CHECK(!x.grad().defined());  // grad() leaves .grad() alone
}

TEST_CASE("grad(outputs, inputs) computes only the gradients that lead to the inputs") {
  // A product whose rule records which input gradients it computed (grad_wanted, as conv and
  // linear do). Asking for w's gradient must not compute x's, though x requires grad; the
  // graph recorded under create_graph must still connect to x.
  static bool computed_x = false, computed_w = false;
  const auto product = [](const Tensor<double>& x, const Tensor<double>& w) {
    Tensor<double> out;
    {
      NoGradGuard no_grad;
      out = mul(x, w);
    }
    if (any_requires_grad(x, w))
      record(out, "product", {x, w}, [x, w](const Tensor<double>& g) -> Grads {
        AnyTensor gx, gw;
        if (grad_wanted(x)) gx = mul(g, w), computed_x = true;
        if (grad_wanted(w)) gw = mul(g, x), computed_w = true;
        return {gx, gw};
      });
    return out;
  };
  auto x = Tensor<double>::from_vector({1, 2, 3}, {3}).requires_grad_();
  auto w = Tensor<double>::from_vector({4, 5, 6}, {3}).requires_grad_();
  computed_x = computed_w = false;
  const auto gw = grad<double>({sum(product(x, w))}, {w}, {}, {.create_graph = true})[0];
  CHECK(!computed_x);
  CHECK(computed_w);
  CHECK(gw.to_vector() == std::vector<double>{1, 2, 3});
  // d/dx sum(gw * c) = c: the create_graph result still depends on x.
  const auto c = Tensor<double>::from_vector({7, 8, 9}, {3});
  CHECK(grad<double>({sum(mul(gw, c))}, {x})[0].to_vector() == std::vector<double>{7, 8, 9});
  // backward() wants every gradient.
  computed_x = computed_w = false;
  sum(product(x, w)).backward();
  CHECK(computed_x);
  CHECK(computed_w);
}

TEST_CASE("deep graphs do not overflow the stack") {
  auto x = Tensor<double>::scalar(1.0).requires_grad_();
  auto y = x;
  for (int i = 0; i < 20000; ++i) y = y * 1.0;
  y.backward();
  CHECK(x.grad().item() == 1.0);
}
