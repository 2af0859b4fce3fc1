// The synthetic, MGTAB-shaped benchmark (papers/05-mgtab.md, "Reproduction in ember"): MGTAB
// itself (10,199 expert-labelled Twitter users, 7 relations, 788 feature columns) is only on
// Google Drive, so this generates a graph of its shape. It is not MGTAB and measures nothing
// about MGTAB; it tests whether relation-aware message passing behaves as the paper concludes.
//
// - Labels: bot (26.94% bots) and stance (37.02 / 35.66 / 27.32%), drawn independently with
//   exact class sizes (data/sbm.hpp).
// - Relations: seven degree-corrected SBMs over the same nodes, each with the note's target
//   edge homophily for both label sets and MGTAB's edge count × edge_scale.
// - Features: 20 property columns (log-normal counts as logs, Bernoulli flags; 6 shift with the
//   bot label by 0.3–0.8 std, 2 weakly with stance, the rest noise) and a text block
//   ("embedding-like": a 32-d latent around a stance centroid plus a bot offset, mapped by a
//   fixed random orthonormal projection, isotropic noise added, rows L2-normalised). Every
//   column is then standardised over all nodes (no labels involved).
//
// The two text-block strengths (stance-centroid separation and bot offset) are the knobs that
// calibrate.hpp tunes; every random draw is made once (FeatureDraws) so that a knob only
// rescales fixed draws and the calibration target is a smooth function of it.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ember/core/error.hpp>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/data/graph.hpp>
#include <ember/data/sbm.hpp>
#include <ember/numeric/qr.hpp>
#include <string>
#include <vector>

