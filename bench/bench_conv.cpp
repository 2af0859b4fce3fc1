// The conv3x3 reference workload (../shared/bench/WORKLOADS.md): Conv2d 3x3, pad 1, stride 1,
// no bias, forward + backward (input and weight gradients). cpu: N16 C64->64 32x32; gpu
// sizes (EMBER_BENCH_SIZE=gpu): N128 C128->128 32x32. Also the phases on their own
// (conv3x3_phase/*, not reported as workloads) to see which one dominates: the forward, the
// input gradient, the weight gradient (each im2col + GEMM) and im2col alone.
// In a CUDA build (EMBER_WITH_CUDA) the workload also runs as "conv3x3/cuda", on tensors on
// cuda:0, synchronising the stream after each iteration so the time is the GPU's.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <ember/core/tensor.hpp>
#include <ember/ops/conv.hpp>
#ifdef EMBER_WITH_CUDA
#include <ember/backend/cuda/api.hpp>
#endif

#include "bench_common.hpp"

using namespace ember;

namespace {

using namespace ember::bench;

struct Conv3x3 {
  int64_t n = gpu_size() ? 128 : 16, c = gpu_size() ? 128 : 64, hw = 32;
  Generator gen{0};
  Tensor<float> x = Tensor<float>::randn({n, c, hw, hw}, gen).requires_grad_();
  // PyTorch's default init of the weight: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
  Tensor<float> w = Tensor<float>::rand({c, c, 3, 3}, gen, -1.0 / std::sqrt(9.0 * double(c)),
                                        1.0 / std::sqrt(9.0 * double(c)))
                        .requires_grad_();
  Tensor<float> g = Tensor<float>::randn({n, c, hw, hw}, gen);
  double flops() const { return 3.0 * 2.0 * double(n * c * hw * hw) * double(c * 9); }
};

void conv3x3(benchmark::State& state) {
  Conv3x3 s;
  for (auto _ : state) {
    conv2d(s.x, s.w, Tensor<float>(), {.padding = 1}).backward(s.g);
    benchmark::DoNotOptimize(s.x.grad().data_ptr());
    s.x.zero_grad();
    s.w.zero_grad();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(s.flops(), benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
}

// The three kernels alone, for the phase breakdown.
void conv3x3_forward(benchmark::State& state) {
  Conv3x3 s;
  NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(conv2d(s.x, s.w, Tensor<float>(), {.padding = 1}).data_ptr());
}

cpu::ConvGeom geom(const Conv3x3& s) {
  cpu::ConvGeom g;
  g.N = s.n;
  g.C = g.O = s.c;
  g.in[1] = g.in[2] = g.out[1] = g.out[2] = s.hw;
  g.k[1] = g.k[2] = 3;
  g.pad[1] = g.pad[2] = 1;
  return g;
}

void conv3x3_input_grad(benchmark::State& state) {
  Conv3x3 s;
  auto gx = Tensor<float>::empty(s.x.shape());
  for (auto _ : state) cpu::conv_backward_input<float>(geom(s), s.g.data_ptr(), s.w.data_ptr(), gx.data_ptr());
}

void conv3x3_weight_grad(benchmark::State& state) {
  Conv3x3 s;
  auto gw = Tensor<float>::empty(s.w.shape());
  for (auto _ : state) cpu::conv_backward_weight<float>(geom(s), s.x.data_ptr(), s.g.data_ptr(), gw.data_ptr());
}

// im2col one sample at a time into a cache-sized buffer per thread, samples spread over the
// threads, as the kernels do for this size.
void conv3x3_im2col(benchmark::State& state) {
  Conv3x3 s;
  const cpu::ConvGeom g = geom(s);
  const int threads = cpu::max_threads();
  std::vector<float> cols(size_t(g.rows() * g.L() * threads));
  for (auto _ : state) {
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t n = 0; n < g.N; ++n) {
#ifdef _OPENMP
      float* c = cols.data() + omp_get_thread_num() * g.rows() * g.L();
#else
      float* c = cols.data();
#endif
      cpu::im2col<float>(g, s.x.data_ptr() + n * g.C * g.S(), 1, 0, c);
    }
  }
}

#ifdef EMBER_WITH_CUDA

void conv3x3_cuda(benchmark::State& state) {
  if (!have_gpu(state)) return;
  Conv3x3 s;  // the same values as the CPU run, copied to the device
  auto x = s.x.detach().to(kGpu).requires_grad_();
  auto w = s.w.detach().to(kGpu).requires_grad_();
  auto g = s.g.to(kGpu);
  sync_gpu();
  for (auto _ : state) {
    conv2d(x, w, Tensor<float>(), {.padding = 1}).backward(g);
    benchmark::DoNotOptimize(x.grad().data_ptr());
    x.zero_grad();
    w.zero_grad();
    sync_gpu();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(
      s.flops(), benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

#endif  // EMBER_WITH_CUDA

}  // namespace

BENCHMARK(conv3x3)->Name("conv3x3/cpu")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(conv3x3_forward)->Name("conv3x3_phase/forward")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(conv3x3_input_grad)->Name("conv3x3_phase/input_grad")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(conv3x3_weight_grad)->Name("conv3x3_phase/weight_grad")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(conv3x3_im2col)->Name("conv3x3_phase/im2col")->Unit(benchmark::kMillisecond)->UseRealTime();

#ifdef EMBER_WITH_CUDA
BENCHMARK(conv3x3_cuda)->Name("conv3x3/cuda")->Unit(benchmark::kMillisecond)->UseRealTime();
#endif

BENCHMARK_MAIN();
