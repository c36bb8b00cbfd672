// Smoke test on the real Community-small data: load with the GDSS split, train 2 epochs, the
// loss stays finite, sampling and the MMD run.
#include <cmath>
#include <filesystem>
#include <set>

#include "mgvae/graph/graph.hpp"
#include "mgvae/metrics/graph_stats.hpp"
#include "mgvae/metrics/mmd.hpp"
#include "mgvae/models/graphgen/graphgen.hpp"
#include "common/graphgen/eval.hpp"
#include "common/graphgen/svg.hpp"
#include "common/graphgen/tuning.hpp"
#include "support/catch.hpp"
#include "support/data_dir.hpp"

using namespace mgvae;
using namespace mgvae::graphgen;

TEST_CASE("community_small: load, train 2 epochs, sample, MMD", "[graphgen][data]") {
  const std::filesystem::path dir = std::filesystem::path(mgvae_test_data_dir()) / "community_small";
  REQUIRE(std::filesystem::exists(dir / "community_small.txt"));
  const auto all = read_graph_list((dir / "community_small.txt").string());
  const auto tri = read_index_file((dir / "community_small.train.index").string());
  const auto tei = read_index_file((dir / "community_small.test.index").string());
  REQUIRE(all.size() == 100);
  REQUIRE(tri.size() == 80);
  REQUIRE(tei.size() == 20);
  std::set<int> te(tei.begin(), tei.end());
  for (int i : tri) CHECK(te.count(i) == 0);  // disjoint
  for (int i = 0; i < 20; ++i) CHECK(te.count(i) == 1);  // GDSS: test = graphs 0..19
  std::vector<SmallGraph> train, test;
  int n_max = 0;
  for (int i : tri) {
    train.push_back(all[static_cast<std::size_t>(i)]);
    n_max = std::max(n_max, all[static_cast<std::size_t>(i)].n);
  }
  for (int i : tei) test.push_back(all[static_cast<std::size_t>(i)]);
  CHECK(n_max == 20);

  ModelConfig c;
  c.n_max = n_max;
  c.hidden = 16;
  c.latent = 4;
  c.dec_hidden = 32;
  GraphGenModel<float> model(c);
  AdamOpt<float> opt(model.parameters(), 1e-3);
  CounterRng rng(1);
  for (int ep = 0; ep < 2; ++ep)
    for (std::size_t s = 0; s < train.size(); s += 20) {
      ArenaScope scope;
      std::vector<const SmallGraph*> bg;
      for (std::size_t k = s; k < s + 20; ++k) bg.push_back(&train[k]);
      const auto b = make_batch<float>(bg, n_max);
      const auto o = model.forward(b, model.draw_noise(rng.split(static_cast<std::uint64_t>(ep * 100) + s), b.B));
      REQUIRE(std::isfinite(o.loss.item()));
      opt.zero_grad();
      backward(o.loss);
      opt.step();
    }
  std::vector<SmallGraph> gen;
  {
    ArenaScope scope;
    gen = probabilities_to_graphs(model.sample_probabilities(16, CounterRng(5)), false, CounterRng(6));
  }
  REQUIRE(gen.size() == 16);
  std::vector<SmallGraph> nonempty;
  for (const auto& g : gen)
    if (g.n > 0) nonempty.push_back(g);
  const auto ts = compute_stats(test);
  if (!nonempty.empty()) {
    const auto ps = compute_stats(nonempty);
    CHECK(std::isfinite(mmd_degree(ts, ps).value));
    CHECK(std::isfinite(mmd_clustering(ts, ps).value));
    CHECK(std::isfinite(mmd_orbit(ts, ps).value));
  }
  // the data floor is small but positive
  const double floor = mmd_degree(ts, compute_stats(train)).value;
  CHECK(floor > 0.0);
  CHECK(floor < 0.05);

  // graphgen/eval.hpp agrees with the project's metrics (mgvae::metrics) on the real graphs
  const auto tm = to_graphs(test), rm = to_graphs(train);
  const auto rs = compute_stats(train);
  CHECK(std::abs(metrics::mmd_degree(tm, rm).value - mmd_degree(ts, rs).value) < 1e-12);
  CHECK(std::abs(metrics::mmd_clustering(tm, rm).value - mmd_clustering(ts, rs).value) < 1e-12);
  CHECK(std::abs(metrics::mmd_orbit(tm, rm).value - mmd_orbit(ts, rs).value) < 1e-12);
  for (std::size_t i = 0; i < 5; ++i) {  // per-node orbit counts match the ESU implementation
    const auto a = metrics::orbit_counts(rm[i]);
    const auto b = orbit_counts(train[i]);
    for (std::size_t u = 0; u < a.size(); ++u)
      for (std::size_t k = 0; k < 15; ++k) CHECK(static_cast<double>(a[u][k]) == b[u][k]);
  }
}
