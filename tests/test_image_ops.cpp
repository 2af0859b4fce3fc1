// Image processing (include/ember/image/): the block DCT against its definition (double
// loops) and its inverse, the JPEG tables against T.81 Annex K and libjpeg's quality scaling,
// H.264 QP steps, the block codec, colour conversions (round trips and known colours),
// chroma subsampling, Gaussian / box / Sobel filters, contrast and noise.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <ember/autograd/gradcheck.hpp>
#include <ember/core/random.hpp>
#include <ember/ember.hpp>
#include <ember/image.hpp>
#include <numbers>
#include <string>
#include <vector>

using namespace ember;
using namespace ember::image;

namespace {

template <class T>
double max_abs_diff(const Tensor<T>& a, const Tensor<T>& b) {
  REQUIRE(a.shape() == b.shape());
  const std::vector<T> x = a.to_vector(), y = b.to_vector();
  double m = 0.0;
  for (size_t i = 0; i < x.size(); ++i) m = std::max(m, std::abs(double(x[i]) - double(y[i])));
  return m;
}

template <class T>
std::vector<int> as_ints(const Tensor<T>& t) {
  std::vector<int> out;
  for (T v : t.to_vector()) out.push_back(int(std::lround(double(v))));
  return out;
}

std::string error_of(const auto& fn) {
  try {
    fn();
  } catch (const ember::Error& e) {
    return e.what();
  }
  return "<no error>";
}

// The 2-D DCT-II of every n x n block of a [P, H, W] tensor, straight from the definition.
std::vector<double> dct_by_definition(const std::vector<double>& x, int64_t planes, int64_t h,
                                      int64_t w, int64_t n) {
  std::vector<double> out(x.size());
  const auto a = [n](int64_t k) { return std::sqrt((k == 0 ? 1.0 : 2.0) / double(n)); };
  const double pi = std::numbers::pi;
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t br = 0; br < h; br += n)
      for (int64_t bc = 0; bc < w; bc += n)
        for (int64_t u = 0; u < n; ++u)
          for (int64_t v = 0; v < n; ++v) {
            double s = 0.0;
            for (int64_t i = 0; i < n; ++i)
              for (int64_t j = 0; j < n; ++j)
                s += x[size_t((p * h + br + i) * w + bc + j)] *
                     std::cos(pi * double((2 * i + 1) * u) / double(2 * n)) *
                     std::cos(pi * double((2 * j + 1) * v) / double(2 * n));
            out[size_t((p * h + br + u) * w + bc + v)] = a(u) * a(v) * s;
          }
  return out;
}

}  // namespace

// ------------------------------------------------------------------------------------ DCT

TEST_CASE("dct_matrix is orthonormal") {
  for (int64_t n : {8, 16}) {
    const Tensor<double> c = dct_matrix<double>(n);
    const Tensor<double> eye = matmul(c, c.t());
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j)
        CHECK(std::abs(eye.at({i, j}) - (i == j ? 1.0 : 0.0)) < 1e-12);
    CHECK(c.at({0, 0}) == doctest::Approx(1.0 / std::sqrt(double(n))));
  }
}

TEST_CASE("block_dct matches the DCT-II definition and block_idct inverts it (8 and 16)") {
  Generator gen(7);
  for (int64_t n : {8, 16}) {
    const int64_t p = 2, h = 2 * n, w = 3 * n;
    const Tensor<double> x = Tensor<double>::randn({p, h, w}, gen);
    const Tensor<double> d = block_dct(x, n);
    const Tensor<double> ref =
        Tensor<double>::from_vector(dct_by_definition(x.to_vector(), p, h, w, n), {p, h, w});
    CHECK(max_abs_diff(d, ref) < 1e-6);
    CHECK(max_abs_diff(block_idct(d, n), x) < 1e-6);
    // Float: the same to float rounding.
    const Tensor<float> xf = x.to<float>();
    CHECK(max_abs_diff(block_idct(block_dct(xf, n), n), xf) < 1e-5);
    // A flat block of value a has DC n * a and nothing else.
    const Tensor<double> flat = Tensor<double>::full({n, n}, 0.25);
    const Tensor<double> df = block_dct(flat, n);
    CHECK(df.at({0, 0}) == doctest::Approx(0.25 * double(n)));
    double rest = 0.0;
    for (double v : df.to_vector()) rest += std::abs(v);
    CHECK(rest - std::abs(df.at({0, 0})) < 1e-12);
  }
  // Energy is preserved (orthonormal): sum of squares equal.
  const Tensor<double> x = Tensor<double>::randn({1, 8, 8}, gen);
  CHECK(sum(mul(x, x)).item() == doctest::Approx(sum(mul(block_dct(x), block_dct(x))).item()));
}

