// The reverse-mode engine: backward() and grad().
//
// Like micrograd's backward(): sort the graph topologically from the outputs, then walk it
// once in reverse, handing each node the summed gradient of its output and routing what it
// returns to its inputs. Gradients of leaves land in .grad() (backward) or are returned
// (grad). With create_graph the walk itself records a graph, because every backward rule is
// written with differentiable ops, which gives second derivatives.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <ember/autograd/anomaly.hpp>
#include <ember/core/tensor_class.hpp>

namespace ember {

template <class T>
Tensor<T> add(const Tensor<T>& a, const Tensor<T>& b);  // ops/arith.hpp

namespace detail {

template <class F>
ImplPtr with_float_type(const ImplPtr& t, const char* what, F&& f) {
  return visit_dtype(t->dtype, [&](auto* tag) -> ImplPtr {
    using T = std::remove_pointer_t<decltype(tag)>;
    if constexpr (is_differentiable_v<T>) return f(Tensor<T>(t)).impl();
    else fail(what, ": tensors of dtype ", dtype_name(t->dtype), " have no gradient");
  });
}

inline ImplPtr sum_grads(const ImplPtr& a, const ImplPtr& b) {
  return with_float_type(a, "backward", [&](auto ta) {
    using T = typename decltype(ta)::value_type;
    return add(ta, Tensor<T>(b));
  });
}

// A gradient stored in a leaf's .grad() must own its memory: optimizers and clipping update it
// in place, and the engine may hand the same tensor (or a broadcast view of one) to several
// leaves.
inline ImplPtr exclusive_grad(ImplPtr g) {
  if (g->is_contiguous() && g.use_count() == 1 && g->storage.use_count() == 1) return g;
  return with_float_type(g, "backward", [&](auto t) { return t.clone(); });
}

// acc += g in place (acc contiguous, same shape): accumulating into an existing leaf
// gradient without a fresh allocation, as PyTorch does.
inline void add_into(const ImplPtr& acc, const ImplPtr& g) {
  with_float_type(acc, "backward", [&](auto a) {
    using T = typename decltype(a)::value_type;
    const Tensor<T> b(g);
    if (!a.device().is_cpu()) {  // device memory: no host loop, use the device's add
      NoGradGuard no_grad;
      a.copy_(add(a.detach(), b));
      return a;
    }
    T* dst = a.data_ptr();
    const T* src = b.data_ptr();
    cpu::for_each_row<2>(a.shape(), {a.strides(), b.strides()}, [&](auto off, int64_t n, auto st) {
      for (int64_t i = 0; i < n; ++i) dst[off[0] + i * st[0]] += src[off[1] + i * st[1]];
    });
    return a;
  });
}

// A copy of the list, so a hook may remove itself (or register another) while it runs.
inline void run_post_accumulate_grad_hooks(const ImplPtr& leaf) {
  const auto hooks = leaf->hooks->post_accumulate_grad;
  for (const auto& [id, hook] : hooks) hook(leaf);
}

// Reverse topological order of the graph above `roots` (outputs first).
inline std::vector<ImplPtr> topological_order(const std::vector<ImplPtr>& roots) {
  std::vector<ImplPtr> post;
  std::unordered_set<TensorImpl*> seen;
  std::vector<std::pair<ImplPtr, size_t>> stack;
  for (const ImplPtr& r : roots) {
    if (!seen.insert(r.get()).second) continue;
    stack.push_back({r, 0});
    while (!stack.empty()) {
      auto& [impl, next] = stack.back();
      Node* node = impl->grad_fn.get();
      if (node && next < node->inputs.size()) {
        ImplPtr child = node->inputs[next++];
        if (child && seen.insert(child.get()).second) stack.push_back({child, 0});
        continue;
      }
      post.push_back(impl);
      stack.pop_back();
    }
  }
  std::reverse(post.begin(), post.end());
  return post;
}

// Runs backward from `roots`. With `inputs`, returns their gradients instead of writing leaf
// .grad() fields.
inline std::vector<ImplPtr> run_backward(const std::vector<ImplPtr>& roots,
                                         std::vector<ImplPtr> root_grads, bool retain_graph,
                                         bool create_graph, const std::vector<ImplPtr>* inputs,
                                         bool allow_unused) {
  const char* op = inputs ? "grad" : "backward";
  EMBER_CHECK(roots.size() == root_grads.size(), op, ": ", roots.size(), " outputs but ",
              root_grads.size(), " output gradients");
  std::unordered_map<TensorImpl*, ImplPtr> grads;
  for (size_t i = 0; i < roots.size(); ++i) {
    const ImplPtr& r = roots[i];
    EMBER_CHECK(r && r->requires_grad, op, ": output ", i,
                " does not require grad and has no grad_fn (was it computed under NoGradGuard, or "
                "from tensors without requires_grad_()?)");
    ImplPtr& g = root_grads[i];
    if (!g) {
      EMBER_CHECK(r->numel() == 1, op, ": a gradient can be created implicitly only for an output "
                  "with one element; output ", i, " has shape ", shape_str(r->shape),
                  ", so pass its gradient explicitly");
      g = with_float_type(r, op, [](auto t) {
        using T = typename decltype(t)::value_type;
        return Tensor<T>::ones(t.shape(), t.device());
      });
    }
    EMBER_CHECK(g->dtype == r->dtype && g->shape == r->shape, op, ": gradient of output ", i,
                " has dtype ", dtype_name(g->dtype), " and shape ", shape_str(g->shape),
                ", expected ", dtype_name(r->dtype), " and ", shape_str(r->shape));
    auto [it, fresh] = grads.emplace(r.get(), g);
    if (!fresh) it->second = sum_grads(it->second, g);
  }

  std::unordered_map<TensorImpl*, size_t> wanted;  // input -> position in the result
  std::vector<ImplPtr> results;
  if (inputs) {
    results.resize(inputs->size());
    for (size_t i = 0; i < inputs->size(); ++i) {
      EMBER_CHECK((*inputs)[i] && (*inputs)[i]->requires_grad, op, ": input ", i,
                  " does not require grad");
      wanted[(*inputs)[i].get()] = i;
    }
  }

  const std::vector<ImplPtr> order = topological_order(roots);  // keeps every impl alive
  // grad(outputs, inputs): only the tensors with a path to an input need a gradient. Leaves
  // come last in `order`, so one backward sweep marks a tensor when it is an input or when
  // its node has a marked input; rules skip the rest (grad_wanted), nodes outside are skipped.
  std::unordered_set<const TensorImpl*> wanted_set;
  if (inputs) {
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
      const TensorImpl* t = it->get();
      bool want = wanted.count(const_cast<TensorImpl*>(t)) > 0;
      if (!want && t->grad_fn)
        for (const ImplPtr& in : t->grad_fn->inputs)
          if (in && wanted_set.count(in.get())) {
            want = true;
            break;
          }
      if (want) wanted_set.insert(t);
    }
  }
  struct WantedScope {  // restores the enclosing grad()'s set (rules may call grad() too)
    const std::unordered_set<const TensorImpl*>* previous = detail::wanted_grads();
    ~WantedScope() { detail::wanted_grads() = previous; }
  } wanted_scope;
  detail::wanted_grads() = inputs ? &wanted_set : nullptr;
  AutoGradMode mode(create_graph);
  for (const ImplPtr& impl : order) {
    if (inputs && !wanted_set.count(impl.get())) continue;  // leads to no input
    auto it = grads.find(impl.get());
    if (it == grads.end()) continue;
    ImplPtr g = std::move(it->second);
    grads.erase(it);
    if (inputs) {
      auto w = wanted.find(impl.get());
      if (w != wanted.end()) results[w->second] = g;
    }
    const std::shared_ptr<Node> node = impl->grad_fn;
    if (!node) {
      if (!inputs && impl->requires_grad) {
        if (impl->grad && !create_graph && impl->grad->is_contiguous() &&
            impl->grad->storage.use_count() == 1)
          add_into(impl->grad, g);
        else if (impl->grad) impl->grad = sum_grads(impl->grad, g);
        else impl->grad = create_graph ? g : exclusive_grad(std::move(g));
        if (impl->hooks) run_post_accumulate_grad_hooks(impl);
      }
      continue;
    }
    EMBER_CHECK(!node->released, op, ": trying to backward through the graph a second time (the "
                "saved tensors of '", node->name, "' were freed by the first backward); pass "
                "retain_graph=true to the first call");
    std::vector<ImplPtr> in_grads = node->backward(g);
    EMBER_CHECK(in_grads.size() == node->inputs.size(), "backward of '", node->name, "' returned ",
                in_grads.size(), " gradients for ", node->inputs.size(), " inputs");
    for (size_t k = 0; k < in_grads.size(); ++k) {
      const ImplPtr& target = node->inputs[k];
      if (!target || !in_grads[k]) continue;
      if (AnomalyMode::is_enabled())  // autograd/anomaly.hpp: one branch when off
        check_finite_impl(*in_grads[k], node->name,
                          "the gradient for input " + std::to_string(k) + " in backward");
      EMBER_CHECK(in_grads[k]->shape == target->shape && in_grads[k]->dtype == target->dtype,
                  "backward of '", node->name, "': gradient for input ", k, " has shape ",
                  shape_str(in_grads[k]->shape), " (", dtype_name(in_grads[k]->dtype),
                  ") but the input has shape ", shape_str(target->shape), " (",
                  dtype_name(target->dtype), ")");
      auto [slot, fresh] = grads.emplace(target.get(), in_grads[k]);
      if (!fresh) slot->second = sum_grads(slot->second, in_grads[k]);
    }
    if (!retain_graph) {
      node->release();
      node->inputs.clear();
    }
  }
  if (inputs && !allow_unused) {
    for (size_t i = 0; i < results.size(); ++i)
      EMBER_CHECK(results[i] != nullptr, op, ": input ", i, " was not used to compute the "
                  "outputs (pass allow_unused=true to get an undefined gradient instead)");
  }
  return results;
}

}  // namespace detail

