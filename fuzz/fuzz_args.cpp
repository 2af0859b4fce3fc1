// libFuzzer harness: the fashion_mnist example's command-line parsing (the kit's standard
// flags and the example's own, via examples/fashion_mnist/options.hpp). The input is split at NUL
// bytes into argv[1..]. Bad command lines must be rejected with ember::Error; usage() must always
// render.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "../examples/fashion_mnist/options.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> words(1, "fashion_mnist");
  words.emplace_back();
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == 0)
      words.emplace_back();
    else
      words.back() += char(data[i]);
  }
  std::vector<const char*> argv;
  for (const std::string& w : words) argv.push_back(w.c_str());
  static const ember::kit::Example example = fashion_mnist::make_example();
  try {
    const ember::kit::Run run = example.parse(int(argv.size()), argv.data());
    (void)fashion_mnist::read_args(run);
  } catch (const ember::Error&) {
  }
  (void)example.parser().usage();
  return 0;
}
