// Synthetic scenes: Fashion-MNIST items pasted onto natural-photo crops, with exact labels.
// The vision examples (MDM, CeCo, KD-CI-CAM, ...) need localisation ground truth that no
// offline photo collection has; pasting known shapes onto real textures gives it for free.
//
// compose_scene(background, items, options, gen) pastes each item:
//   - resized bilinearly to a square side drawn uniformly from options.size (per-class ranges
//     override it: the CeCo note shrinks sizes along the long tail),
//   - placed uniformly at random fully inside the canvas; unless overlap is allowed, its box
//     keeps at least `min_gap` free pixels from every other item's box (positions retried, then
//     whole layouts; an Error when none fits),
//   - tinted with one colour, per item (random, optionally pushed to a minimum luminance
//     contrast with the background under it) or per class (a fixed table),
//   - alpha-blended with alpha = the item's own intensity (byte / 255):
//     pixel = alpha * tint + (1 - alpha) * background.
// and returns the image, the class mask, each item's binary mask (alpha > mask_alpha) and box
// (the tight box of that mask), and its attributes (class, size, tint, position).
//
// Class mask (row-major H x W int64): background_label (default 0) where no item is, and
// label + class_offset (default label + 1) under an item's mask. Items are painted in order,
// so where masks overlap (only with allow_overlap) the later item's class wins; each item's own
// mask stays whole (amodal). With ignore_alpha >= 0, uncovered pixels whose largest item alpha
// is above ignore_alpha (the soft edge: ignore_alpha < alpha <= mask_alpha) get ignore_label.
//
// SceneCompositor draws whole data sets: how many items (min_items..max_items), their classes
// (a ClassSampler: uniform or long-tailed), a random pool item of each class, and the
// background: a textured random crop of a photo from a background group chosen by
// ContextOptions, which can tie each class to a group (the confounder of the KD-CI-CAM note)
// and build the swapped test set that breaks the tie.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <ember/core/error.hpp>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/data/class_sampler.hpp>
#include <ember/data/crops.hpp>
#include <ember/data/image.hpp>
#include <ember/metrics/boxes.hpp>
#include <string>
#include <utility>
#include <vector>

