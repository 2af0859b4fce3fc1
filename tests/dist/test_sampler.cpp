// DistributedSampler: disjoint shards that cover the data set, equal in size (padded or cut),
// the same permutation on every rank, a new one each epoch; shard() gathers a rank's rows.
#include <doctest/doctest.h>

#include <algorithm>
#include <ember/dist/sampler.hpp>
#include <set>
#include <vector>

using namespace ember;
using namespace ember::dist;

TEST_CASE("DistributedSampler shards cover the data, are equal in size and reshuffle per epoch") {
  for (int world : {1, 2, 3, 4}) {
    for (bool drop_last : {false, true}) {
      const int64_t n = 10;
      std::vector<int64_t> all;
      for (int r = 0; r < world; ++r) {
        DistributedSampler s(n, world, r, {.seed = 5, .drop_last = drop_last});
        const auto idx = s.indices(0);
        CHECK(int64_t(idx.size()) == (drop_last ? n / world : (n + world - 1) / world));
        all.insert(all.end(), idx.begin(), idx.end());
      }
      const std::set<int64_t> distinct(all.begin(), all.end());
      if (drop_last)
        CHECK(distinct.size() == all.size());  // disjoint, nothing repeated
      else
        CHECK(int64_t(distinct.size()) == n);  // every example, padding repeats
      CHECK(*std::max_element(all.begin(), all.end()) < n);
    }
  }
  DistributedSampler a(100, 2, 0, {.seed = 1}), b(100, 2, 0, {.seed = 1});
  CHECK(a.indices(3) == b.indices(3));  // a pure function of (seed, epoch)
  CHECK(a.indices(0) != a.indices(1));  // reshuffled per epoch
  DistributedSampler plain(7, 3, 2, {.shuffle = false});
  CHECK(plain.indices(0) == std::vector<int64_t>{2, 5, 1});  // 0..6 padded with 0, 1: every 3rd
  CHECK_THROWS_AS(DistributedSampler(5, 2, 2), Error);
  CHECK_THROWS_AS(DistributedSampler(1, 2, 0, {.drop_last = true}), Error);
}

TEST_CASE("shard() gathers this rank's examples in the sampler's order") {
  auto x = Tensor<float>::arange(0.f, 12.f).reshape({6, 2});
  auto y = Tensor<int64_t>::arange(0, 6);
  data::TensorDataset<float, int64_t> ds(x, y);
  DistributedSampler s(6, 2, 1, {.seed = 9});
  const auto idx = s.indices(4);
  const auto part = shard(ds, s, 4);
  REQUIRE(part.size() == int64_t(idx.size()));
  for (size_t i = 0; i < idx.size(); ++i) {
    CHECK(part.targets().data_ptr()[i] == idx[i]);
    CHECK(part.inputs().data_ptr()[2 * i + 1] == float(2 * idx[i] + 1));
  }
  CHECK_THROWS_WITH_AS(shard(ds, DistributedSampler(7, 2, 0), 0), doctest::Contains("made for 7"),
                       Error);
}
