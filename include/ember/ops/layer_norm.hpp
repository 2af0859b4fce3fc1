// layer_norm over the last k dims, with fused forward and backward kernels.
//
// Each row (the normalized dims, flattened) is normalised as xhat = (x - mean) * rstd with
// rstd = 1 / sqrt(var + eps) (biased variance), then y = xhat * weight + bias.
//
// Gradient contract: the forward saves mean and rstd per row. A plain backward (GradMode
// off) runs one fused kernel, parallel over rows:
//   dx = rstd * (g*w - mean(g*w) - xhat * mean(g*w*xhat)),
//   dweight = sum over rows of g * xhat,  dbias = sum over rows of g,
// with per-thread partial sums for dweight / dbias. Under create_graph the same gradient is
// built from differentiable ops (recomputing mean and rstd from x), so second derivatives work.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include <ember/backend/cpu/parallel.hpp>
#include <ember/backend/cuda/dispatch.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/arith.hpp>
#include <ember/ops/reduce.hpp>


namespace ember {

namespace cpu {

// One row of n: saves mean and rstd, writes y. Pointers are taken by value so the compiler
// keeps them in registers (through a lambda capture it reloads them and stops vectorising).
template <class T, bool HasW, bool HasB>
void layer_norm_row(const T* x, const T* w, const T* b, T* y, T* mean, T* rstd, int64_t n, T eps) {
  T s = 0;
  EMBER_OMP_SIMD(reduction(+ : s))
  for (int64_t i = 0; i < n; ++i) s += x[i];
  const T mu = s / T(n);
  T v = 0;  // a second pass over the cached row: no cancellation as in E[x²] - E[x]²
  EMBER_OMP_SIMD(reduction(+ : v))
  for (int64_t i = 0; i < n; ++i) v += (x[i] - mu) * (x[i] - mu);
  const T rs = T(1) / std::sqrt(v / T(n) + eps);
  *mean = mu;
  *rstd = rs;
  EMBER_OMP_SIMD()
  for (int64_t i = 0; i < n; ++i) {
    T t = (x[i] - mu) * rs;
    if constexpr (HasW) t *= w[i];
    if constexpr (HasB) t += b[i];
    y[i] = t;
  }
}

// rows × n contiguous; weight / bias are n values (ignored unless HasW / HasB).
template <class T, bool HasW, bool HasB>
void layer_norm_forward(const T* x, const T* w, const T* b, T* y, T* mean, T* rstd, int64_t rows,
                        int64_t n, T eps) {
  parallel_for(rows, 4 * rows * n, [=](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
      layer_norm_row<T, HasW, HasB>(x + r * n, w, b, y + r * n, mean + r, rstd + r, n, eps);
  });
}

// dx of one row (gx may be null), and its dweight / dbias terms added into pw / pb (if not null).
template <class T, bool HasW>
void layer_norm_backward_row(const T* g, const T* x, const T* w, T mu, T rs, T* gx, T* pw, T* pb,
                             int64_t n) {
  if (gx) {
    T a = 0, c = 0;  // sum(g*w), sum(g*w*(x-mu))
    EMBER_OMP_SIMD(reduction(+ : a, c))
    for (int64_t i = 0; i < n; ++i) {
      const T gwi = HasW ? g[i] * w[i] : g[i];
      a += gwi;
      c += gwi * (x[i] - mu);
    }
    const T ma = a / T(n), mb = c * rs / T(n);
    EMBER_OMP_SIMD()
    for (int64_t i = 0; i < n; ++i) {
      const T gwi = HasW ? g[i] * w[i] : g[i];
      gx[i] = rs * (gwi - ma - (x[i] - mu) * rs * mb);
    }
  }
  if (pw) {
    EMBER_OMP_SIMD()
    for (int64_t i = 0; i < n; ++i) pw[i] += g[i] * (x[i] - mu) * rs;
  }
  if (pb) {
    EMBER_OMP_SIMD()
    for (int64_t i = 0; i < n; ++i) pb[i] += g[i];
  }
}

// g, x: rows × n contiguous. Writes gx (if not null) and gw / gb (n values, if not null).
template <class T, bool HasW>
void layer_norm_backward(const T* g, const T* x, const T* w, const T* mean, const T* rstd, T* gx,
                         T* gw, T* gb, int64_t rows, int64_t n) {
  // Rows are split into one chunk per thread; each chunk sums its dweight / dbias apart.
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(max_threads(), rows));
  std::vector<T> part_w(gw ? size_t(chunks * n) : 0, T(0)),
      part_b(gb ? size_t(chunks * n) : 0, T(0));
  T* const pw0 = gw ? part_w.data() : nullptr;
  T* const pb0 = gb ? part_b.data() : nullptr;
  parallel_for(chunks, 6 * rows * n, [=](int64_t cb, int64_t ce) {
    for (int64_t c = cb; c < ce; ++c) {
      T* pw = pw0 ? pw0 + c * n : nullptr;
      T* pb = pb0 ? pb0 + c * n : nullptr;
      for (int64_t r = rows * c / chunks; r < rows * (c + 1) / chunks; ++r)
        layer_norm_backward_row<T, HasW>(g + r * n, x + r * n, w, mean[r], rstd[r],
                                         gx ? gx + r * n : nullptr, pw, pb, n);
    }
  });
  for (int64_t c = 1; c < chunks; ++c)
    for (int64_t i = 0; i < n; ++i) {
      if (gw) part_w[i] += part_w[c * n + i];
      if (gb) part_b[i] += part_b[c * n + i];
    }
  if (gw) std::copy_n(part_w.data(), n, gw);
  if (gb) std::copy_n(part_b.data(), n, gb);
}

}  // namespace cpu

