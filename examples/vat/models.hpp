// The two captioners of the note's arms: a Transformer (encoder over the regions, causal
// decoder) and VaT, the same Transformer with a latent z_t per token (arXiv 2205.14458):
//   - posterior q(z_t | w_1..w_T): a Transformer encoder layer without a causal mask over the
//     whole caption, then BatchNorm1d -> ReLU -> Linear, for each of the K mixture components;
//   - prior p(z_t | w_<t, V): a causal decoder layer over the prefix with cross-attention to the
//     image memory H, then an MLP, for each component;
//   - auto-selectable GMM: pi_k(V) = softmax_k(e_k . mean_i(H_i) / sqrt(d)), one component drawn
//     per caption; the KL is the mixture bound with both sides choosing components by pi;
//   - the decoder's cross-attention memory is [H ; z_1..z_T] with a mask that lets position t
//     see all of H and z_<=t.
// Decoding runs token by token over the library's KV cache (nn/kv_cache.hpp); for VaT the
// cross-attention cache grows by the projected z_t at each step, which is exactly the masked
// memory of the teacher-forced pass.
#pragma once

#include <cmath>
#include <cstdint>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/nn/decoding.hpp>
#include <ember/nn/embedding.hpp>
#include <ember/nn/functional/loss.hpp>
#include <ember/nn/functional/variational.hpp>
#include <ember/nn/kv_cache.hpp>
#include <ember/nn/linear.hpp>
#include <ember/nn/module.hpp>
#include <ember/nn/norm.hpp>
#include <ember/nn/transformer.hpp>
#include <ember/ops/activation.hpp>
#include <ember/ops/arith.hpp>
#include <ember/ops/indexing.hpp>
#include <ember/ops/linalg.hpp>
#include <ember/ops/reduce.hpp>
#include <ember/ops/sampling.hpp>
#include <ember/ops/shape.hpp>
#include <ember/ops/softmax.hpp>
#include <ember/ops/unary.hpp>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "features.hpp"

