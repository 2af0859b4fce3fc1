// Image loading and saving through stb_image / stb_image_write (Debian libstb-dev).
//
// ember is header-only, so this header compiles a private (static) copy of stb into each
// translation unit that includes it. Decoding supports PNG, JPEG, BMP, GIF (first frame)
// and PNM; writing produces PNG. 16-bit images are converted to 8 bits per channel.
//
// If a translation unit has already included <stb/stb_image.h> or stb_image_write.h
// itself before this header, ember uses those declarations and that program must
// provide the implementation (STB_IMAGE_IMPLEMENTATION) as usual.
//
// Every failure throws ember::Error naming the function, the file and stb's reason.
#pragma once

#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

#include "ember/core/error.hpp"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wuseless-cast"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#pragma GCC diagnostic ignored "-Wcast-qual"
#pragma GCC diagnostic ignored "-Wduplicated-branches"
#pragma GCC diagnostic ignored "-Wpedantic"
#ifndef STBI_INCLUDE_STB_IMAGE_H
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO
#define STBI_FAILURE_USERMSG
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_ONLY_GIF
#define STBI_ONLY_PNM
#include <stb/stb_image.h>
#endif
#ifndef INCLUDE_STB_IMAGE_WRITE_H
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb/stb_image_write.h>
#endif
#pragma GCC diagnostic pop

