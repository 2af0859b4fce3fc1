// ember::viz: colormaps, heat maps and overlays, mask palettes, boxes and frames, resizing and
// tensors as images, checked pixel by pixel against hand-computed values.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <ember/viz.hpp>
#include <vector>

using namespace ember;
using viz::Image;
using viz::Rgb;

namespace {

Image grey_image(int height, int width, std::vector<uint8_t> pixels) {
  Image img;
  img.height = height;
  img.width = width;
  img.channels = 1;
  img.pixels = std::move(pixels);
  return img;
}

// The single channel of a grey image at (y, x).
int grey_at(const Image& img, int y, int x) {
  return img.pixels[static_cast<size_t>(y * img.width + x) * static_cast<size_t>(img.channels)];
}

}  // namespace

TEST_CASE("colormap endpoints and clamping") {
  using viz::Colormap;
  // matplotlib's viridis(0.0) and viridis(1.0) as 8-bit: #440154 and #fde725.
  CHECK(viz::colormap_colour(Colormap::Viridis, 0.0) == Rgb{68, 1, 84});
  CHECK(viz::colormap_colour(Colormap::Viridis, 1.0) == Rgb{253, 231, 37});
  CHECK(viz::colormap_colour(Colormap::Viridis, -3.0) == Rgb{68, 1, 84});
  CHECK(viz::colormap_colour(Colormap::Viridis, 7.0) == Rgb{253, 231, 37});
  // Moreland's cool-warm end points, and a neutral grey in the middle.
  CHECK(viz::colormap_colour(Colormap::CoolWarm, 0.0) == Rgb{59, 76, 192});
  CHECK(viz::colormap_colour(Colormap::CoolWarm, 1.0) == Rgb{180, 4, 38});
  const Rgb mid = viz::colormap_colour(Colormap::CoolWarm, 0.5);
  CHECK(mid.r >= 219);
  CHECK(mid.r <= 222);
  CHECK(std::abs(int{mid.r} - int{mid.b}) <= 1);
  // Viridis is perceptually ordered: its lightness proxy (green) rises monotonically.
  const auto& table = viz::colormap_table(Colormap::Viridis);
  for (size_t i = 1; i < table.size(); ++i) CHECK(table[i].g >= table[i - 1].g);
  CHECK_THROWS_AS(viz::colormap_colour(Colormap::Viridis, std::nan("")), ember::Error);
}

TEST_CASE("heatmap maps lo, hi and the bins between through the colormap") {
  const std::vector<float> values = {0.f, 0.5f, 1.f, 2.f, -1.f, 0.25f};
  const Image img = viz::heatmap(values, 2, 3, 0.0, 1.0);
  REQUIRE(img.channels == 3);
  REQUIRE(img.height == 2);
  REQUIRE(img.width == 3);
  const auto& t = viz::colormap_table(viz::Colormap::Viridis);
  CHECK(viz::pixel(img, 0, 0) == t[0]);
  CHECK(viz::pixel(img, 0, 1) == t[128]);  // floor(0.5 * 256)
  CHECK(viz::pixel(img, 0, 2) == t[255]);
  CHECK(viz::pixel(img, 1, 0) == t[255]);  // clamped above
  CHECK(viz::pixel(img, 1, 1) == t[0]);    // clamped below
  CHECK(viz::pixel(img, 1, 2) == t[64]);
  // A shifted range: value 10 in [10, 20] is the first colour.
  const Image shifted =
      viz::heatmap(std::vector<double>{10.0, 20.0}, 1, 2, 10.0, 20.0, viz::Colormap::CoolWarm);
  CHECK(viz::pixel(shifted, 0, 0) == Rgb{59, 76, 192});
  CHECK(viz::pixel(shifted, 0, 1) == Rgb{180, 4, 38});

  CHECK_THROWS_AS(viz::heatmap(values, 2, 2, 0.0, 1.0), ember::Error);  // 6 values for 4
  CHECK_THROWS_AS(viz::heatmap(values, 2, 3, 1.0, 1.0), ember::Error);  // empty range
  CHECK_THROWS_AS(viz::heatmap(std::vector<float>{std::nanf("")}, 1, 1, 0.0, 1.0), ember::Error);
}

