// nn/kv_cache.hpp: incremental decoding with cached keys and values gives what the full causal
// forward gives, on a small random transformer decoder (token + learned position embeddings,
// two TransformerDecoderLayers, a linear head, a random encoder memory with padding):
//   - greedy decoding step by step: the same logits (to 1e-5) and the same tokens, post-LN and
//     pre-LN (relu / gelu);
//   - a prefix fed as one block, then single tokens: the same logits at every position;
//   - beam search (nn/decoding.hpp), which reorders the cache every step: the same hypotheses;
//   - the cost: each step adds one position to each layer's self-attention cache and reuses the
//     cross-attention keys and values projected at the first step;
//   - training through the cached path: the same parameter gradients as the full forward.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <ember/autograd/engine.hpp>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/nn/decoding.hpp>
#include <ember/nn/embedding.hpp>
#include <ember/nn/kv_cache.hpp>
#include <ember/nn/linear.hpp>
#include <ember/nn/transformer.hpp>
#include <ember/ops/arith.hpp>
#include <ember/ops/indexing.hpp>
#include <ember/ops/reduce.hpp>
#include <ember/ops/shape.hpp>
#include <memory>
#include <vector>

using namespace ember;

namespace {

constexpr int64_t V = 11, D = 16, H = 4, S = 5, MAXLEN = 12, BOS = 1, EOS = 2;

struct TinyDecoder {
  Generator gen;
  nn::Embedding tok, pos;
  std::vector<std::shared_ptr<nn::TransformerDecoderLayer>> layers;
  nn::Linear head;

  TinyDecoder(bool norm_first, const char* activation, uint64_t seed)
      : gen(seed), tok(V, D, gen), pos(MAXLEN, D, gen), head(D, V, gen) {
    for (int i = 0; i < 2; ++i)
      layers.push_back(std::make_shared<nn::TransformerDecoderLayer>(
          D, H,
          nn::TransformerLayerOptions{.dim_feedforward = 32,
                                      .dropout = 0.0,
                                      .activation = activation,
                                      .norm_first = norm_first},
          gen));
    // Layer norms start as the identity and biases as zero, which would hide a mixed-up norm or
    // bias: move every parameter off its initial value.
    for (Tensor<float>& p : parameters()) {
      const std::vector<float> noise = Tensor<float>::randn(p.shape(), gen).to_vector();
      float* d = p.data_ptr();
      for (size_t i = 0; i < noise.size(); ++i) d[i] += 0.2f * noise[i];
    }
  }
  void train(bool on) {
    tok.train(on);
    pos.train(on);
    head.train(on);
    for (auto& l : layers) l->train(on);
  }
  std::vector<Tensor<float>> parameters() {
    std::vector<Tensor<float>> out{tok.weight, pos.weight, head.weight, head.bias};
    for (auto& l : layers)
      for (auto& p : l->parameters()) out.push_back(Tensor<float>(p.impl));
    return out;
  }

