// Tests for ember::nn: the Module registry, state dicts, train/eval, Linear, Sequential,
// activation modules, Dropout and the initialisers.
#include <doctest/doctest.h>

#include <cmath>
#include <complex>
#include <ember/nn/activation.hpp>
#include <ember/nn/dropout.hpp>
#include <ember/nn/init.hpp>
#include <ember/nn/linear.hpp>
#include <ember/nn/module.hpp>
#include <ember/nn/sequential.hpp>
#include <memory>
#include <string>
#include <vector>

using namespace ember;

namespace {

// A hand-written layer: y = x * scale + shift, with a float64 buffer to show mixed dtypes.
struct Affine : nn::Layer {
  Tensor<float> scale, shift;
  Tensor<double> count;
  explicit Affine(int64_t n) {
    scale = register_parameter("scale", Tensor<float>::ones({n}));
    shift = register_parameter("shift", Tensor<float>::zeros({n}));
    count = register_buffer("count", Tensor<double>::zeros({}));
  }
  Tensor<float> forward(const Tensor<float>& x) override { return x * scale + shift; }
  std::string name() const override { return "Affine"; }
};

struct Encoder : nn::Module {
  std::shared_ptr<nn::Linear> fc;
  std::shared_ptr<Affine> norm;
  Encoder() {
    fc = register_module("fc", std::make_shared<nn::Linear>(3, 2));
    norm = register_module("norm", std::make_shared<Affine>(2));
  }
  std::string name() const override { return "Encoder"; }
};

std::vector<std::string> keys(const StateDict& sd) {
  std::vector<std::string> out;
  for (auto& [k, v] : sd) out.push_back(k);
  return out;
}

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

}  // namespace

// ---------------------------------------------------------------------- Module registry

TEST_CASE("nn::Module: names, order and recursion") {
  struct Net : nn::Module {
    std::shared_ptr<Encoder> encoder;
    Tensor<float> head;
    Net() {
      head = register_parameter("head", Tensor<float>::zeros({4}));
      encoder = register_module("encoder", std::make_shared<Encoder>());
      register_buffer("step", Tensor<int64_t>::zeros({}));
    }
  } net;

  CHECK(keys(net.named_parameters()) ==
        std::vector<std::string>{"head", "encoder.fc.weight", "encoder.fc.bias",
                                 "encoder.norm.scale", "encoder.norm.shift"});
  CHECK(keys(net.named_buffers()) == std::vector<std::string>{"step", "encoder.norm.count"});
  // Each module's parameters, then its buffers, then its children (PyTorch's order).
  CHECK(keys(net.state_dict()) ==
        std::vector<std::string>{"head", "step", "encoder.fc.weight", "encoder.fc.bias",
                                 "encoder.norm.scale", "encoder.norm.shift", "encoder.norm.count"});
  CHECK(net.parameters().size() == 5);
  CHECK(net.num_parameters() == 4 + 6 + 2 + 2 + 2);
  CHECK(net.named_children().size() == 1);

  // The registry holds the live tensors: same impl as the typed members.
  CHECK(net.named_parameters()[0].second.impl == net.head.impl());
  CHECK(net.state_dict()[2].second.impl == net.encoder->fc->weight.impl());
  CHECK(net.encoder->fc->weight.requires_grad());
  CHECK(net.head.requires_grad());
  CHECK(net.encoder->norm->count.requires_grad() == false);  // buffers are not trained

  // A frozen parameter is still a parameter.
  struct Frozen : nn::Module {
    Frozen() { register_parameter("w", Tensor<float>::ones({2}), false); }
  } frozen;
  CHECK(frozen.parameters().size() == 1);
  CHECK(!frozen.parameters()[0].impl->requires_grad);
}

