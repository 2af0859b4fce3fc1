// Spectral clustering of a graph (Ng, Jordan & Weiss 2001): the eigenvectors of the k largest
// eigenvalues of the normalised adjacency S = D^{-1/2} A D^{-1/2}, each row scaled to unit
// length, then k-means on the rows.
//
// The eigenvectors come from subspace iteration with Rayleigh-Ritz, the method of
// numeric::top_eigs, with the product S·X done on the sparse graph (O(E p) per iteration)
// instead of top_eigs' dense cblas_dsymm (O(N² p), and N² doubles of memory: 3.2 GB at
// N = 20,000). The small dense steps are the kit's: numeric::qr orthonormalises the block and
// numeric::eigh diagonalises the p × p Rayleigh quotient. The iteration runs on S + I, whose
// spectrum lies in [0, 2], so the algebraically largest eigenvalues of S (near 1: the
// communities) dominate, and not the most negative ones (near -1: bipartite structure).
//
// The graph is taken as undirected and simple: edges are symmetrised, duplicates merged and
// self loops dropped; `self_loops` then adds I to A (Â = D̃^{-1/2}(A + I)D̃^{-1/2}, the GCN
// propagation matrix). A node of degree 0 has a zero row and column in S. Each connected
// component contributes an eigenvalue 1, so on a graph with k or more components the
// embedding separates components first; take the largest connected component
// (data/graph.hpp) when that is not wanted.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ember/cluster/kmeans.hpp>
#include <ember/core/error.hpp>
#include <ember/core/random.hpp>
#include <ember/data/graph.hpp>
#include <ember/numeric/eigh.hpp>
#include <ember/numeric/matrix.hpp>
#include <ember/numeric/qr.hpp>
#include <numeric>
#include <utility>
#include <vector>

