// nn/decoding.hpp: greedy decoding, sampling and beam search over a hand-made "language model",
// a fixed bigram transition table whose decodes are known by hand:
//
//   from BOS: A .6, B .4        from A: C .4, D .35, EOS .25      from B: EOS .9, C .1
//   from C:   EOS 1             from D: EOS .6, C .4              (EOS, PAD -> PAD)
//
// Greedy takes A (.6) then C (.4) then EOS: p = .24. Beam search (width 2) keeps A and B, and at
// step 1 the best candidate is B EOS (.36 > A C .24): beam search beats greedy. With length
// normalisation (sum log p / length) A C EOS (log .24 / 3 = -0.476) beats B EOS (log .36 / 2 =
// -0.511), so the ranking flips back.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <ember/autograd/engine.hpp>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/nn/decoding.hpp>
#include <ember/ops/arith.hpp>
#include <ember/ops/reduce.hpp>
#include <limits>
#include <map>
#include <memory>
#include <vector>

using namespace ember;
using nn::DecodeOptions;

namespace {

constexpr int64_t PAD = 0, BOS = 1, EOS = 2, A = 3, B = 4, C = 5, D = 6, V = 7;

// P[prev][next].
std::vector<std::vector<double>> table() {
  std::vector<std::vector<double>> p(V, std::vector<double>(V, 0.0));
  p[BOS][A] = .6, p[BOS][B] = .4;
  p[A][C] = .4, p[A][D] = .35, p[A][EOS] = .25;
  p[B][EOS] = .9, p[B][C] = .1;
  p[C][EOS] = 1;
  p[D][EOS] = .6, p[D][C] = .4;
  p[EOS][PAD] = 1;
  p[PAD][PAD] = 1;
  return p;
}

// The table as a stateful step model: it keeps every row's prefix (so reorder must keep the
// rows straight) and returns log P[last token] (-inf for impossible tokens), plus `bias` when
// defined (a leaf, for the gradient test).
struct TableLM {
  std::vector<std::vector<double>> p = table();
  std::vector<std::vector<int64_t>> prefixes;  // what each row has been fed
  std::vector<std::vector<int64_t>> fed;       // the tokens of each call
  Tensor<float> bias{};

  nn::StepModel model() {
    return {
        [this](const Tensor<int64_t>& tokens, int64_t step) { return this->step(tokens, step); },
        [this](const std::vector<int64_t>& rows) {
          if (prefixes.empty()) return;  // the expansion before step 0
          std::vector<std::vector<int64_t>> next;
          for (int64_t r : rows) next.push_back(prefixes.at(size_t(r)));
          prefixes = next;
        }};
  }

  Tensor<float> step(const Tensor<int64_t>& tokens, int64_t step) {
    const std::vector<int64_t> tok = tokens.to_vector();
    if (step == 0) prefixes.assign(tok.size(), {});
    REQUIRE(prefixes.size() == tok.size());
    fed.push_back(tok);
    std::vector<float> logits;
    bool in_step = true;
    for (size_t r = 0; r < tok.size(); ++r) {
      in_step = in_step && int64_t(prefixes[r].size()) == step;
      prefixes[r].push_back(tok[r]);
      for (int64_t v = 0; v < V; ++v) {
        const double q = p[size_t(tok[r])][size_t(v)];
        logits.push_back(q > 0 ? float(std::log(q)) : -std::numeric_limits<float>::infinity());
      }
    }
    REQUIRE(in_step);  // every row was fed once per step
    Tensor<float> out = Tensor<float>::from_vector(logits, {int64_t(tok.size()), V});
    return bias.defined() ? add(out, bias) : out;
  }
};

Tensor<int64_t> starts(std::vector<int64_t> s) {
  const int64_t n = int64_t(s.size());
  return Tensor<int64_t>::from_vector(s, {n});
}

}  // namespace

