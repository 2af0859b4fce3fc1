// MultiheadAttention (batch-first) and its templated functional form.
//
// Layout follows torch.nn.MultiheadAttention so weights copy over name for name: when kdim
// and vdim equal embed_dim, one in_proj_weight [3E, E] (rows: q, k, v); otherwise
// q_proj_weight [E, E], k_proj_weight [E, kdim], v_proj_weight [E, vdim]; in_proj_bias [3E];
// out_proj a Linear(E, E). Initialised as PyTorch: xavier_uniform_ projections, zero biases,
// out_proj.weight as Linear's default.
//
// The computation is PyTorch's multi_head_attention_forward: project, split into heads
// ([N, H, L, E/H]), attention (ops/attention.hpp: bmm + softmax + bmm, causal fill without a
// mask tensor), merge heads, out_proj. Self-attention (query, key and value the same tensor,
// in_proj layout) does the three projections as one GEMM. Gradients are those of the ops.
//
// Masks (PyTorch MHA's conventions): key_padding_mask [N, S] bool, true = ignore that key;
// attn_mask additive [L, S] or [N * H, L, S]; attn_mask_bool of the same shapes with true =
// not allowed (the opposite of scaled_dot_product_attention's bool mask); is_causal blocks
// key j > query i. Any combination is allowed; they add up.
#pragma once

#include <cmath>
#include <cstdint>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/nn/init.hpp>
#include <ember/nn/linear.hpp>
#include <ember/nn/module.hpp>
#include <ember/ops/attention.hpp>
#include <ember/ops/indexing.hpp>
#include <ember/ops/linalg.hpp>
#include <limits>
#include <memory>
#include <optional>
#include <string>

namespace ember::nn {

// The projection parameters of multi-head attention (undefined where absent).
template <class T>
struct MultiheadAttentionParams {
  Tensor<T> in_proj_weight{};  // [3E, E], or undefined with separate q/k/v weights
  Tensor<T> q_proj_weight{}, k_proj_weight{}, v_proj_weight{};  // [E, E], [E, kdim], [E, vdim]
  Tensor<T> in_proj_bias{};                                     // [3E] or undefined
  Tensor<T> out_proj_weight{};                                  // [E, E]
  Tensor<T> out_proj_bias{};                                    // [E] or undefined
};

template <class T>
struct MultiheadAttentionForwardOptions {
  Tensor<bool> key_padding_mask{};   // [N, S] (or [S] unbatched); true = ignore that key
  Tensor<T> attn_mask{};             // additive, [L, S] or [N * H, L, S]
  Tensor<bool> attn_mask_bool{};     // [L, S] or [N * H, L, S]; true = not allowed
  bool is_causal = false;            // block key j > query i
  bool need_weights = true;          // also return the attention weights
  bool average_attn_weights = true;  // average the weights over heads ([N, L, S])
};

namespace functional {

namespace detail {

// An [L, S] or [N*H, L, S] mask as [1, 1, L, S] or [N, H, L, S].
inline Shape mha_mask_shape(const Shape& m, int64_t N, int64_t H, int64_t L, int64_t S,
                            const char* name) {
  if (m.size() == 2 && m[0] == L && m[1] == S) return {1, 1, L, S};
  EMBER_CHECK(m.size() == 3 && m[0] == N * H && m[1] == L && m[2] == S,
              "multi_head_attention: ", name, " of shape ", shape_str(m),
              " does not match: expected [", L, ", ", S, "] or [", N * H, ", ", L, ", ", S,
              "] (N * num_heads, L, S)");
  return {N, H, L, S};
}

}  // namespace detail

// Multi-head attention of batch-first query [N, L, E], key [N, S, kdim], value [N, S, vdim]
// (or unbatched [L, E], [S, kdim], [S, vdim]). Returns the output [N, L, E] and, with
// need_weights, the attention weights ([N, L, S] averaged over heads, else [N, H, L, S]).
// dropout_p applies to the attention weights when training.
template <class T>
AttentionResult<T> multi_head_attention_forward(
    const Tensor<T>& query, const Tensor<T>& key, const Tensor<T>& value, int64_t num_heads,
    const MultiheadAttentionParams<T>& p,
    const MultiheadAttentionForwardOptions<std::type_identity_t<T>>& opt = {},
    double dropout_p = 0.0, bool training = false, Generator* gen = nullptr) {
  const char* op = "multi_head_attention";
  EMBER_CHECK(query.dim() == key.dim() && query.dim() == value.dim() &&
                  (query.dim() == 3 || query.dim() == 2),
              op,
              ": expected batch-first query [N, L, E], key [N, S, kdim], value [N, S, vdim] "
              "(or all unbatched 2-D), got query ",
              shape_str(query.shape()), ", key ", shape_str(key.shape()), ", value ",
              shape_str(value.shape()));
  if (query.dim() == 2) {
    MultiheadAttentionForwardOptions<T> o = opt;
    if (o.key_padding_mask.defined()) o.key_padding_mask = o.key_padding_mask.unsqueeze(0);
    AttentionResult<T> r =
        multi_head_attention_forward(query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0),
                                     num_heads, p, o, dropout_p, training, gen);
    return {r.output.squeeze(0), r.weights.defined() ? r.weights.squeeze(0) : Tensor<T>()};
  }
  const int64_t N = query.size(0), L = query.size(1), E = query.size(2), S = key.size(1);
  EMBER_CHECK(num_heads > 0 && E % num_heads == 0, op, ": embed_dim ", E,
              " is not divisible by num_heads ", num_heads);
  EMBER_CHECK(key.size(0) == N && value.size(0) == N && value.size(1) == S, op,
              ": key and value must have the batch size of query and the same length S, got query ",
              shape_str(query.shape()), ", key ", shape_str(key.shape()), ", value ",
              shape_str(value.shape()));
  const int64_t H = num_heads, d = E / H;

