// Gradient clipping: torch.nn.utils.clip_grad_norm_ and clip_grad_value_. Both change the
// parameters' .grad() in place (gradients must be contiguous, of the parameter's dtype and
// shape, as the engine leaves them) and skip parameters without a gradient.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include <ember/backend/clip.hpp>
#include <ember/core/tensor.hpp>
#include <ember/optim/optimizer.hpp>

namespace ember::optim {

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
        const double part = backend::grad_norm_part<T>(p, norm_type, op, i);
        total = inf ? backend::nan_max(total, part) : total + part;
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
  for (const ImplPtr& gp : grads) backend::scale_grad_(gp, coef, op);  // bumps the versions
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
    const TensorImpl& g = *p.grad;
    visit_dtype(g.dtype, [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      if constexpr (std::is_floating_point_v<T>) {
        const T hi = T(clip_value), lo = -hi;
        backend::clamp_grad_(p.grad, lo, hi, op);  // bumps the version
      } else {
        fail(op, ": parameter ", i, " has a gradient of dtype ", dtype_name(g.dtype),
             "; expected a real floating-point gradient (complex numbers have no order)");
      }
    });
  }
}

}  // namespace ember::optim
