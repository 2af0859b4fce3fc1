// The captioning data: composite scenes of 2-3 Fashion-MNIST items with attributes (colour,
// brightness, size) pasted onto crops of natural photos, and five distinct references per scene
// from a small grammar (the note's templates and vocabulary, section 5).
//
// Attributes are drawn per item and drawn into the picture: the tint is one of five named
// colours, halved for "dark", and the side is 14-18 px ("small") or 24-30 px ("large"). The
// kit's compositor pastes the items; each scene is composed with its own per-slot tint and size
// table (the item's slot is its class for compose_scene, its real class is restored after), so
// the named attribute is exactly what was drawn. Item centres are at least 16 px apart, so the
// relation "left of / right of / above / below" (the dominant axis of the centre offset) is
// unambiguous.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <ember/core/error.hpp>
#include <ember/core/random.hpp>
#include <ember/data/compositor.hpp>
#include <ember/data/crops.hpp>
#include <ember/data/image.hpp>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace vat {

using namespace ember;

inline constexpr int kSide = 64;         // scene canvas
inline constexpr int64_t kMaxLen = 16;   // tokens per caption, EOS included
inline constexpr int64_t kMaxItems = 3;  // item regions per scene (padded)
inline constexpr int64_t kPad = 0, kBos = 1, kEos = 2;

// The token list: specials, grammar words, colours, item names (41 tokens).
inline const std::vector<std::string>& vocabulary() {
  static const std::vector<std::string> v = {
      "<pad>", "<bos>",  "<eos>",      "a",       "the",      "there",    "is",
      "and",   "on",     "background", "light",   "dark",     "bright",   "small",
      "large", "to",     "left",       "right",   "of",       "above",    "below",
      "three", "two",    "items",      ":",       ",",        "red",      "green",
      "blue",  "yellow", "white",      "t-shirt", "trousers", "pullover", "dress",
      "coat",  "sandal", "shirt",      "sneaker", "bag",      "boot"};
  return v;
}
inline int64_t vocab_size() { return int64_t(vocabulary().size()); }

inline int64_t token_id(const std::string& w) {
  static const std::unordered_map<std::string, int64_t> ids = [] {
    std::unordered_map<std::string, int64_t> m;
    for (size_t i = 0; i < vocabulary().size(); ++i) m[vocabulary()[i]] = int64_t(i);
    return m;
  }();
  const auto it = ids.find(w);
  EMBER_CHECK(it != ids.end(), "vat: word '", w, "' is not in the vocabulary");
  return it->second;
}

// Words of a caption -> token ids (any length: generated captions may run to kMaxLen words).
inline std::vector<int64_t> word_ids(const std::string& caption) {
  std::vector<int64_t> ids;
  std::string w;
  for (char ch : caption + " ") {
    if (ch == ' ') {
      if (!w.empty()) ids.push_back(token_id(w));
      w.clear();
    } else {
      w += ch;
    }
  }
  return ids;
}

// A reference -> token ids followed by EOS, at most kMaxLen.
inline std::vector<int64_t> encode_caption(const std::string& caption) {
  std::vector<int64_t> ids = word_ids(caption);
  ids.push_back(kEos);
  EMBER_CHECK(int64_t(ids.size()) <= kMaxLen, "vat: caption '", caption, "' has ", ids.size(),
              " tokens with EOS; at most ", kMaxLen, " fit");
  return ids;
}

// Token ids (up to EOS or padding) -> words joined by spaces.
inline std::string decode_caption(const std::vector<int64_t>& ids) {
  std::string out;
  for (int64_t t : ids) {
    if (t == kEos || t == kPad) break;
    if (t == kBos) continue;
    if (!out.empty()) out += ' ';
    out += vocabulary()[size_t(t)];
  }
  return out;
}

