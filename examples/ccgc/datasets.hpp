// The ccgc example's graphs: the three labelled graphs of graph-tool's collection (polblogs,
// football, polbooks; no node features, so X = I_N), Cora (the paper's first dataset, binary
// bag of words) and the note's stochastic block model with bag-of-words features, whose topic
// share is calibrated so that k-means on the raw features alone is weak (40-55% ACC). Each
// graph comes with its Laplacian-smoothed features X~ = Â^t X, Â = D~^-1/2 (A + I) D~^-1/2.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ember/cluster/kmeans.hpp>
#include <ember/cluster/spectral.hpp>
#include <ember/core/error.hpp>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/data/bag_of_words.hpp>
#include <ember/data/data_root.hpp>
#include <ember/data/graph.hpp>
#include <ember/data/sbm.hpp>
#include <ember/io/graph_tool.hpp>
#include <ember/io/safetensors.hpp>
#include <ember/metrics/clustering.hpp>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace ccgc {

struct GraphData {
  std::string name;
  ember::data::Graph graph;  // undirected and simple (symmetrised, no loops, no duplicates)
  std::vector<int64_t> labels;
  int64_t k = 0;
  bool featureless = false;       // X = I_N (k-means on X is then meaningless)
  ember::Tensor<float> x;         // [N, d] raw features (undefined when featureless)
  ember::Tensor<float> x_smooth;  // [N, d] = Â^t X
  std::string description;        // one line for the report's provenance
};

// The undirected simple graph of an edge list: both directions merged, self loops and
// duplicate edges dropped (the note's preprocessing).
inline ember::data::Graph simple_undirected(int64_t n, const std::vector<int64_t>& src,
                                            const std::vector<int64_t>& dst) {
  std::vector<std::pair<int64_t, int64_t>> pairs;
  for (size_t e = 0; e < src.size(); ++e) {
    if (src[e] == dst[e]) continue;
    pairs.emplace_back(std::min(src[e], dst[e]), std::max(src[e], dst[e]));
  }
  std::sort(pairs.begin(), pairs.end());
  pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
  ember::data::Graph g;
  g.num_nodes = n;
  for (const auto& [a, b] : pairs) {
    g.src.push_back(a);
    g.dst.push_back(b);
  }
  return g;
}

// X~ = Â^t X on the host in float64 (no gradient: the smoothing is preprocessing). x is
// [N, d] row-major; an empty x stands for I_N (featureless graphs), giving Â^t itself.
// Â is the kit's normalised adjacency with self loops (the one spectral clustering uses), so
// the smoothing and the spectral baseline see the same operator.
inline ember::Tensor<float> smooth_features(const ember::data::Graph& g,
                                            const std::vector<double>& x, int64_t d, int64_t t) {
  const int64_t n = g.num_nodes;
  const auto s = ember::cluster::spectral_detail::normalised_adjacency(g, /*self_loops=*/true);
  std::vector<double> cur;
  if (x.empty()) {
    d = n;
    cur.assign(size_t(n * n), 0.0);
    for (int64_t i = 0; i < n; ++i) cur[size_t(i * n + i)] = 1.0;
  } else {
    EMBER_CHECK(int64_t(x.size()) == n * d, "smooth_features: ", x.size(), " values for ", n,
                " nodes of ", d, " features");
    cur = x;
  }
  std::vector<double> next(cur.size());
  for (int64_t step = 0; step < t; ++step) {
    for (int64_t i = 0; i < n; ++i) {
      double* yi = next.data() + i * d;
      std::fill(yi, yi + d, 0.0);
      for (int64_t q = s.row_ptr[size_t(i)]; q < s.row_ptr[size_t(i + 1)]; ++q) {
        const double v = s.value[size_t(q)];
        const double* xc = cur.data() + s.col[size_t(q)] * d;
        for (int64_t j = 0; j < d; ++j) yi[j] += v * xc[j];
      }
    }
    std::swap(cur, next);
  }
  return ember::Tensor<float>::from_vector(std::vector<float>(cur.begin(), cur.end()), {n, d});
}

