// Tests for ops/attention.hpp (scaled_dot_product_attention), nn/attention.hpp
// (MultiheadAttention), nn/transformer.hpp (encoder / decoder layers), nn/embedding.hpp and
// nn/positional.hpp.
//
// Golden values come from PyTorch (tests/fixtures/transformer/, made by make_fixtures.py, in
// float64). The templated functional multi-head attention is compared in float64 at 1e-10
// relative; the float32 modules (MultiheadAttention, the transformer layers) are fed the
// fixture's values cast to float and compared at 1e-5 relative (norm-wise over each tensor).
#include <doctest/doctest.h>

#include <cmath>
#include <ember/autograd/gradcheck.hpp>
#include <ember/core/tensor.hpp>
#include <ember/io/json.hpp>
#include <ember/nn/attention.hpp>
#include <ember/nn/embedding.hpp>
#include <ember/nn/positional.hpp>
#include <ember/nn/transformer.hpp>
#include <ember/ops/attention.hpp>
#include <ember/ops/linalg.hpp>
#include <ember/ops/softmax.hpp>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <string>
#include <vector>

using namespace ember;

namespace {

using T64 = Tensor<double>;
using T32 = Tensor<float>;
namespace json = io::json;
constexpr double kInf = std::numeric_limits<double>::infinity();

json::Value load_fixture(const std::string& name) {
  const std::string path = EMBER_SOURCE_DIR "/tests/fixtures/transformer/" + name + ".json";
  std::ifstream f(path);
  REQUIRE_MESSAGE(f.good(), "cannot open ", path);
  const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return json::parse(text);
}

T64 fixture_tensor(const json::Value& v) {
  Shape shape;
  for (const auto& s : v.at("shape").as_array()) shape.push_back(s.as_int64());
  std::vector<double> data;
  for (const auto& x : v.at("data").as_array()) data.push_back(x.as_double());
  return T64::from_vector(data, shape);
}

// ||a - b|| / ||b|| over all elements.
template <class A, class B>
double rel_err(const Tensor<A>& a, const Tensor<B>& b) {
  REQUIRE(a.defined());
  REQUIRE(a.shape() == b.shape());
  const auto va = a.to_vector();
  const auto vb = b.to_vector();
  double num = 0, den = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    num += (double(va[i]) - double(vb[i])) * (double(va[i]) - double(vb[i]));
    den += double(vb[i]) * double(vb[i]);
  }
  return std::sqrt(num) / std::max(std::sqrt(den), 1e-300);
}

// Reference attention from matmul and an explicit additive mask (no fused pieces shared with
// scaled_dot_product_attention beyond matmul and softmax).
T64 reference_attention(const T64& q, const T64& k, const T64& v, const T64& mask, double scale) {
  T64 s = mul(matmul(q, k.mT()), scale);
  if (mask.defined()) s = add(s, mask);
  return matmul(softmax(s, -1), v);
}

T64 causal_additive(int64_t L, int64_t S) {
  T64 m = T64::zeros({L, S});
  for (int64_t i = 0; i < L; ++i)
    for (int64_t j = i + 1; j < S; ++j) m.at({i, j}) = -kInf;
  return m;
}

}  // namespace

// ------------------------------------------------------------------ scaled_dot_product_attention

