// Caption metrics: CIDEr-D (accuracy) and Self-CIDEr (diversity), on whitespace-tokenised
// captions.
//
// CIDEr-D follows coco-caption's CiderD scorer (pyciderevalcap, as used by
// self-critical.pytorch), for n-gram orders n = 1..4:
//   - every caption becomes, per order n, a TF-IDF vector g^n: an n-gram's weight is its count
//     in the caption times idf = log(N) - log(max(1, df)), where df is the number of images
//     whose reference set contains the n-gram and N the number of images, both taken from a
//     corpus of reference sets given once (the training references);
//   - against one reference s, order n scores
//       exp(-(len(c) - len(s))^2 / (2 sigma^2)) <min(g^n(c), g^n(s)), g^n(s)> / (|g^n(c)| |g^n(s)|)
//     (the element-wise min clips the candidate's counts to the reference's; 0 when either norm
//     is 0; sigma = 6; lengths in words);
//   - CIDEr-D = 10 * mean over references of the mean over n. A caption identical to its only
//     reference (with an n-gram of every order of non-zero idf) scores 10; papers print 100x
//     the mean over images.
// The note of the VaT example writes the term frequency as count / total n-gram count; that is
// the CIDEr paper's text, while coco-caption (whose numbers papers report) uses the raw count.
// The two differ only through the clipping; options.normalised_tf selects the note's form.
//
// Plain CIDEr (cider()) is the same without the clipping and the length penalty: a mean of
// cosine similarities. It is the kernel of Self-CIDEr (Wang and Chan, CVPR 2019, as
// self-critical.pytorch's eval_multi.py computes it with pyciderevalcap's Cider): for m
// captions of one image,
//   K_ij = CIDEr(c_i, {c_j}) / 10,  l_1 >= ... >= l_m its eigenvalues (negatives, and positives
//   within 1e-12 |l_1| of 0, clipped to 0),
//   Self-CIDEr = -log(sqrt(l_1) / sum_i sqrt(l_i)) / log(m),
// 0 when the captions are identical (K of rank 1) and 1 when no two share an n-gram (K = I).
// The eigenvalues come from numeric::eigh.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ember/core/error.hpp>
#include <ember/numeric/eigh.hpp>
#include <ember/numeric/matrix.hpp>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace ember::metrics {

