// Tensor-level entry points of the CUDA backend, called by the ops (DESIGN.md principle 6:
// dispatch at run time on the tensor's device). Each op starts with
//
//   if (cuda::use_cuda("add", a, b)) out = cuda::binary(cuda::BinaryOp::Add, a, b, "add");
//   else { ...the CPU path, unchanged... }
//
// These functions are kernels only (no autograd): the op records its own backward rule,
// written with ops that dispatch the same way, so backward runs on the GPU too. They exist in
// every build; in a CPU-only build use_cuda throws check_cpu's error for a CUDA tensor, so the
// rest is never reached. Kernels exist for float and double; other dtypes throw.
#pragma once

#include <algorithm>
#include <limits>
#include <type_traits>
#include <vector>

#include <ember/backend/cpu/elementwise.hpp>
#include <ember/backend/cpu/reduce.hpp>
#include <ember/backend/cuda/api.hpp>
#include <ember/core/tensor_def.hpp>

namespace ember::cuda {

template <class T>
inline constexpr bool has_kernels_v = std::is_same_v<T, float> || std::is_same_v<T, double>;

// True when `op` must run on CUDA: some defined operand is on a CUDA device. Then every
// defined operand must be on that same device (else ember::Error naming both devices). In a
// CPU-only build a CUDA operand throws check_cpu's error ("configure with -DEMBER_CUDA=ON").
template <class... Ts>
bool use_cuda(const char* op, const Tensor<Ts>&... ts) {
  bool any = false;
  Device dev;
  auto find = [&](const auto& t) {
    if (t.defined() && t.device().is_cuda() && !any) any = true, dev = t.device();
  };
  (find(ts), ...);
  if (!any) return false;
  auto same = [&](const auto& t) {
    EMBER_CHECK(!t.defined() || t.device() == dev, op, ": operands are on different devices (",
                t.device().str(), " and ", dev.str(), ")");
  };
  (same(ts), ...);
#ifndef EMBER_WITH_CUDA
  check_cpu(dev, op);
#endif
  return true;
}

namespace detail {

template <class T>
void check_dtype(const char* op) {
  if constexpr (!has_kernels_v<T>)
    fail(op, ": the CUDA backend has kernels for float32 and float64 only, got ",
         dtype_name(dtype_v<T>));
}

[[noreturn]] inline void no_cuda(const char* op) {
  fail(op, ": this build of ember has no CUDA backend (configure with -DEMBER_CUDA=ON)");
}

}  // namespace detail

// out = a (op) b with broadcasting; a fresh contiguous output.
template <class T>
Tensor<T> binary(BinaryOp bop, const Tensor<T>& a, const Tensor<T>& b, const char* op) {
  detail::check_dtype<T>(op);
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  Tensor<T> out = Tensor<T>::empty(shape, a.device());
  if (out.numel() == 0) return out;
  if constexpr (has_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    Tensor<T> ea = a.detach().expand(shape), eb = b.detach().expand(shape);
    StridedLayout l;
    if (!make_layout(l, shape, {&out.strides(), &ea.strides(), &eb.strides()})) {
      ea = ea.contiguous();
      eb = eb.contiguous();
      make_layout(l, shape, {&out.strides(), &ea.strides(), &eb.strides()});
    }
    cuda::binary(bop, out.data_ptr(), ea.data_ptr(), eb.data_ptr(), l, a.device().index);
#else
    (void)bop;
    detail::no_cuda(op);
#endif
  }
  return out;
}

// Sum over rdims (sorted, unique, from reduction_dims).
template <class T>
Tensor<T> sum(const Tensor<T>& x, const std::vector<int64_t>& rdims, bool keepdim) {
  detail::check_dtype<T>("sum");
  const Shape out_shape = reduced_shape(x.shape(), rdims, keepdim);
  Tensor<T> out = Tensor<T>::empty(out_shape, x.device());
  if (out.numel() == 0) return out;
  if constexpr (has_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    // Bring the reduced dims together: kept dims first, then reduced dims, in a contiguous
    // copy, unless they already form one block. Then out = sum over the middle of
    // [outer, n, inner].
    Tensor<T> xc = x.detach();
    const bool block = rdims.empty() || rdims.back() - rdims.front() + 1 == int64_t(rdims.size());
    int64_t outer = 1, n = 1, inner = 1;
    if (block) {
      for (int64_t d = 0; d < x.dim(); ++d) {
        if (!rdims.empty() && d < rdims.front())
          outer *= x.shape()[d];
        else if (!rdims.empty() && d <= rdims.back())
          n *= x.shape()[d];
        else
          inner *= x.shape()[d];
      }
      xc = xc.contiguous();
    } else {
      std::vector<int64_t> perm;
      for (int64_t d = 0; d < x.dim(); ++d)
        if (!std::binary_search(rdims.begin(), rdims.end(), d)) {
          perm.push_back(d);
          outer *= x.shape()[d];
        }
      for (int64_t d : rdims) {
        perm.push_back(d);
        n *= x.shape()[d];
      }
      xc = xc.permute(perm).contiguous();
    }
    if (n == 0) return out.fill_(T(0));
    cuda::sum_dim(out.data_ptr(), xc.data_ptr(), outer, n, inner, x.device().index);
#else
    (void)keepdim;
    detail::no_cuda("sum");
#endif
  }
  return out;
}

// The [outer, n, inner] view of a shape around dim d.
inline void split_dims(const Shape& s, int64_t d, int64_t& outer, int64_t& n, int64_t& inner) {
  outer = 1, inner = 1, n = s.empty() ? 1 : s[size_t(d)];
  for (int64_t i = 0; i < d; ++i) outer *= s[size_t(i)];
  for (int64_t i = d + 1; i < int64_t(s.size()); ++i) inner *= s[size_t(i)];
}

// Predicates (comparisons, logical ops, isnan...) have kernels for bool inputs too.
template <class T>
inline constexpr bool has_predicate_kernels_v = has_kernels_v<T> || std::is_same_v<T, bool>;

// A bool tensor: op(a, b) with broadcasting, op(a, scalar) when b is undefined, or op(a) for
// the one-operand ops (Not, IsNan, IsInf, IsFinite; b undefined).
template <class T>
Tensor<bool> predicate(PredicateOp pop, const Tensor<T>& a, const Tensor<T>& b, double scalar,
                       const char* op) {
  if constexpr (!has_predicate_kernels_v<T>)
    fail(op, ": the CUDA backend has kernels for float32, float64 and bool only, got ",
         dtype_name(dtype_v<T>));
  const Shape shape = b.defined() ? broadcast_shapes(a.shape(), b.shape(), op) : a.shape();
  Tensor<bool> out = Tensor<bool>::empty(shape, a.device());
  if (out.numel() == 0) return out;
  if constexpr (has_predicate_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    Tensor<T> ea = a.detach().expand(shape), eb = b.defined() ? b.detach().expand(shape) : ea;
    StridedLayout l;
    if (!make_layout(l, shape, {&out.strides(), &ea.strides(), &eb.strides()})) {
      ea = ea.contiguous();
      eb = b.defined() ? eb.contiguous() : ea;
      make_layout(l, shape, {&out.strides(), &ea.strides(), &eb.strides()});
    }
    cuda::predicate(pop, out.data_ptr(), ea.data_ptr(), b.defined() ? eb.data_ptr() : nullptr,
                    scalar, l, a.device().index);
#else
    (void)pop, (void)scalar;
    detail::no_cuda(op);
#endif
  }
  return out;
}

// cond ? a : b, all three broadcast together (no autograd: the op records its rule).
template <class T>
Tensor<T> where(const Tensor<bool>& cond, const Tensor<T>& a, const Tensor<T>& b,
                const char* op) {
  detail::check_dtype<T>(op);
  const Shape shape =
      broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), op), b.shape(), op);
  Tensor<T> out = Tensor<T>::empty(shape, a.device());
  if (out.numel() == 0) return out;
  if constexpr (has_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    Tensor<T> ea = a.detach().expand(shape), eb = b.detach().expand(shape);
    Tensor<bool> ec = cond.detach().expand(shape);
    StridedLayout l, lc;
    if (!make_layout(l, shape, {&out.strides(), &ea.strides(), &eb.strides()})) {
      ea = ea.contiguous();
      eb = eb.contiguous();
      make_layout(l, shape, {&out.strides(), &ea.strides(), &eb.strides()});
    }
    if (!make_layout(lc, shape, {&out.strides(), &ec.strides()})) {
      ec = ec.contiguous();
      make_layout(lc, shape, {&out.strides(), &ec.strides()});
    }
    cuda::where(out.data_ptr(), ec.data_ptr(), ea.data_ptr(), eb.data_ptr(), l, lc,
                a.device().index);
#else
    (void)cond;
    detail::no_cuda(op);
#endif
  }
  return out;
}

