// Graph data: the multi-relation degree-corrected SBM (measured homophily and mean degree
// against the targets, class shares, determinism, bad options), bag-of-words features, and
// the graph bookkeeping of data/graph.hpp (edge_index, relations, homophily, components, the
// largest connected component).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ember/data/bag_of_words.hpp>
#include <ember/data/graph.hpp>
#include <ember/data/sbm.hpp>
#include <ember/ember.hpp>
#include <set>
#include <utility>
#include <vector>

using namespace ember;
using namespace ember::data;

namespace {

// MGTAB-shaped: bot and stance label sets, four of the note's relations (bot, stance targets).
SbmOptions mgtab_like(int64_t n, double sigma, uint64_t seed) {
  SbmOptions o;
  o.num_nodes = n;
  o.class_shares = {{0.7306, 0.2694}, {0.3702, 0.3566, 0.2732}};
  o.relations = {{"followers", 6.0, {0.55, 0.70}},
                 {"friends", 20.0, {0.80, 0.75}},
                 {"url", 5.0, {0.90, 0.40}},
                 {"hashtag", 12.0, {0.60, 0.90}}};
  o.degree_sigma = sigma;
  o.seed = seed;
  return o;
}

bool is_simple(const Graph& g) {
  std::set<std::pair<int64_t, int64_t>> seen;
  for (size_t e = 0; e < g.src.size(); ++e) {
    if (g.src[e] == g.dst[e]) return false;
    if (!seen.insert({std::min(g.src[e], g.dst[e]), std::max(g.src[e], g.dst[e])}).second)
      return false;
  }
  return true;
}

}  // namespace

// ----------------------------------------------------------------- SBM

TEST_CASE("generate_sbm: measured homophily, mean degree and class sizes meet the targets") {
  for (double sigma : {0.0, 1.0}) {  // plain and degree-corrected (heavy-tailed degrees)
    const SbmOptions o = mgtab_like(2000, sigma, 17);
    const SbmGraph g = generate_sbm(o);
    REQUIRE(g.relations.size() == 4);
    REQUIRE(g.labels.size() == 2);
    for (size_t r = 0; r < g.relations.size(); ++r) {
      const Graph& rel = g.relations[r];
      CAPTURE(sigma);
      CAPTURE(o.relations[r].name);
      CHECK(g.relation_names[r] == o.relations[r].name);
      CHECK(rel.num_nodes == 2000);
      CHECK_FALSE(rel.directed);
      CHECK(is_simple(rel));
      // Exactly round(d N / 2) edges, so the mean degree is the target to 1 / N.
      CHECK(std::abs(rel.mean_degree() - o.relations[r].mean_degree) <= 1.0 / 2000);
      for (size_t f = 0; f < 2; ++f) {
        const double target = o.relations[r].homophily[f];
        CAPTURE(f);
        CHECK(g.expected_homophily[r][f] == doctest::Approx(target).epsilon(1e-9));
        CHECK(std::abs(edge_homophily(rel, g.labels[f]) - target) <= 0.03);
      }
    }
    // Class sizes: shares × N by largest remainder (740.4, 713.2, 546.4 give 741, 713, 546).
    const std::vector<std::vector<int64_t>> sizes = {{1461, 539}, {741, 713, 546}};
    for (size_t f = 0; f < 2; ++f)
      for (size_t c = 0; c < sizes[f].size(); ++c)
        CHECK(std::count(g.labels[f].begin(), g.labels[f].end(), int64_t(c)) == sizes[f][c]);
    double mean_theta = 0;
    for (double t : g.theta) mean_theta += t / 2000;
    CHECK(mean_theta == doctest::Approx(1.0));
  }
}

TEST_CASE("generate_sbm: degree correction makes degrees heavy-tailed") {
  auto degrees = [](const Graph& g) {
    std::vector<int64_t> d(size_t(g.num_nodes), 0);
    for (size_t e = 0; e < g.src.size(); ++e) ++d[size_t(g.src[e])], ++d[size_t(g.dst[e])];
    return d;
  };
  const auto plain = degrees(generate_sbm(mgtab_like(2000, 0.0, 3)).relations[1]);
  const auto heavy = degrees(generate_sbm(mgtab_like(2000, 1.0, 3)).relations[1]);
  // Mean 20 in both; a plain SBM's degrees are near-Poisson (max about 45: the blocks differ in
  // expected degree), a log-normal θ with σ = 1 has a tail several times the mean.
  CHECK(*std::max_element(plain.begin(), plain.end()) < 60);
  CHECK(*std::max_element(heavy.begin(), heavy.end()) > 100);
}

