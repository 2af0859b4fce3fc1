// Crops, the scene compositor, the class sampler and the generated-data cache
// (include/ember/data/{crops,compositor,class_sampler,cache}.hpp). Every test but the last
// builds its backgrounds and items in memory; the last one uses the installed photo
// catalogue and Fashion-MNIST.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ember/data/cache.hpp>
#include <ember/data/class_sampler.hpp>
#include <ember/data/compositor.hpp>
#include <ember/data/crops.hpp>
#include <ember/data/fashion_mnist.hpp>
#include <ember/data/photos.hpp>
#include <ember/viz/tensor_image.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace ember;
using namespace ember::data;

namespace {

// A height x width image whose every byte is drawn uniformly: texture everywhere.
Image noise_image(int height, int width, int channels, uint64_t seed) {
  Generator gen(seed);
  Image img;
  img.height = height;
  img.width = width;
  img.channels = channels;
  img.pixels.resize(size_t(height) * size_t(width) * size_t(channels));
  for (uint8_t& p : img.pixels) p = uint8_t(gen.randint(0, 256));
  return img;
}

Image flat_image(int height, int width, int channels, uint8_t value) {
  Image img;
  img.height = height;
  img.width = width;
  img.channels = channels;
  img.pixels.assign(size_t(height) * size_t(width) * size_t(channels), value);
  return img;
}

// A 28x28 sprite: a solid square of side `side` (intensity 255) centred on black.
ItemSprite square_sprite(int64_t label, int side = 16) {
  ItemSprite s{flat_image(28, 28, 1, 0), label};
  const int off = (28 - side) / 2;
  for (int y = off; y < off + side; ++y)
    for (int x = off; x < off + side; ++x) s.intensity.pixels[size_t(y * 28 + x)] = 255;
  return s;
}

std::filesystem::path fresh_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("ember_test_scenes_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir;
}

// Binomial standard error of a frequency estimated from n draws.
double binomial_se(double p, double n) { return std::sqrt(p * (1.0 - p) / n); }

}  // namespace

// ---------------------------------------------------------------------- crops

TEST_CASE("random crops lie inside the image, copy its pixels and repeat per seed") {
  const Image img = noise_image(40, 30, 3, 1);
  Generator a(7), b(7), c(8);
  bool any_difference = false;
  for (int i = 0; i < 200; ++i) {
    const CropBox box = random_crop_box(img, 12, 9, a);
    CHECK(box == random_crop_box(img, 12, 9, b));
    any_difference = any_difference || !(box == random_crop_box(img, 12, 9, c));
    REQUIRE(box.top >= 0);
    REQUIRE(box.left >= 0);
    REQUIRE(box.top + 12 <= 40);
    REQUIRE(box.left + 9 <= 30);
  }
  CHECK(any_difference);

  const Image cut = crop(img, {5, 7, 4, 3});
  CHECK(cut.height == 4);
  CHECK(cut.width == 3);
  CHECK(cut.channels == 3);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 3; ++x)
      for (int k = 0; k < 3; ++k)
        CHECK(cut.pixels[size_t((y * 3 + x) * 3 + k)] ==
              img.pixels[size_t(((5 + y) * 30 + 7 + x) * 3 + k)]);

  // Every position is reachable: a 2x2 crop of a 3x3 image takes all four corners.
  Generator g(3);
  std::set<std::pair<int, int>> seen;
  for (int i = 0; i < 200; ++i) {
    const CropBox box = random_crop_box(noise_image(3, 3, 1, 2), 2, 2, g);
    seen.insert({box.top, box.left});
  }
  CHECK(seen.size() == 4);

  CHECK_THROWS_AS(random_crop(img, 41, 5, a), ember::Error);
  CHECK_THROWS_AS(random_crop(img, 0, 5, a), ember::Error);
  CHECK_THROWS_AS(crop(img, {30, 0, 11, 3}), ember::Error);
}

