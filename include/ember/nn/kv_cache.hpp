// Key/value caches for incremental (autoregressive) decoding with TransformerDecoderLayer.
//
// Decoding token by token with the plain forward re-runs every layer over the whole prefix at
// each step: step t costs O(t) projections and an O(t^2) attention. With a cache, each layer
// keeps the keys and values its self-attention has already projected ([N, H, t, d] per layer),
// and step t projects only the new token, appends its key and value and attends from that one
// query: O(1) projections and an O(t) attention. The cross-attention's keys and values depend
// only on the encoder memory, so they are projected once, at the first step, and reused.
//
// The computation is the layer's own forward restricted to the new positions: the same
// parameters, the same post-LN / pre-LN layout (layer.options()), the same dropouts (active in
// training mode, so a cached pass can also be trained through: every op is differentiable).
// With causal self-attention, the outputs at the new positions are exactly those the full
// forward (tgt_is_causal) gives there, up to float rounding: a position never sees later ones,
// so appending tokens does not change the earlier positions' keys and values.
//
// Limits: self-attention is causal (the decoding case); there is no target padding mask and no
// custom target mask. The cross-attention takes an optional memory key padding mask, given at
// the first step and kept (and reordered) with the cache.
#pragma once

#include <cstdint>
#include <ember/core/error.hpp>
#include <ember/core/tensor.hpp>
#include <ember/nn/attention.hpp>
#include <ember/nn/transformer.hpp>
#include <ember/ops/attention.hpp>
#include <ember/ops/arith.hpp>
#include <ember/ops/indexing.hpp>
#include <ember/ops/linalg.hpp>
#include <ember/ops/shape.hpp>
#include <limits>
#include <memory>
#include <vector>

namespace ember::nn {

// One attention block's projected keys and values, [N, H, S, d], and an additive key mask
// [N, 1, 1, S] (undefined for none).
struct AttentionCache {
  Tensor<float> key{}, value{};
  Tensor<float> key_mask{};

  bool empty() const { return !key.defined(); }
  int64_t length() const { return key.defined() ? key.size(2) : 0; }
  int64_t rows() const { return key.defined() ? key.size(0) : 0; }
};

// A decoder layer's caches: self-attention (grows by the new positions at each step) and
// cross-attention (the memory's keys and values, projected at the first step).
struct DecoderLayerCache {
  AttentionCache self_attn;
  AttentionCache cross_attn;
};

// The caches of a stack of decoder layers.
struct DecoderCache {
  std::vector<DecoderLayerCache> layers;

  explicit DecoderCache(size_t num_layers = 0) : layers(num_layers) {}

  // Positions decoded so far (0 before the first step).
  int64_t length() const { return layers.empty() ? 0 : layers.front().self_attn.length(); }
  // Rows (sequences) held; 0 before the first step.
  int64_t rows() const { return layers.empty() ? 0 : layers.front().self_attn.rows(); }

