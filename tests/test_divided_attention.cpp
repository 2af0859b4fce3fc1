// Divided space-time attention (nn/divided_attention.hpp) against a float64 reference written
// with plain loops from the TimeSformer recipe (layer norm, multi-head attention with in_proj /
// out_proj, GELU MLP), with the module's own weights copied in; with and without a CLS token
// and without the temporal part; the time / space mixing pattern; gradcheck of the functional
// form in double; and that backward reaches every parameter.
#include <doctest/doctest.h>

#include <cmath>
#include <ember/autograd/gradcheck.hpp>
#include <ember/core/random.hpp>
#include <ember/ember.hpp>
#include <ember/nn/divided_attention.hpp>
#include <string>
#include <vector>

using namespace ember;
using namespace ember::nn;

namespace {

using Vec = std::vector<double>;
using Seq = std::vector<Vec>;

Vec values(const Tensor<float>& t) {
  const std::vector<float> v = t.to_vector();
  return Vec(v.begin(), v.end());
}

// Fills every parameter with N(0, 0.3^2) (layer-norm weights around 1), so that no weight is
// at its trivial initial value (zero biases, unit norms).
void randomise(Module& m, uint64_t seed) {
  Generator gen(seed);
  NoGradGuard guard;
  for (auto& [name, any] : m.named_parameters()) {
    Tensor<float> p = Tensor<float>(any.impl);
    const bool norm_weight =
        name.find("norm") != std::string::npos && name.find("weight") != std::string::npos;
    for (int64_t i = 0; i < p.numel(); ++i)
      p.data_ptr()[i] = float((norm_weight ? 1.0 : 0.0) + 0.3 * gen.normal());
  }
}

struct RefLinear {
  Vec w, b;  // [out, in], [out]
  int64_t out = 0, in = 0;
  Vec operator()(const Vec& x) const {
    Vec y(static_cast<size_t>(out), 0.0);
    for (int64_t o = 0; o < out; ++o) {
      double s = b.empty() ? 0.0 : b[size_t(o)];
      for (int64_t i = 0; i < in; ++i) s += w[size_t(o * in + i)] * x[size_t(i)];
      y[size_t(o)] = s;
    }
    return y;
  }
};

RefLinear ref_linear(const Tensor<float>& w, const Tensor<float>& b) {
  return {values(w), b.defined() ? values(b) : Vec{}, w.size(0), w.size(1)};
}

struct RefNorm {
  Vec w, b;
  double eps = 1e-5;
  Vec operator()(const Vec& x) const {
    double mu = 0.0, var = 0.0;
    for (double v : x) mu += v;
    mu /= double(x.size());
    for (double v : x) var += (v - mu) * (v - mu);
    var /= double(x.size());
    Vec y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = (x[i] - mu) / std::sqrt(var + eps) * w[i] + b[i];
    return y;
  }
};

RefNorm ref_norm(const LayerNorm& n, double eps) { return {values(n.weight), values(n.bias), eps}; }

// Self-attention of a sequence, PyTorch's MultiheadAttention arithmetic by hand.
struct RefAttention {
  RefLinear q, k, v, out;
  int64_t heads = 1;
  Seq operator()(const Seq& x) const {
    const size_t L = x.size();
    const int64_t D = q.out, d = D / heads;
    Seq Q, K, V;
    for (const Vec& t : x) {
      Q.push_back(q(t));
      K.push_back(k(t));
      V.push_back(v(t));
    }
    Seq merged(L, Vec(size_t(D), 0.0));
    for (int64_t h = 0; h < heads; ++h)
      for (size_t i = 0; i < L; ++i) {
        Vec s(L);
        double mx = -1e300;
        for (size_t j = 0; j < L; ++j) {
          double dot = 0.0;
          for (int64_t c = h * d; c < (h + 1) * d; ++c) dot += Q[i][size_t(c)] * K[j][size_t(c)];
          s[j] = dot / std::sqrt(double(d));
          mx = std::max(mx, s[j]);
        }
        double z = 0.0;
        for (double& e : s) z += (e = std::exp(e - mx));
        for (size_t j = 0; j < L; ++j)
          for (int64_t c = h * d; c < (h + 1) * d; ++c)
            merged[i][size_t(c)] += s[j] / z * V[j][size_t(c)];
      }
    Seq y;
    for (const Vec& m : merged) y.push_back(out(m));
    return y;
  }
};

RefAttention ref_attention(const MultiheadAttention& a) {
  const int64_t D = a.embed_dim();
  const Tensor<float> w = a.in_proj_weight, b = a.in_proj_bias;
  auto part = [&](int64_t i) {
    return ref_linear(w.slice(0, i * D, (i + 1) * D).contiguous(),
                      b.defined() ? b.slice(0, i * D, (i + 1) * D).contiguous() : Tensor<float>());
  };
  return {part(0), part(1), part(2), ref_linear(a.out_proj->weight, a.out_proj->bias),
          a.num_heads()};
}

Vec add(const Vec& a, const Vec& b) {
  Vec y(a.size());
  for (size_t i = 0; i < a.size(); ++i) y[i] = a[i] + b[i];
  return y;
}

struct RefOut {
  std::vector<std::vector<Seq>> tokens;  // [B][T][N] -> D
  Seq cls;
};

// The block, by hand: x[b][t][n] (D values), cls[b] (D values) or empty.
RefOut reference(DividedSpaceTimeBlock& m, std::vector<std::vector<Seq>> x, Seq cls,
                 double eps = 1e-5) {
  const size_t B = x.size(), T = x[0].size(), N = x[0][0].size();
  if (m.temporal()) {
    const RefNorm nt = ref_norm(*m.norm_time, eps);
    const RefAttention at = ref_attention(*m.attn_time);
    for (size_t b = 0; b < B; ++b)
      for (size_t n = 0; n < N; ++n) {
        Seq h;
        for (size_t t = 0; t < T; ++t) h.push_back(nt(x[b][t][n]));
        const Seq a = at(h);
        for (size_t t = 0; t < T; ++t) x[b][t][n] = add(x[b][t][n], a[t]);
      }
  }
  const RefNorm ns = ref_norm(*m.norm_space, eps);
  const RefAttention as = ref_attention(*m.attn_space);
  Seq cls_acc(cls.size(), Vec(cls.empty() ? 0 : cls[0].size(), 0.0));
  for (size_t b = 0; b < B; ++b)
    for (size_t t = 0; t < T; ++t) {
      Seq h;
      if (!cls.empty()) h.push_back(ns(cls[b]));
      for (size_t n = 0; n < N; ++n) h.push_back(ns(x[b][t][n]));
      const Seq a = as(h);
      const size_t off = cls.empty() ? 0 : 1;
      for (size_t n = 0; n < N; ++n) x[b][t][n] = add(x[b][t][n], a[n + off]);
      if (!cls.empty())
        for (size_t c = 0; c < cls[b].size(); ++c) cls_acc[b][c] += a[0][c] / double(T);
    }
  const RefNorm nm = ref_norm(*m.norm_mlp, eps);
  const RefLinear f1 = ref_linear(m.fc1->weight, m.fc1->bias);
  const RefLinear f2 = ref_linear(m.fc2->weight, m.fc2->bias);
  auto mlp = [&](const Vec& v) {
    Vec h = f1(nm(v));
    for (double& e : h) e = 0.5 * e * (1.0 + std::erf(e / std::sqrt(2.0)));
    return add(v, f2(h));
  };
  RefOut r;
  r.tokens = x;
  for (auto& frames : r.tokens)
    for (auto& frame : frames)
      for (Vec& tok : frame) tok = mlp(tok);
  for (size_t b = 0; b < cls.size(); ++b) r.cls.push_back(mlp(add(cls[b], cls_acc[b])));
  return r;
}

std::vector<std::vector<Seq>> unpack(const Tensor<float>& x) {
  const int64_t B = x.size(0), T = x.size(1), N = x.size(2), D = x.size(3);
  const Vec v = values(x);
  std::vector<std::vector<Seq>> out(
      static_cast<size_t>(B),
      std::vector<Seq>(static_cast<size_t>(T), Seq(static_cast<size_t>(N))));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t n = 0; n < N; ++n) {
        const auto* p = v.data() + ((b * T + t) * N + n) * D;
        out[size_t(b)][size_t(t)][size_t(n)] = Vec(p, p + D);
      }
  return out;
}

