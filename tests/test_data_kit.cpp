// The offline-data kit: data_root / require_data, the photo catalogue and the Y4M video
// reader, on fixtures under tests/fixtures/data_kit/; then the real installed data, which
// tools/setup.sh puts in place (those tests fail, not skip, when the data are missing).
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "ember/data/data_root.hpp"
#include "ember/data/photos.hpp"
#include "ember/data/video.hpp"

#ifndef EMBER_SOURCE_DIR
#error "EMBER_SOURCE_DIR must point at the source tree (tests/fixtures/data_kit/)"
#endif

namespace {

namespace fs = std::filesystem;
using namespace ember::data;

const std::string kFixtures = EMBER_SOURCE_DIR "/tests/fixtures/data_kit";

// Sets or unsets EMBER_DATA for one scope and restores the previous value.
class ScopedDataEnv {
 public:
  explicit ScopedDataEnv(const char* value) {
    if (const char* old = std::getenv("EMBER_DATA")) old_ = old;
    if (value != nullptr)
      ::setenv("EMBER_DATA", value, 1);
    else
      ::unsetenv("EMBER_DATA");
  }
  ~ScopedDataEnv() {
    if (old_)
      ::setenv("EMBER_DATA", old_->c_str(), 1);
    else
      ::unsetenv("EMBER_DATA");
  }
  ScopedDataEnv(const ScopedDataEnv&) = delete;
  ScopedDataEnv& operator=(const ScopedDataEnv&) = delete;

