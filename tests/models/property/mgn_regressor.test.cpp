// Supervised MGN regressor (models/property/mgn_regressor.hpp, paper App. D.4):
//  * the graph-level prediction is invariant to a permutation of each graph's nodes
//    (Propositions 1-2), in evaluation (argmax clusterings) and in training mode (Gumbel noise
//    permuted with the nodes), with bond-aware and plain GCN layers, mean and sum readouts;
//  * gradient check of the readout/head path in double;
//  * straight-through gradients reach every parameter, including the clustering GNNs;
//  * typed errors (empty graph, empty batch, out-of-range types, mismatched batch);
//  * random_walk_encoding against hand-derived landing probabilities, its equivariance, and the
//    model's invariance with the encoding as dense node features.
#include <cmath>
#include <numeric>

#include "mgvae/autodiff/gradcheck.hpp"
#include "mgvae/models/property/mgn_regressor.hpp"
#include "support/catch.hpp"

using namespace mgvae;
using namespace mgvae::models::property;

namespace {

/// A connected molecule-like graph: a random spanning tree (mostly chains) plus ring closures,
/// random node types (C-heavy) and bond types (mostly single).
PropertyGraph molecule_like(std::int64_t n, std::int64_t types, CounterRng& rng) {
  PropertyGraph g;
  g.n = n;
  for (std::int64_t i = 0; i < n; ++i)
    g.node_type.push_back(rng.next_uniform() < 0.6 ? 0 : static_cast<std::int64_t>(rng.next_below(static_cast<std::uint64_t>(types))));
  auto bond = [&] { const double u = rng.next_uniform(); return u < 0.7 ? 0 : (u < 0.95 ? 1 : 2); };
  for (std::int64_t i = 1; i < n; ++i) {
    const std::int64_t j = rng.next_uniform() < 0.7 ? i - 1 : static_cast<std::int64_t>(rng.next_below(static_cast<std::uint64_t>(i)));
    g.edges.emplace_back(j, i, bond());
  }
  if (n >= 6) g.edges.emplace_back(0, 5, 0);          // a six-ring
  if (n >= 12) g.edges.emplace_back(n - 1, n - 5, 1);  // a second ring closure
  return g;
}

/// σ·G with node i -> perm[i].
PropertyGraph permuted(const PropertyGraph& g, const std::vector<std::int64_t>& perm) {
  PropertyGraph p;
  p.n = g.n;
  p.node_type.assign(static_cast<std::size_t>(g.n), 0);
  for (std::int64_t i = 0; i < g.n; ++i) p.node_type[static_cast<std::size_t>(perm[static_cast<std::size_t>(i)])] = g.node_type[static_cast<std::size_t>(i)];
  for (const auto& [u, v, t] : g.edges) p.edges.emplace_back(perm[static_cast<std::size_t>(v)], perm[static_cast<std::size_t>(u)], t);
  p.feature_dim = g.feature_dim;
  p.features.assign(g.features.size(), 0.0);
  const auto F = static_cast<std::size_t>(g.feature_dim);
  for (std::int64_t i = 0; i < g.n; ++i)
    for (std::size_t f = 0; f < F; ++f)
      p.features[static_cast<std::size_t>(perm[static_cast<std::size_t>(i)]) * F + f] = g.features[static_cast<std::size_t>(i) * F + f];
  return p;
}

/// g with its random-walk encoding (k = 1..steps) as dense node features.
PropertyGraph with_rwse(PropertyGraph g, int steps) {
  g.features = random_walk_encoding(g, steps);
  g.feature_dim = steps;
  return g;
}

std::vector<std::int64_t> random_perm(std::int64_t n, CounterRng& rng) {
  std::vector<std::int64_t> p(static_cast<std::size_t>(n));
  std::iota(p.begin(), p.end(), 0);
  for (std::size_t i = p.size(); i > 1; --i) std::swap(p[i - 1], p[rng.next_below(i)]);
  return p;
}

MgnRegressorConfig tiny_config(bool edge_types, Readout r) {
  MgnRegressorConfig c;
  c.num_node_types = 5;
  c.num_edge_types = 3;
  c.hidden = 8;
  c.layers = 2;
  c.coarse_layers = 2;
  c.levels = 3;
  c.clusters = 2;
  c.cluster_hidden = 6;
  c.use_edge_types = edge_types;
  c.readout = r;
  c.seed = 7;
  return c;
}

}  // namespace

