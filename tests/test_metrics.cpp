// ember::metrics: each metric against hand-computed values on small inputs, against
// scikit-learn 1.2.1 / scipy 1.10.1 on fixed inputs (the Python calls that produced each
// constant are named beside it), and bad input throwing ember::Error that names the metric.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <ember/metrics.hpp>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <vector>

using namespace ember::metrics;
using ember::Error;
using I64 = std::vector<int64_t>;
using F64 = std::vector<double>;

namespace {

// Values computed in double from a few exact inputs by a different formula than ours (or by
// scikit-learn, which prints 17 digits): agreement to 1e-12 is rounding, not luck.
constexpr double kTol = 1e-12;

// The fixed classification case: 5 classes in use; class 3 is never predicted (precision
// 0/0), class 4 is predicted but has no support (recall 0/0).
const I64 kClsTrue = {0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 3, 3, 0, 1, 2, 2, 0, 1, 3, 0};
const I64 kClsPred = {0, 1, 0, 1, 1, 2, 1, 2, 2, 0, 0, 1, 0, 1, 4, 2, 2, 1, 2, 0};

}  // namespace

// ----------------------------------------------------------------- classification

TEST_CASE("metrics: accuracy and the confusion matrix by hand") {
  CHECK(accuracy(I64{0, 1, 2, 2}, I64{0, 2, 2, 1}) == 0.5);
  CHECK(accuracy(std::vector<int32_t>{3, 3}, I64{3, 3}) == 1.0);  // mixed label types

  // Rows = truth, columns = prediction: (true 1, predicted 2) lands in row 1, column 2.
  const ConfusionMatrix cm = confusion_matrix(I64{0, 1, 1, 2}, I64{0, 2, 1, 2}, 3);
  CHECK(cm.counts() == I64{1, 0, 0, 0, 1, 1, 0, 0, 1});
  CHECK(cm(1, 2) == 1);
  CHECK(cm(2, 1) == 0);
  CHECK(cm.true_count(1) == 2);
  CHECK(cm.predicted_count(2) == 2);
  CHECK(accuracy(cm) == 0.75);
}

TEST_CASE("metrics: confusion matrix and macro P/R/F1 equal scikit-learn's") {
  // sklearn.metrics.confusion_matrix(kClsTrue, kClsPred, labels=range(5)).ravel()
  const I64 sk_cm = {4, 1, 1, 0, 0, 0, 5, 1, 0, 0, 1, 0, 3, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0};
  CHECK(confusion_matrix(kClsTrue, kClsPred, 5).counts() == sk_cm);

  // f1_score / precision_score / recall_score(kClsTrue, kClsPred, average='macro'): the
  // default labels are those present in either, {0..4}.
  const MacroScores m = macro_scores(kClsTrue, kClsPred, 6);
  CHECK(m.n_classes_averaged == 5);
  CHECK(m.f1 == doctest::Approx(0.39627039627039623).epsilon(kTol));
  CHECK(m.precision == doctest::Approx(0.3761904761904762).epsilon(kTol));
  CHECK(m.recall == doctest::Approx(0.42000000000000004).epsilon(kTol));
  CHECK(macro_f1(kClsTrue, kClsPred, 6) == doctest::Approx(m.f1).epsilon(kTol));

  // The same with labels=range(6): class 5, absent from both, counts as 0.
  const MacroScores all = macro_scores(kClsTrue, kClsPred, 6, /*include_absent_classes=*/true);
  CHECK(all.n_classes_averaged == 6);
  CHECK(all.f1 == doctest::Approx(0.3302253302253302).epsilon(kTol));
  CHECK(all.precision == doctest::Approx(0.3134920634920635).epsilon(kTol));
  CHECK(all.recall == doctest::Approx(0.35000000000000003).epsilon(kTol));

  // f1_score(kClsTrue, kClsPred, average=None, labels=range(5))
  const F64 sk_f1 = {0.6666666666666666, 0.7692307692307692, 0.5454545454545454, 0.0, 0.0};
  const ClassScores s = per_class_scores(confusion_matrix(kClsTrue, kClsPred, 5));
  for (size_t k = 0; k < sk_f1.size(); ++k)
    CHECK(s.f1[k] == doctest::Approx(sk_f1[k]).epsilon(kTol));
}

TEST_CASE("metrics: precision and recall are not swapped") {
  // Truth {0, 0, 0, 1}, prediction all 0: class 0 has precision 3/4 and recall 1; class 1
  // has precision 0/0 -> 0 and recall 0/1. Swapped arguments would give 1 and 3/4.
  const ClassScores s = per_class_scores(confusion_matrix(I64{0, 0, 0, 1}, I64{0, 0, 0, 0}, 2));
  CHECK(s.precision[0] == 0.75);
  CHECK(s.recall[0] == 1.0);
  CHECK(s.precision[1] == 0.0);
  CHECK(s.recall[1] == 0.0);
  const MacroScores m = macro_scores(I64{0, 0, 0, 1}, I64{0, 0, 0, 0}, 2);
  CHECK(m.precision == doctest::Approx(0.375).epsilon(kTol));
  CHECK(m.recall == doctest::Approx(0.5).epsilon(kTol));
}

