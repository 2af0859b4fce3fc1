// Spectral workloads (../shared/bench/WORKLOADS.md): rfft2 (forward, over the last two dims) and
// fno2d_step (one FNO-2D training step: forward, MSE loss, backward, Adam lr 1e-3). The size
// comes from EMBER_BENCH_SIZE (cpu by default). Run through bench/run for JSON lines.
// In a CUDA build (EMBER_WITH_CUDA) both also run as "<workload>/cuda": the same values drawn
// on the CPU, copied to cuda:0 (the FNO with Module::to), the stream synchronised after each
// iteration so the time is the GPU's.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#include <ember/core/tensor.hpp>
#include <ember/nn/functional/loss.hpp>
#include <ember/nn/spectral.hpp>
#include <ember/ops/fft.hpp>
#include <ember/optim/adam.hpp>
#ifdef EMBER_WITH_CUDA
#include <ember/backend/cuda/api.hpp>
#endif

#include "bench_common.hpp"

using namespace ember;

namespace {

using namespace ember::bench;

void rfft2_bench(benchmark::State& state) {
  const int64_t batch = gpu_size() ? 4096 : 256, n = gpu_size() ? 128 : 64;
  Generator gen(0);
  auto x = Tensor<float>::randn({batch, n, n}, gen);
  for (auto _ : state) benchmark::DoNotOptimize(rfft2(x).data_ptr());
}

void fno2d_step(benchmark::State& state) {
  const bool gpu = gpu_size();
  const int64_t batch = gpu ? 64 : 4, n = gpu ? 128 : 64, width = gpu ? 64 : 32, modes = gpu ? 16 : 12;
  Generator gen(0);
  nn::FNO2d model(width, modes, {}, gen);
  optim::Adam opt(model.parameters(), {.lr = 1e-3});
  auto x = Tensor<float>::randn({batch, 3, n, n}, gen);
  auto y = Tensor<float>::randn({batch, 1, n, n}, gen);
  for (auto _ : state) {
    opt.zero_grad();
    auto loss = nn::functional::mse_loss(model.forward(x), y);
    loss.backward();
    opt.step();
    benchmark::DoNotOptimize(loss.item());
  }
}

#ifdef EMBER_WITH_CUDA

void rfft2_cuda(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const int64_t batch = gpu_size() ? 4096 : 256, n = gpu_size() ? 128 : 64;
  Generator gen(0);
  auto x = Tensor<float>::randn({batch, n, n}, gen).to(kGpu);
  benchmark::DoNotOptimize(rfft2(x).data_ptr());  // warm-up: the FFT plan is made and cached
  sync_gpu();
  for (auto _ : state) {
    benchmark::DoNotOptimize(rfft2(x).data_ptr());
    sync_gpu();
  }
}

void fno2d_step_cuda(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const bool gpu = gpu_size();
  const int64_t batch = gpu ? 64 : 4, n = gpu ? 128 : 64;
  const int64_t width = gpu ? 64 : 32, modes = gpu ? 16 : 12;
  Generator gen(0);
  nn::FNO2d model(width, modes, {}, gen);
  model.to(kGpu);
  optim::Adam opt(model.parameters(), {.lr = 1e-3});
  auto x = Tensor<float>::randn({batch, 3, n, n}, gen).to(kGpu);
  auto y = Tensor<float>::randn({batch, 1, n, n}, gen).to(kGpu);
  auto step = [&] {
    opt.zero_grad();
    auto loss = nn::functional::mse_loss(model.forward(x), y);
    loss.backward();
    opt.step();
    return loss;
  };
  step();  // warm-up: FFT plans, Adam's state, the memory pool's blocks
  sync_gpu();
  for (auto _ : state) {
    benchmark::DoNotOptimize(step().data_ptr());  // the loss stays on the device: no item()
    sync_gpu();
  }
}

#endif  // EMBER_WITH_CUDA

}  // namespace

BENCHMARK(rfft2_bench)->Name("rfft2/cpu")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(fno2d_step)->Name("fno2d_step/cpu")->Unit(benchmark::kMillisecond)->UseRealTime();
#ifdef EMBER_WITH_CUDA
BENCHMARK(rfft2_cuda)->Name("rfft2/cuda")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(fno2d_step_cuda)->Name("fno2d_step/cuda")->Unit(benchmark::kMillisecond)->UseRealTime();
#endif

BENCHMARK_MAIN();