TEST_CASE("five crops are the four corners and the centre, in FiveCrop order") {
  const Image img = noise_image(10, 8, 1, 3);
  const std::array<CropBox, 5> boxes = five_crop_boxes(img, 4, 3);
  CHECK(boxes[0] == CropBox{0, 0, 4, 3});
  CHECK(boxes[1] == CropBox{0, 5, 4, 3});
  CHECK(boxes[2] == CropBox{6, 0, 4, 3});
  CHECK(boxes[3] == CropBox{6, 5, 4, 3});
  CHECK(boxes[4] == CropBox{3, 2, 4, 3});  // margins 6 and 5: centre offsets 3 and 2 (floor)
  const std::array<Image, 5> crops = five_crops(img, 4, 3);
  CHECK(crops[3].pixels == crop(img, boxes[3]).pixels);
  CHECK_THROWS_AS(five_crops(img, 11, 3), ember::Error);
}

TEST_CASE("is_flat rejects crops whose every channel has a small standard deviation") {
  CHECK(is_flat(flat_image(8, 8, 3, 120)));
  CHECK_FALSE(is_flat(noise_image(8, 8, 3, 4)));

  // Half the pixels 0, half 255: std exactly 0.5 in [0, 1] units.
  Image half = flat_image(4, 4, 1, 0);
  for (size_t i = 0; i < 8; ++i) half.pixels[i] = 255;
  CHECK(channel_std(half)[0] == doctest::Approx(0.5).epsilon(1e-12));
  CHECK(is_flat(half, 0.51));
  CHECK_FALSE(is_flat(half, 0.49));

  // Texture in one channel only (red varies, green and blue constant) is texture.
  Image red = flat_image(4, 4, 3, 50);
  for (size_t i = 0; i < 16; i += 2) red.pixels[i * 3] = 250;
  const std::vector<double> s = channel_std(red);
  CHECK(s[0] > 0.3);
  CHECK(s[1] == 0.0);
  CHECK_FALSE(is_flat(red));

  // A faint ramp: 0..15 over 16 pixels is std 4.61 / 255 = 0.018, below the 0.05 default.
  Image ramp = flat_image(1, 16, 1, 0);
  for (int i = 0; i < 16; ++i) ramp.pixels[size_t(i)] = uint8_t(i);
  CHECK(is_flat(ramp));
  CHECK_FALSE(is_flat(ramp, 0.01));
  CHECK_THROWS_AS(is_flat(ramp, -1.0), ember::Error);
}

TEST_CASE("random_textured_crop skips flat regions and fails clearly when all are flat") {
  // Left half flat grey, right half noise: crops wholly in the left half are flat, so some of
  // the random positions are rejected and every returned crop must reach into the noise.
  Image img = flat_image(20, 40, 3, 128);
  const Image noise = noise_image(20, 40, 3, 5);
  for (int y = 0; y < 20; ++y)
    for (int x = 20; x < 40; ++x)
      for (int k = 0; k < 3; ++k)
        img.pixels[size_t((y * 40 + x) * 3 + k)] = noise.pixels[size_t((y * 40 + x) * 3 + k)];
  Generator gen(11);
  for (int i = 0; i < 50; ++i) CHECK_FALSE(is_flat(random_textured_crop(img, 10, 10, gen)));

  Generator g2(1);
  try {
    random_textured_crop(flat_image(20, 20, 3, 9), 8, 8, g2, kFlatStdThreshold, 7);
    FAIL("expected an ember::Error");
  } catch (const ember::Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find("random_textured_crop") != std::string::npos);
    CHECK(msg.find("all 7") != std::string::npos);
  }
}

TEST_CASE("to_rgb replicates grey and drops alpha") {
  Image grey = flat_image(2, 2, 1, 0);
  grey.pixels = {1, 2, 3, 4};
  const Image rgb = to_rgb(grey);
  CHECK(rgb.channels == 3);
  CHECK(rgb.pixels == std::vector<uint8_t>{1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4});
  Image rgba = flat_image(1, 2, 4, 0);
  rgba.pixels = {10, 20, 30, 40, 50, 60, 70, 80};
  CHECK(to_rgb(rgba).pixels == std::vector<uint8_t>{10, 20, 30, 50, 60, 70});
  Image ga = flat_image(1, 1, 2, 0);
  ga.pixels = {9, 200};
  CHECK(to_rgb(ga).pixels == std::vector<uint8_t>{9, 9, 9});
}

