// CPU FFT engine: complex-to-complex transforms of any length, and real-input (r2c) /
// real-output (c2r) transforms, batched and parallelised over independent transforms.
//
// Algorithm. A length is factored into 4s, 2s, 3s, 5s and other primes; each factor is one
// Stockham pass (out of place, self-sorting, ping-ponging between two buffers), with
// specialised butterflies for radices 2, 3, 4 and 8 and a generic O(p^2) butterfly for the rest.
// A length with a prime factor above kBluesteinPrime is computed with Bluestein's chirp-z
// algorithm: a circular convolution of power-of-two length, itself done with this engine.
//
// Vector lanes. Every transform works on data laid out [n][V]: V independent sequences
// interleaved, so a transform along a non-innermost axis of a contiguous tensor (layout
// [outer][n][inner]) runs directly on each [n][inner] slab with V = inner, and the innermost
// loops are unit-stride over the lanes (vectorisable) instead of gathering columns.
//
// Plans (factorisation, per-pass twiddles, Bluestein chirp and its transformed kernel) are
// built once per (length, direction, precision) and cached in a mutex-protected map.
//
// Batches run on a small claim-a-chunk thread pool (FftPool below) rather than an OpenMP
// region, so the caller never waits for a helper thread that has not started yet.
// r2c / c2r move kRowBlock rows at a time through the half-length FFT as lanes; rfft2 / irfft2
// fuse the row and column passes per batch element so the intermediate stays in cache.
//
// Conventions: sign = -1 is the forward transform X_k = sum_j x_j exp(-2 pi i jk/n), sign = +1
// the unnormalised inverse. `scale` multiplies the result (the ops layer passes the norm).
// Complex products are written out by hand: std::complex's operator* has NaN-recovery
// branches (Annex G) that block vectorisation without -ffast-math.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <complex>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <tuple>
#include <vector>

#include <ember/backend/cpu/parallel.hpp>
#include <ember/core/error.hpp>

namespace ember::cpu::fft {

// Unit-stride lane loops are vectorised with `omp simd` (GCC's -O2 cost model would otherwise
// leave them scalar because of the aliasing checks).
#ifdef _OPENMP
#define EMBER_FFT_SIMD _Pragma("omp simd")
#else
#define EMBER_FFT_SIMD
#endif

// Lengths with a prime factor above this go through Bluestein.
inline constexpr int64_t kBluesteinPrime = 61;
// Rows transformed together (as interleaved lanes) by r2c / c2r.
inline constexpr int64_t kRowBlock = 16;

// Per-thread scratch buffers that only grow, one per slot: the transforms' temporaries are
// reused from call to call. Allocated per call, a buffer of 128 KiB or more (a half-length
// FFT of 1024 doubles times kRowBlock lanes) is a fresh mmap with a page fault per 4 KiB every
// time, which made a [100, 1024] double rfft ten times slower than the float one. Slots:
// r2c / c2r use 0-2, rfft2 / irfft2 3-4 (they call r2c / c2r inside), c2c 5.
namespace detail {
template <class C>
C* scratch(int slot, int64_t n) {
  thread_local std::array<std::vector<C>, 6> buffers;
  std::vector<C>& b = buffers[size_t(slot)];
  if (b.size() < size_t(n)) b.resize(size_t(n));
  return b.data();
}
}  // namespace detail

namespace detail {

template <class R>
struct Cx {  // layout-compatible with std::complex<R>; plain arithmetic vectorises
  R re, im;
};

template <class R>
inline Cx<R> cmul(Cx<R> a, Cx<R> b) {
  return {a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re};
}

inline std::vector<int64_t> factorize(int64_t n) {
  std::vector<int64_t> f;
  while (n % 8 == 0) f.push_back(8), n /= 8;
  while (n % 4 == 0) f.push_back(4), n /= 4;
  while (n % 2 == 0) f.push_back(2), n /= 2;
  for (int64_t p = 3; p * p <= n; p += 2)
    while (n % p == 0) f.push_back(p), n /= p;
  if (n > 1) f.push_back(n);
  return f;
}

}  // namespace detail

template <class R>
class Plan {
 public:
  using C = detail::Cx<R>;

