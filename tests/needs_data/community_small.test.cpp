// community_small (shared/data/community_small, README section 4): counts and split from the data
// README; the community_small_like() generator preset reproduces its size/density statistics.
#include "mgvae/data/generators.hpp"
#include "mgvae/data/graph_list.hpp"
#include "mgvae/metrics/mmd.hpp"
#include "support/catch.hpp"
#include "support/data_dir.hpp"

TEST_CASE("community_small loads with the documented counts and split", "[data][community_small]") {
  const auto s = mgvae::data::load_graph_list_split(mgvae_test_data_dir() + "/community_small", "community_small");
  REQUIRE(s.graphs.size() == 100);
  CHECK(s.train_index.size() == 80);
  CHECK(s.test_index.size() == 20);
  for (std::size_t i = 0; i < 20; ++i) CHECK(s.test_index[i] == static_cast<std::int64_t>(i));
  for (std::size_t i = 0; i < 80; ++i) CHECK(s.train_index[i] == static_cast<std::int64_t>(i) + 20);
  std::int64_t nodes = 0, edges = 0;
  for (const auto& g : s.graphs) {
    CHECK(g.n >= 12);
    CHECK(g.n <= 20);
    CHECK(g.num_edges() >= 21);
    CHECK(g.num_edges() <= 60);
    CHECK(g.is_connected());
    nodes += g.n;
    edges += g.num_edges();
  }
  CHECK(nodes == 1528);
  CHECK(edges == 3515);
  CHECK(s.cleanup.self_loops == 0);
  CHECK(s.cleanup.duplicate_edges == 0);
  CHECK(s.cleanup.isolated_nodes == 0);
  CHECK(s.train().size() == 80);
  CHECK(s.test().front() == s.graphs[0]);

  // Generator preset vs the data: the same edge density relative to the intra-community pairs
  // (|E| / sum n(n-2)/4; data 0.667). |V| is uniform over {12, 14, ..., 20} in the generator but
  // skewed to small graphs in the data, so the degree MMD stays around 0.1 (train-vs-test: 0.003).
  const auto gen = mgvae::data::community_graphs(12345, 200, mgvae::data::CommunityOptions::community_small_like());
  auto density = [](const std::vector<mgvae::Graph>& gs) {
    double e = 0, p = 0;
    for (const auto& g : gs) {
      e += static_cast<double>(g.num_edges());
      p += static_cast<double>(g.n) * static_cast<double>(g.n - 2) / 4.0;
    }
    return e / p;
  };
  CHECK(density(gen) == Approx(density(s.graphs)).margin(0.03));
  const auto test = s.test();
  CHECK(mgvae::metrics::mmd_degree(test, gen).value < 0.2);
  CHECK(mgvae::metrics::mmd_clustering(test, gen).value < 0.3);
  CHECK(mgvae::metrics::mmd_orbit(test, gen).value < 0.05);
  // The train set is close to the test set (same generator).
  CHECK(mgvae::metrics::mmd_degree(test, s.train()).value < 0.02);
}
