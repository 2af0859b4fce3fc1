// CCGC (Yang et al., arXiv 2301.01098) as the note and the official code (train.py, model.py)
// define it, minus the code's quirks the note lists: gradients are zeroed every step, every
// cluster (the one with the smallest label too) gives positives and a centre, and the primary
// number is the final epoch's, not the best-by-ACC one.
//
//   Z1 = normalize(X~ W1 + b1), Z2 = normalize(X~ W2 + b2)       (W1 = W2 for the shared arm)
//   epochs 0..warmup:  L = MSE(Z1 Z2ᵀ, I_N)
//   later:             L = L_pos + α L_neg from the last k-means of (Z1 + Z2) / 2:
//     high confidence: distance to the own centre below the τ-quantile (τ = 1: every node)
//     L_pos = (1/K) Σ_k Σ_pairs (2 − 2 z1_i·z2_j), i and j from two independent random subsets
//             of ⌊0.8 n_k⌋ of cluster k's high-confidence nodes, paired by position
//     L_neg = mean over the K×K matrix C1 C2ᵀ with its diagonal set to 0 of its squares, C the
//             normalised means of each cluster's high-confidence embeddings
//   k-means (k-means++, restarts) on (Z1 + Z2)/2 every `refresh` epochs: the evaluation and the
//   clustering the next epochs train on.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <ember/autograd/grad_mode.hpp>
#include <ember/cluster/kmeans.hpp>
#include <ember/core/error.hpp>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/metrics/clustering.hpp>
#include <ember/nn/functional/loss.hpp>
#include <ember/nn/linear.hpp>
#include <ember/nn/module.hpp>
#include <ember/ops/arith.hpp>
#include <ember/ops/indexing.hpp>
#include <ember/ops/linalg.hpp>
#include <ember/ops/norm_more.hpp>
#include <ember/ops/reduce.hpp>
#include <ember/optim/adam.hpp>
#include <functional>
#include <memory>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

namespace ccgc {

using ember::Tensor;

struct Config {
  int64_t hidden = 128;  // 500 in the paper (and with --device cuda)
  int64_t epochs = 150;  // 400 in the paper
  int64_t warmup = 50;   // epochs 0..warmup use the warm-up loss
  int64_t refresh = 10;  // k-means (evaluation and training clusters) every `refresh` epochs
  double lr = 1e-4;
  double tau = 0.5;     // high-confidence quantile; 1 keeps every node
  double alpha = 0.5;   // weight of the centre negatives
  double subset = 0.8;  // share of a cluster's high-confidence nodes in each positive subset
  bool shared = false;  // W1 = W2 (the ablation of the unshared views)
  int64_t restarts = 10;
};

struct Scores {
  double acc = 0, nmi = 0, ari = 0, f1 = 0;  // percent
};

inline Scores score(const std::vector<int64_t>& truth, const std::vector<int64_t>& pred) {
  const auto m = ember::metrics::match_clusters(truth, pred);
  return {100 * m.accuracy, 100 * ember::metrics::normalized_mutual_info(truth, pred),
          100 * ember::metrics::adjusted_rand_index(truth, pred), 100 * m.macro_f1};
}

struct Evaluation {
  int64_t epoch = 0;
  Scores scores;
};

struct Result {
  std::vector<double> loss;             // per epoch
  std::vector<Evaluation> evaluations;  // every `refresh` epochs and after the last
  Scores final_scores;                  // after the last epoch: the primary number
  Scores label_selected;                // the evaluation of highest ACC (uses the labels)
  int64_t label_selected_epoch = 0;
  std::vector<int64_t> prediction;  // final clusters
  Tensor<float> embedding;          // final (Z1 + Z2)/2 on the host
  double seconds = 0;
};

// The two encoders of model.py: Linear(d -> hidden) each, rows L2-normalised; one Linear used
// twice for the shared arm.
class Encoders : public ember::nn::Module {
 public:
  Encoders(int64_t in, int64_t hidden, bool shared, ember::Generator& gen) : shared_(shared) {
    first_ = register_module("layers1", std::make_shared<ember::nn::Linear>(in, hidden, gen));
    if (!shared)
      second_ = register_module("layers2", std::make_shared<ember::nn::Linear>(in, hidden, gen));
  }
  std::pair<Tensor<float>, Tensor<float>> forward(const Tensor<float>& x) {
    const Tensor<float> z1 = ember::normalize(first_->forward(x), 2.0, 1);
    if (shared_) return {z1, z1};
    return {z1, ember::normalize(second_->forward(x), 2.0, 1)};
  }
  std::string name() const override { return "CCGCEncoders"; }

