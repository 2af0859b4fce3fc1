// GNN layers (nn/gnn.hpp) against golden values of PyTorch Geometric's formulas
// (tests/fixtures/gnn/make_fixtures.py, float64, compared to 1e-10 relative), plus gradient
// checks, RGCN against a dense reference and error cases.
#include <doctest/doctest.h>

#include <cmath>
#include <ember/autograd/gradcheck.hpp>
#include <ember/core/tensor.hpp>
#include <ember/nn/gnn.hpp>
#include <ember/ops/linalg.hpp>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#ifndef EMBER_SOURCE_DIR
#error "EMBER_SOURCE_DIR must point at the source tree (tests/fixtures/gnn/)"
#endif

using namespace ember;

namespace {

using Golden = std::map<std::string, Tensor<double>>;

const Golden& golden() {
  static const Golden g = [] {
    Golden out;
    std::ifstream in(EMBER_SOURCE_DIR "/tests/fixtures/gnn/gnn_golden.txt");
    REQUIRE_MESSAGE(in.good(), "missing tests/fixtures/gnn/gnn_golden.txt");
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream ls(line);
      std::string name;
      int64_t nd = 0;
      ls >> name >> nd;
      Shape shape(size_t(nd), 0);
      int64_t n = 1;
      for (auto& s : shape) {
        ls >> s;
        n *= s;
      }
      std::vector<double> v(static_cast<size_t>(n));
      for (auto& x : v) ls >> x;
      REQUIRE(!ls.fail());
      out[name] = Tensor<double>::from_vector(v, shape);
    }
    return out;
  }();
  return g;
}

const Tensor<double>& G(const std::string& name) {
  auto it = golden().find(name);
  REQUIRE_MESSAGE(it != golden().end(), "golden array missing: " << name);
  return it->second;
}

Tensor<int64_t> edge_index() { return G("edge_index").to<int64_t>(); }

void set(Tensor<double> param, const Tensor<double>& value) {
  REQUIRE(param.shape() == value.shape());
  NoGradGuard no_grad;
  param.copy_(value);
}

// |a - b| <= 1e-10 * max(1, |b|) elementwise.
void check_rel(const Tensor<double>& a, const Tensor<double>& b, const std::string& what) {
  REQUIRE_MESSAGE(a.defined(), what << " is undefined");
  REQUIRE_MESSAGE(a.shape() == b.shape(),
                  what << ": shape " << shape_str(a.shape()) << " vs " << shape_str(b.shape()));
  const auto va = a.to_vector(), vb = b.to_vector();
  double worst = 0;
  for (size_t i = 0; i < va.size(); ++i)
    worst = std::max(worst, std::abs(va[i] - vb[i]) / std::max(1.0, std::abs(vb[i])));
  CHECK_MESSAGE(worst <= 1e-10, what << ": max relative error " << worst);
}

Tensor<double> input(const std::string& prefix) {
  return G(prefix + ".x").clone().requires_grad_();
}

}  // namespace

TEST_CASE("GCNConv matches PyG's formulas (output and gradients, float64)") {
  nn::GCNConv<double> conv(4, 3);
  set(conv.weight, G("gcn.W"));
  set(conv.bias, G("gcn.b"));
  auto x = input("gcn");
  auto out = conv.forward(x, edge_index());
  check_rel(out, G("gcn.out"), "gcn out");
  sum(mul(out, G("gcn.G"))).backward();
  check_rel(x.grad(), G("gcn.grad.x"), "gcn grad x");
  check_rel(conv.weight.grad(), G("gcn.grad.W"), "gcn grad W");
  check_rel(conv.bias.grad(), G("gcn.grad.b"), "gcn grad b");
  CHECK(conv.named_parameters().size() == 2);
  CHECK(conv.parameters().size() == 2);

  // cached: the second call reuses the matrix (same result).
  nn::GCNConv<double> cached(4, 3, {.cached = true});
  set(cached.weight, G("gcn.W"));
  set(cached.bias, G("gcn.b"));
  check_rel(cached.forward(x.detach(), edge_index()), G("gcn.out"), "gcn cached 1");
  check_rel(cached.forward(x.detach(), edge_index()), G("gcn.out"), "gcn cached 2");
}