TEST_CASE("MgnRegressor: prediction invariant to node permutations (Props. 1-2)", "[property][mgn]") {
  for (const bool edge_types : {true, false}) {
    for (const Readout r : {Readout::Mean, Readout::Sum}) {
      const auto cfg = tiny_config(edge_types, r);
      const MgnRegressor<double> model(cfg);
      CounterRng rng(11, static_cast<std::uint64_t>(edge_types) * 2 + (r == Readout::Sum));
      const PropertyGraph g1 = molecule_like(13, cfg.num_node_types, rng), g2 = molecule_like(9, cfg.num_node_types, rng);
      const auto p1 = random_perm(g1.n, rng), p2 = random_perm(g2.n, rng);
      const PropertyGraph h1 = permuted(g1, p1), h2 = permuted(g2, p2);
      const auto b = make_batch<double>({&g1, &g2}, cfg.num_node_types, cfg.num_edge_types, r);
      const auto bp = make_batch<double>({&h1, &h2}, cfg.num_node_types, cfg.num_edge_types, r);

      // Evaluation: argmax clusterings.
      const auto y = model.forward(b).prediction.value().to_vector();
      const auto yp = model.forward(bp).prediction.value().to_vector();
      REQUIRE(y.size() == 2);
      for (std::size_t i = 0; i < 2; ++i) CHECK(std::abs(y[i] - yp[i]) <= 1e-9 * (1 + std::abs(y[i])));

      // Training mode: finest-level noise permuted with the nodes; coarse levels are invariant.
      const auto noise = model.draw_noise(b, CounterRng(5, 1));
      auto noise_p = noise;
      noise_p[0] = noise[0].clone();
      const std::int64_t K = noise[0].size(1);
      for (std::int64_t i = 0; i < b.num_nodes; ++i) {
        const std::int64_t gph = b.graph_of_node[static_cast<std::size_t>(i)], o = b.offset[static_cast<std::size_t>(gph)];
        const auto& perm = gph == 0 ? p1 : p2;
        const std::int64_t j = o + perm[static_cast<std::size_t>(i - o)];
        for (std::int64_t k = 0; k < K; ++k) noise_p[0].data()[j * K + k] = noise[0].data()[i * K + k];
      }
      const auto out = model.forward(b, noise), outp = model.forward(bp, noise_p);
      const auto yt = out.prediction.value().to_vector(), ytp = outp.prediction.value().to_vector();
      for (std::size_t i = 0; i < 2; ++i) CHECK(std::abs(yt[i] - ytp[i]) <= 1e-9 * (1 + std::abs(yt[i])));
      // Coarse adjacencies are invariant too (Πᵀ A Π).
      for (std::size_t s = 0; s < out.coarse_adjacency.size(); ++s) {
        const auto a = out.coarse_adjacency[s].value().to_vector(), ap = outp.coarse_adjacency[s].value().to_vector();
        REQUIRE(a.size() == ap.size());
        for (std::size_t k = 0; k < a.size(); ++k) CHECK(std::abs(a[k] - ap[k]) <= 1e-9);
      }
      Tape::local().clear();

      // Control: unpermuted noise on the permuted graph changes some clustering, so the test can fail.
      NoGradGuard ng;
      const auto outc = model.forward(bp, noise);
      bool any_diff = false;
      for (std::size_t s = 0; s < outc.coarse_adjacency.size(); ++s) {
        const auto a = out.coarse_adjacency[s].value().to_vector(), ac = outc.coarse_adjacency[s].value().to_vector();
        for (std::size_t k = 0; k < a.size(); ++k) any_diff = any_diff || std::abs(a[k] - ac[k]) > 1e-9;
      }
      CHECK(any_diff);
    }
  }
}