TEST_CASE("greedy decoding follows the most likely token and stops at EOS") {
  TableLM lm;
  const auto r = nn::greedy_decode(lm.model(), starts({BOS}), {.max_length = 8, .eos_id = EOS});
  CHECK(r.sequence(0) == std::vector<int64_t>{A, C, EOS});
  CHECK(r.lengths == std::vector<int64_t>{3});
  CHECK(r.tokens.shape() == Shape{1, 3});
  CHECK(r.scores[0] == doctest::Approx(std::log(.6 * .4)).epsilon(1e-6));
  const auto lp = r.token_logprobs.to_vector();
  REQUIRE(lp.size() == 3);
  CHECK(lp[0] == doctest::Approx(std::log(.6)).epsilon(1e-6));
  CHECK(lp[1] == doctest::Approx(std::log(.4)).epsilon(1e-6));
  CHECK(lp[2] == doctest::Approx(0.0));
  CHECK(lm.fed.size() == 3);  // stopped at EOS, not at max_length
  // The model was fed BOS, then each chosen token.
  CHECK(lm.prefixes[0] == std::vector<int64_t>{BOS, A, C});
}

TEST_CASE("beam search beats greedy on the table, and length normalisation flips it") {
  TableLM lm;
  const DecodeOptions o{.max_length = 5, .eos_id = EOS, .beam_width = 2};
  const auto beam = nn::beam_search(lm.model(), starts({BOS}), o);
  CHECK(beam.sequence(0) == std::vector<int64_t>{B, EOS});
  CHECK(beam.scores[0] == doctest::Approx(std::log(.36)).epsilon(1e-6));
  const auto greedy = nn::greedy_decode(lm.model(), starts({BOS}), o);
  CHECK(beam.scores[0] > greedy.scores[0] + 0.3);  // log .36 = -1.02 vs log .24 = -1.43
  // The beam's per-token log-probabilities.
  const auto lp = beam.token_logprobs.to_vector();
  CHECK(lp[0] == doctest::Approx(std::log(.4)).epsilon(1e-6));
  CHECK(lp[1] == doctest::Approx(std::log(.9)).epsilon(1e-6));

  DecodeOptions normalised = o;
  normalised.length_penalty = 1.0;
  const auto avg = nn::beam_search(lm.model(), starts({BOS}), normalised);
  CHECK(avg.sequence(0) == std::vector<int64_t>{A, C, EOS});
  CHECK(avg.scores[0] == doctest::Approx(std::log(.24) / 3).epsilon(1e-6));

  // The two best, best first: B EOS (.36), then A C EOS (.24).
  DecodeOptions two = o;
  two.num_return = 2;
  const auto both = nn::beam_search(lm.model(), starts({BOS}), two);
  REQUIRE(both.lengths.size() == 2);
  CHECK(both.sequence(0) == std::vector<int64_t>{B, EOS});
  CHECK(both.sequence(1) == std::vector<int64_t>{A, C, EOS});
  CHECK(both.scores[1] == doctest::Approx(std::log(.24)).epsilon(1e-6));
  CHECK(both.tokens.shape() == Shape{2, 3});
  CHECK(both.tokens.to_vector()[2] == PAD);  // row 0 padded after EOS

  // Width 1 is greedy.
  DecodeOptions one = o;
  one.beam_width = 1;
  const auto narrow = nn::beam_search(lm.model(), starts({BOS}), one);
  CHECK(narrow.sequence(0) == greedy.sequence(0));
  CHECK(narrow.scores[0] == doctest::Approx(greedy.scores[0]).epsilon(1e-6));
}

