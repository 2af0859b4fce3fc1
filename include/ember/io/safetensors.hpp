// Checkpoints in the safetensors format (github.com/huggingface/safetensors), the format that
// PyTorch, JAX and Hugging Face share, so ember checkpoints load there and theirs load here:
//
//   8 bytes   N, the header length, unsigned little-endian
//   N bytes   UTF-8 JSON object: name -> {"dtype": "F32", "shape": [2, 3], "data_offsets": [b, e]}
//             plus an optional "__metadata__": {str: str}; padded with trailing spaces
//   rest      the data section; [b, e) is relative to its start; little-endian, row-major
//
// dtypes (file code <-> ember type):
//   BOOL bool, U8 uint8_t, I32 int32_t, I64 int64_t, F32 float, F64 double,
//   C64 std::complex<float> (real, imaginary interleaved; a newer code of the format),
//   BF16 and F16 are read (widened exactly to float) but never written,
//   std::complex<double> has no code in the format: it is written as F64 with an extra trailing
//   dimension of 2 (real, imaginary; what torch.view_as_real gives, so other readers see plain
//   doubles) and its name is listed in the metadata key "ember.complex128" (a JSON array of
//   names), which load turns back into complex<double> and removes from the metadata it returns.
//   The other codes of the format (I8, I16, U16, U32, U64, F8_*) are recognised and rejected
//   with an error saying ember has no such tensor type.
//
// Reading trusts nothing in the file: the header length, the JSON, every dtype, shape and byte
// range are checked before anything is allocated from them, so no crafted file can make the
// reader crash, read out of bounds or allocate more than the file holds. Like the reference
// implementation, the byte ranges must tile the data section exactly (no overlap, no gap, no
// trailing bytes). Every failure throws ember::Error naming the file and what was wrong.
//
// Writing is atomic: the file is written to "<path>.tmp.<pid>.<n>" in the same directory,
// flushed and fsync'ed, renamed over <path>, and the directory is fsync'ed, so a crash leaves
// either the old checkpoint or the new one under <path>, never half of one.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <complex>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <ember/autograd/grad_mode.hpp>
#include <ember/core/dtype.hpp>
#include <ember/core/error.hpp>
#include <ember/core/tensor.hpp>
#include <ember/io/json.hpp>

