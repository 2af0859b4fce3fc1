// The fashion_mnist example's command line: the kit's standard flags plus its own. In a header
// of its own so fuzz/fuzz_args.cpp exercises exactly the parsing that main.cpp uses.
#pragma once

#include <cstdint>
#include <ember/core/error.hpp>
#include <ember/data/fashion_mnist.hpp>
#include <ember/kit/harness.hpp>
#include <string>

namespace fashion_mnist {

struct Args {
  int64_t epochs = 4;
  int64_t batch_size = 64;
  double lr = 2e-3;
  std::string data = ember::data::kFashionMnistDefaultDir;
  std::string load;  // a checkpoint to evaluate instead of training
};

inline ember::kit::Example make_example() {
  ember::kit::Example ex("fashion_mnist",
                         "Trains a small conv net (two 3x3 conv + max-pool stages, 16 and 32 "
                         "channels, then 128 hidden units) on Fashion-MNIST with Adam and "
                         "reports test accuracy (claim: at least 0.85).",
                         /*default_seeds=*/1);
  ex.parser()
      .add("epochs", "N", "training epochs (default 4; 1 with --quick)")
      .add("batch-size", "N", "mini-batch size (default 64)")
      .add("lr", "X", "Adam learning rate (default 0.002)")
      .add("data", "DIR", "Fashion-MNIST folder (default /usr/share/datasets/fashion-mnist)")
      .add("load", "FILE",
           "evaluate this checkpoint (a model.safetensors it wrote) instead of "
           "training");
  return ex;
}

// The example's own flags; ember::Error names a bad one.
inline Args read_args(const ember::kit::Run& run) {
  const ember::util::ParsedArgs& p = run.args;
  Args a;
  a.epochs = p.get<int64_t>("epochs", run.options.quick ? 1 : a.epochs);
  EMBER_CHECK(a.epochs >= 1, "--epochs: expected at least 1, got ", a.epochs);
  a.batch_size = p.get<int64_t>("batch-size", a.batch_size);
  EMBER_CHECK(a.batch_size >= 1, "--batch-size: expected at least 1, got ", a.batch_size);
  a.lr = p.get<double>("lr", a.lr);
  EMBER_CHECK(a.lr > 0, "--lr: expected a positive number, got ", a.lr);
  a.data = p.get<std::string>("data", a.data);
  EMBER_CHECK(!a.data.empty(), "--data: empty path");
  a.load = p.get<std::string>("load", a.load);
  return a;
}

}  // namespace fashion_mnist