namespace ember::data {

using Rgb = std::array<uint8_t, 3>;
using metrics::Box;  // half-open pixel box: columns x0 <= x < x1, rows y0 <= y < y1

// An item to paste: a one-channel intensity image (a Fashion-MNIST digit of clothing: bright
// item on black) and its class.
struct ItemSprite {
  Image intensity;
  int64_t label = 0;
};

// Example i of Fashion-MNIST tensors (images [N, 1, H, W] in [0, 1], labels [N]) as a sprite.
inline ItemSprite item_sprite(const Tensor<float>& images, const Tensor<int64_t>& labels,
                              int64_t i) {
  EMBER_CHECK(images.defined() && labels.defined() && images.dim() == 4 && images.size(1) == 1 &&
                  labels.dim() == 1 && images.size(0) == labels.size(0),
              "item_sprite: expected images [N, 1, H, W] and labels [N], got ",
              images.defined() ? shape_str(images.shape()) : "undefined", " and ",
              labels.defined() ? shape_str(labels.shape()) : "undefined");
  EMBER_CHECK(i >= 0 && i < images.size(0), "item_sprite: index ", i, " out of range for ",
              images.size(0), " items");
  check_cpu(images.device(), "item_sprite");
  check_cpu(labels.device(), "item_sprite");
  const int64_t h = images.size(2), w = images.size(3);
  const Tensor<float> one = images.detach().contiguous();
  const float* p = one.data_ptr() + i * h * w;
  ItemSprite s;
  s.intensity.height = int(h);
  s.intensity.width = int(w);
  s.intensity.channels = 1;
  s.intensity.pixels.resize(size_t(h * w));
  for (int64_t k = 0; k < h * w; ++k)
    s.intensity.pixels[size_t(k)] = detail::to_byte(double(std::clamp(p[k], 0.0f, 1.0f)) * 255.0);
  s.label = labels.detach().contiguous().data_ptr()[i];
  return s;
}

// The first `limit` (all when < 0) examples of Fashion-MNIST tensors as sprites.
inline std::vector<ItemSprite> item_sprites(const Tensor<float>& images,
                                            const Tensor<int64_t>& labels, int64_t limit = -1) {
  const int64_t n = limit < 0 ? images.size(0) : std::min(limit, images.size(0));
  std::vector<ItemSprite> out;
  out.reserve(size_t(n));
  for (int64_t i = 0; i < n; ++i) out.push_back(item_sprite(images, labels, i));
  return out;
}

enum class TintMode { PerItem, PerClass };

// The side range of a pasted item, in pixels.
struct SizeRange {
  int min = 16, max = 26;
};

struct SceneOptions {
  SizeRange size;                      // item side after resizing, drawn uniformly (inclusive)
  std::vector<SizeRange> class_sizes;  // when non-empty: the range of class k, overriding `size`
  TintMode tint_mode = TintMode::PerItem;
  std::vector<Rgb> class_tints;  // PerClass: the colour of class k
  // PerItem: a random colour, redrawn up to max_tint_tries times until its luminance differs
  // from the mean luminance of the background under the item's mask by at least min_contrast
  // (both in [0, 1]); if none does, the most contrasting draw is mixed with black or white
  // until it does (pure black or white when min_contrast exceeds max(local, 1 - local)).
  // 0: the first draw.
  double min_contrast = 0.0;
  int max_tint_tries = 50;
  double mask_alpha = 0.1;     // an item's mask: alpha > mask_alpha
  double ignore_alpha = -1.0;  // >= 0: the soft edge (ignore_alpha, mask_alpha] gets ignore_label
  int64_t background_label = 0;
  int64_t class_offset = 1;  // class mask value of an item of class k: k + class_offset
  int64_t ignore_label = -1;
  bool allow_overlap = false;
  int min_gap = 0;  // without overlap: free pixels between any two boxes (0: just disjoint)
  int max_placement_tries = 100;  // positions tried per item in one layout
  int max_layout_tries = 20;      // layouts started afresh before giving up
};

// One pasted item and what the scene knows about it.
struct PlacedItem {
  int64_t label = 0;
  int size = 0;        // side of the resized square sprite, px
  double scale = 0.0;  // size / the sprite's original side
  Rgb tint{};
  int top = 0, left = 0;      // the sprite square's corner on the canvas
  Box box;                    // tight box of `mask`
  std::vector<uint8_t> mask;  // H x W, 1 where alpha > mask_alpha
};

struct Scene {
  Image image;                      // H x W x 3
  std::vector<int64_t> class_mask;  // H x W, see the header comment
  std::vector<PlacedItem> items;    // in paste order
  int background_group = -1;        // set by SceneCompositor; -1 for compose_scene
  int background_photo = -1;        // index of the photo within its group
};

// Free pixels between two half-open boxes: the larger of the horizontal and vertical
// separations; negative when they overlap (by that many pixels in the shallower direction).
inline int64_t box_gap(const Box& a, const Box& b) {
  const int64_t dx = std::max(b.x0 - a.x1, a.x0 - b.x1);
  const int64_t dy = std::max(b.y0 - a.y1, a.y0 - b.y1);
  return std::max(dx, dy);
}

namespace detail {

inline double luminance(double r, double g, double b) {
  return (0.299 * r + 0.587 * g + 0.114 * b) / 255.0;  // ITU-R BT.601 luma
}

// `tint` mixed with black (over a bright background) or white (over a dark one) just enough
// that its luminance differs from `local` by `contrast`, or pure black / white when no colour
// gets that far. Random RGB colours have luminances bunched around 0.5, so a high contrast
// can take many draws; this keeps the colour's hue and makes the promise hold.
inline Rgb push_contrast(const Rgb& tint, double local, double contrast) {
  const bool darken = local >= 0.5;
  const double end = darken ? 0.0 : 255.0;
  for (int step = 1; step <= 100; ++step) {
    const double t = step / 100.0;
    Rgb c;
    for (size_t k = 0; k < 3; ++k) {
      const double v = tint[k] * (1.0 - t) + end * t;
      c[k] = uint8_t(darken ? std::floor(v) : std::ceil(v));
    }
    if (std::abs(luminance(c[0], c[1], c[2]) - local) >= contrast) return c;
  }
  return darken ? Rgb{0, 0, 0} : Rgb{255, 255, 255};
}

inline void check_scene_options(const SceneOptions& o) {
  auto check_range = [](const SizeRange& r, const std::string& what) {
    EMBER_CHECK(r.min >= 1 && r.min <= r.max, "compose_scene: ", what, " [", r.min, ", ", r.max,
                "] must satisfy 1 <= min <= max");
  };
  check_range(o.size, "size range");
  for (size_t k = 0; k < o.class_sizes.size(); ++k)
    check_range(o.class_sizes[k], "size range of class " + std::to_string(k));
  EMBER_CHECK(o.mask_alpha >= 0.0 && o.mask_alpha < 1.0,
              "compose_scene: mask_alpha must be in [0, 1), got ", o.mask_alpha);
  EMBER_CHECK(o.ignore_alpha < o.mask_alpha, "compose_scene: ignore_alpha (", o.ignore_alpha,
              ") must be below mask_alpha (", o.mask_alpha, "), or negative to disable");
  EMBER_CHECK(o.min_contrast >= 0.0 && o.min_contrast <= 1.0 && o.max_tint_tries >= 1,
              "compose_scene: expected min_contrast in [0, 1] and max_tint_tries >= 1, got ",
              o.min_contrast, " and ", o.max_tint_tries);
  EMBER_CHECK(o.min_gap >= 0 && o.max_placement_tries >= 1,
              "compose_scene: expected min_gap >= 0 and max_placement_tries >= 1, got ", o.min_gap,
              " and ", o.max_placement_tries);
}

// An item resized to its square: alpha values in [0, 1] and the tight box of alpha > threshold
// relative to the square's corner.
struct ResizedSprite {
  int size = 0;
  std::vector<float> alpha;  // size x size
  Box box;
};

inline ResizedSprite resize_sprite(const ItemSprite& item, int size, double mask_alpha,
                                   size_t index) {
  const Image& s = item.intensity;
  EMBER_CHECK(s.channels == 1 && s.height >= 1 && s.width >= 1 &&
                  s.pixels.size() == size_t(s.height) * size_t(s.width),
              "compose_scene: item ", index, " (class ", item.label,
              ") must be a one-channel intensity image, got ", s.height, "x", s.width, "x",
              s.channels);
  std::vector<float> in(s.pixels.size());
  for (size_t k = 0; k < in.size(); ++k) in[k] = float(s.pixels[k]) / 255.0f;
  ResizedSprite r;
  r.size = size;
  r.alpha = resize_bilinear_hwc(in.data(), s.height, s.width, 1, size, size);
  std::vector<uint8_t> on(r.alpha.size());
  for (size_t k = 0; k < on.size(); ++k) on[k] = r.alpha[k] > mask_alpha;
  const auto box = metrics::box_from_mask(on, size, size);
  EMBER_CHECK(box.has_value(), "compose_scene: item ", index, " (class ", item.label,
              ") resized to ", size, "x", size, " has no pixel with alpha above mask_alpha ",
              mask_alpha, " (a blank sprite?)");
  r.box = *box;
  return r;
}

inline Box shifted(const Box& b, int top, int left) {
  return {b.x0 + left, b.y0 + top, b.x1 + left, b.y1 + top};
}

}  // namespace detail

// Pastes `items` onto `background` (any channel count; made RGB), whose size is the canvas.
// Throws ember::Error when an item cannot be placed within max_placement_tries.
inline Scene compose_scene(const Image& background, const std::vector<ItemSprite>& items,
                           const SceneOptions& options, Generator& gen) {
  detail::check_scene_options(options);
  Scene scene;
  scene.image = to_rgb(background);
  const int H = scene.image.height, W = scene.image.width;
  const size_t n_px = size_t(H) * size_t(W);
  scene.class_mask.assign(n_px, options.background_label);
  std::vector<float> max_alpha(n_px, 0.0f);

  // Sizes first, then the layout: every item gets max_placement_tries uniform positions (the
  // square inside the canvas) to keep min_gap free pixels from the boxes before it; when one
  // runs out, the whole layout starts again (an early item in the middle can leave no room
  // for a later one), up to max_layout_tries times.
  std::vector<detail::ResizedSprite> sprites;
  sprites.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const ItemSprite& item = items[i];
    EMBER_CHECK(item.label >= 0, "compose_scene: item ", i, " has class ", item.label,
                "; expected a non-negative class");
    EMBER_CHECK(options.class_sizes.empty() || size_t(item.label) < options.class_sizes.size(),
                "compose_scene: item ", i, " has class ", item.label, " but class_sizes covers ",
                options.class_sizes.size(), " classes");
    const SizeRange range =
        options.class_sizes.empty() ? options.size : options.class_sizes[size_t(item.label)];
    EMBER_CHECK(range.max <= H && range.max <= W, "compose_scene: item size range [", range.min,
                ", ", range.max, "] of class ", item.label, " does not fit the ", H, "x", W,
                " canvas");
    const int size = int(gen.randint(range.min, int64_t{range.max} + 1));
    sprites.push_back(detail::resize_sprite(item, size, options.mask_alpha, i));
  }
  std::vector<std::pair<int, int>> corners;  // (top, left) per item
  std::vector<Box> boxes;
  size_t stuck = 0;  // the item the last failed layout could not place
  for (int layout = 0; layout < options.max_layout_tries && corners.size() < items.size();
       ++layout) {
    corners.clear();
    boxes.clear();
    for (size_t i = 0; i < items.size(); ++i) {
      const int size = sprites[i].size;
      bool placed = false;
      for (int t = 0; t < options.max_placement_tries && !placed; ++t) {
        const int top = int(gen.randint(0, H - size + 1));
        const int left = int(gen.randint(0, W - size + 1));
        const Box box = detail::shifted(sprites[i].box, top, left);
        placed = options.allow_overlap ||
                 std::all_of(boxes.begin(), boxes.end(),
                             [&](const Box& b) { return box_gap(box, b) >= options.min_gap; });
        if (placed) corners.emplace_back(top, left), boxes.push_back(box);
      }
      if (!placed) {
        stuck = i;
        break;
      }
    }
  }
  EMBER_CHECK(corners.size() == items.size(), "compose_scene: cannot lay out ", items.size(),
              " items at least ", options.min_gap, " px apart on the ", H, "x", W, " canvas: in ",
              options.max_layout_tries, " layouts of ", options.max_placement_tries,
              " tries per item, item ", stuck, " (class ", items[stuck].label, ", ",
              sprites[stuck].size, "x", sprites[stuck].size,
              " px) found no room; use fewer or smaller items, a smaller min_gap or a larger "
              "canvas");

