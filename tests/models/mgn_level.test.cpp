// One MGN level, models::MgnLevel<T, Order> (models/mgn/level.hpp), used directly for both tensor
// orders: the level step (cluster, coarsen, pool, encode) is equivariant in the node index of G_s —
// Π_s permutes with the nodes when the Gumbel noise does, G_{s+1} and its latents do not change
// (Def. 4, Prop. 2) — a wrong permutation breaks it, a fixed clustering is honoured, and the
// batched balanced cut of Order 2 is the mean of its graphs' terms.
#include <cmath>
#include <stdexcept>
#include <vector>

#include "mgvae/graph/permutation.hpp"
#include "mgvae/models/mgn/mgn.hpp"
#include "support/catch.hpp"

using namespace mgvae;
using namespace mgvae::models;
using TD = Tensor<double>;
using VD = Var<double>;

namespace {

double max_abs_diff(const TD& a, const TD& b) {
  const TD x = a.contiguous(), y = b.contiguous();
  REQUIRE(x.shape() == y.shape());
  double m = 0;
  for (std::int64_t i = 0; i < x.numel(); ++i) m = std::max(m, std::abs(x.data()[i] - y.data()[i]));
  return m;
}

MgvaeConfig level_config(std::int64_t latent, std::int64_t E) {
  MgvaeConfig c;
  c.in_features = latent;
  c.hidden = {5};
  c.latent = latent;
  c.cluster_hidden = 4;
  c.edge_channels = E;
  c.order2_layers = 1;
  c.order2_decoder_layers = 1;
  return c;
}

/// Symmetric 0/1 adjacency of a ring with chords on n nodes, as an [n, n] tensor.
TD ring_with_chords(std::int64_t n) {
  TD a = TD::zeros({n, n});
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t j = (i + 1) % n, k = (i + 3) % n;
    a.data()[i * n + j] = a.data()[j * n + i] = 1;
    a.data()[i * n + k] = a.data()[k * n + i] = 1;
  }
  return a;
}

TD normal(std::int64_t r, std::int64_t c, std::uint64_t seed) { return normal_noise<double>(r, c, CounterRng(seed)); }

}  // namespace

TEST_CASE("MgnLevel<T, 1>: one step is equivariant in the nodes of G_s, G_{s+1} invariant", "[models][mgn][level]") {
  const std::int64_t n = 10, d = 3, K = 3;
  CounterRng rng(5);
  const MgnLevel<double, 1> level(level_config(d, 1), K, true, rng);
  const TD A = ring_with_chords(n);
  const VD a_raw = constant(A), a_norm = gcn_normalize_dense(a_raw);
  const TD Z = normal(n, d, 11), G = gumbel_noise<double>(n, K, CounterRng(12)), eps = normal(K, d, 13);
  const LevelGraph<double> g{RaggedBatch::from_sizes({n}), Adjacency<double>::of(a_norm), Adjacency<double>::of(a_raw), {}};
  const auto o = level.forward(g, constant(Z), G, eps);

  const auto perm = graph::random_permutation(n, 7);
  const VD pa_raw = constant(graph::permute_square(A, perm)), pa_norm = gcn_normalize_dense(pa_raw);
  const LevelGraph<double> pg{RaggedBatch::from_sizes({n}), Adjacency<double>::of(pa_norm), Adjacency<double>::of(pa_raw), {}};
  const auto op = level.forward(pg, constant(graph::permute_rows(Z, perm)), graph::permute_rows(G, perm), eps);

  CHECK(max_abs_diff(graph::permute_rows(o.clustering.pi.value(), perm), op.clustering.pi.value()) < 1e-12);
  CHECK(max_abs_diff(o.coarse_adj.value(), op.coarse_adj.value()) < 1e-10);
  CHECK(max_abs_diff(o.adj_in.value(), op.adj_in.value()) < 1e-10);
  CHECK(max_abs_diff(o.pooled.value(), op.pooled.value()) < 1e-10);
  CHECK(max_abs_diff(o.z.value(), op.z.value()) < 1e-10);
  CHECK(o.batch.graphs() == 1);
  CHECK(o.batch.size(0) == K);
  // the latents permuted but the Gumbel noise not: another clustering, so the check can fail
  const auto wrong = level.forward(pg, constant(graph::permute_rows(Z, perm)), G, eps);
  CHECK(max_abs_diff(graph::permute_rows(o.clustering.pi.value(), perm), wrong.clustering.pi.value()) > 0.5);

  // a fixed clustering is the one-hot of its labels; Πᵀ A Π keeps the total of A
  const std::vector<std::int64_t> labels{0, 0, 0, 1, 1, 1, 2, 2, 2, 2};
  const auto f = level.forward(g, constant(Z), TD(), TD(), &labels);
  CHECK(f.clustering.labels == labels);
  double total = 0, coarse_total = 0;
  for (std::int64_t i = 0; i < A.numel(); ++i) total += A.data()[i];
  const TD c = f.coarse_adj.value().contiguous();
  for (std::int64_t i = 0; i < c.numel(); ++i) coarse_total += c.data()[i];
  CHECK(std::abs(total - coarse_total) < 1e-12);
  CHECK(max_abs_diff(f.z.value(), f.post.mu.value()) == 0.0);  // no noise: z = μ
}

