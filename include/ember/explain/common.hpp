// What every explainer shares: a model is only a function from images [N, C, H, W] to logits
// [N, K] (MDM's claim is that forward and the gradient with respect to the input suffice), and
// an explanation of image i is about one target class targets[i].
#pragma once

#include <cstdint>
#include <ember/core/error.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/indexing.hpp>
#include <functional>
#include <string>
#include <vector>

namespace ember::explain {

using Forward = std::function<Tensor<float>(const Tensor<float>&)>;

namespace detail {

inline void check_images(const char* op, const Tensor<float>& x,
                         const std::vector<int64_t>& targets) {
  EMBER_CHECK(x.defined() && x.dim() == 4 && x.size(0) >= 1 && x.size(2) >= 1 && x.size(3) >= 1, op,
              ": expected images [N, C, H, W], got ",
              x.defined() ? shape_str(x.shape()) : std::string("an undefined tensor"));
  EMBER_CHECK(int64_t(targets.size()) == x.size(0), op, ": got ", targets.size(), " targets for ",
              x.size(0), " images; expected one class per image");
}

inline void check_logits(const char* op, const Tensor<float>& logits, int64_t n,
                         const std::vector<int64_t>& targets) {
  EMBER_CHECK(logits.defined() && logits.dim() == 2 && logits.size(0) == n, op,
              ": the model must return logits [", n, ", K], got ",
              logits.defined() ? shape_str(logits.shape()) : std::string("an undefined tensor"));
  for (size_t i = 0; i < targets.size(); ++i)
    EMBER_CHECK(targets[i] >= 0 && targets[i] < logits.size(1), op, ": target ", targets[i],
                " of image ", i, " is not a class of the model's ", logits.size(1), " logits");
}

}  // namespace detail

// logits[i, targets[i % targets.size()]] for every row i: [N]. Rows may repeat the images in
// blocks (several masks of one image), so targets cycle when N is a multiple of their count.
inline Tensor<float> target_scores(const Tensor<float>& logits, const std::vector<int64_t>& targets,
                                   bool cycle = false) {
  const int64_t n = logits.size(0), t = int64_t(targets.size());
  EMBER_CHECK(t >= 1 && (cycle ? n % t == 0 : n == t), "target_scores: ", t, " targets for ", n,
              " rows of logits", cycle ? " (expected a divisor)" : "");
  std::vector<int64_t> idx(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) idx[size_t(i)] = targets[size_t(i % t)];
  const Tensor<int64_t> index = Tensor<int64_t>::from_vector(idx, {n, 1}).to(logits.device());
  return gather(logits, 1, index).reshape({n});
}

}  // namespace ember::explain
