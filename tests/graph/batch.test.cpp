// graph/batch.hpp: ragged batches of Graphs in the layout of the second-order models — offsets,
// adjacency and feature blocks against the graphs, typed errors, equivariance of the builder
// (permuting a graph permutes its blocks) and of a model run on it (Mgvae<T, 2>, Props. 1-2).
#include "mgvae/graph/batch.hpp"

#include <stdexcept>
#include <vector>

#include "mgvae/graph/permutation.hpp"
#include "mgvae/models/mgvae/mgvae.hpp"
#include "support/catch.hpp"

using namespace mgvae;
using TD = Tensor<double>;

namespace {
std::vector<Graph> three_graphs() {
  return {Graph::from_edges(3, {{0, 1}, {1, 2}}), Graph::from_edges(5, {{0, 4}, {1, 3}, {2, 3}, {3, 4}}),
          Graph::from_edges(4, {{0, 1}, {0, 2}, {0, 3}})};
}
}  // namespace

TEST_CASE("make_ragged_batch: offsets, symmetric adjacency blocks, features", "[graph][batch]") {
  const auto gs = three_graphs();
  const auto rb = graph::make_ragged_batch<double>(gs);
  CHECK(rb.b.node_off == std::vector<std::int64_t>{0, 3, 8, 12});
  CHECK(rb.b.pair_off == std::vector<std::int64_t>{0, 9, 34, 50});
  CHECK(rb.A.shape() == Shape{50, 1});
  CHECK(rb.X.shape() == Shape{12, 1});
  for (std::size_t g = 0; g < gs.size(); ++g) {
    const std::int64_t n = gs[g].n;
    const Csr csr = gs[g].csr();
    for (std::int64_t i = 0; i < n; ++i) {
      CHECK(rb.X(rb.b.node_off[g] + i, 0) == 1.0);
      for (std::int64_t j = 0; j < n; ++j) CHECK(rb.A(rb.b.pair_off[g] + i * n + j, 0) == (csr.has_edge(i, j) ? 1.0 : 0.0));
    }
  }
  // explicit features [n_g, F]
  std::vector<TD> f;
  for (std::size_t g = 0; g < gs.size(); ++g) f.push_back(TD::uniform({gs[g].n, 2}, CounterRng(g), -1, 1));
  const auto rf = graph::make_ragged_batch<double>(gs, f);
  CHECK(max_abs_diff(rf.A, rb.A) == 0.0);
  REQUIRE(rf.X.shape() == Shape{12, 2});
  for (std::size_t g = 0; g < gs.size(); ++g)
    for (std::int64_t i = 0; i < gs[g].n; ++i)
      for (std::int64_t c = 0; c < 2; ++c) CHECK(rf.X(rf.b.node_off[g] + i, c) == f[g](i, c));
}

TEST_CASE("make_ragged_batch: typed errors", "[graph][batch][errors]") {
  const auto gs = three_graphs();
  CHECK_THROWS_AS(graph::make_ragged_batch<double>({}), std::invalid_argument);
  CHECK_THROWS_AS(graph::make_ragged_batch<double>(gs, {TD::zeros({3, 1})}), std::invalid_argument);  // 1 of 3
  CHECK_THROWS_AS(graph::make_ragged_batch<double>(gs, {TD::zeros({3, 1}), TD::zeros({5, 2}), TD::zeros({4, 1})}),
                  std::invalid_argument);  // F differs
  CHECK_THROWS_AS(graph::make_ragged_batch<double>(gs, {TD::zeros({3, 1}), TD::zeros({4, 1}), TD::zeros({4, 1})}),
                  std::invalid_argument);  // n differs
  Graph bad;
  bad.n = 3;
  bad.edges = {{2, 1}};  // not canonical
  CHECK_THROWS_AS(graph::make_ragged_batch<double>({bad}), std::invalid_argument);
}

TEST_CASE("make_ragged_batch is equivariant: permuting graphs permutes the blocks; Mgvae<T, 2> on it",
          "[graph][batch][equivariance]") {
  const auto gs = three_graphs();
  std::vector<TD> f;
  for (std::size_t g = 0; g < gs.size(); ++g) f.push_back(TD::uniform({gs[g].n, 2}, CounterRng(10 + g), -1, 1));
  const auto rb = graph::make_ragged_batch<double>(gs, f);
  const auto ps = graph::random_permutations(rb.b, 5);
  std::vector<Graph> gp;
  std::vector<TD> fp;
  for (std::size_t g = 0; g < gs.size(); ++g) {
    gp.push_back(graph::permute_graph(gs[g], ps[g]));
    fp.push_back(graph::permute_rows(f[g], ps[g]));
  }
  const auto rp = graph::make_ragged_batch<double>(gp, fp);
  CHECK(max_abs_diff(rp.A, graph::permute_pair_rows(rb.b, ps, rb.A)) == 0.0);
  CHECK(max_abs_diff(rp.X, graph::permute_node_rows(rb.b, ps, rb.X)) == 0.0);

  // the batch feeds the second-order model; in eval mode (no noise) Z_0 = μ permutes with the nodes
  models::MgvaeConfig c;
  c.in_features = 2;
  c.hidden = {6};
  c.latent = 3;
  c.levels = 1;
  c.clusters_per_level = 2;
  c.cluster_hidden = 5;
  c.edge_channels = 1;
  c.order2_layers = 1;
  c.order2_decoder_layers = 1;
  c.max_graph_nodes = 8;
  CounterRng rng(3);
  const models::Mgvae<double, 2> model(c, 3, rng);
  const auto o = model.forward(rb.b, Var<double>(rb.A), Var<double>(rb.X), models::MgvaeNoise<double>{});
  const auto op = model.forward(rp.b, Var<double>(rp.A), Var<double>(rp.X), models::MgvaeNoise<double>{});
  CHECK(max_abs_diff(op.base.mu.value(), graph::permute_node_rows(rb.b, ps, o.base.mu.value())) < 1e-10);
  CHECK(max_abs_diff(op.logits.value(), graph::permute_pair_rows(rb.b, ps, o.logits.value())) < 1e-10);
}