inline const std::array<const char*, 10>& item_names() {
  static const std::array<const char*, 10> n = {"t-shirt", "trousers", "pullover", "dress", "coat",
                                                "sandal",  "shirt",    "sneaker",  "bag",   "boot"};
  return n;
}
inline const std::array<const char*, 5>& colour_names() {
  static const std::array<const char*, 5> n = {"red", "green", "blue", "yellow", "white"};
  return n;
}
inline data::Rgb colour_rgb(int colour, bool bright) {
  static const std::array<data::Rgb, 5> c = {data::Rgb{225, 35, 35}, data::Rgb{40, 190, 60},
                                             data::Rgb{50, 90, 235}, data::Rgb{235, 215, 40},
                                             data::Rgb{245, 245, 245}};
  data::Rgb out = c[size_t(colour)];
  if (!bright)
    for (auto& v : out) v = uint8_t(v * 0.45);
  return out;
}

struct ItemInfo {
  int64_t label = 0;
  int colour = 0;
  bool bright = true, large = false;
  double cx = 0, cy = 0;  // box centre, px
  data::Box box;
  int top = 0, left = 0, size = 0;   // the pasted sprite square
  std::array<double, 3> mean_rgb{};  // of the item's mask pixels, in [0, 1]
};

struct CaptionScene {
  data::Image image;  // 64 x 64 RGB
  std::vector<ItemInfo> items;
  bool light_background = false;
  std::vector<std::string> refs;  // 5 distinct references
};

namespace detail {

inline std::string noun_phrase(const ItemInfo& it, Generator& gen) {
  std::string s;
  if (gen.uniform() < 0.5) s += it.large ? "large " : "small ";
  if (gen.uniform() < 0.5) s += it.bright ? "bright " : "dark ";
  if (gen.uniform() < 0.5) s += std::string(colour_names()[size_t(it.colour)]) + " ";
  return s + item_names()[size_t(it.label)];
}

// Where item a is relative to item b, by the dominant axis of the centre offset.
inline std::string relation(const ItemInfo& a, const ItemInfo& b) {
  const double dx = b.cx - a.cx, dy = b.cy - a.cy;
  if (std::abs(dx) >= std::abs(dy)) return dx > 0 ? "to the left of" : "to the right of";
  return dy > 0 ? "above" : "below";
}

inline int64_t words(const std::string& s) {
  int64_t n = 0;
  bool in = false;
  for (char ch : s) {
    if (ch != ' ' && !in) ++n;
    in = ch != ' ';
  }
  return n;
}

}  // namespace detail

// One reference from a random template and a random pair of items.
inline std::string grammar_caption(const CaptionScene& s, Generator& gen) {
  using detail::noun_phrase;
  const int64_t n = int64_t(s.items.size());
  const int64_t i = gen.randint(0, n);
  int64_t j = gen.randint(0, n - 1);
  if (j >= i) ++j;
  const ItemInfo &a = s.items[size_t(i)], &b = s.items[size_t(j)];
  switch (gen.randint(0, 5)) {
    case 0:
      return "a " + noun_phrase(a, gen) + " " + detail::relation(a, b) + " a " +
             noun_phrase(b, gen);
    case 1:
      return "there is a " + noun_phrase(a, gen) + " " + detail::relation(a, b) + " the " +
             noun_phrase(b, gen);
    case 2:
      return "a " + noun_phrase(a, gen) + " and a " + noun_phrase(b, gen) + " on a " +
             (s.light_background ? "light" : "dark") + " background";
    case 3:
      if (n == 3)
        return "three items : a " + noun_phrase(s.items[0], gen) + " , a " +
               noun_phrase(s.items[1], gen) + " and a " + noun_phrase(s.items[2], gen);
      return "two items : a " + noun_phrase(s.items[0], gen) + " and a " +
             noun_phrase(s.items[1], gen);
    default:
      return "the " + noun_phrase(a, gen) + " is " + detail::relation(a, b) + " the " +
             noun_phrase(b, gen);
  }
}

// Five distinct references of at most kMaxLen - 1 words.
inline std::vector<std::string> references(const CaptionScene& s, Generator& gen) {
  std::vector<std::string> refs;
  std::set<std::string> seen;
  for (int tries = 0; refs.size() < 5; ++tries) {
    EMBER_CHECK(tries < 1000, "vat: cannot draw 5 distinct references for a scene");
    const std::string c = grammar_caption(s, gen);
    if (detail::words(c) > kMaxLen - 1 || !seen.insert(c).second) continue;
    refs.push_back(c);
  }
  return refs;
}