TEST_CASE("beam search keeps the inputs of a batch apart") {
  // From A with width 2: C (.4) and D (.35) live, EOS (.25) ranks third and is dropped; then
  // C EOS (.4) finishes ahead of D EOS (.21) and D C (.14).
  TableLM lm;
  const auto r = nn::beam_search(lm.model(), starts({BOS, A, B}),
                                 {.max_length = 5, .eos_id = EOS, .beam_width = 2});
  REQUIRE(r.lengths.size() == 3);
  CHECK(r.sequence(0) == std::vector<int64_t>{B, EOS});
  CHECK(r.sequence(1) == std::vector<int64_t>{C, EOS});
  CHECK(r.sequence(2) == std::vector<int64_t>{EOS});
  CHECK(r.scores[1] == doctest::Approx(std::log(.4)).epsilon(1e-6));
  CHECK(r.scores[2] == doctest::Approx(std::log(.9)).epsilon(1e-6));
  CHECK(r.tokens.shape() == Shape{3, 2});
  CHECK(r.tokens.to_vector() == std::vector<int64_t>{B, EOS, C, EOS, EOS, PAD});
}

TEST_CASE("EOS and padding: finished rows stop growing, are fed pad_id and padded") {
  TableLM lm;
  const int64_t pad = 0;
  const auto r = nn::greedy_decode(lm.model(), starts({BOS, B, C}),
                                   {.max_length = 8, .eos_id = EOS, .pad_id = pad});
  CHECK(r.lengths == std::vector<int64_t>{3, 1, 1});
  CHECK(r.tokens.shape() == Shape{3, 3});
  CHECK(r.tokens.to_vector() == std::vector<int64_t>{A, C, EOS, EOS, pad, pad, EOS, pad, pad});
  const auto lp = r.token_logprobs.to_vector();
  CHECK(lp[3] == doctest::Approx(std::log(.9)).epsilon(1e-6));
  CHECK(lp[4] == 0.0f);
  CHECK(lp[5] == 0.0f);
  CHECK(lp[7] == 0.0f);
  REQUIRE(lm.fed.size() == 3);                            // every row had finished after step 2
  CHECK(lm.fed[1] == std::vector<int64_t>{A, EOS, EOS});  // the EOS just chosen, then pad
  CHECK(lm.fed[2] == std::vector<int64_t>{C, pad, pad});
  CHECK(r.scores[1] == doctest::Approx(std::log(.9)).epsilon(1e-6));

  // max_length truncates a sequence without EOS.
  const auto cut = nn::greedy_decode(lm.model(), starts({BOS}), {.max_length = 2, .eos_id = EOS});
  CHECK(cut.sequence(0) == std::vector<int64_t>{A, C});
  // Without an EOS id every sequence runs to max_length: A C EOS PAD.
  const auto all = nn::greedy_decode(lm.model(), starts({BOS}), {.max_length = 4});
  CHECK(all.sequence(0) == std::vector<int64_t>{A, C, EOS, PAD});
  // Beam search pads the same way and also stops at max_length.
  const auto bcut =
      nn::beam_search(lm.model(), starts({BOS}), {.max_length = 1, .eos_id = EOS, .beam_width = 2});
  CHECK(bcut.sequence(0) == std::vector<int64_t>{A});
}