Seq unpack_cls(const Tensor<float>& c) {
  Seq out;
  const Vec v = values(c);
  for (int64_t b = 0; b < c.size(0); ++b)
    out.push_back(Vec(v.begin() + b * c.size(1), v.begin() + (b + 1) * c.size(1)));
  return out;
}

double max_diff(const Tensor<float>& got, const std::vector<std::vector<Seq>>& want) {
  const std::vector<std::vector<Seq>> g = unpack(got);
  double m = 0.0;
  for (size_t b = 0; b < g.size(); ++b)
    for (size_t t = 0; t < g[b].size(); ++t)
      for (size_t n = 0; n < g[b][t].size(); ++n)
        for (size_t d = 0; d < g[b][t][n].size(); ++d)
          m = std::max(m, std::abs(g[b][t][n][d] - want[b][t][n][d]));
  return m;
}

}  // namespace

TEST_CASE("divided space-time block matches the float64 loop reference") {
  const int64_t B = 2, T = 3, N = 4, D = 8, H = 2;
  for (bool temporal : {true, false}) {
    CAPTURE(temporal);
    Generator init(5);
    DividedSpaceTimeBlock m(D, H, {.mlp_hidden = 12, .temporal = temporal}, init);
    randomise(m, temporal ? 11 : 12);
    CHECK((m.norm_time == nullptr) == !temporal);
    Generator gen(21);
    const Tensor<float> x = Tensor<float>::randn({B, T, N, D}, gen);
    const Tensor<float> cls = Tensor<float>::randn({B, D}, gen);

    const Tensor<float> y = m(x);
    CHECK(y.shape() == Shape{B, T, N, D});
    const RefOut r = reference(m, unpack(x), {});
    const double err = max_diff(y, r.tokens);
    CHECK(err < 2e-5);

    const DividedAttentionResult<float> yc = m(x, cls);
    const RefOut rc = reference(m, unpack(x), unpack_cls(cls));
    CHECK(max_diff(yc.tokens, rc.tokens) < 2e-5);
    REQUIRE(yc.cls.shape() == Shape{B, D});
    const Seq got_cls = unpack_cls(yc.cls);
    double ce = 0.0;
    for (size_t b = 0; b < size_t(B); ++b)
      for (size_t d = 0; d < size_t(D); ++d)
        ce = std::max(ce, std::abs(got_cls[b][d] - rc.cls[b][d]));
    CHECK(ce < 2e-5);
    // The CLS token changes the tokens (it joins the spatial attention).
    CHECK(max_diff(yc.tokens, r.tokens) > 1e-3);
  }
}