TEST_CASE("to_blocks / from_blocks and the block layout of block_dct") {
  Tensor<float> x = Tensor<float>::arange(0.0f, 2.0f * 16 * 24).reshape({2, 16, 24});
  const Tensor<float> b = to_blocks(x, 8);
  CHECK(b.shape() == Shape{2, 2, 3, 8, 8});
  CHECK(b.at({1, 1, 2, 3, 4}) == x.at({1, 8 + 3, 16 + 4}));
  CHECK(max_abs_diff(from_blocks(b), x) == 0.0);
  // Block (1, 2) of the coefficients is the DCT of block (1, 2) of the image.
  const Tensor<float> one = x.select(0, 0).slice(0, 8, 16).slice(1, 16, 24).contiguous();
  CHECK(max_abs_diff(to_blocks(block_dct(x), 8).select(0, 0).select(0, 1).select(0, 2).contiguous(),
                     block_dct(one)) < 1e-3);
  CHECK(error_of([&] {
          (void)block_dct(Tensor<float>::zeros({12, 16}));
        }).find("multiples of the block size 8") != std::string::npos);
}

TEST_CASE("block_dct / block_idct are differentiable (gradcheck)") {
  Generator gen(3);
  Tensor<double> x = Tensor<double>::randn({1, 8, 16}, gen);
  x.requires_grad_();
  CHECK(gradcheck_report([](const std::vector<Tensor<double>>& in) { return block_dct(in[0]); },
                         {x}) == "");
  CHECK(gradcheck_report([](const std::vector<Tensor<double>>& in) { return block_idct(in[0]); },
                         {x}) == "");
}

TEST_CASE("zig-zag scan (T.81 figure 5) and its masks") {
  const std::vector<int64_t> z = zigzag_order(8);
  REQUIRE(z.size() == 64);
  const std::vector<int64_t> head{0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5};
  CHECK(std::vector<int64_t>(z.begin(), z.begin() + 16) == head);
  CHECK(z.back() == 63);
  std::vector<int64_t> sorted = z;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 64; ++i) CHECK(sorted[size_t(i)] == i);
  const Tensor<float> m = zigzag_mask(8, 3);
  CHECK(sum(m).item() == 3.0f);
  CHECK((m.at({0, 0}) == 1.0f && m.at({0, 1}) == 1.0f && m.at({1, 0}) == 1.0f));
  CHECK(zigzag_order(16).size() == 256);
}

// ------------------------------------------------------------------ quantisation tables