TEST_CASE("nn::Module: bad registrations throw") {
  struct M : nn::Module {
  } m;
  m.register_parameter("w", Tensor<float>::ones({2}));
  const std::string msg = error_of([&] { m.register_parameter("w", Tensor<float>::ones({2})); });
  CHECK(contains(msg, "already has a parameter, buffer or child named 'w'"));
  CHECK_THROWS_AS(m.register_buffer("w", Tensor<float>::ones({2})), Error);
  CHECK_THROWS_AS(m.register_module("w", std::make_shared<Affine>(2)), Error);
  CHECK_THROWS_AS(m.register_parameter("a.b", Tensor<float>::ones({2})), Error);
  CHECK_THROWS_AS(m.register_parameter("", Tensor<float>::ones({2})), Error);
  CHECK_THROWS_AS(m.register_parameter("u", Tensor<float>()), Error);
  CHECK_THROWS_AS(m.register_module("null", std::shared_ptr<Affine>()), Error);
  CHECK_THROWS_AS(m.register_parameter("i", Tensor<int64_t>::ones({2})),
                  Error);  // no grad for ints
  // Not a leaf: the result of an op.
  Tensor<float> leaf = Tensor<float>::ones({2}).requires_grad_();
  CHECK_THROWS_AS(m.register_parameter("op", leaf * 2.0f), Error);

  // Cycles are refused.
  auto a = std::make_shared<Affine>(1);
  auto b = std::make_shared<Affine>(1);
  a->register_module("b", b);
  CHECK_THROWS_AS(b->register_module("a", a), Error);
  CHECK_THROWS_AS(a->register_module("self", a), Error);
}

TEST_CASE("nn::Module: weight tying shares one impl and is counted once") {
  Tensor<float> shared = Tensor<float>::ones({3, 3});
  struct Holder : nn::Module {
    explicit Holder(Tensor<float> w) { register_parameter("weight", w); }
  };
  struct Tied : nn::Module {
    explicit Tied(Tensor<float> w) {
      register_module("a", std::make_shared<Holder>(w));
      register_module("b", std::make_shared<Holder>(w));
    }
  } tied(shared);
  CHECK(tied.parameters().size() == 1);
  CHECK(keys(tied.named_parameters()) == std::vector<std::string>{"a.weight"});
  CHECK(tied.num_parameters() == 9);
  // state_dict keeps every name (as PyTorch does), both the same tensor.
  CHECK(keys(tied.state_dict()) == std::vector<std::string>{"a.weight", "b.weight"});
  CHECK(tied.state_dict()[0].second.impl == tied.state_dict()[1].second.impl);

  // A child shared under two names: its parameters once in parameters(), twice in state_dict.
  struct Shared : nn::Module {
    Shared() {
      auto child = std::make_shared<Affine>(2);
      register_module("x", child);
      register_module("y", child);
    }
  } sh;
  CHECK(sh.parameters().size() == 2);
  CHECK(sh.state_dict().size() == 6);
}

TEST_CASE("nn::Module: complex parameters, nested Sequential names") {
  // A spectral-style layer keeps complex<float> weights next to a float bias.
  struct Spectral : nn::Module {
    Tensor<std::complex<float>> w;
    Tensor<float> b;
    Spectral() {
      w = register_parameter("w", Tensor<std::complex<float>>::ones({2, 2}));
      b = register_parameter("b", Tensor<float>::zeros({2}));
    }
  } a, b;
  CHECK(a.parameters()[0].impl->dtype == DType::Complex64);
  CHECK(a.num_parameters() == 6);
  {
    NoGradGuard no_grad;
    b.w.fill_({1.0f, -2.0f});
  }
  StateDict sd;
  sd.emplace_back("w", b.w.detach().clone());
  sd.emplace_back("b", Tensor<float>{3, 4});
  a.load_state_dict(sd);
  CHECK(a.w.to_vector()[3] == std::complex<float>(1.0f, -2.0f));
  CHECK(a.b.to_vector() == std::vector<float>{3, 4});

  auto model = nn::make_sequential(std::make_shared<nn::ReLU>(),
                                   nn::make_sequential(std::make_shared<nn::Linear>(2, 2)));
  CHECK(keys(model->state_dict()) == std::vector<std::string>{"1.0.weight", "1.0.bias"});
}

// ---------------------------------------------------------------------- state dicts

