// The model-step workloads of ../shared/bench/WORKLOADS.md, as torch_peer.py runs them:
//   resnet18_step: CIFAR ResNet-18, batch 16 (gpu size 256) of 3x32x32 normal(0,1) images with
//     uniform labels, cross-entropy, SGD lr 0.1 momentum 0.9 weight decay 5e-4;
//   gpt_step: GPT vocab 2048, ctx 128, d 128, 4 heads, 2 layers, batch 8 (gpu size: GPT-2 small),
//     tokens [8, ctx + 1] uniform, cross-entropy on the next token, AdamW lr 3e-4 wd 0.1;
//   mlp_step: MLP 256 -> 256 -> 256 -> 256 -> 10 with ReLU between, batch 64 at both sizes,
//     cross-entropy, Adam lr 1e-3 (many small ops: it measures per-op overhead, not FLOPs);
//   grad_match_step: one step of dataset distillation by gradient matching on ConvNet-3
//     (3 x [conv 3x3 pad 1 + bias, ReLU, avg-pool 2], flatten, linear 10), width 32 on 10 1x28x28
//     synthetic images against 32 real ones (gpu size: width 128, 100 / 256 images of 3x32x32):
//     real gradients (detached), synthetic gradients with create_graph, the layer-wise cosine
//     distance between them, its backward to the synthetic images, SGD lr 0.1 momentum 0.5.
// One iteration = zero_grad, forward, loss, backward, optimizer step (grad_match_step: the
// sequence above, which has two forwards and a double backward).
// The size comes from EMBER_BENCH_SIZE (cpu by default). Run through bench/run for JSON lines.
// In a CUDA build (EMBER_WITH_CUDA) each also runs as "<workload>/cuda": the model moved to
// cuda:0 with Module::to, the batch copied there once, the stream synchronised after each step
// so the time is the GPU's.
//
// `bench_models --steps NAME N` runs N plain steps of workload NAME (no timing) and exits, for
// measuring peak memory with /usr/bin/time -f %M.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <ember/core/tensor.hpp>
#include <ember/nn/activation.hpp>
#include <ember/nn/conv.hpp>
#include <ember/nn/functional/loss.hpp>
#include <ember/nn/linear.hpp>
#include <ember/nn/models/gpt.hpp>
#include <ember/nn/models/resnet.hpp>
#include <ember/nn/pool.hpp>
#include <ember/nn/sequential.hpp>
#include <ember/optim/adam.hpp>
#include <ember/optim/sgd.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>
#ifdef EMBER_WITH_CUDA
#include <ember/backend/cuda/api.hpp>
#endif

#include "bench_common.hpp"

using namespace ember;
namespace models = ember::nn::models;

namespace {

using namespace ember::bench;

// A workload: its state lives in the closure; each call is one training step on `device`
// (the values are drawn on the CPU first, so both devices train the same model on the same
// batch).
std::function<void()> make_resnet18_step(Device device = Device::cpu()) {
  const int64_t batch = gpu_size() ? 256 : 16;
  Generator gen(0);
  auto net = models::resnet18({.num_classes = 10, .cifar_stem = true}, gen);
  net->to(device);
  auto opt = std::make_shared<optim::SGD>(
      net->parameters(), optim::SGDOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 5e-4});
  auto x = Tensor<float>::randn({batch, 3, 32, 32}, gen).to(device);
  auto y = Tensor<int64_t>::randint(0, 10, {batch}, gen).to(device);
  return [net, opt, x, y] {
    opt->zero_grad();
    Tensor<float> loss = nn::functional::cross_entropy(net->forward(x), y);
    loss.backward();
    opt->step();
  };
}

