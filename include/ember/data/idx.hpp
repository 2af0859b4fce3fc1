// The IDX format of MNIST and Fashion-MNIST: reading (plain or gzipped, through zlib),
// writing (atomically), and conversion of the payload to float / int64.
//
// Layout: two zero bytes, a type byte (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
// 0x0D float32, 0x0E float64), a byte with the number of dimensions, each dimension as
// a big-endian uint32, then the elements in row-major order, big-endian.
//
// The parser trusts nothing in the header: the dimension product is checked for
// overflow, the payload size must match the header exactly, and no buffer is sized
// from the header (files are read in chunks, and gzip input is capped at
// kIdxMaxBytes, so a decompression bomb cannot exhaust memory).
//
// Needs zlib: link with -lz.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "ember/core/error.hpp"
#include "ember/io/gzip_file.hpp"

namespace ember::data {

// IDX type codes.
inline constexpr uint8_t kIdxUInt8 = 0x08;
inline constexpr uint8_t kIdxInt8 = 0x09;
inline constexpr uint8_t kIdxInt16 = 0x0B;
inline constexpr uint8_t kIdxInt32 = 0x0C;
inline constexpr uint8_t kIdxFloat32 = 0x0D;
inline constexpr uint8_t kIdxFloat64 = 0x0E;

// At most this many dimensions (the format allows 255; nothing real uses more than 4).
inline constexpr int kIdxMaxDims = 8;
// Largest (decompressed) IDX file read_idx accepts: 4 GiB.
inline constexpr uint64_t kIdxMaxBytes = uint64_t{1} << 32;

struct IdxArray {
  std::vector<int64_t> dims;
  uint8_t type_code = kIdxUInt8;
  std::vector<uint8_t> bytes;  // raw element bytes, converted to host endianness

  // Product of dims; throws ember::Error on a negative dimension or overflow.
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : dims) {
      EMBER_CHECK(d >= 0, "IdxArray::numel: expected non-negative dimensions, got ",
                  shape_str(dims));
      if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
        fail("IdxArray::numel: dimension product of ", shape_str(dims), " overflows int64");
      n *= d;
    }
    return n;
  }
};

// Bytes per element of an IDX type code; 0 for an unknown code.
inline size_t idx_element_size_or_zero(uint8_t type_code) noexcept {
  switch (type_code) {
    case kIdxUInt8:
    case kIdxInt8:
      return 1;
    case kIdxInt16:
      return 2;
    case kIdxInt32:
    case kIdxFloat32:
      return 4;
    case kIdxFloat64:
      return 8;
    default:
      return 0;
  }
}

// Bytes per element of an IDX type code; throws ember::Error for an unknown code.
inline size_t idx_element_size(uint8_t type_code) {
  size_t s = idx_element_size_or_zero(type_code);
  EMBER_CHECK(s != 0, "idx_element_size: unknown IDX type code ", static_cast<int>(type_code),
              "; expected 0x08 (uint8), 0x09 (int8), 0x0B (int16), 0x0C (int32), "
              "0x0D (float32) or 0x0E (float64)");
  return s;
}

inline const char* idx_type_name(uint8_t type_code) noexcept {
  switch (type_code) {
    case kIdxUInt8:
      return "uint8";
    case kIdxInt8:
      return "int8";
    case kIdxInt16:
      return "int16";
    case kIdxInt32:
      return "int32";
    case kIdxFloat32:
      return "float32";
    case kIdxFloat64:
      return "float64";
    default:
      return "unknown";
  }
}

