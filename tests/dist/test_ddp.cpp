// DistributedDataParallel against one process: N ranks, each with 1/N of a float64 batch, take
// the same step as one process on the whole batch (to 1e-12); the replicas stay identical over
// several steps; buckets start during backward; no_sync accumulates; rank 0's weights and
// BatchNorm buffers reach every rank; a checkpoint written by rank 0 resumes bit-identically.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <ember/dist/checkpoint.hpp>
#include <ember/dist/ddp.hpp>
#include <ember/nn/linear.hpp>
#include <ember/nn/norm.hpp>
#include <ember/nn/sequential.hpp>
#include <ember/ops/arith.hpp>
#include <ember/ops/linalg.hpp>
#include <ember/ops/reduce.hpp>
#include <ember/ops/unary.hpp>
#include <ember/optim/adam.hpp>
#include <ember/optim/sgd.hpp>
#include <filesystem>
#include <string>
#include <vector>

using namespace ember;
using namespace ember::dist;

namespace {

// A float64 two-layer perceptron (nn's layers are float32; the comparison needs float64).
struct Mlp : nn::Module {
  Tensor<double> w1, b1, w2, b2;
  explicit Mlp(uint64_t seed) {
    Generator gen(seed);
    w1 = register_parameter("w1", Tensor<double>::randn({5, 16}, gen, 0.0, 0.5));
    b1 = register_parameter("b1", Tensor<double>::randn({16}, gen, 0.0, 0.1));
    w2 = register_parameter("w2", Tensor<double>::randn({16, 3}, gen, 0.0, 0.5));
    b2 = register_parameter("b2", Tensor<double>::randn({3}, gen, 0.0, 0.1));
  }
  Tensor<double> forward(const Tensor<double>& x) {
    return add(matmul(tanh(add(matmul(x, w1), b1)), w2), b2);
  }
};

Tensor<double> loss_of(Mlp& m, const Tensor<double>& x, const Tensor<double>& y) {
  return mean(square(sub(m.forward(x), y)));
}

// Batch `step` of the run (the whole batch; a rank takes its rows).
std::pair<Tensor<double>, Tensor<double>> batch(int step, int64_t rows) {
  Generator gen(500 + uint64_t(step));
  return {Tensor<double>::randn({rows, 5}, gen), Tensor<double>::randn({rows, 3}, gen)};
}

double max_diff(const nn::Module& a, const nn::Module& b) {
  double m = 0;
  const auto pa = a.parameters(), pb = b.parameters();
  for (size_t i = 0; i < pa.size(); ++i) {
    const auto x = Tensor<double>(pa[i].impl).to_vector(),
               y = Tensor<double>(pb[i].impl).to_vector();
    for (size_t k = 0; k < x.size(); ++k) m = std::max(m, std::abs(x[k] - y[k]));
  }
  return m;
}

// The largest difference between this rank's parameters and rank 0's.
double diff_to_rank0(const nn::Module& m) {
  double d = 0;
  for (const AnyTensor& p : m.parameters()) {
    const Tensor<double> mine(p.impl);
    Tensor<double> r0 = mine.clone();
    broadcast(r0, 0);
    const auto x = mine.to_vector(), y = r0.to_vector();
    for (size_t k = 0; k < x.size(); ++k) d = std::max(d, std::abs(x[k] - y[k]));
  }
  return d;
}

int64_t rows_per_rank() { return 12 / group().world_size(); }  // 12: divisible by 1, 2, 3

}  // namespace

