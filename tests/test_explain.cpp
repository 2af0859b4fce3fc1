// ember::explain: each explainer on models whose right answer is known in closed form — the
// gradient of a linear model, CAM = ReLU-free Grad-CAM times h·w on a GAP + linear head, RISE
// and MDM finding the only region a model reads, batching that does not couple images, the
// deletion / insertion curves' end points — and the errors for bad input.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <ember/ember.hpp>
#include <ember/explain.hpp>
#include <ember/metrics/attribution.hpp>
#include <vector>

using namespace ember;

namespace {

Tensor<float> random_images(int64_t n, int64_t c, int64_t h, int64_t w, uint64_t seed) {
  Generator gen(seed);
  return Tensor<float>::rand({n, c, h, w}, gen);
}

// Logits [N, K] = flatten(x) W^T: a linear model with a known input gradient.
struct LinearModel {
  Tensor<float> weight;  // [K, C*H*W]
  Tensor<float> operator()(const Tensor<float>& x) const {
    return matmul(x.reshape({x.size(0), -1}), weight.t());
  }
};

// Two classes; class 1's logit is gain * sum over the box rows [y0, y1) x cols [x0, x1) of
// (x - 0.5) * pattern, class 0's is 0: only the box matters to the model.
struct BoxModel {
  int64_t y0, y1, x0, x1;
  Tensor<float> pattern;  // [C, H, W] of +-1
  float gain = 4.0f;
  float class0 = 0.0f;  // class 0's constant logit
  Tensor<float> operator()(const Tensor<float>& x) const {
    const Tensor<float> inside =
        mul(add(x, -0.5f), pattern.unsqueeze(0)).slice(2, y0, y1).slice(3, x0, x1);
    const Tensor<float> s = mul(sum(inside, {1, 2, 3}, true).reshape({x.size(0), 1}), gain);
    return cat(std::vector<Tensor<float>>{add(mul(s, 0.0f), class0), s}, 1);
  }
};

Tensor<float> sign_pattern(int64_t c, int64_t h, int64_t w, uint64_t seed) {
  Generator gen(seed);
  Tensor<float> p = Tensor<float>::empty({c, h, w});
  for (int64_t i = 0; i < p.numel(); ++i) p.data_ptr()[i] = gen.uniform() < 0.5 ? -1.0f : 1.0f;
  return p;
}

// The share of a map's (non-negative) mass inside the box.
double box_share(const Tensor<float>& map, const BoxModel& m) {
  const Tensor<float> v = clamp_min(map, 0.0f);
  return double(sum(v.slice(0, m.y0, m.y1).slice(1, m.x0, m.x1)).item()) / double(sum(v).item());
}

}  // namespace

TEST_CASE("explain: target_scores picks each row's class and checks its input") {
  const Tensor<float> logits = Tensor<float>::from_vector({1, 2, 3, 4, 5, 6}, {3, 2});
  CHECK(explain::target_scores(logits, {1, 0, 1}).to_vector() == std::vector<float>{2, 3, 6});
  // Cycling: 2 images' targets over 4 rows (2 masks per image, in blocks of images).
  const Tensor<float> four = Tensor<float>::from_vector({1, 2, 3, 4, 5, 6, 7, 8}, {4, 2});
  CHECK(explain::target_scores(four, {0, 1}, true).to_vector() == std::vector<float>{1, 4, 5, 8});
  CHECK_THROWS_AS(explain::target_scores(logits, {0, 1}), Error);
  const explain::Forward f = [](const Tensor<float>& x) {
    return Tensor<float>::zeros({x.size(0), 3});
  };
  CHECK_THROWS_WITH_AS(explain::vanilla_gradient(f, random_images(2, 1, 4, 4, 0), {0, 3}),
                       doctest::Contains("target 3"), Error);
  CHECK_THROWS_WITH_AS(explain::vanilla_gradient(f, random_images(2, 1, 4, 4, 0), {0}),
                       doctest::Contains("1 targets for 2 images"), Error);
  CHECK_THROWS_WITH_AS(explain::mdm(f, Tensor<float>::zeros({4, 4}), {0}),
                       doctest::Contains("expected images [N, C, H, W]"), Error);
}

