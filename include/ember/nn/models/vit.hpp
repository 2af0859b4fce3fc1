// A small Vision Transformer (Dosovitskiy et al. 2020): non-overlapping patches projected to
// `dim` (PatchEmbedding), a learned [CLS] token prepended, learned positions added, `depth`
// pre-LN TransformerEncoderLayers (GELU MLP), a final LayerNorm, and a Linear head on the CLS
// token.
//
// Parameter names: patch_embed.{weight,bias}, cls_token, pos_embed.weight,
// layers.<i>.{self_attn,linear1,linear2,norm1,norm2}.*, norm.{weight,bias}, head.{weight,bias}.
#pragma once

#include <cstdint>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/nn/init.hpp>
#include <ember/nn/linear.hpp>
#include <ember/nn/module.hpp>
#include <ember/nn/norm.hpp>
#include <ember/nn/positional.hpp>
#include <ember/nn/sequential.hpp>
#include <ember/nn/transformer.hpp>
#include <ember/ops/shape.hpp>
#include <memory>
#include <string>

namespace ember::nn::models {

struct ViTOptions {
  int64_t image_size = 32;
  int64_t patch_size = 4;
  int64_t in_channels = 3;
  int64_t num_classes = 10;
  int64_t dim = 64;
  int64_t depth = 2;
  int64_t heads = 4;
  int64_t mlp_dim = 128;
  double dropout = 0.0;
};

class ViT : public Layer {
 public:
  std::shared_ptr<PatchEmbedding> patch_embed;
  Tensor<float> cls_token;  // [1, 1, dim]
  std::shared_ptr<LearnedPositionalEmbedding> pos_embed;
  std::shared_ptr<Sequential> layers;
  std::shared_ptr<LayerNorm> norm;
  std::shared_ptr<Linear> head;

  explicit ViT(ViTOptions options = {}, Generator& gen = default_generator()) : opt_(options) {
    EMBER_CHECK(options.patch_size > 0 && options.image_size > 0 &&
                    options.image_size % options.patch_size == 0,
                "ViT: image_size (", options.image_size,
                ") must be a positive multiple of "
                "patch_size (",
                options.patch_size, ")");
    EMBER_CHECK(options.num_classes > 0 && options.depth >= 0,
                "ViT: num_classes must be positive and depth non-negative");
    const int64_t grid = options.image_size / options.patch_size;
    patch_embed = register_module(
        "patch_embed", std::make_shared<PatchEmbedding>(options.in_channels, options.patch_size,
                                                        options.dim, PatchEmbeddingOptions{}, gen));
    cls_token = register_parameter("cls_token", Tensor<float>::empty({1, 1, options.dim}));
    init::trunc_normal_(cls_token, 0.0, 0.02, -0.04, 0.04, gen);
    pos_embed = register_module("pos_embed", std::make_shared<LearnedPositionalEmbedding>(
                                                 grid * grid + 1, options.dim, gen));
    layers = std::make_shared<Sequential>();
    for (int64_t i = 0; i < options.depth; ++i)
      layers->push_back(std::make_shared<TransformerEncoderLayer>(
          options.dim, options.heads,
          TransformerLayerOptions{.dim_feedforward = options.mlp_dim,
                                  .dropout = options.dropout,
                                  .activation = "gelu",
                                  .norm_first = true},
          gen));
    register_module("layers", layers);
    norm = register_module("norm",
                           std::make_shared<LayerNorm>(options.dim, LayerNormOptions{.eps = 1e-6}));
    head = register_module(
        "head", std::make_shared<Linear>(options.dim, options.num_classes, LinearOptions{}, gen));
  }

  // x [N, C, image_size, image_size] -> logits [N, num_classes].
  Tensor<float> forward(const Tensor<float>& x) override {
    EMBER_CHECK(x.dim() == 4 && x.size(1) == opt_.in_channels && x.size(2) == opt_.image_size &&
                    x.size(3) == opt_.image_size,
                "ViT: expected an input [N, ", opt_.in_channels, ", ", opt_.image_size, ", ",
                opt_.image_size, "], got shape ", shape_str(x.shape()));
    const int64_t N = x.size(0);
    Tensor<float> tokens = patch_embed->forward(x);  // [N, P, dim]
    tokens = cat(std::vector<Tensor<float>>{cls_token.expand({N, 1, opt_.dim}), tokens}, 1);
    Tensor<float> h = layers->forward(pos_embed->forward(tokens));
    return head->forward(norm->forward(h).select(1, 0));
  }

  std::string name() const override { return "ViT"; }

 private:
  ViTOptions opt_;
};

}  // namespace ember::nn::models