namespace detail {

// x's elements as a contiguous [outer, n, inner] with the (sorted, unique) rdims in the middle:
// x itself made contiguous when rdims are one block of dims, else a copy of x permuted to
// (kept dims, rdims) with inner = 1. The output of a reduction is then [outer, inner] in the
// row-major order of the kept dims (and the reduced index is row-major over rdims either way).
template <class T>
Tensor<T> reduction_block(const Tensor<T>& x, const std::vector<int64_t>& rdims, int64_t& outer,
                          int64_t& n, int64_t& inner) {
  outer = 1, n = 1, inner = 1;
  const bool block = rdims.empty() || rdims.back() - rdims.front() + 1 == int64_t(rdims.size());
  if (block) {
    for (int64_t d = 0; d < x.dim(); ++d) {
      if (!rdims.empty() && d < rdims.front())
        outer *= x.shape()[size_t(d)];
      else if (!rdims.empty() && d <= rdims.back())
        n *= x.shape()[size_t(d)];
      else
        inner *= x.shape()[size_t(d)];
    }
    // Few long columns (var over dim 0 of [100000, 64]): one thread per column would read its
    // column serially; after a transposed copy one block reduces each instead.
    const bool few_long_columns = inner > 1 && outer * inner <= 4096 && n >= 1024;
    if (!few_long_columns) return x.detach().contiguous();
    outer = 1, n = 1, inner = 1;
  }
  std::vector<int64_t> perm;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (!std::binary_search(rdims.begin(), rdims.end(), d)) {
      perm.push_back(d);
      outer *= x.shape()[size_t(d)];
    }
  for (int64_t d : rdims) {
    perm.push_back(d);
    n *= x.shape()[size_t(d)];
  }
  return x.detach().permute(perm).contiguous();
}

}  // namespace detail