TEST_CASE("sdpa: values against a reference, masks equivalent to additive ones") {
  Generator gen(1);
  const T64 q = T64::randn({2, 3, 4}, gen), k = T64::randn({2, 5, 4}, gen);
  const T64 v = T64::randn({2, 5, 3}, gen);
  const double scale = 0.5;
  CHECK(rel_err(scaled_dot_product_attention(q, k, v),
                reference_attention(q, k, v, T64(), 1.0 / std::sqrt(4.0))) < 1e-13);
  CHECK(rel_err(scaled_dot_product_attention(q, k, v, {.scale = scale}),
                reference_attention(q, k, v, T64(), scale)) < 1e-13);
  const T64 add_mask = T64::randn({3, 5}, gen);
  CHECK(rel_err(scaled_dot_product_attention(q, k, v, {.attn_mask = add_mask}),
                reference_attention(q, k, v, add_mask, 0.5)) < 1e-13);
  // Bool: true = may attend.
  Tensor<bool> allow = Tensor<bool>::full({2, 3, 5}, true);
  allow.at({0, 1, 2}) = false;
  allow.at({1, 2, 0}) = false;
  allow.at({1, 2, 4}) = false;
  T64 as_add = T64::zeros({2, 3, 5});
  as_add.at({0, 1, 2}) = as_add.at({1, 2, 0}) = as_add.at({1, 2, 4}) = -kInf;
  CHECK(rel_err(scaled_dot_product_attention(q, k, v, {.attn_mask_bool = allow}),
                reference_attention(q, k, v, as_add, 0.5)) < 1e-13);
  // Causal, square and L < S (top-left aligned as PyTorch).
  for (int64_t S : {3, 5}) {
    const T64 kk = k.narrow(1, 0, S), vv = v.narrow(1, 0, S);
    CHECK(rel_err(scaled_dot_product_attention(q, kk, vv, {.is_causal = true}),
                  reference_attention(q, kk, vv, causal_additive(3, S), 0.5)) < 1e-13);
  }
  // The first query of a causal attention sees only the first key.
  const T64 out = scaled_dot_product_attention(q, k, v, {.is_causal = true});
  CHECK(rel_err(out.select(1, 0), v.select(1, 0)) < 1e-14);
  // 4-D batch dims.
  const T64 q4 = T64::randn({2, 2, 3, 4}, gen), k4 = T64::randn({2, 2, 5, 4}, gen);
  const T64 v4 = T64::randn({2, 2, 5, 3}, gen);
  CHECK(rel_err(scaled_dot_product_attention(q4, k4, v4, {.attn_mask = add_mask}),
                reference_attention(q4, k4, v4, add_mask, 0.5)) < 1e-13);
}

TEST_CASE("sdpa: gradcheck and gradgradcheck with additive, boolean and causal masks") {
  Generator gen(2);
  T64 q = T64::randn({2, 3, 4}, gen).requires_grad_();
  T64 k = T64::randn({2, 4, 4}, gen).requires_grad_();
  T64 v = T64::randn({2, 4, 3}, gen).requires_grad_();
  T64 mask = T64::randn({3, 4}, gen).requires_grad_();  // the additive mask is differentiable too
  Tensor<bool> allow = Tensor<bool>::full({2, 1, 4}, true);
  allow.at({0, 0, 1}) = false;
  allow.at({1, 0, 3}) = false;
  const std::vector<std::pair<const char*, GradcheckFn>> cases = {
      {"none",
       [](const std::vector<T64>& x) { return scaled_dot_product_attention(x[0], x[1], x[2]); }},
      {"additive",
       [&](const std::vector<T64>& x) {
         return scaled_dot_product_attention(x[0], x[1], x[2], {.attn_mask = x[3]});
       }},
      {"bool",
       [&](const std::vector<T64>& x) {
         return scaled_dot_product_attention(x[0], x[1], x[2], {.attn_mask_bool = allow});
       }},
      {"causal",
       [&](const std::vector<T64>& x) {
         return scaled_dot_product_attention(x[0], x[1], x[2], {.is_causal = true});
       }},
  };
  for (const auto& [name, f] : cases) {
    INFO("mask: ", name);
    std::vector<T64> in = {q, k, v};
    if (std::string(name) == "additive") in.push_back(mask);
    CHECK(gradcheck_report(f, in) == "");
    CHECK(gradgradcheck_report(f, in) == "");
  }
  // Non-contiguous q / k / v (transposed views of [L, B, E]).
  T64 qt = T64::randn({3, 2, 4}, gen).transpose(0, 1).detach().requires_grad_();
  T64 kt = T64::randn({4, 2, 4}, gen).transpose(0, 1).detach().requires_grad_();
  T64 vt = T64::randn({2, 3, 4}, gen).mT().detach().requires_grad_();
  REQUIRE_FALSE(qt.is_contiguous());
  REQUIRE_FALSE(vt.is_contiguous());
  CHECK(gradcheck_report(cases[3].second, {qt, kt, vt}) == "");
  CHECK(gradgradcheck_report(cases[3].second, {qt, kt, vt}) == "");
}

