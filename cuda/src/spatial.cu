// Launchers for the spatial ops: convolutions (im2col / col2im + cuBLAS), unfold / fold,
// pooling, padding, interpolation and batch norm (ember/cuda/im2col.cuh, pool.cuh,
// resize.cuh, batch_norm.cuh).
#include <algorithm>
#include <climits>
#include <cstdint>
#include <ember/backend/cuda/api.hpp>
#include <ember/cuda/batch_norm.cuh>
#include <ember/cuda/check.cuh>
#include <ember/cuda/im2col.cuh>
#include <ember/cuda/pool.cuh>
#include <ember/cuda/resize.cuh>
#include <ember/cuda/runtime.cuh>

namespace ember::cuda {

namespace {

constexpr int kThreads = 256;

int64_t K_of(const ConvShape& g) { return g.k[0] * g.k[1] * g.k[2]; }
int64_t L_of(const ConvShape& g) { return g.out[0] * g.out[1] * g.out[2]; }
int64_t S_of(const ConvShape& g) { return g.in[0] * g.in[1] * g.in[2]; }

// Device scratch from the stream-ordered pool, freed (in stream order) at scope exit: work
// queued before the free still sees the memory.
template <class T>
struct Scratch {
  T* ptr = nullptr;
  size_t bytes = 0;
  int device = 0;
  Scratch(int64_t count, int dev)
      : bytes(size_t(std::max<int64_t>(count, 0)) * sizeof(T)), device(dev) {
    ptr = static_cast<T*>(allocate(bytes, device));
  }
  ~Scratch() {
    try {
      deallocate(ptr, bytes, device);
    } catch (...) {  // a destructor must not throw; the pool reclaims it at exit
    }
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
};

// Samples per chunk: the column matrix [C*K, nb, L] stays near 256 MB (at least one sample).
template <class T>
int64_t conv_chunk(const ConvShape& g) {
  constexpr int64_t budget = int64_t(256) << 20;
  const int64_t per_sample = std::max<int64_t>(1, g.C * K_of(g) * L_of(g) * int64_t(sizeof(T)));
  return std::clamp<int64_t>(budget / per_sample, 1, std::max<int64_t>(g.N, 1));
}

template <class T>
void launch_im2col(const ConvShape& g, const T* x, T* cols, int64_t nb, int64_t ld_row,
                   int64_t ld_b, int device) {
  const int64_t total = g.C * K_of(g) * nb * L_of(g);
  if (total == 0) return;
  kernels::im2col<T>
      <<<detail::grid_for(total, kThreads, device), kThreads, 0, detail::stream(device)>>>(
          g, x, cols, nb, ld_row, ld_b);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void launch_col2im(const ConvShape& g, const T* cols, T* x, int64_t nb, int64_t ld_row,
                   int64_t ld_b, int device) {
  const int64_t total = nb * g.C * S_of(g);
  if (total == 0) return;
  kernels::col2im<T>
      <<<detail::grid_for(total, kThreads, device), kThreads, 0, detail::stream(device)>>>(
          g, cols, x, nb, ld_row, ld_b);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void launch_to_channel_major(const T* src, T* dst, int64_t nb, int64_t rows, int64_t L,
                             int device) {
  const int64_t total = nb * rows * L;
  if (total == 0) return;
  kernels::to_channel_major<T>
      <<<detail::grid_for(total, kThreads, device), kThreads, 0, detail::stream(device)>>>(
          src, dst, nb, rows, L);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void launch_from_channel_major(const T* src, const T* bias, T* dst, int64_t nb, int64_t rows,
                               int64_t L, int device) {
  const int64_t total = nb * rows * L;
  if (total == 0) return;
  kernels::from_channel_major<T>
      <<<detail::grid_for(total, kThreads, device), kThreads, 0, detail::stream(device)>>>(
          src, bias, dst, nb, rows, L);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void zero(T* p, int64_t n, int device) {
  if (n > 0) EMBER_CUDA_CHECK(cudaMemsetAsync(p, 0, size_t(n) * sizeof(T), detail::stream(device)));
}

// ---------------------------------------------------------------- convolutions

// For a chunk of nb samples, every GEMM works on the channel-major layout [rows, nb*L] of one
// group and is batched over the G groups (one stride per operand).
template <class T>
void conv_forward_impl(const ConvShape& g, const T* x, const T* w, const T* bias, T* y,
                       int device) {
  const int64_t L = L_of(g), S = S_of(g), K = K_of(g);
  if (g.N == 0 || g.O == 0 || L == 0) return;
  detail::use_device(device);
  const int64_t Cg = g.C / g.G, Og = g.O / g.G, rows = Cg * K;
  if (rows == 0) {  // no input channels: the bias alone
    launch_from_channel_major<T>(nullptr, bias, y, g.N, g.O, L, device);
    return;
  }
  const int64_t chunk = conv_chunk<T>(g);
  Scratch<T> cols(g.C * K * chunk * L, device);
  Scratch<T> tmp(chunk > 1 ? g.O * chunk * L : 0, device);
  for (int64_t n0 = 0; n0 < g.N; n0 += chunk) {
    const int64_t nb = std::min(chunk, g.N - n0);
    launch_im2col<T>(g, x + n0 * g.C * S, cols.ptr, nb, nb * L, L, device);
    // With one sample [O, 1, L] is [1, O, L]: the GEMM writes y in place.
    T* out = nb == 1 ? y + n0 * g.O * L : tmp.ptr;
    GemmArgs a;
    a.m = Og, a.n = nb * L, a.k = rows;
    a.lda = rows, a.stride_a = Og * rows;
    a.ldb = nb * L, a.stride_b = rows * nb * L;
    a.ldc = nb * L, a.stride_c = Og * nb * L;
    a.batch = g.G;
    gemm(a, w, cols.ptr, out, device);
    if (nb > 1 || bias)
      launch_from_channel_major<T>(out, bias, y + n0 * g.O * L, nb, g.O, L, device);
  }
}

template <class T>
void conv_backward_input_impl(const ConvShape& g, const T* gy, const T* w, T* gx, int device) {
  const int64_t L = L_of(g), S = S_of(g), K = K_of(g);
  if (g.N == 0 || g.C == 0 || S == 0) return;
  detail::use_device(device);
  const int64_t Cg = g.C / g.G, Og = g.O / g.G, rows = Cg * K;
  if (rows == 0 || L == 0 || Og == 0) {
    zero(gx, g.N * g.C * S, device);
    return;
  }
  const int64_t chunk = conv_chunk<T>(g);
  Scratch<T> cols(g.C * K * chunk * L, device);
  Scratch<T> gyc(chunk > 1 ? g.O * chunk * L : 0, device);
  for (int64_t n0 = 0; n0 < g.N; n0 += chunk) {
    const int64_t nb = std::min(chunk, g.N - n0);
    const T* gyp = gy + n0 * g.O * L;
    if (nb > 1) {
      launch_to_channel_major<T>(gyp, gyc.ptr, nb, g.O, L, device);
      gyp = gyc.ptr;
    }
    // cols_g [rows, nb*L] = w_gᵀ [rows, Og] · gy_g [Og, nb*L]
    GemmArgs a;
    a.trans_a = true;
    a.m = rows, a.n = nb * L, a.k = Og;
    a.lda = rows, a.stride_a = Og * rows;
    a.ldb = nb * L, a.stride_b = Og * nb * L;
    a.ldc = nb * L, a.stride_c = rows * nb * L;
    a.batch = g.G;
    gemm(a, w, gyp, cols.ptr, device);
    launch_col2im<T>(g, cols.ptr, gx + n0 * g.C * S, nb, nb * L, L, device);
  }
}

template <class T>
void conv_backward_weight_impl(const ConvShape& g, const T* x, const T* gy, T* gw, int device) {
  const int64_t L = L_of(g), S = S_of(g), K = K_of(g);
  detail::use_device(device);
  const int64_t Cg = g.C / g.G, Og = g.O / g.G, rows = Cg * K;
  if (g.O * rows == 0) return;
  if (g.N == 0 || L == 0 || Og == 0) {
    zero(gw, g.O * rows, device);
    return;
  }
  const int64_t chunk = conv_chunk<T>(g);
  Scratch<T> cols(g.C * K * chunk * L, device);
  Scratch<T> gyc(chunk > 1 ? g.O * chunk * L : 0, device);
  for (int64_t n0 = 0; n0 < g.N; n0 += chunk) {
    const int64_t nb = std::min(chunk, g.N - n0);
    launch_im2col<T>(g, x + n0 * g.C * S, cols.ptr, nb, nb * L, L, device);
    const T* gyp = gy + n0 * g.O * L;
    if (nb > 1) {
      launch_to_channel_major<T>(gyp, gyc.ptr, nb, g.O, L, device);
      gyp = gyc.ptr;
    }
    // gw_g [Og, rows] (+)= gy_g [Og, nb*L] · cols_gᵀ [nb*L, rows]; chunks accumulate.
    GemmArgs a;
    a.trans_b = true;
    a.m = Og, a.n = rows, a.k = nb * L;
    a.lda = nb * L, a.stride_a = Og * nb * L;
    a.ldb = nb * L, a.stride_b = rows * nb * L;
    a.ldc = rows, a.stride_c = Og * rows;
    a.batch = g.G;
    a.beta = n0 == 0 ? 0.0 : 1.0;
    gemm(a, gyp, cols.ptr, gw, device);
  }
}

template <class T>
void unfold_impl(const ConvShape& g, const T* x, T* cols, int device) {
  detail::use_device(device);
  const int64_t rows = g.C * K_of(g), L = L_of(g);
  launch_im2col<T>(g, x, cols, g.N, L, rows * L, device);
}

template <class T>
void fold_impl(const ConvShape& g, const T* cols, T* x, int device) {
  detail::use_device(device);
  const int64_t rows = g.C * K_of(g), L = L_of(g);
  launch_col2im<T>(g, cols, x, g.N, L, rows * L, device);
}

// ---------------------------------------------------------------- pooling

template <class T>
void max_pool_forward_impl(const PoolShape& g, const int64_t* win, const T* x, T* y, int64_t* idx,
                           int device) {
  const int64_t total = g.P * g.OH * g.OW;
  if (total == 0) return;
  detail::use_device(device);
  kernels::max_pool_forward<T>
      <<<detail::grid_for(total, kThreads, device), kThreads, 0, detail::stream(device)>>>(
          g, win, x, y, idx);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void plane_gather_impl(const T* x, const int64_t* idx, T* y, int64_t P, int64_t n_in, int64_t n_out,
                       int device) {
  const int64_t total = P * n_out;
  if (total == 0) return;
  detail::use_device(device);
  kernels::plane_gather<T>
      <<<detail::grid_for(total, kThreads, device), kThreads, 0, detail::stream(device)>>>(
          x, idx, y, P, n_in, n_out);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void window_mean_impl(const PoolShape& g, const int64_t* win, const T* src, const T* inv_div,
                      T* out, int device) {
  const int64_t total = g.P * g.OH * g.OW;
  if (total == 0) return;
  detail::use_device(device);
  kernels::window_mean<T>
      <<<detail::grid_for(total, kThreads, device), kThreads, 0, detail::stream(device)>>>(
          g, win, src, inv_div, out);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void pool_adjoint_impl(const PoolShape& g, const int64_t* offsets, const int64_t* entries,
                       const int64_t* idx, const T* inv_div, const T* src, T* out, int device) {
  const int64_t total = g.P * g.H * g.W;
  if (total == 0) return;
  detail::use_device(device);
  kernels::pool_adjoint<T>
      <<<detail::grid_for(total, kThreads, device), kThreads, 0, detail::stream(device)>>>(
          g, offsets, entries, idx, inv_div, src, out);
  EMBER_CUDA_CHECK_LAUNCH();
}

// ---------------------------------------------------------------- pad, interpolate

template <class T>
void pad_impl(const SeparableShape& g, const int64_t* tables, const T* src, double fill, T* out,
              int device) {
  int64_t total = g.outer;
  for (int j = 0; j < g.k; ++j) total *= g.big[j];
  if (total == 0) return;
  detail::use_device(device);
  kernels::pad_forward<T>
      <<<detail::grid_for(total, kThreads, device), kThreads, 0, detail::stream(device)>>>(
          g, tables, src, T(fill), out);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void interpolate_impl(const T* src, const int64_t* idx, const T* wts, T* out, int64_t P, int64_t H,
                      int64_t W, int64_t OH, int64_t OW, int device) {
  const int64_t total = P * OH * OW;
  if (total == 0) return;
  detail::use_device(device);
  kernels::interpolate<T>
      <<<detail::grid_for(total, kThreads, device), kThreads, 0, detail::stream(device)>>>(
          src, idx, wts, out, P, H, W, OH, OW);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void separable_adjoint_impl(const SeparableShape& g, const int64_t* offsets, const int64_t* entries,
                            const T* weights, const T* src, T* out, int device) {
  int64_t total = g.outer;
  for (int j = 0; j < g.k; ++j) total *= g.small[j];
  if (total == 0) return;
  detail::use_device(device);
  kernels::separable_adjoint<T>
      <<<detail::grid_for(total, kThreads, device), kThreads, 0, detail::stream(device)>>>(
          g, offsets, entries, weights, src, out);
  EMBER_CUDA_CHECK_LAUNCH();
}

// ---------------------------------------------------------------- batch norm

// Threads for a block that reduces one channel of m values (a multiple of 32, up to 512: the
// double kernels stay clear of the register limit of a 1024-thread block).
int channel_threads(int64_t m) {
  int64_t t = 32;
  while (t < 512 && t * 4 < m) t *= 2;
  return int(t);
}

template <class T>
void batch_norm_forward_impl(const T* x, const T* w, const T* b, T* y, T* mean, T* var, T* rstd,
                             int64_t N, int64_t C, int64_t S, bool training, double eps,
                             int device) {
  if (C == 0 || N * S == 0) return;
  EMBER_CHECK(C <= int64_t(INT32_MAX), "batch_norm: ", C,
              " channels is more than one CUDA grid holds");
  detail::use_device(device);
  kernels::batch_norm_forward<T>
      <<<unsigned(C), channel_threads(N * S), 0, detail::stream(device)>>>(
          x, w, b, y, mean, var, rstd, N, C, S, training, eps);
  EMBER_CUDA_CHECK_LAUNCH();
}

template <class T>
void batch_norm_backward_impl(const T* g, const T* x, const T* w, const T* mean, const T* rstd,
                              T* gx, T* gw, T* gb, int64_t N, int64_t C, int64_t S, bool training,
                              int device) {
  if (C == 0) return;
  detail::use_device(device);
  if (N * S == 0) {  // empty channels: zero sums
    if (gw) zero(gw, C, device);
    if (gb) zero(gb, C, device);
    return;
  }
  EMBER_CHECK(C <= int64_t(INT32_MAX), "batch_norm_backward: ", C,
              " channels is more than one CUDA grid holds");
  kernels::batch_norm_backward<T>
      <<<unsigned(C), channel_threads(N * S), 0, detail::stream(device)>>>(
          g, x, w, mean, rstd, gx, gw, gb, N, C, S, training);
  EMBER_CUDA_CHECK_LAUNCH();
}

}  // namespace

// ---------------------------------------------------------------- the exported overloads

#define EMBER_SPATIAL_FOR_TYPES(X) X(float) X(double)

#define EMBER_SPATIAL_DEFINE(T)                                                                    \
  void conv_forward(const ConvShape& g, const T* x, const T* w, const T* bias, T* y, int device) { \
    conv_forward_impl<T>(g, x, w, bias, y, device);                                                \
  }                                                                                                \
  void conv_backward_input(const ConvShape& g, const T* gy, const T* w, T* gx, int device) {       \
    conv_backward_input_impl<T>(g, gy, w, gx, device);                                             \
  }                                                                                                \
  void conv_backward_weight(const ConvShape& g, const T* x, const T* gy, T* gw, int device) {      \
    conv_backward_weight_impl<T>(g, x, gy, gw, device);                                            \
  }                                                                                                \
  void unfold(const ConvShape& g, const T* x, T* cols, int device) {                               \
    unfold_impl<T>(g, x, cols, device);                                                            \
  }                                                                                                \
  void fold(const ConvShape& g, const T* cols, T* x, int device) {                                 \
    fold_impl<T>(g, cols, x, device);                                                              \
  }                                                                                                \
  void max_pool_forward(const PoolShape& g, const int64_t* win, const T* x, T* y, int64_t* idx,    \
                        int device) {                                                              \
    max_pool_forward_impl<T>(g, win, x, y, idx, device);                                           \
  }                                                                                                \
  void plane_gather(const T* x, const int64_t* idx, T* y, int64_t P, int64_t n_in, int64_t n_out,  \
                    int device) {                                                                  \
    plane_gather_impl<T>(x, idx, y, P, n_in, n_out, device);                                       \
  }                                                                                                \
  void window_mean(const PoolShape& g, const int64_t* win, const T* src, const T* inv_div, T* out, \
                   int device) {                                                                   \
    window_mean_impl<T>(g, win, src, inv_div, out, device);                                        \
  }                                                                                                \
  void pool_adjoint(const PoolShape& g, const int64_t* offsets, const int64_t* entries,            \
                    const int64_t* idx, const T* inv_div, const T* src, T* out, int device) {      \
    pool_adjoint_impl<T>(g, offsets, entries, idx, inv_div, src, out, device);                     \
  }                                                                                                \
  void pad(const SeparableShape& g, const int64_t* tables, const T* src, double fill, T* out,      \
           int device) {                                                                           \
    pad_impl<T>(g, tables, src, fill, out, device);                                                \
  }                                                                                                \
  void interpolate(const T* src, const int64_t* idx, const T* wts, T* out, int64_t P, int64_t H,   \
                   int64_t W, int64_t OH, int64_t OW, int device) {                                \
    interpolate_impl<T>(src, idx, wts, out, P, H, W, OH, OW, device);                              \
  }                                                                                                \
  void separable_adjoint(const SeparableShape& g, const int64_t* offsets, const int64_t* entries,  \
                         const T* weights, const T* src, T* out, int device) {                     \
    separable_adjoint_impl<T>(g, offsets, entries, weights, src, out, device);                     \
  }                                                                                                \
  void batch_norm_forward(const T* x, const T* w, const T* b, T* y, T* mean, T* var, T* rstd,      \
                          int64_t N, int64_t C, int64_t S, bool training, double eps,              \
                          int device) {                                                            \
    batch_norm_forward_impl<T>(x, w, b, y, mean, var, rstd, N, C, S, training, eps, device);       \
  }                                                                                                \
  void batch_norm_backward(const T* g, const T* x, const T* w, const T* mean, const T* rstd,       \
                           T* gx, T* gw, T* gb, int64_t N, int64_t C, int64_t S, bool training,    \
                           int device) {                                                           \
    batch_norm_backward_impl<T>(g, x, w, mean, rstd, gx, gw, gb, N, C, S, training, device);       \
  }

EMBER_SPATIAL_FOR_TYPES(EMBER_SPATIAL_DEFINE)

#undef EMBER_SPATIAL_DEFINE
#undef EMBER_SPATIAL_FOR_TYPES

}  // namespace ember::cuda