  Plan(int64_t n, int sign) : n_(n), sign_(sign) {
    EMBER_CHECK(n >= 1, "fft plan: length must be positive, got ", n);
    factors_ = detail::factorize(n);
    for (int64_t f : factors_) bluestein_ = bluestein_ || f > kBluesteinPrime;
    if (bluestein_) {
      build_bluestein();
      return;
    }
    // Pass i works on sub-length n_cur (n divided by the earlier radices) with radix r:
    // twiddle[p*(r-1) + k-1] = exp(sign 2 pi i p k / n_cur), p < n_cur / r.
    int64_t n_cur = n;
    for (int64_t r : factors_) {
      const int64_t m = n_cur / r;
      std::vector<C> tw(static_cast<size_t>(m * (r - 1)));
      for (int64_t p = 0; p < m; ++p)
        for (int64_t k = 1; k < r; ++k) tw[p * (r - 1) + k - 1] = root(p * k, n_cur);
      twiddles_.push_back(std::move(tw));
      if (r > 4 && r != 8) {  // generic butterfly table: w_r^(jk)
        std::vector<C> t(static_cast<size_t>(r * r));
        for (int64_t j = 0; j < r; ++j)
          for (int64_t k = 0; k < r; ++k) t[j * r + k] = root((j * k) % r, r);
        radix_tables_.push_back(std::move(t));
      } else {
        radix_tables_.emplace_back();
      }
      n_cur = m;
    }
  }

  int64_t size() const { return n_; }
  int sign() const { return sign_; }
  // Scratch (in complex elements) that execute needs for V lanes.
  int64_t work_size(int64_t V) const { return bluestein_ ? 2 * m_ : n_ * V; }

  // out[n][V] = scale * DFT(in[n][V]) along n, for each lane. in and out must not overlap;
  // work holds work_size(V) elements.
  void execute(const C* in, C* out, C* work, int64_t V, R scale) const {
    if (bluestein_) {
      for (int64_t v = 0; v < V; ++v) run_bluestein(in + v, out + v, V, work, scale);
      return;
    }
    const size_t passes = factors_.size();
    if (passes == 0) {  // n == 1
      for (int64_t v = 0; v < V; ++v) out[v] = {in[v].re * scale, in[v].im * scale};
      return;
    }
    // Pass i writes to out when (passes - 1 - i) is even, so the last pass lands in out.
    const C* src = in;
    int64_t n_cur = n_, L = V;
    for (size_t i = 0; i < passes; ++i) {
      C* dst = ((passes - 1 - i) % 2 == 0) ? out : work;
      const int64_t r = factors_[i];
      const R s = (i + 1 == passes) ? scale : R(1);
      switch (r) {
        case 2: pass2(src, dst, n_cur / 2, L, twiddles_[i].data(), s); break;
        case 3: pass3(src, dst, n_cur / 3, L, twiddles_[i].data(), s); break;
        case 4: pass4(src, dst, n_cur / 4, L, twiddles_[i].data(), s); break;
        case 8: pass8(src, dst, n_cur / 8, L, twiddles_[i].data(), s); break;
        default: passg(src, dst, r, n_cur / r, L, twiddles_[i].data(), radix_tables_[i].data(), s);
      }
      src = dst;
      L *= r;
      n_cur /= r;
    }
  }

 private:
  C root(int64_t k, int64_t n) const {  // exp(sign 2 pi i k / n), in double then rounded
    const double a = 2.0 * M_PI * double(k) / double(n);
    return {R(std::cos(a)), R(sign_ * std::sin(a))};
  }

  // Stockham pass: for p < m and lane u < L, a_j = src[(p + j m) L + u]; dst[(r p + k) L + u] =
  // w^(pk) * sum_j a_j w_r^(jk).
  static void pass2(const C* x, C* y, int64_t m, int64_t L, const C* tw, R s) {
    for (int64_t p = 0; p < m; ++p) {
      const C w = tw[p];
      const C* a0 = x + p * L;
      const C* a1 = x + (p + m) * L;
      C* y0 = y + (2 * p) * L;
      C* y1 = y0 + L;
    EMBER_FFT_SIMD
      for (int64_t u = 0; u < L; ++u) {
        const C a = a0[u], b = a1[u];
        y0[u] = {(a.re + b.re) * s, (a.im + b.im) * s};
        const C d{(a.re - b.re) * s, (a.im - b.im) * s};
        y1[u] = detail::cmul(d, w);
      }
    }
  }

