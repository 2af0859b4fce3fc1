// Backdoor attacks against dataset distillation (Liu, Li, Backes, Shen and Zhang, NDSS 2023,
// arXiv 2301.01197), on Fashion-MNIST with dataset condensation by gradient matching (DC).
//
// Five arms: a ConvNet trained on real images (the CTA ceiling), on a random subset of ipc
// images per class (the floor), on the clean DC set, on the DC set condensed from real data
// where 1% of the images carry a fixed white patch and the target label (NAIVEATTACK), and
// on the DC set condensed while that patch is optimised to drive a hidden neuron (DOORPING).
// Fresh networks trained on each set give the clean test accuracy (CTA) and the attack
// success rate (ASR; the strict ASR leaves out the target class's own test images). The
// verdict comes from the note's "Evidence that counts" (../shared/papers/
// 03-doorping-distillation.md), criterion 5 (the double backward against finite
// differences) included.
//
//   doorping [--ipc N] [--iterations N] [--eval-nets N] [--eval-epochs N] [--data DIR]
//            [--device cpu|cuda] [--quick] [--out DIR] [--seed N]
//
// Writes into --out: report.md, metrics.json, condensed_*.png (the synthetic sets) and
// triggers.png.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ember/core/tensor.hpp>
#include <ember/data/fashion_mnist.hpp>
#include <ember/kit.hpp>
#include <ember/ops/arith.hpp>
#include <string>
#include <utility>
#include <vector>

#include "condense.hpp"
#include "evaluate.hpp"
#include "figures.hpp"
#include "framework_check.hpp"
#include "options.hpp"

using namespace ember;
using namespace doorping;

