// Whole models on the GPU: nn::Module::to moves a model to cuda:0 in place, and the moved model
// trains like its CPU twin (same seed, same values): the same loss, the same parameter
// gradients, and after SGD / AdamW steps the same parameters and buffers. Included by
// test_cuda_agreement.cpp after its helpers (rel_error, randn, kGpu).
//
// Tolerance: 1e-4 relative (float32), not the per-op 1e-5. A model's loss and gradients go
// through a dozen layers of GEMMs and reductions whose summation order differs between
// OpenBLAS and cuBLAS, and the batch-norm / layer-norm statistics, the embedding adjoint
// (atomics) and the pooling adjoint change it again, so the per-op last-bit differences
// compound. Integer buffers (num_batches_tracked) compare exactly.
#pragma once

#include <ember/nn/activation.hpp>
#include <ember/nn/conv.hpp>
#include <ember/nn/functional/loss.hpp>
#include <ember/nn/linear.hpp>
#include <ember/nn/models/gpt.hpp>
#include <ember/nn/models/resnet.hpp>
#include <ember/nn/norm.hpp>
#include <ember/nn/pool.hpp>
#include <ember/nn/sequential.hpp>
#include <ember/optim/adam.hpp>
#include <ember/optim/sgd.hpp>

namespace {

constexpr double kModelTol = 1e-4;

// conv + batch norm + relu, a BasicBlock with a strided projection shortcut, global average
// pool and a linear head: every kind of layer of resnet18_step, small enough for the CPU twin.
std::shared_ptr<nn::Sequential> tiny_resnet(Generator& gen) {
  return nn::make_sequential(
      std::make_shared<nn::Conv2d>(3, 8, 3, nn::Conv2dOptions{.padding = 1, .bias = false}, gen),
      std::make_shared<nn::BatchNorm2d>(8), std::make_shared<nn::ReLU>(),
      std::make_shared<nn::models::BasicBlock>(8, 16, 2, gen),
      std::make_shared<nn::AdaptiveAvgPool2d>(1), std::make_shared<nn::Flatten>(),
      std::make_shared<nn::Linear>(16, 10, nn::LinearOptions{}, gen));
}

nn::models::GPTConfig tiny_gpt_config() {
  return {.vocab_size = 64, .block_size = 16, .n_embd = 32, .n_head = 4, .n_layer = 2};
}

// The impls of m's state_dict, in order: Module::to must keep every one of them.
std::vector<ImplPtr> state_impls(const nn::Module& m) {
  std::vector<ImplPtr> out;
  for (const auto& [name, t] : m.state_dict()) out.push_back(t.impl);
  return out;
}

// After gpu.to(kGpu): the same tensors as before (impls), now contiguous on the GPU, parameters
// still requiring grad.
void check_moved(const nn::Module& gpu, const std::vector<ImplPtr>& before) {
  const StateDict sd = gpu.state_dict();
  REQUIRE(sd.size() == before.size());
  for (size_t i = 0; i < sd.size(); ++i) {
    CAPTURE(sd[i].first);
    CHECK(sd[i].second.impl == before[i]);
    CHECK(sd[i].second.impl->storage->device() == kGpu);
    CHECK(sd[i].second.impl->is_contiguous());
    CHECK(sd[i].second.impl->offset == 0);
  }
  for (const auto& [name, p] : gpu.named_parameters()) {
    CAPTURE(name);
    CHECK(p.impl->requires_grad);
  }
}

// Every parameter and buffer of the GPU model against its CPU twin (same names, same order).
void check_same_state(const nn::Module& gpu, const nn::Module& cpu) {
  const StateDict g = gpu.state_dict(), c = cpu.state_dict();
  REQUIRE(g.size() == c.size());
  for (size_t i = 0; i < g.size(); ++i) {
    CAPTURE(g[i].first);
    REQUIRE(g[i].first == c[i].first);
    CHECK(g[i].second.impl->storage->device() == kGpu);
    const DType d = c[i].second.impl->dtype;
    if (d == DType::Float32) {
      CHECK(rel_error(Tensor<float>(g[i].second.impl), Tensor<float>(c[i].second.impl)) <=
            kModelTol);
    } else {
      REQUIRE(d == DType::Int64);
      CHECK(Tensor<int64_t>(g[i].second.impl).to(Device::cpu()).to_vector() ==
            Tensor<int64_t>(c[i].second.impl).to_vector());
    }
  }
}

// Every parameter's gradient of the GPU model against its CPU twin.
void check_same_grads(const nn::Module& gpu, const nn::Module& cpu) {
  const StateDict g = gpu.named_parameters(), c = cpu.named_parameters();
  REQUIRE(g.size() == c.size());
  for (size_t i = 0; i < g.size(); ++i) {
    CAPTURE(g[i].first);
    REQUIRE(g[i].first == c[i].first);
    REQUIRE(c[i].second.impl->grad != nullptr);
    REQUIRE(g[i].second.impl->grad != nullptr);
    CHECK(g[i].second.impl->grad->storage->device() == kGpu);
    CHECK(rel_error(Tensor<float>(g[i].second.impl->grad), Tensor<float>(c[i].second.impl->grad)) <=
          kModelTol);
  }
}

}  // namespace