 private:
  std::optional<std::string> old_;
};

// A fresh empty folder under the system temp dir, removed at scope end.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name)
      : path(fs::temp_directory_path() /
             ("ember_data_kit_" + name + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  REQUIRE(out.good());
}

std::string error_of(const auto& fn) {
  try {
    fn();
  } catch (const ember::Error& e) {
    return e.what();
  }
  return "<no error>";
}

// A one-frame Y4M built by hand: header, "FRAME\n", then the planes.
std::vector<uint8_t> y4m_bytes(const std::string& header, const std::vector<uint8_t>& planes) {
  std::vector<uint8_t> b(header.begin(), header.end());
  const std::string frame = "FRAME\n";
  b.insert(b.end(), frame.begin(), frame.end());
  b.insert(b.end(), planes.begin(), planes.end());
  return b;
}

Video decode(const std::vector<uint8_t>& bytes) {
  return decode_y4m(bytes.data(), bytes.size(), "hand-made");
}

}  // namespace

TEST_CASE("data_root: EMBER_DATA overrides the default folder") {
  {
    ScopedDataEnv env(nullptr);
    CHECK(data_root() == "/usr/local/share/ember/data");
  }
  {
    ScopedDataEnv env("");  // empty counts as unset
    CHECK(data_root() == "/usr/local/share/ember/data");
  }
  ScopedDataEnv env("/somewhere/else");
  CHECK(data_root() == "/somewhere/else");
}

TEST_CASE("require_data: the path when present, the setup message when missing") {
  TempDir dir("require");
  write_text(dir.path / "present.txt", "x");
  ScopedDataEnv env(dir.path.c_str());
  CHECK(require_data("present.txt", "the present file") == (dir.path / "present.txt").string());

  const std::string missing = (dir.path / "video/none.y4m").string();
  CHECK(error_of([] { (void)require_data("video/none.y4m", "the none video"); }) ==
        "the none video not found at " + missing +
            ": run tools/setup.sh (it installs the examples' data; EMBER_DATA overrides the "
            "folder)");
  CHECK_THROWS_AS((void)require_data("", "nothing"), ember::Error);
}

TEST_CASE("photo_catalogue: parses the fixture catalogue") {
  const std::vector<PhotoEntry> photos = photo_catalogue(kFixtures);
  REQUIRE(photos.size() == 2);
  CHECK(photos[0].id == "grey");
  CHECK(photos[0].file == "grey_8x6.png");
  CHECK(photos[0].source == "ember-tests");
  CHECK(photos[0].licence == "CC0-1.0");
  CHECK(photos[0].group == "pair");
  CHECK(photos[0].width == 8);
  CHECK(photos[0].height == 6);
  CHECK(photos[0].description == "greyscale ramp");
  CHECK(photos[1].id == "colour");
  CHECK(photos[1].group == photos[0].group);
  CHECK(photos[1].description == "red-to-green ramp, blue 100");
}

TEST_CASE("load_photo: RGB out, greyscale replicated, size checked against the catalogue") {
  const std::vector<PhotoEntry> photos = photo_catalogue(kFixtures);
  const Image grey = load_photo(photos[0], kFixtures);
  REQUIRE(grey.channels == 3);
  REQUIRE(grey.width == 8);
  REQUIRE(grey.height == 6);
  // grey_8x6.png holds pixel i = 5 * i (row-major); every channel carries it.
  for (int i : {0, 7, 8, 47})
    for (int c = 0; c < 3; ++c) CHECK(int(grey.pixels[size_t(i) * 3 + size_t(c)]) == 5 * i);

  const Image colour = load_photo(photos[1], kFixtures);
  REQUIRE(colour.channels == 3);
  CHECK(int(colour.pixels[3 * 19 + 0]) == 19 * 12);  // rgb_5x4.png: (12 i, 255 - 12 i, 100)
  CHECK(int(colour.pixels[3 * 19 + 1]) == 255 - 19 * 12);
  CHECK(int(colour.pixels[3 * 19 + 2]) == 100);

  PhotoEntry wrong = photos[1];
  wrong.width = 6;
  CHECK(error_of([&] { (void)load_photo(wrong, kFixtures); }).find("the catalogue says 6x4") !=
        std::string::npos);
  PhotoEntry gone = photos[1];
  gone.file = "gone.png";
  CHECK(error_of([&] {
          (void)load_photo(gone, kFixtures);
        }).find("photo 'colour' not found at " + kFixtures + "/gone.png: run tools/setup.sh") !=
        std::string::npos);
}

TEST_CASE("photo_catalogue: errors name the file and the line") {
  const std::string header = "id\tfile\tsource\tlicence\tgroup\twidth\theight\tdescription\n";
  const auto err = [](const std::string& text) {
    return error_of([&] { (void)parse_photo_catalogue(text, "cat.tsv"); });
  };
  CHECK(err("# only a comment\n").find("cat.tsv has no header line") != std::string::npos);
  CHECK(err("id\tfile\n").find("cat.tsv:1: expected 8 tab-separated fields, got 2") !=
        std::string::npos);
  CHECK(err("id\tpath\tsource\tlicence\tgroup\twidth\theight\tdescription\n")
            .find("cat.tsv:1: header column 2 is 'path', expected 'file'") != std::string::npos);
  CHECK(err("# c\n" + header + "a\tx.png\ts\tl\tg\t0\t5\td\n")
            .find("cat.tsv:3: width must be a positive integer, got '0'") != std::string::npos);
  CHECK(err(header + "a\tx.png\ts\tl\tg\t4\t5x\td\n")
            .find("cat.tsv:2: height must be a positive integer, got '5x'") != std::string::npos);
  CHECK(err(header + "a\tx.png\ts\tl\tg\t4\t5\td\na\ty.png\ts\tl\tg\t4\t5\td\n")
            .find("cat.tsv:3: id 'a' appears twice") != std::string::npos);
  CHECK(err(header + "a\t../x.png\ts\tl\tg\t4\t5\td\n").find("cat.tsv:2: file '../x.png' leaves") !=
        std::string::npos);
  CHECK(err(header + "a\t/etc/x.png\ts\tl\tg\t4\t5\td\n").find("cat.tsv:2: file must be a path") !=
        std::string::npos);
  CHECK(err(header + "a\tx.png\ts\tl\t\t4\t5\td\n").find("cat.tsv:2: group is empty") !=
        std::string::npos);
  CHECK(err(header + "a\tx.png\ts\tl\tg\t4\t5\n").find("cat.tsv:2: expected 8") !=
        std::string::npos);
  // CRLF line ends and an empty description are fine.
  const auto ok = parse_photo_catalogue(
      "id\tfile\tsource\tlicence\tgroup\twidth\theight\tdescription\r\na\tx."
      "png\ts\tl\tg\t4\t5\t\r\n",
      "crlf.tsv");
  REQUIRE(ok.size() == 1);
  CHECK(ok[0].height == 5);
  CHECK(ok[0].description.empty());

  TempDir dir("nocat");
  CHECK(error_of([&] { (void)photo_catalogue(dir.path.string()); }) ==
        "the photo catalogue not found at " + (dir.path / "photos.tsv").string() +
            ": run tools/setup.sh (it installs the examples' data; EMBER_DATA overrides the "
            "folder)");
}

TEST_CASE("read_video: the ffmpeg fixture, against ffmpeg's own RGB conversion") {
  // tiny.y4m: ffmpeg -f lavfi -i testsrc2=size=16x12:rate=5 -frames:v 3 -vf format=yuv420p
  //   -color_range tv -f yuv4mpegpipe; tiny_rgb24.raw: ffmpeg -i tiny.y4m -pix_fmt rgb24 -f
  //   rawvideo.
  const Video v = read_video(kFixtures + "/tiny.y4m");
  CHECK(v.width == 16);
  CHECK(v.height == 12);
  CHECK(v.frames == 3);
  CHECK(v.fps_num == 5);
  CHECK(v.fps_den == 1);
  CHECK(v.chroma == Chroma::C420);
  CHECK_FALSE(v.full_range);
  CHECK(v.chroma_width() == 8);
  CHECK(v.chroma_height() == 6);
  CHECK(v.frame_bytes() == 16 * 12 + 2 * 8 * 6);
  CHECK(v.planes.size() == size_t(3 * v.frame_bytes()));

  const std::vector<uint8_t> ref = read_bytes(kFixtures + "/tiny_rgb24.raw");
  REQUIRE(ref.size() == size_t(3 * 12 * 16 * 3));
  const ember::Tensor<uint8_t> t = video_tensor_rgb(v);
  REQUIRE(t.shape() == ember::Shape{3, 12, 16, 3});
  int worst = 0;
  for (size_t i = 0; i < ref.size(); ++i)
    worst = std::max(worst, std::abs(int(t.data_ptr()[i]) - int(ref[i])));
  // ffmpeg converts with fixed-point tables; ember with floats: they differ by rounding only.
  CHECK(worst <= 3);

  const std::vector<Image> frames = video_frames_rgb(v, 1, 2);
  REQUIRE(frames.size() == 2);
  CHECK(frames[0].pixels == video_frame_rgb(v, 1).pixels);
  CHECK(
      std::equal(frames[1].pixels.begin(), frames[1].pixels.end(), t.data_ptr() + 2 * 12 * 16 * 3));
  CHECK_THROWS_AS((void)video_frame_rgb(v, 3), ember::Error);
  CHECK_THROWS_AS((void)video_tensor_rgb(v, 2, 2), ember::Error);
  CHECK_THROWS_AS((void)v.y(-1), ember::Error);
}

TEST_CASE("read_video: BT.601 colours, limited and full range, mono and 4:4:4") {
  // BT.601 limited-range red is (Y, Cb, Cr) = (81, 90, 240); black 16, white 235.
  const Video red =
      decode(y4m_bytes("YUV4MPEG2 W2 H2 F25:1 C420jpeg\n", {81, 81, 81, 81, 90, 240}));
  const Image r = video_frame_rgb(red, 0);
  for (int p = 0; p < 4; ++p) {
    CHECK(int(r.pixels[size_t(p) * 3 + 0]) >= 253);
    CHECK(int(r.pixels[size_t(p) * 3 + 1]) <= 2);
    CHECK(int(r.pixels[size_t(p) * 3 + 2]) <= 2);
  }
  // 4:4:4: one chroma sample per pixel. Black, white, and full-scale clipping.
  const Video bw = decode(y4m_bytes("YUV4MPEG2 W2 H1 C444\n", {16, 235, 128, 128, 128, 128}));
  const Image b = video_frame_rgb(bw, 0);
  CHECK(std::vector<uint8_t>(b.pixels.begin(), b.pixels.end()) ==
        std::vector<uint8_t>{0, 0, 0, 255, 255, 255});
  // Full range: red is (76, 85, 255) and Y passes through unscaled.
  const Video full =
      decode(y4m_bytes("YUV4MPEG2 W2 H1 C444 XCOLORRANGE=FULL\n", {76, 100, 85, 128, 255, 128}));
  CHECK(full.full_range);
  const Image f = video_frame_rgb(full, 0);
  CHECK(int(f.pixels[0]) >= 253);
  CHECK(int(f.pixels[1]) <= 2);
  CHECK(int(f.pixels[2]) <= 2);
  CHECK(std::vector<uint8_t>(f.pixels.begin() + 3, f.pixels.end()) ==
        std::vector<uint8_t>{100, 100, 100});
  // Mono: no chroma planes, grey replicated.
  const Video mono = decode(y4m_bytes("YUV4MPEG2 W3 H1 Cmono XCOLORRANGE=FULL\n", {0, 7, 255}));
  CHECK(mono.cb(0) == nullptr);
  CHECK(video_frame_rgb(mono, 0).pixels == std::vector<uint8_t>{0, 0, 0, 7, 7, 7, 255, 255, 255});
  // Odd sizes round the 4:2:0 chroma planes up.
  const Video odd = decode(y4m_bytes("YUV4MPEG2 W3 H3\n", std::vector<uint8_t>(9 + 2 * 4, 128)));
  CHECK(odd.chroma_width() == 2);
  CHECK(odd.frame_bytes() == 17);
}

TEST_CASE("read_video: truncated and malformed files are ember::Errors") {
  const std::vector<uint8_t> good = read_bytes(kFixtures + "/tiny.y4m");
  TempDir dir("video");

  // Cut inside the last frame.
  std::vector<uint8_t> cut(good.begin(), good.end() - 10);
  write_bytes(dir.path / "cut.y4m", cut);
  CHECK(error_of([&] {
          (void)read_video((dir.path / "cut.y4m").string());
        }).find("ends inside frame 2: 278 of its 288 bytes") != std::string::npos);

  // Cut at a frame boundary: only the sidecar's count shows it.
  const size_t one_frame = 6 + 288;
  std::vector<uint8_t> short_file(good.begin(), good.end() - long(one_frame));
  write_bytes(dir.path / "short.y4m", short_file);
  CHECK(read_video((dir.path / "short.y4m").string()).frames == 2);
  write_text(dir.path / "short.txt", "width 16\nheight 12\nframes 3\n");
  CHECK(error_of([&] {
          (void)read_video((dir.path / "short.y4m").string());
        }).find("holds 2 frames, but '" + (dir.path / "short.txt").string() + "' says 3") !=
        std::string::npos);
  write_text(dir.path / "short.txt", "width 32\nheight 12\nframes 2\n");
  CHECK_THROWS_AS((void)read_video((dir.path / "short.y4m").string()), ember::Error);

  // Header only, a broken frame marker, a header cut before its newline.
  const auto header_end = std::find(good.begin(), good.end(), uint8_t('\n')) + 1;
  const std::vector<uint8_t> header_only(good.begin(), header_end);
  CHECK(error_of([&] {
          (void)decode_y4m(header_only.data(), header_only.size(), "h");
        }).find("holds a header but no frame") != std::string::npos);
  std::vector<uint8_t> bad_marker = good;
  bad_marker[size_t(header_end - good.begin())] = 'X';
  CHECK(error_of([&] {
          (void)decode_y4m(bad_marker.data(), bad_marker.size(), "m");
        }).find("expected 'FRAME'") != std::string::npos);
  const std::vector<uint8_t> no_newline(good.begin(), header_end - 1);
  CHECK(error_of([&] {
          (void)decode_y4m(no_newline.data(), no_newline.size(), "n");
        }).find("ends without a newline (truncated file?)") != std::string::npos);

  const auto bad = [](const std::string& header) {
    const std::vector<uint8_t> b = y4m_bytes(header, std::vector<uint8_t>(6, 0));
    return error_of([&] { (void)decode_y4m(b.data(), b.size(), "x"); });
  };
  CHECK(bad("RIFF W2 H2\n").find("does not start with 'YUV4MPEG2'") != std::string::npos);
  CHECK(bad("YUV4MPEG2 W2\n").find("lacks H (height)") != std::string::npos);
  CHECK(bad("YUV4MPEG2 W0 H2\n").find("bad width 'W0'") != std::string::npos);
  CHECK(bad("YUV4MPEG2 W2 H2 C420p10\n").find("colour space 'C420p10' is not supported") !=
        std::string::npos);
  CHECK(bad("YUV4MPEG2 W2 H2 F25\n").find("bad frame rate 'F25'") != std::string::npos);
  CHECK_THROWS_AS((void)decode_y4m(nullptr, 0), ember::Error);
  CHECK(error_of([&] {
          (void)read_video((dir.path / "none.y4m").string());
        }).find("no such file") != std::string::npos);
}

// The real data: installed by tools/setup.sh (data/install.sh) into $EMBER_DATA or
// /usr/local/share/ember/data. Missing data is a failure whose message names the fix.
TEST_CASE("installed data: the photo catalogue loads every photo it lists") {
  const std::vector<PhotoEntry> photos = photo_catalogue();
  // The installed copy is the repository's catalogue (install.sh recopies it when it changes).
  const std::vector<PhotoEntry> repo = photo_catalogue(EMBER_SOURCE_DIR "/data");
  REQUIRE(photos.size() == repo.size());
  CHECK(photos.size() >= 80);
  std::vector<std::string> groups;
  for (size_t i = 0; i < photos.size(); ++i) {
    CAPTURE(photos[i].id);
    CHECK(photos[i].id == repo[i].id);
    const Image img = load_photo(photos[i]);  // checks the catalogue's width and height
    CHECK(img.channels == 3);
    CHECK(std::min(img.width, img.height) >= 128);  // no tiny images in the catalogue
    groups.push_back(photos[i].group);
  }
  std::sort(groups.begin(), groups.end());
  CHECK(std::unique(groups.begin(), groups.end()) - groups.begin() >= 40);
}

TEST_CASE("installed data: the decoded video clips are complete") {
  struct Clip {
    const char* name;
    int width, height;
    int64_t frames;
  };
  for (const Clip c : {Clip{"cockatoo", 320, 180, 280}, Clip{"realshort", 320, 240, 36},
                       Clip{"vtest", 384, 288, 240}}) {
    CAPTURE(c.name);
    const Video v = load_video(c.name);  // checks the frame count against the sidecar
    CHECK(v.width == c.width);
    CHECK(v.height == c.height);
    CHECK(v.frames == c.frames);
    CHECK(v.chroma == Chroma::C420);
    CHECK(video_tensor_rgb(v, v.frames - 1, 1).shape() == ember::Shape{1, c.height, c.width, 3});
  }
}