TEST_CASE("overlay blends round((1 - alpha) * image + alpha * heat)") {
  const Image image = grey_image(1, 2, {100, 0});
  Image heat = viz::blank(1, 2, Rgb{200, 0, 255});
  const Image out = viz::overlay(image, heat, 0.25);
  REQUIRE(out.channels == 3);
  // 0.75 * 100 + 0.25 * (200, 0, 255) = (125, 75, 138.75)
  CHECK(viz::pixel(out, 0, 0) == Rgb{125, 75, 139});
  // 0.25 * (200, 0, 255) = (50, 0, 63.75)
  CHECK(viz::pixel(out, 0, 1) == Rgb{50, 0, 64});
  CHECK(viz::pixel(viz::overlay(image, heat, 0.0), 0, 0) == Rgb{100, 100, 100});
  CHECK(viz::pixel(viz::overlay(image, heat, 1.0), 0, 0) == Rgb{200, 0, 255});

  CHECK_THROWS_AS(viz::overlay(image, viz::blank(2, 2), 0.5), ember::Error);
  CHECK_THROWS_AS(viz::overlay(image, heat, 1.5), ember::Error);
}

TEST_CASE("mask_to_rgb: VOC palette, ignore colour, custom palette") {
  CHECK(viz::voc_colour(0) == Rgb{0, 0, 0});
  CHECK(viz::voc_colour(1) == Rgb{128, 0, 0});
  CHECK(viz::voc_colour(2) == Rgb{0, 128, 0});
  CHECK(viz::voc_colour(15) == Rgb{192, 128, 128});  // VOC "person"
  CHECK(viz::voc_colour(255) == Rgb{224, 224, 192});
  // The first 21 VOC colours (the classes of PASCAL VOC) are all different.
  for (int a = 0; a < 21; ++a)
    for (int b = a + 1; b < 21; ++b) CHECK_FALSE(viz::voc_colour(a) == viz::voc_colour(b));

  const std::vector<int64_t> labels = {0, 1, 255, 2};
  const Image img = viz::mask_to_rgb(labels, 2, 2);
  CHECK(viz::pixel(img, 0, 0) == Rgb{0, 0, 0});
  CHECK(viz::pixel(img, 0, 1) == Rgb{128, 0, 0});
  CHECK(viz::pixel(img, 1, 0) == Rgb{224, 224, 192});
  CHECK(viz::pixel(img, 1, 1) == Rgb{0, 128, 0});

  viz::MaskPalette two;
  two.colours = {Rgb{1, 2, 3}, Rgb{4, 5, 6}};
  two.ignore_label = -1;
  two.ignore_colour = Rgb{9, 9, 9};
  const Image custom = viz::mask_to_rgb(std::vector<uint8_t>{1, 0}, 1, 2, two);
  CHECK(viz::pixel(custom, 0, 0) == Rgb{4, 5, 6});
  CHECK(viz::pixel(custom, 0, 1) == Rgb{1, 2, 3});
  CHECK(viz::pixel(viz::mask_to_rgb(std::vector<int>{-1}, 1, 1, two), 0, 0) == Rgb{9, 9, 9});

  CHECK_THROWS_AS(viz::mask_to_rgb(std::vector<int>{2}, 1, 1, two), ember::Error);  // no colour
  CHECK_THROWS_AS(viz::mask_to_rgb(std::vector<int>{-5}, 1, 1), ember::Error);
  CHECK_THROWS_AS(viz::mask_to_rgb(labels, 3, 2), ember::Error);  // 4 labels for 6 pixels
}