namespace {

// The note's thresholds ("Evidence that counts").
constexpr double kAsrClaim = 0.9;       // DOORPING's ASR
constexpr double kCtaTolerance = 0.05;  // attacks' CTA within 5 points of clean DC's
constexpr double kDistillGain = 0.05;   // clean DC over the random subset
constexpr double kPatchAloneMax = 0.2;  // clean-DC models' ASR with a trigger
constexpr double kGradcheckMax = 1e-4;  // dD/dS against central differences

struct Arm {
  std::string name, set;  // "clean DC", "100 condensed images"
  Scores scores;
  std::string trigger;  // which trigger its ASR uses
};

std::vector<int64_t> host_labels(const data::TensorDataset<>& ds) {
  return ds.targets().to_vector();
}

// [N, 1, 28, 28] in [0, 1] -> normalised, on the device.
Tensor<float> normalised(const data::TensorDataset<>& ds, Device dev) {
  return mul(add(ds.inputs(), -kMean), 1.0f / kStd).to(dev);
}

// `per_class` random images of each class (or `total` random images of any class when
// per_class is 0), drawn with `gen`.
std::vector<int64_t> random_subset(const std::vector<int64_t>& labels, int64_t per_class,
                                   int64_t total, Generator& gen) {
  std::vector<int64_t> order(labels.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = int64_t(i);
  for (int64_t i = int64_t(order.size()) - 1; i > 0; --i)
    std::swap(order[size_t(i)], order[size_t(gen.randint(0, i + 1))]);
  if (per_class == 0) {
    order.resize(size_t(std::min<int64_t>(total, int64_t(order.size()))));
    return order;
  }
  std::vector<int64_t> out, taken(kClasses, 0);
  for (int64_t c = 0; c < kClasses; ++c)
    for (int64_t i : order)
      if (labels[size_t(i)] == c && taken[size_t(c)] < per_class)
        out.push_back(i), ++taken[size_t(c)];
  return out;
}

std::string pm(const std::vector<double>& v) {
  const MeanStd m = mean_std(v);
  return kit::fmt_pm(m.mean, m.std, 3);
}

void record_arm(kit::Report& report, const std::string& key, const Scores& s, size_t trigger = 0) {
  report.metric("cta_" + key, mean_std(s.cta).mean);
  report.metric("cta_" + key + "_std", mean_std(s.cta).std);
  report.metric("cta_" + key + "_per_net", s.cta);
  report.metric("asr_" + key, mean_std(s.asr[trigger]).mean);
  report.metric("asr_" + key + "_std", mean_std(s.asr[trigger]).std);
  report.metric("asr_strict_" + key, mean_std(s.strict[trigger]).mean);
  report.metric("asr_strict_" + key + "_std", mean_std(s.strict[trigger]).std);
  report.metric("asr_strict_" + key + "_per_net", s.strict[trigger]);
  report.metric("seconds_evaluate_" + key, s.seconds);
}

void run_example(kit::Run& run) {
  const auto wall_start = std::chrono::steady_clock::now();
  const Args args = read_args(run);
  const Sizes& s = args.sizes;
  const uint64_t seed = run.options.seed;
  const Device dev = run.device;
  kit::Report& report = run.report;
  report.set_claim(
      "Backdoor Attacks Against Dataset Distillation (Liu, Li, Backes, Shen and Zhang, NDSS "
      "2023, arXiv 2301.01197), DC on Fashion-MNIST",
      "DOORPING, which optimises the trigger during dataset condensation, plants a backdoor "
      "that survives condensation (ASR close to 1.0, above NAIVEATTACK's) while the condensed "
      "set keeps its clean test accuracy");

  // Criterion 5 first: it takes a second, and nothing below means much if it fails.
  const FrameworkCheck fc = check_matching_gradient(seed + 17);
  std::printf(
      "framework check: dD/dS (create_graph) vs central differences over %lld pixels, "
      "relative error %.3g\n",
      (long long)fc.pixels, fc.relative_error);

  const data::FashionMnist fm = data::load_fashion_mnist(args.data, s.train_images, s.test_images);
  const Tensor<float> train_x = normalised(fm.train, dev);
  const std::vector<int64_t> train_y = host_labels(fm.train);
  const TestSet test{normalised(fm.test, dev), host_labels(fm.test)};
  std::printf("Fashion-MNIST: %lld training images (the real pool), %lld test images, from %s\n",
              (long long)fm.train.size(), (long long)fm.test.size(), args.data.c_str());
  report.provenance("data", "Fashion-MNIST from " + args.data + ": " +
                                std::to_string(fm.train.size()) + " training and " +
                                std::to_string(fm.test.size()) +
                                " test images (real), normalised with mean 0.2860, std 0.3530");
  char sizes[512];
  std::snprintf(
      sizes, sizeof sizes,
      "ConvNet width %lld, hidden %lld; ipc %lld from %s; %lld iterations, outer/inner %lld/%lld; "
      "real batch %lld per class; poison %.0f%%; trigger <= %lld Adam steps on %lld "
      "poisoned images, %s; evaluation %lld nets x %lld epochs; real arm %lld images x 1 "
      "epoch",
      (long long)s.width, (long long)s.hidden, (long long)s.ipc,
      s.init_real ? "real images" : "noise", (long long)s.iterations, (long long)s.outer,
      (long long)s.inner, (long long)s.batch_real, 100 * s.poison_fraction,
      (long long)s.trigger_steps, (long long)s.trigger_batch,
      s.trigger_every_inner ? "after every inner training" : "once per iteration",
      (long long)s.eval_nets, (long long)s.eval_epochs, (long long)s.real_images);
  std::printf("sizes: %s\n", sizes);
  report.provenance("method sizes", sizes);

  // ---------------------------------------------------------------- condensation
  const Condensed clean = condense(train_x, train_y, Attack::none, s, seed, dev);
  const Condensed naive = condense(train_x, train_y, Attack::naive, s, seed, dev);
  const Condensed door = condense(train_x, train_y, Attack::doorping, s, seed, dev);
  std::printf("poisoned real images: %lld (relabelled to class 0)\n", (long long)naive.poisoned);
  const Tensor<float> fixed = white_trigger(dev);

  // ---------------------------------------------------------------- evaluation
  const TrainPlan syn_plan{.epochs = s.eval_epochs, .batch = 256, .lr_drop = true};
  Generator subset_gen(stream_seed(seed, 6));
  const std::vector<int64_t> real_idx = random_subset(train_y, 0, s.real_images, subset_gen);
  const std::vector<int64_t> rand_idx = random_subset(train_y, s.ipc, 0, subset_gen);
  auto pick = [&](const std::vector<int64_t>& idx, std::vector<int64_t>& y) {
    y.clear();
    for (int64_t i : idx) y.push_back(train_y[size_t(i)]);
    return index_select(train_x, 0, index_tensor(idx, dev));
  };
  std::vector<int64_t> real_y, rand_y;
  const Tensor<float> real_x = pick(real_idx, real_y), rand_x = pick(rand_idx, rand_y);

  std::vector<Arm> arms;
  arms.push_back(
      {"real data", std::to_string(real_idx.size()) + " real images, 1 epoch",
       evaluate("real data", real_x, real_y, {.epochs = 1, .batch = s.real_batch, .lr_drop = false},
                test, {fixed}, s, seed, dev),
       "fixed"});
  arms.push_back({"random subset", std::to_string(rand_idx.size()) + " real images",
                  evaluate("random subset", rand_x, rand_y, syn_plan, test, {fixed}, s, seed, dev),
                  "fixed"});
  const std::string n_syn = std::to_string(kClasses * s.ipc) + " condensed images";
  // Clean DC with both triggers: the fixed patch and DOORPING's learned one alone.
  arms.push_back({"clean DC", n_syn,
                  evaluate("clean DC", clean.images, clean.labels, syn_plan, test,
                           {fixed, door.trigger}, s, seed, dev),
                  "fixed"});
  arms.push_back(
      {"NAIVEATTACK + DC", n_syn,
       evaluate("NAIVEATTACK", naive.images, naive.labels, syn_plan, test, {fixed}, s, seed, dev),
       "fixed"});
  arms.push_back(
      {"DOORPING + DC", n_syn,
       evaluate("DOORPING", door.images, door.labels, syn_plan, test, {door.trigger}, s, seed, dev),
       "learned"});
  const Scores& sc_real = arms[0].scores;
  const Scores& sc_rand = arms[1].scores;
  const Scores& sc_clean = arms[2].scores;
  const Scores& sc_naive = arms[3].scores;
  const Scores& sc_door = arms[4].scores;

  // ---------------------------------------------------------------- tables and metrics
  kit::Table results("Results (mean ± std over " + std::to_string(s.eval_nets) +
                         " evaluation networks; " + std::to_string(test.labels.size()) +
                         " test images)",
                     {"arm", "training set", "CTA", "ASR (official)", "strict ASR", "trigger"});
  for (const Arm& a : arms)
    results.row(
        {a.name, a.set, pm(a.scores.cta), pm(a.scores.asr[0]), pm(a.scores.strict[0]), a.trigger});
  results.row({"clean DC", n_syn, pm(sc_clean.cta), pm(sc_clean.asr[1]), pm(sc_clean.strict[1]),
               "learned"});
  report.add_table(std::move(results));
  record_arm(report, "real", sc_real);
  record_arm(report, "random", sc_rand);
  record_arm(report, "clean_dc", sc_clean);
  record_arm(report, "naive", sc_naive);
  record_arm(report, "doorping", sc_door);
  report.metric("asr_clean_dc_learned_trigger", mean_std(sc_clean.asr[1]).mean);
  report.metric("asr_strict_clean_dc_learned_trigger", mean_std(sc_clean.strict[1]).mean);
  report.metric("poisoned_images", double(naive.poisoned));
  report.metric("framework_check_relative_error", fc.relative_error);
  report.metric("distance_clean_dc", clean.distance);
  report.metric("distance_naive", naive.distance);
  report.metric("distance_doorping", door.distance);

  // What the condensation loop spends its time on, summed over the three condensations.
  PhaseTimes total;
  for (const Condensed* c : {&clean, &naive, &door}) {
    total.sample += c->times.sample;
    total.real_grad += c->times.real_grad;
    total.syn_grad += c->times.syn_grad;
    total.match_backward += c->times.match_backward;
    total.image_step += c->times.image_step;
    total.inner += c->times.inner;
    total.trigger += c->times.trigger;
  }
  double eval_seconds = 0;
  for (const Arm& a : arms) eval_seconds += a.scores.seconds;
  kit::Table profile("Where the time goes (seconds, the three condensations summed)",
                     {"phase", "seconds", "share of condensation"});
  struct Phase {
    const char* key;
    std::string text;
    double seconds;
  };
  const std::vector<Phase> phases{
      {"sample", "real batches: sample + stamp", total.sample},
      {"real_grad", "real gradients (first order)", total.real_grad},
      {"syn_grad", "synthetic gradients (create_graph) + D", total.syn_grad},
      {"match_backward", "dD/dS (backward through the double-backward graph)",
       total.match_backward},
      {"image_step", "SGD step on S", total.image_step},
      {"inner", "inner training of the network", total.inner},
      {"trigger", "DOORPING trigger updates", total.trigger}};
  for (const Phase& p : phases) {
    profile.row(
        {p.text, kit::fmt(p.seconds, 4), kit::fmt(100 * p.seconds / total.total(), 3) + "%"});
    report.metric(std::string("seconds_condense_") + p.key, p.seconds);
  }
  profile.row({"condensation, all phases", kit::fmt(total.total(), 4), "100%"});
  profile.row({"evaluation (all arms)", kit::fmt(eval_seconds, 4), ""});
  report.add_table(std::move(profile));
  report.metric("seconds_condensation", total.total());
  report.metric("seconds_evaluation", eval_seconds);

  kit::Table condensation("Condensation",
                          {"arm", "poisoned real images", "D per class, first / last iteration",
                           "mean |S - S_start| per pixel"});
  for (const auto& [arm, c] : {std::pair<const char*, const Condensed*>{"clean DC", &clean},
                               {"NAIVEATTACK + DC", &naive},
                               {"DOORPING + DC", &door}}) {
    condensation.row({arm, std::to_string(c->poisoned),
                      kit::fmt(c->distance.front(), 4) + " / " + kit::fmt(c->distance.back(), 4),
                      kit::fmt(c->shift, 3)});
  }
  report.add_table(std::move(condensation));
  report.metric("image_shift_clean_dc", clean.shift);
  report.metric("image_shift_naive", naive.shift);
  report.metric("image_shift_doorping", door.shift);

  kit::Table updates("DOORPING trigger updates",
                     {"updates", "no step (first loss < 0.5)", "mean Adam steps",
                      "stopped below 0.5", "first loss (median)", "last loss (median)"});
  {
    std::vector<double> steps, first, last;
    int64_t early = 0, none = 0;
    for (const TriggerStep& u : door.trigger_updates) {
      steps.push_back(double(u.steps));
      first.push_back(u.first_loss);
      last.push_back(u.last_loss);
      early += u.last_loss < kTriggerStop;
      none += u.steps == 0;
    }
    auto median = [](std::vector<double> v) {
      if (v.empty()) return std::nan("");
      std::sort(v.begin(), v.end());
      return v[v.size() / 2];
    };
    updates.row({std::to_string(steps.size()), std::to_string(none),
                 kit::fmt(mean_std(steps).mean, 3), std::to_string(early),
                 kit::fmt(median(first), 3), kit::fmt(median(last), 3)});
    report.metric("trigger_updates_without_step", double(none));
    report.metric("trigger_updates", double(steps.size()));
    report.metric("trigger_steps_mean", mean_std(steps).mean);
  }
  report.add_table(std::move(updates));

  // ---------------------------------------------------------------- criteria (the note's 1-5)
  const std::vector<uint64_t> seeds{seed};
  const double door_asr = mean_std(sc_door.strict[0]).mean;
  const double naive_asr = mean_std(sc_naive.strict[0]).mean;
  const double cta_clean = mean_std(sc_clean.cta).mean;
  report.criterion({.name = "1. DOORPING strict ASR",
                    .value = door_asr,
                    .compare = kit::Compare::at_least,
                    .threshold = kAsrClaim,
                    .seeds = seeds,
                    .detail = "triggered test images of the other classes classified as class 0, "
                              "mean over the evaluation networks"});
  report.criterion({.name = "1. DOORPING strict ASR minus NAIVEATTACK's",
                    .value = door_asr - naive_asr,
                    .compare = kit::Compare::greater,
                    .threshold = 0.0,
                    .seeds = seeds,
                    .detail = "strict ASRs, each with its own trigger"});
  report.criterion({.name = "2. |CTA NAIVEATTACK - CTA clean DC|",
                    .value = std::abs(mean_std(sc_naive.cta).mean - cta_clean),
                    .compare = kit::Compare::at_most,
                    .threshold = kCtaTolerance,
                    .seeds = seeds,
                    .detail = "mean CTAs over the evaluation networks"});
  report.criterion({.name = "2. |CTA DOORPING - CTA clean DC|",
                    .value = std::abs(mean_std(sc_door.cta).mean - cta_clean),
                    .compare = kit::Compare::at_most,
                    .threshold = kCtaTolerance,
                    .seeds = seeds,
                    .detail = "mean CTAs over the evaluation networks"});
  report.criterion({.name = "3. CTA clean DC minus random subset",
                    .value = cta_clean - mean_std(sc_rand.cta).mean,
                    .compare = kit::Compare::at_least,
                    .threshold = kDistillGain,
                    .seeds = seeds,
                    .detail = "the same number of images per class, mean CTAs"});
  report.criterion(
      {.name = "4. clean-DC strict ASR (worse of the two triggers)",
       .value = std::max(mean_std(sc_clean.strict[0]).mean, mean_std(sc_clean.strict[1]).mean),
       .compare = kit::Compare::at_most,
       .threshold = kPatchAloneMax,
       .seeds = seeds,
       .detail = "the fixed patch and DOORPING's learned trigger on models trained "
                 "on the clean condensed set"});
  report.criterion({.name = "5. dD/dS vs central differences (float64), relative error",
                    .value = fc.relative_error,
                    .compare = kit::Compare::less,
                    .threshold = kGradcheckMax,
                    .seeds = {seed + 17},
                    .detail = "tiny ConvNet, grad(..., {.create_graph = true}) then backward to "
                              "the synthetic images, against (D(S+h) - D(S-h)) / 2h"});

  // ---------------------------------------------------------------- figures and notes
  save_condensed(run.out / "condensed_clean_dc.png", "Clean DC", clean.images, s.ipc);
  save_condensed(run.out / "condensed_naive.png", "NAIVEATTACK + DC", naive.images, s.ipc);
  save_condensed(run.out / "condensed_doorping.png", "DOORPING + DC", door.images, s.ipc);
  save_condensed(run.out / "random_subset.png", "Random real subset", rand_x, s.ipc);
  save_triggers(run.out / "triggers.png", fixed, door.trigger, test.images.narrow(0, 0, 1));
  report.figure("condensed_clean_dc.png", "Clean DC: the condensed images, one column per class");
  report.figure("condensed_naive.png",
                "NAIVEATTACK + DC: condensed from real data with 1% white-patched images "
                "relabelled to class 0");
  report.figure("condensed_doorping.png",
                "DOORPING + DC: condensed while the trigger of the poisoned images is optimised");
  report.figure("random_subset.png", "The random real subset (the same number of images)");
  report.figure("triggers.png", "The fixed white patch " + patch_values(fixed) +
                                    " and DOORPING's learned trigger " +
                                    patch_values(door.trigger) + " (from " +
                                    patch_values(door.first_trigger) +
                                    "), as pixel intensities where 0..1 is the image range, "
                                    "alone on mid-grey and on a test image (clipped for display)");
  report.note(
      "ASR is the official definition (all triggered test images classified as class "
      "0, the target's own images included, which adds about 0.1 on 10 balanced "
      "classes); strict ASR leaves the class-0 test images out and decides the verdict. "
      "The real-data and random-subset rows use the fixed patch; clean DC is shown with "
      "both triggers.");
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  report.metric("seconds_total", wall);
  report.provenance("wall time", kit::fmt(wall, 4) + " s");
  report.finish();
}

}  // namespace

int main(int argc, char** argv) { return make_example().main(argc, argv, run_example); }
