// scaled_dot_product_attention: softmax(q kᵀ * scale + mask) v, as
// torch.nn.functional.scaled_dot_product_attention computes it on its math path.
//
// q [..., L, E], k [..., S, E], v [..., S, Ev] with equal batch dims "...". The batch dims are
// flattened and the products are two bmm calls; the softmax is the fused one of
// ops/softmax.hpp. Gradients are those of bmm, mul, add, masked_fill, softmax and dropout, all
// differentiable, so create_graph gives second derivatives.
//
// Masks: an additive attn_mask (T, broadcastable to [..., L, S], -inf blocks), or a boolean
// attn_mask_bool (true = may attend, PyTorch SDPA's convention), or is_causal, which blocks key
// j for query i where j > i (the top-left aligned lower triangle, as PyTorch). The causal case
// builds no mask tensor: a small op writes -inf above the diagonal of the score matrix, and
// its backward zeroes the same entries of the gradient. A query whose keys are all blocked
// gets NaN weights, as on PyTorch's math path.
#pragma once

#include <cmath>
#include <cstdint>
#include <ember/backend/attention.hpp>
#include <ember/core/random.hpp>
#include <ember/core/tensor.hpp>
#include <ember/ops/arith.hpp>
#include <ember/ops/compare.hpp>
#include <ember/ops/dropout.hpp>
#include <ember/ops/indexing.hpp>
#include <ember/ops/linalg.hpp>
#include <ember/ops/softmax.hpp>
#include <limits>
#include <optional>
#include <type_traits>