namespace ember::io {

// The reference implementation refuses headers above 100 MB; so do we, before reading them.
inline constexpr uint64_t kSafetensorsMaxHeader = 100'000'000;
// Metadata key listing the tensors that are complex<double> stored as F64 [..., 2].
inline constexpr const char* kComplex128MetadataKey = "ember.complex128";

struct SafetensorsFile {
  StateDict tensors;                                 // in the order of the file's header
  std::map<std::string, std::string> metadata;       // "__metadata__", less ember's own key
  std::map<std::string, std::string> stored_dtypes;  // name -> code in the file ("BF16", ...)
};

namespace detail {

// ---------------------------------------------------------------------- dtypes and bytes

struct StDtype {
  const char* code;
  size_t size;     // bytes per stored element
  bool supported;  // false: a code of the format that ember has no tensor type for
  DType dtype;     // what it loads as (BF16 and F16 widen to float32)
};

inline const StDtype* st_dtype(std::string_view code) {
  static constexpr StDtype table[] = {
      {"BOOL", 1, true, DType::Bool},        {"U8", 1, true, DType::UInt8},
      {"I32", 4, true, DType::Int32},        {"I64", 8, true, DType::Int64},
      {"F32", 4, true, DType::Float32},      {"F64", 8, true, DType::Float64},
      {"C64", 8, true, DType::Complex64},    {"BF16", 2, true, DType::Float32},
      {"F16", 2, true, DType::Float32},      {"I8", 1, false, DType::Float32},
      {"I16", 2, false, DType::Float32},     {"U16", 2, false, DType::Float32},
      {"U32", 4, false, DType::Float32},     {"U64", 8, false, DType::Float32},
      {"F8_E5M2", 1, false, DType::Float32}, {"F8_E4M3", 1, false, DType::Float32},
      {"F8_E8M0", 1, false, DType::Float32},
  };
  for (const StDtype& d : table)
    if (code == d.code) return &d;
  return nullptr;
}

// The code a tensor of this dtype is written as (complex128: F64 with a trailing [2]).
inline const char* st_code(DType d) {
  switch (d) {
    case DType::Bool: return "BOOL";
    case DType::UInt8: return "U8";
    case DType::Int32: return "I32";
    case DType::Int64: return "I64";
    case DType::Float32: return "F32";
    case DType::Float64: return "F64";
    case DType::Complex64: return "C64";
    case DType::Complex128: return "F64";
  }
  return "?";
}

// Bytes of one real component: the unit that is little-endian in the file.
inline size_t component_size(DType d) {
  return d == DType::Complex64 ? 4 : d == DType::Complex128 ? 8 : dtype_size(d);
}

static_assert(std::endian::native == std::endian::little || std::endian::native == std::endian::big,
              "ember safetensors: mixed-endian hosts are not supported");

// Converts `nbytes` of `unit`-byte little-endian values to host order in place (and back: the
// same swap). A no-op on little-endian hosts, which is every host ember runs on today.
inline void le_swap(void* p, size_t nbytes, size_t unit) {
  if constexpr (std::endian::native == std::endian::big) {
    auto* b = static_cast<unsigned char*>(p);
    if (unit > 1)
      for (size_t off = 0; off + unit <= nbytes; off += unit) std::reverse(b + off, b + off + unit);
  } else {
    (void)p, (void)nbytes, (void)unit;
  }
}

inline uint16_t load_le16(const unsigned char* p) { return uint16_t(p[0] | (p[1] << 8)); }
inline uint64_t load_le64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// BF16 is the high half of an IEEE float32, so widening is exact: shift into the high 16 bits.
inline float bf16_to_float(uint16_t h) { return std::bit_cast<float>(uint32_t(h) << 16); }

// IEEE half -> float, exact for every value: subnormals are renormalised, inf stays inf and
// a NaN keeps its sign and payload (shifted into the float's mantissa).
inline float f16_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1F, man = h & 0x3FF;
  uint32_t bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (man << 13);
  } else if (exp != 0) {
    bits = sign | ((exp - 15 + 127) << 23) | (man << 13);
  } else if (man == 0) {
    bits = sign;
  } else {
    // Subnormal: man * 2^-24. Shift the leading 1 up to the implicit bit, lowering the exponent.
    int e = -14;
    while (!(man & 0x400)) man <<= 1, --e;
    bits = sign | (uint32_t(e + 127) << 23) | ((man & 0x3FF) << 13);
  }
  return std::bit_cast<float>(bits);
}

// ---------------------------------------------------------------------- header validation

struct StEntry {
  std::string name;
  const StDtype* stored = nullptr;
  DType dtype = DType::Float32;  // what it loads as
  Shape shape;                   // shape it loads as (complex128: without the trailing 2)
  uint64_t begin = 0, end = 0;   // byte range in the data section
};

struct StHeader {
  std::vector<StEntry> entries;  // header order
  std::map<std::string, std::string> metadata;
};

// Reads a non-negative JSON integer into `out`; false for anything else.
inline bool st_uint(const json::Value& v, uint64_t& out) {
  if (!v.is_integer()) return false;
  const json::Number& n = v.as_number();
  if (n.kind == json::Number::UInt) return out = n.u, true;
  if (n.i < 0) return false;
  return out = uint64_t(n.i), true;
}

inline std::string st_keys(const json::Object& obj) {
  std::string s = "{";
  for (size_t i = 0; i < obj.size(); ++i) s += (i ? ", " : "") + obj[i].first;
  return s + "}";
}