TEST_CASE("nn::Module: state_dict / load_state_dict round trip") {
  Generator g1(1), g2(2);
  Encoder a, b;
  nn::init::normal_(a.fc->weight, 0.0, 1.0, g1);
  nn::init::normal_(b.fc->weight, 0.0, 1.0, g2);
  a.norm->count.fill_(7.0);
  CHECK(a.fc->weight.to_vector() != b.fc->weight.to_vector());

  // Save a snapshot (copies), then load it into b.
  StateDict snapshot;
  for (auto& [k, v] : a.state_dict())
    visit_dtype(v.impl->dtype, [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      if constexpr (std::is_floating_point_v<T>)
        snapshot.emplace_back(k, Tensor<T>(v.impl).detach().clone());
    });
  const auto result = b.load_state_dict(snapshot);
  CHECK(result.missing_keys.empty());
  CHECK(result.unexpected_keys.empty());
  CHECK(b.fc->weight.to_vector() == a.fc->weight.to_vector());
  CHECK(b.fc->bias.to_vector() == a.fc->bias.to_vector());
  CHECK(b.norm->count.item() == 7.0);
  // Values were copied into b's own tensors, not swapped for the snapshot's.
  CHECK(!b.fc->weight.shares_storage_with(a.fc->weight));
  CHECK(b.state_dict()[0].second.impl == b.fc->weight.impl());
  CHECK(b.fc->weight.requires_grad());
  CHECK(b.fc->weight.is_leaf());
}

TEST_CASE("nn::Module: load_state_dict errors name the keys") {
  Encoder m;
  const std::vector<float> before = m.fc->weight.to_vector();
  StateDict sd = m.state_dict();

  SUBCASE("missing and unexpected keys, strict") {
    StateDict partial(sd.begin() + 1, sd.end());  // drop fc.weight
    partial.emplace_back("fc.extra", Tensor<float>::zeros({1}));
    const std::string msg = error_of([&] { m.load_state_dict(partial); });
    CHECK(contains(msg, "missing keys ['fc.weight']"));
    CHECK(contains(msg, "unexpected keys ['fc.extra']"));
    CHECK(contains(msg, "Encoder"));
    // Non-strict loads the rest and reports the keys.
    const auto r = m.load_state_dict(partial, false);
    CHECK(r.missing_keys == std::vector<std::string>{"fc.weight"});
    CHECK(r.unexpected_keys == std::vector<std::string>{"fc.extra"});
  }
  SUBCASE("shape mismatch") {
    StateDict bad = sd;
    bad[0].second = Tensor<float>::zeros({3, 2});
    const std::string msg = error_of([&] { m.load_state_dict(bad); });
    CHECK(contains(msg, "'fc.weight': expected float32 [2, 3], got float32 [3, 2]"));
    CHECK_THROWS_AS(m.load_state_dict(bad, false),
                    Error);                     // shapes must match even when not strict
    CHECK(m.fc->weight.to_vector() == before);  // nothing was written
  }
  SUBCASE("dtype mismatch") {
    StateDict bad = sd;
    bad[0].second = Tensor<double>::zeros({2, 3});
    const std::string msg = error_of([&] { m.load_state_dict(bad); });
    CHECK(contains(msg, "'fc.weight': expected float32 [2, 3], got float64 [2, 3]"));
  }
  SUBCASE("duplicate key") {
    StateDict dup = sd;
    dup.push_back(sd[0]);
    CHECK_THROWS_AS(m.load_state_dict(dup), Error);
  }
}

// ---------------------------------------------------------------------- modes, gradients, printing

TEST_CASE("nn::Module: train/eval propagate to every descendant") {
  auto model = nn::make_sequential(std::make_shared<nn::Linear>(3, 3),
                                   nn::make_sequential(std::make_shared<nn::Dropout>(0.5)));
  CHECK(model->is_training());
  model->eval();
  CHECK(!model->is_training());
  CHECK(!(*model)[0]->is_training());
  auto inner = std::dynamic_pointer_cast<nn::Sequential>((*model)[1]);
  REQUIRE(inner);
  CHECK(!(*inner)[0]->is_training());
  model->train();
  CHECK((*inner)[0]->is_training());
  model->train(false);
  CHECK(!(*inner)[0]->is_training());
}

