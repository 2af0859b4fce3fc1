// Models of nn/models: golden values of one ResNet BasicBlock (projection and identity
// shortcut), one GPT block and a tiny whole GPT against PyTorch (tests/fixtures/models,
// written by make_fixtures.py from torch_peer.py's classes in float64 on float32-representable
// weights; compared here with ember's float32 modules, max |ember - torch| <= 1e-5 * max |torch|
// per tensor), parameter counts against PyTorch's, output shapes, one training step lowering the
// loss for each model, and errors on bad input.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <ember/core/tensor.hpp>
#include <ember/nn/functional/loss.hpp>
#include <ember/nn/models/gpt.hpp>
#include <ember/nn/models/resnet.hpp>
#include <ember/nn/models/vgg.hpp>
#include <ember/nn/models/vit.hpp>
#include <ember/optim/adam.hpp>
#include <ember/optim/sgd.hpp>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#ifndef EMBER_SOURCE_DIR
#error "EMBER_SOURCE_DIR must name the source tree (the tests read tests/fixtures/)"
#endif

using namespace ember;
namespace models = ember::nn::models;
namespace F = ember::nn::functional;

namespace {

struct Record {
  Shape shape;
  std::vector<double> values;
};

// tests/fixtures/models/models.bin: u32 name length, name, u32 ndim, i64 shape, f64 values.
const std::map<std::string, Record>& fixtures() {
  static const std::map<std::string, Record> records = [] {
    std::ifstream f(EMBER_SOURCE_DIR "/tests/fixtures/models/models.bin", std::ios::binary);
    EMBER_CHECK(f.good(), "models fixtures: cannot open tests/fixtures/models/models.bin");
    std::ostringstream ss;
    ss << f.rdbuf();
    const std::string blob = ss.str();
    size_t pos = 0;
    auto read = [&](void* dst, size_t n) {
      EMBER_CHECK(pos + n <= blob.size(), "models fixtures: truncated file");
      std::memcpy(dst, blob.data() + pos, n);
      pos += n;
    };
    std::map<std::string, Record> out;
    while (pos < blob.size()) {
      uint32_t len = 0, ndim = 0;
      read(&len, 4);
      std::string name(len, '\0');
      read(name.data(), len);
      read(&ndim, 4);
      Record r;
      r.shape.resize(ndim);
      int64_t numel = 1;
      for (uint32_t d = 0; d < ndim; ++d) {
        read(&r.shape[d], 8);
        numel *= r.shape[d];
      }
      r.values.resize(size_t(numel));
      read(r.values.data(), size_t(numel) * 8);
      out.emplace(std::move(name), std::move(r));
    }
    return out;
  }();
  return records;
}

const Record& rec(const std::string& name) {
  auto it = fixtures().find(name);
  EMBER_CHECK(it != fixtures().end(), "models fixtures: no record '", name, "'");
  return it->second;
}

template <class T>
Tensor<T> get(const std::string& name) {
  const Record& r = rec(name);
  auto t = Tensor<T>::empty(r.shape);
  for (size_t i = 0; i < r.values.size(); ++i) t.data_ptr()[i] = T(r.values[i]);
  return t;
}

// "" when max |a - ref| <= rtol * max |ref| (and the shapes agree), else a description.
std::string compare(const Tensor<float>& a, const std::string& ref_name, double rtol = 1e-5) {
  const Record& r = rec(ref_name);
  if (!a.defined()) return ref_name + ": undefined";
  if (a.shape() != r.shape)
    return ref_name + ": shape " + shape_str(a.shape()) + " vs " + shape_str(r.shape);
  const std::vector<float> v = a.contiguous().to_vector();
  double err = 0, scale = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    err = std::max(err, std::abs(double(v[i]) - r.values[i]));
    scale = std::max(scale, std::abs(r.values[i]));
  }
  if (err <= rtol * scale && std::isfinite(err)) return "";
  return ref_name + ": max error " + std::to_string(err) + " vs max |ref| " + std::to_string(scale);
}

// Loads every "<prefix>.<param or buffer>" record into m (strictly: the names must match).
void load(nn::Module& m, const std::string& prefix) {
  StateDict sd;
  for (auto& [name, t] : m.state_dict()) {
    const std::string key = prefix + "." + name;
    if (t.impl->dtype == DType::Int64)
      sd.emplace_back(name, AnyTensor(get<int64_t>(key)));
    else
      sd.emplace_back(name, AnyTensor(get<float>(key)));
  }
  m.load_state_dict(sd);
}

// Forward, backward of the stored upstream gradient, and every comparison of a case.
void check_case(nn::Layer& m, const std::string& prefix) {
  load(m, prefix);
  m.train();
  auto x = get<float>(prefix + ".input").requires_grad_();
  Tensor<float> out = m.forward(x);
  CHECK(compare(out, prefix + ".output") == "");
  out.backward(get<float>(prefix + ".upstream"));
  CHECK(compare(x.grad(), prefix + ".grad.input") == "");
  int n = 0;
  for (auto& [name, p] : m.named_parameters()) {
    CHECK(compare(Tensor<float>(p.impl).grad(), prefix + ".grad." + name) == "");
    ++n;
  }
  CHECK(n > 0);
  for (auto& [name, b] : m.named_buffers())
    if (name.find("running") != std::string::npos)
      CHECK(compare(Tensor<float>(b.impl), prefix + ".after." + name) == "");
}

