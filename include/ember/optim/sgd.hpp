// Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay:
// torch.optim.SGD, formula for formula. For each parameter p with gradient g (per real
// component; maximize negates g first):
//
//   g = g + weight_decay * p                         if weight_decay != 0
//   if momentum != 0:
//     buf = g                                        on the parameter's first step
//     buf = momentum * buf + (1 - dampening) * g     on later steps
//     g = nesterov ? g + momentum * buf : buf
//   p = p - lr * g
//
// One fused pass over param, grad and momentum buffer (backend/optim.hpp: the CPU kernel, or a
// multi-tensor launch for the CUDA parameters).
//
// State: "momentum_buffer" (the parameter's dtype and shape), only when momentum != 0.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include <ember/backend/optim.hpp>
#include <ember/optim/optimizer.hpp>

namespace ember::optim {

struct SGDOptions {
  double lr = 0.01;
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;
  bool maximize = false;

  void validate(const char* op) const {
    EMBER_CHECK(lr >= 0, op, ": invalid learning rate ", lr, " (expected >= 0)");
    EMBER_CHECK(momentum >= 0, op, ": invalid momentum ", momentum, " (expected >= 0)");
    EMBER_CHECK(weight_decay >= 0, op, ": invalid weight_decay ", weight_decay, " (expected >= 0)");
    EMBER_CHECK(dampening == dampening, op, ": dampening is NaN");
    EMBER_CHECK(!nesterov || (momentum > 0 && dampening == 0), op,
                ": Nesterov momentum needs momentum > 0 and dampening == 0, got momentum ",
                momentum, " and dampening ", dampening);
  }
  template <class O, class F>
  static void visit_fields(O& o, F&& f) {
    f("lr", o.lr);
    f("momentum", o.momentum);
    f("dampening", o.dampening);
    f("weight_decay", o.weight_decay);
    f("nesterov", o.nesterov);
    f("maximize", o.maximize);
  }
};

class SGD : public ParamGroupOptimizer<SGDOptions> {
 public:
  explicit SGD(std::vector<AnyTensor> params, SGDOptions options = {})
      : SGD(std::vector<ParamGroup<SGDOptions>>{{std::move(params), std::nullopt}}, options) {}
  explicit SGD(std::vector<ParamGroup<SGDOptions>> groups, SGDOptions defaults = {})
      : ParamGroupOptimizer("SGD", std::move(groups), defaults) {}

  void step() override {
    backend::OptimizerSteps steps;  // CUDA parameters: queued, then one multi-tensor launch
    for_each_param_with_grad([&](size_t i, const TensorImpl& p, const SGDOptions& o) {
      const TensorImpl* buf = nullptr;
      bool first = false;
      if (o.momentum != 0) {
        AnyTensor& b = state(i, "momentum_buffer");
        backend::move_state_to(b, p.storage->device());  // loaded from another device
        first = !b.defined();
        if (first) b = detail::zeros_like(p);
        buf = b.impl.get();
      }
      steps.sgd(p, buf, first, o.lr, o.momentum, o.dampening, o.weight_decay, o.nesterov,
                o.maximize, "SGD.step");
    });
    steps.launch();
  }

 protected:
  std::vector<StateKey> state_keys() const override {
    return {{.name = "momentum_buffer", .is_step = false, .required = false}};
  }
};

}  // namespace ember::optim