namespace detail {

// Reverses the byte order of every element in place when the host is little-endian
// (IDX payloads are big-endian), so the same call converts in both directions.
inline void idx_swap_to_from_big_endian(uint8_t* p, size_t nbytes, size_t esize) {
  static_assert(
      std::endian::native == std::endian::little || std::endian::native == std::endian::big,
      "ember idx: mixed-endian hosts are not supported");
  if constexpr (std::endian::native == std::endian::big) return;
  if (esize <= 1) return;
  for (size_t off = 0; off + esize <= nbytes; off += esize) {
    for (size_t i = 0, j = esize - 1; i < j; ++i, --j) std::swap(p[off + i], p[off + j]);
  }
}

inline std::string idx_missing_hint(const std::string& path) {
  if (path.find("fashion-mnist") != std::string::npos)
    return "; Fashion-MNIST is not installed: install it with tools/setup.sh (Debian package "
           "dataset-fashion-mnist)";
  return "";
}

// Expected payload size in bytes for dims/type; false on overflow.
inline bool idx_payload_bytes(const std::vector<int64_t>& dims, size_t esize, uint64_t& out) {
  uint64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0) return false;
    if (__builtin_mul_overflow(n, static_cast<uint64_t>(d), &n)) return false;
  }
  return !__builtin_mul_overflow(n, static_cast<uint64_t>(esize), &out);
}

}  // namespace detail

