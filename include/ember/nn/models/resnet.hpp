// ResNet (He et al. 2015) built from BasicBlocks: ResNet-18 and ResNet-34, with the ImageNet
// stem (7x7 stride-2 conv, BN, ReLU, 3x3 stride-2 max-pool) or the CIFAR stem (3x3 stride-1 conv
// with 64 channels, BN, ReLU, no pool) of ../shared/bench/WORKLOADS.md `resnet18_step`.
//
// Parameter names follow ../shared/bench/torch_peer.py (the peer the benchmarks compare with),
// so its state_dict loads unchanged:
//   stem.0.weight, stem.1.{weight,bias,running_mean,running_var,num_batches_tracked},
//   layers.<i>.c1.weight, layers.<i>.b1.*, layers.<i>.c2.weight, layers.<i>.b2.*,
//   layers.<i>.short.0.weight, layers.<i>.short.1.* (projection shortcut), fc.weight, fc.bias.
// torchvision's names differ only by spelling (conv1/bn1 for stem.0/stem.1, layer<s>.<j> for
// layers.<i>, conv1/bn1/conv2/bn2/downsample for c1/b1/c2/b2/short); torchvision_key() maps ours
// to theirs so a torchvision checkpoint can be renamed on load.
#pragma once

#include <array>
#include <cstdint>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/nn/activation.hpp>
#include <ember/nn/conv.hpp>
#include <ember/nn/linear.hpp>
#include <ember/nn/module.hpp>
#include <ember/nn/norm.hpp>
#include <ember/nn/pool.hpp>
#include <ember/nn/sequential.hpp>
#include <ember/ops/activation.hpp>
#include <ember/ops/pool.hpp>
#include <memory>
#include <string>
#include <vector>

namespace ember::nn::models {

// Two 3x3 conv-BN layers with a residual connection: relu(bn2(conv2(relu(bn1(conv1(x))))) + s(x)),
// where s is the identity, or a 1x1 strided conv + BN when the shape changes.
class BasicBlock : public Layer {
 public:
  static constexpr int64_t expansion = 1;

  std::shared_ptr<Conv2d> c1, c2;
  std::shared_ptr<BatchNorm2d> b1, b2;
  std::shared_ptr<Sequential> shortcut;  // registered as "short"; null for the identity

  BasicBlock(int64_t in_channels, int64_t out_channels, int64_t stride = 1,
             Generator& gen = default_generator())
      : in_(in_channels), out_(out_channels), stride_(stride) {
    EMBER_CHECK(in_channels > 0 && out_channels > 0 && stride > 0,
                "BasicBlock: expected positive in_channels, out_channels and stride, got ",
                in_channels, ", ", out_channels, ", ", stride);
    c1 = register_module(
        "c1", std::make_shared<Conv2d>(in_channels, out_channels, 3,
                                       Conv2dOptions{.stride = stride, .padding = 1, .bias = false},
                                       gen));
    b1 = register_module("b1", std::make_shared<BatchNorm2d>(out_channels));
    c2 = register_module("c2",
                         std::make_shared<Conv2d>(out_channels, out_channels, 3,
                                                  Conv2dOptions{.padding = 1, .bias = false}, gen));
    b2 = register_module("b2", std::make_shared<BatchNorm2d>(out_channels));
    if (stride != 1 || in_channels != out_channels) {
      auto s = std::make_shared<Sequential>();
      s->push_back(std::make_shared<Conv2d>(in_channels, out_channels, 1,
                                            Conv2dOptions{.stride = stride, .bias = false}, gen));
      s->push_back(std::make_shared<BatchNorm2d>(out_channels));
      shortcut = register_module("short", s);
    }
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    EMBER_CHECK(x.dim() == 4 && x.size(1) == in_, "BasicBlock(", in_, ", ", out_,
                ", stride=", stride_, "): expected an input [N, ", in_, ", H, W], got shape ",
                shape_str(x.shape()));
    Tensor<float> y = relu(b1->forward(c1->forward(x)));
    y = b2->forward(c2->forward(y));
    return relu(add(y, shortcut ? shortcut->forward(x) : x));
  }