TEST_CASE("nn::Module: zero_grad drops the gradients") {
  Generator gen(3);
  nn::Linear fc(3, 2, {}, gen);
  Tensor<float> x = Tensor<float>::randn({4, 3}, gen);
  sum(fc(x)).backward();
  REQUIRE(fc.weight.grad().defined());
  REQUIRE(fc.bias.grad().defined());
  fc.zero_grad();
  CHECK(!fc.weight.grad().defined());
  CHECK(!fc.bias.grad().defined());
}

TEST_CASE("nn::Module: to(Device) moves in place; cpu is a no-op, cuda needs a CUDA build") {
  Generator gen(4);
  Encoder enc;
  Tensor<float> w = enc.fc->weight;  // a handle held outside the module, as an optimizer holds
  sum(enc.fc->forward(Tensor<float>::randn({4, 3}, gen))).backward();
  REQUIRE(w.grad().defined());
  const std::vector<float> before = w.to_vector(), grad_before = w.grad().to_vector();
  const auto sd = enc.state_dict();
  std::vector<const TensorImpl*> impls;
  std::vector<const Storage*> storages_before;
  for (auto& [k, t] : sd) impls.push_back(t.impl.get());
  for (auto& [k, t] : sd) storages_before.push_back(t.impl->storage.get());

  nn::Module& same = enc.to(Device::cpu());
  CHECK(&same == &enc);
  const auto after = enc.state_dict();
  REQUIRE(after.size() == sd.size());
  for (size_t i = 0; i < sd.size(); ++i) {
    CHECK(after[i].second.impl.get() == impls[i]);                   // same tensors
    CHECK(after[i].second.impl->storage.get() == storages_before[i]);  // nothing copied
    CHECK(after[i].second.impl->storage->device() == Device::cpu());
  }
  CHECK(w.impl() == enc.fc->weight.impl());
  CHECK(w.to_vector() == before);
  CHECK(w.requires_grad());
  CHECK(w.grad().to_vector() == grad_before);

  // A tied weight: moving to the CPU keeps it one tensor.
  Tensor<float> shared = Tensor<float>::ones({2, 2});
  struct Holder : nn::Module {
    explicit Holder(Tensor<float> t) { register_parameter("weight", t); }
  };
  struct Tied : nn::Module {
    explicit Tied(Tensor<float> t) {
      register_module("a", std::make_shared<Holder>(t));
      register_module("b", std::make_shared<Holder>(t));
    }
  } tied(shared);
  tied.to(Device::cpu());
  CHECK(tied.state_dict()[0].second.impl == shared.impl());
  CHECK(tied.state_dict()[1].second.impl == shared.impl());

#ifndef EMBER_WITH_CUDA
  // A CPU-only build refuses a CUDA device before touching anything.
  const std::string err = error_of([&] { enc.to(Device::cuda(0)); });
  CHECK(contains(err, "Module.to"));
  CHECK(contains(err, "cuda:0"));
  CHECK(contains(err, "-DEMBER_CUDA=ON"));
  for (size_t i = 0; i < sd.size(); ++i) {
    CHECK(enc.state_dict()[i].second.impl->storage.get() == storages_before[i]);
    CHECK(enc.state_dict()[i].second.impl->storage->device() == Device::cpu());
  }
  CHECK(w.to_vector() == before);
#endif
}

TEST_CASE("nn::Module: repr prints the tree") {
  auto model = nn::make_sequential(
      std::make_shared<nn::Linear>(784, 128), std::make_shared<nn::ReLU>(),
      nn::make_sequential(std::make_shared<nn::Dropout>(0.25),
                          std::make_shared<nn::Linear>(128, 10, nn::LinearOptions{.bias = false})));
  CHECK(model->repr() ==
        "Sequential(\n"
        "  (0): Linear(in_features=784, out_features=128, bias=true)\n"
        "  (1): ReLU()\n"
        "  (2): Sequential(\n"
        "    (0): Dropout(p=0.25)\n"
        "    (1): Linear(in_features=128, out_features=10, bias=false)\n"
        "  )\n"
        ")");
}

