// The two classifiers the MDM note explains (papers/01-mdm.md §5):
//   - a CNN: conv3x3 3->16, 16->16 stride 2, 16->32, 32->32 stride 2, 32->64, each with BN and
//     ReLU; its 64 x 12 x 12 output is the Grad-CAM layer (features), then global average
//     pooling and FC 64->10 (head);
//   - a tiny ViT: 8 x 8 patches (36 tokens and CLS), d 64, 2 pre-LN blocks of 4 heads, MLP 128
//     (nn::models::ViT).
// MDM, RISE and the gradient see both only through forward; Grad-CAM and CAM use the CNN's
// features / head split.
#pragma once

#include <cstdint>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/nn/conv.hpp>
#include <ember/nn/linear.hpp>
#include <ember/nn/models/vit.hpp>
#include <ember/nn/module.hpp>
#include <ember/nn/norm.hpp>
#include <ember/ops/activation.hpp>
#include <ember/ops/reduce.hpp>
#include <memory>
#include <string>

#include "scenes.hpp"

namespace mdm {

using namespace ember;

class SceneCnn : public nn::Module {
 public:
  std::shared_ptr<nn::Linear> fc;

  explicit SceneCnn(Generator& gen) {
    const int64_t in[5] = {3, 16, 16, 32, 32}, out[5] = {16, 16, 32, 32, 64},
                  stride[5] = {1, 2, 1, 2, 1};
    for (int i = 0; i < 5; ++i) {
      conv_[i] = register_module(
          "conv" + std::to_string(i + 1),
          std::make_shared<nn::Conv2d>(
              in[i], out[i], 3, nn::Conv2dOptions{.stride = stride[i], .padding = 1, .bias = false},
              gen));
      bn_[i] =
          register_module("bn" + std::to_string(i + 1), std::make_shared<nn::BatchNorm2d>(out[i]));
    }
    fc = register_module("fc", std::make_shared<nn::Linear>(64, 10, gen));
  }

  // Images [N, 3, 48, 48] -> maps [N, 64, 12, 12].
  Tensor<float> features(const Tensor<float>& x) {
    Tensor<float> h = x;
    for (int i = 0; i < 5; ++i) h = relu(bn_[i]->forward(conv_[i]->forward(h)));
    return h;
  }
  // Maps -> logits [N, 10].
  Tensor<float> head(const Tensor<float>& maps) { return fc->forward(mean(maps, {2, 3})); }
  Tensor<float> forward(const Tensor<float>& x) { return head(features(x)); }

  std::string name() const override { return "SceneCnn"; }

 private:
  std::shared_ptr<nn::Conv2d> conv_[5];
  std::shared_ptr<nn::BatchNorm2d> bn_[5];
};

inline std::shared_ptr<nn::models::ViT> make_vit(Generator& gen) {
  return std::make_shared<nn::models::ViT>(nn::models::ViTOptions{.image_size = kSide,
                                                                  .patch_size = 8,
                                                                  .in_channels = 3,
                                                                  .num_classes = 10,
                                                                  .dim = 64,
                                                                  .depth = 2,
                                                                  .heads = 4,
                                                                  .mlp_dim = 128},
                                           gen);
}

}  // namespace mdm
