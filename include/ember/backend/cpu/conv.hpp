// The three GEMM-based products of a convolution on contiguous NC(D)(H)W buffers: forward,
// input gradient and weight gradient, built on im2col / col2im (backend/cpu/im2col.hpp; its
// header comment describes the column layout, the chunking and the threading) and, for 3x3
// stride-1 convolutions, on Winograd F(2x2, 3x3) (backend/cpu/winograd.hpp); and unfold /
// fold, im2col / col2im in PyTorch's layout.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <ember/backend/cpu/blas.hpp>
#include <ember/backend/cpu/im2col.hpp>
#include <ember/backend/cpu/parallel.hpp>
#include <ember/backend/cpu/winograd.hpp>
#include <vector>

namespace ember::cpu {

namespace detail {

// Unit strides and padding at most d*(k-1) in every dim: the input gradient can be computed
// as a forward convolution (conv_backward_input).
inline bool unit_stride_full_pad(const ConvGeom& g) {
  for (int i = 0; i < 3; ++i)
    if (g.stride[i] != 1 || g.pad[i] > g.dil[i] * (g.k[i] - 1)) return false;
  return true;
}

}  // namespace detail

// y [N, O, L] = conv(x [N, C, S], w [O, Cg, K]) (+ bias [O] when not null).
template <class T>
void conv_forward(const ConvGeom& g, const T* x, const T* w, const T* bias, T* y) {
  const int64_t L = g.L(), rows = g.rows(), Og = g.Og(), S = g.S(), Cg = g.Cg();
  if (g.N == 0 || g.O == 0 || L == 0) return;
  if (rows == 0) {  // no input channels: the bias alone
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t o = 0; o < g.O; ++o)
        std::fill_n(y + (n * g.O + o) * L, L, bias ? bias[o] : T(0));
    return;
  }
  if (winograd_applies(g)) {
    winograd_conv(g, x, w, bias, y);
    return;
  }
  const bool pointwise = detail::is_pointwise(g);
  const int64_t chunk = pointwise ? 1 : detail::conv_chunk<T>(g);
  detail::for_each_chunk(g.N, chunk, max_threads(), [&](int64_t n0, int64_t nb, int) {
    detail::Scratch<T, 0> cols_buf(pointwise ? 0 : rows * nb * L);
    T* cols = pointwise ? nullptr : cols_buf.ptr;
    detail::Scratch<T, 1> tmp_buf(nb > 1 ? Og * nb * L : 0);
    T* tmp = nb > 1 ? tmp_buf.ptr : nullptr;
    for (int64_t gi = 0; gi < g.G; ++gi) {
      const T* wg = w + gi * Og * rows;
      // pointwise: the input itself is the column matrix (nb == 1)
      const T* b = pointwise ? x + (n0 * g.C + gi * Cg) * S : cols;
      if (!pointwise) im2col(g, x + n0 * g.C * S, nb, gi * Cg, cols);
      if (nb == 1) {  // the GEMM writes straight into y
        T* yp = y + (n0 * g.O + gi * Og) * L;
        if (bias)
          for (int64_t o = 0; o < Og; ++o) std::fill_n(yp + o * L, L, bias[gi * Og + o]);
        gemm<T>(false, false, Og, L, rows, T(1), wg, rows, b, L, bias ? T(1) : T(0), yp, L);
      } else {
        gemm<T>(false, false, Og, nb * L, rows, T(1), wg, rows, b, nb * L, T(0), tmp, nb * L);
        detail::from_channel_major(tmp, nb, g.O, gi * Og, Og, L, bias ? bias + gi * Og : nullptr,
                                   y + n0 * g.O * L);
      }
    }
  });
}