TEST_CASE("sdpa: dropout is seeded and bad input throws") {
  Generator gen(3);
  const T64 q = T64::randn({2, 3, 4}, gen), k = T64::randn({2, 5, 4}, gen);
  const T64 v = T64::randn({2, 5, 3}, gen);
  Generator g1(7), g2(7);
  const T64 a = scaled_dot_product_attention(q, k, v, {.dropout_p = 0.5, .generator = &g1});
  const T64 b = scaled_dot_product_attention(q, k, v, {.dropout_p = 0.5, .generator = &g2});
  CHECK(rel_err(a, b) == 0.0);
  CHECK(rel_err(a, scaled_dot_product_attention(q, k, v)) > 1e-3);

  CHECK_THROWS_AS(scaled_dot_product_attention(q, T64::randn({2, 5, 3}, gen), v), Error);  // E
  CHECK_THROWS_AS(scaled_dot_product_attention(q, k, T64::randn({2, 4, 3}, gen)), Error);  // S
  CHECK_THROWS_AS(scaled_dot_product_attention(q, T64::randn({3, 5, 4}, gen), v), Error);  // batch
  CHECK_THROWS_AS(scaled_dot_product_attention(q, k, v, {.attn_mask = T64::zeros({4, 5})}), Error);
  CHECK_THROWS_AS(
      scaled_dot_product_attention(q, k, v, {.attn_mask_bool = Tensor<bool>::full({3, 4}, true)}),
      Error);
  CHECK_THROWS_AS(
      scaled_dot_product_attention(q, k, v, {.attn_mask = T64::zeros({3, 5}), .is_causal = true}),
      Error);
  try {
    scaled_dot_product_attention(q, k, v, {.attn_mask = T64::zeros({4, 5})});
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find("scaled_dot_product_attention") != std::string::npos);
    CHECK(msg.find("[4, 5]") != std::string::npos);
  }
}

// ------------------------------------------------------------------ MultiheadAttention

namespace {

nn::MultiheadAttentionParams<double> mha_params(const json::Value& fx, bool requires_grad) {
  auto p = [&](const char* name) {
    T64 t = fixture_tensor(fx.at(name));
    return requires_grad ? t.requires_grad_() : t;
  };
  nn::MultiheadAttentionParams<double> out;
  out.in_proj_weight = p("in_proj_weight");
  out.in_proj_bias = p("in_proj_bias");
  out.out_proj_weight = p("out_proj_weight");
  out.out_proj_bias = p("out_proj_bias");
  return out;
}

}  // namespace

TEST_CASE("multi_head_attention: causal self-attention against PyTorch") {
  const json::Value fx = load_fixture("mha_causal");
  const int64_t H = fx.at("num_heads").as_int64();
  const T64 gy = fixture_tensor(fx.at("gy"));
  const int64_t L = gy.size(1);
  // float64 functional, causal given as is_causal and as an additive mask: 1e-10 relative.
  for (bool as_flag : {true, false}) {
    INFO("is_causal flag: ", as_flag);
    const auto p = mha_params(fx, true);
    T64 q = fixture_tensor(fx.at("query")).requires_grad_();
    nn::MultiheadAttentionForwardOptions<double> opt;
    if (as_flag)
      opt.is_causal = true;
    else
      opt.attn_mask = causal_additive(L, L);
    const AttentionResult<double> r =
        nn::functional::multi_head_attention_forward(q, q, q, H, p, opt);
    r.output.backward(gy);
    CHECK(rel_err(r.output, fixture_tensor(fx.at("out"))) < 1e-10);
    CHECK(rel_err(r.weights, fixture_tensor(fx.at("weights"))) < 1e-10);
    CHECK(rel_err(q.grad(), fixture_tensor(fx.at("g_query"))) < 1e-10);
    CHECK(rel_err(p.in_proj_weight.grad(), fixture_tensor(fx.at("g_in_proj_weight"))) < 1e-10);
    CHECK(rel_err(p.in_proj_bias.grad(), fixture_tensor(fx.at("g_in_proj_bias"))) < 1e-10);
    CHECK(rel_err(p.out_proj_weight.grad(), fixture_tensor(fx.at("g_out_proj_weight"))) < 1e-10);
    CHECK(rel_err(p.out_proj_bias.grad(), fixture_tensor(fx.at("g_out_proj_bias"))) < 1e-10);
  }
  // float32 module with the weights copied in by PyTorch's names: 1e-5 relative.
  nn::MultiheadAttention mha(fx.at("embed_dim").as_int64(), H);
  mha.load_state_dict({{"in_proj_weight", fixture_tensor(fx.at("in_proj_weight")).to<float>()},
                       {"in_proj_bias", fixture_tensor(fx.at("in_proj_bias")).to<float>()},
                       {"out_proj.weight", fixture_tensor(fx.at("out_proj_weight")).to<float>()},
                       {"out_proj.bias", fixture_tensor(fx.at("out_proj_bias")).to<float>()}});
  T32 q = fixture_tensor(fx.at("query")).to<float>().requires_grad_();
  const AttentionResult<float> r = mha.forward(q, q, q, {.is_causal = true});
  r.output.backward(gy.to<float>());
  CHECK(rel_err(r.output, fixture_tensor(fx.at("out"))) < 1e-5);
  CHECK(rel_err(r.weights, fixture_tensor(fx.at("weights"))) < 1e-5);
  CHECK(rel_err(q.grad(), fixture_tensor(fx.at("g_query"))) < 1e-5);
  CHECK(rel_err(mha.in_proj_weight.grad(), fixture_tensor(fx.at("g_in_proj_weight"))) < 1e-5);
  CHECK(rel_err(mha.out_proj->weight.grad(), fixture_tensor(fx.at("g_out_proj_weight"))) < 1e-5);
}

