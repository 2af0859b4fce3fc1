// Gradient clipping: torch.nn.utils.clip_grad_norm_ and clip_grad_value_. Both change the
// parameters' .grad() in place (gradients must be contiguous, of the parameter's dtype and
// shape, as the engine leaves them) and skip parameters without a gradient.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <vector>

#include <ember/backend/cpu/parallel.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/reduce_more.hpp>
#include <ember/optim/optimizer.hpp>

namespace ember::optim {

namespace detail {

// Combines f(g[k]) over a contiguous gradient with `combine`, in fixed blocks so that the
// result does not depend on the number of threads. Accumulates in double, in four interleaved
// lanes so the loop is not bound by the latency of one chain of additions.
template <class T, class F, class Combine>
double reduce_grad(const T* g, int64_t n, F f, Combine combine) {
  constexpr int64_t kBlock = 16384;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> part(size_t(blocks), 0.0);
  cpu::parallel_for(blocks, 4 * n, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      double lane[4] = {0, 0, 0, 0};
      const int64_t end = std::min(n, (b + 1) * kBlock);
      int64_t k = b * kBlock;
      for (; k + 4 <= end; k += 4)
        for (int j = 0; j < 4; ++j) lane[j] = combine(lane[j], f(g[k + j]));
      for (; k < end; ++k) lane[0] = combine(lane[0], f(g[k]));
      part[size_t(b)] = combine(combine(lane[0], lane[1]), combine(lane[2], lane[3]));
    }
  });
  double acc = 0;
  for (double v : part) acc = combine(acc, v);
  return acc;
}

// max that keeps a NaN once seen (like torch.max), so a NaN gradient gives a NaN norm.
inline double nan_max(double a, double b) {
  if (std::isnan(a)) return a;
  return std::isnan(b) || b > a ? b : a;
}

// |x| and |x|^2 in double (the modulus for complex x).
template <class T>
double abs_of(const T& x) {
  if constexpr (is_complex_v<T>)
    return std::abs(std::complex<double>(x));
  else
    return std::abs(double(x));
}
template <class T>
double abs2_of(const T& x) {
  if constexpr (is_complex_v<T>)
    return std::norm(std::complex<double>(x));
  else
    return double(x) * double(x);
}

// Σ|g|^p over one gradient, or max|g| for p = inf.
template <class T>
double grad_norm_part(const T* g, int64_t n, double p) {
  auto sum = [](double a, double b) { return a + b; };
  auto abs = [](const T& x) { return abs_of(x); };
  auto abs2 = [](const T& x) { return abs2_of(x); };
  auto abs_p = [p](const T& x) { return std::pow(abs_of(x), p); };
  if (std::isinf(p)) return reduce_grad(g, n, abs, nan_max);
  if (p == 1) return reduce_grad(g, n, abs, sum);
  if (p == 2) return reduce_grad(g, n, abs2, sum);
  return reduce_grad(g, n, abs_p, sum);
}

// A gradient on a CUDA device, as a tensor sharing its storage: clipping it runs as ops on the
// GPU (real dtypes; a complex CUDA gradient throws naming the parameter).
template <class T>
Tensor<T> cuda_grad(const TensorImpl& p, const char* op, size_t index) {
  EMBER_CHECK(!is_complex_v<T>, op, ": parameter ", index,
              " has a complex gradient on CUDA; clipping supports real ones there");
  return Tensor<T>(p.grad);
}

// grad_norm_part of a CUDA gradient (one device-to-host copy of the result).
template <class T>
double cuda_grad_norm_part(const Tensor<T>& g, double p) {
  NoGradGuard no_grad;
  if (std::isinf(p)) return double(amax(abs(g)).item());
  if (p == 1) return double(sum(abs(g)).item());
  if (p == 2) return double(sum(mul(g, g)).item());
  return double(sum(pow(abs(g), T(p))).item());
}

}  // namespace detail

