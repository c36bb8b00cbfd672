// Permutation equivariance of the first-order MGN / MGVAE (Propositions 1 and 2): for random
// graphs G, features X, node permutations σ and node-indexed noise permuted with the nodes,
//   finest-level outputs permute:  Z(σ·G) = σ·Z(G),  Π(σ·G) = σ·Π(G)  (Def. 8),
//   coarse graphs, coarse latents and every loss term are invariant.
// Everything is in double and compared to 1e-9.
#include <cmath>

#include "mgvae/graph/normalize.hpp"
#include "mgvae/graph/permutation.hpp"
#include "mgvae/models/models.hpp"
#include "support/catch.hpp"

using namespace mgvae;
using namespace mgvae::models;
using TD = Tensor<double>;
using VD = Var<double>;

namespace {

Graph random_graph(std::int64_t n, double p, CounterRng& rng) {
  std::vector<Graph::Edge> e;
  for (std::int64_t u = 0; u < n; ++u)
    for (std::int64_t v = u + 1; v < n; ++v)
      if (rng.next_uniform() < p) e.emplace_back(u, v);
  for (std::int64_t u = 0; u + 1 < n; u += 3) e.emplace_back(u, u + 1);  // few isolated nodes
  return Graph::from_edges(n, e);
}

std::vector<float> random_features(std::int64_t n, std::int64_t f, CounterRng& rng) {
  std::vector<float> x(static_cast<std::size_t>(n * f));
  for (auto& v : x) v = rng.next_uniform() < 0.3 ? 1.0f : 0.0f;
  return x;
}

std::vector<float> permute_feature_rows(const std::vector<float>& x, std::int64_t f, const std::vector<std::int64_t>& perm) {
  std::vector<float> y(x.size());
  for (std::size_t i = 0; i < perm.size(); ++i)
    for (std::int64_t j = 0; j < f; ++j) y[static_cast<std::size_t>(perm[i] * f + j)] = x[i * static_cast<std::size_t>(f) + static_cast<std::size_t>(j)];
  return y;
}

struct Problem {
  Graph g;
  CsrMatrix<double> anorm, araw, x;
  DenseReconTarget<double> target;
  MgvaeInput<double> in() const { return MgvaeInput<double>{&anorm, &araw, NodeFeatures<double>::of(x)}; }
  static Problem make(const Graph& g, const std::vector<float>& feats, std::int64_t f) {
    Problem p;
    p.g = g;
    p.anorm = graph::gcn_normalized<double>(g);
    p.araw = graph::adjacency_csr<double>(g);
    p.x = graph::dense_to_csr<double>(feats, g.n, f);
    p.target = make_dense_target<double>(g.n, g.edges);
    return p;
  }
};

MgvaeNoise<double> permute_noise(const MgvaeNoise<double>& z, const std::vector<std::int64_t>& perm) {
  MgvaeNoise<double> p = z;
  if (!z.training()) return p;
  p.eps0 = graph::permute_rows(z.eps0, perm);
  p.gumbel[0] = graph::permute_rows(z.gumbel[0], perm);  // noise of the finest clustering belongs to the nodes
  return p;  // coarse levels are indexed by cluster, which permutations of the input do not touch
}

void check_mgvae_equivariance(ClusteringKind kind, bool train, std::uint64_t seed) {
  CounterRng rng(seed);
  const std::int64_t n = 14, f = 6;
  const Graph g = random_graph(n, 0.25, rng);
  const auto feats = random_features(n, f, rng);
  const auto perm = graph::random_permutation(n, rng);
  const Problem P = Problem::make(g, feats, f);
  const Problem Q = Problem::make(g.permuted(perm), permute_feature_rows(feats, f, perm), f);

  MgvaeConfig cfg;
  cfg.in_features = f;
  cfg.hidden = {8};
  cfg.latent = 4;
  cfg.levels = 2;
  cfg.clusters_per_level = 2;  // 4, 2, 1 clusters
  cfg.clustering = kind;
  cfg.w_coarse = 0.5;
  CounterRng init(seed + 1);
  Mgvae<double> model(cfg, n, init);
  if (kind == ClusteringKind::Fixed) {
    std::vector<std::vector<std::int64_t>> lab{{0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1}, {0, 1, 1, 0}, {0, 0}};
    model.set_fixed_hierarchy(lab);
  }
  const MgvaeNoise<double> noise = train ? model.draw_noise(CounterRng(seed + 2)) : MgvaeNoise<double>{};
  const auto o1 = model.forward(P.in(), noise);
  const auto l1 = model.loss(o1, P.in(), FinestTarget<double>{&P.target, nullptr, nullptr});
  if (kind == ClusteringKind::Fixed) {  // the fixed labels are a property of the nodes: permute them too
    std::vector<std::vector<std::int64_t>> lab{graph::permute_labels<std::int64_t>({0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1}, perm),
                                               {0, 1, 1, 0}, {0, 0}};
    model.set_fixed_hierarchy(lab);
  }
  const auto o2 = model.forward(Q.in(), permute_noise(noise, perm));
  const auto l2 = model.loss(o2, Q.in(), FinestTarget<double>{&Q.target, nullptr, nullptr});

  // finest level: equivariant
  CHECK(max_abs_diff(graph::permute_rows(o1.base.mu.value(), perm), o2.base.mu.value()) < 1e-9);
  CHECK(max_abs_diff(graph::permute_rows(o1.base.z.value(), perm), o2.base.z.value()) < 1e-9);
  CHECK(graph::permute_labels(o1.levels[0].clustering.labels, perm) == o2.levels[0].clustering.labels);
  CHECK(max_abs_diff(graph::permute_rows(o1.levels[0].clustering.pi.value(), perm), o2.levels[0].clustering.pi.value()) < 1e-9);
  // coarse levels: invariant
  REQUIRE(o1.levels.size() == 3);
  for (std::size_t s = 0; s < o1.levels.size(); ++s) {
    CHECK(max_abs_diff(o1.levels[s].coarse_adj.value(), o2.levels[s].coarse_adj.value()) < 1e-9);
    CHECK(max_abs_diff(o1.levels[s].pooled.value(), o2.levels[s].pooled.value()) < 1e-9);
    CHECK(max_abs_diff(o1.levels[s].z.value(), o2.levels[s].z.value()) < 1e-9);
    if (s > 0) CHECK(o1.levels[s].clustering.labels == o2.levels[s].clustering.labels);
  }
  // every loss term: invariant
  REQUIRE(l1.terms.size() == l2.terms.size());
  for (std::size_t i = 0; i < l1.terms.size(); ++i) {
    INFO(l1.terms[i].first);
    CHECK(l1.terms[i].first == l2.terms[i].first);
    CHECK(std::abs(l1.terms[i].second.item() - l2.terms[i].second.item()) < 1e-9);
  }
  CHECK(std::abs(l1.total().item() - l2.total().item()) < 1e-9);
}

}  // namespace

