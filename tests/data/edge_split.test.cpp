// Tests for include/mgvae/data/edge_split.hpp: sizes, disjointness, negatives are non-edges of the
// full graph, no held-out edge in the training graph, determinism per seed, dense-graph path.
#include "mgvae/data/edge_split.hpp"

#include <set>
#include <stdexcept>

#include "mgvae/core/rng.hpp"
#include "support/catch.hpp"

using mgvae::Graph;

namespace {

Graph random_graph(std::int64_t n, double p, std::uint64_t seed) {
  mgvae::CounterRng rng(seed);
  std::vector<Graph::Edge> e;
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = i + 1; j < n; ++j)
      if (rng.next_uniform() < p) e.emplace_back(i, j);
  return Graph::from_edges(n, e);
}

void check_split(const Graph& g, const mgvae::data::EdgeSplit& s) {
  const std::int64_t E = g.num_edges();
  CHECK(static_cast<std::int64_t>(s.test_pos.size()) == E / 10);
  CHECK(static_cast<std::int64_t>(s.val_pos.size()) == E / 20);
  CHECK(static_cast<std::int64_t>(s.train_pos.size()) == E - E / 10 - E / 20);
  CHECK(s.test_neg.size() == s.test_pos.size());
  CHECK(s.val_neg.size() == s.val_pos.size());

  const std::set<Graph::Edge> all(g.edges.begin(), g.edges.end());
  std::set<Graph::Edge> pos;
  for (const auto* v : {&s.train_pos, &s.val_pos, &s.test_pos})
    for (const auto& e : *v) {
      CHECK(e.first < e.second);
      CHECK(all.count(e) == 1);
      CHECK(pos.insert(e).second);  // the three positive sets are disjoint
    }
  CHECK(pos == all);  // and cover all edges

  std::set<Graph::Edge> neg;
  for (const auto* v : {&s.val_neg, &s.test_neg})
    for (const auto& e : *v) {
      CHECK(e.first < e.second);
      CHECK(e.first >= 0);
      CHECK(e.second < g.n);
      CHECK(all.count(e) == 0);     // a non-edge of the FULL graph
      CHECK(neg.insert(e).second);  // no duplicates, val/test negatives disjoint
    }

  // Training graph: exactly the training edges, none of the held-out ones.
  CHECK(s.train_graph.n == g.n);
  CHECK_NOTHROW(s.train_graph.validate());
  const std::set<Graph::Edge> train(s.train_graph.edges.begin(), s.train_graph.edges.end());
  CHECK(train == std::set<Graph::Edge>(s.train_pos.begin(), s.train_pos.end()));
  for (const auto* v : {&s.val_pos, &s.test_pos})
    for (const auto& e : *v) CHECK(train.count(e) == 0);
}

}  // namespace

TEST_CASE("split_edges on a sparse graph", "[data][edge_split]") {
  const Graph g = random_graph(200, 0.05, 11);
  REQUIRE(g.num_edges() > 500);
  const auto s = mgvae::data::split_edges(g, 1);
  check_split(g, s);
}

TEST_CASE("split_edges is deterministic per seed and differs across seeds", "[data][edge_split]") {
  const Graph g = random_graph(120, 0.08, 5);
  const auto a = mgvae::data::split_edges(g, 42), b = mgvae::data::split_edges(g, 42);
  CHECK(a.test_pos == b.test_pos);
  CHECK(a.val_pos == b.val_pos);
  CHECK(a.test_neg == b.test_neg);
  CHECK(a.val_neg == b.val_neg);
  CHECK(a.train_graph == b.train_graph);
  const auto c = mgvae::data::split_edges(g, 43);
  CHECK(a.test_pos != c.test_pos);
  CHECK(a.test_neg != c.test_neg);
  check_split(g, c);
}

TEST_CASE("split_edges on a dense graph enumerates non-edges", "[data][edge_split]") {
  // K_30 minus a few edges: 435 - 63 = 372 edges, needs 37 + 18 = 55 negatives of 63 non-edges.
  std::vector<Graph::Edge> e;
  std::int64_t k = 0;
  for (std::int64_t i = 0; i < 30; ++i)
    for (std::int64_t j = i + 1; j < 30; ++j)
      if (k++ % 7 != 0) e.emplace_back(i, j);
  const Graph g = Graph::from_edges(30, e);
  const std::int64_t non_edges = 30 * 29 / 2 - g.num_edges();
  REQUIRE(non_edges < 2 * (g.num_edges() / 10 + g.num_edges() / 20));
  const auto s = mgvae::data::split_edges(g, 3);
  check_split(g, s);
  CHECK(mgvae::data::split_edges(g, 3).test_neg == s.test_neg);
}

TEST_CASE("split_edges edge cases", "[data][edge_split]") {
  // Too few edges to hold out anything: everything is training.
  const Graph small = Graph::from_edges(4, {{0, 1}, {1, 2}, {2, 3}});
  const auto s = mgvae::data::split_edges(small, 0);
  CHECK(s.test_pos.empty());
  CHECK(s.val_pos.empty());
  CHECK(s.train_graph == small);
  // Complete graph: no non-edges for the 1 + 0 negatives needed.
  std::vector<Graph::Edge> e;
  for (std::int64_t i = 0; i < 5; ++i)
    for (std::int64_t j = i + 1; j < 5; ++j) e.emplace_back(i, j);
  CHECK_THROWS_AS(mgvae::data::split_edges(Graph::from_edges(5, e), 0), std::invalid_argument);
  // Non-canonical input is rejected.
  CHECK_THROWS_AS(mgvae::data::split_edges(Graph{3, {{1, 0}}}, 0), std::invalid_argument);
  // Empty graph.
  CHECK(mgvae::data::split_edges(Graph{0, {}}, 0).train_pos.empty());
}
