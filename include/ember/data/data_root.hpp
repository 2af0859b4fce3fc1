// Where the examples' offline data live: one folder, filled by data/install.sh (which
// tools/setup.sh runs). $EMBER_DATA overrides the default for the script and for ember alike,
// so a user without root can keep the data anywhere.
//
// A missing file is an error that says how to get it, never a silent skip: an example or a
// test that needs real data fails with the setup command in its message.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include "ember/core/error.hpp"

namespace ember::data {

inline constexpr const char* kDefaultDataRoot = "/usr/local/share/ember/data";

// $EMBER_DATA when set and non-empty, else /usr/local/share/ember/data.
inline std::string data_root() {
  const char* env = std::getenv("EMBER_DATA");
  return env != nullptr && *env != '\0' ? std::string(env) : std::string(kDefaultDataRoot);
}

// The message every missing-data error ends with.
inline std::string missing_data_message(std::string_view what, const std::string& path) {
  std::string msg(what);
  msg += " not found at " + path +
         ": run tools/setup.sh (it installs the examples' data; EMBER_DATA overrides the folder)";
  return msg;
}

// root / relative when that exists, else an ember::Error naming `what`, the path and the fix.
inline std::string require_data_in(const std::string& root, std::string_view relative,
                                   std::string_view what) {
  EMBER_CHECK(!relative.empty(), "require_data: empty relative path for ", what);
  const std::filesystem::path path = std::filesystem::path(root) / relative;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail(missing_data_message(what, path.string()));
  return path.string();
}

// data_root() / relative, or the error above. `what` names the data for the user, e.g.
// "the cockatoo video".
inline std::string require_data(std::string_view relative, std::string_view what) {
  return require_data_in(data_root(), relative, what);
}

}  // namespace ember::data