TEST_CASE("JPEG tables: T.81 Annex K at quality 50, libjpeg's scaling at 5, 10, 80, 90, 100") {
  // T.81 Tables K.1 and K.2, typed in from the standard (natural order).
  const std::vector<int> k1{16, 11, 10, 16, 24,  40,  51,  61,  12, 12, 14, 19, 26,  58,  60,  55,
                            14, 13, 16, 24, 40,  57,  69,  56,  14, 17, 22, 29, 51,  87,  80,  62,
                            18, 22, 37, 56, 68,  109, 103, 77,  24, 35, 55, 64, 81,  104, 113, 92,
                            49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99};
  std::vector<int> k2(64, 99);
  const int k2_top[4][4] = {{17, 18, 24, 47}, {18, 21, 26, 66}, {24, 26, 56, 99}, {47, 66, 99, 99}};
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) k2[size_t(r * 8 + c)] = k2_top[r][c];
  CHECK(as_ints(jpeg_luma_table(50)) == k1);
  CHECK(as_ints(jpeg_chroma_table(50)) == k2);
  CHECK(jpeg_luma_table().shape() == Shape{8, 8});

  // libjpeg 6.2 jpeg_set_quality(q, force_baseline = TRUE), quant_tbl_ptrs[0/1]->quantval.
  const std::vector<int> luma10{80,  55,  50,  80,  120, 200, 255, 255, 60,  60,  70,  95,  130,
                                255, 255, 255, 70,  65,  80,  120, 200, 255, 255, 255, 70,  85,
                                110, 145, 255, 255, 255, 255, 90,  110, 185, 255, 255, 255, 255,
                                255, 120, 175, 255, 255, 255, 255, 255, 255, 245, 255, 255, 255,
                                255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255};
  const std::vector<int> luma90{3,  2,  2,  3,  5,  8,  10, 12, 2,  2,  3,  4,  5,  12, 12, 11,
                                3,  3,  3,  5,  8,  11, 14, 11, 3,  3,  4,  6,  10, 17, 16, 12,
                                4,  4,  7,  11, 14, 22, 21, 15, 5,  7,  11, 13, 16, 21, 23, 18,
                                10, 13, 16, 17, 21, 24, 24, 20, 14, 18, 19, 20, 22, 20, 21, 20};
  const std::vector<int> chroma90{3,  4,  5,  9,  20, 20, 20, 20, 4,  4,  5,  13, 20, 20, 20, 20,
                                  5,  5,  11, 20, 20, 20, 20, 20, 9,  13, 20, 20, 20, 20, 20, 20,
                                  20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20,
                                  20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20};
  const std::vector<int> luma80{6,  4,  4,  6,  10, 16, 20, 24, 5,  5,  6,  8,  10, 23, 24, 22,
                                6,  5,  6,  10, 16, 23, 28, 22, 6,  7,  9,  12, 20, 35, 32, 25,
                                7,  9,  15, 22, 27, 44, 41, 31, 10, 14, 22, 26, 32, 42, 45, 37,
                                20, 26, 31, 35, 41, 48, 48, 40, 29, 37, 38, 39, 45, 40, 41, 40};
  CHECK(as_ints(jpeg_luma_table(10)) == luma10);
  CHECK(as_ints(jpeg_luma_table(90)) == luma90);
  CHECK(as_ints(jpeg_chroma_table(90)) == chroma90);
  CHECK(as_ints(jpeg_luma_table(80)) == luma80);
  const std::vector<int> chroma10_head{85, 90, 120, 235, 255, 255, 255, 255, 90, 105, 130, 255};
  const std::vector<int> c10 = as_ints(jpeg_chroma_table(10));
  CHECK(std::vector<int>(c10.begin(), c10.begin() + 12) == chroma10_head);
  const std::vector<int> l5 = as_ints(jpeg_luma_table(5));
  CHECK(std::vector<int>(l5.begin(), l5.begin() + 5) == std::vector<int>{160, 110, 100, 160, 240});
  CHECK(as_ints(jpeg_luma_table(100)) == std::vector<int>(64, 1));
  CHECK(as_ints(jpeg_luma_table(0)) == as_ints(jpeg_luma_table(1)));  // clamped like libjpeg
  CHECK(jpeg_quality_scale(10) == 500);
  CHECK(jpeg_quality_scale(50) == 100);
  CHECK(jpeg_quality_scale(90) == 20);
  CHECK_THROWS_AS((void)jpeg_table("chromo", 50), ember::Error);
}

