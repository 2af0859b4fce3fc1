// One PLplot stream drawing into an ember image, opened and closed by one object.
//
// PLplot keeps global state (the current stream, colour maps, the abort handler), so every
// figure is drawn inside one Stream: it takes a process-wide lock, makes a fresh stream with
// plmkstrm, and on destruction ends it with plend1 and makes the previous stream current
// again, so two figures never share state even when one of them fails halfway.
//
// The stream uses PLplot's "memcairo" device, which draws with cairo (anti-aliased lines,
// pango text) straight into the caller's RGB buffer and leaves the pixels already there
// alone. Nothing is written to disk by PLplot: Figure::save_png writes the PNG, which is how
// an unwritable path becomes an ember::Error instead of PLplot's retry-then-exit().
#pragma once

#include <plplot/plplot.h>

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "ember/core/error.hpp"
#include "ember/data/image.hpp"
#include "ember/viz/color.hpp"

namespace ember::plot::detail {

inline std::mutex& plplot_mutex() {
  static std::mutex m;
  return m;
}

// PLplot reports recoverable errors through plabort, which calls this handler; the stream
// collects the messages and turns them into an ember::Error when the figure is finished.
inline std::string& plplot_errors() {
  static std::string errors;
  return errors;
}

inline void collect_plplot_error(PLCHAR_VECTOR message) {
  std::string& e = plplot_errors();
  if (!e.empty()) e += "; ";
  e += message ? message : "unknown error";
}

// True when PLplot can load the memcairo device (Debian: plplot-driver-cairo). Asking first
// matters: with an unknown device plinit() prompts on stdin for another one.
inline bool memcairo_available() {
  std::vector<const char*> menu(128), names(128);  // PLplot fills these, up to n entries
  const char** menu_p = menu.data();
  const char** names_p = names.data();
  int n = static_cast<int>(names.size());
  plgDevs(&menu_p, &names_p, &n);
  n = std::clamp(n, 0, static_cast<int>(names.size()));
  return std::any_of(names.begin(), names.begin() + n,
                     [](const char* s) { return s && std::string(s) == "memcairo"; });
}

// PLplot's text escape character is '#' ("#u" = superscript ...); a literal '#' is "##".
inline std::string escape_text(const std::string& s) {
  std::string out;
  for (char c : s) {
    out += c;
    if (c == '#') out += '#';
  }
  return out;
}

// cmap0 slots: 0 background, 1 text and axes, 2 grid lines, kFirstSeries + i the i-th series.
inline constexpr int kBackground = 0, kInk = 1, kGrid = 2, kFirstSeries = 16;

class Stream {
 public:
  // Starts a stream drawing into `canvas` (RGB, already filled with the background) with
  // `n_series` series colours; `fn` names the chart in error messages.
  Stream(data::Image& canvas, int n_series, const char* fn) : lock_(plplot_mutex()), fn_(fn) {
    EMBER_CHECK(canvas.channels == 3, fn, ": canvas must be RGB");
    EMBER_CHECK(memcairo_available(), fn,
                ": PLplot's cairo driver (device 'memcairo') is not "
                "installed; install it with: apt-get install plplot-driver-cairo");
    plgstrm(&previous_);
    plmkstrm(&stream_);
    EMBER_CHECK(stream_ >= 0, fn, ": PLplot has no free stream (too many streams open?)");
    plplot_errors().clear();
    plsabort(&collect_plplot_error);
    plsdev("memcairo");
    plsmem(canvas.width, canvas.height, canvas.pixels.data());
    plscmap0n(kFirstSeries + std::max(n_series, 1));
    set_slot(kBackground, viz::kWhite);
    set_slot(kInk, viz::kBlack);
    set_slot(kGrid, viz::Rgb{220, 220, 220});
    plinit();
    open_ = true;
    pladv(0);
    PLFLT xmin = 0, xmax = 0, ymin = 0, ymax = 0;  // the page in millimetres
    plgspa(&xmin, &xmax, &ymin, &ymax);
    px_per_mm_ = xmax > xmin ? canvas.width / (xmax - xmin) : 90.0 / 25.4;
    plcol0(kInk);
  }

  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  ~Stream() { close(); }

  // Ends the stream (the drawing lands in the canvas) and throws if PLplot reported errors.
  void finish() {
    close();
    const std::string errors = plplot_errors();
    EMBER_CHECK(errors.empty(), fn_, ": PLplot reported: ", errors);
  }

  static void set_slot(int slot, viz::Rgb c) { plscol0a(slot, c.r, c.g, c.b, 1.0); }

  // Character height in pixels (PLplot measures it in millimetres).
  void text_px(double px) const { plschr(px / px_per_mm_, 1.0); }

  double px_per_mm() const { return px_per_mm_; }

 private:
  void close() {
    if (!open_) return;
    open_ = false;
    plend1();
    plsstrm(previous_);
    plsabort(nullptr);
  }

  std::lock_guard<std::mutex> lock_;
  const char* fn_;
  PLINT previous_ = 0, stream_ = -1;
  bool open_ = false;
  double px_per_mm_ = 90.0 / 25.4;
};

}  // namespace ember::plot::detail