TEST_CASE("resize_bilinear matches PyTorch's half-pixel bilinear interpolation") {
  // torch.nn.functional.interpolate(x.reshape(1,1,2,3), size=(3,5), mode="bilinear",
  // align_corners=False) with x = [[10,200,30],[90,0,255]] (torch 1.13):
  const float in[6] = {10, 200, 30, 90, 0, 255};
  const float want[15] = {10, 86, 200, 98, 30, 50, 70, 100, 125.5f, 142.5f, 90, 54, 0, 153, 255};
  const std::vector<float> got = ember::data::detail::resize_bilinear_hwc(in, 2, 3, 1, 3, 5);
  for (int i = 0; i < 15; ++i) CHECK(got[size_t(i)] == doctest::Approx(want[i]).epsilon(1e-5));

  // On bytes: [0, 255] to 4 columns samples 0, 0.25, 0.75, 1 -> 0, 63.75, 191.25, 255.
  Image two = flat_image(1, 2, 1, 0);
  two.pixels = {0, 255};
  CHECK(resize_bilinear(two, 1, 4).pixels == std::vector<uint8_t>{0, 64, 191, 255});
  // The same size is the identity; channels are resized independently.
  const Image img = noise_image(5, 7, 3, 6);
  CHECK(resize_bilinear(img, 5, 7).pixels == img.pixels);
  CHECK(resize_bilinear(img, 9, 2).channels == 3);
  CHECK_THROWS_AS(resize_bilinear(img, 0, 2), ember::Error);
}

TEST_CASE("image_to_tensor converts HWC bytes to CHW [0, 1], and viz::tensor_to_image back") {
  const Image img = noise_image(3, 4, 3, 8);
  const Tensor<float> t = image_to_tensor(img);
  REQUIRE(t.shape() == Shape{3, 3, 4});
  // Channel 2 of pixel (row 1, column 3).
  CHECK(t.data_ptr()[(2 * 3 + 1) * 4 + 3] ==
        float(img.pixels[size_t((1 * 4 + 3) * 3 + 2)]) / 255.0f);
  CHECK(ember::viz::tensor_to_image(t).pixels == img.pixels);

  const Tensor<float> batch = images_to_tensor({img, noise_image(3, 4, 3, 9)});
  CHECK(batch.shape() == Shape{2, 3, 3, 4});
  CHECK(batch.data_ptr()[5] == t.data_ptr()[5]);
  CHECK_THROWS_AS(images_to_tensor({img, noise_image(4, 4, 3, 9)}), ember::Error);
}

// ---------------------------------------------------------------------- class sampler

TEST_CASE("long-tailed sampler follows the exponential profile of long-tailed CIFAR") {
  // [int(5000 * (0.01 ** (j / 9.0))) for j in range(10)] (Python; imbalance 100):
  const std::vector<int64_t> want = {5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50};
  CHECK(long_tailed_counts(10, 5000, 100.0) == want);

  const ClassSampler s = ClassSampler::long_tailed(10, 100.0);
  const std::vector<double>& p = s.probabilities();
  CHECK(p[0] / p[9] == doctest::Approx(100.0).epsilon(1e-12));
  for (size_t j = 1; j < 10; ++j)
    CHECK(p[j] / p[j - 1] == doctest::Approx(std::pow(0.01, 1.0 / 9.0)).epsilon(1e-12));

  Generator gen(21);
  const int n = 200000;
  std::vector<int> counts(10, 0);
  for (int i = 0; i < n; ++i) ++counts[size_t(s.sample(gen))];
  for (size_t j = 0; j < 10; ++j)
    CHECK(std::abs(counts[j] / double(n) - p[j]) < 5 * binomial_se(p[j], n));

  // A zero-weight class is never drawn.
  const ClassSampler z({1.0, 0.0, 1.0, 0.0});
  for (int i = 0; i < 2000; ++i) CHECK(z.sample(gen) % 2 == 0);
  CHECK_THROWS_AS(ClassSampler::long_tailed(10, 0.5), ember::Error);
  CHECK_THROWS_AS(ClassSampler({0.0, 0.0}), ember::Error);
}

// ---------------------------------------------------------------------- compose_scene

