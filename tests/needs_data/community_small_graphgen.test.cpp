// Smoke test on the real Community-small data: load with the GDSS split, train 2 epochs, the
// loss stays finite, sampling and the MMD run.
#include <cmath>
#include <filesystem>
#include <set>

#include "mgvae/graph/graph.hpp"
#include "mgvae/metrics/graph_stats.hpp"
#include "mgvae/metrics/mmd.hpp"
#include "mgvae/models/graphgen/graphgen.hpp"
#include "mgvae/data/graph_list.hpp"
#include "mgvae/nn/optim.hpp"
#include "common/graphgen/svg.hpp"
#include "common/graphgen/tuning.hpp"
#include "support/catch.hpp"
#include "support/data_dir.hpp"

using namespace mgvae;
using namespace mgvae::graphgen;

TEST_CASE("community_small: load, train 2 epochs, sample, MMD", "[graphgen][data]") {
  const std::filesystem::path dir = std::filesystem::path(mgvae_test_data_dir()) / "community_small";
  REQUIRE(std::filesystem::exists(dir / "community_small.txt"));
  const auto split = data::load_graph_list_split(dir.string(), "community_small");
  const auto& all = split.graphs;
  const auto& tri = split.train_index;
  const auto& tei = split.test_index;
  REQUIRE(all.size() == 100);
  REQUIRE(tri.size() == 80);
  REQUIRE(tei.size() == 20);
  std::set<std::int64_t> te(tei.begin(), tei.end());
  for (auto i : tri) CHECK(te.count(i) == 0);  // disjoint
  for (std::int64_t i = 0; i < 20; ++i) CHECK(te.count(i) == 1);  // GDSS: test = graphs 0..19
  std::vector<Graph> train, test;
  std::int64_t n_max = 0;
  for (auto i : tri) {
    train.push_back(all[static_cast<std::size_t>(i)]);
    n_max = std::max(n_max, all[static_cast<std::size_t>(i)].n);
  }
  for (auto i : tei) test.push_back(all[static_cast<std::size_t>(i)]);
  CHECK(n_max == 20);

  ModelConfig c;
  c.n_max = n_max;
  c.hidden = 16;
  c.latent = 4;
  c.dec_hidden = 32;
  GraphGenModel<float> model(c);
  nn::Adam<float> opt(model.parameters(), 1e-3f);
  CounterRng rng(1);
  for (int ep = 0; ep < 2; ++ep)
    for (std::size_t s = 0; s < train.size(); s += 20) {
      ArenaScope scope;
      std::vector<const Graph*> bg;
      for (std::size_t k = s; k < s + 20; ++k) bg.push_back(&train[k]);
      const auto b = make_batch<float>(bg, n_max);
      const auto o = model.forward(b, model.draw_noise(rng.split(static_cast<std::uint64_t>(ep * 100) + s), b.B));
      REQUIRE(std::isfinite(o.loss.item()));
      opt.zero_grad();
      backward(o.loss);
      opt.step();
    }
  std::vector<Graph> gen;
  {
    ArenaScope scope;
    gen = probabilities_to_graphs(model.sample_probabilities(16, CounterRng(5)), false, CounterRng(6));
  }
  REQUIRE(gen.size() == 16);
  std::vector<Graph> nonempty;
  for (const auto& g : gen)
    if (g.n > 0) nonempty.push_back(g);
  if (!nonempty.empty()) {
    CHECK(std::isfinite(metrics::mmd_degree(test, nonempty).value));
    CHECK(std::isfinite(metrics::mmd_clustering(test, nonempty).value));
    CHECK(std::isfinite(metrics::mmd_orbit(test, nonempty).value));
  }
  // the data floor is small but positive
  const double floor = metrics::mmd_degree(test, train).value;
  CHECK(floor > 0.0);
  CHECK(floor < 0.05);
}