TEST_CASE("GATConv matches PyG's formulas (concat and mean heads, float64)") {
  for (const std::string p : {"gat", "gat_mean"}) {
    const bool concat = p == "gat";
    nn::GATConv<double> conv(4, 3, 2, {.concat = concat});
    set(conv.weight, G(p + ".W"));
    set(conv.att_src, G(p + ".att_src"));
    set(conv.att_dst, G(p + ".att_dst"));
    set(conv.bias, G(p + ".b"));
    auto x = input(p);
    auto out = conv.forward(x, edge_index());
    check_rel(out, G(p + ".out"), p + " out");
    sum(mul(out, G(p + ".G"))).backward();
    check_rel(x.grad(), G(p + ".grad.x"), p + " grad x");
    check_rel(conv.weight.grad(), G(p + ".grad.W"), p + " grad W");
    check_rel(conv.att_src.grad(), G(p + ".grad.att_src"), p + " grad att_src");
    check_rel(conv.att_dst.grad(), G(p + ".grad.att_dst"), p + " grad att_dst");
    check_rel(conv.bias.grad(), G(p + ".grad.b"), p + " grad b");
  }
}

TEST_CASE("SAGEConv matches PyG's formulas (mean aggregation, root weight)") {
  nn::SAGEConv<double> conv(4, 3);
  set(conv.lin_l_weight, G("sage.Wl"));
  set(conv.lin_l_bias, G("sage.bl"));
  set(conv.lin_r_weight, G("sage.Wr"));
  auto x = input("sage");
  auto out = conv.forward(x, edge_index());
  check_rel(out, G("sage.out"), "sage out");
  sum(mul(out, G("sage.G"))).backward();
  check_rel(x.grad(), G("sage.grad.x"), "sage grad x");
  check_rel(conv.lin_l_weight.grad(), G("sage.grad.Wl"), "sage grad Wl");
  check_rel(conv.lin_l_bias.grad(), G("sage.grad.bl"), "sage grad bl");
  check_rel(conv.lin_r_weight.grad(), G("sage.grad.Wr"), "sage grad Wr");
}

TEST_CASE("RGCNConv matches a dense per-relation mean reference") {
  Generator gen(11);
  const int64_t n = 5, R = 3;
  auto ei = Tensor<int64_t>::from_vector({0, 1, 2, 3, 4, 0, 2, 2, 1, 1, 2, 3, 4, 0, 3, 3}, {2, 8});
  auto et = Tensor<int64_t>::from_vector({0, 1, 0, 2, 1, 0, 0, 2}, {8});
  auto x = Tensor<double>::randn({n, 4}, gen);
  for (bool bases : {false, true}) {
    nn::RGCNConv<double> conv(4, 2, R,
                              {.num_bases = bases ? std::optional<int64_t>(2) : std::nullopt}, gen);
    {
      NoGradGuard ng;
      conv.bias.copy_(Tensor<double>::randn({2}, gen));
    }
    auto out = conv.forward(x, ei, et);
    // Dense reference: A_r[i, j] = #edges j -> i of type r, rows divided by their counts.
    auto w = bases ? matmul(conv.comp, conv.weight.reshape({2, 8})).view({R, 4, 2}) : conv.weight;
    auto ref = add(matmul(x, conv.root), conv.bias);
    for (int64_t r = 0; r < R; ++r) {
      auto a = Tensor<double>::zeros({n, n});
      for (int64_t k = 0; k < 8; ++k)
        if (et.data_ptr()[k] == r) a.at({ei.at({1, k}), ei.at({0, k})}) += 1;
      for (int64_t i = 0; i < n; ++i) {
        double s = 0;
        for (int64_t j = 0; j < n; ++j) s += a.at({i, j});
        for (int64_t j = 0; j < n; ++j) a.at({i, j}) /= std::max(s, 1.0);
      }
      ref = add(ref, matmul(matmul(a, x), w.select(0, r)));
    }
    const auto vo = out.to_vector(), vr = ref.to_vector();
    for (size_t i = 0; i < vo.size(); ++i) CHECK(vo[i] == doctest::Approx(vr[i]).epsilon(1e-12));
    auto xl = x.clone().requires_grad_();
    CHECK(gradcheck_report([&](const auto& in) { return conv.forward(in[0], ei, et); }, {xl}) ==
          "");
  }
}