  // tokens [N, L] at positions start .. start + L - 1 -> [N, L, D]
  Tensor<float> embed(const Tensor<int64_t>& tokens, int64_t start) {
    const Tensor<float> p = pos.forward(Tensor<int64_t>::arange(start, start + tokens.size(1)));
    return add(tok.forward(tokens), p.unsqueeze(0));
  }
  // The plain causal forward over a whole prefix: [N, L, V].
  Tensor<float> full(const Tensor<int64_t>& tokens, const Tensor<float>& memory,
                     const Tensor<bool>& kpm) {
    Tensor<float> h = embed(tokens, 0);
    for (auto& l : layers)
      h = l->forward(h, memory, {.memory_key_padding_mask = kpm, .tgt_is_causal = true});
    return head.forward(h);
  }
  // The cached step over new tokens [N, L]: [N, L, V].
  Tensor<float> step(const Tensor<int64_t>& tokens, const Tensor<float>& memory,
                     nn::DecoderCache& cache, const Tensor<bool>& kpm) {
    const Tensor<float> h =
        nn::decoder_step(layers, embed(tokens, cache.length()), memory, cache, kpm);
    return head.forward(h);
  }
};

struct Inputs {
  Tensor<float> memory;
  Tensor<bool> kpm;  // [N, S], the last keys of some rows are padding
};

Inputs make_inputs(int64_t N, uint64_t seed) {
  Generator g(seed);
  Inputs in{Tensor<float>::randn({N, S, D}, g), Tensor<bool>::zeros({N, S})};
  for (int64_t n = 0; n < N; ++n)
    for (int64_t s = S - n % 3; s < S; ++s) in.kpm.data_ptr()[n * S + s] = true;
  return in;
}

double max_abs_diff(const Tensor<float>& a, const Tensor<float>& b) {
  REQUIRE(a.shape() == b.shape());
  const auto va = a.contiguous().to_vector(), vb = b.contiguous().to_vector();
  double m = 0;
  for (size_t i = 0; i < va.size(); ++i) m = std::max(m, double(std::abs(va[i] - vb[i])));
  return m;
}

// Step models over the same decoder: one re-running the full forward on the prefix (its state:
// the prefix, the memory and the mask, all reordered together), one using the cache.
struct Uncached {
  TinyDecoder& m;
  Inputs in;
  Tensor<int64_t> prefix{};
  std::vector<Tensor<float>> logits{};
  nn::StepModel model() {
    return {[this](const Tensor<int64_t>& t, int64_t step) {
              const Tensor<int64_t> col = t.reshape({t.size(0), 1});
              prefix = step == 0 ? col : cat(std::vector<Tensor<int64_t>>{prefix, col}, 1);
              const Tensor<float> all = m.full(prefix, in.memory, in.kpm);
              const int64_t L = all.size(1);
              logits.push_back(all.slice(1, L - 1, L).reshape({t.size(0), V}));
              return logits.back();
            },
            [this](const std::vector<int64_t>& rows) {
              const auto idx = Tensor<int64_t>::from_vector(rows, {int64_t(rows.size())});
              if (prefix.defined()) prefix = index_select(prefix, 0, idx);
              in.memory = index_select(in.memory, 0, idx);
              in.kpm = index_select(in.kpm, 0, idx);
            }};
  }
};

struct Cached {
  TinyDecoder& m;
  Inputs in;
  nn::DecoderCache cache{};
  std::vector<Tensor<float>> logits{};
  nn::StepModel model() {
    return {
        [this](const Tensor<int64_t>& t, int64_t) {
          const Tensor<float> out =
              m.step(t.reshape({t.size(0), 1}), in.memory, cache, in.kpm).reshape({t.size(0), V});
          logits.push_back(out);
          return out;
        },
        [this](const std::vector<int64_t>& rows) {
          const auto idx = Tensor<int64_t>::from_vector(rows, {int64_t(rows.size())});
          cache.reorder(idx);  // the memory's keys, values and mask move with the cache
          in.memory = index_select(in.memory, 0, idx);
          in.kpm = index_select(in.kpm, 0, idx);
        }};
  }
};

Tensor<int64_t> bos(int64_t N) { return Tensor<int64_t>::full({N}, BOS); }

}  // namespace

TEST_CASE("cached greedy decoding gives the uncached logits and tokens") {
  for (const bool norm_first : {false, true}) {
    CAPTURE(norm_first);
    TinyDecoder m(norm_first, norm_first ? "gelu" : "relu", 11);
    m.train(false);
    const Inputs in = make_inputs(3, 5);
    Uncached u{m, in};
    Cached c{m, in};
    const nn::DecodeOptions o{.max_length = 10};  // no EOS: every step is compared
    const auto ru = nn::greedy_decode(u.model(), bos(3), o);
    const auto rc = nn::greedy_decode(c.model(), bos(3), o);
    REQUIRE(u.logits.size() == 10);
    REQUIRE(c.logits.size() == 10);
    for (size_t t = 0; t < 10; ++t) {
      CAPTURE(t);
      CHECK(max_abs_diff(c.logits[t], u.logits[t]) < 1e-5);
    }
    CHECK(rc.tokens.to_vector() == ru.tokens.to_vector());
    CHECK(c.cache.length() == 10);
  }
}

TEST_CASE("a prefix fed as one block, then token by token, matches the full forward") {
  TinyDecoder m(false, "relu", 21);
  m.train(false);
  const Inputs in = make_inputs(2, 6);
  Generator g(3);
  const Tensor<int64_t> tokens = Tensor<int64_t>::randint(0, V, {2, 7}, g);
  const Tensor<float> want = m.full(tokens, in.memory, in.kpm);  // [2, 7, V]
  nn::DecoderCache cache;
  const Tensor<float> block = m.step(tokens.slice(1, 0, 4), in.memory, cache, in.kpm);
  CHECK(max_abs_diff(block, want.slice(1, 0, 4)) < 1e-5);
  for (int64_t t = 4; t < 7; ++t) {
    // After the first step the memory is not needed: its keys and values are cached.
    const Tensor<float> one = m.step(tokens.slice(1, t, t + 1), Tensor<float>(), cache, {});
    CHECK(max_abs_diff(one, want.slice(1, t, t + 1)) < 1e-5);
  }
}

