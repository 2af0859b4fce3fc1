// Loss modules: thin wrappers over nn/functional/loss.hpp for float32 models. A class-weight
// tensor is registered as the buffer "weight", as PyTorch's weighted losses do.
#pragma once

#include <ember/nn/functional/loss.hpp>
#include <ember/nn/module.hpp>
#include <string>

namespace ember::nn {

using functional::Reduction;

class CrossEntropyLoss : public Module {
 public:
  explicit CrossEntropyLoss(functional::CrossEntropyOptions<float> options = {})
      : options_(options) {
    if (options_.weight.defined()) options_.weight = register_buffer("weight", options_.weight);
  }
  // Class indices [N, d...] or class probabilities of the logits' shape.
  Tensor<float> forward(const Tensor<float>& logits, const Tensor<int64_t>& target) const {
    return functional::cross_entropy(logits, target, options_);
  }
  Tensor<float> forward(const Tensor<float>& logits, const Tensor<float>& target) const {
    return functional::cross_entropy(logits, target, options_);
  }
  template <class Target>
  Tensor<float> operator()(const Tensor<float>& logits, const Tensor<Target>& target) const {
    return forward(logits, target);
  }
  std::string name() const override { return "CrossEntropyLoss"; }

 private:
  functional::CrossEntropyOptions<float> options_;
};

class MSELoss : public Module {
 public:
  explicit MSELoss(Reduction reduction = Reduction::Mean) : reduction_(reduction) {}
  Tensor<float> forward(const Tensor<float>& input, const Tensor<float>& target) const {
    return functional::mse_loss(input, target, reduction_);
  }
  Tensor<float> operator()(const Tensor<float>& input, const Tensor<float>& target) const {
    return forward(input, target);
  }
  std::string name() const override { return "MSELoss"; }

 private:
  Reduction reduction_;
};

}  // namespace ember::nn
