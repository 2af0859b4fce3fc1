// Fashion-MNIST with a multi-layer perceptron: ember's flagship demo.
//
// An MLP 784-256-128-10 with ReLU, trained with Adam and cross-entropy on the 60000 training
// images, reaches about 88% accuracy on the 10000 test images in eight epochs on two CPU
// cores. See README.md for the measured numbers and how to run it.
//
//   fashion_mnist [--epochs N] [--batch-size N] [--lr X] [--seed N] [--quick]
//                 [--data DIR] [--out DIR]
//
// Writes <out>/metrics.json, <out>/predictions.png (16 test images, green frame when the
// prediction is right, red when wrong) and <out>/predictions.md (their predicted and true
// labels).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ember/autograd/anomaly.hpp>
#include <ember/core/tensor.hpp>
#include <ember/data/dataloader.hpp>
#include <ember/data/fashion_mnist.hpp>
#include <ember/data/image.hpp>
#include <ember/io/json.hpp>
#include <ember/nn/activation.hpp>
#include <ember/nn/functional/loss.hpp>
#include <ember/nn/linear.hpp>
#include <ember/nn/sequential.hpp>
#include <ember/ops/reduce_more.hpp>
#include <ember/optim/adam.hpp>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "options.hpp"

using namespace ember;
namespace fs = std::filesystem;

namespace {

// --quick: a subset small enough for a smoke test that runs in seconds.
constexpr int64_t kQuickTrain = 2000;
constexpr int64_t kQuickTest = 500;

using fashion_mnist::Args;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Number of rows whose largest logit is at the target class.
int64_t count_correct(const Tensor<float>& logits, const Tensor<int64_t>& targets) {
  const std::vector<int64_t> pred = argmax(logits, 1).to_vector();
  const std::vector<int64_t> want = targets.to_vector();
  int64_t n = 0;
  for (size_t i = 0; i < pred.size(); ++i) n += pred[i] == want[i];
  return n;
}

// Predicted classes of a whole dataset, without recording a graph.
std::vector<int64_t> predict(nn::Sequential& model, const data::TensorDataset<>& ds) {
  NoGradGuard no_grad;
  model.eval();
  std::vector<int64_t> out;
  out.reserve(size_t(ds.size()));
  data::DataLoader<> loader(ds, {.batch_size = 1000});
  for (const auto& batch : loader) {
    const std::vector<int64_t> p = argmax(model.forward(batch.inputs.flatten(1)), 1).to_vector();
    out.insert(out.end(), p.begin(), p.end());
  }
  model.train();
  return out;
}

double accuracy(const std::vector<int64_t>& pred, const data::TensorDataset<>& ds) {
  const std::vector<int64_t> want = ds.targets().to_vector();
  int64_t n = 0;
  for (size_t i = 0; i < pred.size(); ++i) n += pred[i] == want[i];
  return pred.empty() ? 0.0 : double(n) / double(pred.size());
}

// Writes `text` to `path` through a temporary file, so a crash never leaves half a file.
void write_text(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary);
    f << text;
    f.close();
    EMBER_CHECK(f.good(), "fashion_mnist: cannot write '", tmp.string(), "'");
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  EMBER_CHECK(!ec, "fashion_mnist: cannot rename '", tmp.string(), "' to '", path.string(),
              "': ", ec.message());
}

// A 4x4 grid of the first 16 test images (2x upscaled), each framed green when predicted
// right and red when wrong; plus a markdown table of the predictions in the same order.
void save_predictions(const fs::path& out, const data::TensorDataset<>& test,
                      const std::vector<int64_t>& pred) {
  constexpr int kGrid = 4, kScale = 2, kFrame = 2, kSide = 28 * kScale + 2 * kFrame;
  const int64_t count = std::min<int64_t>(kGrid * kGrid, test.size());
  data::Image img;
  img.height = img.width = kGrid * kSide;
  img.channels = 3;
  img.pixels.assign(size_t(img.height) * size_t(img.width) * 3, 0);
  const float* x = test.inputs().data_ptr();
  const int64_t* y = test.targets().data_ptr();
  std::string table = "| # | predicted | true |\n|---|---|---|\n";
  for (int64_t k = 0; k < count; ++k) {
    const bool right = pred[size_t(k)] == y[k];
    const int top = int(k / kGrid) * kSide, left = int(k % kGrid) * kSide;
    for (int r = 0; r < kSide; ++r) {
      for (int c = 0; c < kSide; ++c) {
        uint8_t* px = &img.pixels[(size_t(top + r) * size_t(img.width) + size_t(left + c)) * 3];
        const int ir = r - kFrame, ic = c - kFrame;
        if (ir < 0 || ic < 0 || ir >= 28 * kScale || ic >= 28 * kScale) {
          px[0] = right ? 0 : 220;
          px[1] = right ? 180 : 0;
          px[2] = 0;
        } else {
          const float v = x[k * 784 + (ir / kScale) * 28 + ic / kScale];
          px[0] = px[1] = px[2] = uint8_t(v * 255.0f + 0.5f);
        }
      }
    }
    table += "| " + std::to_string(k) + " | " + data::fashion_mnist_class_name(pred[size_t(k)]) +
             " | " + data::fashion_mnist_class_name(y[k]) + " |\n";
  }
  data::write_png((out / "predictions.png").string(), img);
  write_text(out / "predictions.md", "First " + std::to_string(count) +
                                         " test images of predictions.png, row by row "
                                         "(green frame: right, red: wrong).\n\n" +
                                         table);
}