TEST_CASE("MgnLevel<T, 2>: one step over a ragged batch is equivariant per graph, G_{s+1} invariant",
          "[models][mgn][level][mgvae2]") {
  const std::int64_t d = 3, K = 2, E = 2;
  CounterRng rng(9);
  MgvaeConfig cfg = level_config(d, E);
  const MgnLevel<double, 2> level(cfg, K, true, rng);
  const RaggedBatch b = RaggedBatch::from_sizes({5, 7});
  TD A = TD::zeros({b.pairs(), E});
  for (std::int64_t g = 0; g < b.graphs(); ++g) {
    const std::int64_t n = b.size(g);
    const TD r = ring_with_chords(n);
    for (std::int64_t i = 0; i < n * n; ++i) A.data()[(b.pair_off[g] + i) * E + (i % 2)] = r.data()[i];
  }
  const TD Z = normal(b.nodes(), d, 21), G = gumbel_noise<double>(b.nodes(), K, CounterRng(22)),
           eps = normal(b.graphs() * K, d, 23);
  const std::vector<double> inv_total{1.0 / 10, 1.0 / 14};
  const LevelGraph<double> g{b, Adjacency<double>::of(constant(A)), Adjacency<double>::of(constant(A)), inv_total};
  const auto o = level.forward(g, constant(Z), G, eps);

  const graph::BatchPermutation ps = graph::random_permutations(b, 3);
  const TD pA = graph::permute_pair_rows(b, ps, A);
  const LevelGraph<double> pg{b, Adjacency<double>::of(constant(pA)), Adjacency<double>::of(constant(pA)), inv_total};
  const auto op = level.forward(pg, constant(graph::permute_node_rows(b, ps, Z)), graph::permute_node_rows(b, ps, G), eps);

  CHECK(max_abs_diff(graph::permute_node_rows(b, ps, o.clustering.pi.value()), op.clustering.pi.value()) < 1e-12);
  CHECK(max_abs_diff(o.coarse_adj.value(), op.coarse_adj.value()) < 1e-10);
  CHECK(max_abs_diff(o.adj_in.value(), op.adj_in.value()) < 1e-10);
  CHECK(max_abs_diff(o.pooled.value(), op.pooled.value()) < 1e-10);
  CHECK(max_abs_diff(o.post.mu.value(), op.post.mu.value()) < 1e-10);
  CHECK(max_abs_diff(o.z.value(), op.z.value()) < 1e-10);
  CHECK(o.batch.graphs() == 2);
  CHECK(o.coarse_adj.shape() == Shape{2 * K * K, E});

  // the batch's balanced cut is the mean of its graphs' (graph 1 alone: the same level on one graph)
  const double both = level.balance(b, o.clustering).value().item();
  Clustering<double> c0, c1;
  c0.k = c1.k = K;
  c0.labels.assign(o.clustering.labels.begin(), o.clustering.labels.begin() + 5);
  c1.labels.assign(o.clustering.labels.begin() + 5, o.clustering.labels.end());
  c0.pi = slice(o.clustering.pi, 0, 0, 5);
  c1.pi = slice(o.clustering.pi, 0, 5, 12);
  c0.probs = slice(o.clustering.probs, 0, 0, 5);
  c1.probs = slice(o.clustering.probs, 0, 5, 12);
  const double m0 = level.balance(RaggedBatch::from_sizes({5}), c0).value().item();
  const double m1 = level.balance(RaggedBatch::from_sizes({7}), c1).value().item();
  CHECK(std::abs(both - 0.5 * (m0 + m1)) < 1e-12);
}

TEST_CASE("MgnLevel: a level built for a fixed clustering refuses a learned step", "[models][mgn][level][errors]") {
  MgvaeConfig cfg = level_config(2, 1);
  cfg.clustering = ClusteringKind::Fixed;
  CounterRng rng(1);
  const MgnLevel<double, 1> level(cfg, 2, false, rng);
  const TD A = ring_with_chords(4);
  const VD a = constant(A);
  const LevelGraph<double> g{RaggedBatch::from_sizes({4}), Adjacency<double>::of(gcn_normalize_dense(a)), Adjacency<double>::of(a), {}};
  CHECK_THROWS_AS(level.forward(g, constant(normal(4, 2, 1)), TD(), TD()), std::invalid_argument);
  CHECK_THROWS_AS((MgnLevel<double, 1>(cfg, 0, false, rng)), std::invalid_argument);
}