TEST_CASE("multi_head_attention: cross-attention with a key padding mask against PyTorch") {
  const json::Value fx = load_fixture("mha_cross");
  const int64_t H = fx.at("num_heads").as_int64();
  const auto p = mha_params(fx, true);
  T64 q = fixture_tensor(fx.at("query")).requires_grad_();
  T64 k = fixture_tensor(fx.at("key")).requires_grad_();
  T64 v = fixture_tensor(fx.at("value")).requires_grad_();
  Tensor<bool> kpm = Tensor<bool>::empty({k.size(0), k.size(1)});
  const auto& flags = fx.at("key_padding_mask").as_array();
  for (size_t i = 0; i < flags.size(); ++i) kpm.data_ptr()[i] = flags[i].as_bool();
  const AttentionResult<double> r =
      nn::functional::multi_head_attention_forward(q, k, v, H, p, {.key_padding_mask = kpm});
  r.output.backward(fixture_tensor(fx.at("gy")));
  CHECK(rel_err(r.output, fixture_tensor(fx.at("out"))) < 1e-10);
  CHECK(rel_err(r.weights, fixture_tensor(fx.at("weights"))) < 1e-10);
  CHECK(rel_err(q.grad(), fixture_tensor(fx.at("g_query"))) < 1e-10);
  CHECK(rel_err(k.grad(), fixture_tensor(fx.at("g_key"))) < 1e-10);
  CHECK(rel_err(v.grad(), fixture_tensor(fx.at("g_value"))) < 1e-10);
  CHECK(rel_err(p.in_proj_weight.grad(), fixture_tensor(fx.at("g_in_proj_weight"))) < 1e-10);
  CHECK(rel_err(p.in_proj_bias.grad(), fixture_tensor(fx.at("g_in_proj_bias"))) < 1e-10);
  CHECK(rel_err(p.out_proj_weight.grad(), fixture_tensor(fx.at("g_out_proj_weight"))) < 1e-10);
  // Padded keys get zero weight.
  CHECK(r.weights.at({0, 1, k.size(1) - 1}) == 0.0);
  CHECK(r.weights.at({1, 2, 0}) == 0.0);
  // The same padding as a bool attn_mask of shape [N * H, L, S] (true = not allowed).
  Tensor<bool> m3 = Tensor<bool>::empty({k.size(0) * H, q.size(1), k.size(1)});
  for (int64_t n = 0; n < k.size(0); ++n)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < q.size(1); ++i)
        for (int64_t j = 0; j < k.size(1); ++j) m3.at({n * H + h, i, j}) = kpm.at({n, j});
  const auto r2 = nn::functional::multi_head_attention_forward(q.detach(), k.detach(), v.detach(),
                                                               H, p, {.attn_mask_bool = m3});
  CHECK(rel_err(r2.output, fixture_tensor(fx.at("out"))) < 1e-10);
}