TEST_CASE("compose_scene: masks match boxes and the class mask is the union of item masks") {
  SceneOptions opt;
  opt.size = {8, 14};
  opt.min_gap = 2;
  std::vector<ItemSprite> items = {square_sprite(3), square_sprite(0, 20), square_sprite(9, 10)};
  for (uint64_t seed = 0; seed < 40; ++seed) {
    Generator gen(seed);
    const Image bg = noise_image(40, 44, 3, seed + 100);
    const Scene s = compose_scene(bg, items, opt, gen);
    REQUIRE(s.items.size() == 3);
    REQUIRE(s.class_mask.size() == size_t(40 * 44));
    for (size_t i = 0; i < 3; ++i) {
      const PlacedItem& p = s.items[i];
      CHECK(p.label == items[i].label);
      CHECK(p.size >= 8);
      CHECK(p.size <= 14);
      CHECK(p.scale == doctest::Approx(p.size / 28.0));
      const auto box = metrics::box_from_mask(p.mask, 40, 44);
      REQUIRE(box.has_value());
      CHECK(*box == p.box);
      // The box lies inside the sprite's square.
      CHECK(p.box.x0 >= p.left);
      CHECK(p.box.y0 >= p.top);
      CHECK(p.box.x1 <= p.left + p.size);
      CHECK(p.box.y1 <= p.top + p.size);
      for (size_t j = 0; j < i; ++j) CHECK(box_gap(p.box, s.items[j].box) >= 2);
    }
    for (size_t k = 0; k < s.class_mask.size(); ++k) {
      int64_t want = 0;
      for (const PlacedItem& p : s.items)
        if (p.mask[k]) want = p.label + 1;
      CHECK(s.class_mask[k] == want);
    }
  }
}

TEST_CASE("compose_scene blends tint and background with the item's intensity as alpha") {
  // A sprite with a hard 255 core and a ring of intensity 51 (alpha 0.2) around it, pasted at
  // its own size (scale 1), so the resize is the identity.
  ItemSprite sprite{flat_image(28, 28, 1, 0), 2};
  for (int y = 8; y < 20; ++y)
    for (int x = 8; x < 20; ++x) sprite.intensity.pixels[size_t(y * 28 + x)] = 51;
  for (int y = 10; y < 18; ++y)
    for (int x = 10; x < 18; ++x) sprite.intensity.pixels[size_t(y * 28 + x)] = 255;

  SceneOptions opt;
  opt.size = {28, 28};
  opt.tint_mode = TintMode::PerClass;
  opt.class_tints = {{0, 0, 0}, {0, 0, 0}, {200, 40, 10}};
  opt.mask_alpha = 0.3;    // the ring (0.2) is outside the mask...
  opt.ignore_alpha = 0.1;  // ...but inside the ignore band
  opt.ignore_label = 255;
  const Image bg = flat_image(28, 28, 3, 100);
  Generator gen(1);
  const Scene s = compose_scene(bg, {sprite}, opt, gen);
  const PlacedItem& p = s.items[0];
  CHECK(p.top == 0);
  CHECK(p.left == 0);
  CHECK(p.tint == Rgb{200, 40, 10});
  CHECK(p.box == Box{10, 10, 18, 18});
  auto px = [&](int y, int x, int k) { return int(s.image.pixels[size_t((y * 28 + x) * 3 + k)]); };
  CHECK(px(12, 12, 0) == 200);  // alpha 1: the tint
  CHECK(px(12, 12, 1) == 40);
  CHECK(px(0, 0, 0) == 100);  // alpha 0: the background
  CHECK(px(9, 9, 0) == 120);  // alpha 0.2: 0.2 * 200 + 0.8 * 100
  CHECK(px(9, 9, 1) == 88);   // 0.2 * 40 + 0.8 * 100
  CHECK(s.class_mask[size_t(12 * 28 + 12)] == 3);
  CHECK(s.class_mask[size_t(9 * 28 + 9)] == 255);
  CHECK(s.class_mask[0] == 0);
}

TEST_CASE("compose_scene: per-item tints reach the asked contrast; seeds repeat scenes") {
  SceneOptions opt;
  opt.size = {10, 12};
  opt.min_contrast = 0.45;
  opt.max_tint_tries = 3;  // few draws reach 0.45: the fallback mixes in black or white
  const Image bg = flat_image(32, 32, 3, 128);  // luminance 0.502: reachable up to 0.5
  for (uint64_t seed = 0; seed < 30; ++seed) {
    Generator gen(seed);
    const Scene s = compose_scene(bg, {square_sprite(1), square_sprite(4)}, opt, gen);
    for (const PlacedItem& p : s.items)
      CHECK(std::abs(ember::data::detail::luminance(p.tint[0], p.tint[1], p.tint[2]) -
                     128.0 / 255.0) >= 0.45);
  }
  Generator a(5), b(5);
  const Scene sa = compose_scene(noise_image(32, 32, 3, 1), {square_sprite(1)}, opt, a);
  const Scene sb = compose_scene(noise_image(32, 32, 3, 1), {square_sprite(1)}, opt, b);
  CHECK(sa.image.pixels == sb.image.pixels);
  CHECK(sa.items[0].tint == sb.items[0].tint);
}

