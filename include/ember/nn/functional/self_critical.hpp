// Self-critical policy-gradient loss for sequence generation (SCST) with the reward baselines of
// self-critical.pytorch's new_self_critical loss and VaT's range-median reward (arXiv
// 2205.14458, captioning/modules/losses.py).
//
// n sequences w^1..w^n are sampled per input, with rewards r_i (e.g. CIDEr-D against the
// input's references). The loss of one input is
//   L = -(1/n) sum_i (r_i - b_i) sum_t log p(w^i_t | ...)
// and a batch averages it over its inputs, i.e. over all sampled rows. The baselines b_i:
//   Avg  : the leave-one-out mean, (1/(n-1)) sum_{j != i} r_j (the standard choice);
//   Mid  : the midrange (max_j r_j + min_j r_j) / 2 of the n rewards, shared by all samples
//          (VaT's range-median reward, RMR: with a long low tail of rewards it lies below the
//          mean, so more of the good-but-different samples get a positive advantage);
//   Mid2 : the leave-one-out midrange (max_{j != i} r_j + min_{j != i} r_j) / 2.
// Rewards and baselines are constants (host doubles); the gradient flows through the
// log-probabilities only.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ember/core/error.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/arith.hpp>
#include <ember/ops/reduce.hpp>
#include <limits>
#include <type_traits>
#include <vector>

namespace ember::nn::functional {

enum class RewardBaseline { Avg, Mid, Mid2 };

// The baseline of every reward; rewards come in groups of n consecutive rows, one group per
// input (rows i * n .. i * n + n - 1, the order of nn::sample_decode's samples_per_input).
inline std::vector<double> reward_baselines(const std::vector<double>& rewards, int64_t n,
                                            RewardBaseline baseline) {
  const char* op = "reward_baselines";
  const int64_t B = int64_t(rewards.size());
  EMBER_CHECK(n >= 2, op,
              ": needs at least 2 samples per input (the baselines compare a sample "
              "with the others), got n = ",
              n);
  EMBER_CHECK(B > 0 && B % n == 0, op, ": ", B, " rewards do not split into groups of n = ", n);
  std::vector<double> b(size_t(B), 0.0);
  for (int64_t g = 0; g < B; g += n) {
    const auto first = rewards.begin() + g, last = first + n;
    for (auto it = first; it != last; ++it)
      EMBER_CHECK(std::isfinite(*it), op, ": reward ", it - rewards.begin(), " is not finite (",
                  *it, ")");
    double total = 0, lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (auto it = first; it != last; ++it) {
      total += *it;
      lo = std::min(lo, *it);
      hi = std::max(hi, *it);
    }
    for (int64_t i = 0; i < n; ++i) {
      double& bi = b[size_t(g + i)];
      const double ri = rewards[size_t(g + i)];
      switch (baseline) {
        case RewardBaseline::Avg:
          bi = (total - ri) / double(n - 1);
          break;
        case RewardBaseline::Mid:
          bi = (hi + lo) / 2;
          break;
        case RewardBaseline::Mid2: {
          double l = std::numeric_limits<double>::infinity(), h = -l;
          for (int64_t j = 0; j < n; ++j)
            if (j != i) {
              l = std::min(l, rewards[size_t(g + j)]);
              h = std::max(h, rewards[size_t(g + j)]);
            }
          bi = (h + l) / 2;
          break;
        }
      }
    }
  }
  return b;
}

// -(1/B) sum_r advantage_r * logprob_r over B rows. logprobs: [B] sequence log-probabilities,
// or [B, T] per-token ones (summed over T; padding must hold 0, as nn::DecodeResult's
// token_logprobs do).
template <class T>
Tensor<T> policy_gradient_loss(const Tensor<T>& logprobs, const std::vector<double>& advantages) {
  static_assert(std::is_floating_point_v<T>,
                "policy_gradient_loss: needs a real floating-point tensor");
  const char* op = "policy_gradient_loss";
  EMBER_CHECK(logprobs.defined() && (logprobs.dim() == 1 || logprobs.dim() == 2), op,
              ": expected log-probabilities [B] or [B, T], got ",
              logprobs.defined() ? shape_str(logprobs.shape()) : "none");
  const int64_t B = logprobs.size(0);
  EMBER_CHECK(int64_t(advantages.size()) == B && B > 0, op, ": ", advantages.size(),
              " advantages for ", B, " rows of log-probabilities");
  const Tensor<T> seq = logprobs.dim() == 2 ? sum(logprobs, {1}) : logprobs;
  std::vector<T> a(advantages.begin(), advantages.end());
  const Tensor<T> adv = Tensor<T>::from_vector(a, {B}).to(logprobs.device());
  return mul(sum(mul(seq, adv)), T(-1.0 / double(B)));
}

// The self-critical loss: rewards in groups of n per input (see reward_baselines), advantages
// r_i - b_i, and policy_gradient_loss over all rows.
template <class T>
Tensor<T> self_critical_loss(const Tensor<T>& logprobs, const std::vector<double>& rewards,
                             int64_t n, RewardBaseline baseline) {
  const std::vector<double> b = reward_baselines(rewards, n, baseline);
  std::vector<double> adv(rewards.size());
  for (size_t i = 0; i < adv.size(); ++i) adv[i] = rewards[i] - b[i];
  return policy_gradient_loss(logprobs, adv);
}

}  // namespace ember::nn::functional