// A reduction over rdims (sorted, unique, from reduction_dims) giving values: Max, Min,
// LogSumExp, Var, Std (correction for the last two). Over 0 elements: LogSumExp gives -inf and
// Var / Std NaN, as on the CPU (the callers reject empty Max / Min).
template <class T>
Tensor<T> reduce_values(ReduceOp rop, const Tensor<T>& x, const std::vector<int64_t>& rdims,
                        bool keepdim, int64_t correction, const char* op) {
  detail::check_dtype<T>(op);
  Tensor<T> out = Tensor<T>::empty(reduced_shape(x.shape(), rdims, keepdim), x.device());
  if (out.numel() == 0) return out;
  if constexpr (has_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    int64_t outer, n, inner;
    const Tensor<T> xc = detail::reduction_block(x, rdims, outer, n, inner);
    if (n == 0) {
      EMBER_CHECK(rop == ReduceOp::LogSumExp || rop == ReduceOp::Var || rop == ReduceOp::Std, op,
                  ": cannot reduce over 0 elements");
      return out.fill_(rop == ReduceOp::LogSumExp ? -std::numeric_limits<T>::infinity()
                                                  : std::numeric_limits<T>::quiet_NaN());
    }
    cuda::reduce_dim(rop, out.data_ptr(), nullptr, xc.data_ptr(), outer, n, inner, correction,
                     x.device().index);
#else
    (void)rop, (void)correction;
    detail::no_cuda(op);
#endif
  }
  return out;
}

