// Autoregressive decoding over a user-supplied step function: greedy, sampling from the
// temperature-scaled categorical distribution, and beam search, with EOS and padding.
//
// The model side is a StepModel: `step` returns the next-token logits [B, V] of each of the B
// rows given the token each row chose at the previous step, and keeps whatever state the model
// needs (a KV cache, nn/kv_cache.hpp, or the prefix itself); `reorder` rearranges that state's
// rows (beam search, and several samples per input). The decoders never look inside the state.
//
// Conventions shared by the three decoders:
//   - start_tokens [N] (int64, CPU) are fed at step 0; each later step feeds the tokens chosen
//     at the one before, on the CPU (move them to the model's device inside `step`).
//   - A sequence ends with eos_id (kept in the output) or after max_length tokens. Finished rows
//     stop growing: once their EOS has been fed they are fed pad_id, their outputs are ignored,
//     and their remaining positions in the result hold pad_id. Decoding stops as soon as every
//     row has finished.
//   - Results: tokens [R, T] with T the longest sequence (<= max_length), the length of each
//     row (EOS included), the log-probability of each chosen token (0 at padding) and a score.
//
// Sampling and greedy return token_logprobs with the autograd graph of the logits (log_softmax
// + gather, per step), so a policy-gradient loss (nn/functional/self_critical.hpp) can be
// differentiated through one sampling pass, as in self-critical sequence training. Beam search
// returns them without a graph.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ember/core/error.hpp>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/arith.hpp>
#include <ember/ops/compare.hpp>
#include <ember/ops/indexing.hpp>
#include <ember/ops/sampling.hpp>
#include <ember/ops/shape.hpp>
#include <ember/ops/softmax.hpp>
#include <functional>
#include <limits>
#include <optional>
#include <vector>