std::function<void()> make_gpt_step(Device device = Device::cpu()) {
  const models::GPTConfig c =
      gpu_size()
          ? models::GPTConfig{.vocab_size = 50257,
                              .block_size = 1024,
                              .n_embd = 768,
                              .n_head = 12,
                              .n_layer = 12}
          : models::GPTConfig{
                .vocab_size = 2048, .block_size = 128, .n_embd = 128, .n_head = 4, .n_layer = 2};
  const int64_t batch = 8;
  Generator gen(0);
  auto gpt = std::make_shared<models::GPT>(c, gen);
  gpt->to(device);
  auto opt = std::make_shared<optim::AdamW>(gpt->parameters(),
                                            optim::AdamWOptions{.lr = 3e-4, .weight_decay = 0.1});
  auto tok = Tensor<int64_t>::randint(0, c.vocab_size, {batch, c.block_size + 1}, gen);
  auto x = tok.narrow(1, 0, c.block_size).contiguous().to(device);
  auto y = tok.narrow(1, 1, c.block_size).contiguous().reshape({-1}).to(device);
  return [gpt, opt, x, y, c] {
    opt->zero_grad();
    Tensor<float> loss =
        nn::functional::cross_entropy(gpt->forward(x).reshape({-1, c.vocab_size}), y);
    loss.backward();
    opt->step();
  };
}

std::function<void()> make_mlp_step(Device device = Device::cpu()) {
  const int64_t batch = 64;  // the gpu size too: there the step measures launch overhead
  const std::vector<int64_t> dims{256, 256, 256, 256, 10};
  Generator gen(0);
  auto mlp = std::make_shared<nn::Sequential>();
  for (size_t i = 0; i + 1 < dims.size(); ++i) {
    mlp->push_back(std::make_shared<nn::Linear>(dims[i], dims[i + 1], gen));
    if (i + 2 < dims.size()) mlp->push_back(std::make_shared<nn::ReLU>());
  }
  mlp->to(device);
  auto opt = std::make_shared<optim::Adam>(mlp->parameters(), optim::AdamOptions{.lr = 1e-3});
  auto x = Tensor<float>::randn({batch, dims.front()}, gen).to(device);
  auto y = Tensor<int64_t>::randint(0, dims.back(), {batch}, gen).to(device);
  return [mlp, opt, x, y] {
    opt->zero_grad();
    Tensor<float> loss = nn::functional::cross_entropy(mlp->forward(x), y);
    loss.backward();
    opt->step();
  };
}

// torch_peer.py's match_distance: the sum over weight tensors (biases, the 1-D gradients, are
// skipped) of sum over output rows of 1 - cos(gs row, gr row), each gradient seen as
// [out, everything else]. cosine_similarity clamps each norm at eps as PyTorch 2 does.
Tensor<float> match_distance(const std::vector<Tensor<float>>& gs,
                             const std::vector<Tensor<float>>& gr) {
  Tensor<float> d;
  for (size_t i = 0; i < gs.size(); ++i) {
    if (gs[i].dim() == 1) continue;
    const int64_t rows = gs[i].shape()[0];
    const Tensor<float> cos = nn::functional::cosine_similarity(gs[i].reshape({rows, -1}),
                                                                gr[i].reshape({rows, -1}), 1, 1e-6);
    const Tensor<float> term = sum(rsub(cos, 1.0f));
    d = d.defined() ? add(d, term) : term;
  }
  return d;
}

