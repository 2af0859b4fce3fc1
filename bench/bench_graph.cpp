// Graph workloads of ../shared/bench/WORKLOADS.md on the CPU: gcn_step (2-layer GCN training
// step: H1 = ReLU(Â X W1), out = Â H1 W2, cross-entropy on all nodes, Adam lr 1e-2) and spmm
// (Â × dense [nodes, 128], forward). The graph is built as torch_peer.py's random_graph does:
// `edges` directed edges with both ends uniform over the nodes (duplicates summed), one self
// loop per node, Â = D^-1/2 (A + I) D^-1/2 with D the row sums. Size from EMBER_BENCH_SIZE.
// In a CUDA build (EMBER_WITH_CUDA) both also run as "<workload>/cuda": the same graph and
// values built on the CPU, then copied to cuda:0 (the CSR pattern's index arrays are cached
// there by the first spmm), the stream synchronised after each iteration.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdlib>
#include <ember/core/tensor.hpp>
#include <ember/nn/functional/loss.hpp>
#include <ember/ops/activation.hpp>
#include <ember/ops/linalg.hpp>
#include <ember/ops/sparse.hpp>
#include <ember/optim/adam.hpp>
#include <ember/sparse/csr.hpp>
#include <string>
#ifdef EMBER_WITH_CUDA
#include <ember/backend/cuda/api.hpp>
#endif

#include "bench_common.hpp"

using namespace ember;

namespace {

using namespace ember::bench;

struct GraphSize {
  int64_t nodes, edges, d0, d1, d2;
};

GraphSize graph_size() {
  if (gpu_size()) return {169343, 1166243, 128, 256, 40};
  return {20000, 200000, 128, 128, 16};
}

sparse::CsrMatrix<float> random_graph(int64_t nodes, int64_t edges, Generator& gen) {
  auto src = Tensor<int64_t>::randint(0, nodes, {edges}, gen);
  auto dst = Tensor<int64_t>::randint(0, nodes, {edges}, gen);
  return sparse::CsrMatrix<float>::from_edge_index(nodes, src, dst).gcn_normalize();
}

void gcn_step(benchmark::State& state) {
  const GraphSize s = graph_size();
  Generator gen(0);
  const auto adj = random_graph(s.nodes, s.edges, gen);
  auto w1 = (Tensor<float>::randn({s.d0, s.d1}, gen) / float(std::sqrt(double(s.d0)))).detach();
  auto w2 = (Tensor<float>::randn({s.d1, s.d2}, gen) / float(std::sqrt(double(s.d1)))).detach();
  w1.requires_grad_();
  w2.requires_grad_();
  const auto x = Tensor<float>::randn({s.nodes, s.d0}, gen);
  const auto y = Tensor<int64_t>::randint(0, s.d2, {s.nodes}, gen);
  optim::Adam opt({w1, w2}, {.lr = 1e-2});
  for (auto _ : state) {
    opt.zero_grad();
    auto h = relu(spmm(adj, matmul(x, w1)));
    auto loss = nn::functional::cross_entropy(spmm(adj, matmul(h, w2)), y);
    loss.backward();
    opt.step();
    benchmark::DoNotOptimize(w1.data_ptr());
  }
}

void spmm_bench(benchmark::State& state) {
  const GraphSize s = graph_size();
  Generator gen(0);
  const auto adj = random_graph(s.nodes, s.edges, gen);
  const auto x = Tensor<float>::randn({s.nodes, s.d1}, gen);
  for (auto _ : state) benchmark::DoNotOptimize(spmm(adj, x).data_ptr());
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(adj.nnz()) * double(s.d1),
                                                 benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
}

#ifdef EMBER_WITH_CUDA

void gcn_step_cuda(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const GraphSize s = graph_size();
  Generator gen(0);
  const auto adj = random_graph(s.nodes, s.edges, gen).to(kGpu);
  auto w1 = (Tensor<float>::randn({s.d0, s.d1}, gen) / float(std::sqrt(double(s.d0))))
                .detach()
                .to(kGpu);
  auto w2 = (Tensor<float>::randn({s.d1, s.d2}, gen) / float(std::sqrt(double(s.d1))))
                .detach()
                .to(kGpu);
  w1.requires_grad_();
  w2.requires_grad_();
  const auto x = Tensor<float>::randn({s.nodes, s.d0}, gen).to(kGpu);
  const auto y = Tensor<int64_t>::randint(0, s.d2, {s.nodes}, gen).to(kGpu);
  optim::Adam opt({w1, w2}, {.lr = 1e-2});
  auto step = [&] {
    opt.zero_grad();
    auto h = relu(spmm(adj, matmul(x, w1)));
    auto loss = nn::functional::cross_entropy(spmm(adj, matmul(h, w2)), y);
    loss.backward();
    opt.step();
  };
  step();  // warm-up: the pattern's device arrays, Adam's state, the memory pool's blocks
  sync_gpu();
  for (auto _ : state) {
    step();
    benchmark::DoNotOptimize(w1.data_ptr());
    sync_gpu();
  }
}

void spmm_cuda(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const GraphSize s = graph_size();
  Generator gen(0);
  const auto adj = random_graph(s.nodes, s.edges, gen).to(kGpu);
  const auto x = Tensor<float>::randn({s.nodes, s.d1}, gen).to(kGpu);
  benchmark::DoNotOptimize(spmm(adj, x).data_ptr());  // warm-up: copies the pattern once
  sync_gpu();
  for (auto _ : state) {
    benchmark::DoNotOptimize(spmm(adj, x).data_ptr());
    sync_gpu();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(adj.nnz()) * double(s.d1),
                                                 benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
}

#endif  // EMBER_WITH_CUDA

}  // namespace

BENCHMARK(gcn_step)->Name("gcn_step/cpu")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(spmm_bench)->Name("spmm/cpu")->Unit(benchmark::kMillisecond)->UseRealTime();
#ifdef EMBER_WITH_CUDA
BENCHMARK(gcn_step_cuda)->Name("gcn_step/cuda")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(spmm_cuda)->Name("spmm/cuda")->Unit(benchmark::kMillisecond)->UseRealTime();
#endif

BENCHMARK_MAIN();
