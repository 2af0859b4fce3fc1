// PDE data generators for the neural-operator examples: Gaussian random fields, 1-D viscous
// Burgers and 2-D incompressible Navier–Stokes (vorticity form), all pseudo-spectral on the
// periodic unit interval / torus and written on ember's FFT ops, so they run batched on
// whichever device their tensors live on (cuFFT on a GPU).
//
//   Generator gen(1);
//   Tensor<double> u0 = data::grf_1d(500, 1024, data::burgers_grf(), gen);
//   data::BurgersSolution s = data::solve_burgers(u0, {.nu = 0.1, .dt = 5e-4, .t_end = 1.0});
//   Tensor<double> w0 = data::grf_2d(100, 64, data::ns_grf(), gen);
//   data::NavierStokesRun ns = data::solve_navier_stokes(w0, {.nu = 1e-3, .dt = 4e-3,
//                                                             .frame_every = 0.5, .frames = 20});
//
// Conventions: a 1-D field is [B, N] on x_j = j / N; a 2-D field is [B, N, N] indexed [b, i, j]
// at (x_i, y_j) = (i / N, j / N). Wave numbers are 2π times the integer frequency. Spectra are
// unnormalised (rfft), the inverse divides by the size (irfft), as in numpy and PyTorch.
//
// Both solvers report the advective CFL number of their run (the largest over all steps), and
// refuse a run whose CFL number exceeds the stability limit they promise (Burgers: 2, for
// max|u| k_max dt, after shortening its step to meet a target of 1.8; Navier–Stokes: 0.5, for
// max|u| dt / dx).
#pragma once

#include <cmath>
#include <complex>
#include <cstdint>
#include <ember/autograd/grad_mode.hpp>
#include <ember/core/error.hpp>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/arith.hpp>
#include <ember/ops/complex.hpp>
#include <ember/ops/fft.hpp>
#include <ember/ops/reduce_more.hpp>
#include <ember/ops/unary.hpp>
#include <functional>
#include <numbers>
#include <vector>

namespace ember::data {

namespace pde_detail {

constexpr double kTwoPi = 2.0 * std::numbers::pi;

// The signed integer frequency of FFT bin i of an n-point transform (0, 1, ..., -1).
inline int64_t frequency(int64_t i, int64_t n) { return i < (n + 1) / 2 ? i : i - n; }

// 2/3-rule dealiasing: keep |frequency| < n / 3 (Orszag), so quadratic products of the kept modes
// alias nothing back into them.
inline bool kept(int64_t freq, int64_t n) { return 3 * std::abs(freq) < n; }

template <class C>
Tensor<C> on(const std::vector<C>& values, const Shape& shape, const Device& device) {
  return Tensor<C>::from_vector(values, shape).to(device);
}

}  // namespace pde_detail

// ------------------------------------------------------------------ Gaussian random fields

// Covariance sigma2 (-Δ + tau² I)^(-gamma) on the periodic unit interval (the FNO Burgers
// benchmark's u0 ~ N(0, 625 (-Δ + 25 I)^-2) is {625, 5, 2}). zero_mean fixes the mean mode at
// 0 as FNO's generator (GRF1.m, mean m = 0) does: viscous Burgers conserves the mean, and a
// random mean would dominate u(., 1) (the other modes decay by e^{-4π²νk²}) and make the
// relative error of a sample with a mean near 0 meaningless.
struct Grf1dSpec {
  double sigma2 = 625.0;
  double tau = 5.0;
  double gamma = 2.0;
  bool zero_mean = true;
};
inline Grf1dSpec burgers_grf() { return {}; }

// B samples of n points, mean zero (exactly, with zero_mean; else in distribution, the mean
// mode's variance being sigma2 tau^(-2 gamma)). Field u = Σ_k c_k e^{2πikx} with c_{-k} = conj(c_k) and, for k ≥ 1,
// c_k = sqrt(λ_k) (a - ib) / √2, a, b ~ N(0, 1), so that Cov(u(x), u(y)) = Σ_k λ_k e^{2πik(x-y)};
// the Nyquist bin is left at zero (a real field cannot carry its sine part).
inline Tensor<double> grf_1d(int64_t batch, int64_t n, const Grf1dSpec& spec, Generator& gen,
                             const Device& device = Device::cpu()) {
  EMBER_CHECK(batch > 0 && n >= 4 && n % 2 == 0,
              "grf_1d: expected batch > 0 and an even n >= 4, got ", batch, " and ", n);
  EMBER_CHECK(spec.sigma2 > 0 && spec.tau > 0 && spec.gamma > 0,
              "grf_1d: expected positive sigma2, tau and gamma");
  const int64_t h = n / 2 + 1;
  std::vector<std::complex<double>> c(static_cast<size_t>(batch * h));
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t k = 0; k < h - 1; ++k) {  // bin h - 1 is Nyquist: zero
      const double kk = pde_detail::kTwoPi * double(k);
      const double sd =
          std::sqrt(spec.sigma2) * std::pow(kk * kk + spec.tau * spec.tau, -spec.gamma / 2);
      const double a = gen.normal(), bb = k == 0 ? 0.0 : gen.normal();
      const double s = k == 0 ? (spec.zero_mean ? 0.0 : sd) : sd / std::sqrt(2.0);
      c[size_t(b * h + k)] = {s * a * double(n), -s * bb * double(n)};  // irfft divides by n
    }
  NoGradGuard no_grad;
  return irfft(pde_detail::on(c, {batch, h}, device), n);
}