namespace mgtab {

using ember::Tensor;

// MGTAB's relations (README.md of GraphDetec/MGTAB) and the note's target homophilies, which
// are a documented design choice, not measured MGTAB statistics.
struct RelationSpec {
  const char* name;
  int64_t mgtab_edges;
  double bot_homophily, stance_homophily;
};
inline const std::vector<RelationSpec>& relation_specs() {
  static const std::vector<RelationSpec> specs = {
      {"followers", 308120, 0.55, 0.70}, {"friends", 412575, 0.80, 0.75},
      {"mention", 114516, 0.60, 0.50},   {"reply", 223466, 0.70, 0.55},
      {"quoted", 77631, 0.75, 0.80},     {"URL", 263800, 0.90, 0.40},
      {"hashtag", 300000, 0.60, 0.90}};
  return specs;
}

constexpr int64_t kMgtabNodes = 10199;
constexpr int64_t kPropertyColumns = 20;
constexpr int64_t kLatentDim = 32;
inline const std::vector<double> kBotShares = {0.7306, 0.2694};  // human, bot
inline const std::vector<double> kStanceShares = {0.3702, 0.3566,
                                                  0.2732};  // neutral, against, support
inline const std::vector<std::string>& bot_class_names() {
  static const std::vector<std::string> n = {"human", "bot"};
  return n;
}
inline const std::vector<std::string>& stance_class_names() {
  static const std::vector<std::string> n = {"neutral", "against", "support"};
  return n;
}

// A property column: a count-like value (log-normal; the feature is its log) or a flag
// (Bernoulli), shifted by `bot_shift` standard deviations for bots and by `stance_shift` ×
// (stance − 1) standard deviations with stance (neutral −, against 0, support +).
struct PropertySpec {
  const char* name;
  bool flag;
  double base;    // log-scale mean of a count, or P(flag) of a human
  double spread;  // log-scale std of a count (unused for flags)
  double bot_shift, stance_shift;
};
inline const std::vector<PropertySpec>& property_specs() {
  static const std::vector<PropertySpec> specs = {
      {"log follower count", false, 5.5, 2.0, -0.6, 0.0},
      {"log friend count", false, 5.8, 1.6, 0.3, 0.0},
      {"account age (log days)", false, 7.2, 0.7, -0.8, 0.0},
      {"statuses per day (log)", false, 1.0, 1.2, 0.7, 0.0},
      {"default-profile flag", true, 0.25, 0.0, 0.5, 0.0},
      {"log statuses count", false, 8.0, 1.8, 0.4, 0.0},
      {"log favourites count", false, 7.0, 2.0, 0.0, 0.25},
      {"log listed count", false, 2.0, 1.5, 0.0, -0.25},
      {"verified flag", true, 0.05, 0.0, 0.0, 0.0},
      {"has location flag", true, 0.6, 0.0, 0.0, 0.0},
      {"has URL flag", true, 0.4, 0.0, 0.0, 0.0},
      {"geo-enabled flag", true, 0.3, 0.0, 0.0, 0.0},
      {"protected flag", true, 0.05, 0.0, 0.0, 0.0},
      {"description length (log)", false, 3.5, 0.8, 0.0, 0.0},
      {"screen-name length (log)", false, 2.3, 0.3, 0.0, 0.0},
      {"digits in name (log)", false, 0.5, 0.6, 0.0, 0.0},
      {"log media count", false, 4.0, 1.8, 0.0, 0.0},
      {"creation hour (log)", false, 2.4, 0.4, 0.0, 0.0},
      {"English-language flag", true, 0.7, 0.0, 0.0, 0.0},
      {"profile-image default flag", true, 0.1, 0.0, 0.0, 0.0}};
  return specs;
}

struct Spec {
  int64_t nodes = kMgtabNodes;
  double edge_scale = 0.25;   // of MGTAB's real edge counts
  int64_t text_dim = 128;     // MGTAB: 768
  double degree_sigma = 1.0;  // σ of log θ: heavy-tailed degrees
  double text_noise = 0.5;    // isotropic noise per text column, before the row L2 norm
  uint64_t seed = 0;          // the graph's and the features' draws
};

// The text block's two strengths, set by calibration.
struct Knobs {
  double stance_separation = 1.0;  // norm of each stance centroid in the latent space
  double bot_offset = 0.5;         // shift of a bot's latent along a fixed direction
};

// Every random draw of the feature blocks, made once.
struct FeatureDraws {
  std::vector<double> property;       // [N, 20]: N(0, 1) for counts, U(0, 1) for flags
  std::vector<double> centroid;       // [3, 32] unit stance directions
  std::vector<double> bot_dir;        // [32] unit
  std::vector<double> latent_noise;   // [N, 32] N(0, 1)
  std::vector<double> text_noise;     // [N, text_dim] N(0, 1)
  ember::numeric::Matrix projection;  // [text_dim, 32], orthonormal columns
};

struct Dataset {
  Spec spec;
  ember::data::SbmGraph graph;  // labels[0] = bot, labels[1] = stance; 7 relations
  FeatureDraws draws;
  Tensor<float> features;  // [N, 20 + text_dim], standardised
  Knobs knobs;
  const std::vector<int64_t>& bot() const { return graph.labels[0]; }
  const std::vector<int64_t>& stance() const { return graph.labels[1]; }
  int64_t nodes() const { return spec.nodes; }
  int64_t columns() const { return kPropertyColumns + spec.text_dim; }
};

inline std::vector<double> unit(std::vector<double> v) {
  double s = 0;
  for (double x : v) s += x * x;
  s = std::sqrt(s);
  for (double& x : v) x /= s;
  return v;
}

// Features for the given knobs: properties (fixed) and text, every column standardised.
inline Tensor<float> build_features(const Dataset& d, const Knobs& k) {
  const int64_t n = d.nodes(), t = d.spec.text_dim, cols = d.columns();
  const FeatureDraws& w = d.draws;
  std::vector<double> x(size_t(n * cols));
  const auto& props = property_specs();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t bot = d.bot()[size_t(i)], stance = d.stance()[size_t(i)];
    for (int64_t c = 0; c < kPropertyColumns; ++c) {
      const PropertySpec& p = props[size_t(c)];
      const double shift = p.bot_shift * double(bot) + p.stance_shift * double(stance - 1);
      const double r = w.property[size_t(i * kPropertyColumns + c)];
      double v;
      if (p.flag) {
        const double sd = std::sqrt(p.base * (1 - p.base));
        v = r < std::clamp(p.base + shift * sd, 0.01, 0.99) ? 1.0 : 0.0;
      } else {
        v = p.base + p.spread * (r + shift);  // the log of a log-normal count
      }
      x[size_t(i * cols + c)] = v;
    }
    double latent[kLatentDim];
    for (int64_t a = 0; a < kLatentDim; ++a)
      latent[a] = k.stance_separation * w.centroid[size_t(stance * kLatentDim + a)] +
                  k.bot_offset * double(bot) * w.bot_dir[size_t(a)] +
                  w.latent_noise[size_t(i * kLatentDim + a)];
    double norm = 0;
    double* row = &x[size_t(i * cols + kPropertyColumns)];
    for (int64_t j = 0; j < t; ++j) {
      double v = d.spec.text_noise * w.text_noise[size_t(i * t + j)];
      for (int64_t a = 0; a < kLatentDim; ++a) v += w.projection(j, a) * latent[a];
      row[j] = v;
      norm += v * v;
    }
    norm = std::sqrt(norm);
    for (int64_t j = 0; j < t; ++j) row[j] /= norm;
  }
  std::vector<float> out(x.size());
  for (int64_t c = 0; c < cols; ++c) {
    double mean = 0, sq = 0;
    for (int64_t i = 0; i < n; ++i) mean += x[size_t(i * cols + c)];
    mean /= double(n);
    for (int64_t i = 0; i < n; ++i) sq += std::pow(x[size_t(i * cols + c)] - mean, 2);
    const double sd = std::sqrt(sq / double(n));
    for (int64_t i = 0; i < n; ++i)
      out[size_t(i * cols + c)] = float(sd > 0 ? (x[size_t(i * cols + c)] - mean) / sd : 0.0);
  }
  return Tensor<float>::from_vector(out, {n, cols});
}