// Parses an IDX image held in memory. `what` names the source (a path, "<fuzz>") in
// error messages. Never reads outside [data, data + size).
inline IdxArray parse_idx(const uint8_t* data, size_t size, const std::string& what) {
  EMBER_CHECK(data != nullptr || size == 0, "parse_idx: null data pointer for '", what, "'");
  EMBER_CHECK(size >= 4, "parse_idx: '", what, "' is too short to be an IDX file: ", size,
              " bytes, expected at least a 4-byte header (00 00 type ndims)");
  EMBER_CHECK(data[0] == 0 && data[1] == 0, "parse_idx: '", what,
              "' has bad magic: expected the first two bytes to be 00 00, got ",
              static_cast<int>(data[0]), " ", static_cast<int>(data[1]),
              " (not an IDX file, or a gzipped file passed to the in-memory parser?)");
  const uint8_t type = data[2];
  const size_t esize = idx_element_size_or_zero(type);
  EMBER_CHECK(esize != 0, "parse_idx: '", what, "' has unknown IDX type code ",
              static_cast<int>(type),
              "; expected 0x08 (uint8), 0x09 (int8), 0x0B (int16), 0x0C (int32), "
              "0x0D (float32) or 0x0E (float64)");
  const int ndims = data[3];
  EMBER_CHECK(ndims >= 1 && ndims <= kIdxMaxDims, "parse_idx: '", what, "' declares ", ndims,
              " dimensions; expected 1..", kIdxMaxDims);
  const size_t header = 4 + 4 * static_cast<size_t>(ndims);
  EMBER_CHECK(size >= header, "parse_idx: '", what, "' is truncated inside its header: ", size,
              " bytes, expected at least ", header, " for ", ndims, " dimensions");

  IdxArray a;
  a.type_code = type;
  a.dims.resize(static_cast<size_t>(ndims));
  for (int i = 0; i < ndims; ++i) {
    const uint8_t* p = data + 4 + 4 * i;
    uint32_t d =
        (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
    a.dims[static_cast<size_t>(i)] = static_cast<int64_t>(d);
  }
  const size_t available = size - header;
  uint64_t expected = 0;
  EMBER_CHECK(detail::idx_payload_bytes(a.dims, esize, expected), "parse_idx: '", what,
              "' declares dimensions ", shape_str(a.dims), " of ", idx_type_name(type),
              " whose byte size overflows 64 bits; the file holds only ", available,
              " payload bytes");
  EMBER_CHECK(expected == available, "parse_idx: '", what, "' size mismatch: dimensions ",
              shape_str(a.dims), " of ", idx_type_name(type), " need ", expected,
              " payload bytes, but the file has ", available,
              (available < expected ? " (truncated)" : " (trailing data)"));
  a.bytes.assign(data + header, data + size);
  detail::idx_swap_to_from_big_endian(a.bytes.data(), a.bytes.size(), esize);
  return a;
}

// Reads an IDX file, plain or gzipped (zlib detects which).
inline IdxArray read_idx(const std::string& path) {
  const std::vector<uint8_t> buf =
      io::read_maybe_gzipped(path, "read_idx", "an IDX file (plain or gzipped)", kIdxMaxBytes,
                             detail::idx_missing_hint(path));
  return parse_idx(buf.data(), buf.size(), path);
}

// Converts any IDX payload to float, multiplying by `scale` (e.g. 1/255 for pixels).
inline std::vector<float> idx_to_float(const IdxArray& a, float scale = 1.0f) {
  const size_t esize = idx_element_size(a.type_code);
  const int64_t n = a.numel();
  uint64_t need = 0;
  EMBER_CHECK(detail::idx_payload_bytes(a.dims, esize, need) && need == a.bytes.size(),
              "idx_to_float: IdxArray with dims ", shape_str(a.dims), " of ",
              idx_type_name(a.type_code), " expects ", need, " bytes, holds ", a.bytes.size());
  std::vector<float> out(static_cast<size_t>(n));
  const uint8_t* p = a.bytes.data();
  for (size_t i = 0; i < out.size(); ++i, p += esize) {
    double v = 0;
    switch (a.type_code) {
      case kIdxUInt8:
        v = *p;
        break;
      case kIdxInt8:
        v = static_cast<int8_t>(*p);
        break;
      case kIdxInt16: {
        int16_t x;
        std::memcpy(&x, p, 2);
        v = x;
        break;
      }
      case kIdxInt32: {
        int32_t x;
        std::memcpy(&x, p, 4);
        v = x;
        break;
      }
      case kIdxFloat32: {
        float x;
        std::memcpy(&x, p, 4);
        out[i] = x * scale;
        continue;
      }
      case kIdxFloat64: {
        double x;
        std::memcpy(&x, p, 8);
        v = x;
        break;
      }
    }
    out[i] = static_cast<float>(v * static_cast<double>(scale));
  }
  return out;
}

// Converts an integer IDX payload (uint8, int8, int16, int32) to int64, e.g. labels.
inline std::vector<int64_t> idx_to_int64(const IdxArray& a) {
  const size_t esize = idx_element_size(a.type_code);
  EMBER_CHECK(a.type_code == kIdxUInt8 || a.type_code == kIdxInt8 || a.type_code == kIdxInt16 ||
                  a.type_code == kIdxInt32,
              "idx_to_int64: expected an integer IDX array (uint8, int8, int16 or int32), got ",
              idx_type_name(a.type_code), " with dims ", shape_str(a.dims));
  const int64_t n = a.numel();
  uint64_t need = 0;
  EMBER_CHECK(detail::idx_payload_bytes(a.dims, esize, need) && need == a.bytes.size(),
              "idx_to_int64: IdxArray with dims ", shape_str(a.dims), " of ",
              idx_type_name(a.type_code), " expects ", need, " bytes, holds ", a.bytes.size());
  std::vector<int64_t> out(static_cast<size_t>(n));
  const uint8_t* p = a.bytes.data();
  for (size_t i = 0; i < out.size(); ++i, p += esize) {
    switch (a.type_code) {
      case kIdxUInt8:
        out[i] = *p;
        break;
      case kIdxInt8:
        out[i] = static_cast<int8_t>(*p);
        break;
      case kIdxInt16: {
        int16_t x;
        std::memcpy(&x, p, 2);
        out[i] = x;
        break;
      }
      case kIdxInt32: {
        int32_t x;
        std::memcpy(&x, p, 4);
        out[i] = x;
        break;
      }
    }
  }
  return out;
}

// Serialises an IdxArray to IDX bytes (header + big-endian payload); validates it first.
inline std::vector<uint8_t> encode_idx(const IdxArray& a, const std::string& what = "<memory>") {
  const size_t esize = idx_element_size_or_zero(a.type_code);
  EMBER_CHECK(esize != 0, "encode_idx: '", what, "': unknown IDX type code ",
              static_cast<int>(a.type_code), "; expected 0x08, 0x09, 0x0B, 0x0C, 0x0D or 0x0E");
  EMBER_CHECK(!a.dims.empty() && a.dims.size() <= static_cast<size_t>(kIdxMaxDims), "encode_idx: '",
              what, "': expected 1..", kIdxMaxDims, " dimensions, got ", a.dims.size(), " ",
              shape_str(a.dims));
  for (int64_t d : a.dims)
    EMBER_CHECK(d >= 0 && d <= static_cast<int64_t>(std::numeric_limits<uint32_t>::max()),
                "encode_idx: '", what, "': each dimension must fit in uint32, got ",
                shape_str(a.dims));
  uint64_t need = 0;
  EMBER_CHECK(detail::idx_payload_bytes(a.dims, esize, need) && need == a.bytes.size(),
              "encode_idx: '", what, "': dims ", shape_str(a.dims), " of ",
              idx_type_name(a.type_code), " need ", need, " bytes, but the array holds ",
              a.bytes.size());
  std::vector<uint8_t> out;
  out.reserve(4 + 4 * a.dims.size() + a.bytes.size());
  out.push_back(0);
  out.push_back(0);
  out.push_back(a.type_code);
  out.push_back(static_cast<uint8_t>(a.dims.size()));
  for (int64_t d : a.dims) {
    const auto u = static_cast<uint32_t>(d);
    out.push_back(static_cast<uint8_t>(u >> 24));
    out.push_back(static_cast<uint8_t>(u >> 16));
    out.push_back(static_cast<uint8_t>(u >> 8));
    out.push_back(static_cast<uint8_t>(u));
  }
  const size_t header = out.size();
  out.insert(out.end(), a.bytes.begin(), a.bytes.end());
  detail::idx_swap_to_from_big_endian(out.data() + header, a.bytes.size(), esize);
  return out;
}

// Writes an IDX file (gzipped when `gzip`), atomically: to path + ".tmp", then renamed.
inline void write_idx(const std::string& path, const IdxArray& a, bool gzip) {
  const std::vector<uint8_t> bytes = encode_idx(a, path);
  const std::string tmp = path + ".tmp";
  auto cleanup = [&] {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
  };
  if (gzip) {
    gzFile f = gzopen(tmp.c_str(), "wb");
    if (f == nullptr) {
      int err = errno;
      fail("write_idx: cannot create '", tmp, "' (for '", path,
           "'): ", (err ? std::strerror(err) : "zlib gzopen failed"));
    }
    size_t off = 0;
    bool ok = true;
    while (off < bytes.size()) {
      const size_t n = std::min<size_t>(bytes.size() - off, size_t{1} << 20);
      if (gzwrite(f, bytes.data() + off, static_cast<unsigned>(n)) != static_cast<int>(n)) {
        ok = false;
        break;
      }
      off += n;
    }
    int errnum = 0;
    std::string msg = ok ? "" : gzerror(f, &errnum);
    const int rc = gzclose(f);
    if (!ok || rc != Z_OK) {
      cleanup();
      fail("write_idx: error writing '", tmp, "' (for '", path,
           "'): ", (msg.empty() ? "gzclose failed with zlib code " + std::to_string(rc) : msg));
    }
  } else {
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (f == nullptr) {
      int err = errno;
      fail("write_idx: cannot create '", tmp, "' (for '", path, "'): ", std::strerror(err));
    }
    const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    const int err = errno;
    const bool closed = std::fclose(f) == 0;
    if (!ok || !closed) {
      cleanup();
      fail("write_idx: error writing '", tmp, "' (for '", path, "'): ", std::strerror(err));
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    cleanup();
    fail("write_idx: cannot rename '", tmp, "' to '", path, "': ", ec.message());
  }
}

}  // namespace ember::data
