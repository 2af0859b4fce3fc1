// SyncBatchNorm on N shards against BatchNorm1d on the whole batch: the same outputs, running
// statistics and gradients (input, weight, bias), in float32; all_reduce_sum's gradient.
#include <doctest/doctest.h>

#include <cmath>
#include <ember/dist/sync_batch_norm.hpp>
#include <ember/ops/shape.hpp>
#include <vector>

using namespace ember;
using namespace ember::dist;

namespace {

double max_diff(const Tensor<float>& a, const Tensor<float>& b) {
  REQUIRE(a.shape() == b.shape());
  const auto x = a.contiguous().to_vector(), y = b.contiguous().to_vector();
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) m = std::max(m, std::abs(double(x[i]) - double(y[i])));
  return m;
}

}  // namespace

TEST_CASE("all_reduce_sum sums over ranks and so does its gradient") {
  ProcessGroup& g = group();
  auto x = Tensor<double>::full({3}, double(g.rank() + 1)).requires_grad_();
  Tensor<double> y = all_reduce_sum(x);
  const double w = g.world_size();
  CHECK(y.to_vector() == std::vector<double>(3, w * (w + 1) / 2));
  // loss = sum over ranks of (rank + 1) * sum(y): d loss / d x = sum over ranks of (rank + 1).
  sum(mul(y, double(g.rank() + 1))).backward();
  CHECK(x.grad().to_vector() == std::vector<double>(3, w * (w + 1) / 2));
}

TEST_CASE("SyncBatchNorm on shards equals BatchNorm on the whole batch") {
  ProcessGroup& g = group();
  const int64_t n = 12 / g.world_size(), c = 3, l = 4;
  Generator gen(31);
  const Tensor<float> x = Tensor<float>::randn({12, c, l}, gen, 0.5, 2.0);
  const Tensor<float> r = Tensor<float>::randn({12, c, l}, gen);  // weights of the loss
  const Tensor<float> w = Tensor<float>::randn({c}, gen), b = Tensor<float>::randn({c}, gen);

  nn::BatchNorm1d ref(c);
  SyncBatchNorm sync(c);
  {
    NoGradGuard no_grad;
    ref.weight.copy_(w);
    ref.bias.copy_(b);
    sync.weight.copy_(w);
    sync.bias.copy_(b);
  }
  Tensor<float> xr = x.clone().requires_grad_();
  Tensor<float> yr = ref.forward(xr);
  sum(mul(yr, r)).backward();

  Tensor<float> xs = x.narrow(0, g.rank() * n, n).clone().requires_grad_();
  Tensor<float> ys = sync.forward(xs);
  sum(mul(ys, r.narrow(0, g.rank() * n, n))).backward();

  CHECK(max_diff(ys, yr.detach().narrow(0, g.rank() * n, n)) < 1e-5);
  CHECK(max_diff(xs.grad(), xr.grad().narrow(0, g.rank() * n, n)) < 1e-5);
  Tensor<float> gw = sync.weight.grad().clone(), gb = sync.bias.grad().clone();
  all_reduce(gw);  // each rank has its shard's part of the parameter gradients
  all_reduce(gb);
  CHECK(max_diff(gw, ref.weight.grad()) < 1e-4);
  CHECK(max_diff(gb, ref.bias.grad()) < 1e-4);
  CHECK(max_diff(sync.running_mean, ref.running_mean) < 1e-6);
  CHECK(max_diff(sync.running_var, ref.running_var) < 1e-5);
  sync.eval();
  ref.eval();
  CHECK(max_diff(sync.forward(x), ref.forward(x)) < 1e-5);  // eval: the running statistics
}
