// Optimizer: the interface every optimizer implements, and ParamGroupOptimizer, the shared
// machinery behind SGD, Adam and AdamW: parameter groups with their own hyper-parameters,
// per-parameter state, state_dict / load_state_dict and the checks every step() makes.
//
// The update contract (as PyTorch's, with set_to_none=True semantics for zero_grad):
// - Parameters are leaves of any floating-point or complex dtype, contiguous, on the CPU or
//   (in a CUDA build) a CUDA device, where the steps run as fused multi-tensor kernels.
// - step() skips parameters whose grad is undefined; a defined grad must have the parameter's
//   dtype and shape and be contiguous (the engine makes leaf grads own contiguous memory).
// - Updates are in place, one fused pass per parameter over (param, grad, state). A complex
//   parameter is updated as pairs of reals (torch.view_as_real), exactly as PyTorch does.
// - State names in state_dict(): "state.<i>.<key>" where i numbers the parameters across all
//   groups in order, and "param_groups.<g>.<hyper-parameter>" as scalar float64 tensors, plus
//   "param_groups.<g>.params" (int64, the indices i of the group's parameters).
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

#include <ember/autograd/grad_mode.hpp>
#include <ember/backend/optim.hpp>
#include <ember/core/tensor.hpp>

namespace ember::optim {

// Parameters that share hyper-parameters. Without options the group takes the optimizer's
// defaults; with options it takes them whole (write `SGDOptions{.lr = 0.1, ...}`; C++ has no
// partial override, so restate what differs from the struct's own defaults).
template <class Options>
struct ParamGroup {
  std::vector<AnyTensor> params;
  std::optional<Options> options = std::nullopt;
};

class Optimizer {
 public:
  Optimizer() = default;
  // Not copyable: a copy would share its state tensors with the original, and both would
  // update them. Movable (schedulers keep a reference: move before making one).
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;
  Optimizer(Optimizer&&) = default;
  Optimizer& operator=(Optimizer&&) = default;
  virtual ~Optimizer() = default;
  // One update of every parameter that has a gradient.
  virtual void step() = 0;
  // Drops every parameter's gradient (PyTorch's zero_grad(set_to_none=True)): the next
  // backward writes fresh gradients instead of accumulating, and step() skips parameters that
  // got none.
  void zero_grad() {
    for (const AnyTensor& p : parameters()) p.impl->grad = nullptr;
  }
  // All parameters, group after group: index i here is "state.<i>" in state_dict().
  virtual std::vector<AnyTensor> parameters() const = 0;
  virtual size_t num_groups() const = 0;
  virtual double lr(size_t group) const = 0;
  virtual void set_lr(size_t group, double lr) = 0;
  // A snapshot (copies): later steps do not change it.
  virtual StateDict state_dict() const = 0;
  // Restores a state_dict() of an optimizer of the same kind over parameters of the same
  // shapes and dtypes. Validates everything before changing anything.
  virtual void load_state_dict(const StateDict& state) = 0;
};

namespace detail {

// Complex storage as pairs of reals (backend/optim.hpp).
using backend::real_data;
using backend::real_numel;
using backend::visit_real_dtype;

// A fresh contiguous tensor of t's dtype and shape: zeros, or a copy of t's values.
inline AnyTensor zeros_like(const TensorImpl& t) {
  return visit_dtype(t.dtype, [&](auto* tag) -> AnyTensor {
    using T = std::remove_pointer_t<decltype(tag)>;
    return Tensor<T>::zeros(t.shape, t.storage->device());
  });
}
inline AnyTensor clone_detached(const ImplPtr& t) {
  NoGradGuard no_grad;
  return visit_dtype(t->dtype, [&](auto* tag) -> AnyTensor {
    using T = std::remove_pointer_t<decltype(tag)>;
    return Tensor<T>(t).detach().clone();
  });
}

inline bool is_differentiable_dtype(DType d) {
  return d == DType::Float32 || d == DType::Float64 || d == DType::Complex64 ||
         d == DType::Complex128;
}

// What every optimizer needs of a parameter: a contiguous floating-point leaf on the CPU.
inline void check_param(const AnyTensor& p, const char* op, size_t index) {
  EMBER_CHECK(p.defined(), op, ": parameter ", index, " is an undefined tensor");
  const TensorImpl& t = *p.impl;
  EMBER_CHECK(is_differentiable_dtype(t.dtype), op, ": parameter ", index, " has dtype ",
              dtype_name(t.dtype), "; expected a floating-point or complex tensor");
  EMBER_CHECK(t.grad_fn == nullptr, op, ": parameter ", index, " (shape ", shape_str(t.shape),
              ") is not a leaf; optimizers update leaves (use detach().requires_grad_())");
  EMBER_CHECK(t.is_contiguous(), op, ": parameter ", index, " of shape ", shape_str(t.shape),
              " has strides ", shape_str(t.strides), "; expected a contiguous tensor");
  backend::tensor_on_cuda(op, t);  // a CUDA tensor in a CPU-only build throws
}

// A gradient an update can read in one flat pass: same dtype and shape, contiguous.
inline void check_grad(const TensorImpl& p, const char* op, size_t index) {
  const TensorImpl& g = *p.grad;
  EMBER_CHECK(g.dtype == p.dtype && g.shape == p.shape, op, ": the gradient of parameter ", index,
              " has dtype ", dtype_name(g.dtype), " and shape ", shape_str(g.shape), "; expected ",
              dtype_name(p.dtype), " and ", shape_str(p.shape));
  EMBER_CHECK(g.is_contiguous(), op, ": the gradient of parameter ", index, " (shape ",
              shape_str(g.shape), ") has strides ", shape_str(g.strides),
              "; expected a contiguous gradient");
  backend::tensor_on_cuda(op, g);  // a CUDA tensor in a CPU-only build throws
  EMBER_CHECK(g.storage->device() == p.storage->device(), op, ": the gradient of parameter ", index,
              " is on ", g.storage->device().str(), " but the parameter is on ",
              p.storage->device().str());
}

// "12" -> 12; nullopt for anything but a plain decimal number.
inline std::optional<size_t> parse_index(std::string_view s) {
  size_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace detail

// Groups, per-parameter state and (de)serialisation for an optimizer whose hyper-parameters
// are `Options`. Options provides `double lr`, `void validate(const char* op) const` and
// `static void visit_fields(O& o, F f)` calling f(name, field) for each double / bool field.
template <class Options>
class ParamGroupOptimizer : public Optimizer {
 public:
  std::vector<AnyTensor> parameters() const override {
    std::vector<AnyTensor> all;
    for (const Group& g : groups_) all.insert(all.end(), g.params.begin(), g.params.end());
    return all;
  }
  size_t num_groups() const override { return groups_.size(); }
  double lr(size_t group) const override { return options(group).lr; }
  void set_lr(size_t group, double lr) override {
    EMBER_CHECK(lr >= 0, name_, ".set_lr: invalid learning rate ", lr, " (expected >= 0)");
    options(group).lr = lr;
  }
  // A group's hyper-parameters, writable (checked again at the next step()).
  Options& options(size_t group) { return groups_[check_group(group, "options")].options; }
  const Options& options(size_t group) const {
    return groups_[check_group(group, "options")].options;
  }
  const std::vector<AnyTensor>& group_params(size_t group) const {
    return groups_[check_group(group, "group_params")].params;
  }
  const Options& defaults() const { return defaults_; }

  // Adds a group (like torch.optim.Optimizer.add_param_group); its parameters number after
  // the existing ones in state_dict().
  void add_param_group(ParamGroup<Options> group) {
    const std::string op = name_ + ".add_param_group";
    Options o = group.options.value_or(defaults_);
    o.validate(op.c_str());
    size_t index = state_.size();
    for (const AnyTensor& p : group.params) {
      detail::check_param(p, op.c_str(), index);
      EMBER_CHECK(seen_.insert(p.impl.get()).second, op, ": parameter ", index, " (shape ",
                  shape_str(p.impl->shape), ") appears more than once in the optimizer");
      ++index;
    }
    state_.resize(index);
    groups_.push_back({std::move(group.params), o});
  }

  StateDict state_dict() const override {
    StateDict out;
    for (size_t i = 0; i < state_.size(); ++i)
      for (const auto& [key, t] : state_[i])
        out.emplace_back("state." + std::to_string(i) + "." + key, detail::clone_detached(t.impl));
    size_t first = 0;
    for (size_t g = 0; g < groups_.size(); ++g) {
      const std::string prefix = "param_groups." + std::to_string(g) + ".";
      Options::visit_fields(groups_[g].options, [&](const char* field, const auto& v) {
        out.emplace_back(prefix + field, Tensor<double>::scalar(double(v)));
      });
      std::vector<int64_t> indices(groups_[g].params.size());
      for (size_t k = 0; k < indices.size(); ++k) indices[k] = int64_t(first + k);
      out.emplace_back(prefix + "params",
                       Tensor<int64_t>::from_vector(indices, {int64_t(indices.size())}));
      first += indices.size();
    }
    return out;
  }

  void load_state_dict(const StateDict& dict) override {
    const std::string op_name = name_ + ".load_state_dict";
    const char* op = op_name.c_str();
    constexpr const char* kExpectedNames =
        " (expected 'state.<i>.<key>' or 'param_groups.<g>.<field>')";
    const std::vector<AnyTensor> params = parameters();
    std::vector<std::map<std::string, AnyTensor>> state(state_.size());
    std::vector<Options> new_options;
    for (const Group& g : groups_) new_options.push_back(g.options);
    std::vector<std::unordered_set<std::string>> group_fields(groups_.size());

    for (const auto& entry : dict) {
      const std::string& name = entry.first;  // not a structured binding: lambdas below use it
      const AnyTensor& t = entry.second;
      EMBER_CHECK(t.defined(), op, ": entry '", name, "' is an undefined tensor");
      const size_t dot1 = name.find('.'), dot2 = name.find('.', dot1 + 1);
      EMBER_CHECK(dot1 != std::string::npos && dot2 != std::string::npos &&
                      name.find('.', dot2 + 1) == std::string::npos,
                  op, ": unexpected entry '", name, "'", kExpectedNames);
      const std::string_view kind = std::string_view(name).substr(0, dot1);
      const std::optional<size_t> index =
          detail::parse_index(std::string_view(name).substr(dot1 + 1, dot2 - dot1 - 1));
      const std::string key = name.substr(dot2 + 1);
      const TensorImpl& v = *t.impl;
      if (kind == "state") {
        EMBER_CHECK(index && *index < params.size(), op, ": entry '", name,
                    "' names no parameter (this optimizer has ", params.size(), ")");
        const std::optional<StateKey> spec = find_state_key(key);
        EMBER_CHECK(spec.has_value(), op, ": unknown state '", key, "' in entry '", name, "'");
        const TensorImpl& p = *params[*index].impl;
        if (spec->is_step) {
          EMBER_CHECK(v.dtype == DType::Int64 && v.shape.empty(), op, ": entry '", name,
                      "' has dtype ", dtype_name(v.dtype), " and shape ", shape_str(v.shape),
                      "; expected an int64 scalar");
          EMBER_CHECK(Tensor<int64_t>(t.impl).item() >= 0, op, ": entry '", name,
                      "' is a negative step count");
        } else {
          EMBER_CHECK(v.dtype == p.dtype && v.shape == p.shape, op, ": entry '", name,
                      "' has dtype ", dtype_name(v.dtype), " and shape ", shape_str(v.shape),
                      "; parameter ", *index, " has dtype ", dtype_name(p.dtype), " and shape ",
                      shape_str(p.shape));
        }
        EMBER_CHECK(state[*index].emplace(key, detail::clone_detached(t.impl)).second, op,
                    ": entry '", name, "' appears twice");
      } else if (kind == "param_groups") {
        EMBER_CHECK(index && *index < groups_.size(), op, ": entry '", name,
                    "' names no group (this optimizer has ", groups_.size(), ")");
        EMBER_CHECK(group_fields[*index].insert(key).second, op, ": entry '", name,
                    "' appears twice");
        if (key == "params") {
          check_group_indices(t, *index, name, op);
          continue;
        }
        EMBER_CHECK(v.dtype == DType::Float64 && v.shape.empty(), op, ": entry '", name,
                    "' has dtype ", dtype_name(v.dtype), " and shape ", shape_str(v.shape),
                    "; expected a float64 scalar");
        const double value = Tensor<double>(t.impl).item();
        bool known = false;
        Options::visit_fields(new_options[*index], [&](const char* field, auto& f) {
          if (key != field) return;
          known = true;
          if constexpr (std::is_same_v<std::decay_t<decltype(f)>, bool>) {
            EMBER_CHECK(value == 0 || value == 1, op, ": entry '", name, "' is ", value,
                        "; expected 0 or 1 for a flag");
            f = value == 1;
          } else {
            f = value;
          }
        });
        EMBER_CHECK(known, op, ": unknown hyper-parameter '", key, "' in entry '", name, "'");
      } else {
        fail(op, ": unexpected entry '", name, "'", kExpectedNames);
      }
    }

    for (size_t g = 0; g < groups_.size(); ++g) {
      auto need = [&](const char* field) {
        EMBER_CHECK(group_fields[g].count(field), op, ": missing entry 'param_groups.", g, ".",
                    field, "'");
      };
      need("params");
      Options::visit_fields(new_options[g], [&](const char* field, const auto&) { need(field); });
      new_options[g].validate(op);
    }
    for (size_t i = 0; i < state.size(); ++i) {
      if (state[i].empty()) continue;
      for (const StateKey& k : state_keys())
        EMBER_CHECK(!k.required || state[i].count(k.name), op, ": parameter ", i,
                    " has state but no entry 'state.", i, ".", k.name, "'");
    }
    // Everything checked: commit.
    state_ = std::move(state);
    for (size_t g = 0; g < groups_.size(); ++g) groups_[g].options = new_options[g];
  }

 protected:
  ParamGroupOptimizer(std::string name, std::vector<ParamGroup<Options>> groups, Options defaults)
      : name_(std::move(name)), defaults_(defaults) {
    defaults_.validate(name_.c_str());
    size_t count = 0;
    for (const auto& g : groups) count += g.params.size();
    EMBER_CHECK(count > 0, name_, ": got an empty parameter list");
    for (auto& g : groups) add_param_group(std::move(g));
  }

  // A state entry an optimizer keeps per parameter: `is_step` entries are int64 scalars, the
  // others have the parameter's dtype and shape. Parameters without state have no entries.
  struct StateKey {
    const char* name;
    bool is_step;
    bool required;
  };
  virtual std::vector<StateKey> state_keys() const = 0;

  // Parameter `index`'s state under `key`: undefined until the optimizer sets it. References
  // stay valid when other keys are added (std::map).
  AnyTensor& state(size_t index, const std::string& key) { return state_[index][key]; }

  // Calls f(index, impl, options) for every parameter with a gradient, after checking both.
  template <class F>
  void for_each_param_with_grad(F&& f) {
    const std::string op_name = name_ + ".step";
    const char* op = op_name.c_str();
    NoGradGuard no_grad;
    size_t index = 0;
    for (const Group& g : groups_) {
      g.options.validate(op);
      for (const AnyTensor& p : g.params) {
        const size_t i = index++;
        if (!p.impl->grad) continue;
        detail::check_param(p, op, i);
        detail::check_grad(*p.impl, op, i);
        if (p.impl->numel() == 0) continue;
        ++p.impl->version;  // graphs that saved this parameter see it changed
        f(i, *p.impl, g.options);
      }
    }
  }

  std::string name_;

 private:
  struct Group {
    std::vector<AnyTensor> params;
    Options options;
  };

  size_t check_group(size_t group, const char* what) const {
    EMBER_CHECK(group < groups_.size(), name_, ".", what, ": group ", group,
                " out of range (the optimizer has ", groups_.size(), ")");
    return group;
  }
  std::optional<StateKey> find_state_key(const std::string& key) const {
    for (const StateKey& k : state_keys())
      if (key == k.name) return k;
    return std::nullopt;
  }
  void check_group_indices(const AnyTensor& t, size_t g, const std::string& name,
                           const char* op) const {
    size_t first = 0;
    for (size_t k = 0; k < g; ++k) first += groups_[k].params.size();
    const int64_t n = int64_t(groups_[g].params.size());
    const TensorImpl& v = *t.impl;
    bool ok = v.dtype == DType::Int64 && v.shape == Shape{n};
    if (ok) {
      const std::vector<int64_t> got = Tensor<int64_t>(t.impl).to_vector();
      for (int64_t k = 0; k < n; ++k) ok = ok && got[size_t(k)] == int64_t(first) + k;
    }
    EMBER_CHECK(ok, op, ": entry '", name, "' (dtype ", dtype_name(v.dtype), ", shape ",
                shape_str(v.shape), ") does not match group ", g, ", which holds parameters ",
                first, "..", first + size_t(n), " (", n, " of them, as int64 [", n, "])");
  }

  Options defaults_;
  std::vector<Group> groups_;
  std::vector<std::map<std::string, AnyTensor>> state_;  // per parameter, by key
  std::unordered_set<const TensorImpl*> seen_;           // rejects a parameter given twice
};

}  // namespace ember::optim
