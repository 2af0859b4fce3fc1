// The PDE data generators against known solutions: Burgers in its heat-equation limit and the
// exact Cole–Hopf solution, the Taylor–Green vortex's decay rate, the velocity of an analytic
// stream function, and the GRF's covariance.
#include <doctest/doctest.h>

#include <cmath>
#include <ember/data/pde.hpp>
#include <numbers>
#include <vector>

using namespace ember;

namespace {

constexpr double kPi = std::numbers::pi;

Tensor<double> grid_1d(int64_t n, const std::function<double(double)>& f) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) v[size_t(j)] = f(double(j) / double(n));
  return Tensor<double>::from_vector(v, {1, n});
}

Tensor<double> grid_2d(int64_t n, const std::function<double(double, double)>& f) {
  std::vector<double> v(static_cast<size_t>(n * n));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      v[size_t(i * n + j)] = f(double(i) / double(n), double(j) / double(n));
  return Tensor<double>::from_vector(v, {1, n, n});
}

double max_abs_diff(const Tensor<double>& a, const Tensor<double>& b) {
  const auto x = a.contiguous().to_vector(), y = b.contiguous().to_vector();
  REQUIRE(x.size() == y.size());
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) m = std::max(m, std::abs(x[i] - y[i]));
  return m;
}

}  // namespace

TEST_CASE("pde: Burgers at tiny amplitude decays as the heat equation") {
  const double eps = 1e-9, nu = 0.1, t = 0.5;
  const auto u0 = grid_1d(64, [&](double x) { return eps * std::sin(2 * kPi * x); });
  const auto s = data::solve_burgers(u0, {.nu = nu, .dt = 1e-3, .t_end = t});
  CHECK(s.steps == 500);
  const double decay = std::exp(-nu * 4 * kPi * kPi * t);
  const auto want = grid_1d(64, [&](double x) { return eps * decay * std::sin(2 * kPi * x); });
  // The nonlinear term is O(eps²): relative to the field it is ~1e-8.
  CHECK(max_abs_diff(s.u, want) < 1e-6 * eps);
}

TEST_CASE("pde: Burgers matches the exact Cole-Hopf solution") {
  // φ = 1 + a e^{-4π²νt} cos 2πx solves the heat equation, so u = -2ν φ_x / φ solves Burgers.
  const double nu = 0.1, a = 0.5, t = 0.2;
  const auto exact = [&](double time) {
    return grid_1d(128, [&](double x) {
      const double e = a * std::exp(-4 * kPi * kPi * nu * time);
      return 4 * kPi * nu * e * std::sin(2 * kPi * x) / (1 + e * std::cos(2 * kPi * x));
    });
  };
  const auto s = data::solve_burgers(exact(0), {.nu = nu, .dt = 1e-3, .t_end = t});
  CHECK(max_abs_diff(s.u, exact(t)) < 1e-8);
  CHECK(s.cfl > 0);
  CHECK(s.cfl < 1);
  // A sign error in the advection term (u_t - u u_x) would leave this far off.
  CHECK(max_abs_diff(s.u, exact(0)) > 1e-2);
}

TEST_CASE("pde: Burgers shortens its step to keep the CFL number below its target") {
  const auto u0 = grid_1d(256, [](double x) { return 50 * std::sin(2 * kPi * x); });
  const auto s = data::solve_burgers(u0, {.nu = 0.1, .dt = 1e-2, .t_end = 0.1});
  // k_max = 2π·85 (the largest kept frequency of 256 points): dt <= 1.8 / (50 k_max).
  CHECK(s.dt <= 1.8 / (50 * 2 * kPi * 85) + 1e-15);
  CHECK(s.steps == int64_t(std::llround(0.1 / s.dt)));
  CHECK(s.cfl <= 1.8 + 1e-12);
  CHECK(s.cfl > 1.0);
  for (double x : s.u.to_vector()) REQUIRE(std::isfinite(x));
  // max|u| never grows (maximum principle), and this strongly viscous run decays.
  CHECK(max(abs(s.u)).item() < 50);
  const auto calm = data::solve_burgers(mul(u0, 1e-3), {.nu = 0.1, .dt = 1e-3, .t_end = 0.1});
  CHECK(calm.steps == 100);  // the given step already meets the target
  CHECK_THROWS_AS(data::solve_burgers(Tensor<double>::zeros({3, 7}), {}), Error);
  CHECK_THROWS_AS(data::solve_burgers(u0, {.cfl_target = 3.0}), Error);
}

