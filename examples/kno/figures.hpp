// The KNO example's figures: Burgers curves (prediction, truth, error), error against resolution,
// Navier–Stokes error against rollout step, vorticity fields, and training losses.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ember/kit/table.hpp>
#include <ember/plot.hpp>
#include <ember/viz.hpp>
#include <filesystem>
#include <string>
#include <vector>

namespace kno {

using namespace ember;

inline std::vector<double> grid_x(int64_t n) {
  std::vector<double> x(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) x[size_t(i)] = double(i) / double(n);
  return x;
}

inline std::vector<double> as_doubles(const Tensor<float>& t) {
  const std::vector<float> v = t.contiguous().to_vector();
  return {v.begin(), v.end()};
}

// One Burgers test sample: u0, truth, predictions; and the pointwise errors in a second chart.
inline void save_burgers_sample(
    const std::filesystem::path& out_curves, const std::filesystem::path& out_error,
    const Tensor<float>& u0, const Tensor<float>& truth,
    const std::vector<std::pair<std::string, Tensor<float>>>& predictions) {
  const std::vector<double> x = grid_x(truth.numel());
  std::vector<plot::Series> curves{{"u0", x, as_doubles(u0), {}},
                                   {"truth u(x, 1)", x, as_doubles(truth), {}}};
  std::vector<plot::Series> errors;
  for (const auto& [name, p] : predictions) {
    curves.push_back({name, x, as_doubles(p), {}});
    std::vector<double> e = as_doubles(p), t = as_doubles(truth);
    for (size_t i = 0; i < e.size(); ++i) e[i] -= t[i];
    errors.push_back({name + " - truth", x, e, {}});
  }
  plot::line_chart(curves, {"Burgers, a test sample at the training resolution", "x", "u"})
      .save_png(out_curves);
  plot::line_chart(errors, {"Burgers, pointwise error of that sample", "x", "prediction - truth"})
      .save_png(out_error);
}

struct CurveSet {
  std::string title, xlabel, ylabel;
  bool log_y = false;
  std::vector<plot::Series> series;
};

inline void save_curves(const std::filesystem::path& out, const CurveSet& c) {
  plot::line_chart(c.series, {c.title, c.xlabel, c.ylabel, c.log_y}).save_png(out);
}

// Rows truth / prediction / |error| of a vorticity rollout [steps, X, Y] at the chosen steps,
// one colour range for truth and prediction, another for the error.
inline void save_vorticity_fields(const std::filesystem::path& out, const Tensor<float>& truth,
                                  const Tensor<float>& pred, const std::vector<int64_t>& steps,
                                  const std::string& model) {
  const std::vector<float> t = truth.contiguous().to_vector(), p = pred.contiguous().to_vector();
  const int64_t X = truth.size(1), Y = truth.size(2), per = X * Y;
  float lo = 0, hi = 0, emax = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    lo = std::min({lo, t[i], p[i]});
    hi = std::max({hi, t[i], p[i]});
    emax = std::max(emax, std::abs(t[i] - p[i]));
  }
  const double range = std::max(std::abs(lo), std::abs(hi));
  std::vector<plot::Panel> panels;
  const auto field = [&](const std::vector<float>& v, int64_t k) {
    return std::vector<float>(v.begin() + k * per, v.begin() + (k + 1) * per);
  };
  for (int row = 0; row < 3; ++row)
    for (int64_t k : steps) {
      std::vector<float> v;
      if (row == 2) {
        const auto a = field(t, k), b = field(p, k);
        v.resize(a.size());
        for (size_t i = 0; i < a.size(); ++i) v[i] = std::abs(a[i] - b[i]);
      } else {
        v = field(row == 0 ? t : p, k);
      }
      const std::string what = row == 0 ? "truth" : row == 1 ? model : "|error|";
      const data::Image img =
          row == 2 ? viz::heatmap(v, int(X), int(Y), 0.0, std::max(1e-6, double(emax)))
                   : viz::heatmap(v, int(X), int(Y), -range, range, viz::Colormap::CoolWarm);
      panels.push_back({img, what + ", step " + std::to_string(k + 1), {}});
    }
  plot::image_grid(panels, {.title = "Navier-Stokes vorticity, a test sample (error scale 0 to " +
                                     kit::fmt(emax, 3) + ")",
                            .columns = int(steps.size()),
                            .cell = 160})
      .save_png(out);
}

}  // namespace kno
