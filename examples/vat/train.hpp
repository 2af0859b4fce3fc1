// Training: the XE stage (teacher forcing, for VaT plus beta * KL, with a Noam warm-up) and the
// self-critical RL stage (5 sampled captions per scene, CIDEr-D rewards, the `avg` or the
// range-median `mid` baseline of nn/functional/self_critical.hpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ember/autograd/anomaly.hpp>
#include <ember/kit/progress.hpp>
#include <ember/kit/table.hpp>
#include <ember/metrics/captioning.hpp>
#include <ember/nn/decoding.hpp>
#include <ember/nn/functional/self_critical.hpp>
#include <ember/optim/adam.hpp>
#include <ember/optim/clip.hpp>
#include <ember/optim/scheduler.hpp>
#include <string>
#include <vector>

#include "models.hpp"

namespace vat {

// Every scene's references, as words and as token ids.
struct References {
  std::vector<std::vector<std::string>> text;
  std::vector<std::vector<std::vector<int64_t>>> ids;
  explicit References(const std::vector<CaptionScene>& scenes) {
    for (const auto& s : scenes) {
      text.push_back(s.refs);
      std::vector<std::vector<int64_t>> r;
      for (const auto& c : s.refs) r.push_back(encode_caption(c));
      ids.push_back(std::move(r));
    }
  }
};

inline std::vector<int64_t> shuffled(int64_t n, Generator& gen) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[size_t(i)] = i;
  for (int64_t i = n - 1; i > 0; --i)
    std::swap(order[size_t(i)], order[size_t(gen.randint(0, i + 1))]);
  return order;
}

struct XeSettings {
  int64_t epochs = 8, refs_per_scene = 2, batch_scenes = 25, warmup = 300;
  double lr = 5e-4, kl_beta = 1.0;
};

struct XeLog {
  std::vector<double> nll, kl;  // per epoch, nats per token (training batches)
};

inline int64_t xe_steps(int64_t scenes, const XeSettings& s) {
  return s.epochs * ((scenes + s.batch_scenes - 1) / s.batch_scenes);
}

inline std::vector<AnyTensor> trainable(Captioner& m) { return m.parameters(); }

// The XE stage. `progress` counts batches from `done`.
inline XeLog train_xe(Captioner& m, const Regions& r, const References& refs, const XeSettings& s,
                      uint64_t seed, const Device& device, kit::Progress& progress, int64_t& done,
                      const std::string& status) {
  Generator gen(seed);
  optim::Adam opt(trainable(m), {.lr = s.lr, .beta1 = 0.9, .beta2 = 0.98, .eps = 1e-9});
  // Noam: linear warm-up to lr, then lr * sqrt(warmup / step).
  const double w = double(s.warmup);
  optim::LambdaLR sched(opt, [w](int64_t e) {
    const double step = double(e + 1);
    return std::min(step / w, std::sqrt(w / step));
  });
  XeLog log;
  m.train();
  const int64_t n = r.size();
  int64_t step = 0;
  for (int64_t e = 0; e < s.epochs; ++e) {
    const std::vector<int64_t> order = shuffled(n, gen);
    double nll_sum = 0, kl_sum = 0, tokens = 0;
    for (int64_t b = 0; b < n; b += s.batch_scenes) {
      std::vector<int64_t> rows;
      std::vector<std::vector<int64_t>> caps;
      for (int64_t i = b; i < std::min(n, b + s.batch_scenes); ++i) {
        const int64_t sc = order[size_t(i)];
        const std::vector<int64_t> pick = shuffled(int64_t(refs.ids[size_t(sc)].size()), gen);
        for (int64_t k = 0; k < s.refs_per_scene; ++k) {
          rows.push_back(sc);
          caps.push_back(refs.ids[size_t(sc)][size_t(pick[size_t(k)])]);
        }
      }
      const RegionBatch rb = region_batch(r, rows, device);
      const CaptionBatch cb = caption_batch(caps, device);
      const Captioner::XeOut out = m.xe(rb, cb, gen);
      Tensor<float> loss = out.nll;
      if (out.kl.defined()) loss = add(loss, mul(out.kl, float(s.kl_beta)));
      loss = mul(loss, float(1.0 / cb.tokens));
      check_loss(loss, step);
      opt.zero_grad();
      loss.backward();
      optim::clip_grad_norm_(trainable(m), 1.0);
      opt.step();
      sched.step();
      ++step;
      nll_sum += double(out.nll.item());
      if (out.kl.defined()) kl_sum += double(out.kl.item());
      tokens += cb.tokens;
      progress.update(++done, status + " XE epoch " + std::to_string(e + 1) + "  nll/token " +
                                  kit::fmt(nll_sum / tokens, 3) +
                                  (out.kl.defined() ? "  KL/token " + kit::fmt(kl_sum / tokens, 3)
                                                    : std::string()));
    }
    log.nll.push_back(nll_sum / tokens);
    log.kl.push_back(kl_sum / tokens);
  }
  return log;
}

// NLL and KL per token on every reference of `scenes` (eval mode, no gradient).
inline std::pair<double, double> xe_eval(Captioner& m, const Regions& r, const References& refs,
                                         const Device& device, uint64_t seed) {
  NoGradGuard no_grad;
  m.eval();
  Generator gen(seed);
  double nll = 0, kl = 0, tokens = 0;
  for (int64_t b = 0; b < r.size(); b += 50) {
    std::vector<int64_t> rows;
    std::vector<std::vector<int64_t>> caps;
    for (int64_t i = b; i < std::min(r.size(), b + 50); ++i)
      for (const auto& c : refs.ids[size_t(i)]) rows.push_back(i), caps.push_back(c);
    const CaptionBatch cb = caption_batch(caps, device);
    const Captioner::XeOut out = m.xe(region_batch(r, rows, device), cb, gen);
    nll += double(out.nll.item());
    if (out.kl.defined()) kl += double(out.kl.item());
    tokens += cb.tokens;
  }
  m.train();
  return {nll / tokens, kl / tokens};
}

