// A VGG-style ConvNet (Simonyan & Zisserman 2014): stages of 3x3 conv (+ BatchNorm) + ReLU
// layers separated by 2x2 max-pools, then global average pooling and a classifier.
//
// The stages are a config list as torchvision's `cfgs`: a positive entry is a 3x3 conv with that
// many output channels, `kPool` (0) a 2x2 stride-2 max-pool. Names: features.<i>.* (a flat
// Sequential, so indices count conv, BN, ReLU and pool layers as torchvision's do),
// classifier.<j>.*.
#pragma once

#include <cstdint>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/nn/activation.hpp>
#include <ember/nn/conv.hpp>
#include <ember/nn/dropout.hpp>
#include <ember/nn/linear.hpp>
#include <ember/nn/module.hpp>
#include <ember/nn/norm.hpp>
#include <ember/nn/pool.hpp>
#include <ember/nn/sequential.hpp>
#include <ember/ops/pool.hpp>
#include <memory>
#include <string>
#include <vector>

namespace ember::nn::models {

struct VGGOptions {
  static constexpr int64_t kPool = 0;
  // VGG-11's channel plan by default.
  std::vector<int64_t> cfg = {64,  kPool, 128,   kPool, 256, 256,  kPool,
                              512, 512,   kPool, 512,   512, kPool};
  int64_t in_channels = 3;
  int64_t num_classes = 10;
  bool batch_norm = true;
  int64_t hidden = 512;  // classifier: Linear(c, hidden), ReLU, Dropout, Linear(hidden, classes);
                         // 0 for a single Linear(c, classes)
  double dropout = 0.5;
};

class VGG : public Layer {
 public:
  std::shared_ptr<Sequential> features, classifier;

  explicit VGG(VGGOptions options = {}, Generator& gen = default_generator()) : opt_(options) {
    EMBER_CHECK(options.in_channels > 0 && options.num_classes > 0 && options.hidden >= 0,
                "VGG: in_channels and num_classes must be positive and hidden non-negative");
    features = std::make_shared<Sequential>();
    int64_t c = options.in_channels;
    for (int64_t v : options.cfg) {
      EMBER_CHECK(v >= 0, "VGG: cfg entries must be channel counts (> 0) or kPool (0), got ", v);
      if (v == VGGOptions::kPool) {
        features->push_back(std::make_shared<MaxPool2d>(2, MaxPool2dOptions{.stride = 2}));
        continue;
      }
      features->push_back(std::make_shared<Conv2d>(
          c, v, 3, Conv2dOptions{.padding = 1, .bias = !options.batch_norm}, gen));
      if (options.batch_norm) features->push_back(std::make_shared<BatchNorm2d>(v));
      features->push_back(std::make_shared<ReLU>());
      c = v;
    }
    register_module("features", features);
    classifier = std::make_shared<Sequential>();
    if (options.hidden > 0) {
      classifier->push_back(std::make_shared<Linear>(c, options.hidden, LinearOptions{}, gen));
      classifier->push_back(std::make_shared<ReLU>());
      classifier->push_back(std::make_shared<Dropout>(DropoutOptions{.p = options.dropout}));
      classifier->push_back(
          std::make_shared<Linear>(options.hidden, options.num_classes, LinearOptions{}, gen));
    } else {
      classifier->push_back(std::make_shared<Linear>(c, options.num_classes, LinearOptions{}, gen));
    }
    register_module("classifier", classifier);
  }

  // x [N, in_channels, H, W] -> logits [N, num_classes] (any H, W the pools leave >= 1).
  Tensor<float> forward(const Tensor<float>& x) override {
    EMBER_CHECK(x.dim() == 4 && x.size(1) == opt_.in_channels, "VGG: expected an input [N, ",
                opt_.in_channels, ", H, W], got shape ", shape_str(x.shape()));
    const Tensor<float> f = features->forward(x);
    return classifier->forward(adaptive_avg_pool2d(f, 1).flatten(1));
  }

  std::string name() const override { return "VGG"; }

 private:
  VGGOptions opt_;
};

}  // namespace ember::nn::models