TEST_CASE("MGVAE with learned clustering is permutation equivariant (train mode, Gumbel noise permuted)",
          "[models][equivariance]") {
  for (std::uint64_t seed : {1u, 2u, 3u}) check_mgvae_equivariance(ClusteringKind::Learned, true, seed);
}

TEST_CASE("MGN (eval mode: z = mu, argmax clustering, Eq. 4) is permutation equivariant", "[models][equivariance]") {
  for (std::uint64_t seed : {4u, 5u}) check_mgvae_equivariance(ClusteringKind::Learned, false, seed);
}

TEST_CASE("MGVAE with a fixed clustering is permutation equivariant", "[models][equivariance]") {
  check_mgvae_equivariance(ClusteringKind::Fixed, true, 6);
}

TEST_CASE("the equivariance check can fail: unpermuted noise breaks it", "[models][equivariance]") {
  CounterRng rng(11);
  const std::int64_t n = 10, f = 4;
  const Graph g = random_graph(n, 0.3, rng);
  const auto feats = random_features(n, f, rng);
  std::vector<std::int64_t> perm{1, 0, 2, 3, 4, 5, 6, 7, 8, 9};  // swap two nodes
  const Problem P = Problem::make(g, feats, f);
  const Problem Q = Problem::make(g.permuted(perm), permute_feature_rows(feats, f, perm), f);
  MgvaeConfig cfg;
  cfg.in_features = f;
  cfg.hidden = {8};
  cfg.latent = 3;
  cfg.levels = 1;
  cfg.clusters_per_level = 2;
  CounterRng init(3);
  Mgvae<double> model(cfg, n, init);
  const auto noise = model.draw_noise(CounterRng(4));
  const auto o1 = model.forward(P.in(), noise);
  const auto o2 = model.forward(Q.in(), noise);  // noise NOT permuted
  CHECK(max_abs_diff(graph::permute_rows(o1.base.z.value(), perm), o2.base.z.value()) > 1e-6);
}

TEST_CASE("single modules: GCN layer equivariant, coarsening and pooling invariant", "[models][equivariance]") {
  CounterRng rng(21);
  const std::int64_t n = 9, k = 3, d = 5;
  const Graph g = random_graph(n, 0.35, rng);
  const auto perm = graph::random_permutation(n, rng);
  const auto A1 = graph::gcn_normalized<double>(g), A2 = graph::gcn_normalized<double>(g.permuted(perm));
  const TD X = TD::randn(Shape{n, d}, CounterRng(1));
  CounterRng init(2);
  GcnLayer<double> layer(d, 4, init, Activation::Tanh);
  const VD h1 = layer.forward(Adjacency<double>::of(A1), VD(X));
  const VD h2 = layer.forward(Adjacency<double>::of(A2), VD(graph::permute_rows(X, perm)));
  CHECK(max_abs_diff(graph::permute_rows(h1.value(), perm), h2.value()) < 1e-12);

  std::vector<std::int64_t> lab(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) lab[static_cast<std::size_t>(i)] = i % k;
  const auto c1 = fixed_clustering<double>(lab, k);
  const auto c2 = fixed_clustering<double>(graph::permute_labels(lab, perm), k);
  const auto R1 = graph::adjacency_csr<double>(g), R2 = graph::adjacency_csr<double>(g.permuted(perm));
  const VD a1 = coarsen(Adjacency<double>::of(R1), c1.pi), a2 = coarsen(Adjacency<double>::of(R2), c2.pi);
  CHECK(max_abs_diff(a1.value(), a2.value()) < 1e-12);
  double total = 0;
  for (double v : a1.value().to_vector()) total += v;
  CHECK(total == Approx(2.0 * static_cast<double>(g.num_edges())));  // ΠᵀAΠ keeps ΣA
  const VD p1 = pool(c1.pi, VD(X)), p2 = pool(c2.pi, VD(graph::permute_rows(X, perm)));
  CHECK(max_abs_diff(p1.value(), p2.value()) < 1e-12);
}