TEST_CASE("compose_scene refuses impossible placements and bad options") {
  SceneOptions opt;
  opt.size = {14, 14};
  opt.min_gap = 4;
  opt.max_placement_tries = 50;
  opt.max_layout_tries = 3;
  Generator gen(2);
  // Four 10-px boxes 4 px apart need at least 24 px per side; the canvas has 16.
  try {
    compose_scene(
        flat_image(16, 16, 3, 0),
        {square_sprite(0, 20), square_sprite(1, 20), square_sprite(2, 20), square_sprite(3, 20)},
        opt, gen);
    FAIL("expected an ember::Error");
  } catch (const ember::Error& e) {
    CHECK(std::string(e.what()).find("cannot lay out 4 items") != std::string::npos);
  }
  opt.allow_overlap = true;  // overlap allowed: the same items fit
  CHECK(compose_scene(flat_image(16, 16, 3, 0),
                      {square_sprite(0, 20), square_sprite(1, 20), square_sprite(2, 20)}, opt, gen)
            .items.size() == 3);

  SceneOptions bad;
  bad.size = {30, 20};
  CHECK_THROWS_AS(compose_scene(flat_image(40, 40, 3, 0), {square_sprite(0)}, bad, gen),
                  ember::Error);
  SceneOptions big;
  big.size = {50, 60};
  CHECK_THROWS_AS(compose_scene(flat_image(40, 40, 3, 0), {square_sprite(0)}, big, gen),
                  ember::Error);
  SceneOptions tints;
  tints.tint_mode = TintMode::PerClass;
  tints.class_tints = {{1, 2, 3}};
  CHECK_THROWS_AS(compose_scene(flat_image(40, 40, 3, 0), {square_sprite(4)}, tints, gen),
                  ember::Error);
  CHECK_THROWS_AS(
      compose_scene(flat_image(40, 40, 3, 0), {{flat_image(28, 28, 1, 0), 0}}, SceneOptions{}, gen),
      ember::Error);  // a blank sprite has no mask
}

// ---------------------------------------------------------------------- SceneCompositor

namespace {

// Ten background groups of two noise photos each, and two square sprites of every class.
SceneCompositor make_compositor(ClassSampler sampler, CompositorOptions opt, int classes = 10) {
  std::vector<ItemSprite> pool;
  for (int k = 0; k < classes; ++k) {
    pool.push_back(square_sprite(k, 12));
    pool.push_back(square_sprite(k, 18));
  }
  std::vector<std::vector<Image>> groups(10);
  for (size_t g = 0; g < 10; ++g)
    for (uint64_t i = 0; i < 2; ++i) groups[g].push_back(noise_image(40, 40, 3, g * 10 + i));
  return SceneCompositor(std::move(pool), std::move(groups), std::move(sampler), std::move(opt));
}

CompositorOptions small_canvas() {
  CompositorOptions o;
  o.height = o.width = 24;
  o.scene.size = {8, 12};
  return o;
}

}  // namespace