// ArgMax / ArgMin over rdims (non-empty reduction): the extreme values and their first indices
// (row-major over rdims), both of shape reduced_shape(x, rdims, keepdim).
template <class T>
void reduce_arg(ReduceOp rop, const Tensor<T>& x, const std::vector<int64_t>& rdims, bool keepdim,
                Tensor<T>& values, Tensor<int64_t>& indices, const char* op) {
  detail::check_dtype<T>(op);
  const Shape shape = reduced_shape(x.shape(), rdims, keepdim);
  values = Tensor<T>::empty(shape, x.device());
  indices = Tensor<int64_t>::empty(shape, x.device());
  if (values.numel() == 0) return;
  if constexpr (has_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    int64_t outer, n, inner;
    const Tensor<T> xc = detail::reduction_block(x, rdims, outer, n, inner);
    EMBER_CHECK(n > 0, op, ": cannot reduce over 0 elements");
    cuda::reduce_dim(rop, values.data_ptr(), indices.data_ptr(), xc.data_ptr(), outer, n, inner, 0,
                     x.device().index);
#else
    (void)rop;
    detail::no_cuda(op);
#endif
  }
}

// Along dim d of src: out[..., 0, ...] = src[..., idx[..., 0, ...], ...], idx of src's shape
// with size 1 at d (a keepdim reduction's shape). No autograd.
template <class T>
Tensor<T> pick_dim(const Tensor<T>& src, const Tensor<int64_t>& idx, int64_t d, const char* op) {
  detail::check_dtype<T>(op);
  Tensor<T> out = Tensor<T>::empty(idx.shape(), src.device());
  if (out.numel() == 0) return out;
  if constexpr (has_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    int64_t outer, n, inner;
    split_dims(src.shape(), d, outer, n, inner);
    const Tensor<T> sc = src.detach().contiguous();
    const Tensor<int64_t> ic = idx.contiguous();
    cuda::pick_dim(out.data_ptr(), sc.data_ptr(), ic.data_ptr(), outer, n, inner,
                   src.device().index);
#else
    (void)d;
    detail::no_cuda(op);
#endif
  }
  return out;
}

// The gradient of pick_dim: zeros of in_shape with src written where idx points along dim d.
template <class T>
Tensor<T> place_dim(const Tensor<T>& src, const Tensor<int64_t>& idx, const Shape& in_shape,
                    int64_t d, const char* op) {
  detail::check_dtype<T>(op);
  Tensor<T> out = Tensor<T>::empty(in_shape, src.device());
  if (out.numel() == 0) return out;
  if constexpr (has_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    int64_t outer, n, inner;
    split_dims(in_shape, d, outer, n, inner);
    const Tensor<T> sc = src.detach().contiguous();
    const Tensor<int64_t> ic = idx.contiguous();
    cuda::place_dim(out.data_ptr(), sc.data_ptr(), ic.data_ptr(), outer, n, inner,
                    src.device().index);
#else
    (void)idx, (void)d;
    detail::no_cuda(op);
#endif
  }
  return out;
}

// Fused cross entropy (see api.hpp): per-row loss and logsumexp of contiguous logits x [rows, n]
// against class indices target [rows] (validated) with per-row weights w [rows].
template <class T>
void cross_entropy_forward(const Tensor<T>& x, const Tensor<int64_t>& target, const Tensor<T>& w,
                           Tensor<T>& loss, Tensor<T>& lse) {
  detail::check_dtype<T>("cross_entropy");
  const int64_t rows = x.shape()[0], n = x.shape()[1];
  loss = Tensor<T>::empty({rows}, x.device());
  lse = Tensor<T>::empty({rows}, x.device());
  if (rows == 0) return;
  if constexpr (has_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    const Tensor<int64_t> tc = target.contiguous();
    const Tensor<T> wc = w.detach().contiguous();
    cuda::cross_entropy_forward(loss.data_ptr(), lse.data_ptr(), x.data_ptr(), tc.data_ptr(),
                                wc.data_ptr(), rows, n, x.device().index);
#else
    (void)target, (void)w, (void)n;
    detail::no_cuda("cross_entropy");
#endif
  }
}