// ---------------------------------------------------------------------- Linear

TEST_CASE("nn::Linear: forward against hand-computed values") {
  nn::Linear fc(3, 2);
  {
    NoGradGuard no_grad;
    fc.weight.copy_(Tensor<float>::from_vector({1, 2, 3, -1, 0, 1}, {2, 3}));
    fc.bias.copy_(Tensor<float>{0.5f, -0.5f});
  }
  Tensor<float> x = Tensor<float>::from_vector({1, 1, 1, 2, 0, -1}, {2, 3});
  // rows: [1,1,1] -> [6.5, -0.5]; [2,0,-1] -> [2-3+0.5, -2-1-0.5] = [-0.5, -3.5]
  CHECK(fc(x).to_vector() == std::vector<float>{6.5f, -0.5f, -0.5f, -3.5f});
  CHECK(fc(x).shape() == Shape{2, 2});

  // Leading batch dims are kept, and a 1-D input works.
  CHECK(fc(Tensor<float>::ones({4, 5, 3})).shape() == Shape{4, 5, 2});
  CHECK(fc(Tensor<float>{1, 1, 1}).to_vector() == std::vector<float>{6.5f, -0.5f});

  nn::Linear nobias(3, 2, {.bias = false});
  CHECK(!nobias.bias.defined());
  CHECK(nobias.parameters().size() == 1);
  {
    NoGradGuard no_grad;
    nobias.weight.copy_(fc.weight);
  }
  CHECK(nobias(x).to_vector() == std::vector<float>{6.0f, 0.0f, -1.0f, -3.0f});

  const std::string msg = error_of([&] { fc(Tensor<float>::ones({2, 4})); });
  CHECK(contains(msg, "Linear"));
  CHECK(contains(msg, "[2, 4]"));
  CHECK_THROWS_AS(nn::Linear(-1, 2), Error);

  // Gradients reach the parameters.
  sum(fc(x)).backward();
  CHECK(fc.bias.grad().to_vector() == std::vector<float>{2, 2});
  CHECK(fc.weight.grad().to_vector() == std::vector<float>{3, 1, 0, 3, 1, 0});
}

TEST_CASE("nn::Linear: PyTorch's default init bounds, deterministic for a seed") {
  Generator gen(42);
  nn::Linear fc(400, 300, {}, gen);
  const float bound = 1.0f / std::sqrt(400.0f);
  float wmin = 1, wmax = -1;
  for (float v : fc.weight.to_vector()) {
    wmin = std::min(wmin, v);
    wmax = std::max(wmax, v);
  }
  CHECK(wmin >= -bound);
  CHECK(wmax <= bound);
  CHECK(wmin < -0.99f * bound);  // the range is filled, not a narrower one
  CHECK(wmax > 0.99f * bound);
  for (float v : fc.bias.to_vector()) CHECK(std::abs(v) <= bound);
  CHECK(fc.bias.to_vector() != std::vector<float>(300, 0.0f));

  Generator a(7), b(7);
  nn::Linear f1(5, 4, {}, a), f2(5, 4, {}, b);
  CHECK(f1.weight.to_vector() == f2.weight.to_vector());
  CHECK(f1.bias.to_vector() == f2.bias.to_vector());
  nn::Linear f3(5, 4, {}, a);
  CHECK(f3.weight.to_vector() != f1.weight.to_vector());
}

// ---------------------------------------------------------------------- Sequential

