// Y4M frames (data/video.hpp) beyond test_data_kit.cpp's cases: hand-built byte buffers
// (4:2:0 with frame parameters, every truncation of a file, single-byte corruptions), error
// messages that name the file and the byte offset, and the space-time cube sampler
// (data/video_cubes.hpp): determinism per seed, bounds, alignment, frame ranges, the planes it
// cuts, and one real installed clip.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <ember/core/random.hpp>
#include <ember/data/video.hpp>
#include <ember/data/video_cubes.hpp>
#include <ember/ops/reduce_more.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <tuple>
#include <vector>

using namespace ember;
using namespace ember::data;
namespace fs = std::filesystem;

namespace {

std::string error_of(const auto& fn) {
  try {
    fn();
  } catch (const ember::Error& e) {
    return e.what();
  }
  return "<no error>";
}

// Value of plane p (0 = Y, 1 = Cb, 2 = Cr) at frame t, row r, column c in the pattern videos.
uint8_t pattern(int p, int64_t t, int64_t r, int64_t c) {
  return uint8_t((37 * t + 11 * r + 3 * c + 80 * p) % 220 + 16);
}

// A Y4M file of `frames` frames with the pattern above; `frame_line` is each frame's marker.
std::vector<uint8_t> pattern_y4m(int64_t w, int64_t h, int64_t frames, const std::string& colour,
                                 const std::string& extra = "",
                                 const std::string& frame_line = "FRAME") {
  const std::string header = "YUV4MPEG2 W" + std::to_string(w) + " H" + std::to_string(h) +
                             " F25:1 Ip A1:1 C" + colour + extra + "\n";
  std::vector<uint8_t> b(header.begin(), header.end());
  const bool mono = colour == "mono";
  const int64_t cw = colour == "444" || mono ? w : (w + 1) / 2;
  const int64_t ch = colour.rfind("420", 0) == 0 ? (h + 1) / 2 : h;
  for (int64_t t = 0; t < frames; ++t) {
    b.insert(b.end(), frame_line.begin(), frame_line.end());
    b.push_back('\n');
    for (int64_t r = 0; r < h; ++r)
      for (int64_t c = 0; c < w; ++c) b.push_back(pattern(0, t, r, c));
    if (mono) continue;
    for (int p = 1; p <= 2; ++p)
      for (int64_t r = 0; r < ch; ++r)
        for (int64_t c = 0; c < cw; ++c) b.push_back(pattern(p, t, r, c));
  }
  return b;
}

Video decode(const std::vector<uint8_t>& b, const std::string& what = "buf") {
  return decode_y4m(b.data(), b.size(), what);
}

struct TempFile {
  fs::path path;
  explicit TempFile(const std::string& name, const std::vector<uint8_t>& bytes)
      : path(fs::temp_directory_path() / ("ember_test_y4m_" + name)) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    REQUIRE(out.good());
  }
  ~TempFile() {
    std::error_code ec;
    fs::remove(path, ec);
  }
};

}  // namespace

TEST_CASE("y4m: hand-built 4:2:0 file with header and frame parameters") {
  const std::vector<uint8_t> b = pattern_y4m(6, 4, 3, "420jpeg", " XYSCSS=420JPEG", "FRAME Ixyz");
  const Video v = decode(b);
  CHECK(v.width == 6);
  CHECK(v.height == 4);
  CHECK(v.frames == 3);
  CHECK(v.fps() == 25.0);
  CHECK(v.chroma == Chroma::C420);
  CHECK(v.frame_bytes() == 24 + 2 * 6);
  for (int64_t t = 0; t < 3; ++t) {
    CHECK(v.y(t)[1 * 6 + 5] == pattern(0, t, 1, 5));
    CHECK(v.cb(t)[1 * 3 + 2] == pattern(1, t, 1, 2));
    CHECK(v.cr(t)[0] == pattern(2, t, 0, 0));
  }
  // 4:4:4, 4:2:2 and mono plane sizes.
  CHECK(decode(pattern_y4m(5, 3, 2, "444")).frame_bytes() == 45);
  CHECK(decode(pattern_y4m(5, 3, 2, "422")).frame_bytes() == 15 + 2 * 9);
  CHECK(decode(pattern_y4m(5, 3, 2, "mono")).frame_bytes() == 15);
}

