// Tests for ops/complex.hpp (real, imag, complex, polar, angle, view_as_real, view_as_complex),
// backend/cpu/fft.hpp and ops/fft.hpp (fft, ifft, rfft, irfft and their 2-D / N-D forms).
//
// Values: against a naive O(n^2) DFT in double for every length 1..64, large primes
// (Bluestein) and composite lengths, in both directions and all three norms.
// Gradients: complex functions are checked through real parametrisations z = complex(x, y),
// which verifies PyTorch's convention end to end (z.grad = dL/dx + i dL/dy).
#include <doctest/doctest.h>

#include <cmath>
#include <complex>
#include <functional>
#include <string>
#include <vector>

#include <ember/autograd/gradcheck.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/complex.hpp>
#include <ember/ops/fft.hpp>
#include <ember/ops/shape.hpp>

using namespace ember;

namespace {

using T64 = Tensor<double>;
using C64 = std::complex<double>;
using TC = Tensor<C64>;

// Naive DFT along the last axis of a [rows, n] array (sign -1 forward).
std::vector<C64> naive_dft(const std::vector<C64>& x, int64_t rows, int64_t n, int sign) {
  std::vector<C64> out(x.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < n; ++k) {
      C64 s = 0;
      for (int64_t j = 0; j < n; ++j) {
        const double a = sign * 2.0 * M_PI * double((j * k) % n) / double(n);
        s += x[r * n + j] * C64(std::cos(a), std::sin(a));
      }
      out[r * n + k] = s;
    }
  return out;
}

double max_err(const std::vector<C64>& a, const std::vector<C64>& b) {
  double e = 0;
  for (size_t i = 0; i < a.size(); ++i) e = std::max(e, std::abs(a[i] - b[i]));
  return e;
}

double norm_scale(FftNorm norm, int64_t n, bool forward) {
  if (norm == FftNorm::Ortho) return 1.0 / std::sqrt(double(n));
  if (norm == FftNorm::Backward) return forward ? 1.0 : 1.0 / n;
  return forward ? 1.0 / n : 1.0;
}

TC crandn(const Shape& s, Generator& g) { return TC::randn(s, g); }

// Real-valued readout of a complex tensor that weights both parts differently.
T64 readout(const TC& w) { return add(real(w), mul(imag(w), 2.0)); }

}  // namespace

TEST_CASE("fft engine matches a naive DFT for every length 1..64, primes and composites") {
  Generator gen(1);
  std::vector<int64_t> sizes;
  for (int64_t n = 1; n <= 64; ++n) sizes.push_back(n);
  for (int64_t n : {97, 251, 1009, 360, 1000}) sizes.push_back(n);
  for (int64_t n : sizes) {
    const int64_t rows = 2;
    TC x = crandn({rows, n}, gen);
    const auto xv = x.to_vector();
    for (FftNorm norm : {FftNorm::Backward, FftNorm::Ortho, FftNorm::Forward}) {
      for (bool forward : {true, false}) {
        TC y = forward ? fft(x, std::nullopt, -1, norm) : ifft(x, std::nullopt, -1, norm);
        auto ref = naive_dft(xv, rows, n, forward ? -1 : 1);
        for (auto& v : ref) v *= norm_scale(norm, n, forward);
        INFO("n = " << n << " forward " << forward);
        CHECK(max_err(y.to_vector(), ref) < 1e-12 * std::sqrt(double(n)) * 10);
      }
    }
    // r2c and c2r against the same reference.
    T64 xr = T64::randn({rows, n}, gen);
    std::vector<C64> xrc;
    for (double v : xr.to_vector()) xrc.emplace_back(v, 0.0);
    const auto ref = naive_dft(xrc, rows, n, -1);
    for (FftNorm norm : {FftNorm::Backward, FftNorm::Ortho, FftNorm::Forward}) {
      TC y = rfft(xr, std::nullopt, -1, norm);
      const int64_t h = n / 2 + 1;
      REQUIRE(y.shape() == Shape{rows, h});
      std::vector<C64> want;
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t k = 0; k < h; ++k) want.push_back(ref[r * n + k] * norm_scale(norm, n, true));
      INFO("rfft n = " << n);
      CHECK(max_err(y.to_vector(), want) < 1e-11);
      // c2r of that spectrum gives the signal back.
      T64 back = irfft(y, n, -1, norm);
      REQUIRE(back.shape() == Shape{rows, n});
      double e = 0;
      for (int64_t i = 0; i < back.numel(); ++i)
        e = std::max(e, std::abs(back.data_ptr()[i] - xr.data_ptr()[i]));
      CHECK(e < 1e-11);
    }
  }
}