// Decoded rows of a result as captions.
inline std::vector<std::string> captions(const nn::DecodeResult& res) {
  std::vector<std::string> out;
  for (size_t i = 0; i < res.lengths.size(); ++i)
    out.push_back(decode_caption(res.sequence(int64_t(i))));
  return out;
}

struct RlSettings {
  int64_t epochs = 3, batch_scenes = 25, samples = 5;
  double lr = 5e-5;
  nn::functional::RewardBaseline baseline = nn::functional::RewardBaseline::Avg;
};

inline int64_t rl_steps(int64_t scenes, const RlSettings& s) {
  return s.epochs * ((scenes + s.batch_scenes - 1) / s.batch_scenes);
}

// Mean greedy CIDEr-D over `r`'s scenes (VaT: the prior mean of the most likely component).
inline double greedy_cider(Captioner& m, const Regions& r, const References& refs,
                           const metrics::Cider& cider, const Device& device, uint64_t seed) {
  NoGradGuard no_grad;
  const bool was_training = m.is_training();
  m.eval();
  Generator gen(seed);
  double total = 0;
  for (int64_t b = 0; b < r.size(); b += 100) {
    std::vector<int64_t> rows;
    for (int64_t i = b; i < std::min(r.size(), b + 100); ++i) rows.push_back(i);
    DecodeState st = m.start(region_batch(r, rows, device), true, gen);
    const std::vector<std::string> caps = captions(
        nn::greedy_decode(m.step_model(st), bos(int64_t(rows.size())), decode_options(gen)));
    for (size_t i = 0; i < caps.size(); ++i)
      total += cider.cider_d(caps[i], refs.text[size_t(rows[i])]);
  }
  m.train(was_training);
  return total / double(r.size());
}

// A copy of `src` (same configuration, its parameters and buffers): the arms that share an XE
// checkpoint each start RL from one.
inline std::shared_ptr<Captioner> clone(Captioner& src, const Device& device) {
  auto m = std::make_shared<Captioner>(src.cfg, 0);
  m->to(device);
  m->load_state_dict(src.state_dict());
  return m;
}

struct RlLog {
  std::vector<double> mean_reward;  // per epoch, CIDEr-D of the training samples
  std::vector<double> val_cider;    // per epoch, greedy CIDEr-D on the validation scenes
  int64_t best_epoch = 0;           // 1-based: the epoch whose parameters are kept
};

// The RL stage. After every epoch the greedy CIDEr-D on the validation scenes is measured and
// the parameters of the best epoch are kept (self-critical.pytorch keeps its best validation
// checkpoint the same way).
inline RlLog train_rl(Captioner& m, const Regions& r, const References& refs, const Regions& r_val,
                      const References& val_refs, const metrics::Cider& cider, const RlSettings& s,
                      uint64_t seed, const Device& device, kit::Progress& progress, int64_t& done,
                      const std::string& status) {
  Generator gen(seed);
  optim::Adam opt(trainable(m), {.lr = s.lr});
  RlLog log;
  std::shared_ptr<Captioner> best;
  m.train();  // dropout on while sampling, as self-critical.pytorch does
  const int64_t n = r.size();
  int64_t step = 0;
  for (int64_t e = 0; e < s.epochs; ++e) {
    const std::vector<int64_t> order = shuffled(n, gen);
    double total = 0, count = 0;
    for (int64_t b = 0; b < n; b += s.batch_scenes) {
      std::vector<int64_t> rows;
      for (int64_t i = b; i < std::min(n, b + s.batch_scenes); ++i)
        for (int64_t k = 0; k < s.samples; ++k) rows.push_back(order[size_t(i)]);
      // The latent comes from the prior: no ground-truth caption is fed in RL.
      DecodeState st = m.start(region_batch(r, rows, device), false, gen);
      const nn::DecodeResult res =
          nn::sample_decode(m.step_model(st), bos(int64_t(rows.size())), decode_options(gen));
      const std::vector<std::string> caps = captions(res);
      std::vector<double> rewards;
      for (size_t i = 0; i < caps.size(); ++i)
        rewards.push_back(cider.cider_d(caps[i], refs.text[size_t(rows[i])]));
      const Tensor<float> loss =
          nn::functional::self_critical_loss(res.token_logprobs, rewards, s.samples, s.baseline);
      check_loss(loss, step++);
      opt.zero_grad();
      loss.backward();
      optim::clip_grad_norm_(trainable(m), 1.0);
      opt.step();
      for (double v : rewards) total += v, count += 1;
      progress.update(++done, status + " RL epoch " + std::to_string(e + 1) + "  reward " +
                                  kit::fmt(total / count, 3));
    }
    log.mean_reward.push_back(total / count);
    log.val_cider.push_back(greedy_cider(m, r_val, val_refs, cider, device, seed + 1));
    if (!best || log.val_cider.back() > log.val_cider[size_t(log.best_epoch - 1)]) {
      log.best_epoch = e + 1;
      best = clone(m, device);
    }
  }
  if (best) m.load_state_dict(best->state_dict());
  return log;
}

}  // namespace vat
