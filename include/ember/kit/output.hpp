// The output folder of an example, and files written into it whole or not at all.
#pragma once

#include <ember/core/error.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

namespace ember::kit {

// Creates `dir` (and its parents) and proves it writable by writing and removing a probe
// file, so a bad --out fails in the first second, not after an hour of training.
inline void prepare_output_dir(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  EMBER_CHECK(!ec, "output folder '", dir.string(), "': cannot create it: ", ec.message());
  EMBER_CHECK(fs::is_directory(dir), "output folder '", dir.string(), "' is not a folder");
  const fs::path probe = dir / ".ember_write_probe";
  {
    std::ofstream f(probe, std::ios::binary);
    f << "probe";
    f.close();
    EMBER_CHECK(f.good(), "output folder '", dir.string(), "' is not writable");
  }
  fs::remove(probe, ec);
}

// Writes `text` to `path` through a temporary file and a rename, so a crash or a full disk
// never leaves half a report behind.
inline void write_file_atomic(const std::filesystem::path& path, const std::string& text) {
  namespace fs = std::filesystem;
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary);
    f << text;
    f.close();
    EMBER_CHECK(f.good(), "cannot write '", tmp.string(), "'");
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  EMBER_CHECK(!ec, "cannot rename '", tmp.string(), "' to '", path.string(), "': ", ec.message());
}

}  // namespace ember::kit
