// ember::dist under mpirun: the MPI all-reduce's bandwidth for 1-64 MB messages, and the
// training-step workloads of bench_models (resnet18_step, gpt_step at cpu size) wrapped in
// DistributedDataParallel, each rank with the workload's whole batch (weak scaling, as DDP is
// used: N ranks train on N batches per step).
//
//   mpirun -np 2 build/bench/bench_dist          # rank 0 prints; every rank runs the same
//   build/bench/bench_dist                        # not under mpirun: says so and exits
//
// allreduce/<MB>: the time of one float32 sum all-reduce of that size; bytes_per_second is the
// algorithm bandwidth (size / time), busbw the bus bandwidth size * 2 (N - 1) / N / time that
// NCCL's tests report (what each rank's link carries in a ring). allreduce_mpi/<MB>: the same
// through blocking MPI_Allreduce, the yardstick of the watchdog's nonblocking path. ddp_<workload>:
// items_per_second counts the examples of all ranks. Iteration counts are fixed, since every rank
// must make the same number of collective calls (Google Benchmark would otherwise pick them per
// rank).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <ember/dist.hpp>
#include <ember/nn/functional/loss.hpp>
#include <ember/nn/models/gpt.hpp>
#include <ember/nn/models/resnet.hpp>
#include <ember/optim/adam.hpp>
#include <ember/optim/sgd.hpp>
#include <memory>

using namespace ember;
namespace models = ember::nn::models;

namespace {

void allreduce(benchmark::State& state) {
  const int64_t bytes = state.range(0) << 20;
  Tensor<float> x = Tensor<float>::ones({bytes / int64_t(sizeof(float))});
  dist::all_reduce(x);  // warm-up: MPI's connections and buffers
  for (auto _ : state) dist::all_reduce(x);
  const double n = dist::group().world_size();
  state.SetBytesProcessed(state.iterations() * bytes);
  state.counters["busbw_GBps"] =
      benchmark::Counter(double(bytes) * 2 * (n - 1) / n * double(state.iterations()) / 1e9,
                         benchmark::Counter::kIsRate);
  state.counters["ranks"] = n;
}

// The same message through blocking MPI_Allreduce, without ember's watchdog: the yardstick.
void allreduce_mpi(benchmark::State& state) {
#ifdef EMBER_WITH_MPI
  const int64_t bytes = state.range(0) << 20;
  Tensor<float> x = Tensor<float>::ones({bytes / int64_t(sizeof(float))});
  MPI_Allreduce(MPI_IN_PLACE, x.data_ptr(), int(x.numel()), MPI_FLOAT, MPI_SUM,
                dist::group().comm());
  for (auto _ : state)
    MPI_Allreduce(MPI_IN_PLACE, x.data_ptr(), int(x.numel()), MPI_FLOAT, MPI_SUM,
                  dist::group().comm());
  state.SetBytesProcessed(state.iterations() * bytes);
#else
  state.SkipWithError("no MPI");
#endif
}

void ddp_resnet18_step(benchmark::State& state) {
  const int64_t batch = 16;
  Generator gen(0);
  auto net = models::resnet18({.num_classes = 10, .cifar_stem = true}, gen);
  dist::DistributedDataParallel ddp(net);
  optim::SGD opt(net->parameters(), {.lr = 0.1, .momentum = 0.9, .weight_decay = 5e-4});
  Generator data(1 + uint64_t(dist::group().rank()));  // each rank its own batch
  auto x = Tensor<float>::randn({batch, 3, 32, 32}, data);
  auto y = Tensor<int64_t>::randint(0, 10, {batch}, data);
  auto step = [&] {
    opt.zero_grad();
    nn::functional::cross_entropy(ddp(x), y).backward();
    opt.step();
  };
  step();
  for (auto _ : state) step();
  state.SetItemsProcessed(state.iterations() * batch * dist::group().world_size());
  state.counters["buckets"] = double(ddp.bucket_count());
}

void ddp_gpt_step(benchmark::State& state) {
  const models::GPTConfig c{
      .vocab_size = 2048, .block_size = 128, .n_embd = 128, .n_head = 4, .n_layer = 2};
  const int64_t batch = 8;
  Generator gen(0);
  auto gpt = std::make_shared<models::GPT>(c, gen);
  dist::DistributedDataParallel ddp(gpt);
  optim::AdamW opt(gpt->parameters(), {.lr = 3e-4, .weight_decay = 0.1});
  Generator data(1 + uint64_t(dist::group().rank()));
  auto tok = Tensor<int64_t>::randint(0, c.vocab_size, {batch, c.block_size + 1}, data);
  auto x = tok.narrow(1, 0, c.block_size).contiguous();
  auto y = tok.narrow(1, 1, c.block_size).contiguous().reshape({-1});
  auto step = [&] {
    opt.zero_grad();
    nn::functional::cross_entropy(ddp(x).reshape({-1, c.vocab_size}), y).backward();
    opt.step();
  };
  step();
  for (auto _ : state) step();
  state.SetItemsProcessed(state.iterations() * batch * dist::group().world_size());
}

// Rank 0 reports; the others run silently.
class NullReporter : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>&) override {}
};

}  // namespace

int main(int argc, char** argv) {
  if (!dist::launched_by_mpi() || !dist::kHaveMpi) {
    std::fprintf(stderr,
                 "bench_dist: run it under mpirun (mpirun -np 2 %s) in a build with "
                 "EMBER_MPI=ON\n",
                 argv[0]);
    return 0;
  }
  dist::init();
  for (int64_t mb : {1, 4, 16, 64}) {
    benchmark::RegisterBenchmark(("allreduce/" + std::to_string(mb) + "MB").c_str(), allreduce)
        ->Arg(mb)
        ->Iterations(mb >= 16 ? 10 : 40)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("allreduce_mpi/" + std::to_string(mb) + "MB").c_str(),
                                 allreduce_mpi)
        ->Arg(mb)
        ->Iterations(mb >= 16 ? 10 : 40)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  benchmark::RegisterBenchmark("ddp_resnet18_step/cpu", ddp_resnet18_step)
      ->Iterations(5)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RegisterBenchmark("ddp_gpt_step/cpu", ddp_gpt_step)
      ->Iterations(10)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  NullReporter quiet;
  if (dist::group().is_main())
    benchmark::RunSpecifiedBenchmarks();
  else
    benchmark::RunSpecifiedBenchmarks(&quiet);
  dist::finalize();
  return 0;
}
