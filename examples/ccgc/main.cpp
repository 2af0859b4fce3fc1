// CCGC: cluster-guided contrastive deep graph clustering (Yang et al., AAAI 2023, arXiv
// 2301.01098). Two unshared linear encoders embed Laplacian-smoothed features; positives are
// pairs of high-confidence nodes of one k-means cluster across the two views, negatives the
// centres of different clusters. Run on the note's stochastic block model with bag-of-words
// features (calibrated so that the raw features alone are weak), on the three labelled
// featureless graphs of graph-tool's collection (polblogs, football, polbooks; X = I_N) and on
// Cora, the paper's own first dataset, against k-means on X, k-means on X~ and spectral
// clustering, with the ablations α = 0, τ = 1 and shared weights. papers/08-ccgc-clustering.md
// is the specification; its "Evidence that counts" decides the verdict.
//
//   ccgc [--epochs N] [--hidden N] [--lr X] [--cora FILE] [--sbm-nodes N]
//        [--device cpu|cuda] [--quick] [--out DIR] [--seed N] [--seeds N]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ember/cluster/kmeans.hpp>
#include <ember/cluster/spectral.hpp>
#include <ember/kit.hpp>
#include <ember/metrics/clustering.hpp>
#include <ember/metrics/summary.hpp>
#include <map>
#include <string>
#include <vector>

#include "datasets.hpp"
#include "figures.hpp"
#include "model.hpp"

using namespace ember;

namespace {

constexpr int64_t kSmoothingSteps = 4;  // t
constexpr double kAltLr = 1e-3;         // the note's learning-rate sweep: {1e-4, 1e-3}

// --------------------------------------------------------------------------- configuration

struct Plan {
  ccgc::SbmSpec sbm;
  ccgc::Config base;  // the full CCGC of the note at the primary learning rate
  std::vector<std::string> real_graphs;
  bool polblogs_full = true;  // also the whole polblogs graph, not only its LCC
  bool cora = true;
  std::string cora_flag;
  std::vector<uint64_t> seeds;
};

Plan make_plan(const kit::Run& run) {
  Plan p;
  const bool quick = run.options.quick, cuda = run.device.is_cuda();
  p.real_graphs = {"polblogs", "football", "polbooks"};
  if (quick) {  // seconds: the note's --quick (SBM N = 300, K = 3, football; 60 epochs; 1 seed)
    p.sbm.nodes = 300;
    p.sbm.shares = {0.5, 0.3, 0.2};
    p.base.epochs = 60;
    p.real_graphs = {"football"};
    p.polblogs_full = false;
    p.cora = false;
  } else if (cuda) {  // the note's GPU sizes
    p.sbm.nodes = 20000;
    p.base.epochs = 400;
    p.base.hidden = 500;
  }
  const auto& a = run.args;
  p.base.epochs = a.get<int64_t>("epochs", p.base.epochs);
  p.base.hidden = a.get<int64_t>("hidden", p.base.hidden);
  p.base.lr = a.get<double>("lr", p.base.lr);
  p.sbm.nodes = a.get<int64_t>("sbm-nodes", p.sbm.nodes);
  p.cora_flag = a.get<std::string>("cora", "");
  EMBER_CHECK(p.base.epochs > p.base.warmup, "--epochs: expected more than the ", p.base.warmup,
              " warm-up epochs, got ", p.base.epochs);
  EMBER_CHECK(p.base.hidden >= 1, "--hidden: expected at least 1, got ", p.base.hidden);
  EMBER_CHECK(p.base.lr > 0, "--lr: expected a positive number, got ", p.base.lr);
  EMBER_CHECK(p.sbm.nodes >= 50, "--sbm-nodes: expected at least 50, got ", p.sbm.nodes);
  // --quick runs one seed; a CUDA run defaults to the paper's 10.
  if (quick)
    p.seeds = {run.options.seed};
  else if (cuda && !a.has("seeds"))
    for (uint64_t s = 0; s < 10; ++s) p.seeds.push_back(run.options.seed + s);
  else
    p.seeds = run.options.seed_list();
  return p;
}

// --------------------------------------------------------------------------- per-seed scores

struct Summary {
  double mean = 0, std = 0;
};

// The kit's mean and sample std (one seed shows a spread of 0).
Summary summarise(const std::vector<double>& v) {
  return {ember::metrics::mean(v), v.size() > 1 ? ember::metrics::sample_std(v) : 0.0};
}

// An arm's scores per seed.
struct Arm {
  std::string key, label;
  std::vector<ccgc::Scores> scores;
  std::vector<int64_t> selected_epochs;  // label-selected rows: the chosen epoch per seed
  double seconds = 0;

