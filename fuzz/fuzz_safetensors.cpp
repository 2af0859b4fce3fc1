// libFuzzer harness: io::parse_safetensors on arbitrary bytes. A malformed file must be
// rejected with ember::Error; anything else (a crash, a sanitizer report, another exception)
// is a bug. A file that parses is also read back through get<T>() for every tensor.
#include <cstddef>
#include <cstdint>
#include <ember/autograd/anomaly.hpp>
#include <ember/core/tensor.hpp>
#include <ember/io/safetensors.hpp>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const ember::io::SafetensorsFile f = ember::io::parse_safetensors(data, size, "<fuzz>");
    for (const auto& [name, t] : f.tensors) {
      (void)name;
      (void)ember::detail::first_nonfinite(*t.impl);  // touches every element
    }
  } catch (const ember::Error&) {
  }
  return 0;
}