TEST_CASE("SceneCompositor: items per scene, long-tailed classes, minimum gap") {
  CompositorOptions o = small_canvas();
  o.height = o.width = 40;
  o.min_items = 2;
  o.max_items = 4;
  o.scene.min_gap = 1;
  const SceneCompositor comp = make_compositor(ClassSampler::long_tailed(10, 20.0), o);
  Generator gen(4);
  const std::vector<Scene> scenes = comp.generate(1500, gen);
  std::vector<int> counts(10, 0), sizes(5, 0);
  int total = 0;
  for (const Scene& s : scenes) {
    REQUIRE(s.items.size() >= 2);
    REQUIRE(s.items.size() <= 4);
    ++sizes[s.items.size()];
    for (size_t i = 0; i < s.items.size(); ++i) {
      ++counts[size_t(s.items[i].label)], ++total;
      for (size_t j = 0; j < i; ++j) CHECK(box_gap(s.items[i].box, s.items[j].box) >= 1);
    }
  }
  CHECK(sizes[2] > 0);
  CHECK(sizes[3] > 0);
  CHECK(sizes[4] > 0);
  const std::vector<double> p = ClassSampler::long_tailed(10, 20.0).probabilities();
  for (size_t j = 0; j < 10; ++j)
    CHECK(std::abs(counts[j] / double(total) - p[j]) < 5 * binomial_se(p[j], total));

  const StateDict t = scenes_to_tensors(scenes);
  REQUIRE(t.size() == 5);
  const Tensor<int64_t> labels(t[2].second.impl), boxes(t[3].second.impl);
  CHECK(Tensor<float>(t[0].second.impl).shape() == Shape{1500, 3, 40, 40});
  CHECK(Tensor<int64_t>(t[1].second.impl).shape() == Shape{1500, 40, 40});
  CHECK(labels.shape() == Shape{1500, 4});
  CHECK(boxes.shape() == Shape{1500, 4, 4});
  for (int64_t i = 0; i < 20; ++i) {
    const Scene& s = scenes[size_t(i)];
    for (size_t j = 0; j < 4; ++j) {
      const int64_t* b = boxes.data_ptr() + (i * 4 + int64_t(j)) * 4;
      if (j < s.items.size()) {
        CHECK(labels.data_ptr()[i * 4 + int64_t(j)] == s.items[j].label);
        CHECK(b[2] == s.items[j].box.x1);
      } else {
        CHECK(labels.data_ptr()[i * 4 + int64_t(j)] == -1);
        CHECK(b[0] == -1);
      }
    }
  }
}

TEST_CASE("SceneCompositor: correlated backgrounds hold with probability p; swapped reverses") {
  CompositorOptions o = small_canvas();
  o.context.mode = ContextMode::Correlated;
  o.context.p = 0.8;
  const SceneCompositor comp = make_compositor(ClassSampler::uniform(10), o);
  Generator gen(9);
  const int n = 4000;
  int own = 0;
  std::vector<int> other_groups(10, 0);
  for (int i = 0; i < n; ++i) {
    const Scene s = comp.next(gen);
    const int64_t y = s.items[0].label;
    if (s.background_group == y)
      ++own;
    else
      ++other_groups[size_t((s.background_group - y + 10) % 10)];
  }
  CHECK(std::abs(own / double(n) - 0.8) < 5 * binomial_se(0.8, n));
  // The other 20% spread evenly over the 9 other groups (offsets 1..9).
  CHECK(other_groups[0] == 0);
  for (size_t d = 1; d < 10; ++d)
    CHECK(std::abs(other_groups[d] / double(n) - 0.2 / 9) < 5 * binomial_se(0.2 / 9, n));

  // Swapped, with a random derangement: every scene sits on the group of swap[y], never its own.
  Generator perm_gen(3);
  CompositorOptions sw = small_canvas();
  sw.context.mode = ContextMode::Swapped;
  sw.context.swap = random_derangement(10, perm_gen);
  for (int64_t y = 0; y < 10; ++y) CHECK(sw.context.swap[size_t(y)] != y);
  const SceneCompositor swapped = make_compositor(ClassSampler::uniform(10), sw);
  for (int i = 0; i < 500; ++i) {
    const Scene s = swapped.next(gen);
    const int64_t y = s.items[0].label;
    CHECK(s.background_group == sw.context.swap[size_t(y)]);
    CHECK(s.background_group != y);
  }

  // The default swap is y -> y + 1 mod K; a permutation with a fixed point is refused.
  CompositorOptions shift = small_canvas();
  shift.context.mode = ContextMode::Swapped;
  const SceneCompositor shifted = make_compositor(ClassSampler::uniform(10), shift);
  const Scene s = shifted.next(gen);
  CHECK(s.background_group == (s.items[0].label + 1) % 10);
  shift.context.swap = {1, 0, 2, 4, 3, 6, 5, 8, 7, 9};  // 2 and 9 stay put
  CHECK_THROWS_AS(make_compositor(ClassSampler::uniform(10), shift), ember::Error);
  CompositorOptions bad_p = small_canvas();
  bad_p.context.mode = ContextMode::Correlated;
  bad_p.context.p = 1.5;
  CHECK_THROWS_AS(make_compositor(ClassSampler::uniform(10), bad_p), ember::Error);
}