namespace detail {

// The layer_norm gradient from differentiable ops (used under create_graph).
template <class T>
Grads layer_norm_backward_composite(const Tensor<T>& g, const Tensor<T>& x, const Tensor<T>& weight,
                                    const Tensor<T>& bias, int64_t k, double eps) {
  std::vector<int64_t> dims;
  for (int64_t d = x.dim() - k; d < x.dim(); ++d) dims.push_back(d);
  const Tensor<T> xc = sub(x, mean(x, dims, true));
  const Tensor<T> rstd = pow(add(mean(mul(xc, xc), dims, true), T(eps)), T(-0.5));
  const Tensor<T> xhat = mul(xc, rstd);
  const Tensor<T> gw = weight.defined() ? mul(g, weight) : g;
  AnyTensor gx, gweight, gbias;
  if (x.requires_grad())
    gx = mul(rstd, sub(sub(gw, mean(gw, dims, true)), mul(xhat, mean(mul(gw, xhat), dims, true))));
  if (weight.defined() && weight.requires_grad()) gweight = sum_to(mul(g, xhat), weight.shape());
  if (bias.defined() && bias.requires_grad()) gbias = sum_to(g, bias.shape());
  return {gx, gweight, gbias};
}

// layer_norm on CUDA (backend/cuda/dispatch.hpp kernels), with the same rule as the CPU path.
template <class T>
Tensor<T> layer_norm_cuda(const Tensor<T>& x, const Tensor<T>& xc, const Tensor<T>& weight,
                          const Tensor<T>& wc, const Tensor<T>& bias, const Tensor<T>& bc,
                          int64_t k, int64_t n, int64_t rows, double eps) {
  Tensor<T> y, mean_t, rstd_t;
  cuda::layer_norm_forward(xc, wc, bc, y, mean_t, rstd_t, rows, n, eps);
  if (any_requires_grad(x, weight, bias))
    record(y, "layer_norm", {x, weight, bias},
           [x, xc, weight, wc, bias, mean_t, rstd_t, k, n, rows, eps](const Tensor<T>& g) -> Grads {
             if (GradMode::is_enabled())
               return layer_norm_backward_composite(g, x, weight, bias, k, eps);
             Tensor<T> gx, gw, gb;
             cuda::layer_norm_backward(g, xc, wc, mean_t, rstd_t, x.requires_grad(),
                                       weight.defined() && weight.requires_grad(),
                                       bias.defined() && bias.requires_grad(), gx, gw, gb, rows, n);
             return {gx, gw.defined() ? AnyTensor(gw.view(weight.shape())) : AnyTensor(),
                     gb.defined() ? AnyTensor(gb.view(bias.shape())) : AnyTensor()};
           });
  return y;
}

}  // namespace detail

