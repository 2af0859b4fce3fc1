// Generated data sets written once and read back on later runs.
//
//   DataCache cache(default_cache_dir(out_dir));
//   StateDict scenes = cache.cached("mdm-scenes", CacheParams().set("n", 6000).set("seed", 1),
//                                   [&] { return scenes_to_tensors(compositor.generate(...)); });
//
// Where: default_cache_dir(output_dir) is $EMBER_CACHE when that is set and non-empty, else
// <output_dir>/cache. Not the data folder: it is installed by root (tools/setup.sh) and is
// read-only to the user who runs the examples, while the output folder is proven writable
// before any work starts (kit/output.hpp). Point EMBER_CACHE at one folder to share the
// generated data between output folders.
//
// Which file: "<name>-<16 hex digits>.safetensors", the digits the FNV-1a 64 hash of the name
// and the canonical parameter string ("key=value" lines sorted by key; numbers written in
// their shortest round-trip form), so every parameter set has its own file and changing a
// parameter makes a new one (older files stay until the folder is cleared).
//
// What is checked on load: the safetensors structure (io/safetensors.hpp trusts nothing in the
// file), then the metadata: the cache format, the name, the full canonical parameter string
// (so a hash collision or a renamed file is not taken for this data set) and an FNV-1a 64
// checksum of every tensor's name, dtype, shape and bytes (so flipped bits in the data are
// caught too). Any failure, a corrupted or truncated file included, REGENERATES the data and
// overwrites the file, with one line on the log stream (std::cerr unless set_log changes it):
// the cache holds only derived data, so the generator is always a correct way to recover.
//
// Writing goes through save_safetensors, which writes a temporary file in the same folder,
// fsyncs it and renames it over the target: an interrupted run leaves the old file or the new
// one, never half of one. A cache that cannot be written (read-only folder, full disk) is
// reported on the log and the freshly generated tensors are returned anyway: the run is
// correct, only the next one is slower.
#pragma once

#include <charconv>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ember/core/dtype.hpp>
#include <ember/core/error.hpp>
#include <ember/core/tensor.hpp>
#include <ember/io/safetensors.hpp>
#include <filesystem>
#include <iostream>
#include <map>
#include <ostream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace ember::data {

inline constexpr uint64_t kFnv64Offset = 0xcbf29ce484222325ull;
inline constexpr uint64_t kFnv64Prime = 0x100000001b3ull;

// FNV-1a 64 of `size` bytes, continuing from `hash` (chain calls to hash several pieces). Named
// apart from the text overload so that fnv1a64("text", hash) never binds a literal as bytes.
inline uint64_t fnv1a64_bytes(const void* data, size_t size, uint64_t hash = kFnv64Offset) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < size; ++i) hash = (hash ^ p[i]) * kFnv64Prime;
  return hash;
}

inline uint64_t fnv1a64(std::string_view text, uint64_t hash = kFnv64Offset) {
  return fnv1a64_bytes(text.data(), text.size(), hash);
}

// 16 lowercase hex digits.
inline std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// The parameters a generated data set depends on. Keys are [A-Za-z0-9_.-]+; values are any
// single line. Everything the generator reads must be here, or a change to it would reuse
// stale data.
class CacheParams {
 public:
  CacheParams& set(const std::string& key, std::string_view value) {
    check_key(key);
    EMBER_CHECK(value.find('\n') == std::string_view::npos, "CacheParams::set: value of '", key,
                "' holds a newline; expected one line");
    values_[key] = std::string(value);
    return *this;
  }
  CacheParams& set(const std::string& key, const char* value) {
    return set(key, std::string_view(value));
  }
  CacheParams& set(const std::string& key, const std::string& value) {
    return set(key, std::string_view(value));
  }
  CacheParams& set(const std::string& key, bool value) {
    return set(key, value ? "true" : "false");
  }
  template <class T>
  requires(std::integral<T> || std::floating_point<T>) &&
      (!std::same_as<T, bool>)CacheParams& set(const std::string& key, T value) {
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, value);  // shortest round-trip form
    return set(key, std::string_view(buf, size_t(r.ptr - buf)));
  }

  const std::map<std::string, std::string>& values() const { return values_; }

  // "key=value\n" for every parameter, sorted by key: equal parameter sets, equal strings.
  std::string canonical() const {
    std::string s;
    for (const auto& [k, v] : values_) s += k + "=" + v + "\n";
    return s;
  }

 private:
  static void check_key(const std::string& key) {
    bool ok = !key.empty();
    for (char c : key)
      ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-');
    EMBER_CHECK(ok, "CacheParams::set: key '", key,
                "' must be non-empty and use only letters, digits, '_', '.' and '-'");
  }
  std::map<std::string, std::string> values_;
};

// $EMBER_CACHE when set and non-empty, else <output_dir>/cache (see the header comment).
inline std::filesystem::path default_cache_dir(const std::filesystem::path& output_dir) {
  const char* env = std::getenv("EMBER_CACHE");
  if (env != nullptr && *env != '\0') return env;
  return output_dir / "cache";
}

// The tensor called `name` in a cached data set, as a Tensor<T>; ember::Error names the entry
// when it is missing or holds another dtype.
template <class T>
Tensor<T> cached_tensor(const StateDict& tensors, const std::string& name) {
  for (const auto& [key, t] : tensors)
    if (key == name) {
      EMBER_CHECK(t.defined() && t.impl->dtype == dtype_v<T>, "cached_tensor: '", name, "' holds ",
                  t.defined() ? dtype_name(t.impl->dtype) : "nothing", "; expected ",
                  dtype_name(dtype_v<T>));
      return Tensor<T>(t.impl);
    }
  fail("cached_tensor: no tensor named '", name, "' among the ", tensors.size(), " cached");
}