TEST_CASE("a DDP step on N shards equals the one-process step on the whole batch (float64)") {
  ProcessGroup& g = group();
  REQUIRE(12 % g.world_size() == 0);
  auto reference = std::make_shared<Mlp>(7);
  auto local = std::make_shared<Mlp>(7 + uint64_t(g.rank()));   // differs until broadcast
  DistributedDataParallel ddp(local, {.bucket_cap_mb = 1e-5});  // ~10 bytes: a bucket each
  CHECK(max_diff(*local, *reference) == 0.0);                   // rank 0's weights everywhere
  CHECK(ddp.bucket_count() == 4);

  optim::SGD ref_opt(reference->parameters(), {.lr = 0.1, .momentum = 0.9});
  optim::SGD opt(local->parameters(), {.lr = 0.1, .momentum = 0.9});
  const int64_t n = rows_per_rank();
  for (int step = 0; step < 4; ++step) {
    auto [x, y] = batch(step, 12);
    ref_opt.zero_grad();
    loss_of(*reference, x, y).backward();
    ref_opt.step();

    opt.zero_grad();
    const Tensor<double> xs = x.narrow(0, g.rank() * n, n), ys = y.narrow(0, g.rank() * n, n);
    mean(square(sub(ddp(xs), ys))).backward();
    if (step == 0) {  // the averaged gradient is the whole batch's
      double d = 0;
      const auto pr = reference->parameters(), pl = local->parameters();
      for (size_t i = 0; i < pr.size(); ++i) {
        const auto a = Tensor<double>(pr[i].impl).grad().to_vector();
        const auto b = Tensor<double>(pl[i].impl).grad().to_vector();
        for (size_t k = 0; k < a.size(); ++k) d = std::max(d, std::abs(a[k] - b[k]));
      }
      CHECK(d < 1e-12);
      if (g.world_size() > 1) CHECK(ddp.overlapped_buckets() >= 1);  // started during backward
    }
    opt.step();
    CHECK(max_diff(*local, *reference) < 1e-12);
  }
  CHECK(diff_to_rank0(*local) == 0.0);  // the replicas are bit-identical
}

TEST_CASE("replicas stay identical over several Adam steps with one large bucket") {
  ProcessGroup& g = group();
  auto local = std::make_shared<Mlp>(11 + uint64_t(g.rank()));
  DistributedDataParallel ddp(local);
  CHECK(ddp.bucket_count() == 1);
  optim::Adam opt(local->parameters(), {.lr = 0.01});
  const int64_t n = rows_per_rank();
  for (int step = 0; step < 6; ++step) {
    auto [x, y] = batch(100 + step, 12);
    opt.zero_grad();
    mean(square(sub(ddp(x.narrow(0, g.rank() * n, n)), y.narrow(0, g.rank() * n, n)))).backward();
    opt.step();
  }
  CHECK(diff_to_rank0(*local) == 0.0);
}

TEST_CASE("no_sync accumulates locally; the next backward averages the sum") {
  ProcessGroup& g = group();
  auto reference = std::make_shared<Mlp>(3);
  auto local = std::make_shared<Mlp>(3);
  DistributedDataParallel ddp(local, {.bucket_cap_mb = 1e-4});
  const int64_t n = rows_per_rank();
  for (int micro = 0; micro < 2; ++micro) {
    auto [x, y] = batch(200 + micro, 12);
    loss_of(*reference, x, y).backward();
    const Tensor<double> xs = x.narrow(0, g.rank() * n, n), ys = y.narrow(0, g.rank() * n, n);
    if (micro == 0) {
      auto guard = ddp.no_sync();
      mean(square(sub(ddp(xs), ys))).backward();
      if (g.world_size() > 1) {  // not averaged yet: differs from the whole batch's gradient
        const auto a = reference->w1.grad().to_vector(), b = local->w1.grad().to_vector();
        double d = 0;
        for (size_t k = 0; k < a.size(); ++k) d = std::max(d, std::abs(a[k] - b[k]));
        CHECK(d > 1e-6);
      }
    } else {
      mean(square(sub(ddp(xs), ys))).backward();
    }
  }
  double d = 0;
  const auto pr = reference->parameters(), pl = local->parameters();
  for (size_t i = 0; i < pr.size(); ++i) {
    const auto a = Tensor<double>(pr[i].impl).grad().to_vector();
    const auto b = Tensor<double>(pl[i].impl).grad().to_vector();
    for (size_t k = 0; k < a.size(); ++k) d = std::max(d, std::abs(a[k] - b[k]));
  }
  CHECK(d < 1e-12);
}