// gx [N, C, S] = the input gradient of conv for output gradient gy [N, O, L]: col2im(wᵀ·gy).
// gx is overwritten.
template <class T>
void conv_backward_input(const ConvGeom& g, const T* gy, const T* w, T* gx) {
  const int64_t L = g.L(), rows = g.rows(), Og = g.Og(), S = g.S(), Cg = g.Cg();
  if (g.N == 0 || rows == 0 || L == 0 || Og == 0) {
    std::fill_n(gx, g.N * g.C * S, T(0));
    return;
  }
  const bool pointwise = detail::is_pointwise(g);
  if (!pointwise && detail::unit_stride_full_pad(g)) {
    // With unit strides the input gradient is itself a convolution: gy (padded by
    // d*(k-1) - p) correlated with the flipped, channel-swapped kernel. im2col + GEMM writes
    // gx directly, with the forward's GEMM shape, instead of GEMM + col2im's scattered adds.
    ConvGeom t;
    t.N = g.N;
    t.C = g.O;
    t.O = g.C;
    t.G = g.G;
    for (int i = 0; i < 3; ++i) {
      t.in[i] = g.out[i];
      t.out[i] = g.in[i];
      t.k[i] = g.k[i];
      t.dil[i] = g.dil[i];
      t.pad[i] = g.dil[i] * (g.k[i] - 1) - g.pad[i];
    }
    const int64_t K = g.K();
    // wt[gi*Cg + c, o, K-1-kk] = w[gi*Og + o, c, kk], written in order (strided reads are
    // cheaper than strided writes: this loop took 3% of a ResNet-18 step the other way round).
    detail::Scratch<T, 2> wt_buf(g.C * Og * K);
    T* wt = wt_buf.ptr;
    parallel_for(g.C, g.C * Og * K, [&](int64_t begin, int64_t end) {
      for (int64_t gc = begin; gc < end; ++gc) {
        const int64_t gi = gc / Cg, c = gc % Cg;
        T* dst = wt + gc * Og * K;
        for (int64_t o = 0; o < Og; ++o, dst += K) {
          const T* src = w + ((gi * Og + o) * Cg + c) * K;
          for (int64_t kk = 0; kk < K; ++kk) dst[K - 1 - kk] = src[kk];
        }
      }
    });
    conv_forward<T>(t, gy, wt, nullptr, gx);
    return;
  }
  const int64_t chunk = pointwise ? 1 : detail::conv_chunk<T>(g);
  detail::for_each_chunk(g.N, chunk, max_threads(), [&](int64_t n0, int64_t nb, int) {
    T* gxp = gx + n0 * g.C * S;
    if (pointwise) {
      for (int64_t gi = 0; gi < g.G; ++gi)
        gemm<T>(true, false, Cg, S, Og, T(1), w + gi * Og * rows, rows,
                gy + (n0 * g.O + gi * Og) * L, L, T(0), gxp + gi * Cg * S, S);
      return;
    }
    std::fill_n(gxp, nb * g.C * S, T(0));
    detail::Scratch<T, 0> cols_buf(rows * nb * L);
    T* cols = cols_buf.ptr;
    detail::Scratch<T, 1> gyc_buf(nb > 1 ? Og * nb * L : 0);
    T* gyc = nb > 1 ? gyc_buf.ptr : nullptr;
    for (int64_t gi = 0; gi < g.G; ++gi) {
      const T* wg = w + gi * Og * rows;
      if (nb == 1) {
        gemm<T>(true, false, rows, L, Og, T(1), wg, rows, gy + (n0 * g.O + gi * Og) * L, L, T(0),
                cols, L);
      } else {
        detail::to_channel_major(gy + n0 * g.O * L, nb, g.O, gi * Og, Og, L, gyc);
        gemm<T>(true, false, rows, nb * L, Og, T(1), wg, rows, gyc, nb * L, T(0), cols, nb * L);
      }
      col2im(g, cols, nb, gi * Cg, gxp);
    }
  });
}

