// Tests for include/mgvae/graph/graph.hpp: canonical edge lists, cleanup counting, CSR,
// relabelling, induced subgraphs and connected components.
#include "mgvae/graph/graph.hpp"

#include <stdexcept>
#include <string>

#include "support/catch.hpp"

using mgvae::CleanupReport;
using mgvae::Graph;

TEST_CASE("Graph::from_edges orients, sorts, drops loops and duplicates", "[graph]") {
  CleanupReport rep;
  const Graph g = Graph::from_edges(6, {{3, 1}, {0, 1}, {1, 3}, {2, 2}, {0, 1}, {4, 0}, {5, 5}}, &rep);
  CHECK(g.n == 6);
  CHECK(g.edges == std::vector<Graph::Edge>{{0, 1}, {0, 4}, {1, 3}});
  CHECK(rep.self_loops == 2);
  CHECK(rep.duplicate_edges == 2);  // (1,3) as (3,1)+(1,3), and (0,1) twice
  CHECK(rep.isolated_nodes == 2);   // nodes 2 and 5 (self loops do not count as degree)
  CHECK(g.num_edges() == 3);
  CHECK_NOTHROW(g.validate());
}

TEST_CASE("Graph::from_edges rejects bad ids, naming the edge", "[graph]") {
  try {
    (void)Graph::from_edges(3, {{0, 1}, {1, 3}});
    FAIL("no throw");
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    CHECK(msg.find("edge #1") != std::string::npos);
    CHECK(msg.find("(1, 3)") != std::string::npos);
  }
  CHECK_THROWS_AS(Graph::from_edges(3, {{-1, 1}}), std::invalid_argument);
  CHECK_THROWS_AS(Graph::from_edges(-1, {}), std::invalid_argument);
}

TEST_CASE("Graph::validate detects non-canonical lists", "[graph]") {
  CHECK_THROWS_AS((Graph{3, {{1, 0}}}.validate()), std::invalid_argument);
  CHECK_THROWS_AS((Graph{3, {{0, 1}, {0, 1}}}.validate()), std::invalid_argument);
  CHECK_THROWS_AS((Graph{3, {{1, 2}, {0, 1}}}.validate()), std::invalid_argument);
  CHECK_THROWS_AS((Graph{3, {{0, 3}}}.validate()), std::invalid_argument);
  CHECK_THROWS_AS((Graph{3, {{1, 1}}}.validate()), std::invalid_argument);
  CHECK_NOTHROW((Graph{0, {}}.validate()));
}

TEST_CASE("degrees, csr, has_edge", "[graph]") {
  const Graph g = Graph::from_edges(5, {{0, 1}, {0, 2}, {2, 1}, {3, 2}});
  CHECK(g.degrees() == std::vector<std::int64_t>{2, 2, 3, 1, 0});
  const mgvae::Csr c = g.csr();
  CHECK(c.row_ptr == std::vector<std::int64_t>{0, 2, 4, 7, 8, 8});
  CHECK(c.col == std::vector<std::int64_t>{1, 2, 0, 2, 0, 1, 3, 2});
  CHECK(c.num_nodes() == 5);
  CHECK(c.degree(2) == 3);
  CHECK(c.has_edge(2, 3));
  CHECK(c.has_edge(3, 2));
  CHECK_FALSE(c.has_edge(3, 4));
  CHECK_FALSE(c.has_edge(0, 7));
  CHECK(g.has_edge(1, 2));
  CHECK(g.has_edge(2, 1));
  CHECK_FALSE(g.has_edge(1, 3));
  CHECK_FALSE(g.has_edge(1, 1));

  const Graph empty{0, {}};
  CHECK(empty.degrees().empty());
  CHECK(empty.csr().row_ptr == std::vector<std::int64_t>{0});
  CHECK(empty.connected_components().count == 0);
  CHECK_FALSE(empty.is_connected());
}

TEST_CASE("permuted relabels node i as perm[i]", "[graph]") {
  const Graph g = Graph::from_edges(4, {{0, 1}, {1, 2}, {2, 3}});  // path 0-1-2-3
  const Graph h = g.permuted({2, 0, 3, 1});                         // path 2-0-3-1
  CHECK(h.edges == std::vector<Graph::Edge>{{0, 2}, {0, 3}, {1, 3}});
  // Degree sequence is permuted accordingly: deg_h[perm[i]] == deg_g[i].
  const auto dg = g.degrees(), dh = h.degrees();
  const std::vector<std::int64_t> perm{2, 0, 3, 1};
  for (std::size_t i = 0; i < 4; ++i) CHECK(dh[static_cast<std::size_t>(perm[i])] == dg[i]);
  CHECK_THROWS_AS(g.permuted({0, 1, 2}), std::invalid_argument);
  CHECK_THROWS_AS(g.permuted({0, 1, 1, 2}), std::invalid_argument);
  CHECK_THROWS_AS(g.permuted({0, 1, 2, 4}), std::invalid_argument);
  CHECK(g.permuted({0, 1, 2, 3}) == g);
}

TEST_CASE("induced_subgraph keeps edges among the chosen nodes, in the given order", "[graph]") {
  const Graph g = Graph::from_edges(5, {{0, 1}, {1, 2}, {2, 0}, {2, 3}, {3, 4}});
  const Graph s = g.induced_subgraph({3, 2, 0});
  CHECK(s.n == 3);
  CHECK(s.edges == std::vector<Graph::Edge>{{0, 1}, {1, 2}});  // (3,2)->(0,1), (2,0)->(1,2)
  CHECK(g.induced_subgraph({}).n == 0);
  CHECK_THROWS_AS(g.induced_subgraph({1, 1}), std::invalid_argument);
  CHECK_THROWS_AS(g.induced_subgraph({5}), std::invalid_argument);
}

TEST_CASE("connected_components labels by smallest node", "[graph]") {
  const Graph g = Graph::from_edges(7, {{5, 6}, {1, 3}, {3, 4}, {0, 2}});
  const auto c = g.connected_components();
  CHECK(c.count == 3);
  CHECK(c.label == std::vector<std::int64_t>{0, 1, 0, 1, 1, 2, 2});
  CHECK(c.sizes() == std::vector<std::int64_t>{2, 3, 2});
  CHECK_FALSE(g.is_connected());
  CHECK(Graph::from_edges(3, {{0, 1}, {1, 2}}).is_connected());
  const auto iso = Graph{3, {}}.connected_components();
  CHECK(iso.count == 3);
}