// The graph and the fixed feature draws; features built with the default knobs (calibration
// replaces them).
inline Dataset generate(const Spec& s) {
  EMBER_CHECK(s.nodes >= 10, "mgtab: --nodes: expected at least 10, got ", s.nodes);
  EMBER_CHECK(s.edge_scale > 0 && s.text_dim >= kLatentDim, "mgtab: expected edge scale > 0 and a ",
              "text dimension of at least ", kLatentDim, ", got ", s.edge_scale, " and ",
              s.text_dim);
  Dataset d;
  d.spec = s;
  ember::data::SbmOptions o;
  o.num_nodes = s.nodes;
  o.class_shares = {kBotShares, kStanceShares};
  for (const RelationSpec& r : relation_specs()) {
    const double edges = std::max(1.0, std::round(double(r.mgtab_edges) * s.edge_scale));
    o.relations.push_back(
        {r.name, 2.0 * edges / double(s.nodes), {r.bot_homophily, r.stance_homophily}});
  }
  o.degree_sigma = s.degree_sigma;
  o.seed = s.seed;
  d.graph = ember::data::generate_sbm(o);

  ember::Generator gen(s.seed ^ 0x6d677461622d6674ULL);  // the features' own stream
  const int64_t n = s.nodes, t = s.text_dim;
  FeatureDraws& w = d.draws;
  w.property.resize(size_t(n * kPropertyColumns));
  const auto& props = property_specs();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < kPropertyColumns; ++c)
      w.property[size_t(i * kPropertyColumns + c)] =
          props[size_t(c)].flag ? gen.uniform() : gen.normal();
  for (int c = 0; c < 3; ++c) {
    std::vector<double> v(kLatentDim);
    for (double& x : v) x = gen.normal();
    v = unit(v);
    w.centroid.insert(w.centroid.end(), v.begin(), v.end());
  }
  w.bot_dir.resize(kLatentDim);
  for (double& x : w.bot_dir) x = gen.normal();
  w.bot_dir = unit(w.bot_dir);
  w.latent_noise.resize(size_t(n * kLatentDim));
  for (double& x : w.latent_noise) x = gen.normal();
  w.text_noise.resize(size_t(n * t));
  for (double& x : w.text_noise) x = gen.normal();
  ember::numeric::Matrix g(t, kLatentDim);
  for (int64_t j = 0; j < t; ++j)
    for (int64_t a = 0; a < kLatentDim; ++a) g(j, a) = gen.normal();
  w.projection = ember::numeric::qr(g).Q;
  d.features = build_features(d, d.knobs);
  return d;
}

// Measured edge homophily of every relation (and of the two merged graphs the models use)
// against both label sets, beside the targets.
struct HomophilyRow {
  std::string relation;
  int64_t edges;
  double mean_degree, bot_target, bot_measured, stance_target, stance_measured;
};

inline std::vector<HomophilyRow> homophily_table(const Dataset& d) {
  std::vector<HomophilyRow> rows;
  const auto& specs = relation_specs();
  for (size_t r = 0; r < d.graph.relations.size(); ++r) {
    const ember::data::Graph& g = d.graph.relations[r];
    rows.push_back({specs[r].name, g.num_edges(), g.mean_degree(), specs[r].bot_homophily,
                    ember::data::edge_homophily(g, d.bot()), specs[r].stance_homophily,
                    ember::data::edge_homophily(g, d.stance())});
  }
  return rows;
}

}  // namespace mgtab
