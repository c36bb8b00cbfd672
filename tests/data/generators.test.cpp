// Tests for include/mgvae/data/generators.hpp: community graphs (size range, communities, no
// isolated nodes, connectivity, determinism) and the SBM citation generator.
#include "mgvae/data/generators.hpp"

#include <stdexcept>

#include "support/catch.hpp"

using mgvae::Graph;
using mgvae::data::CommunityOptions;

TEST_CASE("community_graph: size, communities, inter edges, no isolated nodes", "[data][generators]") {
  mgvae::CounterRng rng(2024);
  std::int64_t total_inter = 0, total_nodes = 0;
  for (int rep = 0; rep < 200; ++rep) {
    std::vector<std::int64_t> comm;
    const Graph g = mgvae::data::community_graph(rng, CommunityOptions{}, &comm);
    CHECK_NOTHROW(g.validate());
    CHECK(g.n >= 12);
    CHECK(g.n <= 20);
    REQUIRE(static_cast<std::int64_t>(comm.size()) == g.n);
    CHECK(comm.front() == 0);
    CHECK(comm.back() == 1);
    std::int64_t inter = 0;
    for (const auto& [u, v] : g.edges) inter += comm[static_cast<std::size_t>(u)] != comm[static_cast<std::size_t>(v)];
    CHECK(inter >= 1);
    total_inter += inter;
    total_nodes += g.n;
    for (const auto d : g.degrees()) CHECK(d > 0);
    CHECK(g.is_connected());  // connect_communities = true
  }
  // p_inter = 0.05 over ~8x8 pairs: about 3 inter edges per graph on average.
  CHECK(static_cast<double>(total_inter) / 200.0 > 1.5);
  CHECK(static_cast<double>(total_inter) / 200.0 < 6.0);
  CHECK(static_cast<double>(total_nodes) / 200.0 == Approx(16.0).margin(1.0));
}

TEST_CASE("community_graph without component joining still has no isolated nodes", "[data][generators]") {
  CommunityOptions o;
  o.p_intra = 0.05;  // sparse: many isolated nodes before repair
  o.connect_communities = false;
  mgvae::CounterRng rng(7);
  for (int rep = 0; rep < 100; ++rep) {
    const Graph g = mgvae::data::community_graph(rng, o);
    for (const auto d : g.degrees()) CHECK(d > 0);
  }
}

TEST_CASE("community_graph options and determinism", "[data][generators]") {
  CommunityOptions o = CommunityOptions::community_small_like();
  mgvae::CounterRng r1(5), r2(5);
  for (int rep = 0; rep < 20; ++rep) {
    const Graph a = mgvae::data::community_graph(r1, o), b = mgvae::data::community_graph(r2, o);
    CHECK(a == b);
    CHECK(a.n % 2 == 0);
  }
  const auto gs = mgvae::data::community_graphs(9, 10, o);
  CHECK(gs.size() == 10);
  CHECK(mgvae::data::community_graphs(9, 10, o) == gs);
  CHECK(mgvae::data::community_graphs(10, 10, o) != gs);
  o.num_communities = 3;
  o.min_nodes = o.max_nodes = 7;
  o.equal_sizes = false;
  mgvae::CounterRng r3(1);
  std::vector<std::int64_t> comm;
  const Graph g = mgvae::data::community_graph(r3, o, &comm);
  CHECK(g.n == 7);
  CHECK(comm == std::vector<std::int64_t>{0, 0, 0, 1, 1, 2, 2});
  CHECK(g.is_connected());

  CommunityOptions bad;
  bad.p_intra = 1.5;
  CHECK_THROWS_AS(mgvae::data::community_graph(r3, bad), std::invalid_argument);
  bad = CommunityOptions{};
  bad.min_nodes = 13;
  bad.max_nodes = 13;
  bad.equal_sizes = true;
  CHECK_THROWS_AS(mgvae::data::community_graph(r3, bad), std::invalid_argument);
  bad = CommunityOptions{};
  bad.max_nodes = 5;
  CHECK_THROWS_AS(mgvae::data::community_graph(r3, bad), std::invalid_argument);
  CHECK_THROWS_AS(mgvae::data::community_graphs(1, -1), std::invalid_argument);
}

