// IDX reader/writer and stb image IO: round trips, corrupt input, the real
// Fashion-MNIST test labels installed by tools/setup.sh.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "ember/core/error.hpp"
#include "ember/data/idx.hpp"
#include "ember/data/image.hpp"

namespace fs = std::filesystem;
using ember::data::IdxArray;

namespace {

// A fresh directory under the system temp dir, removed when the test ends.
struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    path = fs::temp_directory_path() /
           ("ember_test_idx_image_" + std::to_string(stamp) + "_" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

template <class T>
IdxArray make_idx(uint8_t code, std::vector<int64_t> dims, const std::vector<T>& values) {
  IdxArray a;
  a.type_code = code;
  a.dims = std::move(dims);
  a.bytes.resize(values.size() * sizeof(T));
  std::memcpy(a.bytes.data(), values.data(), a.bytes.size());
  return a;
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

// Message of the ember::Error `f` throws ("" and a failed check if it does not).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const ember::Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    FAIL_CHECK("expected ember::Error, got another exception: ", e.what());
    return e.what();
  }
  FAIL_CHECK("expected ember::Error, nothing was thrown");
  return "";
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

ember::data::Image gradient(int h, int w) {
  ember::data::Image img;
  img.height = h;
  img.width = w;
  img.channels = 3;
  img.pixels.resize(static_cast<size_t>(h * w * 3));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* p = &img.pixels[static_cast<size_t>((y * w + x) * 3)];
      p[0] = static_cast<uint8_t>(x * 255 / (w - 1));
      p[1] = static_cast<uint8_t>(y * 255 / (h - 1));
      p[2] = static_cast<uint8_t>((x * 7 + y * 13) & 0xFF);
    }
  return img;
}

}  // namespace

TEST_CASE("idx: write_idx/read_idx round trip, plain and gzipped") {
  TempDir dir;
  for (bool gz : {false, true}) {
    CAPTURE(gz);
    const std::string suffix = gz ? ".gz" : "";

    std::vector<uint8_t> u8(2 * 3 * 4);
    for (size_t i = 0; i < u8.size(); ++i) u8[i] = static_cast<uint8_t>(i * 11);
    const IdxArray a = make_idx<uint8_t>(ember::data::kIdxUInt8, {2, 3, 4}, u8);
    const std::string pa = dir.file("u8.idx" + suffix);
    ember::data::write_idx(pa, a, gz);
    CHECK_FALSE(fs::exists(pa + ".tmp"));
    const IdxArray ra = ember::data::read_idx(pa);
    CHECK(ra.dims == std::vector<int64_t>{2, 3, 4});
    CHECK(ra.type_code == ember::data::kIdxUInt8);
    CHECK(ra.bytes == a.bytes);
    CHECK(ra.numel() == 24);
    const auto fa = ember::data::idx_to_float(ra, 1.0f / 255.0f);
    REQUIRE(fa.size() == 24);
    CHECK(fa[5] == doctest::Approx(55.0 / 255.0));
    CHECK(ember::data::idx_to_int64(ra)[23] == static_cast<int64_t>(uint8_t(23 * 11)));

    const std::vector<float> f32 = {0.0f, -1.5f, 3.25f, 1e-7f, -1e30f, 42.0f};
    const IdxArray b = make_idx<float>(ember::data::kIdxFloat32, {6}, f32);
    const std::string pb = dir.file("f32.idx" + suffix);
    ember::data::write_idx(pb, b, gz);
    const IdxArray rb = ember::data::read_idx(pb);
    CHECK(rb.dims == std::vector<int64_t>{6});
    CHECK(rb.type_code == ember::data::kIdxFloat32);
    CHECK(rb.bytes == b.bytes);
    CHECK(ember::data::idx_to_float(rb) == f32);
    CHECK_THROWS_AS(ember::data::idx_to_int64(rb), ember::Error);

    const std::vector<int32_t> i32 = {0, -1, 2147483647, -2147483647 - 1, 123456, -7};
    const IdxArray c = make_idx<int32_t>(ember::data::kIdxInt32, {3, 2}, i32);
    const std::string pc = dir.file("i32.idx" + suffix);
    ember::data::write_idx(pc, c, gz);
    const IdxArray rc = ember::data::read_idx(pc);
    CHECK(rc.dims == std::vector<int64_t>{3, 2});
    CHECK(rc.bytes == c.bytes);
    const auto ic = ember::data::idx_to_int64(rc);
    CHECK(ic == std::vector<int64_t>(i32.begin(), i32.end()));
    CHECK(ember::data::idx_to_float(rc)[5] == -7.0f);
  }
}

