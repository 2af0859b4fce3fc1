// Classification scores: accuracy, per-class and macro precision / recall / F1, binary F1,
// and multi-label F1 (micro, macro, per-sample).
//
// Definitions are scikit-learn's (checked against 1.2 in tests/test_metrics.cpp), per class k:
//   precision_k = TP_k / (TP_k + FP_k)       recall_k = TP_k / (TP_k + FN_k)
//   F1_k        = 2·TP_k / (2·TP_k + FP_k + FN_k)   (= 2·P·R / (P + R))
// with scikit-learn's zero_division=0 convention: a ratio whose denominator is 0 (a class never
// predicted has no precision, a class with no support has no recall) counts as 0. The macro
// value is the unweighted mean over classes. Which classes: scikit-learn's default averages
// over the labels that occur in y_true or y_pred; ours does the same unless
// `include_absent_classes` is set, which averages over all n_classes (scikit-learn's
// labels=range(n_classes)), so a class absent from both counts as an F1 of 0.
//
// Argument order is (y_true, y_pred) everywhere, as in scikit-learn; swapping them swaps
// precision and recall (macro-F1 is symmetric, so that mistake hides well).
#pragma once

#include <cstdint>
#include <ember/metrics/confusion.hpp>
#include <ember/metrics/inputs.hpp>
#include <vector>

namespace ember::metrics {

// Fraction of elements with y_pred == y_true (labels of any integer values).
template <LabelRange A, LabelRange B>
double accuracy(const A& y_true, const B& y_pred) {
  const auto t = as_span(y_true);
  const auto p = as_span(y_pred);
  detail::check_same_size("accuracy", "y_true", t.size(), "y_pred", p.size());
  detail::check_non_empty("accuracy", "y_true", t.size());
  int64_t hits = 0;
  for (size_t i = 0; i < t.size(); ++i)
    hits += static_cast<int64_t>(t[i]) == static_cast<int64_t>(p[i]);
  return static_cast<double>(hits) / static_cast<double>(t.size());
}

inline double accuracy(const ConfusionMatrix& cm) {
  EMBER_CHECK(cm.total() > 0, "accuracy: the confusion matrix is empty");
  return static_cast<double>(cm.correct()) / static_cast<double>(cm.total());
}

namespace detail {
// num / den, or 0 when den is 0 (scikit-learn's zero_division=0).
inline double ratio_or_zero(double num, double den) { return den > 0 ? num / den : 0.0; }
}  // namespace detail

// Per-class scores; index k is class k.
struct ClassScores {
  std::vector<double> precision, recall, f1;
  std::vector<int64_t> support;    // true elements of the class
  std::vector<int64_t> predicted;  // elements predicted as the class
};

inline ClassScores per_class_scores(const ConfusionMatrix& cm) {
  const int64_t n = cm.n_classes();
  ClassScores s;
  for (int64_t k = 0; k < n; ++k) {
    const auto tp = static_cast<double>(cm(k, k));
    const int64_t support = cm.true_count(k);
    const int64_t predicted = cm.predicted_count(k);
    const double fp = static_cast<double>(predicted) - tp;
    const double fn = static_cast<double>(support) - tp;
    s.precision.push_back(detail::ratio_or_zero(tp, tp + fp));
    s.recall.push_back(detail::ratio_or_zero(tp, tp + fn));
    s.f1.push_back(detail::ratio_or_zero(2 * tp, 2 * tp + fp + fn));
    s.support.push_back(support);
    s.predicted.push_back(predicted);
  }
  return s;
}

struct MacroScores {
  double precision = 0, recall = 0, f1 = 0;
  int64_t n_classes_averaged = 0;
};

inline MacroScores macro_scores(const ConfusionMatrix& cm, bool include_absent_classes = false) {
  EMBER_CHECK(cm.total() > 0, "macro_scores: the confusion matrix is empty");
  const ClassScores s = per_class_scores(cm);
  MacroScores m;
  for (int64_t k = 0; k < cm.n_classes(); ++k) {
    const auto i = static_cast<size_t>(k);
    if (!include_absent_classes && s.support[i] == 0 && s.predicted[i] == 0) continue;
    m.precision += s.precision[i];
    m.recall += s.recall[i];
    m.f1 += s.f1[i];
    ++m.n_classes_averaged;
  }
  const auto n = static_cast<double>(m.n_classes_averaged);
  m.precision /= n;
  m.recall /= n;
  m.f1 /= n;
  return m;
}

// Macro precision / recall / F1 of labels in [0, n_classes).
template <LabelRange A, LabelRange B>
MacroScores macro_scores(const A& y_true, const B& y_pred, int64_t n_classes,
                         bool include_absent_classes = false) {
  detail::check_non_empty("macro_scores", "y_true", std::ranges::size(y_true));
  return macro_scores(confusion_matrix(y_true, y_pred, n_classes), include_absent_classes);
}

template <LabelRange A, LabelRange B>
double macro_f1(const A& y_true, const B& y_pred, int64_t n_classes,
                bool include_absent_classes = false) {
  return macro_scores(y_true, y_pred, n_classes, include_absent_classes).f1;
}

// F1 of the positive class 1 for 0/1 labels (scikit-learn's f1_score, average='binary');
// 0 when there are neither true nor predicted positives.
template <NumberRange A, NumberRange B>
double binary_f1(const A& y_true, const B& y_pred) {
  const auto t = as_span(y_true);
  const auto p = as_span(y_pred);
  detail::check_same_size("binary_f1", "y_true", t.size(), "y_pred", p.size());
  detail::check_non_empty("binary_f1", "y_true", t.size());
  detail::check_binary("binary_f1", "y_true", t);
  detail::check_binary("binary_f1", "y_pred", p);
  double tp = 0, fp = 0, fn = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    const bool ti = t[i] != 0, pi = p[i] != 0;
    tp += ti && pi;
    fp += !ti && pi;
    fn += ti && !pi;
  }
  return detail::ratio_or_zero(2 * tp, 2 * tp + fp + fn);
}