namespace vat {

struct ModelConfig {
  int64_t d = 64, heads = 4, ff = 128, enc_layers = 1, dec_layers = 2;
  int64_t latent = 16, components = 3;
  double dropout = 0.1;
  bool variational = false;
};

// A boolean tensor from host bytes (1 = true).
inline Tensor<bool> bool_tensor(const std::vector<uint8_t>& v, const Shape& shape,
                                const Device& device) {
  Tensor<bool> t = Tensor<bool>::zeros(shape);
  bool* p = t.data_ptr();
  for (size_t i = 0; i < v.size(); ++i) p[i] = v[i] != 0;
  return t.to(device);
}

// Regions of some scenes (rows may repeat: several captions per scene), on the device.
struct RegionBatch {
  Tensor<float> x;            // [B, S, F]
  Tensor<bool> pad;           // [B, S], true = absent
  Tensor<float> valid;        // [B, S, 1], 1 = present
  std::vector<uint8_t> host;  // the padding, B * S
  int64_t rows() const { return x.size(0); }
};

inline RegionBatch region_batch(const Regions& r, const std::vector<int64_t>& scenes,
                                const Device& device) {
  const int64_t B = int64_t(scenes.size()), S = kRegions;
  RegionBatch b;
  b.x = index_select(r.features, 0, Tensor<int64_t>::from_vector(scenes, {B})).to(device);
  std::vector<float> valid;
  for (int64_t s : scenes)
    for (int64_t k = 0; k < S; ++k) {
      b.host.push_back(r.pad[size_t(s * S + k)]);
      valid.push_back(r.pad[size_t(s * S + k)] ? 0.0f : 1.0f);
    }
  b.pad = bool_tensor(b.host, {B, S}, device);
  b.valid = Tensor<float>::from_vector(valid, {B, S, 1}).to(device);
  return b;
}

// Teacher-forcing captions: inputs BOS w_1..w_{T-1}, targets w_1..w_T (EOS included), padded.
struct CaptionBatch {
  Tensor<int64_t> inputs, targets;  // [N, T]
  Tensor<float> mask;               // [N, T], 1 at real target tokens
  std::vector<uint8_t> pad_host;    // N * T, 1 at padding
  Tensor<bool> pad;                 // [N, T]
  double tokens = 0;
};

inline CaptionBatch caption_batch(const std::vector<std::vector<int64_t>>& caps,
                                  const Device& device) {
  const int64_t N = int64_t(caps.size());
  int64_t T = 0;
  for (const auto& c : caps) T = std::max(T, int64_t(c.size()));
  std::vector<int64_t> in(size_t(N * T), kPad), tg(size_t(N * T), kPad);
  std::vector<float> mask(size_t(N * T), 0.0f);
  CaptionBatch b;
  b.pad_host.assign(size_t(N * T), 1);
  for (int64_t i = 0; i < N; ++i) {
    const auto& c = caps[size_t(i)];
    for (int64_t t = 0; t < int64_t(c.size()); ++t) {
      in[size_t(i * T + t)] = t == 0 ? kBos : c[size_t(t - 1)];
      tg[size_t(i * T + t)] = c[size_t(t)];
      mask[size_t(i * T + t)] = 1.0f;
      b.pad_host[size_t(i * T + t)] = 0;
      b.tokens += 1;
    }
  }
  b.inputs = Tensor<int64_t>::from_vector(in, {N, T}).to(device);
  b.targets = Tensor<int64_t>::from_vector(tg, {N, T}).to(device);
  b.mask = Tensor<float>::from_vector(mask, {N, T}).to(device);
  b.pad = bool_tensor(b.pad_host, {N, T}, device);
  return b;
}

// What a decoding pass carries between steps.
struct DecodeState {
  Tensor<float> memory;  // H [B, S, d]
  RegionBatch regions;
  nn::DecoderCache dec, prior;
  Tensor<float> onehot;  // VaT: [B, 1, K, 1], the component of each row
  bool sample_z = false;
  Generator* gen = nullptr;
};

class Captioner : public nn::Module {
 public:
  ModelConfig cfg;
  std::shared_ptr<nn::Linear> region_proj;
  std::shared_ptr<nn::LayerNorm> region_norm;
  std::vector<std::shared_ptr<nn::TransformerEncoderLayer>> encoder;
  std::shared_ptr<nn::Embedding> tok, pos;
  std::vector<std::shared_ptr<nn::TransformerDecoderLayer>> decoder;
  std::shared_ptr<nn::Linear> head;
  // VaT only.
  std::shared_ptr<nn::TransformerEncoderLayer> posterior;
  std::shared_ptr<nn::BatchNorm1d> post_bn;
  std::shared_ptr<nn::Linear> post_out;
  std::vector<std::shared_ptr<nn::TransformerDecoderLayer>> prior;
  std::shared_ptr<nn::Linear> prior_fc1, prior_fc2, z_proj;
  Tensor<float> components;  // [K, d], the e_k

  Captioner(const ModelConfig& c, uint64_t seed) : cfg(c) {
    Generator gen(seed);
    const nn::TransformerLayerOptions lo{
        .dim_feedforward = c.ff, .dropout = c.dropout, .seed = seed + 17};
    region_proj =
        register_module("region_proj", std::make_shared<nn::Linear>(kFeatureDim, c.d, gen));
    region_norm = register_module("region_norm", std::make_shared<nn::LayerNorm>(c.d));
    for (int64_t l = 0; l < c.enc_layers; ++l)
      encoder.push_back(
          register_module("encoder" + std::to_string(l),
                          std::make_shared<nn::TransformerEncoderLayer>(c.d, c.heads, lo, gen)));
    tok = register_module("tok", std::make_shared<nn::Embedding>(vocab_size(), c.d, gen));
    pos = register_module("pos", std::make_shared<nn::Embedding>(kMaxLen, c.d, gen));
    for (int64_t l = 0; l < c.dec_layers; ++l)
      decoder.push_back(
          register_module("decoder" + std::to_string(l),
                          std::make_shared<nn::TransformerDecoderLayer>(c.d, c.heads, lo, gen)));
    head = register_module("head", std::make_shared<nn::Linear>(c.d, vocab_size(), gen));
    if (!c.variational) return;
    const int64_t out = c.components * 2 * c.latent;
    posterior = register_module(
        "posterior", std::make_shared<nn::TransformerEncoderLayer>(c.d, c.heads, lo, gen));
    post_bn = register_module("post_bn", std::make_shared<nn::BatchNorm1d>(c.d));
    post_out = register_module("post_out", std::make_shared<nn::Linear>(c.d, out, gen));
    prior.push_back(register_module(
        "prior0", std::make_shared<nn::TransformerDecoderLayer>(c.d, c.heads, lo, gen)));
    prior_fc1 = register_module("prior_fc1", std::make_shared<nn::Linear>(c.d, c.d, gen));
    prior_fc2 = register_module("prior_fc2", std::make_shared<nn::Linear>(c.d, out, gen));
    z_proj = register_module("z_proj", std::make_shared<nn::Linear>(c.latent, c.d, gen));
    components = register_parameter(
        "components", Tensor<float>::randn({c.components, c.d}, gen, 0.0, 1.0 / std::sqrt(c.d)));
  }