TEST_CASE("draw_rect draws the edges inward and clips") {
  const Rgb red{255, 0, 0};
  Image img = viz::blank(6, 6);
  viz::draw_rect(img, viz::Box{1, 1, 4, 4}, red, 1);
  for (int i = 1; i <= 4; ++i) {
    CHECK(viz::pixel(img, 1, i) == red);  // top
    CHECK(viz::pixel(img, 4, i) == red);  // bottom
    CHECK(viz::pixel(img, i, 1) == red);  // left
    CHECK(viz::pixel(img, i, 4) == red);  // right
  }
  CHECK(viz::pixel(img, 2, 2) == viz::kWhite);  // inside stays
  CHECK(viz::pixel(img, 0, 0) == viz::kWhite);  // outside stays
  CHECK(viz::pixel(img, 5, 5) == viz::kWhite);

  Image thick = viz::blank(6, 6);
  viz::draw_rect(thick, viz::Box{0, 0, 5, 5}, red, 2);
  CHECK(viz::pixel(thick, 1, 3) == red);
  CHECK(viz::pixel(thick, 3, 4) == red);
  CHECK(viz::pixel(thick, 2, 2) == viz::kWhite);
  CHECK(viz::pixel(thick, 3, 3) == viz::kWhite);

  Image clipped = viz::blank(4, 4);
  viz::draw_rect(clipped, viz::Box{-2, -2, 2, 2}, red, 1);
  CHECK(viz::pixel(clipped, 2, 0) == red);
  CHECK(viz::pixel(clipped, 0, 2) == red);
  CHECK(viz::pixel(clipped, 0, 0) == viz::kWhite);  // the box's own corner is outside
  CHECK(viz::pixel(clipped, 3, 3) == viz::kWhite);

  Image grey = grey_image(2, 2, {0, 0, 0, 0});
  CHECK_THROWS_AS(viz::draw_rect(grey, viz::Box{0, 0, 1, 1}, red), ember::Error);
  CHECK_THROWS_AS(viz::draw_rect(img, viz::Box{3, 0, 1, 1}, red), ember::Error);
  CHECK_THROWS_AS(viz::draw_rect(img, viz::Box{0, 0, 1, 1}, red, 0), ember::Error);
}

TEST_CASE("frame surrounds the image without covering it") {
  const Image img = grey_image(2, 2, {10, 20, 30, 40});
  const Image out = viz::frame(img, viz::kCorrect, 1);
  REQUIRE(out.height == 4);
  REQUIRE(out.width == 4);
  CHECK(viz::pixel(out, 0, 0) == viz::kCorrect);
  CHECK(viz::pixel(out, 3, 2) == viz::kCorrect);
  CHECK(viz::pixel(out, 1, 1) == Rgb{10, 10, 10});
  CHECK(viz::pixel(out, 2, 2) == Rgb{40, 40, 40});
  CHECK(viz::frame(img, viz::kWrong, 0).width == 2);
  CHECK_THROWS_AS(viz::frame(img, viz::kWrong, -1), ember::Error);
}

TEST_CASE("resize a 2x2 image: nearest repeats, bilinear interpolates between centres") {
  const Image img = grey_image(2, 2, {0, 100, 200, 40});
  const Image near = viz::resize_nearest(img, 4, 4);
  const int expected_near[4][4] = {
      {0, 0, 100, 100}, {0, 0, 100, 100}, {200, 200, 40, 40}, {200, 200, 40, 40}};
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) CHECK(grey_at(near, y, x) == expected_near[y][x]);

  // Output centres sit at source coordinates -0.25, 0.25, 0.75, 1.25 (clamped to [0, 1]):
  // row 0 = top row at x weights 0, .25, .75, 1; row 1 = .75 * top + .25 * bottom, e.g.
  // .75 * 25 + .25 * 160 = 58.75 -> 59.
  const Image bil = viz::resize_bilinear(img, 4, 4);
  const int expected_bil[4][4] = {
      {0, 25, 75, 100}, {50, 59, 76, 85}, {150, 126, 79, 55}, {200, 160, 80, 40}};
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) CHECK(grey_at(bil, y, x) == expected_bil[y][x]);

  // Downscaling 4x4 -> 2x2 by nearest picks the pixels whose area holds each output centre.
  const Image down = viz::resize_nearest(bil, 2, 2);
  CHECK(grey_at(down, 0, 0) == 59);
  CHECK(grey_at(down, 1, 1) == 40);
  // Channels are kept; an RGB image resizes each channel.
  const Image rgb = viz::resize_nearest(viz::blank(1, 1, Rgb{1, 2, 3}), 3, 2);
  CHECK(rgb.channels == 3);
  CHECK(viz::pixel(rgb, 2, 1) == Rgb{1, 2, 3});
  CHECK_THROWS_AS(viz::resize_bilinear(img, 0, 4), ember::Error);
}

