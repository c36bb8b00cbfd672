// Size and shape mismatch errors of the models name both sizes: the one given and the one expected
// (Mgvae / Mgvae<T, 2> forward and set_fixed_hierarchy, size matching).
#include <string>
#include <vector>

#include "mgvae/data/generators.hpp"
#include "mgvae/graph/normalize.hpp"
#include "mgvae/models/models.hpp"
#include "mgvae/models/size_matching.hpp"
#include "support/catch.hpp"

using namespace mgvae;
using namespace mgvae::models;
using Catch::Matchers::Contains;
using TD = Tensor<double>;
using VD = Var<double>;

namespace {

MgvaeConfig tiny_config(std::int64_t features) {
  MgvaeConfig c;
  c.in_features = features;
  c.hidden = {6};
  c.latent = 3;
  c.levels = 1;
  c.clusters_per_level = 2;
  c.cluster_hidden = 5;
  c.order2_layers = 1;
  c.order2_decoder_layers = 1;
  c.max_graph_nodes = 16;
  return c;
}

Graph ring(std::int64_t n) {
  std::vector<Graph::Edge> e;
  for (std::int64_t i = 0; i < n; ++i) e.emplace_back(i, (i + 1) % n);
  return Graph::from_edges(n, e);
}

}  // namespace

TEST_CASE("Mgvae::forward: a graph of the wrong size names both node counts", "[models][mgvae][errors]") {
  CounterRng init(1);
  const Mgvae<double> m(tiny_config(2), 10, init);
  const Graph g = ring(12);
  const auto an = graph::gcn_normalized<double>(g);
  const auto ar = graph::adjacency_csr<double>(g);
  const VD x(TD::ones({12, 2}));
  const MgvaeInput<double> in{&an, &ar, NodeFeatures<double>::of(x)};
  CHECK_THROWS_AS(m.forward(in, MgvaeNoise<double>{}), std::invalid_argument);
  CHECK_THROWS_WITH(m.forward(in, MgvaeNoise<double>{}), Contains("Mgvae<T, 1>::forward") && Contains("graph has 12 nodes") &&
                                                             Contains("built for 10"));
  // the matching size passes the check
  const Graph g10 = ring(10);
  const auto an10 = graph::gcn_normalized<double>(g10);
  const auto ar10 = graph::adjacency_csr<double>(g10);
  const VD x10(TD::ones({10, 2}));
  const MgvaeInput<double> in10{&an10, &ar10, NodeFeatures<double>::of(x10)};
  CHECK_NOTHROW(m.forward(in10, MgvaeNoise<double>{}));
}

TEST_CASE("Mgvae<T, 2>::forward: a graph of the wrong size names both node counts", "[models][mgvae2][errors]") {
  CounterRng init(2);
  const Mgvae<double, 2> m(tiny_config(2), 6, init);
  const auto adj = graph::adjacency_csr<double>(ring(7));
  MgvaeInput<double> in;
  in.adj = &adj;
  in.x = NodeFeatures<double>::of(VD(TD::ones({7, 2})));
  CHECK_THROWS_AS(m.forward(in, MgvaeNoise<double>{}), std::invalid_argument);
  CHECK_THROWS_WITH(m.forward(in, MgvaeNoise<double>{}), Contains("graph has 7 nodes") && Contains("built for 6"));
}

TEST_CASE("set_fixed_hierarchy: wrong number of partitions names both counts", "[models][mgvae][errors]") {
  CounterRng init(3);
  Mgvae<double> m(tiny_config(2), 10, init);  // levels = 1, K = 2: cluster counts 2, 1
  REQUIRE(m.sizes().size() == 2);
  const std::vector<std::vector<std::int64_t>> three(3, std::vector<std::int64_t>(10, 0));
  CHECK_THROWS_WITH(m.set_fixed_hierarchy(three), Contains("got 3 partitions") && Contains("has 2 levels"));
  Mgvae<double, 2> m2(tiny_config(2), 6, init);
  CHECK_THROWS_WITH(m2.set_fixed_hierarchy(three), Contains("got 3 partitions") && Contains("has 2 levels"));
}

TEST_CASE("size matching: a size outside the table names the size and the bound", "[models][size_matching][errors]") {
  CHECK_THROWS_WITH(size_acceptance_from_sizes({3, 9}, {3, 4}, 5), Contains("size 9") && Contains("[0, 5]"));
  CHECK_THROWS_WITH(accepted_by_size({2, 7}, {1.0, 1.0, 1.0}, CounterRng(1), 0), Contains("size 7") && Contains("0..2"));
}
