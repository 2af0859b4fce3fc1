// Post-accumulate-grad hooks on leaf tensors (PyTorch's
// Tensor.register_post_accumulate_grad_hook): a callback that backward() runs once per pass,
// right after the leaf's .grad() holds the sum of this pass's gradient and any earlier one.
// Not run by grad(), which leaves .grad() alone. Data-parallel training (dist/ddp.hpp) uses it
// to start communicating a bucket of gradients while backward goes on with earlier layers.
#pragma once

#include <cstdint>
#include <ember/core/tensor_class.hpp>
#include <functional>
#include <memory>
#include <utility>

namespace ember {

// Removes its hook when destroyed (or on remove()); movable, not copyable.
class HookHandle {
 public:
  HookHandle() = default;
  HookHandle(std::weak_ptr<TensorImpl> leaf, uint64_t id) : leaf_(std::move(leaf)), id_(id) {}
  HookHandle(HookHandle&& o) noexcept : leaf_(std::move(o.leaf_)), id_(o.id_) { o.leaf_.reset(); }
  HookHandle& operator=(HookHandle&& o) noexcept {
    if (this != &o) {
      remove();
      leaf_ = std::move(o.leaf_);
      id_ = o.id_;
      o.leaf_.reset();
    }
    return *this;
  }
  HookHandle(const HookHandle&) = delete;
  HookHandle& operator=(const HookHandle&) = delete;
  ~HookHandle() { remove(); }

  void remove() {
    if (auto leaf = leaf_.lock(); leaf && leaf->hooks) {
      auto& list = leaf->hooks->post_accumulate_grad;
      std::erase_if(list, [&](const auto& h) { return h.first == id_; });
    }
    leaf_.reset();
  }

 private:
  std::weak_ptr<TensorImpl> leaf_;
  uint64_t id_ = 0;
};

// Runs hook(t) after each backward() has accumulated t's gradient; t.grad() is then defined.
template <class T>
[[nodiscard]] HookHandle register_post_accumulate_grad_hook(
    const Tensor<T>& t, std::function<void(const Tensor<T>&)> hook) {
  EMBER_CHECK(t.defined() && t.is_leaf() && t.requires_grad(),
              "register_post_accumulate_grad_hook: expected a leaf tensor that requires grad "
              "(a parameter), got ",
              !t.defined()
                  ? "an undefined tensor"
                  : (t.is_leaf() ? "a tensor without requires_grad" : "the result of an op"));
  TensorImpl& impl = *t.impl();
  if (!impl.hooks) impl.hooks = std::make_shared<LeafHooks>();
  const uint64_t id = impl.hooks->next_id++;
  impl.hooks->post_accumulate_grad.emplace_back(
      id, [hook = std::move(hook)](const ImplPtr& leaf) { hook(Tensor<T>(leaf)); });
  return HookHandle(t.impl(), id);
}

}  // namespace ember