// Its gradient with respect to the logits, from the loss gradient g [rows].
template <class T>
Tensor<T> cross_entropy_backward(const Tensor<T>& g, const Tensor<T>& x,
                                 const Tensor<int64_t>& target, const Tensor<T>& w,
                                 const Tensor<T>& lse) {
  detail::check_dtype<T>("cross_entropy_backward");
  Tensor<T> gx = Tensor<T>::empty(x.shape(), x.device());
  if (gx.numel() == 0) return gx;
  if constexpr (has_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    const Tensor<T> gc = g.detach().contiguous(), wc = w.detach().contiguous();
    const Tensor<int64_t> tc = target.contiguous();
    cuda::cross_entropy_backward(gx.data_ptr(), gc.data_ptr(), lse.data_ptr(), x.data_ptr(),
                                 tc.data_ptr(), wc.data_ptr(), x.shape()[0], x.shape()[1],
                                 x.device().index);
#else
    (void)g, (void)target, (void)w, (void)lse;
    detail::no_cuda("cross_entropy_backward");
#endif
  }
  return gx;
}

// A copy of x (any dtype) reversed along the dims flagged in `flipped`: one strided copy that
// reads x from its far corner along those dims with negated strides (make_layout merges such
// dims like any others, and the copy kernel takes signed strides).
template <class T>
Tensor<T> flip_copy(const Tensor<T>& x, const std::vector<bool>& flipped) {
  Tensor<T> out = Tensor<T>::empty(x.shape(), x.device());
  if (out.numel() == 0) return out;
#ifdef EMBER_WITH_CUDA
  Tensor<T> xd = x.detach();
  for (int attempt = 0;; ++attempt) {
    std::vector<int64_t> st = xd.strides();
    int64_t base = 0;
    for (int64_t d = 0; d < xd.dim(); ++d)
      if (flipped[size_t(d)]) {
        base += (xd.shape()[size_t(d)] - 1) * st[size_t(d)];
        st[size_t(d)] = -st[size_t(d)];
      }
    StridedLayout l;
    if (make_layout(l, x.shape(), {&out.strides(), &st})) {
      cuda::strided_copy(out.data_ptr(), xd.data_ptr() + base, sizeof(T), l, x.device().index);
      return out;
    }
    EMBER_CHECK(attempt == 0, "flip: shape ", shape_str(x.shape()), " has more than ", kMaxDims,
                " non-mergeable dims");
    xd = xd.contiguous();
  }
#else
  (void)flipped;
  detail::no_cuda("flip");
#endif
}


// layer_norm forward over the last n elements: y, plus mean and rstd ([rows], on the device).
template <class T>
void layer_norm_forward(const Tensor<T>& xc, const Tensor<T>& wc, const Tensor<T>& bc, Tensor<T>& y,
                        Tensor<T>& mean, Tensor<T>& rstd, int64_t rows, int64_t n, double eps) {
  detail::check_dtype<T>("layer_norm");
  const Device dev = xc.device();
  y = Tensor<T>::empty(xc.shape(), dev);
  mean = Tensor<T>::empty({rows}, dev);
  rstd = Tensor<T>::empty({rows}, dev);
  if (rows == 0 || n == 0) return;
  if constexpr (has_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    cuda::layer_norm_forward(y.data_ptr(), mean.data_ptr(), rstd.data_ptr(), xc.data_ptr(),
                             wc.defined() ? wc.data_ptr() : nullptr,
                             bc.defined() ? bc.data_ptr() : nullptr, rows, n, eps, dev.index);
#else
    (void)wc, (void)bc, (void)eps;
    detail::no_cuda("layer_norm");
#endif
  }
}