  for (size_t i = 0; i < items.size(); ++i) {
    const ItemSprite& item = items[i];
    const detail::ResizedSprite& sprite = sprites[i];
    const int size = sprite.size;
    const auto [top, left] = corners[i];
    PlacedItem p;
    p.label = item.label;
    p.size = size;
    p.scale = double(size) / double(item.intensity.width);
    p.top = top;
    p.left = left;
    p.box = detail::shifted(sprite.box, top, left);
    p.mask.assign(n_px, 0);
    for (int y = 0; y < size; ++y)
      for (int x = 0; x < size; ++x)
        if (sprite.alpha[size_t(y * size + x)] > options.mask_alpha)
          p.mask[size_t(top + y) * size_t(W) + size_t(left + x)] = 1;

    if (options.tint_mode == TintMode::PerClass) {
      EMBER_CHECK(size_t(item.label) < options.class_tints.size(), "compose_scene: item ", i,
                  " has class ", item.label, " but class_tints holds ", options.class_tints.size(),
                  " colours");
      p.tint = options.class_tints[size_t(item.label)];
    } else {
      // The background under the mask, as it is now (earlier items included).
      double sum = 0.0, count = 0.0;
      for (size_t k = 0; k < n_px; ++k)
        if (p.mask[k]) {
          const uint8_t* px = &scene.image.pixels[k * 3];
          sum += detail::luminance(px[0], px[1], px[2]);
          count += 1.0;
        }
      const double local = sum / count;  // the mask is non-empty (resize_sprite checked)
      double best = -1.0;
      for (int t = 0; t < options.max_tint_tries; ++t) {
        const Rgb c{uint8_t(gen.randint(0, 256)), uint8_t(gen.randint(0, 256)),
                    uint8_t(gen.randint(0, 256))};
        const double contrast = std::abs(detail::luminance(c[0], c[1], c[2]) - local);
        if (contrast > best) best = contrast, p.tint = c;
        if (contrast >= options.min_contrast) break;
      }
      if (best < options.min_contrast)
        p.tint = detail::push_contrast(p.tint, local, options.min_contrast);
    }

    for (int y = 0; y < size; ++y)
      for (int x = 0; x < size; ++x) {
        const float a = sprite.alpha[size_t(y * size + x)];
        const size_t k = size_t(top + y) * size_t(W) + size_t(left + x);
        uint8_t* px = &scene.image.pixels[k * 3];
        for (int ch = 0; ch < 3; ++ch)
          px[ch] = detail::to_byte(double(a) * p.tint[size_t(ch)] + (1.0 - double(a)) * px[ch]);
        max_alpha[k] = std::max(max_alpha[k], a);
        if (p.mask[k]) scene.class_mask[k] = item.label + options.class_offset;
      }
    scene.items.push_back(std::move(p));
  }

