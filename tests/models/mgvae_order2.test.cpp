// Second-order MGVAE, models::Mgvae<T, 2> (models/mgvae/mgvae.hpp): permutation equivariance of
// the latents of every level with the noise permuted with the nodes (Props. 1-2), invariance of
// every ELBO term, finite-difference gradchecks of the full loss, reproducibility, typed errors,
// and agreement of the single-graph interface with the batched one.
#include <cmath>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "mgvae/autodiff/tape.hpp"
#include "mgvae/models/mgvae/mgvae.hpp"
#include "support/catch.hpp"
#include "support/permute.hpp"

using namespace mgvae;
using namespace mgvae::models;
using TD = Tensor<double>;
using VD = Var<double>;
using M2 = Mgvae<double, 2>;

namespace {
using testing::permute_nodes;
using testing::permute_pairs;
using testing::permute_factor;
using testing::Perms;

/// Symmetric 0/1 adjacency with E edge channels, no self loops.
TD random_adjacency(const RaggedBatch& b, std::int64_t E, std::uint64_t seed, double p = 0.5) {
  CounterRng rng(seed);
  TD A = TD::zeros({b.pairs(), E});
  for (std::int64_t g = 0; g < b.graphs(); ++g) {
    const std::int64_t n = b.size(g);
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = i + 1; j < n; ++j)
        if (rng.next_uniform() < p) {
          const auto e = static_cast<std::int64_t>(rng.next_below(static_cast<std::uint64_t>(E)));
          A.data()[(b.pair_off[g] + i * n + j) * E + e] = 1;
          A.data()[(b.pair_off[g] + j * n + i) * E + e] = 1;
        }
  }
  return A;
}
MgvaeConfig small_config(std::int64_t features, std::int64_t E) {
  MgvaeConfig c;
  c.in_features = features;
  c.hidden = {6};
  c.latent = 3;
  c.levels = 2;
  c.clusters_per_level = 2;  // K_s = 4, 2, 1
  c.cluster_hidden = 5;
  c.edge_channels = E;
  c.order2_layers = 1;
  c.order2_decoder_layers = 1;
  c.max_graph_nodes = 16;
  c.w_coarse = 0.5;
  return c;
}
std::map<std::string, double> term_values(const LossTerms<double>& t) {
  std::map<std::string, double> m;
  for (const auto& [n, v] : t.terms) m[n] = v.item();
  return m;
}
}  // namespace