inline std::vector<double> host_values(const ember::Tensor<float>& x) {
  const std::vector<float> v = x.contiguous().to_vector();
  return std::vector<double>(v.begin(), v.end());
}

// ------------------------------------------------------------------ graph-tool collection

// What the note's table says each file holds, and what the reader found: criterion 6's check
// that the .gt reader consumed the three files (read_graph_tool refuses trailing bytes) and
// that the counts match.
struct GtCheck {
  std::string name;
  int64_t nodes = 0, edges = 0;
  std::vector<int64_t> class_counts;  // sorted ascending
  int64_t want_nodes = 0, want_edges = 0;
  int64_t want_classes = 0;
  std::vector<int64_t> want_class_counts;  // sorted ascending; empty: only the number checked
  bool ok() const {
    return nodes == want_nodes && edges == want_edges &&
           int64_t(class_counts.size()) == want_classes &&
           (want_class_counts.empty() || class_counts == want_class_counts);
  }
};

inline std::string gt_path(const std::string& name) {
  return ember::data::require_data("graph-tool/" + name + ".gt.gz",
                                   "the graph-tool collection's " + name + " graph");
}

// The graph as stored (for the count check) and as the example uses it.
inline std::pair<GtCheck, GraphData> load_graph_tool(const std::string& name, int64_t t) {
  const std::string path = gt_path(name);
  const ember::io::GraphToolGraph gt = ember::io::read_graph_tool(path);
  const auto labels = gt.vertex_labels("value");
  GtCheck c;
  c.name = name;
  c.nodes = gt.num_nodes;
  c.edges = gt.num_edges();
  c.class_counts.assign(labels.classes.size(), 0);
  for (int64_t id : labels.ids) ++c.class_counts[size_t(id)];
  std::sort(c.class_counts.begin(), c.class_counts.end());
  if (name == "polblogs") {
    c.want_nodes = 1490, c.want_edges = 19090, c.want_classes = 2;
    c.want_class_counts = {732, 758};
  } else if (name == "football") {  // the note gives the number of conferences, not their sizes
    c.want_nodes = 115, c.want_edges = 613, c.want_classes = 12;
  } else if (name == "polbooks") {
    c.want_nodes = 105, c.want_edges = 441, c.want_classes = 3;
    c.want_class_counts = {13, 43, 49};
  }
  GraphData g;
  g.name = name;
  g.graph = simple_undirected(gt.num_nodes, gt.sources, gt.targets);
  g.labels = labels.ids;
  g.k = int64_t(labels.classes.size());
  g.featureless = true;
  g.x_smooth = smooth_features(g.graph, {}, 0, t);
  g.description = name + " from " + path + ": " + std::to_string(g.graph.num_nodes) + " nodes, " +
                  std::to_string(g.graph.num_edges()) + " undirected edges after symmetrising, " +
                  std::to_string(g.k) + " classes, X = I_N";
  return {c, std::move(g)};
}

// The largest connected component of a featureless graph, re-smoothed on its own.
inline GraphData largest_component(const GraphData& full, const std::string& name, int64_t t) {
  const auto sub = ember::data::largest_connected_component(full.graph);
  GraphData g;
  g.name = name;
  g.graph = sub.graph;
  g.labels = ember::data::restrict_to(full.labels, sub);
  g.k = full.k;
  g.featureless = true;
  g.x_smooth = smooth_features(g.graph, {}, 0, t);
  g.description = name + ": the largest connected component of " + full.name + ", " +
                  std::to_string(g.graph.num_nodes) + " of " +
                  std::to_string(full.graph.num_nodes) + " nodes, " +
                  std::to_string(g.graph.num_edges()) + " edges";
  return g;
}

// ------------------------------------------------------------------ Cora