  if (options.ignore_alpha >= 0.0)
    for (size_t k = 0; k < n_px; ++k)
      if (scene.class_mask[k] == options.background_label && max_alpha[k] > options.ignore_alpha)
        scene.class_mask[k] = options.ignore_label;
  return scene;
}

// ---------------------------------------------------------------------- backgrounds by context

enum class ContextMode {
  Independent,  // any group, uniformly
  Correlated,   // the scene class's own group with probability p, else another one uniformly
  Swapped,      // always the group of class swap[y]: every item sits in another class's context
};

// The scene class is the class of its first item.
struct ContextOptions {
  ContextMode mode = ContextMode::Independent;
  double p = 0.9;
  std::vector<int> class_group;  // class -> background group; empty: class k -> group k
  // Swapped: a permutation of the classes without fixed points (a derangement); empty: k -> k + 1
  // mod K, the simplest one.
  std::vector<int64_t> swap;
};

// A random derangement of 0..n-1 (a permutation with no fixed point), by redrawing
// Fisher-Yates shuffles until one has none (about e = 2.7 draws on average).
inline std::vector<int64_t> random_derangement(int64_t n, Generator& gen) {
  EMBER_CHECK(n >= 2, "random_derangement: needs n >= 2 (one element cannot move), got ", n);
  std::vector<int64_t> perm(static_cast<size_t>(n));
  for (;;) {
    for (int64_t i = 0; i < n; ++i) perm[size_t(i)] = i;
    for (int64_t i = n - 1; i > 0; --i)
      std::swap(perm[size_t(i)], perm[size_t(gen.randint(0, i + 1))]);
    bool fixed = false;
    for (int64_t i = 0; i < n; ++i) fixed = fixed || perm[size_t(i)] == i;
    if (!fixed) return perm;
  }
}