TEST_CASE("cuda: Module::to, a small ResNet with SGD made before the move") {
  Generator gen_cpu(5), gen_gpu(5);
  auto cpu = tiny_resnet(gen_cpu), gpu = tiny_resnet(gen_gpu);
  const optim::SGDOptions o{.lr = 0.1, .momentum = 0.9, .weight_decay = 5e-4};
  optim::SGD cpu_opt(cpu->parameters(), o);
  optim::SGD gpu_opt(gpu->parameters(), o);  // holds the parameters before they move
  const Tensor<float> conv_w = std::static_pointer_cast<nn::Conv2d>((*gpu)[0])->weight;
  const std::vector<ImplPtr> before = state_impls(*gpu);

  nn::Module& moved = gpu->to(kGpu);
  CHECK(&moved == gpu.get());
  check_moved(*gpu, before);
  CHECK(conv_w.device() == kGpu);  // a handle taken before the move sees it
  gpu->to(kGpu);                   // already there: nothing changes
  check_moved(*gpu, before);

  Generator data(6);
  const auto x = Tensor<float>::randn({4, 3, 8, 8}, data);
  const auto y = Tensor<int64_t>::randint(0, 10, {4}, data);
  const auto xg = x.to(kGpu);
  const auto yg = y.to(kGpu);
  for (int step = 0; step < 2; ++step) {  // the second step reads the momentum buffers
    CAPTURE(step);
    cpu_opt.zero_grad();
    gpu_opt.zero_grad();
    const Tensor<float> loss_cpu = nn::functional::cross_entropy(cpu->forward(x), y);
    const Tensor<float> loss_gpu = nn::functional::cross_entropy(gpu->forward(xg), yg);
    REQUIRE(loss_gpu.device() == kGpu);
    CHECK(rel_error(loss_gpu, loss_cpu) <= kModelTol);
    loss_cpu.backward();
    loss_gpu.backward();
    check_same_grads(*gpu, *cpu);
    cpu_opt.step();
    gpu_opt.step();
    check_same_state(*gpu, *cpu);  // parameters, running statistics, num_batches_tracked
  }
}

TEST_CASE("cuda: Module::to, a tiny GPT (tied head) with AdamW, moved after a CPU step") {
  Generator gen_cpu(8), gen_gpu(8);
  nn::models::GPT cpu(tiny_gpt_config(), gen_cpu), gpu(tiny_gpt_config(), gen_gpu);
  const optim::AdamWOptions o{.lr = 1e-3, .weight_decay = 0.1};
  optim::AdamW cpu_opt(cpu.parameters(), o);
  optim::AdamW gpu_opt(gpu.parameters(), o);

  Generator data(9);
  const int64_t T = 12;  // below block_size: some wpe rows get no gradient
  const auto tok = Tensor<int64_t>::randint(0, 64, {3, T + 1}, data);
  const auto x = tok.narrow(1, 0, T).contiguous();
  const auto y = tok.narrow(1, 1, T).contiguous().reshape({-1});
  auto loss_of = [&](nn::models::GPT& m, const Tensor<int64_t>& idx, const Tensor<int64_t>& tgt) {
    return nn::functional::cross_entropy(m.forward(idx).reshape({-1, 64}), tgt);
  };

  // One step of both twins on the CPU: the GPU twin's Adam state and gradients exist on the
  // CPU when it moves (the gradients move with the model, the state follows at the next step).
  auto cpu_step = [&](nn::models::GPT& m, optim::AdamW& opt) {
    opt.zero_grad();
    loss_of(m, x, y).backward();
    opt.step();
  };
  cpu_step(cpu, cpu_opt);
  cpu_step(gpu, gpu_opt);
  const ImplPtr wte = gpu.wte->weight.impl();
  const size_t n_params = gpu.parameters().size();
  const std::vector<ImplPtr> before = state_impls(gpu);
  gpu.to(kGpu);
  check_moved(gpu, before);
  CHECK(gpu.wte->weight.impl() == wte);  // the tied head still is the token embedding
  CHECK(gpu.parameters().size() == n_params);
  CHECK(gpu.wte->weight.grad().device() == kGpu);  // moved with its tensor
  check_same_state(gpu, cpu);

  const auto xg = x.to(kGpu);
  const auto yg = y.to(kGpu);
  for (int step = 0; step < 2; ++step) {
    CAPTURE(step);
    cpu_opt.zero_grad();
    gpu_opt.zero_grad();
    const Tensor<float> loss_cpu = loss_of(cpu, x, y), loss_gpu = loss_of(gpu, xg, yg);
    REQUIRE(loss_gpu.device() == kGpu);
    CHECK(rel_error(loss_gpu, loss_cpu) <= kModelTol);
    loss_cpu.backward();
    loss_gpu.backward();
    check_same_grads(gpu, cpu);
    cpu_opt.step();
    gpu_opt.step();  // the moments move from the CPU to the GPU here (step 0)
    check_same_state(gpu, cpu);
  }
}

TEST_CASE("cuda: Module::to back to the CPU restores a model that runs there") {
  Generator gen(10);
  auto net = tiny_resnet(gen);
  const StateDict sd = net->state_dict();
  std::vector<std::vector<float>> values;
  for (const auto& [name, t] : sd)
    if (t.impl->dtype == DType::Float32) values.push_back(Tensor<float>(t.impl).to_vector());
  net->to(kGpu).to(Device::cpu());
  size_t k = 0;
  for (const auto& [name, t] : net->state_dict()) {
    CAPTURE(name);
    CHECK(t.impl->storage->device() == Device::cpu());
    if (t.impl->dtype == DType::Float32)
      CHECK(Tensor<float>(t.impl).to_vector() == values[k++]);  // bit-exact round trip
  }
  CHECK(net->forward(randn<float>({2, 3, 8, 8}, 11)).device() == Device::cpu());
}