TEST_CASE("an unused parameter is an error at the next forward unless finish_gradient_sync") {
  ProcessGroup& g = group();
  auto local = std::make_shared<Mlp>(5);
  DistributedDataParallel ddp(local, {.bucket_cap_mb = 1e-4});
  auto [x, y] = batch(300, 12);
  const int64_t n = rows_per_rank();
  const Tensor<double> xs = x.narrow(0, g.rank() * n, n);
  sum(matmul(xs, local->w1)).backward();  // w1 only: three parameters get no gradient
  CHECK_THROWS_WITH_AS(ddp(xs), doctest::Contains("gave no gradient to 'b2', 'w2', 'b1'"), Error);
  ddp.finish_gradient_sync();
  CHECK(local->b2.grad().defined());
  CHECK(local->b2.grad().to_vector() == std::vector<double>{0.0, 0.0, 0.0});
  CHECK_NOTHROW(ddp(xs));
}

TEST_CASE("BatchNorm buffers are broadcast from rank 0 before each training forward") {
  ProcessGroup& g = group();
  Generator gen(42);
  auto model = nn::make_sequential(std::make_shared<nn::Linear>(4, 6, gen),
                                   std::make_shared<nn::BatchNorm1d>(6));
  DistributedDataParallel ddp(model);
  Generator mine(900 + uint64_t(g.rank()));
  ddp(Tensor<float>::randn({8, 4}, mine));  // running stats now differ between ranks
  auto& bn = dynamic_cast<nn::BatchNorm1d&>(*model->named_children()[1].second);
  Tensor<float> before = bn.running_mean.clone();
  broadcast(before, 0);
  if (g.world_size() > 1 && g.rank() > 0) CHECK(bn.running_mean.to_vector() != before.to_vector());
  Generator same(77);
  ddp(Tensor<float>::randn({8, 4}, same));  // same data: equal stats iff rank 0's came first
  Tensor<float> r0 = bn.running_mean.clone();
  broadcast(r0, 0);
  CHECK(bn.running_mean.to_vector() == r0.to_vector());
}

TEST_CASE(
    "rank 0 writes the checkpoint, every rank loads it, and the run resumes bit-identically") {
  ProcessGroup& g = group();
  Tensor<double> id = Tensor<double>::full({1}, double(getpid()));
  broadcast(id, 0);  // one file name for the job, unique on this machine
  const std::string dir = (std::filesystem::temp_directory_path() /
                           ("ember_dist_ckpt_" + std::to_string(int64_t(id.item()))))
                              .string();
  if (g.is_main()) std::filesystem::create_directories(dir);
  const int64_t n = rows_per_rank();
  auto train = [&](DistributedDataParallel<Mlp>& ddp, optim::Adam& opt, int from, int to) {
    for (int step = from; step < to; ++step) {
      auto [x, y] = batch(400 + step, 12);
      opt.zero_grad();
      mean(square(sub(ddp(x.narrow(0, g.rank() * n, n)), y.narrow(0, g.rank() * n, n)))).backward();
      opt.step();
    }
  };
  auto a = std::make_shared<Mlp>(21);
  DistributedDataParallel ddp_a(a);
  optim::Adam opt_a(a->parameters(), {.lr = 0.01});
  train(ddp_a, opt_a, 0, 2);
  save_module(dir + "/model.safetensors", *a);
  save_optimizer(dir + "/optim.safetensors", opt_a);
  train(ddp_a, opt_a, 2, 4);

  auto b = std::make_shared<Mlp>(99);  // other weights: the checkpoint must replace them
  optim::Adam opt_b(b->parameters(), {.lr = 0.01});
  load_module(dir + "/model.safetensors", *b);
  load_optimizer(dir + "/optim.safetensors", opt_b);
  DistributedDataParallel ddp_b(b);
  train(ddp_b, opt_b, 2, 4);
  CHECK(max_diff(*a, *b) == 0.0);
  barrier();
  if (g.is_main()) std::filesystem::remove_all(dir);
}