  std::string name() const override { return cfg.variational ? "VaT" : "Transformer"; }

  // H [B, S, d].
  Tensor<float> encode(const RegionBatch& r) {
    Tensor<float> h = region_norm->forward(region_proj->forward(r.x));
    for (auto& l : encoder) h = l->forward(h, {.src_key_padding_mask = r.pad});
    return h;
  }

  // Token and position embeddings of tokens [N, L] at positions start .. start + L - 1.
  Tensor<float> embed(const Tensor<int64_t>& tokens, int64_t start) {
    const Tensor<int64_t> p =
        Tensor<int64_t>::arange(start, start + tokens.size(1)).to(tokens.device());
    return add(tok->forward(tokens), pos->forward(p).unsqueeze(0));
  }

  // pi(V) [B, K] from the mean of the present regions' memory.
  Tensor<float> mixture_weights(const Tensor<float>& H, const RegionBatch& r) {
    const Tensor<float> m = div(sum(mul(H, r.valid), {1}), sum(r.valid, {1}));  // [B, d]
    const Tensor<float> logits = matmul(m, components.transpose(0, 1));
    return softmax(mul(logits, float(1.0 / std::sqrt(double(cfg.d)))), 1);
  }

  // A head's output [N, L, K * 2 * D] as (mean, log-variance) [N, L, K, D].
  std::pair<Tensor<float>, Tensor<float>> gaussians(const Tensor<float>& out) const {
    const int64_t N = out.size(0), L = out.size(1), K = cfg.components, D = cfg.latent;
    const Tensor<float> g = out.reshape({N, L, K, 2 * D});
    return {g.slice(3, 0, D), clamp(g.slice(3, D, 2 * D), -8.0f, 8.0f)};
  }

  std::pair<Tensor<float>, Tensor<float>> posterior_params(const CaptionBatch& c) {
    const int64_t N = c.targets.size(0), T = c.targets.size(1);
    const Tensor<float> g =
        posterior->forward(embed(c.targets, 0), {.src_key_padding_mask = c.pad});
    const Tensor<float> h = relu(post_bn->forward(g.reshape({N * T, cfg.d})));
    return gaussians(post_out->forward(h).reshape({N, T, -1}));
  }

  std::pair<Tensor<float>, Tensor<float>> prior_head(const Tensor<float>& h) {
    return gaussians(prior_fc2->forward(relu(prior_fc1->forward(h))));
  }

  // One-hot [B, 1, K, 1] of the components.
  Tensor<float> component_onehot(const std::vector<int64_t>& comp, const Device& device) const {
    std::vector<float> v(comp.size() * size_t(cfg.components), 0.0f);
    for (size_t i = 0; i < comp.size(); ++i) v[i * size_t(cfg.components) + size_t(comp[i])] = 1;
    return Tensor<float>::from_vector(v, {int64_t(comp.size()), 1, cfg.components, 1}).to(device);
  }

  // z = mu_k + sigma_k * eps (or mu_k) of the selected components: [N, L, D].
  static Tensor<float> select_z(const Tensor<float>& mu, const Tensor<float>& logvar,
                                const Tensor<float>& onehot, bool sample, Generator& gen) {
    const Tensor<float> m = sum(mul(mu, onehot), {2});
    if (!sample) return m;
    const Tensor<float> lv = sum(mul(logvar, onehot), {2});
    const Tensor<float> eps = Tensor<float>::randn(m.shape(), gen).to(m.device());
    return add(m, mul(exp(mul(lv, 0.5f)), eps));
  }