TEST_CASE("batched rfft/irfft and fused rfft2/irfft2 over many rows (row blocks and remainders)") {
  Generator gen(9);
  for (int64_t n : {16, 10, 9}) {
    T64 x = T64::randn({3, 37, n}, gen);  // 111 rows: whole blocks of 16 and a remainder
    TC y = rfft(x);
    TC ref = fft(x).narrow(2, 0, n / 2 + 1).contiguous();
    CHECK(max_err(y.to_vector(), ref.to_vector()) < 1e-12);
    CHECK(max_err(detail::to_complex(irfft(y, n)).to_vector(), detail::to_complex(x).to_vector()) < 1e-12);
    TC y2 = rfft2(x);
    TC ref2 = fft2(x).narrow(2, 0, n / 2 + 1).contiguous();
    CHECK(max_err(y2.to_vector(), ref2.to_vector()) < 1e-11);
    T64 back = irfft2(y2, std::vector<int64_t>{37, n});
    CHECK(max_err(detail::to_complex(back).to_vector(), detail::to_complex(x).to_vector()) < 1e-12);
  }
  // float32 agrees with float64 to single precision.
  Tensor<float> xf = Tensor<float>::randn({4, 64, 64}, gen);
  TC yd = rfft2(xf.to<double>());
  auto yf = rfft2(xf).to<C64>();
  double scale = 0;
  for (auto v : yd.to_vector()) scale = std::max(scale, std::abs(v));
  CHECK(max_err(yf.to_vector(), yd.to_vector()) < 1e-5 * scale);
}

TEST_CASE("irfft ignores the imaginary parts of the DC and Nyquist bins") {
  for (int64_t n : {8, 9}) {
    TC X = TC::zeros({n / 2 + 1});
    X.data_ptr()[0] = C64(1.0, 5.0);
    if (n % 2 == 0) X.data_ptr()[n / 2] = C64(2.0, -3.0);
    T64 x = irfft(X, n);
    for (int64_t j = 0; j < n; ++j) {
      const double want = (1.0 + (n % 2 == 0 ? 2.0 * (j % 2 ? -1.0 : 1.0) : 0.0)) / double(n);
      CHECK(x.data_ptr()[j] == doctest::Approx(want).epsilon(1e-12));
    }
  }
}

TEST_CASE("fft along a middle axis, 2-D and N-D transforms, n and s") {
  Generator gen(2);
  TC x = crandn({3, 5, 4}, gen);
  // Along dim 1: compare with transposing to the last axis.
  TC a = fft(x, std::nullopt, 1);
  TC b = fft(x.transpose(1, 2).contiguous()).transpose(1, 2).contiguous();
  CHECK(max_err(a.to_vector(), b.to_vector()) < 1e-12);
  // fft2 = fft over -1 then over -2.
  TC c = fft2(x);
  TC d = fft(fft(x, std::nullopt, -1), std::nullopt, -2);
  CHECK(max_err(c.to_vector(), d.to_vector()) < 1e-12);
  // fftn over all dims, and ifftn inverts it.
  TC e = fftn(x);
  TC f = fft(fft(fft(x, std::nullopt, 0), std::nullopt, 1), std::nullopt, 2);
  CHECK(max_err(e.to_vector(), f.to_vector()) < 1e-12);
  CHECK(max_err(ifftn(e).to_vector(), x.to_vector()) < 1e-12);
  // n zero-pads or trims.
  TC padded = TC::zeros({3, 5, 7});
  padded.narrow(2, 0, 4).copy_(x);
  CHECK(max_err(fft(x, 7).to_vector(), fft(padded).to_vector()) < 1e-12);
  CHECK(max_err(fft(x, 3).to_vector(), fft(x.narrow(2, 0, 3).contiguous()).to_vector()) < 1e-12);
  // rfft2 = the first n/2+1 columns of fft2 of the real signal; irfft2 inverts it (odd and even).
  for (int64_t w : {6, 7}) {
    T64 r = T64::randn({2, 5, w}, gen);
    TC R2 = rfft2(r);
    TC F2 = fft2(r);
    CHECK(max_err(R2.to_vector(), F2.narrow(2, 0, w / 2 + 1).contiguous().to_vector()) < 1e-12);
    T64 back = irfft2(R2, std::vector<int64_t>{5, w});
    CHECK(max_err(detail::to_complex(back).to_vector(), detail::to_complex(r).to_vector()) < 1e-12);
    // rfftn over dims {0, 2} (the r2c axis is dim 2).
    TC Rn = rfftn(r, std::nullopt, std::vector<int64_t>{0, 2});
    TC Fn = fftn(r, std::nullopt, std::vector<int64_t>{0, 2}).narrow(2, 0, w / 2 + 1).contiguous();
    CHECK(max_err(Rn.to_vector(), Fn.to_vector()) < 1e-12);
    // rfft along a non-last dim.
    TC R1 = rfft(r, std::nullopt, 1);
    TC F1 = fft(r, std::nullopt, 1).narrow(1, 0, 3).contiguous();
    CHECK(max_err(R1.to_vector(), F1.to_vector()) < 1e-12);
    T64 back1 = irfft(R1, 5, 1);
    CHECK(max_err(detail::to_complex(back1).to_vector(), detail::to_complex(r).to_vector()) < 1e-12);
  }
  // String norms.
  T64 r = T64::randn({8}, gen);
  CHECK(max_err(rfft(r, std::nullopt, -1, "ortho").to_vector(),
                rfft(r, std::nullopt, -1, FftNorm::Ortho).to_vector()) == 0.0);
}

