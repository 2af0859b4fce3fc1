// What the metrics accept, and the checks they share.
//
// Every metric takes its inputs as contiguous ranges: a std::vector, a std::array, a
// std::span, or a span over a CPU tensor's data (`std::span(t.data_ptr(), t.numel())`), of any
// arithmetic element type, so float predictions, int32 labels and Tensor<bool> masks are read
// in place without a copy. Results are double. std::vector<bool> is not contiguous and is
// rejected at compile time; use std::vector<uint8_t> for masks.
//
// Argument order follows scikit-learn: the ground truth first, then the prediction.
// Two-dimensional inputs (images, similarity and cost matrices, n×L label matrices) are flat
// row-major ranges with their sizes passed next to them.
#pragma once

#include <cmath>
#include <cstdint>
#include <ember/core/error.hpp>
#include <ranges>
#include <span>
#include <type_traits>

namespace ember::metrics {

// A contiguous range of numbers (bool included): values, scores, masks.
template <class R>
concept NumberRange = std::ranges::contiguous_range<R> && std::ranges::sized_range<R> &&
    std::is_arithmetic_v<std::remove_cv_t<std::ranges::range_value_t<R>>>;

// A contiguous range of integer labels (class indices, cluster ids).
template <class R>
concept LabelRange =
    NumberRange<R> && std::is_integral_v<std::remove_cv_t<std::ranges::range_value_t<R>>> &&
    !std::is_same_v<std::remove_cv_t<std::ranges::range_value_t<R>>, bool>;

// The read-only span a metric works on.
template <NumberRange R>
auto as_span(const R& r) {
  using V = std::remove_cv_t<std::ranges::range_value_t<R>>;
  return std::span<const V>(std::ranges::data(r), std::ranges::size(r));
}

namespace detail {

inline void check_non_empty(const char* metric, const char* what, size_t n) {
  EMBER_CHECK(n > 0, metric, ": ", what, " is empty; expected at least one element");
}

inline void check_same_size(const char* metric, const char* what_a, size_t a, const char* what_b,
                            size_t b) {
  EMBER_CHECK(a == b, metric, ": ", what_a, " has ", a, " elements but ", what_b, " has ", b,
              "; expected equal sizes");
}

// A flat row-major rows×cols input has exactly rows·cols elements.
inline void check_matrix(const char* metric, const char* what, size_t n, int64_t rows,
                         int64_t cols) {
  EMBER_CHECK(rows > 0 && cols > 0, metric, ": ", what, " is ", rows, "x", cols,
              "; expected positive sizes");
  EMBER_CHECK(n == static_cast<size_t>(rows) * static_cast<size_t>(cols), metric, ": ", what,
              " has ", n, " elements; expected ", rows, "x", cols, " = ", rows * cols);
}

template <class T>
void check_labels_in_range(const char* metric, const char* what, std::span<const T> labels,
                           int64_t n_classes) {
  for (size_t i = 0; i < labels.size(); ++i) {
    const auto v = static_cast<int64_t>(labels[i]);
    EMBER_CHECK(v >= 0 && v < n_classes, metric, ": ", what, "[", i, "] = ", v, " is outside [0, ",
                n_classes, ")");
  }
}

template <class T>
void check_finite(const char* metric, const char* what, std::span<const T> values) {
  if constexpr (std::is_floating_point_v<T>) {
    for (size_t i = 0; i < values.size(); ++i)
      EMBER_CHECK(std::isfinite(values[i]), metric, ": ", what, "[", i, "] = ", values[i],
                  " is not finite");
  }
}

// 0/1 inputs (multi-label matrices, binary labels) hold only 0 and 1.
template <class T>
void check_binary(const char* metric, const char* what, std::span<const T> values) {
  for (size_t i = 0; i < values.size(); ++i)
    EMBER_CHECK(values[i] == T(0) || values[i] == T(1), metric, ": ", what, "[", i,
                "] = ", +values[i], "; expected 0 or 1");
}

}  // namespace detail
}  // namespace ember::metrics
