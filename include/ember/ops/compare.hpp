// Comparisons (eq, ne, lt, le, gt, ge) and logical ops giving Tensor<bool>; isnan, isinf,
// isfinite; where, maximum and minimum with gradients.
//
// Comparisons broadcast like arithmetic and have no gradient (their output is bool). where,
// maximum and minimum route the output gradient to their inputs through constant masks and
// sum_to, so their rules are differentiable in the gradient and second derivatives work.
#pragma once

#include <cmath>
#include <complex>
#include <type_traits>

#include <ember/backend/cpu/elementwise.hpp>
#include <ember/backend/cuda/dispatch.hpp>
#include <ember/core/tensor.hpp>

namespace ember {

namespace detail {

template <class A, class B>
void check_same_device2(const Tensor<A>& a, const Tensor<B>& b, const char* op) {
  EMBER_CHECK(a.device() == b.device(), op, ": operands are on different devices (",
              a.device().str(), " and ", b.device().str(), ")");
  check_cpu(a.device(), op);
}

// pop: the same predicate for the CUDA kernel.
template <class T, class F>
Tensor<bool> compare(const Tensor<T>& a, const Tensor<T>& b, const char* op, cuda::PredicateOp pop,
                     F f) {
  if (cuda::use_cuda(op, a, b)) return cuda::predicate(pop, a, b, 0.0, op);
  check_same_device2(a, b, op);
  return cpu::map_binary<bool>(a, b, op, f);
}

template <class T, class F>
Tensor<bool> compare(const Tensor<T>& a, T s, const char* op, cuda::PredicateOp pop, F f) {
  if (cuda::use_cuda(op, a)) {
    if constexpr (is_complex_v<T>)  // the kernel's scalar is real
      fail(op, ": the CUDA backend has no kernels for complex tensors");
    else
      return cuda::predicate(pop, a, Tensor<T>(), double(s), op);
  }
  check_cpu(a.device(), op);
  return cpu::map_unary<bool>(a, [s, f](T v) { return f(v, s); });
}

}  // namespace detail

// ---------------------------------------------------------------- comparisons

template <class T>
Tensor<bool> eq(const Tensor<T>& a, const Tensor<T>& b) {
  return detail::compare(a, b, "eq", cuda::PredicateOp::Eq, [](T x, T y) { return x == y; });
}
template <class T>
Tensor<bool> eq(const Tensor<T>& a, std::type_identity_t<T> s) {
  return detail::compare(a, T(s), "eq", cuda::PredicateOp::Eq, [](T x, T y) { return x == y; });
}

template <class T>
Tensor<bool> ne(const Tensor<T>& a, const Tensor<T>& b) {
  return detail::compare(a, b, "ne", cuda::PredicateOp::Ne, [](T x, T y) { return x != y; });
}
template <class T>
Tensor<bool> ne(const Tensor<T>& a, std::type_identity_t<T> s) {
  return detail::compare(a, T(s), "ne", cuda::PredicateOp::Ne, [](T x, T y) { return x != y; });
}

template <class T>
Tensor<bool> lt(const Tensor<T>& a, const Tensor<T>& b) {
  static_assert(!is_complex_v<T>, "lt: complex tensors have no order");
  return detail::compare(a, b, "lt", cuda::PredicateOp::Lt, [](T x, T y) { return x < y; });
}
template <class T>
Tensor<bool> lt(const Tensor<T>& a, std::type_identity_t<T> s) {
  static_assert(!is_complex_v<T>, "lt: complex tensors have no order");
  return detail::compare(a, T(s), "lt", cuda::PredicateOp::Lt, [](T x, T y) { return x < y; });
}

template <class T>
Tensor<bool> le(const Tensor<T>& a, const Tensor<T>& b) {
  static_assert(!is_complex_v<T>, "le: complex tensors have no order");
  return detail::compare(a, b, "le", cuda::PredicateOp::Le, [](T x, T y) { return x <= y; });
}
template <class T>
Tensor<bool> le(const Tensor<T>& a, std::type_identity_t<T> s) {
  static_assert(!is_complex_v<T>, "le: complex tensors have no order");
  return detail::compare(a, T(s), "le", cuda::PredicateOp::Le, [](T x, T y) { return x <= y; });
}

template <class T>
Tensor<bool> gt(const Tensor<T>& a, const Tensor<T>& b) {
  static_assert(!is_complex_v<T>, "gt: complex tensors have no order");
  return detail::compare(a, b, "gt", cuda::PredicateOp::Gt, [](T x, T y) { return x > y; });
}
template <class T>
Tensor<bool> gt(const Tensor<T>& a, std::type_identity_t<T> s) {
  static_assert(!is_complex_v<T>, "gt: complex tensors have no order");
  return detail::compare(a, T(s), "gt", cuda::PredicateOp::Gt, [](T x, T y) { return x > y; });
}

template <class T>
Tensor<bool> ge(const Tensor<T>& a, const Tensor<T>& b) {
  static_assert(!is_complex_v<T>, "ge: complex tensors have no order");
  return detail::compare(a, b, "ge", cuda::PredicateOp::Ge, [](T x, T y) { return x >= y; });
}
template <class T>
Tensor<bool> ge(const Tensor<T>& a, std::type_identity_t<T> s) {
  static_assert(!is_complex_v<T>, "ge: complex tensors have no order");
  return detail::compare(a, T(s), "ge", cuda::PredicateOp::Ge, [](T x, T y) { return x >= y; });
}

// ---------------------------------------------------------------- logical

// Non-zero counts as true, as in PyTorch; usually applied to Tensor<bool>.
template <class T>
Tensor<bool> logical_not(const Tensor<T>& x) {
  if (cuda::use_cuda("logical_not", x))
    return cuda::predicate(cuda::PredicateOp::Not, x, Tensor<T>(), 0.0, "logical_not");
  check_cpu(x.device(), "logical_not");
  return cpu::map_unary<bool>(x, [](T v) { return v == T(0); });
}

template <class T>
Tensor<bool> logical_and(const Tensor<T>& a, const Tensor<T>& b) {
  return detail::compare(a, b, "logical_and", cuda::PredicateOp::And,
                         [](T x, T y) { return x != T(0) && y != T(0); });
}

template <class T>
Tensor<bool> logical_or(const Tensor<T>& a, const Tensor<T>& b) {
  return detail::compare(a, b, "logical_or", cuda::PredicateOp::Or,
                         [](T x, T y) { return x != T(0) || y != T(0); });
}

// ---------------------------------------------------------------- isnan, isinf, isfinite

// For complex values: NaN / infinite / finite in either part, as in PyTorch.
template <class T>
Tensor<bool> isnan(const Tensor<T>& x) {
  static_assert(is_differentiable_v<T>, "isnan: needs a floating-point or complex tensor");
  if (cuda::use_cuda("isnan", x))
    return cuda::predicate(cuda::PredicateOp::IsNan, x, Tensor<T>(), 0.0, "isnan");
  check_cpu(x.device(), "isnan");
  return cpu::map_unary<bool>(x, [](T v) {
    if constexpr (is_complex_v<T>)
      return std::isnan(v.real()) || std::isnan(v.imag());
    else
      return std::isnan(v);
  });
}

template <class T>
Tensor<bool> isinf(const Tensor<T>& x) {
  static_assert(is_differentiable_v<T>, "isinf: needs a floating-point or complex tensor");
  if (cuda::use_cuda("isinf", x))
    return cuda::predicate(cuda::PredicateOp::IsInf, x, Tensor<T>(), 0.0, "isinf");
  check_cpu(x.device(), "isinf");
  return cpu::map_unary<bool>(x, [](T v) {
    if constexpr (is_complex_v<T>)
      return std::isinf(v.real()) || std::isinf(v.imag());
    else
      return std::isinf(v);
  });
}

template <class T>
Tensor<bool> isfinite(const Tensor<T>& x) {
  static_assert(is_differentiable_v<T>, "isfinite: needs a floating-point or complex tensor");
  if (cuda::use_cuda("isfinite", x))
    return cuda::predicate(cuda::PredicateOp::IsFinite, x, Tensor<T>(), 0.0, "isfinite");
  check_cpu(x.device(), "isfinite");
  return cpu::map_unary<bool>(x, [](T v) {
    if constexpr (is_complex_v<T>)
      return std::isfinite(v.real()) && std::isfinite(v.imag());
    else
      return std::isfinite(v);
  });
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
  Tensor<T> out;
  if (cuda::use_cuda("where", cond, a, b)) {
    out = cuda::where(cond, a, b, "where");
  } else {
    detail::check_same_device2(cond, a, "where");
    detail::check_same_device2(a, b, "where");
    out = cpu::map_ternary<T>(cond, a, b, "where", [](bool c, T x, T y) { return c ? x : y; });
  }
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

// cond ? a : b with a scalar b.
template <class T>
Tensor<T> where(const Tensor<bool>& cond, const Tensor<T>& a, std::type_identity_t<T> b) {
  Tensor<T> out;
  if (cuda::use_cuda("where", cond, a)) {  // b as a 0-d tensor, broadcast by the kernel
    out = cuda::where(cond, a, Tensor<T>::full({}, T(b), a.device()), "where");
  } else {
    detail::check_same_device2(cond, a, "where");
    out = cpu::map_binary<T>(cond, a, "where", [b](bool c, T x) { return c ? x : T(b); });
  }
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
  Tensor<T> out;
  if (cuda::use_cuda("where", cond, b)) {
    out = cuda::where(cond, Tensor<T>::full({}, T(a), b.device()), b, "where");
  } else {
    detail::check_same_device2(cond, b, "where");
    out = cpu::map_binary<T>(cond, b, "where", [a](bool c, T y) { return c ? T(a) : y; });
  }
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
template <class T>
Tensor<T> extremum(const Tensor<T>& a, const Tensor<T>& b, bool is_max, const char* op) {
  static_assert(!is_complex_v<T>, "maximum, minimum: complex tensors have no order");
  Tensor<T> out;
  if (cuda::use_cuda(op, a, b)) {
    out = cuda::binary(is_max ? cuda::BinaryOp::Maximum : cuda::BinaryOp::Minimum, a, b, op);
  } else {
    check_same_device2(a, b, op);
    out = is_max
              ? cpu::map_binary<T>(a, b, op, [](T x, T y) { return (x > y || x != x) ? x : y; })
              : cpu::map_binary<T>(a, b, op, [](T x, T y) { return (x < y || x != x) ? x : y; });
  }
  if constexpr (is_differentiable_v<T>) {
    if (any_requires_grad(a, b))
      record(out, op, {a, b}, [a, b, is_max, op](const Tensor<T>& g) -> Grads {
        // Weight of a: 1/2 on a tie, 0 where a loses, 1 otherwise (so NaN passes to both).
        // The weights are constants: their derivative is zero almost everywhere.
        auto weight = [is_max, op](const Tensor<T>& self, const Tensor<T>& other) {
          if (self.device().is_cuda())
            return cuda::binary(is_max ? cuda::BinaryOp::MaxWeight : cuda::BinaryOp::MinWeight,
                                self.detach(), other.detach(), op);
          return cpu::map_binary<T>(self.detach(), other.detach(), op, [is_max](T x, T y) {
            if (x == y) return T(0.5);
            return T(is_max ? !(x < y) : !(x > y));
          });
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
  return detail::extremum(a, b, true, "maximum");
}

template <class T>
Tensor<T> minimum(const Tensor<T>& a, const Tensor<T>& b) {
  return detail::extremum(a, b, false, "minimum");
}

}  // namespace ember
