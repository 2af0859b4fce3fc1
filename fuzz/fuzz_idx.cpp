// libFuzzer harness: data::parse_idx on arbitrary bytes, and read_idx on the same bytes written
// to a temporary file, both raw and gzip-compressed (read_idx picks the gz path by the magic).
// Bad input must be rejected with ember::Error; a parsed array is converted to float/int64.
#include <unistd.h>
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <ember/data/idx.hpp>
#include <string>

namespace {

void check(const ember::data::IdxArray& a) {
  (void)ember::data::idx_to_float(a);
  if (a.type_code != ember::data::kIdxFloat32 && a.type_code != ember::data::kIdxFloat64)
    (void)ember::data::idx_to_int64(a);
}

const std::string& temp_base() {
  static const std::string base = "/tmp/ember_fuzz_idx." + std::to_string(::getpid());
  return base;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    check(ember::data::parse_idx(data, size, "<fuzz>"));
  } catch (const ember::Error&) {
  }
  // Through a file: raw bytes, then gzip-compressed (the same content, read back by zlib).
  const std::string raw = temp_base() + ".idx", gz = temp_base() + ".idx.gz";
  if (std::FILE* f = std::fopen(raw.c_str(), "wb")) {
    if (size) std::fwrite(data, 1, size, f);
    std::fclose(f);
    try {
      check(ember::data::read_idx(raw));
    } catch (const ember::Error&) {
    }
  }
  if (gzFile g = gzopen(gz.c_str(), "wb1")) {
    if (size) gzwrite(g, data, unsigned(size));
    gzclose(g);
    try {
      check(ember::data::read_idx(gz));
    } catch (const ember::Error&) {
    }
  }
  // A truncated gzip stream: the first half of the compressed file.
  if (std::FILE* f = std::fopen(gz.c_str(), "rb")) {
    std::string bytes;
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) bytes.append(buf, n);
    std::fclose(f);
    if (std::FILE* w = std::fopen(gz.c_str(), "wb")) {
      std::fwrite(bytes.data(), 1, bytes.size() / 2, w);
      std::fclose(w);
      try {
        check(ember::data::read_idx(gz));
      } catch (const ember::Error&) {
      }
    }
  }
  std::remove(raw.c_str());
  std::remove(gz.c_str());
  return 0;
}
