// More normalisations: group_norm, instance_norm and normalize (Lp, like F.normalize).
//
// group_norm and instance_norm reuse the fused layer_norm kernel: [N, C, *] is viewed as
// [N, G, (C / G) * S] and normalised over its last dim, then the per-channel affine is applied
// with broadcast mul / add. Their gradients are therefore layer_norm's (fused first-order
// kernel, differentiable composite under create_graph) and the arithmetic's.
//
// normalize divides by max(||x||_p, eps) along a dim. The p = 2 norm is its own small op
// whose gradient is g * x / ||x|| (taken as 0 where ||x|| = 0, so zero vectors give zero
// gradients instead of NaN); the rule is written with differentiable ops.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include <ember/backend/device.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/arith.hpp>
#include <ember/ops/batch_norm.hpp>
#include <ember/ops/compare.hpp>
#include <ember/ops/indexing.hpp>
#include <ember/ops/layer_norm.hpp>
#include <ember/ops/reduce.hpp>
#include <ember/ops/unary.hpp>

namespace ember {

namespace detail {

// Shape [1, C, 1, ..., 1] matching an input of rank `rank`, for per-channel broadcasting.
inline Shape channel_shape(int64_t C, int64_t rank) {
  Shape s(size_t(rank), 1);
  s[1] = C;
  return s;
}

// y * weight + bias per channel (either may be undefined).
template <class T>
Tensor<T> channel_affine(Tensor<T> y, const Tensor<T>& weight, const Tensor<T>& bias) {
  const Shape cs = channel_shape(y.size(1), y.dim());
  if (weight.defined()) y = mul(y, weight.reshape(cs));
  if (bias.defined()) y = add(y, bias.reshape(cs));
  return y;
}

template <class T>
void check_channel_param(const Tensor<T>& p, int64_t C, const char* op, const char* name,
                         const Shape& in_shape) {
  if (!p.defined()) return;  // its device was checked with the input's (check_one_device)
  EMBER_CHECK(p.dim() == 1 && p.size(0) == C, op, ": ", name, " of shape ", shape_str(p.shape()),
              " does not match the ", C, " channels of input of shape ", shape_str(in_shape),
              " (expected [", C, "])");
}

// sqrt(sum(x * x, dim, keepdim=true)) with gradient g * x / norm (0 where norm == 0).
template <class T>
Tensor<T> l2_norm_keepdim(const Tensor<T>& x, int64_t dim) {
  Tensor<T> n;
  {
    NoGradGuard no_grad;
    n = sqrt(sum(mul(x, x), {dim}, true));
  }
  if (any_requires_grad(x))
    record(n, "l2_norm", {x}, [x, nd = n.detach(), dim](const Tensor<T>& g) -> Grads {
      const Tensor<T> nn = GradMode::is_enabled() ? l2_norm_keepdim(x, dim) : nd;
      const Tensor<bool> zero = eq(nn.detach(), T(0));
      // Where the norm is 0, x is 0 too: dividing by 1 there gives the 0 gradient.
      return {mul(g, div(x, masked_fill(nn, zero, T(1))))};
    });
  return n;
}

}  // namespace detail

// Group normalisation of input [N, C, *] over each group of C / num_groups channels (and all
// spatial positions), then a per-channel affine. Like torch.nn.functional.group_norm.
template <class T>
Tensor<T> group_norm(const Tensor<T>& input, int64_t num_groups,
                     const Tensor<T>& weight = Tensor<T>(), const Tensor<T>& bias = Tensor<T>(),
                     double eps = 1e-5) {
  static_assert(std::is_floating_point_v<T>, "group_norm: needs a float or double tensor");
  // The kernels are layer_norm's and the arithmetic's, which pick the device themselves.
  check_one_device("group_norm", input, weight, bias);
  EMBER_CHECK(input.dim() >= 2, "group_norm: expected an input of shape [N, C, *], got ",
              shape_str(input.shape()));
  const int64_t N = input.size(0), C = input.size(1);
  EMBER_CHECK(num_groups > 0 && C % num_groups == 0, "group_norm: num_groups (", num_groups,
              ") must be positive and divide the ", C, " channels of input of shape ",
              shape_str(input.shape()));
  detail::check_channel_param(weight, C, "group_norm", "weight", input.shape());
  detail::check_channel_param(bias, C, "group_norm", "bias", input.shape());
  const int64_t per_group = input.numel() / std::max<int64_t>(1, N * num_groups);
  EMBER_CHECK(input.numel() > 0, "group_norm: empty input of shape ", shape_str(input.shape()));
  const Tensor<T> y = layer_norm(input.reshape({N, num_groups, per_group}), {per_group},
                                 Tensor<T>(), Tensor<T>(), eps)
                          .reshape(input.shape());
  return detail::channel_affine(y, weight, bias);
}

// Instance normalisation: each (n, c) slice of input [N, C, *] normalised over its spatial
// positions, like torch.nn.functional.instance_norm(input, running_mean, running_var, weight,
// bias, use_input_stats, momentum, eps). With use_input_stats the slice statistics are used
// (and running stats, if given, are updated with their averages over N, running_var with the
// unbiased variance); without, the running stats normalise, as batch_norm in eval does.
template <class T>
Tensor<T> instance_norm(const Tensor<T>& input, const Tensor<T>& running_mean = Tensor<T>(),
                        const Tensor<T>& running_var = Tensor<T>(),
                        const Tensor<T>& weight = Tensor<T>(), const Tensor<T>& bias = Tensor<T>(),
                        bool use_input_stats = true, double momentum = 0.1, double eps = 1e-5) {
  static_assert(std::is_floating_point_v<T>, "instance_norm: needs a float or double tensor");
  check_one_device("instance_norm", input, running_mean, running_var, weight, bias);
  EMBER_CHECK(input.dim() >= 3,
              "instance_norm: expected an input of shape [N, C, *] with at "
              "least one spatial dim, got ",
              shape_str(input.shape()));
  const int64_t N = input.size(0), C = input.size(1);
  for (const Tensor<T>* p : {&running_mean, &running_var, &weight, &bias})
    detail::check_channel_param(*p, C, "instance_norm",
                                p == &running_mean  ? "running_mean"
                                : p == &running_var ? "running_var"
                                : p == &weight      ? "weight"
                                                    : "bias",
                                input.shape());
  EMBER_CHECK(running_mean.defined() == running_var.defined(),
              "instance_norm: running_mean and running_var must both be given or both be "
              "undefined");
  if (!use_input_stats) {
    EMBER_CHECK(running_mean.defined(),
                "instance_norm: use_input_stats=false needs running_mean and running_var");
    return batch_norm(input, running_mean, running_var, weight, bias, false, momentum, eps);
  }
  const int64_t S = input.numel() / std::max<int64_t>(1, N * C);
  EMBER_CHECK(S > 1,
              "instance_norm: expected more than 1 spatial element per channel, got "
              "input of shape ",
              shape_str(input.shape()));
  const Tensor<T> x3 = input.reshape({N, C, S});
  if (running_mean.defined()) {
    NoGradGuard no_grad;
    const Tensor<T> xd = x3.detach();
    const Tensor<T> mu = mean(xd, {2});  // [N, C]
    const Tensor<T> xc = sub(xd, mu.unsqueeze(2));
    const Tensor<T> var_u = mul(sum(mul(xc, xc), {2}), T(1) / T(S - 1));  // unbiased
    const T m = T(momentum);
    Tensor<T> rm = running_mean.detach(), rv = running_var.detach();
    rm.copy_(add(mul(rm, T(1) - m), mul(mean(mu, {0}), m)));
    rv.copy_(add(mul(rv, T(1) - m), mul(mean(var_u, {0}), m)));
  }
  const Tensor<T> y = layer_norm(x3, {S}, Tensor<T>(), Tensor<T>(), eps).reshape(input.shape());
  return detail::channel_affine(y, weight, bias);
}

// x / max(||x||_p, eps) along `dim`, like torch.nn.functional.normalize(x, p, dim, eps).
template <class T>
Tensor<T> normalize(const Tensor<T>& input, double p = 2.0, int64_t dim = 1, double eps = 1e-12) {
  static_assert(std::is_floating_point_v<T>, "normalize: needs a float or double tensor");
  check_one_device("normalize", input);
  EMBER_CHECK(p > 0, "normalize: p must be positive, got ", p, " (input shape ",
              shape_str(input.shape()), ")");
  EMBER_CHECK(input.dim() >= 1, "normalize: expected an input with at least one dim, got shape ",
              shape_str(input.shape()));
  dim = wrap_dim(dim, input.dim(), "normalize");
  Tensor<T> norm;
  if (p == 2.0)
    norm = detail::l2_norm_keepdim(input, dim);
  else if (p == 1.0)
    norm = sum(abs(input), {dim}, true);
  else
    norm = pow(sum(pow(abs(input), T(p)), {dim}, true), T(1.0 / p));
  return div(input, clamp_min(norm, T(eps)));
}

}  // namespace ember
