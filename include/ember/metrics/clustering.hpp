// Clustering scores against true classes: accuracy and macro-F1 under the best one-to-one
// matching of clusters to classes (Hungarian), NMI and ARI, as scikit-learn computes them.
//
// Labels are any integers: class ids and cluster ids need not be 0..K-1 or share a range,
// since each side is first reduced to its distinct values (np.unique), and the scores only
// depend on the contingency table n_ij = #{y_true = class i, y_pred = cluster j}.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ember/metrics/assignment.hpp>
#include <ember/metrics/inputs.hpp>
#include <limits>
#include <vector>

namespace ember::metrics {

namespace detail {

struct Contingency {
  std::vector<int64_t> classes, clusters;  // distinct values, ascending
  std::vector<int64_t> counts;             // classes.size() × clusters.size(), row-major
  int64_t n = 0;
  int64_t at(size_t i, size_t j) const { return counts[i * clusters.size() + j]; }
  std::vector<int64_t> class_sizes() const {  // row sums a_i
    std::vector<int64_t> s(classes.size(), 0);
    for (size_t i = 0; i < classes.size(); ++i)
      for (size_t j = 0; j < clusters.size(); ++j) s[i] += at(i, j);
    return s;
  }
  std::vector<int64_t> cluster_sizes() const {  // column sums b_j
    std::vector<int64_t> s(clusters.size(), 0);
    for (size_t i = 0; i < classes.size(); ++i)
      for (size_t j = 0; j < clusters.size(); ++j) s[j] += at(i, j);
    return s;
  }
};

template <class T>
std::vector<int64_t> distinct(std::span<const T> labels) {
  std::vector<int64_t> v(labels.begin(), labels.end());
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

inline size_t index_of(const std::vector<int64_t>& sorted, int64_t value) {
  return static_cast<size_t>(std::lower_bound(sorted.begin(), sorted.end(), value) -
                             sorted.begin());
}

template <class TA, class TB>
Contingency contingency(const char* metric, std::span<const TA> t, std::span<const TB> p) {
  check_same_size(metric, "y_true", t.size(), "y_pred", p.size());
  check_non_empty(metric, "y_true", t.size());
  Contingency c;
  c.classes = distinct(t);
  c.clusters = distinct(p);
  c.n = static_cast<int64_t>(t.size());
  c.counts.assign(c.classes.size() * c.clusters.size(), 0);
  for (size_t k = 0; k < t.size(); ++k) {
    const size_t i = index_of(c.classes, static_cast<int64_t>(t[k]));
    const size_t j = index_of(c.clusters, static_cast<int64_t>(p[k]));
    ++c.counts[i * c.clusters.size() + j];
  }
  return c;
}

// Entropy (nats) of a partition with the given part sizes; 0 for a single part.
inline double entropy(const std::vector<int64_t>& sizes, int64_t n) {
  double h = 0;
  for (int64_t s : sizes)
    if (s > 0) {
      const double p = static_cast<double>(s) / static_cast<double>(n);
      h -= p * std::log(p);
    }
  return h;
}

}  // namespace detail

struct ClusterMatching {
  double accuracy = 0;  // matched elements / all elements
  // Macro-F1 over the true classes after relabelling each cluster with its matched class:
  // F1_c = 2·n_{c,k(c)} / (|class c| + |cluster k(c)|), and 0 for a class left without a
  // cluster. It equals scikit-learn's f1_score(y_true, mapped, average='macro') whenever
  // every cluster is matched (no more clusters than classes); elements of an unmatched
  // cluster count as misses of their true class and as nobody's false positives.
  double macro_f1 = 0;
  std::vector<int64_t> clusters;          // the distinct cluster ids, ascending
  std::vector<int64_t> class_of_cluster;  // matched class id, or -1 for an unmatched cluster
};

// The one-to-one matching of clusters to classes that maximises the number of elements whose
// cluster maps to their class (Hungarian on the contingency table), and the accuracy and
// macro-F1 under it. The numbers of clusters and classes may differ.
template <LabelRange A, LabelRange B>
ClusterMatching match_clusters(const A& y_true, const B& y_pred) {
  const detail::Contingency c =
      detail::contingency("match_clusters", as_span(y_true), as_span(y_pred));
  const auto n_classes = static_cast<int64_t>(c.classes.size());
  const auto n_clusters = static_cast<int64_t>(c.clusters.size());
  // Rows = clusters, columns = classes, so col_of_row is the class of each cluster.
  std::vector<double> matches(c.counts.size());
  for (size_t j = 0; j < c.clusters.size(); ++j)
    for (size_t i = 0; i < c.classes.size(); ++i)
      matches[j * c.classes.size() + i] = static_cast<double>(c.at(i, j));
  const Assignment best = hungarian(matches, n_clusters, n_classes, /*maximize=*/true);

  ClusterMatching out;
  out.clusters = c.clusters;
  out.accuracy = best.total_cost / static_cast<double>(c.n);
  const std::vector<int64_t> class_size = c.class_sizes(), cluster_size = c.cluster_sizes();
  for (size_t j = 0; j < c.clusters.size(); ++j) {
    const int64_t i = best.col_of_row[j];
    out.class_of_cluster.push_back(i < 0 ? -1 : c.classes[static_cast<size_t>(i)]);
    if (i < 0) continue;
    const auto si = static_cast<size_t>(i);
    out.macro_f1 += 2.0 * static_cast<double>(c.at(si, j)) /
                    static_cast<double>(class_size[si] + cluster_size[j]);
  }
  out.macro_f1 /= static_cast<double>(n_classes);
  return out;
}

// Clustering accuracy (ACC): accuracy under the best one-to-one cluster→class matching.
template <LabelRange A, LabelRange B>
double clustering_accuracy(const A& y_true, const B& y_pred) {
  return match_clusters(y_true, y_pred).accuracy;
}

// Normalised mutual information with the arithmetic mean of the entropies as normaliser,
// NMI = MI / ((H(y_true) + H(y_pred)) / 2): scikit-learn's normalized_mutual_info_score
// default, with its limit cases (both partitions a single part: 1; MI = 0: 0).
template <LabelRange A, LabelRange B>
double normalized_mutual_info(const A& y_true, const B& y_pred) {
  const detail::Contingency c =
      detail::contingency("normalized_mutual_info", as_span(y_true), as_span(y_pred));
  if (c.classes.size() == 1 && c.clusters.size() == 1) return 1.0;
  const std::vector<int64_t> a = c.class_sizes(), b = c.cluster_sizes();
  const auto n = static_cast<double>(c.n);
  double mi = 0;
  for (size_t i = 0; i < c.classes.size(); ++i)
    for (size_t j = 0; j < c.clusters.size(); ++j) {
      const auto nij = static_cast<double>(c.at(i, j));
      if (nij == 0) continue;
      mi += nij / n * std::log(n * nij / (static_cast<double>(a[i]) * static_cast<double>(b[j])));
    }
  if (mi <= 0) return 0.0;  // rounding can leave a tiny negative sum for independent labels
  const double normaliser = 0.5 * (detail::entropy(a, c.n) + detail::entropy(b, c.n));
  return mi / std::max(normaliser, std::numeric_limits<double>::epsilon());
}

// Adjusted Rand index, scikit-learn's adjusted_rand_score: from the pair confusion counts
// (pairs together in both, in one only, in neither), 1 for identical partitions, about 0 for
// independent ones, negative below chance.
template <LabelRange A, LabelRange B>
double adjusted_rand_index(const A& y_true, const B& y_pred) {
  const detail::Contingency c =
      detail::contingency("adjusted_rand_index", as_span(y_true), as_span(y_pred));
  const std::vector<int64_t> a = c.class_sizes(), b = c.cluster_sizes();
  int64_t sum_nij2 = 0, sum_a2 = 0, sum_b2 = 0;
  for (int64_t v : c.counts) sum_nij2 += v * v;
  for (int64_t v : a) sum_a2 += v * v;
  for (int64_t v : b) sum_b2 += v * v;
  // Ordered pair counts, as in sklearn.metrics.pair_confusion_matrix.
  const int64_t tp = sum_nij2 - c.n;     // same class, same cluster
  const int64_t fp = sum_b2 - sum_nij2;  // same cluster, different classes
  const int64_t fn = sum_a2 - sum_nij2;  // same class, different clusters
  const int64_t tn = c.n * c.n - fp - fn - sum_nij2;
  if (fn == 0 && fp == 0) return 1.0;
  // The products reach n⁴ (1.6e17 at n = 20,000): double, not int64, so they cannot overflow.
  const auto d = [](int64_t v) { return static_cast<double>(v); };
  return 2.0 * (d(tp) * d(tn) - d(fn) * d(fp)) /
         (d(tp + fn) * d(fn + tn) + d(tp + fp) * d(fp + tn));
}

}  // namespace ember::metrics