TEST_CASE("complex ops: values, views, and PyTorch's gradient convention") {
  Generator gen(3);
  TC z = crandn({3, 4}, gen);
  // real / imag / view_as_real are views sharing storage.
  T64 re = real(z), im = imag(z), vr = view_as_real(z);
  CHECK(re.shares_storage_with(T64(vr)));
  CHECK(vr.shape() == Shape{3, 4, 2});
  CHECK(re.at({1, 2}) == z.at({1, 2}).real());
  CHECK(im.at({2, 3}) == z.at({2, 3}).imag());
  CHECK(vr.at({0, 1, 1}) == z.at({0, 1}).imag());
  z.at({0, 0}) = C64(7.0, -8.0);
  CHECK(re.at({0, 0}) == 7.0);
  CHECK(vr.at({0, 0, 1}) == -8.0);
  TC back = view_as_complex(vr);
  CHECK(back.shares_storage_with(z));
  CHECK(back.at({2, 1}) == z.at({2, 1}));
  // A transposed complex tensor: real() of a non-contiguous view.
  TC zt = z.t();
  CHECK(real(zt).at({3, 1}) == z.at({1, 3}).real());
  // angle, polar, complex.
  TC w = TC::from_vector({C64(1, 1), C64(-2, 0), C64(0, -3)});
  T64 ang = angle(w);
  CHECK(ang.data_ptr()[0] == doctest::Approx(M_PI / 4));
  CHECK(ang.data_ptr()[1] == doctest::Approx(M_PI));
  CHECK(ang.data_ptr()[2] == doctest::Approx(-M_PI / 2));
  TC p = polar(abs(w), ang);
  CHECK(max_err(p.to_vector(), w.to_vector()) < 1e-14);
  TC c = complex(T64{1.0, 2.0}, T64::scalar(3.0));  // broadcasting
  CHECK(c.at({1}) == C64(2.0, 3.0));

  // z.grad == dL/dx + i dL/dy for L(z) = sum(|z|^2 * a + angle(z)) with z = complex(x, y).
  T64 x = T64::randn({5}, gen).requires_grad_();
  T64 y = T64::randn({5}, gen).requires_grad_();
  TC zz = complex(x, y);
  TC zl = zz.detach().requires_grad_();
  auto loss_of = [](const TC& v) {
    T64 a = abs(v);
    return sum(add(mul(a, a), angle(v)));
  };
  loss_of(zz).backward();
  loss_of(zl).backward();
  for (int64_t i = 0; i < 5; ++i) {
    CHECK(zl.grad().data_ptr()[i].real() == doctest::Approx(x.grad().data_ptr()[i]).epsilon(1e-12));
    CHECK(zl.grad().data_ptr()[i].imag() == doctest::Approx(y.grad().data_ptr()[i]).epsilon(1e-12));
  }
  // Hand-computed: d/dx (x^2 + y^2 + atan2(y, x)) = 2x - y / r^2; d/dy = 2y + x / r^2.
  for (int64_t i = 0; i < 5; ++i) {
    const double xv = x.data_ptr()[i], yv = y.data_ptr()[i], r2 = xv * xv + yv * yv;
    CHECK(x.grad().data_ptr()[i] == doctest::Approx(2 * xv - yv / r2));
    CHECK(y.grad().data_ptr()[i] == doctest::Approx(2 * yv + xv / r2));
  }
  // real(z) backward gives complex(g, 0); imag gives complex(0, g).
  TC q = crandn({4}, gen).requires_grad_();
  sum(mul(real(q), 3.0)).backward();
  CHECK(q.grad().data_ptr()[2] == C64(3.0, 0.0));
  TC q2 = crandn({4}, gen).requires_grad_();
  sum(mul(imag(q2), 3.0)).backward();
  CHECK(q2.grad().data_ptr()[1] == C64(0.0, 3.0));
}