// Where Cora lies: --cora, else <data root>/cora/cora.safetensors (data/install.sh copies it
// there from the repository's data/cora/).
inline std::string find_cora(const std::string& flag) {
  if (!flag.empty()) {
    EMBER_CHECK(std::filesystem::exists(flag), "--cora: no file at ", flag);
    return flag;
  }
  const std::string in_root = ember::data::data_root() + "/cora/cora.safetensors";
  if (std::filesystem::exists(in_root)) return in_root;
  ember::fail(ember::data::missing_data_message("Cora (cora/cora.safetensors)", in_root),
              "; or pass --cora FILE");
}

inline GraphData load_cora(const std::string& path, int64_t t) {
  const ember::io::SafetensorsFile f = ember::io::load_safetensors(path);
  const auto feat = ember::io::get<uint8_t>(f, "features");
  const auto lab = ember::io::get<int64_t>(f, "labels");
  const auto ei = ember::io::get<int64_t>(f, "edge_index");
  EMBER_CHECK(feat.dim() == 2 && lab.dim() == 1 && lab.size(0) == feat.size(0) && ei.dim() == 2 &&
                  ei.size(0) == 2,
              "Cora ", path, ": expected features [N, d], labels [N], edge_index [2, E]; got ",
              ember::shape_str(feat.shape()), ", ", ember::shape_str(lab.shape()), ", ",
              ember::shape_str(ei.shape()));
  const int64_t n = feat.size(0), d = feat.size(1), e = ei.size(1);
  const std::vector<uint8_t> fv = feat.contiguous().to_vector();
  const std::vector<int64_t> ev = ei.contiguous().to_vector();
  GraphData g;
  g.name = "cora";
  g.labels = lab.to_vector();
  g.k = *std::max_element(g.labels.begin(), g.labels.end()) + 1;
  for (int64_t v : ev)
    EMBER_CHECK(v >= 0 && v < n, "Cora ", path, ": edge endpoint ", v, " outside [0, ", n, ")");
  g.graph = simple_undirected(n, std::vector<int64_t>(ev.begin(), ev.begin() + e),
                              std::vector<int64_t>(ev.begin() + e, ev.end()));
  std::vector<double> x(fv.begin(), fv.end());
  g.x = ember::Tensor<float>::from_vector(std::vector<float>(x.begin(), x.end()), {n, d});
  g.x_smooth = smooth_features(g.graph, x, d, t);
  g.description = "Cora from " + path + ": " + std::to_string(n) + " nodes, " +
                  std::to_string(g.graph.num_edges()) + " edges, " + std::to_string(d) +
                  " binary word features, " + std::to_string(g.k) + " classes (real)";
  return g;
}

// ------------------------------------------------------------------ SBM with bag of words

struct SbmSpec {
  int64_t nodes = 2000;
  std::vector<double> shares{0.30, 0.22, 0.18, 0.12, 0.10, 0.08};
  double mean_degree = 4.0, homophily = 0.8;
  int64_t vocabulary = 500, topic_words = 60, words_per_node = 20;
  double lo = 0.35, hi = 0.50;            // the topic shares the calibration searches between
  double band_lo = 0.40, band_hi = 0.55;  // the note's ACC band for k-means on raw X
  int64_t steps = 7;                      // bisection steps at most
};

struct CalibrationPoint {
  double topic_fraction, kmeans_acc;
};

struct SbmData {
  GraphData graph;
  double measured_homophily = 0, chosen_fraction = 0, chosen_acc = 0;
  bool in_band = false;
  std::vector<CalibrationPoint> calibration;  // in the order evaluated
};

// ACC of k-means (k-means++, 10 restarts) on the raw features of one topic share.
inline double raw_kmeans_acc(const std::vector<int64_t>& labels, int64_t k, const SbmSpec& s,
                             double fraction, uint64_t seed, ember::Tensor<float>* keep = nullptr) {
  ember::Generator gen(seed ^ 0xB0A7ull);  // the same word draws for every share tried
  ember::data::BagOfWordsOptions o;
  o.vocabulary = s.vocabulary, o.topic_words = s.topic_words, o.words_per_node = s.words_per_node;
  o.topic_fraction = fraction;  // binary weighting, no row norm: Cora's kind of features
  const auto bow = ember::data::bag_of_words<float>(labels, o, gen, k);
  const auto km = ember::cluster::kmeans(bow.features, k, {.restarts = 10, .seed = seed});
  if (keep) *keep = bow.features;
  return ember::metrics::clustering_accuracy(labels, km.host_labels());
}