// Normalises x over its last normalized_shape.size() dims (which must equal
// normalized_shape), then scales by weight and shifts by bias (both of normalized_shape;
// an undefined tensor means none).
template <class T>
Tensor<T> layer_norm(const Tensor<T>& x, const Shape& normalized_shape,
                     const Tensor<T>& weight = Tensor<T>(), const Tensor<T>& bias = Tensor<T>(),
                     double eps = 1e-5) {
  static_assert(std::is_floating_point_v<T>, "layer_norm: needs a float or double tensor");
  const bool on_cuda = cuda::use_cuda("layer_norm", x, weight, bias);
  if (!on_cuda) check_cpu(x.device(), "layer_norm");
  const int64_t k = int64_t(normalized_shape.size());
  bool matches = k >= 1 && x.dim() >= k;
  for (int64_t i = 0; matches && i < k; ++i)
    matches = x.shape()[x.dim() - k + i] == normalized_shape[i];
  EMBER_CHECK(matches, "layer_norm: input of shape ", shape_str(x.shape()),
              " does not end with normalized_shape ", shape_str(normalized_shape));
  for (const Tensor<T>* p : {&weight, &bias}) {
    if (!p->defined()) continue;
    if (!on_cuda) check_cpu(p->device(), "layer_norm");
    EMBER_CHECK(p->shape() == normalized_shape, "layer_norm: ", p == &weight ? "weight" : "bias",
                " of shape ", shape_str(p->shape()), " does not match normalized_shape ",
                shape_str(normalized_shape));
  }
  int64_t n = 1;
  for (int64_t s : normalized_shape) n *= s;
  const int64_t rows = n == 0 ? 0 : x.numel() / n;

  const Tensor<T> xc = x.detach().contiguous();
  const Tensor<T> wc = weight.defined() ? weight.detach().contiguous() : Tensor<T>();
  const Tensor<T> bc = bias.defined() ? bias.detach().contiguous() : Tensor<T>();
  if (on_cuda) return detail::layer_norm_cuda(x, xc, weight, wc, bias, bc, k, n, rows, eps);
  Tensor<T> y = Tensor<T>::empty(x.shape(), x.device());
  Tensor<T> mean_t = Tensor<T>::empty({rows}), rstd_t = Tensor<T>::empty({rows});
  if (rows > 0) {
    const T* w = wc.defined() ? wc.data_ptr() : nullptr;
    const T* b = bc.defined() ? bc.data_ptr() : nullptr;
    auto run = [&]<bool HW, bool HB>() {
      cpu::layer_norm_forward<T, HW, HB>(xc.data_ptr(), w, b, y.data_ptr(), mean_t.data_ptr(),
                                         rstd_t.data_ptr(), rows, n, T(eps));
    };
    if (w && b)
      run.template operator()<true, true>();
    else if (w)
      run.template operator()<true, false>();
    else if (b)
      run.template operator()<false, true>();
    else
      run.template operator()<false, false>();
  }
  if (any_requires_grad(x, weight, bias))
    record(y, "layer_norm", {x, weight, bias},
           [x, xc, weight, bias, mean_t, rstd_t, k, n, rows, eps](const Tensor<T>& g) -> Grads {
             if (GradMode::is_enabled())
               return detail::layer_norm_backward_composite(g, x, weight, bias, k, eps);
             const bool want_x = x.requires_grad();
             const bool want_w = weight.defined() && weight.requires_grad();
             const bool want_b = bias.defined() && bias.requires_grad();
             const Tensor<T> gc = g.contiguous();
             const Tensor<T> wc = weight.defined() ? weight.detach().contiguous() : Tensor<T>();
             Tensor<T> gx = want_x ? Tensor<T>::empty(x.shape(), x.device()) : Tensor<T>();
             Tensor<T> gw = want_w ? Tensor<T>::empty(weight.shape(), x.device()) : Tensor<T>();
             Tensor<T> gb = want_b ? Tensor<T>::empty(bias.shape(), x.device()) : Tensor<T>();
             if (want_w && rows == 0) gw.zero_();
             if (want_b && rows == 0) gb.zero_();
             if (rows > 0) {
               auto ptr = [](const Tensor<T>& t) { return t.defined() ? t.data_ptr() : nullptr; };
               if (wc.defined())
                 cpu::layer_norm_backward<T, true>(gc.data_ptr(), xc.data_ptr(), wc.data_ptr(),
                                                   mean_t.data_ptr(), rstd_t.data_ptr(), ptr(gx),
                                                   ptr(gw), ptr(gb), rows, n);
               else
                 cpu::layer_norm_backward<T, false>(gc.data_ptr(), xc.data_ptr(), nullptr,
                                                    mean_t.data_ptr(), rstd_t.data_ptr(), ptr(gx),
                                                    ptr(gw), ptr(gb), rows, n);
             }
             return {gx, gw, gb};
           });
  return y;
}

}  // namespace ember
