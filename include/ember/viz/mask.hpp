// Segmentation masks as colour images: one colour per class label, plus an "ignore" colour
// for the label that marks unlabelled or uncertain pixels.
#pragma once

#include <concepts>
#include <cstdint>
#include <vector>

#include "ember/core/error.hpp"
#include "ember/viz/canvas.hpp"

namespace ember::viz {

// The PASCAL VOC colour of a class label (the palette every VOC-style mask PNG uses): the
// label's bits are spread over the high bits of R, G and B, so neighbouring labels get very
// different colours. 0 is black (background), 1 dark red, 2 dark green, 15 (person) pink.
inline Rgb voc_colour(int label) {
  EMBER_CHECK(label >= 0 && label <= 255, "voc_colour: label ", label, " is outside 0..255");
  int r = 0, g = 0, b = 0;
  for (int bit = 0, c = label; bit < 8; ++bit, c >>= 3) {
    r |= ((c >> 0) & 1) << (7 - bit);
    g |= ((c >> 1) & 1) << (7 - bit);
    b |= ((c >> 2) & 1) << (7 - bit);
  }
  return {static_cast<uint8_t>(r), static_cast<uint8_t>(g), static_cast<uint8_t>(b)};
}

struct MaskPalette {
  std::vector<Rgb> colours;          // colours[label] for labels 0 .. colours.size() - 1
  int64_t ignore_label = 255;        // the label drawn in ignore_colour instead
  Rgb ignore_colour{224, 224, 192};  // VOC's cream for "void" boundary pixels
};

// VOC colours for labels 0..254 and label 255 as "ignore", as in VOC-style datasets.
inline MaskPalette default_mask_palette() {
  MaskPalette p;
  for (int label = 0; label < 255; ++label) p.colours.push_back(voc_colour(label));
  return p;
}

// An RGB image of a height x width label map (row-major). Throws on a label that is neither
// the ignore label nor has a palette colour, naming its position.
template <std::integral L>
Image mask_to_rgb(const std::vector<L>& labels, int height, int width,
                  const MaskPalette& palette = default_mask_palette()) {
  detail::check_size(height, width, "mask_to_rgb");
  const size_t n = static_cast<size_t>(height) * static_cast<size_t>(width);
  EMBER_CHECK(labels.size() == n, "mask_to_rgb: got ", labels.size(), " labels for a ", height, "x",
              width, " mask; expected height * width = ", n);
  Image img = blank(height, width);
  for (size_t i = 0; i < n; ++i) {
    const auto label = static_cast<int64_t>(labels[i]);
    Rgb c = palette.ignore_colour;
    if (label != palette.ignore_label) {
      EMBER_CHECK(label >= 0 && static_cast<uint64_t>(label) < palette.colours.size(),
                  "mask_to_rgb: label ", label, " at (row ", i / static_cast<size_t>(width),
                  ", column ", i % static_cast<size_t>(width), ") has no colour; the palette has ",
                  palette.colours.size(), " colours and ignores label ", palette.ignore_label);
      c = palette.colours[static_cast<size_t>(label)];
    }
    img.pixels[i * 3] = c.r;
    img.pixels[i * 3 + 1] = c.g;
    img.pixels[i * 3 + 2] = c.b;
  }
  return img;
}

}  // namespace ember::viz