TEST_CASE("H.264 quantiser steps double every 6 QP") {
  CHECK(h264_qstep(0) == 0.625);
  CHECK(h264_qstep(4) == 1.0);
  CHECK(h264_qstep(5) == 1.125);
  CHECK(h264_qstep(10) == 2.0);
  CHECK(h264_qstep(28) == 16.0);
  CHECK(h264_qstep(51) == 224.0);
  for (int qp = 0; qp + 6 <= 51; ++qp) CHECK(h264_qstep(qp + 6) == 2.0 * h264_qstep(qp));
  for (int k = 0; 4 + 6 * k <= 51; ++k)
    CHECK(qp_step(4 + 6 * k) == doctest::Approx(h264_qstep(4 + 6 * k)));
  CHECK(qp_step(7.0) == doctest::Approx(std::sqrt(2.0)));
  CHECK_THROWS_AS((void)h264_qstep(52), ember::Error);
  CHECK_THROWS_AS((void)h264_qstep(-1), ember::Error);
}

TEST_CASE("resize_table stretches an 8x8 table to 16x16 with the DCT's gain") {
  const Tensor<float> t16 = resize_table(jpeg_luma_table(50), 16);
  CHECK(t16.shape() == Shape{16, 16});
  CHECK(t16.at({0, 0}) == 32.0f);
  CHECK(t16.at({1, 1}) == 32.0f);
  CHECK(t16.at({0, 2}) == 22.0f);
  CHECK(t16.at({15, 15}) == 198.0f);
  CHECK_THROWS_AS((void)resize_table(jpeg_luma_table(50), 12), ember::Error);
}

// -------------------------------------------------------------------------- quantisation

TEST_CASE("quantize / dequantize blockwise, and the block codec round trip") {
  Tensor<float> c = Tensor<float>::zeros({16, 8});
  c.at({0, 0}) = 100.0f;  // block 0, DC: 100 / 16 = 6.25 -> 6
  c.at({0, 7}) = -91.0f;  // block 0, (0, 7): -91 / 61 = -1.49 -> -1
  c.at({9, 1}) = 17.0f;   // block 1, (1, 1): 17 / 12 = 1.42 -> 1
  const Tensor<float> q = jpeg_luma_table(50);
  const Tensor<float> lv = quantize(c, q);
  CHECK(lv.at({0, 0}) == 6.0f);
  CHECK(lv.at({0, 7}) == -1.0f);
  CHECK(lv.at({9, 1}) == 1.0f);
  CHECK(sum(abs(lv)).item() == 8.0f);
  const Tensor<float> dq = dequantize(lv, q);
  CHECK(dq.at({0, 0}) == 96.0f);
  CHECK(dq.at({0, 7}) == -61.0f);
  CHECK(dq.at({9, 1}) == 12.0f);

  // A textured plane; sizes not multiples of 8 go through replicate padding.
  Generator gen(11);
  Tensor<float> x = clamp(add(Tensor<float>::rand({2, 21, 29}, gen, 0.0, 0.6),
                              gaussian_blur(Tensor<float>::rand({2, 21, 29}, gen, 0.0, 0.4), 1.0)),
                          0.0f, 1.0f);
  const Tensor<float> ones = Tensor<float>::ones({8, 8});
  const Tensor<float> y1 = block_codec(x, ones);
  CHECK(y1.shape() == x.shape());
  CHECK(max_abs_diff(y1, x) < 3.0 / 255.0);  // steps of 1 code value: near lossless
  double prev = 0.0;
  for (int quality : {90, 50, 10}) {
    const Tensor<float> y = block_codec(x, jpeg_luma_table(quality));
    const double mse = mean(square(sub(y, x))).item();
    CHECK(mse > prev);  // lower quality, larger error
    prev = mse;
    CHECK(min(y).item() >= 0.0f);
    CHECK(max(y).item() <= 1.0f);
  }
  // Keeping only the DC coefficient: every 8x8 block of a multiple-of-8 plane becomes flat at
  // its mean (up to the DC step).
  const Tensor<float> x16 = x.slice(1, 0, 16).slice(2, 0, 16).contiguous();
  const Tensor<float> dc = block_codec(x16, ones, {}, zigzag_mask(8, 1));
  const Tensor<float> blocks = to_blocks(dc, 8);
  const Tensor<float> spread = sub(amax(blocks, {-1, -2}), amin(blocks, {-1, -2}));
  CHECK(max(spread).item() < 1e-5f);
  const Tensor<float> means = mean(to_blocks(x16, 8), {-1, -2});
  CHECK(max_abs_diff(blocks.select(-1, 0).select(-1, 0).contiguous(), means) < 1.0 / 255.0);
}

