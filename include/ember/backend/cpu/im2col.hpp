// Convolution kernels on contiguous NC(D)(H)W buffers: im2col / col2im and the three GEMM-based
// products a convolution needs (forward, input gradient, weight gradient), for 1, 2 or 3
// spatial dimensions with stride, padding, dilation and groups.
//
// Every spatial rank runs through one 3-D code path: a 1-D or 2-D convolution is a 3-D one
// with leading spatial sizes of 1 (the extra loops then run once).
//
// Layout. For one group, the column matrix of `nb` samples is [Cg*K, nb*L] row-major: row
// r = (c, kd, kh, kw), column (b, od, oh, ow), where K is the kernel volume and L the output
// volume. Samples are processed in chunks whose column matrix stays near 4 MB: one sample per
// chunk for images of conv3x3 size (the GEMM then writes its output in place, and the column
// matrix stays in cache between im2col and GEMM), several for small images so that each GEMM
// stays large (their output then goes through a channel-major copy [O, nb*L] <-> [nb, O, L]).
//
// Threading: with at least as many chunks as threads, chunks are spread over OpenMP threads
// and everything inside a chunk (im2col, the GEMM, copies) runs single-threaded (OpenBLAS runs
// serially inside a parallel region); the weight gradient then sums one partial per thread.
// With fewer chunks, they run in turn and OpenBLAS / cpu::parallel_for thread each step. The
// two are never nested.
//
// Input gradient: with unit strides it is computed as a forward convolution of the output
// gradient with the flipped, channel-swapped kernel (im2col + GEMM, no scattered adds);
// otherwise as col2im(wᵀ·gy).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include <ember/backend/cpu/blas.hpp>
#include <ember/backend/cpu/parallel.hpp>

namespace ember::cpu {

// Geometry of a convolution x [N, C, in...] * w [O, C/G, k...] -> y [N, O, out...], with the
// spatial dims padded to three (size 1, kernel 1, stride 1, no padding).
struct ConvGeom {
  int64_t N = 1, C = 1, O = 1, G = 1;
  int64_t in[3] = {1, 1, 1}, k[3] = {1, 1, 1}, out[3] = {1, 1, 1};
  int64_t stride[3] = {1, 1, 1}, pad[3] = {0, 0, 0}, dil[3] = {1, 1, 1};

  int64_t Cg() const { return C / G; }
  int64_t Og() const { return O / G; }
  int64_t K() const { return k[0] * k[1] * k[2]; }
  int64_t L() const { return out[0] * out[1] * out[2]; }
  int64_t S() const { return in[0] * in[1] * in[2]; }
  // Rows of the column matrix of one group.
  int64_t rows() const { return Cg() * K(); }
};

// Output size of one dimension (floor mode), as in PyTorch; may be <= 0 for bad input.
inline int64_t conv_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dil) {
  return (in + 2 * pad - dil * (k - 1) - 1) / stride + 1;
}

namespace detail {

// [lo, hi): the output positions o whose input position o*s - p + off lies in [0, n).
inline void valid_range(int64_t n_out, int64_t n_in, int64_t s, int64_t p, int64_t off,
                        int64_t& lo, int64_t& hi) {
  // o*s - p + off >= 0  <=>  o >= ceil((p - off) / s)
  const int64_t a = p - off;
  lo = a <= 0 ? 0 : (a + s - 1) / s;
  // o*s - p + off <= n_in - 1  <=>  o <= floor((n_in - 1 + p - off) / s)
  const int64_t b = n_in - 1 + p - off;
  hi = b < 0 ? 0 : b / s + 1;
  lo = std::min(lo, n_out);
  hi = std::clamp(hi, lo, n_out);
}

// parallel_for, but serial inside an OpenMP parallel region (a chunk of the batch running on
// one thread): the caller already spreads the work.
template <class F>
void par(int64_t n, int64_t work, F&& f) {
#ifdef _OPENMP
  if (omp_in_parallel()) {
    f(int64_t(0), n);
    return;
  }
#endif
  parallel_for(n, work, f);
}

// Elements per parallel work item below which a loop is not split (see kParallelGrain).
inline int64_t work_of(int64_t items, int64_t per_item) { return items * per_item; }

}  // namespace detail

