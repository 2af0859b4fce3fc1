// Decoded video clips: YUV4MPEG2 (.y4m) files, the raw format ffmpeg writes with
// `-f yuv4mpegpipe`. data/install.sh decodes the examples' clips once into
// $EMBER_DATA/video/<name>.y4m (8-bit 4:2:0, BT.601, limited range) with a sidecar
// <name>.txt ("key value" lines) that records width, height and the frame count.
//
// A Y4M file is a text header line ("YUV4MPEG2 W320 H240 F30:1 C420jpeg ..."), then per frame
// a line starting with "FRAME" and the Y, Cb and Cr planes. Nothing records how many frames
// there should be, so a file cut at a frame boundary looks complete: the sidecar's count
// catches that; a cut inside a frame is caught by the planes' sizes.
//
// The raw planes serve codec-style work (block DCT on Y, 4:2:0 cubes); video_frame_rgb and
// video_tensor_rgb convert to RGB (nearest-neighbour chroma, BT.601).
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "ember/core/error.hpp"
#include "ember/core/tensor.hpp"
#include "ember/data/data_root.hpp"
#include "ember/data/image.hpp"

namespace ember::data {

enum class Chroma { Mono, C420, C422, C444 };

struct Video {
  int width = 0, height = 0;
  int fps_num = 0, fps_den = 1;  // 0/1 when the header gives no rate
  Chroma chroma = Chroma::C420;
  bool full_range = false;  // XCOLORRANGE=FULL; otherwise limited (Y 16..235, C 16..240)
  int64_t frames = 0;
  std::vector<uint8_t> planes;  // frame after frame: Y (height x width), then Cb, then Cr

  int chroma_width() const {
    return chroma == Chroma::C444 ? width : chroma == Chroma::Mono ? 0 : (width + 1) / 2;
  }
  int chroma_height() const {
    return chroma == Chroma::C420 ? (height + 1) / 2 : chroma == Chroma::Mono ? 0 : height;
  }
  int64_t luma_bytes() const { return int64_t{width} * height; }
  int64_t chroma_bytes() const { return int64_t{chroma_width()} * chroma_height(); }
  int64_t frame_bytes() const { return luma_bytes() + 2 * chroma_bytes(); }
  double fps() const { return fps_num > 0 && fps_den > 0 ? double(fps_num) / fps_den : 0.0; }

  const uint8_t* y(int64_t t) const { return frame(t, "Video::y"); }
  // nullptr for a greyscale (Cmono) video.
  const uint8_t* cb(int64_t t) const {
    return chroma == Chroma::Mono ? nullptr : frame(t, "Video::cb") + luma_bytes();
  }
  const uint8_t* cr(int64_t t) const {
    return chroma == Chroma::Mono ? nullptr : frame(t, "Video::cr") + luma_bytes() + chroma_bytes();
  }