// Scales all gradients together so that their joint norm of order norm_type (2, 1, any p > 0,
// or infinity) is at most max_norm, and returns the norm they had. PyTorch's formula:
// coef = max_norm / (total_norm + 1e-6), applied when below 1 (or NaN: a NaN norm makes every
// gradient NaN, as in PyTorch; error_if_nonfinite throws instead). Returns 0 when no parameter
// has a gradient.
inline double clip_grad_norm_(const std::vector<AnyTensor>& params, double max_norm,
                              double norm_type = 2.0, bool error_if_nonfinite = false) {
  const char* op = "clip_grad_norm_";
  EMBER_CHECK(max_norm >= 0, op, ": max_norm must be >= 0, got ", max_norm);
  EMBER_CHECK(norm_type > 0, op, ": norm_type must be positive or infinity, got ", norm_type);
  const bool inf = std::isinf(norm_type);
  std::vector<ImplPtr> grads;
  double total = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    EMBER_CHECK(params[i].defined(), op, ": parameter ", i, " is an undefined tensor");
    const TensorImpl& p = *params[i].impl;
    if (!p.grad) continue;
    detail::check_grad(p, op, i);
    grads.push_back(p.grad);
    const TensorImpl& g = *p.grad;
    visit_dtype(g.dtype, [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      if constexpr (is_differentiable_v<T>) {
        double part = 0;
        if (g.storage->device().is_cuda()) {
          if constexpr (is_complex_v<T>)
            detail::cuda_grad<T>(p, op, i);  // throws
          else
            part = detail::cuda_grad_norm_part(detail::cuda_grad<T>(p, op, i), norm_type);
        } else {
          const T* data = static_cast<const T*>(g.storage->data()) + g.offset;
          part = detail::grad_norm_part(data, g.numel(), norm_type);
        }
        total = inf ? detail::nan_max(total, part) : total + part;
      } else {
        fail(op, ": parameter ", i, " has a gradient of dtype ", dtype_name(g.dtype));
      }
    });
  }
  if (grads.empty()) return 0.0;
  if (!inf) total = norm_type == 2 ? std::sqrt(total) : std::pow(total, 1.0 / norm_type);
  EMBER_CHECK(!error_if_nonfinite || std::isfinite(total), op, ": the total norm of order ",
              norm_type, " of the gradients is non-finite (", total,
              ") and error_if_nonfinite is set");
  const double coef = max_norm / (total + 1e-6);
  if (coef >= 1) return total;
  for (const ImplPtr& gp : grads) {
    TensorImpl* g = gp.get();
    if (g->storage->device().is_cuda()) {  // real: checked when the norm was taken
      visit_dtype(g->dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        if constexpr (std::is_floating_point_v<T>) {
          NoGradGuard no_grad;
          Tensor<T> gt(gp);
          gt.copy_(mul(gt, T(coef)));
        }
      });
      continue;  // copy_ bumped the version
    }
    detail::visit_real_dtype(g->dtype, op, [&](auto* tag) {
      using R = std::remove_pointer_t<decltype(tag)>;
      R* data = detail::real_data<R>(*g);
      const R c = R(coef);
      cpu::parallel_for(detail::real_numel(*g), detail::real_numel(*g), [&](int64_t b, int64_t e) {
        for (int64_t k = b; k < e; ++k) data[k] *= c;
      });
    });
    ++g->version;
  }
  return total;
}

// Clamps every gradient element into [-clip_value, clip_value] (real gradients only: complex
// numbers have no order; NaNs stay NaN).
inline void clip_grad_value_(const std::vector<AnyTensor>& params, double clip_value) {
  const char* op = "clip_grad_value_";
  EMBER_CHECK(clip_value >= 0, op, ": clip_value must be >= 0, got ", clip_value);
  for (size_t i = 0; i < params.size(); ++i) {
    EMBER_CHECK(params[i].defined(), op, ": parameter ", i, " is an undefined tensor");
    const TensorImpl& p = *params[i].impl;
    if (!p.grad) continue;
    detail::check_grad(p, op, i);
    TensorImpl& g = *p.grad;
    visit_dtype(g.dtype, [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      if constexpr (std::is_floating_point_v<T>) {
        const T hi = T(clip_value), lo = -hi;
        if (g.storage->device().is_cuda()) {  // as ops on the GPU
          NoGradGuard no_grad;
          Tensor<T> gt(p.grad);
          gt.copy_(clamp(gt, lo, hi));
          return;
        }
        T* data = static_cast<T*>(g.storage->data()) + g.offset;
        cpu::parallel_for(g.numel(), g.numel(), [&](int64_t b, int64_t e) {
          for (int64_t k = b; k < e; ++k)
            data[k] = data[k] < lo ? lo : (hi < data[k] ? hi : data[k]);
        });
      } else {
        fail(op, ": parameter ", i, " has a gradient of dtype ", dtype_name(g.dtype),
             "; expected a real floating-point gradient (complex numbers have no order)");
      }
    });
    ++g.version;
  }
}

}  // namespace ember::optim
