// Module: the run-time container of named parameters, buffers and child modules (DESIGN.md
// principle 7: modules are composed at run time, not as nested types).
//
// A layer registers each tensor it owns once, in its constructor, and keeps the returned
// Tensor<T> as a typed member:
//
//   weight = register_parameter("weight", Tensor<float>::empty({out, in}));
//
// The registry and the member share one TensorImpl, so optimizers (which walk parameters())
// and checkpoints (which walk state_dict()) see and update exactly what forward() uses.
// Tensors are held as AnyTensor so one module can own parameters of several dtypes (spectral
// layers keep complex<float> weights next to float biases).
//
// Names follow PyTorch: a child's tensors appear as "child.name", recursively ("0.weight",
// "encoder.fc.bias"), in registration order, depth first.
#pragma once

#include <charconv>
#include <cstdint>
#include <ember/core/tensor.hpp>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace ember::nn {

// What load_state_dict(sd, /*strict=*/false) skipped: our keys absent from sd, and keys of sd
// this module does not have (PyTorch's _IncompatibleKeys).
struct LoadStateDictResult {
  std::vector<std::string> missing_keys;
  std::vector<std::string> unexpected_keys;
};

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  // Copying a module would silently share (or not share) its parameters; layers live behind
  // std::shared_ptr instead.
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // ------------------------------------------------------------------ registration

  // Registers a leaf tensor as a parameter and returns it (the same impl). requires_grad is set
  // on it here, so a layer's constructor can build the value without recording a graph.
  template <class T>
  Tensor<T> register_parameter(std::string name, Tensor<T> t, bool requires_grad = true) {
    check_new_name(name, "register_parameter");
    EMBER_CHECK(t.defined(), "register_parameter: parameter '", name, "' is an undefined tensor");
    EMBER_CHECK(t.is_leaf(), "register_parameter: parameter '", name,
                "' is the result of an op (it has a grad_fn); register a leaf, e.g. t.detach()");
    t.requires_grad_(requires_grad);
    params_.emplace_back(std::move(name), AnyTensor(t));
    return t;
  }

  // Registers a tensor that is state but not trained (running statistics, masks, tables). It
  // is saved in state_dict() but not returned by parameters().
  template <class T>
  Tensor<T> register_buffer(std::string name, Tensor<T> t) {
    check_new_name(name, "register_buffer");
    EMBER_CHECK(t.defined(), "register_buffer: buffer '", name, "' is an undefined tensor");
    buffers_.emplace_back(std::move(name), AnyTensor(t));
    return t;
  }

  template <class M>
  std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> m) {
    static_assert(std::is_base_of_v<Module, M>, "register_module: M must derive from nn::Module");
    check_new_name(name, "register_module");
    EMBER_CHECK(m != nullptr, "register_module: child '", name, "' is a null pointer");
    EMBER_CHECK(!static_cast<const Module*>(m.get())->reaches(this), "register_module: child '",
                name, "' contains this module, which would make a cycle");
    children_.emplace_back(std::move(name), m);
    return m;
  }

  // ------------------------------------------------------------------ traversal

  // Every parameter of this module and its descendants, depth first in registration order.
  // A tensor shared between modules (weight tying) appears once.
  std::vector<AnyTensor> parameters() const {
    std::vector<AnyTensor> out;
    for (auto& [name, t] : named_parameters()) out.push_back(t);
    return out;
  }

  // Parameters with their dotted names; a shared tensor appears once, under its first name.
  StateDict named_parameters() const {
    StateDict out;
    std::unordered_set<const TensorImpl*> seen;
    visit("", /*dedup_modules=*/true, [&](const std::string& prefix, const Module& m) {
      for (auto& [name, t] : m.params_)
        if (seen.insert(t.impl.get()).second) out.emplace_back(prefix + name, t);
    });
    return out;
  }

  StateDict named_buffers() const {
    StateDict out;
    std::unordered_set<const TensorImpl*> seen;
    visit("", /*dedup_modules=*/true, [&](const std::string& prefix, const Module& m) {
      for (auto& [name, t] : m.buffers_)
        if (seen.insert(t.impl.get()).second) out.emplace_back(prefix + name, t);
    });
    return out;
  }

  // Direct children, in registration order.
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const {
    return children_;
  }

  // Parameters and buffers of every module (each module's parameters, then its buffers, then
  // its children, as PyTorch orders them). The tensors are the live ones, not copies, so a
  // checkpoint reader can copy into them. A tied tensor appears under each of its names.
  StateDict state_dict() const {
    StateDict out;
    visit("", /*dedup_modules=*/false, [&](const std::string& prefix, const Module& m) {
      for (auto& [name, t] : m.params_) out.emplace_back(prefix + name, t);
      for (auto& [name, t] : m.buffers_) out.emplace_back(prefix + name, t);
    });
    return out;
  }

  // Copies the values of `sd` into this module's live tensors. Everything is checked before
  // anything is written, so a failed load leaves the module as it was. With strict, the key
  // sets must match exactly; without, the keys that did not match are returned.
  LoadStateDictResult load_state_dict(const StateDict& sd, bool strict = true) {
    const StateDict own = state_dict();
    std::unordered_map<std::string, const AnyTensor*> own_by_name;
    for (auto& [name, t] : own) own_by_name.emplace(name, &t);

    LoadStateDictResult result;
    std::unordered_set<std::string> given;
    std::vector<std::pair<const AnyTensor*, const AnyTensor*>> copies;  // (destination, source)
    std::ostringstream mismatches;
    for (auto& [name, src] : sd) {
      EMBER_CHECK(given.insert(name).second, "load_state_dict: key '", name, "' appears twice");
      auto it = own_by_name.find(name);
      if (it == own_by_name.end()) {
        result.unexpected_keys.push_back(name);
        continue;
      }
      const TensorImpl& dst = *it->second->impl;
      if (!src.defined()) {
        mismatches << "\n  '" << name << "': the given tensor is undefined";
      } else if (src.impl->dtype != dst.dtype || src.impl->shape != dst.shape) {
        mismatches << "\n  '" << name << "': expected " << dtype_name(dst.dtype) << " "
                   << shape_str(dst.shape) << ", got " << dtype_name(src.impl->dtype) << " "
                   << shape_str(src.impl->shape);
      } else {
        copies.emplace_back(it->second, &src);
      }
    }
    for (auto& [name, t] : own)
      if (!given.count(name)) result.missing_keys.push_back(name);

    const std::string bad = mismatches.str();
    EMBER_CHECK(bad.empty(), "load_state_dict (", this->name(), "): size or dtype mismatch for",
                bad);
    if (strict && (!result.missing_keys.empty() || !result.unexpected_keys.empty()))
      fail("load_state_dict (", this->name(), "): missing keys ", key_list(result.missing_keys),
           "; unexpected keys ", key_list(result.unexpected_keys));

    NoGradGuard no_grad;  // parameters are leaves that require grad: writing them is not an op
    for (const auto& copy : copies) {
      visit_dtype(copy.first->impl->dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        Tensor<T>(copy.first->impl).copy_(Tensor<T>(copy.second->impl));
      });
    }
    return result;
  }

  // ------------------------------------------------------------------ modes and gradients

  // Training mode (dropout active, batch norm updates its statistics), for this module and all
  // descendants. Returns *this so `model.train(false)` chains like PyTorch's.
  Module& train(bool on = true) {
    training_ = on;
    for (auto& [name, child] : children_) child->train(on);
    return *this;
  }
  Module& eval() { return train(false); }
  bool is_training() const { return training_; }

  // Drops every parameter's gradient (set_to_none, PyTorch's default).
  void zero_grad() {
    for (auto& p : parameters()) p.impl->grad = nullptr;
  }

  // Number of trainable elements (each tied tensor counted once).
  size_t num_parameters() const {
    size_t n = 0;
    for (auto& p : parameters()) n += size_t(p.impl->numel());
    return n;
  }

  // ------------------------------------------------------------------ devices

  // Moves every parameter and buffer of this module and its descendants to `device`, in place:
  // each tensor keeps its TensorImpl and gets a contiguous copy of its values on the device as
  // its storage. So every handle to it sees the move: the layers' typed members, an optimizer
  // made before the move (its state follows the parameters at the next step), a tied weight
  // shared by two modules (moved once, still one tensor). requires_grad is kept, and a
  // gradient already accumulated moves with its tensor, as in PyTorch's Module.to. Each moved
  // tensor's version is bumped, so a graph recorded before the move refuses to backpropagate
  // through it instead of mixing devices. Views of a parameter taken before the move keep the
  // old storage. Everything is copied before anything is replaced: a failed move (a CUDA device
  // in a CPU-only build, out of device memory) leaves the module as it was. Returns *this.
  Module& to(const Device& device) {
#ifndef EMBER_WITH_CUDA
    check_cpu(device, "Module.to");
#endif
    struct Move {
      TensorImpl* target;
      ImplPtr moved;  // contiguous, on `device`
    };
    std::vector<Move> moves;
    std::unordered_set<const TensorImpl*> seen;
    NoGradGuard no_grad;
    auto plan = [&](const ImplPtr& t) {
      if (!t || !seen.insert(t.get()).second || t->storage->device() == device) return;
      ImplPtr moved = visit_dtype(t->dtype, [&](auto* tag) -> ImplPtr {
        using T = std::remove_pointer_t<decltype(tag)>;
        return Tensor<T>(t).detach().to(device).impl();
      });
      moves.push_back({t.get(), std::move(moved)});
    };
    for (auto& [name, t] : state_dict()) {  // a tied tensor appears under each name: seen once
      plan(t.impl);
      plan(t.impl->grad);
    }
    for (Move& m : moves) {
      m.target->storage = m.moved->storage;
      m.target->strides = m.moved->strides;
      m.target->offset = 0;
      ++m.target->version;
    }
    return *this;
  }

  // ------------------------------------------------------------------ printing

  virtual std::string name() const { return "Module"; }
  // The part inside the parentheses: "in_features=3, out_features=2, bias=true".
  virtual std::string extra_repr() const { return ""; }

  // The module tree, formatted like PyTorch's print(model).
  std::string repr() const {
    std::string s = name() + "(" + extra_repr();
    if (children_.empty()) return s + ")";
    s += "\n";
    for (auto& [child_name, child] : children_) {
      std::string body = child->repr();
      // Indent every line of the child's block by two spaces.
      std::string indented;
      for (char c : body) {
        indented += c;
        if (c == '\n') indented += "  ";
      }
      s += "  (" + child_name + "): " + indented + "\n";
    }
    return s + ")";
  }

 protected:
  // A number as Python's repr prints it (shortest round trip, "1.0" not "1"), so extra_repr
  // strings read like PyTorch's.
  static std::string repr_number(double v) {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
    std::string s(buf, ec == std::errc() ? end : buf);
    if (s.find_first_of(".en") == std::string::npos) s += ".0";  // 'n' of inf / nan
    return s;
  }

 private:
  void check_new_name(const std::string& name, const char* op) const {
    EMBER_CHECK(!name.empty(), op, ": the name must not be empty");
    EMBER_CHECK(name.find('.') == std::string::npos, op, ": name '", name,
                "' must not contain '.' (dots separate the names of nested modules)");
    auto taken = [&](const auto& list) {
      for (auto& entry : list)
        if (entry.first == name) return true;
      return false;
    };
    EMBER_CHECK(!taken(params_) && !taken(buffers_) && !taken(children_), op, ": ", this->name(),
                " already has a parameter, buffer or child named '", name, "'");
  }

  // Calls f(prefix, module) on this module and every descendant, depth first. With
  // dedup_modules a module reachable twice (a shared child) is visited once, under its first
  // name (named_parameters); without, once per path (state_dict, as PyTorch does). The tree has
  // no cycles: register_module refuses them.
  template <class F>
  void visit(const std::string& prefix, bool dedup_modules, F&& f) const {
    std::unordered_set<const Module*> seen;
    visit_impl(prefix, dedup_modules, f, seen);
  }
  template <class F>
  void visit_impl(const std::string& prefix, bool dedup_modules, F& f,
                  std::unordered_set<const Module*>& seen) const {
    if (dedup_modules && !seen.insert(this).second) return;
    f(prefix, *this);
    for (auto& [name, child] : children_)
      child->visit_impl(prefix + name + ".", dedup_modules, f, seen);
  }

  // Whether `target` is this module or one of its descendants.
  bool reaches(const Module* target) const {
    if (this == target) return true;
    for (auto& [name, child] : children_)
      if (child->reaches(target)) return true;
    return false;
  }

  static std::string key_list(const std::vector<std::string>& keys) {
    std::string s = "[";
    for (size_t i = 0; i < keys.size(); ++i) s += (i ? ", '" : "'") + keys[i] + "'";
    return s + "]";
  }

  StateDict params_;
  StateDict buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// A module with one float32 input and one float32 output: the standard layers (Linear,
// activations, Dropout, Sequential). Float32 is the element type of the layers; the
// functional ops are templated for float64 work.
class Layer : public Module {
 public:
  virtual Tensor<float> forward(const Tensor<float>& x) = 0;
  Tensor<float> operator()(const Tensor<float>& x) { return forward(x); }
};

}  // namespace ember::nn
