// Smoke test on the real Cora data: load, split, run 2 training epochs of VGAE and of MGVAE
// (learned clustering, L = 7, K = 2), losses finite, eval-mode scores give a valid AUC.
#include <cmath>
#include <filesystem>

#include "mgvae/data/edge_split.hpp"
#include "mgvae/data/linqs.hpp"
#include "mgvae/graph/normalize.hpp"
#include "mgvae/metrics/link_prediction.hpp"
#include "mgvae/models/models.hpp"
#include "mgvae/nn/optim.hpp"
#include "support/catch.hpp"
#include "support/data_dir.hpp"

using namespace mgvae;
using namespace mgvae::models;

TEST_CASE("cora link prediction: VGAE and MGVAE run 2 epochs with finite losses", "[link_prediction][data]") {
  const std::filesystem::path dir = std::filesystem::path(mgvae_test_data_dir()) / "cora";
  REQUIRE(std::filesystem::exists(dir / "cora.content"));
  const auto d = data::load_linqs(dir.string(), "cora");
  REQUIRE(d.graph.n == 2708);
  const auto split = data::split_edges(d.graph, 1);
  const auto an = graph::gcn_normalized<float>(split.train_graph);
  const auto ar = graph::adjacency_csr<float>(split.train_graph);
  const auto x = graph::dense_to_csr<float>(d.features, d.graph.n, d.num_features);
  const auto target = make_dense_target<float>(d.graph.n, split.train_pos);

  CounterRng init(1);
  Vgae<float> v(d.num_features, {32}, 16, init);
  nn::Adam<float> ov(v.parameters(), 0.01f);
  for (int ep = 0; ep < 2; ++ep) {
    const auto q = v.forward(an, NodeFeatures<float>::of(x), normal_noise<float>(d.graph.n, 16, CounterRng(10 + static_cast<std::uint64_t>(ep))));
    const Var<float> loss = v.loss(q, target).total();
    REQUIRE(std::isfinite(loss.item()));
    backward(loss);
    ov.step();
    ov.zero_grad();
  }

  MgvaeConfig cfg;
  cfg.in_features = d.num_features;
  CounterRng init2(2);
  Mgvae<float> m(cfg, d.graph.n, init2);
  REQUIRE(m.sizes().front() == 128);
  nn::Adam<float> om(m.parameters(), 0.01f);
  const MgvaeInput<float> in{&an, &ar, NodeFeatures<float>::of(x)};
  for (int ep = 0; ep < 2; ++ep) {
    const auto o = m.forward(in, m.draw_noise(CounterRng(20 + static_cast<std::uint64_t>(ep))));
    const auto terms = m.loss(o, in, FinestTarget<float>{&target, nullptr, nullptr});
    for (const auto& [name, t] : terms.terms) {
      INFO(name);
      CHECK(std::isfinite(t.item()));
    }
    const Var<float> loss = terms.total();
    REQUIRE(std::isfinite(loss.item()));
    backward(loss);
    om.step();
    om.zero_grad();
  }
  NoGradGuard ng;
  const auto mu = m.forward(in, MgvaeNoise<float>{}).base.mu;
  const auto sp = pair_dot(mu, split.val_pos).value().to_vector(), sn = pair_dot(mu, split.val_neg).value().to_vector();
  const double auc = metrics::roc_auc(std::vector<double>(sp.begin(), sp.end()), std::vector<double>(sn.begin(), sn.end()));
  CHECK(auc >= 0.0);
  CHECK(auc <= 1.0);
}