struct CompositorOptions {
  int height = 48, width = 48;  // the canvas
  int min_items = 1, max_items = 1;
  SceneOptions scene;
  ContextOptions context;
  double flat_threshold = kFlatStdThreshold;  // background crops must not be flat (is_flat)
  int crop_tries = 50;
};

// Draws scenes from a pool of items and groups of background photos. Groups are what the
// context options tie classes to: one texture source per group (the KD-CI-CAM note: one photo
// per class, train crops from its left half, test crops from its right half, cut with crop()).
class SceneCompositor {
 public:
  SceneCompositor(std::vector<ItemSprite> pool, std::vector<std::vector<Image>> background_groups,
                  ClassSampler sampler, CompositorOptions options)
      : pool_(std::move(pool)), sampler_(std::move(sampler)), options_(std::move(options)) {
    const CompositorOptions& o = options_;
    EMBER_CHECK(o.height >= 1 && o.width >= 1 && o.min_items >= 1 && o.min_items <= o.max_items,
                "SceneCompositor: expected a positive canvas and 1 <= min_items <= max_items, got ",
                o.height, "x", o.width, " and items [", o.min_items, ", ", o.max_items, "]");
    detail::check_scene_options(o.scene);
    by_class_.resize(size_t(sampler_.classes()));
    for (size_t i = 0; i < pool_.size(); ++i) {
      const int64_t y = pool_[i].label;
      EMBER_CHECK(y >= 0 && y < sampler_.classes(), "SceneCompositor: pool item ", i, " has class ",
                  y, "; the sampler draws classes 0..", sampler_.classes() - 1);
      by_class_[size_t(y)].push_back(i);
    }
    for (size_t y = 0; y < by_class_.size(); ++y)
      EMBER_CHECK(!by_class_[y].empty() || sampler_.probabilities()[y] == 0.0,
                  "SceneCompositor: class ", y, " can be drawn (probability ",
                  sampler_.probabilities()[y], ") but the pool has no item of it");

    EMBER_CHECK(!background_groups.empty(),
                "SceneCompositor: expected at least one background group");
    for (size_t g = 0; g < background_groups.size(); ++g) {
      EMBER_CHECK(!background_groups[g].empty(), "SceneCompositor: background group ", g,
                  " has no photo");
      std::vector<Image> group;
      for (size_t k = 0; k < background_groups[g].size(); ++k) {
        const Image& photo = background_groups[g][k];
        EMBER_CHECK(photo.height >= o.height && photo.width >= o.width, "SceneCompositor: photo ",
                    k, " of background group ", g, " is ", photo.height, "x", photo.width,
                    ", smaller than the ", o.height, "x", o.width, " canvas");
        group.push_back(to_rgb(photo));
      }
      groups_.push_back(std::move(group));
    }
    check_context();
  }