// ------------------------------------------------------------------------------- colour

TEST_CASE("rgb <-> ycbcr (BT.601 full range): known colours and round trips") {
  // Pure red, green, blue, white, black as a [3, 1, 5] image.
  const Tensor<double> rgb =
      Tensor<double>::from_vector({1, 0, 0, 1, 0, 0, 1, 0, 1, 0, 0, 0, 1, 1, 0}, {3, 1, 5});
  const Tensor<double> ycc = rgb_to_ycbcr(rgb);
  const double want[3][5] = {{0.299, 0.587, 0.114, 1.0, 0.0},
                             {0.5 - 0.168736, 0.5 - 0.331264, 1.0, 0.5, 0.5},
                             {1.0, 0.5 - 0.418688, 0.5 - 0.081312, 0.5, 0.5}};
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t i = 0; i < 5; ++i)
      CHECK(ycc.at({c, 0, i}) == doctest::Approx(want[c][i]).epsilon(1e-6));
  CHECK(max_abs_diff(ycbcr_to_rgb(ycc), rgb) < 1e-12);

  // The inverse's published coefficients (JFIF): R = Y + 1.402 (Cr - .5), etc.
  const Tensor<double> one = Tensor<double>::from_vector({0.4, 0.3, 0.8}, {3, 1, 1});
  const Tensor<double> back = ycbcr_to_rgb(one);
  CHECK(back.at({0, 0, 0}) == doctest::Approx(0.4 + 1.402 * 0.3));
  CHECK(back.at({1, 0, 0}) ==
        doctest::Approx(0.4 - 0.344136 * -0.2 - 0.714136 * 0.3).epsilon(1e-6));
  CHECK(back.at({2, 0, 0}) == doctest::Approx(0.4 + 1.772 * -0.2));

  Generator gen(5);
  const Tensor<float> x = Tensor<float>::rand({2, 3, 5, 7}, gen);
  CHECK(rgb_to_ycbcr(x).shape() == x.shape());
  CHECK(max_abs_diff(ycbcr_to_rgb(rgb_to_ycbcr(x)), x) < 1e-5);
  CHECK(max_abs_diff(yuv_to_rgb(rgb_to_yuv(x)), x) < 1e-5);
  CHECK(max_abs_diff(ycbcr_limited_to_full(ycbcr_full_to_limited(x)), x) < 1e-5);
  CHECK(error_of([] {
          (void)rgb_to_ycbcr(Tensor<float>::zeros({4, 2, 2}));
        }).find("expected an image [..., 3, H, W]") != std::string::npos);
}