TEST_CASE("generate_sbm: the CCGC note's graph (one label set, K = 6, degree 4, h = 0.8)") {
  SbmOptions o;
  o.num_nodes = 2000;
  o.class_shares = {{0.30, 0.22, 0.18, 0.12, 0.10, 0.08}};
  o.relations = {{"graph", 4.0, {0.8}}, {"heterophilous", 4.0, {0.1}}};
  o.seed = 1;
  const SbmGraph g = generate_sbm(o);
  CHECK(std::abs(edge_homophily(g.relations[0], g.labels[0]) - 0.8) <= 0.03);
  // A target below the random-edge level (about 0.2 here) needs affinity < 1.
  CHECK(random_edge_homophily(g.labels[0]) == doctest::Approx(0.2016).epsilon(1e-2));
  CHECK(std::abs(edge_homophily(g.relations[1], g.labels[0]) - 0.1) <= 0.03);
  CHECK(g.affinity[0][0] > 1.0);
  CHECK(g.affinity[1][0] < 1.0);
}

TEST_CASE("generate_sbm: a seed fixes the graph") {
  const SbmGraph a = generate_sbm(mgtab_like(500, 1.0, 5));
  const SbmGraph b = generate_sbm(mgtab_like(500, 1.0, 5));
  const SbmGraph c = generate_sbm(mgtab_like(500, 1.0, 6));
  CHECK(a.labels == b.labels);
  CHECK(a.theta == b.theta);
  for (size_t r = 0; r < a.relations.size(); ++r) {
    CHECK(a.relations[r].src == b.relations[r].src);
    CHECK(a.relations[r].dst == b.relations[r].dst);
  }
  CHECK(a.relations[0].src != c.relations[0].src);
  CHECK(a.labels != c.labels);
}

TEST_CASE("generate_sbm: bad options throw ember::Error") {
  SbmOptions o = mgtab_like(100, 0.0, 0);
  o.relations[0].homophily = {0.5, 1.0};
  CHECK_THROWS_WITH_AS(generate_sbm(o), doctest::Contains("followers"), Error);
  o = mgtab_like(100, 0.0, 0);
  o.relations[1].homophily = {0.5};
  CHECK_THROWS_WITH_AS(generate_sbm(o), doctest::Contains("1 homophily targets for 2"), Error);
  o = mgtab_like(100, 0.0, 0);
  o.class_shares[1] = {0.5, 0.6};
  CHECK_THROWS_WITH_AS(generate_sbm(o), doctest::Contains("sum to"), Error);
  o = mgtab_like(100, 0.0, 0);
  o.class_shares[0] = {1.0};
  CHECK_THROWS_WITH_AS(generate_sbm(o), doctest::Contains("at least 2"), Error);
  o = mgtab_like(100, 0.0, 0);
  o.relations[2].mean_degree = 40;  // > (N - 1) / 4
  CHECK_THROWS_WITH_AS(generate_sbm(o), doctest::Contains("mean degree"), Error);
  o = mgtab_like(100, -1.0, 0);
  CHECK_THROWS_AS(generate_sbm(o), Error);
  o = mgtab_like(1, 0.0, 0);
  CHECK_THROWS_AS(generate_sbm(o), Error);
}

// ----------------------------------------------------------------- bag of words