namespace ember {

template <class T>
struct SdpaOptions {
  Tensor<T> attn_mask{};           // additive, broadcastable to [..., L, S]; undefined for none
  Tensor<bool> attn_mask_bool{};   // true where query i may attend to key j; undefined for none
  bool is_causal = false;          // block key j > query i (no mask tensor is built)
  double dropout_p = 0.0;          // dropout on the attention weights
  std::optional<double> scale{};   // default 1 / sqrt(E)
  Generator* generator = nullptr;  // for dropout; default_generator() when null
};

// What attention computes besides its output: the (post-dropout) attention weights.
template <class T>
struct AttentionResult {
  Tensor<T> output{};   // [..., L, Ev]
  Tensor<T> weights{};  // [..., L, S]
};

namespace detail {

// x [..., L, S] with `value` written where j > i + diagonal. Gradient: the same fill (with 0)
// of the incoming gradient, so it is differentiable to any order.
template <class T>
Tensor<T> fill_above_diagonal(const Tensor<T>& x, std::type_identity_t<T> value,
                              int64_t diagonal = 0) {
  EMBER_CHECK(x.dim() >= 2, "fill_above_diagonal: expected at least 2 dims, got ",
              shape_str(x.shape()));
  Tensor<T> out = backend::fill_above_diagonal(x, diagonal, T(value), "fill_above_diagonal");
  if (any_requires_grad(x))
    record(out, "fill_above_diagonal", {x}, [diagonal](const Tensor<T>& g) -> Grads {
      return {fill_above_diagonal(g, T(0), diagonal)};
    });
  return out;
}

inline bool broadcasts_to(const Shape& from, const Shape& to) {
  if (from.size() > to.size()) return false;
  const size_t lead = to.size() - from.size();
  for (size_t d = 0; d < from.size(); ++d)
    if (from[d] != 1 && from[d] != to[lead + d]) return false;
  return true;
}

// The attention, returning the weights too (MultiheadAttention needs them).
template <class T>
AttentionResult<T> attention(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& v,
                             const SdpaOptions<T>& opt, const char* op) {
  static_assert(std::is_floating_point_v<T>, "scaled_dot_product_attention: needs float or double");
  // No device of its own: bmm (cuBLAS on CUDA), softmax, the masks and dropout each run on
  // their operands' device (and reject operands on different devices).
  EMBER_CHECK(q.dim() >= 2 && k.dim() == q.dim() && v.dim() == q.dim(), op,
              ": expected q [..., L, E], k [..., S, E], v [..., S, Ev] of equal rank >= 2, got q ",
              shape_str(q.shape()), ", k ", shape_str(k.shape()), ", v ", shape_str(v.shape()));
  const Shape batch(q.shape().begin(), q.shape().end() - 2);
  const int64_t L = q.size(-2), E = q.size(-1), S = k.size(-2), Ev = v.size(-1);
  const bool batch_ok = Shape(k.shape().begin(), k.shape().end() - 2) == batch &&
                        Shape(v.shape().begin(), v.shape().end() - 2) == batch;
  EMBER_CHECK(batch_ok && k.size(-1) == E && v.size(-2) == S, op,
              ": shapes do not match: expected q [..., L, E], k [..., S, E], v [..., S, Ev] with "
              "the same batch dims, got q ",
              shape_str(q.shape()), ", k ", shape_str(k.shape()), ", v ", shape_str(v.shape()));
  Shape score_shape = batch;
  score_shape.push_back(L);
  score_shape.push_back(S);
  if (opt.attn_mask.defined())
    EMBER_CHECK(broadcasts_to(opt.attn_mask.shape(), score_shape), op, ": attn_mask of shape ",
                shape_str(opt.attn_mask.shape()), " does not broadcast to the score shape ",
                shape_str(score_shape), " ([..., L, S])");
  if (opt.attn_mask_bool.defined())
    EMBER_CHECK(broadcasts_to(opt.attn_mask_bool.shape(), score_shape), op,
                ": attn_mask_bool of shape ", shape_str(opt.attn_mask_bool.shape()),
                " does not broadcast to the score shape ", shape_str(score_shape),
                " ([..., L, S])");
  EMBER_CHECK(opt.dropout_p >= 0.0 && opt.dropout_p <= 1.0, op,
              ": dropout_p must be in [0, 1], got ", opt.dropout_p);

  int64_t B = 1;
  for (int64_t s : batch) B *= s;
  const double scale = opt.scale ? *opt.scale : 1.0 / std::sqrt(double(E));
  // Scaling q (L x E values) is cheaper than scaling the scores (L x S) when E < S, and the
  // same otherwise; PyTorch's math path scales before the product too.
  const Tensor<T> q3 = mul(q.reshape({B, L, E}), T(scale));
  Tensor<T> scores = bmm(q3, k.reshape({B, S, E}).mT());  // [B, L, S]
  // Several masks add up (MultiheadAttention combines causal with padding masks);
  // scaled_dot_product_attention itself accepts only one, as PyTorch does.
  if (opt.is_causal) scores = fill_above_diagonal(scores, -std::numeric_limits<T>::infinity());
  if (opt.attn_mask.defined())
    scores = add(scores.reshape(score_shape), opt.attn_mask).reshape({B, L, S});
  if (opt.attn_mask_bool.defined()) {
    scores = masked_fill(scores.reshape(score_shape), logical_not(opt.attn_mask_bool),
                         -std::numeric_limits<T>::infinity())
                 .reshape({B, L, S});
  }
  Tensor<T> attn = softmax(scores, -1);
  if (opt.dropout_p > 0.0)
    attn = dropout(attn, opt.dropout_p, true, opt.generator ? *opt.generator : default_generator());
  Tensor<T> out = bmm(attn, v.reshape({B, S, Ev}));
  Shape out_shape = batch;
  out_shape.push_back(L);
  out_shape.push_back(Ev);
  return {out.reshape(out_shape), attn.reshape(score_shape)};
}

}  // namespace detail

// softmax(q kᵀ * scale + mask) v for q [..., L, E], k [..., S, E], v [..., S, Ev] -> [..., L, Ev].
// Like torch.nn.functional.scaled_dot_product_attention (bool masks: true = may attend).
template <class T>
Tensor<T> scaled_dot_product_attention(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& v,
                                       const SdpaOptions<std::type_identity_t<T>>& options = {}) {
  const int masks = int(options.attn_mask.defined()) + int(options.attn_mask_bool.defined()) +
                    int(options.is_causal);
  EMBER_CHECK(masks <= 1,
              "scaled_dot_product_attention: give at most one of attn_mask, attn_mask_bool and "
              "is_causal");
  return detail::attention(q, k, v, options, "scaled_dot_product_attention").output;
}

}  // namespace ember
