// Correlations between predicted and true scores: Pearson (PLCC) and Spearman (SRCC, the
// Pearson correlation of tie-averaged ranks), as scipy.stats.pearsonr / spearmanr compute
// them (no logistic fit before PLCC).
//
// A constant input has no correlation: the result is NaN, as in scipy, rather than an error,
// because a degenerate model (one that predicts the same score everywhere) is a result to
// report, not a bad call. Sizes that differ, fewer than 2 values or non-finite values throw.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ember/metrics/inputs.hpp>
#include <limits>
#include <numeric>
#include <vector>

namespace ember::metrics {

namespace detail {

template <class TX, class TY>
double pearson_impl(std::span<const TX> x, std::span<const TY> y) {
  const auto n = static_cast<double>(x.size());
  double mx = 0, my = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    mx += static_cast<double>(x[i]);
    my += static_cast<double>(y[i]);
  }
  mx /= n;
  my /= n;
  // Centred sums in a second pass: the one-pass formula loses every digit when the scores
  // share a large offset (e.g. MOS around 50 with spread 0.01).
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double dx = static_cast<double>(x[i]) - mx;
    const double dy = static_cast<double>(y[i]) - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx == 0 || syy == 0) return std::numeric_limits<double>::quiet_NaN();
  const double r = sxy / (std::sqrt(sxx) * std::sqrt(syy));
  return std::clamp(r, -1.0, 1.0);  // rounding can step just past ±1
}

template <class TX, class TY>
void check_pair(const char* metric, std::span<const TX> x, std::span<const TY> y) {
  check_same_size(metric, "x", x.size(), "y", y.size());
  EMBER_CHECK(x.size() >= 2, metric, ": ", x.size(), " values; expected at least 2");
  check_finite(metric, "x", x);
  check_finite(metric, "y", y);
}

}  // namespace detail

// Pearson's linear correlation coefficient (PLCC).
template <NumberRange X, NumberRange Y>
double pearson(const X& x, const Y& y) {
  detail::check_pair("pearson", as_span(x), as_span(y));
  return detail::pearson_impl(as_span(x), as_span(y));
}

// Ranks 1..n of the values, ascending, with tied values given the mean of the ranks they
// span (scipy.stats.rankdata(method='average')): {10, 20, 20, 5} -> {2, 3.5, 3.5, 1}.
template <NumberRange X>
std::vector<double> rank_average(const X& values) {
  const auto v = as_span(values);
  detail::check_finite("rank_average", "values", v);
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> ranks(v.size());
  for (size_t start = 0; start < order.size();) {
    size_t end = start + 1;
    while (end < order.size() && v[order[end]] == v[order[start]]) ++end;
    // Positions start..end-1 hold equal values; ranks are 1-based.
    const double mean_rank = 0.5 * static_cast<double>(start + 1 + end);
    for (size_t j = start; j < end; ++j) ranks[order[j]] = mean_rank;
    start = end;
  }
  return ranks;
}

// Spearman's rank correlation (SRCC / SROCC) with tie-averaged ranks.
template <NumberRange X, NumberRange Y>
double spearman(const X& x, const Y& y) {
  detail::check_pair("spearman", as_span(x), as_span(y));
  const std::vector<double> rx = rank_average(x), ry = rank_average(y);
  return detail::pearson_impl(std::span<const double>(rx), std::span<const double>(ry));
}

}  // namespace ember::metrics