// The words of a caption, split at whitespace.
inline std::vector<std::string> tokenize_whitespace(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

struct CiderOptions {
  int n = 4;                   // n-gram orders 1..n
  double sigma = 6.0;          // of CIDEr-D's Gaussian length penalty
  bool normalised_tf = false;  // term frequency = count / total n-grams of that order
};

// Which similarity Self-CIDEr's kernel uses.
enum class SelfCiderKernel { Cider, CiderD };

class Cider {
 public:
  // Document frequencies from a corpus of reference sets (one set of captions per image).
  explicit Cider(const std::vector<std::vector<std::string>>& corpus, CiderOptions options = {})
      : options_(options) {
    EMBER_CHECK(options.n >= 1, "Cider: n must be at least 1, got ", options.n);
    EMBER_CHECK(options.sigma > 0, "Cider: sigma must be positive, got ", options.sigma);
    EMBER_CHECK(!corpus.empty(), "Cider: the reference corpus is empty");
    for (const auto& refs : corpus) {
      std::unordered_set<std::string> seen;
      for (const auto& r : refs) {
        const Counts c = count_ngrams(tokenize_whitespace(r));
        for (const auto& order : c)
          for (const auto& [g, _] : order) seen.insert(g);
      }
      for (const auto& g : seen) ++df_[g];
    }
    num_documents_ = int64_t(corpus.size());
    log_n_ = std::log(double(num_documents_));
  }

  // Reference sets (images) in the corpus.
  int64_t num_documents() const { return num_documents_; }
  // Reference sets of the corpus holding the n-gram (words joined by single spaces).
  int64_t document_frequency(const std::string& ngram) const {
    const auto it = df_.find(ngram);
    return it == df_.end() ? 0 : it->second;
  }
  // log(N) - log(max(1, df)).
  double idf(const std::string& ngram) const {
    return log_n_ - std::log(std::max<double>(1.0, double(document_frequency(ngram))));
  }

  // CIDEr-D of a candidate against its references (coco-caption's scale: 10 for a perfect
  // match).
  double cider_d(const std::string& candidate, const std::vector<std::string>& refs) const {
    return score(candidate, refs, true, "cider_d");
  }
  // Plain CIDEr: no clipping, no length penalty.
  double cider(const std::string& candidate, const std::vector<std::string>& refs) const {
    return score(candidate, refs, false, "cider");
  }
  // The per-order terms of CIDEr-D (or plain CIDEr), averaged over the references, times 10:
  // their mean is cider_d (cider).
  std::vector<double> per_order(const std::string& candidate, const std::vector<std::string>& refs,
                                bool cider_d = true) const {
    EMBER_CHECK(!refs.empty(), "Cider::per_order: no references for \"", candidate, "\"");
    const Vec c = vectorise(candidate);
    std::vector<double> total(size_t(options_.n), 0.0);
    for (const auto& r : refs) {
      const std::vector<double> s = similarity(c, vectorise(r), cider_d);
      for (size_t k = 0; k < s.size(); ++k) total[k] += s[k];
    }
    for (double& t : total) t *= 10.0 / double(refs.size());
    return total;
  }

  // Mean over j of CIDEr-D(refs[j], the other references): the "leave one out" human score.
  double leave_one_out_cider_d(const std::vector<std::string>& refs) const {
    EMBER_CHECK(refs.size() >= 2, "Cider::leave_one_out_cider_d: needs at least 2 references, got ",
                refs.size());
    double total = 0;
    for (size_t j = 0; j < refs.size(); ++j) {
      std::vector<std::string> others;
      for (size_t i = 0; i < refs.size(); ++i)
        if (i != j) others.push_back(refs[i]);
      total += cider_d(refs[j], others);
    }
    return total / double(refs.size());
  }

  // K_ij = CIDEr(c_i, {c_j}) / 10 (or CIDEr-D with kernel = CiderD).
  numeric::Matrix self_cider_kernel(const std::vector<std::string>& captions,
                                    SelfCiderKernel kernel = SelfCiderKernel::Cider) const {
    const int64_t m = int64_t(captions.size());
    std::vector<Vec> v;
    for (const auto& c : captions) v.push_back(vectorise(c));
    numeric::Matrix k(m, m);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < m; ++j) {
        const std::vector<double> s =
            similarity(v[size_t(i)], v[size_t(j)], kernel == SelfCiderKernel::CiderD);
        double mean = 0;
        for (double x : s) mean += x;
        k(i, j) = mean / double(s.size());
      }
    return k;
  }

  // Self-CIDEr of the m >= 2 captions of one image: 0 (all the same) .. 1 (no shared n-grams).
  // Captions whose n-grams all have zero idf (e.g. empty ones) add a zero row and column to K
  // and so count as absent; when every caption is such, the result is 0. With the CiderD kernel
  // K need not be symmetric (the clipping is not) and is symmetrised, (K + K^T) / 2.
  double self_cider(const std::vector<std::string>& captions,
                    SelfCiderKernel kernel = SelfCiderKernel::Cider) const {
    const int64_t m = int64_t(captions.size());
    EMBER_CHECK(m >= 2, "Cider::self_cider: needs at least 2 captions, got ", m);
    numeric::Matrix k = self_cider_kernel(captions, kernel);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = i + 1; j < m; ++j) k(i, j) = k(j, i) = 0.5 * (k(i, j) + k(j, i));
    const std::vector<double> lambda = numeric::eigh(k).values;  // ascending
    // Eigenvalues within rounding of 0 are 0: an exact zero comes out as ~1e-16 |K|, whose
    // square root (~1e-8) would otherwise enter the sum.
    const double floor = 1e-12 * std::max(1.0, std::abs(lambda.back()));
    double sum_sqrt = 0, top = 0;
    for (double l : lambda) {
      const double s = l > floor ? std::sqrt(l) : 0.0;
      sum_sqrt += s;
      top = std::max(top, s);
    }
    if (sum_sqrt <= 0) return 0.0;
    return -std::log(top / sum_sqrt) / std::log(double(m));
  }

  const CiderOptions& options() const { return options_; }

 private:
  using Counts = std::vector<std::unordered_map<std::string, int64_t>>;  // per order
  struct Vec {
    std::vector<std::unordered_map<std::string, double>> w;  // per order: n-gram -> TF-IDF
    std::vector<double> norm;
    int64_t length = 0;  // words
  };

  Counts count_ngrams(const std::vector<std::string>& words) const {
    Counts c(size_t(options_.n));
    for (int n = 1; n <= options_.n; ++n)
      for (size_t i = 0; i + size_t(n) <= words.size(); ++i) {
        std::string g = words[i];
        for (size_t j = 1; j < size_t(n); ++j) g += ' ' + words[i + j];
        ++c[size_t(n - 1)][g];
      }
    return c;
  }

  Vec vectorise(const std::string& caption) const {
    const std::vector<std::string> words = tokenize_whitespace(caption);
    const Counts c = count_ngrams(words);
    Vec v{std::vector<std::unordered_map<std::string, double>>(size_t(options_.n)),
          std::vector<double>(size_t(options_.n), 0.0), int64_t(words.size())};
    for (size_t k = 0; k < c.size(); ++k) {
      int64_t total = 0;
      for (const auto& [g, count] : c[k]) total += count;
      for (const auto& [g, count] : c[k]) {
        const double tf = options_.normalised_tf ? double(count) / double(total) : double(count);
        const double x = tf * idf(g);
        v.w[k][g] = x;
        v.norm[k] += x * x;
      }
      v.norm[k] = std::sqrt(v.norm[k]);
    }
    return v;
  }

  // Per order: the (clipped, length-penalised) cosine of candidate and reference.
  std::vector<double> similarity(const Vec& c, const Vec& r, bool cider_d) const {
    std::vector<double> s(size_t(options_.n), 0.0);
    const double delta = double(c.length - r.length);
    const double penalty =
        cider_d ? std::exp(-(delta * delta) / (2 * options_.sigma * options_.sigma)) : 1.0;
    for (size_t k = 0; k < s.size(); ++k) {
      if (c.norm[k] == 0 || r.norm[k] == 0) continue;
      double dot = 0;
      for (const auto& [g, x] : c.w[k]) {
        const auto it = r.w[k].find(g);
        if (it == r.w[k].end()) continue;
        dot += (cider_d ? std::min(x, it->second) : x) * it->second;
      }
      s[k] = penalty * dot / (c.norm[k] * r.norm[k]);
    }
    return s;
  }

  double score(const std::string& candidate, const std::vector<std::string>& refs, bool cider_d,
               const char* op) const {
    EMBER_CHECK(!refs.empty(), "Cider::", op, ": no references for \"", candidate, "\"");
    const std::vector<double> per = per_order(candidate, refs, cider_d);
    double mean = 0;
    for (double x : per) mean += x;
    return mean / double(per.size());
  }

  CiderOptions options_;
  std::unordered_map<std::string, int64_t> df_;
  int64_t num_documents_ = 0;
  double log_n_ = 0;
};

}  // namespace ember::metrics