TEST_CASE("metrics: binary and multi-label F1 equal scikit-learn's") {
  // f1_score([1,0,1,1,0,0,1,0], [1,1,0,1,0,0,1,1]): TP 3, FP 2, FN 1 -> 6/9.
  CHECK(binary_f1(I64{1, 0, 1, 1, 0, 0, 1, 0}, std::vector<uint8_t>{1, 1, 0, 1, 0, 0, 1, 1}) ==
        doctest::Approx(2.0 / 3.0).epsilon(kTol));
  CHECK(binary_f1(I64{0, 0}, I64{0, 0}) == 0.0);  // zero_division=0

  // 6 samples × 4 labels; sample 1 is empty in both, label 3 has no true positives.
  const I64 yt = {1, 0, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0};
  const I64 yp = {1, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 1, 0};
  const MultiLabelScores s = multilabel_scores(yt, yp, 6, 4);
  // f1_score(Yt, Yp, average='micro' | 'macro' | 'samples' | None)
  CHECK(s.micro_f1 == doctest::Approx(0.625).epsilon(kTol));
  CHECK(s.macro_f1 == doctest::Approx(0.5).epsilon(kTol));
  CHECK(s.samples_f1 == doctest::Approx(0.4388888888888889).epsilon(kTol));
  const F64 per = {0.8, 0.4, 0.8, 0.0};
  for (size_t l = 0; l < per.size(); ++l)
    CHECK(s.per_label_f1[l] == doctest::Approx(per[l]).epsilon(kTol));
  // Label 0: truth {1,0,1,0,1,0}, prediction {1,0,1,0,0,0}: 5 of 6 right.
  CHECK(s.per_label_accuracy[0] == doctest::Approx(5.0 / 6.0).epsilon(kTol));
}

TEST_CASE("metrics: classification rejects bad input") {
  CHECK_THROWS_WITH_AS(accuracy(I64{0, 1}, I64{0}), doctest::Contains("accuracy: y_true has 2"),
                       Error);
  CHECK_THROWS_AS(accuracy(I64{}, I64{}), Error);
  CHECK_THROWS_WITH_AS(confusion_matrix(I64{0, 3}, I64{0, 1}, 3),
                       doctest::Contains("y_true[1] = 3 is outside [0, 3)"), Error);
  CHECK_THROWS_WITH_AS(macro_f1(I64{0, 1}, I64{0, -1}, 2),
                       doctest::Contains("y_pred[1] = -1 is outside [0, 2)"), Error);
  CHECK_THROWS_AS(macro_f1(I64{}, I64{}, 2), Error);
  CHECK_THROWS_AS(ConfusionMatrix(0), Error);
  CHECK_THROWS_WITH_AS(binary_f1(I64{0, 2}, I64{0, 1}), doctest::Contains("expected 0 or 1"),
                       Error);
  CHECK_THROWS_WITH_AS(multilabel_scores(I64{0, 1, 1}, I64{0, 1, 1}, 2, 2),
                       doctest::Contains("expected 2x2 = 4"), Error);

  // A rejected batch leaves the matrix as it was.
  ConfusionMatrix cm(2);
  cm.add(I64{0}, I64{1});
  CHECK_THROWS_AS(cm.add(I64{1, 5}, I64{1, 1}), Error);
  CHECK(cm.total() == 1);
}

// ----------------------------------------------------------------- correlation

TEST_CASE("metrics: Pearson and Spearman by hand") {
  const F64 x = {1, 2, 3, 4, 5};
  CHECK(pearson(x, F64{3, 5, 7, 9, 11}) == doctest::Approx(1.0).epsilon(kTol));
  CHECK(pearson(x, F64{5, 4, 3, 2, 1}) == doctest::Approx(-1.0).epsilon(kTol));
  // Spearman without ties is 1 − 6Σd²/(n(n²−1)): d = (−1, 1, −1, 1, 0) -> 1 − 24/120.
  CHECK(spearman(x, F64{2, 1, 4, 3, 5}) == doctest::Approx(0.8).epsilon(kTol));
  // Monotone but not linear: Spearman 1, Pearson below 1.
  CHECK(spearman(x, F64{1, 8, 27, 64, 125}) == doctest::Approx(1.0).epsilon(kTol));
  CHECK(pearson(x, F64{1, 8, 27, 64, 125}) < 0.99);
  // A large shared offset costs no digits (centred two-pass sums).
  CHECK(pearson(F64{1e9 + 1, 1e9 + 2, 1e9 + 3}, std::vector<float>{1, 2, 3}) ==
        doctest::Approx(1.0).epsilon(kTol));
  // A constant input has no correlation.
  CHECK(std::isnan(pearson(x, F64{2, 2, 2, 2, 2})));
  CHECK(std::isnan(spearman(F64{2, 2, 2}, F64{1, 2, 3})));

  CHECK(rank_average(F64{10, 20, 20, 5}) == F64{2, 3.5, 3.5, 1});
}

TEST_CASE("metrics: Spearman with ties and Pearson equal scipy's") {
  const F64 x = {3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0, 5.0, 8.0};
  const F64 y = {2.7, 1.8, 2.8, 1.8, 2.8, 4.5, 9.0, 4.5, 2.3, 5.3, 6.0, 2.8};
  // scipy.stats.rankdata(x)
  CHECK(rank_average(x) == F64{4.5, 1.5, 6.0, 1.5, 8.0, 12.0, 3.0, 10.0, 8.0, 4.5, 8.0, 11.0});
  // scipy.stats.spearmanr(x, y).correlation, scipy.stats.pearsonr(x, y)[0]
  CHECK(spearman(x, y) == doctest::Approx(0.325).epsilon(kTol));
  CHECK(pearson(x, y) == doctest::Approx(0.026481268796822652).epsilon(1e-10));
}