// layer_norm backward; gx / gw / gb are allocated when wanted (else left undefined).
template <class T>
void layer_norm_backward(const Tensor<T>& g, const Tensor<T>& xc, const Tensor<T>& wc,
                         const Tensor<T>& mean, const Tensor<T>& rstd, bool want_x, bool want_w,
                         bool want_b, Tensor<T>& gx, Tensor<T>& gw, Tensor<T>& gb, int64_t rows,
                         int64_t n) {
  detail::check_dtype<T>("layer_norm_backward");
  const Device dev = xc.device();
  if (want_x) gx = Tensor<T>::empty(xc.shape(), dev);
  if (want_w) gw = Tensor<T>::zeros({n}, dev);
  if (want_b) gb = Tensor<T>::zeros({n}, dev);
  if (rows == 0 || n == 0) return;
  if constexpr (has_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    const Tensor<T> gc = g.contiguous();
    auto ptr = [](const Tensor<T>& t) { return t.defined() ? t.data_ptr() : nullptr; };
    cuda::layer_norm_backward(ptr(gx), ptr(gw), ptr(gb), gc.data_ptr(), xc.data_ptr(), ptr(wc),
                              mean.data_ptr(), rstd.data_ptr(), rows, n, dev.index);
#else
    (void)g, (void)wc, (void)mean, (void)rstd;
    detail::no_cuda("layer_norm_backward");
#endif
  }
}

namespace detail {

// How cuBLAS can read a stack of matrices [batch..., r, c] expanded to `batch`: transposed or
// not, leading dim, and one stride between batch entries. False when it cannot (then the
// caller passes a contiguous copy).
template <class T>
bool gemm_operand(const Tensor<T>& t, int64_t r, int64_t c, bool& trans, int64_t& ld,
                  int64_t& batch_stride) {
  const int64_t s0 = t.stride(-2), s1 = t.stride(-1);
  if ((s1 == 1 || c == 1) && s0 >= std::max<int64_t>(1, c))
    trans = false, ld = s0;
  else if ((s0 == 1 || r == 1) && s1 >= std::max<int64_t>(1, r))
    trans = true, ld = s1;
  else
    return false;
  // The batch dims must collapse to one stride (or all be broadcast).
  batch_stride = 0;
  int64_t expect = -1;
  for (int64_t d = t.dim() - 3; d >= 0; --d) {
    const int64_t size = t.shape()[size_t(d)], st = t.stride(d);
    if (size == 1) continue;
    if (expect < 0) {
      batch_stride = st;
      expect = st * size;
    } else if (st == expect) {
      expect *= size;
    } else {
      return false;
    }
  }
  if (batch_stride == 0 && expect > 0) {  // all broadcast: stride 0 everywhere
    for (int64_t d = 0; d < t.dim() - 2; ++d)
      if (t.shape()[size_t(d)] != 1 && t.stride(d) != 0) return false;
  }
  return true;
}

}  // namespace detail

// out[batch..., m, n] = a[..., m, k] · b[..., k, n], batch dims broadcast to `batch`
// (detached operands of dim >= 2, shapes checked by the caller).
template <class T>
Tensor<T> matmul(const Tensor<T>& a, const Tensor<T>& b, const Shape& batch) {
  detail::check_dtype<T>("matmul");
  const int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1);
  Shape out_shape = batch;
  out_shape.push_back(m);
  out_shape.push_back(n);
  Tensor<T> out = Tensor<T>::empty(out_shape, a.device());
  if (out.numel() == 0) return out;
  if (k == 0) return out.fill_(T(0));
  if constexpr (has_kernels_v<T>) {
#ifdef EMBER_WITH_CUDA
    Shape sa = batch, sb = batch;
    sa.insert(sa.end(), {m, k});
    sb.insert(sb.end(), {k, n});
    Tensor<T> ea = a.expand(sa), eb = b.expand(sb);
    GemmArgs g;
    g.m = m, g.n = n, g.k = k, g.ldc = n, g.stride_c = m * n;
    g.batch = out.numel() / (m * n);
    if (!detail::gemm_operand(ea, m, k, g.trans_a, g.lda, g.stride_a)) {
      ea = ea.contiguous();
      detail::gemm_operand(ea, m, k, g.trans_a, g.lda, g.stride_a);
    }
    if (!detail::gemm_operand(eb, k, n, g.trans_b, g.ldb, g.stride_b)) {
      eb = eb.contiguous();
      detail::gemm_operand(eb, k, n, g.trans_b, g.ldb, g.stride_b);
    }
    cuda::gemm(g, ea.data_ptr(), eb.data_ptr(), out.data_ptr(), a.device().index);
#else
    detail::no_cuda("matmul");
#endif
  }
  return out;
}

}  // namespace ember::cuda
