// Colours for figures: an 8-bit sRGB triple, a few named colours and a categorical palette
// for series and classes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace ember::viz {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
  friend bool operator==(const Rgb&, const Rgb&) = default;
};

// Named colours. kCorrect / kWrong frame the panels of a prediction grid (green = the model
// was right, red = wrong). A red/green colour-blind reader cannot tell them apart, so a grid
// always prints the label as well and the frame is never the only cue.
inline constexpr Rgb kBlack{0, 0, 0};
inline constexpr Rgb kWhite{255, 255, 255};
inline constexpr Rgb kGrey{127, 127, 127};
inline constexpr Rgb kCorrect{44, 160, 44};
inline constexpr Rgb kWrong{214, 39, 40};

// Tableau's ten categorical colours (matplotlib's default colour cycle "tab10"): series of a
// chart and classes of a scatter plot, chosen to be told apart at a glance.
inline constexpr std::array<Rgb, 10> kCategoryColours = {{{31, 119, 180},
                                                          {255, 127, 14},
                                                          {44, 160, 44},
                                                          {214, 39, 40},
                                                          {148, 103, 189},
                                                          {140, 86, 75},
                                                          {227, 119, 194},
                                                          {127, 127, 127},
                                                          {188, 189, 34},
                                                          {23, 190, 207}}};

// The i-th categorical colour; cycles after ten (i >= 0).
inline Rgb category_colour(size_t i) { return kCategoryColours[i % kCategoryColours.size()]; }

}  // namespace ember::viz