  // Projections.
  Tensor<T> q, k, v;
  auto bias_part = [&](int64_t i) {
    return p.in_proj_bias.defined() ? p.in_proj_bias.slice(0, i * E, (i + 1) * E) : Tensor<T>();
  };
  if (p.in_proj_weight.defined()) {
    EMBER_CHECK(p.in_proj_weight.dim() == 2 && p.in_proj_weight.size(0) == 3 * E &&
                    p.in_proj_weight.size(1) == E && key.size(2) == E && value.size(2) == E,
                op, ": in_proj_weight ", shape_str(p.in_proj_weight.shape()),
                " needs [3E, E] with E = ", E, " and key / value of embedding size E, got key ",
                shape_str(key.shape()), ", value ", shape_str(value.shape()));
    if (query.impl() == key.impl() && key.impl() == value.impl()) {
      // Self-attention: one GEMM for q, k and v.
      const Tensor<T> qkv = linear(query, p.in_proj_weight, p.in_proj_bias);  // [N, L, 3E]
      q = qkv.slice(2, 0, E);
      k = qkv.slice(2, E, 2 * E);
      v = qkv.slice(2, 2 * E, 3 * E);
    } else {
      q = linear(query, p.in_proj_weight.slice(0, 0, E), bias_part(0));
      k = linear(key, p.in_proj_weight.slice(0, E, 2 * E), bias_part(1));
      v = linear(value, p.in_proj_weight.slice(0, 2 * E, 3 * E), bias_part(2));
    }
  } else {
    EMBER_CHECK(p.q_proj_weight.defined() && p.k_proj_weight.defined() && p.v_proj_weight.defined(),
                op, ": give in_proj_weight or all of q_proj_weight, k_proj_weight, v_proj_weight");
    q = linear(query, p.q_proj_weight, bias_part(0));
    k = linear(key, p.k_proj_weight, bias_part(1));
    v = linear(value, p.v_proj_weight, bias_part(2));
  }
  // [N, len, E] -> [N, H, len, d]
  auto heads = [&](const Tensor<T>& t, int64_t len) {
    return t.reshape({N, len, H, d}).permute({0, 2, 1, 3});
  };
  q = heads(q, L);
  k = heads(k, S);
  v = heads(v, S);