TEST_CASE("sampling draws sequences with the model's probabilities, reproducibly") {
  const int64_t n = 4000;
  auto run = [&](uint64_t seed, double temperature) {
    TableLM lm;
    Generator gen(seed);
    return nn::sample_decode(lm.model(), starts({BOS}),
                             {.max_length = 6,
                              .eos_id = EOS,
                              .temperature = temperature,
                              .samples_per_input = n,
                              .generator = &gen});
  };
  const auto r = run(7, 1.0);
  REQUIRE(r.lengths.size() == size_t(n));
  std::map<std::vector<int64_t>, int64_t> counts;
  for (int64_t i = 0; i < n; ++i) counts[r.sequence(i)]++;
  const std::map<std::vector<int64_t>, double> expected = {
      {{A, C, EOS}, .24}, {{A, D, EOS}, .126}, {{A, D, C, EOS}, .084},
      {{A, EOS}, .15},    {{B, EOS}, .36},     {{B, C, EOS}, .04}};
  int64_t seen = 0;
  for (const auto& [seq, p] : expected) {
    const double f = double(counts[seq]) / double(n);
    const double sd = std::sqrt(p * (1 - p) / double(n));
    CHECK_MESSAGE(std::abs(f - p) < 4 * sd, "sequence frequency ", f, " expected ", p);
    seen += counts[seq];
  }
  CHECK(seen == n);  // nothing impossible was drawn
  // Each row's log-probability is that of its sequence under the table.
  for (int64_t i = 0; i < 20; ++i) {
    const auto s = r.sequence(i);
    CHECK(r.scores[size_t(i)] == doctest::Approx(std::log(expected.at(s))).epsilon(1e-5));
  }
  // The same seed gives the same samples; another seed others.
  CHECK(run(7, 1.0).tokens.to_vector() == r.tokens.to_vector());
  CHECK(run(8, 1.0).tokens.to_vector() != r.tokens.to_vector());
  // Temperature 2 flattens: P(A first) = sqrt(.6) / (sqrt(.6) + sqrt(.4)) = 0.5505.
  const auto hot = run(9, 2.0);
  int64_t first_a = 0;
  for (int64_t i = 0; i < n; ++i) first_a += hot.sequence(i)[0] == A;
  const double pa = std::sqrt(.6) / (std::sqrt(.6) + std::sqrt(.4));
  CHECK(std::abs(double(first_a) / double(n) - pa) < 4 * std::sqrt(pa * (1 - pa) / double(n)));
  CHECK(hot.token_logprobs.to_vector()[0] ==
        doctest::Approx(std::log(hot.sequence(0)[0] == A ? pa : 1 - pa)).epsilon(1e-5));
}

TEST_CASE("greedy and sampled token log-probabilities carry the logits' gradient") {
  // d/d bias_v of sum_t log softmax(l_t + bias)[w_t] = sum_t (1[w_t = v] - p_t(v)).
  TableLM lm;
  lm.bias = Tensor<float>::zeros({V}).requires_grad_();
  const auto r = nn::greedy_decode(lm.model(), starts({BOS}), {.max_length = 8, .eos_id = EOS});
  const Tensor<float> loss = sum(r.token_logprobs);
  const auto g = grad<float>({loss}, {lm.bias})[0].to_vector();
  const auto p = table();
  const std::vector<int64_t> prev = {BOS, A, C}, chosen = {A, C, EOS};
  for (int64_t v = 0; v < V; ++v) {
    double want = 0;
    for (size_t t = 0; t < 3; ++t) want += (chosen[t] == v) - p[size_t(prev[t])][size_t(v)];
    CHECK(g[size_t(v)] == doctest::Approx(want).epsilon(1e-5));
  }
}

TEST_CASE("decoding rejects bad input") {
  TableLM lm;
  nn::StepModel no_reorder{lm.model().step};
  CHECK_THROWS_AS(nn::beam_search(no_reorder, starts({BOS}), {.eos_id = EOS, .beam_width = 2}),
                  Error);
  CHECK_THROWS_AS(nn::sample_decode(no_reorder, starts({BOS}), {.samples_per_input = 2}), Error);
  CHECK_THROWS_AS(nn::sample_decode(lm.model(), starts({BOS}), {.temperature = 0.0}), Error);
  CHECK_THROWS_AS(nn::beam_search(lm.model(), starts({BOS}), {.beam_width = 2, .num_return = 3}),
                  Error);
  CHECK_THROWS_AS(nn::greedy_decode(lm.model(), starts({BOS}), {.max_length = 0}), Error);
  nn::StepModel wrong{[](const Tensor<int64_t>& t, int64_t) {
    return Tensor<float>::zeros({t.size(0) + 1, V});
  }};
  CHECK_THROWS_AS(nn::greedy_decode(wrong, starts({BOS}), {}), Error);
}
