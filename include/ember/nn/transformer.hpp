// TransformerEncoderLayer and TransformerDecoderLayer (batch-first), as torch.nn's.
//
// Sub-modules carry PyTorch's names (self_attn, multihead_attn, linear1, dropout, linear2,
// norm1..3, dropout1..3), so a PyTorch layer's state_dict (batch_first=True) loads as is.
// Post-LN (norm_first = false, the 2017 paper's layout):
//   x = norm1(x + sa(x));  [x = norm2(x + mha(x, memory));]  x = normK(x + ff(x))
// Pre-LN (norm_first = true):
//   x = x + sa(norm1(x));  [x = x + mha(norm2(x), memory);]  x = x + ff(normK(x))
// with ff(x) = linear2(dropout(activation(linear1(x)))), and each block's output passed through
// its own dropout (dropout1..3). Gradients are those of the layers.
#pragma once

#include <cstdint>
#include <ember/core/random.hpp>
#include <ember/nn/attention.hpp>
#include <ember/nn/dropout.hpp>
#include <ember/nn/linear.hpp>
#include <ember/nn/module.hpp>
#include <ember/nn/norm.hpp>
#include <ember/ops/activation.hpp>
#include <memory>
#include <optional>
#include <string>

namespace ember::nn {

struct TransformerLayerOptions {
  int64_t dim_feedforward = 2048;
  double dropout = 0.1;
  // "relu", "gelu" (exact erf form) or "gelu_tanh" (the tanh approximation, GPT-2's; PyTorch
  // spells it as a callable, activation=partial(F.gelu, approximate="tanh")).
  std::string activation = "relu";
  double layer_norm_eps = 1e-5;
  bool norm_first = false;                      // pre-LN when true
  bool bias = true;                             // in the linear layers, attention and layer norms
  std::optional<uint64_t> seed = std::nullopt;  // own Generators for the dropouts
};

struct TransformerEncoderMasks {
  Tensor<float> src_mask{};             // additive [L, L] or [N * nhead, L, L]
  Tensor<bool> src_mask_bool{};         // same shapes, true = not allowed
  Tensor<bool> src_key_padding_mask{};  // [N, L], true = ignore that position
  bool is_causal = false;
};

struct TransformerDecoderMasks {
  Tensor<float> tgt_mask{};  // additive [T, T] or [N * nhead, T, T]
  Tensor<bool> tgt_mask_bool{};
  Tensor<float> memory_mask{};  // additive [T, S] or [N * nhead, T, S]
  Tensor<bool> memory_mask_bool{};
  Tensor<bool> tgt_key_padding_mask{};     // [N, T]
  Tensor<bool> memory_key_padding_mask{};  // [N, S]
  bool tgt_is_causal = false;
  bool memory_is_causal = false;
};

namespace detail {

inline void check_transformer_options(int64_t d_model, int64_t nhead,
                                      const TransformerLayerOptions& o, const char* who) {
  EMBER_CHECK(d_model > 0 && nhead > 0 && d_model % nhead == 0, who, ": d_model (", d_model,
              ") must be divisible by nhead (", nhead, ")");
  EMBER_CHECK(o.dim_feedforward > 0, who, ": dim_feedforward must be positive, got ",
              o.dim_feedforward);
  EMBER_CHECK(o.activation == "relu" || o.activation == "gelu" || o.activation == "gelu_tanh", who,
              ": activation must be \"relu\", \"gelu\" or \"gelu_tanh\", got \"", o.activation,
              "\"");
}

// The k-th derived seed for a layer's dropouts (none without options.seed).
inline std::optional<uint64_t> derived_seed(const TransformerLayerOptions& o, uint64_t k) {
  if (!o.seed) return std::nullopt;
  return *o.seed + 0x9E3779B97F4A7C15ull * (k + 1);
}

inline std::shared_ptr<MultiheadAttention> make_attention(int64_t d_model, int64_t nhead,
                                                          const TransformerLayerOptions& o,
                                                          uint64_t k, Generator& gen) {
  return std::make_shared<MultiheadAttention>(
      d_model, nhead,
      MultiheadAttentionOptions{.dropout = o.dropout, .bias = o.bias, .seed = derived_seed(o, k)},
      gen);
}
inline std::shared_ptr<LayerNorm> make_norm(int64_t d_model, const TransformerLayerOptions& o) {
  return std::make_shared<LayerNorm>(d_model,
                                     LayerNormOptions{.eps = o.layer_norm_eps, .bias = o.bias});
}
inline std::shared_ptr<Dropout> make_dropout(const TransformerLayerOptions& o, uint64_t k) {
  return std::make_shared<Dropout>(DropoutOptions{.p = o.dropout, .seed = derived_seed(o, k)});
}

// linear2(dropout(activation(linear1(x)))).
inline Tensor<float> feed_forward(Linear& linear1, Dropout& dropout, Linear& linear2,
                                  const std::string& activation, const Tensor<float>& x) {
  Tensor<float> h = linear1.forward(x);
  if (activation == "relu")
    h = relu(h);
  else
    h = gelu(h, activation == "gelu" ? GeluApproximate::None : GeluApproximate::Tanh);
  return linear2.forward(dropout.forward(h));
}

// Self- or cross-attention block output (before its dropout).
inline Tensor<float> attention_block(MultiheadAttention& attn, const Tensor<float>& x,
                                     const Tensor<float>& kv, const Tensor<bool>& key_padding_mask,
                                     const Tensor<float>& mask, const Tensor<bool>& mask_bool,
                                     bool is_causal) {
  return attn
      .forward(x, kv, kv,
               {.key_padding_mask = key_padding_mask,
                .attn_mask = mask,
                .attn_mask_bool = mask_bool,
                .is_causal = is_causal,
                .need_weights = false})
      .output;
}

}  // namespace detail

class TransformerEncoderLayer : public Layer {
 public:
  std::shared_ptr<MultiheadAttention> self_attn;
  std::shared_ptr<Linear> linear1;
  std::shared_ptr<Dropout> dropout;
  std::shared_ptr<Linear> linear2;
  std::shared_ptr<LayerNorm> norm1, norm2;
  std::shared_ptr<Dropout> dropout1, dropout2;

