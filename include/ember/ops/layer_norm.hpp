// layer_norm over the last k dims, with fused forward and backward kernels
// (backend/layer_norm.hpp; CPU: backend/cpu/layer_norm.hpp).
//
// Each row (the normalized dims, flattened) is normalised as xhat = (x - mean) * rstd with
// rstd = 1 / sqrt(var + eps) (biased variance), then y = xhat * weight + bias.
//
// Gradient contract: the forward saves mean and rstd per row. A plain backward (GradMode
// off) runs one fused kernel, parallel over rows:
//   dx = rstd * (g*w - mean(g*w) - xhat * mean(g*w*xhat)),
//   dweight = sum over rows of g * xhat,  dbias = sum over rows of g.
// Under create_graph the same gradient is built from differentiable ops (recomputing mean and
// rstd from x), so second derivatives work.
#pragma once

#include <cstdint>
#include <type_traits>
#include <vector>

#include <ember/backend/layer_norm.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/arith.hpp>
#include <ember/ops/reduce.hpp>

namespace ember {

namespace detail {

// The layer_norm gradient from differentiable ops (used under create_graph).
template <class T>
Grads layer_norm_backward_composite(const Tensor<T>& g, const Tensor<T>& x, const Tensor<T>& weight,
                                    const Tensor<T>& bias, int64_t k, double eps) {
  std::vector<int64_t> dims;
  for (int64_t d = x.dim() - k; d < x.dim(); ++d) dims.push_back(d);
  const Tensor<T> xc = sub(x, mean(x, dims, true));
  const Tensor<T> rstd = pow(add(mean(mul(xc, xc), dims, true), T(eps)), T(-0.5));
  const Tensor<T> xhat = mul(xc, rstd);
  const Tensor<T> gw = weight.defined() ? mul(g, weight) : g;
  AnyTensor gx, gweight, gbias;
  if (x.requires_grad())
    gx = mul(rstd, sub(sub(gw, mean(gw, dims, true)), mul(xhat, mean(mul(gw, xhat), dims, true))));
  if (weight.defined() && weight.requires_grad()) gweight = sum_to(mul(g, xhat), weight.shape());
  if (bias.defined() && bias.requires_grad()) gbias = sum_to(g, bias.shape());
  return {gx, gweight, gbias};
}

}  // namespace detail

// Normalises x over its last normalized_shape.size() dims (which must equal
// normalized_shape), then scales by weight and shifts by bias (both of normalized_shape;
// an undefined tensor means none).
template <class T>
Tensor<T> layer_norm(const Tensor<T>& x, const Shape& normalized_shape,
                     const Tensor<T>& weight = Tensor<T>(), const Tensor<T>& bias = Tensor<T>(),
                     double eps = 1e-5) {
  static_assert(std::is_floating_point_v<T>, "layer_norm: needs a float or double tensor");
  const int64_t k = int64_t(normalized_shape.size());
  bool matches = k >= 1 && x.dim() >= k;
  for (int64_t i = 0; matches && i < k; ++i)
    matches = x.shape()[x.dim() - k + i] == normalized_shape[i];
  EMBER_CHECK(matches, "layer_norm: input of shape ", shape_str(x.shape()),
              " does not end with normalized_shape ", shape_str(normalized_shape));
  for (const Tensor<T>* p : {&weight, &bias}) {
    if (!p->defined()) continue;
    EMBER_CHECK(p->shape() == normalized_shape, "layer_norm: ", p == &weight ? "weight" : "bias",
                " of shape ", shape_str(p->shape()), " does not match normalized_shape ",
                shape_str(normalized_shape));
  }
  int64_t n = 1;
  for (int64_t s : normalized_shape) n *= s;
  backend::LayerNormForward<T> f =
      backend::layer_norm_forward(x, weight, bias, n, eps, "layer_norm");
  if (any_requires_grad(x, weight, bias))
    record(f.y, "layer_norm", {x, weight, bias},
           [x, weight, bias, mean_t = f.mean, rstd_t = f.rstd, k, n,
            eps](const Tensor<T>& g) -> Grads {
             if (GradMode::is_enabled())
               return detail::layer_norm_backward_composite(g, x, weight, bias, k, eps);
             const bool want_w = weight.defined() && weight.requires_grad();
             const bool want_b = bias.defined() && bias.requires_grad();
             const backend::LayerNormGrads<T> r =
                 backend::layer_norm_backward(g, x, weight, mean_t, rstd_t, n, x.requires_grad(),
                                              want_w, want_b, "layer_norm_backward");
             return {r.gx, want_w ? AnyTensor(r.gw.view(weight.shape())) : AnyTensor(),
                     want_b ? AnyTensor(r.gb.view(bias.shape())) : AnyTensor()};
           });
  return f.y;
}

}  // namespace ember