TEST_CASE("each step adds one position and reuses the cross-attention keys") {
  TinyDecoder m(true, "relu", 31);
  m.train(false);
  const Inputs in = make_inputs(2, 7);
  nn::DecoderCache cache;
  CHECK(cache.length() == 0);
  m.step(Tensor<int64_t>::full({2, 1}, BOS), in.memory, cache, in.kpm);
  REQUIRE(cache.layers.size() == 2);
  const auto cross_key = cache.layers[1].cross_attn.key.impl();
  for (int64_t t = 1; t <= 4; ++t) {
    m.step(Tensor<int64_t>::full({2, 1}, 3), in.memory, cache, in.kpm);
    CHECK(cache.length() == t + 1);
    for (const auto& l : cache.layers) {
      CHECK(l.self_attn.key.shape() == Shape{2, H, t + 1, D / H});
      CHECK(l.self_attn.value.shape() == Shape{2, H, t + 1, D / H});
      CHECK(l.cross_attn.key.shape() == Shape{2, H, S, D / H});
    }
    CHECK(cache.layers[1].cross_attn.key.impl() == cross_key);  // projected once
  }
  // The cache must be reordered when the rows change.
  CHECK_THROWS_AS(m.step(Tensor<int64_t>::full({3, 1}, 3), Tensor<float>(), cache, {}), Error);
  cache.reorder(std::vector<int64_t>{0, 1, 1});
  CHECK(cache.rows() == 3);
  CHECK(cache.layers[0].cross_attn.key_mask.shape() == Shape{3, 1, 1, S});
  m.step(Tensor<int64_t>::full({3, 1}, 3), Tensor<float>(), cache, {});
  CHECK(cache.length() == 6);
  cache.clear();
  CHECK(cache.length() == 0);
}

TEST_CASE("beam search with a reordered cache finds the uncached hypotheses") {
  TinyDecoder m(false, "gelu", 41);
  m.train(false);
  const Inputs in = make_inputs(2, 8);
  const nn::DecodeOptions o{.max_length = 6, .eos_id = EOS, .beam_width = 3, .num_return = 2};
  Uncached u{m, in};
  Cached c{m, in};
  const auto ru = nn::beam_search(u.model(), bos(2), o);
  const auto rc = nn::beam_search(c.model(), bos(2), o);
  CHECK(rc.tokens.to_vector() == ru.tokens.to_vector());
  CHECK(rc.lengths == ru.lengths);
  REQUIRE(rc.scores.size() == 4);
  for (size_t i = 0; i < 4; ++i) CHECK(rc.scores[i] == doctest::Approx(ru.scores[i]).epsilon(1e-5));
  REQUIRE(u.logits.size() == c.logits.size());
  for (size_t t = 0; t < c.logits.size(); ++t) CHECK(max_abs_diff(c.logits[t], u.logits[t]) < 1e-5);
}

TEST_CASE("training through the cached steps gives the full forward's gradients") {
  TinyDecoder m(false, "relu", 51);
  m.train(true);  // dropout 0: training mode changes nothing but must still work
  const Inputs in = make_inputs(2, 9);
  Generator g(4);
  const Tensor<int64_t> tokens = Tensor<int64_t>::randint(0, V, {2, 5}, g);
  const Tensor<float> w = Tensor<float>::randn({2, 5, V}, g);
  const std::vector<Tensor<float>> params = m.parameters();
  const Tensor<float> full_loss = sum(mul(m.full(tokens, in.memory, in.kpm), w));
  const auto g_full = grad<float>({full_loss}, params);
  nn::DecoderCache cache;
  Tensor<float> step_loss = Tensor<float>::zeros({});
  for (int64_t t = 0; t < 5; ++t) {
    const Tensor<float> lt = m.step(tokens.slice(1, t, t + 1), in.memory, cache, in.kpm);
    step_loss = add(step_loss, sum(mul(lt, w.slice(1, t, t + 1))));
  }
  CHECK(std::abs(step_loss.item() - full_loss.item()) < 1e-4);
  const auto g_step = grad<float>({step_loss}, params);
  REQUIRE(g_step.size() == g_full.size());
  for (size_t i = 0; i < params.size(); ++i) {
    CAPTURE(i);
    double scale = 0;
    for (float v : g_full[i].to_vector()) scale = std::max(scale, double(std::abs(v)));
    CHECK(max_abs_diff(g_step[i], g_full[i]) <= 1e-5 * (1 + scale));
  }
}