  // The decoder over x [N, T, d] with memory [H ; z_proj(z)], z [N, T, D]: position t sees
  // all of H and z_1..z_t.
  Tensor<float> decode_with_latent(const Tensor<float>& H, const RegionBatch& r,
                                   const Tensor<float>& x, const Tensor<float>& z,
                                   const CaptionBatch& c) {
    const int64_t N = x.size(0), T = x.size(1), S = H.size(1);
    const Tensor<float> memory = cat(std::vector<Tensor<float>>{H, z_proj->forward(z)}, 1);
    std::vector<float> m(size_t(T * (S + T)), 0.0f);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t u = t + 1; u < T; ++u)
        m[size_t(t * (S + T) + S + u)] = -std::numeric_limits<float>::infinity();
    const Tensor<float> mmask = Tensor<float>::from_vector(m, {T, S + T}).to(x.device());
    std::vector<uint8_t> kpm;
    for (int64_t i = 0; i < N; ++i) {
      kpm.insert(kpm.end(), r.host.begin() + i * S, r.host.begin() + (i + 1) * S);
      kpm.insert(kpm.end(), c.pad_host.begin() + i * T, c.pad_host.begin() + (i + 1) * T);
    }
    const Tensor<bool> mkpm = bool_tensor(kpm, {N, S + T}, x.device());
    Tensor<float> h = x;
    for (auto& l : decoder)
      h = l->forward(
          h, memory,
          {.memory_mask = mmask, .memory_key_padding_mask = mkpm, .tgt_is_causal = true});
    return h;
  }

  // Teacher-forced logits [N, T, V] with VaT's z the prior mean of the components in `onehot`
  // ([N, 1, K, 1]): what a cached greedy pass with greedy_mean computes step by step.
  Tensor<float> forced_logits(const RegionBatch& r, const CaptionBatch& c,
                              const Tensor<float>& onehot) {
    const Tensor<float> H = encode(r);
    const Tensor<float> x = embed(c.inputs, 0);
    Tensor<float> h = x;
    if (!cfg.variational) {
      for (auto& l : decoder)
        h = l->forward(h, H, {.memory_key_padding_mask = r.pad, .tgt_is_causal = true});
    } else {
      Tensor<float> hp = x;
      for (auto& l : prior)
        hp = l->forward(hp, H, {.memory_key_padding_mask = r.pad, .tgt_is_causal = true});
      const auto [mup, lvp] = prior_head(hp);
      Generator unused(0);
      h = decode_with_latent(H, r, x, select_z(mup, lvp, onehot, false, unused), c);
    }
    return head->forward(h);
  }

  struct XeOut {
    Tensor<float> nll, kl;  // summed over the tokens (kl undefined for the Transformer)
  };

  // The teacher-forced pass. VaT draws z from the posterior (one component per caption).
  XeOut xe(const RegionBatch& r, const CaptionBatch& c, Generator& gen) {
    const Tensor<float> H = encode(r);
    const Tensor<float> x = embed(c.inputs, 0);
    const int64_t N = x.size(0), T = x.size(1);
    Tensor<float> h = x;
    XeOut out;
    if (!cfg.variational) {
      for (auto& l : decoder)
        h = l->forward(h, H, {.memory_key_padding_mask = r.pad, .tgt_is_causal = true});
    } else {
      const Tensor<float> pi = mixture_weights(H, r);
      const auto [muq, lvq] = posterior_params(c);
      Tensor<float> hp = x;
      for (auto& l : prior)
        hp = l->forward(hp, H, {.memory_key_padding_mask = r.pad, .tgt_is_causal = true});
      const auto [mup, lvp] = prior_head(hp);
      const std::vector<int64_t> comp =
          multinomial(pi.detach(), 1, true, gen).to(Device::cpu()).contiguous().to_vector();
      const Tensor<float> z = select_z(muq, lvq, component_onehot(comp, x.device()), true, gen);
      h = decode_with_latent(H, r, x, z, c);
      const Tensor<float> w = pi.unsqueeze(1).expand({N, T, cfg.components}).contiguous();
      const Tensor<float> kl = nn::functional::mixture_kl_upper_bound(w, muq, lvq, w, mup, lvp);
      out.kl = sum(mul(kl, c.mask));
    }
    const Tensor<float> logits = head->forward(h);
    out.nll = nn::functional::cross_entropy(
        logits.reshape({N * T, vocab_size()}), c.targets.reshape({N * T}),
        nn::functional::CrossEntropyOptions<float>{.ignore_index = kPad,
                                                   .reduction = nn::functional::Reduction::Sum});
    return out;
  }

