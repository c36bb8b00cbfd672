// Unit tests of the MGVAE / VGAE building blocks: losses (value and gradient), straight-through
// Gumbel clustering, balanced cut, level schedule, bad input, and a tiny end-to-end fit.
#include <cmath>
#include <set>

#include "mgvae/autodiff/gradcheck.hpp"
#include "mgvae/data/edge_split.hpp"
#include "mgvae/data/generators.hpp"
#include "mgvae/graph/normalize.hpp"
#include "mgvae/metrics/link_prediction.hpp"
#include "mgvae/models/models.hpp"
#include "mgvae/nn/optim.hpp"
#include "support/catch.hpp"

using namespace mgvae;
using namespace mgvae::models;
using TD = Tensor<double>;
using VD = Var<double>;

TEST_CASE("fused dense reconstruction loss equals norm * BCE_pw(ZZ^T, A+I) in value and gradient", "[models][decoder]") {
  const Graph g = Graph::from_edges(7, {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {5, 6}, {0, 6}});
  const auto t = make_dense_target<double>(7, g.edges);
  CHECK(t.pos_weight == Approx((49.0 - 12.0) / 12.0));
  CHECK(t.norm == Approx(49.0 / (2.0 * (49.0 - 12.0))));
  const TD Z0 = TD::randn(Shape{7, 3}, CounterRng(5));
  VD z1(Z0.clone(), true), z2(Z0.clone(), true);
  const VD fused = dense_recon_loss(z1, t);
  backward(fused);  // (backward clears the whole tape: build the reference afterwards)
  TD dense = t.adj.to_dense();
  for (int i = 0; i < 7; ++i) dense(i, i) = 1;
  const VD ref = mul_scalar(bce_with_logits(matmul(z2, transpose(z2, 0, 1)), constant(dense), t.pos_weight), t.norm);
  CHECK(fused.item() == Approx(ref.item()).epsilon(1e-12));
  backward(ref);
  REQUIRE(z1.grad().defined());
  REQUIRE(z2.grad().defined());
  CHECK(max_abs_diff(z1.grad(), z2.grad()) < 1e-12);
  const auto gc = gradcheck([&](const std::vector<VD>& v) { return dense_recon_loss(v[0], t); }, std::vector<TD>{Z0});
  CHECK(gc.ok);
}

TEST_CASE("straight-through Gumbel: value is one-hot, gradient is the relaxed sample's", "[models][clustering]") {
  const TD L0 = TD::randn(Shape{5, 3}, CounterRng(7));
  const TD G = gumbel_noise<double>(5, 3, CounterRng(8));
  VD logits(L0.clone(), true);
  const auto c = straight_through_gumbel(logits, G, 1.0);
  for (int i = 0; i < 5; ++i) {
    double s = 0;
    for (int k = 0; k < 3; ++k) {
      const double v = c.pi.value()(i, k);
      CHECK((v == 0.0 || v == 1.0));
      s += v;
    }
    CHECK(s == 1.0);
    CHECK(c.pi.value()(i, c.labels[static_cast<std::size_t>(i)]) == 1.0);
  }
  const TD W = TD::randn(Shape{5, 3}, CounterRng(9));
  backward(sum(mul(c.pi, constant(W))));
  VD logits2(L0.clone(), true);
  backward(sum(mul(softmax(add(logits2, constant(G)), 1), constant(W))));
  CHECK(max_abs_diff(logits.grad(), logits2.grad()) < 1e-12);
  // no noise: Eq. 4 argmax
  const auto e = straight_through_gumbel(VD(L0), TD(), 1.0);
  for (int i = 0; i < 5; ++i) {
    std::int64_t b = 0;
    for (int k = 1; k < 3; ++k)
      if (L0(i, k) > L0(i, b)) b = k;
    CHECK(e.labels[static_cast<std::size_t>(i)] == b);
  }
}

TEST_CASE("balanced-cut KL: value from cluster sizes, gradient through the probabilities", "[models][elbo]") {
  VD logits(TD::from(Shape{4, 2}, {2, 0, 1, 0, 3, 0, 0, 1}), true);
  const auto c = straight_through_gumbel(logits, TD(), 1.0);  // labels 0, 0, 0, 1
  const VD kl = balanced_cut_kl(c);
  CHECK(kl.item() == Approx(0.75 * std::log(1.5) + 0.25 * std::log(0.5)));
  backward(kl);
  REQUIRE(logits.grad().defined());
  double gn = 0;
  for (double v : logits.grad().to_vector()) gn += std::abs(v);
  CHECK(gn > 0);
  // uniform → 0; an empty cluster is finite (0 log 0 = 0)
  CHECK(balanced_cut_kl(fixed_clustering<double>({0, 1, 0, 1}, 2)).item() == Approx(0.0).margin(1e-15));
  CHECK(balanced_cut_kl(fixed_clustering<double>({0, 0, 0, 0}, 2)).item() == Approx(std::log(2.0)));
}

TEST_CASE("Gaussian KL uses sigma^2 = exp(2 log sigma) with the VGAE scaling", "[models][elbo]") {
  const VD mu(TD::from(Shape{2, 2}, {0.5, -1.0, 0.0, 2.0})), ls(TD::from(Shape{2, 2}, {0.1, -0.3, 0.0, 0.2}));
  double ref = 0;
  for (int i = 0; i < 4; ++i) {
    const double m = mu.value().data()[i], l = ls.value().data()[i];
    ref += 1 + 2 * l - m * m - std::exp(2 * l);
  }
  ref = -0.5 / 2.0 * (ref / 2.0);
  CHECK(kl_standard_normal(mu, ls).item() == Approx(ref));
  CHECK(kl_standard_normal(VD(TD::zeros(Shape{3, 2})), VD(TD::zeros(Shape{3, 2}))).item() == Approx(0.0).margin(1e-15));
}