TEST_CASE("multi_head_attention: gradcheck with separate kdim / vdim projections") {
  Generator gen(4);
  const int64_t E = 4, H = 2;
  T64 q = T64::randn({2, 3, E}, gen).requires_grad_();
  T64 k = T64::randn({2, 4, 3}, gen).requires_grad_();
  T64 v = T64::randn({2, 4, 5}, gen).requires_grad_();
  T64 wq = T64::randn({E, E}, gen, 0.0, 0.5).requires_grad_();
  T64 wk = T64::randn({E, 3}, gen, 0.0, 0.5).requires_grad_();
  T64 wv = T64::randn({E, 5}, gen, 0.0, 0.5).requires_grad_();
  T64 bi = T64::randn({3 * E}, gen, 0.0, 0.1).requires_grad_();
  T64 wo = T64::randn({E, E}, gen, 0.0, 0.5).requires_grad_();
  Tensor<bool> kpm = Tensor<bool>::full({2, 4}, false);
  kpm.at({1, 3}) = true;
  auto f = [&](const std::vector<T64>& x) {
    nn::MultiheadAttentionParams<double> p;
    p.q_proj_weight = x[3];
    p.k_proj_weight = x[4];
    p.v_proj_weight = x[5];
    p.in_proj_bias = x[6];
    p.out_proj_weight = x[7];
    return nn::functional::multi_head_attention_forward(
               x[0], x[1], x[2], H, p, {.key_padding_mask = kpm, .is_causal = true})
        .output;
  };
  CHECK(gradcheck_report(f, {q, k, v, wq, wk, wv, bi, wo}) == "");
  CHECK(gradgradcheck_report(f, {q, k, v, wq, wk, wv, bi, wo}) == "");
}

TEST_CASE("MultiheadAttention: layout, init, unbatched input and errors") {
  Generator gen(5);
  nn::MultiheadAttention mha(8, 2, {}, gen);
  std::vector<std::string> keys;
  for (auto& [name, t] : mha.state_dict()) keys.push_back(name);
  CHECK(keys == std::vector<std::string>{"in_proj_weight", "in_proj_bias", "out_proj.weight",
                                         "out_proj.bias"});
  CHECK(mha.in_proj_weight.shape() == Shape{24, 8});
  for (float b : mha.in_proj_bias.to_vector()) CHECK(b == 0.0f);
  for (float b : mha.out_proj->bias.to_vector()) CHECK(b == 0.0f);
  nn::MultiheadAttention kv(8, 2, {.bias = false, .kdim = 3, .vdim = 5}, gen);
  keys.clear();
  for (auto& [name, t] : kv.state_dict()) keys.push_back(name);
  CHECK(keys == std::vector<std::string>{"q_proj_weight", "k_proj_weight", "v_proj_weight",
                                         "out_proj.weight"});
  const T32 q = T32::randn({2, 4, 8}, gen), k = T32::randn({2, 6, 3}, gen);
  const T32 v = T32::randn({2, 6, 5}, gen);
  const auto r = kv.forward(q, k, v, {.average_attn_weights = false});
  CHECK(r.output.shape() == Shape{2, 4, 8});
  CHECK(r.weights.shape() == Shape{2, 2, 4, 6});
  // Unbatched input equals the batch's first item.
  const T32 x = T32::randn({2, 4, 8}, gen);
  const auto batched = mha.forward(x, x, x, {.is_causal = true});
  const T32 x0 = x.select(0, 0);
  const auto single = mha.forward(x0, x0, x0, {.is_causal = true});
  CHECK(rel_err(single.output, batched.output.select(0, 0)) < 1e-6);
  CHECK(single.weights.shape() == Shape{4, 4});
  // Self-attention (one GEMM) equals the three-projection path on copies of the input.
  const auto split = mha.forward(x, x.clone(), x.clone(), {.is_causal = true});
  CHECK(rel_err(split.output, batched.output) < 1e-6);

  CHECK_THROWS_AS(nn::MultiheadAttention(10, 3), Error);  // embed_dim not divisible by heads
  CHECK_THROWS_AS(mha.forward(x, x, x, {.attn_mask = T32::zeros({4, 5})}), Error);
  CHECK_THROWS_AS(mha.forward(x, x, x, {.attn_mask = T32::zeros({3, 4, 4})}), Error);
  CHECK_THROWS_AS(mha.forward(x, x, x, {.key_padding_mask = Tensor<bool>::full({2, 5}, false)}),
                  Error);
  CHECK_THROWS_AS(mha.forward(x, T32::randn({3, 4, 8}, gen), T32::randn({3, 4, 8}, gen)), Error);
  CHECK_THROWS_AS(mha.forward(T32::randn({2, 4, 6}, gen), x, x), Error);
  try {
    mha.forward(x, x, x, {.attn_mask = T32::zeros({4, 5})});
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("attn_mask of shape [4, 5]") != std::string::npos);
  }
  // Dropout on the weights only in training.
  nn::MultiheadAttention drop(8, 2, {.dropout = 0.5, .seed = 3}, gen);
  const T32 a = drop.forward(x, x, x).output;
  drop.eval();
  const T32 b = drop.forward(x, x, x).output;
  const T32 c = drop.forward(x, x, x).output;
  CHECK(rel_err(b, c) == 0.0);
  CHECK(rel_err(a, b) > 1e-3);
}