// FNV-1a 64 over every tensor's name, dtype, shape and bytes (row-major), in order.
inline uint64_t state_checksum(const StateDict& tensors) {
  uint64_t h = kFnv64Offset;
  NoGradGuard no_grad;
  for (const auto& [name, t] : tensors) {
    EMBER_CHECK(t.defined(), "state_checksum: tensor '", name, "' is undefined");
    check_cpu(t.impl->storage->device(), "state_checksum");
    h = fnv1a64(name + "\n" + dtype_name(t.impl->dtype) + shape_str(t.impl->shape) + "\n", h);
    const ImplPtr& impl = t.impl;
    visit_dtype(impl->dtype, [&](auto* type_tag) {
      using T = std::remove_pointer_t<decltype(type_tag)>;
      const Tensor<T> c = Tensor<T>(impl).contiguous();
      h = fnv1a64_bytes(c.data_ptr(), size_t(c.numel()) * sizeof(T), h);
    });
  }
  return h;
}

class DataCache {
 public:
  enum class Outcome { None, Hit, Generated, Regenerated };

  explicit DataCache(std::filesystem::path dir) : dir_(std::move(dir)) {
    EMBER_CHECK(!dir_.empty(), "DataCache: expected a cache folder, got an empty path");
  }

  const std::filesystem::path& dir() const { return dir_; }

  // Where one line per regenerated or unwritable file goes; nullptr silences it.
  void set_log(std::ostream* log) { log_ = log; }

  // The file that holds data set `name` with `params`.
  std::filesystem::path path_for(const std::string& name, const CacheParams& params) const {
    check_name(name);
    return dir_ / (name + "-" + hex64(fnv1a64(key_text(name, params))) + ".safetensors");
  }

  // The tensors of data set `name` with `params`: read from the cache when a valid file is
  // there, else `generate()` (returning a StateDict of CPU tensors) is called once and its
  // result written to the cache and returned.
  template <class Generate>
  StateDict cached(const std::string& name, const CacheParams& params, Generate&& generate) {
    const std::filesystem::path path = path_for(name, params);
    std::string why_regenerate;
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) {
      try {
        StateDict tensors = load_checked(path, name, params);
        last_ = Outcome::Hit;
        return tensors;
      } catch (const Error& e) {
        why_regenerate = e.what();
      }
    }
    StateDict tensors = generate();
    store(path, name, params, tensors);
    last_ = why_regenerate.empty() ? Outcome::Generated : Outcome::Regenerated;
    if (!why_regenerate.empty() && log_ != nullptr)
      *log_ << "ember cache: regenerated '" << path.string() << "': " << why_regenerate << "\n";
    return tensors;
  }

  // What the last call of cached() did.
  Outcome last_outcome() const { return last_; }

 private:
  static constexpr const char* kFormat = "ember.cache.format";
  static constexpr const char* kName = "ember.cache.name";
  static constexpr const char* kParams = "ember.cache.params";
  static constexpr const char* kChecksum = "ember.cache.checksum";
  static constexpr const char* kFormatVersion = "1";

  static void check_name(const std::string& name) {
    bool ok = !name.empty() && name.size() <= 100;
    for (char c : name)
      ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-');
    EMBER_CHECK(ok && name.front() != '.', "DataCache: name '", name,
                "' must be 1..100 letters, digits, '_', '.' or '-' and not start with '.'");
  }

  static std::string key_text(const std::string& name, const CacheParams& params) {
    return name + "\n" + params.canonical();
  }

  static StateDict load_checked(const std::filesystem::path& path, const std::string& name,
                                const CacheParams& params) {
    io::SafetensorsFile file = io::load_safetensors(path.string());
    auto meta = [&](const char* key) {
      const auto it = file.metadata.find(key);
      return it == file.metadata.end() ? std::string("<missing>") : it->second;
    };
    EMBER_CHECK(meta(kFormat) == kFormatVersion, "cache format is '", meta(kFormat),
                "', expected '", kFormatVersion, "'");
    EMBER_CHECK(meta(kName) == name, "the file holds data set '", meta(kName), "', expected '",
                name, "'");
    EMBER_CHECK(meta(kParams) == params.canonical(), "the file was generated with parameters\n",
                meta(kParams), "but these were asked for\n", params.canonical());
    const std::string sum = hex64(state_checksum(file.tensors));
    EMBER_CHECK(meta(kChecksum) == sum, "the tensors' checksum is ", sum, " but the file records ",
                meta(kChecksum), " (corrupted data)");
    return std::move(file.tensors);
  }

  void store(const std::filesystem::path& path, const std::string& name, const CacheParams& params,
             const StateDict& tensors) const {
    const std::map<std::string, std::string> metadata = {
        {kFormat, kFormatVersion},
        {kName, name},
        {kParams, params.canonical()},
        {kChecksum, hex64(state_checksum(tensors))}};
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    try {
      EMBER_CHECK(!ec, "cannot create the cache folder '", dir_.string(), "': ", ec.message());
      io::save_safetensors(path.string(), tensors, metadata);
    } catch (const Error& e) {
      if (log_ != nullptr)
        *log_ << "ember cache: could not write '" << path.string() << "' (the data were generated "
              << "and are used, but the next run regenerates them): " << e.what() << "\n";
    }
  }

  std::filesystem::path dir_;
  std::ostream* log_ = &std::cerr;
  Outcome last_ = Outcome::None;
};

}  // namespace ember::data