  TransformerEncoderLayer(int64_t d_model, int64_t nhead, TransformerLayerOptions options = {},
                          Generator& gen = default_generator())
      : d_model_(d_model), options_(std::move(options)) {
    const TransformerLayerOptions& o = options_;
    detail::check_transformer_options(d_model, nhead, o, "TransformerEncoderLayer");
    const LinearOptions lo{.bias = o.bias};
    // PyTorch's registration order (and so state_dict order).
    self_attn = register_module("self_attn", detail::make_attention(d_model, nhead, o, 0, gen));
    linear1 =
        register_module("linear1", std::make_shared<Linear>(d_model, o.dim_feedforward, lo, gen));
    dropout = register_module("dropout", detail::make_dropout(o, 1));
    linear2 =
        register_module("linear2", std::make_shared<Linear>(o.dim_feedforward, d_model, lo, gen));
    norm1 = register_module("norm1", detail::make_norm(d_model, o));
    norm2 = register_module("norm2", detail::make_norm(d_model, o));
    dropout1 = register_module("dropout1", detail::make_dropout(o, 2));
    dropout2 = register_module("dropout2", detail::make_dropout(o, 3));
  }

  // src [N, L, d_model] -> [N, L, d_model].
  Tensor<float> forward(const Tensor<float>& src, const TransformerEncoderMasks& masks) {
    EMBER_CHECK(src.dim() == 3 && src.size(2) == d_model_,
                "TransformerEncoderLayer: expected src [N, L, ", d_model_, "], got ",
                shape_str(src.shape()));
    auto sa = [&](const Tensor<float>& x) {
      return dropout1->forward(detail::attention_block(*self_attn, x, x, masks.src_key_padding_mask,
                                                       masks.src_mask, masks.src_mask_bool,
                                                       masks.is_causal));
    };
    auto ff = [&](const Tensor<float>& x) {
      return dropout2->forward(
          detail::feed_forward(*linear1, *dropout, *linear2, options_.activation, x));
    };
    Tensor<float> x = src;
    if (options_.norm_first) {
      x = add(x, sa(norm1->forward(x)));
      x = add(x, ff(norm2->forward(x)));
    } else {
      x = norm1->forward(add(x, sa(x)));
      x = norm2->forward(add(x, ff(x)));
    }
    return x;
  }
  Tensor<float> forward(const Tensor<float>& src) override { return forward(src, {}); }
  using Layer::operator();