TEST_CASE("nn::Sequential: forward, indexing and names") {
  auto l1 = std::make_shared<nn::Linear>(2, 2);
  auto l2 = std::make_shared<nn::Linear>(2, 1);
  {
    NoGradGuard no_grad;
    l1->weight.copy_(Tensor<float>::from_vector({1, -1, 2, 1}, {2, 2}));
    l1->bias.copy_(Tensor<float>{0, -10});
    l2->weight.copy_(Tensor<float>::from_vector({1, 3}, {1, 2}));
    l2->bias.fill_(1);
  }
  nn::Sequential seq{l1, std::make_shared<nn::ReLU>(), l2};
  CHECK(seq.size() == 3);
  CHECK(seq[0] == l1);
  CHECK_THROWS_AS(seq[3], Error);
  // x = [3, 1]: l1 -> [2, -3] -> relu [2, 0] -> l2 -> 2 + 0 + 1 = 3
  CHECK(seq(Tensor<float>::from_vector({3, 1}, {1, 2})).to_vector() == std::vector<float>{3});
  CHECK(keys(seq.state_dict()) ==
        std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"});

  seq.push_back(std::make_shared<nn::Sigmoid>());
  CHECK(seq.size() == 4);
  CHECK(std::abs(seq(Tensor<float>::from_vector({3, 1}, {1, 2})).item() -
                 1.0f / (1.0f + std::exp(-3.0f))) < 1e-6f);
  CHECK_THROWS_AS(seq.push_back(nullptr), Error);

  auto made = nn::make_sequential(std::make_shared<nn::Linear>(4, 3), std::make_shared<nn::Tanh>());
  CHECK(made->size() == 2);
  CHECK(made->forward(Tensor<float>::zeros({5, 4})).shape() == Shape{5, 3});
}

// ---------------------------------------------------------------------- activation modules

TEST_CASE("nn activations: values") {
  Tensor<float> x{-2.0f, -0.5f, 0.0f, 1.0f, 30.0f};
  auto approx = [](const Tensor<float>& t, std::vector<double> want) {
    std::vector<float> got = t.to_vector();
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i)
      CHECK(double(got[i]) == doctest::Approx(want[i]).epsilon(1e-5));
  };
  approx(nn::ReLU()(x), {0, 0, 0, 1, 30});
  approx(nn::LeakyReLU(0.2)(x), {-0.4, -0.1, 0, 1, 30});
  approx(nn::ELU()(x), {std::exp(-2.0) - 1, std::exp(-0.5) - 1, 0, 1, 30});
  approx(nn::Sigmoid()(x),
         {1 / (1 + std::exp(2.0)), 1 / (1 + std::exp(0.5)), 0.5, 1 / (1 + std::exp(-1.0)), 1});
  approx(nn::Tanh()(x), {std::tanh(-2.0), std::tanh(-0.5), 0, std::tanh(1.0), 1});
  approx(nn::Softplus()(x), {std::log1p(std::exp(-2.0)), std::log1p(std::exp(-0.5)), std::log(2.0),
                             std::log1p(std::exp(1.0)), 30});
  approx(nn::Softplus({.beta = 2.0})(x),
         {std::log1p(std::exp(-4.0)) / 2, std::log1p(std::exp(-1.0)) / 2, std::log(2.0) / 2,
          std::log1p(std::exp(2.0)) / 2, 30});
  approx(nn::SiLU()(x),
         {-2 / (1 + std::exp(2.0)), -0.5 / (1 + std::exp(0.5)), 0, 1 / (1 + std::exp(-1.0)), 30});
  auto gelu = [](double v) { return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); };
  approx(nn::GELU()(x), {gelu(-2), gelu(-0.5), 0, gelu(1), 30});
  auto gelu_tanh = [](double v) {
    return 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
  };
  approx(nn::GELU(GeluApproximate::Tanh)(x), {gelu_tanh(-2), gelu_tanh(-0.5), 0, gelu_tanh(1), 30});
  CHECK(nn::Identity()(x).to_vector() == x.to_vector());

  Tensor<float> img = Tensor<float>::zeros({2, 3, 4, 5});
  CHECK(nn::Flatten()(img).shape() == Shape{2, 60});
  CHECK(nn::Flatten(0)(img).shape() == Shape{120});
  CHECK(nn::Flatten(1, 2)(img).shape() == Shape{2, 12, 5});

  CHECK(nn::LeakyReLU(0.2).repr() == "LeakyReLU(negative_slope=0.2)");
  CHECK(nn::GELU(GeluApproximate::Tanh).repr() == "GELU(approximate='tanh')");
  CHECK(nn::Flatten().repr() == "Flatten(start_dim=1, end_dim=-1)");
}