TEST_CASE("metrics: correlation rejects bad input") {
  CHECK_THROWS_WITH_AS(pearson(F64{1, 2}, F64{1, 2, 3}),
                       doctest::Contains("pearson: x has 2 elements but y has 3"), Error);
  CHECK_THROWS_WITH_AS(spearman(F64{1}, F64{1}), doctest::Contains("expected at least 2"), Error);
  CHECK_THROWS_WITH_AS(pearson(F64{1, NAN}, F64{1, 2}), doctest::Contains("not finite"), Error);
}

// ----------------------------------------------------------------- assignment, clustering

TEST_CASE("metrics: hungarian by hand") {
  // scipy's documented example: the optimum is 1 + 2 + 2 = 5.
  const Assignment a = hungarian(F64{4, 1, 3, 2, 0, 5, 3, 2, 2}, 3, 3);
  CHECK(a.col_of_row == I64{1, 0, 2});
  CHECK(a.total_cost == 5.0);
  const Assignment mx = hungarian(F64{4, 1, 3, 2, 0, 5, 3, 2, 2}, 3, 3, /*maximize=*/true);
  CHECK(mx.total_cost == 11.0);  // 4 + 5 + 2
  CHECK(hungarian(F64{7}, 1, 1).col_of_row == I64{0});
}

TEST_CASE("metrics: hungarian equals scipy's linear_sum_assignment") {
  // numpy.random.default_rng(12); C = numpy.round(rng.random((r, c)) * 100, 2) for
  // (r, c) = (7, 7), (5, 8), (8, 5) in turn; then linear_sum_assignment(C) and
  // linear_sum_assignment(C, maximize=True).
  const F64 c77 = {25.08, 94.68, 18.93, 17.93, 34.99, 23.05, 67.04, 11.51, 89.63, 85.81,
                   0.28,  54.15, 10.69, 25.8,  41.69, 45.36, 46.81, 92.75, 25.88, 18.79,
                   67.05, 94.66, 92.28, 88.02, 6.44,  93.67, 64.92, 87.16, 40.81, 21.94,
                   79.3,  66.16, 77.88, 20.13, 13.44, 76.36, 2.02,  94.56, 13.51, 60.01,
                   41.9,  32.39, 17.02, 78.04, 91.45, 72.89, 60.03, 71.15, 53.61};
  const Assignment a77 = hungarian(c77, 7, 7);
  CHECK(a77.col_of_row == I64{2, 5, 4, 3, 6, 1, 0});
  CHECK(a77.total_cost == doctest::Approx(94.41999999999999).epsilon(kTol));
  const Assignment m77 = hungarian(c77, 7, 7, true);
  CHECK(m77.col_of_row == I64{6, 1, 3, 0, 4, 2, 5});
  CHECK(m77.total_cost == doctest::Approx(587.67).epsilon(kTol));

  const F64 c58 = {55.83, 90.61, 28.26, 22.22, 94.7,  94.31, 47.6,  80.08, 74.32, 94.93,
                   8.17,  89.82, 50.01, 44.9,  68.68, 61.65, 43.65, 29.11, 91.87, 81.88,
                   10.25, 40.45, 76.34, 87.91, 96.22, 24.07, 89.17, 69.49, 6.82,  21.06,
                   18.87, 7.74,  68.74, 31.01, 69.18, 8.17,  87.12, 69.56, 78.22, 60.64};
  const Assignment a58 = hungarian(c58, 5, 8);
  CHECK(a58.col_of_row == I64{3, 2, 4, 7, 1});
  CHECK(a58.total_cost == doctest::Approx(79.39).epsilon(kTol));
  CHECK(hungarian(c58, 5, 8, true).col_of_row == I64{5, 1, 2, 0, 4});

  // Tall: scipy assigns rows {0, 3, 4, 6, 7} to columns {3, 2, 1, 4, 0}; the others get -1.
  const F64 c85 = {45.77, 19.3,  94.24, 14.54, 52.13, 12.14, 10.84, 69.68, 88.88, 46.12,
                   79.46, 85.96, 53.54, 77.55, 29.29, 15.01, 18.91, 0.71,  7.12,  75.11,
                   90.33, 5.73,  72.09, 77.77, 68.12, 49.9,  48.55, 69.47, 24.51, 75.26,
                   19.23, 3.52,  93.37, 9.05,  19.67, 5.6,   1.02,  12.4,  92.13, 69.55};
  const Assignment a85 = hungarian(c85, 8, 5);
  CHECK(a85.col_of_row == I64{3, -1, -1, 2, 1, -1, 4, 0});
  CHECK(a85.total_cost == doctest::Approx(46.25000000000001).epsilon(kTol));
  const Assignment m85 = hungarian(c85, 8, 5, true);  // rows {0, 2, 4, 5, 7}
  CHECK(m85.col_of_row == I64{2, -1, 1, -1, 0, 4, -1, 3});
  CHECK(m85.total_cost == doctest::Approx(437.91999999999996).epsilon(kTol));
}