// Draws one scene: 2-3 items from `pool` on a textured crop of one of `photos`.
inline CaptionScene make_scene(const std::vector<data::ItemSprite>& pool,
                               const std::vector<data::Image>& photos, Generator& gen) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int count = int(gen.randint(2, kMaxItems + 1));
    std::vector<data::ItemSprite> items;
    data::SceneOptions o;
    o.tint_mode = data::TintMode::PerClass;
    o.min_gap = 1;
    std::vector<ItemInfo> info(static_cast<size_t>(count));
    for (int k = 0; k < count; ++k) {
      data::ItemSprite sp = pool[size_t(gen.randint(0, int64_t(pool.size())))];
      info[size_t(k)].label = sp.label;
      info[size_t(k)].colour = int(gen.randint(0, 5));
      info[size_t(k)].bright = gen.uniform() < 0.5;
      info[size_t(k)].large = gen.uniform() < 0.5;
      sp.label = k;  // the slot: its row in the per-scene tint and size tables
      items.push_back(std::move(sp));
      o.class_tints.push_back(colour_rgb(info[size_t(k)].colour, info[size_t(k)].bright));
      o.class_sizes.push_back(info[size_t(k)].large ? data::SizeRange{24, 30}
                                                    : data::SizeRange{14, 18});
    }
    const data::Image& photo = photos[size_t(gen.randint(0, int64_t(photos.size())))];
    data::Image bg;
    data::Scene sc;
    try {
      bg = data::random_textured_crop(photo, kSide, kSide, gen);
      sc = data::compose_scene(bg, items, o, gen);
    } catch (const Error&) {
      continue;  // a flat photo region or no room for these sizes: draw another scene
    }
    bool apart = true;
    for (int k = 0; k < count; ++k) {
      const data::PlacedItem& p = sc.items[size_t(k)];
      ItemInfo& it = info[size_t(k)];
      it.box = p.box;
      it.cx = 0.5 * double(p.box.x0 + p.box.x1);
      it.cy = 0.5 * double(p.box.y0 + p.box.y1);
      it.top = p.top;
      it.left = p.left;
      it.size = p.size;
      double sum[3] = {0, 0, 0}, cnt = 0;
      for (size_t q = 0; q < p.mask.size(); ++q)
        if (p.mask[q]) {
          for (int ch = 0; ch < 3; ++ch) sum[ch] += sc.image.pixels[q * 3 + size_t(ch)];
          cnt += 1;
        }
      for (int ch = 0; ch < 3; ++ch) it.mean_rgb[size_t(ch)] = sum[ch] / (255.0 * cnt);
      for (int m = 0; m < k; ++m)
        apart = apart && std::hypot(it.cx - info[size_t(m)].cx, it.cy - info[size_t(m)].cy) >= 16;
    }
    if (!apart) continue;
    CaptionScene s;
    s.image = sc.image;
    s.items = std::move(info);
    double lum = 0;
    for (size_t q = 0; q < bg.pixels.size() / 3; ++q)
      lum += data::detail::luminance(bg.pixels[q * 3], bg.pixels[q * 3 + 1], bg.pixels[q * 3 + 2]);
    s.light_background = lum / double(bg.pixels.size() / 3) > 0.5;
    s.refs = references(s, gen);
    return s;
  }
  fail("vat: could not lay out a scene in 100 attempts");
}

inline std::vector<CaptionScene> make_scenes(int64_t n, const std::vector<data::ItemSprite>& pool,
                                             const std::vector<data::Image>& photos,
                                             Generator& gen) {
  EMBER_CHECK(!pool.empty() && !photos.empty(), "vat: no items or no background photos");
  std::vector<CaptionScene> out;
  out.reserve(size_t(n));
  for (int64_t i = 0; i < n; ++i) out.push_back(make_scene(pool, photos, gen));
  return out;
}

}  // namespace vat