TEST_CASE("explain: vanilla gradient of a linear model is max over channels of |W_c|") {
  Generator gen(1);
  const int64_t c = 2, h = 3, w = 4, k = 3;
  LinearModel model{Tensor<float>::randn({k, c * h * w}, gen)};
  model.weight.requires_grad_(true);  // a model's parameters: the explainer must not touch .grad
  const Tensor<float> x = random_images(2, c, h, w, 2);
  const Tensor<float> s = explain::vanilla_gradient(model, x, {2, 0});
  REQUIRE(s.shape() == Shape{2, h, w});
  CHECK_FALSE(model.weight.grad().defined());
  const std::vector<float> wv = model.weight.detach().to_vector(), sv = s.to_vector();
  const int64_t targets[2] = {2, 0};
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t p = 0; p < h * w; ++p) {
      const float a = std::abs(wv[size_t(targets[i] * c * h * w + p)]);
      const float b = std::abs(wv[size_t(targets[i] * c * h * w + h * w + p)]);
      CHECK(sv[size_t(i * h * w + p)] == doctest::Approx(std::max(a, b)).epsilon(1e-6));
    }
}

TEST_CASE("explain: on a GAP + linear head, Grad-CAM = ReLU(CAM) / (h w), and CAM is W_c . A") {
  Generator gen(3);
  const int64_t n = 2, k = 5, h = 4, w = 4, classes = 3;
  const Tensor<float> a = Tensor<float>::randn({n, k, h, w}, gen);
  const Tensor<float> weight = Tensor<float>::randn({classes, k}, gen);
  const explain::Forward features = [](const Tensor<float>& x) { return x; };
  const explain::Forward head = [&](const Tensor<float>& f) {
    return matmul(mean(f, {2, 3}), weight.t());
  };
  const std::vector<int64_t> targets = {1, 2};
  const Tensor<float> cam = explain::cam(a, weight, targets, h, w);
  const Tensor<float> gc = explain::grad_cam(features, head, a, targets);
  REQUIRE(cam.shape() == Shape{n, h, w});
  const std::vector<float> cv = cam.to_vector(), gv = gc.to_vector(), av = a.to_vector(),
                           wv = weight.to_vector();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t p = 0; p < h * w; ++p) {
      double want = 0;
      for (int64_t j = 0; j < k; ++j)
        want +=
            double(wv[size_t(targets[size_t(i)] * k + j)]) * av[size_t((i * k + j) * h * w + p)];
      CHECK(cv[size_t(i * h * w + p)] == doctest::Approx(want).epsilon(1e-5));
      CHECK(gv[size_t(i * h * w + p)] ==
            doctest::Approx(std::max(0.0, want) / double(h * w)).epsilon(1e-5));
    }
  // Upsampling to the input's size keeps a constant map constant.
  const Tensor<float> big =
      explain::cam(Tensor<float>::ones({1, 1, 2, 2}), Tensor<float>::ones({1, 1}), {0}, 8, 8);
  CHECK(big.shape() == Shape{1, 8, 8});
  CHECK(double(amin(big).item()) == doctest::Approx(1.0));
  CHECK(double(amax(big).item()) == doctest::Approx(1.0));
  CHECK_THROWS_WITH_AS(explain::cam(a, weight, {1, 3}, h, w), doctest::Contains("target 3"), Error);
}

TEST_CASE("explain: RISE masks keep about p of the image and RISE finds the box a model reads") {
  explain::RiseOptions o;
  o.masks = 400;
  o.seed = 5;
  const Tensor<float> masks = explain::rise_masks(24, 24, o);
  REQUIRE(masks.shape() == Shape{400, 1, 24, 24});
  CHECK(double(amin(masks).item()) >= 0.0);
  CHECK(double(amax(masks).item()) <= 1.0);
  CHECK(double(mean(masks).item()) == doctest::Approx(0.5).epsilon(0.1));
  // Same seed, same masks; another seed, others.
  CHECK(explain::rise_masks(24, 24, o).to_vector() == masks.to_vector());
  o.seed = 6;
  CHECK(explain::rise_masks(24, 24, o).to_vector() != masks.to_vector());

  // RISE weighs each mask by the target's probability: class 0's logit sits at the target's
  // value for a half-kept box, so the probability spans (0, 1) instead of saturating.
  const BoxModel model{6, 14, 10, 20, sign_pattern(1, 24, 24, 7), 0.3f, 0.3f * 0.4f * 40};
  // An image that the model scores highly: pixels agree with the pattern inside the box.
  Tensor<float> x = Tensor<float>::full({1, 1, 24, 24}, 0.5f);
  x = add(x, mul(model.pattern.unsqueeze(0), 0.4f));
  o.seed = 5;
  o.masks = 1000;
  const Tensor<float> s = explain::rise(model, x, {1}, o);
  REQUIRE(s.shape() == Shape{1, 24, 24});
  // RISE's map sits on the mean probability; what marks the box is the excess over it. The
  // min-max normalised map puts most of its mass there and its maximum inside the box.
  const Tensor<float> normalised = explain::minmax_per_map(s).select(0, 0);
  const double area = double(8 * 10) / double(24 * 24);
  CHECK(box_share(normalised, model) > 1.8 * area);
  CHECK(metrics::pointing_game_hit(normalised.contiguous().to_vector(), 24, 24,
                                   metrics::Box{10, 6, 20, 14}, 0));
}