TEST_CASE("rgb -> yuv (analog BT.601) and the TV range") {
  const Tensor<double> red = Tensor<double>::from_vector({1, 0, 0}, {3, 1, 1});
  const Tensor<double> yuv = rgb_to_yuv(red);
  // The BT.601 YUV matrix as published (rounded to 5 digits): U = -0.14713 R - 0.28886 G +
  // 0.436 B, V = 0.615 R - 0.51499 G - 0.10001 B.
  CHECK(yuv.at({0, 0, 0}) == doctest::Approx(0.299));
  CHECK(std::abs(yuv.at({1, 0, 0}) + 0.14713) < 1e-5);
  CHECK(std::abs(yuv.at({2, 0, 0}) - 0.615) < 1e-12);
  const Tensor<double> green = rgb_to_yuv(Tensor<double>::from_vector({0, 1, 0}, {3, 1, 1}));
  CHECK(std::abs(green.at({1, 0, 0}) + 0.28886) < 1e-5);
  CHECK(std::abs(green.at({2, 0, 0}) + 0.51499) < 1e-5);
  const Tensor<double> blue = rgb_to_yuv(Tensor<double>::from_vector({0, 0, 1}, {3, 1, 1}));
  CHECK(std::abs(blue.at({1, 0, 0}) - 0.436) < 1e-12);
  CHECK(std::abs(blue.at({2, 0, 0}) + 0.10001) < 1e-5);
  // Full-range red in TV range is the Y4M code triple (81, 90, 240) that ffmpeg writes.
  const Tensor<double> tv = mul(ycbcr_full_to_limited(rgb_to_ycbcr(red)), 255.0);
  CHECK(std::lround(tv.at({0, 0, 0})) == 81);
  CHECK(std::lround(tv.at({1, 0, 0})) == 90);
  CHECK(std::lround(tv.at({2, 0, 0})) == 240);
  const Tensor<double> white = Tensor<double>::from_vector({1, 0.5, 0.5}, {3, 1, 1});
  const Tensor<double> wtv = mul(ycbcr_full_to_limited(white), 255.0);
  CHECK(wtv.at({0, 0, 0}) == doctest::Approx(235.0));
  CHECK(wtv.at({1, 0, 0}) == doctest::Approx(128.0));
}

// ------------------------------------------------------------------------------- chroma

TEST_CASE("chroma subsampling and upsampling") {
  const Tensor<float> c = Tensor<float>::arange(0.0f, 16.0f).reshape({4, 4});
  const Tensor<float> d = chroma_downsample(c, 2);
  CHECK(d.shape() == Shape{2, 2});
  CHECK(d.at({0, 0}) == 2.5f);   // (0 + 1 + 4 + 5) / 4
  CHECK(d.at({1, 1}) == 12.5f);  // (10 + 11 + 14 + 15) / 4
  CHECK(chroma_downsample(c, 4).at({0, 0}) == 7.5f);
  // Odd sizes: the last row / column is repeated, as in a Y4M 4:2:0 plane size.
  const Tensor<float> odd = Tensor<float>::arange(0.0f, 15.0f).reshape({1, 5, 3});
  const Tensor<float> od = chroma_downsample(odd, 2);
  CHECK(od.shape() == Shape{1, 3, 2});
  CHECK(od.at({0, 2, 1}) == 14.0f);  // the corner pixel repeated four times
  CHECK(od.at({0, 2, 0}) == 12.5f);  // (12 + 13 + 12 + 13) / 4
  // Nearest upsampling undoes the subsampling of a block-constant plane.
  const Tensor<float> up = chroma_upsample(d, 4, 4);
  CHECK(max_abs_diff(chroma_downsample(up, 2), d) == 0.0);
  CHECK(up.at({1, 1}) == 2.5f);
  CHECK(up.at({3, 2}) == 12.5f);
  CHECK(chroma_upsample(od, 5, 3).shape() == Shape{1, 5, 3});
  // Bilinear: a constant stays constant; a linear ramp between block centres is reproduced.
  const Tensor<float> flat =
      chroma_upsample(Tensor<float>::full({2, 3, 3}, 0.3f), 6, 5, 2, ChromaUpsample::Bilinear);
  CHECK(flat.shape() == Shape{2, 6, 5});
  CHECK(max_abs_diff(flat, Tensor<float>::full({2, 6, 5}, 0.3f)) < 1e-6);
  const Tensor<float> bl = chroma_upsample(Tensor<float>::from_vector({0.0f, 1.0f}, {1, 2}), 2, 4,
                                           2, ChromaUpsample::Bilinear);
  CHECK(bl.at({0, 1}) == doctest::Approx(0.25f));  // pixel 1 is a quarter of the way
  CHECK(bl.at({0, 2}) == doctest::Approx(0.75f));
  CHECK_THROWS_AS((void)chroma_upsample(d, 5, 5), ember::Error);

  // 4:2:0 planes of a [N, 3, H, W] image and back.
  Generator gen(2);
  Tensor<float> img = chroma_upsample(Tensor<float>::rand({2, 3, 3, 4}, gen), 6, 8);
  img = cat(std::vector<Tensor<float>>{Tensor<float>::rand({2, 1, 6, 8}, gen), img.slice(1, 1, 3)},
            1);
  const Planes420<float> p = to_420(img);
  CHECK(p.y.shape() == Shape{2, 6, 8});
  CHECK(p.cb.shape() == Shape{2, 3, 4});
  CHECK(max_abs_diff(from_420(p), img) < 1e-6);
}

