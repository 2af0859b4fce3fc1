// Arithmetic with broadcasting: add, sub, mul, div, neg, pow, conj, and the operators. The
// kernels are in backend/elementwise.hpp (two tensors), backend/pointwise.hpp (a tensor and a
// scalar) and backend/complex.hpp (conj).
//
// Gradient contract (here and in every ops/ file): a rule receives the gradient of the
// output and returns one gradient per input, reduced back to that input's shape with sum_to
// (broadcasting in forward is a sum in backward). For complex tensors the rules follow
// PyTorch: grad_input = grad_output * conj(d output / d input). Rules are written with these
// same differentiable ops, so create_graph gives second derivatives.
#pragma once

#include <cmath>
#include <complex>
#include <type_traits>

#include <ember/backend/complex.hpp>
#include <ember/backend/elementwise.hpp>
#include <ember/backend/pointwise.hpp>
#include <ember/core/tensor_class.hpp>

namespace ember {

template <class T> Tensor<T> sum_to(const Tensor<T>& t, const Shape& shape);  // ops/reduce.hpp

template <class T>
void check_same_device(const Tensor<T>& a, const Tensor<T>& b, const char* op) {
  EMBER_CHECK(a.device() == b.device(), op, ": operands are on different devices (",
              a.device().str(), " and ", b.device().str(), ")");
  check_cpu(a.device(), op);
}

// Complex conjugate; the identity (same tensor) on real types.
template <class T>
Tensor<T> conj(const Tensor<T>& x) {
  if constexpr (!is_complex_v<T>) {
    return x;
  } else {
    Tensor<T> out = backend::complex_unary(backend::ComplexUnaryOp::Conj, x, T(0), "conj");
    if (any_requires_grad(x))
      record(out, "conj", {x}, [](const Tensor<T>& g) -> Grads { return {conj(g)}; });
    return out;
  }
}

template <class T>
Tensor<T> add(const Tensor<T>& a, const Tensor<T>& b) {
  Tensor<T> out = backend::binary<backend::BinaryOp::Add>(a, b, "add");
  if (any_requires_grad(a, b))
    record(out, "add", {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor<T>& g) -> Grads {
      return {sum_to(g, sa), sum_to(g, sb)};
    });
  return out;
}

template <class T>
Tensor<T> sub(const Tensor<T>& a, const Tensor<T>& b) {
  Tensor<T> out = backend::binary<backend::BinaryOp::Sub>(a, b, "sub");
  if (any_requires_grad(a, b))
    record(out, "sub", {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor<T>& g) -> Grads {
      return {sum_to(g, sa), sum_to(neg(g), sb)};
    });
  return out;
}

template <class T>
Tensor<T> mul(const Tensor<T>& a, const Tensor<T>& b) {
  Tensor<T> out = backend::binary<backend::BinaryOp::Mul>(a, b, "mul");
  if (any_requires_grad(a, b))
    record(out, "mul", {a, b}, [a, b](const Tensor<T>& g) -> Grads {
      return {a.requires_grad() ? sum_to(mul(g, conj(b)), a.shape()) : AnyTensor(),
              b.requires_grad() ? sum_to(mul(g, conj(a)), b.shape()) : AnyTensor()};
    });
  return out;
}

template <class T>
Tensor<T> div(const Tensor<T>& a, const Tensor<T>& b) {
  Tensor<T> out = backend::binary<backend::BinaryOp::Div>(a, b, "div");
  if (any_requires_grad(a, b))
    record(out, "div", {a, b}, [a, b](const Tensor<T>& g) -> Grads {
      const Tensor<T> ga = div(g, conj(b));
      return {a.requires_grad() ? sum_to(ga, a.shape()) : AnyTensor(),
              b.requires_grad() ? sum_to(neg(mul(ga, conj(div(a, b)))), b.shape()) : AnyTensor()};
    });
  return out;
}

template <class T>
Tensor<T> neg(const Tensor<T>& x) {
  Tensor<T> out = backend::pointwise<pointwise::Op::Neg>(x, {}, "neg");
  if (any_requires_grad(x))
    record(out, "neg", {x}, [](const Tensor<T>& g) -> Grads { return {neg(g)}; });
  return out;
}

// ---------------------------------------------------------------- with a scalar

template <class T>
Tensor<T> add(const Tensor<T>& a, std::type_identity_t<T> s) {
  Tensor<T> out = backend::pointwise<pointwise::Op::AddScalar>(a, {s}, "add");
  if (any_requires_grad(a)) record(out, "add_scalar", {a}, [](const Tensor<T>& g) -> Grads { return {g}; });
  return out;
}

template <class T>
Tensor<T> mul(const Tensor<T>& a, std::type_identity_t<T> s) {
  Tensor<T> out = backend::pointwise<pointwise::Op::MulScalar>(a, {s}, "mul");
  if (any_requires_grad(a))
    record(out, "mul_scalar", {a}, [s](const Tensor<T>& g) -> Grads { return {mul(g, conj_scalar(s))}; });
  return out;
}

// s - a
template <class T>
Tensor<T> rsub(const Tensor<T>& a, std::type_identity_t<T> s) {
  Tensor<T> out = backend::pointwise<pointwise::Op::RSubScalar>(a, {s}, "rsub");
  if (any_requires_grad(a)) record(out, "rsub_scalar", {a}, [](const Tensor<T>& g) -> Grads { return {neg(g)}; });
  return out;
}

// s / a
template <class T>
Tensor<T> rdiv(const Tensor<T>& a, std::type_identity_t<T> s) {
  Tensor<T> out = backend::pointwise<pointwise::Op::RDivScalar>(a, {s}, "rdiv");
  if (any_requires_grad(a))
    record(out, "rdiv_scalar", {a}, [a, s](const Tensor<T>& g) -> Grads {
      // d(s/a)/da = -s/a^2
      return {mul(g, conj(neg(rdiv(mul(a, a), s))))};
    });
  return out;
}

// a ** p for a scalar exponent.
template <class T>
Tensor<T> pow(const Tensor<T>& a, std::type_identity_t<T> p) {
  Tensor<T> out = backend::pointwise<pointwise::Op::PowScalar>(a, {p}, "pow");
  if (any_requires_grad(a))
    record(out, "pow_scalar", {a}, [a, p](const Tensor<T>& g) -> Grads {
      if (p == T(0)) return {Tensor<T>::zeros(a.shape(), a.device())};
      return {mul(g, conj(mul(pow(a, p - T(1)), p)))};
    });
  return out;
}

template <class T> Tensor<T> log(const Tensor<T>& x);  // ops/unary.hpp

// a ** b elementwise, both tensors.
template <class T>
Tensor<T> pow(const Tensor<T>& a, const Tensor<T>& b) {
  Tensor<T> out = backend::binary<backend::BinaryOp::Pow>(a, b, "pow");
  if (any_requires_grad(a, b))
    record(out, "pow", {a, b}, [a, b](const Tensor<T>& g) -> Grads {
      AnyTensor ga, gb;
      if (a.requires_grad()) ga = sum_to(mul(g, conj(mul(b, pow(a, sub(b, Tensor<T>::ones({}, b.device())))))), a.shape());
      if (b.requires_grad()) {
        // d(a^b)/db = a^b log a; taken as 0 where a == 0 (and b > 0), as PyTorch does.
        Tensor<T> d = mul(pow(a, b), GradMode::is_enabled() && a.requires_grad()
                                         ? log(a)
                                         : backend::pointwise<pointwise::Op::SafeLog>(
                                               a.detach(), {}, "pow_backward"));
        gb = sum_to(mul(g, conj(d)), b.shape());
      }
      return {ga, gb};
    });
  return out;
}

// ---------------------------------------------------------------- operators

template <class T> Tensor<T> operator+(const Tensor<T>& a, const Tensor<T>& b) { return add(a, b); }
template <class T> Tensor<T> operator-(const Tensor<T>& a, const Tensor<T>& b) { return sub(a, b); }
template <class T> Tensor<T> operator*(const Tensor<T>& a, const Tensor<T>& b) { return mul(a, b); }
template <class T> Tensor<T> operator/(const Tensor<T>& a, const Tensor<T>& b) { return div(a, b); }
template <class T> Tensor<T> operator-(const Tensor<T>& a) { return neg(a); }

template <class T> Tensor<T> operator+(const Tensor<T>& a, std::type_identity_t<T> s) { return add(a, s); }
template <class T> Tensor<T> operator+(std::type_identity_t<T> s, const Tensor<T>& a) { return add(a, s); }
template <class T> Tensor<T> operator-(const Tensor<T>& a, std::type_identity_t<T> s) { return add(a, T(-s)); }
template <class T> Tensor<T> operator-(std::type_identity_t<T> s, const Tensor<T>& a) { return rsub(a, s); }
template <class T> Tensor<T> operator*(const Tensor<T>& a, std::type_identity_t<T> s) { return mul(a, s); }
template <class T> Tensor<T> operator*(std::type_identity_t<T> s, const Tensor<T>& a) { return mul(a, s); }
template <class T> Tensor<T> operator/(const Tensor<T>& a, std::type_identity_t<T> s) { return mul(a, T(1) / s); }
template <class T> Tensor<T> operator/(std::type_identity_t<T> s, const Tensor<T>& a) { return rdiv(a, s); }

}  // namespace ember
