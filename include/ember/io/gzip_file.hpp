// The whole of a file that may be gzipped (zlib reads plain files through the same calls), with
// a cap on the decompressed size so that a decompression bomb cannot exhaust memory. The
// readers of IDX and graph-tool files share it; their errors name the reader (`op`), the file
// and what was expected.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "ember/core/error.hpp"

namespace ember::io {

// `expected` completes "expected ..." in the errors (e.g. "an IDX file (plain or gzipped)");
// `hint` is appended to the errors of a file that cannot be opened (e.g. the setup command).
inline std::vector<uint8_t> read_maybe_gzipped(const std::string& path, const char* op,
                                               const std::string& expected, uint64_t max_bytes,
                                               const std::string& hint = "") {
  std::error_code ec;
  const std::filesystem::path fp(path);
  if (!std::filesystem::exists(fp, ec))
    fail(op, ": cannot open '", path, "': file not found; expected ", expected, hint);
  EMBER_CHECK(!std::filesystem::is_directory(fp, ec), op, ": '", path,
              "' is a directory; expected ", expected);
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) {
    const int err = errno;
    fail(op, ": cannot open '", path, "': ", (err ? std::strerror(err) : "zlib gzopen failed"),
         hint);
  }
  struct Closer {
    gzFile& f;
    ~Closer() {
      if (f) gzclose(f);
    }
  } closer{f};
  gzbuffer(f, 1u << 16);
  auto zlib_error = [&] {
    int errnum = 0;
    const char* msg = gzerror(f, &errnum);
    fail(op, ": error reading '", path,
         "': ", (errnum == Z_ERRNO ? std::strerror(errno) : (msg ? msg : "unknown zlib error")),
         " (corrupt or truncated gzip data?)");
  };
  std::vector<uint8_t> buf;
  for (;;) {
    const size_t old = buf.size();
    EMBER_CHECK(old < max_bytes, op, ": '", path, "' decompresses to more than ", max_bytes,
                " bytes; refusing to read it (corrupt file or decompression bomb)");
    // Chunks grow with the buffer (64 KiB .. 64 MiB): small files cost one small read,
    // large ones a logarithmic number of reads.
    const size_t chunk = std::clamp(old, size_t{1} << 16, size_t{1} << 26);
    buf.resize(old + chunk);
    const int got = gzread(f, buf.data() + old, static_cast<unsigned>(chunk));
    if (got < 0) zlib_error();
    buf.resize(old + static_cast<size_t>(got));
    if (static_cast<size_t>(got) < chunk) {
      // A short read is the end of input or an error; zlib reports a truncated gzip stream
      // (Z_BUF_ERROR) without returning -1, so ask it.
      int errnum = 0;
      gzerror(f, &errnum);
      if (errnum != Z_OK) zlib_error();
      break;
    }
  }
  gzFile g = f;
  f = nullptr;
  const int rc = gzclose(g);
  EMBER_CHECK(rc == Z_OK, op, ": error closing '", path, "' (zlib code ", rc,
              "; corrupt or truncated gzip data?)");
  buf.shrink_to_fit();
  return buf;
}

}  // namespace ember::io
