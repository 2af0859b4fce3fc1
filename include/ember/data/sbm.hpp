// A degree-corrected stochastic block model with several relations over one node set, each
// relation with its own mean degree and its own target edge homophily for every label set.
//
// Nodes carry one or more label sets ("facets": a single class for a clustering benchmark;
// bot and stance, drawn independently, for an MGTAB-shaped graph) and a degree factor θ
// (log-normal with mean 1, heavy-tailed for sigma > 0; all ones for the plain SBM). In
// relation r an unordered pair {u, v}, u != v, is an edge with probability proportional to
//     θ_u θ_v · Π_f (ρ_{r,f} if label_f(u) = label_f(v) else 1),
// the product form of the MGTAB note's θ_u θ_v B_r[bot_u, bot_v] S_r[st_u, st_v]. The
// affinities ρ_{r,f} are solved (bisection on log ρ, one facet at a time, repeated until all
// agree) so that the *expected* fraction of edges joining same-label nodes equals the target
// exactly for the labels and θ actually drawn, not only in the large-N limit.
//
// Sampling is multinomial with rejection: the relation gets exactly round(mean_degree · N / 2)
// distinct edges, each drawn as a block pair (u's and v's joint label) from the pair masses,
// then u and v within their blocks in proportion to θ (an alias-free cumulative table and a
// binary search); self loops and repeats are redrawn. Redrawing repeats bends the homophily
// slightly toward the rarer pairs when a relation is dense among high-θ nodes; measure it with
// edge_homophily (data/graph.hpp), which is what the examples print beside the target.
//
// Everything is drawn from one Generator seeded by SbmOptions::seed, in a fixed order, so a
// seed gives the same graph on every platform.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ember/core/error.hpp>
#include <ember/core/random.hpp>
#include <ember/data/graph.hpp>
#include <string>
#include <unordered_set>
#include <vector>

