// Orthonormal 2-D block DCT (type II) and its inverse, as in JPEG (n = 8) and the 16 x 16
// transform of the SSTAM note's ringing artifact.
//
// With the n x n DCT matrix C, C[k][i] = a_k cos(pi (2i + 1) k / (2n)), a_0 = sqrt(1/n),
// a_k = sqrt(2/n), a block B has coefficients C B C^T and comes back as C^T D C (C is
// orthogonal). Both are matmuls with C over the blocks, so they run on CUDA tensors too
// (batched GEMM) and are differentiable.
//
// Layouts: block_dct keeps the image layout [..., H, W], each n x n block replaced by its
// coefficients (what JPEG viewers show); to_blocks / from_blocks convert to and from
// [..., H/n, W/n, n, n], where a per-frequency table [n, n] broadcasts. H and W must be
// multiples of n (pad first; block_codec in image/quantize.hpp does).
#pragma once

#include <cmath>
#include <cstdint>
#include <ember/core/error.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/linalg.hpp>
#include <numbers>
#include <vector>

namespace ember::image {

// The orthonormal DCT-II matrix [n, n] (rows are frequencies), on the CPU.
template <class T = float>
Tensor<T> dct_matrix(int64_t n) {
  EMBER_CHECK(n >= 1, "dct_matrix: size must be >= 1, got ", n);
  Tensor<T> c = Tensor<T>::empty({n, n});
  for (int64_t k = 0; k < n; ++k) {
    const double a = std::sqrt((k == 0 ? 1.0 : 2.0) / double(n));
    for (int64_t i = 0; i < n; ++i)
      c.data_ptr()[k * n + i] =
          T(a * std::cos(std::numbers::pi * double((2 * i + 1) * k) / double(2 * n)));
  }
  return c;
}

namespace detail {

template <class T>
void check_blockable(const Tensor<T>& x, int64_t n, const char* op) {
  EMBER_CHECK(n >= 1, op, ": block size must be >= 1, got ", n);
  EMBER_CHECK(x.defined() && x.dim() >= 2 && x.size(-1) % n == 0 && x.size(-2) % n == 0 &&
                  x.size(-1) > 0 && x.size(-2) > 0,
              op, ": expected [..., H, W] with H and W positive multiples of the block size ", n,
              ", got ", x.defined() ? shape_str(x.shape()) : std::string("an undefined tensor"),
              " (pad the planes first)");
}

}  // namespace detail

// [..., H, W] -> [..., H/n, W/n, n, n]: block (r, c) at [..., r, c, :, :].
template <class T>
Tensor<T> to_blocks(const Tensor<T>& x, int64_t n) {
  detail::check_blockable(x, n, "to_blocks");
  Shape s(x.shape().begin(), x.shape().end() - 2);
  const int64_t h = x.size(-2), w = x.size(-1);
  s.insert(s.end(), {h / n, n, w / n, n});
  return x.reshape(s).transpose(-3, -2);
}

// [..., H/n, W/n, n, n] -> [..., H, W], the inverse of to_blocks.
template <class T>
Tensor<T> from_blocks(const Tensor<T>& b) {
  EMBER_CHECK(b.defined() && b.dim() >= 4 && b.size(-1) == b.size(-2),
              "from_blocks: expected blocks [..., H/n, W/n, n, n], got ",
              b.defined() ? shape_str(b.shape()) : std::string("an undefined tensor"));
  const int64_t n = b.size(-1);
  Shape s(b.shape().begin(), b.shape().end() - 4);
  s.insert(s.end(), {b.size(-4) * n, b.size(-3) * n});
  return b.transpose(-3, -2).reshape(s);
}

// Coefficients C B C^T of every n x n block of x [..., H, W], in the image layout.
template <class T>
Tensor<T> block_dct(const Tensor<T>& x, int64_t n = 8) {
  detail::check_blockable(x, n, "block_dct");
  const Tensor<T> c = dct_matrix<T>(n).to(x.device());
  return from_blocks(matmul(matmul(c, to_blocks(x, n)), c.t()));
}

// Pixels C^T D C of every n x n coefficient block of d [..., H, W]; block_idct(block_dct(x))
// is x up to rounding.
template <class T>
Tensor<T> block_idct(const Tensor<T>& d, int64_t n = 8) {
  detail::check_blockable(d, n, "block_idct");
  const Tensor<T> c = dct_matrix<T>(n).to(d.device());
  return from_blocks(matmul(matmul(c.t(), to_blocks(d, n)), c));
}

// The JPEG zig-zag scan of an n x n block: flat indices r * n + c in scan order (for n = 8,
// 0, 1, 8, 16, 9, 2, 3, 10, 17, 24, ... as in ITU-T T.81 figure 5).
inline std::vector<int64_t> zigzag_order(int64_t n) {
  EMBER_CHECK(n >= 1, "zigzag_order: size must be >= 1, got ", n);
  std::vector<int64_t> order;
  order.reserve(size_t(n * n));
  for (int64_t s = 0; s <= 2 * (n - 1); ++s) {
    const int64_t lo = std::max<int64_t>(0, s - (n - 1)), hi = std::min(s, n - 1);
    if (s % 2 == 0)  // even diagonals run up and to the right: row decreasing
      for (int64_t r = hi; r >= lo; --r) order.push_back(r * n + (s - r));
    else
      for (int64_t r = lo; r <= hi; ++r) order.push_back(r * n + (s - r));
  }
  return order;
}

// [n, n] mask: 1 at the first `keep` coefficients in zig-zag order, 0 elsewhere (multiply
// the blocks by it to cut the high frequencies, as the blurring artifact does).
template <class T = float>
Tensor<T> zigzag_mask(int64_t n, int64_t keep) {
  EMBER_CHECK(keep >= 0 && keep <= n * n, "zigzag_mask: keep must be in [0, ", n * n, "], got ",
              keep);
  const std::vector<int64_t> order = zigzag_order(n);
  Tensor<T> m = Tensor<T>::zeros({n, n});
  for (int64_t i = 0; i < keep; ++i) m.data_ptr()[order[size_t(i)]] = T(1);
  return m;
}

}  // namespace ember::image
