// ember::cluster: k-means (recovery of separated blobs, a hand-computed case, k-means++
// determinism, restarts, Lloyd's monotone inertia, bad input) and spectral clustering (the
// eigenpairs against a dense eigh, a planted two-block graph, a ring of cliques).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ember/cluster.hpp>
#include <ember/ember.hpp>
#include <ember/metrics/clustering.hpp>
#include <ember/numeric/eigh.hpp>
#include <limits>
#include <vector>

using namespace ember;
using ember::cluster::KMeansOptions;

namespace {

// `per` points around each of `centres` (rows of a [k, d] table) with N(0, sigma²) noise;
// returns the points and their true blob.
template <class T>
std::pair<Tensor<T>, std::vector<int64_t>> blobs(const std::vector<std::vector<double>>& centres,
                                                 int64_t per, double sigma, uint64_t seed) {
  Generator gen(seed);
  const int64_t k = int64_t(centres.size()), d = int64_t(centres[0].size());
  std::vector<T> v;
  std::vector<int64_t> y;
  for (int64_t i = 0; i < per; ++i)  // interleaved, so the blob of a point is not its position
    for (int64_t c = 0; c < k; ++c) {
      for (int64_t j = 0; j < d; ++j)
        v.push_back(T(centres[size_t(c)][size_t(j)] + sigma * gen.normal()));
      y.push_back(c);
    }
  return {Tensor<T>::from_vector(v, {k * per, d}), y};
}

const std::vector<std::vector<double>> kFourCentres = {
    {0, 0, 0, 0, 0}, {12, 0, 0, 0, 0}, {0, 12, 0, 0, 0}, {0, 0, 12, 12, 0}};

// A graph of `cliques` complete graphs of `size` nodes, clique c holding c*size ...; clique c
// is joined to clique c+1 (mod cliques) by one edge.
data::Graph ring_of_cliques(int64_t cliques, int64_t size) {
  data::Graph g;
  g.num_nodes = cliques * size;
  for (int64_t c = 0; c < cliques; ++c) {
    for (int64_t a = 0; a < size; ++a)
      for (int64_t b = a + 1; b < size; ++b) {
        g.src.push_back(c * size + a);
        g.dst.push_back(c * size + b);
      }
    g.src.push_back(c * size + size - 1);
    g.dst.push_back(((c + 1) % cliques) * size);
  }
  return g;
}

// Two planted blocks of `half` nodes each: an edge inside a block with probability p_in,
// across with p_out (independent Bernoulli draws). Node i is in block i % 2.
data::Graph two_blocks(int64_t half, double p_in, double p_out, uint64_t seed) {
  Generator gen(seed);
  data::Graph g;
  g.num_nodes = 2 * half;
  for (int64_t a = 0; a < g.num_nodes; ++a)
    for (int64_t b = a + 1; b < g.num_nodes; ++b)
      if (gen.uniform() < ((a % 2) == (b % 2) ? p_in : p_out)) {
        g.src.push_back(a);
        g.dst.push_back(b);
      }
  return g;
}

}  // namespace

// ----------------------------------------------------------------- k-means

TEST_CASE_TEMPLATE("kmeans: recovers four separated Gaussian blobs exactly", T, float, double) {
  auto [x, y] = blobs<T>(kFourCentres, 50, 1.0, 7);
  const auto r = cluster::kmeans(x, 4, KMeansOptions{.restarts = 5, .seed = 3});
  const std::vector<int64_t> labels = r.host_labels();
  CHECK(metrics::normalized_mutual_info(y, labels) == doctest::Approx(1.0).epsilon(1e-12));
  CHECK(metrics::adjusted_rand_index(y, labels) == doctest::Approx(1.0).epsilon(1e-12));
  CHECK(metrics::clustering_accuracy(y, labels) == 1.0);
  CHECK(r.converged);
  REQUIRE(r.centres.shape() == Shape{4, 5});
  // At convergence each centre is the mean of its points (the labels stop changing, so the
  // last update moved nothing).
  const std::vector<T> c = r.centres.to_vector(), xv = x.to_vector();
  for (int64_t j = 0; j < 4; ++j) {
    std::vector<double> m(5, 0.0);
    int64_t count = 0;
    for (int64_t i = 0; i < x.size(0); ++i)
      if (labels[size_t(i)] == j) {
        ++count;
        for (int64_t f = 0; f < 5; ++f) m[size_t(f)] += double(xv[size_t(i * 5 + f)]);
      }
    REQUIRE(count == 50);
    for (int64_t f = 0; f < 5; ++f)
      CHECK(double(c[size_t(j * 5 + f)]) == doctest::Approx(m[size_t(f)] / 50).epsilon(1e-5));
  }
  const std::vector<T> dist = r.distances.to_vector();
  double total = 0;
  for (T v : dist) total += double(v);
  CHECK(r.inertia == doctest::Approx(total).epsilon(1e-5));
  // Every label is the argmin for the returned centres (the final assignment step).
  CHECK(cluster::kmeans_assign(x, r.centres).host_labels() == labels);
}