template <class Model, class Input, class Loss, class Opt>
void check_step_lowers_loss(Model& model, const Input& x, Loss loss_of, Opt& opt, int steps) {
  const float before = loss_of(model, x).item();
  for (int i = 0; i < steps; ++i) {
    opt.zero_grad();
    Tensor<float> loss = loss_of(model, x);
    loss.backward();
    opt.step();
  }
  const float after = loss_of(model, x).item();
  CHECK(std::isfinite(after));
  CHECK(after < before);
}

}  // namespace

TEST_CASE("models: BasicBlock matches PyTorch (projection and identity shortcut)") {
  Generator gen(1);
  models::BasicBlock block(4, 8, 2, gen);
  CHECK(block.shortcut != nullptr);
  check_case(block, "block");

  models::BasicBlock same(4, 4, 1, gen);
  CHECK(same.shortcut == nullptr);
  check_case(same, "block_id");
}

TEST_CASE("models: GPT block and tiny GPT match PyTorch") {
  Generator gen(2);
  models::GPTBlock block(16, 2, gen);
  check_case(block, "gptblock");

  // Whole model: vocab 11, ctx 8, d 8, 2 heads, 2 layers; the tied wte gets the gradient of
  // the embedding lookup plus that of the LM head.
  models::GPT gpt({.vocab_size = 11, .block_size = 8, .n_embd = 8, .n_head = 2, .n_layer = 2}, gen);
  load(gpt, "gpt");
  const Tensor<int64_t> idx = get<int64_t>("gpt.input");
  Tensor<float> logits = gpt(idx);
  CHECK(compare(logits, "gpt.output") == "");
  logits.backward(get<float>("gpt.upstream"));
  int n = 0;
  for (auto& [name, p] : gpt.named_parameters()) {
    CHECK(compare(Tensor<float>(p.impl).grad(), "gpt.grad." + name) == "");
    ++n;
  }
  CHECK(n == 2 + 2 * 12 + 2);
}

TEST_CASE("models: parameter counts and names equal PyTorch's") {
  Generator gen(3);
  // torch_peer.py's CIFAR ResNet18(classes=10): 11,173,962 (make_fixtures.py prints it).
  auto r18 = models::resnet18({.num_classes = 10, .cifar_stem = true}, gen);
  CHECK(r18->num_parameters() == 11173962);
  const StateDict sd = r18->state_dict();
  auto has = [&](const StateDict& s, const std::string& k) {
    for (auto& [name, t] : s)
      if (name == k) return true;
    return false;
  };
  CHECK(has(sd, "stem.0.weight"));
  CHECK(has(sd, "stem.1.running_var"));
  CHECK(has(sd, "layers.2.short.0.weight"));
  CHECK(has(sd, "layers.7.b2.num_batches_tracked"));
  CHECK(has(sd, "fc.bias"));
  CHECK_FALSE(has(sd, "layers.1.short.0.weight"));  // identity shortcut
  // 62 parameter tensors + 3 buffers per BatchNorm (20 of them) = 122 entries, as PyTorch's.
  CHECK(sd.size() == 122);

  // torchvision: resnet18 11,689,512 and resnet34 21,797,672 (1000 classes, ImageNet stem).
  auto r34 = models::resnet34({}, gen);
  CHECK(r34->num_parameters() == 21797672);
  CHECK(models::resnet18({}, gen)->num_parameters() == 11689512);
  CHECK(models::torchvision_key("layers.2.short.0.weight", {2, 2, 2, 2}) ==
        "layer2.0.downsample.0.weight");
  CHECK(models::torchvision_key("layers.15.b2.bias", {3, 4, 6, 3}) == "layer4.2.bn2.bias");
  CHECK(models::torchvision_key("stem.1.running_mean", {2, 2, 2, 2}) == "bn1.running_mean");
  CHECK(models::torchvision_key("fc.weight", {2, 2, 2, 2}) == "fc.weight");

  // torch_peer.py's GPT(2048, 128, 128, 4, 2): 675,328, the tied head counted once.
  models::GPT gpt({}, gen);
  CHECK(gpt.num_parameters() == 675328);
  CHECK(gpt.parameters().size() == 2 + 2 * 12 + 2);
  CHECK(has(gpt.state_dict(), "blocks.1.qkv.weight"));
  CHECK(has(gpt.state_dict(), "blocks.0.ln1.bias"));
}