TEST_CASE("MgnRegressor: gradient check of the readout/head path (double)", "[property][mgn][gradcheck]") {
  // Two graphs, a finest level of 5 nodes and a coarse level with K = 2 clusters per graph.
  const std::int64_t B = 2, K = 2, d = 3;
  const auto ro_mean = CsrMatrix<double>::from_triplets(
      B, 5, {{0, 0, 1.0 / 3}, {0, 1, 1.0 / 3}, {0, 2, 1.0 / 3}, {1, 3, 0.5}, {1, 4, 0.5}});
  const auto ro_coarse = coarse_readout<double>(B, K, Readout::Mean);
  const auto ro_sum = coarse_readout<double>(B, K, Readout::Sum);
  CounterRng rng(3, 4);
  const std::vector<Tensor<double>> inputs = {
      Tensor<double>::randn(Shape{5, d}, rng.split(0)), Tensor<double>::randn(Shape{B * K, d}, rng.split(1)),
      Tensor<double>::randn(Shape{2 * d, 1}, rng.split(2)), Tensor<double>::randn(Shape{1}, rng.split(3))};
  for (const auto* rc : {&ro_coarse, &ro_sum}) {
    auto f = [&](const std::vector<Var<double>>& v) {
      return readout_head<double>({v[0], v[1]}, {&ro_mean, rc}, v[2], v[3]);
    };
    const auto res = gradcheck(f, inputs);
    INFO(res.message);
    CHECK(res.ok);
    CHECK(res.checked > 0);
  }
  // The head on top of the model's tanh latent layer, through a tanh, checked as one function.
  auto g = [&](const std::vector<Var<double>>& v) {
    return readout_head<double>({tanh(v[0]), tanh(v[1])}, {&ro_mean, &ro_coarse}, v[2], v[3]);
  };
  const auto res = gradcheck(g, inputs);
  INFO(res.message);
  CHECK(res.ok);
}

TEST_CASE("MgnRegressor: L1 loss gradients reach every parameter (straight-through clustering)", "[property][mgn]") {
  auto cfg = tiny_config(true, Readout::Mean);
  cfg.node_feature_dim = 4;  // also the dense-feature embedding
  MgnRegressor<double> model(cfg);
  CounterRng rng(21, 0);
  const PropertyGraph g1 = with_rwse(molecule_like(14, cfg.num_node_types, rng), 4),
                      g2 = with_rwse(molecule_like(8, cfg.num_node_types, rng), 4);
  const auto b = make_batch<double>({&g1, &g2}, cfg.num_node_types, cfg.num_edge_types, cfg.readout);
  const auto out = model.forward(b, model.draw_noise(b, CounterRng(2, 2)));
  // Both targets above the initial predictions: the L1 signs agree, so the bias gradient is non-zero.
  const Var<double> target(Tensor<double>::from(Shape{2}, {5.0, 7.0}), false);
  const Var<double> loss = mean(abs(sub(out.prediction, target)));
  model.zero_grad();
  backward(loss);
  for (const auto& [name, p] : model.named_parameters()) {
    INFO(name);
    REQUIRE(p.grad().defined());
    double s = 0;
    bool finite = true;
    for (double v : p.grad().to_vector()) {
      s += std::abs(v);
      finite = finite && std::isfinite(v);
    }
    CHECK(finite);
    CHECK(s > 0);
  }
}