TEST_CASE("kmeans: a hand-computed one-dimensional case") {
  const auto x = Tensor<double>::from_vector({0, 1, 10, 11, 0.5}, {5, 1});
  const auto r = cluster::kmeans(x, 2, KMeansOptions{.restarts = 3, .tol = 0});
  const std::vector<int64_t> l = r.host_labels();
  CHECK(l[0] == l[1]);
  CHECK(l[0] == l[4]);
  CHECK(l[2] == l[3]);
  CHECK(l[0] != l[2]);
  // Centres 0.5 and 10.5: inertia 0.25 + 0.25 + 0.25 + 0.25 + 0.
  CHECK(r.inertia == doctest::Approx(1.0).epsilon(1e-12));
  std::vector<double> c = r.centres.to_vector();
  std::sort(c.begin(), c.end());
  CHECK(c[0] == doctest::Approx(0.5).epsilon(1e-12));
  CHECK(c[1] == doctest::Approx(10.5).epsilon(1e-12));
}

TEST_CASE("kmeans: k-means++ starts are a function of the seed") {
  auto [x, y] = blobs<float>(kFourCentres, 30, 2.0, 11);
  Generator a(42), b(42), c(43);
  const auto ca = cluster::kmeans_plusplus(x, 4, a).to_vector();
  const auto cb = cluster::kmeans_plusplus(x, 4, b).to_vector();
  const auto cc = cluster::kmeans_plusplus(x, 4, c).to_vector();
  CHECK(ca == cb);
  CHECK(ca != cc);
  // Every start is a data point, and the four are distinct.
  const std::vector<float> xv = x.to_vector();
  for (int64_t j = 0; j < 4; ++j) {
    bool found = false;
    for (int64_t i = 0; i < x.size(0) && !found; ++i)
      found = std::equal(xv.begin() + i * 5, xv.begin() + i * 5 + 5, ca.begin() + j * 5);
    CHECK(found);
  }
  // Greedy k-means++ on well-separated blobs puts one start in each blob.
  std::vector<int64_t> blob_of_start;
  for (int64_t j = 0; j < 4; ++j) {
    int64_t best = -1;
    double bd = 1e30;
    for (size_t t = 0; t < kFourCentres.size(); ++t) {
      double d2 = 0;
      for (int64_t f = 0; f < 5; ++f)
        d2 += std::pow(ca[size_t(j * 5 + f)] - kFourCentres[t][size_t(f)], 2);
      if (d2 < bd) bd = d2, best = int64_t(t);
    }
    blob_of_start.push_back(best);
  }
  std::sort(blob_of_start.begin(), blob_of_start.end());
  CHECK(blob_of_start == std::vector<int64_t>{0, 1, 2, 3});
  // And the whole k-means run repeats bit for bit.
  const auto r1 = cluster::kmeans(x, 4, KMeansOptions{.restarts = 3, .seed = 9});
  const auto r2 = cluster::kmeans(x, 4, KMeansOptions{.restarts = 3, .seed = 9});
  CHECK(r1.host_labels() == r2.host_labels());
  CHECK(r1.centres.to_vector() == r2.centres.to_vector());
  CHECK(r1.inertia == r2.inertia);
}

