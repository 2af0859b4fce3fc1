// The gradient reducer of data-parallel training: parameters grouped into buckets of about
// bucket_cap_mb, in reverse registration order (the order backward finishes them, output side
// first, as PyTorch's DDP does). A post-accumulate-grad hook (autograd/hooks.hpp) copies each
// gradient into its bucket's flat buffer as soon as backward has it; a full bucket starts its
// averaging all-reduce (MPI_Iallreduce) while backward goes on with earlier layers. Buckets
// start in index order on every rank, since MPI matches collectives by order. When the last
// bucket has started, the hook waits for all of them and writes the averages back into .grad().
#pragma once

#include <cstdint>
#include <ember/autograd/hooks.hpp>
#include <ember/dist/collectives.hpp>
#include <ember/ops/shape.hpp>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ember::dist {

class Reducer {
 public:
  // params: the trainable tensors with their names (for error messages), float or double.
  Reducer(const std::vector<std::pair<std::string, AnyTensor>>& params, double bucket_cap_mb) {
    EMBER_CHECK(bucket_cap_mb > 0,
                "ember::dist::DistributedDataParallel: bucket_cap_mb must be "
                "positive, got ",
                bucket_cap_mb);
    const size_t cap = size_t(bucket_cap_mb * 1024 * 1024);
    size_t bytes = 0;
    for (auto it = params.rbegin(); it != params.rend(); ++it) {
      const auto& [name, p] = *it;
      if (!p.impl->requires_grad) continue;  // frozen: no gradient to average
      EMBER_CHECK(p.impl->dtype == DType::Float32 || p.impl->dtype == DType::Float64,
                  "ember::dist::DistributedDataParallel: parameter '", name, "' has dtype ",
                  dtype_name(p.impl->dtype), "; gradients are averaged for float and double only");
      const size_t size = size_t(p.impl->numel()) * dtype_size(p.impl->dtype);
      const bool fresh = buckets_.empty() || bytes >= cap ||
                         buckets_.back().dtype != p.impl->dtype ||
                         buckets_.back().device != p.impl->storage->device();
      if (fresh) {
        buckets_.emplace_back(p.impl->dtype, p.impl->storage->device());
        bytes = 0;
      }
      Bucket& b = buckets_.back();
      where_[p.impl.get()] = {buckets_.size() - 1, b.params.size()};
      b.params.push_back({name, p.impl, b.numel});
      b.numel += p.impl->numel();
      bytes += size;
    }
    for (Bucket& b : buckets_) {
      b.ready.assign(b.params.size(), 0);
      visit(b, [&](auto tag) {
        using T = decltype(tag);
        b.flat = AnyTensor(Tensor<T>::zeros({b.numel}, b.device));
      });
    }
    for (auto& [name, p] : params)
      if (p.impl->requires_grad)
        visit_param(p, [&](auto t) {
          using T = typename decltype(t)::value_type;
          hooks_.push_back(register_post_accumulate_grad_hook<T>(
              t, [this](const Tensor<T>& leaf) { on_grad_ready(leaf.impl().get()); }));
        });
  }
  Reducer(const Reducer&) = delete;
  Reducer& operator=(const Reducer&) = delete;

  void set_sync(bool on) { sync_ = on; }
  bool sync() const { return sync_; }
  size_t bucket_count() const { return buckets_.size(); }
  // Buckets of the last backward whose all-reduce started before backward had the last
  // gradient: the overlap of communication with computation.
  size_t overlapped_buckets() const { return overlapped_; }

  // Before a forward: a backward that left buckets unfinished (parameters that got no
  // gradient) would leave the ranks' gradients out of sync, so it is an error.
  void check_finished() const {
    if (!started_) return;
    std::string missing;
    for (const Bucket& b : buckets_)
      for (size_t i = 0; i < b.params.size(); ++i)
        if (!b.ready[i]) missing += (missing.empty() ? "'" : ", '") + b.params[i].name + "'";
    fail("ember::dist::DistributedDataParallel: the last backward gave no gradient to ", missing,
         ", so the gradients were not averaged across ranks; call finish_gradient_sync() after "
         "backward when some parameters are unused (they count as zero)");
  }

