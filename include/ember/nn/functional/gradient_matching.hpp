// The gradient-matching distance of dataset condensation (Zhao, Mopuri and Bilen, "Dataset
// Condensation with Gradient Matching", ICLR 2021; distance_wb / match_loss('ours') in their
// code and in baadd's DC/utils.py):
//
//   D(g_syn, g_real) = sum over weight tensors l, sum over rows i of
//                      1 - <g_syn[l][i], g_real[l][i]> / (|g_syn[l][i]| |g_real[l][i]| + eps)
//
// where a row is one output unit: a convolution weight gradient [out, in, kh, kw] is seen as
// [out, in * kh * kw], a linear one [out, in] as it is, and 1-D gradients (biases) are
// skipped. eps = 1e-6 sits outside the product of norms, as in the reference code (not
// cosine_similarity's clamp of each norm).
//
// It is built from differentiable ops, so when g_syn comes from
// grad(loss(f(S)), params, {.create_graph = true}) the gradient of D reaches the synthetic
// images S (a second-order gradient). Templated on T so that it can be checked in float64.
#pragma once

#include <cstdint>
#include <ember/core/error.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/arith.hpp>
#include <ember/ops/reduce.hpp>
#include <ember/ops/unary.hpp>
#include <vector>

namespace ember::nn::functional {

namespace detail {

// |row| for each row of a [rows, cols] matrix. The squared norm is clamped at a tiny value
// first: for a row that is exactly zero (a unit that no synthetic image activates) the norm
// then contributes a zero gradient, as PyTorch's norm backward gives at 0, instead of
// 0 * inf = NaN from sqrt at 0.
template <class T>
Tensor<T> row_norms(const Tensor<T>& m) {
  return sqrt(clamp_min(sum(square(m), {1}), T(1e-30)));
}

}  // namespace detail

// One weight tensor's share of D: sum over rows of 1 - cos(g_syn row, g_real row). Both
// gradients have the same shape with at least two dimensions.
template <class T>
Tensor<T> layer_match_distance(const Tensor<T>& g_syn, const Tensor<T>& g_real, double eps = 1e-6) {
  static_assert(std::is_floating_point_v<T>,
                "layer_match_distance: needs a real floating-point tensor");
  const char* op = "layer_match_distance";
  EMBER_CHECK(g_syn.defined() && g_real.defined(), op, ": a gradient is undefined");
  EMBER_CHECK(g_syn.shape() == g_real.shape(), op,
              ": the synthetic and real gradients must have the same shape, got ",
              shape_str(g_syn.shape()), " and ", shape_str(g_real.shape()));
  EMBER_CHECK(g_syn.dim() >= 2, op,
              ": expected a weight gradient with at least 2 dimensions ([out, in] or "
              "[out, in, kh, kw]), got shape ",
              shape_str(g_syn.shape()));
  EMBER_CHECK(eps >= 0, op, ": eps must be non-negative, got ", eps);
  const int64_t rows = g_syn.size(0);
  const Tensor<T> a = g_syn.reshape({rows, -1}), b = g_real.reshape({rows, -1});
  const Tensor<T> dot = sum(mul(a, b), {1});
  const Tensor<T> denom = add(mul(detail::row_norms(a), detail::row_norms(b)), T(eps));
  return sum(rsub(div(dot, denom), T(1)));
}

// D over a network's parameter gradients, in the order of its parameters: every tensor with
// at least two dimensions counts, 1-D ones (biases) are skipped. g_real is normally detached.
template <class T>
Tensor<T> gradient_match_distance(const std::vector<Tensor<T>>& g_syn,
                                  const std::vector<Tensor<T>>& g_real, double eps = 1e-6) {
  const char* op = "gradient_match_distance";
  EMBER_CHECK(g_syn.size() == g_real.size(), op, ": ", g_syn.size(), " synthetic gradients but ",
              g_real.size(), " real ones; expected one of each per parameter");
  Tensor<T> d;
  for (size_t i = 0; i < g_syn.size(); ++i) {
    EMBER_CHECK(g_syn[i].defined() && g_real[i].defined(), op, ": gradient ", i,
                " is undefined (a parameter the loss does not reach?)");
    EMBER_CHECK(g_syn[i].shape() == g_real[i].shape(), op, ": gradient ", i, " has shape ",
                shape_str(g_syn[i].shape()), " (synthetic) and ", shape_str(g_real[i].shape()),
                " (real); expected the same");
    if (g_syn[i].dim() < 2) continue;
    const Tensor<T> term = layer_match_distance(g_syn[i], g_real[i], eps);
    d = d.defined() ? add(d, term) : term;
  }
  EMBER_CHECK(d.defined(), op, ": none of the ", g_syn.size(),
              " gradients is a weight (2 or more dimensions); nothing to match");
  return d;
}

}  // namespace ember::nn::functional
