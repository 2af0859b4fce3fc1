// RISE (Petsiuk et al., "Randomized Input Sampling for Explanation of Black-box Models"):
// N random binary grids of cells `cell` pixels, each cell kept with probability p, upsampled
// bilinearly to (grid + 1) * cell and cropped at a random sub-cell shift to H x W; then
//   S = 1 / (N p) * sum_i P(target | x * M_i) * M_i.
// The masks are drawn once (on the host, from `seed`) and shared by every image; each image's
// N masked copies go through the model in batches of `batch`, and the weighted sum is one
// matrix product.
#pragma once

#include <algorithm>
#include <cstdint>
#include <ember/autograd/grad_mode.hpp>
#include <ember/core/random.hpp>
#include <ember/explain/common.hpp>
#include <ember/ops/arith.hpp>
#include <ember/ops/linalg.hpp>
#include <ember/ops/shape.hpp>
#include <ember/ops/softmax.hpp>
#include <ember/ops/upsample.hpp>

namespace ember::explain {

struct RiseOptions {
  int64_t masks = 300;
  int64_t cell = 0;     // 0: ceil(H / 7), the note's H/7
  double keep = 0.5;    // probability that a cell is kept
  int64_t batch = 100;  // masked images per forward
  uint64_t seed = 0;
};

// The RISE masks [N, 1, H, W] in [0, 1].
inline Tensor<float> rise_masks(int64_t height, int64_t width, const RiseOptions& o) {
  EMBER_CHECK(height >= 1 && width >= 1 && o.masks >= 1 && o.keep > 0 && o.keep <= 1 &&
                  o.cell >= 0 && o.batch >= 1,
              "rise_masks: expected a positive size, masks >= 1, keep in (0, 1], cell >= 0 and "
              "batch >= 1, got ",
              height, "x", width, ", masks ", o.masks, ", keep ", o.keep, ", cell ", o.cell,
              ", batch ", o.batch);
  const int64_t cell = o.cell > 0 ? o.cell : (std::max(height, width) + 6) / 7;
  const int64_t gh = (height + cell - 1) / cell, gw = (width + cell - 1) / cell;
  Generator gen(o.seed);
  Tensor<float> grid = Tensor<float>::empty({o.masks, 1, gh, gw});
  float* g = grid.data_ptr();
  for (int64_t i = 0; i < grid.numel(); ++i) g[i] = gen.uniform() < o.keep ? 1.0f : 0.0f;
  const Tensor<float> up =
      interpolate(grid, InterpolateOptions{.size = {(gh + 1) * cell, (gw + 1) * cell},
                                           .mode = InterpolateMode::Bilinear,
                                           .align_corners = false});
  Tensor<float> out = Tensor<float>::empty({o.masks, 1, height, width});
  const int64_t uh = up.size(2), uw = up.size(3);
  const float* u = up.data_ptr();
  float* m = out.data_ptr();
  for (int64_t i = 0; i < o.masks; ++i) {
    const int64_t dy = gen.randint(0, cell), dx = gen.randint(0, cell);
    for (int64_t y = 0; y < height; ++y)
      std::copy_n(u + (i * uh + y + dy) * uw + dx, width, m + (i * height + y) * width);
  }
  return out;
}

// Saliency maps [N, H, W] of images x [N, C, H, W] for targets.
inline Tensor<float> rise(const Forward& model, const Tensor<float>& x,
                          const std::vector<int64_t>& targets, const RiseOptions& o = {}) {
  detail::check_images("rise", x, targets);
  NoGradGuard no_grad;
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  const Tensor<float> masks = rise_masks(h, w, o).to(x.device());  // [M, 1, H, W]
  std::vector<Tensor<float>> maps;
  for (int64_t i = 0; i < n; ++i) {
    const Tensor<float> image = x.slice(0, i, i + 1);
    std::vector<Tensor<float>> probs;
    for (int64_t b = 0; b < o.masks; b += o.batch) {
      const Tensor<float> m = masks.slice(0, b, std::min(o.masks, b + o.batch));
      const Tensor<float> logits = model(mul(image, m));
      detail::check_logits("rise", logits, m.size(0), {targets[size_t(i)]});
      probs.push_back(target_scores(softmax(logits, 1), {targets[size_t(i)]}, true));
    }
    const Tensor<float> p = cat(probs, 0).reshape({1, o.masks});  // [1, M]
    maps.push_back(mul(matmul(p, masks.reshape({o.masks, h * w})), float(1.0 / (o.masks * o.keep)))
                       .reshape({1, h, w}));
  }
  return cat(maps, 0);
}

}  // namespace ember::explain
