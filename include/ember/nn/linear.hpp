// Linear: y = x W^T + b over the last dimension, W of shape [out_features, in_features].
//
// Initialised as PyTorch's nn.Linear: W by kaiming_uniform_ with a = sqrt(5), which is
// U(-1/sqrt(in), 1/sqrt(in)), and b from the same U(-1/sqrt(in), 1/sqrt(in)); weight first,
// then bias, from the given Generator. The gradient is that of ops/linalg.hpp's linear.
#pragma once

#include <cmath>
#include <cstdint>
#include <ember/core/random.hpp>
#include <ember/nn/init.hpp>
#include <ember/nn/module.hpp>
#include <ember/ops/linalg.hpp>
#include <string>

namespace ember::nn {

struct LinearOptions {
  bool bias = true;
};

class Linear : public Layer {
 public:
  Tensor<float> weight;  // [out_features, in_features]
  Tensor<float> bias;    // [out_features]; undefined without bias

  Linear(int64_t in_features, int64_t out_features, LinearOptions options = {},
         Generator& gen = default_generator())
      : in_features_(in_features), out_features_(out_features) {
    EMBER_CHECK(in_features >= 0 && out_features >= 0,
                "Linear: expected non-negative sizes, got "
                "in_features=",
                in_features, ", out_features=", out_features);
    weight = register_parameter("weight", Tensor<float>::empty({out_features, in_features}));
    init::kaiming_uniform_(weight, {.a = std::sqrt(5.0)}, gen);
    if (options.bias) {
      bias = register_parameter("bias", Tensor<float>::zeros({out_features}));
      if (in_features > 0) {
        const double bound = 1.0 / std::sqrt(double(in_features));
        init::uniform_(bias, -bound, bound, gen);
      }
    }
  }
  Linear(int64_t in_features, int64_t out_features, Generator& gen)
      : Linear(in_features, out_features, LinearOptions{}, gen) {}

  Tensor<float> forward(const Tensor<float>& x) override {
    EMBER_CHECK(x.dim() >= 1 && x.shape().back() == in_features_, "Linear(", in_features_, ", ",
                out_features_, "): expected an input whose last dimension is ", in_features_,
                ", got shape ", shape_str(x.shape()));
    return linear(x, weight, bias);
  }

  int64_t in_features() const { return in_features_; }
  int64_t out_features() const { return out_features_; }
  std::string name() const override { return "Linear"; }
  std::string extra_repr() const override {
    return "in_features=" + std::to_string(in_features_) +
           ", out_features=" + std::to_string(out_features_) +
           ", bias=" + (bias.defined() ? "true" : "false");
  }

 private:
  int64_t in_features_, out_features_;
};

}  // namespace ember::nn