TEST_CASE("Mgvae<T, 2>: latents of every level equivariant, ELBO terms invariant (noise permuted with the nodes)",
          "[models][mgvae2][equivariance]") {
  const auto b = RaggedBatch::from_sizes({5, 7, 6});
  const std::int64_t E = 2, F = 3;
  CounterRng rng(21);
  const M2 model(small_config(F, E), 6, rng);
  REQUIRE(model.sizes() == std::vector<std::int64_t>{4, 2, 1});
  const TD A = random_adjacency(b, E, 22);
  const TD X = TD::uniform({b.nodes(), F}, CounterRng(23), -1, 1);
  const MgvaeNoise<double> nz = model.draw_noise(b, CounterRng(24));
  const auto ps = testing::random_perms(b, 25);
  MgvaeNoise<double> nzp = nz;
  nzp.eps0 = permute_nodes(b, ps, nz.eps0);
  nzp.gumbel[0] = permute_nodes(b, ps, nz.gumbel[0]);  // coarse levels: cluster rows, unchanged

  const auto o = model.forward(b, VD(A), VD(X), nz);
  const auto op = model.forward(b, VD(permute_pairs(b, ps, A)), VD(permute_nodes(b, ps, X)), nzp);
  // finest level: μ, L, z, decoder logits and Π permute with the nodes
  CHECK(max_abs_diff(op.base.mu.value(), permute_nodes(b, ps, o.base.mu.value())) < 1e-10);
  for (std::int64_t g = 0; g < b.graphs(); ++g)
    CHECK(max_abs_diff(op.base.L[g].value(), permute_factor(ps[g], o.base.L[g].value())) < 1e-10);
  CHECK(max_abs_diff(op.z.value(), permute_nodes(b, ps, o.z.value())) < 1e-10);
  CHECK(max_abs_diff(op.logits.value(), permute_pairs(b, ps, o.logits.value())) < 1e-10);
  CHECK(max_abs_diff(op.levels[0].clustering.pi.value(), permute_nodes(b, ps, o.levels[0].clustering.pi.value())) < 1e-12);
  // the check can fail: another permutation of the output is not what the model gives
  Perms other = ps;
  std::swap(other[1][0], other[1][1]);
  CHECK(max_abs_diff(op.z.value(), permute_nodes(b, other, o.z.value())) > 1e-6);
  // coarse levels: invariant
  REQUIRE(o.levels.size() == 3);
  for (std::size_t s = 0; s < o.levels.size(); ++s) {
    INFO("level " << s);
    CHECK(max_abs_diff(op.levels[s].coarse_adj.value(), o.levels[s].coarse_adj.value()) < 1e-10);
    CHECK(max_abs_diff(op.levels[s].pooled.value(), o.levels[s].pooled.value()) < 1e-10);
    CHECK(max_abs_diff(op.levels[s].post.mu.value(), o.levels[s].post.mu.value()) < 1e-10);
    CHECK(max_abs_diff(op.levels[s].z.value(), o.levels[s].z.value()) < 1e-10);
    for (std::int64_t g = 0; g < b.graphs(); ++g)
      CHECK(max_abs_diff(op.levels[s].post.L[g].value(), o.levels[s].post.L[g].value()) < 1e-10);
    if (s > 0) CHECK(op.levels[s].clustering.labels == o.levels[s].clustering.labels);
  }
  // coarse adjacency of graph g sums to Σ A_g (Π rows sum to 1)
  double sa = 0, sc = 0;
  for (std::int64_t k = 0; k < b.pair_off[1] * E; ++k) sa += A.data()[k];
  const TD c0 = o.levels[0].coarse_adj.value().contiguous();
  for (std::int64_t k = 0; k < 16 * E; ++k) sc += c0.data()[k];
  CHECK(sc == Approx(sa).epsilon(1e-12));

  const auto t = model.loss(o), tp = model.loss(op);
  const auto v = term_values(t), vp = term_values(tp);
  for (const char* name : {"recon_global", "kl[0]", "kl[1]", "kl[2]", "kl[3]", "recon_local[0]", "recon_coarse[1]",
                           "balance[0]", "balance[1]"}) {
    INFO(name);
    REQUIRE(v.count(name) == 1);
    CHECK(std::isfinite(v.at(name)));
    CHECK(vp.at(name) == Approx(v.at(name)).epsilon(1e-10).margin(1e-12));
  }
  CHECK(v.size() == vp.size());
  CHECK(tp.total().item() == Approx(t.total().item()).epsilon(1e-10));
  CHECK(v.at("kl[0]") > 0);
  CHECK(v.at("recon_global") > 0);

  // evaluation (no noise): z = μ, still equivariant
  const auto e = model.forward(b, VD(A), VD(X), MgvaeNoise<double>{});
  const auto ep = model.forward(b, VD(permute_pairs(b, ps, A)), VD(permute_nodes(b, ps, X)), MgvaeNoise<double>{});
  CHECK(max_abs_diff(e.z.value(), e.base.mu.value()) == 0.0);
  CHECK(max_abs_diff(ep.z.value(), permute_nodes(b, ps, e.z.value())) < 1e-10);
  CHECK(model.loss(ep).total().item() == Approx(model.loss(e).total().item()).epsilon(1e-10));
}

TEST_CASE("Mgvae<T, 2>: equal seeds give equal results, different seeds different ones", "[models][mgvae2]") {
  const auto b = RaggedBatch::from_sizes({4, 6});
  const TD A = random_adjacency(b, 1, 31), X = TD::uniform({b.nodes(), 2}, CounterRng(32), 0, 1);
  auto run = [&](std::uint64_t init, std::uint64_t noise) {
    CounterRng r(init);
    const M2 m(small_config(2, 1), 4, r);
    return m.loss(m.forward(b, VD(A), VD(X), m.draw_noise(b, CounterRng(noise)))).total().item();
  };
  const double l = run(1, 2);
  CHECK(run(1, 2) == l);
  CHECK(run(3, 2) != l);
  CHECK(run(1, 4) != l);
}

