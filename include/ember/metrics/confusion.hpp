// ConfusionMatrix: counts of (true class, predicted class) pairs, accumulated over batches.
// Rows are the true class and columns the predicted class, as in scikit-learn's
// confusion_matrix(y_true, y_pred). Classification scores and segmentation IoU are computed
// from it, so one pass over the test set serves every metric.
#pragma once

#include <cstdint>
#include <ember/metrics/inputs.hpp>
#include <utility>
#include <vector>

namespace ember::metrics {

class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(int64_t n_classes) : n_(n_classes) {
    EMBER_CHECK(n_classes > 0, "ConfusionMatrix: n_classes = ", n_classes, "; expected > 0");
    counts_.assign(static_cast<size_t>(n_ * n_), 0);
  }

  // A matrix from counts already tallied (row-major n×n, rows = true class).
  static ConfusionMatrix from_counts(int64_t n_classes, std::vector<int64_t> counts) {
    ConfusionMatrix cm(n_classes);
    EMBER_CHECK(counts.size() == cm.counts_.size(), "ConfusionMatrix::from_counts: ", counts.size(),
                " counts; expected ", n_classes, "x", n_classes);
    for (size_t i = 0; i < counts.size(); ++i)
      EMBER_CHECK(counts[i] >= 0, "ConfusionMatrix::from_counts: counts[", i, "] = ", counts[i],
                  " is negative");
    cm.counts_ = std::move(counts);
    return cm;
  }

  // Adds one (y_true[i], y_pred[i]) pair per element. Every label must lie in [0, n_classes).
  template <LabelRange A, LabelRange B>
  ConfusionMatrix& add(const A& y_true, const B& y_pred) {
    return add_impl(as_span(y_true), as_span(y_pred), /*skip_ignored=*/false, 0);
  }

  // As add(), but elements whose true label equals `ignore_label` are skipped (the "ignore
  // index" of segmentation: unlabelled or boundary pixels). Predictions are never ignored:
  // a model cannot predict the ignore label, so one that does is out of range.
  template <LabelRange A, LabelRange B>
  ConfusionMatrix& add(const A& y_true, const B& y_pred, int64_t ignore_label) {
    return add_impl(as_span(y_true), as_span(y_pred), /*skip_ignored=*/true, ignore_label);
  }

  int64_t n_classes() const { return n_; }
  const std::vector<int64_t>& counts() const { return counts_; }

  // Count of elements of true class t predicted as p.
  int64_t operator()(int64_t t, int64_t p) const {
    EMBER_CHECK(t >= 0 && t < n_ && p >= 0 && p < n_, "ConfusionMatrix: entry (", t, ", ", p,
                ") is outside a ", n_, "x", n_, " matrix");
    return counts_[static_cast<size_t>(t * n_ + p)];
  }

  int64_t total() const {
    int64_t s = 0;
    for (int64_t c : counts_) s += c;
    return s;
  }
  // Elements whose true class is k (its support).
  int64_t true_count(int64_t k) const {
    int64_t s = 0;
    for (int64_t p = 0; p < n_; ++p) s += (*this)(k, p);
    return s;
  }
  // Elements predicted as class k.
  int64_t predicted_count(int64_t k) const {
    int64_t s = 0;
    for (int64_t t = 0; t < n_; ++t) s += (*this)(t, k);
    return s;
  }
  int64_t correct() const {
    int64_t s = 0;
    for (int64_t k = 0; k < n_; ++k) s += (*this)(k, k);
    return s;
  }

 private:
  template <class TA, class TB>
  ConfusionMatrix& add_impl(std::span<const TA> t, std::span<const TB> p, bool skip_ignored,
                            int64_t ignore_label) {
    const char* name = "ConfusionMatrix::add";
    detail::check_same_size(name, "y_true", t.size(), "y_pred", p.size());
    // Check everything before counting anything, so a bad batch leaves the matrix unchanged.
    for (size_t i = 0; i < t.size(); ++i) {
      const auto ti = static_cast<int64_t>(t[i]);
      if (skip_ignored && ti == ignore_label) continue;
      EMBER_CHECK(ti >= 0 && ti < n_, name, ": y_true[", i, "] = ", ti, " is outside [0, ", n_, ")",
                  skip_ignored ? " and is not the ignore label" : "");
      const auto pi = static_cast<int64_t>(p[i]);
      EMBER_CHECK(pi >= 0 && pi < n_, name, ": y_pred[", i, "] = ", pi, " is outside [0, ", n_,
                  ")");
    }
    for (size_t i = 0; i < t.size(); ++i) {
      const auto ti = static_cast<int64_t>(t[i]);
      if (skip_ignored && ti == ignore_label) continue;
      ++counts_[static_cast<size_t>(ti * n_ + static_cast<int64_t>(p[i]))];
    }
    return *this;
  }

  int64_t n_;
  std::vector<int64_t> counts_;
};

// confusion_matrix(y_true, y_pred, n_classes): scikit-learn's confusion_matrix with
// labels = range(n_classes).
template <LabelRange A, LabelRange B>
ConfusionMatrix confusion_matrix(const A& y_true, const B& y_pred, int64_t n_classes) {
  ConfusionMatrix cm(n_classes);
  cm.add(y_true, y_pred);
  return cm;
}

}  // namespace ember::metrics