  int64_t groups() const { return int64_t(groups_.size()); }
  const CompositorOptions& options() const { return options_; }

  // The background group class y is tied to (identity unless class_group says otherwise).
  int group_of_class(int64_t y) const {
    const auto& cg = options_.context.class_group;
    return cg.empty() ? int(y) : cg[size_t(y)];
  }

  // The group a scene whose class is y draws its background from.
  int draw_group(int64_t y, Generator& gen) const {
    const ContextOptions& c = options_.context;
    const int n = int(groups_.size());
    switch (c.mode) {
      case ContextMode::Independent:
        return int(gen.randint(0, n));
      case ContextMode::Swapped:
        return group_of_class(swap_of(y));
      case ContextMode::Correlated: {
        const int own = group_of_class(y);
        if (n == 1 || gen.uniform() < c.p) return own;
        const int other = int(gen.randint(0, n - 1));  // uniform over the n - 1 other groups
        return other < own ? other : other + 1;
      }
    }
    return 0;
  }

  Scene next(Generator& gen) const {
    const CompositorOptions& o = options_;
    const int count = int(gen.randint(o.min_items, int64_t{o.max_items} + 1));
    std::vector<ItemSprite> items;
    items.reserve(size_t(count));
    for (int i = 0; i < count; ++i) {
      const std::vector<size_t>& of_class = by_class_[size_t(sampler_.sample(gen))];
      items.push_back(pool_[of_class[size_t(gen.randint(0, int64_t(of_class.size())))]]);
    }
    const int group = draw_group(items.front().label, gen);
    const std::vector<Image>& photos = groups_[size_t(group)];
    const int photo = int(gen.randint(0, int64_t(photos.size())));
    const Image background = random_textured_crop(photos[size_t(photo)], o.height, o.width, gen,
                                                  o.flat_threshold, o.crop_tries);
    Scene s = compose_scene(background, items, o.scene, gen);
    s.background_group = group;
    s.background_photo = photo;
    return s;
  }

  std::vector<Scene> generate(int64_t n, Generator& gen) const {
    EMBER_CHECK(n >= 0, "SceneCompositor::generate: expected n >= 0, got ", n);
    std::vector<Scene> out;
    out.reserve(size_t(n));
    for (int64_t i = 0; i < n; ++i) out.push_back(next(gen));
    return out;
  }

 private:
  int64_t swap_of(int64_t y) const {
    const auto& s = options_.context.swap;
    return s.empty() ? (y + 1) % sampler_.classes() : s[size_t(y)];
  }