TEST_CASE("MgnRegressor: typed errors", "[property][mgn][errors]") {
  const auto cfg = tiny_config(true, Readout::Mean);
  PropertyGraph empty;
  CHECK_THROWS_AS(make_batch<double>({&empty}, cfg.num_node_types, cfg.num_edge_types), std::invalid_argument);
  CHECK_THROWS_AS(make_batch<double>({}, cfg.num_node_types, cfg.num_edge_types), std::invalid_argument);
  PropertyGraph bad;
  bad.n = 2;
  bad.node_type = {0, 9};  // type 9 outside [0, 5)
  bad.edges = {{0, 1, 0}};
  CHECK_THROWS_AS(make_batch<double>({&bad}, cfg.num_node_types, cfg.num_edge_types), std::invalid_argument);
  bad.node_type = {0, 1};
  bad.edges = {{0, 1, 3}};  // bond type 3 outside [0, 3)
  CHECK_THROWS_AS(make_batch<double>({&bad}, cfg.num_node_types, cfg.num_edge_types), std::invalid_argument);
  bad.edges = {{1, 1, 0}};  // self loop
  CHECK_THROWS_AS(make_batch<double>({&bad}, cfg.num_node_types, cfg.num_edge_types), std::invalid_argument);
  bad.edges = {{0, 2, 0}};  // endpoint out of range
  CHECK_THROWS_AS(make_batch<double>({&bad}, cfg.num_node_types, cfg.num_edge_types), std::invalid_argument);

  // A batch that does not fit the model.
  const MgnRegressor<double> model(cfg);
  PropertyGraph ok;
  ok.n = 3;
  ok.node_type = {0, 1, 2};
  ok.edges = {{0, 1, 0}, {1, 2, 1}};
  const auto b_types = make_batch<double>({&ok}, cfg.num_node_types + 1, cfg.num_edge_types);
  CHECK_THROWS_AS(model.forward(b_types), std::invalid_argument);
  const auto b_sum = make_batch<double>({&ok}, cfg.num_node_types, cfg.num_edge_types, Readout::Sum);
  CHECK_THROWS_AS(model.forward(b_sum), std::invalid_argument);
  // A graph with fewer nodes than clusters is fine (empty clusters pool to zero).
  const auto b_ok = make_batch<double>({&ok}, cfg.num_node_types, cfg.num_edge_types);
  CHECK(std::isfinite(model.forward(b_ok).prediction.value().to_vector()[0]));

  // Dense node features: wrong size, NaN, mixed F within a batch, F not what the model expects.
  PropertyGraph feat = ok;
  feat.feature_dim = 2;
  feat.features = {0.1, 0.2, 0.3};  // 3 values for 3 × 2
  CHECK_THROWS_AS(make_batch<double>({&feat}, cfg.num_node_types, cfg.num_edge_types), std::invalid_argument);
  feat.features = {0.1, 0.2, 0.3, std::nan(""), 0.5, 0.6};
  CHECK_THROWS_AS(make_batch<double>({&feat}, cfg.num_node_types, cfg.num_edge_types), std::invalid_argument);
  feat.features = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6};
  CHECK_THROWS_AS(make_batch<double>({&feat, &ok}, cfg.num_node_types, cfg.num_edge_types), std::invalid_argument);
  const auto b_feat = make_batch<double>({&feat}, cfg.num_node_types, cfg.num_edge_types);
  CHECK(b_feat.features.size(1) == 2);
  CHECK_THROWS_AS(model.forward(b_feat), std::invalid_argument);
  CHECK_THROWS_AS(random_walk_encoding(ok, 0), std::invalid_argument);

  auto bad_cfg = cfg;
  bad_cfg.levels = 0;
  CHECK_THROWS_AS(MgnRegressor<double>(bad_cfg), std::invalid_argument);
  bad_cfg = cfg;
  bad_cfg.clusters = 0;
  CHECK_THROWS_AS(MgnRegressor<double>(bad_cfg), std::invalid_argument);
}