TEST_CASE("SceneCompositor checks its pool and photos") {
  CompositorOptions o = small_canvas();
  // Class 10 can be drawn but has no item.
  CHECK_THROWS_AS(make_compositor(ClassSampler::uniform(11), o), ember::Error);
  // A canvas larger than the 40x40 photos.
  o.height = 41;
  CHECK_THROWS_AS(make_compositor(ClassSampler::uniform(10), o), ember::Error);
  // Same seed, same scenes.
  const SceneCompositor comp = make_compositor(ClassSampler::uniform(10), small_canvas());
  Generator a(12), b(12);
  CHECK(comp.next(a).image.pixels == comp.next(b).image.pixels);
}

// ---------------------------------------------------------------------- cache

TEST_CASE("fnv1a64 and the canonical parameter string are stable") {
  // Reference vectors of FNV-1a 64 (the empty string is the offset basis).
  CHECK(fnv1a64("") == 0xcbf29ce484222325ull);
  CHECK(fnv1a64("a") == 0xaf63dc4c8601ec8cull);
  CHECK(fnv1a64("foobar") == 0x85944171f73967e8ull);
  CHECK(fnv1a64("bar", fnv1a64("foo")) == fnv1a64("foobar"));
  CHECK(hex64(0xabcull) == "0000000000000abc");

  const CacheParams a =
      CacheParams().set("seed", 3).set("p", 0.1).set("mode", "swapped").set("quick", false);
  const CacheParams b =
      CacheParams().set("quick", false).set("mode", "swapped").set("p", 0.1).set("seed", 3);
  CHECK(a.canonical() == "mode=swapped\np=0.1\nquick=false\nseed=3\n");
  CHECK(a.canonical() == b.canonical());
  CHECK_THROWS_AS(CacheParams().set("a b", 1), ember::Error);
  CHECK_THROWS_AS(CacheParams().set("k", "two\nlines"), ember::Error);
}

TEST_CASE("DataCache generates once, regenerates on a changed parameter or a corrupted file") {
  const auto dir = fresh_dir("cache");
  DataCache cache(dir);
  std::ostringstream log;
  cache.set_log(&log);
  int calls = 0;
  auto generate = [&] {
    ++calls;
    return StateDict{
        {"x", Tensor<float>::from_vector({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, {3, 4})},
        {"y", Tensor<int64_t>::from_vector({7, 8, 9})}};
  };
  const CacheParams params = CacheParams().set("n", 3).set("seed", 1);

  const StateDict first = cache.cached("toy", params, generate);
  CHECK(calls == 1);
  CHECK(cache.last_outcome() == DataCache::Outcome::Generated);
  const auto path = cache.path_for("toy", params);
  CHECK(std::filesystem::exists(path));
  CHECK(path.filename().string() == "toy-" + hex64(fnv1a64("toy\nn=3\nseed=1\n")) + ".safetensors");

  const StateDict second = cache.cached("toy", params, generate);
  CHECK(calls == 1);  // read from the file: the generator is not called
  CHECK(cache.last_outcome() == DataCache::Outcome::Hit);
  REQUIRE(second.size() == 2);
  CHECK(second[0].first == "x");
  CHECK(Tensor<float>(second[0].second.impl).to_vector() ==
        Tensor<float>(first[0].second.impl).to_vector());
  CHECK(Tensor<int64_t>(second[1].second.impl).to_vector() == std::vector<int64_t>{7, 8, 9});
  // Typed lookup by name: the dtype and the name are checked.
  CHECK(cached_tensor<int64_t>(second, "y").to_vector() == std::vector<int64_t>{7, 8, 9});
  CHECK(cached_tensor<float>(second, "x").shape() == Shape{3, 4});
  CHECK_THROWS_WITH_AS(cached_tensor<double>(second, "x"), doctest::Contains("holds float32"), Error);
  CHECK_THROWS_WITH_AS(cached_tensor<float>(second, "z"), doctest::Contains("no tensor named 'z'"), Error);

  // A changed parameter is another data set: generated, in its own file.
  const CacheParams changed = CacheParams().set("n", 3).set("seed", 2);
  cache.cached("toy", changed, generate);
  CHECK(calls == 2);
  CHECK(cache.path_for("toy", changed) != path);
  cache.cached("toy", changed, generate);
  CHECK(calls == 2);

  // A flipped byte in the data section: the checksum catches it and the data are regenerated.
  const auto size = std::filesystem::file_size(path);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(std::streamoff(size - 3));
    f.put('\x5a');
  }
  const StateDict repaired = cache.cached("toy", params, generate);
  CHECK(calls == 3);
  CHECK(cache.last_outcome() == DataCache::Outcome::Regenerated);
  CHECK(log.str().find("checksum") != std::string::npos);
  CHECK(Tensor<int64_t>(repaired[1].second.impl).to_vector() == std::vector<int64_t>{7, 8, 9});
  cache.cached("toy", params, generate);
  CHECK(calls == 3);  // the rewritten file is valid again

  // A truncated file (what a non-atomic writer would leave) is regenerated too.
  std::filesystem::resize_file(path, size / 2);
  cache.cached("toy", params, generate);
  CHECK(calls == 4);
  CHECK(cache.last_outcome() == DataCache::Outcome::Regenerated);

  // A file holding another parameter set under this name (a hash collision) is not trusted.
  std::filesystem::copy_file(cache.path_for("toy", changed), path,
                             std::filesystem::copy_options::overwrite_existing);
  cache.cached("toy", params, generate);
  CHECK(calls == 5);
  CHECK(log.str().find("generated with parameters") != std::string::npos);

  // A generator that throws writes nothing; no temporary file is left behind.
  const CacheParams third = CacheParams().set("n", 4);
  CHECK_THROWS_AS(
      cache.cached("toy", third, []() -> StateDict { throw ember::Error("generator failed"); }),
      ember::Error);
  CHECK_FALSE(std::filesystem::exists(cache.path_for("toy", third)));
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    CHECK(entry.path().extension() == ".safetensors");
  CHECK_THROWS_AS(cache.path_for("../escape", params), ember::Error);
  std::filesystem::remove_all(dir);
}