// ------------------------------------------------------------------------------ filters

TEST_CASE("Gaussian kernel: normalised, symmetric, peaked; blur of a constant is constant") {
  for (double sigma : {0.5, 1.0, 1.5, 2.5, 4.0}) {
    const std::vector<double> k = gaussian_kernel1d(sigma);
    const int64_t r = int64_t(std::ceil(3.0 * sigma));
    REQUIRE(int64_t(k.size()) == 2 * r + 1);
    double s = 0.0;
    for (double v : k) s += v;
    CHECK(s == doctest::Approx(1.0).epsilon(1e-14));
    for (int64_t i = 0; i < r; ++i) {
      CHECK(k[size_t(i)] == doctest::Approx(k[size_t(2 * r - i)]));
      CHECK(k[size_t(i)] < k[size_t(i + 1)]);
    }
    // Ratio of neighbours is the Gaussian's.
    CHECK(k[size_t(r + 1)] / k[size_t(r)] == doctest::Approx(std::exp(-0.5 / (sigma * sigma))));
    const Tensor<double> k2 = gaussian_kernel2d<double>(sigma);
    CHECK(sum(k2).item() == doctest::Approx(1.0));
  }
  CHECK(gaussian_kernel1d(0.0) == std::vector<double>{1.0});

  for (Border b : {Border::Reflect, Border::Replicate}) {
    const Tensor<float> c = Tensor<float>::full({2, 3, 20, 17}, 0.7f);
    CHECK(max_abs_diff(gaussian_blur(c, 2.5, b), c) < 1e-6);
    CHECK(max_abs_diff(box_filter(c, 5, b), c) < 1e-6);
  }
  // An impulse, zero borders, far from the edges: the blur is the 2-D kernel itself.
  Tensor<double> imp = Tensor<double>::zeros({15, 15});
  imp.at({7, 7}) = 1.0;
  const Tensor<double> g = gaussian_blur(imp, 1.0, Border::Zero);
  const Tensor<double> k2 = gaussian_kernel2d<double>(1.0);
  CHECK(max_abs_diff(g.slice(0, 4, 11).slice(1, 4, 11).contiguous(), k2) < 1e-15);
  // Blur lowers the variance of white noise.
  Generator gen(9);
  const Tensor<float> n = Tensor<float>::randn({64, 64}, gen);
  const Tensor<float> bn = gaussian_blur(n, 1.0);
  CHECK(mean(square(bn)).item() < 0.2f * mean(square(n)).item());
  CHECK(error_of([] {
          (void)gaussian_blur(Tensor<float>::zeros({8, 8}), 4.0);
        }).find("reflect border needs a kernel radius below the plane size") != std::string::npos);
  CHECK(gaussian_blur(Tensor<float>::ones({8, 8}), 4.0, Border::Replicate).at({0, 0}) ==
        doctest::Approx(1.0f));
}

TEST_CASE("box filter of an impulse, gradcheck of the blur") {
  Tensor<double> imp = Tensor<double>::zeros({1, 7, 7});
  imp.at({0, 3, 3}) = 9.0;
  const Tensor<double> b = box_filter(imp, 3, Border::Zero);
  for (int64_t i = 0; i < 7; ++i)
    for (int64_t j = 0; j < 7; ++j)
      CHECK(b.at({0, i, j}) ==
            doctest::Approx(std::abs(i - 3) <= 1 && std::abs(j - 3) <= 1 ? 1.0 : 0.0));
  CHECK_THROWS_AS((void)box_filter(imp, 4), ember::Error);

  Generator gen(4);
  Tensor<double> x = Tensor<double>::randn({2, 6, 7}, gen);
  x.requires_grad_();
  CHECK(gradcheck_report(
            [](const std::vector<Tensor<double>>& in) { return gaussian_blur(in[0], 1.0); }, {x}) ==
        "");
}

