// The two PEA detectors of the note (09-sstam-video.md, "Model sizes"):
//
//   PatchCnn        single-frame 32 x 32 YUV patches (chroma upsampled, 3 channels): 4 conv
//                   layers 16-32-32-64 (3 x 3) with BatchNorm and ReLU, a 2 x 2 max-pool after
//                   the second (so the last two run at 16 x 16: half the cost of pooling at the
//                   end, the same receptive field over one 8 x 8 codec block), global average
//                   pooling, a Linear to the logits. 4 logits as the spatial detector (blur,
//                   block, bleed, ring), 2 as the single-frame control for flicker and float.
//   TinyTimeSformer 8 frames x 32 x 32: 8 x 8 patches (16 tokens a frame) embedded to d = 64,
//                   learned spatial and temporal position embeddings, a CLS token, 2 divided
//                   space-time blocks (nn/divided_attention.hpp: 4 heads, MLP 128, GELU,
//                   pre-LayerNorm), a final LayerNorm on the CLS token and a Linear to 2
//                   logits (flicker, float). temporal = false removes the temporal attention
//                   from both blocks: the spatial-only control (arm 4).
#pragma once

#include <cstdint>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/nn/activation.hpp>
#include <ember/nn/conv.hpp>
#include <ember/nn/divided_attention.hpp>
#include <ember/nn/init.hpp>
#include <ember/nn/linear.hpp>
#include <ember/nn/module.hpp>
#include <ember/nn/norm.hpp>
#include <ember/nn/pool.hpp>
#include <ember/nn/positional.hpp>
#include <ember/nn/sequential.hpp>
#include <memory>
#include <string>

namespace sstam {

using namespace ember;

inline std::shared_ptr<nn::Sequential> make_patch_cnn(int64_t outputs, Generator& gen) {
  const nn::Conv2dOptions same{.padding = 1};
  return nn::make_sequential(
      std::make_shared<nn::Conv2d>(3, 16, 3, same, gen), std::make_shared<nn::BatchNorm2d>(16),
      std::make_shared<nn::ReLU>(), std::make_shared<nn::Conv2d>(16, 32, 3, same, gen),
      std::make_shared<nn::BatchNorm2d>(32), std::make_shared<nn::ReLU>(),
      std::make_shared<nn::MaxPool2d>(2), std::make_shared<nn::Conv2d>(32, 32, 3, same, gen),
      std::make_shared<nn::BatchNorm2d>(32), std::make_shared<nn::ReLU>(),
      std::make_shared<nn::Conv2d>(32, 64, 3, same, gen), std::make_shared<nn::BatchNorm2d>(64),
      std::make_shared<nn::ReLU>(), std::make_shared<nn::AdaptiveAvgPool2d>(1),
      std::make_shared<nn::Flatten>(), std::make_shared<nn::Linear>(64, outputs, gen));
}

class TinyTimeSformer : public nn::Module {
 public:
  static constexpr int64_t kDim = 64, kHeads = 4, kMlp = 128, kPatch = 8, kDepth = 2;

  std::shared_ptr<nn::PatchEmbedding> embed;
  std::shared_ptr<nn::DividedSpaceTimeBlock> block1, block2;
  std::shared_ptr<nn::LayerNorm> norm;
  std::shared_ptr<nn::Linear> head;
  Tensor<float> cls, pos_space, pos_time;

  TinyTimeSformer(int64_t frames, int64_t side, int64_t outputs, bool temporal, Generator& gen)
      : frames_(frames), tokens_((side / kPatch) * (side / kPatch)), temporal_(temporal) {
    embed = register_module("embed", std::make_shared<nn::PatchEmbedding>(
                                         3, kPatch, kDim, nn::PatchEmbeddingOptions{}, gen));
    const nn::DividedAttentionOptions o{.mlp_hidden = kMlp, .temporal = temporal};
    block1 = register_module("block1",
                             std::make_shared<nn::DividedSpaceTimeBlock>(kDim, kHeads, o, gen));
    block2 = register_module("block2",
                             std::make_shared<nn::DividedSpaceTimeBlock>(kDim, kHeads, o, gen));
    norm = register_module("norm", std::make_shared<nn::LayerNorm>(Shape{kDim}));
    head = register_module("head", std::make_shared<nn::Linear>(kDim, outputs, gen));
    // ViT-style initialisation of the learned tokens: N(0, 0.02^2), truncated.
    cls = register_parameter("cls", nn::init::trunc_normal_(Tensor<float>::empty({1, kDim}), 0.0,
                                                            0.02, -0.04, 0.04, gen));
    pos_space = register_parameter(
        "pos_space", nn::init::trunc_normal_(Tensor<float>::empty({1, 1, tokens_, kDim}), 0.0, 0.02,
                                             -0.04, 0.04, gen));
    pos_time = register_parameter(
        "pos_time", nn::init::trunc_normal_(Tensor<float>::empty({1, frames, 1, kDim}), 0.0, 0.02,
                                            -0.04, 0.04, gen));
  }

  // x [B, T, 3, side, side] -> logits [B, outputs].
  Tensor<float> forward(const Tensor<float>& x) {
    EMBER_CHECK(x.dim() == 5 && x.size(1) == frames_ && x.size(2) == 3,
                "TinyTimeSformer: ", "expected clips [B, ", frames_, ", 3, H, W], got ",
                shape_str(x.shape()));
    const int64_t b = x.size(0);
    Tensor<float> tok = embed->forward(x.reshape({b * frames_, 3, x.size(3), x.size(4)}))
                            .reshape({b, frames_, tokens_, kDim});
    tok = add(add(tok, pos_space), pos_time);
    Tensor<float> c = cls.expand({b, kDim});
    auto r = block1->forward(tok, c);
    r = block2->forward(r.tokens, r.cls);
    return head->forward(norm->forward(r.cls));
  }

  bool temporal() const { return temporal_; }
  std::string name() const override { return "TinyTimeSformer"; }

 private:
  int64_t frames_, tokens_;
  bool temporal_;
};

}  // namespace sstam