  void pass3(const C* x, C* y, int64_t m, int64_t L, const C* tw, R s) const {
    const R h = R(sign_ * 0.86602540378443864676);  // sign * sqrt(3)/2
    for (int64_t p = 0; p < m; ++p) {
      const C w1 = tw[2 * p], w2 = tw[2 * p + 1];
      const C* a0 = x + p * L;
      const C* a1 = x + (p + m) * L;
      const C* a2 = x + (p + 2 * m) * L;
      C* y0 = y + (3 * p) * L;
      C* y1 = y0 + L;
      C* y2 = y1 + L;
    EMBER_FFT_SIMD
      for (int64_t u = 0; u < L; ++u) {
        const C a = a0[u], b = a1[u], c = a2[u];
        const R tr = b.re + c.re, ti = b.im + c.im;
        const R mr = a.re - R(0.5) * tr, mi = a.im - R(0.5) * ti;
        // (b - c) * (i h) = (-h (b-c).im, h (b-c).re)
        const R dr = -h * (b.im - c.im), di = h * (b.re - c.re);
        y0[u] = {(a.re + tr) * s, (a.im + ti) * s};
        y1[u] = detail::cmul(C{(mr + dr) * s, (mi + di) * s}, w1);
        y2[u] = detail::cmul(C{(mr - dr) * s, (mi - di) * s}, w2);
      }
    }
  }

  void pass4(const C* x, C* y, int64_t m, int64_t L, const C* tw, R s) const {
    const R sg = R(sign_);
    for (int64_t p = 0; p < m; ++p) {
      const C w1 = tw[3 * p], w2 = tw[3 * p + 1], w3 = tw[3 * p + 2];
      const C* a0 = x + p * L;
      const C* a1 = x + (p + m) * L;
      const C* a2 = x + (p + 2 * m) * L;
      const C* a3 = x + (p + 3 * m) * L;
      C* y0 = y + (4 * p) * L;
      C* y1 = y0 + L;
      C* y2 = y1 + L;
      C* y3 = y2 + L;
    EMBER_FFT_SIMD
      for (int64_t u = 0; u < L; ++u) {
        const C a = a0[u], b = a1[u], c = a2[u], d = a3[u];
        const R t0r = a.re + c.re, t0i = a.im + c.im;
        const R t1r = a.re - c.re, t1i = a.im - c.im;
        const R t2r = b.re + d.re, t2i = b.im + d.im;
        // (b - d) * (sign i) = (-sign (b-d).im, sign (b-d).re)
        const R t3r = -sg * (b.im - d.im), t3i = sg * (b.re - d.re);
        y0[u] = {(t0r + t2r) * s, (t0i + t2i) * s};
        y1[u] = detail::cmul(C{(t1r + t3r) * s, (t1i + t3i) * s}, w1);
        y2[u] = detail::cmul(C{(t0r - t2r) * s, (t0i - t2i) * s}, w2);
        y3[u] = detail::cmul(C{(t1r - t3r) * s, (t1i - t3i) * s}, w3);
      }
    }
  }