TEST_CASE("sbm_citation_like: structure, features, labels", "[data][generators]") {
  mgvae::CounterRng rng(3);
  const auto d = mgvae::data::sbm_citation_like(rng, 600, 4, 200, 0.03, 0.002);
  CHECK(d.num_nodes() == 600);
  CHECK(d.num_features == 200);
  CHECK(d.features.size() == 600u * 200u);
  CHECK(d.num_classes() == 4);
  CHECK(d.ids.size() == 600u);
  CHECK_NOTHROW(d.graph.validate());
  CHECK(d.cleanup.isolated_nodes == 0);
  for (const auto deg : d.graph.degrees()) CHECK(deg > 0);
  std::vector<std::int64_t> count(4, 0);
  for (const auto l : d.labels) ++count[static_cast<std::size_t>(l)];
  CHECK(count == std::vector<std::int64_t>{150, 150, 150, 150});
  // Homophily: most edges join nodes of the same class (expected ~ 0.03*C(150,2)*4 vs 0.002*6*150^2).
  std::int64_t same = 0;
  for (const auto& [u, v] : d.graph.edges) same += d.labels[static_cast<std::size_t>(u)] == d.labels[static_cast<std::size_t>(v)];
  CHECK(static_cast<double>(same) / static_cast<double>(d.graph.num_edges()) > 0.7);
  // Features: binary, every node has a word of its own topic block; topic words dominate.
  std::int64_t in_block = 0, out_block = 0;
  bool binary = true, every_node_has_own_word = true;
  for (std::int64_t i = 0; i < 600; ++i) {
    const std::int64_t c = d.labels[static_cast<std::size_t>(i)];
    bool own = false;
    for (std::int64_t j = 0; j < 200; ++j) {
      const float x = d.features[static_cast<std::size_t>(i * 200 + j)];
      binary = binary && (x == 0.0f || x == 1.0f);
      if (x == 1.0f) {
        const bool in = j >= c * 50 && j < (c + 1) * 50;
        own = own || in;
        (in ? in_block : out_block) += 1;
      }
    }
    every_node_has_own_word = every_node_has_own_word && own;
  }
  CHECK(binary);
  CHECK(every_node_has_own_word);
  CHECK(in_block > 2 * out_block);
  // Deterministic per seed.
  mgvae::CounterRng again(3);
  const auto d2 = mgvae::data::sbm_citation_like(again, 600, 4, 200, 0.03, 0.002);
  CHECK(d2.graph == d.graph);
  CHECK(d2.features == d.features);
  CHECK(d2.labels == d.labels);
}

TEST_CASE("sbm_citation_like argument checks and tiny cases", "[data][generators]") {
  mgvae::CounterRng rng(1);
  CHECK_THROWS_AS(mgvae::data::sbm_citation_like(rng, 0, 1, 4, 0.1, 0.1), std::invalid_argument);
  CHECK_THROWS_AS(mgvae::data::sbm_citation_like(rng, 5, 6, 10, 0.1, 0.1), std::invalid_argument);
  CHECK_THROWS_AS(mgvae::data::sbm_citation_like(rng, 5, 2, 1, 0.1, 0.1), std::invalid_argument);
  CHECK_THROWS_AS(mgvae::data::sbm_citation_like(rng, 5, 2, 4, -0.1, 0.1), std::invalid_argument);
  CHECK_THROWS_AS(mgvae::data::sbm_citation_like(rng, 5, 2, 4, 0.1, 2.0), std::invalid_argument);
  // No edges drawn at all: every node is joined by the isolated-node repair.
  const auto d = mgvae::data::sbm_citation_like(rng, 9, 3, 6, 0.0, 0.0);
  for (const auto deg : d.graph.degrees()) CHECK(deg > 0);
  for (const auto& [u, v] : d.graph.edges)
    CHECK(d.labels[static_cast<std::size_t>(u)] == d.labels[static_cast<std::size_t>(v)]);
  const auto one = mgvae::data::sbm_citation_like(rng, 1, 1, 3, 0.5, 0.5);
  CHECK(one.graph.num_edges() == 0);
  CHECK(one.cleanup.isolated_nodes == 1);
}
