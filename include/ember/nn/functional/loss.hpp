// Loss functions (torch.nn.functional): cross_entropy, nll_loss, mse_loss, l1_loss,
// smooth_l1_loss, binary_cross_entropy_with_logits, kl_div, and cosine_similarity.
//
// Each loss is composed of differentiable ops (log_softmax, gather, where, sum, ...), so its
// gradient comes from theirs and create_graph gives second derivatives; cross_entropy of [N, C]
// logits without label smoothing is one fused op (kernels in backend/cross_entropy.hpp) with
// its own rule, on every device. Class weights, ignore masks and per-element weights are
// constants: built directly (no graph) and multiplied in. Semantics are PyTorch's, reduction
// included: Mean of a class-index loss is a weighted mean (sum of w[target] * loss over
// non-ignored elements / sum of w[target]).
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include <ember/backend/cross_entropy.hpp>
#include <ember/backend/device.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/activation.hpp>
#include <ember/ops/compare.hpp>
#include <ember/ops/indexing.hpp>
#include <ember/ops/reduce_more.hpp>
#include <ember/ops/softmax.hpp>
#include <ember/ops/unary.hpp>

namespace ember::nn::functional {

// How per-element losses are combined. BatchMean (sum / batch size) is kl_div's only.
enum class Reduction { None, Mean, Sum, BatchMean };

namespace detail {

inline const char* reduction_name(Reduction r) {
  switch (r) {
    case Reduction::None:
      return "None";
    case Reduction::Mean:
      return "Mean";
    case Reduction::Sum:
      return "Sum";
    case Reduction::BatchMean:
      return "BatchMean";
  }
  return "?";
}

template <class T>
Tensor<T> reduce(const Tensor<T>& loss, Reduction r, const char* op) {
  switch (r) {
    case Reduction::None:
      return loss;
    case Reduction::Mean:
      return mean(loss);
    case Reduction::Sum:
      return sum(loss);
    case Reduction::BatchMean:
      break;
  }
  fail(op, ": reduction ", reduction_name(r), " is only defined for kl_div");
}

template <class T>
void check_loss_inputs(const Tensor<T>& input, const Tensor<T>& target, const char* op) {
  static_assert(std::is_floating_point_v<T>, "losses need a real floating-point tensor");
  EMBER_CHECK(input.defined() && target.defined(), op, ": input or target is undefined");
  check_one_device(op, input, target);
  EMBER_CHECK(input.shape() == target.shape(), op,
              ": input and target must have the same shape, got ", shape_str(input.shape()),
              " and ", shape_str(target.shape()));
}

// [1, C, 1, ...]: a class-weight vector shaped to broadcast along dim 1 of a rank-`rank` input.
template <class T>
Tensor<T> class_view(const Tensor<T>& w, int64_t rank) {
  Shape s(size_t(rank), 1);
  s[1] = w.numel();
  return w.reshape(s);
}

template <class T>
void check_class_weight(const Tensor<T>& weight, int64_t classes, const char* op) {
  if (!weight.defined()) return;
  check_one_device(op, weight);
  EMBER_CHECK(weight.dim() == 1 && weight.numel() == classes, op,
              ": weight must be a 1-D tensor with one value per class (", classes,
              " classes), got shape ", shape_str(weight.shape()));
}

// Per-element constants of a class-index loss: target with ignored entries replaced by 0 (so
// it can index), each element's weight (w[target], 0 where ignored), and the sum of those
// weights (the Mean denominator). Validates every target against the number of classes, on the
// host: a target on a device is validated on a copy (which waits for the device), and the
// results go back to the target's device.
template <class T>
struct IndexTargets {
  Tensor<int64_t> safe;  // target's shape
  Tensor<T> weight;      // target's shape
  Tensor<bool> ignored;  // target's shape
  double total_weight = 0.0;
};

template <class T>
IndexTargets<T> index_targets(const Tensor<int64_t>& target, int64_t classes,
                              const Tensor<T>& class_weight, int64_t ignore_index, const char* op,
                              const Shape& input_shape) {
  if (!target.device().is_cpu()) {
    const Device dev = target.device();
    IndexTargets<T> r = index_targets(
        target.to(Device::cpu()), classes,
        class_weight.defined() ? class_weight.detach().to(Device::cpu()) : Tensor<T>(),
        ignore_index, op, input_shape);
    r.safe = r.safe.to(dev);
    r.weight = r.weight.to(dev);
    r.ignored = r.ignored.to(dev);
    return r;
  }
  const Tensor<int64_t> tc = target.contiguous();
  const Tensor<T> wc = class_weight.defined() ? class_weight.contiguous() : Tensor<T>();
  IndexTargets<T> r{Tensor<int64_t>::empty(target.shape()), Tensor<T>::empty(target.shape()),
                    Tensor<bool>::empty(target.shape())};
  const int64_t* t = tc.data_ptr();
  int64_t* s = r.safe.data_ptr();
  T* w = r.weight.data_ptr();
  bool* ign = r.ignored.data_ptr();
  for (int64_t i = 0; i < tc.numel(); ++i) {
    const int64_t v = t[i];
    ign[i] = v == ignore_index;
    if (ign[i]) {
      s[i] = 0;
      w[i] = T(0);
      continue;
    }
    EMBER_CHECK(v >= 0 && v < classes, op, ": target ", v, " is out of bounds for ", classes,
                " classes (expected 0 <= target < ", classes, ", or ignore_index ", ignore_index,
                "); input shape ", shape_str(input_shape), ", target shape ",
                shape_str(target.shape()));
    s[i] = v;
    w[i] = wc.defined() ? wc.data_ptr()[v] : T(1);
    r.total_weight += double(w[i]);
  }
  return r;
}

// Checks the (input, class-index target) shapes: input [N, C, d...] with target [N, d...], or
// an unbatched input [C] with a 0-d target. Returns the number of classes.
template <class T>
int64_t check_class_shapes(const Tensor<T>& input, const Tensor<int64_t>& target, const char* op) {
  static_assert(std::is_floating_point_v<T>, "losses need a real floating-point tensor");
  EMBER_CHECK(input.defined() && target.defined(), op, ": input or target is undefined");
  check_one_device(op, input, target);
  EMBER_CHECK(input.dim() >= 1, op, ": expected input of shape [N, C, d...] or [C], got ",
              shape_str(input.shape()));
  Shape expected = input.shape();
  expected.erase(expected.begin() + (input.dim() == 1 ? 0 : 1));
  EMBER_CHECK(target.shape() == expected, op, ": for input of shape ", shape_str(input.shape()),
              " (classes along dim ", input.dim() == 1 ? 0 : 1, ") expected target of shape ",
              shape_str(expected), ", got ", shape_str(target.shape()));
  return input.dim() == 1 ? input.shape()[0] : input.shape()[1];
}

// log_probs[n, target[n], d...] along dim 1 (idx: [N, 1, d...]), through the pick of
// max(x, dim) (its gradient places g back; the placement's gradient picks again).
template <class T>
Tensor<T> pick_class(const Tensor<T>& log_probs, const Tensor<int64_t>& idx) {
  return ember::detail::gather_picked(log_probs, idx, {1});
}

// Logits [N, C], no label smoothing: the per-row loss -log_softmax(x)[n, t[n]] w[n] in one pass
// over the logits, without materialising log_softmax (the LM-head loss of the gpt_step workload
// reads [8192, 50257] logits); kernels in backend/cross_entropy.hpp. The backward is one pass
// too: gx = g w (softmax(x) - one_hot(t)). Under create_graph the rule is written with softmax
// and a constant one-hot instead, so second derivatives work. w is a constant (0 where ignored).
template <class T>
Tensor<T> fused_cross_entropy(const Tensor<T>& logits, const Tensor<int64_t>& target,
                              const Tensor<T>& w) {
  backend::CrossEntropyForward<T> f =
      backend::cross_entropy_forward(logits, target, w, "cross_entropy");
  if (any_requires_grad(logits))
    record(f.loss, "cross_entropy", {logits},
           [logits, target, w, row_max = f.max, log_sum = f.log_sum](const Tensor<T>& g) -> Grads {
             if (!GradMode::is_enabled())
               return {backend::cross_entropy_backward(g, logits, target, w, row_max, log_sum,
                                                       "cross_entropy_backward")};
             const int64_t n = logits.size(0);
             const Tensor<T> one_hot =
                 ember::detail::scatter_picked(Tensor<T>::ones({n, 1}, logits.device()),
                                               target.reshape({n, 1}), logits.shape(), {1});
             return {mul(sub(softmax(logits, 1), one_hot), mul(g, w).unsqueeze(1))};
           });
  return f.loss;
}

// The Mean denominator as a 0-d tensor on the loss's device.
template <class T>
Tensor<T> scalar_like(const Tensor<T>& t, double v) {
  return Tensor<T>::full({}, T(v), t.device());
}

}  // namespace detail

// ---------------------------------------------------------------------- nll_loss

template <class T>
struct NLLLossOptions {
  Tensor<T> weight = {};  // [C] class weights; undefined means all ones
  int64_t ignore_index = -100;
  Reduction reduction = Reduction::Mean;
};

// -log_probs[n, target[n], d...] * weight[target], from log-probabilities [N, C, d...] (or [C])
// and class indices [N, d...] (or 0-d).
template <class T>
Tensor<T> nll_loss(const Tensor<T>& log_probs, const Tensor<int64_t>& target,
                   NLLLossOptions<T> options = {}) {
  const char* op = "nll_loss";
  const int64_t classes = detail::check_class_shapes(log_probs, target, op);
  detail::check_class_weight(options.weight, classes, op);
  if (log_probs.dim() == 1) {  // unbatched: a batch of one
    Tensor<T> l = nll_loss(log_probs.unsqueeze(0), target.unsqueeze(0), options);
    return options.reduction == Reduction::None ? l.squeeze(0) : l;
  }
  const auto t = detail::index_targets(target, classes, options.weight, options.ignore_index, op,
                                       log_probs.shape());
  const Tensor<T> picked = detail::pick_class(log_probs, t.safe.unsqueeze(1)).squeeze(1);
  const Tensor<T> loss = neg(mul(picked, t.weight));
  switch (options.reduction) {
    case Reduction::None:
      return loss;
    case Reduction::Sum:
      return sum(loss);
    case Reduction::Mean:
      return div(sum(loss), detail::scalar_like(loss, t.total_weight));  // 0/0 = NaN, as torch
    case Reduction::BatchMean:
      break;
  }
  fail(op, ": reduction BatchMean is only defined for kl_div");
}

// ---------------------------------------------------------------------- cross_entropy

template <class T>
struct CrossEntropyOptions {
  Tensor<T> weight = {};  // [C] class weights; undefined means all ones
  int64_t ignore_index =
      -100;  // class-index targets equal to this add nothing (not to Mean's count)
  Reduction reduction = Reduction::Mean;
  double label_smoothing = 0.0;  // eps: the target becomes (1 - eps) one_hot + eps / C
};

// Cross entropy of logits [N, C, d...] (or unbatched [C]) against class indices [N, d...]:
// nll_loss(log_softmax(logits, 1), target). With label smoothing eps, PyTorch's
//   (1 - eps) * nll + eps / C * smooth,  smooth = sum_c -w_c log p_c
// (zero at ignored elements), both reduced the same way (Mean: divided by sum of w[target]).
template <class T>
Tensor<T> cross_entropy(const Tensor<T>& logits, const Tensor<int64_t>& target,
                        CrossEntropyOptions<T> options = {}) {
  const char* op = "cross_entropy";
  const int64_t classes = detail::check_class_shapes(logits, target, op);
  detail::check_class_weight(options.weight, classes, op);
  const double eps = options.label_smoothing;
  EMBER_CHECK(eps >= 0.0 && eps <= 1.0, op, ": label_smoothing must be in [0, 1], got ", eps);
  EMBER_CHECK(options.reduction != Reduction::BatchMean, op,
              ": reduction BatchMean is only defined for kl_div");
  if (logits.dim() == 1) {  // unbatched: a batch of one
    Tensor<T> l = cross_entropy(logits.unsqueeze(0), target.unsqueeze(0), options);
    return options.reduction == Reduction::None ? l.squeeze(0) : l;
  }
  const auto t = detail::index_targets(target, classes, options.weight, options.ignore_index, op,
                                       logits.shape());
  if (logits.dim() == 2 && eps == 0.0) {
    const Tensor<T> per = detail::fused_cross_entropy(logits, t.safe, t.weight);
    if (options.reduction == Reduction::None) return per;
    if (options.reduction == Reduction::Sum) return sum(per);
    return div(sum(per), detail::scalar_like(per, t.total_weight));  // 0/0 = NaN, as torch
  }
  const Tensor<T> logp = log_softmax(logits, 1);
  const Tensor<T> nll =
      neg(mul(detail::pick_class(logp, t.safe.unsqueeze(1)).squeeze(1), t.weight));
  Tensor<T> per = nll;  // per-element loss, target's shape
  if (eps > 0.0) {
    const Tensor<T> weighted =
        options.weight.defined() ? mul(logp, detail::class_view(options.weight, logp.dim())) : logp;
    const Tensor<T> summed = neg(sum(weighted, {1}));
    const Tensor<T> smooth = masked_fill(summed, t.ignored, T(0));
    per = add(mul(nll, T(1.0 - eps)), mul(smooth, T(eps / double(classes))));
  }
  switch (options.reduction) {
    case Reduction::None:
      return per;
    case Reduction::Sum:
      return sum(per);
    default:
      return div(sum(per), detail::scalar_like(per, t.total_weight));  // 0/0 = NaN, as torch
  }
}

// Cross entropy against class probabilities of the logits' shape:
//   loss[n, d...] = -sum_c w_c * target[n, c, d...] * log_softmax(logits)[n, c, d...],
// with target replaced by (1 - eps) target + eps / C under label smoothing. Mean divides by the
// number of elements N * d... (class weights do not enter the denominator here, as in PyTorch).
// ignore_index does not apply. The gradient reaches the target too.
template <class T>
Tensor<T> cross_entropy(const Tensor<T>& logits, const Tensor<T>& target,
                        CrossEntropyOptions<T> options = {}) {
  const char* op = "cross_entropy";
  detail::check_loss_inputs(logits, target, op);
  EMBER_CHECK(logits.dim() >= 1, op, ": expected logits of shape [N, C, d...] or [C], got ",
              shape_str(logits.shape()));
  const int64_t class_dim = logits.dim() == 1 ? 0 : 1;
  const int64_t classes = logits.shape()[class_dim];
  detail::check_class_weight(options.weight, classes, op);
  const double eps = options.label_smoothing;
  EMBER_CHECK(eps >= 0.0 && eps <= 1.0, op, ": label_smoothing must be in [0, 1], got ", eps);
  EMBER_CHECK(options.reduction != Reduction::BatchMean, op,
              ": reduction BatchMean is only defined for kl_div");
  const Tensor<T> logp = log_softmax(logits, class_dim);
  Tensor<T> q = eps > 0.0 ? add(mul(target, T(1.0 - eps)), T(eps / double(classes))) : target;
  if (options.weight.defined())
    q = mul(q, class_dim == 0 ? options.weight : detail::class_view(options.weight, logits.dim()));
  const Tensor<T> per = neg(sum(mul(logp, q), {class_dim}));
  return detail::reduce(per, options.reduction, op);
}

// ---------------------------------------------------------------------- regression losses

// (input - target)^2. Shapes must match (PyTorch would broadcast with a warning; that is
// almost always a [N] vs [N, 1] bug, so here it is an error).
template <class T>
Tensor<T> mse_loss(const Tensor<T>& input, const Tensor<T>& target,
                   Reduction reduction = Reduction::Mean) {
  detail::check_loss_inputs(input, target, "mse_loss");
  const Tensor<T> d = sub(input, target);
  return detail::reduce(mul(d, d), reduction, "mse_loss");
}

// |input - target|.
template <class T>
Tensor<T> l1_loss(const Tensor<T>& input, const Tensor<T>& target,
                  Reduction reduction = Reduction::Mean) {
  detail::check_loss_inputs(input, target, "l1_loss");
  return detail::reduce(abs(sub(input, target)), reduction, "l1_loss");
}

struct SmoothL1LossOptions {
  Reduction reduction = Reduction::Mean;
  double beta = 1.0;  // where the loss switches from quadratic to linear; 0 gives l1_loss
};

// 0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta elsewhere, d = input - target.
template <class T>
Tensor<T> smooth_l1_loss(const Tensor<T>& input, const Tensor<T>& target,
                         SmoothL1LossOptions options = {}) {
  const char* op = "smooth_l1_loss";
  detail::check_loss_inputs(input, target, op);
  EMBER_CHECK(options.beta >= 0.0, op, ": beta must be non-negative, got ", options.beta);
  if (options.beta == 0.0) return l1_loss(input, target, options.reduction);
  const T beta = T(options.beta);
  const Tensor<T> d = sub(input, target);
  const Tensor<T> ad = abs(d);
  const Tensor<T> loss =
      where(lt(ad.detach(), beta), mul(mul(d, d), T(0.5) / beta), add(ad, T(-0.5) * beta));
  return detail::reduce(loss, options.reduction, op);
}

// ---------------------------------------------------------------------- binary cross entropy

template <class T>
struct BCEWithLogitsOptions {
  Tensor<T> weight = {};  // per-element rescaling, broadcast against the input
  Reduction reduction = Reduction::Mean;
  Tensor<T> pos_weight = {};  // weight of positive examples, broadcast along the last dim ([C])
};

// -w [pw y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))], in the stable form
//   (1 - y) x + (1 + (pw - 1) y) softplus(-x),
// which stays finite for logits of any size.
template <class T>
Tensor<T> binary_cross_entropy_with_logits(const Tensor<T>& input, const Tensor<T>& target,
                                           BCEWithLogitsOptions<T> options = {}) {
  const char* op = "binary_cross_entropy_with_logits";
  detail::check_loss_inputs(input, target, op);
  // softplus returns its argument above the threshold; from there on log1p(exp(v)) - v is
  // below half an ulp of v (e^-20 for float, e^-40 for double), so the result is exact.
  const SoftplusOptions sp{.beta = 1.0, .threshold = std::is_same_v<T, float> ? 20.0 : 40.0};
  const Tensor<T> sp_neg = softplus(neg(input), sp);  // -log sigmoid(x)
  Tensor<T> loss;
  if (options.pos_weight.defined()) {
    check_one_device(op, input, options.pos_weight);
    const Tensor<T> log_weight = add(mul(add(options.pos_weight, T(-1)), target), T(1));
    loss = add(mul(rsub(target, T(1)), input), mul(log_weight, sp_neg));
  } else {
    loss = add(mul(rsub(target, T(1)), input), sp_neg);
  }
  EMBER_CHECK(loss.shape() == input.shape(), op, ": pos_weight of shape ",
              shape_str(options.pos_weight.shape()), " does not broadcast to the input shape ",
              shape_str(input.shape()));
  if (options.weight.defined()) {
    check_one_device(op, input, options.weight);
    loss = mul(loss, options.weight);
    EMBER_CHECK(loss.shape() == input.shape(), op, ": weight of shape ",
                shape_str(options.weight.shape()), " does not broadcast to the input shape ",
                shape_str(input.shape()));
  }
  return detail::reduce(loss, options.reduction, op);
}

// ---------------------------------------------------------------------- kl_div

struct KLDivOptions {
  Reduction reduction = Reduction::Mean;  // BatchMean (sum / batch size) is the true KL divergence
  bool log_target = false;                // target given as log-probabilities
};

// Pointwise target * (log target - input) with input as log-probabilities (0 where target is
// 0), or exp(target) * (target - input) with log_target.
template <class T>
Tensor<T> kl_div(const Tensor<T>& input, const Tensor<T>& target, KLDivOptions options = {}) {
  const char* op = "kl_div";
  detail::check_loss_inputs(input, target, op);
  Tensor<T> loss;
  if (options.log_target) {
    loss = mul(exp(target), sub(target, input));
  } else {
    // xlogy(t, t) = t log t with 0 log 0 = 0. log reads 1 where t <= 0 so neither the value nor
    // the gradient picks up log(0) = -inf (0 * -inf would be NaN).
    const Tensor<T> safe = where(gt(target.detach(), T(0)), target, T(1));
    loss = sub(mul(target, log(safe)), mul(target, input));
  }
  if (options.reduction == Reduction::BatchMean) {
    const int64_t batch = input.dim() == 0 ? 1 : input.shape()[0];
    return div(sum(loss), detail::scalar_like(loss, double(batch)));
  }
  return detail::reduce(loss, options.reduction, op);
}

// ---------------------------------------------------------------------- cosine_similarity

// sum(x1 * x2, dim) / (max(|x1|, eps) * max(|x2|, eps)), computed as PyTorch 2 does: each input
// divided by its clamped norm first (keeps the result in [-1, 1]). x1 and x2 broadcast.
template <class T>
Tensor<T> cosine_similarity(const Tensor<T>& x1, const Tensor<T>& x2, int64_t dim = 1,
                            double eps = 1e-8) {
  static_assert(std::is_floating_point_v<T>,
                "cosine_similarity: needs a real floating-point tensor");
  const char* op = "cosine_similarity";
  EMBER_CHECK(x1.defined() && x2.defined(), op, ": x1 or x2 is undefined");
  const Shape shape = broadcast_shapes(x1.shape(), x2.shape(), op);
  EMBER_CHECK(!shape.empty(), op, ": expected tensors with at least one dimension, got shapes ",
              shape_str(x1.shape()), " and ", shape_str(x2.shape()));
  dim = wrap_dim(dim, int64_t(shape.size()), op);
  const Tensor<T> a = x1.expand(shape), b = x2.expand(shape);
  // max(|x|, eps) as sqrt(max(|x|^2, eps^2)): same value, and a zero vector gets a finite
  // gradient (sqrt is never evaluated at 0).
  const T eps2 = T(eps * eps);
  const Tensor<T> na = sqrt(clamp_min(sum(mul(a, a), {dim}, true), eps2));
  const Tensor<T> nb = sqrt(clamp_min(sum(mul(b, b), {dim}, true), eps2));
  return sum(mul(div(a, na), div(b, nb)), {dim});
}

}  // namespace ember::nn::functional
