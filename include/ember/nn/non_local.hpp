// The non-local block of Wang et al. (CVPR 2018), embedded-Gaussian form: every position
// attends to every other,
//   y_i = sum_j softmax_j(theta(x_i) . phi(x_j)) g(x_j),   z = W_z y + x,
// with theta, phi, g and W_z 1x1 convolutions (inner = channels / 2 by default). W_z starts at
// zero, so a freshly inserted block is the identity and does not disturb a trained network
// (the paper zero-initialises the BatchNorm after W_z for the same reason).
#pragma once

#include <algorithm>
#include <cstdint>
#include <ember/autograd/grad_mode.hpp>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/nn/conv.hpp>
#include <ember/nn/module.hpp>
#include <ember/ops/arith.hpp>
#include <ember/ops/linalg.hpp>
#include <ember/ops/softmax.hpp>
#include <memory>
#include <string>

namespace ember::nn {

class NonLocalBlock2d : public Layer {
 public:
  std::shared_ptr<Conv2d> theta, phi, g, out;

  explicit NonLocalBlock2d(int64_t channels, int64_t inner = 0,
                           Generator& gen = default_generator())
      : channels_(channels), inner_(inner > 0 ? inner : std::max<int64_t>(1, channels / 2)) {
    EMBER_CHECK(channels >= 1 && inner >= 0, "NonLocalBlock2d: expected channels >= 1 and ",
                "inner >= 0, got ", channels, " and ", inner);
    theta = register_module("theta",
                            std::make_shared<Conv2d>(channels, inner_, 1, Conv2dOptions{}, gen));
    phi =
        register_module("phi", std::make_shared<Conv2d>(channels, inner_, 1, Conv2dOptions{}, gen));
    g = register_module("g", std::make_shared<Conv2d>(channels, inner_, 1, Conv2dOptions{}, gen));
    out =
        register_module("out", std::make_shared<Conv2d>(inner_, channels, 1, Conv2dOptions{}, gen));
    NoGradGuard no_grad;
    out->weight.fill_(0.0f);
    out->bias.fill_(0.0f);
  }

  // x [N, C, H, W] -> [N, C, H, W].
  Tensor<float> forward(const Tensor<float>& x) override {
    EMBER_CHECK(x.dim() == 4 && x.size(1) == channels_, "NonLocalBlock2d(", channels_,
                "): expected an input [N, ", channels_, ", H, W], got shape ",
                shape_str(x.shape()));
    const int64_t n = x.size(0), h = x.size(2), w = x.size(3), p = h * w;
    const Tensor<float> t = theta->forward(x).reshape({n, inner_, p}).transpose(1, 2);  // [N, P, I]
    const Tensor<float> f = phi->forward(x).reshape({n, inner_, p});                    // [N, I, P]
    const Tensor<float> v = g->forward(x).reshape({n, inner_, p}).transpose(1, 2);      // [N, P, I]
    const Tensor<float> attention = softmax(bmm(t, f), 2);                              // [N, P, P]
    const Tensor<float> y = bmm(attention, v).transpose(1, 2).reshape({n, inner_, h, w});
    return add(out->forward(y), x);
  }

  std::string name() const override { return "NonLocalBlock2d"; }
  std::string extra_repr() const override {
    return std::to_string(channels_) + ", inner=" + std::to_string(inner_);
  }

 private:
  int64_t channels_, inner_;
};

}  // namespace ember::nn