TEST_CASE("GNN layers: gradients w.r.t. x and parameters, float32, training mode, errors") {
  Generator gen(12);
  auto ei = edge_index();
  auto x = Tensor<double>::randn({6, 4}, gen).requires_grad_();
  nn::GCNConv<double> gcn(4, 3, {}, gen);
  nn::GATConv<double> gat(4, 2, 2, {}, gen);
  nn::SAGEConv<double> sage(4, 3, {}, gen);
  CHECK(gradcheck_report([&](const auto& in) { return gcn.forward(in[0], ei); }, {x}) == "");
  CHECK(gradgradcheck_report([&](const auto& in) { return gcn.forward(in[0], ei); }, {x}) == "");
  CHECK(gradcheck_report([&](const auto& in) { return gat.forward(in[0], ei); }, {x}) == "");
  CHECK(gradgradcheck_report([&](const auto& in) { return gat.forward(in[0], ei); }, {x}) == "");
  CHECK(gradcheck_report([&](const auto& in) { return sage.forward(in[0], ei); }, {x}) == "");
  // Edge weights are differentiable too.
  auto ew = Tensor<double>::rand({10}, gen, 0.5, 1.5).requires_grad_();
  CHECK(gradcheck_report([&](const auto& in) { return gcn.forward(x.detach(), ei, in[0]); },
                         {ew}) == "");
  // normalize = false: a plain weighted sum of x W^T over incoming edges.
  nn::GCNConv<double> plain(4, 3, {.bias = false, .normalize = false}, gen);
  auto xw = matmul(x.detach(), plain.weight.detach().t());
  auto po = plain.forward(x.detach(), ei);
  auto dense = Tensor<double>::zeros({6, 6});
  for (int64_t k = 0; k < 10; ++k) dense.at({ei.at({1, k}), ei.at({0, k})}) += 1;
  auto pr = matmul(dense, xw);
  for (size_t i = 0; i < 18; ++i)
    CHECK(po.to_vector()[i] == doctest::Approx(pr.to_vector()[i]).epsilon(1e-12));

  // float32 layers train: one step lowers nothing in particular, but runs with dropout.
  Generator g32(13);
  nn::GATConv<float> gat32(4, 8, 4, {.dropout = 0.5}, g32);
  auto x32 = Tensor<float>::randn({6, 4}, g32);
  auto o32 = gat32.forward(x32, ei);
  CHECK(o32.shape() == Shape{6, 32});
  sum(o32).backward();
  CHECK(gat32.weight.grad().defined());
  gat32.eval();
  auto e1 = gat32.forward(x32, ei).to_vector(), e2 = gat32.forward(x32, ei).to_vector();
  CHECK(e1 == e2);  // no dropout in eval mode
  CHECK(gat32.repr().rfind("GATConv(4, 8, heads=4", 0) == 0);
  // Parameter names follow PyG's state_dict keys.
  std::vector<std::string> names;
  for (auto& [name, t] : gat32.state_dict()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"att_src", "att_dst", "bias", "lin.weight"});
  names.clear();
  for (auto& [name, t] : sage.state_dict()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"lin_l.weight", "lin_l.bias", "lin_r.weight"});
  names.clear();
  for (auto& [name, t] : gcn.state_dict()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"bias", "lin.weight"});

  // Errors name the layer and the shapes.
  CHECK_THROWS_AS(gcn.forward(Tensor<double>::ones({6, 5}), ei), Error);
  CHECK_THROWS_AS(gcn.forward(Tensor<double>::ones({6, 4}), Tensor<int64_t>::zeros({3, 4})), Error);
  auto bad = Tensor<int64_t>::from_vector({0, 1, 1, 9}, {2, 2});
  try {
    gat.forward(Tensor<double>::ones({6, 4}), bad);
    FAIL("no error for an out-of-range node");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("GATConv") != std::string::npos);
    CHECK(std::string(e.what()).find("9") != std::string::npos);
  }
  CHECK_THROWS_AS(gcn.forward(x.detach(), ei, Tensor<double>::ones({3})), Error);
  nn::RGCNConv<double> rg(4, 2, 2, {}, gen);
  CHECK_THROWS_AS(rg.forward(x.detach(), ei, Tensor<int64_t>::full({10}, 2)), Error);
  CHECK_THROWS_AS(nn::GATConv<float>(4, 0, 1), Error);
}
