// Elementwise kernels of two or three tensors broadcast together, on their device: the binary
// ops of ops/arith.hpp (add, sub, mul, div, pow), maximum / minimum and the weights of their
// gradient, the predicates of ops/compare.hpp (comparisons, logical ops, isnan, isinf,
// isfinite) and where. The CPU maps of backend/cpu/elementwise.hpp or the CUDA kernels
// of cuda/ember/cuda/elementwise.cuh, both applying the one formula of each op below
// (binary_value, predicate_value: host and device). Complex add, sub, mul and div on CUDA run
// the complex kernels of backend/complex.hpp. Kernels only: the ops record the gradient rules.
#pragma once

#include <cmath>
#include <complex>
#include <cstdint>
#include <type_traits>

#include <ember/backend/complex.hpp>
#include <ember/backend/cpu/elementwise.hpp>
#include <ember/backend/cuda/api.hpp>
#include <ember/backend/device.hpp>
#include <ember/backend/pointwise.hpp>  // elementwise_layout, EMBER_HOST_DEVICE
#include <ember/core/tensor_class.hpp>

namespace ember {

namespace cuda {

// Ops giving a bool tensor: comparisons of a with b (or with a scalar when b is null),
// logical and / or of a and b (non-zero is true), and the one-operand Not, IsNan, IsInf,
// IsFinite. (BinaryOp is in api.hpp: the complex kernels take it too.)
enum class PredicateOp : int { Eq, Ne, Lt, Le, Gt, Ge, And, Or, Not, IsNan, IsInf, IsFinite };

// out = op(a, b) over l (operands 0: out, 1: a, 2: b); for T = float and double.
template <class T>
void binary(BinaryOp op, T* out, const T* a, const T* b, const StridedLayout& l, int device);
// out = op(a, b) (or op(a, scalar) when b is null, or op(a)) as bool; layout operands are
// (out, a, b). For T = float, double and bool.
template <class T>
void predicate(PredicateOp op, bool* out, const T* a, const T* b, double scalar,
               const StridedLayout& l, int device);
// out = cond ? a : b. l is the layout of (out, a, b) and lc of (out, cond), both over the same
// shape: their linear indices name the same element (make_layout keeps row-major order).
template <class T>
void where(T* out, const bool* cond, const T* a, const T* b, const StridedLayout& l,
           const StridedLayout& lc, int device);

}  // namespace cuda

namespace elementwise {

// a (op) b: the CPU map and the CUDA kernel both apply this.
template <cuda::BinaryOp Op, class T>
EMBER_HOST_DEVICE T binary_value(T a, T b) {
  using cuda::BinaryOp;
  if constexpr (Op == BinaryOp::Add) {
    return a + b;
  } else if constexpr (Op == BinaryOp::Sub) {
    return a - b;
  } else if constexpr (Op == BinaryOp::Mul) {
    return a * b;
  } else if constexpr (Op == BinaryOp::Div) {
    return a / b;
  } else if constexpr (Op == BinaryOp::Pow) {
    using std::pow;
    return T(pow(a, b));
  } else if constexpr (Op == BinaryOp::Maximum) {
    return (a > b || a != a) ? a : b;  // NaN propagates, as torch.maximum
  } else if constexpr (Op == BinaryOp::Minimum) {
    return (a < b || a != a) ? a : b;
  } else if constexpr (Op == BinaryOp::MaxWeight) {  // maximum's gradient weight of a
    return a == b ? T(0.5) : T(!(a < b));
  } else if constexpr (Op == BinaryOp::MinWeight) {
    return a == b ? T(0.5) : T(!(a > b));
  } else if constexpr (Op == BinaryOp::EqMask) {
    return a == b ? T(1) : T(0);
  } else {  // DivOrZero
    return b > T(0) ? a / b : T(0);
  }
}

// op(a, b) (the one-operand ops read a only). NaN and infinity by IEEE comparisons: no name
// lookup of isnan, which ember::isnan could hide. A complex value is NaN / infinite when
// either part is, finite when both are.
template <cuda::PredicateOp Op, class T>
EMBER_HOST_DEVICE bool predicate_value(T a, T b) {
  using cuda::PredicateOp;
  if constexpr (Op == PredicateOp::Eq) {
    return a == b;
  } else if constexpr (Op == PredicateOp::Ne) {
    return a != b;
  } else if constexpr (Op == PredicateOp::Lt) {
    return a < b;
  } else if constexpr (Op == PredicateOp::Le) {
    return a <= b;
  } else if constexpr (Op == PredicateOp::Gt) {
    return a > b;
  } else if constexpr (Op == PredicateOp::Ge) {
    return a >= b;
  } else if constexpr (Op == PredicateOp::And) {
    return a != T(0) && b != T(0);
  } else if constexpr (Op == PredicateOp::Or) {
    return a != T(0) || b != T(0);
  } else if constexpr (Op == PredicateOp::Not) {
    return a == T(0);
  } else if constexpr (is_complex_v<T>) {
    using R = typename T::value_type;
    const bool re = predicate_value<Op, R>(a.real(), R(0));
    const bool im = predicate_value<Op, R>(a.imag(), R(0));
    return Op == PredicateOp::IsFinite ? re && im : re || im;
  } else if constexpr (std::is_floating_point_v<T>) {
    if constexpr (Op == PredicateOp::IsNan)
      return a != a;
    else if constexpr (Op == PredicateOp::IsInf)
      return a == T(INFINITY) || a == T(-INFINITY);
    else
      return a - a == T(0);  // NaN for NaN and +-inf
  } else {  // bool and integers: never NaN or infinite
    return Op == PredicateOp::IsFinite;
  }
}

}  // namespace elementwise

namespace backend {

using cuda::BinaryOp;
using cuda::PredicateOp;

namespace detail {

// The complex kernels have add, sub, mul and div.
template <cuda::BinaryOp Op>
inline constexpr bool complex_binary_kernel_v = Op == cuda::BinaryOp::Add ||
                                                Op == cuda::BinaryOp::Sub ||
                                                Op == cuda::BinaryOp::Mul ||
                                                Op == cuda::BinaryOp::Div;

// Predicates have CUDA kernels for bool inputs too.
template <class T>
inline constexpr bool cuda_predicate_kernels_v =
    cuda_kernels_v<T> || (cuda_built && std::is_same_v<T, bool>);

// op(a, b), op(a, scalar) when b is undefined, or op(a) for the one-operand ops, on CUDA.
template <cuda::PredicateOp Op, class T>
Tensor<bool> predicate_cuda(const Tensor<T>& a, const Tensor<T>& b, double scalar,
                            const char* name) {
  if constexpr (!cuda_predicate_kernels_v<T>) {
    fail(name, ": the CUDA backend has kernels for float32, float64 and bool only, got ",
         dtype_name(dtype_v<T>));
  } else {
    const Shape shape = b.defined() ? broadcast_shapes(a.shape(), b.shape(), name) : a.shape();
    Tensor<bool> out = Tensor<bool>::empty(shape, a.device());
    if (out.numel() == 0) return out;
    Tensor<T> ea = a.detach().expand(shape), eb = b.defined() ? b.detach().expand(shape) : ea;
    cuda::StridedLayout l;
    if (!cuda::make_layout(l, shape, {&out.strides(), &ea.strides(), &eb.strides()})) {
      ea = ea.contiguous();
      eb = b.defined() ? eb.contiguous() : ea;
      cuda::make_layout(l, shape, {&out.strides(), &ea.strides(), &eb.strides()});
    }
    cuda::predicate(Op, out.data_ptr(), ea.data_ptr(), b.defined() ? eb.data_ptr() : nullptr,
                    scalar, l, a.device().index);
    return out;
  }
}

}  // namespace detail

// a (op) b with broadcasting; a fresh contiguous tensor.
template <cuda::BinaryOp Op, class T>
Tensor<T> binary(const Tensor<T>& a, const Tensor<T>& b, const char* name) {
  if (on_cuda(name, a, b)) {
    if constexpr (cuda_kernels_v<T>) {
      const Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
      Tensor<T> out = Tensor<T>::empty(shape, a.device());
      if (out.numel() == 0) return out;
      Tensor<T> ea = a.detach().expand(shape), eb = b.detach().expand(shape);
      const cuda::StridedLayout l = cuda::elementwise_layout(out, ea, &eb);
      cuda::binary(Op, out.data_ptr(), ea.data_ptr(), eb.data_ptr(), l, a.device().index);
      return out;
    } else if constexpr (is_complex_v<T> && detail::complex_binary_kernel_v<Op>) {
      return backend::complex_binary(Op, a, b, name);  // backend/complex.hpp
    }
    no_cuda_kernel<T>(name);
  }
  return cpu::map_binary<T>(a, b, name,
                            [](T x, T y) { return elementwise::binary_value<Op>(x, y); });
}

// op(a, b) with broadcasting, as bool.
template <cuda::PredicateOp Op, class T>
Tensor<bool> predicate(const Tensor<T>& a, const Tensor<T>& b, const char* name) {
  if (on_cuda(name, a, b)) return detail::predicate_cuda<Op>(a, b, 0.0, name);
  return cpu::map_binary<bool>(a, b, name,
                               [](T x, T y) { return elementwise::predicate_value<Op>(x, y); });
}

// op(a, s) for a scalar s (real on CUDA), as bool.
template <cuda::PredicateOp Op, class T>
Tensor<bool> predicate_scalar(const Tensor<T>& a, T s, const char* name) {
  if (on_cuda(name, a)) {
    if constexpr (!is_complex_v<T>)
      return detail::predicate_cuda<Op>(a, Tensor<T>(), double(s), name);
    no_cuda_kernel<T>(name);
  }
  return cpu::map_unary<bool>(a, [s](T v) { return elementwise::predicate_value<Op>(v, s); });
}

// op(x) for the one-operand predicates (Not, IsNan, IsInf, IsFinite).
template <cuda::PredicateOp Op, class T>
Tensor<bool> predicate(const Tensor<T>& x, const char* name) {
  if (on_cuda(name, x)) return detail::predicate_cuda<Op>(x, Tensor<T>(), 0.0, name);
  return cpu::map_unary<bool>(x, [](T v) { return elementwise::predicate_value<Op>(v, v); });
}

// cond ? a : b, all three broadcast together.
template <class T>
Tensor<T> where(const Tensor<bool>& cond, const Tensor<T>& a, const Tensor<T>& b,
                const char* name) {
  if (on_cuda(name, cond, a, b)) {
    if constexpr (cuda_kernels_v<T>) {
      const Shape shape =
          broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), name), b.shape(), name);
      Tensor<T> out = Tensor<T>::empty(shape, a.device());
      if (out.numel() == 0) return out;
      Tensor<T> ea = a.detach().expand(shape), eb = b.detach().expand(shape);
      Tensor<bool> ec = cond.detach().expand(shape);
      const cuda::StridedLayout l = cuda::elementwise_layout(out, ea, &eb);
      cuda::StridedLayout lc;
      if (!cuda::make_layout(lc, shape, {&out.strides(), &ec.strides()})) {
        ec = ec.contiguous();
        cuda::make_layout(lc, shape, {&out.strides(), &ec.strides()});
      }
      cuda::where(out.data_ptr(), ec.data_ptr(), ea.data_ptr(), eb.data_ptr(), l, lc,
                  a.device().index);
      return out;
    }
    no_cuda_kernel<T>(name);
  }
  return cpu::map_ternary<T>(cond, a, b, name, [](bool c, T x, T y) { return c ? x : y; });
}

}  // namespace backend
}  // namespace ember
