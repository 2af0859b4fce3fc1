// SyncBatchNorm: batch normalisation whose training statistics are those of the whole global
// batch, every rank's shard together (PyTorch's nn.SyncBatchNorm): for small per-rank batches,
// where one shard's statistics are too noisy. Two all-reduces in forward (the sum, then the
// centred sum of squares: the exact two-pass variance) and their two in backward, through
// all_reduce_sum, an all-reduce with a gradient. In eval it is BatchNorm. Same parameter and
// buffer names as BatchNorm1d / 2d, so their checkpoints load into it and back.
#pragma once

#include <cstdint>
#include <ember/dist/collectives.hpp>
#include <ember/nn/norm.hpp>
#include <ember/ops/arith.hpp>
#include <ember/ops/batch_norm.hpp>
#include <ember/ops/reduce.hpp>
#include <ember/ops/unary.hpp>
#include <string>
#include <vector>

namespace ember::dist {

// The sum of x over all ranks, differentiable: the gradient of a sum over ranks with respect to
// one rank's x is the sum of every rank's output gradient, so backward all-reduces too (every
// rank must run the same backward, as with any collective).
template <class T>
Tensor<T> all_reduce_sum(const Tensor<T>& x) {
  Tensor<T> out = x.detach().clone();
  all_reduce(out, ReduceOp::Sum);
  if (any_requires_grad(x))
    record(out, "dist::all_reduce_sum", {x},
           [](const Tensor<T>& g) -> Grads { return {all_reduce_sum(g)}; });
  return out;
}

class SyncBatchNorm : public nn::Layer {
 public:
  Tensor<float> weight, bias;               // [C]; undefined without affine
  Tensor<float> running_mean, running_var;  // [C]; undefined without track_running_stats
  Tensor<int64_t> num_batches_tracked;

  explicit SyncBatchNorm(int64_t num_features, nn::BatchNormOptions options = {})
      : c_(num_features), options_(options) {
    EMBER_CHECK(num_features > 0, "SyncBatchNorm: num_features must be positive, got ",
                num_features);
    if (options.affine) {
      weight = register_parameter("weight", Tensor<float>::ones({c_}));
      bias = register_parameter("bias", Tensor<float>::zeros({c_}));
    }
    if (options.track_running_stats) {
      running_mean = register_buffer("running_mean", Tensor<float>::zeros({c_}));
      running_var = register_buffer("running_var", Tensor<float>::ones({c_}));
      num_batches_tracked = register_buffer("num_batches_tracked", Tensor<int64_t>::zeros({}));
    }
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    EMBER_CHECK(x.dim() >= 2 && x.size(1) == c_, "SyncBatchNorm(", c_, "): expected an input [N, ",
                c_, ", ...], got ", shape_str(x.shape()));
    if (!is_training() && options_.track_running_stats)
      return batch_norm(x, running_mean, running_var, weight, bias, false, 0.0, options_.eps);
    std::vector<int64_t> dims{0};      // every dimension but the channels
    Shape bshape(size_t(x.dim()), 1);  // [1, C, 1, ...]: per-channel values broadcast
    bshape[1] = c_;
    for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
    Tensor<float> count = Tensor<float>::full({}, float(x.numel() / c_));
    all_reduce(count);
    const float n = count.item();
    EMBER_CHECK(n > 1, "SyncBatchNorm: expected more than one value per channel over all ranks");
    const Tensor<float> mean = mul(all_reduce_sum(sum(x, dims)), 1.0f / n);
    const Tensor<float> centred = sub(x, mean.reshape(bshape));
    const Tensor<float> var = mul(all_reduce_sum(sum(square(centred), dims)), 1.0f / n);
    Tensor<float> y = mul(centred, rsqrt(add(var, float(options_.eps))).reshape(bshape));
    if (options_.affine) y = add(mul(y, weight.reshape(bshape)), bias.reshape(bshape));
    if (options_.track_running_stats) update_running(mean.detach(), var.detach(), n);
    return y;
  }

  std::string name() const override { return "SyncBatchNorm"; }

 private:
  // As BatchNorm: the unbiased variance (n / (n - 1)) goes into running_var.
  void update_running(const Tensor<float>& mean, const Tensor<float>& var, float n) {
    NoGradGuard no_grad;
    const int64_t count = nn::detail::increment_counter(num_batches_tracked);
    const float m = float(options_.momentum.value_or(1.0 / double(count)));
    running_mean.copy_(add(mul(running_mean, 1.0f - m), mul(mean, m)));
    running_var.copy_(add(mul(running_var, 1.0f - m), mul(var, m * n / (n - 1.0f))));
  }

  int64_t c_;
  nn::BatchNormOptions options_;
};

}  // namespace ember::dist