namespace {
/// Central-difference check of d loss / d p for the first `per_param` entries of every parameter
/// whose name contains one of `which` (empty: all). Returns the number of entries checked.
template <class LossFn>
int check_parameter_gradients(const M2& model, LossFn&& loss_fn, const std::vector<std::string>& which, int per_param) {
  for (auto& p : model.parameters()) p.zero_grad();
  backward(loss_fn());
  int checked = 0;
  for (const auto& [name, p] : model.named_parameters()) {
    bool take = which.empty();
    for (const auto& w : which) take = take || name.find(w) != std::string::npos;
    if (!take) continue;
    TD val = p.value();
    const TD g = p.grad();
    for (std::int64_t k = 0; k < std::min<std::int64_t>(per_param, val.numel()); ++k) {
      const double x0 = val.data()[k], h = 1e-6;
      double lp, lm;
      {
        NoGradGuard ng;
        val.data()[k] = x0 + h;
        lp = loss_fn().item();
        val.data()[k] = x0 - h;
        lm = loss_fn().item();
        val.data()[k] = x0;
      }
      const double fd = (lp - lm) / (2 * h), an = g.defined() ? g.data()[k] : 0.0;
      INFO(name << "[" << k << "]: analytic " << an << ", finite difference " << fd);
      CHECK(std::abs(an - fd) <= 1e-6 + 1e-5 * std::abs(fd));
      ++checked;
    }
  }
  return checked;
}
}  // namespace

TEST_CASE("Mgvae<T, 2>: gradcheck of the full loss (relaxed Π: every parameter; straight-through: decoders, top encoder)",
          "[models][mgvae2][gradcheck]") {
  const auto b = RaggedBatch::from_sizes({3, 4});
  const TD A = random_adjacency(b, 1, 41, 0.6), X = TD::uniform({b.nodes(), 2}, CounterRng(42), -1, 1);
  MgvaeConfig cfg = small_config(2, 1);
  cfg.hidden = {3};
  cfg.latent = 2;
  cfg.levels = 1;  // K_s = 2, 1
  cfg.cluster_hidden = 3;
  SECTION("relaxed Π, plain backpropagation: the loss is exactly differentiable in every parameter") {
    cfg.straight_through = false;
    cfg.hierarchy_grad = 1.0;
    cfg.w_local = 0;   // local pairs and coarse targets depend on argmax labels / detached values
    cfg.w_coarse = 0;
    CounterRng rng(43);
    const M2 m(cfg, 3, rng);
    const auto nz = m.draw_noise(b, CounterRng(44));
    auto f = [&] { return m.loss(m.forward(b, VD(A), VD(X), nz)).total(); };
    const auto names = term_values(m.loss(m.forward(b, VD(A), VD(X), nz)));
    CHECK(names.count("balance[0]") == 1);
    CHECK(names.count("kl[2]") == 1);
    CHECK(check_parameter_gradients(m, f, {}, 1) > 30);
  }
  SECTION("straight-through Π with every term: decoders and the top encoder (downstream of every Π)") {
    cfg.w_local = 1.0;
    cfg.w_coarse = 1.0;
    CounterRng rng(45);
    const M2 m(cfg, 3, rng);
    const auto nz = m.draw_noise(b, CounterRng(46));
    auto f = [&] { return m.loss(m.forward(b, VD(A), VD(X), nz)).total(); };
    const auto names = term_values(m.loss(m.forward(b, VD(A), VD(X), nz)));
    REQUIRE(names.count("recon_local[0]") == 1);
    REQUIRE(names.count("recon_local[1]") == 1);
    CHECK(check_parameter_gradients(m, f, {"decoder.", ".local.", ".global.", "level1.encoder."}, 1) > 15);
  }
}

