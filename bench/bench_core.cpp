// The foundation's reference workloads (../shared/bench/WORKLOADS.md): gemm, softmax,
// layernorm (forward + backward) and add, on the CPU. The size comes from EMBER_BENCH_SIZE
// (cpu by default; gpu sizes need the CUDA build). Run through bench/run for JSON lines.
// In a CUDA build (EMBER_WITH_CUDA) the same workloads also run as "<workload>/cuda", on
// tensors on cuda:0, synchronising the stream after each iteration so the time is the GPU's.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#include <ember/core/tensor.hpp>
#include <ember/ops/layer_norm.hpp>
#include <ember/ops/linalg.hpp>
#include <ember/ops/softmax.hpp>
#ifdef EMBER_WITH_CUDA
#include <ember/backend/cuda/api.hpp>
#endif

#include "bench_common.hpp"

using namespace ember;

namespace {

using namespace ember::bench;

void gemm(benchmark::State& state) {
  const int64_t n = gpu_size() ? 8192 : 1024;
  Generator gen(0);
  auto a = Tensor<float>::randn({n, n}, gen), b = Tensor<float>::randn({n, n}, gen);
  for (auto _ : state) benchmark::DoNotOptimize(matmul(a, b).data_ptr());
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * n * n * n, benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
}

void softmax_rows(benchmark::State& state) {
  const int64_t rows = gpu_size() ? 65536 : 8192, cols = gpu_size() ? 4096 : 1024;
  Generator gen(0);
  auto x = Tensor<float>::randn({rows, cols}, gen);
  for (auto _ : state) benchmark::DoNotOptimize(softmax(x, -1).data_ptr());
}

void layernorm(benchmark::State& state) {
  const int64_t rows = gpu_size() ? 65536 : 8192, cols = gpu_size() ? 4096 : 1024;
  Generator gen(0);
  auto x = Tensor<float>::randn({rows, cols}, gen).requires_grad_();
  auto w = Tensor<float>::ones({cols}).requires_grad_();
  auto b = Tensor<float>::zeros({cols}).requires_grad_();
  auto g = Tensor<float>::randn({rows, cols}, gen);
  for (auto _ : state) {
    layer_norm(x, {cols}, w, b).backward(g);
    benchmark::DoNotOptimize(x.grad().data_ptr());
    x.zero_grad();
    w.zero_grad();
    b.zero_grad();
  }
}

void add(benchmark::State& state) {
  const int64_t n = gpu_size() ? (int64_t(256) << 20) : (int64_t(16) << 20);
  Generator gen(0);
  auto a = Tensor<float>::randn({n}, gen), b = Tensor<float>::randn({n}, gen);
  for (auto _ : state) benchmark::DoNotOptimize((a + b).data_ptr());
  state.SetBytesProcessed(state.iterations() * 3 * n * int64_t(sizeof(float)));
}

#ifdef EMBER_WITH_CUDA

void gemm_cuda(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const int64_t n = gpu_size() ? 8192 : 1024;
  Generator gen(0);
  auto a = Tensor<float>::randn({n, n}, gen).to(kGpu),
       b = Tensor<float>::randn({n, n}, gen).to(kGpu);
  sync_gpu();
  for (auto _ : state) {
    benchmark::DoNotOptimize(matmul(a, b).data_ptr());
    sync_gpu();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(
      2.0 * n * n * n, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

void softmax_cuda(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const int64_t rows = gpu_size() ? 65536 : 8192, cols = gpu_size() ? 4096 : 1024;
  Generator gen(0);
  auto x = Tensor<float>::randn({rows, cols}, gen).to(kGpu);
  sync_gpu();
  for (auto _ : state) {
    benchmark::DoNotOptimize(softmax(x, -1).data_ptr());
    sync_gpu();
  }
}

void layernorm_cuda(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const int64_t rows = gpu_size() ? 65536 : 8192, cols = gpu_size() ? 4096 : 1024;
  Generator gen(0);
  auto x = Tensor<float>::randn({rows, cols}, gen).to(kGpu).requires_grad_();
  auto w = Tensor<float>::ones({cols}, kGpu).requires_grad_();
  auto b = Tensor<float>::zeros({cols}, kGpu).requires_grad_();
  auto g = Tensor<float>::randn({rows, cols}, gen).to(kGpu);
  sync_gpu();
  for (auto _ : state) {
    layer_norm(x, {cols}, w, b).backward(g);
    benchmark::DoNotOptimize(x.grad().data_ptr());
    x.zero_grad();
    w.zero_grad();
    b.zero_grad();
    sync_gpu();
  }
}

void add_cuda(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const int64_t n = gpu_size() ? (int64_t(256) << 20) : (int64_t(16) << 20);
  Generator gen(0);
  auto a = Tensor<float>::randn({n}, gen).to(kGpu), b = Tensor<float>::randn({n}, gen).to(kGpu);
  sync_gpu();
  for (auto _ : state) {
    benchmark::DoNotOptimize((a + b).data_ptr());
    sync_gpu();
  }
  state.SetBytesProcessed(state.iterations() * 3 * n * int64_t(sizeof(float)));
}

// Kernel benchmarks of the sum's shapes (not reference workloads: bench/run leaves them out;
// run `bench_core --benchmark_filter=sum_`). A bias gradient, [8192, 768] summed over the
// leading dim, and many short rows, [1e7, 3] summed over the last.
void sum_cuda(benchmark::State& state, Shape shape, int64_t dim) {
  if (!have_gpu(state)) return;
  Generator gen(0);
  auto x = Tensor<float>::randn(shape, gen).to(kGpu);
  sync_gpu();
  for (auto _ : state) {
    benchmark::DoNotOptimize(sum(x, {dim}).data_ptr());
    sync_gpu();
  }
  state.SetBytesProcessed(state.iterations() * x.numel() * int64_t(sizeof(float)));
}
void sum_leading_cuda(benchmark::State& state) { sum_cuda(state, {8192, 768}, 0); }
void sum_short_rows_cuda(benchmark::State& state) { sum_cuda(state, {10000000, 3}, 1); }

#endif  // EMBER_WITH_CUDA

}  // namespace

BENCHMARK(gemm)->Name("gemm/cpu")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(softmax_rows)->Name("softmax/cpu")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(layernorm)->Name("layernorm/cpu")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(add)->Name("add/cpu")->Unit(benchmark::kMillisecond)->UseRealTime();

#ifdef EMBER_WITH_CUDA
BENCHMARK(gemm_cuda)->Name("gemm/cuda")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(softmax_cuda)->Name("softmax/cuda")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(layernorm_cuda)->Name("layernorm/cuda")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(add_cuda)->Name("add/cuda")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(sum_leading_cuda)->Name("sum_leading_8192x768/cuda_kernel")->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(sum_short_rows_cuda)->Name("sum_short_rows_1e7x3/cuda_kernel")->Unit(benchmark::kMicrosecond)->UseRealTime();
#endif

BENCHMARK_MAIN();