// ------------------------------------------------------------------ transformer layers

namespace {

// Loads a layer fixture's parameters into `m`, checks output and every gradient.
void check_layer_fixture(nn::Module& m, const json::Value& fx, const T32& y, const T32& x,
                         const T32& memory) {
  y.backward(fixture_tensor(fx.at("gy")).to<float>());
  CHECK(rel_err(y, fixture_tensor(fx.at("y"))) < 1e-5);
  CHECK(rel_err(x.grad(), fixture_tensor(fx.at("gx"))) < 1e-5);
  if (memory.defined()) CHECK(rel_err(memory.grad(), fixture_tensor(fx.at("gmemory"))) < 1e-5);
  std::map<std::string, AnyTensor> params;
  for (auto& [name, t] : m.named_parameters()) params[name] = t;
  const auto& grads = fx.at("grads").as_object();
  CHECK(grads.size() == params.size());
  for (const auto& [name, g] : grads) {
    INFO("parameter: ", name);
    REQUIRE(params.count(name) == 1);
    CHECK(rel_err(T32(params[name].impl).grad(), fixture_tensor(g)) < 1e-5);
  }
}

StateDict fixture_state(const json::Value& fx) {
  StateDict sd;
  for (const auto& [name, v] : fx.at("params").as_object())
    sd.emplace_back(name, fixture_tensor(v).to<float>());
  return sd;
}

nn::TransformerLayerOptions fixture_options(const json::Value& fx) {
  return {.dim_feedforward = fx.at("dim_feedforward").as_int64(),
          .dropout = 0.0,
          .activation = fx.at("activation").as_string(),
          .layer_norm_eps = 1e-5,
          .norm_first = fx.at("norm_first").as_bool()};
}

}  // namespace

TEST_CASE(
    "TransformerEncoderLayer: post-LN, pre-LN, gelu and gelu_tanh against PyTorch (float32, "
    "1e-5)") {
  for (const char* name : {"encoder_post", "encoder_pre", "encoder_pre_tanh"}) {
    INFO("fixture: ", name);
    const json::Value fx = load_fixture(name);
    nn::TransformerEncoderLayer layer(fx.at("d_model").as_int64(), fx.at("nhead").as_int64(),
                                      fixture_options(fx));
    layer.load_state_dict(fixture_state(fx));  // strict: PyTorch's names, all of them
    T32 x = fixture_tensor(fx.at("x")).to<float>().requires_grad_();
    const T32 y = layer.forward(x);
    check_layer_fixture(layer, fx, y, x, T32());
  }
}

TEST_CASE("TransformerDecoderLayer: post-LN with a causal target against PyTorch") {
  const json::Value fx = load_fixture("decoder_post");
  nn::TransformerDecoderLayer layer(fx.at("d_model").as_int64(), fx.at("nhead").as_int64(),
                                    fixture_options(fx));
  layer.load_state_dict(fixture_state(fx));
  T32 x = fixture_tensor(fx.at("x")).to<float>().requires_grad_();
  T32 mem = fixture_tensor(fx.at("memory")).to<float>().requires_grad_();
  const T32 y = layer.forward(x, mem, {.tgt_is_causal = true});
  check_layer_fixture(layer, fx, y, x, mem);
}

