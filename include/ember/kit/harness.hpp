// The frame of every example program: the standard flags, the device, the output folder
// (created and proved writable before any long work), provenance, and errors printed with a
// non-zero exit status.
//
//   int main(int argc, char** argv) {
//     kit::Example ex("fashion_mnist", "Trains a conv net on Fashion-MNIST.", /*seeds=*/1);
//     ex.parser().add("epochs", "N", "training epochs (default 8)");
//     return ex.main(argc, argv, [](kit::Run& run) {
//       const int64_t epochs = run.args.get<int64_t>("epochs", run.options.quick ? 1 : 8);
//       ...
//       run.report.criterion({...});
//       run.report.finish();
//     });
//   }
//
// Exit status: 0 after a finished run (whatever the verdict: "NOT reproduced" is a result),
// 2 for a bad command line (the message and the usage on stderr), 1 for any error during the
// run (the ember::Error's message on stderr).
#pragma once

#include <cstdio>
#include <ember/backend/device.hpp>
#include <ember/core/device.hpp>
#include <ember/core/error.hpp>
#include <ember/util/args.hpp>
#include <exception>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

#ifdef EMBER_WITH_CUDA
#include <ember/backend/cuda/api.hpp>
#endif

#include <ember/kit/options.hpp>
#include <ember/kit/output.hpp>
#include <ember/kit/report.hpp>

namespace ember::kit {

// The device named by --device. A CUDA request in a build without the CUDA backend, or on a
// machine without a visible GPU, is an error that says what to do.
inline Device resolve_device(const std::string& name) {
  if (name == "cpu") return Device::cpu();
  EMBER_CHECK(name == "cuda", "--device: expected cpu or cuda, got '", name, "'");
  if constexpr (!cuda_built) {
    fail(
        "--device cuda: this build of ember has no CUDA backend "
        "(configure CMake with -DEMBER_CUDA=ON and rebuild)");
  }
#ifdef EMBER_WITH_CUDA
  EMBER_CHECK(cuda::device_count() > 0, "--device cuda: no CUDA device is visible");
#endif
  return Device::cuda(0);
}

// What an example's body receives.
struct Run {
  StandardOptions options;
  util::ParsedArgs args;  // the example's own flags: args.get<T>("name", fallback)
  Device device;
  std::filesystem::path out;
  Report report;
};

class Example {
 public:
  Example(std::string name, std::string description, int64_t default_seeds = 1)
      : name_(std::move(name)),
        default_seeds_(default_seeds),
        parser_(name_, std::move(description)) {
    add_standard_flags(parser_, name_, default_seeds_);
  }

  // Add the example's own flags here before main().
  util::ArgParser& parser() { return parser_; }
  const util::ArgParser& parser() const { return parser_; }

  // Parses the command line and validates the example's own flags (`check`, which may throw
  // ember::Error) without running anything: for tests and fuzzers.
  Run parse(int argc, const char* const* argv) const {
    const util::ParsedArgs a = parser_.parse(argc, argv);
    StandardOptions o = read_standard_flags(a, name_, default_seeds_);
    return Run{o, a, Device::cpu(), o.out, Report(name_, o.out)};
  }

  int main(int argc, const char* const* argv, const std::function<void(Run&)>& body) const {
    Run run;
    try {
      run = parse(argc, argv);
    } catch (const Error& e) {
      std::fprintf(stderr, "%s: %s\n\n%s", name_.c_str(), e.what(), parser_.usage().c_str());
      return 2;
    }
    if (run.options.help) {
      std::fputs(parser_.usage().c_str(), stdout);
      return 0;
    }
    try {
      run.device = resolve_device(run.options.device);
      prepare_output_dir(run.out);
      record_provenance(run, argc, argv);
      body(run);
      return 0;
    } catch (const Error& e) {
      std::fprintf(stderr, "%s: error: %s\n", name_.c_str(), e.what());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s: unexpected error: %s\n", name_.c_str(), e.what());
    }
    return 1;
  }
  int main(int argc, char** argv, const std::function<void(Run&)>& body) const {
    return main(argc, const_cast<const char* const*>(argv), body);
  }

 private:
  static void record_provenance(Run& run, int argc, const char* const* argv) {
    std::string command;
    for (int i = 0; i < argc; ++i) command += (i ? " " : "") + std::string(argv[i] ? argv[i] : "");
    Report& r = run.report;
    r.provenance("date", utc_now());
    r.provenance("command", "`" + command + "`");
    r.provenance("device", run.device.is_cpu()
                               ? "cpu (" + cpu_model() + ", " +
                                     std::to_string(std::thread::hardware_concurrency()) +
                                     " hardware threads)"
                               : run.device.str());
    r.provenance("seeds", describe_seeds(run.options.seed_list()));
    r.provenance("sizes", run.options.quick ? "--quick (smoke-test sizes: the verdict does not "
                                              "judge the paper)"
                                            : "full run");
  }

  std::string name_;
  int64_t default_seeds_;
  util::ArgParser parser_;
};

}  // namespace ember::kit