  // One additive mask from the given ones (the causal part is filled into the scores).
  Tensor<T> mask{};
  auto add_mask = [&](const Tensor<T>& m) { mask = mask.defined() ? add(mask, m) : m; };
  const T neg_inf = -std::numeric_limits<T>::infinity();
  if (opt.attn_mask.defined())
    add_mask(opt.attn_mask.reshape(
        detail::mha_mask_shape(opt.attn_mask.shape(), N, H, L, S, "attn_mask")));
  if (opt.attn_mask_bool.defined()) {
    const Tensor<bool> mb = opt.attn_mask_bool.reshape(
        detail::mha_mask_shape(opt.attn_mask_bool.shape(), N, H, L, S, "attn_mask_bool"));
    add_mask(masked_fill(Tensor<T>::zeros(mb.shape()), mb, neg_inf));
  }
  if (opt.key_padding_mask.defined()) {
    const Tensor<bool>& kpm = opt.key_padding_mask;
    EMBER_CHECK(kpm.dim() == 2 && kpm.size(0) == N && kpm.size(1) == S, op,
                ": key_padding_mask of shape ", shape_str(kpm.shape()),
                " does not match: expected [", N, ", ", S, "] (N, S)");
    const Tensor<bool> m4 = kpm.reshape({N, 1, 1, S});
    add_mask(masked_fill(Tensor<T>::zeros(m4.shape()), m4, neg_inf));
  }
  SdpaOptions<T> sdpa;
  sdpa.attn_mask = mask;
  sdpa.is_causal = opt.is_causal;
  sdpa.dropout_p = training ? dropout_p : 0.0;
  sdpa.generator = gen;
  AttentionResult<T> r = ember::detail::attention(q, k, v, sdpa, op);
  // [N, H, L, d] -> [N, L, E]
  const Tensor<T> merged = r.output.permute({0, 2, 1, 3}).reshape({N, L, E});
  AttentionResult<T> out{linear(merged, p.out_proj_weight, p.out_proj_bias), Tensor<T>()};
  if (opt.need_weights) out.weights = opt.average_attn_weights ? mean(r.weights, {1}) : r.weights;
  return out;
}

}  // namespace functional

struct MultiheadAttentionOptions {
  double dropout = 0.0;                         // on the attention weights, in training
  bool bias = true;                             // in_proj_bias and out_proj.bias
  std::optional<int64_t> kdim = std::nullopt;   // key embedding size (default embed_dim)
  std::optional<int64_t> vdim = std::nullopt;   // value embedding size (default embed_dim)
  std::optional<uint64_t> seed = std::nullopt;  // own Generator for dropout
};

class MultiheadAttention : public Module {
 public:
  Tensor<float> in_proj_weight{};                             // [3E, E] when kdim = vdim = E
  Tensor<float> q_proj_weight, k_proj_weight, v_proj_weight;  // otherwise
  Tensor<float> in_proj_bias{};                               // [3E]; undefined without bias
  std::shared_ptr<Linear> out_proj;