  void check_context() const {
    const ContextOptions& c = options_.context;
    const int64_t k = sampler_.classes(), n = int64_t(groups_.size());
    if (c.mode == ContextMode::Independent) return;
    EMBER_CHECK(c.p >= 0.0 && c.p <= 1.0, "SceneCompositor: context p must be in [0, 1], got ",
                c.p);
    EMBER_CHECK(c.class_group.empty() || int64_t(c.class_group.size()) == k,
                "SceneCompositor: class_group maps ", c.class_group.size(),
                " classes; expected one group per class (", k, ")");
    for (int64_t y = 0; y < k; ++y) {
      const int g = group_of_class(y);
      EMBER_CHECK(g >= 0 && g < n, "SceneCompositor: class ", y, " is tied to background group ", g,
                  " but there are ", n, " groups");
    }
    if (c.mode != ContextMode::Swapped) return;
    EMBER_CHECK(k >= 2, "SceneCompositor: a swapped context needs at least 2 classes");
    EMBER_CHECK(c.swap.empty() || int64_t(c.swap.size()) == k, "SceneCompositor: swap has ",
                c.swap.size(), " entries; expected one per class (", k, ")");
    std::vector<int> seen(size_t(k), 0);
    for (int64_t y = 0; y < k; ++y) {
      const int64_t z = swap_of(y);
      EMBER_CHECK(z >= 0 && z < k && z != y && !seen[size_t(z)]++,
                  "SceneCompositor: swap must be a permutation of the ", k,
                  " classes without fixed points (a derangement); entry ", y, " is ", z);
    }
  }

  std::vector<ItemSprite> pool_;
  std::vector<std::vector<size_t>> by_class_;
  std::vector<std::vector<Image>> groups_;
  ClassSampler sampler_;
  CompositorOptions options_;
};

// ---------------------------------------------------------------------- scenes as tensors

// A data set of scenes as named tensors (what the cache stores and a DataLoader reads):
//   "images"            float [N, 3, H, W] in [0, 1]
//   "class_masks"       int64 [N, H, W]
//   "labels"            int64 [N, M], M = the most items in a scene; -1 pads
//   "boxes"             int64 [N, M, 4] as x0, y0, x1, y1 (half-open); -1 pads
//   "background_groups" int64 [N]
inline StateDict scenes_to_tensors(const std::vector<Scene>& scenes) {
  EMBER_CHECK(!scenes.empty(), "scenes_to_tensors: expected at least one scene");
  const int64_t n = int64_t(scenes.size()), h = scenes[0].image.height, w = scenes[0].image.width;
  size_t m = 0;
  std::vector<Image> images;
  images.reserve(scenes.size());
  for (size_t i = 0; i < scenes.size(); ++i) {
    const Scene& s = scenes[i];
    EMBER_CHECK(s.image.height == h && s.image.width == w && s.image.channels == 3 &&
                    s.class_mask.size() == size_t(h * w),
                "scenes_to_tensors: scene ", i, " is ", s.image.height, "x", s.image.width, "x",
                s.image.channels, "; expected ", h, "x", w, "x3 like scene 0");
    m = std::max(m, s.items.size());
    images.push_back(s.image);
  }
  Tensor<int64_t> masks = Tensor<int64_t>::empty({n, h, w});
  Tensor<int64_t> labels = Tensor<int64_t>::full({n, int64_t(m)}, -1);
  Tensor<int64_t> boxes = Tensor<int64_t>::full({n, int64_t(m), 4}, -1);
  Tensor<int64_t> groups = Tensor<int64_t>::empty({n});
  for (int64_t i = 0; i < n; ++i) {
    const Scene& s = scenes[size_t(i)];
    std::copy(s.class_mask.begin(), s.class_mask.end(), masks.data_ptr() + i * h * w);
    for (size_t j = 0; j < s.items.size(); ++j) {
      const PlacedItem& p = s.items[j];
      labels.data_ptr()[i * int64_t(m) + int64_t(j)] = p.label;
      int64_t* b = boxes.data_ptr() + (i * int64_t(m) + int64_t(j)) * 4;
      b[0] = p.box.x0, b[1] = p.box.y0, b[2] = p.box.x1, b[3] = p.box.y1;
    }
    groups.data_ptr()[i] = s.background_group;
  }
  return {{"images", images_to_tensor(images)},
          {"class_masks", masks},
          {"labels", labels},
          {"boxes", boxes},
          {"background_groups", groups}};
}

}  // namespace ember::data
