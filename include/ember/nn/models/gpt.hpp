// A GPT-2 style decoder, exactly the model of ../shared/bench/torch_peer.py's GPT (the
// `gpt_step` workload): token + learned position embeddings, pre-LN blocks of causal
// multi-head self-attention (one fused qkv Linear(d, 3d) + an output projection) and an MLP
// (Linear(d, 4d), GELU-tanh, Linear(4d, d)), a final LayerNorm, and an LM head tied to the
// token embedding: logits = ln(x) @ wte.weightᵀ, one shared parameter counted once.
//
// Parameter names are torch_peer.py's, so its state_dict loads unchanged:
//   wte.weight, wpe.weight, blocks.<i>.{ln1,ln2,qkv,proj,fc,fc2}.{weight,bias}, ln.{weight,bias}.
// Initialisation is PyTorch's default for those modules (the peer does not re-initialise).
#pragma once

#include <cstdint>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/nn/embedding.hpp>
#include <ember/nn/linear.hpp>
#include <ember/nn/module.hpp>
#include <ember/nn/norm.hpp>
#include <ember/nn/sequential.hpp>
#include <ember/ops/activation.hpp>
#include <ember/ops/attention.hpp>
#include <ember/ops/linalg.hpp>
#include <memory>
#include <string>

namespace ember::nn::models {

struct GPTConfig {
  int64_t vocab_size = 2048;
  int64_t block_size = 128;  // context length: the rows of wpe
  int64_t n_embd = 128;
  int64_t n_head = 4;
  int64_t n_layer = 2;
};

// x + attn(ln1(x)), then x + fc2(gelu_tanh(fc(ln2(x)))), on [B, T, d].
class GPTBlock : public Layer {
 public:
  std::shared_ptr<LayerNorm> ln1, ln2;
  std::shared_ptr<Linear> qkv, proj, fc, fc2;

  GPTBlock(int64_t d, int64_t heads, Generator& gen = default_generator()) : d_(d), heads_(heads) {
    EMBER_CHECK(d > 0 && heads > 0 && d % heads == 0, "GPTBlock: d (", d,
                ") must be positive and divisible by heads (", heads, ")");
    // torch_peer.py's registration order: ln1, ln2, qkv, proj, fc, fc2.
    ln1 = register_module("ln1", std::make_shared<LayerNorm>(d));
    ln2 = register_module("ln2", std::make_shared<LayerNorm>(d));
    qkv = register_module("qkv", std::make_shared<Linear>(d, 3 * d, LinearOptions{}, gen));
    proj = register_module("proj", std::make_shared<Linear>(d, d, LinearOptions{}, gen));
    fc = register_module("fc", std::make_shared<Linear>(d, 4 * d, LinearOptions{}, gen));
    fc2 = register_module("fc2", std::make_shared<Linear>(4 * d, d, LinearOptions{}, gen));
  }

  // Causal self-attention of x [B, T, d]: heads of size d / heads, softmax(q kᵀ / sqrt(hd)) v
  // with key j > query i masked, heads merged and projected.
  Tensor<float> attention(const Tensor<float>& x) {
    const int64_t B = x.size(0), T = x.size(1), hd = d_ / heads_;
    const Tensor<float> h = qkv->forward(x);  // [B, T, 3d]
    // Views of the fused projection, [B, heads, T, hd] each (no copies).
    auto head = [&](int64_t i) {
      return h.narrow(2, i * d_, d_).view({B, T, heads_, hd}).transpose(1, 2);
    };
    const Tensor<float> y = scaled_dot_product_attention(head(0), head(1), head(2),
                                                         SdpaOptions<float>{.is_causal = true});
    return proj->forward(y.transpose(1, 2).reshape({B, T, d_}));
  }

  Tensor<float> forward(const Tensor<float>& x) override {
    EMBER_CHECK(x.dim() == 3 && x.size(2) == d_, "GPTBlock(", d_, ", heads=", heads_,
                "): expected an input [B, T, ", d_, "], got shape ", shape_str(x.shape()));
    Tensor<float> y = add(x, attention(ln1->forward(x)));
    return add(y, fc2->forward(gelu(fc->forward(ln2->forward(y)), GeluApproximate::Tanh)));
  }

  std::string name() const override { return "GPTBlock"; }
  std::string extra_repr() const override {
    return "d=" + std::to_string(d_) + ", heads=" + std::to_string(heads_);
  }

 private:
  int64_t d_, heads_;
};

class GPT : public Module {
 public:
  std::shared_ptr<Embedding> wte, wpe;
  std::shared_ptr<Sequential> blocks;  // GPTBlocks "0", "1", ...
  std::shared_ptr<LayerNorm> ln;

  explicit GPT(GPTConfig config = {}, Generator& gen = default_generator()) : config_(config) {
    EMBER_CHECK(config.vocab_size > 0 && config.block_size > 0 && config.n_layer >= 0,
                "GPT: expected positive vocab_size and block_size, got ", config.vocab_size,
                " and ", config.block_size);
    wte = register_module("wte", std::make_shared<Embedding>(config.vocab_size, config.n_embd,
                                                             EmbeddingOptions{}, gen));
    wpe = register_module("wpe", std::make_shared<Embedding>(config.block_size, config.n_embd,
                                                             EmbeddingOptions{}, gen));
    blocks = std::make_shared<Sequential>();
    for (int64_t i = 0; i < config.n_layer; ++i)
      blocks->push_back(std::make_shared<GPTBlock>(config.n_embd, config.n_head, gen));
    register_module("blocks", blocks);
    ln = register_module("ln", std::make_shared<LayerNorm>(config.n_embd));
  }

  // idx [B, T] token ids (T <= block_size) -> logits [B, T, vocab_size].
  Tensor<float> forward(const Tensor<int64_t>& idx) {
    EMBER_CHECK(idx.dim() == 2 && idx.size(1) >= 1 && idx.size(1) <= config_.block_size,
                "GPT: expected token ids [B, T] with 1 <= T <= ", config_.block_size,
                ", got shape ", shape_str(idx.shape()));
    const int64_t T = idx.size(1);
    // The positions live where the token ids do (embedding wants ids on the weight's device).
    const Tensor<int64_t> pos = Tensor<int64_t>::arange(T).to(idx.device());
    Tensor<float> x = add(wte->forward(idx), wpe->forward(pos));
    x = blocks->forward(x);
    // The tied head: ln(x) @ wteᵀ (linear without bias computes exactly x Wᵀ).
    return linear(ln->forward(x), wte->weight);
  }
  Tensor<float> operator()(const Tensor<int64_t>& idx) { return forward(idx); }

  const GPTConfig& config() const { return config_; }
  std::string name() const override { return "GPT"; }

 private:
  GPTConfig config_;
};

}  // namespace ember::nn::models