TEST_CASE("bag_of_words: shape, sparsity and class-dependent topics") {
  Generator gen(3);
  const std::vector<int64_t> labels = draw_labels(600, {0.5, 0.3, 0.2}, gen);
  BagOfWordsOptions o;  // the CCGC note's: 500 words, 60 per topic, 20 tokens, 35% topical
  const BagOfWords<float> b = bag_of_words(labels, o, gen);
  REQUIRE(b.features.shape() == Shape{600, 500});
  REQUIRE(b.topics.size() == 3);
  REQUIRE(b.offsets.size() == 601);
  const float* x = b.features.data_ptr();
  for (int64_t i = 0; i < 600; ++i) {
    int64_t nonzero = 0, tokens = 0, other = 0;
    for (int64_t w = 0; w < 500; ++w) {
      nonzero += x[i * 500 + w] == 1.0f;
      other += x[i * 500 + w] != 0.0f && x[i * 500 + w] != 1.0f;
    }
    CHECK(other == 0);  // binary
    for (int64_t q = b.offsets[size_t(i)]; q < b.offsets[size_t(i + 1)]; ++q)
      tokens += b.counts[size_t(q)];
    CHECK(tokens == 20);
    CHECK(nonzero == b.offsets[size_t(i + 1)] - b.offsets[size_t(i)]);
    CHECK(nonzero >= 1);
  }
  // Topics: 60 distinct words each, and different between classes.
  for (const auto& t : b.topics) {
    CHECK(t.size() == 60);
    CHECK(std::set<int64_t>(t.begin(), t.end()).size() == 60);
  }
  CHECK(b.topics[0] != b.topics[1]);
  CHECK(b.topics[1] != b.topics[2]);
  // A class uses its own topic words far more than the other classes' nodes do: about
  // 20 × 0.35 = 7 topical tokens per node plus the background, against the background alone.
  for (size_t c = 0; c < 3; ++c) {
    double own = 0, other = 0;
    int64_t n_own = 0, n_other = 0;
    std::set<int64_t> topic(b.topics[c].begin(), b.topics[c].end());
    for (int64_t i = 0; i < 600; ++i) {
      double hits = 0;
      for (int64_t q = b.offsets[size_t(i)]; q < b.offsets[size_t(i + 1)]; ++q)
        if (topic.count(b.words[size_t(q)])) hits += double(b.counts[size_t(q)]);
      if (labels[size_t(i)] == int64_t(c))
        own += hits, ++n_own;
      else
        other += hits, ++n_other;
    }
    CAPTURE(c);
    CHECK(own / double(n_own) > 6.0);
    CHECK(other / double(n_other) < 4.0);
  }
}

TEST_CASE("bag_of_words: tf-idf with L2 rows, determinism, bad options") {
  Generator g1(9), g2(9);
  const std::vector<int64_t> labels = {0, 1, 0, 1, 2, 2, 0};
  BagOfWordsOptions o;
  o.vocabulary = 50;
  o.topic_words = 5;
  o.words_per_node = 30;
  o.weighting = WordWeighting::TfIdf;
  o.row_norm = RowNorm::L2;
  const auto a = bag_of_words<double>(labels, o, g1);
  const auto b = bag_of_words<double>(labels, o, g2);
  CHECK(a.features.to_vector() == b.features.to_vector());
  CHECK(a.topics == b.topics);
  const double* x = a.features.data_ptr();
  // idf by hand for one entry: counts × (ln((1 + N) / (1 + df)) + 1), then the row's L2 norm.
  std::vector<int64_t> df(50, 0);
  for (int64_t w : a.words) ++df[size_t(w)];
  double norm = 0;
  for (int64_t q = a.offsets[0]; q < a.offsets[1]; ++q) {
    const double v = double(a.counts[size_t(q)]) *
                     (std::log(8.0 / (1.0 + double(df[size_t(a.words[size_t(q)])]))) + 1);
    norm += v * v;
  }
  const int64_t w0 = a.words[size_t(a.offsets[0])];
  const double v0 =
      double(a.counts[size_t(a.offsets[0])]) * (std::log(8.0 / (1.0 + double(df[size_t(w0)]))) + 1);
  CHECK(x[w0] == doctest::Approx(v0 / std::sqrt(norm)).epsilon(1e-12));
  for (int64_t i = 0; i < 7; ++i) {
    double s = 0;
    for (int64_t w = 0; w < 50; ++w) s += x[i * 50 + w] * x[i * 50 + w];
    CHECK(s == doctest::Approx(1.0).epsilon(1e-12));
  }
  o.row_norm = RowNorm::L1;
  o.weighting = WordWeighting::Counts;
  const auto c = bag_of_words<double>(labels, o, g1);
  for (int64_t i = 0; i < 7; ++i) {
    double s = 0;
    for (int64_t w = 0; w < 50; ++w) s += c.features.data_ptr()[i * 50 + w];
    CHECK(s == doctest::Approx(1.0).epsilon(1e-12));
  }
  o.topic_words = 51;
  CHECK_THROWS_WITH_AS(bag_of_words(labels, o, g1), doctest::Contains("topic_words"), Error);
  o.topic_words = 5;
  CHECK_THROWS_WITH_AS(bag_of_words(std::vector<int64_t>{0, -1}, o, g1),
                       doctest::Contains("labels span"), Error);
  CHECK_THROWS_AS(bag_of_words(std::vector<int64_t>{}, o, g1), Error);
}

// ----------------------------------------------------------------- graph bookkeeping

namespace {

// Components {0, 1, 2} (a path), {3, 4}, {5} (isolated), {6, 7, 8, 9} (a cycle plus a chord
// and a repeated edge).
Graph hand_built() {
  Graph g;
  g.num_nodes = 10;
  const std::vector<std::pair<int64_t, int64_t>> e = {{0, 1}, {2, 1}, {3, 4}, {6, 7}, {7, 8},
                                                      {8, 9}, {9, 6}, {6, 8}, {7, 6}};
  for (const auto& [a, b] : e) {
    g.src.push_back(a);
    g.dst.push_back(b);
  }
  return g;
}

}  // namespace