 private:
  bool shared_;
  std::shared_ptr<ember::nn::Linear> first_, second_;
};

// Called once per epoch: (epoch, loss) for a progress line.
using EpochHook = std::function<void(int64_t, double)>;

namespace detail {

inline Tensor<int64_t> index_tensor(const std::vector<int64_t>& v, const ember::Device& dev) {
  return Tensor<int64_t>::from_vector(v, {int64_t(v.size())}).to(dev);
}

// The first m entries of a random permutation of `from` (np.random.choice without replacement).
inline std::vector<int64_t> random_subset(std::vector<int64_t> from, int64_t m,
                                          ember::Generator& gen) {
  const int64_t n = int64_t(from.size());
  for (int64_t i = 0; i < m; ++i) std::swap(from[size_t(i)], from[size_t(gen.randint(i, n))]);
  from.resize(size_t(m));
  return from;
}

// L_pos + α L_neg from the clusters `labels` and squared distances `dist` of the last k-means.
inline Tensor<float> cluster_guided_loss(const Tensor<float>& z1, const Tensor<float>& z2,
                                         const std::vector<int64_t>& labels,
                                         const std::vector<float>& dist, int64_t k, const Config& c,
                                         ember::Generator& gen) {
  const int64_t n = int64_t(labels.size());
  std::vector<char> confident(size_t(n), 1);
  if (c.tau < 1.0) {  // train.py: distance < sorted(distances)[int(N τ)]
    std::vector<float> sorted = dist;
    const size_t q = std::min<size_t>(size_t(double(n) * c.tau), size_t(n - 1));
    std::nth_element(sorted.begin(), sorted.begin() + int64_t(q), sorted.end());
    const float threshold = sorted[q];
    for (int64_t i = 0; i < n; ++i) confident[size_t(i)] = dist[size_t(i)] < threshold;
  }
  std::vector<std::vector<int64_t>> members(static_cast<size_t>(k));
  for (int64_t i = 0; i < n; ++i)
    if (confident[size_t(i)]) members[size_t(labels[size_t(i)])].push_back(i);
  std::vector<int64_t> a, b;          // positive pairs (view 1 node, view 2 node)
  std::vector<float> centre_weights;  // [present clusters, N]: 1/n_k on the members
  int64_t present = 0;
  for (int64_t j = 0; j < k; ++j) {
    const auto& m = members[size_t(j)];
    if (m.empty()) continue;
    const auto size = int64_t(double(m.size()) * c.subset);
    const std::vector<int64_t> s1 = random_subset(m, size, gen), s2 = random_subset(m, size, gen);
    a.insert(a.end(), s1.begin(), s1.end());
    b.insert(b.end(), s2.begin(), s2.end());
    centre_weights.resize(size_t((present + 1) * n), 0.0f);
    for (int64_t i : m) centre_weights[size_t(present * n + i)] = 1.0f / float(m.size());
    ++present;
  }
  const ember::Device dev = z1.device();
  Tensor<float> pos = Tensor<float>::zeros({}, dev);
  if (!a.empty()) {
    const Tensor<float> dots =
        ember::sum(ember::mul(ember::index_select(z1, 0, index_tensor(a, dev)),
                              ember::index_select(z2, 0, index_tensor(b, dev))));
    pos = ember::sub(Tensor<float>::full({}, 2.0f * float(a.size()), dev), ember::mul(dots, 2.0f));
  }
  pos = ember::mul(pos, 1.0f / float(k));
  if (present < 2 || c.alpha == 0.0) return pos;  // no pair of centres to push apart
  const Tensor<float> w = Tensor<float>::from_vector(centre_weights, {present, n}).to(dev);
  const Tensor<float> c1 = ember::normalize(ember::matmul(w, z1), 2.0, 1);
  const Tensor<float> c2 = ember::normalize(ember::matmul(w, z2), 2.0, 1);
  std::vector<float> off(size_t(present * present), 1.0f);
  for (int64_t j = 0; j < present; ++j) off[size_t(j * present + j)] = 0.0f;
  const Tensor<float> s = ember::mul(ember::matmul(c1, c2.t()),
                                     Tensor<float>::from_vector(off, {present, present}).to(dev));
  const Tensor<float> neg = ember::mean(ember::mul(s, s));
  return ember::add(pos, ember::mul(neg, float(c.alpha)));
}

}  // namespace detail

// Trains CCGC on the smoothed features x~ [N, d] (on the run's device) with true labels (for
// the evaluations only) and k clusters. `initial` is the k-means of x~ that the note's
// clustering starts from (the smoothing baseline of the same seed).
inline Result train(const Tensor<float>& xs, const std::vector<int64_t>& truth, int64_t k,
                    const ember::cluster::KMeansResult<float>& initial, const Config& c,
                    uint64_t seed, const EpochHook& hook = {}) {
  EMBER_CHECK(c.epochs >= 1 && c.warmup >= 0 && c.refresh >= 1 && c.hidden >= 1 && c.lr > 0 &&
                  c.tau > 0 && c.tau <= 1 && c.alpha >= 0 && c.subset > 0 && c.subset <= 1,
              "ccgc::train: bad configuration (epochs ", c.epochs, ", warmup ", c.warmup,
              ", refresh ", c.refresh, ", hidden ", c.hidden, ", lr ", c.lr, ", tau ", c.tau,
              ", alpha ", c.alpha, ")");
  const auto start = std::chrono::steady_clock::now();
  const int64_t n = xs.size(0);
  const ember::Device dev = xs.device();
  ember::Generator init_gen(seed * 0x9E3779B97F4A7C15ull + 1), pair_gen(seed + 0x5EEDull);
  Encoders model(xs.size(1), c.hidden, c.shared, init_gen);
  model.to(dev);
  ember::optim::Adam opt(model.parameters(), {.lr = c.lr});
  Tensor<float> eye = Tensor<float>::zeros({n, n});
  for (int64_t i = 0; i < n; ++i) eye.data_ptr()[i * n + i] = 1.0f;
  eye = eye.to(dev);

  std::vector<int64_t> labels = initial.host_labels();
  std::vector<float> dist = initial.distances.to_vector();
  Result r;
  auto evaluate = [&](int64_t epoch, bool last) {
    ember::NoGradGuard no_grad;
    const auto [z1, z2] = model.forward(xs);
    const Tensor<float> h = ember::mul(ember::add(z1, z2), 0.5f);
    const auto km = ember::cluster::kmeans(
        h, k, {.restarts = c.restarts, .seed = seed * 1000003ull + uint64_t(epoch)});
    labels = km.host_labels();
    dist = km.distances.to_vector();
    const Scores s = score(truth, labels);
    r.evaluations.push_back({epoch, s});
    if (last) {
      r.final_scores = s;
      r.prediction = labels;
      r.embedding = h.to(ember::Device::cpu());
    }
  };
  for (int64_t epoch = 0; epoch < c.epochs; ++epoch) {
    const auto [z1, z2] = model.forward(xs);
    Tensor<float> loss;
    if (epoch <= c.warmup)
      loss = ember::nn::functional::mse_loss(ember::matmul(z1, z2.t()), eye);
    else
      loss = detail::cluster_guided_loss(z1, z2, labels, dist, k, c, pair_gen);
    opt.zero_grad();  // the official code never does: its gradients pile up across epochs
    loss.backward();
    opt.step();
    const double l = double(loss.item());
    EMBER_CHECK(std::isfinite(l), "ccgc::train: the loss is ", l, " at epoch ", epoch);
    r.loss.push_back(l);
    const bool last = epoch == c.epochs - 1;
    if (epoch % c.refresh == 0 || last) evaluate(epoch, last);
    if (hook) hook(epoch, l);
  }
  const auto best = std::max_element(
      r.evaluations.begin(), r.evaluations.end(),
      [](const Evaluation& x, const Evaluation& y) { return x.scores.acc < y.scores.acc; });
  r.label_selected = best->scores;
  r.label_selected_epoch = best->epoch;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace ccgc