namespace ember::nn {

struct StepModel {
  // Logits [B, V] of the next token for each row, given the token each row chose at the
  // previous step ([B], start tokens at step 0) and the 0-based step index. Advances the
  // model's state by one token.
  std::function<Tensor<float>(const Tensor<int64_t>& tokens, int64_t step)> step;
  // New row i of the state continues old row rows[i] (rows may repeat; the count may change).
  // Needed by beam search with beam_width > 1 and by sampling with samples_per_input > 1.
  std::function<void(const std::vector<int64_t>& rows)> reorder{};
};

struct DecodeOptions {
  int64_t max_length = 16;                       // tokens per sequence, EOS included
  std::optional<int64_t> eos_id = std::nullopt;  // none: every sequence has max_length tokens
  int64_t pad_id = 0;                            // after the end of a sequence
  // Sampling.
  double temperature = 1.0;        // logits / temperature before the softmax
  int64_t samples_per_input = 1;   // rows input-major: row i * n + s
  Generator* generator = nullptr;  // default_generator() when null
  // Beam search.
  int64_t beam_width = 3;
  // Rank finished hypotheses by sum(log p) / length^length_penalty (0: the plain sum; 1: the
  // mean log-probability per token). Length counts the tokens, EOS included.
  double length_penalty = 0.0;
  int64_t num_return = 1;  // hypotheses per input, best first (<= beam_width)
};

struct DecodeResult {
  Tensor<int64_t> tokens{};        // [R, T], pad_id after each row's end
  std::vector<int64_t> lengths;    // tokens of each row before the padding, EOS included
  Tensor<float> token_logprobs{};  // [R, T], log p of each token, 0 at padding
  std::vector<double> scores;      // greedy / sampling: sum of token_logprobs; beam: the rank score
  // Row r's tokens without the padding.
  std::vector<int64_t> sequence(int64_t r) const {
    EMBER_CHECK(r >= 0 && r < int64_t(lengths.size()), "DecodeResult::sequence: row ", r,
                " is outside [0, ", lengths.size(), ")");
    const int64_t T = tokens.size(1);
    const std::vector<int64_t> all = tokens.slice(0, r, r + 1).contiguous().to_vector();
    return std::vector<int64_t>(all.begin(), all.begin() + std::min(T, lengths[size_t(r)]));
  }
};

namespace detail {

inline void check_decode_options(const StepModel& model, const Tensor<int64_t>& start,
                                 const DecodeOptions& o, const char* op) {
  EMBER_CHECK(bool(model.step), op, ": the StepModel has no step function");
  EMBER_CHECK(start.dim() == 1 && start.size(0) > 0, op,
              ": expected start_tokens [N] with N > 0, got shape ", shape_str(start.shape()));
  EMBER_CHECK(o.max_length > 0, op, ": max_length must be positive, got ", o.max_length);
}

// The step's logits, checked to be [B, V], and a host copy in row-major order.
inline Tensor<float> step_logits(const StepModel& model, const std::vector<int64_t>& prev,
                                 int64_t t, const char* op, std::vector<float>& host) {
  const int64_t B = int64_t(prev.size());
  const Tensor<float> logits = model.step(Tensor<int64_t>::from_vector(prev, {B}), t);
  EMBER_CHECK(logits.defined() && logits.dim() == 2 && logits.size(0) == B, op,
              ": the step function must return logits [", B, ", V] at step ", t, ", got ",
              logits.defined() ? shape_str(logits.shape()) : std::string("none"));
  host = logits.detach().to(Device::cpu()).contiguous().to_vector();
  return logits;
}

inline Tensor<int64_t> pad_rows(const std::vector<std::vector<int64_t>>& rows, int64_t pad,
                                int64_t& T) {
  T = 0;
  for (const auto& r : rows) T = std::max(T, int64_t(r.size()));
  std::vector<int64_t> flat(rows.size() * size_t(T), pad);
  for (size_t i = 0; i < rows.size(); ++i)
    std::copy(rows[i].begin(), rows[i].end(), flat.begin() + ptrdiff_t(i * size_t(T)));
  return Tensor<int64_t>::from_vector(flat, {int64_t(rows.size()), T});
}

// Greedy (sample = false) or sampling: one token per unfinished row and step.
inline DecodeResult decode_one_by_one(const StepModel& model, const Tensor<int64_t>& start_tokens,
                                      const DecodeOptions& o, bool sample, const char* op) {
  check_decode_options(model, start_tokens, o, op);
  std::vector<int64_t> prev = start_tokens.to(Device::cpu()).contiguous().to_vector();
  if (sample) {
    EMBER_CHECK(o.temperature > 0 && std::isfinite(o.temperature), op,
                ": temperature must be positive and finite, got ", o.temperature);
    EMBER_CHECK(o.samples_per_input >= 1, op, ": samples_per_input must be at least 1, got ",
                o.samples_per_input);
    if (o.samples_per_input > 1) {
      EMBER_CHECK(bool(model.reorder), op,
                  ": samples_per_input > 1 needs the StepModel's reorder function");
      std::vector<int64_t> rows, expanded;
      for (size_t i = 0; i < prev.size(); ++i)
        for (int64_t s = 0; s < o.samples_per_input; ++s) {
          rows.push_back(int64_t(i));
          expanded.push_back(prev[i]);
        }
      model.reorder(rows);
      prev = expanded;
    }
  }
  Generator& gen = o.generator ? *o.generator : default_generator();
  const int64_t B = int64_t(prev.size());
  std::vector<std::vector<int64_t>> seqs(static_cast<size_t>(B));
  std::vector<double> scores(size_t(B), 0.0);
  std::vector<bool> finished(size_t(B), false);
  std::vector<Tensor<float>> step_lp;
  std::vector<float> host;
  for (int64_t t = 0; t < o.max_length; ++t) {
    const Tensor<float> logits = step_logits(model, prev, t, op, host);
    const int64_t V = logits.size(1);
    Tensor<float> scaled =
        sample && o.temperature != 1.0 ? mul(logits, float(1.0 / o.temperature)) : logits;
    const Tensor<float> logp = log_softmax(scaled, 1);
    std::vector<int64_t> active;
    for (int64_t b = 0; b < B; ++b)
      if (!finished[size_t(b)]) active.push_back(b);
    std::vector<int64_t> chosen(size_t(B), o.pad_id);
    if (sample) {
      const Tensor<int64_t> idx = Tensor<int64_t>::from_vector(active, {int64_t(active.size())});
      const Tensor<float> probs =
          softmax(index_select(scaled.detach(), 0, idx.to(logits.device())), 1);
      const std::vector<int64_t> drawn =
          multinomial(probs, 1, true, gen).to(Device::cpu()).contiguous().to_vector();
      for (size_t a = 0; a < active.size(); ++a) chosen[size_t(active[a])] = drawn[a];
    } else {
      for (int64_t b : active) {  // argmax, the lowest index on ties
        const float* row = host.data() + b * V;
        chosen[size_t(b)] = int64_t(std::max_element(row, row + V) - row);
      }
    }
    // log p of the chosen tokens, 0 for the rows that had already finished.
    std::vector<int64_t> gather_idx(size_t(B), 0);
    Tensor<bool> live = Tensor<bool>::zeros({B, 1});
    for (int64_t b : active) {
      gather_idx[size_t(b)] = chosen[size_t(b)];
      live.data_ptr()[b] = true;
    }
    const Tensor<float> lp =
        where(live.to(logits.device()),
              gather(logp, 1, Tensor<int64_t>::from_vector(gather_idx, {B, 1}).to(logits.device())),
              0.0f);
    step_lp.push_back(lp);
    const std::vector<float> lp_host = lp.detach().to(Device::cpu()).contiguous().to_vector();
    for (int64_t b : active) {
      seqs[size_t(b)].push_back(chosen[size_t(b)]);
      scores[size_t(b)] += double(lp_host[size_t(b)]);
      if (o.eos_id && chosen[size_t(b)] == *o.eos_id) finished[size_t(b)] = true;
    }
    prev = chosen;
    if (std::all_of(finished.begin(), finished.end(), [](bool f) { return f; })) break;
  }
  DecodeResult r;
  int64_t T = 0;
  r.tokens = pad_rows(seqs, o.pad_id, T);
  for (const auto& s : seqs) r.lengths.push_back(int64_t(s.size()));
  r.token_logprobs = cat(step_lp, 1).slice(1, 0, T);
  r.scores = scores;
  return r;
}

}  // namespace detail

// Greedy decoding: the most likely token at each step (the lowest index on ties).
inline DecodeResult greedy_decode(const StepModel& model, const Tensor<int64_t>& start_tokens,
                                  const DecodeOptions& options = {}) {
  return detail::decode_one_by_one(model, start_tokens, options, false, "greedy_decode");
}

// Sampling: each token drawn from softmax(logits / temperature) by ember's multinomial with
// options.generator; samples_per_input sequences per input (rows input-major). The same
// generator state gives the same sequences. token_logprobs are those of the temperature-scaled
// distribution.
inline DecodeResult sample_decode(const StepModel& model, const Tensor<int64_t>& start_tokens,
                                  const DecodeOptions& options = {}) {
  return detail::decode_one_by_one(model, start_tokens, options, true, "sample_decode");
}

// Beam search with beam_width hypotheses per input. At each step every live hypothesis is
// extended by every token; the candidates are ranked by their summed log-probability (ties:
// lower beam, then lower token id). Going down that ranking, a candidate ending in EOS within
// the first beam_width ranks becomes a finished hypothesis, and the others fill the
// beam_width live slots. At max_length the live hypotheses are finished as they are. An input
// stops when it has num_return finished hypotheses and none of its live ones can still beat
// the num_return-th best (exact: log-probabilities only decrease along a sequence). Finished
// hypotheses are ranked by sum / length^length_penalty. Returns num_return rows per input,
// best first (rows input-major); scores are the rank scores, token_logprobs carry no graph.
inline DecodeResult beam_search(const StepModel& model, const Tensor<int64_t>& start_tokens,
                                const DecodeOptions& options = {}) {
  const char* op = "beam_search";
  const DecodeOptions& o = options;
  detail::check_decode_options(model, start_tokens, o, op);
  EMBER_CHECK(o.beam_width >= 1, op, ": beam_width must be at least 1, got ", o.beam_width);
  EMBER_CHECK(o.num_return >= 1 && o.num_return <= o.beam_width, op,
              ": num_return must be in [1, beam_width = ", o.beam_width, "], got ", o.num_return);
  EMBER_CHECK(std::isfinite(o.length_penalty), op, ": length_penalty must be finite");
  const double kNegInf = -std::numeric_limits<double>::infinity();
  const std::vector<int64_t> start = start_tokens.to(Device::cpu()).contiguous().to_vector();
  const int64_t N = int64_t(start.size()), K = o.beam_width;
  auto norm = [&](double s, int64_t len) {
    return o.length_penalty == 0.0 ? s : s / std::pow(double(len), o.length_penalty);
  };

  struct Hyp {
    std::vector<int64_t> tokens;
    std::vector<double> logprobs;
    double score = 0;  // sum of logprobs
    double rank = 0;   // the length-normalised score
  };
  // Slot n * K + k holds beam k of input n; a dead slot has score -inf.
  std::vector<Hyp> beams(size_t(N * K));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 1; k < K; ++k) beams[size_t(n * K + k)].score = kNegInf;
  std::vector<std::vector<Hyp>> finished(static_cast<size_t>(N));
  std::vector<bool> done(size_t(N), false);
  std::vector<int64_t> prev(size_t(N * K));
  {
    std::vector<int64_t> rows;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) {
        rows.push_back(n);
        prev[size_t(n * K + k)] = start[size_t(n)];
      }
    if (K > 1) {
      EMBER_CHECK(bool(model.reorder), op, ": beam_width > 1 needs the StepModel's reorder");
      model.reorder(rows);
    }
  }
  auto by_rank = [](const Hyp& a, const Hyp& b) { return a.rank > b.rank; };

  std::vector<float> host;
  for (int64_t t = 0; t < o.max_length; ++t) {
    const Tensor<float> logits = detail::step_logits(model, prev, t, op, host);
    const int64_t V = logits.size(1);
    const bool last = t == o.max_length - 1;
    std::vector<Hyp> next(size_t(N * K));
    std::vector<int64_t> parent(size_t(N * K)), token(size_t(N * K), o.pad_id);
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t k = 0; k < K; ++k) {  // by default a slot stays as it is (dead or done)
        parent[size_t(n * K + k)] = n * K + k;
        next[size_t(n * K + k)].score = kNegInf;
      }
      if (done[size_t(n)]) continue;
      struct Cand {
        double score, logp;
        int64_t beam, token;
      };
      std::vector<Cand> cands;
      for (int64_t k = 0; k < K; ++k) {
        const Hyp& h = beams[size_t(n * K + k)];
        if (h.score == kNegInf) continue;
        // log_softmax of the row in double, on the host.
        const float* row = host.data() + (n * K + k) * V;
        double mx = kNegInf;
        for (int64_t v = 0; v < V; ++v) mx = std::max(mx, double(row[v]));
        EMBER_CHECK(std::isfinite(mx), op, ": the logits of row ", n * K + k, " at step ", t,
                    " have no finite maximum");
        double se = 0;
        for (int64_t v = 0; v < V; ++v) se += std::exp(double(row[v]) - mx);
        const double lse = mx + std::log(se);
        for (int64_t v = 0; v < V; ++v) {
          const double lp = double(row[v]) - lse;
          if (lp != kNegInf && !std::isnan(lp)) cands.push_back({h.score + lp, lp, k, v});
        }
      }
      std::stable_sort(cands.begin(), cands.end(),
                       [](const Cand& a, const Cand& b) { return a.score > b.score; });
      int64_t filled = 0;
      for (size_t r = 0; r < cands.size() && filled < K; ++r) {
        const Cand& c = cands[r];
        const Hyp& h = beams[size_t(n * K + c.beam)];
        Hyp e{h.tokens, h.logprobs, c.score, 0};
        e.tokens.push_back(c.token);
        e.logprobs.push_back(c.logp);
        e.rank = norm(e.score, int64_t(e.tokens.size()));
        if (o.eos_id && c.token == *o.eos_id) {
          if (int64_t(r) < K) finished[size_t(n)].push_back(std::move(e));
          continue;
        }
        if (last) {
          finished[size_t(n)].push_back(std::move(e));
        } else {
          parent[size_t(n * K + filled)] = n * K + c.beam;
          token[size_t(n * K + filled)] = c.token;
          next[size_t(n * K + filled)] = std::move(e);
        }
        ++filled;
      }
      // Done when num_return finished hypotheses beat every live one's best possible rank: a
      // live score s (<= 0) can only fall, and its final length lies in [t + 2, max_length].
      std::vector<Hyp>& fin = finished[size_t(n)];
      std::stable_sort(fin.begin(), fin.end(), by_rank);
      double best_possible = kNegInf;
      if (!last)
        for (int64_t k = 0; k < K; ++k) {
          const double s = next[size_t(n * K + k)].score;
          if (s == kNegInf) continue;
          best_possible = std::max({best_possible, norm(s, t + 2), norm(s, o.max_length)});
        }
      if (last || best_possible == kNegInf ||
          (int64_t(fin.size()) >= o.num_return &&
           fin[size_t(o.num_return - 1)].rank >= best_possible)) {
        done[size_t(n)] = true;
        for (int64_t k = 0; k < K; ++k) next[size_t(n * K + k)].score = kNegInf;
      }
    }
    beams = std::move(next);
    if (std::all_of(done.begin(), done.end(), [](bool d) { return d; })) break;
    bool identity = true;
    for (int64_t i = 0; i < N * K; ++i) identity = identity && parent[size_t(i)] == i;
    if (!identity) {
      EMBER_CHECK(bool(model.reorder), op, ": beam search needs the StepModel's reorder");
      model.reorder(parent);
    }
    prev = token;
  }

  std::vector<std::vector<int64_t>> rows;
  std::vector<std::vector<double>> lps;
  DecodeResult r;
  for (int64_t n = 0; n < N; ++n) {
    const std::vector<Hyp>& fin = finished[size_t(n)];
    for (int64_t i = 0; i < o.num_return; ++i) {
      if (i < int64_t(fin.size())) {
        rows.push_back(fin[size_t(i)].tokens);
        lps.push_back(fin[size_t(i)].logprobs);
        r.scores.push_back(fin[size_t(i)].rank);
      } else {  // fewer finite hypotheses than asked for
        rows.push_back({});
        lps.push_back({});
        r.scores.push_back(kNegInf);
      }
      r.lengths.push_back(int64_t(rows.back().size()));
    }
  }
  int64_t T = 0;
  r.tokens = detail::pad_rows(rows, o.pad_id, T);
  std::vector<float> flat(rows.size() * size_t(T), 0.0f);
  for (size_t i = 0; i < lps.size(); ++i)
    for (size_t j = 0; j < lps[i].size(); ++j) flat[i * size_t(T) + j] = float(lps[i][j]);
  r.token_logprobs = Tensor<float>::from_vector(flat, {int64_t(rows.size()), T});
  return r;
}

}  // namespace ember::nn