 private:
  const uint8_t* frame(int64_t t, const char* fn) const {
    EMBER_CHECK(t >= 0 && t < frames, fn, ": frame ", t, " out of range for a video of ", frames,
                " frames");
    return planes.data() + t * frame_bytes();
  }
};

namespace detail {

// Largest side ember accepts in a Y4M header; keeps every size product far from overflow.
inline constexpr int kVideoMaxSide = 1 << 15;
// A header or frame line longer than this is not Y4M.
inline constexpr size_t kY4mMaxLine = 4096;

inline bool parse_int_field(std::string_view s, int& out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

// The line starting at pos (without its '\n'); pos moves past the '\n'.
inline std::string_view y4m_line(const uint8_t* data, size_t size, size_t& pos,
                                 const std::string& what, const char* kind) {
  const size_t limit = std::min(size, pos + kY4mMaxLine);
  for (size_t i = pos; i < limit; ++i) {
    if (data[i] == '\n') {
      std::string_view line(reinterpret_cast<const char*>(data + pos), i - pos);
      pos = i + 1;
      return line;
    }
  }
  fail("read_video: '", what, "': the ", kind, " line at byte ", pos,
       limit == size ? " ends without a newline (truncated file?)"
                     : " is longer than 4096 bytes (not a Y4M file?)");
}

inline void parse_y4m_header(std::string_view line, Video& v, const std::string& what) {
  constexpr std::string_view magic = "YUV4MPEG2";
  EMBER_CHECK(line.substr(0, magic.size()) == magic &&
                  (line.size() == magic.size() || line[magic.size()] == ' '),
              "read_video: '", what,
              "' does not start with 'YUV4MPEG2'; expected a Y4M file (ffmpeg -f yuv4mpegpipe)");
  bool has_w = false, has_h = false;
  for (size_t pos = magic.size(); pos < line.size();) {
    if (line[pos] == ' ') {
      ++pos;
      continue;
    }
    size_t end = line.find(' ', pos);
    if (end == std::string_view::npos) end = line.size();
    const std::string_view tok = line.substr(pos, end - pos);
    pos = end;
    const std::string_view arg = tok.substr(1);
    switch (tok[0]) {
      case 'W':
        has_w = parse_int_field(arg, v.width);
        EMBER_CHECK(has_w && v.width > 0 && v.width <= kVideoMaxSide, "read_video: '", what,
                    "': bad width '", tok, "'; expected W1..W", kVideoMaxSide);
        break;
      case 'H':
        has_h = parse_int_field(arg, v.height);
        EMBER_CHECK(has_h && v.height > 0 && v.height <= kVideoMaxSide, "read_video: '", what,
                    "': bad height '", tok, "'; expected H1..H", kVideoMaxSide);
        break;
      case 'F': {
        const size_t colon = arg.find(':');
        const bool ok =
            colon != std::string_view::npos && parse_int_field(arg.substr(0, colon), v.fps_num) &&
            parse_int_field(arg.substr(colon + 1), v.fps_den) && v.fps_num >= 0 && v.fps_den > 0;
        EMBER_CHECK(ok, "read_video: '", what, "': bad frame rate '", tok, "'; expected Fnum:den");
        break;
      }
      case 'C':
        if (arg == "mono")
          v.chroma = Chroma::Mono;
        else if (arg == "420jpeg" || arg == "420mpeg2" || arg == "420paldv" || arg == "420")
          v.chroma = Chroma::C420;
        else if (arg == "422")
          v.chroma = Chroma::C422;
        else if (arg == "444")
          v.chroma = Chroma::C444;
        else
          fail("read_video: '", what, "': colour space '", tok,
               "' is not supported; expected 8-bit Cmono, C420*, C422 or C444");
        break;
      case 'X':
        if (arg == "COLORRANGE=FULL")
          v.full_range = true;
        else if (arg == "COLORRANGE=LIMITED")
          v.full_range = false;
        break;  // other extensions carry nothing the reader needs
      default:
        break;  // I (interlacing) and A (pixel aspect) do not change the planes
    }
  }
  EMBER_CHECK(has_w && has_h, "read_video: '", what, "': the header lacks ",
              has_w ? "H (height)" : "W (width)");
}

// "key value" lines of the sidecar written by data/install.sh; an absent key gives -1.
inline int64_t sidecar_value(const std::string& text, std::string_view key) {
  std::istringstream in(text);
  std::string k;
  int64_t v = 0;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    if (ls >> k && k == key && ls >> v) return v;
  }
  return -1;
}

}  // namespace detail

// Parses Y4M bytes held in memory; `what` names the source in errors.
inline Video decode_y4m(const uint8_t* data, size_t size, const std::string& what = "<memory>") {
  EMBER_CHECK(data != nullptr && size > 0, "read_video: '", what, "' is empty; expected Y4M bytes");
  Video v;
  size_t pos = 0;
  detail::parse_y4m_header(detail::y4m_line(data, size, pos, what, "header"), v, what);
  const auto frame_bytes = static_cast<size_t>(v.frame_bytes());
  // A frame is at least "FRAME\n" plus its planes, which bounds the count before any allocation.
  v.planes.reserve((size - pos) / (frame_bytes + 6) * frame_bytes);
  while (pos < size) {
    const size_t line_at = pos;
    const std::string_view line = detail::y4m_line(data, size, pos, what, "frame");
    // "FRAME", optionally followed by space-separated frame parameters (ignored).
    EMBER_CHECK(line.substr(0, 5) == "FRAME" && (line.size() == 5 || line[5] == ' '),
                "read_video: '", what, "': expected 'FRAME' at byte ", line_at, " (frame ",
                v.frames, "), found something else (corrupt file?)");
    EMBER_CHECK(size - pos >= frame_bytes, "read_video: '", what, "' ends inside frame ", v.frames,
                ": ", size - pos, " of its ", frame_bytes, " bytes (", v.width, "x", v.height,
                ") are there, from byte ", pos, " (truncated file?)");
    v.planes.insert(v.planes.end(), data + pos, data + pos + frame_bytes);
    pos += frame_bytes;
    ++v.frames;
  }
  EMBER_CHECK(v.frames > 0, "read_video: '", what, "' holds a header but no frame");
  return v;
}

// Reads a .y4m file. When a sidecar <stem>.txt sits beside it (data/install.sh writes one),
// its width, height and frame count must agree with the file.
inline Video read_video(const std::string& path) {
  std::error_code ec;
  EMBER_CHECK(std::filesystem::is_regular_file(path, ec), "read_video: cannot open '", path,
              "': no such file; expected a .y4m video");
  const auto size = std::filesystem::file_size(path, ec);
  EMBER_CHECK(!ec, "read_video: cannot stat '", path, "': ", ec.message());
  std::ifstream in(path, std::ios::binary);
  EMBER_CHECK(in.good(), "read_video: cannot open '", path, "'");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  EMBER_CHECK(static_cast<uintmax_t>(in.gcount()) == size, "read_video: error reading '", path,
              "': got ", in.gcount(), " of ", size, " bytes");
  Video v = decode_y4m(bytes.data(), bytes.size(), path);

  const std::string sidecar = std::filesystem::path(path).replace_extension(".txt").string();
  if (std::filesystem::exists(sidecar, ec)) {
    std::ifstream s(sidecar);
    const std::string text((std::istreambuf_iterator<char>(s)), std::istreambuf_iterator<char>());
    const int64_t frames = detail::sidecar_value(text, "frames");
    const int64_t w = detail::sidecar_value(text, "width"),
                  h = detail::sidecar_value(text, "height");
    EMBER_CHECK(frames < 0 || frames == v.frames, "read_video: '", path, "' holds ", v.frames,
                " frames, but '", sidecar, "' says ", frames,
                " (truncated file? rerun data/install.sh)");
    EMBER_CHECK((w < 0 || w == v.width) && (h < 0 || h == v.height), "read_video: '", path, "' is ",
                v.width, "x", v.height, ", but '", sidecar, "' says ", w, "x", h);
  }
  return v;
}

// An installed clip by name: "cockatoo", "realshort" or "vtest" (data/README.md).
inline Video load_video(std::string_view name, const std::string& root = data_root()) {
  const std::string what = "the " + std::string(name) + " video";
  return read_video(require_data_in(root, "video/" + std::string(name) + ".y4m", what));
}

// Frame t as 8-bit RGB (BT.601; each chroma sample covers the pixels it was subsampled from).
inline Image video_frame_rgb(const Video& v, int64_t t) {
  const uint8_t* yp = v.y(t);
  const uint8_t* cbp = v.cb(t);
  const uint8_t* crp = v.cr(t);
  // BT.601: Kr = 0.299, Kb = 0.114. Limited range stretches Y 16..235 and C 16..240.
  const float ys = v.full_range ? 1.0f : 255.0f / 219.0f;
  const float cs = v.full_range ? 1.0f : 255.0f / 224.0f;
  const float y0 = v.full_range ? 0.0f : 16.0f;
  const float rv = 1.402f * cs, gu = -0.344136f * cs, gv = -0.714136f * cs, bu = 1.772f * cs;
  const int sx = v.chroma_width() < v.width ? 2 : 1;
  const int sy = v.chroma_height() < v.height ? 2 : 1;
  const int cw = v.chroma_width();
  Image img;
  img.width = v.width;
  img.height = v.height;
  img.channels = 3;
  img.pixels.resize(static_cast<size_t>(v.luma_bytes()) * 3);
  const auto to_byte = [](float x) {
    return static_cast<uint8_t>(std::clamp(std::lround(x), 0L, 255L));
  };
  for (int r = 0; r < v.height; ++r) {
    for (int c = 0; c < v.width; ++c) {
      const float yy = ys * (float(yp[int64_t{r} * v.width + c]) - y0);
      float u = 0.0f, w = 0.0f;
      if (cbp != nullptr) {
        const int64_t k = int64_t{r / sy} * cw + c / sx;
        u = float(cbp[k]) - 128.0f;
        w = float(crp[k]) - 128.0f;
      }
      uint8_t* px = img.pixels.data() + (int64_t{r} * v.width + c) * 3;
      px[0] = to_byte(yy + rv * w);
      px[1] = to_byte(yy + gu * u + gv * w);
      px[2] = to_byte(yy + bu * u);
    }
  }
  return img;
}

// Frames [first, first + count) as RGB images; count < 0 means to the end.
inline std::vector<Image> video_frames_rgb(const Video& v, int64_t first = 0, int64_t count = -1) {
  if (count < 0) count = v.frames - first;
  EMBER_CHECK(first >= 0 && count >= 0 && first + count <= v.frames, "video_frames_rgb: frames [",
              first, ", ", first + count, ") out of range for a video of ", v.frames, " frames");
  std::vector<Image> out;
  out.reserve(static_cast<size_t>(count));
  for (int64_t t = first; t < first + count; ++t) out.push_back(video_frame_rgb(v, t));
  return out;
}

// Frames [first, first + count) as a uint8 tensor [T, H, W, 3]; count < 0 means to the end.
inline Tensor<uint8_t> video_tensor_rgb(const Video& v, int64_t first = 0, int64_t count = -1) {
  if (count < 0) count = v.frames - first;
  EMBER_CHECK(first >= 0 && count >= 0 && first + count <= v.frames, "video_tensor_rgb: frames [",
              first, ", ", first + count, ") out of range for a video of ", v.frames, " frames");
  Tensor<uint8_t> out = Tensor<uint8_t>::empty({count, v.height, v.width, 3});
  const int64_t per = v.luma_bytes() * 3;
  for (int64_t i = 0; i < count; ++i) {
    const Image img = video_frame_rgb(v, first + i);
    std::copy(img.pixels.begin(), img.pixels.end(), out.data_ptr() + i * per);
  }
  return out;
}

}  // namespace ember::data
