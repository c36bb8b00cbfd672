// Cora (shared/data/cora, README section 1): counts from the data README, and a VGAE edge split.
#include <numeric>

#include "mgvae/data/edge_split.hpp"
#include "mgvae/data/linqs.hpp"
#include "support/catch.hpp"
#include "support/data_dir.hpp"

TEST_CASE("Cora loads with the documented counts", "[data][cora]") {
  const auto d = mgvae::data::load_linqs(mgvae_test_data_dir() + "/cora", "cora");
  CHECK(d.num_nodes() == 2708);
  CHECK(d.graph.num_edges() == 5278);
  CHECK(d.num_features == 1433);
  CHECK(d.features.size() == 2708u * 1433u);
  CHECK(std::accumulate(d.features.begin(), d.features.end(), 0.0) == 49216.0);
  CHECK(d.num_classes() == 7);
  std::vector<std::int64_t> count(7, 0);
  for (const auto l : d.labels) ++count[static_cast<std::size_t>(l)];
  CHECK(count == std::vector<std::int64_t>{351, 217, 418, 818, 426, 298, 180});
  CHECK(d.cleanup.self_loops == 0);
  CHECK(d.cleanup.duplicate_edges == 0);
  CHECK(d.cleanup.isolated_nodes == 0);
  CHECK(d.ids.front() == "0");
  CHECK(d.ids.back() == "2707");
  CHECK_NOTHROW(d.graph.validate());

  const auto s = mgvae::data::split_edges(d.graph, 1);
  CHECK(s.test_pos.size() == 527);
  CHECK(s.val_pos.size() == 263);
  CHECK(s.train_pos.size() == 5278u - 527u - 263u);
  CHECK(s.test_neg.size() == 527);
  CHECK(s.val_neg.size() == 263);
  const mgvae::Csr full = d.graph.csr(), train = s.train_graph.csr();
  for (const auto& [u, v] : s.test_neg) CHECK_FALSE(full.has_edge(u, v));
  for (const auto& [u, v] : s.test_pos) CHECK_FALSE(train.has_edge(u, v));
}
