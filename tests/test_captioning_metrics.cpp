// metrics/captioning.hpp: CIDEr-D, plain CIDEr and Self-CIDEr on hand-computed cases.
//
// The corpus (the "training references") has four images:
//   1: "a b c", "a b"    2: "a d"    3: "e f"    4: "a man rides a horse"
// so N = 4 and, e.g., df(a) = 3 (images 1, 2, 4), df(b) = df(d) = 1, df(a b) = 1 (counted once
// per image), df(a a) = 0 (idf as for df = 1: log 4).
#include <doctest/doctest.h>

#include <cmath>
#include <ember/core/error.hpp>
#include <ember/metrics/captioning.hpp>
#include <string>
#include <vector>

using namespace ember;
using metrics::Cider;

namespace {

Cider corpus_cider(metrics::CiderOptions o = {}) {
  return Cider({{"a b c", "a b"}, {"a d"}, {"e f"}, {"a man rides a horse"}}, o);
}

const double L4 = std::log(4.0);
const double w_a = std::log(4.0) - std::log(3.0);  // idf of "a"
const double w_b = std::log(4.0);                  // idf of "b", "d", and of unseen n-grams

}  // namespace

TEST_CASE("whitespace tokenisation and document frequencies from the corpus") {
  CHECK(metrics::tokenize_whitespace("  a  man\trides\n") ==
        std::vector<std::string>{"a", "man", "rides"});
  CHECK(metrics::tokenize_whitespace(" ").empty());
  const Cider c = corpus_cider();
  CHECK(c.num_documents() == 4);
  CHECK(c.document_frequency("a") == 3);
  CHECK(c.document_frequency("a b") == 1);  // in both references of image 1: counted once
  CHECK(c.document_frequency("b c") == 1);
  CHECK(c.document_frequency("a man rides a") == 1);
  CHECK(c.document_frequency("zebra") == 0);
  CHECK(c.idf("a") == doctest::Approx(w_a).epsilon(1e-12));
  CHECK(c.idf("zebra") == doctest::Approx(L4).epsilon(1e-12));
}

TEST_CASE("CIDEr-D: identical, disjoint and partial matches by hand") {
  const Cider c = corpus_cider();
  // Identical with n-grams of all four orders: every order's cosine is 1, so 10.
  CHECK(c.cider_d("a man rides a horse", {"a man rides a horse"}) ==
        doctest::Approx(10.0).epsilon(1e-12));
  // Identical with three words: no 4-gram, so that order scores 0: 10 * 3/4.
  CHECK(c.cider_d("a b c", {"a b c"}) == doctest::Approx(7.5).epsilon(1e-12));
  // No shared n-gram: 0.
  CHECK(c.cider_d("x y z w", {"a b c", "a man rides a horse"}) == 0.0);
  // "a b" against "a d": unigram cosine w_a^2 / (w_a^2 + w_b^2), no shared bigram, no 3- or
  // 4-grams; equal lengths, so no penalty.
  const double cos1 = w_a * w_a / (w_a * w_a + w_b * w_b);
  CHECK(c.cider_d("a b", {"a d"}) == doctest::Approx(10 * cos1 / 4).epsilon(1e-12));
  CHECK(c.cider("a b", {"a d"}) == doctest::Approx(10 * cos1 / 4).epsilon(1e-12));
  // Several references: the mean of the single-reference scores.
  const double one = c.cider_d("a b", {"a d"}), two = c.cider_d("a b", {"a b c"});
  CHECK(c.cider_d("a b", {"a d", "a b c"}) == doctest::Approx((one + two) / 2).epsilon(1e-12));
  // The per-order terms average to the score.
  const auto per = c.per_order("a b", {"a d", "a b c"});
  REQUIRE(per.size() == 4);
  CHECK((per[0] + per[1] + per[2] + per[3]) / 4 ==
        doctest::Approx(c.cider_d("a b", {"a d", "a b c"})).epsilon(1e-12));
  CHECK(per[2] == 0.0);
}

