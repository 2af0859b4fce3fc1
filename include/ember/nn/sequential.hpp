// Sequential: layers applied one after another, registered as children "0", "1", ... so
// their tensors are saved as "0.weight", "2.bias", as in PyTorch.
//
//   auto model = nn::make_sequential(std::make_shared<nn::Linear>(784, 128),
//                                    std::make_shared<nn::ReLU>(),
//                                    std::make_shared<nn::Linear>(128, 10));
#pragma once

#include <cstddef>
#include <ember/nn/module.hpp>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace ember::nn {

class Sequential : public Layer {
 public:
  Sequential() = default;
  Sequential(std::initializer_list<std::shared_ptr<Layer>> layers) {
    for (const auto& l : layers) push_back(l);
  }

  void push_back(std::shared_ptr<Layer> layer) {
    EMBER_CHECK(layer != nullptr, "Sequential::push_back: layer ", layers_.size(),
                " is a null pointer");
    layers_.push_back(register_module(std::to_string(layers_.size()), std::move(layer)));
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    Tensor<float> y = x;
    for (auto& layer : layers_) y = layer->forward(y);
    return y;
  }

  const std::shared_ptr<Layer>& operator[](size_t i) const {
    EMBER_CHECK(i < layers_.size(), "Sequential: index ", i, " out of range for ", layers_.size(),
                " layers");
    return layers_[i];
  }
  size_t size() const { return layers_.size(); }
  auto begin() const { return layers_.begin(); }
  auto end() const { return layers_.end(); }

  std::string name() const override { return "Sequential"; }

 private:
  std::vector<std::shared_ptr<Layer>> layers_;
};

// make_sequential(a, b, c): a shared Sequential of the given layers (std::make_shared cannot
// forward a braced list).
template <class... Layers>
std::shared_ptr<Sequential> make_sequential(std::shared_ptr<Layers>... layers) {
  auto seq = std::make_shared<Sequential>();
  (seq->push_back(std::move(layers)), ...);
  return seq;
}

}  // namespace ember::nn