TEST_CASE("y4m: malformed markers and magic are rejected with the byte offset") {
  const std::vector<uint8_t> good = pattern_y4m(4, 2, 2, "420");
  const size_t header =
      size_t(std::find(good.begin(), good.end(), uint8_t('\n')) - good.begin()) + 1;
  const size_t frame = 6 + 8 + 2 * 2;
  // "FRAMES" is not a frame marker; the second frame starts at header + frame.
  std::vector<uint8_t> b = good;
  b.insert(b.begin() + long(header + frame + 5), uint8_t('S'));
  CHECK(error_of([&] { (void)decode(b, "clip.y4m"); }) ==
        "read_video: 'clip.y4m': expected 'FRAME' at byte " + std::to_string(header + frame) +
            " (frame 1), found something else (corrupt file?)");
  std::vector<uint8_t> m = good;
  m.insert(m.begin() + 9, uint8_t('X'));  // "YUV4MPEG2X W4 ..."
  CHECK(error_of([&] { (void)decode(m); }).find("does not start with 'YUV4MPEG2'") !=
        std::string::npos);
  // A truncated file: the message names the frame, what is there and where the frame began.
  const std::vector<uint8_t> cut(good.begin(), good.end() - 3);
  CHECK(error_of([&] { (void)decode(cut, "cut.y4m"); }) ==
        "read_video: 'cut.y4m' ends inside frame 1: 9 of its 12 bytes (4x2) are there, from "
        "byte " +
            std::to_string(header + frame + 6) + " (truncated file?)");
  // Through a file the path is in the message.
  TempFile f("cut.y4m", cut);
  CHECK(error_of([&] { (void)read_video(f.path.string()); }).find("'" + f.path.string() + "'") !=
        std::string::npos);
}

TEST_CASE("y4m: every truncation is an error or a shorter whole video") {
  const std::vector<uint8_t> good = pattern_y4m(3, 3, 3, "420mpeg2");
  const Video full = decode(good);
  REQUIRE(full.frames == 3);
  const size_t header =
      size_t(std::find(good.begin(), good.end(), uint8_t('\n')) - good.begin()) + 1;
  const size_t frame = size_t(6 + full.frame_bytes());
  int errors = 0, shorter = 0;
  for (size_t n = 0; n < good.size(); ++n) {
    const std::vector<uint8_t> b(good.begin(), good.begin() + long(n));
    const bool boundary = n > header && (n - header) % frame == 0;
    try {
      const Video v = decode_y4m(b.data(), b.size(), "t");
      CHECK(boundary);  // only a cut between frames decodes
      CHECK(v.frames == int64_t((n - header) / frame));
      CHECK(std::equal(v.planes.begin(), v.planes.end(), full.planes.begin()));
      ++shorter;
    } catch (const ember::Error&) {
      CHECK(!boundary);
      ++errors;
    }
  }
  CHECK(shorter == 2);
  CHECK(errors == int(good.size()) - 2);
}

TEST_CASE("y4m: single-byte corruptions of the text never escape as anything but ember::Error") {
  const std::vector<uint8_t> good = pattern_y4m(4, 4, 2, "420");
  const size_t header =
      size_t(std::find(good.begin(), good.end(), uint8_t('\n')) - good.begin()) + 1;
  int rejected = 0;
  for (size_t i = 0; i < header + 6; ++i)
    for (uint8_t c : {uint8_t(0), uint8_t(' '), uint8_t('\n'), uint8_t('9'), uint8_t(0xff)}) {
      std::vector<uint8_t> b = good;
      if (b[i] == c) continue;
      b[i] = c;
      try {
        const Video v = decode(b);
        CHECK(int64_t(v.planes.size()) == v.frames * v.frame_bytes());
      } catch (const ember::Error&) {
        ++rejected;
      }
    }
  CHECK(rejected > 0);
}