TEST_CASE("CIDEr-D clips the candidate's counts and penalises the length difference") {
  const Cider c = corpus_cider();
  // "a a a b" against "a b". Unigrams: candidate (3 w_a, w_b), reference (w_a, w_b); clipped
  // dot w_a^2 + w_b^2, unclipped 3 w_a^2 + w_b^2. Bigrams: candidate "a a" x2 and "a b", both of
  // idf log 4, reference "a b": cosine 1 / sqrt(5) either way. Lengths 4 and 2: exp(-4 / 72).
  const double n_c = std::sqrt(9 * w_a * w_a + w_b * w_b), n_r = std::sqrt(w_a * w_a + w_b * w_b);
  const double clipped = (w_a * w_a + w_b * w_b) / (n_c * n_r);
  const double unclipped = (3 * w_a * w_a + w_b * w_b) / (n_c * n_r);
  const double cos2 = 1 / std::sqrt(5.0);
  CHECK(c.cider_d("a a a b", {"a b"}) ==
        doctest::Approx(10 * std::exp(-4.0 / 72) * (clipped + cos2) / 4).epsilon(1e-12));
  CHECK(c.cider("a a a b", {"a b"}) == doctest::Approx(10 * (unclipped + cos2) / 4).epsilon(1e-12));
  CHECK(c.cider_d("a a a b", {"a b"}) < c.cider("a a a b", {"a b"}));
  // Repeating a matched word does not pay under CIDEr-D's clipping.
  CHECK(c.cider_d("a a a b", {"a b"}) < c.cider_d("a b", {"a b"}));

  // The note's normalised term frequency: candidate unigrams (3/4 w_a, 1/4 w_b), reference
  // (1/2 w_a, 1/2 w_b), clipped dot 1/4 w_a^2 + 1/8 w_b^2; bigrams (2/3, 1/3) x log 4 against
  // (1) x log 4: cosine 1 / sqrt(5) again.
  const Cider cn = corpus_cider({.normalised_tf = true});
  const double dot = 0.25 * w_a * w_a + 0.125 * w_b * w_b;
  const double nc = std::sqrt(0.5625 * w_a * w_a + 0.0625 * w_b * w_b);
  const double nr = std::sqrt(0.25 * w_a * w_a + 0.25 * w_b * w_b);
  CHECK(cn.cider_d("a a a b", {"a b"}) ==
        doctest::Approx(10 * std::exp(-4.0 / 72) * (dot / (nc * nr) + cos2) / 4).epsilon(1e-12));
  // Without repeated n-grams the two forms agree.
  CHECK(cn.cider_d("a b", {"a d"}) == doctest::Approx(c.cider_d("a b", {"a d"})).epsilon(1e-12));
  (void)L4;
}

TEST_CASE("leave-one-out CIDEr-D of a reference set") {
  const Cider c = corpus_cider();
  const std::vector<std::string> refs = {"a b c", "a b", "a d"};
  const double want = (c.cider_d("a b c", {"a b", "a d"}) + c.cider_d("a b", {"a b c", "a d"}) +
                       c.cider_d("a d", {"a b c", "a b"})) /
                      3;
  CHECK(c.leave_one_out_cider_d(refs) == doctest::Approx(want).epsilon(1e-12));
  CHECK(c.leave_one_out_cider_d({"a man rides a horse", "a man rides a horse"}) ==
        doctest::Approx(10.0).epsilon(1e-12));
}

TEST_CASE("Self-CIDEr: identical captions 0, mutually disjoint 1, and hand cases between") {
  const Cider c = corpus_cider();
  const std::string h = "a man rides a horse";
  CHECK(std::abs(c.self_cider({h, h, h, h, h})) < 1e-12);
  // No two captions share a word: K = I, all eigenvalues 1: -log(1/5) / log 5 = 1.
  const std::vector<std::string> disjoint = {"p1 q1 r1 s1", "p2 q2 r2 s2", "p3 q3 r3 s3",
                                             "p4 q4 r4 s4", "p5 q5 r5 s5"};
  CHECK(c.self_cider(disjoint) == doctest::Approx(1.0).epsilon(1e-9));
  // Two the same and one apart: K = [[1,1,0],[1,1,0],[0,0,1]], eigenvalues 2, 1, 0:
  // -log(sqrt 2 / (sqrt 2 + 1)) / log 3.
  CHECK(c.self_cider({h, h, "p1 q1 r1 s1"}) ==
        doctest::Approx(std::log((std::sqrt(2.0) + 1) / std::sqrt(2.0)) / std::log(3.0))
            .epsilon(1e-9));
  // "a b" and "a d": K = [[1/2, x], [x, 1/2]] (orders 3 and 4 are empty, so the diagonal is
  // 2/4) with x = (unigram cosine) / 4; eigenvalues 1/2 +- x.
  const double x = w_a * w_a / (w_a * w_a + w_b * w_b) / 4;
  const numeric::Matrix k = c.self_cider_kernel({"a b", "a d"});
  CHECK(k(0, 0) == doctest::Approx(0.5).epsilon(1e-12));
  CHECK(k(0, 1) == doctest::Approx(x).epsilon(1e-12));
  CHECK(k(1, 0) == doctest::Approx(x).epsilon(1e-12));
  const double hi = std::sqrt(0.5 + x), lo = std::sqrt(0.5 - x);
  CHECK(c.self_cider({"a b", "a d"}) ==
        doctest::Approx(-std::log(hi / (hi + lo)) / std::log(2.0)).epsilon(1e-9));
  // More overlap, less diversity.
  CHECK(c.self_cider({h, "a man rides a dog"}) < c.self_cider({h, "the girl walks a dog"}));
  // An empty caption adds a zero row: it counts as absent.
  CHECK(std::abs(c.self_cider({h, ""})) < 1e-9);
  CHECK(c.self_cider({"", ""}) == 0.0);
  // The CIDEr-D kernel (clipped, length-penalised) is available too; identical captions still
  // score 0.
  CHECK(std::abs(c.self_cider({h, h, h}, metrics::SelfCiderKernel::CiderD)) < 1e-12);
}

TEST_CASE("captioning metrics reject bad input") {
  CHECK_THROWS_AS(Cider({}), Error);
  CHECK_THROWS_AS(Cider({{"a"}}, {.n = 0}), Error);
  const Cider c = corpus_cider();
  CHECK_THROWS_AS(c.cider_d("a b", {}), Error);
  CHECK_THROWS_AS(c.self_cider({"a b"}), Error);
  CHECK_THROWS_AS(c.leave_one_out_cider_d({"a b"}), Error);
}
