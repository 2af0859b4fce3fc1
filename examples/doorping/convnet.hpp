// The ConvNet of baadd's DC code as the note describes it: 3 x [conv 3x3 (pad 1, bias) ->
// ReLU -> avg-pool 2], no normalisation, then FC(flat -> hidden) -> ReLU -> FC(hidden -> 10).
// hidden() gives the hidden FC's pre-activation, the layer whose neuron DOORPING drives.
#pragma once

#include <cstdint>
#include <ember/core/random.hpp>
#include <ember/nn/conv.hpp>
#include <ember/nn/linear.hpp>
#include <ember/nn/module.hpp>
#include <ember/ops/activation.hpp>
#include <ember/ops/pool.hpp>
#include <memory>
#include <string>
#include <vector>

namespace doorping {

using ember::Tensor;

class ConvNet : public ember::nn::Module {
 public:
  // 1-channel side x side images (28 for Fashion-MNIST), 10 classes.
  ConvNet(int64_t width, int64_t hidden, int64_t side, ember::Generator& gen) {
    int64_t in = 1;
    for (int i = 0; i < 3; ++i) {
      convs_.push_back(
          register_module("conv" + std::to_string(i),
                          std::make_shared<ember::nn::Conv2d>(
                              in, width, 3, ember::nn::Conv2dOptions{.padding = 1}, gen)));
      in = width;
      side /= 2;
    }
    fc1_ = register_module("fc1",
                           std::make_shared<ember::nn::Linear>(width * side * side, hidden, gen));
    fc2_ = register_module("fc2", std::make_shared<ember::nn::Linear>(hidden, 10, gen));
  }

  // The hidden FC's output before its ReLU, [N, hidden].
  Tensor<float> hidden(const Tensor<float>& x) {
    Tensor<float> h = x;
    for (auto& conv : convs_) h = ember::avg_pool2d(ember::relu(conv->forward(h)), 2);
    return fc1_->forward(h.reshape({h.size(0), -1}));
  }

  Tensor<float> forward(const Tensor<float>& x) { return fc2_->forward(ember::relu(hidden(x))); }

  // The hidden FC's weight [hidden, flat]: DOORPING picks the row with the largest |w| sum.
  const Tensor<float>& hidden_weight() const { return fc1_->weight; }

  // The parameters as float tensors, in registration order (conv weights and biases, then the
  // two FCs'): what grad() differentiates with respect to.
  std::vector<Tensor<float>> param_tensors() const {
    std::vector<Tensor<float>> out;
    for (const ember::AnyTensor& p : parameters()) out.emplace_back(p.impl);
    return out;
  }

  std::string name() const override { return "ConvNet"; }

 private:
  std::vector<std::shared_ptr<ember::nn::Conv2d>> convs_;
  std::shared_ptr<ember::nn::Linear> fc1_, fc2_;
};

}  // namespace doorping
