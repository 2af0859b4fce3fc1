// Adam and AdamW: torch.optim.Adam and torch.optim.AdamW, formula for formula. For each
// parameter p with gradient g (per real component: a complex parameter is updated as pairs of
// reals, as PyTorch's view_as_real does; maximize negates g first), with t the parameter's own
// step count (1 on its first step):
//
//   Adam:  g = g + weight_decay * p                  if weight_decay != 0 (L2, in the gradient)
//   AdamW: p = p * (1 - lr * weight_decay)           (decoupled, before the moments)
//   m = m + (1 - beta1) * (g - m)                    (lerp: m = beta1 * m + (1 - beta1) * g)
//   v = beta2 * v + (1 - beta2) * g * g
//   v_max = max(v_max, v)                            if amsgrad; then v_max replaces v below
//   p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
//
// One fused pass over param, grad and moments (backend/optim.hpp: the CPU kernel, or a
// multi-tensor launch for the CUDA parameters).
//
// State: "step" (int64 scalar), "exp_avg" (m), "exp_avg_sq" (v) and, with amsgrad,
// "max_exp_avg_sq" (v_max), all but "step" of the parameter's dtype and shape.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include <ember/backend/optim.hpp>
#include <ember/optim/optimizer.hpp>

namespace ember::optim {

namespace detail {

template <class O>
void validate_adam(const O& o, const char* op) {
  EMBER_CHECK(o.lr >= 0, op, ": invalid learning rate ", o.lr, " (expected >= 0)");
  EMBER_CHECK(o.eps >= 0, op, ": invalid eps ", o.eps, " (expected >= 0)");
  EMBER_CHECK(o.beta1 >= 0 && o.beta1 < 1, op, ": invalid beta1 ", o.beta1, " (expected [0, 1))");
  EMBER_CHECK(o.beta2 >= 0 && o.beta2 < 1, op, ": invalid beta2 ", o.beta2, " (expected [0, 1))");
  EMBER_CHECK(o.weight_decay >= 0, op, ": invalid weight_decay ", o.weight_decay,
              " (expected >= 0)");
}

template <class O, class F>
void visit_adam_fields(O& o, F& f) {
  f("lr", o.lr);
  f("beta1", o.beta1);
  f("beta2", o.beta2);
  f("eps", o.eps);
  f("weight_decay", o.weight_decay);
  f("amsgrad", o.amsgrad);
  f("maximize", o.maximize);
}

}  // namespace detail

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;  // L2 penalty added to the gradient
  bool amsgrad = false;
  bool maximize = false;

  void validate(const char* op) const { detail::validate_adam(*this, op); }
  template <class O, class F>
  static void visit_fields(O& o, F&& f) {
    detail::visit_adam_fields(o, f);
  }
};

struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;  // decoupled: p *= 1 - lr * weight_decay
  bool amsgrad = false;
  bool maximize = false;

  void validate(const char* op) const { detail::validate_adam(*this, op); }
  template <class O, class F>
  static void visit_fields(O& o, F&& f) {
    detail::visit_adam_fields(o, f);
  }
};

// The shared implementation; Decoupled selects AdamW's weight decay.
template <class Options, bool Decoupled>
class AdamImpl : public ParamGroupOptimizer<Options> {
 public:
  // Defined below the class, not inline: the extern template declarations of ember::ember
  // then keep it (and the kernels it instantiates) out of every user's translation unit.
  void step() override;

 protected:
  using Base = ParamGroupOptimizer<Options>;
  using typename Base::StateKey;
  AdamImpl(const char* name, std::vector<ParamGroup<Options>> groups, Options defaults)
      : Base(name, std::move(groups), defaults) {}

  std::vector<StateKey> state_keys() const override {
    return {{.name = "step", .is_step = true, .required = true},
            {.name = "exp_avg", .is_step = false, .required = true},
            {.name = "exp_avg_sq", .is_step = false, .required = true},
            {.name = "max_exp_avg_sq", .is_step = false, .required = false}};
  }
};

template <class Options, bool Decoupled>
void AdamImpl<Options, Decoupled>::step() {
  backend::OptimizerSteps steps;  // CUDA parameters: queued, then one multi-tensor launch
  this->for_each_param_with_grad([&](size_t i, const TensorImpl& p, const Options& o) {
    AnyTensor& step = this->state(i, "step");
    AnyTensor& exp_avg = this->state(i, "exp_avg");
    AnyTensor& exp_avg_sq = this->state(i, "exp_avg_sq");
    // State loaded from another device moves to the parameter's ("step" stays on the host).
    const Device dev = p.storage->device();
    backend::move_state_to(step, Device::cpu());
    backend::move_state_to(exp_avg, dev);
    backend::move_state_to(exp_avg_sq, dev);
    if (!step.defined()) {
      step = Tensor<int64_t>::scalar(0);
      exp_avg = detail::zeros_like(p);
      exp_avg_sq = detail::zeros_like(p);
    }
    const TensorImpl* max_sq = nullptr;
    if (o.amsgrad) {  // zeros is right even if amsgrad was switched on late: max(0, v) = v
      AnyTensor& m = this->state(i, "max_exp_avg_sq");
      backend::move_state_to(m, dev);
      if (!m.defined()) m = detail::zeros_like(p);
      max_sq = m.impl.get();
    }
    const int64_t t = ++*Tensor<int64_t>(step.impl).data_ptr();
    steps.adam(p, *exp_avg.impl, *exp_avg_sq.impl, max_sq, t, Decoupled, o.lr, o.beta1, o.beta2,
               o.eps, o.weight_decay, o.maximize, this->name_.c_str());
  });
  steps.launch();
}

class Adam : public AdamImpl<AdamOptions, false> {
 public:
  explicit Adam(std::vector<AnyTensor> params, AdamOptions options = {})
      : Adam(std::vector<ParamGroup<AdamOptions>>{{std::move(params), std::nullopt}}, options) {}
  explicit Adam(std::vector<ParamGroup<AdamOptions>> groups, AdamOptions defaults = {})
      : AdamImpl("Adam", std::move(groups), defaults) {}
};

class AdamW : public AdamImpl<AdamWOptions, true> {
 public:
  explicit AdamW(std::vector<AnyTensor> params, AdamWOptions options = {})
      : AdamW(std::vector<ParamGroup<AdamWOptions>>{{std::move(params), std::nullopt}}, options) {}
  explicit AdamW(std::vector<ParamGroup<AdamWOptions>> groups, AdamWOptions defaults = {})
      : AdamImpl("AdamW", std::move(groups), defaults) {}
};

}  // namespace ember::optim