TEST_CASE("complex ops gradcheck and gradgradcheck through real parametrisations") {
  Generator gen(4);
  T64 x = T64::randn({2, 3}, gen).requires_grad_();
  T64 y = T64::randn({2, 3}, gen).requires_grad_();
  T64 xt = T64::randn({3, 2}, gen).t().detach().requires_grad_();  // non-contiguous
  auto via = [](auto f) {
    return [f](const std::vector<T64>& v) { return f(complex(v[0], v[1])); };
  };
  auto f_real = via([](const TC& z) { return mul(real(mul(z, z)), 1.5); });
  auto f_imag = via([](const TC& z) { return imag(mul(z, z)); });
  auto f_angle = via([](const TC& z) { return angle(z); });
  auto f_abs = via([](const TC& z) { return abs(z); });
  auto f_var = via([](const TC& z) { return view_as_real(mul(z, z)); });
  auto f_vac = [](const std::vector<T64>& v) {
    T64 s = stack(std::vector<T64>{v[0], v[1]}, -1);
    return readout(mul(view_as_complex(s), view_as_complex(s)));
  };
  auto f_polar = [](const std::vector<T64>& v) { return readout(polar(v[0], v[1])); };
  for (const GradcheckFn& f : std::vector<GradcheckFn>{f_real, f_imag, f_angle, f_abs, f_var}) {
    CHECK(gradcheck_report(f, {x, y}) == "");
    CHECK(gradcheck_report(f, {xt, y}) == "");
    CHECK(gradgradcheck_report(f, {x, y}) == "");
  }
  CHECK(gradcheck_report(f_polar, {x, y}) == "");
  CHECK(gradgradcheck_report(f_polar, {x, y}) == "");
  CHECK(gradcheck_report(f_vac, {x, y}) == "");
  CHECK(gradgradcheck_report(f_vac, {x, y}) == "");
}

