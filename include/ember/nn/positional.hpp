// Position information for transformers: the fixed sinusoidal encoding (Vaswani et al., 2017),
// a learned positional embedding, and ViT's PatchEmbedding.
//
// All take batch-first [N, L, d_model] sequences. PatchEmbedding is Conv2d(C, dim,
// kernel = stride = patch) written as reshape / permute + one linear: non-overlapping patches
// make the convolution a GEMM over flattened patches, so it needs no conv op. Its weight keeps
// Conv2d's layout [dim, C, patch, patch] (named proj.weight / proj.bias in timm's ViT; here
// weight / bias), so PyTorch weights copy over. Gradients are those of the ops.
#pragma once

#include <cmath>
#include <cstdint>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/nn/init.hpp>
#include <ember/nn/module.hpp>
#include <ember/ops/linalg.hpp>
#include <string>

namespace ember::nn {

// x + pe[:L] with pe[pos, 2i] = sin(pos / 10000^(2i / d)), pe[pos, 2i + 1] = cos(same), held
// in the buffer "pe" [max_len, d_model] (computed in double, stored as float).
class SinusoidalPositionalEncoding : public Layer {
 public:
  Tensor<float> pe;  // [max_len, d_model]

  explicit SinusoidalPositionalEncoding(int64_t d_model, int64_t max_len = 5000)
      : d_model_(d_model), max_len_(max_len) {
    EMBER_CHECK(d_model > 0 && max_len > 0,
                "SinusoidalPositionalEncoding: expected positive sizes, got d_model=", d_model,
                ", max_len=", max_len);
    Tensor<float> table = Tensor<float>::empty({max_len, d_model});
    float* p = table.data_ptr();
    for (int64_t pos = 0; pos < max_len; ++pos)
      for (int64_t j = 0; j < d_model; ++j) {
        const int64_t i2 = j - j % 2;  // 2i
        const double angle =
            double(pos) * std::exp(-std::log(10000.0) * double(i2) / double(d_model));
        p[pos * d_model + j] = float(j % 2 == 0 ? std::sin(angle) : std::cos(angle));
      }
    pe = register_buffer("pe", table);
  }

  // x [N, L, d_model] (or [L, d_model]) -> x + pe[:L].
  Tensor<float> forward(const Tensor<float>& x) override {
    EMBER_CHECK(x.dim() >= 2 && x.size(-1) == d_model_ && x.size(-2) <= max_len_,
                "SinusoidalPositionalEncoding(", d_model_, ", max_len=", max_len_,
                "): expected an input [..., L, ", d_model_, "] with L <= ", max_len_, ", got ",
                shape_str(x.shape()));
    return add(x, pe.narrow(0, 0, x.size(-2)));
  }

  std::string name() const override { return "SinusoidalPositionalEncoding"; }
  std::string extra_repr() const override {
    return "d_model=" + std::to_string(d_model_) + ", max_len=" + std::to_string(max_len_);
  }

 private:
  int64_t d_model_, max_len_;
};

// x + weight[:L] with a trained weight [max_len, d_model], initialised N(0, 0.02²) truncated to
// ±2 std (ViT's and GPT-2's choice).
class LearnedPositionalEmbedding : public Layer {
 public:
  Tensor<float> weight;  // [max_len, d_model]

  LearnedPositionalEmbedding(int64_t max_len, int64_t d_model, Generator& gen = default_generator())
      : d_model_(d_model), max_len_(max_len) {
    EMBER_CHECK(d_model > 0 && max_len > 0,
                "LearnedPositionalEmbedding: expected positive sizes, got max_len=", max_len,
                ", d_model=", d_model);
    weight = register_parameter("weight", Tensor<float>::empty({max_len, d_model}));
    init::trunc_normal_(weight, 0.0, 0.02, -0.04, 0.04, gen);
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    EMBER_CHECK(x.dim() >= 2 && x.size(-1) == d_model_ && x.size(-2) <= max_len_,
                "LearnedPositionalEmbedding(", max_len_, ", ", d_model_,
                "): expected an input [..., L, ", d_model_, "] with L <= ", max_len_, ", got ",
                shape_str(x.shape()));
    return add(x, weight.narrow(0, 0, x.size(-2)));
  }