TEST_CASE("default_cache_dir: EMBER_CACHE, else <output>/cache") {
  const char* old = std::getenv("EMBER_CACHE");
  const std::string saved = old ? old : "";
  ::unsetenv("EMBER_CACHE");
  CHECK(default_cache_dir("out/mdm") == std::filesystem::path("out/mdm/cache"));
  ::setenv("EMBER_CACHE", "/tmp/shared-cache", 1);
  CHECK(default_cache_dir("out/mdm") == std::filesystem::path("/tmp/shared-cache"));
  ::setenv("EMBER_CACHE", "", 1);
  CHECK(default_cache_dir("out/mdm") == std::filesystem::path("out/mdm/cache"));
  if (old)
    ::setenv("EMBER_CACHE", saved.c_str(), 1);
  else
    ::unsetenv("EMBER_CACHE");
}

// ---------------------------------------------------------------------- real data

TEST_CASE("real data: Fashion-MNIST items on installed photos (needs tools/setup.sh)") {
  // Fails, with the setup message, when the data are missing: CI runs it after setup.
  const std::vector<PhotoEntry> catalogue = photo_catalogue();
  REQUIRE(catalogue.size() >= 3);
  const FashionMnist fm = load_fashion_mnist(kFashionMnistDefaultDir, 500, 0);
  std::vector<std::vector<Image>> groups;
  std::set<std::string> used_groups;
  for (const PhotoEntry& e : catalogue) {
    if (groups.size() == 3) break;
    if (e.width < 96 || e.height < 96 || !used_groups.insert(e.group).second) continue;
    groups.push_back({load_photo(e)});
  }
  REQUIRE(groups.size() == 3);
  CompositorOptions o;
  o.max_items = 2;
  o.scene.min_contrast = 0.25;
  const SceneCompositor comp(item_sprites(fm.train.inputs(), fm.train.targets()), std::move(groups),
                             ClassSampler::uniform(10), o);
  Generator gen(2024);
  for (const Scene& s : comp.generate(20, gen)) {
    CHECK(s.image.height == 48);
    for (const PlacedItem& p : s.items) {
      CHECK(p.box.area() > 0);
      CHECK(metrics::box_from_mask(p.mask, 48, 48) == std::optional<Box>(p.box));
    }
  }
}