  // Averages what the hooks have not: parameters without a gradient count as zero.
  void finish() {
    if (!sync_) return;
    std::vector<ImplPtr> missing;  // first collect: the last one ready resets every flag
    for (Bucket& b : buckets_)
      for (size_t i = 0; i < b.params.size(); ++i)
        if (!b.ready[i]) missing.push_back(b.params[i].impl);
    for (const ImplPtr& p : missing) {
      if (!p->grad)
        p->grad = p->dtype == DType::Float32
                      ? Tensor<float>::zeros(p->shape, p->storage->device()).impl()
                      : Tensor<double>::zeros(p->shape, p->storage->device()).impl();
      on_grad_ready(p.get());
    }
  }

 private:
  struct Param {
    std::string name;
    ImplPtr impl;
    int64_t offset;
  };
  struct Bucket {
    Bucket(DType t, Device d) : dtype(t), device(d) {}
    DType dtype;
    Device device;
    std::vector<Param> params;
    int64_t numel = 0;
    AnyTensor flat;
    std::vector<char> ready;
    size_t pending = 0;  // parameters still without a gradient in this backward
    Work work;
  };

  template <class F>
  static void visit(const Bucket& b, F&& f) {
    if (b.dtype == DType::Float32)
      f(float{});
    else
      f(double{});
  }
  template <class F>
  static void visit_param(const AnyTensor& p, F&& f) {
    if (p.impl->dtype == DType::Float32)
      f(Tensor<float>(p.impl));
    else
      f(Tensor<double>(p.impl));
  }

  void on_grad_ready(TensorImpl* leaf) {
    if (!sync_) return;  // no_sync(): gradients accumulate locally
    const auto [bi, pi] = where_.at(leaf);
    Bucket& b = buckets_[bi];
    if (!started_) {
      started_ = true;
      overlapped_ = 0;
      for (Bucket& x : buckets_) x.pending = x.params.size();
    }
    EMBER_CHECK(!b.ready[pi], "ember::dist::DistributedDataParallel: parameter '",
                b.params[pi].name,
                "' got a second gradient in one backward (a reentrant or "
                "retained graph); DDP averages once per backward");
    b.ready[pi] = 1;
    const Param& p = b.params[pi];
    visit(b, [&](auto tag) {  // pack: flat[offset : offset + n] <- grad
      using T = decltype(tag);
      NoGradGuard no_grad;
      Tensor<T>(b.flat.impl)
          .narrow(0, p.offset, p.impl->numel())
          .view(p.impl->shape)
          .copy_(Tensor<T>(p.impl->grad));
    });
    --b.pending;
    for (Bucket& x : buckets_)  // let MPI progress the buckets in flight
      if (x.work.pending()) x.work.poll();
    while (next_ < buckets_.size() && buckets_[next_].pending == 0) {
      Bucket& n = buckets_[next_++];
      visit(n, [&](auto tag) {
        n.work = all_reduce_async(Tensor<decltype(tag)>(n.flat.impl), ReduceOp::Avg);
      });
      if (any_pending_param()) ++overlapped_;  // started while backward still runs
    }
    if (next_ == buckets_.size()) unpack_all();
  }

  bool any_pending_param() const {
    for (const Bucket& b : buckets_)
      if (b.pending) return true;
    return false;
  }

  void unpack_all() {
    for (Bucket& b : buckets_) {
      b.work.wait();
      visit(b, [&](auto tag) {
        using T = decltype(tag);
        NoGradGuard no_grad;
        for (const Param& p : b.params)
          Tensor<T>(p.impl->grad)
              .copy_(
                  Tensor<T>(b.flat.impl).narrow(0, p.offset, p.impl->numel()).view(p.impl->shape));
      });
      std::fill(b.ready.begin(), b.ready.end(), 0);
    }
    next_ = 0;
    started_ = false;
  }

  std::vector<Bucket> buckets_;
  std::unordered_map<const TensorImpl*, std::pair<size_t, size_t>> where_;
  std::vector<HookHandle> hooks_;
  size_t next_ = 0;  // the next bucket to start
  bool started_ = false;
  bool sync_ = true;
  size_t overlapped_ = 0;
};

}  // namespace ember::dist