  // Radix 8 as two radix-4 butterflies (even and odd inputs) joined by w8^k.
  void pass8(const C* x, C* y, int64_t m, int64_t L, const C* tw, R s) const {
    const R sg = R(sign_), h = R(0.70710678118654752440);
    for (int64_t p = 0; p < m; ++p) {
      const C* t = tw + 7 * p;
      const C* a[8];
      C* o[8];
      for (int j = 0; j < 8; ++j) a[j] = x + (p + j * m) * L, o[j] = y + (8 * p + j) * L;
      EMBER_FFT_SIMD
      for (int64_t u = 0; u < L; ++u) {
        const C c0 = a[0][u], c1 = a[1][u], c2 = a[2][u], c3 = a[3][u];
        const C c4 = a[4][u], c5 = a[5][u], c6 = a[6][u], c7 = a[7][u];
        // E = DFT4(c0, c2, c4, c6), O = DFT4(c1, c3, c5, c7)
        R t0r = c0.re + c4.re, t0i = c0.im + c4.im, t1r = c0.re - c4.re, t1i = c0.im - c4.im;
        R t2r = c2.re + c6.re, t2i = c2.im + c6.im;
        R t3r = -sg * (c2.im - c6.im), t3i = sg * (c2.re - c6.re);
        const R e0r = t0r + t2r, e0i = t0i + t2i, e2r = t0r - t2r, e2i = t0i - t2i;
        const R e1r = t1r + t3r, e1i = t1i + t3i, e3r = t1r - t3r, e3i = t1i - t3i;
        t0r = c1.re + c5.re, t0i = c1.im + c5.im, t1r = c1.re - c5.re, t1i = c1.im - c5.im;
        t2r = c3.re + c7.re, t2i = c3.im + c7.im;
        t3r = -sg * (c3.im - c7.im), t3i = sg * (c3.re - c7.re);
        const R o0r = t0r + t2r, o0i = t0i + t2i, o2r = t0r - t2r, o2i = t0i - t2i;
        const R o1r = t1r + t3r, o1i = t1i + t3i, o3r = t1r - t3r, o3i = t1i - t3i;
        // w^1 O1 = ((x - sg y), (y + sg x)) h;  w^2 O2 = sg i O2;  w^3 O3 = (-(x + sg y), sg x - y) h
        const R w1r = h * (o1r - sg * o1i), w1i = h * (o1i + sg * o1r);
        const R w2r = -sg * o2i, w2i = sg * o2r;
        const R w3r = -h * (o3r + sg * o3i), w3i = h * (sg * o3r - o3i);
        o[0][u] = {(e0r + o0r) * s, (e0i + o0i) * s};
        o[1][u] = detail::cmul(C{(e1r + w1r) * s, (e1i + w1i) * s}, t[0]);
        o[2][u] = detail::cmul(C{(e2r + w2r) * s, (e2i + w2i) * s}, t[1]);
        o[3][u] = detail::cmul(C{(e3r + w3r) * s, (e3i + w3i) * s}, t[2]);
        o[4][u] = detail::cmul(C{(e0r - o0r) * s, (e0i - o0i) * s}, t[3]);
        o[5][u] = detail::cmul(C{(e1r - w1r) * s, (e1i - w1i) * s}, t[4]);
        o[6][u] = detail::cmul(C{(e2r - w2r) * s, (e2i - w2i) * s}, t[5]);
        o[7][u] = detail::cmul(C{(e3r - w3r) * s, (e3i - w3i) * s}, t[6]);
      }
    }
  }

  static void passg(const C* x, C* y, int64_t r, int64_t m, int64_t L, const C* tw, const C* tab,
                    R s) {
    std::vector<C> a(static_cast<size_t>(r));
    for (int64_t p = 0; p < m; ++p) {
      for (int64_t u = 0; u < L; ++u) {
        for (int64_t j = 0; j < r; ++j) a[j] = x[(p + j * m) * L + u];
        for (int64_t k = 0; k < r; ++k) {
          R br = 0, bi = 0;
          for (int64_t j = 0; j < r; ++j) {
            const C t = tab[j * r + k];
            br += a[j].re * t.re - a[j].im * t.im;
            bi += a[j].re * t.im + a[j].im * t.re;
          }
          C b{br * s, bi * s};
          if (k > 0) b = detail::cmul(b, tw[p * (r - 1) + k - 1]);
          y[(r * p + k) * L + u] = b;
        }
      }
    }
  }

  // Bluestein: X_k = c_k sum_j (x_j c_j) conj(c_{k-j}), c_k = exp(sign i pi k^2 / n), as a
  // circular convolution of length m_ (a power of two >= 2n - 1).
  void build_bluestein() {
    m_ = 1;
    while (m_ < 2 * n_ - 1) m_ *= 2;
    chirp_.resize(static_cast<size_t>(n_));
    for (int64_t k = 0; k < n_; ++k) {
      const int64_t k2 = (k * k) % (2 * n_);  // exact angle reduction
      const double a = M_PI * double(k2) / double(n_);
      chirp_[k] = {R(std::cos(a)), R(sign_ * std::sin(a))};
    }
    fwd_ = std::make_unique<Plan>(m_, -1);
    inv_ = std::make_unique<Plan>(m_, +1);
    std::vector<C> b(static_cast<size_t>(m_), C{0, 0}), work(static_cast<size_t>(m_));
    for (int64_t k = 0; k < n_; ++k) {
      const C c{chirp_[k].re, -chirp_[k].im};
      b[k] = c;
      if (k > 0) b[m_ - k] = c;
    }
    kernel_.resize(static_cast<size_t>(m_));
    fwd_->execute(b.data(), kernel_.data(), work.data(), 1, R(1) / R(m_));
  }