TEST_CASE("level schedule K^L .. 1 and bad input", "[models][mgn]") {
  CHECK(level_sizes(2708, 7, 2) == std::vector<std::int64_t>{128, 64, 32, 16, 8, 4, 2, 1});
  CHECK(level_sizes(2708, 3, 4) == std::vector<std::int64_t>{64, 16, 4, 1});
  CHECK_THROWS_AS(level_sizes(100, 7, 2), std::invalid_argument);  // 128 clusters > 100 nodes
  CHECK_THROWS_AS(level_sizes(100, 2, 0), std::invalid_argument);
  CounterRng rng(1);
  LearnedClustering<double> lc(3, 4, 5, rng);
  const Graph g = Graph::from_edges(4, {{0, 1}});
  const auto a = graph::gcn_normalized<double>(g);
  CHECK_THROWS_AS(lc.forward(Adjacency<double>::of(a), NodeFeatures<double>::of(VD(TD::zeros(Shape{4, 3}))), TD()),
                  std::invalid_argument);
  CHECK_THROWS_AS(one_hot<double>({0, 3}, 3), std::invalid_argument);
}

TEST_CASE("local decoders only see intra-cluster pairs (O(n^2/K))", "[models][decoder]") {
  const std::vector<std::int64_t> lab{0, 1, 0, 1, 2, 0};
  const auto pairs = intra_cluster_pairs(lab, 3);
  CHECK(pairs.size() == 3 + 1 + 0);  // C(3,2) + C(2,2) + C(1,2)
  for (auto [u, v] : pairs) CHECK(lab[static_cast<std::size_t>(u)] == lab[static_cast<std::size_t>(v)]);
}

TEST_CASE("MGVAE and VGAE train end to end on a small SBM graph", "[models][mgvae]") {
  CounterRng gen(3);
  const auto d = data::sbm_citation_like(gen, 150, 3, 30, 0.25, 0.005);
  const auto split = data::split_edges(d.graph, 1);
  const auto an = graph::gcn_normalized<double>(split.train_graph);
  const auto ar = graph::adjacency_csr<double>(split.train_graph);
  const auto x = graph::dense_to_csr<double>(d.features, d.graph.n, d.num_features);
  const auto target = make_dense_target<double>(d.graph.n, split.train_pos);
  MgvaeConfig cfg;
  cfg.in_features = d.num_features;
  cfg.latent = 8;
  cfg.levels = 2;
  cfg.clusters_per_level = 3;
  CounterRng init(4);
  Mgvae<double> m(cfg, d.graph.n, init);
  nn::Adam<double> opt(m.parameters(), 0.01);
  const MgvaeInput<double> in{&an, &ar, NodeFeatures<double>::of(x)};
  double first = 0, last = 0;
  for (int ep = 0; ep < 100; ++ep) {
    const auto o = m.forward(in, m.draw_noise(CounterRng(100 + static_cast<std::uint64_t>(ep))));
    const auto terms = m.loss(o, in, FinestTarget<double>{&target, nullptr, nullptr});
    const VD loss = terms.total();
    REQUIRE(std::isfinite(loss.item()));
    if (ep == 0) first = loss.item();
    last = loss.item();
    backward(loss);
    opt.step();
    opt.zero_grad();
  }
  CHECK(last < first);
  {
    NoGradGuard ng;
    const VD mu = m.forward(in, MgvaeNoise<double>{}).base.mu;
    const auto sp = pair_dot(mu, split.test_pos).value().to_vector(), sn = pair_dot(mu, split.test_neg).value().to_vector();
    const double auc = metrics::roc_auc(sp, sn);
    INFO("test AUC " << auc);
    CHECK(auc > 0.75);
  }

  CounterRng init2(5);
  Vgae<double> v(d.num_features, {16}, 8, init2);
  nn::Adam<double> opt2(v.parameters(), 0.01);
  double v0 = 0, v1 = 0;
  for (int ep = 0; ep < 30; ++ep) {
    const auto q = v.forward(an, NodeFeatures<double>::of(x), normal_noise<double>(d.graph.n, 8, CounterRng(200 + static_cast<std::uint64_t>(ep))));
    const VD loss = v.loss(q, target).total();
    if (ep == 0) v0 = loss.item();
    v1 = loss.item();
    backward(loss);
    opt2.step();
    opt2.zero_grad();
  }
  CHECK(v1 < v0);
}

TEST_CASE("pooling: empty clusters give zero rows with bounded gradients; scale_gradient", "[models][pooling]") {
  VD logits(TD::from(Shape{3, 3}, {0.3, 0.1, -0.2, 0.5, 0.0, 0.4, 0.9, 0.2, 0.1}), true);  // argmax: 0, 0, 0
  const auto c = straight_through_gumbel(logits, TD(), 1.0);
  REQUIRE(c.labels == std::vector<std::int64_t>{0, 0, 0});
  const VD z(TD::randn(Shape{3, 2}, CounterRng(3)), true);
  const VD p = pool(c.pi, z);
  CHECK(p.value()(1, 0) == 0.0);
  CHECK(p.value()(2, 1) == 0.0);
  backward(sum(mul(p, constant(TD::ones(Shape{3, 2})))));
  for (double g : logits.grad().to_vector()) CHECK(std::abs(g) < 10.0);
  VD x(TD::from(Shape{2}, {1.0, 2.0}), true);
  const VD y = scale_gradient(x, 0.25);
  CHECK(y.value()(1) == 2.0);
  backward(sum(y));
  CHECK(x.grad()(0) == Approx(0.25));
  CHECK_FALSE(scale_gradient(x, 0.0).requires_grad());
}