  // Keep the rows `rows` (int64 [R] indices into the current rows, in order; they may repeat):
  // new row i continues old row rows[i]. Beam search expands N rows to N * K and reorders them
  // after every step; sampling several sequences per input expands once.
  void reorder(const Tensor<int64_t>& rows) {
    EMBER_CHECK(rows.dim() == 1, "DecoderCache::reorder: expected 1-D row indices, got shape ",
                shape_str(rows.shape()));
    auto pick = [&](Tensor<float>& t) {
      if (t.defined()) t = index_select(t, 0, rows.to(t.device()));
    };
    for (DecoderLayerCache& c : layers)
      for (AttentionCache* a : {&c.self_attn, &c.cross_attn}) {
        pick(a->key);
        pick(a->value);
        pick(a->key_mask);
      }
  }
  void reorder(const std::vector<int64_t>& rows) {
    reorder(Tensor<int64_t>::from_vector(rows, {int64_t(rows.size())}));
  }
  void clear() {
    for (DecoderLayerCache& c : layers) c = DecoderLayerCache{};
  }
};

namespace detail {

// Projection `part` (0: query, 1: key, 2: value) of x [N, L, in] by attention's weights.
inline Tensor<float> mha_project(const MultiheadAttention& attn, int part, const Tensor<float>& x) {
  const MultiheadAttentionParams<float> p = attn.params();
  const int64_t E = attn.embed_dim();
  const Tensor<float> bias = p.in_proj_bias.defined()
                                 ? p.in_proj_bias.slice(0, part * E, (part + 1) * E)
                                 : Tensor<float>();
  if (p.in_proj_weight.defined())
    return linear(x, p.in_proj_weight.slice(0, part * E, (part + 1) * E), bias);
  const Tensor<float>& w = part == 0   ? p.q_proj_weight
                           : part == 1 ? p.k_proj_weight
                                       : p.v_proj_weight;
  return linear(x, w, bias);
}

// [N, L, E] -> [N, H, L, E / H]
inline Tensor<float> split_heads(const Tensor<float>& t, int64_t H) {
  const int64_t N = t.size(0), L = t.size(1), E = t.size(2);
  return t.reshape({N, L, H, E / H}).permute({0, 2, 1, 3});
}

// Attention of q [N, H, L, d] over the cached keys and values, then the output projection:
// [N, L, E]. mask: additive, broadcastable to [N, H, L, S], or undefined.
inline Tensor<float> mha_attend(MultiheadAttention& attn, const Tensor<float>& q,
                                const AttentionCache& cache, const Tensor<float>& mask,
                                const char* op) {
  SdpaOptions<float> sdpa;
  sdpa.attn_mask = mask;
  sdpa.dropout_p = attn.is_training() ? attn.dropout() : 0.0;
  sdpa.generator = &attn.generator();
  const AttentionResult<float> r = ember::detail::attention(q, cache.key, cache.value, sdpa, op);
  const int64_t N = q.size(0), L = q.size(2), E = attn.embed_dim();
  const Tensor<float> merged = r.output.permute({0, 2, 1, 3}).reshape({N, L, E});
  return linear(merged, attn.out_proj->weight, attn.out_proj->bias);
}

inline Tensor<float> add_masks(const Tensor<float>& a, const Tensor<float>& b) {
  if (!a.defined()) return b;
  if (!b.defined()) return a;
  return add(a, b);
}

}  // namespace detail

// Causal self-attention of the new positions x [N, L, E] (positions P .. P+L-1, where P =
// cache.length()) over the cached positions and themselves; appends the new keys and values to
// the cache. Returns [N, L, E], the attention block's output (before the layer's dropout).
inline Tensor<float> cached_self_attention(MultiheadAttention& attn, const Tensor<float>& x,
                                           AttentionCache& cache) {
  const char* op = "cached_self_attention";
  EMBER_CHECK(x.dim() == 3 && x.size(2) == attn.embed_dim(), op, ": expected x [N, L, ",
              attn.embed_dim(), "], got ", shape_str(x.shape()));
  EMBER_CHECK(cache.empty() || cache.rows() == x.size(0), op, ": the cache holds ", cache.rows(),
              " rows but x has ", x.size(0), " (reorder the cache when the rows change)");
  const int64_t H = attn.num_heads(), L = x.size(1), P = cache.length();
  const Tensor<float> q = detail::split_heads(detail::mha_project(attn, 0, x), H);
  const Tensor<float> k = detail::split_heads(detail::mha_project(attn, 1, x), H);
  const Tensor<float> v = detail::split_heads(detail::mha_project(attn, 2, x), H);
  cache.key = cache.empty() ? k : cat(std::vector<Tensor<float>>{cache.key, k}, 2);
  cache.value = P == 0 ? v : cat(std::vector<Tensor<float>>{cache.value, v}, 2);
  // New query i (absolute position P + i) may see keys 0 .. P + i: only a block of several new
  // positions needs a mask.
  Tensor<float> mask{};
  if (L > 1) {
    const int64_t S = P + L;
    std::vector<float> m(size_t(L * S), 0.0f);
    for (int64_t i = 0; i < L; ++i)
      for (int64_t j = P + i + 1; j < S; ++j)
        m[size_t(i * S + j)] = -std::numeric_limits<float>::infinity();
    mask = Tensor<float>::from_vector(m, {1, 1, L, S}).to(x.device());
  }
  return detail::mha_attend(attn, q, cache, mask, op);
}

// Cross-attention of x [N, L, E] over the memory [N, S, kdim]. The memory's keys and values are
// projected at the first call (empty cache) and reused afterwards, when `memory` is only
// checked for its row count if given. memory_key_padding_mask [N, S] (true = ignore that key)
// is read at the first call and kept in the cache.
inline Tensor<float> cached_cross_attention(MultiheadAttention& attn, const Tensor<float>& x,
                                            const Tensor<float>& memory, AttentionCache& cache,
                                            const Tensor<bool>& memory_key_padding_mask = {}) {
  const char* op = "cached_cross_attention";
  EMBER_CHECK(x.dim() == 3 && x.size(2) == attn.embed_dim(), op, ": expected x [N, L, ",
              attn.embed_dim(), "], got ", shape_str(x.shape()));
  const int64_t N = x.size(0);
  if (cache.empty()) {
    EMBER_CHECK(memory.defined() && memory.dim() == 3 && memory.size(0) == N, op,
                ": the first step needs memory [", N, ", S, kdim], got ",
                memory.defined() ? shape_str(memory.shape()) : std::string("none"));
    const int64_t H = attn.num_heads(), S = memory.size(1);
    cache.key = detail::split_heads(detail::mha_project(attn, 1, memory), H);
    cache.value = detail::split_heads(detail::mha_project(attn, 2, memory), H);
    if (memory_key_padding_mask.defined()) {
      const Tensor<bool>& kpm = memory_key_padding_mask;
      EMBER_CHECK(kpm.dim() == 2 && kpm.size(0) == N && kpm.size(1) == S, op,
                  ": memory_key_padding_mask of shape ", shape_str(kpm.shape()),
                  " does not match the memory: expected [", N, ", ", S, "]");
      const Tensor<bool> m4 = kpm.reshape({N, 1, 1, S});
      cache.key_mask = masked_fill(Tensor<float>::zeros(m4.shape(), x.device()), m4,
                                   -std::numeric_limits<float>::infinity());
    }
  } else {
    EMBER_CHECK(cache.rows() == N && (!memory.defined() || memory.size(0) == N), op,
                ": the cache holds ", cache.rows(), " rows but x has ", N,
                " (reorder the cache when the rows change)");
  }
  const Tensor<float> q = detail::split_heads(detail::mha_project(attn, 0, x), attn.num_heads());
  return detail::mha_attend(attn, q, cache, cache.key_mask, op);
}

// One decoding step of a TransformerDecoderLayer: the layer's output at the new positions
// x [N, L, d_model] (usually L = 1), continuing the positions in `cache`. Equal to the last L
// positions of layer.forward(prefix + x, memory, {.tgt_is_causal = true,
// .memory_key_padding_mask = ...}).
inline Tensor<float> decoder_layer_step(TransformerDecoderLayer& layer, const Tensor<float>& x,
                                        const Tensor<float>& memory, DecoderLayerCache& cache,
                                        const Tensor<bool>& memory_key_padding_mask = {}) {
  const TransformerLayerOptions& o = layer.options();
  EMBER_CHECK(x.dim() == 3 && x.size(2) == layer.self_attn->embed_dim(),
              "decoder_layer_step: expected x [N, L, ", layer.self_attn->embed_dim(), "], got ",
              shape_str(x.shape()));
  auto sa = [&](const Tensor<float>& h) {
    return layer.dropout1->forward(cached_self_attention(*layer.self_attn, h, cache.self_attn));
  };
  auto mha = [&](const Tensor<float>& h) {
    return layer.dropout2->forward(cached_cross_attention(
        *layer.multihead_attn, h, memory, cache.cross_attn, memory_key_padding_mask));
  };
  auto ff = [&](const Tensor<float>& h) {
    return layer.dropout3->forward(
        detail::feed_forward(*layer.linear1, *layer.dropout, *layer.linear2, o.activation, h));
  };
  Tensor<float> h = x;
  if (o.norm_first) {
    h = add(h, sa(layer.norm1->forward(h)));
    h = add(h, mha(layer.norm2->forward(h)));
    h = add(h, ff(layer.norm3->forward(h)));
  } else {
    h = layer.norm1->forward(add(h, sa(h)));
    h = layer.norm2->forward(add(h, mha(h)));
    h = layer.norm3->forward(add(h, ff(h)));
  }
  return h;
}

// One step through a stack of decoder layers (layer i uses cache.layers[i]).
inline Tensor<float> decoder_step(
    const std::vector<std::shared_ptr<TransformerDecoderLayer>>& layers, const Tensor<float>& x,
    const Tensor<float>& memory, DecoderCache& cache,
    const Tensor<bool>& memory_key_padding_mask = {}) {
  if (cache.layers.size() != layers.size()) {
    EMBER_CHECK(cache.length() == 0, "decoder_step: the cache has ", cache.layers.size(),
                " layers filled, the stack ", layers.size());
    cache.layers.assign(layers.size(), DecoderLayerCache{});
  }
  Tensor<float> h = x;
  for (size_t i = 0; i < layers.size(); ++i)
    h = decoder_layer_step(*layers[i], h, memory, cache.layers[i], memory_key_padding_mask);
  return h;
}

}  // namespace ember::nn
