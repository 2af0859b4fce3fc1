// Regression and reconstruction errors: MSE, relative L2 (the neural-operator headline
// metric) and PSNR. Arguments are (y_true, y_pred); sums are in double whatever the input type.
#pragma once

#include <cmath>
#include <cstdint>
#include <ember/metrics/inputs.hpp>
#include <limits>

namespace ember::metrics {

namespace detail {

template <class TT, class TP>
void check_pair_values(const char* metric, std::span<const TT> t, std::span<const TP> p) {
  check_same_size(metric, "y_true", t.size(), "y_pred", p.size());
  check_non_empty(metric, "y_true", t.size());
  check_finite(metric, "y_true", t);
  check_finite(metric, "y_pred", p);
}

// Σ (p − t)² and Σ t² over [begin, end).
template <class TT, class TP>
void squared_sums(std::span<const TT> t, std::span<const TP> p, size_t begin, size_t end,
                  double& err2, double& ref2) {
  err2 = 0;
  ref2 = 0;
  for (size_t i = begin; i < end; ++i) {
    const double ti = static_cast<double>(t[i]);
    const double d = static_cast<double>(p[i]) - ti;
    err2 += d * d;
    ref2 += ti * ti;
  }
}

}  // namespace detail

// Mean squared error, mean((y_pred − y_true)²).
template <NumberRange T, NumberRange P>
double mse(const T& y_true, const P& y_pred) {
  const auto t = as_span(y_true);
  const auto p = as_span(y_pred);
  detail::check_pair_values("mse", t, p);
  double err2 = 0, ref2 = 0;
  detail::squared_sums(t, p, 0, t.size(), err2, ref2);
  return err2 / static_cast<double>(t.size());
}

// ‖y_pred − y_true‖₂ / ‖y_true‖₂ over the whole input, as one vector.
template <NumberRange T, NumberRange P>
double relative_l2(const T& y_true, const P& y_pred) {
  const auto t = as_span(y_true);
  const auto p = as_span(y_pred);
  detail::check_pair_values("relative_l2", t, p);
  double err2 = 0, ref2 = 0;
  detail::squared_sums(t, p, 0, t.size(), err2, ref2);
  EMBER_CHECK(ref2 > 0, "relative_l2: y_true is all zeros; the relative error is undefined");
  return std::sqrt(err2 / ref2);
}

// The mean over n_samples samples of each sample's relative L2 error, the FNO lineage's
// LpLoss(p=2, size_average=True): the inputs hold n_samples equal-sized samples back to back.
// This is not relative_l2 of the whole batch, which weights samples by their norm.
template <NumberRange T, NumberRange P>
double mean_relative_l2(const T& y_true, const P& y_pred, int64_t n_samples) {
  const char* name = "mean_relative_l2";
  const auto t = as_span(y_true);
  const auto p = as_span(y_pred);
  detail::check_pair_values(name, t, p);
  EMBER_CHECK(n_samples > 0 && t.size() % static_cast<size_t>(n_samples) == 0, name, ": ", t.size(),
              " values cannot be split into n_samples = ", n_samples, " equal samples");
  const size_t per = t.size() / static_cast<size_t>(n_samples);
  double total = 0;
  for (size_t s = 0; s < static_cast<size_t>(n_samples); ++s) {
    double err2 = 0, ref2 = 0;
    detail::squared_sums(t, p, s * per, (s + 1) * per, err2, ref2);
    EMBER_CHECK(ref2 > 0, name, ": sample ", s, " of y_true is all zeros; its relative error ",
                "is undefined");
    total += std::sqrt(err2 / ref2);
  }
  return total / static_cast<double>(n_samples);
}

// Peak signal-to-noise ratio in dB, 10·log10(data_range² / MSE), with data_range the span of
// possible values (1 for images in [0, 1], 255 for 8-bit). +inf for identical inputs, as
// skimage.metrics.peak_signal_noise_ratio returns.
template <NumberRange T, NumberRange P>
double psnr(const T& y_true, const P& y_pred, double data_range) {
  EMBER_CHECK(data_range > 0 && std::isfinite(data_range), "psnr: data_range = ", data_range,
              "; expected a positive finite number");
  const auto t = as_span(y_true);
  const auto p = as_span(y_pred);
  detail::check_pair_values("psnr", t, p);
  double err2 = 0, ref2 = 0;
  detail::squared_sums(t, p, 0, t.size(), err2, ref2);
  const double m = err2 / static_cast<double>(t.size());
  if (m == 0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(data_range * data_range / m);
}

}  // namespace ember::metrics