  // One lane: in and out are strided by V; work holds 2 m_ elements.
  void run_bluestein(const C* in, C* out, int64_t V, C* work, R scale) const {
    C* a = work;
    C* b = work + m_;
    for (int64_t j = 0; j < n_; ++j) a[j] = detail::cmul(in[j * V], chirp_[j]);
    for (int64_t j = n_; j < m_; ++j) a[j] = {0, 0};
    std::vector<C> tmp(static_cast<size_t>(m_));  // the sub-plans' own ping-pong buffer
    fwd_->execute(a, b, tmp.data(), 1, R(1));
    for (int64_t j = 0; j < m_; ++j) b[j] = detail::cmul(b[j], kernel_[j]);
    inv_->execute(b, a, tmp.data(), 1, R(1));
    for (int64_t k = 0; k < n_; ++k) {
      const C v = detail::cmul(a[k], chirp_[k]);
      out[k * V] = {v.re * scale, v.im * scale};
    }
  }

  int64_t n_;
  int sign_;
  std::vector<int64_t> factors_;
  std::vector<std::vector<C>> twiddles_, radix_tables_;
  bool bluestein_ = false;
  int64_t m_ = 0;
  std::vector<C> chirp_, kernel_;
  std::unique_ptr<Plan> fwd_, inv_;
};

// The cached plan for (n, sign) in precision R. Thread-safe; plans are immutable once built.
template <class R>
std::shared_ptr<const Plan<R>> get_plan(int64_t n, int sign) {
  static std::mutex mu;
  static std::map<std::pair<int64_t, int>, std::shared_ptr<const Plan<R>>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = cache[{n, sign}];
  if (!slot) slot = std::make_shared<const Plan<R>>(n, sign);
  return slot;
}

// exp(sign 2 pi i k / n) for k < n / 2: the post-/pre-processing twiddles of the half-length
// real transforms, cached like plans.
template <class R>
std::shared_ptr<const std::vector<detail::Cx<R>>> get_real_twiddles(int64_t n, int sign) {
  static std::mutex mu;
  static std::map<std::pair<int64_t, int>, std::shared_ptr<const std::vector<detail::Cx<R>>>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = cache[{n, sign}];
  if (!slot) {
    auto t = std::make_shared<std::vector<detail::Cx<R>>>(static_cast<size_t>(n / 2));
    for (int64_t k = 0; k < n / 2; ++k) {
      const double a = 2.0 * M_PI * double(k) / double(n);
      (*t)[k] = {R(std::cos(a)), R(sign * std::sin(a))};
    }
    slot = std::move(t);
  }
  return slot;
}

// ------------------------------------------------------------------ threading

namespace detail {

// A small pool for the batched transforms. The caller claims chunks from a shared counter and
// helpers (sleeping on a condition variable, not spinning) join in when they wake; the caller
// returns as soon as every chunk has run, so a helper the OS has not scheduled yet costs
// nothing (an OpenMP region would wait for it at its closing barrier, which on a loaded
// machine costs whole scheduler time slices). A chunk is claimed by a CAS on one word that
// holds the job's generation, the chunk count and the next index, so a helper that wakes late
// can never run a chunk of a finished job.
class FftPool {
 public:
  static FftPool& instance() {
    static FftPool pool;
    return pool;
  }

  template <class F>
  void run(int64_t chunks, F& f) {
    std::unique_lock<std::mutex> busy(run_mu_, std::try_to_lock);
    if (!busy.owns_lock() || helpers_.empty() || chunks >= (int64_t(1) << 20)) {
      for (int64_t c = 0; c < chunks; ++c) f(c);  // nested or concurrent use: run inline
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      call_ = [](void* fn, int64_t c) { (*static_cast<F*>(fn))(c); };
      fn_ = &f;
      done_.store(0, std::memory_order_relaxed);
      gen_ = (gen_ + 1) & 0xFFFFFF;
      claim_.store((uint64_t(gen_) << 40) | (uint64_t(chunks) << 20), std::memory_order_release);
    }
    cv_.notify_all();
    work(gen_);
    while (done_.load(std::memory_order_acquire) < chunks) std::this_thread::yield();
  }

  ~FftPool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : helpers_) t.join();
  }