// Parses and validates a header against a data section of `data_size` bytes. Throws with
// `prefix` ("safetensors: <file>: ") on anything that does not describe a well-formed file.
inline StHeader st_parse_header(std::string_view text, uint64_t data_size,
                                const std::string& prefix) {
  json::Value root;
  try {
    root = json::parse(text);
  } catch (const Error& e) {
    fail(prefix, "header is not valid JSON: ", e.what());
  }
  if (!root.is_object())
    fail(prefix, "header is a JSON ", json::type_name(root.type()), ", expected an object");
  StHeader h;

  // Metadata first: it says which F64 tensors are complex128.
  std::set<std::string> complex128;
  if (const json::Value* md = root.find("__metadata__")) {
    if (!md->is_object())
      fail(prefix, "__metadata__ is a JSON ", json::type_name(md->type()),
           ", expected an object of strings");
    for (const auto& [k, v] : md->as_object()) {
      if (!v.is_string())
        fail(prefix, "__metadata__[\"", k, "\"] is a JSON ", json::type_name(v.type()),
             ", expected a string");
      h.metadata[k] = v.as_string();
    }
    if (auto it = h.metadata.find(kComplex128MetadataKey); it != h.metadata.end()) {
      json::Value names;
      try {
        names = json::parse(it->second);
      } catch (const Error& e) {
        fail(prefix, "__metadata__[\"", kComplex128MetadataKey,
             "\"] is not valid JSON: ", e.what());
      }
      if (!names.is_array())
        fail(prefix, "__metadata__[\"", kComplex128MetadataKey,
             "\"] must be a JSON array of tensor names");
      for (const json::Value& n : names.as_array()) {
        if (!n.is_string() || !complex128.insert(n.as_string()).second)
          fail(prefix, "__metadata__[\"", kComplex128MetadataKey,
               "\"] must be a JSON array of distinct tensor names");
      }
      h.metadata.erase(it);
    }
  }

  for (const auto& [name, info] : root.as_object()) {
    if (name == "__metadata__") continue;
    const std::string where = prefix + "tensor '" + name + "': ";
    if (!info.is_object())
      fail(where, "entry is a JSON ", json::type_name(info.type()), ", expected an object");
    const json::Object& obj = info.as_object();
    const json::Value* dtype = info.find("dtype");
    const json::Value* shape = info.find("shape");
    const json::Value* offsets = info.find("data_offsets");
    // The parser rejects duplicate keys, so three members with these three names is "exactly".
    if (obj.size() != 3 || !dtype || !shape || !offsets)
      fail(where, "entry must have exactly the keys dtype, shape, data_offsets; got ",
           st_keys(obj));

    StEntry e;
    e.name = name;
    if (!dtype->is_string()) fail(where, "dtype must be a string");
    e.stored = st_dtype(dtype->as_string());
    if (!e.stored) fail(where, "unknown dtype \"", dtype->as_string(), "\"");
    if (!e.stored->supported)
      fail(where, "dtype ", e.stored->code,
           " is valid safetensors but ember has no tensor type for it (supported: BOOL, U8, "
           "I32, I64, F32, F64, C64, BF16, F16)");
    e.dtype = e.stored->dtype;

    if (!shape->is_array()) fail(where, "shape must be an array of non-negative integers");
    int64_t numel = 1;
    for (const json::Value& d : shape->as_array()) {
      uint64_t s = 0;
      if (!st_uint(d, s) || s > uint64_t(std::numeric_limits<int64_t>::max()))
        fail(where, "shape must be an array of non-negative integers (int64), got ",
             json::dump(*shape));
      e.shape.push_back(int64_t(s));
      if (s != 0 && numel > std::numeric_limits<int64_t>::max() / int64_t(s))
        fail(where, "shape ", json::dump(*shape), " has more elements than fit in int64");
      numel *= int64_t(s);
    }
    if (numel > std::numeric_limits<int64_t>::max() / int64_t(e.stored->size))
      fail(where, "shape ", json::dump(*shape), " of ", e.stored->code,
           " is more bytes than fit in int64");
    const uint64_t nbytes = uint64_t(numel) * e.stored->size;

    if (!offsets->is_array() || offsets->as_array().size() != 2 ||
        !st_uint(offsets->as_array()[0], e.begin) || !st_uint(offsets->as_array()[1], e.end))
      fail(where, "data_offsets must be two non-negative integers, got ", json::dump(*offsets));
    if (e.end < e.begin)
      fail(where, "data_offsets [", e.begin, ", ", e.end, "] end before they begin");
    if (e.end > data_size)
      fail(where, "data_offsets [", e.begin, ", ", e.end, "] run past the ", data_size,
           "-byte data section (truncated file?)");
    if (e.end - e.begin != nbytes)
      fail(where, e.stored->code, " ", shape_str(e.shape), " needs ", nbytes,
           " bytes but data_offsets [", e.begin, ", ", e.end, "] hold ", e.end - e.begin);

    if (complex128.erase(name)) {
      if (std::string_view(e.stored->code) != "F64" || e.shape.empty() || e.shape.back() != 2)
        fail(where, "listed in __metadata__[\"", kComplex128MetadataKey,
             "\"] so it must be F64 with a trailing dimension of 2, got ", e.stored->code, " ",
             shape_str(e.shape));
      e.dtype = DType::Complex128;
      e.shape.pop_back();
    }
    h.entries.push_back(std::move(e));
  }
  if (!complex128.empty())
    fail(prefix, "__metadata__[\"", kComplex128MetadataKey, "\"] names tensor '",
         *complex128.begin(), "' that the file does not have");

  // The ranges must tile the data section: sorted by start, each begins where the last ended.
  std::vector<const StEntry*> order;
  for (const StEntry& e : h.entries) order.push_back(&e);
  std::sort(order.begin(), order.end(), [](const StEntry* a, const StEntry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t pos = 0;
  const StEntry* prev = nullptr;
  for (const StEntry* e : order) {
    if (e->begin < pos)
      fail(prefix, "tensor '", e->name, "': data_offsets [", e->begin, ", ", e->end,
           "] overlap those of tensor '", prev->name, "' [", prev->begin, ", ", prev->end, "]");
    if (e->begin > pos)
      fail(prefix, "tensor '", e->name, "': data_offsets start at ", e->begin,
           ", leaving a gap of ", e->begin - pos, " unused bytes after byte ", pos,
           " of the data section");
    pos = e->end;
    prev = e;
  }
  if (pos != data_size)
    fail(prefix, "tensors cover ", pos, " bytes but the data section has ", data_size,
         " (trailing bytes)");
  return h;
}

// Allocates and fills every tensor; read(offset, nbytes, dst) copies bytes of the data section
// (all ranges were validated against its size).
template <class Read>
SafetensorsFile st_materialize(StHeader&& h, const std::string& prefix, Read&& read) {
  SafetensorsFile out;
  out.metadata = std::move(h.metadata);
  for (const StEntry& e : h.entries) {
    const size_t nbytes = size_t(e.end - e.begin);
    AnyTensor t = visit_dtype(e.dtype, [&](auto* type_tag) -> AnyTensor {
      using T = std::remove_pointer_t<decltype(type_tag)>;
      Tensor<T> t = Tensor<T>::empty(e.shape);
      const std::string_view code = e.stored->code;
      if (code == "BF16" || code == "F16") {
        if constexpr (std::is_same_v<T, float>) {
          std::vector<unsigned char> raw(nbytes);
          if (nbytes) read(e.begin, nbytes, raw.data());
          float* dst = t.data_ptr();
          for (size_t i = 0; i < nbytes / 2; ++i) {
            const uint16_t bits = load_le16(&raw[2 * i]);
            dst[i] = code == "BF16" ? bf16_to_float(bits) : f16_to_float(bits);
          }
        }
      } else {
        if (nbytes) read(e.begin, nbytes, static_cast<void*>(t.data_ptr()));
        if constexpr (std::is_same_v<T, bool>) {
          // Any byte but 0 or 1 would be undefined behaviour when read as a bool.
          const auto* b = reinterpret_cast<const unsigned char*>(t.data_ptr());
          for (size_t i = 0; i < nbytes; ++i)
            if (b[i] > 1)
              fail(prefix, "tensor '", e.name, "': BOOL element ", i, " is ", int(b[i]),
                   ", expected 0 or 1");
        }
        le_swap(t.data_ptr(), nbytes, component_size(e.dtype));
      }
      return t;
    });
    out.tensors.emplace_back(e.name, std::move(t));
    out.stored_dtypes[e.name] = e.stored->code;
  }
  return out;
}

inline std::string st_prefix(const std::string& what) { return "safetensors: " + what + ": "; }

// ---------------------------------------------------------------------- atomic writing

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f) std::fclose(f);
  }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