  std::string name() const override { return "LearnedPositionalEmbedding"; }
  std::string extra_repr() const override {
    return std::to_string(max_len_) + ", " + std::to_string(d_model_);
  }

 private:
  int64_t d_model_, max_len_;
};

namespace functional {

// Non-overlapping patch projection: x [N, C, H, W], weight [dim, C, p, p], bias [dim] ->
// [N, (H / p) * (W / p), dim], patches in row-major order (as Conv2d + flatten(2) +
// transpose(1, 2) gives).
template <class T>
Tensor<T> patch_embedding(const Tensor<T>& x, const Tensor<T>& weight,
                          const Tensor<T>& bias = Tensor<T>()) {
  EMBER_CHECK(weight.dim() == 4 && weight.size(2) == weight.size(3),
              "patch_embedding: weight must be [dim, C, patch, patch], got ",
              shape_str(weight.shape()));
  const int64_t dim = weight.size(0), C = weight.size(1), P = weight.size(2);
  EMBER_CHECK(x.dim() == 4 && x.size(1) == C && P > 0 && x.size(2) % P == 0 && x.size(3) % P == 0,
              "patch_embedding: expected an input [N, ", C,
              ", H, W] with H and W divisible by "
              "the patch size ",
              P, ", got ", shape_str(x.shape()));
  const int64_t N = x.size(0), gh = x.size(2) / P, gw = x.size(3) / P;
  // [N, C, gh, P, gw, P] -> [N, gh, gw, C, P, P] -> [N, gh * gw, C * P * P]
  const Tensor<T> patches =
      x.reshape({N, C, gh, P, gw, P}).permute({0, 2, 4, 1, 3, 5}).reshape({N, gh * gw, C * P * P});
  return linear(patches, weight.reshape({dim, C * P * P}), bias);
}

}  // namespace functional

struct PatchEmbeddingOptions {
  bool bias = true;
};

// ViT's patch embedding: [N, C, H, W] -> [N, (H / patch) * (W / patch), embed_dim].
// Initialised as Conv2d: weight and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = C*p*p.
class PatchEmbedding : public Layer {
 public:
  Tensor<float> weight;  // [embed_dim, in_channels, patch, patch] (Conv2d layout)
  Tensor<float> bias;    // [embed_dim]

  PatchEmbedding(int64_t in_channels, int64_t patch_size, int64_t embed_dim,
                 PatchEmbeddingOptions options = {}, Generator& gen = default_generator())
      : in_channels_(in_channels), patch_size_(patch_size), embed_dim_(embed_dim) {
    EMBER_CHECK(in_channels > 0 && patch_size > 0 && embed_dim > 0,
                "PatchEmbedding: expected positive sizes, got in_channels=", in_channels,
                ", patch_size=", patch_size, ", embed_dim=", embed_dim);
    weight = register_parameter(
        "weight", Tensor<float>::empty({embed_dim, in_channels, patch_size, patch_size}));
    init::kaiming_uniform_(weight, {.a = std::sqrt(5.0)}, gen);
    if (options.bias) {
      const double bound = 1.0 / std::sqrt(double(in_channels * patch_size * patch_size));
      bias = register_parameter("bias", Tensor<float>::empty({embed_dim}));
      init::uniform_(bias, -bound, bound, gen);
    }
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    EMBER_CHECK(x.dim() == 4 && x.size(1) == in_channels_ && x.size(2) % patch_size_ == 0 &&
                    x.size(3) % patch_size_ == 0,
                "PatchEmbedding(", in_channels_, ", patch=", patch_size_, ", ", embed_dim_,
                "): expected an input [N, ", in_channels_, ", H, W] with H and W divisible by ",
                patch_size_, ", got ", shape_str(x.shape()));
    return functional::patch_embedding(x, weight, bias);
  }

  std::string name() const override { return "PatchEmbedding"; }
  std::string extra_repr() const override {
    return "in_channels=" + std::to_string(in_channels_) +
           ", patch_size=" + std::to_string(patch_size_) +
           ", embed_dim=" + std::to_string(embed_dim_);
  }

 private:
  int64_t in_channels_, patch_size_, embed_dim_;
};

}  // namespace ember::nn