 private:
  FftPool() {
    for (int i = 1; i < max_threads(); ++i)
      helpers_.emplace_back([this] {
        uint64_t seen = 0;
        for (;;) {
          {
            std::unique_lock<std::mutex> lock(mu_);
            cv_.wait(lock, [&] { return stop_ || gen_ != seen; });
            if (stop_) return;
            seen = gen_;
          }
          work(seen);
        }
      });
  }

  void work(uint64_t gen) {
    constexpr uint64_t kMask = (uint64_t(1) << 20) - 1;
    uint64_t c = claim_.load(std::memory_order_acquire);
    for (;;) {
      const uint64_t idx = c & kMask, n = (c >> 20) & kMask;
      if ((c >> 40) != gen || idx >= n) return;
      if (!claim_.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel)) continue;
      call_(fn_, int64_t(idx));  // fn_ stays valid: its job cannot finish before this chunk
      done_.fetch_add(1, std::memory_order_acq_rel);
      c = claim_.load(std::memory_order_acquire);
    }
  }

  std::mutex run_mu_, mu_;
  std::condition_variable cv_;
  std::vector<std::thread> helpers_;
  bool stop_ = false;
  uint64_t gen_ = 0;
  std::atomic<uint64_t> claim_{0};
  std::atomic<int64_t> done_{0};
  void (*call_)(void*, int64_t) = nullptr;
  void* fn_ = nullptr;
};

// f(begin, end) over [0, n) in chunks, on the pool when `work` is large enough.
template <class F>
void fft_parallel(int64_t n, int64_t work, F&& f) {
  if (n <= 0) return;
  const int threads = max_threads();
  if (threads <= 1 || work < kParallelGrain || n == 1) {
    f(int64_t(0), n);
    return;
  }
  const int64_t chunks = std::min<int64_t>(n, 8 * int64_t(threads));
  auto chunk = [&](int64_t c) {
    const int64_t b = n * c / chunks, e = n * (c + 1) / chunks;
    if (b < e) f(b, e);
  };
  FftPool::instance().run(chunks, chunk);
}

}  // namespace detail

// ------------------------------------------------------------------ batched transforms

// out[o][k][i] = scale * sum_j in[o][j][i] exp(sign 2 pi i jk / n): c2c along the middle axis
// of contiguous [outer, n, inner] arrays (in and out distinct).
template <class R>
void c2c(const std::complex<R>* in, std::complex<R>* out, int64_t outer, int64_t n, int64_t inner,
         int sign, R scale) {
  using C = detail::Cx<R>;
  if (outer * n * inner == 0) return;
  auto plan = get_plan<R>(n, sign);
  const C* x = reinterpret_cast<const C*>(in);
  C* y = reinterpret_cast<C*>(out);
  // Lanes per call: all of `inner` for a strided axis; for the innermost axis (inner == 1)
  // several outer rows could be interleaved, but each row is transformed on its own here.
  const double logn = std::log2(double(n) + 1.0);
  detail::fft_parallel(outer, int64_t(double(outer * n * inner) * logn * 4), [&](int64_t b, int64_t e) {
    C* work = detail::scratch<C>(5, plan->work_size(inner));
    for (int64_t o = b; o < e; ++o) plan->execute(x + o * n * inner, y + o * n * inner, work, inner, scale);
  });
}