TEST_CASE("metrics: hungarian finds the brute-force optimum, ties and rectangles included") {
  // Small integer costs make many tied optima, where only the total is unique; every
  // injective row->column map is tried for r ≤ c (the transpose covers r > c).
  uint64_t state = 12345;
  auto next = [&](int64_t bound) {  // a fixed LCG: the same matrices on every machine
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<int64_t>((state >> 33) % static_cast<uint64_t>(bound));
  };
  for (int trial = 0; trial < 60; ++trial) {
    const int64_t r = 1 + next(5), c = r + next(3);
    const int64_t range = trial % 2 ? 4 : 1000;
    F64 cost(static_cast<size_t>(r * c));
    for (double& v : cost) v = static_cast<double>(next(range));
    I64 cols(static_cast<size_t>(c));
    std::iota(cols.begin(), cols.end(), int64_t{0});
    double best = INFINITY;
    do {  // permutations of all columns; the first r entries are the assignment
      double total = 0;
      for (int64_t i = 0; i < r; ++i) total += cost[static_cast<size_t>(i * c + cols[i])];
      best = std::min(best, total);
    } while (std::next_permutation(cols.begin(), cols.end()));
    const Assignment a = hungarian(cost, r, c);
    CHECK(a.total_cost == best);
    I64 used = a.col_of_row;  // one column per row, none twice
    std::sort(used.begin(), used.end());
    CHECK(std::adjacent_find(used.begin(), used.end()) == used.end());
    CHECK(used.front() >= 0);
    F64 transposed(cost.size());
    for (int64_t i = 0; i < r; ++i)
      for (int64_t j = 0; j < c; ++j)
        transposed[static_cast<size_t>(j * r + i)] = cost[static_cast<size_t>(i * c + j)];
    CHECK(hungarian(transposed, c, r).total_cost == best);
  }
}

TEST_CASE("metrics: clustering scores by hand") {
  // Renamed clusters are a perfect clustering.
  CHECK(clustering_accuracy(I64{0, 0, 1, 1, 2}, I64{7, 7, 3, 3, 5}) == 1.0);
  CHECK(normalized_mutual_info(I64{0, 0, 1, 1, 2}, I64{7, 7, 3, 3, 5}) ==
        doctest::Approx(1.0).epsilon(kTol));
  CHECK(adjusted_rand_index(I64{0, 0, 1, 1}, I64{1, 1, 0, 0}) == 1.0);
  // One element in the wrong cluster: 5 of 6 matched.
  CHECK(clustering_accuracy(I64{0, 0, 0, 1, 1, 1}, I64{0, 0, 1, 1, 1, 1}) ==
        doctest::Approx(5.0 / 6.0).epsilon(kTol));

  // Fewer clusters than classes: class 1 gets no cluster, so its F1 is 0, and the macro-F1
  // is (2·2/(2+4) + 0 + 2·2/(2+2)) / 3, scikit-learn's on the relabelled {0,0,0,0,2,2}.
  const ClusterMatching few = match_clusters(I64{0, 0, 1, 1, 2, 2}, I64{0, 0, 0, 0, 1, 1});
  CHECK(few.accuracy == doctest::Approx(4.0 / 6.0).epsilon(kTol));
  CHECK(few.macro_f1 == doctest::Approx((2.0 / 3.0 + 1.0) / 3.0).epsilon(kTol));

  // Truth {0,0,1,1}, clusters {0,0,0,1}: contingency [[2,0],[1,1]], a = (2,2), b = (3,1).
  const I64 t = {0, 0, 1, 1}, p = {0, 0, 0, 1};
  const double mi = 0.5 * std::log(4.0 * 2 / (2 * 3)) + 0.25 * std::log(4.0 * 1 / (2 * 3)) +
                    0.25 * std::log(4.0 * 1 / (2 * 1));
  const double h_true = std::log(2.0);
  const double h_pred = -(0.75 * std::log(0.75) + 0.25 * std::log(0.25));
  CHECK(normalized_mutual_info(t, p) ==
        doctest::Approx(mi / (0.5 * (h_true + h_pred))).epsilon(kTol));
  // Σ C(n_ij, 2) = 1, Σ C(a_i, 2) = 2, Σ C(b_j, 2) = 3, E = 2·3 / C(4, 2) = 1, max = 2.5:
  // ARI = (1 − 1) / (2.5 − 1) = 0.
  CHECK(adjusted_rand_index(t, p) == doctest::Approx(0.0).epsilon(kTol));

  // scikit-learn's limit cases.
  CHECK(normalized_mutual_info(I64{0, 0, 0}, I64{1, 1, 1}) == 1.0);
  CHECK(normalized_mutual_info(I64{0, 1, 2}, I64{1, 1, 1}) == 0.0);
  CHECK(adjusted_rand_index(I64{0, 1, 2}, I64{0, 0, 0}) == 0.0);
}

TEST_CASE("metrics: clustering scores equal scikit-learn's") {
  const I64 t = {0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2,
                 2, 2, 2, 0, 1, 2, 0, 1, 2, 2, 1, 0, 0, 1, 2};
  const I64 p4 = {7, 7, 7, 5, 7, 9, 9, 9, 2, 9, 9, 5, 5, 5, 5,
                  2, 5, 7, 7, 9, 5, 2, 9, 5, 5, 9, 7, 7, 2, 5};
  // adjusted_rand_score(t, p4), normalized_mutual_info_score(t, p4)
  CHECK(adjusted_rand_index(t, p4) == doctest::Approx(0.5968068301980392).epsilon(kTol));
  CHECK(normalized_mutual_info(t, p4) == doctest::Approx(0.6142013383663865).epsilon(kTol));
  // 4 clusters, 3 classes: linear_sum_assignment(-contingency) leaves cluster 2 unmatched.
  const ClusterMatching m4 = match_clusters(t, p4);
  CHECK(m4.accuracy == doctest::Approx(0.8).epsilon(kTol));
  CHECK(m4.clusters == I64{2, 5, 7, 9});
  CHECK(m4.class_of_cluster == I64{-1, 2, 0, 1});

  // Cluster 2 merged into 9: 3 clusters, all matched, so macro-F1 is scikit-learn's on the
  // relabelled prediction, f1_score(t, mapped, average='macro').
  I64 p3 = p4;
  for (auto& v : p3) v = v == 2 ? 9 : v;
  const ClusterMatching m3 = match_clusters(t, p3);
  CHECK(m3.accuracy == doctest::Approx(0.8666666666666667).epsilon(kTol));
  CHECK(m3.class_of_cluster == I64{2, 0, 1});
  CHECK(m3.macro_f1 == doctest::Approx(0.8632543926661574).epsilon(kTol));
  CHECK(adjusted_rand_index(t, p3) == doctest::Approx(0.6225112140508696).epsilon(kTol));
  CHECK(normalized_mutual_info(t, p3) == doctest::Approx(0.6053818416698089).epsilon(kTol));
}