// Numbers temporary files; one counter for the process (not one per template instantiation).
inline std::atomic<uint64_t>& tmp_counter() {
  static std::atomic<uint64_t> counter{0};
  return counter;
}

// Writes the file through write_body(FILE*) to a temporary name next to `path`, makes it
// durable, and renames it over `path`. Any failure removes the temporary file.
template <class Body>
void write_atomically(const std::string& path, const char* op, Body&& write_body) {
  // pid + a counter: two processes, or two threads of one, never share a temporary file.
  const std::string tmp =
      path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(tmp_counter()++);
  struct Cleanup {
    const std::string& tmp;
    bool armed = true;
    ~Cleanup() {
      if (armed) std::remove(tmp.c_str());
    }
  } cleanup{tmp};

  FilePtr f(std::fopen(tmp.c_str(), "wb"));
  if (!f) {
    const int err = errno;
    cleanup.armed = false;  // nothing was created
    fail(op, ": cannot create '", tmp, "' to write '", path, "': ", std::strerror(err));
  }
  write_body(f.get());
  if (std::fflush(f.get()) != 0 || std::ferror(f.get()))
    fail(op, ": error writing '", tmp, "' (for '", path, "'): ", std::strerror(errno));
  if (::fsync(::fileno(f.get())) != 0)
    fail(op, ": fsync of '", tmp, "' (for '", path, "') failed: ", std::strerror(errno));
  if (std::fclose(f.release()) != 0)
    fail(op, ": error closing '", tmp, "' (for '", path, "'): ", std::strerror(errno));
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    fail(op, ": cannot rename '", tmp, "' to '", path, "': ", std::strerror(errno));
  cleanup.armed = false;

  // The rename is only durable once the directory entry is: fsync the directory too.
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    fail(op, ": wrote '", path, "' but cannot open its directory '", dir,
         "' to make the rename durable: ", std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // EINVAL: the file system cannot sync directories (it has nothing to make durable).
  if (rc != 0 && err != EINVAL)
    fail(op, ": wrote '", path, "' but fsync of its directory '", dir,
         "' failed: ", std::strerror(err));
}

// fwrite of little-endian bytes (swapped through a buffer on big-endian hosts). A failed write
// sets the stream's error flag, which write_atomically checks after the body.
inline void st_write_le(std::FILE* f, const void* p, size_t nbytes, size_t unit) {
  if constexpr (std::endian::native == std::endian::little) {
    (void)unit;
    if (nbytes) std::fwrite(p, 1, nbytes, f);
  } else {
    std::vector<unsigned char> buf;
    const auto* b = static_cast<const unsigned char*>(p);
    for (size_t off = 0; off < nbytes; off += size_t{1} << 20) {
      const size_t n = std::min(nbytes - off, size_t{1} << 20);  // a multiple of every unit
      buf.assign(b + off, b + off + n);
      le_swap(buf.data(), n, unit);
      std::fwrite(buf.data(), 1, n, f);
    }
  }
}

}  // namespace detail