namespace ember::data {

struct Image {
  int height = 0, width = 0, channels = 0;
  std::vector<uint8_t> pixels;  // HWC, row-major, 8 bits per channel
};

// Largest image (height * width * channels bytes) ember decodes or encodes: 1 GiB.
inline constexpr int64_t kImageMaxBytes = int64_t{1} << 30;

namespace detail {

inline std::string stb_reason() {
  const char* r = stbi_failure_reason();
  return r ? r : "unknown stb_image error";
}

inline void check_image(const Image& img, const char* fn, const std::string& what) {
  EMBER_CHECK(img.channels >= 1 && img.channels <= 4, fn, ": image for '", what,
              "' has ", img.channels, " channels; expected 1..4");
  EMBER_CHECK(img.height >= 1 && img.width >= 1, fn, ": image for '", what, "' is ",
              img.height, "x", img.width, "; expected positive height and width");
  const int64_t row = int64_t{img.width} * img.channels;
  const int64_t n = row * img.height;  // each factor < 2^31, so no overflow in int64
  EMBER_CHECK(n <= kImageMaxBytes && (row + 1) * img.height <= kImageMaxBytes, fn,
              ": image for '", what, "' of ", img.height, "x", img.width, "x", img.channels,
              " is larger than the ", kImageMaxBytes, "-byte limit");
  EMBER_CHECK(static_cast<uint64_t>(n) == img.pixels.size(), fn, ": image for '", what,
              "' is ", img.height, "x", img.width, "x", img.channels, " = ", n,
              " bytes, but holds ", img.pixels.size(), " pixel bytes; expected them equal");
}

inline void write_png_callback(void* ctx, void* data, int size) {
  auto* out = static_cast<std::vector<uint8_t>*>(ctx);
  if (size <= 0 || data == nullptr) return;
  const auto* p = static_cast<const uint8_t*>(data);
  out->insert(out->end(), p, p + size);
}

inline std::vector<uint8_t> encode_png_impl(const Image& img, const char* fn,
                                            const std::string& what) {
  check_image(img, fn, what);
  std::vector<uint8_t> out;
  const int ok = stbi_write_png_to_func(&write_png_callback, &out, img.width, img.height,
                                        img.channels, img.pixels.data(),
                                        img.width * img.channels);
  EMBER_CHECK(ok != 0 && !out.empty(), fn, ": stb_image_write failed to encode '", what,
              "' (", img.height, "x", img.width, "x", img.channels, ") as PNG");
  return out;
}

// stb_image v2.27 (Debian 12) parses the numbers of a PNM header into an int without an
// overflow check (undefined behaviour on 10+ digits; fixed in v2.28). True when a P5/P6 header
// holds such a number (see fuzz/regressions/image/stb_pnm_header_int_overflow.ppm).
inline bool pnm_header_number_too_long(const uint8_t* data, size_t size) {
  if (size < 2 || data[0] != 'P' || (data[1] != '5' && data[1] != '6')) return false;
  int numbers = 0;  // width, height, maxval
  for (size_t i = 2; i < size && numbers < 3;) {
    if (data[i] == '#') {
      while (i < size && data[i] != '\n' && data[i] != '\r') ++i;
    } else if (data[i] >= '0' && data[i] <= '9') {
      size_t run = 0;
      for (; i < size && data[i] >= '0' && data[i] <= '9'; ++i) ++run;
      if (run > 9) return true;
      ++numbers;
    } else {
      ++i;
    }
  }
  return false;
}

}  // namespace detail

// Decodes an image held in memory. channels = 0 keeps the file's channel count; 1..4
// converts (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA). `what` names the source in errors.
inline Image decode_image(const uint8_t* data, size_t size, int channels = 0,
                          const std::string& what = "<memory>") {
  EMBER_CHECK(channels >= 0 && channels <= 4, "decode_image: '", what, "': channels must be 0 "
              "(as in the file) or 1..4, got ", channels);
  EMBER_CHECK(data != nullptr && size > 0, "decode_image: '", what,
              "' is empty; expected PNG, JPEG, BMP, GIF or PNM bytes");
  EMBER_CHECK(size <= static_cast<size_t>(INT_MAX), "decode_image: '", what, "' is ", size,
              " bytes; stb_image accepts at most ", INT_MAX);
  const int len = static_cast<int>(size);
  EMBER_CHECK(!detail::pnm_header_number_too_long(data, size), "decode_image: '", what,
              "' is a PNM whose header holds a number of 10 or more digits (corrupt file?)");
  int w = 0, h = 0, comp = 0;
  if (!stbi_info_from_memory(data, len, &w, &h, &comp))
    fail("decode_image: '", what, "' is not a readable image (", detail::stb_reason(),
         "); expected PNG, JPEG, BMP, GIF or PNM");
  EMBER_CHECK(w > 0 && h > 0 && comp >= 1 && comp <= 4, "decode_image: '", what,
              "' declares a ", h, "x", w, "x", comp,
              " image; expected positive size and 1..4 channels");
  const int want = channels ? channels : comp;
  EMBER_CHECK(int64_t{w} * h * want <= kImageMaxBytes, "decode_image: '", what, "' declares a ",
              h, "x", w, "x", want, " image, larger than the ", kImageMaxBytes,
              "-byte limit (corrupt file?)");

  // stb_image v2.27 (Debian 12) converts the channels of a 16-bit PNM with its 8-bit routine
  // and then reads past the buffer (heap overflow; fixed in v2.28, see
  // fuzz/regressions/image/stb_pnm16_convert_overflow.pgm), so refuse that one combination.
  EMBER_CHECK(!(channels != 0 && channels != comp && data[0] == 'P' &&
                stbi_is_16_bit_from_memory(data, len)),
              "decode_image: '", what, "' is a 16-bit PNM with ", comp,
              " channels; converting it to ", channels,
              " channels is not supported (decode with channels = 0)");
  int w2 = 0, h2 = 0, comp2 = 0;
  stbi_uc* px = stbi_load_from_memory(data, len, &w2, &h2, &comp2, channels);
  if (px == nullptr)
    fail("decode_image: cannot decode '", what, "': ", detail::stb_reason(),
         " (corrupt or truncated image?)");
  struct Free {
    stbi_uc* p;
    ~Free() { stbi_image_free(p); }
  } guard{px};
  const int got = channels ? channels : comp2;
  EMBER_CHECK(w2 > 0 && h2 > 0 && got >= 1 && got <= 4 &&
                  int64_t{w2} * h2 * got <= kImageMaxBytes,
              "decode_image: '", what, "' decoded to an unexpected ", h2, "x", w2, "x", got,
              " image");
  Image img;
  img.height = h2;
  img.width = w2;
  img.channels = got;
  img.pixels.assign(px, px + static_cast<size_t>(int64_t{w2} * h2 * got));
  return img;
}

// Loads an image file (PNG, JPEG, BMP, GIF, PNM); see decode_image for `channels`.
inline Image load_image(const std::string& path, int channels = 0) {
  EMBER_CHECK(channels >= 0 && channels <= 4, "load_image: '", path, "': channels must be 0 "
              "(as in the file) or 1..4, got ", channels);
  std::error_code ec;
  const std::filesystem::path fp(path);
  EMBER_CHECK(std::filesystem::exists(fp, ec), "load_image: cannot open '", path,
              "': file not found; expected an image file (PNG, JPEG, BMP, GIF or PNM)");
  EMBER_CHECK(std::filesystem::is_regular_file(fp, ec), "load_image: '", path,
              "' is not a regular file; expected an image file");
  const auto fsize = std::filesystem::file_size(fp, ec);
  EMBER_CHECK(!ec, "load_image: cannot stat '", path, "': ", ec.message());
  EMBER_CHECK(fsize <= static_cast<uintmax_t>(INT_MAX), "load_image: '", path, "' is ", fsize,
              " bytes; stb_image accepts at most ", INT_MAX);
  std::ifstream in(path, std::ios::binary);
  EMBER_CHECK(in.good(), "load_image: cannot open '", path, "': ", std::strerror(errno));
  std::vector<uint8_t> bytes;
  // Read in chunks rather than trusting the size (the file may change underneath).
  constexpr size_t kChunk = size_t{1} << 20;
  for (;;) {
    const size_t old = bytes.size();
    EMBER_CHECK(old <= static_cast<size_t>(INT_MAX), "load_image: '", path,
                "' grew past ", INT_MAX, " bytes while reading");
    bytes.resize(old + kChunk);
    in.read(reinterpret_cast<char*>(bytes.data() + old), static_cast<std::streamsize>(kChunk));
    const auto n = static_cast<size_t>(in.gcount());
    bytes.resize(old + n);
    if (!in) {
      EMBER_CHECK(in.eof() && !in.bad(), "load_image: error reading '", path, "'");
      break;
    }
  }
  return decode_image(bytes.data(), bytes.size(), channels, path);
}

// Encodes an image as PNG in memory.
inline std::vector<uint8_t> encode_png(const Image& img) {
  return detail::encode_png_impl(img, "encode_png", "<memory>");
}

// Writes an image as PNG, atomically: to a temporary file in the same directory, which
// is then renamed over `path`.
inline void write_png(const std::string& path, const Image& img) {
  const std::vector<uint8_t> bytes = detail::encode_png_impl(img, "write_png", path);
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) {
    const int err = errno;
    fail("write_png: cannot create '", tmp, "' (for '", path, "'): ", std::strerror(err));
  }
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  const int err = errno;
  const bool closed = std::fclose(f) == 0;
  std::error_code ec;
  if (!ok || !closed) {
    std::filesystem::remove(tmp, ec);
    fail("write_png: error writing '", tmp, "' (for '", path, "'): ", std::strerror(err));
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::error_code ec2;
    std::filesystem::remove(tmp, ec2);
    fail("write_png: cannot rename '", tmp, "' to '", path, "': ", ec.message());
  }
}

}  // namespace ember::data