TEST_CASE("idx: on-disk layout is big-endian with the documented header") {
  TempDir dir;
  const IdxArray a = make_idx<int32_t>(ember::data::kIdxInt32, {2}, std::vector<int32_t>{1, 258});
  const std::string p = dir.file("layout.idx");
  ember::data::write_idx(p, a, false);
  const std::vector<uint8_t> expect = {0, 0, 0x0C, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 1, 2};
  CHECK(read_bytes(p) == expect);
  // And a gzipped file is really gzipped (magic 1f 8b).
  const std::string pg = dir.file("layout.idx.gz");
  ember::data::write_idx(pg, a, true);
  const auto g = read_bytes(pg);
  REQUIRE(g.size() >= 2);
  CHECK(g[0] == 0x1f);
  CHECK(g[1] == 0x8b);
}

TEST_CASE("idx: int8, int16, float64 conversions") {
  const IdxArray a = make_idx<int8_t>(ember::data::kIdxInt8, {3}, std::vector<int8_t>{-128, 0, 127});
  CHECK(ember::data::idx_to_int64(a) == std::vector<int64_t>{-128, 0, 127});
  const IdxArray b =
      make_idx<int16_t>(ember::data::kIdxInt16, {2}, std::vector<int16_t>{-32768, 300});
  CHECK(ember::data::idx_to_float(b, 2.0f) == std::vector<float>{-65536.0f, 600.0f});
  const IdxArray c = make_idx<double>(ember::data::kIdxFloat64, {1}, std::vector<double>{0.5});
  CHECK(ember::data::idx_to_float(c) == std::vector<float>{0.5f});
  CHECK_THROWS_AS(ember::data::idx_to_int64(c), ember::Error);
  // Round trip through the in-memory encoder / parser.
  const auto enc = ember::data::encode_idx(b);
  const IdxArray rb = ember::data::parse_idx(enc.data(), enc.size(), "<test>");
  CHECK(rb.bytes == b.bytes);
}