TEST_CASE("time mixing: only the temporal part lets one frame see another") {
  const int64_t B = 1, T = 3, N = 4, D = 8;
  Generator gen(3);
  const Tensor<float> x = Tensor<float>::randn({B, T, N, D}, gen);
  Tensor<float> x2 = x.clone();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t d = 0; d < D; ++d) x2.at({0, 0, n, d}) += float(d % 3) - 1.0f;  // frame 0 only
  for (bool temporal : {true, false}) {
    Generator init(8);
    DividedSpaceTimeBlock m(D, 2, {.temporal = temporal}, init);
    randomise(m, 4);
    const Tensor<float> a = m(x), b = m(x2);
    const double frame1 = max(abs(sub(a.select(1, 1), b.select(1, 1)))).item();
    const double frame0 = max(abs(sub(a.select(1, 0), b.select(1, 0)))).item();
    CHECK(frame0 > 1e-2);
    if (temporal)
      CHECK(frame1 > 1e-3);
    else
      CHECK(frame1 == 0.0);
  }
  // Spatial attention mixes patches of a frame; without it (a single patch) nothing else does.
  Generator init(9);
  DividedSpaceTimeBlock m(D, 2, {.temporal = false}, init);
  Tensor<float> x3 = x.clone();
  // A constant shift would vanish in the layer norm; this one does not.
  for (int64_t d = 0; d < D; ++d) x3.at({0, 1, 0, d}) += float(d % 3) - 1.0f;  // patch 0, frame 1
  const Tensor<float> a = m(x), b = m(x3);
  CHECK(max(abs(sub(a.select(1, 1).select(1, 2), b.select(1, 1).select(1, 2)))).item() > 1e-3);
  CHECK(max(abs(sub(a.select(1, 2), b.select(1, 2)))).item() == 0.0f);
}

