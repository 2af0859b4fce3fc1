// The note's scaled-down MultiTaskIQANet (papers/04-pmt-iqa.md §5, "Model sizes"): a small
// residual CNN on 48 x 48 crops (stride-2 stem, four stages of widths 8/16/32/64 at 24², 12², 6²
// and 3², two 3x3 conv-BN layers each, stages 2-4 starting with stride 2), then either
//   - MS: the official four branches scaled down — stages 1-3 through conv1x1 to 4/8/16
//     channels and avgpool 3/3 (8x8, 4x4, 2x2 grids), stage 4 through avgpool 3, each flattened
//     and mapped by FC to 28, concatenated to 112; or
//   - last stage only: global average pool of stage 4 -> FC 112;
// then the official trunk FC 112->112, LeakyReLU, FC 112->14, LeakyReLU and two heads: the
// regression FC 14->1 and the classification FC 14->14, LeakyReLU, FC 14->10.
#pragma once

#include <array>
#include <cstdint>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/nn/conv.hpp>
#include <ember/nn/linear.hpp>
#include <ember/nn/models/resnet.hpp>
#include <ember/nn/module.hpp>
#include <ember/nn/norm.hpp>
#include <ember/ops/activation.hpp>
#include <ember/ops/pool.hpp>
#include <ember/ops/shape.hpp>
#include <memory>
#include <string>

#include "data.hpp"

namespace pmt_iqa {

using namespace ember;

inline constexpr int kCrop = 48;  // training and test crops
inline constexpr int64_t kWidths[4] = {8, 16, 32, 64};
inline constexpr int64_t kBranchChannels[3] = {4, 8, 16};
inline constexpr int64_t kBranchOut = 28, kConcat = 112, kTrunk = 14;

struct Prediction {
  Tensor<float> score;   // [N] regression output, in units of q / 10
  Tensor<float> logits;  // [N, 10]
};

class IqaNet : public nn::Module {
 public:
  // width_mult scales every stage and branch width (1: the note's CPU sizes; 2: its GPU sizes).
  IqaNet(bool multi_scale, int64_t width_mult, Generator& gen) : multi_scale_(multi_scale) {
    EMBER_CHECK(width_mult >= 1, "IqaNet: width_mult must be at least 1, got ", width_mult);
    int64_t widths[4], branch[3];
    for (int s = 0; s < 4; ++s) widths[s] = kWidths[s] * width_mult;
    for (int s = 0; s < 3; ++s) branch[s] = kBranchChannels[s] * width_mult;
    stem_ = register_module(
        "stem",
        std::make_shared<nn::Conv2d>(
            3, widths[0], 3, nn::Conv2dOptions{.stride = 2, .padding = 1, .bias = false}, gen));
    stem_bn_ = register_module("stem_bn", std::make_shared<nn::BatchNorm2d>(widths[0]));
    for (int s = 0; s < 4; ++s)
      stages_[s] =
          register_module("stage" + std::to_string(s + 1),
                          std::make_shared<nn::models::BasicBlock>(
                              s == 0 ? widths[0] : widths[s - 1], widths[s], s == 0 ? 1 : 2, gen));
    if (multi_scale_) {
      // Flattened sizes at 48 x 48 input (width_mult 1): 4x8x8, 8x4x4, 16x2x2 and 64x1x1.
      const int64_t grid[3] = {8, 4, 2};
      for (int s = 0; s < 3; ++s) {
        reduce_[s] = register_module(
            "reduce" + std::to_string(s + 1),
            std::make_shared<nn::Conv2d>(widths[s], branch[s], 1, nn::Conv2dOptions{}, gen));
        branch_fc_[s] = register_module(
            "branch" + std::to_string(s + 1),
            std::make_shared<nn::Linear>(branch[s] * grid[s] * grid[s], kBranchOut, gen));
      }
      branch_fc_[3] =
          register_module("branch4", std::make_shared<nn::Linear>(widths[3], kBranchOut, gen));
    } else {
      last_fc_ = register_module("last", std::make_shared<nn::Linear>(widths[3], kConcat, gen));
    }
    trunk1_ = register_module("trunk1", std::make_shared<nn::Linear>(kConcat, kConcat, gen));
    trunk2_ = register_module("trunk2", std::make_shared<nn::Linear>(kConcat, kTrunk, gen));
    regress_ = register_module("regress", std::make_shared<nn::Linear>(kTrunk, 1, gen));
    cls1_ = register_module("cls1", std::make_shared<nn::Linear>(kTrunk, kTrunk, gen));
    cls2_ = register_module("cls2", std::make_shared<nn::Linear>(kTrunk, kClasses, gen));
  }

  // x [N, 3, 48, 48] in [0, 1].
  Prediction forward(const Tensor<float>& x) {
    EMBER_CHECK(x.dim() == 4 && x.size(1) == 3 && x.size(2) == kCrop && x.size(3) == kCrop,
                "IqaNet: expected crops [N, 3, ", kCrop, ", ", kCrop, "], got ",
                shape_str(x.shape()));
    Tensor<float> h = relu(stem_bn_->forward(stem_->forward(add(x, -0.5f))));
    std::array<Tensor<float>, 4> stage;
    for (int s = 0; s < 4; ++s) h = stage[s] = stages_[s]->forward(h);
    const int64_t n = x.size(0);
    Tensor<float> f;
    if (multi_scale_) {
      std::vector<Tensor<float>> parts;
      for (int s = 0; s < 3; ++s) {
        const Tensor<float> pooled = avg_pool2d(reduce_[s]->forward(stage[s]), 3);
        parts.push_back(branch_fc_[s]->forward(pooled.reshape({n, -1})));
      }
      parts.push_back(branch_fc_[3]->forward(avg_pool2d(stage[3], 3).reshape({n, -1})));
      f = cat(parts, 1);
    } else {
      f = last_fc_->forward(mean(stage[3], {2, 3}));
    }
    const Tensor<float> t = leaky_relu(trunk2_->forward(leaky_relu(trunk1_->forward(f))));
    return {regress_->forward(t).reshape({n}), cls2_->forward(leaky_relu(cls1_->forward(t)))};
  }

  // Starts the regression output at `value` (the training mean): a head trained from scratch
  // would otherwise spend its first epochs only moving its bias to the scale of the scores.
  void set_score_offset(float value) { regress_->bias.fill_(value); }

  std::string name() const override { return multi_scale_ ? "IqaNet(MS)" : "IqaNet(last)"; }

 private:
  bool multi_scale_;
  std::shared_ptr<nn::Conv2d> stem_;
  std::shared_ptr<nn::BatchNorm2d> stem_bn_;
  std::array<std::shared_ptr<nn::models::BasicBlock>, 4> stages_;
  std::array<std::shared_ptr<nn::Conv2d>, 3> reduce_;
  std::array<std::shared_ptr<nn::Linear>, 4> branch_fc_;
  std::shared_ptr<nn::Linear> last_fc_, trunk1_, trunk2_, regress_, cls1_, cls2_;
};

}  // namespace pmt_iqa