// ---------------------------------------------------------------------- writing

// Writes `tensors` (any dtype, any strides; CPU) and string metadata to `path`, atomically.
// The header lists "__metadata__" first (when there is any), then the tensors in the given
// order, whose data follows back to back in the same order.
inline void save_safetensors(const std::string& path, const StateDict& tensors,
                             const std::map<std::string, std::string>& metadata = {}) {
  const std::string prefix = "save_safetensors: '" + path + "': ";
  EMBER_CHECK(!metadata.count(kComplex128MetadataKey), prefix, "metadata key \"",
              kComplex128MetadataKey, "\" is reserved for ember's complex128 tensors");

  struct Item {
    AnyTensor keep;  // the contiguous tensor `data` points into
    const void* data;
    size_t nbytes;
    size_t unit;  // bytes of one little-endian component
  };
  std::vector<Item> items;
  std::set<std::string_view> seen;
  json::Array complex128;
  json::Object header;
  uint64_t pos = 0;
  {
    NoGradGuard no_grad;  // contiguous() of a tensor that requires grad must not record a graph
    for (const auto& [name, t] : tensors) {
      EMBER_CHECK(name != "__metadata__", prefix,
                  "\"__metadata__\" is reserved and cannot name a tensor");
      EMBER_CHECK(seen.insert(name).second, prefix, "duplicate tensor name '", name, "'");
      EMBER_CHECK(t.defined(), prefix, "tensor '", name, "' is undefined");
      EMBER_CHECK(t.impl->storage && t.impl->storage->device().is_cpu(), prefix, "tensor '", name,
                  "' is not on the cpu; move it to the cpu before saving");
      const DType dt = t.impl->dtype;
      const ImplPtr& impl = t.impl;  // lambdas cannot capture structured bindings before clang 16
      AnyTensor c = visit_dtype(dt, [&](auto* type_tag) -> AnyTensor {
        using T = std::remove_pointer_t<decltype(type_tag)>;
        return Tensor<T>(impl).contiguous();
      });
      const size_t nbytes = size_t(c.impl->numel()) * dtype_size(dt);
      json::Array shape;
      for (int64_t s : c.impl->shape) shape.emplace_back(s);
      if (dt == DType::Complex128) {
        shape.emplace_back(2);
        complex128.emplace_back(name);
      }
      header.emplace_back(name, json::Object{{"dtype", detail::st_code(dt)},
                                             {"shape", std::move(shape)},
                                             {"data_offsets", json::Array{pos, pos + nbytes}}});
      pos += nbytes;
      const void* data = static_cast<const unsigned char*>(c.impl->storage->data()) +
                         size_t(c.impl->offset) * dtype_size(dt);
      items.push_back({std::move(c), data, nbytes, detail::component_size(dt)});
    }
  }
  json::Object md;
  for (const auto& [k, v] : metadata) md.emplace_back(k, v);
  if (!complex128.empty()) md.emplace_back(kComplex128MetadataKey, json::dump(complex128));
  if (!md.empty()) header.insert(header.begin(), json::Member("__metadata__", std::move(md)));

  std::string text;
  try {
    text = json::dump(header);
  } catch (const Error& e) {
    fail(prefix,
         "cannot write the header (tensor names and metadata must be valid UTF-8): ", e.what());
  }
  // Pad with spaces so the data section starts 8-byte aligned (as the reference writer does).
  text.append((8 - text.size() % 8) % 8, ' ');

  detail::write_atomically(path, "save_safetensors", [&](std::FILE* f) {
    unsigned char len[8];
    for (int i = 0; i < 8; ++i)
      len[i] = static_cast<unsigned char>(uint64_t(text.size()) >> (8 * i));
    detail::st_write_le(f, len, 8, 1);
    detail::st_write_le(f, text.data(), text.size(), 1);
    for (const Item& it : items) detail::st_write_le(f, it.data, it.nbytes, it.unit);
  });
}