TEST_CASE("kmeans: restarts keep the lowest inertia; Lloyd's inertia never rises") {
  // Uniform points in a square and k = 9: no clear structure, so restarts land in different
  // local minima.
  Generator gen(5);
  const auto x = Tensor<double>::rand({400, 2}, gen);
  const auto one = cluster::kmeans(x, 9, KMeansOptions{.restarts = 1, .seed = 1});
  const auto ten = cluster::kmeans(x, 9, KMeansOptions{.restarts = 10, .seed = 1});
  REQUIRE(ten.restart_inertia.size() == 10);
  CHECK(ten.restart_inertia[0] == one.inertia);  // restart r's stream does not depend on the count
  CHECK(ten.inertia == *std::min_element(ten.restart_inertia.begin(), ten.restart_inertia.end()));
  CHECK(ten.inertia <= one.inertia);
  CHECK(ten.restart_inertia[size_t(ten.restart)] == ten.inertia);
  // Restarts found at least two different local minima here (else the test shows nothing).
  const auto [lo, hi] = std::minmax_element(ten.restart_inertia.begin(), ten.restart_inertia.end());
  CHECK(*hi > *lo * (1 + 1e-9));
  // The kept run's inertia after each assignment step is non-increasing.
  REQUIRE(ten.history.size() == size_t(ten.iterations + 1));
  CHECK(ten.history.size() >= 3);
  for (size_t i = 1; i < ten.history.size(); ++i)
    CHECK(ten.history[i] <= ten.history[i - 1] * (1 + 1e-12));
  CHECK(ten.history.back() == ten.inertia);
}

TEST_CASE("kmeans: iterations stop at max_iterations without convergence") {
  Generator gen(8);
  const auto x = Tensor<float>::rand({300, 3}, gen);
  const auto r =
      cluster::kmeans(x, 12, KMeansOptions{.restarts = 1, .max_iterations = 2, .tol = 0});
  CHECK(r.iterations == 2);
  CHECK_FALSE(r.converged);
  CHECK(r.history.size() == 3);
}

TEST_CASE("kmeans: duplicate points and an input that requires grad") {
  // Two distinct points, k = 3: one cluster must stay (or become) a copy of a point; nothing
  // crashes and every point sits on a centre.
  const auto dup = Tensor<double>::from_vector({1, 1, 1, 1, 5, 5, 5, 5}, {4, 2});
  const auto r = cluster::kmeans(dup, 3, KMeansOptions{.restarts = 2});
  CHECK(r.inertia == 0.0);
  for (int64_t l : r.host_labels()) CHECK((l >= 0 && l < 3));
  auto [x, y] = blobs<double>(kFourCentres, 10, 1.0, 2);
  x.requires_grad_();
  const auto g = cluster::kmeans(x, 4, KMeansOptions{.restarts = 2});
  CHECK_FALSE(g.centres.requires_grad());
  CHECK(metrics::adjusted_rand_index(y, g.host_labels()) == doctest::Approx(1.0));
}

TEST_CASE("kmeans: bad input throws ember::Error") {
  const auto x = Tensor<float>::zeros({5, 2});
  CHECK_THROWS_WITH_AS(cluster::kmeans(x, 6), doctest::Contains("k = 6 clusters requested for 5"),
                       Error);
  CHECK_THROWS_AS(cluster::kmeans(x, 0), Error);
  CHECK_THROWS_WITH_AS(cluster::kmeans(Tensor<float>::zeros({0, 3}), 1),
                       doctest::Contains("is empty"), Error);
  CHECK_THROWS_WITH_AS(cluster::kmeans(Tensor<float>::zeros({3, 0}), 1),
                       doctest::Contains("is empty"), Error);
  CHECK_THROWS_WITH_AS(cluster::kmeans(Tensor<float>::zeros({6}), 2), doctest::Contains("2-D"),
                       Error);
  CHECK_THROWS_WITH_AS(cluster::kmeans(Tensor<float>::zeros({2, 3, 4}), 2),
                       doctest::Contains("[2, 3, 4]"), Error);
  CHECK_THROWS_WITH_AS(cluster::kmeans(Tensor<float>(), 2), doctest::Contains("undefined"), Error);
  auto nan = Tensor<double>::zeros({4, 2});
  nan.data_ptr()[3] = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH_AS(cluster::kmeans(nan, 2), doctest::Contains("NaN"), Error);
  CHECK_THROWS_AS(cluster::kmeans(x, 2, KMeansOptions{.restarts = 0}), Error);
  CHECK_THROWS_AS(cluster::kmeans(x, 2, KMeansOptions{.tol = -1}), Error);
  CHECK_THROWS_WITH_AS(cluster::kmeans_assign(x, Tensor<float>::zeros({2, 3})),
                       doctest::Contains("number of features"), Error);
  Generator gen(0);
  CHECK_THROWS_AS(cluster::kmeans_plusplus(x, 7, gen), Error);
}