TEST_CASE("random_walk_encoding: hand-derived landing probabilities, equivariance, invariant model", "[property][mgn]") {
  auto graph = [](std::int64_t n, std::vector<std::pair<std::int64_t, std::int64_t>> e) {
    PropertyGraph g;
    g.n = n;
    g.node_type.assign(static_cast<std::size_t>(n), 0);
    for (auto [u, v] : e) g.edges.emplace_back(u, v, 0);
    return g;
  };
  const int K = 6;
  auto at = [&](const std::vector<double>& p, std::int64_t i, int k) { return p[static_cast<std::size_t>(i * K + k - 1)]; };
  // One edge: the walk alternates, returning at every even step.
  const auto p2 = random_walk_encoding(graph(2, {{0, 1}, {1, 0}}), K);  // the repeated edge counts once
  for (int k = 1; k <= K; ++k) CHECK(at(p2, 0, k) == Approx(k % 2 == 0 ? 1.0 : 0.0).margin(1e-15));
  // Triangle: M = (J − I)/2, [M^k]_ii = (1 + 2(−1/2)^k)/3.
  const auto p3 = random_walk_encoding(graph(3, {{0, 1}, {1, 2}, {2, 0}}), K);
  for (std::int64_t i = 0; i < 3; ++i)
    for (int k = 1; k <= K; ++k) CHECK(at(p3, i, k) == Approx((1 + 2 * std::pow(-0.5, k)) / 3).margin(1e-15));
  // Six-ring: closed walks of length 2 / 4 / 6 are 2 / 6 / 22 (C(6,3) + the 2 walk-arounds) out of 2^k.
  const auto p6 = random_walk_encoding(graph(6, {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}, {5, 0}}), K);
  // Path of 9 nodes, middle node (4 steps from either end, so the ends are out of reach and back within
  // 6 steps): closed walks 20 out of 2^6 (no walk-around). This is what RWSE adds: 1-WL cannot tell the
  // six-ring's nodes from the path's inner nodes (all have degree 2).
  const auto p9 = random_walk_encoding(graph(9, {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}, {5, 6}, {6, 7}, {7, 8}}), K);
  for (std::int64_t i = 0; i < 6; ++i) {
    CHECK(at(p6, i, 1) == 0.0);
    CHECK(at(p6, i, 3) == 0.0);
    CHECK(at(p6, i, 2) == Approx(2.0 / 4).margin(1e-15));
    CHECK(at(p6, i, 4) == Approx(6.0 / 16).margin(1e-15));
    CHECK(at(p6, i, 6) == Approx(22.0 / 64).margin(1e-15));
  }
  CHECK(at(p9, 4, 6) == Approx(20.0 / 64).margin(1e-15));
  // Star K_{1,3}: the centre returns at step 2 surely; a leaf goes back to the centre, then 1/3 to itself.
  // The bond (0, 1) is listed twice and must count once; node 4 is isolated.
  const auto ps = random_walk_encoding(graph(5, {{0, 1}, {0, 2}, {0, 1}, {0, 3}}), K);
  CHECK(at(ps, 0, 2) == Approx(1.0));
  CHECK(at(ps, 1, 2) == Approx(1.0 / 3));
  CHECK(at(ps, 1, 4) == Approx(1.0 / 3));
  for (int k = 1; k <= K; ++k) CHECK(at(ps, 4, k) == 0.0);

  // Equivariance: the encoding of σ·G is the encoding of G with its rows permuted.
  CounterRng rng(31, 0);
  const PropertyGraph g = molecule_like(13, 5, rng);
  const auto perm = random_perm(g.n, rng);
  const PropertyGraph ge = with_rwse(g, 8);
  const auto pe = random_walk_encoding(permuted(g, perm), 8);
  const auto expected = permuted(ge, perm).features;
  REQUIRE(pe.size() == expected.size());
  for (std::size_t k = 0; k < pe.size(); ++k) CHECK(pe[k] == Approx(expected[k]).margin(1e-14));

  // The model with the encoding as dense features stays invariant (evaluation mode); the features matter.
  auto cfg = tiny_config(true, Readout::Mean);
  cfg.node_feature_dim = 8;
  const MgnRegressor<double> model(cfg);
  const PropertyGraph h = with_rwse(molecule_like(9, cfg.num_node_types, rng), 8);
  const PropertyGraph gp = permuted(ge, perm);
  const auto y = model.forward(make_batch<double>({&ge, &h}, cfg.num_node_types, cfg.num_edge_types)).prediction.value().to_vector();
  const auto yp = model.forward(make_batch<double>({&gp, &h}, cfg.num_node_types, cfg.num_edge_types)).prediction.value().to_vector();
  for (std::size_t i = 0; i < 2; ++i) CHECK(std::abs(y[i] - yp[i]) <= 1e-9 * (1 + std::abs(y[i])));
  PropertyGraph zeroed = ge;
  std::fill(zeroed.features.begin(), zeroed.features.end(), 0.0);
  const auto y0 = model.forward(make_batch<double>({&zeroed, &h}, cfg.num_node_types, cfg.num_edge_types)).prediction.value().to_vector();
  CHECK(std::abs(y0[0] - y[0]) > 1e-6);
}

TEST_CASE("concat_cols: matches concat(xs, 1) and passes gradcheck", "[property][ops]") {
  CounterRng rng(8, 1);
  const std::vector<Tensor<double>> inputs = {Tensor<double>::randn(Shape{4, 3}, rng.split(0)),
                                              Tensor<double>::randn(Shape{4, 1}, rng.split(1)),
                                              Tensor<double>::randn(Shape{4, 2}, rng.split(2))};
  {
    NoGradGuard ng;
    std::vector<Var<double>> v;
    for (const auto& t : inputs) v.emplace_back(t, false);
    const auto a = concat_cols(v).value().to_vector(), b = concat(v, 1).value().to_vector();
    CHECK(a == b);
  }
  auto f = [](const std::vector<Var<double>>& v) { return concat_cols(v); };
  const auto res = gradcheck(f, inputs);
  INFO(res.message);
  CHECK(res.ok);
  CHECK_THROWS_AS(concat_cols<double>({}), std::invalid_argument);
  CHECK_THROWS_AS(concat_cols<double>({Var<double>(Tensor<double>::zeros(Shape{2, 1})), Var<double>(Tensor<double>::zeros(Shape{3, 1}))}),
                  std::invalid_argument);
}
