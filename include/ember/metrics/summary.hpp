// Statistics of a metric over seeds or splits: mean, sample standard deviation, median, and
// SeedSummary, which prints them as "0.871 ± 0.004 (3 seeds)".
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ember/metrics/inputs.hpp>
#include <limits>
#include <string>
#include <vector>

namespace ember::metrics {

template <NumberRange V>
double mean(const V& values) {
  const auto v = as_span(values);
  detail::check_non_empty("mean", "values", v.size());
  double s = 0;
  for (auto x : v) s += static_cast<double>(x);
  return s / static_cast<double>(v.size());
}

// Sample standard deviation, with the n − 1 (Bessel) denominator, as numpy.std(ddof=1): the
// spread over a few seeds estimates the seed-to-seed spread, not that of these seeds alone.
// NaN for a single value, which says nothing about spread.
template <NumberRange V>
double sample_std(const V& values) {
  const auto v = as_span(values);
  detail::check_non_empty("sample_std", "values", v.size());
  if (v.size() < 2) return std::numeric_limits<double>::quiet_NaN();
  const double m = mean(values);
  double s = 0;
  for (auto x : v) s += (static_cast<double>(x) - m) * (static_cast<double>(x) - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

// The middle value, or the mean of the two middle values for an even count.
template <NumberRange V>
double median(const V& values) {
  const auto v = as_span(values);
  detail::check_non_empty("median", "values", v.size());
  detail::check_finite("median", "values", v);
  std::vector<double> sorted(v.begin(), v.end());
  std::sort(sorted.begin(), sorted.end());
  const size_t h = sorted.size() / 2;
  return sorted.size() % 2 ? sorted[h] : 0.5 * (sorted[h - 1] + sorted[h]);
}

// One metric over several seeds (or splits).
struct SeedSummary {
  double mean = 0;
  double stddev = 0;  // sample standard deviation (n − 1); NaN for one seed
  int64_t n = 0;

  template <NumberRange V>
  static SeedSummary of(const V& values) {
    return {metrics::mean(values), sample_std(values), static_cast<int64_t>(std::size(values))};
  }

  // "0.871 ± 0.0043 (3 seeds)": `digits` significant digits for the mean, two for the std;
  // "0.871 (1 seed)" when there is no spread to show.
  std::string str(int digits = 3) const {
    auto fmt = [](double v, int d) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.*g", d, v);
      return std::string(buf);
    };
    const std::string count = " (" + std::to_string(n) + (n == 1 ? " seed)" : " seeds)");
    if (n < 2) return fmt(mean, digits) + count;
    return fmt(mean, digits) + " ± " + fmt(stddev, 2) + count;
  }
};

}  // namespace ember::metrics