// cols [Cg*K, nb*L] from channels [c0, c0 + Cg) of x, the first of nb consecutive samples
// (x points at that sample's channel 0; samples are C*S apart).
template <class T>
void im2col(const ConvGeom& g, const T* x, int64_t nb, int64_t c0, T* cols) {
  const int64_t K = g.K(), L = g.L(), S = g.S(), rows = g.rows();
  const int64_t ow_n = g.out[2];
  const int64_t ld = nb * L;
  detail::par(rows * nb, detail::work_of(rows * nb, L), [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t r = item / nb, b = item % nb;
      const int64_t c = r / K, kk = r % K;
      const int64_t kd = kk / (g.k[1] * g.k[2]), kh = (kk / g.k[2]) % g.k[1], kw = kk % g.k[2];
      const T* xc = x + (b * g.C + c0 + c) * S;
      T* dst = cols + r * ld + b * L;
      int64_t w_lo, w_hi;
      detail::valid_range(ow_n, g.in[2], g.stride[2], g.pad[2], kw * g.dil[2], w_lo, w_hi);
      const int64_t sw = g.stride[2];
      // Rows as wide as the input with unit strides in h and w: the valid rows of the plane
      // are one shifted copy (one memcpy instead of three calls per row), after which the
      // elements that wrapped around a row edge are zeroed.
      const bool shifted_copy = sw == 1 && g.stride[1] == 1 && ow_n == g.in[2];
      int64_t h_lo = 0, h_hi = 0;
      if (shifted_copy)
        detail::valid_range(g.out[1], g.in[1], 1, g.pad[1], kh * g.dil[1], h_lo, h_hi);
      for (int64_t od = 0; od < g.out[0]; ++od) {
        const int64_t id = od * g.stride[0] - g.pad[0] + kd * g.dil[0];
        if (shifted_copy) {
          const int64_t plane = g.out[1] * ow_n;
          if (id < 0 || id >= g.in[0] || h_lo >= h_hi || w_lo >= w_hi) {
            std::fill_n(dst, plane, T(0));
            dst += plane;
            continue;
          }
          const int64_t shift = (-g.pad[1] + kh * g.dil[1]) * g.in[2] - g.pad[2] + kw * g.dil[2];
          const T* src = xc + id * g.in[1] * g.in[2] + shift;
          const int64_t first = h_lo * ow_n + w_lo, last = (h_hi - 1) * ow_n + w_hi;
          std::fill_n(dst, first, T(0));
          std::memcpy(dst + first, src + first, size_t(last - first) * sizeof(T));
          std::fill_n(dst + last, plane - last, T(0));
          for (int64_t oh = h_lo; oh < h_hi; ++oh) {
            T* row = dst + oh * ow_n;
            for (int64_t ow = 0; ow < w_lo; ++ow) row[ow] = T(0);
            for (int64_t ow = w_hi; ow < ow_n; ++ow) row[ow] = T(0);
          }
          dst += plane;
          continue;
        }
        for (int64_t oh = 0; oh < g.out[1]; ++oh, dst += ow_n) {
          const int64_t ih = oh * g.stride[1] - g.pad[1] + kh * g.dil[1];
          if (id < 0 || id >= g.in[0] || ih < 0 || ih >= g.in[1]) {
            std::fill_n(dst, ow_n, T(0));
            continue;
          }
          const T* src = xc + (id * g.in[1] + ih) * g.in[2] - g.pad[2] + kw * g.dil[2];
          std::fill_n(dst, w_lo, T(0));
          if (sw == 1) {
            std::memcpy(dst + w_lo, src + w_lo, size_t(w_hi - w_lo) * sizeof(T));
          } else {
            for (int64_t ow = w_lo; ow < w_hi; ++ow) dst[ow] = src[ow * sw];
          }
          std::fill_n(dst + w_hi, ow_n - w_hi, T(0));
        }
      }
    }
  });
}

// The adjoint of im2col: gx[b, c0 + c] += the column entries that were read from it. gx points
// at the first sample's channel 0 and must be initialised (zeros) by the caller.
template <class T>
void col2im(const ConvGeom& g, const T* cols, int64_t nb, int64_t c0, T* gx) {
  const int64_t K = g.K(), L = g.L(), S = g.S(), Cg = g.Cg();
  const int64_t ow_n = g.out[2];
  const int64_t ld = nb * L;
  // One work item per (channel, sample) plane: planes are written by disjoint items.
  detail::par(Cg * nb, detail::work_of(Cg * nb, K * L), [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t c = item / nb, b = item % nb;
      T* xc = gx + (b * g.C + c0 + c) * S;
      for (int64_t kk = 0; kk < K; ++kk) {
        const int64_t kd = kk / (g.k[1] * g.k[2]), kh = (kk / g.k[2]) % g.k[1], kw = kk % g.k[2];
        const T* src = cols + (c * K + kk) * ld + b * L;
        int64_t w_lo, w_hi;
        detail::valid_range(ow_n, g.in[2], g.stride[2], g.pad[2], kw * g.dil[2], w_lo, w_hi);
        const int64_t sw = g.stride[2];
        for (int64_t od = 0; od < g.out[0]; ++od) {
          const int64_t id = od * g.stride[0] - g.pad[0] + kd * g.dil[0];
          for (int64_t oh = 0; oh < g.out[1]; ++oh, src += ow_n) {
            const int64_t ih = oh * g.stride[1] - g.pad[1] + kh * g.dil[1];
            if (id < 0 || id >= g.in[0] || ih < 0 || ih >= g.in[1]) continue;
            T* dst = xc + (id * g.in[1] + ih) * g.in[2] - g.pad[2] + kw * g.dil[2];
            if (sw == 1) {
#pragma omp simd
              for (int64_t ow = w_lo; ow < w_hi; ++ow) dst[ow] += src[ow];
            } else {
              for (int64_t ow = w_lo; ow < w_hi; ++ow) dst[ow * sw] += src[ow];
            }
          }
        }
      }
    }
  });
}