TEST_CASE("explain: MDM keeps the box a model reads, batches without coupling images") {
  const BoxModel model{4, 10, 12, 20, sign_pattern(2, 24, 24, 11)};
  const Tensor<float> x = random_images(2, 2, 24, 24, 12);
  explain::MdmOptions o;
  o.scales = {3, 6, 12};
  o.steps = 60;
  o.lr = 0.1;
  const explain::MdmResult r = explain::mdm(model, x, {1, 1}, o);
  REQUIRE(r.cam.shape() == Shape{2, 24, 24});
  REQUIRE(r.scale_maps.size() == 3);
  CHECK(r.loss.back() < r.loss.front());
  CHECK(double(amin(r.cam).item()) >= 0.0);
  CHECK(double(amax(r.cam).item()) <= 1.0 + 1e-6);
  const double area = double(6 * 8) / double(24 * 24);
  for (int64_t i = 0; i < 2; ++i) CHECK(box_share(r.cam.select(0, i), model) > 2.0 * area);
  // The second image explained alone gives the same masks: the batch does not couple problems.
  const explain::MdmResult one = explain::mdm(model, x.slice(0, 1, 2), {1}, o);
  const std::vector<float> a = r.cam.select(0, 1).contiguous().to_vector(),
                           b = one.cam.select(0, 0).contiguous().to_vector();
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, double(std::abs(a[i] - b[i])));
  CHECK(worst < 1e-4);
}

TEST_CASE("explain: deletion and insertion curves run from the image to the fill and back") {
  const BoxModel model{2, 6, 2, 6, sign_pattern(1, 8, 8, 21)};
  Tensor<float> image = add(Tensor<float>::full({1, 8, 8}, 0.5f), mul(model.pattern, 0.4f));
  const Tensor<float> fill = Tensor<float>::full({1, 8, 8}, 0.5f);
  std::vector<double> saliency(64, 0.0);
  for (int64_t y = 2; y < 6; ++y)
    for (int64_t x = 2; x < 6; ++x) saliency[size_t(y * 8 + x)] = 1.0;  // the box first
  const std::vector<double> del = explain::perturbation_curve(model, image, fill, saliency, 1, 4,
                                                              explain::Perturbation::Deletion, 3);
  const std::vector<double> ins = explain::perturbation_curve(model, image, fill, saliency, 1, 4,
                                                              explain::Perturbation::Insertion, 3);
  REQUIRE(del.size() == 5);
  REQUIRE(ins.size() == 5);
  const auto prob = [&](const Tensor<float>& x) {
    return double(softmax(model(x.unsqueeze(0)), 1).to_vector()[1]);
  };
  CHECK(del.front() == doctest::Approx(prob(image)).epsilon(1e-6));
  CHECK(del.back() == doctest::Approx(prob(fill)).epsilon(1e-6));
  CHECK(ins.front() == doctest::Approx(prob(fill)).epsilon(1e-6));
  CHECK(ins.back() == doctest::Approx(prob(image)).epsilon(1e-6));
  // The box is 16 of 64 pixels: after the first of 4 steps it is gone (deletion) or back.
  CHECK(del[1] == doctest::Approx(prob(fill)).epsilon(1e-6));
  CHECK(ins[1] == doctest::Approx(prob(image)).epsilon(1e-6));
  CHECK(metrics::insertion_auc(ins) - metrics::deletion_auc(del) > 0.3);
  CHECK_THROWS_WITH_AS(explain::perturbation_curve(model, image, fill, std::vector<double>(10), 1,
                                                   4, explain::Perturbation::Deletion),
                       doctest::Contains("expected 64 saliency values"), Error);
}
