// The model-step workloads of ../shared/bench/WORKLOADS.md, as torch_peer.py runs them:
//   resnet18_step: CIFAR ResNet-18, batch 16 (gpu size 256) of 3x32x32 normal(0,1) images with
//     uniform labels, cross-entropy, SGD lr 0.1 momentum 0.9 weight decay 5e-4;
//   gpt_step: GPT vocab 2048, ctx 128, d 128, 4 heads, 2 layers, batch 8 (gpu size: GPT-2 small),
//     tokens [8, ctx + 1] uniform, cross-entropy on the next token, AdamW lr 3e-4 wd 0.1.
// One iteration = zero_grad, forward, loss, backward, optimizer step.
// The size comes from EMBER_BENCH_SIZE (cpu by default). Run through bench/run for JSON lines.
// In a CUDA build (EMBER_WITH_CUDA) both also run as "<workload>/cuda": the model moved to
// cuda:0 with Module::to, the batch copied there once, the stream synchronised after each step
// so the time is the GPU's.
//
// `bench_models --steps NAME N` runs N plain steps of workload NAME (no timing) and exits, for
// measuring peak memory with /usr/bin/time -f %M.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <ember/core/tensor.hpp>
#include <ember/nn/functional/loss.hpp>
#include <ember/nn/models/gpt.hpp>
#include <ember/nn/models/resnet.hpp>
#include <ember/optim/adam.hpp>
#include <ember/optim/sgd.hpp>
#include <functional>
#include <memory>
#include <string>
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

void run(benchmark::State& state, std::function<void()> (*make)(Device)) {
  auto step = make(Device::cpu());
  for (int i = 0; i < 2; ++i) step();  // warm-up (momentum / Adam state allocated)
  for (auto _ : state) step();
}

void resnet18_step(benchmark::State& state) { run(state, make_resnet18_step); }
void gpt_step(benchmark::State& state) { run(state, make_gpt_step); }

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

#endif  // EMBER_WITH_CUDA

}  // namespace

BENCHMARK(resnet18_step)->Name("resnet18_step/cpu")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(gpt_step)->Name("gpt_step/cpu")->Unit(benchmark::kMillisecond)->UseRealTime();
#ifdef EMBER_WITH_CUDA
BENCHMARK(resnet18_step_cuda)
    ->Name("resnet18_step/cuda")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(gpt_step_cuda)->Name("gpt_step/cuda")->Unit(benchmark::kMillisecond)->UseRealTime();
#endif

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--steps") {
    const std::string name = argv[2];
    const int n = std::atoi(argv[3]);
    auto step = name == "resnet18_step" ? make_resnet18_step()
                : name == "gpt_step"    ? make_gpt_step()
                                        : std::function<void()>();
    if (!step) {
      std::fprintf(stderr, "unknown workload %s (resnet18_step or gpt_step)\n", name.c_str());
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
