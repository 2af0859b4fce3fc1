// The kernels of gradient clipping (optim/clip.hpp) on the gradients' device: the CPU kernels of
// backend/cpu/clip.hpp, or on CUDA ops on the GPU (real gradients only). Gradients arrive as
// TensorImpls (contiguous, of their parameter's dtype and shape, checked by the caller) and
// change in place.
#pragma once

#include <cmath>
#include <cstddef>
#include <type_traits>

#include <ember/backend/cpu/clip.hpp>
#include <ember/backend/optim.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/arith.hpp>
#include <ember/ops/reduce.hpp>
#include <ember/ops/reduce_more.hpp>
#include <ember/ops/unary.hpp>

namespace ember {

namespace backend {

// max that keeps a NaN once seen: how clip_grad_norm_ combines the parts for p = inf.
using cpu::nan_max;

// Σ|g|^p over one gradient (max|g| for p = inf), in double; for clip_grad_norm_. `index`
// names the parameter in errors. On CUDA as ops on the GPU (real dtypes only).
template <class T>
double grad_norm_part(const TensorImpl& p, double norm_type, const char* op, size_t index) {
  const TensorImpl& g = *p.grad;
  if (!tensor_on_cuda(op, g)) {
    const T* data = static_cast<const T*>(g.storage->data()) + g.offset;
    return cpu::grad_norm_part(data, g.numel(), norm_type);
  }
  if constexpr (is_complex_v<T>) {
    fail(op, ": parameter ", index,
         " has a complex gradient on CUDA; clipping supports real ones there");
  } else {
    NoGradGuard no_grad;
    const Tensor<T> gt(p.grad);  // shares the gradient's storage
    if (std::isinf(norm_type)) return double(amax(abs(gt)).item());
    if (norm_type == 1) return double(sum(abs(gt)).item());
    if (norm_type == 2) return double(sum(mul(gt, gt)).item());
    return double(sum(pow(abs(gt), T(norm_type))).item());
  }
}

// g *= coef in place (a gradient whose norm was taken: real on CUDA); bumps its version.
inline void scale_grad_(const ImplPtr& gp, double coef, const char* op) {
  TensorImpl& g = *gp;
  if (tensor_on_cuda(op, g)) {
    visit_dtype(g.dtype, [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      if constexpr (std::is_floating_point_v<T>) {
        NoGradGuard no_grad;
        Tensor<T> gt(gp);
        gt.copy_(mul(gt, T(coef)));  // copy_ bumps the version
      }
    });
    return;
  }
  visit_real_dtype(g.dtype, op, [&](auto* tag) {
    using R = std::remove_pointer_t<decltype(tag)>;
    cpu::scale_grad(real_data<R>(g), real_numel(g), R(coef));
  });
  ++g.version;
}

// g clamped into [lo, hi] in place (a real gradient); bumps its version.
template <class T>
void clamp_grad_(const ImplPtr& gp, T lo, T hi, const char* op) {
  TensorImpl& g = *gp;
  if (tensor_on_cuda(op, g)) {  // as ops on the GPU
    NoGradGuard no_grad;
    Tensor<T> gt(gp);
    gt.copy_(clamp(gt, lo, hi));
    return;
  }
  cpu::clamp_grad(static_cast<T*>(g.storage->data()) + g.offset, g.numel(), lo, hi);
  ++g.version;
}

}  // namespace backend
}  // namespace ember