std::function<void()> make_grad_match_step(Device device = Device::cpu()) {
  const bool big = gpu_size();
  const int64_t channels = big ? 3 : 1, hw = big ? 32 : 28, width = big ? 128 : 32;
  const int64_t n_syn = big ? 100 : 10, n_real = big ? 256 : 32;
  Generator gen(0);
  // ConvNet-3 as dataset condensation uses it (no normalisation): 3 x (conv 3x3 pad 1 with
  // bias, ReLU, avg-pool 2), flatten, linear to 10 classes. Parameters come out in the peer's
  // order (each conv's weight and bias, then the linear's).
  auto net = std::make_shared<nn::Sequential>();
  int64_t c = channels, side = hw;
  for (int layer = 0; layer < 3; ++layer) {
    net->push_back(std::make_shared<nn::Conv2d>(c, width, 3, nn::Conv2dOptions{.padding = 1}, gen));
    net->push_back(std::make_shared<nn::ReLU>());
    net->push_back(std::make_shared<nn::AvgPool2d>(2));
    c = width;
    side /= 2;
  }
  net->push_back(std::make_shared<nn::Flatten>());
  net->push_back(std::make_shared<nn::Linear>(width * side * side, 10, gen));
  net->to(device);
  std::vector<Tensor<float>> params;
  for (const AnyTensor& p : net->parameters()) params.emplace_back(p.impl);

  // The synthetic images are what is trained (labels 0..9 repeating); the network is fixed.
  auto syn = Tensor<float>::randn({n_syn, channels, hw, hw}, gen).to(device);
  syn.requires_grad_();
  std::vector<int64_t> labels(size_t(n_syn), 0);
  for (int64_t i = 0; i < n_syn; ++i) labels[size_t(i)] = i % 10;
  auto ysyn = Tensor<int64_t>::from_vector(labels, {n_syn}).to(device);
  auto xreal = Tensor<float>::randn({n_real, channels, hw, hw}, gen).to(device);
  auto yreal = Tensor<int64_t>::randint(0, 10, {n_real}, gen).to(device);
  auto opt = std::make_shared<optim::SGD>(std::vector<AnyTensor>{syn},
                                          optim::SGDOptions{.lr = 0.1, .momentum = 0.5});
  return [net, params, syn, ysyn, xreal, yreal, opt] {
    std::vector<Tensor<float>> gr =
        ember::grad<float>({nn::functional::cross_entropy(net->forward(xreal), yreal)}, params);
    for (Tensor<float>& g : gr) g = g.detach();
    const std::vector<Tensor<float>> gs =
        ember::grad<float>({nn::functional::cross_entropy(net->forward(syn), ysyn)}, params, {},
                           {.create_graph = true});
    opt->zero_grad();
    // As in the peer, this also accumulates into the network's .grad() (never read): part of
    // the cost of backward through the double-backward graph.
    match_distance(gs, gr).backward();
    opt->step();
  };
}

void run(benchmark::State& state, std::function<void()> (*make)(Device)) {
  auto step = make(Device::cpu());
  for (int i = 0; i < 2; ++i) step();  // warm-up (momentum / Adam state allocated)
  for (auto _ : state) step();
}

void resnet18_step(benchmark::State& state) { run(state, make_resnet18_step); }
void gpt_step(benchmark::State& state) { run(state, make_gpt_step); }
void mlp_step(benchmark::State& state) { run(state, make_mlp_step); }
void grad_match_step(benchmark::State& state) { run(state, make_grad_match_step); }

#ifdef EMBER_WITH_CUDA

void run_cuda(benchmark::State& state, std::function<void()> (*make)(Device)) {
  if (!have_gpu(state)) return;
  auto step = make(kGpu);
  for (int i = 0; i < 2; ++i) step();  // warm-up (state and the memory pool's blocks allocated)
  sync_gpu();
  for (auto _ : state) {
    step();
    sync_gpu();
  }
}

void resnet18_step_cuda(benchmark::State& state) { run_cuda(state, make_resnet18_step); }
void gpt_step_cuda(benchmark::State& state) { run_cuda(state, make_gpt_step); }
void mlp_step_cuda(benchmark::State& state) { run_cuda(state, make_mlp_step); }
void grad_match_step_cuda(benchmark::State& state) { run_cuda(state, make_grad_match_step); }

#endif  // EMBER_WITH_CUDA

}  // namespace

BENCHMARK(resnet18_step)->Name("resnet18_step/cpu")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(gpt_step)->Name("gpt_step/cpu")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(mlp_step)->Name("mlp_step/cpu")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(grad_match_step)
    ->Name("grad_match_step/cpu")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
#ifdef EMBER_WITH_CUDA
BENCHMARK(resnet18_step_cuda)
    ->Name("resnet18_step/cuda")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(gpt_step_cuda)->Name("gpt_step/cuda")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(mlp_step_cuda)->Name("mlp_step/cuda")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(grad_match_step_cuda)
    ->Name("grad_match_step/cuda")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
#endif

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--steps") {
    const std::string name = argv[2];
    const int n = std::atoi(argv[3]);
    auto step = name == "resnet18_step"     ? make_resnet18_step()
                : name == "gpt_step"        ? make_gpt_step()
                : name == "mlp_step"        ? make_mlp_step()
                : name == "grad_match_step" ? make_grad_match_step()
                                            : std::function<void()>();
    if (!step) {
      std::fprintf(stderr,
                   "unknown workload %s (resnet18_step, gpt_step, mlp_step or grad_match_step)\n",
                   name.c_str());
      return 2;
    }
    for (int i = 0; i < n; ++i) step();
    return 0;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
