// Divided space-time attention (TimeSformer, Bertasius et al. 2021, "divided" scheme): for
// patch tokens x [B, T, N, D] (T frames, N patches per frame), one block is
//
//   x = x + attn_time(norm_time(x))      over the T frames of each patch position (B*N
//                                        sequences of length T)
//   x = x + attn_space(norm_space(x))    over the N patches of each frame (B*T sequences of
//                                        length N, plus the CLS token when given)
//   x = x + fc2(act(fc1(norm_mlp(x))))
//
// pre-LayerNorm and a residual around each part, composed from MultiheadAttention,
// LayerNorm and Linear. As in the reference implementation, a CLS token [B, D] takes no part
// in the temporal attention; in the spatial attention it is prepended to every frame's
// sequence and its T outputs are averaged; it goes through the MLP like any token. (The
// reference also has a zero-initialised temporal_fc after the temporal attention; it is
// omitted here since MultiheadAttention already ends with out_proj.)
//
// With options.temporal = false the block has no temporal part: the spatial-only control of
// the SSTAM note (09-sstam-video.md, arm 4), every frame processed on its own.
//
// functional::divided_space_time_attention is the templated computation (float and double,
// for gradcheck); DividedSpaceTimeBlock is the float module holding the parameters.
#pragma once

#include <cstdint>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/nn/attention.hpp>
#include <ember/nn/linear.hpp>
#include <ember/nn/module.hpp>
#include <ember/nn/norm.hpp>
#include <ember/ops/activation.hpp>
#include <ember/ops/layer_norm.hpp>
#include <ember/ops/shape.hpp>
#include <memory>
#include <string>

namespace ember::nn {

struct DividedAttentionOptions {
  int64_t mlp_hidden = 0;           // hidden width of the MLP; 0 means 4 * dim
  std::string activation = "gelu";  // "gelu" (erf), "gelu_tanh" or "relu"
  double layer_norm_eps = 1e-5;
  bool temporal = true;  // false: spatial attention and MLP only
  bool bias = true;      // in the attention projections and the MLP
};

// The parameters of one block (undefined tensors where absent: no temporal part, no bias).
template <class T>
struct DividedAttentionParams {
  Tensor<T> norm_time_weight{}, norm_time_bias{};
  MultiheadAttentionParams<T> attn_time{};
  Tensor<T> norm_space_weight{}, norm_space_bias{};
  MultiheadAttentionParams<T> attn_space{};
  Tensor<T> norm_mlp_weight{}, norm_mlp_bias{};
  Tensor<T> fc1_weight{}, fc1_bias{};  // [hidden, D], [hidden]
  Tensor<T> fc2_weight{}, fc2_bias{};  // [D, hidden], [D]
};

template <class T>
struct DividedAttentionResult {
  Tensor<T> tokens;  // [B, T, N, D]
  Tensor<T> cls;     // [B, D]; undefined when no CLS token was given
};

namespace functional {

// One divided space-time block on tokens x [B, T, N, D] and an optional CLS token [B, D].
// Temporal attention runs when p.attn_time has weights (p.norm_time_weight defined).
template <class T>
DividedAttentionResult<T> divided_space_time_attention(const Tensor<T>& x, const Tensor<T>& cls,
                                                       int64_t num_heads,
                                                       const DividedAttentionParams<T>& p,
                                                       const std::string& activation = "gelu",
                                                       double eps = 1e-5) {
  const char* op = "divided_space_time_attention";
  EMBER_CHECK(x.defined() && x.dim() == 4, op, ": expected tokens [B, T, N, D], got ",
              x.defined() ? shape_str(x.shape()) : std::string("an undefined tensor"));
  const int64_t B = x.size(0), T_ = x.size(1), N = x.size(2), D = x.size(3);
  EMBER_CHECK(!cls.defined() || (cls.dim() == 2 && cls.size(0) == B && cls.size(1) == D), op,
              ": expected a CLS token [", B, ", ", D, "], got ",
              cls.defined() ? shape_str(cls.shape()) : std::string());
  EMBER_CHECK(activation == "gelu" || activation == "gelu_tanh" || activation == "relu", op,
              ": activation must be \"gelu\", \"gelu_tanh\" or \"relu\", got \"", activation, "\"");
  const Shape dshape{D};
  MultiheadAttentionForwardOptions<T> no_weights;
  no_weights.need_weights = false;
  auto self_attention = [&](const Tensor<T>& h, const MultiheadAttentionParams<T>& a) {
    return multi_head_attention_forward(h, h, h, num_heads, a, no_weights).output;
  };

  Tensor<T> tokens = x;
  if (p.norm_time_weight.defined()) {  // time: [B, T, N, D] -> [B * N, T, D]
    const Tensor<T> xt = tokens.permute({0, 2, 1, 3}).reshape({B * N, T_, D});
    const Tensor<T> h = layer_norm(xt, dshape, p.norm_time_weight, p.norm_time_bias, eps);
    const Tensor<T> out = add(xt, self_attention(h, p.attn_time));
    tokens = out.reshape({B, N, T_, D}).permute({0, 2, 1, 3});
  }

  // Space: [B, T, N, D] -> [B * T, N, D], the CLS token first in every frame's sequence.
  Tensor<T> xs = tokens.reshape({B * T_, N, D});
  Tensor<T> seq = xs;
  if (cls.defined())
    seq = cat(
        std::vector<Tensor<T>>{
            cls.unsqueeze(1).unsqueeze(1).expand({B, T_, 1, D}).reshape({B * T_, 1, D}), xs},
        1);
  const Tensor<T> a = self_attention(
      layer_norm(seq, dshape, p.norm_space_weight, p.norm_space_bias, eps), p.attn_space);
  Tensor<T> cls_out;
  if (cls.defined()) {
    cls_out = add(cls, mean(a.select(1, 0).reshape({B, T_, D}), {1}));
    xs = add(xs, a.slice(1, 1, N + 1));
  } else {
    xs = add(xs, a);
  }
  tokens = xs.reshape({B, T_, N, D});

  auto mlp = [&](const Tensor<T>& v) {
    Tensor<T> h = linear(layer_norm(v, dshape, p.norm_mlp_weight, p.norm_mlp_bias, eps),
                         p.fc1_weight, p.fc1_bias);
    h = activation == "relu"
            ? relu(h)
            : gelu(h, activation == "gelu" ? GeluApproximate::None : GeluApproximate::Tanh);
    return add(v, linear(h, p.fc2_weight, p.fc2_bias));
  };
  DividedAttentionResult<T> r;
  r.tokens = mlp(tokens);
  if (cls.defined()) r.cls = mlp(cls_out);
  return r;
}

}  // namespace functional

class DividedSpaceTimeBlock : public Module {
 public:
  std::shared_ptr<LayerNorm> norm_time;           // null without the temporal part
  std::shared_ptr<MultiheadAttention> attn_time;  // null without the temporal part
  std::shared_ptr<LayerNorm> norm_space;
  std::shared_ptr<MultiheadAttention> attn_space;
  std::shared_ptr<LayerNorm> norm_mlp;
  std::shared_ptr<Linear> fc1, fc2;