template <class T>
void Tensor<T>::backward(const Tensor& gradient, bool retain_graph, bool create_graph) const {
  detail::run_backward({impl()}, {gradient.impl()}, retain_graph || create_graph, create_graph,
                       nullptr, false);
}

struct GradOptions {
  std::optional<bool> retain_graph = std::nullopt;  // defaults to create_graph
  bool create_graph = false;
  bool allow_unused = false;
};

// Gradients of `outputs` with respect to `inputs` (like torch.autograd.grad), weighted by
// `grad_outputs` (ones for one-element outputs when empty). Leaf .grad() fields are untouched.
template <class T>
std::vector<Tensor<T>> grad(const std::vector<Tensor<T>>& outputs, const std::vector<Tensor<T>>& inputs,
                            const std::vector<Tensor<T>>& grad_outputs = {}, GradOptions options = {}) {
  std::vector<ImplPtr> outs, ins, gouts;
  for (const auto& o : outputs) outs.push_back(o.impl());
  for (const auto& i : inputs) ins.push_back(i.impl());
  for (const auto& g : grad_outputs) gouts.push_back(g.impl());
  if (gouts.empty()) gouts.resize(outs.size());
  const bool retain = options.retain_graph.value_or(options.create_graph);
  std::vector<ImplPtr> res = detail::run_backward(outs, gouts, retain, options.create_graph, &ins,
                                                  options.allow_unused);
  std::vector<Tensor<T>> out;
  for (auto& r : res) out.push_back(r ? Tensor<T>(r) : Tensor<T>());
  return out;
}

}  // namespace ember