// ---------------------------------------------------------------------- Dropout

TEST_CASE("nn::Dropout: active only in training, seeded") {
  Tensor<float> x = Tensor<float>::ones({1000});
  nn::Dropout drop({.p = 0.5, .seed = 11});
  Tensor<float> y = drop(x);
  int zeros = 0;
  for (float v : y.to_vector()) {
    CHECK((v == 0.0f || v == 2.0f));  // kept values are scaled by 1 / (1 - p)
    zeros += v == 0.0f;
  }
  CHECK(zeros > 400);
  CHECK(zeros < 600);

  drop.eval();
  CHECK(drop(x).to_vector() == x.to_vector());
  drop.train();
  CHECK(drop(x).to_vector() != x.to_vector());

  // The same seed gives the same mask.
  nn::Dropout d1({.p = 0.3, .seed = 5}), d2({.p = 0.3, .seed = 5});
  CHECK(d1(x).to_vector() == d2(x).to_vector());

  CHECK(nn::Dropout(0.0)(x).to_vector() == x.to_vector());
  CHECK(nn::Dropout(1.0)(x).to_vector() == std::vector<float>(1000, 0.0f));
  CHECK_THROWS_AS(nn::Dropout(1.5), Error);
  CHECK_THROWS_AS(nn::Dropout(-0.1), Error);
}

// ---------------------------------------------------------------------- init

TEST_CASE("nn::init: fans and gains as PyTorch computes them") {
  CHECK(nn::init::calculate_fan_in_and_fan_out({300, 400}) ==
        std::pair<int64_t, int64_t>{400, 300});
  CHECK(nn::init::calculate_fan_in_and_fan_out({64, 3, 5, 7}) ==
        std::pair<int64_t, int64_t>{105, 2240});
  CHECK(nn::init::calculate_fan_in_and_fan_out({8, 4, 3}) == std::pair<int64_t, int64_t>{12, 24});
  CHECK_THROWS_AS(nn::init::calculate_fan_in_and_fan_out({5}), Error);
  using nn::init::Nonlinearity;
  CHECK(nn::init::calculate_gain(Nonlinearity::Linear) == 1.0);
  CHECK(nn::init::calculate_gain(Nonlinearity::Sigmoid) == 1.0);
  CHECK(nn::init::calculate_gain(Nonlinearity::Tanh) == doctest::Approx(5.0 / 3.0));
  CHECK(nn::init::calculate_gain(Nonlinearity::ReLU) == doctest::Approx(std::sqrt(2.0)));
  CHECK(nn::init::calculate_gain(Nonlinearity::LeakyReLU) ==
        doctest::Approx(std::sqrt(2.0 / (1 + 1e-4))));
  CHECK(nn::init::calculate_gain(Nonlinearity::LeakyReLU, std::sqrt(5.0)) ==
        doctest::Approx(std::sqrt(1.0 / 3.0)));
  CHECK(nn::init::calculate_gain(Nonlinearity::SELU) == 0.75);
}