// Real to half spectrum along the innermost axis: in [rows, n] real, out [rows, n/2 + 1].
// Even n uses a half-length complex FFT of z_j = x_2j + i x_2j+1 and one post-processing
// pass; odd n transforms the real data as complex.
template <class R>
void r2c(const R* in, std::complex<R>* out, int64_t rows, int64_t n, R scale, bool parallel = true) {
  using C = detail::Cx<R>;
  if (rows * n == 0) return;
  const int64_t h = n / 2 + 1;
  C* y = reinterpret_cast<C*>(out);
  const double logn = std::log2(double(n) + 1.0);
  const int64_t work = int64_t(double(rows * n) * logn * 2);
  auto run = [&](auto&& f) {  // parallel over rows, or serial inside a caller's parallel loop
    if (parallel) detail::fft_parallel(rows, work, f);
    else f(int64_t(0), rows);
  };
  if (n % 2 == 1 || n == 2) {
    auto plan = get_plan<R>(n, -1);
    run([&](int64_t b, int64_t e) {
      C *z = detail::scratch<C>(0, n), *f = detail::scratch<C>(1, n), *w = detail::scratch<C>(2, plan->work_size(1));
      for (int64_t r = b; r < e; ++r) {
        for (int64_t j = 0; j < n; ++j) z[j] = {in[r * n + j], R(0)};
        plan->execute(z, f, w, 1, scale);
        std::memcpy(y + r * h, f, sizeof(C) * size_t(h));
      }
    });
    return;
  }
  const int64_t N = n / 2;
  auto plan = get_plan<R>(N, -1);
  // t_k = exp(-2 pi i k / n), k < N (computed in double).
  const auto tw = get_real_twiddles<R>(n, -1);  // exp(-2 pi i k / n)
  const C* t = tw->data();
  const R half = R(0.5) * scale;
  // Rows go through the half-length FFT kRowBlock at a time, interleaved as lanes ([N][B]),
  // so every butterfly loop is unit-stride over rows and vectorises even for short n.
  run([&](int64_t b, int64_t e) {
    C *zin = detail::scratch<C>(0, N * kRowBlock), *Z = detail::scratch<C>(1, N * kRowBlock),
      *w = detail::scratch<C>(2, plan->work_size(kRowBlock));
    for (int64_t r0 = b; r0 < e; r0 += kRowBlock) {
      const int64_t B = std::min<int64_t>(kRowBlock, e - r0);
      for (int64_t lane = 0; lane < B; ++lane) {
        const R* xr = in + (r0 + lane) * n;
        for (int64_t j = 0; j < N; ++j) zin[j * B + lane] = {xr[2 * j], xr[2 * j + 1]};
      }
      plan->execute(zin, Z, w, B, R(1));
      // X_k = E_k + t_k O_k, E_k = (Z_k + conj Z_{N-k}) / 2, O_k = (Z_k - conj Z_{N-k}) / 2i.
      for (int64_t k = 0; k <= N; ++k) {
        const C* zkp = Z + (k == N ? 0 : k) * B;
        const C* zcp = Z + (k == 0 ? 0 : N - k) * B;
        const C tk = k == N ? C{R(-1), R(0)} : t[k];
        for (int64_t lane = 0; lane < B; ++lane) {
          const C zk = zkp[lane], zc = zcp[lane];
          const R er = zk.re + zc.re, ei = zk.im - zc.im;  // 2 E_k
          const R dr = zk.re - zc.re, di = zk.im + zc.im;  // Z_k - conj Z_{N-k}
          const R orr = di, oi = -dr;                      // 2 O_k = (.) / i
          y[(r0 + lane) * h + k] = {(er + tk.re * orr - tk.im * oi) * half,
                                    (ei + tk.re * oi + tk.im * orr) * half};
        }
      }
    }
  });
}