TEST_CASE("metrics: assignment and clustering reject bad input") {
  CHECK_THROWS_WITH_AS(hungarian(F64{1, 2, 3}, 2, 2), doctest::Contains("expected 2x2 = 4"), Error);
  CHECK_THROWS_WITH_AS(hungarian(F64{1, INFINITY, 3, 4}, 2, 2),
                       doctest::Contains("cost[1] = inf is not finite"), Error);
  CHECK_THROWS_AS(hungarian(F64{}, 0, 0), Error);
  CHECK_THROWS_WITH_AS(adjusted_rand_index(I64{0, 1}, I64{0}),
                       doctest::Contains("adjusted_rand_index: y_true has 2"), Error);
  CHECK_THROWS_AS(normalized_mutual_info(I64{}, I64{}), Error);
  CHECK_THROWS_AS(clustering_accuracy(I64{}, I64{}), Error);
}

// ----------------------------------------------------------------- segmentation

TEST_CASE("metrics: mIoU with an ignore label, per class and per group") {
  // Pixel 5 has the ignore label 255 and is skipped, even though its prediction is 2.
  const I64 t = {0, 0, 1, 1, 2, 255, 0, 1};
  const I64 p = {0, 1, 1, 1, 0, 2, 0, 0};
  ConfusionMatrix cm(4);  // class 3 appears nowhere
  cm.add(t, p, 255);
  CHECK(cm.counts() == I64{2, 1, 0, 0, 1, 2, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0});
  // IoU_0 = 2 / (3 + 4 − 2), IoU_1 = 2 / (3 + 3 − 2), IoU_2 = 0 / (1 + 0 − 0), IoU_3 = 0/0.
  const F64 iou = per_class_iou(cm);
  CHECK(iou[0] == doctest::Approx(0.4).epsilon(kTol));
  CHECK(iou[1] == doctest::Approx(0.5).epsilon(kTol));
  CHECK(iou[2] == 0.0);
  CHECK(std::isnan(iou[3]));
  CHECK(mean_iou(cm) == doctest::Approx(0.3).epsilon(kTol));  // class 3 left out
  CHECK(mean_iou(t, p, 4, 255) == doctest::Approx(0.3).epsilon(kTol));
  CHECK(pixel_accuracy(cm) == doctest::Approx(4.0 / 7.0).epsilon(kTol));

  // Groups {0, 1} -> 0, {2} -> 1, class 3 -> 1 (empty union, skipped), group 2 empty.
  const F64 g = group_mean_iou(cm, I64{0, 0, 1, 1}, 3);
  CHECK(g[0] == doctest::Approx(0.45).epsilon(kTol));
  CHECK(g[1] == 0.0);
  CHECK(std::isnan(g[2]));
  // -1: a class in no group.
  CHECK(group_mean_iou(cm, I64{-1, 0, 0, 0}, 1)[0] == doctest::Approx(0.25).epsilon(kTol));

  // Batches accumulate: two halves give the matrix of the whole.
  ConfusionMatrix halves(4);
  halves.add(std::vector<uint8_t>{0, 0, 1, 1}, std::vector<int32_t>{0, 1, 1, 1}, 255);
  halves.add(std::vector<uint8_t>{2, 255, 0, 1}, std::vector<int32_t>{0, 2, 0, 0}, 255);
  CHECK(halves.counts() == cm.counts());
}

TEST_CASE("metrics: segmentation rejects bad input") {
  ConfusionMatrix cm(3);
  CHECK_THROWS_WITH_AS(cm.add(I64{0, 1}, I64{0, 255}, 255),
                       doctest::Contains("y_pred[1] = 255 is outside [0, 3)"), Error);
  CHECK_THROWS_WITH_AS(cm.add(I64{0, 7}, I64{0, 1}, 255),
                       doctest::Contains("y_true[1] = 7 is outside [0, 3) and is not the ignore"),
                       Error);
  CHECK_THROWS_WITH_AS(mean_iou(cm), doctest::Contains("mean_iou: the confusion matrix is empty"),
                       Error);
  CHECK_THROWS_AS(mean_iou(I64{255, 255}, I64{0, 0}, 3, 255), Error);  // all pixels ignored
  cm.add(I64{0}, I64{0});
  CHECK_THROWS_WITH_AS(group_mean_iou(cm, I64{0, 0}, 1),
                       doctest::Contains("group_of_class has 2 entries"), Error);
  CHECK_THROWS_WITH_AS(group_mean_iou(cm, I64{0, 0, 2}, 2),
                       doctest::Contains("group_of_class[2] = 2"), Error);
}

