// ember::Error and the checks that throw it. Every message names the op, the shapes
// involved and what was expected, so a user can fix the call without a debugger.
#pragma once

#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace ember {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Builds a message from any streamable pieces and throws it as an ember::Error.
template <class... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  throw Error(os.str());
}

// "[2, 3, 4]": the way shapes appear in every error message.
inline std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

}  // namespace ember

// EMBER_CHECK(cond, "op: expected ..., got ", x): throws ember::Error when cond is false.
#define EMBER_CHECK(cond, ...)                  \
  do {                                          \
    if (!(cond)) ::ember::fail(__VA_ARGS__);    \
  } while (0)
