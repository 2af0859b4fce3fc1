// DataLoader: iterates a TensorDataset in mini-batches, like torch.utils.data.DataLoader.
//
//   data::DataLoader loader(train, {.batch_size = 128, .shuffle = true, .seed = 1});
//   for (int epoch = 0; epoch < 5; ++epoch)
//     for (const auto& batch : loader) { ... batch.inputs ... batch.targets ... }
//
// Each batch is a gathered copy (fresh, contiguous, no graph), so the training step may keep
// or modify it. Every begin() starts a new epoch: with shuffle, the order is a Fisher-Yates
// permutation drawn from an ember::Generator seeded by (seed, epoch), so epochs differ from
// each other yet a run is bit-for-bit repeatable, and set_epoch() replays any epoch (for
// example when resuming from a checkpoint).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/data/dataset.hpp>
#include <iterator>
#include <memory>
#include <numeric>
#include <optional>
#include <utility>
#include <vector>

namespace ember::data {

struct DataLoaderOptions {
  int64_t batch_size = 64;
  bool shuffle = false;
  bool drop_last = false;  // skip the last batch when it is smaller than batch_size
  uint64_t seed = 0;       // shuffling seed; the epoch number is mixed into it
};

template <class X = float, class Y = int64_t>
struct Batch {
  Tensor<X> inputs;   // [batch, inputs.shape()[1:]...]
  Tensor<Y> targets;  // [batch, targets.shape()[1:]...]
};

template <class X = float, class Y = int64_t>
class DataLoader {
 public:
  using batch_type = Batch<X, Y>;

  DataLoader(const TensorDataset<X, Y>& dataset, DataLoaderOptions options = {})
      : dataset_(dataset), options_(options) {
    EMBER_CHECK(options_.batch_size > 0, "DataLoader: batch_size must be positive, got ",
                options_.batch_size);
  }

  // Number of batches per epoch.
  int64_t size() const {
    const int64_t n = dataset_.size(), b = options_.batch_size;
    return options_.drop_last ? n / b : (n + b - 1) / b;
  }
  const TensorDataset<X, Y>& dataset() const { return dataset_; }
  const DataLoaderOptions& options() const { return options_; }

  // The epoch the next begin() starts (0 for a new loader); each begin() advances it by one.
  int64_t epoch() const { return epoch_; }
  void set_epoch(int64_t epoch) {
    EMBER_CHECK(epoch >= 0, "DataLoader::set_epoch: epoch must be non-negative, got ", epoch);
    epoch_ = epoch;
  }

  // The order in which epoch `epoch` visits the examples: 0..n-1, or a permutation of it
  // with shuffle. A pure function of (dataset size, seed, epoch).
  std::vector<int64_t> indices(int64_t epoch) const {
    std::vector<int64_t> order(size_t(dataset_.size()));
    std::iota(order.begin(), order.end(), int64_t{0});
    if (!options_.shuffle) return order;
    // Mix the epoch into the seed through splitmix64 so that neighbouring epochs (and seeds)
    // get unrelated streams rather than shifted copies of one stream.
    const uint64_t base = Generator(options_.seed).next_u64();
    Generator gen(Generator(base + uint64_t(epoch) * 0x9E3779B97F4A7C15ull).next_u64());
    for (int64_t i = int64_t(order.size()) - 1; i > 0; --i)
      std::swap(order[size_t(i)], order[size_t(gen.randint(0, i + 1))]);
    return order;
  }

  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Batch<X, Y>;
    using difference_type = std::ptrdiff_t;
    using reference = value_type&;  // the batch is the caller's to modify or keep
    using pointer = value_type*;

    Iterator() = default;

    // The batch is gathered on first access and kept until the iterator moves on.
    reference operator*() const {
      if (!current_) {
        const int64_t b = loader_->options_.batch_size;
        const int64_t start = index_ * b;
        const int64_t count = std::min<int64_t>(b, int64_t(order_->size()) - start);
        const int64_t* idx = order_->data() + start;
        current_ = value_type{detail::gather_rows(loader_->dataset_.inputs(), idx, count),
                              detail::gather_rows(loader_->dataset_.targets(), idx, count)};
      }
      return *current_;
    }
    pointer operator->() const { return &**this; }
    Iterator& operator++() {
      ++index_;
      current_.reset();
      return *this;
    }
    void operator++(int) { ++*this; }
    // Iterators of one loader compare by batch position (end() is position size()).
    bool operator==(const Iterator& other) const { return index_ == other.index_; }

   private:
    friend class DataLoader;
    Iterator(const DataLoader* loader, std::shared_ptr<const std::vector<int64_t>> order,
             int64_t index)
        : loader_(loader), order_(std::move(order)), index_(index) {}

    const DataLoader* loader_ = nullptr;
    std::shared_ptr<const std::vector<int64_t>> order_;
    int64_t index_ = 0;
    mutable std::optional<value_type> current_;
  };

  // Starts the next epoch.
  Iterator begin() {
    auto order = std::make_shared<const std::vector<int64_t>>(indices(epoch_));
    ++epoch_;
    return Iterator(this, std::move(order), 0);
  }
  Iterator end() const { return Iterator(this, nullptr, size()); }

 private:
  TensorDataset<X, Y> dataset_;
  DataLoaderOptions options_;
  int64_t epoch_ = 0;
};

}  // namespace ember::data