// ----------------------------------------------------------------- regression

TEST_CASE("metrics: MSE, relative L2 and PSNR by hand") {
  const F64 t = {1, 2, 2};  // ‖t‖ = 3
  const F64 p = {1, 2, 4};  // error (0, 0, 2)
  CHECK(mse(t, p) == doctest::Approx(4.0 / 3.0).epsilon(kTol));
  CHECK(relative_l2(t, p) == doctest::Approx(2.0 / 3.0).epsilon(kTol));
  CHECK(psnr(t, p, 2.0) == doctest::Approx(10 * std::log10(3.0)).epsilon(kTol));
  CHECK(psnr(t, t, 1.0) == INFINITY);
  CHECK(mse(std::vector<float>{1.5f}, F64{0.5}) == 1.0);
  // Any contiguous range: a std::array, or a span over raw data such as a tensor's.
  const std::array<float, 3> pa = {1, 2, 4};
  float raw[3] = {1, 2, 2};
  CHECK(relative_l2(std::span<float>(raw, 3), pa) == doctest::Approx(2.0 / 3.0).epsilon(1e-7));

  // Two samples: (3, 4) predicted exactly, (0, 2) predicted as (0, 1): errors 0 and 1/2.
  const F64 bt = {3, 4, 0, 2}, bp = {3, 4, 0, 1};
  CHECK(mean_relative_l2(bt, bp, 2) == doctest::Approx(0.25).epsilon(kTol));
  CHECK(relative_l2(bt, bp) == doctest::Approx(1.0 / std::sqrt(29.0)).epsilon(kTol));
  CHECK(mean_relative_l2(bt, bp, 1) == doctest::Approx(relative_l2(bt, bp)).epsilon(kTol));
}

TEST_CASE("metrics: regression rejects bad input") {
  CHECK_THROWS_WITH_AS(mse(F64{1, 2}, F64{1}), doctest::Contains("mse: y_true has 2"), Error);
  CHECK_THROWS_WITH_AS(relative_l2(F64{0, 0}, F64{1, 1}), doctest::Contains("all zeros"), Error);
  CHECK_THROWS_WITH_AS(mean_relative_l2(F64{1, 2, 3}, F64{1, 2, 3}, 2),
                       doctest::Contains("cannot be split into n_samples = 2"), Error);
  CHECK_THROWS_WITH_AS(mean_relative_l2(F64{1, 0}, F64{1, 1}, 2),
                       doctest::Contains("sample 1 of y_true is all zeros"), Error);
  CHECK_THROWS_WITH_AS(psnr(F64{1}, F64{1}, 0.0), doctest::Contains("psnr: data_range = 0"), Error);
  CHECK_THROWS_WITH_AS(psnr(F64{1}, F64{NAN}, 1.0), doctest::Contains("psnr: y_pred[0]"), Error);
}

// ----------------------------------------------------------------- attribution

TEST_CASE("metrics: deletion / insertion pieces by hand") {
  // Highest first; the tie between pixels 1 and 2 keeps index order.
  CHECK(saliency_order(F64{0.1, 0.5, 0.5, 0.9, 0.1}) == I64{3, 1, 2, 0, 4});
  CHECK(saliency_order(std::vector<float>{2, 2, 2}) == I64{0, 1, 2});
  CHECK(perturbation_counts(10, 4) == I64{0, 2, 5, 7, 10});
  CHECK(perturbation_counts(8, 4) == I64{0, 2, 4, 6, 8});
  // (1/2)·[(1 + 0.5)/2 + (0.5 + 0)/2] = 0.5
  CHECK(curve_auc(F64{1, 0.5, 0}) == doctest::Approx(0.5).epsilon(kTol));
  CHECK(deletion_auc(F64{1, 0.5, 0}) == doctest::Approx(0.5).epsilon(kTol));
  // (1/4)·[(0+0)/2 + (0+1)/2 + (1+1)/2 + (1+1)/2] = 0.625
  CHECK(insertion_auc(F64{0, 0, 1, 1, 1}) == doctest::Approx(0.625).epsilon(kTol));
  CHECK(min_max_normalize(F64{2, 4, 3}) == F64{0, 1, 0.5});
  CHECK(min_max_normalize(F64{3, 3}) == F64{0, 0});
}

TEST_CASE("metrics: pointing game, mask and box, with tolerance") {
  // 4×5 map, maximum at row 1, column 3. Object: row 3, columns 0–1; its nearest pixel
  // (row 3, column 1) is √8 ≈ 2.83 px from the maximum.
  F64 s(20, 0.0);
  s[1 * 5 + 3] = 1.0;
  std::vector<uint8_t> mask(20, 0);
  mask[3 * 5 + 0] = mask[3 * 5 + 1] = 1;
  CHECK_FALSE(pointing_game_hit(s, mask, 4, 5));
  CHECK_FALSE(pointing_game_hit(s, mask, 4, 5, 2.8));
  CHECK(pointing_game_hit(s, mask, 4, 5, 2.83));
  const Box box{0, 3, 2, 4};  // the same pixels as the mask
  CHECK_FALSE(pointing_game_hit(s, 4, 5, box, 2.8));
  CHECK(pointing_game_hit(s, 4, 5, box, 2.83));
  CHECK(pointing_game_hit(s, 4, 5, Box{3, 1, 4, 2}));  // the maximum's own pixel
  // Ties: the first maximum in row-major order counts (pixel 0, outside the object).
  F64 flat(20, 1.0);
  CHECK_FALSE(pointing_game_hit(flat, mask, 4, 5));
  CHECK(pointing_game_hit(flat, 4, 5, Box{0, 0, 1, 1}));
}