namespace ember::data {

struct SbmRelation {
  std::string name;
  double mean_degree = 4.0;       // 2E / N of the generated (undirected) relation
  std::vector<double> homophily;  // target edge homophily per label set, each in (0, 1)
};

struct SbmOptions {
  int64_t num_nodes = 0;
  // Per label set, the class shares (positive, summing to 1); class sizes are the shares × N
  // rounded by largest remainder, so they sum to N and each is within 1 of shares × N.
  std::vector<std::vector<double>> class_shares;
  std::vector<SbmRelation> relations;
  double degree_sigma = 0.0;  // σ of log θ; 0 is the plain (not degree-corrected) SBM
  uint64_t seed = 0;
};

struct SbmGraph {
  std::vector<std::vector<int64_t>> labels;  // per label set, [N]
  std::vector<double> theta;                 // degree factor of each node, mean 1
  std::vector<Graph> relations;              // undirected, simple; in SbmOptions order
  std::vector<std::string> relation_names;
  // The solved same-label affinity ρ of every relation and label set, and the edge homophily
  // that affinity gives in expectation (the target, to the bisection's precision).
  std::vector<std::vector<double>> affinity, expected_homophily;
};

namespace sbm_detail {

// Class sizes from shares by largest remainder (ties to the lower class id).
inline std::vector<int64_t> class_sizes(int64_t n, const std::vector<double>& shares) {
  std::vector<int64_t> size(shares.size());
  std::vector<std::pair<double, size_t>> remainder;
  int64_t used = 0;
  for (size_t c = 0; c < shares.size(); ++c) {
    const double exact = shares[c] * double(n);
    size[c] = int64_t(std::floor(exact));
    used += size[c];
    remainder.emplace_back(exact - double(size[c]), c);
  }
  std::stable_sort(remainder.begin(), remainder.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (int64_t i = 0; i < n - used; ++i) ++size[remainder[size_t(i)].second];
  return size;
}

// The pair masses of the joint blocks: mass[a][b] = Σ θ_u θ_v over ordered pairs u != v with
// u in block a, v in block b (the diagonal subtracts Σ θ_u² of the block).
struct Blocks {
  int64_t count = 0;
  std::vector<std::vector<int64_t>> facet_label;  // [block][facet]
  std::vector<double> pair_mass;                  // count × count
};

// Expected homophily per facet of a relation with affinities rho.
inline std::vector<double> expected_homophily(const Blocks& b, const std::vector<double>& rho) {
  const size_t facets = rho.size();
  std::vector<double> same(facets, 0.0);
  double total = 0.0;
  for (int64_t a = 0; a < b.count; ++a)
    for (int64_t c = 0; c < b.count; ++c) {
      double w = b.pair_mass[size_t(a * b.count + c)];
      if (w == 0.0) continue;
      for (size_t f = 0; f < facets; ++f)
        if (b.facet_label[size_t(a)][f] == b.facet_label[size_t(c)][f]) w *= rho[f];
      total += w;
      for (size_t f = 0; f < facets; ++f)
        if (b.facet_label[size_t(a)][f] == b.facet_label[size_t(c)][f]) same[f] += w;
    }
  for (double& s : same) s /= total;
  return same;
}

// Affinities hitting the targets: the homophily of facet f rises monotonically with ρ_f, so
// bisect log ρ_f with the others fixed, and sweep until every facet is within 1e-12.
inline std::vector<double> solve_affinity(const Blocks& b, const std::vector<double>& target,
                                          const std::string& relation) {
  std::vector<double> rho(target.size(), 1.0);
  for (int sweep = 0; sweep < 200; ++sweep) {
    for (size_t f = 0; f < target.size(); ++f) {
      double lo = -40.0, hi = 40.0;
      for (int step = 0; step < 200 && hi - lo > 1e-14; ++step) {
        const double mid = 0.5 * (lo + hi);
        rho[f] = std::exp(mid);
        (expected_homophily(b, rho)[f] < target[f] ? lo : hi) = mid;
      }
      rho[f] = std::exp(0.5 * (lo + hi));
    }
    const std::vector<double> h = expected_homophily(b, rho);
    double worst = 0.0;
    for (size_t f = 0; f < target.size(); ++f) worst = std::max(worst, std::abs(h[f] - target[f]));
    if (worst < 1e-12) return rho;
  }
  const std::vector<double> h = expected_homophily(b, rho);
  for (size_t f = 0; f < target.size(); ++f)
    EMBER_CHECK(std::abs(h[f] - target[f]) < 1e-6, "generate_sbm: relation '", relation,
                "': the homophily target ", target[f], " of label set ", f,
                " cannot be met together with the others (reached ", h[f], ")");
  return rho;
}

}  // namespace sbm_detail

// Labels with exact class sizes (largest remainder of shares × n), in random order.
inline std::vector<int64_t> draw_labels(int64_t n, const std::vector<double>& shares,
                                        Generator& gen) {
  std::vector<int64_t> labels;
  const std::vector<int64_t> size = sbm_detail::class_sizes(n, shares);
  for (size_t c = 0; c < size.size(); ++c) labels.insert(labels.end(), size_t(size[c]), int64_t(c));
  for (int64_t i = n - 1; i > 0; --i)
    std::swap(labels[size_t(i)], labels[size_t(gen.randint(0, i + 1))]);
  return labels;
}

// Log-normal degree factors exp(σ z) rescaled to mean 1 (all ones for σ = 0).
inline std::vector<double> draw_degree_factors(int64_t n, double sigma, Generator& gen) {
  std::vector<double> theta(size_t(n), 1.0);
  if (sigma == 0.0 || n == 0) return theta;
  double total = 0.0;
  for (double& t : theta) total += (t = std::exp(sigma * gen.normal()));
  for (double& t : theta) t *= double(n) / total;
  return theta;
}

inline SbmGraph generate_sbm(const SbmOptions& o) {
  const int64_t n = o.num_nodes;
  EMBER_CHECK(n >= 2, "generate_sbm: needs at least 2 nodes, got ", n);
  EMBER_CHECK(!o.class_shares.empty(), "generate_sbm: no label set (class_shares is empty)");
  EMBER_CHECK(!o.relations.empty(), "generate_sbm: no relation");
  EMBER_CHECK(o.degree_sigma >= 0.0 && std::isfinite(o.degree_sigma),
              "generate_sbm: degree_sigma must be finite and >= 0, got ", o.degree_sigma);
  const size_t facets = o.class_shares.size();
  for (size_t f = 0; f < facets; ++f) {
    const auto& s = o.class_shares[f];
    EMBER_CHECK(s.size() >= 2, "generate_sbm: label set ", f, " has ", s.size(),
                " classes; homophily needs at least 2");
    double total = 0.0;
    for (double x : s) {
      EMBER_CHECK(x > 0.0 && std::isfinite(x), "generate_sbm: label set ", f, " has a class share ",
                  x, "; expected positive shares");
      total += x;
    }
    EMBER_CHECK(std::abs(total - 1.0) < 1e-6, "generate_sbm: the class shares of label set ", f,
                " sum to ", total, ", expected 1");
  }
  const double pairs = double(n) * double(n - 1) / 2.0;
  for (const SbmRelation& r : o.relations) {
    EMBER_CHECK(r.homophily.size() == facets, "generate_sbm: relation '", r.name, "' has ",
                r.homophily.size(), " homophily targets for ", facets, " label sets");
    for (double h : r.homophily)
      EMBER_CHECK(h > 0.0 && h < 1.0, "generate_sbm: relation '", r.name,
                  "' has a homophily target ", h, "; expected a value in (0, 1)");
    EMBER_CHECK(r.mean_degree >= 0.0 && r.mean_degree * double(n) / 2.0 <= pairs / 4.0,
                "generate_sbm: relation '", r.name, "' asks for mean degree ", r.mean_degree,
                " on ", n,
                " nodes; expected 0 <= mean degree <= (N - 1) / 4 (the sampler "
                "redraws repeated pairs, which needs a sparse graph)");
  }

  Generator gen(o.seed);
  SbmGraph out;
  for (size_t f = 0; f < facets; ++f) out.labels.push_back(draw_labels(n, o.class_shares[f], gen));
  out.theta = draw_degree_factors(n, o.degree_sigma, gen);

  // Joint blocks: one per combination of labels that occurs.
  std::vector<int64_t> block_of(static_cast<size_t>(n));
  sbm_detail::Blocks b;
  {
    std::vector<int64_t> radix(facets, 1);
    for (size_t f = 1; f < facets; ++f)
      radix[f] = radix[f - 1] * int64_t(o.class_shares[f - 1].size());
    const int64_t combos = radix.back() * int64_t(o.class_shares.back().size());
    std::vector<int64_t> id_of_combo(size_t(combos), -1);
    for (int64_t v = 0; v < n; ++v) {
      int64_t combo = 0;
      for (size_t f = 0; f < facets; ++f) combo += out.labels[f][size_t(v)] * radix[f];
      if (id_of_combo[size_t(combo)] < 0) {
        id_of_combo[size_t(combo)] = b.count++;
        std::vector<int64_t> fl;
        for (size_t f = 0; f < facets; ++f) fl.push_back(out.labels[f][size_t(v)]);
        b.facet_label.push_back(fl);
      }
      block_of[size_t(v)] = id_of_combo[size_t(combo)];
    }
  }
  std::vector<std::vector<int64_t>> members(size_t(b.count));
  std::vector<std::vector<double>> cumulative(size_t(b.count));  // of θ within each block
  std::vector<double> mass(size_t(b.count), 0.0), square(size_t(b.count), 0.0);
  for (int64_t v = 0; v < n; ++v) {
    const size_t a = size_t(block_of[size_t(v)]);
    members[a].push_back(v);
    mass[a] += out.theta[size_t(v)];
    square[a] += out.theta[size_t(v)] * out.theta[size_t(v)];
    cumulative[a].push_back(mass[a]);
  }
  b.pair_mass.assign(size_t(b.count * b.count), 0.0);
  for (int64_t a = 0; a < b.count; ++a)
    for (int64_t c = 0; c < b.count; ++c)
      b.pair_mass[size_t(a * b.count + c)] =
          a == c ? std::max(0.0, mass[size_t(a)] * mass[size_t(a)] - square[size_t(a)])
                 : mass[size_t(a)] * mass[size_t(c)];
  auto draw_in = [&](int64_t a) {
    const std::vector<double>& c = cumulative[size_t(a)];
    const double t = gen.uniform() * c.back();
    const size_t i = size_t(std::upper_bound(c.begin(), c.end(), t) - c.begin());
    return members[size_t(a)][std::min(i, c.size() - 1)];
  };

  for (const SbmRelation& r : o.relations) {
    const std::vector<double> rho = sbm_detail::solve_affinity(b, r.homophily, r.name);
    out.affinity.push_back(rho);
    out.expected_homophily.push_back(sbm_detail::expected_homophily(b, rho));
    std::vector<double> pair_cumulative(b.pair_mass.size());
    double total = 0.0;
    for (int64_t a = 0; a < b.count; ++a)
      for (int64_t c = 0; c < b.count; ++c) {
        double w = b.pair_mass[size_t(a * b.count + c)];
        for (size_t f = 0; f < facets; ++f)
          if (b.facet_label[size_t(a)][f] == b.facet_label[size_t(c)][f]) w *= rho[f];
        pair_cumulative[size_t(a * b.count + c)] = (total += w);
      }
    const int64_t edges = int64_t(std::llround(r.mean_degree * double(n) / 2.0));
    Graph g;
    g.num_nodes = n;
    g.src.reserve(size_t(edges));
    g.dst.reserve(size_t(edges));
    std::unordered_set<uint64_t> seen;
    seen.reserve(size_t(edges) * 2);
    const int64_t max_draws = 1000 * edges + 1000;
    int64_t draws = 0;
    while (g.num_edges() < edges) {
      EMBER_CHECK(++draws <= max_draws, "generate_sbm: relation '", r.name, "': only ",
                  g.num_edges(), " distinct edges of ", edges, " after ", max_draws,
                  " draws; the relation is too dense for its degree factors");
      const double t = gen.uniform() * total;
      const int64_t pair = std::min<int64_t>(
          int64_t(std::upper_bound(pair_cumulative.begin(), pair_cumulative.end(), t) -
                  pair_cumulative.begin()),
          int64_t(pair_cumulative.size()) - 1);
      const int64_t u = draw_in(pair / b.count), v = draw_in(pair % b.count);
      if (u == v) continue;
      const uint64_t key = uint64_t(std::min(u, v)) * uint64_t(n) + uint64_t(std::max(u, v));
      if (!seen.insert(key).second) continue;
      g.src.push_back(u);
      g.dst.push_back(v);
    }
    out.relations.push_back(std::move(g));
    out.relation_names.push_back(r.name);
  }
  return out;
}

}  // namespace ember::data
