// Complex tensors: real, imag, complex, polar, angle, view_as_real, view_as_complex.
// (abs of a complex tensor, which is real, is in ops/unary.hpp; conj is in ops/arith.hpp.)
//
// Gradients follow PyTorch's convention: for a real loss L of z = x + iy, the gradient stored
// for z is dL/dx + i dL/dy, and a rule returns grad_in = grad_out * conj(d out / d in) for
// holomorphic parts. Concretely, for a real output r:
//   real(z):  r = x            ->  grad_z = g + 0i           (complex(g, 0))
//   imag(z):  r = y            ->  grad_z = 0 + gi           (complex(0, g))
//   angle(z): r = atan2(y, x)  ->  grad_z = g (-y + ix) / |z|^2 = g i z / |z|^2 (0 at z = 0)
// and for a complex output from real inputs:
//   complex(re, im)            ->  grad_re = real(g), grad_im = imag(g)
// Every rule is written with these differentiable ops, so create_graph works.
//
// real, imag, view_as_real and view_as_complex are views (no copy): a TensorImpl of the other
// dtype on the same storage, with strides and offset counted in real elements (doubled), on
// any device. complex and angle run the kernels of backend/complex.hpp (angle: CPU only).
#pragma once

#include <cmath>
#include <complex>
#include <memory>
#include <type_traits>

#include <ember/backend/complex.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/unary.hpp>

