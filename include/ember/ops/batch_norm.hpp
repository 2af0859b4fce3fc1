// batch_norm over the batch and spatial dims of [N, C] or [N, C, *] inputs, with fused forward
// and backward kernels (backend/batch_norm.hpp; CPU: backend/cpu/batch_norm.hpp) and the
// running-statistics update.
//
// The input is seen as [N, C, S] (S = product of the dims after C). Each channel c is
// normalised over its M = N * S values: xhat = (x - mean_c) * rstd_c, y = xhat * w_c + b_c.
// In training the statistics are the batch's (biased variance); in eval they are the running
// ones, rstd_c = 1 / sqrt(running_var_c + eps).
//
// Running statistics (training only, when given): updated in place, PyTorch's rule
//   running_mean = (1 - momentum) * running_mean + momentum * mean,
//   running_var  = (1 - momentum) * running_var  + momentum * var * M / (M - 1)
// (the unbiased variance goes into running_var, the biased one normalises).
//
// Gradient contract: the forward saves mean and rstd per channel. A plain backward (GradMode
// off) runs one fused kernel, parallel over channels:
//   training: dx = w * rstd * (g - mean(g) - xhat * mean(g * xhat)),
//   eval:     dx = w * rstd * g   (the statistics are constants),
//   dweight = sum of g * xhat,  dbias = sum of g  (over N and S).
// Under create_graph the same gradient is built from differentiable ops (recomputing the
// batch statistics from x in training), so second derivatives work. The running statistics
// never receive gradients.
#pragma once

#include <cstdint>
#include <type_traits>
#include <vector>

#include <ember/backend/batch_norm.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/arith.hpp>
#include <ember/ops/reduce.hpp>

namespace ember {

namespace detail {

// The batch_norm gradient from differentiable ops (used under create_graph). x3 / g3 are the
// [N, C, S] views; mean_c / rstd_c are the saved eval statistics ([C], constants).
template <class T>
Grads batch_norm_backward_composite(const Tensor<T>& g3, const Tensor<T>& x3,
                                    const Tensor<T>& weight, const Tensor<T>& bias,
                                    const Tensor<T>& mean_c, const Tensor<T>& rstd_c, bool training,
                                    double eps, const Shape& in_shape, bool want_x) {
  const int64_t C = x3.size(1);
  const std::vector<int64_t> dims = {0, 2};
  Tensor<T> xhat, rstd;
  if (training) {
    const Tensor<T> xc = sub(x3, mean(x3, dims, true));
    rstd = pow(add(mean(mul(xc, xc), dims, true), T(eps)), T(-0.5));
    xhat = mul(xc, rstd);
  } else {
    rstd = rstd_c.reshape({1, C, 1});
    xhat = mul(sub(x3, mean_c.reshape({1, C, 1})), rstd);
  }
  const Tensor<T> gw = weight.defined() ? mul(g3, weight.reshape({1, C, 1})) : g3;
  AnyTensor gx, gweight, gbias;
  if (want_x) {
    Tensor<T> d = training ? mul(rstd, sub(sub(gw, mean(gw, dims, true)),
                                           mul(xhat, mean(mul(gw, xhat), dims, true))))
                           : mul(gw, rstd);
    gx = d.reshape(in_shape);
  }
  if (weight.defined() && weight.requires_grad()) gweight = sum(mul(g3, xhat), dims);
  if (bias.defined() && bias.requires_grad()) gbias = sum(g3, dims);
  return {gx, gweight, gbias};
}

}  // namespace detail

// Batch normalisation of input [N, C] or [N, C, *] over every dim but C, like
// torch.nn.functional.batch_norm(input, running_mean, running_var, weight, bias, training,
// momentum, eps). running_mean / running_var ([C], or undefined for none) are read in eval
// and updated in place in training; weight / bias ([C]) are optional.
template <class T>
Tensor<T> batch_norm(const Tensor<T>& input, const Tensor<T>& running_mean,
                     const Tensor<T>& running_var, const Tensor<T>& weight = Tensor<T>(),
                     const Tensor<T>& bias = Tensor<T>(), bool training = false,
                     double momentum = 0.1, double eps = 1e-5) {
  static_assert(std::is_floating_point_v<T>, "batch_norm: needs a float or double tensor");
  EMBER_CHECK(input.dim() >= 2, "batch_norm: expected an input of shape [N, C] or [N, C, *], got ",
              shape_str(input.shape()));
  const int64_t N = input.size(0), C = input.size(1);
  const int64_t S = C == 0 || N == 0 ? 0 : input.numel() / (N * C);
  const struct {
    const Tensor<T>* t;
    const char* name;
  } per_channel[] = {{&running_mean, "running_mean"},
                     {&running_var, "running_var"},
                     {&weight, "weight"},
                     {&bias, "bias"}};
  for (const auto& [t, name] : per_channel) {
    if (!t->defined()) continue;
    EMBER_CHECK(t->dim() == 1 && t->size(0) == C, "batch_norm: ", name, " of shape ",
                shape_str(t->shape()), " does not match the ", C, " channels of input of shape ",
                shape_str(input.shape()), " (expected [", C, "])");
  }
  EMBER_CHECK(running_mean.defined() == running_var.defined(),
              "batch_norm: running_mean and running_var must both be given or both be undefined");
  EMBER_CHECK(training || running_mean.defined(),
              "batch_norm: eval mode (training=false) needs running_mean and running_var");
  const int64_t M = N * S;
  EMBER_CHECK(!training || M > 1,
              "batch_norm: expected more than 1 value per channel when "
              "training, got input of shape ",
              shape_str(input.shape()));

  backend::BatchNormForward<T> f = backend::batch_norm_forward(
      input, running_mean, running_var, weight, bias, N, C, S, training, eps, "batch_norm");
  if (training && running_mean.defined() && M > 0) {
    NoGradGuard no_grad;
    const T m = T(momentum);
    Tensor<T> rm = running_mean.detach(), rv = running_var.detach();
    rm.copy_(add(mul(rm, T(1) - m), mul(f.mean, m)));
    rv.copy_(add(mul(rv, T(1) - m), mul(f.var, m * T(double(M) / double(M - 1)))));
  }
  if (any_requires_grad(input, weight, bias))
    record(f.y, "batch_norm", {input, weight, bias},
           [input, weight, bias, mean_t = f.mean, rstd_t = f.rstd, N, C, S, training,
            eps](const Tensor<T>& g) -> Grads {
             const bool want_x = input.requires_grad();
             if (GradMode::is_enabled())
               return detail::batch_norm_backward_composite(
                   g.reshape({N, C, S}), input.reshape({N, C, S}), weight, bias, mean_t, rstd_t,
                   training, eps, input.shape(), want_x);
             const bool want_w = weight.defined() && weight.requires_grad();
             const bool want_b = bias.defined() && bias.requires_grad();
             const backend::BatchNormGrads<T> r =
                 backend::batch_norm_backward(g, input, weight, mean_t, rstd_t, N, C, S, training,
                                              want_x, want_w, want_b, "batch_norm_backward");
             return {r.gx, r.gw, r.gb};
           });
  return f.y;
}

}  // namespace ember