TEST_CASE("models: output shapes") {
  Generator gen(4);
  auto r18 = models::resnet18({.num_classes = 10, .cifar_stem = true}, gen);
  CHECK(r18->forward(Tensor<float>::randn({2, 3, 32, 32}, gen)).shape() == Shape{2, 10});
  auto imagenet = models::resnet18({.num_classes = 7}, gen);
  CHECK(imagenet->forward(Tensor<float>::randn({1, 3, 64, 64}, gen)).shape() == Shape{1, 7});

  models::ViT vit({.image_size = 16,
                   .patch_size = 4,
                   .num_classes = 5,
                   .dim = 32,
                   .depth = 2,
                   .heads = 4,
                   .mlp_dim = 64},
                  gen);
  CHECK(vit.forward(Tensor<float>::randn({3, 3, 16, 16}, gen)).shape() == Shape{3, 5});
  CHECK(vit.pos_embed->weight.shape() == Shape{17, 32});

  models::VGG vgg({.cfg = {8, models::VGGOptions::kPool, 16, models::VGGOptions::kPool},
                   .num_classes = 4,
                   .hidden = 32},
                  gen);
  CHECK(vgg.forward(Tensor<float>::randn({2, 3, 16, 16}, gen)).shape() == Shape{2, 4});

  models::GPT gpt({.vocab_size = 50, .block_size = 16, .n_embd = 16, .n_head = 2, .n_layer = 1},
                  gen);
  CHECK(gpt(Tensor<int64_t>::randint(0, 50, {3, 7}, gen)).shape() == Shape{3, 7, 50});
}

TEST_CASE("models: one training step lowers the loss on a fixed batch") {
  Generator gen(5);
  auto ce = [](auto& m, const std::pair<Tensor<float>, Tensor<int64_t>>& b) {
    return F::cross_entropy(m.forward(b.first), b.second);
  };
  const auto images = std::make_pair(Tensor<float>::randn({4, 3, 8, 8}, gen),
                                     Tensor<int64_t>::randint(0, 10, {4}, gen));
  SUBCASE("ResNet (CIFAR stem, one block per stage)") {
    models::ResNet net({1, 1, 1, 1}, {.num_classes = 10, .cifar_stem = true}, gen);
    optim::SGD opt(net.parameters(), {.lr = 0.02, .momentum = 0.9, .weight_decay = 5e-4});
    check_step_lowers_loss(net, images, ce, opt, 2);
  }
  SUBCASE("VGG") {
    models::VGG net({.cfg = {8, models::VGGOptions::kPool, 16}, .hidden = 16, .dropout = 0.0}, gen);
    optim::SGD opt(net.parameters(), {.lr = 0.05, .momentum = 0.9});
    check_step_lowers_loss(net, images, ce, opt, 2);
  }
  SUBCASE("ViT") {
    models::ViT net(
        {.image_size = 8, .patch_size = 4, .dim = 16, .depth = 1, .heads = 2, .mlp_dim = 32}, gen);
    optim::AdamW opt(net.parameters(), {.lr = 3e-3});
    check_step_lowers_loss(net, images, ce, opt, 2);
  }
  SUBCASE("GPT") {
    models::GPT net({.vocab_size = 32, .block_size = 16, .n_embd = 16, .n_head = 2, .n_layer = 2},
                    gen);
    const Tensor<int64_t> tok = Tensor<int64_t>::randint(0, 32, {2, 9}, gen);
    const Tensor<int64_t> x = tok.narrow(1, 0, 8).contiguous(),
                          y = tok.narrow(1, 1, 8).contiguous();
    auto next_token = [&](models::GPT& m, const Tensor<int64_t>& in) {
      return F::cross_entropy(m(in).reshape({-1, 32}), y.reshape({-1}));
    };
    optim::AdamW opt(net.parameters(), {.lr = 3e-3, .weight_decay = 0.1});
    check_step_lowers_loss(net, x, next_token, opt, 2);
  }
}

TEST_CASE("models: bad input throws ember::Error") {
  Generator gen(6);
  models::BasicBlock block(4, 8, 2, gen);
  CHECK_THROWS_AS(block.forward(Tensor<float>::randn({1, 3, 6, 6}, gen)), ember::Error);
  CHECK_THROWS_AS(models::BasicBlock(0, 8, 1, gen), ember::Error);
  CHECK_THROWS_AS(models::ResNet({2, 2, 2}, {}, gen), ember::Error);
  CHECK_THROWS_AS(models::GPTBlock(10, 3, gen), ember::Error);
  models::GPT gpt({.vocab_size = 10, .block_size = 4, .n_embd = 8, .n_head = 2, .n_layer = 1}, gen);
  CHECK_THROWS_AS(gpt(Tensor<int64_t>::zeros({1, 5})), ember::Error);  // T > block_size
  CHECK_THROWS_AS(gpt(Tensor<int64_t>::zeros({5})), ember::Error);
  CHECK_THROWS_AS(models::ViT({.image_size = 10, .patch_size = 4}, gen), ember::Error);
  models::ViT vit({.image_size = 8, .patch_size = 4, .dim = 16, .depth = 1, .heads = 2}, gen);
  CHECK_THROWS_AS(vit.forward(Tensor<float>::randn({1, 3, 12, 12}, gen)), ember::Error);
  CHECK_THROWS_AS(models::VGG({.cfg = {8, -1}}, gen), ember::Error);
  models::VGG vgg({.cfg = {8}, .hidden = 0}, gen);
  CHECK_THROWS_AS(vgg.forward(Tensor<float>::randn({1, 1, 8, 8}, gen)), ember::Error);
}
