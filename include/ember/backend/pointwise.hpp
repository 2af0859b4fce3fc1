// Pointwise kernels of one tensor, for every op of backend/pointwise_formulas.hpp, on the
// tensor's device: the CPU map (backend/cpu/elementwise.hpp) or the CUDA kernel
// (cuda/ember/cuda/pointwise.cuh), both applying the same Formula. Kernels only: the ops
// (ops/unary.hpp, ops/activation.hpp, ops/arith.hpp) record the gradient rules.
//
//   pointwise<op>(x, s)              out = value(x, s), a fresh contiguous tensor;
//   pointwise_backward<op>(g, v, s)  g * conj(derivative(v, s)), v the op's input or output
//                                    (Formula::from_output), g broadcast to v's shape;
//   pointwise_derivative<op>(v, s)   conj(derivative(v, s)) alone (the mask of a piecewise
//                                    constant derivative, under create_graph).
#pragma once

#include <cstdint>

#include <ember/backend/cpu/elementwise.hpp>
#include <ember/backend/complex.hpp>
#include <ember/backend/cuda/api.hpp>
#include <ember/backend/device.hpp>
#include <ember/backend/pointwise_formulas.hpp>
#include <ember/core/tensor_class.hpp>

namespace ember {

namespace cuda {

// out = value(x) over l (operands 0: out, 1: x), for T = float and double
// (cuda/ember/cuda/pointwise.cuh).
template <class T>
void pointwise(pointwise::Op op, T* out, const T* x, pointwise::Scalars<T> s,
               const StridedLayout& l, int device);
// out = g * derivative(v) over l (operands 0: out, 1: g, 2: v).
template <class T>
void pointwise_backward(pointwise::Op op, T* out, const T* g, const T* v, pointwise::Scalars<T> s,
                        const StridedLayout& l, int device);

// The layout of out and up to two inputs of out's shape; inputs too scattered for
// StridedLayout's kMaxDims are copied contiguous first (a rare fallback).
template <class T>
StridedLayout elementwise_layout(const Tensor<T>& out, Tensor<T>& a, Tensor<T>* b = nullptr) {
  StridedLayout l;
  const bool fits = b ? make_layout(l, out.shape(), {&out.strides(), &a.strides(), &b->strides()})
                      : make_layout(l, out.shape(), {&out.strides(), &a.strides()});
  if (fits) return l;
  a = a.contiguous();
  if (b) *b = b->contiguous();
  b ? make_layout(l, out.shape(), {&out.strides(), &a.strides(), &b->strides()})
    : make_layout(l, out.shape(), {&out.strides(), &a.strides()});
  return l;
}

}  // namespace cuda

namespace backend {

template <pointwise::Op op, class T>
Tensor<T> pointwise(const Tensor<T>& x, pointwise::Scalars<T> s, const char* name) {
  using F = pointwise::Formula<op>;
  if (on_cuda(name, x)) {
    if constexpr (cuda_kernels_v<T>) {
      Tensor<T> out = Tensor<T>::empty(x.shape(), x.device());
      if (out.numel() == 0) return out;
      Tensor<T> xd = x.detach();
      const cuda::StridedLayout l = cuda::elementwise_layout(out, xd);
      cuda::pointwise(op, out.data_ptr(), xd.data_ptr(), s, l, x.device().index);
      return out;
    } else if constexpr (is_complex_v<T>) {  // the complex kernels of backend/complex.hpp
      using pointwise::Op;
      if constexpr (op == Op::Neg) return complex_unary(ComplexUnaryOp::Neg, x, s.a, name);
      if constexpr (op == Op::AddScalar)
        return complex_unary(ComplexUnaryOp::AddScalar, x, s.a, name);
      if constexpr (op == Op::MulScalar)
        return complex_unary(ComplexUnaryOp::MulScalar, x, s.a, name);
    }
    no_cuda_kernel<T>(name);
  }
  return cpu::map_unary<T>(x, [s](T v) { return F::value(v, s); });
}

template <pointwise::Op op, class T>
Tensor<T> pointwise_backward(const Tensor<T>& g, const Tensor<T>& v, pointwise::Scalars<T> s,
                             const char* name) {
  using F = pointwise::Formula<op>;
  if (on_cuda(name, g, v)) {
    if constexpr (cuda_kernels_v<T>) {
      Tensor<T> out = Tensor<T>::empty(v.shape(), v.device());
      if (out.numel() == 0) return out;
      Tensor<T> gd = g.detach().expand(v.shape()), vd = v.detach();
      const cuda::StridedLayout l = cuda::elementwise_layout(out, gd, &vd);
      cuda::pointwise_backward(op, out.data_ptr(), gd.data_ptr(), vd.data_ptr(), s, l,
                               v.device().index);
      return out;
    }
    no_cuda_kernel<T>(name);
  }
  return cpu::map_binary<T>(g, v, name,
                            [s](T gv, T vv) { return gv * conj_scalar(F::derivative(vv, s)); });
}

template <pointwise::Op op, class T>
Tensor<T> pointwise_derivative(const Tensor<T>& v, pointwise::Scalars<T> s, const char* name) {
  return pointwise_backward<op>(Tensor<T>::ones({}, v.device()), v, s, name);
}

}  // namespace backend
}  // namespace ember