// FNO's 2-D field (neuraloperator random_fields.py): coefficients sqrt(2) sigma
// (4π²|k|² + tau²)^(-alpha/2) times a complex normal (real and imaginary parts N(0, 1)), the mean
// mode zeroed, and the real part of the inverse transform. sigma defaults to
// tau^(alpha - 1), the generator's own choice.
struct Grf2dSpec {
  double alpha = 2.5;
  double tau = 7.0;
  double sigma = -1;  // < 0: tau^(alpha - 1)
};
inline Grf2dSpec ns_grf() { return {}; }

inline Tensor<double> grf_2d(int64_t batch, int64_t n, const Grf2dSpec& spec, Generator& gen,
                             const Device& device = Device::cpu()) {
  EMBER_CHECK(batch > 0 && n >= 4 && n % 2 == 0,
              "grf_2d: expected batch > 0 and an even n >= 4, got ", batch, " and ", n);
  EMBER_CHECK(spec.alpha > 0 && spec.tau > 0, "grf_2d: expected positive alpha and tau");
  const double sigma = spec.sigma < 0 ? std::pow(spec.tau, spec.alpha - 1) : spec.sigma;
  std::vector<std::complex<double>> c(static_cast<size_t>(batch * n * n));
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) {
        const double kx = pde_detail::kTwoPi * double(pde_detail::frequency(i, n));
        const double ky = pde_detail::kTwoPi * double(pde_detail::frequency(j, n));
        const double s = (i == 0 && j == 0) ? 0.0
                                            : std::sqrt(2.0) * sigma *
                                                  std::pow(kx * kx + ky * ky + spec.tau * spec.tau,
                                                           -spec.alpha / 2);
        const double re = gen.normal(), im = gen.normal();
        // ifft2 divides by n²: scale up so that u = Re Σ_k s_k ξ_k e^{2πik·x}.
        c[size_t((b * n + i) * n + j)] = {s * re * double(n * n), s * im * double(n * n)};
      }
  NoGradGuard no_grad;
  return real(ifft2(pde_detail::on(c, {batch, n, n}, device))).contiguous();
}

// ------------------------------------------------------------------ 1-D viscous Burgers

// u_t + (u²/2)_x = nu u_xx on [0, 1), periodic.
struct BurgersOptions {
  double nu = 0.1;
  double dt = 5e-4;  // the largest step; shortened so the CFL number stays at most cfl_target
  double t_end = 1.0;
  double cfl_target = 1.8;
  double max_cfl = 2.0;  // refuse runs whose max|u| k_max dt exceeds this (a safety net)
};

struct BurgersSolution {
  Tensor<double> u;  // [B, N] at t_end
  double cfl = 0;    // the largest max|u| k_max dt over the run
  int64_t steps = 0;
  double dt = 0;  // the step taken: t_end / steps
};

