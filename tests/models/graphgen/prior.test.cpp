// Graph-generation MGVAE with the learned equivariant prior (paper App. C, free matching;
// models/equivariant_prior.hpp): KL against a closed form and by finite differences, permutation
// invariance of the KL / equivariance of the matching, prior sampling, and typed config errors.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "mgvae/autodiff/gradcheck.hpp"
#include "mgvae/models/graphgen/model.hpp"
#include "models/graphgen/fixtures.hpp"
#include "support/catch.hpp"

using namespace mgvae;
using namespace mgvae::graphgen;
using TD = Tensor<double>;
using VD = Var<double>;

namespace {

Graph seven_nodes() { return graphgen::testing::seven_node_graph(); }

Graph path_graph(int n) {
  Graph g;
  g.n = n;
  for (int u = 0; u + 1 < n; ++u) g.edges.emplace_back(u, u + 1);
  return g;
}

ModelConfig learned_config(std::int64_t n_max, std::int64_t slots) {
  ModelConfig c = graphgen::testing::small_config(n_max);
  c.prior = PriorKind::Learned;
  c.prior_slots = slots;
  return c;
}

/// Sets the prior's a and b (handles share storage with the model's parameters).
void set_ab(const GraphGenModel<double>& m, const std::vector<double>& a, const std::vector<double>& b) {
  TD av = m.prior().a.value(), bv = m.prior().b.value();
  for (std::size_t c = 0; c < a.size(); ++c) {
    av.data()[c] = a[c];
    bv.data()[c] = b[c];
  }
}

/// KL(N(μ, diag s + εI) ‖ N(μ̂, L̂L̂ᵀ + εI)) of one channel over n nodes, L̂ = aI + (b/n)11ᵀ, in closed form:
/// L̂L̂ᵀ + εI = λ0 (I − J/n) + λ1 J/n with λ0 = a² + ε, λ1 = (a + b)² + ε.
double kl_channel(const std::vector<double>& mu, const std::vector<double>& var, const std::vector<double>& mu_hat,
                  double a, double b, double eps) {
  const double n = static_cast<double>(mu.size());
  const double l0 = a * a + eps, l1 = (a + b) * (a + b) + eps;
  double tr = 0, dd = 0, ds = 0, logdet_q = 0;
  for (std::size_t i = 0; i < mu.size(); ++i) {
    const double s = var[i] + eps;
    tr += s * ((1.0 - 1.0 / n) / l0 + (1.0 / n) / l1);
    const double d = mu_hat[i] - mu[i];
    dd += d * d;
    ds += d;
    logdet_q += std::log(s);
  }
  const double quad = (dd - ds * ds / n) / l0 + ds * ds / n / l1;
  const double logdet_p = (n - 1) * std::log(l0) + std::log(l1);
  return 0.5 * (tr + quad - n + logdet_p - logdet_q);
}

}  // namespace