TEST_CASE("nn::init: statistics on big tensors") {
  Generator gen(2024);
  auto stats = [](const Tensor<double>& t) {
    double s = 0, s2 = 0, lo = 1e9, hi = -1e9;
    for (double v : t.to_vector()) {
      s += v;
      s2 += v * v;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    const double n = double(t.numel());
    return std::vector<double>{s / n, std::sqrt(s2 / n - (s / n) * (s / n)), lo, hi};
  };

  Tensor<double> w = Tensor<double>::empty({500, 300});
  nn::init::xavier_uniform_(w, 1.0, gen);
  const double xb = std::sqrt(6.0 / 800.0);
  auto s = stats(w);
  CHECK(s[2] >= -xb);
  CHECK(s[3] <= xb);
  CHECK(s[2] < -0.999 * xb);
  CHECK(s[3] > 0.999 * xb);

  nn::init::xavier_normal_(w, 2.0, gen);
  CHECK(stats(w)[1] == doctest::Approx(2.0 * std::sqrt(2.0 / 800.0)).epsilon(0.02));

  nn::init::kaiming_normal_(w, {.nonlinearity = nn::init::Nonlinearity::ReLU}, gen);
  s = stats(w);
  CHECK(std::abs(s[0]) < 0.01 * s[1]);
  CHECK(s[1] == doctest::Approx(std::sqrt(2.0) / std::sqrt(300.0)).epsilon(0.02));
  nn::init::kaiming_normal_(
      w, {.mode = nn::init::FanMode::FanOut, .nonlinearity = nn::init::Nonlinearity::ReLU}, gen);
  CHECK(stats(w)[1] == doctest::Approx(std::sqrt(2.0) / std::sqrt(500.0)).epsilon(0.02));

  // Conv-shaped weight: fan_in = 16 * 3 * 3.
  Tensor<double> conv = Tensor<double>::empty({64, 16, 3, 3});
  nn::init::kaiming_uniform_(conv, {.a = std::sqrt(5.0)}, gen);
  s = stats(conv);
  const double kb = 1.0 / std::sqrt(144.0);
  CHECK(s[2] >= -kb);
  CHECK(s[3] <= kb);
  CHECK(s[3] > 0.99 * kb);

  nn::init::uniform_(w, -3.0, 5.0, gen);
  s = stats(w);
  CHECK(s[2] >= -3.0);
  CHECK(s[3] < 5.0);
  CHECK(s[0] == doctest::Approx(1.0).epsilon(0.02));
  nn::init::normal_(w, 2.0, 0.5, gen);
  s = stats(w);
  CHECK(s[0] == doctest::Approx(2.0).epsilon(0.01));
  CHECK(s[1] == doctest::Approx(0.5).epsilon(0.02));
  nn::init::trunc_normal_(w, 0.0, 1.0, -1.0, 1.0, gen);
  s = stats(w);
  CHECK(s[2] >= -1.0);
  CHECK(s[3] <= 1.0);
  // The standard normal truncated to [-1, 1] has std 0.5396.
  CHECK(s[1] == doctest::Approx(0.5396).epsilon(0.02));

  nn::init::constant_(w, 0.25);
  CHECK(stats(w)[2] == 0.25);
  CHECK(stats(w)[3] == 0.25);
  nn::init::zeros_(w);
  CHECK(stats(w)[3] == 0.0);
  nn::init::ones_(w);
  CHECK(stats(w)[2] == 1.0);
}

TEST_CASE("nn::init: in place on live parameters, non-contiguous views, deterministic") {
  nn::Linear fc(4, 3);
  Generator a(9), b(9);
  // Parameters are leaves that require grad: init writes them under NoGradGuard itself.
  nn::init::xavier_uniform_(fc.weight, 1.0, a);
  Tensor<float> expect = Tensor<float>::empty({3, 4});
  nn::init::xavier_uniform_(expect, 1.0, b);
  CHECK(fc.weight.to_vector() == expect.to_vector());
  CHECK(fc.weight.requires_grad());

  // A transposed view is filled in its own row-major order.
  Tensor<double> base = Tensor<double>::zeros({3, 2});
  Generator c(1), d(1);
  nn::init::uniform_(base.t(), 0.0, 1.0, c);
  Tensor<double> direct = Tensor<double>::rand({2, 3}, d);
  CHECK(base.t().to_vector() == direct.to_vector());

  // Complex tensors get both parts.
  Tensor<std::complex<float>> z = Tensor<std::complex<float>>::zeros({4, 4});
  nn::init::normal_(z, 0.0, 1.0, a);
  CHECK(z.to_vector()[0].imag() != 0.0f);

  CHECK_THROWS_AS(nn::init::xavier_uniform_(Tensor<float>::zeros({5})), Error);
  CHECK_THROWS_AS(nn::init::uniform_(Tensor<float>::zeros({5}), 1.0, 0.0), Error);
  CHECK_THROWS_AS(nn::init::normal_(Tensor<float>::zeros({5}), 0.0, -1.0), Error);
}
