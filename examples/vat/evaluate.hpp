// Evaluation (the note's "Decoding and metrics"): per test scene one greedy caption (VaT: the
// prior mean of the most likely component) and 5 captions (Transformer: sampling at temperature
// 1; VaT: 5 latent draws from the prior, each decoded greedily); CIDEr-D with IDF from the
// training references, Self-CIDEr over the 5 captions, and R@1 image->text with a dual-encoder
// retriever trained by InfoNCE on the training references.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ember/autograd/anomaly.hpp>
#include <ember/kit/progress.hpp>
#include <ember/metrics/captioning.hpp>
#include <ember/nn/decoding.hpp>
#include <ember/nn/embedding.hpp>
#include <ember/nn/functional/loss.hpp>
#include <ember/nn/linear.hpp>
#include <ember/nn/module.hpp>
#include <ember/ops/reduce_more.hpp>
#include <ember/optim/adam.hpp>
#include <string>
#include <vector>

#include "train.hpp"

namespace vat {

// ------------------------------------------------------------------ retriever

// Dual encoder: mean-pooled regions -> MLP and mean-pooled word embeddings -> MLP, both
// L2-normalised into a 64-d space.
class Retriever : public nn::Module {
 public:
  std::shared_ptr<nn::Linear> img1, img2, txt1, txt2;
  std::shared_ptr<nn::Embedding> words;
  explicit Retriever(uint64_t seed) {
    Generator gen(seed);
    img1 = register_module("img1", std::make_shared<nn::Linear>(2 * kFeatureDim, 128, gen));
    img2 = register_module("img2", std::make_shared<nn::Linear>(128, 64, gen));
    words = register_module("words", std::make_shared<nn::Embedding>(vocab_size(), 64, gen));
    txt1 = register_module("txt1", std::make_shared<nn::Linear>(64, 128, gen));
    txt2 = register_module("txt2", std::make_shared<nn::Linear>(128, 64, gen));
  }
  static Tensor<float> normalise(const Tensor<float>& x) {
    return div(x, sqrt(add(sum(mul(x, x), {1}, true), 1e-8f)));
  }
  // The items and the background cells are pooled apart (16 cells would drown 2-3 items).
  Tensor<float> image(const RegionBatch& r) {
    const Tensor<float> items = r.x.slice(1, 0, kMaxItems), valid = r.valid.slice(1, 0, kMaxItems);
    const Tensor<float> m = div(sum(mul(items, valid), {1}), sum(valid, {1}));
    const Tensor<float> cells = mean(r.x.slice(1, kMaxItems, kRegions), {1});
    return normalise(
        img2->forward(relu(img1->forward(cat(std::vector<Tensor<float>>{m, cells}, 1)))));
  }
  // Captions as word ids; an empty caption embeds to the MLP of a zero mean.
  Tensor<float> text(const std::vector<std::string>& caps, const Device& device) {
    const int64_t N = int64_t(caps.size());
    std::vector<std::vector<int64_t>> ids;
    int64_t T = 1;
    for (const auto& c : caps) {
      std::vector<int64_t> t = word_ids(c);
      T = std::max<int64_t>(T, int64_t(t.size()));
      ids.push_back(std::move(t));
    }
    std::vector<int64_t> flat(size_t(N * T), kPad);
    std::vector<float> w(size_t(N * T), 0.0f);
    for (int64_t i = 0; i < N; ++i)
      for (size_t t = 0; t < ids[size_t(i)].size(); ++t) {
        flat[size_t(i * T) + t] = ids[size_t(i)][t];
        w[size_t(i * T) + t] = 1.0f / float(ids[size_t(i)].size());
      }
    const Tensor<float> e = words->forward(Tensor<int64_t>::from_vector(flat, {N, T}).to(device));
    const Tensor<float> m = sum(mul(e, Tensor<float>::from_vector(w, {N, T, 1}).to(device)), {1});
    return normalise(txt2->forward(relu(txt1->forward(m))));
  }
};

// InfoNCE (symmetric, temperature 0.1) on one random reference per training scene per epoch.
inline double train_retriever(Retriever& ret, const Regions& r, const References& refs,
                              int64_t epochs, const Device& device, uint64_t seed) {
  Generator gen(seed);
  optim::Adam opt(ret.parameters(), {.lr = 2e-3});
  const int64_t n = r.size(), bs = 100;
  kit::Progress progress("retriever", epochs * ((n + bs - 1) / bs), 2.0);
  int64_t step = 0;
  double last = 0;
  ret.train();
  for (int64_t e = 0; e < epochs; ++e) {
    const std::vector<int64_t> order = shuffled(n, gen);
    for (int64_t b = 0; b + 1 < n; b += bs) {
      std::vector<int64_t> rows;
      std::vector<std::string> caps;
      for (int64_t i = b; i < std::min(n, b + bs); ++i) {
        const int64_t s = order[size_t(i)];
        rows.push_back(s);
        caps.push_back(refs.text[size_t(s)][size_t(gen.randint(0, 5))]);
      }
      const int64_t B = int64_t(rows.size());
      const Tensor<float> logits = mul(
          matmul(ret.image(region_batch(r, rows, device)), ret.text(caps, device).transpose(0, 1)),
          10.0f);
      const Tensor<int64_t> diag = Tensor<int64_t>::arange(0, B).to(device);
      const Tensor<float> loss =
          mul(add(nn::functional::cross_entropy(logits, diag),
                  nn::functional::cross_entropy(logits.transpose(0, 1).contiguous(), diag)),
              0.5f);
      check_loss(loss, step);
      opt.zero_grad();
      loss.backward();
      opt.step();
      last = double(loss.item());
      progress.update(++step, "InfoNCE " + kit::fmt(last, 3));
    }
  }
  ret.eval();
  return last;
}

// R@1 image->text: the fraction of scenes whose own caption (pool: one per scene, in order)
// is the most similar of the pool.
inline double recall_at_1(Retriever& ret, const Regions& r, const std::vector<std::string>& pool,
                          const Device& device) {
  NoGradGuard no_grad;
  const int64_t n = r.size();
  std::vector<int64_t> all(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) all[size_t(i)] = i;
  const Tensor<float> sim =
      matmul(ret.image(region_batch(r, all, device)), ret.text(pool, device).transpose(0, 1));
  const std::vector<int64_t> best = argmax(sim, 1).to(Device::cpu()).contiguous().to_vector();
  int64_t hits = 0;
  for (int64_t i = 0; i < n; ++i) hits += best[size_t(i)] == i;
  return double(hits) / double(n);
}

// ------------------------------------------------------------------ captioner evaluation

struct ArmEval {
  double greedy_cider = 0, mean_cider = 0, self_cider = 0, r1 = 0;
  std::vector<std::string> greedy;
  std::vector<std::vector<std::string>> five;
};

// `chunk` scenes at a time.
inline ArmEval evaluate(Captioner& m, const Regions& r, const References& refs,
                        const metrics::Cider& cider, Retriever& ret, const Device& device,
                        uint64_t seed, int64_t chunk = 100) {
  NoGradGuard no_grad;
  m.eval();
  Generator gen(seed);
  ArmEval out;
  const int64_t n = r.size();
  for (int64_t b = 0; b < n; b += chunk) {
    std::vector<int64_t> rows, rows5;
    for (int64_t i = b; i < std::min(n, b + chunk); ++i) {
      rows.push_back(i);
      for (int k = 0; k < 5; ++k) rows5.push_back(i);
    }
    {
      DecodeState st = m.start(region_batch(r, rows, device), true, gen);
      const std::vector<std::string> g = captions(
          nn::greedy_decode(m.step_model(st), bos(int64_t(rows.size())), decode_options(gen)));
      out.greedy.insert(out.greedy.end(), g.begin(), g.end());
    }
    DecodeState st = m.start(region_batch(r, rows5, device), false, gen);
    const nn::StepModel sm = m.step_model(st);
    const nn::DecodeResult res =
        m.cfg.variational ? nn::greedy_decode(sm, bos(int64_t(rows5.size())), decode_options(gen))
                          : nn::sample_decode(sm, bos(int64_t(rows5.size())), decode_options(gen));
    const std::vector<std::string> c = captions(res);
    for (size_t i = 0; i < rows.size(); ++i)
      out.five.emplace_back(c.begin() + ptrdiff_t(i * 5), c.begin() + ptrdiff_t(i * 5 + 5));
  }
  for (int64_t i = 0; i < n; ++i) {
    const auto& refs_i = refs.text[size_t(i)];
    out.greedy_cider += cider.cider_d(out.greedy[size_t(i)], refs_i) / double(n);
    double mc = 0;
    for (const auto& c : out.five[size_t(i)]) mc += cider.cider_d(c, refs_i) / 5.0;
    out.mean_cider += mc / double(n);
    out.self_cider += cider.self_cider(out.five[size_t(i)]) / double(n);
  }
  out.r1 = recall_at_1(ret, r, out.greedy, device);
  m.train();
  return out;
}

// The human reference point: Self-CIDEr of the 5 references, their leave-one-out CIDEr-D, and
// R@1 of one held-out reference (the first) per scene.
struct HumanEval {
  double loo_cider = 0, self_cider = 0, r1 = 0;
};

inline HumanEval evaluate_human(const Regions& r, const References& refs,
                                const metrics::Cider& cider, Retriever& ret, const Device& device) {
  HumanEval h;
  const int64_t n = r.size();
  std::vector<std::string> pool;
  for (int64_t i = 0; i < n; ++i) {
    const auto& refs_i = refs.text[size_t(i)];
    h.loo_cider += cider.leave_one_out_cider_d(refs_i) / double(n);
    h.self_cider += cider.self_cider(refs_i) / double(n);
    pool.push_back(refs_i.front());
  }
  h.r1 = recall_at_1(ret, r, pool, device);
  return h;
}

}  // namespace vat