  DividedSpaceTimeBlock(int64_t dim, int64_t num_heads, DividedAttentionOptions options = {},
                        Generator& gen = default_generator())
      : dim_(dim), num_heads_(num_heads), options_(std::move(options)) {
    EMBER_CHECK(dim > 0 && num_heads > 0 && dim % num_heads == 0, "DividedSpaceTimeBlock: dim (",
                dim, ") must be divisible by num_heads (", num_heads, ")");
    EMBER_CHECK(options_.mlp_hidden >= 0, "DividedSpaceTimeBlock: mlp_hidden must be >= 0, got ",
                options_.mlp_hidden);
    EMBER_CHECK(options_.activation == "gelu" || options_.activation == "gelu_tanh" ||
                    options_.activation == "relu",
                "DividedSpaceTimeBlock: activation must be \"gelu\", \"gelu_tanh\" or \"relu\", "
                "got \"",
                options_.activation, "\"");
    const int64_t hidden = options_.mlp_hidden > 0 ? options_.mlp_hidden : 4 * dim;
    const LayerNormOptions ln{.eps = options_.layer_norm_eps};
    const MultiheadAttentionOptions mo{.bias = options_.bias};
    if (options_.temporal) {
      norm_time = register_module("norm_time", std::make_shared<LayerNorm>(dim, ln));
      attn_time = register_module("attn_time",
                                  std::make_shared<MultiheadAttention>(dim, num_heads, mo, gen));
    }
    norm_space = register_module("norm_space", std::make_shared<LayerNorm>(dim, ln));
    attn_space = register_module("attn_space",
                                 std::make_shared<MultiheadAttention>(dim, num_heads, mo, gen));
    norm_mlp = register_module("norm_mlp", std::make_shared<LayerNorm>(dim, ln));
    const LinearOptions lo{.bias = options_.bias};
    fc1 = register_module("fc1", std::make_shared<Linear>(dim, hidden, lo, gen));
    fc2 = register_module("fc2", std::make_shared<Linear>(hidden, dim, lo, gen));
  }

  // tokens [B, T, N, dim] and an optional CLS token [B, dim].
  DividedAttentionResult<float> forward(const Tensor<float>& x, const Tensor<float>& cls) {
    EMBER_CHECK(x.defined() && x.dim() == 4 && x.size(3) == dim_, "DividedSpaceTimeBlock(", dim_,
                ", ", num_heads_, "): expected tokens [B, T, N, ", dim_, "], got ",
                x.defined() ? shape_str(x.shape()) : std::string("an undefined tensor"));
    return functional::divided_space_time_attention(x, cls, num_heads_, params(),
                                                    options_.activation, options_.layer_norm_eps);
  }
  Tensor<float> forward(const Tensor<float>& x) { return forward(x, Tensor<float>()).tokens; }
  DividedAttentionResult<float> operator()(const Tensor<float>& x, const Tensor<float>& cls) {
    return forward(x, cls);
  }
  Tensor<float> operator()(const Tensor<float>& x) { return forward(x); }

  DividedAttentionParams<float> params() const {
    DividedAttentionParams<float> p;
    if (norm_time) {
      p.norm_time_weight = norm_time->weight;
      p.norm_time_bias = norm_time->bias;
      p.attn_time = attn_time->params();
    }
    p.norm_space_weight = norm_space->weight;
    p.norm_space_bias = norm_space->bias;
    p.attn_space = attn_space->params();
    p.norm_mlp_weight = norm_mlp->weight;
    p.norm_mlp_bias = norm_mlp->bias;
    p.fc1_weight = fc1->weight;
    p.fc1_bias = fc1->bias;
    p.fc2_weight = fc2->weight;
    p.fc2_bias = fc2->bias;
    return p;
  }

  int64_t dim() const { return dim_; }
  int64_t num_heads() const { return num_heads_; }
  bool temporal() const { return options_.temporal; }
  std::string name() const override { return "DividedSpaceTimeBlock"; }
  std::string extra_repr() const override {
    return "dim=" + std::to_string(dim_) + ", num_heads=" + std::to_string(num_heads_) +
           ", temporal=" + (options_.temporal ? "True" : "False");
  }

 private:
  int64_t dim_, num_heads_;
  DividedAttentionOptions options_;
};

}  // namespace ember::nn