TEST_CASE("largest_connected_component on a hand-built graph") {
  const Graph g = hand_built();
  const Components c = connected_components(g);
  CHECK(c.count == 4);
  CHECK(c.component == std::vector<int64_t>{0, 0, 0, 1, 1, 2, 3, 3, 3, 3});
  const Subgraph s = largest_connected_component(g);
  CHECK(s.nodes == std::vector<int64_t>{6, 7, 8, 9});
  CHECK(s.new_index == std::vector<int64_t>{-1, -1, -1, -1, -1, -1, 0, 1, 2, 3});
  CHECK(s.graph.num_nodes == 4);
  CHECK(s.graph.src == std::vector<int64_t>{0, 1, 2, 3, 0, 1});
  CHECK(s.graph.dst == std::vector<int64_t>{1, 2, 3, 0, 2, 0});
  const std::vector<int64_t> labels = {5, 5, 5, 5, 5, 5, 1, 2, 3, 4};
  CHECK(restrict_to(labels, s) == std::vector<int64_t>{1, 2, 3, 4});
  // A tie in size goes to the component with the smallest node.
  Graph tie;
  tie.num_nodes = 5;
  tie.src = {3, 0};
  tie.dst = {4, 1};
  CHECK(largest_connected_component(tie).nodes == std::vector<int64_t>{0, 1});
  CHECK(largest_connected_component(Graph{}).nodes.empty());
  // On the SBM, the LCC is connected and holds most nodes at mean degree 4.
  SbmOptions o;
  o.num_nodes = 1000;
  o.class_shares = {{0.5, 0.5}};
  o.relations = {{"r", 4.0, {0.8}}};
  const SbmGraph sbm = generate_sbm(o);
  const Subgraph lcc = largest_connected_component(sbm.relations[0]);
  CHECK(connected_components(lcc.graph).count == 1);
  CHECK(lcc.nodes.size() > 900);
  CHECK(lcc.nodes.size() < 1000);  // a few isolated nodes are expected at degree 4
  CHECK_THROWS_WITH_AS(induced_subgraph(g, {1, 1}), doctest::Contains("twice"), Error);
}

TEST_CASE("edge_index, relational_edges, merge_relations and homophily") {
  const Graph g = hand_built();
  const Tensor<int64_t> ei = to_edge_index(g);
  REQUIRE(ei.shape() == Shape{2, 18});
  CHECK(ei.at({0, 0}) == 0);
  CHECK(ei.at({1, 0}) == 1);
  CHECK(ei.at({0, 9}) == 1);  // the reverse of edge 0
  CHECK(ei.at({1, 9}) == 0);
  CHECK(to_edge_index(g, false).shape() == Shape{2, 9});
  Graph a, b;
  a.num_nodes = b.num_nodes = 4;
  a.src = {0, 1};
  a.dst = {1, 2};
  b.src = {2, 3};
  b.dst = {1, 0};
  const RelationalEdges re = relational_edges({a, b}, {1, 0});
  CHECK(re.edge_index.shape() == Shape{2, 8});
  CHECK(re.edge_type.to_vector() == std::vector<int64_t>{0, 0, 0, 0, 1, 1, 1, 1});
  CHECK(re.edge_index.at({0, 0}) == 2);  // relation 1 first, as selected
  const Graph m = merge_relations({a, b}, {0, 1});
  CHECK(m.num_edges() == 3);  // {1, 2} appears in both
  CHECK(m.src == std::vector<int64_t>{0, 0, 1});
  CHECK(m.dst == std::vector<int64_t>{1, 3, 2});
  CHECK_THROWS_AS(relational_edges({a, b}, {2}), Error);
  // Homophily by hand: labels {0, 0, 1, 1}; of m's edges {0,1} {0,3} {1,2} only {0,1} joins equal
  // labels.
  CHECK(edge_homophily(m, {0, 0, 1, 1}) == doctest::Approx(1.0 / 3));
  CHECK(random_edge_homophily({0, 0, 1, 1}) == doctest::Approx(4.0 / 12));
  CHECK_THROWS_WITH_AS(edge_homophily(m, {0, 1}), doctest::Contains("2 labels"), Error);
  Graph bad = g;
  bad.dst[0] = 10;
  CHECK_THROWS_WITH_AS(to_edge_index(bad), doctest::Contains("outside"), Error);
}