// The graph, then the topic share: bisection between lo and hi on ACC(k-means on X) toward the
// middle of the band, stopping at the first share inside it. Printed as it goes.
inline SbmData make_sbm(const SbmSpec& s, uint64_t seed, int64_t t) {
  ember::data::SbmOptions o;
  o.num_nodes = s.nodes;
  o.class_shares = {s.shares};
  o.relations = {{"edges", s.mean_degree, {s.homophily}}};
  o.seed = seed;
  const ember::data::SbmGraph sbm = ember::data::generate_sbm(o);
  SbmData out;
  GraphData& g = out.graph;
  g.name = "sbm";
  g.graph = sbm.relations[0];
  g.labels = sbm.labels[0];
  g.k = int64_t(s.shares.size());
  out.measured_homophily = ember::data::edge_homophily(g.graph, g.labels);
  std::printf(
      "SBM: %lld nodes, %lld edges (mean degree %.2f, target %.1f), edge homophily %.3f "
      "(target %.2f)\n",
      (long long)s.nodes, (long long)g.graph.num_edges(), g.graph.mean_degree(), s.mean_degree,
      out.measured_homophily, s.homophily);

  const double target = 0.5 * (s.band_lo + s.band_hi);
  auto eval = [&](double f) {
    const double acc = raw_kmeans_acc(g.labels, g.k, s, f, seed);
    out.calibration.push_back({f, acc});
    std::printf("  calibration: topic share %.4f -> k-means ACC on X %.3f\n", f, acc);
    std::fflush(stdout);
    return acc;
  };
  auto in_band = [&](double acc) { return acc >= s.band_lo && acc <= s.band_hi; };
  double lo = s.lo, hi = s.hi;
  const double acc_lo = eval(lo);
  double chosen = -1;
  if (in_band(acc_lo)) chosen = lo;
  if (chosen < 0) {
    const double acc_hi = eval(hi);
    if (in_band(acc_hi)) chosen = hi;
    for (int64_t step = 0; chosen < 0 && step < s.steps; ++step) {
      const double mid = 0.5 * (lo + hi);
      const double acc = eval(mid);
      if (in_band(acc)) chosen = mid;
      (acc < target ? lo : hi) = mid;
    }
    (void)acc_hi;
  }
  if (chosen < 0) {  // no share inside the band: the one closest to its middle
    const auto best = std::min_element(
        out.calibration.begin(), out.calibration.end(), [&](const auto& a, const auto& b) {
          return std::abs(a.kmeans_acc - target) < std::abs(b.kmeans_acc - target);
        });
    chosen = best->topic_fraction;
  }
  out.chosen_fraction = chosen;
  out.chosen_acc = raw_kmeans_acc(g.labels, g.k, s, chosen, seed, &g.x);
  out.in_band = in_band(out.chosen_acc);
  std::printf(
      "  calibration: chose topic share %.4f (k-means ACC on X %.3f, %s the band "
      "[%.2f, %.2f])\n",
      chosen, out.chosen_acc, out.in_band ? "inside" : "OUTSIDE", s.band_lo, s.band_hi);
  g.x_smooth = smooth_features(g.graph, host_values(g.x), g.x.size(1), t);
  char line[256];
  std::snprintf(line, sizeof line,
                "SBM generated here (seed %llu): %lld nodes, %lld classes, %lld edges, edge "
                "homophily %.3f (target %.2f), %lld-d binary bag of words, %lld topic words per "
                "class, %lld words per node, topic share %.4f (calibrated)",
                (unsigned long long)seed, (long long)s.nodes, (long long)g.k,
                (long long)g.graph.num_edges(), out.measured_homophily, s.homophily,
                (long long)s.vocabulary, (long long)s.topic_words, (long long)s.words_per_node,
                chosen);
  g.description = line;
  return out;
}

}  // namespace ccgc
