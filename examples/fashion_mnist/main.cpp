// Fashion-MNIST with a small conv net: ember's flagship demo and the example kit's first user.
//
// Two 3x3 conv + ReLU + 2x2 max-pool stages (16 and 32 channels), then 1568-128-10, trained
// with Adam and cross-entropy on the 60000 training images; evaluated on the 10000 test
// images. The claim it checks: test accuracy of at least 0.85 (a plain MLP's level; see
// README.md for what this net measures).
//
//   fashion_mnist [--epochs N] [--batch-size N] [--lr X] [--data DIR] [--load FILE]
//                 [--device cpu|cuda] [--quick] [--out DIR] [--seed N]
//
// Writes into --out: report.md, metrics.json, model.safetensors (the trained weights, which
// --load evaluates without training), predictions.png and learning_curves.png.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <ember/autograd/anomaly.hpp>
#include <ember/core/tensor.hpp>
#include <ember/data/dataloader.hpp>
#include <ember/data/fashion_mnist.hpp>
#include <ember/io/checkpoint.hpp>
#include <ember/kit.hpp>
#include <ember/nn/activation.hpp>
#include <ember/nn/conv.hpp>
#include <ember/nn/functional/loss.hpp>
#include <ember/nn/linear.hpp>
#include <ember/nn/pool.hpp>
#include <ember/nn/sequential.hpp>
#include <ember/ops/reduce_more.hpp>
#include <ember/optim/adam.hpp>
#include <memory>
#include <string>
#include <vector>

#include "figures.hpp"
#include "options.hpp"

using namespace ember;