int run(const Args& args) {
  const auto start = std::chrono::steady_clock::now();
  const data::FashionMnist fm = data::load_fashion_mnist(args.data, args.quick ? kQuickTrain : -1,
                                                         args.quick ? kQuickTest : -1);
  std::printf("Fashion-MNIST: %lld train, %lld test images from %s (%.1fs)\n",
              (long long)fm.train.size(), (long long)fm.test.size(), args.data.c_str(),
              seconds_since(start));

  Generator init_gen(args.seed);  // parameter initialisation; shuffling has its own stream
  auto model = nn::make_sequential(
      std::make_shared<nn::Linear>(784, 256, init_gen), std::make_shared<nn::ReLU>(),
      std::make_shared<nn::Linear>(256, 128, init_gen), std::make_shared<nn::ReLU>(),
      std::make_shared<nn::Linear>(128, 10, init_gen));
  optim::Adam opt(model->parameters(), {.lr = args.lr});
  data::DataLoader<> loader(fm.train,
                            {.batch_size = args.batch_size, .shuffle = true, .seed = args.seed});
  std::printf("model: %zu parameters; %lld epochs of %lld batches of %lld\n",
              model->num_parameters(), (long long)args.epochs, (long long)loader.size(),
              (long long)args.batch_size);

  double test_acc = 0;
  std::vector<int64_t> test_pred;
  int64_t step = 0;
  for (int64_t epoch = 1; epoch <= args.epochs; ++epoch) {
    double loss_sum = 0;
    int64_t seen = 0, correct = 0;
    for (const auto& batch : loader) {
      const Tensor<float> logits = model->forward(batch.inputs.flatten(1));
      const Tensor<float> loss = nn::functional::cross_entropy(logits, batch.targets);
      check_loss(loss, step++);  // stop at the first NaN/Inf loss, naming the step
      opt.zero_grad();
      loss.backward();
      opt.step();
      const int64_t n = batch.targets.size(0);
      loss_sum += double(loss.item()) * double(n);
      correct += count_correct(logits.detach(), batch.targets);
      seen += n;
    }
    test_pred = predict(*model, fm.test);
    test_acc = accuracy(test_pred, fm.test);
    std::printf("epoch %lld/%lld  train loss %.4f  train acc %.4f  test acc %.4f  %.1fs\n",
                (long long)epoch, (long long)args.epochs, loss_sum / double(seen),
                double(correct) / double(seen), test_acc, seconds_since(start));
    std::fflush(stdout);
  }
  const double seconds = seconds_since(start);
  std::printf("test accuracy: %.4f\n", test_acc);

  const fs::path out(args.out);
  std::error_code ec;
  fs::create_directories(out, ec);
  EMBER_CHECK(!ec, "fashion_mnist: cannot create output directory '", out.string(),
              "': ", ec.message());
  const io::json::Value metrics(io::json::Object{{"test_accuracy", test_acc},
                                                 {"epochs", args.epochs},
                                                 {"seconds", seconds},
                                                 {"train_examples", fm.train.size()},
                                                 {"test_examples", fm.test.size()},
                                                 {"batch_size", args.batch_size},
                                                 {"lr", args.lr},
                                                 {"seed", args.seed}});
  write_text(out / "metrics.json", io::json::dump(metrics) + "\n");
  save_predictions(out, fm.test, test_pred);
  std::printf("wrote %s, %s and %s\n", (out / "metrics.json").c_str(),
              (out / "predictions.png").c_str(), (out / "predictions.md").c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  try {
    args = fashion_mnist::parse_args(argc, argv);
  } catch (const ember::Error& e) {
    std::fprintf(stderr, "fashion_mnist: %s\n\n%s", e.what(), fashion_mnist::usage().c_str());
    return 2;
  }
  if (args.help) {
    std::fputs(fashion_mnist::usage().c_str(), stdout);
    return 0;
  }
  try {
    return run(args);
  } catch (const ember::Error& e) {
    std::fprintf(stderr, "fashion_mnist: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fashion_mnist: unexpected error: %s\n", e.what());
    return 1;
  }
}