namespace ember {

template <class T>
Tensor<std::complex<T>> complex(const Tensor<T>& re, const Tensor<T>& im);

namespace detail {

// A view of complex z's storage as reals: shape/strides in real elements, plus `extra` in the
// offset (0 for the real parts, 1 for the imaginary parts).
template <class C>
Tensor<real_t<C>> reinterpret_as_real(const Tensor<C>& z, Shape shape, Shape strides, int64_t extra) {
  auto impl = std::make_shared<TensorImpl>();
  impl->dtype = dtype_v<real_t<C>>;
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->offset = 2 * z.storage_offset() + extra;
  impl->storage = z.impl()->storage;
  return Tensor<real_t<C>>(std::move(impl));
}

template <class T>
Shape doubled(const Shape& s) {
  Shape out = s;
  for (auto& v : out) v *= 2;
  return out;
}

}  // namespace detail

// The real part, as a view. On a real tensor it is the tensor itself (as in PyTorch).
template <class T>
Tensor<real_t<T>> real(const Tensor<T>& z) {
  if constexpr (!is_complex_v<T>) {
    return z;
  } else {
    using R = real_t<T>;
    Tensor<R> out = detail::reinterpret_as_real(z, z.shape(), detail::doubled<T>(z.strides()), 0);
    if (any_requires_grad(z))
      record(out, "real", {z}, [](const Tensor<R>& g) -> Grads {
        return {complex(g, Tensor<R>::zeros({}, g.device()).expand(g.shape()))};
      });
    return out;
  }
}

// The imaginary part, as a view. Complex tensors only (PyTorch refuses real ones too).
template <class T>
Tensor<real_t<T>> imag(const Tensor<T>& z) {
  // A run-time error (not a static_assert) so the real instantiations still compile.
  if constexpr (!is_complex_v<T>) {
    fail("imag: expected a complex tensor, got ", dtype_name(dtype_v<T>), " of shape ",
         shape_str(z.shape()));
  } else {
  using R = real_t<T>;
  Tensor<R> out = detail::reinterpret_as_real(z, z.shape(), detail::doubled<T>(z.strides()), 1);
  if (any_requires_grad(z))
    record(out, "imag", {z}, [](const Tensor<R>& g) -> Grads {
      return {complex(Tensor<R>::zeros({}, g.device()).expand(g.shape()), g)};
    });
  return out;
  }
}

// re + i im, broadcasting the two (torch.complex).
template <class T>
Tensor<std::complex<T>> complex(const Tensor<T>& re, const Tensor<T>& im) {
  static_assert(std::is_floating_point_v<T>, "complex: expected float or double parts");
  using C = std::complex<T>;
  Tensor<C> out = backend::complex_from_parts(re, im, "complex");
  if (any_requires_grad(re, im))
    record(out, "complex", {re, im}, [sr = re.shape(), si = im.shape(), rg = re.requires_grad(),
                                      ig = im.requires_grad()](const Tensor<C>& g) -> Grads {
      return {rg ? AnyTensor(sum_to(real(g), sr)) : AnyTensor(),
              ig ? AnyTensor(sum_to(imag(g), si)) : AnyTensor()};
    });
  return out;
}

// abs * exp(i angle) (torch.polar): composed of differentiable ops, so its gradients
// (grad_abs = Re(conj(g) e^{i angle}), grad_angle = Re(conj(g) i z)) come from theirs.
template <class T>
Tensor<std::complex<T>> polar(const Tensor<T>& abs, const Tensor<T>& angle) {
  static_assert(std::is_floating_point_v<T>, "polar: expected float or double tensors");
  broadcast_shapes(abs.shape(), angle.shape(), "polar");
  return complex(mul(abs, cos(angle)), mul(abs, sin(angle)));
}

// The argument atan2(imag, real) in (-pi, pi]. Real input: 0 or pi (and NaN stays NaN), with a
// zero gradient, as in PyTorch.
template <class T>
Tensor<real_t<T>> angle(const Tensor<T>& z) {
  using R = real_t<T>;
  static_assert(is_differentiable_v<T>, "angle: expected a floating-point or complex tensor");
  Tensor<R> out = backend::angle(z, "angle");
  if (!any_requires_grad(z)) return out;
  if constexpr (!is_complex_v<T>) {
    record(out, "angle", {z}, [s = z.shape()](const Tensor<R>& g) -> Grads {
      return {Tensor<R>::zeros(s, g.device())};
    });
  } else {
    record(out, "angle", {z}, [z](const Tensor<R>& g) -> Grads {
      // g i z / |z|^2 = g (-y + i x) / (x^2 + y^2); the mask makes it 0 (not NaN) at z = 0.
      const Tensor<R> x = real(z), y = imag(z);
      const Tensor<R> mask = backend::zero_indicator(z, "angle");
      const Tensor<R> r2 = add(add(mul(x, x), mul(y, y)), mask);
      const Tensor<R> gs = div(g, r2);
      return {complex(neg(mul(gs, y)), mul(gs, x))};
    });
  }
  return out;
}

// A complex tensor [..., ] as reals [..., 2] (re, im) sharing its storage (a view).
template <class T>
Tensor<real_t<T>> view_as_real(const Tensor<T>& z) {
  if constexpr (!is_complex_v<T>) {
    fail("view_as_real: expected a complex tensor, got ", dtype_name(dtype_v<T>), " of shape ",
         shape_str(z.shape()));
  } else {
  using R = real_t<T>;
  Shape shape = z.shape(), strides = detail::doubled<T>(z.strides());
  shape.push_back(2);
  strides.push_back(1);
  Tensor<R> out = detail::reinterpret_as_real(z, shape, strides, 0);
  if (any_requires_grad(z))
    record(out, "view_as_real", {z},
           [](const Tensor<R>& g) -> Grads { return {view_as_complex(g.contiguous())}; });
  return out;
  }
}

// A real tensor [..., 2] as complex [...] sharing its storage (a view). Needs the last
// dimension of size 2 with stride 1, and every other stride and the offset even.
template <class T>
Tensor<std::complex<T>> view_as_complex(const Tensor<T>& x) {
  static_assert(std::is_floating_point_v<T>, "view_as_complex: expected a float or double tensor");
  using C = std::complex<T>;
  EMBER_CHECK(x.dim() >= 1 && x.shape().back() == 2, "view_as_complex: expected a last dimension "
              "of size 2, got shape ", shape_str(x.shape()));
  EMBER_CHECK(x.strides().back() == 1, "view_as_complex: the last dimension must have stride 1, "
              "got strides ", shape_str(x.strides()), " (call contiguous() first)");
  Shape shape(x.shape().begin(), x.shape().end() - 1), strides;
  for (size_t d = 0; d + 1 < x.strides().size(); ++d) {
    EMBER_CHECK(x.strides()[d] % 2 == 0 || x.shape()[d] == 1, "view_as_complex: strides ",
                shape_str(x.strides()), " of shape ", shape_str(x.shape()),
                " are not all even (call contiguous() first)");
    strides.push_back(x.strides()[d] / 2);
  }
  EMBER_CHECK(x.storage_offset() % 2 == 0, "view_as_complex: storage offset ", x.storage_offset(),
              " is odd (call contiguous() first)");
  auto impl = std::make_shared<TensorImpl>();
  impl->dtype = dtype_v<C>;
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->offset = x.storage_offset() / 2;
  impl->storage = x.impl()->storage;
  Tensor<C> out(std::move(impl));
  if (any_requires_grad(x))
    record(out, "view_as_complex", {x}, [](const Tensor<C>& g) -> Grads { return {view_as_real(g)}; });
  return out;
}

}  // namespace ember
