// Complex elementwise kernels on the operands' device: the CPU maps of
// backend/cpu/elementwise.hpp (std::complex arithmetic) or the CUDA kernels of
// cuda/ember/cuda/complex.cuh. Kernels only; the ops record the rules:
//
//   complex_binary(op, a, b)     a (op) b with broadcasting, op Add, Sub, Mul or Div
//                                (ops/arith.hpp's add / sub / mul / div of complex tensors);
//   complex_unary(op, x, s)      -x, conj(x), x + s or x * s (ops/arith.hpp's conj,
//                                backend/pointwise.hpp's Neg / AddScalar / MulScalar on CUDA);
//   complex_from_parts(re, im)   re + i im with broadcasting (ops/complex.hpp's complex);
//   angle(z), zero_indicator(z)  the argument and the 0 / 1 mask of z == 0 (CPU only).
//
// A complex<R> is laid out as R[2] (re, im): the CUDA kernels exist for complex64 and
// complex128, whose real types are the float / double of cuda_kernels_v.
#pragma once

#include <cmath>
#include <complex>
#include <cstdint>
#include <type_traits>

#include <ember/backend/cpu/elementwise.hpp>
#include <ember/backend/cuda/api.hpp>
#include <ember/backend/device.hpp>
#include <ember/core/tensor_class.hpp>