  std::string name() const override { return "BasicBlock"; }
  std::string extra_repr() const override {
    return std::to_string(in_) + ", " + std::to_string(out_) +
           ", stride=" + std::to_string(stride_);
  }

 private:
  int64_t in_, out_, stride_;
};

struct ResNetOptions {
  int64_t num_classes = 1000;
  // CIFAR stem (3x3 stride-1 conv, no max-pool) instead of the ImageNet one.
  bool cifar_stem = false;
  int64_t in_channels = 3;
  // Channels of the four stages; the stem has widths[0]. {16, 32, 64, 128} gives a network
  // small enough for CPU experiments on 48x48 images.
  std::array<int64_t, 4> widths = {64, 128, 256, 512};
};

// ResNet over BasicBlocks; `blocks` gives the number of blocks of each of the four stages
// (options.widths channels, 64, 128, 256, 512 by default; stages 2-4 start with stride 2).
// forward = head(features(x)): features are the last stage's maps (the layer CAM and Grad-CAM
// read), head is global average pooling and the linear classifier; stages(x) returns the
// output of every stage (multi-scale heads).
class ResNet : public Layer {
 public:
  std::shared_ptr<Sequential> stem;    // conv, BN, ReLU (+ max-pool for the ImageNet stem)
  std::shared_ptr<Sequential> layers;  // every BasicBlock, in order
  std::shared_ptr<Linear> fc;

  ResNet(const std::vector<int64_t>& blocks, ResNetOptions options = {},
         Generator& gen = default_generator())
      : options_(options) {
    EMBER_CHECK(blocks.size() == 4, "ResNet: expected the block counts of 4 stages, got ",
                blocks.size());
    for (int64_t b : blocks) EMBER_CHECK(b > 0, "ResNet: every stage needs at least one block");
    EMBER_CHECK(options.num_classes > 0 && options.in_channels > 0,
                "ResNet: num_classes and in_channels must be positive, got ", options.num_classes,
                " and ", options.in_channels);
    for (int64_t w : options.widths)
      EMBER_CHECK(w > 0, "ResNet: every stage width must be positive, got ", w);
    const std::array<int64_t, 4>& widths = options.widths;
    for (int s = 0; s < 4; ++s) blocks_[s] = blocks[s];
    stem = std::make_shared<Sequential>();
    if (options.cifar_stem) {
      stem->push_back(
          std::make_shared<Conv2d>(options.in_channels, widths[0], 3,
                                   Conv2dOptions{.stride = 1, .padding = 1, .bias = false}, gen));
    } else {
      stem->push_back(
          std::make_shared<Conv2d>(options.in_channels, widths[0], 7,
                                   Conv2dOptions{.stride = 2, .padding = 3, .bias = false}, gen));
    }
    stem->push_back(std::make_shared<BatchNorm2d>(widths[0]));
    stem->push_back(std::make_shared<ReLU>());
    if (!options.cifar_stem)
      stem->push_back(std::make_shared<MaxPool2d>(3, MaxPool2dOptions{.stride = 2, .padding = 1}));
    register_module("stem", stem);

    layers = std::make_shared<Sequential>();
    int64_t cin = widths[0];
    for (int s = 0; s < 4; ++s) {
      for (int64_t j = 0; j < blocks[s]; ++j) {
        const int64_t stride = (s > 0 && j == 0) ? 2 : 1;
        layers->push_back(std::make_shared<BasicBlock>(cin, widths[s], stride, gen));
        cin = widths[s];
      }
    }
    register_module("layers", layers);
    fc = register_module(
        "fc", std::make_shared<Linear>(widths[3], options.num_classes, LinearOptions{}, gen));
  }