namespace {

// --quick: a subset small enough for a smoke test of seconds.
constexpr int64_t kQuickTrain = 2000;
constexpr int64_t kQuickTest = 500;
constexpr double kClaimAccuracy = 0.85;

std::shared_ptr<nn::Sequential> make_model(Generator& gen) {
  return nn::make_sequential(
      std::make_shared<nn::Conv2d>(1, 16, 3, nn::Conv2dOptions{.padding = 1}, gen),
      std::make_shared<nn::ReLU>(), std::make_shared<nn::MaxPool2d>(2),
      std::make_shared<nn::Conv2d>(16, 32, 3, nn::Conv2dOptions{.padding = 1}, gen),
      std::make_shared<nn::ReLU>(), std::make_shared<nn::MaxPool2d>(2),
      std::make_shared<nn::Flatten>(), std::make_shared<nn::Linear>(32 * 7 * 7, 128, gen),
      std::make_shared<nn::ReLU>(), std::make_shared<nn::Linear>(128, 10, gen));
}

// [N, 784] rows of the dataset as the [N, 1, 28, 28] images the conv net takes.
Tensor<float> as_images(const Tensor<float>& rows) {
  return rows.reshape({rows.size(0), 1, data::kFashionMnistSide, data::kFashionMnistSide});
}

// Predicted classes of a whole dataset, without recording a graph.
std::vector<int64_t> predict(nn::Sequential& model, const data::TensorDataset<>& ds,
                             const Device& device) {
  NoGradGuard no_grad;
  model.eval();
  std::vector<int64_t> out;
  out.reserve(size_t(ds.size()));
  data::DataLoader<> loader(ds, {.batch_size = 500});
  for (const auto& batch : loader) {
    const Tensor<float> logits = model.forward(as_images(batch.inputs).to(device));
    const std::vector<int64_t> p = argmax(logits, 1).to(Device::cpu()).to_vector();
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

struct EpochRow {
  double train_loss, train_acc, test_acc, seconds;
};

// The training loss averaged over windows of about a twentieth of an epoch, against the
// fractional epoch at the window's end: the loss curve even for a one-epoch run.
struct LossCurve {
  std::vector<double> epoch, loss;
};

std::vector<EpochRow> train(nn::Sequential& model, const data::FashionMnist& fm,
                            const fashion_mnist::Args& args, const kit::Run& run,
                            std::vector<int64_t>& test_pred, LossCurve& curve) {
  optim::Adam opt(model.parameters(), {.lr = args.lr});
  data::DataLoader<> loader(
      fm.train, {.batch_size = args.batch_size, .shuffle = true, .seed = run.options.seed});
  std::printf("model: %zu parameters; %lld epochs of %lld batches of %lld\n",
              model.num_parameters(), (long long)args.epochs, (long long)loader.size(),
              (long long)args.batch_size);
  std::vector<EpochRow> rows;
  kit::Progress progress("train", args.epochs * int64_t(loader.size()));
  int64_t step = 0;
  const int64_t window = std::max<int64_t>(1, int64_t(loader.size()) / 20);
  double window_sum = 0;
  for (int64_t epoch = 1; epoch <= args.epochs; ++epoch) {
    double loss_sum = 0;
    int64_t seen = 0, correct = 0;
    for (const auto& batch : loader) {
      const Tensor<int64_t> targets = batch.targets.to(run.device);
      const Tensor<float> logits = model.forward(as_images(batch.inputs).to(run.device));
      const Tensor<float> loss = nn::functional::cross_entropy(logits, targets);
      check_loss(loss, step);  // stop at the first NaN/Inf loss, naming the step
      opt.zero_grad();
      loss.backward();
      opt.step();
      const int64_t n = batch.targets.size(0);
      loss_sum += double(loss.item()) * double(n);
      const std::vector<int64_t> p = argmax(logits.detach(), 1).to(Device::cpu()).to_vector();
      const int64_t* y = batch.targets.data_ptr();
      for (int64_t i = 0; i < n; ++i) correct += p[size_t(i)] == y[i];
      seen += n;
      ++step;
      window_sum += double(loss.item());
      if (step % window == 0) {
        curve.epoch.push_back(double(step) / double(loader.size()));
        curve.loss.push_back(window_sum / double(window));
        window_sum = 0;
      }
      char status[96];
      std::snprintf(status, sizeof status, "epoch %lld  loss %.4f", (long long)epoch,
                    loss_sum / double(seen));
      progress.update(step, status);
    }
    test_pred = predict(model, fm.test, run.device);
    rows.push_back({loss_sum / double(seen), double(correct) / double(seen),
                    accuracy(test_pred, fm.test), progress.elapsed()});
    std::printf("epoch %lld/%lld  train loss %.4f  train acc %.4f  test acc %.4f\n",
                (long long)epoch, (long long)args.epochs, rows.back().train_loss,
                rows.back().train_acc, rows.back().test_acc);
    std::fflush(stdout);
  }
  return rows;
}

void run_example(kit::Run& run) {
  const fashion_mnist::Args args = fashion_mnist::read_args(run);
  kit::Report& report = run.report;
  report.set_claim("Fashion-MNIST (Xiao, Rasul and Vollgraf, arXiv 1708.07747), ember's demo",
                   "a small conv net trained for a few epochs classifies at least 85% of the "
                   "10000 test images correctly");

  const data::FashionMnist fm = data::load_fashion_mnist(
      args.data, run.options.quick ? kQuickTrain : -1, run.options.quick ? kQuickTest : -1);
  std::printf("Fashion-MNIST: %lld train, %lld test images from %s\n", (long long)fm.train.size(),
              (long long)fm.test.size(), args.data.c_str());
  report.provenance("data", "Fashion-MNIST from " + args.data + ": " +
                                std::to_string(fm.train.size()) + " training and " +
                                std::to_string(fm.test.size()) +
                                " test images (real, not generated)");

  Generator init_gen(run.options.seed);  // parameter initialisation; shuffling has its own stream
  auto model = make_model(init_gen);
  model->to(run.device);

  std::vector<int64_t> test_pred;
  std::vector<EpochRow> rows;
  LossCurve curve;
  if (!args.load.empty()) {
    io::load_module(args.load, *model);
    test_pred = predict(*model, fm.test, run.device);
    report.provenance("model", "loaded from " + args.load + " (no training)");
  } else {
    rows = train(*model, fm, args, run, test_pred, curve);
    const std::string ckpt = (run.out / "model.safetensors").string();
    io::save_module(ckpt, *model, {{"example", "fashion_mnist"}});
    report.provenance("model", "trained here, " + std::to_string(args.epochs) + " epochs, batch " +
                                   std::to_string(args.batch_size) + ", Adam lr " +
                                   kit::fmt(args.lr) + "; saved to " + ckpt);
  }
  const double test_acc = accuracy(test_pred, fm.test);

  if (!rows.empty()) {
    kit::Table table("Training", {"epoch", "train loss", "train acc", "test acc", "seconds"});
    std::vector<double> loss, train_acc, test_acc_curve;
    for (size_t e = 0; e < rows.size(); ++e) {
      table.row({std::to_string(e + 1), kit::fmt(rows[e].train_loss), kit::fmt(rows[e].train_acc),
                 kit::fmt(rows[e].test_acc), kit::fmt(rows[e].seconds, 3)});
      loss.push_back(rows[e].train_loss);
      train_acc.push_back(rows[e].train_acc);
      test_acc_curve.push_back(rows[e].test_acc);
    }
    report.add_table(std::move(table));
    report.metric("train_loss", loss);
    report.metric("train_accuracy", train_acc);
    report.metric("test_accuracy_per_epoch", test_acc_curve);
    report.metric("seconds", rows.back().seconds);
    fashion_mnist::save_learning_curves(run.out / "learning_curves.png", curve.epoch, curve.loss,
                                        train_acc, test_acc_curve);
    report.figure("learning_curves.png",
                  "Training loss (mean over a twentieth of an epoch) and accuracy per epoch");
  }
  report.metric("test_accuracy", test_acc);
  report.metric("test_examples", double(fm.test.size()));
  fashion_mnist::save_prediction_grid(run.out / "predictions.png", fm.test, test_pred);
  report.figure("predictions.png",
                "The first 32 test images with their predicted class (green frame: right, "
                "red: wrong; the true class in brackets when wrong)");
  report.criterion({.name = "test accuracy",
                    .value = test_acc,
                    .compare = kit::Compare::at_least,
                    .threshold = kClaimAccuracy,
                    .seeds = {run.options.seed},
                    .detail = "fraction of the test images whose top logit is the true class"});
  report.finish();
}

}  // namespace

int main(int argc, char** argv) {
  return fashion_mnist::make_example().main(argc, argv, run_example);
}