TEST_CASE("divided attention: gradcheck in double, backward reaches every parameter") {
  Generator init(2);
  DividedSpaceTimeBlock m(4, 2, {.mlp_hidden = 6}, init);
  randomise(m, 6);
  DividedAttentionParams<double> p;
  const DividedAttentionParams<float> pf = m.params();
  auto d = [](const Tensor<float>& t) {
    return t.defined() ? t.detach().to<double>() : Tensor<double>();
  };
  auto dm = [&](const MultiheadAttentionParams<float>& a) {
    MultiheadAttentionParams<double> o;
    o.in_proj_weight = d(a.in_proj_weight);
    o.in_proj_bias = d(a.in_proj_bias);
    o.out_proj_weight = d(a.out_proj_weight);
    o.out_proj_bias = d(a.out_proj_bias);
    return o;
  };
  p.norm_time_weight = d(pf.norm_time_weight);
  p.norm_time_bias = d(pf.norm_time_bias);
  p.attn_time = dm(pf.attn_time);
  p.norm_space_weight = d(pf.norm_space_weight);
  p.norm_space_bias = d(pf.norm_space_bias);
  p.attn_space = dm(pf.attn_space);
  p.norm_mlp_weight = d(pf.norm_mlp_weight);
  p.norm_mlp_bias = d(pf.norm_mlp_bias);
  p.fc1_weight = d(pf.fc1_weight);
  p.fc1_bias = d(pf.fc1_bias);
  p.fc2_weight = d(pf.fc2_weight);
  p.fc2_bias = d(pf.fc2_bias);

  Generator gen(13);
  Tensor<double> x = Tensor<double>::randn({1, 2, 3, 4}, gen);
  Tensor<double> cls = Tensor<double>::randn({1, 4}, gen);
  std::vector<Tensor<double>> inputs{x,
                                     cls,
                                     p.attn_time.in_proj_weight,
                                     p.norm_space_weight,
                                     p.attn_space.out_proj_weight,
                                     p.fc1_weight};
  for (auto& t : inputs) t.requires_grad_();
  const auto f = [&](const std::vector<Tensor<double>>& in) {
    DividedAttentionParams<double> q = p;
    q.attn_time.in_proj_weight = in[2];
    q.norm_space_weight = in[3];
    q.attn_space.out_proj_weight = in[4];
    q.fc1_weight = in[5];
    const DividedAttentionResult<double> r =
        functional::divided_space_time_attention(in[0], in[1], 2, q);
    return cat(std::vector<Tensor<double>>{r.tokens.reshape({-1}), r.cls.reshape({-1})}, 0);
  };
  CHECK(gradcheck_report(f, inputs) == "");

  // Float module: one backward fills every parameter's gradient.
  const Tensor<float> xf = x.detach().to<float>(), cf = cls.detach().to<float>();
  const DividedAttentionResult<float> r = m(xf, cf);
  add(sum(square(r.tokens)), sum(r.cls)).backward();
  int with_grad = 0, total = 0;
  for (auto& [name, any] : m.named_parameters()) {
    CAPTURE(name);
    const Tensor<float> g = Tensor<float>(any.impl).grad();
    ++total;
    if (g.defined() && max(abs(g)).item() > 0.0f) ++with_grad;
  }
  CHECK(total == 18);  // 3 norms x 2, 2 attentions x 4, 2 linears x 2
  CHECK(with_grad == total);
  CHECK_THROWS_AS((void)m(Tensor<float>::zeros({1, 2, 3, 5})), ember::Error);
  CHECK_THROWS_AS(DividedSpaceTimeBlock(6, 4), ember::Error);
}