// gw [O, Cg, K] = the weight gradient of conv for input x and output gradient gy: gy·colsᵀ
// summed over the batch. gw is overwritten.
template <class T>
void conv_backward_weight(const ConvGeom& g, const T* x, const T* gy, T* gw) {
  const int64_t L = g.L(), rows = g.rows(), Og = g.Og(), S = g.S(), Cg = g.Cg();
  const int64_t wsize = g.O * rows;
  if (g.N == 0 || rows == 0 || L == 0 || Og == 0) {
    std::fill_n(gw, wsize, T(0));
    return;
  }
  if (winograd_applies(g)) {
    winograd_conv_backward_weight(g, x, gy, gw);
    return;
  }
  const bool pointwise = detail::is_pointwise(g);
  const int64_t chunk = pointwise ? 1 : detail::conv_chunk<T>(g);
  // One accumulator per thread when chunks run in parallel, summed at the end. Each
  // accumulator's first GEMM overwrites it (beta 0), so nothing is zero-filled first.
  const int threads = max_threads();
  const bool parallel = detail::chunks_in_parallel(g.N, chunk, threads);
  detail::Scratch<T, 7> partial_buf(parallel ? threads * wsize : 0);
  std::vector<char> used(size_t(std::max(threads, 1)), 0);
  detail::for_each_chunk(g.N, chunk, threads, [&](int64_t n0, int64_t nb, int tid) {
    T* acc = tid >= 0 ? partial_buf.ptr + tid * wsize : gw;
    const T beta = used[size_t(std::max(tid, 0))] ? T(1) : T(0);
    used[size_t(std::max(tid, 0))] = 1;
    detail::Scratch<T, 0> cols_buf(pointwise ? 0 : rows * nb * L);
    T* cols = pointwise ? nullptr : cols_buf.ptr;
    detail::Scratch<T, 1> gyc_buf(nb > 1 ? Og * nb * L : 0);
    T* gyc = nb > 1 ? gyc_buf.ptr : nullptr;
    for (int64_t gi = 0; gi < g.G; ++gi) {
      const T* b = pointwise ? x + (n0 * g.C + gi * Cg) * S : cols;
      if (!pointwise) im2col(g, x + n0 * g.C * S, nb, gi * Cg, cols);
      T* gwg = acc + gi * Og * rows;
      if (nb == 1) {
        gemm<T>(false, true, Og, rows, L, T(1), gy + (n0 * g.O + gi * Og) * L, L, b, L, beta, gwg,
                rows);
      } else {
        detail::to_channel_major(gy + n0 * g.O * L, nb, g.O, gi * Og, Og, L, gyc);
        gemm<T>(false, true, Og, rows, nb * L, T(1), gyc, nb * L, b, nb * L, beta, gwg, rows);
      }
    }
  });
  if (!parallel) return;
  // The partials in thread order (a fixed summation order: same result run to run).
  const T* partial = partial_buf.ptr;
  parallel_for(wsize, wsize * threads, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      T s = T(0);
      for (int t = 0; t < threads; ++t)
        if (used[size_t(t)]) s += partial[t * wsize + i];
      gw[i] = s;
    }
  });
}

// cols [N, C*K, L] = the blocks of x [N, C, in...] (unfold), one sample at a time so that the
// layout is PyTorch's; g.N is the number of samples, g.G is 1.
template <class T>
void unfold(const ConvGeom& g, const T* x, T* cols) {
  ConvGeom one = g;
  one.N = 1;
  const int64_t rows = one.rows(), L = one.L(), S = one.S();
  for (int64_t n = 0; n < g.N; ++n) im2col<T>(one, x + n * g.C * S, 1, 0, cols + n * rows * L);
}

// The adjoint of unfold: x [N, C, in...] (overwritten) sums the blocks of cols [N, C*K, L].
template <class T>
void fold(const ConvGeom& g, const T* cols, T* x) {
  ConvGeom one = g;
  one.N = 1;
  const int64_t rows = one.rows(), L = one.L(), S = one.S();
  std::fill_n(x, g.N * g.C * S, T(0));
  for (int64_t n = 0; n < g.N; ++n) col2im<T>(one, cols + n * rows * L, 1, 0, x + n * g.C * S);
}

}  // namespace ember::cpu