TEST_CASE("metrics: energy pointing game by hand") {
  CHECK(energy_pointing_game(F64{1, 2, 3, 4}, std::vector<uint8_t>{0, 1, 1, 0}) ==
        doctest::Approx(0.5).epsilon(kTol));
  // 2×2 map {1, 2; 3, 4}, box = column 1: (2 + 4) / 10.
  CHECK(energy_pointing_game(F64{1, 2, 3, 4}, 2, 2, Box{1, 0, 2, 2}) ==
        doctest::Approx(0.6).epsilon(kTol));
  // A box reaching past the image counts only its part inside.
  CHECK(energy_pointing_game(F64{1, 2, 3, 4}, 2, 2, Box{-3, 1, 9, 9}) ==
        doctest::Approx(0.7).epsilon(kTol));
  CHECK(std::isnan(energy_pointing_game(F64{0, 0}, F64{1, 0})));
}

TEST_CASE("metrics: attribution rejects bad input") {
  CHECK_THROWS_WITH_AS(curve_auc(F64{1}), doctest::Contains("curve_auc: 1 points"), Error);
  CHECK_THROWS_AS(saliency_order(F64{}), Error);
  CHECK_THROWS_WITH_AS(saliency_order(F64{1, NAN}), doctest::Contains("saliency[1]"), Error);
  CHECK_THROWS_AS(perturbation_counts(10, 0), Error);
  CHECK_THROWS_WITH_AS(energy_pointing_game(F64{1, -2}, F64{1, 0}),
                       doctest::Contains("saliency[1] = -2 is negative"), Error);
  CHECK_THROWS_WITH_AS(pointing_game_hit(F64{1, 2, 3}, F64{1, 0, 0, 0}, 2, 2),
                       doctest::Contains("pointing_game_hit: saliency has 3 elements"), Error);
  CHECK_THROWS_WITH_AS(pointing_game_hit(F64{1, 2, 3, 4}, 2, 2, Box{1, 1, 1, 2}),
                       doctest::Contains("is empty"), Error);
  CHECK_THROWS_AS(pointing_game_hit(F64{1, 2, 3, 4}, F64{1, 0, 0, 0}, 2, 2, -1.0), Error);
  CHECK_THROWS_AS(cam_box(F64{1, 2, 3, 4}, 2, 2, 1.5), Error);
}

// ----------------------------------------------------------------- boxes