TEST_CASE("tensor_to_image: CHW and HW, ranges, grey to RGB") {
  // [3, 1, 2]: channel-first, so pixel (0, 1) is (c0[1], c1[1], c2[1]).
  const auto chw = Tensor<float>::from_vector({0.f, 1.f, 0.5f, 0.25f, 2.f, -1.f}, {3, 1, 2});
  const Image img = viz::tensor_to_image(chw);
  REQUIRE(img.channels == 3);
  REQUIRE(img.height == 1);
  REQUIRE(img.width == 2);
  CHECK(viz::pixel(img, 0, 0) == Rgb{0, 128, 255});  // 0.5 * 255 = 127.5 -> 128; 2 clamps
  CHECK(viz::pixel(img, 0, 1) == Rgb{255, 64, 0});   // 0.25 * 255 = 63.75 -> 64; -1 clamps

  const auto hw = Tensor<double>::from_vector({-1.0, 0.0, 1.0, 0.5}, {2, 2});
  const Image grey = viz::tensor_to_image(hw, -1.0, 1.0);
  REQUIRE(grey.channels == 1);
  CHECK(grey_at(grey, 0, 0) == 0);
  CHECK(grey_at(grey, 0, 1) == 128);
  CHECK(grey_at(grey, 1, 0) == 255);
  CHECK(grey_at(grey, 1, 1) == 191);  // 0.75 * 255 = 191.25
  CHECK(viz::pixel(viz::to_rgb(grey), 1, 1) == Rgb{191, 191, 191});
  // A non-contiguous view is read in its logical order.
  const Image transposed = viz::tensor_to_image(hw.t(), -1.0, 1.0);
  CHECK(grey_at(transposed, 0, 1) == 255);
  CHECK(grey_at(transposed, 1, 0) == 128);
  CHECK(viz::tensor_to_image(Tensor<float>::zeros({1, 3, 4})).width == 4);

  CHECK_THROWS_AS(viz::tensor_to_image(Tensor<float>::zeros({2, 3, 4})), ember::Error);
  CHECK_THROWS_AS(viz::tensor_to_image(Tensor<float>::zeros({4})), ember::Error);
  CHECK_THROWS_AS(viz::tensor_to_image(hw, 1.0, 0.0), ember::Error);
}

TEST_CASE("heatmap and mask_to_rgb of tensors") {
  const auto values = Tensor<float>::from_vector({0.f, 1.f}, {1, 2});
  const Image heat = viz::heatmap(values, 0.0, 1.0);
  CHECK(viz::pixel(heat, 0, 0) == Rgb{68, 1, 84});
  CHECK(viz::pixel(heat, 0, 1) == Rgb{253, 231, 37});
  CHECK_THROWS_AS(viz::heatmap(Tensor<float>::zeros({2}), 0.0, 1.0), ember::Error);

  const auto labels = Tensor<int64_t>::from_vector({1, 255}, {2, 1});
  const Image mask = viz::mask_to_rgb(labels);
  CHECK(mask.height == 2);
  CHECK(viz::pixel(mask, 0, 0) == Rgb{128, 0, 0});
  CHECK(viz::pixel(mask, 1, 0) == Rgb{224, 224, 192});
}
