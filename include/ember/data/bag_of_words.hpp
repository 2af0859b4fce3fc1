// Bag-of-words node features that depend on a node's class, Cora-like.
//
// Each class c has a topic: `topic_words` distinct words drawn uniformly from the vocabulary
// (topics of different classes may share a few words by chance), with a uniform distribution
// over them. All classes share a background distribution over the whole vocabulary, Zipfian
// (p(rank r) ∝ 1 / (r + 1)^zipf_exponent over a random ranking of the words), as word
// frequencies in text are. A node of class c draws `words_per_node` tokens, each from c's
// topic with probability topic_fraction and from the background otherwise. The token counts
// are the sparse counts; the returned dense tensor holds them as chosen by `weighting` and
// `row_norm`.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ember/core/error.hpp>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <numeric>
#include <type_traits>
#include <vector>

namespace ember::data {

enum class WordWeighting {
  Binary,  // 1 if the word occurs in the node's bag (Cora's features)
  Counts,  // the number of occurrences
  TfIdf,   // counts × idf, idf = ln((1 + N) / (1 + df)) + 1 (scikit-learn's smooth idf)
};
enum class RowNorm { None, L1, L2 };

struct BagOfWordsOptions {
  int64_t vocabulary = 500;
  int64_t topic_words = 60;  // preferred words per class
  int64_t words_per_node = 20;
  double topic_fraction = 0.35;  // share of a node's tokens drawn from its class topic
  double zipf_exponent = 1.0;    // of the shared background; 0 makes it uniform
  WordWeighting weighting = WordWeighting::Binary;
  RowNorm row_norm = RowNorm::None;
};

template <class T = float>
struct BagOfWords {
  Tensor<T> features;                        // [N, vocabulary] on the host
  std::vector<std::vector<int64_t>> topics;  // per class, its preferred words (ascending)
  // The sparse counts: node i's distinct words are words[offsets[i] .. offsets[i+1]),
  // ascending, with their numbers of occurrences in counts.
  std::vector<int64_t> offsets, words, counts;
};

// Features for nodes with labels in [0, num_classes) (num_classes <= 0: max label + 1).
template <class T = float>
BagOfWords<T> bag_of_words(const std::vector<int64_t>& labels, const BagOfWordsOptions& o,
                           Generator& gen, int64_t num_classes = 0) {
  static_assert(std::is_floating_point_v<T>, "bag_of_words: features are float or double");
  const int64_t n = int64_t(labels.size());
  EMBER_CHECK(n >= 1, "bag_of_words: no labels given");
  const int64_t max_label = *std::max_element(labels.begin(), labels.end());
  const int64_t min_label = *std::min_element(labels.begin(), labels.end());
  if (num_classes <= 0) num_classes = max_label + 1;
  EMBER_CHECK(min_label >= 0 && max_label < num_classes, "bag_of_words: labels span [", min_label,
              ", ", max_label, "], expected them in [0, ", num_classes, ")");
  EMBER_CHECK(o.vocabulary >= 1 && o.topic_words >= 1 && o.topic_words <= o.vocabulary &&
                  o.words_per_node >= 1,
              "bag_of_words: expected vocabulary >= 1, 1 <= topic_words <= vocabulary and "
              "words_per_node >= 1, got vocabulary = ",
              o.vocabulary, ", topic_words = ", o.topic_words,
              ", words_per_node = ", o.words_per_node);
  EMBER_CHECK(o.topic_fraction >= 0.0 && o.topic_fraction <= 1.0 && o.zipf_exponent >= 0.0,
              "bag_of_words: expected topic_fraction in [0, 1] and zipf_exponent >= 0, got ",
              o.topic_fraction, " and ", o.zipf_exponent);
  const int64_t v = o.vocabulary;
  BagOfWords<T> out;

  // Topics: a partial Fisher-Yates shuffle per class.
  std::vector<int64_t> perm(static_cast<size_t>(v));
  for (int64_t c = 0; c < num_classes; ++c) {
    std::iota(perm.begin(), perm.end(), int64_t(0));
    for (int64_t i = 0; i < o.topic_words; ++i)
      std::swap(perm[size_t(i)], perm[size_t(gen.randint(i, v))]);
    std::vector<int64_t> topic(perm.begin(), perm.begin() + o.topic_words);
    std::sort(topic.begin(), topic.end());
    out.topics.push_back(std::move(topic));
  }
  // Background: Zipf weights over a random ranking of the vocabulary.
  std::iota(perm.begin(), perm.end(), int64_t(0));
  for (int64_t i = v - 1; i > 0; --i)
    std::swap(perm[size_t(i)], perm[size_t(gen.randint(0, i + 1))]);
  std::vector<double> background(static_cast<size_t>(v));
  double total = 0.0;
  for (int64_t r = 0; r < v; ++r)
    background[size_t(r)] = (total += std::pow(double(r + 1), -o.zipf_exponent));

  std::vector<int64_t> bag(size_t(v), 0), touched;
  out.offsets.push_back(0);
  for (int64_t i = 0; i < n; ++i) {
    const std::vector<int64_t>& topic = out.topics[size_t(labels[size_t(i)])];
    touched.clear();
    for (int64_t t = 0; t < o.words_per_node; ++t) {
      int64_t w;
      if (gen.uniform() < o.topic_fraction) {
        w = topic[size_t(gen.randint(0, o.topic_words))];
      } else {
        const double u = gen.uniform() * total;
        const size_t r = std::min(
            size_t(std::upper_bound(background.begin(), background.end(), u) - background.begin()),
            size_t(v - 1));
        w = perm[r];
      }
      if (bag[size_t(w)]++ == 0) touched.push_back(w);
    }
    std::sort(touched.begin(), touched.end());
    for (int64_t w : touched) {
      out.words.push_back(w);
      out.counts.push_back(bag[size_t(w)]);
      bag[size_t(w)] = 0;
    }
    out.offsets.push_back(int64_t(out.words.size()));
  }

  std::vector<double> idf(size_t(v), 1.0);
  if (o.weighting == WordWeighting::TfIdf) {
    std::vector<int64_t> df(size_t(v), 0);
    for (int64_t w : out.words) ++df[size_t(w)];
    for (int64_t w = 0; w < v; ++w)
      idf[size_t(w)] = std::log((1.0 + double(n)) / (1.0 + double(df[size_t(w)]))) + 1.0;
  }
  out.features = Tensor<T>::zeros({n, v});
  T* x = out.features.data_ptr();
  for (int64_t i = 0; i < n; ++i) {
    double norm = 0.0;
    for (int64_t q = out.offsets[size_t(i)]; q < out.offsets[size_t(i + 1)]; ++q) {
      const int64_t w = out.words[size_t(q)];
      const double value = o.weighting == WordWeighting::Binary
                               ? 1.0
                               : double(out.counts[size_t(q)]) * idf[size_t(w)];
      x[i * v + w] = T(value);
      norm += o.row_norm == RowNorm::L1 ? value : value * value;
    }
    if (o.row_norm != RowNorm::None && norm > 0.0) {
      const double scale = o.row_norm == RowNorm::L1 ? 1.0 / norm : 1.0 / std::sqrt(norm);
      for (int64_t q = out.offsets[size_t(i)]; q < out.offsets[size_t(i + 1)]; ++q)
        x[i * v + out.words[size_t(q)]] = T(double(x[i * v + out.words[size_t(q)]]) * scale);
    }
  }
  return out;
}

}  // namespace ember::data