TEST_CASE("metrics: boxes, masks and connected components by hand") {
  CHECK(box_iou(Box{0, 0, 2, 2}, Box{1, 1, 3, 3}) == doctest::Approx(1.0 / 7.0).epsilon(kTol));
  CHECK(box_iou(Box{0, 0, 2, 2}, Box{2, 0, 4, 2}) == 0.0);  // touching, half-open
  CHECK(std::isnan(box_iou(Box{}, Box{})));
  CHECK(Box::from_inclusive(0, 0, 1, 1) == Box{0, 0, 2, 2});
  CHECK(Box{1, 2, 4, 3}.area() == 3);
  CHECK(Box{3, 0, 1, 5}.empty());

  // 3×4 mask with pixels at (row 1, column 1) and (row 2, column 3).
  std::vector<uint8_t> m(12, 0);
  m[1 * 4 + 1] = m[2 * 4 + 3] = 1;
  CHECK(box_from_mask(m, 3, 4) == Box{1, 1, 4, 3});
  CHECK_FALSE(box_from_mask(std::vector<uint8_t>(12, 0), 3, 4).has_value());
  CHECK(box_mask(Box{1, 1, 4, 3}, 3, 4) ==
        std::vector<uint8_t>{0, 0, 0, 0, 0, 1, 1, 1, 0, 1, 1, 1});

  // 1 1 0 0
  // 0 0 1 0
  // 0 0 1 0
  // 1 0 0 1
  const std::vector<uint8_t> cc = {1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 1};
  // 4-connected: two components of 2 pixels tie; the first in raster order wins.
  CHECK(largest_connected_component(cc, 4, 4, Connectivity::four) ==
        std::vector<uint8_t>{1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  // 8-connected: the diagonals join the top pair, the column and the corner (5 pixels).
  CHECK(largest_connected_component(cc, 4, 4, Connectivity::eight) ==
        std::vector<uint8_t>{1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1});
  CHECK(largest_connected_component(std::vector<uint8_t>(4, 0), 2, 2, Connectivity::eight) ==
        std::vector<uint8_t>(4, 0));

  CHECK(mask_iou(std::vector<uint8_t>{1, 1, 0, 0}, F64{0, 1, 1, 0}) ==
        doctest::Approx(1.0 / 3.0).epsilon(kTol));
  CHECK(std::isnan(mask_iou(I64{0, 0}, I64{0, 0})));
}

TEST_CASE("metrics: the CAM box") {
  // 0 0 0 0        normalised: 9 -> 1, 8 -> 0.89, 7 -> 0.78, 6 -> 0.67
  // 0 9 8 0
  // 0 0 0 6
  // 7 0 0 0
  const F64 cam = {0, 0, 0, 0, 0, 9, 8, 0, 0, 0, 0, 6, 7, 0, 0, 0};
  CHECK(cam_box(cam, 4, 4, 0.5) == Box{1, 1, 4, 3});  // 8-connected: 9, 8 and 6
  CHECK(cam_box(cam, 4, 4, 0.5, Connectivity::four) == Box{1, 1, 3, 2});
  CHECK(cam_box(cam, 4, 4, 0.95) == Box{1, 1, 2, 2});
  CHECK_FALSE(cam_box(F64(16, 2.0), 4, 4, 0.2).has_value());  // a constant map points nowhere
}

TEST_CASE("metrics: boxes reject bad input") {
  CHECK_THROWS_WITH_AS(box_from_mask(F64{1, 0, 0}, 2, 2),
                       doctest::Contains("box_from_mask: mask has 3 elements"), Error);
  CHECK_THROWS_AS(largest_connected_component(F64{1}, 0, 1, Connectivity::four), Error);
  CHECK_THROWS_WITH_AS(mask_iou(F64{1, 0}, F64{1}), doctest::Contains("mask_iou: mask_a has 2"),
                       Error);
  CHECK_THROWS_AS(box_mask(Box{0, 0, 1, 1}, 0, 3), Error);
}

// ----------------------------------------------------------------- retrieval

TEST_CASE("metrics: recall@k by hand") {
  // 3 queries × 4 items. Query 1's right item (1) ties with item 0 and trails item 2.
  const F64 sim = {0.9, 0.1, 0.3, 0.2,  //
                   0.5, 0.5, 0.7, 0.1,  //
                   0.2, 0.3, 0.1, 0.8};
  const I64 right = {0, 1, 2};
  CHECK(correct_item_ranks(sim, 3, 4, right) == I64{0, 2, 3});
  CHECK(recall_at_k(sim, 3, 4, right, 1) == doctest::Approx(1.0 / 3.0).epsilon(kTol));
  CHECK(recall_at_k(sim, 3, 4, right, 2) == doctest::Approx(1.0 / 3.0).epsilon(kTol));
  CHECK(recall_at_k(sim, 3, 4, right, 3) == doctest::Approx(2.0 / 3.0).epsilon(kTol));
  CHECK(recall_at_k(sim, 3, 4, right, 4) == 1.0);
  // Several right items: the best rank counts (query 2: item 1 is second).
  const std::vector<I64> sets = {{0}, {1}, {2, 1}};
  CHECK(correct_item_ranks(sim, 3, 4, sets) == I64{0, 2, 1});
  CHECK(recall_at_k(sim, 3, 4, sets, 2) == doctest::Approx(2.0 / 3.0).epsilon(kTol));

  const std::vector<I64> ranked = {{0, 2}, {2, 0, 1}, {3, 1, 0, 2}};
  CHECK(recall_at_k_from_ranking(ranked, right, 1) == doctest::Approx(1.0 / 3.0).epsilon(kTol));
  CHECK(recall_at_k_from_ranking(ranked, right, 3) == doctest::Approx(2.0 / 3.0).epsilon(kTol));
  CHECK(recall_at_k_from_ranking(ranked, right, 4) == 1.0);
  CHECK(recall_at_k_from_ranking(ranked, sets, 2) == doctest::Approx(2.0 / 3.0).epsilon(kTol));
  CHECK(recall_at_k(I64{0, 5, 1, 2}, 2) == 0.5);
}

TEST_CASE("metrics: retrieval rejects bad input") {
  const F64 sim = {0.9, 0.1, 0.3, 0.2};
  CHECK_THROWS_WITH_AS(recall_at_k(sim, 2, 2, I64{0, 2}, 1),
                       doctest::Contains("right item 2 of query 1 is outside [0, 2)"), Error);
  CHECK_THROWS_WITH_AS(recall_at_k(sim, 2, 2, I64{0}, 1),
                       doctest::Contains("1 lists of right items for 2 queries"), Error);
  CHECK_THROWS_WITH_AS(recall_at_k(sim, 2, 2, I64{0, 1}, 0), doctest::Contains("k = 0"), Error);
  CHECK_THROWS_AS(recall_at_k(sim, 3, 2, I64{0, 1, 1}, 1), Error);
  CHECK_THROWS_AS(recall_at_k_from_ranking({{0}}, std::vector<I64>{{}}, 1), Error);
  CHECK_THROWS_AS(recall_at_k(I64{-1}, 1), Error);
}

// ----------------------------------------------------------------- summary

TEST_CASE("metrics: mean, sample std, median and SeedSummary") {
  const F64 v = {1, 2, 3, 4};
  CHECK(mean(v) == 2.5);
  CHECK(sample_std(v) == doctest::Approx(std::sqrt(5.0 / 3.0)).epsilon(kTol));  // n − 1
  CHECK(std::isnan(sample_std(F64{7})));
  CHECK(median(v) == 2.5);
  CHECK(median(std::vector<int>{3, 1, 2}) == 2.0);

  const SeedSummary s = SeedSummary::of(F64{0.87, 0.88, 0.86});
  CHECK(s.n == 3);
  CHECK(s.mean == doctest::Approx(0.87).epsilon(kTol));
  CHECK(s.stddev == doctest::Approx(0.01).epsilon(1e-9));
  CHECK(s.str() == "0.87 ± 0.01 (3 seeds)");
  CHECK(SeedSummary::of(F64{0.5}).str() == "0.5 (1 seed)");
  CHECK(SeedSummary::of(F64{73.884, 70.1}).str(4) == "71.99 ± 2.7 (2 seeds)");

  CHECK_THROWS_WITH_AS(mean(F64{}), doctest::Contains("mean: values is empty"), Error);
  CHECK_THROWS_AS(median(F64{1, NAN}), Error);
}
