// Finite-difference checks of backward rules (float64, like torch.autograd.gradcheck).
//
// gradcheck compares, for a random weighting w of the output, the analytic gradient of
// sum(f(x) * w) with central differences. gradgradcheck does the same for the gradient
// itself (built with create_graph), which checks second derivatives.
#pragma once

#include <cmath>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <ember/core/tensor.hpp>

namespace ember {

using GradcheckFn = std::function<Tensor<double>(const std::vector<Tensor<double>>&)>;

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-5;
  double rtol = 1e-3;
  uint64_t seed = 1234;
};

namespace detail {

// Offset (in elements, from data_ptr) of the i-th element in row-major order.
inline int64_t strided_offset(const Shape& shape, const Shape& strides, int64_t i) {
  int64_t off = 0;
  for (int64_t d = int64_t(shape.size()) - 1; d >= 0; --d) {
    off += (i % shape[d]) * strides[d];
    i /= shape[d];
  }
  return off;
}

inline double weighted_sum(const Tensor<double>& out, const Tensor<double>& w) {
  NoGradGuard no_grad;
  return sum(mul(out, w)).item();
}

}  // namespace detail

// Returns an empty string when analytic and numeric gradients agree, else a report naming
// the input, the element and both values.
inline std::string gradcheck_report(const GradcheckFn& f, const std::vector<Tensor<double>>& inputs,
                                    GradcheckOptions opt = {}) {
  Generator gen(opt.seed);
  Tensor<double> out = f(inputs);
  const Tensor<double> w = Tensor<double>::randn(out.shape(), gen);
  std::vector<Tensor<double>> wanted;
  for (const auto& x : inputs)
    if (x.requires_grad()) wanted.push_back(x);
  if (wanted.empty()) return "gradcheck: no input requires grad";
  // An output that does not depend on any input differentiably (e.g. the gradient of a
  // linear function) has an analytic gradient of zero.
  const Tensor<double> weighted = sum(mul(out, w));
  const std::vector<Tensor<double>> analytic =
      weighted.requires_grad() ? grad<double>({weighted}, wanted, {}, {.allow_unused = true})
                               : std::vector<Tensor<double>>(wanted.size());
  std::ostringstream report;
  for (size_t k = 0; k < wanted.size(); ++k) {
    const Tensor<double>& x = wanted[k];
    double* base = x.data_ptr();
    for (int64_t i = 0; i < x.numel(); ++i) {
      double* p = base + detail::strided_offset(x.shape(), x.strides(), i);
      const double orig = *p;
      double plus, minus;
      {
        NoGradGuard no_grad;
        *p = orig + opt.eps;
        plus = detail::weighted_sum(f(inputs), w);
        *p = orig - opt.eps;
        minus = detail::weighted_sum(f(inputs), w);
        *p = orig;
      }
      const double numeric = (plus - minus) / (2 * opt.eps);
      const double a = analytic[k].defined()
                           ? analytic[k].data_ptr()[detail::strided_offset(analytic[k].shape(), analytic[k].strides(), i)]
                           : 0.0;
      if (!(std::abs(a - numeric) <= opt.atol + opt.rtol * std::abs(numeric))) {
        report << "input " << k << " (shape " << shape_str(x.shape()) << ") element " << i
               << ": analytic " << a << " vs numeric " << numeric << "\n";
        return report.str();
      }
    }
  }
  return "";
}

inline bool gradcheck(const GradcheckFn& f, const std::vector<Tensor<double>>& inputs, GradcheckOptions opt = {}) {
  return gradcheck_report(f, inputs, opt).empty();
}

// Checks second derivatives: the gradient of sum(f(x) * w), contracted with random v, is
// itself gradchecked.
inline std::string gradgradcheck_report(const GradcheckFn& f, const std::vector<Tensor<double>>& inputs,
                                        GradcheckOptions opt = {}) {
  Generator gen(opt.seed + 1);
  Tensor<double> w;
  std::vector<Tensor<double>> v;
  for (const auto& x : inputs)
    v.push_back(x.requires_grad() ? Tensor<double>::randn(x.shape(), gen) : Tensor<double>());
  GradcheckFn first_order = [&](const std::vector<Tensor<double>>& xs) {
    // The numeric pass runs under NoGradGuard, but this function needs a graph to take the
    // first derivative; only whether that derivative is itself recorded follows the caller.
    const bool outer = GradMode::is_enabled();
    AutoGradMode enable(true);
    Tensor<double> out = f(xs);
    if (!w.defined()) w = Tensor<double>::randn(out.shape(), gen);
    std::vector<Tensor<double>> wanted, vs;
    for (size_t k = 0; k < xs.size(); ++k)
      if (xs[k].requires_grad()) {
        wanted.push_back(xs[k]);
        vs.push_back(v[k]);
      }
    auto g = grad<double>({sum(mul(out, w))}, wanted, {},
                          {.create_graph = outer, .allow_unused = true});
    Tensor<double> total = Tensor<double>::zeros({});
    for (size_t k = 0; k < g.size(); ++k)
      if (g[k].defined()) total = add(total, sum(mul(g[k], vs[k])));
    if (!outer) total = total.detach();
    return total;
  };
  return gradcheck_report(first_order, inputs, opt);
}

inline bool gradgradcheck(const GradcheckFn& f, const std::vector<Tensor<double>>& inputs, GradcheckOptions opt = {}) {
  return gradgradcheck_report(f, inputs, opt).empty();
}

}  // namespace ember