// ---------------------------------------------------------------------- reading

// Parses a whole safetensors file held in memory. `what` names it in error messages.
inline SafetensorsFile parse_safetensors(const uint8_t* data, size_t size,
                                         const std::string& what) {
  const std::string prefix = detail::st_prefix(what);
  if (size < 8) fail(prefix, "file is ", size, " bytes, too short for the 8-byte header length");
  const uint64_t n = detail::load_le64(data);
  if (n > kSafetensorsMaxHeader)
    fail(prefix, "header length ", n, " exceeds the ", kSafetensorsMaxHeader, "-byte limit");
  if (n > size - 8)
    fail(prefix, "header length ", n, " runs past the end of the ", size, "-byte file");
  const uint8_t* base = data + 8 + n;
  detail::StHeader h = detail::st_parse_header(
      std::string_view(reinterpret_cast<const char*>(data + 8), size_t(n)), size - 8 - n, prefix);
  return detail::st_materialize(std::move(h), prefix, [&](uint64_t off, size_t nbytes, void* dst) {
    std::memcpy(dst, base + off, nbytes);  // unaligned source: memcpy, never a typed load
  });
}

// Reads and validates a checkpoint. Tensors are read straight from the file into their storage,
// so loading needs no second copy of the checkpoint in memory.
inline SafetensorsFile load_safetensors(const std::string& path) {
  const std::string prefix = detail::st_prefix(path);
  detail::FilePtr f(std::fopen(path.c_str(), "rb"));
  if (!f) fail(prefix, "cannot open: ", std::strerror(errno));
  struct stat st {};
  if (::fstat(::fileno(f.get()), &st) != 0) fail(prefix, "cannot stat: ", std::strerror(errno));
  if (!S_ISREG(st.st_mode)) fail(prefix, "not a regular file");
  const uint64_t size = uint64_t(st.st_size);

  auto read_at = [&](uint64_t off, size_t nbytes, void* dst) {
    if (::fseeko(f.get(), off_t(off), SEEK_SET) != 0 ||
        std::fread(dst, 1, nbytes, f.get()) != nbytes)
      fail(prefix, "cannot read ", nbytes, " bytes at offset ", off,
           std::ferror(f.get()) ? std::string(": ") + std::strerror(errno)
                                : std::string(" (the file was truncated while reading)"));
  };
  if (size < 8) fail(prefix, "file is ", size, " bytes, too short for the 8-byte header length");
  unsigned char len[8];
  read_at(0, 8, len);
  const uint64_t n = detail::load_le64(len);
  if (n > kSafetensorsMaxHeader)
    fail(prefix, "header length ", n, " exceeds the ", kSafetensorsMaxHeader, "-byte limit");
  if (n > size - 8)
    fail(prefix, "header length ", n, " runs past the end of the ", size, "-byte file");
  std::string text(size_t(n), '\0');
  if (n) read_at(8, size_t(n), text.data());
  detail::StHeader h = detail::st_parse_header(text, size - 8 - n, prefix);
  return detail::st_materialize(std::move(h), prefix, [&](uint64_t off, size_t nbytes, void* dst) {
    read_at(8 + n + off, nbytes, dst);
  });
}