  MultiheadAttention(int64_t embed_dim, int64_t num_heads, MultiheadAttentionOptions options = {},
                     Generator& gen = default_generator())
      : embed_dim_(embed_dim),
        num_heads_(num_heads),
        kdim_(options.kdim.value_or(embed_dim)),
        vdim_(options.vdim.value_or(embed_dim)),
        dropout_(options.dropout) {
    EMBER_CHECK(embed_dim > 0 && num_heads > 0 && embed_dim % num_heads == 0,
                "MultiheadAttention: embed_dim (", embed_dim, ") must be divisible by num_heads (",
                num_heads, ")");
    EMBER_CHECK(dropout_ >= 0.0 && dropout_ <= 1.0,
                "MultiheadAttention: dropout must be in [0, 1], got ", dropout_);
    const int64_t E = embed_dim;
    if (kdim_ == E && vdim_ == E) {
      in_proj_weight = register_parameter("in_proj_weight", Tensor<float>::empty({3 * E, E}));
      init::xavier_uniform_(in_proj_weight, 1.0, gen);
    } else {
      q_proj_weight = register_parameter("q_proj_weight", Tensor<float>::empty({E, E}));
      k_proj_weight = register_parameter("k_proj_weight", Tensor<float>::empty({E, kdim_}));
      v_proj_weight = register_parameter("v_proj_weight", Tensor<float>::empty({E, vdim_}));
      init::xavier_uniform_(q_proj_weight, 1.0, gen);
      init::xavier_uniform_(k_proj_weight, 1.0, gen);
      init::xavier_uniform_(v_proj_weight, 1.0, gen);
    }
    if (options.bias)
      in_proj_bias = register_parameter("in_proj_bias", Tensor<float>::zeros({3 * E}));
    out_proj = register_module(
        "out_proj", std::make_shared<Linear>(E, E, LinearOptions{.bias = options.bias}, gen));
    if (options.bias) init::zeros_(out_proj->bias);
    if (options.seed) own_gen_.emplace(*options.seed);
  }
  MultiheadAttention(int64_t embed_dim, int64_t num_heads, Generator& gen)
      : MultiheadAttention(embed_dim, num_heads, MultiheadAttentionOptions{}, gen) {}

  // query [N, L, E], key [N, S, kdim], value [N, S, vdim] (batch first) -> output [N, L, E]
  // and, with need_weights, the attention weights.
  AttentionResult<float> forward(const Tensor<float>& query, const Tensor<float>& key,
                                 const Tensor<float>& value,
                                 const MultiheadAttentionForwardOptions<float>& options = {}) {
    EMBER_CHECK(query.dim() >= 1 && query.size(-1) == embed_dim_ && key.dim() >= 1 &&
                    key.size(-1) == kdim_ && value.dim() >= 1 && value.size(-1) == vdim_,
                "MultiheadAttention(", embed_dim_, ", ", num_heads_, "): expected query [..., ",
                embed_dim_, "], key [..., ", kdim_, "], value [..., ", vdim_, "], got ",
                shape_str(query.shape()), ", ", shape_str(key.shape()), ", ",
                shape_str(value.shape()));
    return functional::multi_head_attention_forward(query, key, value, num_heads_, params(),
                                                    options, dropout_, is_training(),
                                                    own_gen_ ? &*own_gen_ : &default_generator());
  }
  AttentionResult<float> operator()(const Tensor<float>& query, const Tensor<float>& key,
                                    const Tensor<float>& value,
                                    const MultiheadAttentionForwardOptions<float>& options = {}) {
    return forward(query, key, value, options);
  }

  MultiheadAttentionParams<float> params() const {
    return {.in_proj_weight = in_proj_weight,
            .q_proj_weight = q_proj_weight,
            .k_proj_weight = k_proj_weight,
            .v_proj_weight = v_proj_weight,
            .in_proj_bias = in_proj_bias,
            .out_proj_weight = out_proj->weight,
            .out_proj_bias = out_proj->bias};
  }
  int64_t embed_dim() const { return embed_dim_; }
  int64_t num_heads() const { return num_heads_; }
  // The dropout probability on the attention weights and the Generator it draws from (its own
  // with options.seed, else the default one): paths that compute the attention themselves
  // (nn/kv_cache.hpp) reproduce forward's dropout with them.
  double dropout() const { return dropout_; }
  Generator& generator() { return own_gen_ ? *own_gen_ : default_generator(); }
  std::string name() const override { return "MultiheadAttention"; }
  std::string extra_repr() const override {
    return "embed_dim=" + std::to_string(embed_dim_) + ", num_heads=" + std::to_string(num_heads_) +
           ", dropout=" + repr_number(dropout_);
  }

 private:
  int64_t embed_dim_, num_heads_, kdim_, vdim_;
  double dropout_;
  std::optional<Generator> own_gen_;
};

}  // namespace ember::nn
