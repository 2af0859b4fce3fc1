// Retrieval recall: R@k, the fraction of queries whose right item is among the k best ranked,
// from a query × item similarity matrix or from ranked lists.
//
// A query may have one right item (an index per query) or several (a list per query, e.g.
// the 5 reference captions of an image): it then counts as a hit when any of them is in the
// top k, and its rank is the best of theirs.
//
// Ties in the similarity matrix: items are ranked by similarity, highest first, and equal
// similarities keep item order (a stable sort), so an item scored the same as the right one
// but with a lower index ranks above it. A model that scores every item alike is therefore
// not credited with a perfect R@1.
#pragma once

#include <algorithm>
#include <cstdint>
#include <ember/metrics/inputs.hpp>
#include <vector>

namespace ember::metrics {

// 0-based rank of the best right item of each query, from a row-major n_queries × n_items
// similarity matrix (higher = more similar).
template <NumberRange S>
std::vector<int64_t> correct_item_ranks(const S& similarity, int64_t n_queries, int64_t n_items,
                                        const std::vector<std::vector<int64_t>>& right_items) {
  const char* name = "correct_item_ranks";
  const auto s = as_span(similarity);
  detail::check_matrix(name, "similarity", s.size(), n_queries, n_items);
  detail::check_finite(name, "similarity", s);
  EMBER_CHECK(static_cast<int64_t>(right_items.size()) == n_queries, name, ": ", right_items.size(),
              " lists of right items for ", n_queries, " queries; expected one per query");
  std::vector<int64_t> ranks;
  for (int64_t q = 0; q < n_queries; ++q) {
    const auto& right = right_items[static_cast<size_t>(q)];
    EMBER_CHECK(!right.empty(), name, ": query ", q, " has no right item");
    const auto row = s.subspan(static_cast<size_t>(q * n_items), static_cast<size_t>(n_items));
    int64_t best = n_items;
    for (int64_t c : right) {
      EMBER_CHECK(c >= 0 && c < n_items, name, ": right item ", c, " of query ", q,
                  " is outside [0, ", n_items, ")");
      const auto sc = row[static_cast<size_t>(c)];
      int64_t rank = 0;  // items ranked above c: higher similarity, or equal and lower index
      for (int64_t j = 0; j < n_items; ++j) {
        const auto sj = row[static_cast<size_t>(j)];
        rank += sj > sc || (sj == sc && j < c);
      }
      best = std::min(best, rank);
    }
    ranks.push_back(best);
  }
  return ranks;
}

// As above, with one right item per query: right_item[q] is its index.
template <NumberRange S, LabelRange R>
std::vector<int64_t> correct_item_ranks(const S& similarity, int64_t n_queries, int64_t n_items,
                                        const R& right_item) {
  const auto r = as_span(right_item);
  std::vector<std::vector<int64_t>> sets;
  for (auto v : r) sets.push_back({static_cast<int64_t>(v)});
  return correct_item_ranks(similarity, n_queries, n_items, sets);
}

// Fraction of 0-based ranks below k.
template <LabelRange R>
double recall_at_k(const R& ranks, int64_t k) {
  const auto r = as_span(ranks);
  detail::check_non_empty("recall_at_k", "ranks", r.size());
  EMBER_CHECK(k >= 1, "recall_at_k: k = ", k, "; expected k ≥ 1");
  int64_t hits = 0;
  for (auto v : r) {
    EMBER_CHECK(v >= 0, "recall_at_k: rank ", +v, " is negative; ranks are 0-based");
    hits += static_cast<int64_t>(v) < k;
  }
  return static_cast<double>(hits) / static_cast<double>(r.size());
}

// R@k from a similarity matrix; `right` is one index per query or a list per query.
template <NumberRange S, class Right>
double recall_at_k(const S& similarity, int64_t n_queries, int64_t n_items, const Right& right,
                   int64_t k) {
  return recall_at_k(correct_item_ranks(similarity, n_queries, n_items, right), k);
}

// R@k from ranked lists: ranked[q] holds item ids, best first (it may be cut short, e.g. to
// the top k); a query is a hit when one of its right items is among the first k entries.
inline double recall_at_k_from_ranking(const std::vector<std::vector<int64_t>>& ranked,
                                       const std::vector<std::vector<int64_t>>& right_items,
                                       int64_t k) {
  const char* name = "recall_at_k_from_ranking";
  detail::check_non_empty(name, "ranked", ranked.size());
  detail::check_same_size(name, "ranked", ranked.size(), "right_items", right_items.size());
  EMBER_CHECK(k >= 1, name, ": k = ", k, "; expected k ≥ 1");
  int64_t hits = 0;
  for (size_t q = 0; q < ranked.size(); ++q) {
    EMBER_CHECK(!right_items[q].empty(), name, ": query ", q, " has no right item");
    const size_t top = std::min(ranked[q].size(), static_cast<size_t>(k));
    bool hit = false;
    for (size_t j = 0; j < top && !hit; ++j)
      hit = std::find(right_items[q].begin(), right_items[q].end(), ranked[q][j]) !=
            right_items[q].end();
    hits += hit;
  }
  return static_cast<double>(hits) / static_cast<double>(ranked.size());
}

// As above, with one right item per query.
template <LabelRange R>
double recall_at_k_from_ranking(const std::vector<std::vector<int64_t>>& ranked,
                                const R& right_item, int64_t k) {
  std::vector<std::vector<int64_t>> sets;
  for (auto v : as_span(right_item)) sets.push_back({static_cast<int64_t>(v)});
  return recall_at_k_from_ranking(ranked, sets, k);
}

}  // namespace ember::metrics