  // x [N, C, H, W] -> logits [N, num_classes].
  Tensor<float> forward(const Tensor<float>& x) override { return head(features(x)); }

  // The last stage's maps [N, widths[3], h, w].
  Tensor<float> features(const Tensor<float>& x) {
    check_input(x);
    return layers->forward(stem->forward(x));
  }

  // Feature maps [N, widths[3], h, w] -> logits: global average pooling, then fc.
  Tensor<float> head(const Tensor<float>& maps) {
    EMBER_CHECK(maps.dim() == 4 && maps.size(1) == options_.widths[3],
                "ResNet::head: expected maps [N, ", options_.widths[3], ", h, w], got shape ",
                shape_str(maps.shape()));
    return fc->forward(adaptive_avg_pool2d(maps, 1).flatten(1));
  }

  // The output of each of the four stages, [N, widths[s], h_s, w_s].
  std::array<Tensor<float>, 4> stages(const Tensor<float>& x) {
    check_input(x);
    std::array<Tensor<float>, 4> out;
    Tensor<float> y = stem->forward(x);
    size_t block = 0;
    for (int s = 0; s < 4; ++s) {
      for (int64_t j = 0; j < blocks_[s]; ++j) y = (*layers)[block++]->forward(y);
      out[s] = y;
    }
    return out;
  }

  std::string name() const override { return "ResNet"; }

 private:
  void check_input(const Tensor<float>& x) const {
    EMBER_CHECK(x.dim() == 4 && x.size(1) == options_.in_channels, "ResNet: expected an input [N, ",
                options_.in_channels, ", H, W], got shape ", shape_str(x.shape()));
  }

  ResNetOptions options_;
  std::array<int64_t, 4> blocks_ = {};
};

// ResNet-18 ([2, 2, 2, 2] BasicBlocks). resnet18({.num_classes = 10, .cifar_stem = true}) is the
// `resnet18_step` benchmark model (11,173,962 parameters).
inline std::shared_ptr<ResNet> resnet18(ResNetOptions options = {},
                                        Generator& gen = default_generator()) {
  return std::make_shared<ResNet>(std::vector<int64_t>{2, 2, 2, 2}, options, gen);
}

// ResNet-34 ([3, 4, 6, 3] BasicBlocks).
inline std::shared_ptr<ResNet> resnet34(ResNetOptions options = {},
                                        Generator& gen = default_generator()) {
  return std::make_shared<ResNet>(std::vector<int64_t>{3, 4, 6, 3}, options, gen);
}

// The torchvision name of one of our state_dict keys, given the stage block counts
// (e.g. "layers.2.short.0.weight" -> "layer2.0.downsample.0.weight" for ResNet-18).
inline std::string torchvision_key(const std::string& key, const std::vector<int64_t>& blocks) {
  auto starts = [&](const std::string& p) { return key.rfind(p, 0) == 0; };
  if (starts("stem.0.")) return "conv1." + key.substr(7);
  if (starts("stem.1.")) return "bn1." + key.substr(7);
  if (!starts("layers.")) return key;
  const size_t dot = key.find('.', 7);
  int64_t i = std::stoll(key.substr(7, dot - 7));
  int stage = 0;
  while (stage < int(blocks.size()) && i >= blocks[stage]) i -= blocks[stage++];
  std::string rest = key.substr(dot + 1);
  const std::pair<const char*, const char*> renames[] = {{"c1.", "conv1."},
                                                         {"b1.", "bn1."},
                                                         {"c2.", "conv2."},
                                                         {"b2.", "bn2."},
                                                         {"short.", "downsample."}};
  for (auto [from, to] : renames)
    if (rest.rfind(from, 0) == 0) {
      rest = to + rest.substr(std::string(from).size());
      break;
    }
  return "layer" + std::to_string(stage + 1) + "." + std::to_string(i) + "." + rest;
}

}  // namespace ember::nn::models