// Integrating-factor RK4 in Fourier space: the diffusion is integrated exactly (v = e^{nu k² t} û),
// the nonlinear term -ik (u²/2)^ explicitly with 2/3 dealiasing of the product. k_max in the CFL
// number is the largest kept wave number; the step is dt or shorter, whichever keeps the CFL
// number at most cfl_target.
inline BurgersSolution solve_burgers(const Tensor<double>& u0, const BurgersOptions& o) {
  using C = std::complex<double>;
  EMBER_CHECK(u0.dim() == 2 && u0.size(1) >= 4 && u0.size(1) % 2 == 0,
              "solve_burgers: expected u0 [B, N] with an even N >= 4, got ", shape_str(u0.shape()));
  EMBER_CHECK(o.nu >= 0 && o.dt > 0 && o.t_end > 0,
              "solve_burgers: expected nu >= 0, dt > 0 and t_end > 0");
  NoGradGuard no_grad;
  const int64_t n = u0.size(1), h = n / 2 + 1;
  const Device dev = u0.device();
  EMBER_CHECK(o.cfl_target > 0 && o.cfl_target <= o.max_cfl,
              "solve_burgers: expected 0 < cfl_target <= max_cfl");
  double k_max = 0;
  for (int64_t j = 0; j < h; ++j)
    if (pde_detail::kept(j, n)) k_max = std::max(k_max, pde_detail::kTwoPi * double(j));
  // Viscous Burgers obeys a maximum principle (max|u(t)| <= max|u0|), so a step that meets the
  // CFL target at t = 0 meets it for the whole run; the run takes whole steps to t_end.
  const double u_max = max(abs(u0)).item();
  EMBER_CHECK(std::isfinite(u_max), "solve_burgers: u0 holds a non-finite value");
  const double dt_cfl = u_max > 0 ? o.cfl_target / (u_max * k_max) : o.dt;
  const int64_t steps =
      std::max<int64_t>(1, int64_t(std::ceil(o.t_end / std::min(o.dt, dt_cfl) - 1e-9)));
  const double dt_run = o.t_end / double(steps);
  std::vector<C> nonlinear(static_cast<size_t>(h)), half(static_cast<size_t>(h)),
      full(static_cast<size_t>(h));
  for (int64_t j = 0; j < h; ++j) {
    const double k = pde_detail::kTwoPi * double(j);
    nonlinear[size_t(j)] =
        pde_detail::kept(j, n) ? C(0, -0.5 * k) : C(0);  // -ik/2 applied to (u²)^
    half[size_t(j)] = std::exp(-o.nu * k * k * dt_run / 2);
    full[size_t(j)] = std::exp(-o.nu * k * k * dt_run);
  }
  const Tensor<C> L = pde_detail::on(nonlinear, {h}, dev);
  const Tensor<C> E = pde_detail::on(half, {h}, dev), E2 = pde_detail::on(full, {h}, dev);
  const auto N = [&](const Tensor<C>& uh) {
    const Tensor<double> u = irfft(uh, n);
    return rfft(mul(u, u)) * L;
  };
  const C dt(dt_run);
  Tensor<C> uh = rfft(u0);
  double cfl = 0;
  for (int64_t s = 0; s < steps; ++s) {
    if (s % 50 == 0 || s + 1 == steps) {  // the field is smooth in time: sampling suffices
      cfl = std::max(cfl, max(abs(irfft(uh, n))).item() * k_max * dt_run);
      EMBER_CHECK(std::isfinite(cfl) && cfl <= o.max_cfl, "solve_burgers: CFL number ", cfl,
                  " at step ", s, " exceeds ", o.max_cfl, " (dt ", dt_run, ", N ", n, ")");
    }
    const Tensor<C> a = N(uh);
    const Tensor<C> b = N(E * (uh + mul(a, dt / 2.0)));
    const Tensor<C> c = N(E * uh + mul(b, dt / 2.0));
    const Tensor<C> d = N(E2 * uh + mul(E * c, dt));
    uh = E2 * uh + mul(E2 * a + mul(E * (b + c), C(2)) + d, dt / 6.0);
  }
  return {irfft(uh, n), cfl, steps, dt_run};
}

