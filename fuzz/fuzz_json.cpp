// libFuzzer harness: io::json::parse on arbitrary text. Bad input must be rejected with
// ember::Error. What parses must dump, and the dump must parse back to the same dump.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <ember/io/json.hpp>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const ember::io::json::Value v = ember::io::json::parse(text);
    const std::string once = ember::io::json::dump(v);
    const std::string twice = ember::io::json::dump(ember::io::json::parse(once));
    if (once != twice) std::abort();  // dump() output must round-trip
  } catch (const ember::Error&) {
  }
  return 0;
}