  // A decoding pass over the rows of `r`. VaT: `greedy_mean` uses each row's most likely
  // component and the prior mean; otherwise a component is drawn from pi per row and z_t from
  // the prior at each step.
  DecodeState start(const RegionBatch& r, bool greedy_mean, Generator& gen) {
    DecodeState st;
    st.regions = r;
    st.memory = encode(r);
    st.gen = &gen;
    if (cfg.variational) {
      const Tensor<float> pi = mixture_weights(st.memory, r).detach();
      std::vector<int64_t> comp;
      if (greedy_mean) {
        comp = argmax(pi, 1).to(Device::cpu()).contiguous().to_vector();
      } else {
        comp = multinomial(pi, 1, true, gen).to(Device::cpu()).contiguous().to_vector();
      }
      st.onehot = component_onehot(comp, st.memory.device());
      st.sample_z = !greedy_mean;
    }
    return st;
  }

  Tensor<float> step(DecodeState& st, const Tensor<int64_t>& tokens, int64_t t) {
    const int64_t B = tokens.size(0);
    const Tensor<float> x = embed(tokens.to(st.memory.device()).reshape({B, 1}), t);
    Tensor<float> h;
    if (!cfg.variational) {
      h = nn::decoder_step(decoder, x, st.memory, st.dec, st.regions.pad);
    } else {
      const Tensor<float> hp = nn::decoder_step(prior, x, st.memory, st.prior, st.regions.pad);
      const auto [mup, lvp] = prior_head(hp);
      const Tensor<float> zp =
          z_proj->forward(select_z(mup, lvp, st.onehot, st.sample_z, *st.gen));  // [B, 1, d]
      if (st.dec.layers.size() != decoder.size()) st.dec.layers.assign(decoder.size(), {});
      h = x;
      for (size_t l = 0; l < decoder.size(); ++l) {
        nn::DecoderLayerCache& c = st.dec.layers[l];
        if (c.cross_attn.empty()) {  // the first step: project [H ; z_1]
          std::vector<uint8_t> kpm;
          const int64_t S = st.memory.size(1);
          for (int64_t i = 0; i < B; ++i) {
            kpm.insert(kpm.end(), st.regions.host.begin() + i * S,
                       st.regions.host.begin() + (i + 1) * S);
            kpm.push_back(0);
          }
          const Tensor<float> mem = cat(std::vector<Tensor<float>>{st.memory, zp}, 1);
          h = nn::decoder_layer_step(*decoder[l], h, mem, c,
                                     bool_tensor(kpm, {B, S + 1}, x.device()));
        } else {  // append z_t's key and value to the cross-attention cache
          nn::MultiheadAttention& a = *decoder[l]->multihead_attn;
          const Tensor<float> k =
              nn::detail::split_heads(nn::detail::mha_project(a, 1, zp), cfg.heads);
          const Tensor<float> v =
              nn::detail::split_heads(nn::detail::mha_project(a, 2, zp), cfg.heads);
          c.cross_attn.key = cat(std::vector<Tensor<float>>{c.cross_attn.key, k}, 2);
          c.cross_attn.value = cat(std::vector<Tensor<float>>{c.cross_attn.value, v}, 2);
          if (c.cross_attn.key_mask.defined())
            c.cross_attn.key_mask =
                cat(std::vector<Tensor<float>>{c.cross_attn.key_mask,
                                               Tensor<float>::zeros({B, 1, 1, 1}, x.device())},
                    3);
          h = nn::decoder_layer_step(*decoder[l], h, Tensor<float>(), c);
        }
      }
    }
    return head->forward(h).reshape({B, vocab_size()});
  }

  nn::StepModel step_model(DecodeState& st) {
    return {[this, &st](const Tensor<int64_t>& tokens, int64_t t) { return step(st, tokens, t); }};
  }
};

inline nn::DecodeOptions decode_options(Generator& gen) {
  return {.max_length = kMaxLen, .eos_id = kEos, .pad_id = kPad, .generator = &gen};
}

// Start tokens for B rows.
inline Tensor<int64_t> bos(int64_t B) { return Tensor<int64_t>::full({B}, kBos); }

}  // namespace vat