TEST_CASE("idx: corrupt files throw ember::Error naming the file") {
  TempDir dir;
  std::vector<uint8_t> u8(10 * 5);
  for (size_t i = 0; i < u8.size(); ++i) u8[i] = static_cast<uint8_t>(i);
  const IdxArray a = make_idx<uint8_t>(ember::data::kIdxUInt8, {10, 5}, u8);
  const std::vector<uint8_t> good = ember::data::encode_idx(a);

  SUBCASE("truncated payload") {
    const std::string p = dir.file("trunc.idx");
    write_bytes(p, std::vector<uint8_t>(good.begin(), good.end() - 3));
    CHECK_THROWS_AS(ember::data::read_idx(p), ember::Error);
    const std::string msg = error_of([&] { ember::data::read_idx(p); });
    CHECK(contains(msg, p));
    CHECK(contains(msg, "truncated"));
  }
  SUBCASE("truncated header") {
    const std::string p = dir.file("trunc_header.idx");
    write_bytes(p, std::vector<uint8_t>(good.begin(), good.begin() + 6));
    CHECK_THROWS_AS(ember::data::read_idx(p), ember::Error);
    CHECK(contains(error_of([&] { ember::data::read_idx(p); }), p));
  }
  SUBCASE("truncated gzip stream") {
    // Use incompressible data so the gzip file is long enough to cut in the middle.
    std::mt19937 rng(7);
    std::vector<uint8_t> noise(4096);
    for (auto& v : noise) v = static_cast<uint8_t>(rng());
    const std::string full = dir.file("full.idx.gz");
    ember::data::write_idx(full, make_idx<uint8_t>(ember::data::kIdxUInt8, {4096}, noise), true);
    const auto gz = read_bytes(full);
    const std::string p = dir.file("trunc.idx.gz");
    write_bytes(p, std::vector<uint8_t>(gz.begin(), gz.begin() + static_cast<long>(gz.size() / 2)));
    CHECK_THROWS_AS(ember::data::read_idx(p), ember::Error);
    CHECK(contains(error_of([&] { ember::data::read_idx(p); }), p));
  }
  SUBCASE("bad magic") {
    auto bad = good;
    bad[0] = 0x12;
    const std::string p = dir.file("magic.idx");
    write_bytes(p, bad);
    CHECK_THROWS_AS(ember::data::read_idx(p), ember::Error);
    const std::string msg = error_of([&] { ember::data::read_idx(p); });
    CHECK(contains(msg, p));
    CHECK(contains(msg, "magic"));
  }
  SUBCASE("unknown type code") {
    auto bad = good;
    bad[2] = 0x0A;
    const std::string p = dir.file("type.idx");
    write_bytes(p, bad);
    CHECK_THROWS_AS(ember::data::read_idx(p), ember::Error);
    CHECK(contains(error_of([&] { ember::data::read_idx(p); }), "type code"));
  }
  SUBCASE("wrong dims: zero, too many, and disagreeing with the payload") {
    auto zero = good;
    zero[3] = 0;
    CHECK_THROWS_AS(ember::data::parse_idx(zero.data(), zero.size(), "zero"), ember::Error);
    auto many = good;
    many[3] = 200;
    CHECK_THROWS_AS(ember::data::parse_idx(many.data(), many.size(), "many"), ember::Error);
    auto wrong = good;
    wrong[7] = 6;  // first dim 10 -> 6: fewer elements than the payload holds
    const std::string p = dir.file("dims.idx");
    write_bytes(p, wrong);
    CHECK_THROWS_AS(ember::data::read_idx(p), ember::Error);
    CHECK(contains(error_of([&] { ember::data::read_idx(p); }), p));
  }
  SUBCASE("huge declared dims do not overflow or allocate") {
    // 8 dims of 0xFFFFFFFF each: the product overflows 64 bits.
    std::vector<uint8_t> bad = {0, 0, 0x0E, 8};
    for (int i = 0; i < 32; ++i) bad.push_back(0xFF);
    bad.push_back(1);
    CHECK_THROWS_AS(ember::data::parse_idx(bad.data(), bad.size(), "huge"), ember::Error);
    // 2 dims of 0xFFFFFFFF: 2^64-ish bytes, does not overflow, but the file is tiny.
    std::vector<uint8_t> big = {0, 0, 0x08, 2, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    CHECK_THROWS_AS(ember::data::parse_idx(big.data(), big.size(), "big"), ember::Error);
  }
  SUBCASE("trailing bytes") {
    auto bad = good;
    bad.push_back(0);
    const std::string p = dir.file("trailing.idx");
    write_bytes(p, bad);
    CHECK_THROWS_AS(ember::data::read_idx(p), ember::Error);
    const std::string msg = error_of([&] { ember::data::read_idx(p); });
    CHECK(contains(msg, p));
    CHECK(contains(msg, "trailing"));
  }
  SUBCASE("empty file and tiny in-memory inputs") {
    const std::string p = dir.file("empty.idx");
    write_bytes(p, {});
    CHECK_THROWS_AS(ember::data::read_idx(p), ember::Error);
    for (size_t n = 0; n < good.size(); ++n)
      CHECK_THROWS_AS(ember::data::parse_idx(good.data(), n, "prefix"), ember::Error);
    CHECK_NOTHROW(ember::data::parse_idx(good.data(), good.size(), "full"));
  }
  SUBCASE("missing file") {
    const std::string p = dir.file("does_not_exist.idx");
    CHECK_THROWS_AS(ember::data::read_idx(p), ember::Error);
    CHECK(contains(error_of([&] { ember::data::read_idx(p); }), p));
    const std::string pf = dir.file("fashion-mnist/train-labels-idx1-ubyte.gz");
    const std::string msg = error_of([&] { ember::data::read_idx(pf); });
    CHECK(contains(msg, pf));
    CHECK(contains(msg, "tools/setup.sh"));
    CHECK(contains(msg, "dataset-fashion-mnist"));
  }
  SUBCASE("invalid arrays are refused by write_idx") {
    IdxArray bad = a;
    bad.bytes.pop_back();
    CHECK_THROWS_AS(ember::data::write_idx(dir.file("w1.idx"), bad, false), ember::Error);
    IdxArray nodims = a;
    nodims.dims.clear();
    CHECK_THROWS_AS(ember::data::write_idx(dir.file("w2.idx"), nodims, true), ember::Error);
    IdxArray badtype = a;
    badtype.type_code = 0x42;
    CHECK_THROWS_AS(ember::data::write_idx(dir.file("w3.idx"), badtype, false), ember::Error);
    CHECK_FALSE(fs::exists(dir.file("w1.idx")));
    CHECK_FALSE(fs::exists(dir.file("w1.idx.tmp")));
  }
}

TEST_CASE("idx: real Fashion-MNIST test labels") {
  const std::string path = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";
  if (!fs::exists(path)) {
    FAIL("Fashion-MNIST is missing (", path,
         "): run tools/setup.sh (Debian package dataset-fashion-mnist) to install it");
  }
  const IdxArray labels = ember::data::read_idx(path);
  CHECK(labels.type_code == ember::data::kIdxUInt8);
  REQUIRE(labels.dims == std::vector<int64_t>{10000});
  const auto v = ember::data::idx_to_int64(labels);
  REQUIRE(v.size() == 10000);
  std::set<int64_t> classes;
  bool in_range = true;
  for (int64_t l : v) {
    if (l < 0 || l > 9) in_range = false;
    classes.insert(l);
  }
  CHECK(in_range);
  CHECK(classes.size() == 10);
}

TEST_CASE("image: PNG encode/decode in memory is exact") {
  const auto img = gradient(17, 23);
  const auto png = ember::data::encode_png(img);
  REQUIRE(png.size() > 8);
  CHECK(png[1] == 'P');
  CHECK(png[2] == 'N');
  CHECK(png[3] == 'G');
  const auto back = ember::data::decode_image(png.data(), png.size());
  CHECK(back.height == 17);
  CHECK(back.width == 23);
  CHECK(back.channels == 3);
  CHECK(back.pixels == img.pixels);
  // Forced RGBA: alpha is opaque, colour unchanged.
  const auto rgba = ember::data::decode_image(png.data(), png.size(), 4);
  REQUIRE(rgba.channels == 4);
  REQUIRE(rgba.pixels.size() == size_t{17 * 23 * 4});
  CHECK(rgba.pixels[3] == 255);
  CHECK(rgba.pixels[4 * 5 + 1] == img.pixels[3 * 5 + 1]);
}

TEST_CASE("image: write_png/load_image round trip through a file") {
  TempDir dir;
  const auto img = gradient(9, 31);
  const std::string p = dir.file("grad.png");
  ember::data::write_png(p, img);
  CHECK(fs::exists(p));
  CHECK_FALSE(fs::exists(p + ".tmp"));
  const auto back = ember::data::load_image(p);
  CHECK(back.height == 9);
  CHECK(back.width == 31);
  CHECK(back.channels == 3);
  CHECK(back.pixels == img.pixels);

  SUBCASE("forced channels: RGB to gray") {
    const auto gray = ember::data::load_image(p, 1);
    CHECK(gray.channels == 1);
    CHECK(gray.height == 9);
    CHECK(gray.width == 31);
    CHECK(gray.pixels.size() == size_t{9 * 31});
    // stb's luma: (r*77 + g*150 + b*29) >> 8
    const uint8_t* px = &img.pixels[0];
    CHECK(gray.pixels[0] == static_cast<uint8_t>((px[0] * 77 + px[1] * 150 + px[2] * 29) >> 8));
  }
  SUBCASE("grayscale image round trip keeps 1 channel") {
    ember::data::Image g;
    g.height = 4;
    g.width = 5;
    g.channels = 1;
    for (int i = 0; i < 20; ++i) g.pixels.push_back(static_cast<uint8_t>(i * 12));
    const std::string pg = dir.file("gray.png");
    ember::data::write_png(pg, g);
    const auto gb = ember::data::load_image(pg);
    CHECK(gb.channels == 1);
    CHECK(gb.pixels == g.pixels);
  }
  SUBCASE("bad channel request") {
    CHECK_THROWS_AS(ember::data::load_image(p, 5), ember::Error);
    CHECK_THROWS_AS(ember::data::load_image(p, -1), ember::Error);
  }
}

TEST_CASE("image: corrupt and missing inputs throw ember::Error") {
  TempDir dir;
  const auto png = ember::data::encode_png(gradient(16, 16));

  SUBCASE("truncated PNG bytes") {
    for (size_t n : {size_t{0}, size_t{4}, size_t{8}, size_t{20}, png.size() / 2, png.size() - 13})
      CHECK_THROWS_AS(ember::data::decode_image(png.data(), n), ember::Error);
    const std::string p = dir.file("trunc.png");
    write_bytes(p, std::vector<uint8_t>(png.begin(), png.begin() + static_cast<long>(png.size() / 2)));
    CHECK_THROWS_AS(ember::data::load_image(p), ember::Error);
    CHECK(contains(error_of([&] { ember::data::load_image(p); }), p));
  }
  SUBCASE("random garbage bytes") {
    std::mt19937 rng(12345);
    std::vector<uint8_t> junk(1000);
    for (auto& b : junk) b = static_cast<uint8_t>(rng());
    junk[0] = 0x42;  // not a signature byte of any supported format
    junk[1] = 0x00;
    CHECK_THROWS_AS(ember::data::decode_image(junk.data(), junk.size(), 0, "junk"), ember::Error);
    const std::string p = dir.file("junk.png");
    write_bytes(p, junk);
    const std::string msg = error_of([&] { ember::data::load_image(p); });
    CHECK(contains(msg, p));
  }
  SUBCASE("PNG header declaring an absurd size is rejected before decoding") {
    auto bad = png;
    // IHDR width at offset 16, height at 20 (big-endian): set both to 0x00FFFFFF.
    for (int off : {16, 20}) {
      bad[static_cast<size_t>(off)] = 0x00;
      bad[static_cast<size_t>(off + 1)] = 0xFF;
      bad[static_cast<size_t>(off + 2)] = 0xFF;
      bad[static_cast<size_t>(off + 3)] = 0xFF;
    }
    CHECK_THROWS_AS(ember::data::decode_image(bad.data(), bad.size()), ember::Error);
  }
  SUBCASE("missing file") {
    const std::string p = dir.file("nope.png");
    CHECK_THROWS_AS(ember::data::load_image(p), ember::Error);
    CHECK(contains(error_of([&] { ember::data::load_image(p); }), p));
  }
  SUBCASE("write_png with a mismatched pixel count") {
    auto img = gradient(8, 8);
    img.pixels.pop_back();
    const std::string p = dir.file("bad.png");
    CHECK_THROWS_AS(ember::data::write_png(p, img), ember::Error);
    CHECK(contains(error_of([&] { ember::data::write_png(p, img); }), p));
    CHECK_FALSE(fs::exists(p));
    CHECK_FALSE(fs::exists(p + ".tmp"));
    CHECK_THROWS_AS(ember::data::encode_png(img), ember::Error);
    auto five = gradient(2, 2);
    five.channels = 5;
    five.pixels.resize(2 * 2 * 5);
    CHECK_THROWS_AS(ember::data::encode_png(five), ember::Error);
    ember::data::Image empty;
    CHECK_THROWS_AS(ember::data::encode_png(empty), ember::Error);
  }
}
