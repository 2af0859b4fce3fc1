// batch_norm over the batch and spatial dims of [N, C] or [N, C, *] inputs, with fused forward
// and backward kernels and the running-statistics update.
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

#include <cmath>
#include <cstdint>
#include <ember/backend/cpu/parallel.hpp>
#include <ember/backend/cuda/dispatch_spatial.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/arith.hpp>
#include <ember/ops/reduce.hpp>
#include <type_traits>
#include <vector>


namespace ember {

namespace cpu {

// Sums of one contiguous row: sum(p) and sum((p - mu)^2). Float rows are summed in float over
// vector lanes (`omp simd` may reassociate) and the row totals in double by the callers, so a
// channel of 10^6 values keeps its digits without a serial chain of double adds.
template <class T>
T row_sum(const T* p, int64_t n) {
  T s = 0;
  EMBER_OMP_SIMD(reduction(+ : s))
  for (int64_t i = 0; i < n; ++i) s += p[i];
  return s;
}
template <class T>
T row_sq_dev(const T* p, T mu, int64_t n) {
  T s = 0;
  EMBER_OMP_SIMD(reduction(+ : s))
  for (int64_t i = 0; i < n; ++i) s += (p[i] - mu) * (p[i] - mu);
  return s;
}

// x: [N, C, S] contiguous. Training: computes each channel's mean / biased var (two passes,
// row totals accumulated in double) into mean / var; eval: mean / var are given (running
// stats). Writes rstd and y. Parallel over channels.
template <class T>
void batch_norm_forward(const T* x, const T* w, const T* b, T* y, T* mean, T* var, T* rstd,
                        int64_t N, int64_t C, int64_t S, bool training, double eps) {
  parallel_for(C, 4 * N * C * S, [=](int64_t cb, int64_t ce) {
    for (int64_t c = cb; c < ce; ++c) {
      double mu, v;
      if (training) {
        double s = 0;
        for (int64_t n = 0; n < N; ++n) s += double(row_sum(x + (n * C + c) * S, S));
        const double M = double(N * S);
        mu = s / M;
        double q = 0;  // second pass: no cancellation as in E[x²] - E[x]²
        for (int64_t n = 0; n < N; ++n) q += double(row_sq_dev(x + (n * C + c) * S, T(mu), S));
        v = q / M;
        mean[c] = T(mu);
        var[c] = T(v);
      } else {
        mu = double(mean[c]);
        v = double(var[c]);
      }
      const double r = 1.0 / std::sqrt(v + eps);
      rstd[c] = T(r);
      // y = x * scale + shift per channel.
      const T scale = T(r * (w ? double(w[c]) : 1.0));
      const T shift = T((b ? double(b[c]) : 0.0) - mu * double(scale));
      for (int64_t n = 0; n < N; ++n) {
        const T* p = x + (n * C + c) * S;
        T* q = y + (n * C + c) * S;
        EMBER_OMP_SIMD()
        for (int64_t i = 0; i < S; ++i) q[i] = p[i] * scale + shift;
      }
    }
  });
}

// g, x: [N, C, S] contiguous. Writes gx (if not null), gw / gb (C values, if not null).
template <class T>
void batch_norm_backward(const T* g, const T* x, const T* w, const T* mean, const T* rstd, T* gx,
                         T* gw, T* gb, int64_t N, int64_t C, int64_t S, bool training) {
  parallel_for(C, 5 * N * C * S, [=](int64_t cb, int64_t ce) {
    for (int64_t c = cb; c < ce; ++c) {
      const double mu = double(mean[c]), r = double(rstd[c]);
      const T muT = T(mu);
      double sg = 0, sgx = 0;  // sum(g), sum(g * (x - mean))
      for (int64_t n = 0; n < N; ++n) {
        const T* gp = g + (n * C + c) * S;
        const T* xp = x + (n * C + c) * S;
        T a = 0, d = 0;
        EMBER_OMP_SIMD(reduction(+ : a, d))
        for (int64_t i = 0; i < S; ++i) {
          a += gp[i];
          d += gp[i] * (xp[i] - muT);
        }
        sg += double(a);
        sgx += double(d);
      }
      if (gw) gw[c] = T(sgx * r);
      if (gb) gb[c] = T(sg);
      if (!gx) continue;
      const double wr = r * (w ? double(w[c]) : 1.0);
      const double M = double(N * S);
      // training: gx = wr * (g - sg/M - (x - mu) * r² * sgx/M) = a*g + k*x + d
      const T a = T(wr);
      const T k = training ? T(-wr * r * r * sgx / M) : T(0);
      const T d = training ? T(-wr * sg / M + wr * r * r * sgx / M * mu) : T(0);
      for (int64_t n = 0; n < N; ++n) {
        const T* gp = g + (n * C + c) * S;
        const T* xp = x + (n * C + c) * S;
        T* o = gx + (n * C + c) * S;
        EMBER_OMP_SIMD()
        for (int64_t i = 0; i < S; ++i) o[i] = a * gp[i] + k * xp[i] + d;
      }
    }
  });
}

}  // namespace cpu

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

// batch_norm on CUDA (backend/cuda/dispatch_spatial.hpp kernels), operands already checked,
// with the CPU path's running-stats update and gradient rule.
template <class T>
Tensor<T> batch_norm_cuda(const Tensor<T>& input, const Tensor<T>& running_mean,
                          const Tensor<T>& running_var, const Tensor<T>& weight,
                          const Tensor<T>& bias, bool training, double momentum, double eps,
                          int64_t N, int64_t C, int64_t S) {
  const Device dev = input.device();
  const int64_t M = N * S;
  const Tensor<T> xc = input.detach().contiguous();
  const Tensor<T> wc = weight.defined() ? weight.detach().contiguous() : Tensor<T>();
  const Tensor<T> bc = bias.defined() ? bias.detach().contiguous() : Tensor<T>();
  Tensor<T> mean_t, var_t;
  if (training) {
    mean_t = Tensor<T>::empty({C}, dev);
    var_t = Tensor<T>::empty({C}, dev);
  } else {  // copies: the backward must not see later in-place updates of the running stats
    mean_t = running_mean.detach().contiguous().clone();
    var_t = running_var.detach().contiguous().clone();
  }
  Tensor<T> rstd_t = Tensor<T>::empty({C}, dev);
  Tensor<T> y = cuda::batch_norm_forward(xc, wc, bc, mean_t, var_t, rstd_t, N, C, S, training, eps);
  if (training && running_mean.defined() && M > 0) {
    NoGradGuard no_grad;
    const T m = T(momentum);
    Tensor<T> rm = running_mean.detach(), rv = running_var.detach();
    rm.copy_(add(mul(rm, T(1) - m), mul(mean_t, m)));
    rv.copy_(add(mul(rv, T(1) - m), mul(var_t, m * T(double(M) / double(M - 1)))));
  }
  if (any_requires_grad(input, weight, bias))
    record(y, "batch_norm", {input, weight, bias},
           [input, xc, weight, wc, bias, mean_t, rstd_t, N, C, S, training,
            eps](const Tensor<T>& g) -> Grads {
             const bool want_x = input.requires_grad();
             if (GradMode::is_enabled())
               return batch_norm_backward_composite(g.reshape({N, C, S}), input.reshape({N, C, S}),
                                                    weight, bias, mean_t, rstd_t, training, eps,
                                                    input.shape(), want_x);
             Tensor<T> gx, gw, gb;
             cuda::batch_norm_backward(
                 g, xc, wc, mean_t, rstd_t, want_x, weight.defined() && weight.requires_grad(),
                 bias.defined() && bias.requires_grad(), gx, gw, gb, N, C, S, training);
             return {gx, gw, gb};
           });
  return y;
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
  const bool on_cuda = cuda::use_cuda("batch_norm", input, running_mean, running_var, weight, bias);
  if (!on_cuda) check_cpu(input.device(), "batch_norm");
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
    if (!on_cuda) check_cpu(t->device(), "batch_norm");
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

  if (on_cuda)
    return detail::batch_norm_cuda(input, running_mean, running_var, weight, bias, training,
                                   momentum, eps, N, C, S);
  const Tensor<T> xc = input.detach().contiguous();
  const Tensor<T> wc = weight.defined() ? weight.detach().contiguous() : Tensor<T>();
  const Tensor<T> bc = bias.defined() ? bias.detach().contiguous() : Tensor<T>();
  Tensor<T> y = Tensor<T>::empty(input.shape(), input.device());
  Tensor<T> mean_t, var_t;
  if (training) {
    mean_t = Tensor<T>::empty({C});
    var_t = Tensor<T>::empty({C});
  } else {  // copies: the backward must not see later in-place updates of the running stats
    mean_t = running_mean.detach().clone();
    var_t = running_var.detach().clone();
  }
  Tensor<T> rstd_t = Tensor<T>::empty({C});
  if (M > 0)
    cpu::batch_norm_forward<T>(xc.data_ptr(), wc.defined() ? wc.data_ptr() : nullptr,
                               bc.defined() ? bc.data_ptr() : nullptr, y.data_ptr(),
                               mean_t.data_ptr(), var_t.data_ptr(), rstd_t.data_ptr(), N, C, S,
                               training, eps);
  if (training && running_mean.defined() && M > 0) {
    NoGradGuard no_grad;
    const T m = T(momentum);
    Tensor<T> rm = running_mean.detach(), rv = running_var.detach();
    rm.copy_(add(mul(rm, T(1) - m), mul(mean_t, m)));
    rv.copy_(add(mul(rv, T(1) - m), mul(var_t, m * T(double(M) / double(M - 1)))));
  }
  if (any_requires_grad(input, weight, bias))
    record(y, "batch_norm", {input, weight, bias},
           [input, xc, weight, bias, mean_t, rstd_t, N, C, S, training,
            eps](const Tensor<T>& g) -> Grads {
             const bool want_x = input.requires_grad();
             if (GradMode::is_enabled())
               return detail::batch_norm_backward_composite(
                   g.reshape({N, C, S}), input.reshape({N, C, S}), weight, bias, mean_t, rstd_t,
                   training, eps, input.shape(), want_x);
             const bool want_w = weight.defined() && weight.requires_grad();
             const bool want_b = bias.defined() && bias.requires_grad();
             const Tensor<T> gc = g.contiguous();
             const Tensor<T> wc = weight.defined() ? weight.detach().contiguous() : Tensor<T>();
             Tensor<T> gx = want_x ? Tensor<T>::empty(input.shape(), input.device()) : Tensor<T>();
             Tensor<T> gw = want_w ? Tensor<T>::zeros({C}, input.device()) : Tensor<T>();
             Tensor<T> gb = want_b ? Tensor<T>::zeros({C}, input.device()) : Tensor<T>();
             auto ptr = [](const Tensor<T>& t) { return t.defined() ? t.data_ptr() : nullptr; };
             if (N * S > 0)
               cpu::batch_norm_backward<T>(gc.data_ptr(), xc.data_ptr(), ptr(wc), mean_t.data_ptr(),
                                           rstd_t.data_ptr(), ptr(gx), ptr(gw), ptr(gb), N, C, S,
                                           training);
             return {gx, gw, gb};
           });
  return y;
}

}  // namespace ember