  double mean(double ccgc::Scores::*m) const {
    std::vector<double> v;
    for (const auto& s : scores) v.push_back(s.*m);
    return summarise(v).mean;
  }
  std::string cell(double ccgc::Scores::*m) const {
    std::vector<double> v;
    for (const auto& s : scores) v.push_back(s.*m);
    const Summary s = summarise(v);
    return scores.size() > 1 ? kit::fmt_pm(s.mean, s.std, 4) : kit::fmt(s.mean, 4);
  }
};

struct CcgcArm {
  Arm final_epoch, selected;
  std::vector<ccgc::Result> runs;  // per seed
};

struct GraphResults {
  ccgc::GraphData* data = nullptr;
  std::vector<Arm> baselines;
  std::map<std::string, CcgcArm> ccgc;  // by key: full, lr, alpha0, tau1, shared
  std::vector<cluster::KMeansResult<float>> smooth_kmeans;  // per seed: CCGC's start
  const Arm& baseline(const std::string& key) const {
    for (const auto& a : baselines)
      if (a.key == key) return a;
    fail("ccgc: no baseline '", key, "'");
  }
};

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// k-means on X (when there are features), on X~ and spectral clustering on Â, every seed.
void run_baselines(GraphResults& g, const std::vector<uint64_t>& seeds, const Device& dev) {
  ccgc::GraphData& d = *g.data;
  const Tensor<float> xs = d.x_smooth.to(dev);
  Arm raw{"kmeans_x", "k-means on X", {}, {}, 0},
      smooth{"kmeans_smooth", "k-means on X~", {}, {}, 0},
      spectral{"spectral", "spectral clustering on Â", {}, {}, 0};
  for (uint64_t seed : seeds) {
    auto t0 = std::chrono::steady_clock::now();
    if (!d.featureless) {
      const auto km = cluster::kmeans(d.x.to(dev), d.k, {.restarts = 10, .seed = seed});
      raw.scores.push_back(ccgc::score(d.labels, km.host_labels()));
      raw.seconds += since(t0);
    }
    t0 = std::chrono::steady_clock::now();
    g.smooth_kmeans.push_back(cluster::kmeans(xs, d.k, {.restarts = 10, .seed = seed}));
    smooth.scores.push_back(ccgc::score(d.labels, g.smooth_kmeans.back().host_labels()));
    smooth.seconds += since(t0);
    t0 = std::chrono::steady_clock::now();
    cluster::SpectralOptions so;
    so.self_loops = true;
    so.seed = seed;
    so.kmeans.seed = seed;
    const auto sc = cluster::spectral_clustering(d.graph, d.k, so);
    spectral.scores.push_back(ccgc::score(d.labels, sc.kmeans.host_labels()));
    spectral.seconds += since(t0);
  }
  if (!d.featureless) g.baselines.push_back(raw);
  g.baselines.push_back(smooth);
  g.baselines.push_back(spectral);
  for (const auto& a : g.baselines)
    std::printf("%s: %s ACC %s NMI %s\n", d.name.c_str(), a.label.c_str(),
                a.cell(&ccgc::Scores::acc).c_str(), a.cell(&ccgc::Scores::nmi).c_str());
}

struct ProgressState {
  kit::Progress* progress = nullptr;
  int64_t done = 0;
};

void run_ccgc(GraphResults& g, const std::string& key, const std::string& label,
              const ccgc::Config& c, const std::vector<uint64_t>& seeds, const Device& dev,
              ProgressState& ps) {
  ccgc::GraphData& d = *g.data;
  const Tensor<float> xs = d.x_smooth.to(dev);
  CcgcArm arm;
  arm.final_epoch = {key, label + " (final epoch)", {}, {}, 0};
  arm.selected = {
      key + "_label_selected", label + " (label-selected: best ACC over epochs)", {}, {}, 0};
  for (size_t i = 0; i < seeds.size(); ++i) {
    const std::string what = d.name + " " + key + " seed " + std::to_string(seeds[i]);
    ccgc::Result r = ccgc::train(
        xs, d.labels, d.k, g.smooth_kmeans[i], c, seeds[i], [&](int64_t epoch, double loss) {
          ++ps.done;
          ps.progress->update(ps.done,
                              what + " epoch " + std::to_string(epoch) + " loss " + kit::fmt(loss));
        });
    arm.final_epoch.scores.push_back(r.final_scores);
    arm.selected.scores.push_back(r.label_selected);
    arm.selected.selected_epochs.push_back(r.label_selected_epoch);
    arm.final_epoch.seconds += r.seconds;
    arm.runs.push_back(std::move(r));
  }
  std::printf("%s: %s ACC %s NMI %s (label-selected ACC %s) in %.1f s\n", d.name.c_str(),
              label.c_str(), arm.final_epoch.cell(&ccgc::Scores::acc).c_str(),
              arm.final_epoch.cell(&ccgc::Scores::nmi).c_str(),
              arm.selected.cell(&ccgc::Scores::acc).c_str(), arm.final_epoch.seconds);
  std::fflush(stdout);
  g.ccgc[key] = std::move(arm);
}

kit::Table results_table(const GraphResults& g, const std::vector<uint64_t>& seeds) {
  const ccgc::GraphData& d = *g.data;
  kit::Table t(d.name + " (N = " + std::to_string(d.graph.num_nodes) +
                   ", K = " + std::to_string(d.k) + "): scores in %, mean ± std over " +
                   kit::describe_seeds(seeds),
               {"method", "ACC", "NMI", "ARI", "F1", "seconds"});
  auto row = [&](const Arm& a, bool timed) {
    t.row({a.label, a.cell(&ccgc::Scores::acc), a.cell(&ccgc::Scores::nmi),
           a.cell(&ccgc::Scores::ari), a.cell(&ccgc::Scores::f1),
           timed ? kit::fmt(a.seconds, 3) : ""});
  };
  for (const auto& a : g.baselines) row(a, true);
  for (const std::string key : {"full", "lr", "alpha0", "tau1", "shared"}) {
    const auto it = g.ccgc.find(key);
    if (it == g.ccgc.end()) continue;
    row(it->second.final_epoch, true);
    row(it->second.selected, false);
  }
  return t;
}

void record_metrics(kit::Report& report, const GraphResults& g) {
  const std::string p = g.data->name + "_";
  auto put = [&](const Arm& a) {
    report.metric(p + a.key + "_acc", a.mean(&ccgc::Scores::acc));
    report.metric(p + a.key + "_nmi", a.mean(&ccgc::Scores::nmi));
    report.metric(p + a.key + "_ari", a.mean(&ccgc::Scores::ari));
    report.metric(p + a.key + "_f1", a.mean(&ccgc::Scores::f1));
    std::vector<double> acc;
    for (const auto& s : a.scores) acc.push_back(s.acc);
    report.metric(p + a.key + "_acc_per_seed", acc);
  };
  for (const auto& a : g.baselines) put(a);
  for (const auto& [key, arm] : g.ccgc) {
    put(arm.final_epoch);
    put(arm.selected);
    report.metric(p + key + "_seconds", arm.final_epoch.seconds);
    report.metric(p + key + "_loss_seed0", arm.runs.front().loss);
  }
}

// Predicted clusters renamed to their matched classes (unmatched clusters after the classes),
// so the two panels of the embedding figure share colours.
std::vector<int64_t> matched(const std::vector<int64_t>& truth, const std::vector<int64_t>& pred,
                             int64_t k) {
  const auto m = metrics::match_clusters(truth, pred);
  std::vector<int64_t> out;
  for (int64_t p : pred) {
    const size_t j =
        size_t(std::lower_bound(m.clusters.begin(), m.clusters.end(), p) - m.clusters.begin());
    out.push_back(m.class_of_cluster[j] >= 0 ? m.class_of_cluster[j] : k + int64_t(j));
  }
  return out;
}

void embedding_figure(kit::Report& report, const std::filesystem::path& out, const GraphResults& g,
                      const std::string& key) {
  const ccgc::Result& r = g.ccgc.at(key).runs.front();
  const std::string file = "embedding_" + g.data->name + ".png";
  ccgc::save_embedding(out / file, g.data->name + " CCGC", r.embedding, g.data->labels,
                       matched(g.data->labels, r.prediction, g.data->k));
  report.figure(file, g.data->name +
                          ": 2-D PCA of the final CCGC embedding (Z1 + Z2)/2 of the "
                          "first seed, coloured by true class (left) and by k-means "
                          "cluster mapped to its matched class (right)");
}

void curves_figure(kit::Report& report, const std::filesystem::path& out, const GraphResults& g) {
  std::vector<ccgc::Curve> loss, acc;
  for (const auto& [key, arm] : g.ccgc) {
    const ccgc::Result& r = arm.runs.front();
    ccgc::Curve l{key, {}, r.loss}, a{key, {}, {}};
    for (size_t e = 0; e < r.loss.size(); ++e) l.x.push_back(double(e));
    for (const auto& ev : r.evaluations) {
      a.x.push_back(double(ev.epoch));
      a.y.push_back(ev.scores.acc);
    }
    loss.push_back(l);
    acc.push_back(a);
  }
  const std::string file = "curves_" + g.data->name + ".png";
  ccgc::save_curves(out / file, g.data->name, loss, acc);
  report.figure(file, g.data->name +
                          ", first seed: training loss per epoch (warm-up MSE to the "
                          "identity up to epoch 50, then L_pos + α L_neg) and ACC of "
                          "each evaluation, per arm (full: lr 1e-4; lr: 1e-3)");
}

// --------------------------------------------------------------------------- framework checks

// Criterion 6a: ACC, NMI and ARI of the kit against values worked out by hand from the
// formulas of the note on three small contingency tables.
int metric_checks_passed(std::string& detail) {
  struct Case {
    std::vector<int64_t> y, c;
    double acc, nmi, ari;
  };
  const std::vector<Case> cases{
      // n = [[2, 1, 0], [0, 1, 2]]: matching 2 + 2 of 6; MI = (2/3) ln 2, H = ln 2 and ln 3;
      // ARI: Σ C(n_ij, 2) = 2, E = 6·3/15 = 1.2, max = 4.5 -> 0.8 / 3.3.
      {{0, 0, 0, 1, 1, 1},
       {0, 0, 1, 1, 2, 2},
       4.0 / 6.0,
       (2.0 / 3.0 * std::log(2.0)) / ((std::log(2.0) + std::log(3.0)) / 2),
       0.8 / 3.3},
      // scikit-learn's documented ARI case, 4/7; ACC 3/4; MI = (1/2) ln 2 + 2 (1/4) ln 2 = ln 2,
      // H(y) = ln 2, H(c) = 1.5 ln 2, so NMI = 1 / 1.25 = 0.8.
      {{0, 0, 1, 1}, {0, 0, 1, 2}, 0.75, 0.8, 4.0 / 7.0},
      // a relabelled identical partition: all three are 1.
      {{0, 0, 1, 1, 2}, {2, 2, 0, 0, 1}, 1.0, 1.0, 1.0}};
  int passed = 0;
  for (const auto& k : cases) {
    const double acc = metrics::clustering_accuracy(k.y, k.c);
    const double nmi = metrics::normalized_mutual_info(k.y, k.c);
    const double ari = metrics::adjusted_rand_index(k.y, k.c);
    const bool ok = std::abs(acc - k.acc) < 1e-12 && std::abs(nmi - k.nmi) < 1e-12 &&
                    std::abs(ari - k.ari) < 1e-12;
    passed += ok;
    detail += (detail.empty() ? "" : "; ") + std::string("ACC/NMI/ARI ") + kit::fmt(acc) + "/" +
              kit::fmt(nmi) + "/" + kit::fmt(ari) + (ok ? " = " : " != ") + kit::fmt(k.acc) + "/" +
              kit::fmt(k.nmi) + "/" + kit::fmt(k.ari);
  }
  return passed;
}

// --------------------------------------------------------------------------- the run

void run_example(kit::Run& run) {
  const auto wall0 = std::chrono::steady_clock::now();
  const Plan plan = make_plan(run);
  kit::Report& report = run.report;
  const Device dev = run.device;
  const auto& seeds = plan.seeds;
  report.set_claim(
      "Cluster-guided Contrastive Graph Clustering Network (Yang, Liu, Zhou et al., AAAI 2023, "
      "arXiv 2301.01098)",
      "cluster-guided positives (high-confidence nodes of one cluster across two unshared "
      "encoders) and centre negatives cluster graphs better than the smoothing baseline, and "
      "each part of the loss matters");
  report.provenance("seeds used",
                    kit::describe_seeds(seeds) + (run.options.quick ? " (--quick)" : ""));

  // ---------------------------------------------------------------- data (calibration first)
  const int64_t t = kSmoothingSteps;
  std::vector<ccgc::GtCheck> gt_checks;
  std::vector<ccgc::GraphData> graphs;  // the SBM first, then the real graphs, then Cora
  std::printf(
      "SBM calibration (before any GNN run): topic share in [%.2f, %.2f] so that k-means "
      "on X reaches %.0f-%.0f%% ACC\n",
      plan.sbm.lo, plan.sbm.hi, 100 * plan.sbm.band_lo, 100 * plan.sbm.band_hi);
  ccgc::SbmData sbm = ccgc::make_sbm(plan.sbm, run.options.seed, t);
  graphs.push_back(sbm.graph);
  report.provenance("sbm", sbm.graph.description);
  kit::Table calib(
      "SBM calibration: k-means (10 restarts) ACC on the raw features X against the "
      "topic share, in the order tried",
      {"topic share", "k-means ACC on X (%)", "in the band 40-55%"});
  std::vector<double> calib_f, calib_acc;
  for (const auto& p : sbm.calibration) {
    calib.row(
        {kit::fmt(p.topic_fraction, 5), kit::fmt(100 * p.kmeans_acc, 4),
         p.kmeans_acc >= plan.sbm.band_lo && p.kmeans_acc <= plan.sbm.band_hi ? "yes" : "no"});
    calib_f.push_back(p.topic_fraction);
    calib_acc.push_back(100 * p.kmeans_acc);
  }
  report.add_table(calib);
  report.metric("sbm_calibration_topic_share", sbm.chosen_fraction);
  report.metric("sbm_calibration_acc", 100 * sbm.chosen_acc);
  report.metric("sbm_calibration_shares_tried", calib_f);
  report.metric("sbm_calibration_acc_tried", calib_acc);
  report.metric("sbm_edge_homophily", sbm.measured_homophily);

  for (const std::string name : {"polblogs", "football", "polbooks"}) {
    auto [check, g] = ccgc::load_graph_tool(name, t);
    gt_checks.push_back(check);
    const bool wanted =
        std::find(plan.real_graphs.begin(), plan.real_graphs.end(), name) != plan.real_graphs.end();
    if (!wanted) continue;
    if (name == "polblogs") {
      ccgc::GraphData lcc = ccgc::largest_component(g, "polblogs", t);
      std::printf("polblogs: largest connected component %lld of %lld nodes (usual figure 1222)\n",
                  (long long)lcc.graph.num_nodes, (long long)g.graph.num_nodes);
      report.metric("polblogs_lcc_nodes", double(lcc.graph.num_nodes));
      report.provenance("polblogs", lcc.description);
      graphs.push_back(std::move(lcc));
      if (plan.polblogs_full) {
        g.name = "polblogs_full";
        report.provenance("polblogs_full", g.description);
        graphs.push_back(std::move(g));
      }
    } else {
      report.provenance(name, g.description);
      graphs.push_back(std::move(g));
    }
  }
  if (plan.cora) {
    graphs.push_back(ccgc::load_cora(ccgc::find_cora(plan.cora_flag), t));
    report.provenance("cora", graphs.back().description);
  }

  // ---------------------------------------------------------------- arms
  ccgc::Config full = plan.base, alt = plan.base, alpha0 = plan.base, tau1 = plan.base,
               shared = plan.base;
  alt.lr = kAltLr;
  alpha0.alpha = 0.0;
  tau1.tau = 1.0;
  shared.shared = true;
  const std::string lr_label = "CCGC lr " + kit::fmt(plan.base.lr);
  int64_t total_runs = 0;
  for (const auto& g : graphs) total_runs += g.name == "sbm" ? 5 : 2;
  kit::Progress progress("ccgc", total_runs * int64_t(seeds.size()) * plan.base.epochs);
  ProgressState ps{&progress, 0};
  std::vector<GraphResults> results(graphs.size());
  for (size_t i = 0; i < graphs.size(); ++i) {
    GraphResults& g = results[i];
    g.data = &graphs[i];
    run_baselines(g, seeds, dev);
    run_ccgc(g, "full", lr_label, full, seeds, dev, ps);
    run_ccgc(g, "lr", "CCGC lr " + kit::fmt(kAltLr), alt, seeds, dev, ps);
    if (g.data->name == "sbm") {
      run_ccgc(g, "alpha0", "CCGC α = 0 (no centre negatives)", alpha0, seeds, dev, ps);
      run_ccgc(g, "tau1", "CCGC τ = 1 (no confidence filter)", tau1, seeds, dev, ps);
      run_ccgc(g, "shared", "CCGC shared weights (W1 = W2)", shared, seeds, dev, ps);
    }
  }

  // ---------------------------------------------------------------- tables and metrics
  for (const auto& g : results) {
    report.add_table(results_table(g, seeds));
    record_metrics(report, g);
  }
  {
    kit::Table sel("Epochs the label-selected rows chose, per seed (evaluated every 10 epochs)",
                   {"graph", "arm", "epochs"});
    for (const auto& g : results)
      for (const auto& [key, arm] : g.ccgc) {
        std::string e;
        for (int64_t x : arm.selected.selected_epochs)
          e += (e.empty() ? "" : ", ") + std::to_string(x);
        sel.row({g.data->name, key, e});
      }
    report.add_table(sel);
  }

  // ---------------------------------------------------------------- criteria
  const GraphResults& s = results.front();
  auto acc = [](const Arm& a) { return a.mean(&ccgc::Scores::acc); };
  auto nmi = [](const Arm& a) { return a.mean(&ccgc::Scores::nmi); };
  const Arm& s_full = s.ccgc.at("full").final_epoch;
  const Arm& s_smooth = s.baseline("kmeans_smooth");
  report.criterion({"1. SBM: CCGC ACC minus k-means on X~ ACC (points)",
                    acc(s_full) - acc(s_smooth), kit::Compare::at_least, 2.0, seeds,
                    "final epoch, " + lr_label + ": " + kit::fmt(acc(s_full)) + " vs " +
                        kit::fmt(acc(s_smooth))});
  report.criterion({"1. SBM: CCGC NMI minus k-means on X~ NMI (points)",
                    nmi(s_full) - nmi(s_smooth), kit::Compare::at_least, 2.0, seeds,
                    kit::fmt(nmi(s_full)) + " vs " + kit::fmt(nmi(s_smooth))});
  const Arm& s_a0 = s.ccgc.at("alpha0").final_epoch;
  const Arm& s_t1 = s.ccgc.at("tau1").final_epoch;
  const Arm& s_sh = s.ccgc.at("shared").final_epoch;
  report.criterion({"2. SBM: full CCGC ACC minus α = 0 ACC (points)", acc(s_full) - acc(s_a0),
                    kit::Compare::greater, 0.0, seeds,
                    kit::fmt(acc(s_full)) + " vs " + kit::fmt(acc(s_a0))});
  report.criterion({"2. SBM: full CCGC ACC minus τ = 1 ACC (points)", acc(s_full) - acc(s_t1),
                    kit::Compare::greater, 0.0, seeds,
                    kit::fmt(acc(s_full)) + " vs " + kit::fmt(acc(s_t1))});
  report.criterion({"3. SBM: unshared ACC minus shared-weights ACC (points)",
                    acc(s_full) - acc(s_sh), kit::Compare::greater, 0.0, seeds,
                    kit::fmt(acc(s_full)) + " vs " + kit::fmt(acc(s_sh))});
  {
    double worst = INFINITY, best = -INFINITY;
    std::string detail;
    for (const auto& g : results) {
      const std::string& n = g.data->name;
      if (n != "polblogs" && n != "football" && n != "polbooks") continue;
      const double d = acc(g.ccgc.at("full").final_epoch) - acc(g.baseline("kmeans_smooth"));
      worst = std::min(worst, d);
      best = std::max(best, d);
      detail += (detail.empty() ? "" : "; ") + n + " " + kit::fmt(d);
    }
    report.criterion({"4. Real graphs: worst CCGC ACC minus k-means on X~ ACC (points)", worst,
                      kit::Compare::at_least, -1.0, seeds, detail});
    report.criterion({"4. Real graphs: best CCGC ACC minus k-means on X~ ACC (points)", best,
                      kit::Compare::greater, 0.0, seeds, detail});
  }
  {
    double sel_acc = NAN, sel_nmi = NAN;
    std::string detail = "Cora not run (--quick)";
    for (const auto& g : results)
      if (g.data->name == "cora") {
        const CcgcArm& a = g.ccgc.at("full");
        sel_acc = acc(a.selected);
        sel_nmi = nmi(a.selected);
        detail = "label-selected (best ACC over the evaluations, as the paper reports), " +
                 std::to_string(seeds.size()) + " seeds (paper: 10); final-epoch ACC " +
                 kit::fmt(acc(a.final_epoch)) + ", NMI " + kit::fmt(nmi(a.final_epoch)) +
                 " (not scored)";
      }
    report.criterion({"5. Cora: label-selected ACC (%, paper 73.88 - 3)", sel_acc,
                      kit::Compare::at_least, 73.88 - 3, seeds, detail});
    report.criterion({"5. Cora: label-selected NMI (%, paper 56.45 - 3)", sel_nmi,
                      kit::Compare::at_least, 56.45 - 3, seeds, detail});
  }
  {
    std::string detail;
    const int passed = metric_checks_passed(detail);
    report.criterion({"6. Metric code: hand-computed ACC, NMI, ARI tables reproduced",
                      double(passed),
                      kit::Compare::at_least,
                      3.0,
                      {},
                      detail});
    int gt_ok = 0;
    std::string gd;
    kit::Table gtt(
        "The .gt reader on the three labelled graphs (every byte consumed, or it throws)",
        {"graph", "nodes", "edges", "class sizes", "expected (note)", "match"});
    for (const auto& c : gt_checks) {
      gt_ok += c.ok();
      std::string sizes, want;
      for (int64_t x : c.class_counts) sizes += (sizes.empty() ? "" : "/") + std::to_string(x);
      for (int64_t x : c.want_class_counts) want += (want.empty() ? "" : "/") + std::to_string(x);
      if (want.empty()) want = std::to_string(c.want_classes) + " classes";
      gtt.row({c.name, std::to_string(c.nodes), std::to_string(c.edges), sizes,
               std::to_string(c.want_nodes) + " / " + std::to_string(c.want_edges) + " / " + want,
               c.ok() ? "yes" : "NO"});
      gd += (gd.empty() ? "" : "; ") + c.name + (c.ok() ? " ok" : " MISMATCH");
    }
    report.add_table(gtt);
    report.criterion({"6. .gt reader: files read whole with the note's node, edge and label counts",
                      double(gt_ok),
                      kit::Compare::at_least,
                      3.0,
                      {},
                      gd});
  }

  // ---------------------------------------------------------------- figures
  embedding_figure(report, run.out, s, "full");
  curves_figure(report, run.out, s);
  for (const auto& g : results)
    if (g.data->name == "cora" || (run.options.quick && g.data->name == "football")) {
      embedding_figure(report, run.out, g, "full");
      curves_figure(report, run.out, g);
    }

  // ---------------------------------------------------------------- notes
  report.note(
      "**Protocol.** Final-epoch scores are the primary numbers (no label is used to choose "
      "anything); the rows marked label-selected take, per seed, the evaluation of highest ACC "
      "against the true labels, the way the paper's table was made (without the official "
      "tracker's start at the k-means-on-X~ score). Gradients are zeroed every step and every "
      "cluster contributes positives and a centre (the official code does neither). Hidden " +
      std::to_string(plan.base.hidden) + ", " + std::to_string(plan.base.epochs) +
      " epochs (warm-up 0-50), t = 4, τ = 0.5, α = 0.5, k-means++ with 10 restarts every 10 "
      "epochs; the criteria use " +
      lr_label + " (the paper's); lr " + kit::fmt(kAltLr) +
      " is the note's sweep, reported beside it. The ablations run on the SBM only.");
  report.note(std::string("**SBM calibration.** ") +
              (sbm.in_band ? "The topic share " + kit::fmt(sbm.chosen_fraction, 5) +
                                 " gives k-means on X " + kit::fmt(100 * sbm.chosen_acc) +
                                 "% ACC, inside the note's 40-55% band."
                           : "No topic share tried put k-means on X inside the note's 40-55% "
                             "band; the closest, " +
                                 kit::fmt(sbm.chosen_fraction, 5) + " (" +
                                 kit::fmt(100 * sbm.chosen_acc) + "%), was used.") +
              " The graph and features are drawn once (seed " + std::to_string(run.options.seed) +
              "); the seeds vary the encoders' initialisation, the positive subsets and k-means.");
  report.note(
      "**Framework checks.** Besides criterion 6 computed here, the suite tests the metrics "
      "(tests/test_metrics.cpp), k-means and spectral clustering (tests/test_cluster.cpp), the "
      ".gt reader (tests/test_graph_tool.cpp) and the SBM generator (tests/test_sbm.cpp).");
  const double wall = since(wall0);
  report.metric("wall_seconds", wall);
  report.provenance("wall time", kit::fmt(wall, 4) + " s for the whole run");
  report.finish();
}

}  // namespace

int main(int argc, char** argv) {
  kit::Example ex(
      "ccgc",
      "CCGC (cluster-guided contrastive graph clustering) against k-means and spectral "
      "clustering on a calibrated SBM with bag-of-words features, polblogs, football, polbooks "
      "and Cora, with the ablations alpha = 0, tau = 1 and shared encoder weights.",
      /*default_seeds=*/3);
  ex.parser()
      .add("epochs", "N", "training epochs (default 150; 60 with --quick; 400 with --device cuda)")
      .add("hidden", "N", "embedding size (default 128; 500 with --device cuda)")
      .add("lr", "X", "Adam learning rate of the main arms (default 1e-4, the paper's)")
      .add("sbm-nodes", "N", "nodes of the SBM (default 2000; 300 with --quick; 20000 on cuda)")
      .add("cora", "FILE",
           "Cora as safetensors (default <data root>/cora/cora.safetensors, else "
           "../shared/data/cora beside the source tree)");
  return ex.main(argc, argv, run_example);
}
