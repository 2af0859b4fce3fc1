// Comparisons (eq, ne, lt, le, gt, ge) and logical ops giving Tensor<bool>; isnan, isinf,
// isfinite; where, maximum and minimum with gradients. The kernels are in
// backend/elementwise.hpp.
//
// Comparisons broadcast like arithmetic and have no gradient (their output is bool). where,
// maximum and minimum route the output gradient to their inputs through constant masks and
// sum_to, so their rules are differentiable in the gradient and second derivatives work.
#pragma once

#include <type_traits>

#include <ember/backend/elementwise.hpp>
#include <ember/core/tensor.hpp>

namespace ember {

// ---------------------------------------------------------------- comparisons

template <class T>
Tensor<bool> eq(const Tensor<T>& a, const Tensor<T>& b) {
  return backend::predicate<backend::PredicateOp::Eq>(a, b, "eq");
}
template <class T>
Tensor<bool> eq(const Tensor<T>& a, std::type_identity_t<T> s) {
  return backend::predicate_scalar<backend::PredicateOp::Eq>(a, T(s), "eq");
}

template <class T>
Tensor<bool> ne(const Tensor<T>& a, const Tensor<T>& b) {
  return backend::predicate<backend::PredicateOp::Ne>(a, b, "ne");
}
template <class T>
Tensor<bool> ne(const Tensor<T>& a, std::type_identity_t<T> s) {
  return backend::predicate_scalar<backend::PredicateOp::Ne>(a, T(s), "ne");
}

template <class T>
Tensor<bool> lt(const Tensor<T>& a, const Tensor<T>& b) {
  static_assert(!is_complex_v<T>, "lt: complex tensors have no order");
  return backend::predicate<backend::PredicateOp::Lt>(a, b, "lt");
}
template <class T>
Tensor<bool> lt(const Tensor<T>& a, std::type_identity_t<T> s) {
  static_assert(!is_complex_v<T>, "lt: complex tensors have no order");
  return backend::predicate_scalar<backend::PredicateOp::Lt>(a, T(s), "lt");
}

template <class T>
Tensor<bool> le(const Tensor<T>& a, const Tensor<T>& b) {
  static_assert(!is_complex_v<T>, "le: complex tensors have no order");
  return backend::predicate<backend::PredicateOp::Le>(a, b, "le");
}
template <class T>
Tensor<bool> le(const Tensor<T>& a, std::type_identity_t<T> s) {
  static_assert(!is_complex_v<T>, "le: complex tensors have no order");
  return backend::predicate_scalar<backend::PredicateOp::Le>(a, T(s), "le");
}

template <class T>
Tensor<bool> gt(const Tensor<T>& a, const Tensor<T>& b) {
  static_assert(!is_complex_v<T>, "gt: complex tensors have no order");
  return backend::predicate<backend::PredicateOp::Gt>(a, b, "gt");
}
template <class T>
Tensor<bool> gt(const Tensor<T>& a, std::type_identity_t<T> s) {
  static_assert(!is_complex_v<T>, "gt: complex tensors have no order");
  return backend::predicate_scalar<backend::PredicateOp::Gt>(a, T(s), "gt");
}

template <class T>
Tensor<bool> ge(const Tensor<T>& a, const Tensor<T>& b) {
  static_assert(!is_complex_v<T>, "ge: complex tensors have no order");
  return backend::predicate<backend::PredicateOp::Ge>(a, b, "ge");
}
template <class T>
Tensor<bool> ge(const Tensor<T>& a, std::type_identity_t<T> s) {
  static_assert(!is_complex_v<T>, "ge: complex tensors have no order");
  return backend::predicate_scalar<backend::PredicateOp::Ge>(a, T(s), "ge");
}

// ---------------------------------------------------------------- logical

// Non-zero counts as true, as in PyTorch; usually applied to Tensor<bool>.
template <class T>
Tensor<bool> logical_not(const Tensor<T>& x) {
  return backend::predicate<backend::PredicateOp::Not>(x, "logical_not");
}

template <class T>
Tensor<bool> logical_and(const Tensor<T>& a, const Tensor<T>& b) {
  return backend::predicate<backend::PredicateOp::And>(a, b, "logical_and");
}

template <class T>
Tensor<bool> logical_or(const Tensor<T>& a, const Tensor<T>& b) {
  return backend::predicate<backend::PredicateOp::Or>(a, b, "logical_or");
}

// ---------------------------------------------------------------- isnan, isinf, isfinite

// For complex values: NaN / infinite / finite in either part, as in PyTorch.
template <class T>
Tensor<bool> isnan(const Tensor<T>& x) {
  static_assert(is_differentiable_v<T>, "isnan: needs a floating-point or complex tensor");
  return backend::predicate<backend::PredicateOp::IsNan>(x, "isnan");
}

template <class T>
Tensor<bool> isinf(const Tensor<T>& x) {
  static_assert(is_differentiable_v<T>, "isinf: needs a floating-point or complex tensor");
  return backend::predicate<backend::PredicateOp::IsInf>(x, "isinf");
}

template <class T>
Tensor<bool> isfinite(const Tensor<T>& x) {
  static_assert(is_differentiable_v<T>, "isfinite: needs a floating-point or complex tensor");
  return backend::predicate<backend::PredicateOp::IsFinite>(x, "isfinite");
}

// ---------------------------------------------------------------- where

template <class T>
Tensor<T> where(const Tensor<bool>& cond, const Tensor<T>& a, std::type_identity_t<T> b);
template <class T>
Tensor<T> where(const Tensor<bool>& cond, std::type_identity_t<T> a, const Tensor<T>& b);

// cond ? a : b elementwise; cond, a and b broadcast together. The gradient goes to a where
// cond holds and to b elsewhere, summed back to each input's shape.
template <class T>
Tensor<T> where(const Tensor<bool>& cond, const Tensor<T>& a, const Tensor<T>& b) {
  Tensor<T> out = backend::where(cond, a, b, "where");
  if constexpr (is_differentiable_v<T>) {
    if (any_requires_grad(a, b))
      record(out, "where", {a, b},
             [cond, sa = a.shape(), sb = b.shape(), ga = a.requires_grad(),
              gb = b.requires_grad()](const Tensor<T>& g) -> Grads {
               return {ga ? sum_to(where(cond, g, T(0)), sa) : AnyTensor(),
                       gb ? sum_to(where(cond, T(0), g), sb) : AnyTensor()};
             });
  }
  return out;
}

// cond ? a : b with a scalar b (a 0-d tensor on a's device, broadcast).
template <class T>
Tensor<T> where(const Tensor<bool>& cond, const Tensor<T>& a, std::type_identity_t<T> b) {
  Tensor<T> out = backend::where(cond, a, Tensor<T>::full({}, T(b), a.device()), "where");
  if constexpr (is_differentiable_v<T>) {
    if (any_requires_grad(a))
      record(out, "where", {a}, [cond, sa = a.shape()](const Tensor<T>& g) -> Grads {
        return {sum_to(where(cond, g, T(0)), sa)};
      });
  }
  return out;
}

// cond ? a : b with a scalar a.
template <class T>
Tensor<T> where(const Tensor<bool>& cond, std::type_identity_t<T> a, const Tensor<T>& b) {
  Tensor<T> out = backend::where(cond, Tensor<T>::full({}, T(a), b.device()), b, "where");
  if constexpr (is_differentiable_v<T>) {
    if (any_requires_grad(b))
      record(out, "where", {b}, [cond, sb = b.shape()](const Tensor<T>& g) -> Grads {
        return {sum_to(where(cond, T(0), g), sb)};
      });
  }
  return out;
}

// ---------------------------------------------------------------- maximum, minimum

namespace detail {

// Elementwise max or min with broadcasting, NaN propagating (as torch.maximum does). The
// gradient follows PyTorch: all of it to the winner, half to each input on a tie.
template <bool Max, class T>
Tensor<T> extremum(const Tensor<T>& a, const Tensor<T>& b, const char* op) {
  static_assert(!is_complex_v<T>, "maximum, minimum: complex numbers have no order");
  using backend::BinaryOp;
  Tensor<T> out = backend::binary<Max ? BinaryOp::Maximum : BinaryOp::Minimum>(a, b, op);
  if constexpr (is_differentiable_v<T>) {
    if (any_requires_grad(a, b))
      record(out, op, {a, b}, [a, b, op](const Tensor<T>& g) -> Grads {
        // Weight of a: 1/2 on a tie, 0 where a loses, 1 otherwise (so NaN passes to both).
        // The weights are constants: their derivative is zero almost everywhere.
        auto weight = [op](const Tensor<T>& self, const Tensor<T>& other) {
          return backend::binary<Max ? BinaryOp::MaxWeight : BinaryOp::MinWeight>(
              self.detach(), other.detach(), op);
        };
        return {a.requires_grad() ? sum_to(mul(g, weight(a, b)), a.shape()) : AnyTensor(),
                b.requires_grad() ? sum_to(mul(g, weight(b, a)), b.shape()) : AnyTensor()};
      });
  }
  return out;
}

}  // namespace detail

template <class T>
Tensor<T> maximum(const Tensor<T>& a, const Tensor<T>& b) {
  return detail::extremum<true>(a, b, "maximum");
}

template <class T>
Tensor<T> minimum(const Tensor<T>& a, const Tensor<T>& b) {
  return detail::extremum<false>(a, b, "minimum");
}

}  // namespace ember