TEST_CASE("cube positions: deterministic per seed, inside the range, on the grid") {
  const CubeSpec spec{.frames = 4, .height = 8, .width = 6, .align = 2};
  Generator g1(17), g2(17), g3(18);
  const std::vector<CubePos> a = sample_cube_positions(30, 24, 20, spec, 200, g1, 5, 21);
  const std::vector<CubePos> b = sample_cube_positions(30, 24, 20, spec, 200, g2, 5, 21);
  const std::vector<CubePos> c = sample_cube_positions(30, 24, 20, spec, 200, g3, 5, 21);
  CHECK(a == b);
  CHECK(a != c);
  std::set<int64_t> ts, tops, lefts;
  for (const CubePos& p : a) {
    CHECK((p.t >= 5 && p.t + 4 <= 21));
    CHECK((p.top >= 0 && p.top + 8 <= 24 && p.top % 2 == 0));
    CHECK((p.left >= 0 && p.left + 6 <= 20 && p.left % 2 == 0));
    ts.insert(p.t);
    tops.insert(p.top);
    lefts.insert(p.left);
  }
  // 200 draws reach every start: 13 times, 9 rows (0..16 step 2), 8 columns (0..14 step 2).
  CHECK(ts.size() == 13);
  CHECK(tops.size() == 9);
  CHECK(lefts.size() == 8);
  CHECK(*ts.rbegin() == 17);

  Generator g(1);
  CHECK(error_of([&] {
          (void)sample_cube_positions(10, 24, 20, spec, 1, g, 8, 10);
        }).find("does not fit frames [8, 10)") != std::string::npos);
  CHECK_THROWS_AS((void)sample_cube_positions(10, 6, 20, spec, 1, g), ember::Error);
  CHECK_THROWS_AS((void)sample_cube_positions(10, 24, 20, spec, 1, g, 0, 11), ember::Error);
  CHECK(sample_cube_positions(10, 24, 20, spec, 0, g).empty());
}

TEST_CASE("video_cube cuts the planes, rescales the range and checks alignment") {
  const Video v = decode(pattern_y4m(10, 8, 5, "420jpeg"));
  const CubeSpec spec{.frames = 2, .height = 4, .width = 6, .align = 2};
  const CubePos pos{.t = 2, .top = 2, .left = 4};
  const VideoCube raw = video_cube(v, pos, spec, false);
  REQUIRE(raw.y.shape() == Shape{2, 4, 6});
  REQUIRE(raw.cb.shape() == Shape{2, 2, 3});
  REQUIRE(raw.cr.shape() == Shape{2, 2, 3});
  for (int64_t t = 0; t < 2; ++t) {
    for (int64_t r = 0; r < 4; ++r)
      for (int64_t c = 0; c < 6; ++c)
        CHECK(raw.y.at({t, r, c}) == doctest::Approx(pattern(0, 2 + t, 2 + r, 4 + c) / 255.0));
    for (int64_t r = 0; r < 2; ++r)
      for (int64_t c = 0; c < 3; ++c) {
        CHECK(raw.cb.at({t, r, c}) == doctest::Approx(pattern(1, 2 + t, 1 + r, 2 + c) / 255.0));
        CHECK(raw.cr.at({t, r, c}) == doctest::Approx(pattern(2, 2 + t, 1 + r, 2 + c) / 255.0));
      }
  }
  // Limited range (the header has no XCOLORRANGE=FULL) -> full range.
  const VideoCube full = video_cube(v, pos, spec);
  CHECK(full.y.at({1, 3, 5}) == doctest::Approx((pattern(0, 3, 5, 9) - 16.0) / 219.0));
  CHECK(full.cb.at({0, 1, 2}) == doctest::Approx((pattern(1, 2, 2, 4) - 128.0) / 224.0 + 0.5));
  // A full-range video is only scaled by 1/255.
  const Video vf = decode(pattern_y4m(10, 8, 5, "420jpeg", " XCOLORRANGE=FULL"));
  CHECK(video_cube(vf, pos, spec).y.at({0, 0, 0}) == doctest::Approx(pattern(0, 2, 2, 4) / 255.0));
  // Odd corners or sizes would split a chroma sample.
  CHECK(error_of([&] {
          (void)video_cube(v, {.t = 0, .top = 1, .left = 0}, spec);
        }).find("must be multiples of 2 (rows) and 2 (columns)") != std::string::npos);
  CHECK_THROWS_AS((void)video_cube(v, {.t = 4, .top = 0, .left = 0}, spec), ember::Error);
  CHECK_THROWS_AS((void)video_cube(v, {.t = 0, .top = 6, .left = 0}, spec), ember::Error);
  // 4:2:2 halves only the columns; mono has no chroma.
  const Video v422 = decode(pattern_y4m(10, 8, 5, "422"));
  CHECK(video_cube(v422, {.t = 0, .top = 1, .left = 2}, {.frames = 1, .height = 3, .width = 4})
            .cb.shape() == Shape{1, 3, 2});
  const VideoCube mono = video_cube(decode(pattern_y4m(10, 8, 5, "mono")), pos, spec);
  CHECK(!mono.cb.defined());
  CHECK(mono.y.shape() == Shape{2, 4, 6});

  // crop_cube: the same window of a tensor [F, H, W].
  Tensor<float> frames = Tensor<float>::empty({5, 8, 10});
  for (int64_t t = 0; t < 5; ++t)
    for (int64_t r = 0; r < 8; ++r)
      for (int64_t c = 0; c < 10; ++c) frames.at({t, r, c}) = float(pattern(0, t, r, c)) / 255.0f;
  const Tensor<float> cc = crop_cube(frames, pos, spec);
  CHECK(cc.shape() == Shape{2, 4, 6});
  const std::vector<float> a = cc.to_vector(), b = raw.y.to_vector();
  for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] == doctest::Approx(b[i]).epsilon(1e-6));
  CHECK_THROWS_AS((void)crop_cube(frames, {.t = 4, .top = 0, .left = 0}, spec), ember::Error);
}