TEST_CASE("fft gradients: gradcheck and gradgradcheck") {
  Generator gen(5);
  T64 x = T64::randn({2, 5}, gen).requires_grad_();
  T64 y = T64::randn({2, 5}, gen).requires_grad_();
  T64 x6 = T64::randn({3, 6}, gen).requires_grad_();
  T64 xt = T64::randn({6, 3}, gen).t().detach().requires_grad_();  // non-contiguous [3, 6]
  using Fn = std::function<T64(const std::vector<T64>&)>;
  std::vector<std::pair<const char*, Fn>> complex_fns;
  for (FftNorm norm : {FftNorm::Backward, FftNorm::Ortho, FftNorm::Forward}) {
    complex_fns.emplace_back("fft", [norm](const std::vector<T64>& v) {
      return readout(fft(complex(v[0], v[1]), std::nullopt, -1, norm));
    });
    complex_fns.emplace_back("ifft n=7", [norm](const std::vector<T64>& v) {
      return readout(ifft(complex(v[0], v[1]), 7, -1, norm));
    });
    complex_fns.emplace_back("fft2 s=(3,4)", [norm](const std::vector<T64>& v) {
      return readout(fft2(complex(v[0], v[1]), std::vector<int64_t>{3, 4}, {-2, -1}, norm));
    });
    complex_fns.emplace_back("irfft", [norm](const std::vector<T64>& v) {
      return irfft(complex(v[0], v[1]), std::nullopt, -1, norm);
    });
    complex_fns.emplace_back("irfft n=7", [norm](const std::vector<T64>& v) {
      return irfft(complex(v[0], v[1]), 7, -1, norm);
    });
    complex_fns.emplace_back("irfft2", [norm](const std::vector<T64>& v) {
      return irfft2(complex(v[0], v[1]), std::nullopt, {-2, -1}, norm);
    });
    complex_fns.emplace_back("irfft dim 0 n=3", [norm](const std::vector<T64>& v) {
      return irfft(complex(v[0], v[1]), 3, 0, norm);
    });
  }
  for (auto& [name, f] : complex_fns) {
    INFO(name);
    CHECK(gradcheck_report(f, {x, y}) == "");
  }
  CHECK(gradgradcheck_report(complex_fns[0].second, {x, y}) == "");
  CHECK(gradgradcheck_report(complex_fns[3].second, {x, y}) == "");
  CHECK(gradgradcheck_report(complex_fns[5].second, {x, y}) == "");

  std::vector<std::pair<const char*, Fn>> real_fns;
  for (FftNorm norm : {FftNorm::Backward, FftNorm::Ortho, FftNorm::Forward}) {
    real_fns.emplace_back("rfft", [norm](const std::vector<T64>& v) {
      return readout(rfft(v[0], std::nullopt, -1, norm));
    });
    real_fns.emplace_back("rfft n=5", [norm](const std::vector<T64>& v) {
      return readout(rfft(v[0], 5, -1, norm));
    });
    real_fns.emplace_back("rfft n=9", [norm](const std::vector<T64>& v) {
      return readout(rfft(v[0], 9, -1, norm));
    });
    real_fns.emplace_back("rfft2", [norm](const std::vector<T64>& v) {
      return readout(rfft2(v[0], std::nullopt, {-2, -1}, norm));
    });
    real_fns.emplace_back("rfft dim 0", [norm](const std::vector<T64>& v) {
      return readout(rfft(v[0], std::nullopt, 0, norm));
    });
    real_fns.emplace_back("fft of real", [norm](const std::vector<T64>& v) {
      return readout(fft(v[0], std::nullopt, -1, norm));
    });
    // Mode truncation as in spectral layers: rfft2, keep low modes, irfft2.
    real_fns.emplace_back("rfft2 -> truncate -> irfft2", [norm](const std::vector<T64>& v) {
      TC f = rfft2(v[0], std::nullopt, {-2, -1}, norm);
      TC kept = detail::fft_resize(f.narrow(1, 0, 2), 1, 4);
      return irfft2(kept, std::vector<int64_t>{3, 6}, {-2, -1}, norm);
    });
  }
  for (auto& [name, f] : real_fns) {
    INFO(name);
    CHECK(gradcheck_report(f, {x6}) == "");
    CHECK(gradcheck_report(f, {xt}) == "");
  }
  CHECK(gradgradcheck_report(real_fns[0].second, {x6}) == "");
  CHECK(gradgradcheck_report(real_fns[3].second, {xt}) == "");
  CHECK(gradgradcheck_report(real_fns[6].second, {x6}) == "");
}

TEST_CASE("fft: bad input throws ember::Error") {
  T64 x = T64::randn({4, 6});
  TC z = TC::randn({4, 6});
  CHECK_THROWS_AS(fft(x, 0), Error);
  CHECK_THROWS_AS(fft(x, -3), Error);
  CHECK_THROWS_AS(fft(x, std::nullopt, 2), Error);
  CHECK_THROWS_AS(rfft(x, std::nullopt, -3), Error);
  CHECK_THROWS_AS(fft2(x, std::nullopt, {0, 0}), Error);
  CHECK_THROWS_AS(fft2(x, std::vector<int64_t>{4}, {0, 1}), Error);
  CHECK_THROWS_AS(irfft(TC::randn({3, 1})), Error);  // 2 (1 - 1) = 0 output points
  CHECK_THROWS_AS(fft(x, std::nullopt, -1, "sideways"), Error);
  CHECK_THROWS_AS(fftn(x, std::vector<int64_t>{2, 2, 2}), Error);
  CHECK_THROWS_AS(view_as_complex(T64::randn({4, 3})), Error);
  CHECK_THROWS_AS(view_as_complex(T64::randn({2, 4}).t()), Error);
  CHECK_THROWS_AS(complex(T64::randn({3}), T64::randn({4})), Error);
  CHECK_THROWS_AS(imag(x), Error);          // real tensors have no imaginary view
  CHECK_THROWS_AS(view_as_real(x), Error);
  try {
    fft(x, 0);
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("fft") != std::string::npos);
  }
}
