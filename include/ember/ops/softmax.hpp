// softmax and log_softmax along one dimension, numerically stable (the row max is subtracted
// before exp); the kernels are in backend/softmax.hpp (CPU: backend/cpu/softmax.hpp).
//
// Gradients: softmax: y * (g - sum(g * y, dim)); log_softmax: g - exp(y) * sum(g, dim).
// In a plain backward (GradMode off) a fused kernel computes them; under create_graph the
// same formulas are built from differentiable ops, with y recomputed from x.
#pragma once

#include <cstdint>
#include <type_traits>

#include <ember/backend/softmax.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/arith.hpp>
#include <ember/ops/reduce.hpp>

namespace ember {

template <class T>
Tensor<T> softmax(const Tensor<T>& x, int64_t dim);
template <class T>
Tensor<T> log_softmax(const Tensor<T>& x, int64_t dim);

namespace detail {

template <class T, bool Log>
Tensor<T> softmax_op(const Tensor<T>& x, int64_t dim, const char* name) {
  static_assert(std::is_floating_point_v<T>,
                "softmax / log_softmax: need a float or double tensor");
  const int64_t d = wrap_dim(dim, x.dim(), name);
  Tensor<T> out = backend::softmax_forward<Log>(x, d, name);
  if (any_requires_grad(x))
    record(out, name, {x}, [x, y = out.detach(), d, name](const Tensor<T>& g) -> Grads {
      if (!GradMode::is_enabled()) return {backend::softmax_backward<Log>(g, y, d, name)};
      // create_graph: the same rule from differentiable ops, with softmax(x) recomputed so
      // that it is connected to x.
      const Tensor<T> p = softmax(x, d);
      if constexpr (Log)
        return {sub(g, mul(p, sum(g, {d}, true)))};
      else
        return {mul(p, sub(g, sum(mul(g, p), {d}, true)))};
    });
  return out;
}

}  // namespace detail

// exp(x) / sum(exp(x), dim), computed stably.
template <class T>
Tensor<T> softmax(const Tensor<T>& x, int64_t dim) {
  return detail::softmax_op<T, false>(x, dim, "softmax");
}

// x - logsumexp(x, dim): the log of softmax without its underflow.
template <class T>
Tensor<T> log_softmax(const Tensor<T>& x, int64_t dim) {
  return detail::softmax_op<T, true>(x, dim, "log_softmax");
}

}  // namespace ember