namespace detail {

// Scratch memory for column matrices, kept per thread and per purpose between calls: a fresh
// 40 MB std::vector would be zero-filled and page-faulted in on every convolution, which costs
// as much as the im2col itself. It only grows; contents are not initialised.
template <class T, int Slot>
T* workspace(int64_t count) {
  thread_local std::unique_ptr<T[]> buf;
  thread_local int64_t cap = 0;
  if (count > cap) {
    buf.reset();
    buf.reset(new T[size_t(count)]);
    cap = count;
  }
  return buf.get();
}

// A scratch buffer for one call: the thread's cached workspace up to 64 MB, a private
// allocation above that (a huge image should not pin its column matrix for the thread's life).
template <class T, int Slot>
struct Scratch {
  std::unique_ptr<T[]> own;
  T* ptr = nullptr;
  explicit Scratch(int64_t count) {
    if (count * int64_t(sizeof(T)) <= (int64_t(64) << 20)) {
      ptr = workspace<T, Slot>(count);
    } else {
      own.reset(new T[size_t(count)]);
      ptr = own.get();
    }
  }
};

// Samples per chunk: enough to make the GEMMs large, few enough that the column matrix stays
// near `budget` bytes (it is 9x the input for a 3x3 kernel). Several chunks are spread over
// threads (for_each_chunk), so their number is rounded up to a multiple of the thread count:
// 3 chunks on 2 threads left one thread idle for a third of the time (ResNet-18's 256-channel
// convolutions ran 1.7x slower). One chunk keeps one large GEMM that OpenBLAS threads itself.
template <class T>
int64_t conv_chunk(const ConvGeom& g) {
  constexpr int64_t budget = int64_t(4) << 20;
  const int64_t N = std::max<int64_t>(g.N, 1), threads = max_threads();
  const int64_t per_sample = std::max<int64_t>(1, g.rows() * g.L() * int64_t(sizeof(T)));
  int64_t chunks = std::clamp<int64_t>((N * per_sample + budget - 1) / budget, 1, N);
  if (chunks > 1 && chunks < N && threads > 1)
    chunks = std::min(N, (chunks + threads - 1) / threads * threads);
  return (N + chunks - 1) / chunks;
}

// dst[o, b*L + l] = src[b, o0 + o, l] for o < rows (nb samples of `channels` channels).
template <class T>
void to_channel_major(const T* src, int64_t nb, int64_t channels, int64_t o0, int64_t rows,
                      int64_t L, T* dst) {
  par(rows * nb, rows * nb * L, [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t o = item / nb, b = item % nb;
      std::memcpy(dst + (o * nb + b) * L, src + (b * channels + o0 + o) * L, size_t(L) * sizeof(T));
    }
  });
}

// The inverse: dst[b, o0 + o, l] = src[o, b*L + l] (+ bias[o] when given).
template <class T>
void from_channel_major(const T* src, int64_t nb, int64_t channels, int64_t o0, int64_t rows,
                        int64_t L, const T* bias, T* dst) {
  par(rows * nb, rows * nb * L, [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t o = item / nb, b = item % nb;
      const T* s = src + (o * nb + b) * L;
      T* d = dst + (b * channels + o0 + o) * L;
      if (bias) {
        const T bv = bias[o];
        for (int64_t l = 0; l < L; ++l) d[l] = s[l] + bv;
      } else {
        std::memcpy(d, s, size_t(L) * sizeof(T));
      }
    }
  });
}

// True when the convolution is a plain matrix product per sample (1x1 kernel, stride 1, no
// padding): the input itself is the column matrix.
inline bool is_pointwise(const ConvGeom& g) {
  for (int i = 0; i < 3; ++i)
    if (g.k[i] != 1 || g.stride[i] != 1 || g.pad[i] != 0) return false;
  return true;
}

// Runs f(first_sample, samples, thread) over the batch in chunks of `chunk` samples. With at
// least as many chunks as threads, the chunks are spread over OpenMP threads and everything
// inside (im2col, GEMM, copies) runs single-threaded in its thread (OpenBLAS runs serially
// inside a parallel region); `thread` is then the OpenMP thread number, below `threads`.
// Otherwise chunks run one after the other, the GEMMs and loops thread themselves, and
// `thread` is -1.
inline bool chunks_in_parallel(int64_t N, int64_t chunk, int threads) {
#ifdef _OPENMP
  return threads > 1 && (N + chunk - 1) / chunk >= threads && !omp_in_parallel();
#else
  (void)N, (void)chunk, (void)threads;
  return false;
#endif
}

template <class F>
void for_each_chunk(int64_t N, int64_t chunk, int threads, F&& f) {
  const int64_t chunks = (N + chunk - 1) / chunk;
#ifdef _OPENMP
  if (chunks_in_parallel(N, chunk, threads)) {
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t c = 0; c < chunks; ++c)
      f(c * chunk, std::min(chunk, N - c * chunk), omp_get_thread_num());
    return;
  }
#endif
  (void)threads;
  for (int64_t c = 0; c < chunks; ++c) f(c * chunk, std::min(chunk, N - c * chunk), -1);
}

}  // namespace detail

}  // namespace ember::cpu