TEST_CASE("graphgen prior: learned-prior KL matches the closed form and free matching is the nearest slot",
          "[graphgen][prior]") {
  GraphGenModel<double> model(learned_config(9, 4));
  set_ab(model, {0.7, 1.3, 0.9}, {0.4, -0.2, 0.25});
  const std::vector<Graph> gs{seven_nodes(), path_graph(5)};
  const auto b = make_batch<double>(gs, 9);
  const auto o = model.forward(b, model.draw_noise(CounterRng(5), 2));
  Tape::local().clear();
  const TD mu = o.mu.value(), lv = o.logvar.value(), muh = model.prior().mu.value();
  const std::int64_t d = 3, M = 4;
  REQUIRE(o.prior_match.size() == 2);
  const std::vector<double> a{0.7, 1.3, 0.9}, bb{0.4, -0.2, 0.25};
  double expect = 0;
  for (std::size_t g = 0; g < gs.size(); ++g) {
    const int n = gs[g].n;
    const auto gi = static_cast<std::int64_t>(g);
    REQUIRE(o.prior_match[g].size() == static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {  // brute-force nearest slot
      std::int64_t best = 0;
      double bd = 1e300;
      for (std::int64_t j = 0; j < M; ++j) {
        double s = 0;
        for (std::int64_t c = 0; c < d; ++c) s += std::pow(mu(gi, i, c) - muh(j, c), 2);
        if (s < bd) {
          bd = s;
          best = j;
        }
      }
      CHECK(o.prior_match[g][static_cast<std::size_t>(i)] == best);
    }
    for (std::int64_t c = 0; c < d; ++c) {
      std::vector<double> m, v, mh;
      for (int i = 0; i < n; ++i) {
        m.push_back(mu(gi, i, c));
        v.push_back(std::exp(lv(gi, i, c)));
        mh.push_back(muh(o.prior_match[g][static_cast<std::size_t>(i)], c));
      }
      expect += kl_channel(m, v, mh, a[static_cast<std::size_t>(c)], bb[static_cast<std::size_t>(c)], 1e-4);
    }
  }
  CHECK(o.kl_fine.item() == Approx(expect / 2.0).epsilon(1e-10));
}

TEST_CASE("graphgen prior: gradient check of the learned-prior KL (shared op) in double", "[graphgen][prior][gradcheck]") {
  const std::int64_t n = 4, d = 3, M = 3;
  const TD mu0 = TD::randn({n, d}, CounterRng(31));
  TD L0 = TD::randn({d, n, n}, CounterRng(32));
  for (std::int64_t c = 0; c < d; ++c)  // a well-conditioned lower factor
    for (std::int64_t i = 0; i < n; ++i) {
      for (std::int64_t j = i + 1; j < n; ++j) L0(c, i, j) = 0.0;
      L0(c, i, i) = 1.0 + 0.3 * std::abs(L0(c, i, i));
    }
  const TD muh = TD::randn({M, d}, CounterRng(33));
  TD a({d}), b({d});
  for (std::int64_t c = 0; c < d; ++c) {
    a.data()[c] = 0.8 + 0.2 * static_cast<double>(c);
    b.data()[c] = 0.3 - 0.25 * static_cast<double>(c);
  }
  std::vector<std::int64_t> match;
  auto f = [&](const std::vector<VD>& x) {
    match.clear();
    return models::learned_prior_kl(x[0], x[1], models::EquivariantPriorParams<double>{x[2], x[3], x[4]}, 1e-4, &match);
  };
  const auto r = gradcheck(f, {mu0, L0, muh, a, b});
  INFO(r.message);
  CHECK(r.ok);
  CHECK(r.checked >= 5);
  CHECK(match.size() == static_cast<std::size_t>(n));
}

TEST_CASE("graphgen prior: gradient check of the full loss with the learned prior (relaxed clustering)",
          "[graphgen][prior][gradcheck]") {
  ModelConfig c = graphgen::testing::tiny_gradcheck_config();
  c.prior = PriorKind::Learned;
  c.prior_slots = 3;
  GraphGenModel<double> model(c);
  set_ab(model, {0.9, 1.2}, {0.3, -0.4});
  std::vector<TD> init;
  const auto r = graphgen::testing::full_loss_gradcheck(model, {}, &init);
  INFO(r.message);
  CHECK(r.ok);
  // the prior's parameters (the last three) receive a gradient (the check restored the values)
  const auto ps = model.parameters();
  REQUIRE(ps.size() == init.size());
  for (std::size_t k = 0; k < ps.size(); ++k) CHECK(max_abs_diff(ps[k].value(), init[k]) == 0.0);
  model.zero_grad();
  const auto o = model.forward(make_batch<double>(std::vector<Graph>{graphgen::testing::three_node_path()}, 4),
                               model.draw_noise(CounterRng(21), 1));
  backward(o.loss);
  double gsum = 0;
  for (const auto* p : {&model.prior().mu, &model.prior().a, &model.prior().b}) {
    REQUIRE(p->grad().defined());
    for (double v : p->grad().to_vector()) gsum += std::abs(v);
  }
  CHECK(gsum > 0);
}

TEST_CASE("graphgen prior: KL is invariant and the matching equivariant under node relabelling", "[graphgen][prior][equivariance]") {
  const Graph g = seven_nodes();
  const std::int64_t N = 9;
  GraphGenModel<double> model(learned_config(N, 5));
  set_ab(model, {0.8, 1.1, 1.0}, {0.2, -0.3, 0.5});
  const std::vector<int> sigma{4, 0, 6, 2, 5, 1, 3};  // node u of G becomes node sigma[u]
  const Graph h = graphgen::testing::relabel(g, sigma);
  const auto bg = make_batch<double>(std::vector<Graph>{g}, N);
  const auto bh = make_batch<double>(std::vector<Graph>{h}, N);
  const auto ng = model.draw_noise(CounterRng(11), 1);
  const auto nh = graphgen::testing::permute_noise(ng, sigma);
  {  // slot j at node j's posterior mean (j < 5), so that the nodes use several slots
    const TD mu0 = model.encode(bg).first.value();
    TD muh = model.prior().mu.value();
    for (std::int64_t j = 0; j < 5; ++j)
      for (std::int64_t c = 0; c < 3; ++c) muh(j, c) = mu0(0, j, c);
    Tape::local().clear();
  }
  const auto og = model.forward(bg, ng);
  const auto oh = model.forward(bh, nh);
  Tape::local().clear();
  REQUIRE(og.prior_match.size() == 1);
  REQUIRE(oh.prior_match.size() == 1);
  const auto& mg = og.prior_match[0];
  const auto& mh = oh.prior_match[0];
  REQUIRE(mg.size() == 7);
  REQUIRE(mh.size() == 7);
  for (int u = 0; u < g.n; ++u) CHECK(mh[static_cast<std::size_t>(sigma[static_cast<std::size_t>(u)])] == mg[static_cast<std::size_t>(u)]);
  // more than one slot is used, so a position-based matching would not pass this
  CHECK(std::count(mg.begin(), mg.end(), mg[0]) < 7);
  CHECK(og.kl_fine.item() == Approx(oh.kl_fine.item()).epsilon(1e-9));
  // every encoder-side term (all but the non-equivariant global decoder's BCE) is invariant
  CHECK(og.loss.item() - og.bce.item() == Approx(oh.loss.item() - oh.bce.item()).epsilon(1e-9));
  // match_slots (posterior means, no noise) agrees with the forward pass and is equivariant too
  CHECK(model.match_slots(bg)[0] == mg);
  CHECK(model.match_slots(bh)[0] == mh);
  // the test can fail: keeping the slots by position while the nodes move changes the KL
  double kl_fixed = 0, kl_perm = 0;
  {
    const TD mu = og.mu.value(), muh = model.prior().mu.value(), lv = og.logvar.value();
    for (std::int64_t c = 0; c < 3; ++c) {
      std::vector<double> m, v, m_fixed, m_perm;
      for (int i = 0; i < 7; ++i) {
        m.push_back(mu(0, i, c));
        v.push_back(std::exp(lv(0, i, c)));
        m_fixed.push_back(muh(mg[static_cast<std::size_t>(i)], c));
        m_perm.push_back(muh(mg[static_cast<std::size_t>(sigma[static_cast<std::size_t>(i)])], c));
      }
      const double a = std::vector<double>{0.8, 1.1, 1.0}[static_cast<std::size_t>(c)];
      const double b = std::vector<double>{0.2, -0.3, 0.5}[static_cast<std::size_t>(c)];
      kl_fixed += kl_channel(m, v, m_fixed, a, b, 1e-4);
      kl_perm += kl_channel(m, v, m_perm, a, b, 1e-4);
    }
  }
  CHECK(og.kl_fine.item() == Approx(kl_fixed).epsilon(1e-10));
  CHECK(std::abs(kl_fixed - kl_perm) > 1e-6);
}

TEST_CASE("graphgen prior: sampling from the learned prior (shapes, sizes, slots, seeds)", "[graphgen][prior][sample]") {
  const std::int64_t N = 8, S = 40, M = 4, d = 3;
  ModelConfig c = learned_config(N, M);
  c.jitter = 0.0;  // a = b = 0 and ε = 0 below: a real node's latent is exactly its slot mean
  GraphGenModel<double> model(c);
  set_ab(model, {0, 0, 0}, {0, 0, 0});
  const TD muh = model.prior().mu.value();
  std::vector<double> size_probs(static_cast<std::size_t>(N + 1), 0.0);
  size_probs[5] = 1.0;  // every sample has 5 real nodes
  const std::vector<double> slot_probs{0, 3, 0, 1};  // slots 1 and 3 only
  const TD z = model.sample_latent(S, CounterRng(8), slot_probs, size_probs);
  REQUIRE(z.shape() == Shape{S, N, d});
  int n1 = 0, n3 = 0;
  for (std::int64_t s = 0; s < S; ++s)
    for (std::int64_t i = 0; i < 5; ++i) {
      const bool is1 = z(s, i, 0) == muh(1, 0) && z(s, i, 1) == muh(1, 1) && z(s, i, 2) == muh(1, 2);
      const bool is3 = z(s, i, 0) == muh(3, 0) && z(s, i, 1) == muh(3, 1) && z(s, i, 2) == muh(3, 2);
      CHECK((is1 || is3));
      n1 += is1;
      n3 += is3;
    }
  CHECK(n1 > n3);  // 3 : 1 odds over 200 draws
  CHECK(n3 > 10);
  // padding slots carry N(0, 1) noise, not slot means
  double ss = 0;
  for (std::int64_t s = 0; s < S; ++s)
    for (std::int64_t i = 5; i < N; ++i)
      for (std::int64_t k = 0; k < d; ++k) ss += z(s, i, k) * z(s, i, k);
  CHECK(ss / static_cast<double>(S * (N - 5) * d) == Approx(1.0).margin(0.25));
  // the same seed reproduces the draw, another one does not
  CHECK(max_abs_diff(z, model.sample_latent(S, CounterRng(8), slot_probs, size_probs)) == 0.0);
  CHECK(max_abs_diff(z, model.sample_latent(S, CounterRng(9), slot_probs, size_probs)) > 0.1);
  // node counts follow size_probs
  std::vector<double> sp2(static_cast<std::size_t>(N + 1), 0.0);
  sp2[3] = sp2[N] = 1.0;
  const TD z2 = model.sample_latent(S, CounterRng(10), {}, sp2);
  int small = 0;
  for (std::int64_t s = 0; s < S; ++s) {
    bool slot_row3 = false;  // row 3 is a real node (a slot mean) only for n = N
    for (std::int64_t j = 0; j < M; ++j)
      slot_row3 |= z2(s, 3, 0) == muh(j, 0) && z2(s, 3, 1) == muh(j, 1) && z2(s, 3, 2) == muh(j, 2);
    small += !slot_row3;
  }
  CHECK(small > 5);
  CHECK(small < S - 5);
  // probabilities: [S, N, N], symmetric, in (0, 1); reproducible
  const TD P = model.sample_probabilities(6, CounterRng(4), slot_probs, size_probs);
  REQUIRE(P.shape() == Shape{6, N, N});
  for (double p : P.to_vector()) CHECK((p > 0.0 && p < 1.0));
  CHECK(max_abs_diff(P, model.sample_probabilities(6, CounterRng(4), slot_probs, size_probs)) == 0.0);
}

TEST_CASE("graphgen prior: the standard prior and the other parameters are unchanged by the option", "[graphgen][prior]") {
  ModelConfig cs = learned_config(8, 4);
  cs.prior = PriorKind::Standard;
  GraphGenModel<double> ms(cs), ml(learned_config(8, 4));
  REQUIRE(ml.parameters().size() == ms.parameters().size() + 3);
  for (std::size_t k = 0; k < ms.parameters().size(); ++k)
    CHECK(max_abs_diff(ms.parameters()[k].value(), ml.parameters()[k].value()) == 0.0);
  CHECK(ml.parameters()[ms.parameters().size()].shape() == Shape{4, 3});
  // standard sampling is z ~ N(0, I) from the given stream, as before the option existed
  CHECK(max_abs_diff(ms.sample_latent(5, CounterRng(3)), TD::randn({5, 8, 3}, CounterRng(3))) == 0.0);
  const auto b = make_batch<double>(std::vector<Graph>{seven_nodes()}, 8);
  CHECK(ms.forward(b, ms.draw_noise(CounterRng(1), 1)).prior_match.empty());
  Tape::local().clear();
}

TEST_CASE("graphgen prior: bad configuration and sampling arguments throw typed errors", "[graphgen][prior][errors]") {
  ModelConfig c = learned_config(8, 0);
  CHECK_THROWS_AS(GraphGenModel<double>(c), std::invalid_argument);
  c.prior_slots = -2;
  CHECK_THROWS_AS(GraphGenModel<double>(c), std::invalid_argument);
  c = learned_config(8, 3);
  c.jitter = -1e-3;
  CHECK_THROWS_AS(GraphGenModel<double>(c), std::invalid_argument);
  c = learned_config(8, 3);
  c.tau = 0;
  CHECK_THROWS_AS(GraphGenModel<double>(c), std::invalid_argument);
  c = learned_config(0, 3);
  CHECK_THROWS_AS(GraphGenModel<double>(c), std::invalid_argument);
  GraphGenModel<double> m(learned_config(8, 3));
  CHECK_THROWS_AS(m.sample_latent(2, CounterRng(1), std::vector<double>{1, 2}), std::invalid_argument);  // 2 != M
  CHECK_THROWS_AS(m.sample_latent(2, CounterRng(1), std::vector<double>{0, 0, 0}), std::invalid_argument);
  CHECK_THROWS_AS(m.sample_latent(2, CounterRng(1), {}, std::vector<double>{1, 1}), std::invalid_argument);  // != N+1
  CHECK_NOTHROW(m.sample_latent(2, CounterRng(1), std::vector<double>{0, 1, 0}));
  ModelConfig cs = learned_config(8, 3);
  cs.prior = PriorKind::Standard;
  GraphGenModel<double> ms(cs);
  const auto b = make_batch<double>(std::vector<Graph>{seven_nodes()}, 8);
  CHECK_THROWS_AS(ms.match_slots(b), std::logic_error);
  CHECK_NOTHROW(ms.sample_latent(2, CounterRng(1), std::vector<double>{1, 2}));  // ignored by the standard prior
}