// The tensor `name` as a Tensor<T>; throws when it is missing or has another dtype.
template <class T>
Tensor<T> get(const SafetensorsFile& file, const std::string& name) {
  for (const auto& [n, t] : file.tensors) {
    if (n != name) continue;
    if (t.impl->dtype != dtype_v<T>) {
      auto it = file.stored_dtypes.find(name);
      fail("safetensors get: tensor '", name, "' has dtype ", dtype_name(t.impl->dtype),
           it != file.stored_dtypes.end() ? " (stored as " + it->second + ")" : std::string(),
           ", expected ", dtype_name(dtype_v<T>));
    }
    return Tensor<T>(t.impl);
  }
  std::string names;
  for (size_t i = 0; i < file.tensors.size() && i < 20; ++i)
    names += (i ? ", '" : "'") + file.tensors[i].first + "'";
  if (file.tensors.size() > 20) names += ", ... (" + std::to_string(file.tensors.size()) + ")";
  fail("safetensors get: no tensor named '", name, "'; the file has ",
       file.tensors.empty() ? std::string("no tensors") : names);
}

// ---------------------------------------------------------------------- module / optimizer glue

// Keys that did not match in a non-strict load (PyTorch's missing_keys / unexpected_keys).
struct LoadStateResult {
  std::vector<std::string> missing_keys;     // in the targets, not in the file
  std::vector<std::string> unexpected_keys;  // in the file, not in the targets
};