// Half spectrum to real along the innermost axis: in [rows, n/2 + 1], out [rows, n] real, the
// unnormalised inverse of r2c times scale. The imaginary parts of the DC (and, for even n, the
// Nyquist) bins are ignored, as by any c2r transform (the result is the real part of the
// inverse of the Hermitian extension).
template <class R>
void c2r(const std::complex<R>* in, R* out, int64_t rows, int64_t n, R scale, bool parallel = true) {
  using C = detail::Cx<R>;
  if (rows * n == 0) return;
  const int64_t h = n / 2 + 1;
  const C* x = reinterpret_cast<const C*>(in);
  const double logn = std::log2(double(n) + 1.0);
  const int64_t work = int64_t(double(rows * n) * logn * 2);
  auto run = [&](auto&& f) {  // parallel over rows, or serial inside a caller's parallel loop
    if (parallel) detail::fft_parallel(rows, work, f);
    else f(int64_t(0), rows);
  };
  if (n % 2 == 1 || n == 2) {
    auto plan = get_plan<R>(n, +1);
    run([&](int64_t b, int64_t e) {
      C *z = detail::scratch<C>(0, n), *f = detail::scratch<C>(1, n), *w = detail::scratch<C>(2, plan->work_size(1));
      for (int64_t r = b; r < e; ++r) {
        const C* X = x + r * h;
        z[0] = {X[0].re, R(0)};
        for (int64_t k = 1; k < h; ++k) {
          z[k] = X[k];
          z[n - k] = {X[k].re, -X[k].im};
        }
        if (n % 2 == 0) z[n / 2] = {X[n / 2].re, R(0)};
        plan->execute(z, f, w, 1, scale);
        for (int64_t j = 0; j < n; ++j) out[r * n + j] = f[j].re;
      }
    });
    return;
  }
  const int64_t N = n / 2;
  auto plan = get_plan<R>(N, +1);
  const auto tw = get_real_twiddles<R>(n, +1);  // exp(+2 pi i k / n)
  const C* t = tw->data();
  run([&](int64_t b, int64_t e) {
    C *Z = detail::scratch<C>(0, N * kRowBlock), *zout = detail::scratch<C>(1, N * kRowBlock),
      *w = detail::scratch<C>(2, plan->work_size(kRowBlock));
    for (int64_t r0 = b; r0 < e; r0 += kRowBlock) {
      const int64_t B = std::min<int64_t>(kRowBlock, e - r0);
      // Z_k = (X_k + conj X_{N-k}) + i t_k (X_k - conj X_{N-k}), with Im X_0 = Im X_N = 0.
      for (int64_t k = 0; k < N; ++k) {
        const C tk = t[k];
        for (int64_t lane = 0; lane < B; ++lane) {
          const C* X = x + (r0 + lane) * h;
          C a = X[k], c = X[N - k];
          if (k == 0) a.im = 0, c.im = 0;
          const R sr = a.re + c.re, si = a.im - c.im;
          const R dr = a.re - c.re, di = a.im + c.im;
          const R pr = tk.re * dr - tk.im * di, pi = tk.re * di + tk.im * dr;
          Z[k * B + lane] = {sr - pi, si + pr};  // + i * p
        }
      }
      plan->execute(Z, zout, w, B, scale);
      for (int64_t lane = 0; lane < B; ++lane) {
        R* o = out + (r0 + lane) * n;
        for (int64_t j = 0; j < N; ++j) {
          o[2 * j] = zout[j * B + lane].re;
          o[2 * j + 1] = zout[j * B + lane].im;
        }
      }
    }
  });
}

// 2-D transforms over the last two axes of contiguous [batch, n0, n1] arrays, fused per batch
// element so the half spectrum of one slab ([n0, n1/2 + 1], a few tens of KB) stays in cache
// between the row and column passes. rfft2: r2c along n1, then c2c (forward) along n0.
template <class R>
void rfft2(const R* in, std::complex<R>* out, int64_t batch, int64_t n0, int64_t n1, R scale) {
  using C = detail::Cx<R>;
  if (batch * n0 * n1 == 0) return;
  const int64_t h = n1 / 2 + 1;
  auto plan = get_plan<R>(n0, -1);
  const double logn = std::log2(double(n0 * n1) + 1.0);
  detail::fft_parallel(batch, int64_t(double(batch * n0 * n1) * logn * 2), [&](int64_t b, int64_t e) {
    C *tmp = detail::scratch<C>(3, n0 * h), *work = detail::scratch<C>(4, plan->work_size(h));
    for (int64_t i = b; i < e; ++i) {
      std::complex<R>* slab = out + i * n0 * h;
      r2c<R>(in + i * n0 * n1, slab, n0, n1, R(1), false);
      plan->execute(reinterpret_cast<const C*>(slab), tmp, work, h, scale);
      std::memcpy(static_cast<void*>(slab), tmp, sizeof(C) * size_t(n0 * h));
    }
  });
}

// irfft2: c2c (inverse) along n0 of [batch, n0, n1/2 + 1], then c2r along n1 to [batch, n0, n1].
template <class R>
void irfft2(const std::complex<R>* in, R* out, int64_t batch, int64_t n0, int64_t n1, R scale) {
  using C = detail::Cx<R>;
  if (batch * n0 * n1 == 0) return;
  const int64_t h = n1 / 2 + 1;
  auto plan = get_plan<R>(n0, +1);
  const double logn = std::log2(double(n0 * n1) + 1.0);
  detail::fft_parallel(batch, int64_t(double(batch * n0 * n1) * logn * 2), [&](int64_t b, int64_t e) {
    C *tmp = detail::scratch<C>(3, n0 * h), *work = detail::scratch<C>(4, plan->work_size(h));
    for (int64_t i = b; i < e; ++i) {
      plan->execute(reinterpret_cast<const C*>(in + i * n0 * h), tmp, work, h, R(1));
      c2r<R>(reinterpret_cast<const std::complex<R>*>(tmp), out + i * n0 * n1, n0, n1, scale, false);
    }
  });
}

}  // namespace ember::cpu::fft