// ----------------------------------------------------------------- spectral

TEST_CASE("spectral_embedding: the top eigenpairs agree with a dense eigh") {
  for (bool loops : {false, true}) {
    const data::Graph g = two_blocks(30, 0.3, 0.05, 4);
    const int64_t n = g.num_nodes;
    // Dense S (or Â) by hand.
    numeric::Matrix a(n, n);
    for (size_t e = 0; e < g.src.size(); ++e) a(g.src[e], g.dst[e]) = a(g.dst[e], g.src[e]) = 1;
    if (loops)
      for (int64_t i = 0; i < n; ++i) a(i, i) = 1;
    std::vector<double> deg(size_t(n), 0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) deg[size_t(i)] += a(i, j);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j)
        if (a(i, j) != 0) a(i, j) /= std::sqrt(deg[size_t(i)] * deg[size_t(j)]);
    const numeric::Eigh dense = numeric::eigh(a);
    const auto sp = cluster::spectral_embedding(g, 3, {.self_loops = loops, .tol = 1e-10});
    REQUIRE(sp.converged);
    for (int64_t j = 0; j < 3; ++j) {
      CHECK(sp.values[size_t(j)] == doctest::Approx(dense.values[size_t(n - 1 - j)]).epsilon(1e-9));
      // Same vector up to sign (the eigenvalues here are simple).
      double dot = 0;
      for (int64_t i = 0; i < n; ++i) dot += sp.vectors(i, j) * dense.vectors(i, n - 1 - j);
      CHECK(std::abs(dot) == doctest::Approx(1.0).epsilon(1e-8));
    }
    CHECK(sp.values[0] == doctest::Approx(1.0).epsilon(1e-12));  // connected: λ_max(S) = 1
  }
}

TEST_CASE("spectral_clustering: recovers a planted two-block graph") {
  const data::Graph g = two_blocks(100, 0.10, 0.01, 21);
  std::vector<int64_t> truth(200);
  for (int64_t i = 0; i < 200; ++i) truth[size_t(i)] = i % 2;
  const auto r = cluster::spectral_clustering(g, 2);
  CHECK(r.embedding.converged);
  CHECK(metrics::clustering_accuracy(truth, r.kmeans.host_labels()) == 1.0);
  CHECK(metrics::adjusted_rand_index(truth, r.kmeans.host_labels()) == doctest::Approx(1.0));
}

TEST_CASE("spectral_clustering: separates the cliques of a ring of cliques") {
  const data::Graph g = ring_of_cliques(6, 8);
  std::vector<int64_t> truth(48);
  for (int64_t i = 0; i < 48; ++i) truth[size_t(i)] = i / 8;
  for (bool loops : {false, true}) {
    const auto r = cluster::spectral_clustering(g, 6, {.self_loops = loops});
    CHECK(r.embedding.converged);
    CHECK(metrics::normalized_mutual_info(truth, r.kmeans.host_labels()) ==
          doctest::Approx(1.0).epsilon(1e-12));
  }
}

TEST_CASE("spectral_embedding: bad input throws ember::Error") {
  const data::Graph g = ring_of_cliques(3, 4);
  CHECK_THROWS_WITH_AS(cluster::spectral_embedding(g, 13), doctest::Contains("k = 13"), Error);
  CHECK_THROWS_AS(cluster::spectral_embedding(g, 0), Error);
  CHECK_THROWS_AS(cluster::spectral_embedding(data::Graph{}, 1), Error);
  data::Graph bad = g;
  bad.dst[0] = 99;
  CHECK_THROWS_WITH_AS(cluster::spectral_embedding(bad, 2), doctest::Contains("outside"), Error);
  CHECK_THROWS_WITH_AS(
      cluster::spectral_embedding(g, 3, {.max_iterations = 1, .require_convergence = true}),
      doctest::Contains("no convergence"), Error);
}