namespace ember {

namespace backend {

// complex_unary's ops; the values are the CUDA kernel's op codes.
enum class ComplexUnaryOp : int { Neg = 0, Conj = 1, AddScalar = 2, MulScalar = 3 };

}  // namespace backend

namespace cuda {

// Complex elementwise ops over a StridedLayout (operand 0 the output), for R = float and
// double. complex_binary: BinaryOp Add, Sub, Mul or Div only (Smith's division).
template <class R>
void complex_binary(BinaryOp op, std::complex<R>* out, const std::complex<R>* a,
                    const std::complex<R>* b, const StridedLayout& l, int device);
template <class R>
void complex_unary(backend::ComplexUnaryOp op, std::complex<R>* out, const std::complex<R>* x,
                   std::complex<R> s, const StridedLayout& l, int device);
// out (operand 0) = re (operand 1) + i im (operand 2).
template <class R>
void complex_from_parts(std::complex<R>* out, const R* re, const R* im, const StridedLayout& l,
                        int device);

}  // namespace cuda

namespace backend {

// True for the complex types with CUDA kernels (complex64 / complex128 in a CUDA build).
template <class C>
inline constexpr bool cuda_complex_kernels_v = is_complex_v<C> && cuda_kernels_v<real_t<C>>;

namespace detail {

// The layout of out and the inputs a, b (expanded to out's shape); inputs too scattered for
// StridedLayout's kMaxDims are copied contiguous first (a rare fallback).
template <class O, class A, class B>
cuda::StridedLayout complex_layout(const Tensor<O>& out, Tensor<A>& a, Tensor<B>* b) {
  cuda::StridedLayout l;
  auto make = [&] {
    return b ? cuda::make_layout(l, out.shape(), {&out.strides(), &a.strides(), &b->strides()})
             : cuda::make_layout(l, out.shape(), {&out.strides(), &a.strides()});
  };
  if (make()) return l;
  a = a.contiguous();
  if (b) *b = b->contiguous();
  make();
  return l;
}

}  // namespace detail

// out = a (op) b for complex a, b with broadcasting (op: Add, Sub, Mul, Div).
template <class C>
Tensor<C> complex_binary(cuda::BinaryOp op, const Tensor<C>& a, const Tensor<C>& b,
                         const char* name) {
  static_assert(is_complex_v<C>, "complex_binary: complex operands only");
  if (on_cuda(name, a, b)) {
    if constexpr (!cuda_complex_kernels_v<C>) {
      no_cuda_kernel<C>(name);
    } else {
      const Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
      Tensor<C> out = Tensor<C>::empty(shape, a.device());
      if (out.numel() == 0) return out;
      Tensor<C> ea = a.detach().expand(shape), eb = b.detach().expand(shape);
      const cuda::StridedLayout l = detail::complex_layout(out, ea, &eb);
      cuda::complex_binary(op, out.data_ptr(), ea.data_ptr(), eb.data_ptr(), l, a.device().index);
      return out;
    }
  }
  switch (op) {
    case cuda::BinaryOp::Add: return cpu::map_binary<C>(a, b, name, [](C x, C y) { return x + y; });
    case cuda::BinaryOp::Sub: return cpu::map_binary<C>(a, b, name, [](C x, C y) { return x - y; });
    case cuda::BinaryOp::Mul: return cpu::map_binary<C>(a, b, name, [](C x, C y) { return x * y; });
    case cuda::BinaryOp::Div: return cpu::map_binary<C>(a, b, name, [](C x, C y) { return x / y; });
    default: fail(name, ": complex tensors support add, sub, mul and div only");
  }
}

// out = f(x) for complex x (-x, conj(x), x + s, x * s); a fresh contiguous output.
template <class C>
Tensor<C> complex_unary(ComplexUnaryOp op, const Tensor<C>& x, C s, const char* name) {
  static_assert(is_complex_v<C>, "complex_unary: a complex operand only");
  if (on_cuda(name, x)) {
    if constexpr (!cuda_complex_kernels_v<C>) {
      no_cuda_kernel<C>(name);
    } else {
      Tensor<C> out = Tensor<C>::empty(x.shape(), x.device());
      if (out.numel() == 0) return out;
      Tensor<C> xd = x.detach();
      const cuda::StridedLayout l =
          detail::complex_layout(out, xd, static_cast<Tensor<C>*>(nullptr));
      cuda::complex_unary(op, out.data_ptr(), xd.data_ptr(), s, l, x.device().index);
      return out;
    }
  }
  switch (op) {
    case ComplexUnaryOp::Neg: return cpu::map_unary<C>(x, [](C v) { return -v; });
    case ComplexUnaryOp::Conj: return cpu::map_unary<C>(x, [](C v) { return std::conj(v); });
    case ComplexUnaryOp::AddScalar: return cpu::map_unary<C>(x, [s](C v) { return v + s; });
    default: return cpu::map_unary<C>(x, [s](C v) { return v * s; });
  }
}

// re + i im with broadcasting (torch.complex).
template <class R>
Tensor<std::complex<R>> complex_from_parts(const Tensor<R>& re, const Tensor<R>& im,
                                           const char* name) {
  using C = std::complex<R>;
  if (on_cuda(name, re, im)) {
    if constexpr (!cuda_complex_kernels_v<C>) {
      no_cuda_kernel<R>(name);
    } else {
      const Shape shape = broadcast_shapes(re.shape(), im.shape(), name);
      Tensor<C> out = Tensor<C>::empty(shape, re.device());
      if (out.numel() == 0) return out;
      Tensor<R> er = re.detach().expand(shape), ei = im.detach().expand(shape);
      const cuda::StridedLayout l = detail::complex_layout(out, er, &ei);
      cuda::complex_from_parts(out.data_ptr(), er.data_ptr(), ei.data_ptr(), l, re.device().index);
      return out;
    }
  }
  return cpu::map_binary<C>(re, im, name, [](R a, R b) { return C(a, b); });
}

// The argument atan2(imag, real) in (-pi, pi]; of a real tensor 0 or pi (NaN stays NaN).
// CPU only: a CUDA operand throws check_cpu's error.
template <class T>
Tensor<real_t<T>> angle(const Tensor<T>& z, const char* name) {
  using R = real_t<T>;
  if (on_cuda(name, z)) check_cpu(z.device(), name);
  if constexpr (is_complex_v<T>)
    return cpu::map_unary<R>(z, [](T v) { return std::arg(v); });
  else
    return cpu::map_unary<R>(
        z, [](T v) { return std::isnan(v) ? v : (v < T(0) ? T(M_PI) : T(0)); });
}

// 1 where z == 0, else 0, as reals (angle's gradient masks its 0 / 0 with it). CPU only.
template <class T>
Tensor<real_t<T>> zero_indicator(const Tensor<T>& z, const char* name) {
  using R = real_t<T>;
  if (on_cuda(name, z)) check_cpu(z.device(), name);
  return cpu::map_unary<R>(z, [](T v) { return R(v == T(0)); });
}

}  // namespace backend
}  // namespace ember
