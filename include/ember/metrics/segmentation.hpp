// Semantic-segmentation scores from a ConfusionMatrix accumulated over all test pixels
// (rows = true class, columns = predicted class; pixels with the ignore label skipped by
// ConfusionMatrix::add(y_true, y_pred, ignore_label)):
//   IoU_k = C_kk / (Σ_j C_kj + Σ_i C_ik − C_kk)
//   mIoU  = mean of IoU_k over the classes with a non-empty union.
// A class absent from both the prediction and the truth has IoU 0/0: it is reported as NaN
// and left out of every mean, as mmsegmentation's nanmean does, because the test set says
// nothing about it. A class present on one side only has IoU 0 and is averaged.
#pragma once

#include <cmath>
#include <cstdint>
#include <ember/metrics/confusion.hpp>
#include <ember/metrics/inputs.hpp>
#include <limits>
#include <vector>

namespace ember::metrics {

// IoU of each class; NaN for a class with an empty union.
inline std::vector<double> per_class_iou(const ConfusionMatrix& cm) {
  std::vector<double> iou;
  for (int64_t k = 0; k < cm.n_classes(); ++k) {
    const auto inter = static_cast<double>(cm(k, k));
    const auto uni = static_cast<double>(cm.true_count(k) + cm.predicted_count(k)) - inter;
    iou.push_back(uni > 0 ? inter / uni : std::numeric_limits<double>::quiet_NaN());
  }
  return iou;
}

// Mean IoU over the classes with a non-empty union.
inline double mean_iou(const ConfusionMatrix& cm) {
  EMBER_CHECK(cm.total() > 0, "mean_iou: the confusion matrix is empty (no labelled pixels)");
  double sum = 0;
  int64_t n = 0;
  for (double v : per_class_iou(cm))
    if (!std::isnan(v)) {
      sum += v;
      ++n;
    }
  return sum / static_cast<double>(n);
}

// mIoU of one set of label maps (flattened, any shape); pixels whose truth is ignore_label are
// skipped. To average over a test set, accumulate one ConfusionMatrix instead: the mean of
// per-image mIoUs is a different (and noisier) number.
template <LabelRange A, LabelRange B>
double mean_iou(const A& y_true, const B& y_pred, int64_t n_classes, int64_t ignore_label) {
  ConfusionMatrix cm(n_classes);
  cm.add(y_true, y_pred, ignore_label);
  return mean_iou(cm);
}

// Fraction of labelled pixels predicted correctly.
inline double pixel_accuracy(const ConfusionMatrix& cm) {
  EMBER_CHECK(cm.total() > 0, "pixel_accuracy: the confusion matrix is empty");
  return static_cast<double>(cm.correct()) / static_cast<double>(cm.total());
}

// Mean IoU per group of classes (e.g. head / body / tail): group_of_class[k] is the group of
// class k in [0, n_groups), or -1 for a class in no group. Each group's mean skips classes
// with an empty union; a group with no such class gets NaN.
template <LabelRange G>
std::vector<double> group_mean_iou(const ConfusionMatrix& cm, const G& group_of_class,
                                   int64_t n_groups) {
  const char* name = "group_mean_iou";
  const auto g = as_span(group_of_class);
  EMBER_CHECK(static_cast<int64_t>(g.size()) == cm.n_classes(), name, ": group_of_class has ",
              g.size(), " entries; expected one per class (", cm.n_classes(), ")");
  EMBER_CHECK(n_groups > 0, name, ": n_groups = ", n_groups, "; expected > 0");
  for (size_t k = 0; k < g.size(); ++k) {
    const auto v = static_cast<int64_t>(g[k]);
    EMBER_CHECK(v >= -1 && v < n_groups, name, ": group_of_class[", k, "] = ", v,
                " is outside [0, ", n_groups, ") and is not -1");
  }
  const std::vector<double> iou = per_class_iou(cm);
  std::vector<double> sum(static_cast<size_t>(n_groups), 0);
  std::vector<int64_t> count(static_cast<size_t>(n_groups), 0);
  for (size_t k = 0; k < g.size(); ++k) {
    const auto v = static_cast<int64_t>(g[k]);
    if (v < 0 || std::isnan(iou[k])) continue;
    sum[static_cast<size_t>(v)] += iou[k];
    ++count[static_cast<size_t>(v)];
  }
  std::vector<double> out;
  for (size_t i = 0; i < sum.size(); ++i)
    out.push_back(count[i] > 0 ? sum[i] / static_cast<double>(count[i])
                               : std::numeric_limits<double>::quiet_NaN());
  return out;
}

}  // namespace ember::metrics
