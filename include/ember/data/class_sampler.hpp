// Which class an item of a synthetic scene belongs to: uniform, long-tailed, or any weights.
//
// The long-tailed profile is the exponential one of long-tailed CIFAR (Cui et al., "Class-
// Balanced Loss", CVPR 2019; Cao et al., LDAM, NeurIPS 2019): class j of K has frequency
// proportional to imbalance^(-j / (K - 1)), so class 0 is `imbalance` times as frequent as
// class K - 1 and the frequencies fall geometrically in between.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ember/core/error.hpp>
#include <ember/core/random.hpp>
#include <vector>

namespace ember::data {

// The per-class example counts of a long-tailed CIFAR split: class j gets
// floor(max_count * imbalance^(-j / (K - 1))), as the reference code builds it
// (`int(img_max * (imb_factor ** (cls_idx / (cls_num - 1.0))))` with imb_factor = 1 / imbalance).
inline std::vector<int64_t> long_tailed_counts(int64_t classes, int64_t max_count,
                                               double imbalance) {
  EMBER_CHECK(classes >= 1 && max_count >= 1 && imbalance >= 1.0,
              "long_tailed_counts: expected classes >= 1, max_count >= 1 and imbalance >= 1, "
              "got classes ",
              classes, ", max_count ", max_count, ", imbalance ", imbalance);
  std::vector<int64_t> counts(static_cast<size_t>(classes));
  for (int64_t j = 0; j < classes; ++j) {
    const double e = classes == 1 ? 0.0 : double(j) / double(classes - 1);
    counts[size_t(j)] = int64_t(std::floor(double(max_count) * std::pow(imbalance, -e)));
  }
  return counts;
}

// Draws class indices 0..K-1 with fixed probabilities (weights normalised to sum to 1).
class ClassSampler {
 public:
  explicit ClassSampler(std::vector<double> weights) : probs_(std::move(weights)) {
    EMBER_CHECK(!probs_.empty(), "ClassSampler: expected at least one class weight");
    double total = 0.0;
    for (size_t j = 0; j < probs_.size(); ++j) {
      EMBER_CHECK(std::isfinite(probs_[j]) && probs_[j] >= 0.0, "ClassSampler: weight of class ", j,
                  " is ", probs_[j], "; expected a finite non-negative number");
      total += probs_[j];
    }
    EMBER_CHECK(total > 0.0, "ClassSampler: the ", probs_.size(),
                " class weights sum to 0; expected a positive sum");
    cumulative_.resize(probs_.size());
    double acc = 0.0;
    for (size_t j = 0; j < probs_.size(); ++j) {
      probs_[j] /= total;
      acc += probs_[j];
      cumulative_[j] = acc;
    }
    // A uniform draw below 1 must land on a class of positive weight, whatever the rounding:
    // the last such class, and any zero-weight ones after it, end the cumulative sum at 1.
    size_t last = probs_.size() - 1;
    while (probs_[last] == 0.0) --last;
    for (size_t j = last; j < probs_.size(); ++j) cumulative_[j] = 1.0;
  }

  static ClassSampler uniform(int64_t classes) {
    EMBER_CHECK(classes >= 1, "ClassSampler::uniform: expected classes >= 1, got ", classes);
    return ClassSampler(std::vector<double>(size_t(classes), 1.0));
  }

  // Frequency of class j proportional to imbalance^(-j / (K - 1)); imbalance = 1 is uniform.
  static ClassSampler long_tailed(int64_t classes, double imbalance) {
    EMBER_CHECK(classes >= 1 && std::isfinite(imbalance) && imbalance >= 1.0,
                "ClassSampler::long_tailed: expected classes >= 1 and a finite imbalance >= 1 "
                "(head / tail frequency), got classes ",
                classes, " and imbalance ", imbalance);
    std::vector<double> w(static_cast<size_t>(classes));
    for (int64_t j = 0; j < classes; ++j)
      w[size_t(j)] = std::pow(imbalance, classes == 1 ? 0.0 : -double(j) / double(classes - 1));
    return ClassSampler(std::move(w));
  }

  int64_t classes() const { return int64_t(probs_.size()); }
  const std::vector<double>& probabilities() const { return probs_; }

  // Inverse-CDF draw: one uniform number per class drawn.
  int64_t sample(Generator& gen) const {
    const double u = gen.uniform();
    const auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), u);
    // upper_bound skips zero-weight classes: their cumulative equals the previous one.
    return std::min<int64_t>(int64_t(it - cumulative_.begin()), classes() - 1);
  }

 private:
  std::vector<double> probs_, cumulative_;
};

}  // namespace ember::data
