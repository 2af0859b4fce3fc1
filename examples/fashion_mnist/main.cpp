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
//
// Under `mpirun -np N` it trains data-parallel (ember::dist): the model wrapped in
// DistributedDataParallel, each rank on its shard of the training set (DistributedSampler),
// batches of --batch-size / N per rank, so the global batch and the result match one process;
// rank 0 alone prints and writes the report.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <ember/autograd/anomaly.hpp>
#include <ember/core/tensor.hpp>
#include <ember/data/dataloader.hpp>
#include <ember/data/fashion_mnist.hpp>
#include <ember/dist.hpp>
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
#include <optional>
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

// This process's place in an mpirun job: rank 0 of 1 when run alone.
struct Ranks {
  int rank = 0, world = 1;
  bool distributed = false;
  bool main() const { return rank == 0; }
};

Ranks ranks() {
  if (!dist::is_initialized()) return {};
  return {dist::group().rank(), dist::group().world_size(), true};
}

struct EpochRow {
  double train_loss, train_acc, test_acc, seconds;
};

// The training loss averaged over windows of about a twentieth of an epoch, against the
// fractional epoch at the window's end: the loss curve even for a one-epoch run.
struct LossCurve {
  std::vector<double> epoch, loss;
};

std::vector<EpochRow> train(const std::shared_ptr<nn::Sequential>& model_ptr,
                            const data::FashionMnist& fm, const fashion_mnist::Args& args,
                            const kit::Run& run, std::vector<int64_t>& test_pred,
                            LossCurve& curve) {
  nn::Sequential& model = *model_ptr;
  const Ranks me = ranks();
  EMBER_CHECK(args.batch_size % me.world == 0, "fashion_mnist: --batch-size ", args.batch_size,
              " must be divisible by the ", me.world, " ranks (each takes an equal part)");
  // Distributed: rank 0's weights everywhere, gradients averaged during backward.
  std::optional<dist::DistributedDataParallel<nn::Sequential>> ddp;
  if (me.distributed) ddp.emplace(model_ptr);
  optim::Adam opt(model.parameters(), {.lr = args.lr});
  const data::DataLoaderOptions batches{.batch_size = args.batch_size / me.world,
                                        .shuffle = !me.distributed,
                                        .seed = run.options.seed};
  // One process: the whole training set, shuffled by the loader. Distributed: this rank's
  // shard of each epoch (the same permutation as one process's, dealt out round-robin).
  std::optional<dist::DistributedSampler> sampler;
  if (me.distributed)
    sampler.emplace(fm.train.size(), dist::DistributedSamplerOptions{.seed = run.options.seed});
  const int64_t examples = me.distributed ? sampler->num_samples() : fm.train.size();
  const int64_t steps = (examples + batches.batch_size - 1) / batches.batch_size;  // per epoch
  if (me.main())
    std::printf("model: %zu parameters; %lld epochs of %lld batches of %lld on %d rank%s\n",
                model.num_parameters(), (long long)args.epochs, (long long)steps,
                (long long)batches.batch_size, me.world, me.world > 1 ? "s" : "");
  std::vector<EpochRow> rows;
  kit::Progress progress("train", args.epochs * steps);
  int64_t step = 0;
  const int64_t window = std::max<int64_t>(1, steps / 20);
  double window_sum = 0;
  for (int64_t epoch = 1; epoch <= args.epochs; ++epoch) {
    double loss_sum = 0;
    int64_t seen = 0, correct = 0;
    data::DataLoader<> loader(
        me.distributed ? dist::shard(fm.train, *sampler, epoch - 1) : fm.train, batches);
    if (!me.distributed) loader.set_epoch(epoch - 1);
    for (const auto& batch : loader) {
      const Tensor<int64_t> targets = batch.targets.to(run.device);
      const Tensor<float> images = as_images(batch.inputs).to(run.device);
      const Tensor<float> logits = ddp ? ddp->forward(images) : model.forward(images);
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
        curve.epoch.push_back(double(step) / double(steps));
        curve.loss.push_back(window_sum / double(window));
        window_sum = 0;
      }
      char status[96];
      std::snprintf(status, sizeof status, "epoch %lld  loss %.4f", (long long)epoch,
                    loss_sum / double(seen));
      if (me.main()) progress.update(step, status);
    }
    if (me.distributed) {  // the epoch's loss and accuracy over every rank's shard
      Tensor<double> totals =
          Tensor<double>::from_vector({loss_sum, double(correct), double(seen)}, {3});
      dist::all_reduce(totals);
      loss_sum = totals.data_ptr()[0];
      correct = int64_t(totals.data_ptr()[1]);
      seen = int64_t(totals.data_ptr()[2]);
    }
    test_pred = predict(model, fm.test, run.device);  // the replicas are equal: any rank's
    rows.push_back({loss_sum / double(seen), double(correct) / double(seen),
                    accuracy(test_pred, fm.test), progress.elapsed()});
    if (me.main())
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
  if (ranks().main())
    std::printf("Fashion-MNIST: %lld train, %lld test images from %s\n", (long long)fm.train.size(),
                (long long)fm.test.size(), args.data.c_str());
  report.provenance("data", "Fashion-MNIST from " + args.data + ": " +
                                std::to_string(fm.train.size()) + " training and " +
                                std::to_string(fm.test.size()) +
                                " test images (real, not generated)");

  if (ranks().distributed)
    report.provenance("ranks", std::to_string(ranks().world) +
                                   " MPI ranks, data-parallel "
                                   "(ember::dist), " +
                                   std::to_string(args.batch_size / ranks().world) +
                                   " images per rank and step");

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
    rows = train(model, fm, args, run, test_pred, curve);
    const std::string ckpt = (run.out / "model.safetensors").string();
    if (ranks().main()) io::save_module(ckpt, *model, {{"example", "fashion_mnist"}});
    report.provenance("model", "trained here, " + std::to_string(args.epochs) + " epochs, batch " +
                                   std::to_string(args.batch_size) + ", Adam lr " +
                                   kit::fmt(args.lr) + "; saved to " + ckpt);
  }
  if (!ranks().main()) return;  // rank 0 alone writes the figures and the report
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
  try {
    if (dist::launched_by_mpi()) dist::init();  // under mpirun: train data-parallel
  } catch (const Error& e) {
    std::fprintf(stderr, "fashion_mnist: error: %s\n", e.what());
    return 1;
  }
  const int status = fashion_mnist::make_example().main(argc, argv, run_example);
  // A rank that failed (its error is printed above) ends the job rather than leave the other
  // ranks waiting in a collective.
  if (status != 0 && dist::is_initialized())
    dist::abort("fashion_mnist failed on this rank (its error is above)", status);
  return status;
}