TEST_CASE("installed clip: cubes of realshort, and a truncated copy of it") {
  const Video v = load_video("realshort");
  REQUIRE(v.frames == 36);
  REQUIRE(v.width == 320);
  REQUIRE(v.height == 240);
  const CubeSpec spec{.frames = 8, .height = 64, .width = 64, .align = 8};
  Generator gen(2023);
  // The time split of the note: the first 70% of the frames for training.
  const int64_t split = v.frames * 7 / 10;
  const std::vector<CubePos> pos = sample_cube_positions(v, spec, 16, gen, 0, split);
  double luma = 0.0;
  for (const CubePos& p : pos) {
    CHECK(p.t + 8 <= split);
    const VideoCube c = video_cube(v, p, spec);
    CHECK(c.y.shape() == Shape{8, 64, 64});
    CHECK(c.cb.shape() == Shape{8, 32, 32});
    CHECK(min(c.y).item() > -0.1f);
    CHECK(max(c.y).item() < 1.1f);
    CHECK(min(c.cr).item() > -0.1f);
    CHECK(max(c.cr).item() < 1.1f);
    CHECK(c.y.at({3, 10, 20}) ==
          doctest::Approx((v.y(p.t + 3)[(p.top + 10) * 320 + p.left + 20] - 16.0) / 219.0));
    luma += mean(c.y).item();
  }
  luma /= double(pos.size());
  CHECK((luma > 0.05 && luma < 0.95));  // a real picture, not a constant

  // Cut the installed file inside frame 20: the error names the copy and the byte offset.
  std::ifstream in(require_data("video/realshort.y4m", "the realshort video"), std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  const size_t header =
      size_t(std::find(bytes.begin(), bytes.end(), uint8_t('\n')) - bytes.begin()) + 1;
  const size_t frame = size_t(6 + v.frame_bytes());
  bytes.resize(header + 20 * frame + 6 + 1000);
  TempFile f("realshort_cut.y4m", bytes);  // no sidecar beside the copy
  CHECK(error_of([&] { (void)read_video(f.path.string()); }) ==
        "read_video: '" + f.path.string() + "' ends inside frame 20: 1000 of its 115200 bytes " +
            "(320x240) are there, from byte " + std::to_string(header + 20 * frame + 6) +
            " (truncated file?)");
}
