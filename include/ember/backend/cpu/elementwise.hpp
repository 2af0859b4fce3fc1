// Elementwise CPU kernels over broadcast operands. Each writes a fresh contiguous output;
// the inner loop has a unit-stride branch so the compiler can vectorise the common case.
#pragma once

#include <ember/backend/cpu/loops.hpp>
#include <ember/core/tensor_class.hpp>

namespace ember {

// The shape two operands broadcast to (numpy rules), or an error naming the op.
inline Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    EMBER_CHECK(da == db || da == 1 || db == 1, op, ": shapes ", shape_str(a), " and ",
                shape_str(b), " cannot be broadcast together (dimension ", i, ": ", da, " vs ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

namespace cpu {

template <class R, class T, class F>
Tensor<R> map_unary(const Tensor<T>& x, F f) {
  Tensor<R> out = Tensor<R>::empty(x.shape(), x.device());
  R* o = out.data_ptr();
  const T* p = x.data_ptr();
  for_each_row<2>(x.shape(), {out.strides(), x.strides()}, [&](auto off, int64_t n, auto st) {
    R* op = o + off[0];
    const T* xp = p + off[1];
    if (st[1] == 1) for (int64_t i = 0; i < n; ++i) op[i] = f(xp[i]);
    else for (int64_t i = 0; i < n; ++i) op[i] = f(xp[i * st[1]]);
  });
  return out;
}

template <class R, class A, class B, class F>
Tensor<R> map_binary(const Tensor<A>& a, const Tensor<B>& b, const char* op, F f) {
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  const Tensor<A> ea = a.detach().expand(shape);
  const Tensor<B> eb = b.detach().expand(shape);
  Tensor<R> out = Tensor<R>::empty(shape, a.device());
  R* o = out.data_ptr();
  const A* pa = ea.data_ptr();
  const B* pb = eb.data_ptr();
  for_each_row<3>(shape, {out.strides(), ea.strides(), eb.strides()}, [&](auto off, int64_t n, auto st) {
    R* op_ = o + off[0];
    const A* x = pa + off[1];
    const B* y = pb + off[2];
    if (st[1] == 1 && st[2] == 1) for (int64_t i = 0; i < n; ++i) op_[i] = f(x[i], y[i]);
    else if (st[1] == 1 && st[2] == 0) { const B yv = *y; for (int64_t i = 0; i < n; ++i) op_[i] = f(x[i], yv); }
    else if (st[1] == 0 && st[2] == 1) { const A xv = *x; for (int64_t i = 0; i < n; ++i) op_[i] = f(xv, y[i]); }
    else for (int64_t i = 0; i < n; ++i) op_[i] = f(x[i * st[1]], y[i * st[2]]);
  });
  return out;
}

template <class R, class A, class B, class C, class F>
Tensor<R> map_ternary(const Tensor<A>& a, const Tensor<B>& b, const Tensor<C>& c, const char* op, F f) {
  const Shape shape = broadcast_shapes(broadcast_shapes(a.shape(), b.shape(), op), c.shape(), op);
  const Tensor<A> ea = a.detach().expand(shape);
  const Tensor<B> eb = b.detach().expand(shape);
  const Tensor<C> ec = c.detach().expand(shape);
  Tensor<R> out = Tensor<R>::empty(shape, a.device());
  R* o = out.data_ptr();
  const A* pa = ea.data_ptr();
  const B* pb = eb.data_ptr();
  const C* pc = ec.data_ptr();
  for_each_row<4>(shape, {out.strides(), ea.strides(), eb.strides(), ec.strides()},
                  [&](auto off, int64_t n, auto st) {
                    for (int64_t i = 0; i < n; ++i)
                      o[off[0] + i * st[0]] = f(pa[off[1] + i * st[1]], pb[off[2] + i * st[2]], pc[off[3] + i * st[3]]);
                  });
  return out;
}

}  // namespace cpu
}  // namespace ember
