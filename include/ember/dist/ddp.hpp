// DistributedDataParallel: data-parallel training of one module on every rank of the process
// group (PyTorch's torch.nn.parallel.DistributedDataParallel). Each rank runs forward and
// backward on its own shard of the batch; the gradients are averaged across ranks during
// backward (dist/reducer.hpp), so after backward every rank holds the gradient of the whole
// batch's mean loss and the same optimizer step keeps the replicas equal.
//
//   auto ddp = dist::DistributedDataParallel(model);       // broadcasts rank 0's weights
//   Tensor<float> y = ddp(x);                              // model->forward(x)
//   loss.backward();                                       // averaged, in buckets, overlapped
//   { auto guard = ddp.no_sync(); ... backward ... }       // gradient accumulation: local only
//
// Buffers (BatchNorm's running statistics) are broadcast from rank 0 at the start and before
// each forward in training mode, as PyTorch's DDP does (broadcast_buffers). Only the gradients
// and buffers are communicated: give every rank the same optimizer.
#pragma once

#include <ember/dist/reducer.hpp>
#include <ember/dist/state_sync.hpp>
#include <memory>
#include <utility>

namespace ember::dist {

struct DDPOptions {
  double bucket_cap_mb = 25;      // PyTorch's default bucket size
  bool broadcast_buffers = true;  // rank 0's buffers before each training forward
};

template <class M>
class DistributedDataParallel {
 public:
  explicit DistributedDataParallel(std::shared_ptr<M> module, DDPOptions options = {})
      : module_(std::move(module)), options_(options) {
    EMBER_CHECK(module_ != nullptr, "ember::dist::DistributedDataParallel: the module is null");
    broadcast_parameters(*module_);
    reducer_ = std::make_unique<Reducer>(module_->named_parameters(), options.bucket_cap_mb);
  }

  // The wrapped module's forward, after the buffer broadcast.
  template <class... Args>
  decltype(auto) forward(Args&&... args) {
    reducer_->check_finished();
    if (options_.broadcast_buffers && module_->is_training() && group().world_size() > 1)
      broadcast_buffers(*module_);
    return module_->forward(std::forward<Args>(args)...);
  }
  template <class... Args>
  decltype(auto) operator()(Args&&... args) {
    return forward(std::forward<Args>(args)...);
  }

  M& module() const { return *module_; }
  const std::shared_ptr<M>& module_ptr() const { return module_; }

  // While the guard lives, backward accumulates gradients locally; the first backward after it
  // averages the accumulated sum (PyTorch's no_sync()).
  class NoSync {
   public:
    explicit NoSync(Reducer& r) : r_(&r), was_(r.sync()) { r.set_sync(false); }
    NoSync(NoSync&& o) noexcept : r_(o.r_), was_(o.was_) { o.r_ = nullptr; }
    NoSync(const NoSync&) = delete;
    NoSync& operator=(const NoSync&) = delete;
    ~NoSync() {
      if (r_) r_->set_sync(was_);
    }

   private:
    Reducer* r_;
    bool was_;
  };
  [[nodiscard]] NoSync no_sync() { return NoSync(*reducer_); }

  // After backward, when some parameters took no part in it: averages the rest, counting the
  // missing gradients as zero (PyTorch's find_unused_parameters, asked for explicitly).
  void finish_gradient_sync() { reducer_->finish(); }

  size_t bucket_count() const { return reducer_->bucket_count(); }
  size_t overlapped_buckets() const { return reducer_->overlapped_buckets(); }

 private:
  std::shared_ptr<M> module_;
  DDPOptions options_;
  std::unique_ptr<Reducer> reducer_;
};

}  // namespace ember::dist