TEST_CASE("Mgvae<T, 2>: single-graph interface agrees with the batched one", "[models][mgvae2]") {
  const Graph gr = Graph::from_edges(6, {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}, {0, 5}, {1, 4}});
  const auto target = make_dense_target<double>(6, gr.edges);
  const auto [b, A] = ragged_adjacency<double>({gr});
  const CsrMatrix<double> adj = target.adj;
  const TD X = TD::uniform({6, 2}, CounterRng(51), 0, 1);
  CounterRng rng(52);
  const M2 m(small_config(2, 1), 6, rng);
  const auto nz = m.draw_noise(CounterRng(53));
  MgvaeInput<double> in;
  in.adj = &adj;
  in.x = NodeFeatures<double>::of(VD(X));
  const auto o1 = m.forward(in, nz);
  const auto o2 = m.forward(b, VD(A), VD(X), nz);
  CHECK(max_abs_diff(o1.z.value(), o2.z.value()) == 0.0);
  const auto t1 = term_values(m.loss(o1, in, FinestTarget<double>{&target, nullptr, nullptr}));
  const auto t2 = term_values(m.loss(o2));
  REQUIRE(t1.size() == t2.size());
  for (const auto& [n, v] : t2) CHECK(t1.at(n) == Approx(v).epsilon(1e-12));
  // sampled pairs
  const std::vector<std::pair<std::int64_t, std::int64_t>> pos{{0, 1}, {2, 3}}, neg{{0, 3}, {2, 5}};
  const auto t3 = m.loss(o1, in, FinestTarget<double>{nullptr, &pos, &neg});
  CHECK(std::isfinite(t3.total().item()));
  CHECK_THROWS_AS(m.loss(o1, in, FinestTarget<double>{}), std::invalid_argument);
}

TEST_CASE("Mgvae<T, 2>: typed errors for bad shapes, empty and too-large graphs", "[models][mgvae2][errors]") {
  CounterRng rng(61);
  MgvaeConfig cfg = small_config(2, 1);
  cfg.max_graph_nodes = 8;
  const M2 m(cfg, 5, rng);
  const auto b = RaggedBatch::from_sizes({5, 4});
  const TD A = random_adjacency(b, 1, 62), X = TD::ones({b.nodes(), 2});
  CHECK_NOTHROW(m.forward(b, VD(A), VD(X), m.draw_noise(b, CounterRng(1))));
  // shape mismatches
  CHECK_THROWS_AS(m.forward(b, VD(TD::zeros({b.pairs(), 2})), VD(X), MgvaeNoise<double>{}), std::invalid_argument);
  CHECK_THROWS_AS(m.forward(b, VD(TD::zeros({b.pairs() - 1, 1})), VD(X), MgvaeNoise<double>{}), std::invalid_argument);
  CHECK_THROWS_AS(m.forward(b, VD(A), VD(TD::ones({b.nodes(), 3})), MgvaeNoise<double>{}), std::invalid_argument);
  MgvaeNoise<double> bad = m.draw_noise(b, CounterRng(1));
  bad.gumbel[1] = TD::zeros({3, 2});
  CHECK_THROWS_AS(m.forward(b, VD(A), VD(X), bad), std::invalid_argument);
  // empty batch, empty graph
  CHECK_THROWS_AS(m.forward(RaggedBatch::from_sizes({}), VD(TD::zeros({0, 1})), VD(TD::zeros({0, 2})), MgvaeNoise<double>{}),
                  std::invalid_argument);
  const auto be = RaggedBatch::from_sizes({3, 0});
  CHECK_THROWS_AS(m.forward(be, VD(TD::zeros({be.pairs(), 1})), VD(TD::ones({be.nodes(), 2})), MgvaeNoise<double>{}),
                  std::invalid_argument);
  // a graph above max_graph_nodes: std::length_error (also at construction)
  const auto bl = RaggedBatch::from_sizes({3, 9});
  CHECK_THROWS_AS(m.forward(bl, VD(TD::zeros({bl.pairs(), 1})), VD(TD::ones({bl.nodes(), 2})), MgvaeNoise<double>{}),
                  std::length_error);
  CHECK_THROWS_AS(M2(cfg, 9, rng), std::length_error);
  // invalid configuration and schedule
  MgvaeConfig c2 = cfg;
  c2.hidden.clear();
  CHECK_THROWS_AS(M2(c2, 5, rng), std::invalid_argument);
  MgvaeConfig c3 = cfg;
  c3.cluster_logit_scale = 2.0;  // first-order option: rejected, not silently ignored
  CHECK_THROWS_AS(M2(c3, 5, rng), std::invalid_argument);
  CHECK_THROWS_AS(M2(cfg, 3, rng), std::invalid_argument);  // K^L = 4 > 3 nodes
  // graphs smaller than K_s are fine (empty clusters)
  const auto bs = RaggedBatch::from_sizes({2, 1});
  const auto os = m.forward(bs, VD(random_adjacency(bs, 1, 63)), VD(TD::ones({bs.nodes(), 2})), m.draw_noise(bs, CounterRng(2)));
  CHECK(std::isfinite(m.loss(os).total().item()));
}
