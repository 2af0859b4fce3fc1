// DistributedSampler: which examples each rank trains on in an epoch (PyTorch's
// torch.utils.data.DistributedSampler). Every rank draws the same permutation from the shared
// seed and the epoch, pads it (repeating its first indices) to a multiple of the world size,
// or with drop_last cuts it down to one, and takes every world-th index from its rank on. So
// the shards are disjoint up to the padding, reshuffled each epoch, and equal in size: every
// rank takes the same number of steps, which the collectives of each step need.
//
//   dist::DistributedSampler sampler(train.size(), {.seed = 1});
//   data::DataLoader loader(dist::shard(train, sampler, epoch), {.batch_size = 64});
#pragma once

#include <cstdint>
#include <ember/core/random.hpp>
#include <ember/data/dataset.hpp>
#include <ember/dist/process_group.hpp>
#include <numeric>
#include <utility>
#include <vector>

namespace ember::dist {

struct DistributedSamplerOptions {
  bool shuffle = true;
  uint64_t seed = 0;       // the same on every rank; the epoch is mixed into it
  bool drop_last = false;  // drop the tail instead of padding to a multiple of the world size
};

class DistributedSampler {
 public:
  DistributedSampler(int64_t dataset_size, int world_size, int rank,
                     DistributedSamplerOptions options = {})
      : n_(dataset_size), world_(world_size), rank_(rank), options_(options) {
    EMBER_CHECK(world_size >= 1 && rank >= 0 && rank < world_size, "DistributedSampler: rank ",
                rank, " is not in a world of ", world_size);
    EMBER_CHECK(dataset_size >= (options.drop_last ? world_size : 1),
                "DistributedSampler: ", dataset_size, " examples are too few for ", world_size,
                " ranks", options.drop_last ? " with drop_last" : "");
  }
  // The rank and world of the default process group (dist::init()).
  explicit DistributedSampler(int64_t dataset_size, DistributedSamplerOptions options = {})
      : DistributedSampler(dataset_size, group().world_size(), group().rank(), options) {}

  int64_t dataset_size() const { return n_; }
  // Examples per rank and epoch (the same on every rank).
  int64_t num_samples() const {
    return options_.drop_last ? n_ / world_ : (n_ + world_ - 1) / world_;
  }

  // This rank's examples of `epoch`, in the order to visit them.
  std::vector<int64_t> indices(int64_t epoch) const {
    std::vector<int64_t> order(static_cast<size_t>(n_));
    std::iota(order.begin(), order.end(), int64_t{0});
    if (options_.shuffle) {  // data::DataLoader's permutation, from (seed, epoch)
      const uint64_t base = Generator(options_.seed).next_u64();
      Generator gen(Generator(base + uint64_t(epoch) * 0x9E3779B97F4A7C15ull).next_u64());
      for (int64_t i = n_ - 1; i > 0; --i)
        std::swap(order[size_t(i)], order[size_t(gen.randint(0, i + 1))]);
    }
    const int64_t total = num_samples() * world_;
    for (int64_t i = n_; i < total; ++i) order.push_back(order[size_t(i - n_)]);  // pad
    std::vector<int64_t> mine;
    mine.reserve(size_t(num_samples()));
    for (int64_t i = rank_; i < total; i += world_) mine.push_back(order[size_t(i)]);
    return mine;
  }

 private:
  int64_t n_;
  int world_, rank_;
  DistributedSamplerOptions options_;
};

// This rank's examples of `epoch` as a dataset of their own, in the sampler's order: give it to
// a data::DataLoader without shuffle.
template <class X, class Y>
data::TensorDataset<X, Y> shard(const data::TensorDataset<X, Y>& dataset,
                                const DistributedSampler& sampler, int64_t epoch) {
  const std::vector<int64_t> idx = sampler.indices(epoch);
  EMBER_CHECK(sampler.dataset_size() == dataset.size(), "dist::shard: the sampler was made for ",
              sampler.dataset_size(), " examples but the dataset has ", dataset.size());
  return data::TensorDataset<X, Y>(
      data::detail::gather_rows(dataset.inputs(), idx.data(), int64_t(idx.size())),
      data::detail::gather_rows(dataset.targets(), idx.data(), int64_t(idx.size())));
}

}  // namespace ember::dist