TEST_CASE("Sobel on a ramp and a constant") {
  // f(i, j) = 2 j + 3 i: interior gx = 8 * 2, gy = 8 * 3.
  Tensor<double> f = Tensor<double>::empty({2, 6, 9});
  for (int64_t p = 0; p < 2; ++p)
    for (int64_t i = 0; i < 6; ++i)
      for (int64_t j = 0; j < 9; ++j)
        f.at({p, i, j}) = 2.0 * double(j) + 3.0 * double(i) + double(p);
  const SobelGradients<double> g = sobel(f);
  for (int64_t i = 1; i < 5; ++i)
    for (int64_t j = 1; j < 8; ++j) {
      CHECK(g.gx.at({1, i, j}) == doctest::Approx(16.0));
      CHECK(g.gy.at({1, i, j}) == doctest::Approx(24.0));
    }
  // Replicated border: a one-sided difference at the edge.
  CHECK(g.gx.at({0, 3, 0}) == doctest::Approx(8.0));
  CHECK(sobel_magnitude(f).at({0, 2, 2}) == doctest::Approx(std::sqrt(16.0 * 16.0 + 24.0 * 24.0)));
  const SobelGradients<float> z = sobel(Tensor<float>::full({5, 5}, 0.4f));
  CHECK(max(abs(z.gx)).item() < 1e-6f);
  CHECK(max(abs(z.gy)).item() < 1e-6f);
  // A vertical step edge: only gx responds.
  Tensor<float> step = Tensor<float>::zeros({6, 6});
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t j = 3; j < 6; ++j) step.at({i, j}) = 1.0f;
  const SobelGradients<float> s = sobel(step);
  CHECK(s.gx.at({2, 2}) == 4.0f);
  CHECK(s.gx.at({2, 3}) == 4.0f);
  CHECK(s.gx.at({2, 0}) == 0.0f);
  CHECK(max(abs(s.gy)).item() == 0.0f);
}

// ------------------------------------------------------------------------- degradations

TEST_CASE("contrast change keeps the mean and scales the deviations; Gaussian noise") {
  Generator gen(6);
  const Tensor<double> x = Tensor<double>::rand({2, 3, 8, 8}, gen);
  const Tensor<double> y = adjust_contrast(x, 0.45);
  const Tensor<double> mx = mean(x, {1, 2, 3}), my = mean(y, {1, 2, 3});
  CHECK(max_abs_diff(mx, my) < 1e-12);
  const Tensor<double> dx = sub(x, mean(x, {1, 2, 3}, true)), dy = sub(y, mean(y, {1, 2, 3}, true));
  CHECK(max_abs_diff(mul(dx, 0.45), dy) < 1e-12);
  CHECK_THROWS_AS((void)adjust_contrast(Tensor<float>::zeros({4, 4}), 0.5), ember::Error);

  const Tensor<float> flat = Tensor<float>::full({1, 128, 128}, 0.5f);
  Generator g1(42), g2(42);
  const Tensor<float> n1 = add_gaussian_noise(flat, 0.07, g1);
  const Tensor<float> n2 = add_gaussian_noise(flat, 0.07, g2);
  CHECK(max_abs_diff(n1, n2) == 0.0);  // one seed, one noise
  const double sd = std::sqrt(mean(square(add(n1, -0.5f))).item());
  CHECK(sd == doctest::Approx(0.07).epsilon(0.03));
  const Tensor<float> clipped = add_gaussian_noise(flat, 2.0, g1, true);
  CHECK(min(clipped).item() >= 0.0f);
  CHECK(max(clipped).item() <= 1.0f);
  CHECK_THROWS_AS((void)add_gaussian_noise(flat, -1.0, g1), ember::Error);
}
