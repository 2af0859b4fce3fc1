// The fashion_mnist example's command line, on ember::util::ArgParser. In a header of its own
// so fuzz/fuzz_args.cpp exercises exactly the parsing that main.cpp uses.
#pragma once

#include <cstdint>
#include <ember/core/error.hpp>
#include <ember/data/fashion_mnist.hpp>
#include <ember/util/args.hpp>
#include <string>

namespace fashion_mnist {

struct Args {
  int64_t epochs = 8;
  int64_t batch_size = 128;
  double lr = 1e-3;
  uint64_t seed = 0;
  bool quick = false;
  bool help = false;  // --help / -h: print usage() and exit 0
  std::string data = ember::data::kFashionMnistDefaultDir;
  std::string out = "out/fashion_mnist";
};

inline ember::util::ArgParser parser() {
  ember::util::ArgParser p(
      "fashion_mnist",
      "Trains an MLP (784-256-128-10, ReLU, Adam) on Fashion-MNIST and reports test accuracy.");
  p.add("epochs", "N", "training epochs (default 8; 1 with --quick)");
  p.add("batch-size", "N", "mini-batch size (default 128)");
  p.add("lr", "X", "Adam learning rate (default 0.001)");
  p.add("seed", "N", "seed for initialisation and shuffling (default 0)");
  p.add_switch("quick", "2000 training / 500 test images, 1 epoch: a smoke test");
  p.add("data", "DIR", "Fashion-MNIST directory (default /usr/share/datasets/fashion-mnist)");
  p.add("out", "DIR", "output directory (default out/fashion_mnist)");
  return p;
}

inline std::string usage() { return parser().usage(); }

// Throws ember::Error for a bad command line (unknown flag, missing or malformed value, value
// out of range).
inline Args parse_args(int argc, const char* const* argv) {
  const ember::util::ParsedArgs p = parser().parse(argc, argv);
  Args a;
  a.help = p.has("help");
  a.quick = p.has("quick");
  a.epochs = p.get<int64_t>("epochs", a.quick ? 1 : a.epochs);
  EMBER_CHECK(a.epochs >= 1, "--epochs: expected at least 1, got ", a.epochs);
  a.batch_size = p.get<int64_t>("batch-size", a.batch_size);
  EMBER_CHECK(a.batch_size >= 1, "--batch-size: expected at least 1, got ", a.batch_size);
  a.lr = p.get<double>("lr", a.lr);
  EMBER_CHECK(a.lr > 0, "--lr: expected a positive number, got ", a.lr);
  a.seed = p.get<uint64_t>("seed", a.seed);
  a.data = p.get<std::string>("data", a.data);
  a.out = p.get<std::string>("out", a.out);
  EMBER_CHECK(!a.data.empty(), "--data: empty path");
  EMBER_CHECK(!a.out.empty(), "--out: empty path");
  return a;
}

}  // namespace fashion_mnist