TEST_CASE("transformer layers: masks, dropout modes and errors") {
  Generator gen(6);
  nn::TransformerEncoderLayer enc(8, 2, {.dim_feedforward = 16, .dropout = 0.2, .seed = 1}, gen);
  const T32 x = T32::randn({2, 5, 8}, gen);
  enc.eval();
  const T32 a = enc.forward(x), b = enc.forward(x);
  CHECK(rel_err(a, b) == 0.0);
  enc.train();
  CHECK(rel_err(enc.forward(x), a) > 1e-4);
  enc.eval();
  // Padding a key of batch item 0 changes item 0 only.
  Tensor<bool> kpm = Tensor<bool>::full({2, 5}, false);
  kpm.at({0, 4}) = true;
  const T32 masked = enc.forward(x, {.src_key_padding_mask = kpm});
  CHECK(rel_err(masked.select(0, 1), a.select(0, 1)) < 1e-6);  // batch 1 has no padding
  CHECK(rel_err(masked.select(0, 0), a.select(0, 0)) > 1e-4);
  // is_causal equals an explicit causal mask; the bool form too.
  const T32 causal = enc.forward(x, {.is_causal = true});
  CHECK(rel_err(causal, enc.forward(x, {.src_mask = causal_additive(5, 5).to<float>()})) < 1e-6);
  Tensor<bool> upper = Tensor<bool>::full({5, 5}, false);
  for (int64_t i = 0; i < 5; ++i)
    for (int64_t j = i + 1; j < 5; ++j) upper.at({i, j}) = true;
  CHECK(rel_err(causal, enc.forward(x, {.src_mask_bool = upper})) < 1e-6);

  nn::TransformerDecoderLayer dec(8, 2, {.dim_feedforward = 16, .dropout = 0.0, .norm_first = true},
                                  gen);
  T32 t = T32::randn({2, 3, 8}, gen).requires_grad_();
  const T32 y = dec.forward(t, x, {.memory_key_padding_mask = kpm, .tgt_is_causal = true});
  CHECK(y.shape() == Shape{2, 3, 8});
  sum(y).backward();
  CHECK(t.grad().defined());
  CHECK(dec.multihead_attn->in_proj_weight.grad().defined());

  CHECK_THROWS_AS(nn::TransformerEncoderLayer(10, 3), Error);
  CHECK_THROWS_AS(nn::TransformerEncoderLayer(8, 2, {.activation = "tanh"}), Error);
  CHECK_THROWS_AS(enc.forward(T32::zeros({2, 5, 6})), Error);
  CHECK_THROWS_AS(dec.forward(t, T32::zeros({3, 4, 8})), Error);  // batch mismatch
  CHECK_THROWS_AS(enc.forward(x, {.src_mask = T32::zeros({5, 4})}), Error);
}

// ------------------------------------------------------------------ Embedding

TEST_CASE("Embedding: lookup, padding_idx, repeated indices and init") {
  Generator gen(7);
  nn::Embedding emb(5, 3, {.padding_idx = 1}, gen);
  for (float w : emb.weight.select(0, 1).to_vector()) CHECK(w == 0.0f);
  const Tensor<int64_t> idx = Tensor<int64_t>::from_vector({2, 1, 2, 0, 2, 4}, {2, 3});
  const T32 out = emb.forward(idx);
  CHECK(out.shape() == Shape{2, 3, 3});
  CHECK(rel_err(out.select(0, 2 - 2).select(0, 0), emb.weight.select(0, 2)) == 0.0);
  CHECK(rel_err(out.select(0, 1).select(0, 2), emb.weight.select(0, 4)) == 0.0);
  T32 g = T32::randn({2, 3, 3}, gen);
  out.backward(g);
  const T32 gw = emb.weight.grad();
  for (int64_t d = 0; d < 3; ++d) {
    CHECK(gw.at({1, d}) == 0.0f);  // padding row
    CHECK(gw.at({3, d}) == 0.0f);  // never looked up
    // Row 2 appears three times: its gradient is the sum.
    CHECK(gw.at({2, d}) == doctest::Approx(g.at({0, 0, d}) + g.at({0, 2, d}) + g.at({1, 1, d})));
    CHECK(gw.at({0, d}) == doctest::Approx(g.at({1, 0, d})));
  }
  // Init: N(0, 1) over a larger table.
  nn::Embedding big(200, 50, {}, gen);
  const auto w = big.weight.to_vector();
  double m = 0, s = 0;
  for (float v : w) m += v;
  m /= double(w.size());
  for (float v : w) s += (v - m) * (v - m);
  CHECK(std::abs(m) < 0.05);
  CHECK(std::sqrt(s / double(w.size())) == doctest::Approx(1.0).epsilon(0.05));
  // Negative padding_idx counts from the end.
  CHECK(nn::Embedding(5, 2, {.padding_idx = -1}).padding_idx() == 4);

  CHECK_THROWS_AS(emb.forward(Tensor<int64_t>::from_vector({5})), Error);
  CHECK_THROWS_AS(nn::Embedding(5, 3, {.padding_idx = 5}), Error);
}