// ------------------------------------------------------------------ 2-D Navier–Stokes

// ω_t + u·∇ω = nu Δω + f on the unit torus, with velocity u = (ψ_y, -ψ_x) from Δψ = -ω, and
// the FNO forcing f = 0.1 (sin 2π(x + y) + cos 2π(x + y)) unless `forcing` is false.
struct NavierStokesOptions {
  double nu = 1e-3;
  double dt = 4e-3;
  double frame_every = 0.5;  // time between stored frames
  int64_t frames = 20;       // frames stored, at t = frame_every, 2 frame_every, ...
  bool forcing = true;
  double max_cfl = 0.5;  // refuse runs whose max|u| dt / dx exceeds this
  // Called after each stored frame with (frame index, frames): progress for long runs.
  std::function<void(int64_t, int64_t)> on_frame;
};

struct NavierStokesRun {
  Tensor<double> frames;  // [B, frames, N, N]
  double cfl = 0;         // the largest max|u| dt / dx over the run
  int64_t steps = 0;
};

namespace pde_detail {

// Spectral operators of an n x n rfft2 grid ([n, n/2 + 1]): i kx, i ky, the inverse Laplacian
// 1/|k|² (0 at k = 0) and |k|², and the 2/3 dealiasing mask.
struct Spectral2d {
  Tensor<std::complex<double>> ikx, iky, inv_lap, dealias;
  std::vector<double> lap;  // |k|², row-major [n, n/2 + 1]
  int64_t n = 0;
};

inline Spectral2d spectral_2d(int64_t n, const Device& dev) {
  using C = std::complex<double>;
  const int64_t h = n / 2 + 1;
  std::vector<C> ikx(static_cast<size_t>(n * h)), iky(static_cast<size_t>(n * h)),
      inv(static_cast<size_t>(n * h)), mask(static_cast<size_t>(n * h));
  Spectral2d s;
  s.n = n;
  s.lap.resize(size_t(n * h));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < h; ++j) {
      const int64_t fi = frequency(i, n), fj = j;
      const double kx = kTwoPi * double(fi), ky = kTwoPi * double(fj);
      const size_t at = size_t(i * h + j);
      // Derivatives drop the Nyquist bins, whose sine part a real field cannot carry.
      ikx[at] = i == n / 2 ? C(0) : C(0, kx);
      iky[at] = j == n / 2 ? C(0) : C(0, ky);
      s.lap[at] = kx * kx + ky * ky;
      inv[at] = s.lap[at] > 0 ? C(1.0 / s.lap[at]) : C(0);
      mask[at] = kept(fi, n) && kept(fj, n) ? C(1) : C(0);
    }
  s.ikx = on(ikx, {n, h}, dev);
  s.iky = on(iky, {n, h}, dev);
  s.inv_lap = on(inv, {n, h}, dev);
  s.dealias = on(mask, {n, h}, dev);
  return s;
}

}  // namespace pde_detail

// The velocity (u, v) = (ψ_y, -ψ_x) of a vorticity field [B, N, N], from Δψ = -ω.
inline std::pair<Tensor<double>, Tensor<double>> velocity_from_vorticity(const Tensor<double>& w) {
  EMBER_CHECK(w.dim() == 3 && w.size(1) == w.size(2) && w.size(1) % 2 == 0,
              "velocity_from_vorticity: expected [B, N, N] with an even N, got ",
              shape_str(w.shape()));
  NoGradGuard no_grad;
  const int64_t n = w.size(1);
  const pde_detail::Spectral2d sp = pde_detail::spectral_2d(n, w.device());
  const auto psi = rfft2(w) * sp.inv_lap;
  const std::vector<int64_t> size{n, n};
  return {irfft2(psi * sp.iky, size), neg(irfft2(psi * sp.ikx, size))};
}