namespace ember::cluster {

struct SpectralOptions {
  bool self_loops = false;  // use A + I (every node then has degree >= 1)
  // Converged when every wanted pair has ‖S x − λ x‖ <= tol (S's norm is 1). Clustering needs
  // the invariant subspace, not digits: 1e-6 is far below what moves a k-means boundary.
  double tol = 1e-6;
  int64_t max_iterations = 5000;
  // Size p of the iterated block; 0 chooses min(N, max(2k, k + 8)). Each iteration shrinks
  // the error by (1 + λ_{p+1}) / (1 + λ_k).
  int64_t block_size = 0;
  uint64_t seed = 0;  // of the random start block
  // What to do when tol is not reached: false returns the last iterate with converged = false
  // (still a useful embedding when the k-th eigenvalue sits in a cluster of close ones), true
  // throws ember::Error.
  bool require_convergence = false;
  KMeansOptions kmeans{};
};

struct SpectralEmbedding {
  numeric::Matrix vectors;     // [N, k]: eigenvectors of S, columns by decreasing eigenvalue
  std::vector<double> values;  // the k largest eigenvalues of S
  int64_t iterations = 0;
  double residual = 0.0;  // the largest ‖S x − λ x‖ of the returned pairs
  bool converged = false;
};

namespace spectral_detail {

// S in CSR (symmetric, both triangles stored).
struct SymmetricCsr {
  int64_t n = 0;
  std::vector<int64_t> row_ptr, col;
  std::vector<double> value;
};

inline SymmetricCsr normalised_adjacency(const data::Graph& g, bool self_loops) {
  const int64_t n = g.num_nodes;
  std::vector<std::pair<int64_t, int64_t>> pairs;
  pairs.reserve(g.src.size() * 2 + (self_loops ? size_t(n) : 0));
  for (size_t e = 0; e < g.src.size(); ++e) {
    const int64_t a = g.src[e], b = g.dst[e];
    EMBER_CHECK(a >= 0 && a < n && b >= 0 && b < n, "spectral_embedding: edge ", e, " = (", a, ", ",
                b, ") has an endpoint outside [0, ", n, ")");
    if (a == b) continue;
    pairs.emplace_back(a, b);
    pairs.emplace_back(b, a);
  }
  if (self_loops)
    for (int64_t v = 0; v < n; ++v) pairs.emplace_back(v, v);
  std::sort(pairs.begin(), pairs.end());
  pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
  SymmetricCsr s;
  s.n = n;
  s.row_ptr.assign(size_t(n + 1), 0);
  for (const auto& p : pairs) ++s.row_ptr[size_t(p.first + 1)];
  for (int64_t v = 0; v < n; ++v) s.row_ptr[size_t(v + 1)] += s.row_ptr[size_t(v)];
  std::vector<double> dinv(static_cast<size_t>(n));
  for (int64_t v = 0; v < n; ++v) {
    const int64_t deg = s.row_ptr[size_t(v + 1)] - s.row_ptr[size_t(v)];
    dinv[size_t(v)] = deg > 0 ? 1.0 / std::sqrt(double(deg)) : 0.0;
  }
  s.col.reserve(pairs.size());
  s.value.reserve(pairs.size());
  for (const auto& [a, b] : pairs) {
    s.col.push_back(b);
    s.value.push_back(dinv[size_t(a)] * dinv[size_t(b)]);
  }
  return s;
}

// Y = (S + I) X for X [n, p] row-major.
inline void multiply_shifted(const SymmetricCsr& s, const numeric::Matrix& x, numeric::Matrix& y) {
  const int64_t n = s.n, p = x.cols();
  const double* xd = x.data();
  double* yd = y.data();
#pragma omp parallel for schedule(static) if (n * p > 65536)
  for (int64_t i = 0; i < n; ++i) {
    double* yi = yd + i * p;
    const double* xi = xd + i * p;
    for (int64_t j = 0; j < p; ++j) yi[j] = xi[j];
    for (int64_t q = s.row_ptr[size_t(i)]; q < s.row_ptr[size_t(i + 1)]; ++q) {
      const double v = s.value[size_t(q)];
      const double* xc = xd + s.col[size_t(q)] * p;
      for (int64_t j = 0; j < p; ++j) yi[j] += v * xc[j];
    }
  }
}

}  // namespace spectral_detail

// The k eigenpairs of largest eigenvalue of S (or Â with self_loops) of the graph, taken as
// undirected. Throws ember::Error for k outside [1, N] or bad options, and when require_convergence
// is set and tol is not reached.
inline SpectralEmbedding spectral_embedding(const data::Graph& g, int64_t k,
                                            const SpectralOptions& options = {}) {
  const int64_t n = g.num_nodes;
  EMBER_CHECK(n >= 1, "spectral_embedding: the graph has no nodes");
  EMBER_CHECK(k >= 1 && k <= n, "spectral_embedding: k = ", k,
              " eigenvectors requested of a graph of ", n, " nodes; expected 1 <= k <= N");
  EMBER_CHECK(g.src.size() == g.dst.size(), "spectral_embedding: src has ", g.src.size(),
              " entries but dst has ", g.dst.size());
  const int64_t p =
      options.block_size == 0 ? std::min(n, std::max(2 * k, k + 8)) : options.block_size;
  EMBER_CHECK(k <= p && p <= n, "spectral_embedding: block_size ", p, " must lie in [k, N] = [", k,
              ", ", n, "]");
  EMBER_CHECK(options.tol > 0 && options.max_iterations >= 1,
              "spectral_embedding: expected tol > 0 and max_iterations >= 1, got tol = ",
              options.tol, ", max_iterations = ", options.max_iterations);
  const spectral_detail::SymmetricCsr s =
      spectral_detail::normalised_adjacency(g, options.self_loops);

  Generator gen(options.seed);
  numeric::Matrix start(n, p);
  for (int64_t i = 0; i < n * p; ++i) start.data()[i] = gen.normal();
  numeric::Matrix x = numeric::qr(start).Q, y(n, p);
  SpectralEmbedding out;
  for (int64_t it = 1; it <= options.max_iterations; ++it) {
    spectral_detail::multiply_shifted(s, x, y);
    // Rayleigh-Ritz on span(X): H = Xᵀ (S + I) X = W diag(θ) Wᵀ; θ >= 0, so decreasing θ is
    // decreasing eigenvalue of S.
    const numeric::Eigh ritz =
        numeric::eigh(numeric::detail::symmetrised(numeric::matmul(x, y, true, false)));
    numeric::Matrix w(p, p);
    std::vector<double> theta(static_cast<size_t>(p));
    for (int64_t j = 0; j < p; ++j) {  // eigh is ascending: reverse it
      theta[size_t(j)] = ritz.values[size_t(p - 1 - j)];
      for (int64_t i = 0; i < p; ++i) w(i, j) = ritz.vectors(i, p - 1 - j);
    }
    x = numeric::matmul(x, w);
    y = numeric::matmul(y, w);
    double worst = 0.0;
    for (int64_t j = 0; j < k; ++j) {
      double r2 = 0.0;
      for (int64_t i = 0; i < n; ++i) {
        const double r = y(i, j) - theta[size_t(j)] * x(i, j);
        r2 += r * r;
      }
      worst = std::max(worst, std::sqrt(r2));
    }
    out.iterations = it;
    out.residual = worst;
    if (worst <= options.tol || it == options.max_iterations) {
      out.converged = worst <= options.tol;
      EMBER_CHECK(out.converged || !options.require_convergence,
                  "spectral_embedding: no convergence after ", it,
                  " iterations: the largest residual |S x - l x| is ", worst,
                  " > tol = ", options.tol, " (k = ", k, ", block_size = ", p, ", N = ", n,
                  "); raise max_iterations or block_size, or loosen tol");
      out.vectors = x.columns(0, k);
      out.values.resize(size_t(k));
      for (int64_t j = 0; j < k; ++j) out.values[size_t(j)] = theta[size_t(j)] - 1.0;
      numeric::detail::fix_column_signs(out.vectors);
      return out;
    }
    x = numeric::qr(y).Q;
  }
  return out;  // not reached: the last iteration returns
}

struct SpectralClustering {
  KMeansResult<double> kmeans;  // labels, centres (in the embedding), inertia
  SpectralEmbedding embedding;  // before the row normalisation
};

// Spectral clustering into k clusters: spectral_embedding, rows scaled to unit length (a zero
// row, e.g. of an isolated node without self loops, stays zero), k-means with options.kmeans.
inline SpectralClustering spectral_clustering(const data::Graph& g, int64_t k,
                                              const SpectralOptions& options = {}) {
  SpectralClustering out;
  out.embedding = spectral_embedding(g, k, options);
  const int64_t n = g.num_nodes;
  std::vector<double> rows(out.embedding.vectors.values());
  for (int64_t i = 0; i < n; ++i) {
    double s = 0.0;
    for (int64_t j = 0; j < k; ++j) s += rows[size_t(i * k + j)] * rows[size_t(i * k + j)];
    if (s > 0.0)
      for (int64_t j = 0; j < k; ++j) rows[size_t(i * k + j)] /= std::sqrt(s);
  }
  out.kmeans = kmeans(Tensor<double>::from_vector(rows, {n, k}), k, options.kmeans);
  return out;
}

}  // namespace ember::cluster