TEST_CASE("pde: the Taylor-Green vortex decays at rate 8 pi^2 nu") {
  // ω ∝ ψ, so u·∇ω = 0 and ω(t) = ω0 e^{-8π²νt} without forcing.
  const double nu = 0.01;
  const auto w0 =
      grid_2d(32, [](double x, double y) { return std::sin(2 * kPi * x) * std::sin(2 * kPi * y); });
  const auto run = data::solve_navier_stokes(
      w0, {.nu = nu, .dt = 1e-3, .frame_every = 0.1, .frames = 3, .forcing = false});
  REQUIRE(run.frames.shape() == Shape{1, 3, 32, 32});
  CHECK(run.steps == 300);
  for (int64_t f = 0; f < 3; ++f) {
    const double t = 0.1 * double(f + 1);
    const auto want = grid_2d(32, [&](double x, double y) {
      return std::exp(-8 * kPi * kPi * nu * t) * std::sin(2 * kPi * x) * std::sin(2 * kPi * y);
    });
    CHECK(max_abs_diff(run.frames.select(1, f).contiguous(), want) < 1e-7);
  }
}

TEST_CASE("pde: velocity from vorticity of an analytic stream function") {
  // ψ = sin 2πx cos 2πy: ω = -Δψ = 8π² ψ, u = ψ_y = -2π sin 2πx sin 2πy, v = -ψ_x = -2π cos 2πx cos
  // 2πy.
  const auto w = grid_2d(16, [](double x, double y) {
    return 8 * kPi * kPi * std::sin(2 * kPi * x) * std::cos(2 * kPi * y);
  });
  const auto [u, v] = data::velocity_from_vorticity(w);
  CHECK(max_abs_diff(u, grid_2d(16, [](double x, double y) {
                       return -2 * kPi * std::sin(2 * kPi * x) * std::sin(2 * kPi * y);
                     })) < 1e-10);
  CHECK(max_abs_diff(v, grid_2d(16, [](double x, double y) {
                       return -2 * kPi * std::cos(2 * kPi * x) * std::cos(2 * kPi * y);
                     })) < 1e-10);
}

TEST_CASE("pde: a forced Navier-Stokes run stays finite and reports its CFL number") {
  Generator gen(3);
  const auto w0 = data::grf_2d(2, 32, data::ns_grf(), gen);
  int64_t seen = 0;
  const auto run = data::solve_navier_stokes(
      w0, {.nu = 1e-3,
           .dt = 4e-3,
           .frame_every = 0.2,
           .frames = 2,
           .on_frame = [&](int64_t f, int64_t total) { seen = f * 10 + total; }});
  CHECK(seen == 22);
  CHECK(run.cfl > 0);
  CHECK(run.cfl < 0.5);
  for (double x : run.frames.to_vector()) REQUIRE(std::isfinite(x));
  CHECK_THROWS_WITH_AS(
      data::solve_navier_stokes(mul(w0, 1000.0), {.dt = 4e-2, .frame_every = 0.4, .frames = 1}),
      doctest::Contains("CFL number"), Error);
}

TEST_CASE("pde: GRF samples have the covariance they promise") {
  Generator gen(11);
  const int64_t batch = 4000, n = 32;
  for (bool zero_mean : {false, true}) {
    const data::Grf1dSpec spec{.sigma2 = 625, .tau = 5, .gamma = 2, .zero_mean = zero_mean};
    const auto u = data::grf_1d(batch, n, spec, gen);
    REQUIRE(u.shape() == Shape{batch, n});
    // Var u(x) = Σ_{|k| < n/2} λ_k (the Nyquist bin is empty; k = 0 too with zero_mean).
    double want = 0;
    for (int64_t k = -(n / 2 - 1); k <= n / 2 - 1; ++k) {
      const double kk = 2 * kPi * double(k);
      if (k != 0 || !zero_mean) want += 625 * std::pow(kk * kk + 25, -2);
    }
    const auto v = u.to_vector();
    double var = 0, worst_mean = 0;
    for (double x : v) var += x * x;
    var /= double(v.size());
    CHECK(var == doctest::Approx(want).epsilon(0.05));
    for (int64_t b = 0; b < batch; ++b) {
      double mean = 0;
      for (int64_t j = 0; j < n; ++j) mean += v[size_t(b * n + j)] / double(n);
      worst_mean = std::max(worst_mean, std::abs(mean));
    }
    if (zero_mean) CHECK(worst_mean < 1e-12);
    else CHECK(worst_mean > 0.5);  // the mean mode has variance 1: some sample's mean is large
  }
  const data::Grf1dSpec spec;

  // 2-D: the mean mode is zero, so every sample has spatial mean zero.
  const auto w = data::grf_2d(3, 16, data::ns_grf(), gen);
  const auto wv = w.to_vector();
  for (int64_t b = 0; b < 3; ++b) {
    double mean = 0, sq = 0;
    for (int64_t i = 0; i < 256; ++i) {
      mean += wv[size_t(b * 256 + i)];
      sq += wv[size_t(b * 256 + i)] * wv[size_t(b * 256 + i)];
    }
    CHECK(std::abs(mean / 256) < 1e-10);
    CHECK(sq > 0);
  }
  CHECK_THROWS_AS(data::grf_1d(0, 8, spec, gen), Error);
  CHECK_THROWS_AS(data::grf_2d(1, 7, data::ns_grf(), gen), Error);
}