// Crank–Nicolson for the viscosity and Heun (explicit trapezoid) for advection and forcing,
// with 2/3 dealiasing of the advection product; frames are the vorticity in physical space.
inline NavierStokesRun solve_navier_stokes(const Tensor<double>& w0, const NavierStokesOptions& o) {
  using C = std::complex<double>;
  EMBER_CHECK(w0.dim() == 3 && w0.size(1) == w0.size(2) && w0.size(1) % 2 == 0 && w0.size(1) >= 4,
              "solve_navier_stokes: expected w0 [B, N, N] with an even N >= 4, got ",
              shape_str(w0.shape()));
  EMBER_CHECK(o.nu >= 0 && o.dt > 0 && o.frame_every > 0 && o.frames > 0,
              "solve_navier_stokes: expected nu >= 0, dt > 0, frame_every > 0 and frames > 0");
  const int64_t per_frame = int64_t(std::llround(o.frame_every / o.dt));
  EMBER_CHECK(
      per_frame >= 1 && std::abs(double(per_frame) * o.dt - o.frame_every) < 1e-9 * o.frame_every,
      "solve_navier_stokes: frame_every ", o.frame_every, " is not a whole number of steps of dt ",
      o.dt);
  NoGradGuard no_grad;
  const int64_t B = w0.size(0), n = w0.size(1), h = n / 2 + 1;
  const Device dev = w0.device();
  const pde_detail::Spectral2d sp = pde_detail::spectral_2d(n, dev);
  const std::vector<int64_t> size{n, n};
  // CN factors: ŵ_new = (A ŵ + dt · rhs) / D with A = 1 - dt nu |k|²/2, D = 1 + dt nu |k|²/2.
  std::vector<C> a(static_cast<size_t>(n * h)), inv_d(static_cast<size_t>(n * h));
  for (size_t i = 0; i < a.size(); ++i) {
    a[i] = 1.0 - 0.5 * o.dt * o.nu * sp.lap[i];
    inv_d[i] = 1.0 / (1.0 + 0.5 * o.dt * o.nu * sp.lap[i]);
  }
  std::vector<double> force(size_t(n * n), 0.0);
  if (o.forcing)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) {
        const double s = pde_detail::kTwoPi * double(i + j) / double(n);
        force[size_t(i * n + j)] = 0.1 * (std::sin(s) + std::cos(s));
      }
  const Tensor<C> A = pde_detail::on(a, {n, h}, dev), inv_D = pde_detail::on(inv_d, {n, h}, dev);
  const Tensor<C> f_hat = rfft2(Tensor<double>::from_vector(force, {n, n}).to(dev));
  const double dx = 1.0 / double(n);
  double cfl = 0;
  // rhs(ŵ) = f̂ - (u ω_x + v ω_y)^ (dealiased); also the max speed for the CFL number.
  const auto rhs = [&](const Tensor<C>& wh, bool measure) {
    const Tensor<C> psi = wh * sp.inv_lap;
    const Tensor<double> u = irfft2(psi * sp.iky, size), v = neg(irfft2(psi * sp.ikx, size));
    const Tensor<double> wx = irfft2(wh * sp.ikx, size), wy = irfft2(wh * sp.iky, size);
    if (measure) {
      const double speed = std::sqrt(max(u * u + v * v).item());
      cfl = std::max(cfl, speed * o.dt / dx);
      EMBER_CHECK(std::isfinite(cfl) && cfl <= o.max_cfl, "solve_navier_stokes: CFL number ", cfl,
                  " exceeds ", o.max_cfl, " (dt ", o.dt, ", N ", n, "): lower dt");
    }
    return f_hat - rfft2(u * wx + v * wy) * sp.dealias;
  };
  const C dt(o.dt);
  Tensor<C> wh = rfft2(w0);
  Tensor<double> frames = Tensor<double>::empty({B, o.frames, n, n}, dev);
  int64_t steps = 0;
  for (int64_t fr = 0; fr < o.frames; ++fr) {
    for (int64_t s = 0; s < per_frame; ++s, ++steps) {
      const Tensor<C> r0 = rhs(wh, s % 25 == 0);
      const Tensor<C> predictor = (A * wh + mul(r0, dt)) * inv_D;
      const Tensor<C> r1 = rhs(predictor, false);
      wh = (A * wh + mul(r0 + r1, dt / 2.0)) * inv_D;
    }
    frames.select(1, fr).copy_(irfft2(wh, size));
    if (o.on_frame) o.on_frame(fr + 1, o.frames);
  }
  return {frames, cfl, steps};
}

}  // namespace ember::data