TEST_CASE("embedding: gradcheck and gradgradcheck (float64)") {
  Generator gen(8);
  T64 w = T64::randn({4, 3}, gen).requires_grad_();
  const Tensor<int64_t> idx = Tensor<int64_t>::from_vector({0, 3, 3, 2, 0}, {5});
  // No padding here: a padding row's true derivative is not zero, its gradient is by design.
  auto f = [&](const std::vector<T64>& x) { return nn::functional::embedding(idx, x[0]); };
  // Squared so the second derivative is not zero; padding_idx 1 (not looked up) changes nothing.
  auto f2 = [&](const std::vector<T64>& x) {
    const T64 e = nn::functional::embedding(idx, x[0], 1);
    return mul(e, e);
  };
  CHECK(gradcheck_report(f, {w}) == "");
  CHECK(gradgradcheck_report(f2, {w}) == "");
}

// ------------------------------------------------------------------ positional

TEST_CASE("positional encodings and PatchEmbedding") {
  nn::SinusoidalPositionalEncoding pe(6, 10);
  CHECK(pe.state_dict().size() == 1);
  CHECK(pe.parameters().empty());
  CHECK(pe.pe.at({0, 0}) == 0.0f);
  CHECK(pe.pe.at({0, 1}) == 1.0f);
  CHECK(pe.pe.at({1, 0}) == doctest::Approx(std::sin(1.0)));
  CHECK(pe.pe.at({1, 1}) == doctest::Approx(std::cos(1.0)));
  CHECK(pe.pe.at({3, 2}) == doctest::Approx(std::sin(3.0 / std::pow(10000.0, 2.0 / 6.0))));
  CHECK(pe.pe.at({3, 5}) == doctest::Approx(std::cos(3.0 / std::pow(10000.0, 4.0 / 6.0))));
  Generator gen(9);
  const T32 x = T32::randn({2, 4, 6}, gen);
  const T32 y = pe.forward(x);
  CHECK(y.at({1, 3, 2}) == doctest::Approx(x.at({1, 3, 2}) + pe.pe.at({3, 2})));
  CHECK_THROWS_AS(pe.forward(T32::zeros({2, 11, 6})), Error);

  nn::LearnedPositionalEmbedding lpe(10, 6, gen);
  T32 xs = x.clone().requires_grad_();
  const T32 yl = lpe.forward(xs);
  CHECK(yl.at({0, 2, 1}) == doctest::Approx(x.at({0, 2, 1}) + lpe.weight.at({2, 1})));
  sum(yl).backward();
  CHECK(lpe.weight.grad().at({3, 0}) == 2.0f);  // two batch items
  CHECK(lpe.weight.grad().at({4, 0}) == 0.0f);  // beyond L

  // PatchEmbedding against a direct convolution loop (kernel = stride = patch).
  nn::PatchEmbedding patch(2, 2, 3, {}, gen);
  const T32 img = T32::randn({2, 2, 4, 6}, gen);
  const T32 tok = patch.forward(img);
  REQUIRE(tok.shape() == Shape{2, 6, 3});
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t ph = 0; ph < 2; ++ph)
      for (int64_t pw = 0; pw < 3; ++pw)
        for (int64_t o = 0; o < 3; ++o) {
          double acc = patch.bias.at({o});
          for (int64_t c = 0; c < 2; ++c)
            for (int64_t i = 0; i < 2; ++i)
              for (int64_t j = 0; j < 2; ++j)
                acc +=
                    double(patch.weight.at({o, c, i, j})) * img.at({n, c, 2 * ph + i, 2 * pw + j});
          CHECK(tok.at({n, ph * 3 + pw, o}) == doctest::Approx(acc).epsilon(1e-5));
        }
  CHECK_THROWS_AS(patch.forward(T32::zeros({2, 2, 5, 6})), Error);  // H not divisible
  CHECK_THROWS_AS(patch.forward(T32::zeros({2, 3, 4, 6})), Error);  // channels

  T64 im = T64::randn({1, 2, 4, 2}, gen).requires_grad_();
  T64 w = T64::randn({3, 2, 2, 2}, gen).requires_grad_();
  T64 b = T64::randn({3}, gen).requires_grad_();
  auto f = [](const std::vector<T64>& v) {
    return nn::functional::patch_embedding(v[0], v[1], v[2]);
  };
  CHECK(gradcheck_report(f, {im, w, b}) == "");
}