// Saves a module's or optimizer's state_dict().
inline void save_state(const std::string& path, const StateDict& sd,
                       const std::map<std::string, std::string>& metadata = {}) {
  save_safetensors(path, sd, metadata);
}

// Copies the tensors of `file` INTO `targets` (the live tensors a model or optimizer holds), so
// every handle to them sees the loaded values. Names, dtypes and shapes are all checked before
// anything is written, so a failed load leaves the targets untouched. strict: every target must
// be in the file and every tensor of the file must be a target. dtypes must match exactly,
// except that BF16 and F16 tensors (which load as float32) fill float32 targets.
inline LoadStateResult load_state_into(const SafetensorsFile& file, const StateDict& targets,
                                       bool strict = true, const std::string& what = "<memory>") {
  const std::string prefix = "load_state_into: '" + what + "': ";
  std::map<std::string_view, const AnyTensor*> in_file;
  for (const auto& [name, t] : file.tensors) in_file[name] = &t;

  LoadStateResult result;
  std::set<std::string_view> target_names;
  for (const auto& [name, t] : targets) {
    EMBER_CHECK(target_names.insert(name).second, prefix, "duplicate target name '", name, "'");
    EMBER_CHECK(t.defined(), prefix, "target '", name, "' is undefined");
    if (!in_file.count(name)) result.missing_keys.push_back(name);
  }
  for (const auto& [name, t] : file.tensors)
    if (!target_names.count(name)) result.unexpected_keys.push_back(name);

  auto list = [](const std::vector<std::string>& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", '" : "'") + v[i] + "'";
    return s + "]";
  };
  if (strict && (!result.missing_keys.empty() || !result.unexpected_keys.empty()))
    fail(prefix, "the checkpoint does not match the state dict: missing keys (not in the file) ",
         list(result.missing_keys), ", unexpected keys (in the file, not in the state dict) ",
         list(result.unexpected_keys));

  std::string problems;
  for (const auto& [name, target] : targets) {
    auto it = in_file.find(name);
    if (it == in_file.end()) continue;
    const TensorImpl& src = *it->second->impl;
    const TensorImpl& dst = *target.impl;
    if (src.dtype != dst.dtype) {
      auto code = file.stored_dtypes.find(name);
      problems += "; '" + name + "': dtype " + dtype_name(src.dtype) +
                  (code != file.stored_dtypes.end() ? " (stored as " + code->second + ")" : "") +
                  " in the file, " + dtype_name(dst.dtype) + " in the state dict";
    } else if (src.shape != dst.shape) {
      problems += "; '" + name + "': shape " + shape_str(src.shape) + " in the file, " +
                  shape_str(dst.shape) + " in the state dict";
    } else if (!dst.storage || !dst.storage->device().is_cpu()) {
      problems += "; '" + name + "': target is not on the cpu";
    }
  }
  if (!problems.empty()) fail(prefix, "cannot load", problems.substr(1));

  NoGradGuard no_grad;  // an in-place write into parameters, not a step of any graph
  for (const auto& entry : targets) {
    auto it = in_file.find(entry.first);
    if (it == in_file.end()) continue;
    const ImplPtr& dst = entry.second.impl;
    const ImplPtr& src = it->second->impl;
    visit_dtype(dst->dtype, [&](auto* type_tag) {
      using T = std::remove_pointer_t<decltype(type_tag)>;
      Tensor<T>(dst).copy_(Tensor<T>(src));
    });
  }
  return result;
}

// Loads the checkpoint at `path` into `targets` (see above).
inline LoadStateResult load_state_into(const std::string& path, const StateDict& targets,
                                       bool strict = true) {
  return load_state_into(load_safetensors(path), targets, strict, path);
}

}  // namespace ember::io