// Multi-label scores of n samples × L labels, each entry 0 or 1.
struct MultiLabelScores {
  std::vector<double> per_label_f1;        // binary F1 of each label column
  std::vector<double> per_label_accuracy;  // fraction of samples where the column is right
  double micro_f1 = 0;                     // F1 of TP, FP, FN summed over all entries
  double macro_f1 = 0;                     // mean of per_label_f1 over all L labels
  double samples_f1 = 0;  // mean over samples of 2|t∩p| / (|t| + |p|); 0 for an empty pair
};

// Scores as scikit-learn's f1_score(Y_true, Y_pred, average='micro' | 'macro' | 'samples')
// on n×L indicator matrices (zero_division=0).
template <NumberRange A, NumberRange B>
MultiLabelScores multilabel_scores(const A& y_true, const B& y_pred, int64_t n_samples,
                                   int64_t n_labels) {
  const char* name = "multilabel_scores";
  const auto t = as_span(y_true);
  const auto p = as_span(y_pred);
  detail::check_matrix(name, "y_true", t.size(), n_samples, n_labels);
  detail::check_matrix(name, "y_pred", p.size(), n_samples, n_labels);
  detail::check_binary(name, "y_true", t);
  detail::check_binary(name, "y_pred", p);
  const auto L = static_cast<size_t>(n_labels);
  std::vector<double> tp(L, 0), fp(L, 0), fn(L, 0), right(L, 0);
  MultiLabelScores s;
  for (int64_t i = 0; i < n_samples; ++i) {
    double both = 0, n_true = 0, n_pred = 0;
    for (size_t l = 0; l < L; ++l) {
      const size_t at = static_cast<size_t>(i) * L + l;
      const bool ti = t[at] != 0, pi = p[at] != 0;
      tp[l] += ti && pi;
      fp[l] += !ti && pi;
      fn[l] += ti && !pi;
      right[l] += ti == pi;
      both += ti && pi;
      n_true += ti;
      n_pred += pi;
    }
    s.samples_f1 += detail::ratio_or_zero(2 * both, n_true + n_pred);
  }
  s.samples_f1 /= static_cast<double>(n_samples);
  double tp_all = 0, fp_all = 0, fn_all = 0;
  for (size_t l = 0; l < L; ++l) {
    s.per_label_f1.push_back(detail::ratio_or_zero(2 * tp[l], 2 * tp[l] + fp[l] + fn[l]));
    s.per_label_accuracy.push_back(right[l] / static_cast<double>(n_samples));
    s.macro_f1 += s.per_label_f1.back();
    tp_all += tp[l];
    fp_all += fp[l];
    fn_all += fn[l];
  }
  s.macro_f1 /= static_cast<double>(L);
  s.micro_f1 = detail::ratio_or_zero(2 * tp_all, 2 * tp_all + fp_all + fn_all);
  return s;
}

}  // namespace ember::metrics