  std::string name() const override { return "TransformerEncoderLayer"; }

 private:
  int64_t d_model_;
  TransformerLayerOptions options_;
};

class TransformerDecoderLayer : public Module {
 public:
  std::shared_ptr<MultiheadAttention> self_attn, multihead_attn;
  std::shared_ptr<Linear> linear1;
  std::shared_ptr<Dropout> dropout;
  std::shared_ptr<Linear> linear2;
  std::shared_ptr<LayerNorm> norm1, norm2, norm3;
  std::shared_ptr<Dropout> dropout1, dropout2, dropout3;

  TransformerDecoderLayer(int64_t d_model, int64_t nhead, TransformerLayerOptions options = {},
                          Generator& gen = default_generator())
      : d_model_(d_model), options_(std::move(options)) {
    const TransformerLayerOptions& o = options_;
    detail::check_transformer_options(d_model, nhead, o, "TransformerDecoderLayer");
    const LinearOptions lo{.bias = o.bias};
    self_attn = register_module("self_attn", detail::make_attention(d_model, nhead, o, 0, gen));
    multihead_attn =
        register_module("multihead_attn", detail::make_attention(d_model, nhead, o, 1, gen));
    linear1 =
        register_module("linear1", std::make_shared<Linear>(d_model, o.dim_feedforward, lo, gen));
    dropout = register_module("dropout", detail::make_dropout(o, 2));
    linear2 =
        register_module("linear2", std::make_shared<Linear>(o.dim_feedforward, d_model, lo, gen));
    norm1 = register_module("norm1", detail::make_norm(d_model, o));
    norm2 = register_module("norm2", detail::make_norm(d_model, o));
    norm3 = register_module("norm3", detail::make_norm(d_model, o));
    dropout1 = register_module("dropout1", detail::make_dropout(o, 3));
    dropout2 = register_module("dropout2", detail::make_dropout(o, 4));
    dropout3 = register_module("dropout3", detail::make_dropout(o, 5));
  }

  // tgt [N, T, d_model], memory [N, S, d_model] -> [N, T, d_model].
  Tensor<float> forward(const Tensor<float>& tgt, const Tensor<float>& memory,
                        const TransformerDecoderMasks& masks = {}) {
    EMBER_CHECK(tgt.dim() == 3 && tgt.size(2) == d_model_ && memory.dim() == 3 &&
                    memory.size(2) == d_model_ && memory.size(0) == tgt.size(0),
                "TransformerDecoderLayer: expected tgt [N, T, ", d_model_, "] and memory [N, S, ",
                d_model_, "], got ", shape_str(tgt.shape()), " and ", shape_str(memory.shape()));
    const TransformerDecoderMasks& m = masks;
    auto sa = [&](const Tensor<float>& x) {
      return dropout1->forward(detail::attention_block(
          *self_attn, x, x, m.tgt_key_padding_mask, m.tgt_mask, m.tgt_mask_bool, m.tgt_is_causal));
    };
    auto mha = [&](const Tensor<float>& x) {
      return dropout2->forward(detail::attention_block(*multihead_attn, x, memory,
                                                       m.memory_key_padding_mask, m.memory_mask,
                                                       m.memory_mask_bool, m.memory_is_causal));
    };
    auto ff = [&](const Tensor<float>& x) {
      return dropout3->forward(
          detail::feed_forward(*linear1, *dropout, *linear2, options_.activation, x));
    };
    Tensor<float> x = tgt;
    if (options_.norm_first) {
      x = add(x, sa(norm1->forward(x)));
      x = add(x, mha(norm2->forward(x)));
      x = add(x, ff(norm3->forward(x)));
    } else {
      x = norm1->forward(add(x, sa(x)));
      x = norm2->forward(add(x, mha(x)));
      x = norm3->forward(add(x, ff(x)));
    }
    return x;
  }
  Tensor<float> operator()(const Tensor<float>& tgt, const Tensor<float>& memory,
                           const TransformerDecoderMasks& masks = {}) {
    return forward(tgt, memory, masks);
  }

  // The options it was built with (nn/kv_cache.hpp's one-token step follows their layout).
  const TransformerLayerOptions& options() const { return options_; }
  std::string name() const override { return "TransformerDecoderLayer"; }

 private:
  int64_t d_model_;
  TransformerLayerOptions options_;
};

}  // namespace ember::nn
