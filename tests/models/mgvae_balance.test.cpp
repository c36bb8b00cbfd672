// Options that make the deterministic (Eq. 4 argmax) partition of the learned clustering balanced
// (issue 5, docs/link_prediction.md "Cluster balance options"):
//   balanced_cut_kl_argmax   the balanced-cut KL on the noiseless argmax's cluster sizes
//   infomax_balance          KL(p̄ ‖ U) + mean_i H(p_i)
//   standardize_columns      column standardisation of the clustering logits over the nodes
//   balanced_argmax          Sinkhorn-balanced argmax (evaluation-time diagnostic)
// Naive references, finite-difference gradchecks in double, permutation invariance/equivariance,
// typed errors, and the wiring into the first-order MGVAE loss.
#include <cmath>
#include <map>

#include "mgvae/autodiff/gradcheck.hpp"
#include "mgvae/graph/normalize.hpp"
#include "mgvae/graph/permutation.hpp"
#include "mgvae/models/models.hpp"
#include "support/catch.hpp"

using namespace mgvae;
using namespace mgvae::models;
using TD = Tensor<double>;
using VD = Var<double>;

namespace {

// naive KL(P ‖ U) of the argmax sizes of the rows of p (first maximum on ties)
double naive_argmax_kl(const TD& p) {
  const std::int64_t n = p.size(0), k = p.size(1);
  std::vector<double> cnt(static_cast<std::size_t>(k), 0.0);
  for (std::int64_t i = 0; i < n; ++i) {
    std::int64_t b = 0;
    for (std::int64_t j = 1; j < k; ++j)
      if (p(i, j) > p(i, b)) b = j;
    cnt[static_cast<std::size_t>(b)] += 1;
  }
  double kl = 0;
  for (double c : cnt)
    if (c > 0) kl += (c / n) * std::log(k * c / n);
  return kl;
}

double naive_infomax(const TD& p) {
  const std::int64_t n = p.size(0), k = p.size(1);
  double kl = 0, h = 0;
  for (std::int64_t j = 0; j < k; ++j) {
    double m = 0;
    for (std::int64_t i = 0; i < n; ++i) m += p(i, j) / n;
    if (m > 0) kl += m * std::log(k * m);
  }
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < k; ++j)
      if (p(i, j) > 0) h -= p(i, j) * std::log(p(i, j)) / n;
  return kl + h;
}

TD softmax_rows(const TD& l) {
  NoGradGuard ng;
  return softmax(VD(l), 1).value().clone();
}

}  // namespace

TEST_CASE("infomax balance: naive reference and known values", "[models][elbo][balance]") {
  const TD L = TD::randn(Shape{9, 4}, CounterRng(31));
  const TD p = softmax_rows(L);
  CHECK(infomax_balance(VD(p)).item() == Approx(naive_infomax(p)).epsilon(1e-12));
  // uniform rows: balanced marginal, maximal node entropy → log K
  const TD u = TD::from(Shape{2, 4}, {0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25});
  CHECK(infomax_balance(VD(u)).item() == Approx(std::log(4.0)));
  // balanced one-hot partition → 0 (0 log 0 = 0); everything in one cluster → log K
  const TD bal = one_hot<double>({0, 1, 2, 3}, 4), col = one_hot<double>({2, 2, 2, 2}, 4);
  CHECK(infomax_balance(VD(bal)).item() == Approx(0.0).margin(1e-15));
  CHECK(infomax_balance(VD(col)).item() == Approx(std::log(4.0)));
  // the check can fail: a different matrix gives a different value
  const TD p2 = softmax_rows(TD::randn(Shape{9, 4}, CounterRng(32)));
  CHECK(std::abs(infomax_balance(VD(p2)).item() - naive_infomax(p)) > 1e-6);
}

TEST_CASE("infomax balance: finite-difference gradient in double", "[models][elbo][balance][gradcheck]") {
  const TD L = TD::randn(Shape{7, 5}, CounterRng(33));
  const auto gc = gradcheck([](const std::vector<VD>& v) { return infomax_balance(softmax(v[0], 1)); }, std::vector<TD>{L});
  INFO(gc.message);
  CHECK(gc.ok);
  // directly in p (not row-normalised: the formula is still a smooth function of p > 0)
  const TD P0 = softmax_rows(TD::randn(Shape{6, 3}, CounterRng(34)));
  const auto gp = gradcheck([](const std::vector<VD>& v) { return infomax_balance(v[0]); }, std::vector<TD>{P0});
  INFO(gp.message);
  CHECK(gp.ok);
}

TEST_CASE("infomax balance: invariant under node permutations, not under cluster-wise changes", "[models][elbo][balance]") {
  CounterRng rng(35);
  const TD p = softmax_rows(TD::randn(Shape{11, 4}, CounterRng(36)));
  const auto perm = graph::random_permutation(11, rng);
  CHECK(infomax_balance(VD(graph::permute_rows(p, perm))).item() == Approx(infomax_balance(VD(p)).item()).epsilon(1e-13));
}

TEST_CASE("infomax balance: typed errors", "[models][elbo][balance]") {
  CHECK_THROWS_AS(infomax_balance(VD()), std::invalid_argument);
  CHECK_THROWS_AS(infomax_balance(VD(TD::zeros(Shape{4}))), std::invalid_argument);
  CHECK_THROWS_AS(infomax_balance(VD(TD::zeros(Shape{0, 3}))), std::invalid_argument);
}

TEST_CASE("argmax balanced-cut KL: value from the Eq. 4 argmax, straight-through gradient", "[models][elbo][balance]") {
  const TD L0 = TD::randn(Shape{10, 3}, CounterRng(41));
  const TD G = gumbel_noise<double>(10, 3, CounterRng(42));
  VD logits(L0.clone(), true);
  const auto c = straight_through_gumbel(logits, G, 1.0);  // labels of the noisy sample ...
  const VD kl = balanced_cut_kl_argmax(c);                 // ... but the KL of the noiseless argmax
  const TD p = softmax_rows(L0);
  CHECK(kl.item() == Approx(naive_argmax_kl(p)).epsilon(1e-12));
  // the sample's KL differs in general (here it does: the check can fail)
  CHECK(std::abs(balanced_cut_kl(c).item() - kl.item()) > 1e-6);
  // the eval-mode clustering (no noise) has the same argmax KL as its sample KL
  const auto e = straight_through_gumbel(VD(L0), TD(), 1.0);
  CHECK(balanced_cut_kl_argmax(e).item() == Approx(balanced_cut_kl(e).item()).epsilon(1e-14));

  // straight-through gradient = gradient of the smooth surrogate Σ_k c_k mean_i p_ik with the
  // sizes frozen: c_k = log(K P_k) + 1 (P_k > 0; every cluster is filled for this seed)
  backward(kl);
  REQUIRE(logits.grad().defined());
  const std::int64_t n = 10, k = 3;
  std::vector<double> cnt(k, 0.0);
  for (auto l : argmax_rows(p)) cnt[static_cast<std::size_t>(l)] += 1;
  TD coef(Shape{k});
  for (std::int64_t j = 0; j < k; ++j) {
    REQUIRE(cnt[static_cast<std::size_t>(j)] > 0);
    coef.data()[j] = std::log(k * cnt[static_cast<std::size_t>(j)] / n) + 1.0;
  }
  const auto surrogate = [&coef](const std::vector<VD>& v) { return sum(mul(mean(softmax(v[0], 1), {0}), constant(coef))); };
  VD l2(L0.clone(), true);
  backward(surrogate({l2}));
  CHECK(max_abs_diff(logits.grad(), l2.grad()) < 1e-12);
  const auto gc = gradcheck(surrogate, std::vector<TD>{L0});
  INFO(gc.message);
  CHECK(gc.ok);
}

TEST_CASE("argmax balanced-cut KL: naive reference, ties, permutation invariance, errors", "[models][elbo][balance]") {
  // ties → first maximum: rows (0.5, 0.5) go to cluster 0
  Clustering<double> c;
  c.k = 2;
  c.probs = VD(TD::from(Shape{4, 2}, {0.5, 0.5, 0.5, 0.5, 0.2, 0.8, 0.9, 0.1}));
  c.labels = {1, 1, 1, 1};
  CHECK(balanced_cut_kl_argmax(c).item() == Approx(0.75 * std::log(1.5) + 0.25 * std::log(0.5)));
  // invariance under node permutations
  CounterRng rng(43);
  const TD p = softmax_rows(TD::randn(Shape{13, 5}, CounterRng(44)));
  const auto perm = graph::random_permutation(13, rng);
  Clustering<double> a, b;
  a.k = b.k = 5;
  a.probs = VD(p);
  b.probs = VD(graph::permute_rows(p, perm));
  CHECK(balanced_cut_kl_argmax(a).item() == Approx(naive_argmax_kl(p)).epsilon(1e-12));
  CHECK(balanced_cut_kl_argmax(b).item() == Approx(balanced_cut_kl_argmax(a).item()).epsilon(1e-13));
  // errors: fixed clustering (no probabilities), wrong K
  CHECK_THROWS_AS(balanced_cut_kl_argmax(fixed_clustering<double>({0, 1, 0}, 2)), std::invalid_argument);
  Clustering<double> bad;
  bad.k = 3;
  bad.probs = VD(p);
  CHECK_THROWS_AS(balanced_cut_kl_argmax(bad), std::invalid_argument);
}

TEST_CASE("standardize_columns: naive reference, gradcheck, equivariance, errors", "[models][clustering][balance]") {
  const TD X = TD::randn(Shape{8, 3}, CounterRng(51));
  const VD y = standardize_columns(VD(X));
  for (std::int64_t j = 0; j < 3; ++j) {
    double m = 0, v = 0;
    for (std::int64_t i = 0; i < 8; ++i) m += X(i, j) / 8;
    for (std::int64_t i = 0; i < 8; ++i) v += (X(i, j) - m) * (X(i, j) - m) / 8;
    for (std::int64_t i = 0; i < 8; ++i) CHECK(y.value()(i, j) == Approx((X(i, j) - m) / std::sqrt(v + 1e-5)).epsilon(1e-12));
  }
  // a shared per-column offset is removed: x + 1·bᵀ standardises to the same matrix
  TD Xb = X.clone();
  for (std::int64_t i = 0; i < 8; ++i)
    for (std::int64_t j = 0; j < 3; ++j) Xb(i, j) += 3.0 * (j + 1);
  CHECK(max_abs_diff(standardize_columns(VD(Xb)).value(), y.value()) < 1e-9);
  const auto gc = gradcheck([](const std::vector<VD>& v) { return standardize_columns(v[0]); }, std::vector<TD>{X});
  INFO(gc.message);
  CHECK(gc.ok);
  CounterRng rng(52);
  const auto perm = graph::random_permutation(8, rng);
  CHECK(max_abs_diff(standardize_columns(VD(graph::permute_rows(X, perm))).value(), graph::permute_rows(y.value(), perm)) < 1e-12);
  // a single node: centred to 0, finite
  const VD one = standardize_columns(VD(TD::from(Shape{1, 2}, {3.0, -1.0})));
  CHECK(one.value()(0, 0) == 0.0);
  CHECK_THROWS_AS(standardize_columns(VD(TD::zeros(Shape{5}))), std::invalid_argument);
  CHECK_THROWS_AS(standardize_columns(VD(TD::zeros(Shape{0, 2}))), std::invalid_argument);
  CHECK_THROWS_AS(standardize_columns(VD(X), 0.0), std::invalid_argument);
}

TEST_CASE("LearnedClustering: standardize off is the plain GNN, on centres the pre-tanh logits", "[models][clustering][balance]") {
  CounterRng g(53);
  const std::int64_t n = 12, d = 5, k = 4;
  std::vector<Graph::Edge> e;
  for (std::int64_t u = 0; u + 1 < n; ++u) e.emplace_back(u, u + 1);
  const Graph gr = Graph::from_edges(n, e);
  const auto a = graph::gcn_normalized<double>(gr);
  const TD X = TD::randn(Shape{n, d}, CounterRng(54));
  CounterRng r1(7), r2(7), r3(7);
  LearnedClustering<double> plain(d, 6, k, r1), off(d, 6, k, r2, true, false), on(d, 6, k, r3, true, true);
  const auto A = Adjacency<double>::of(a);
  const auto x = NodeFeatures<double>::of(VD(X));
  const TD lp = plain.logits(A, x).value(), lo = off.logits(A, x).value(), ls = on.logits(A, x).value();
  CHECK(max_abs_diff(lp, lo) == 0.0);  // bit-identical default
  CHECK(max_abs_diff(lp, ls) > 1e-6);
  for (std::int64_t j = 0; j < k; ++j) {  // atanh of the standardised logits: zero column mean
    double m = 0;
    for (std::int64_t i = 0; i < n; ++i) m += std::atanh(ls(i, j)) / n;
    CHECK(m == Approx(0.0).margin(1e-9));
  }
}

TEST_CASE("LearnedClustering: logit scale multiplies the bounded logits, sample follows argmax", "[models][clustering][balance]") {
  CounterRng g(55);
  const std::int64_t n = 15, d = 4, k = 5;
  std::vector<Graph::Edge> e;
  for (std::int64_t u = 0; u + 1 < n; ++u) e.emplace_back(u, u + 1);
  for (std::int64_t u = 0; u + 4 < n; u += 2) e.emplace_back(u, u + 4);
  const Graph gr = Graph::from_edges(n, e);
  const auto a = graph::gcn_normalized<double>(gr);
  const TD X = TD::randn(Shape{n, d}, CounterRng(56));
  const auto A = Adjacency<double>::of(a);
  const auto x = NodeFeatures<double>::of(VD(X));
  for (const bool stdz : {false, true}) {
    CounterRng r1(9), r2(9), r3(9);
    LearnedClustering<double> one(d, 6, k, r1, true, stdz), unit(d, 6, k, r2, true, stdz, 1.0),
        big(d, 6, k, r3, true, stdz, 7.5);
    const TD l1 = one.logits(A, x).value(), lu = unit.logits(A, x).value(), lb = big.logits(A, x).value();
    CHECK(max_abs_diff(l1, lu) == 0.0);  // scale 1 is bit-identical to the default
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < k; ++j) CHECK(lb(i, j) == Approx(7.5 * l1(i, j)).epsilon(1e-14));
    // gradient of the scaled logits with respect to the node features
    const auto gc = gradcheck(
        [&](const std::vector<VD>& v) { return big.logits(A, NodeFeatures<double>::of(v[0])); }, std::vector<TD>{X});
    INFO(gc.message);
    CHECK(gc.ok);
    // with a huge scale the hard Gumbel-max sample equals the noiseless argmax of Eq. 4 for this noise
    CounterRng r4(9);
    LearnedClustering<double> huge(d, 6, k, r4, true, stdz, 1e6);
    const TD gum = gumbel_noise<double>(n, k, CounterRng(57));
    const auto sample = huge.forward(A, x, gum), det = huge.forward(A, x, TD{});
    CHECK(sample.labels == det.labels);
    // and at scale 1 the noise changes some assignment (so the check above can fail)
    const auto s1 = one.forward(A, x, gum), d1 = one.forward(A, x, TD{});
    CHECK(s1.labels != d1.labels);
  }
  CounterRng r(1);
  for (const double bad : {0.0, -1.0, std::nan(""), HUGE_VAL})
    CHECK_THROWS_AS(LearnedClustering<double>(d, 6, k, r, true, false, bad), std::invalid_argument);
}

TEST_CASE("MGVAE balance options: loss terms, values and permutation invariance", "[models][mgvae][balance]") {
  CounterRng rng(61);
  const std::int64_t n = 14, f = 5;
  std::vector<Graph::Edge> e;
  for (std::int64_t u = 0; u < n; ++u)
    for (std::int64_t v = u + 1; v < n; ++v)
      if (rng.next_uniform() < 0.25) e.emplace_back(u, v);
  for (std::int64_t u = 0; u + 1 < n; u += 3) e.emplace_back(u, u + 1);
  const Graph g = Graph::from_edges(n, e);
  std::vector<float> feats(static_cast<std::size_t>(n * f));
  for (auto& v : feats) v = rng.next_uniform() < 0.3 ? 1.0f : 0.0f;
  const auto perm = graph::random_permutation(n, rng);
  std::vector<float> pf(feats.size());
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < f; ++j) pf[static_cast<std::size_t>(perm[i] * f + j)] = feats[static_cast<std::size_t>(i * f + j)];
  struct P {
    CsrMatrix<double> an, ar, x;
    DenseReconTarget<double> t;
  };
  const auto make = [f](const Graph& gg, const std::vector<float>& ff) {
    return P{graph::gcn_normalized<double>(gg), graph::adjacency_csr<double>(gg), graph::dense_to_csr<double>(ff, gg.n, f),
             make_dense_target<double>(gg.n, gg.edges)};
  };
  const P p1 = make(g, feats), p2 = make(g.permuted(perm), pf);

  for (int variant = 0; variant < 3; ++variant) {
    MgvaeConfig cfg;
    cfg.in_features = f;
    cfg.hidden = {8};
    cfg.latent = 4;
    cfg.levels = 2;
    cfg.clusters_per_level = 2;
    cfg.w_balance = 0.7;
    cfg.balance_on = variant == 0 ? BalanceOn::Argmax : variant == 1 ? BalanceOn::Both : BalanceOn::Sample;
    cfg.w_infomax = variant == 2 ? 0.3 : 0.0;
    cfg.standardize_cluster_logits = variant != 0;
    cfg.cluster_logit_scale = variant == 2 ? 4.0 : 1.0;
    CounterRng init(62);
    Mgvae<double> model(cfg, n, init);
    const auto noise = model.draw_noise(CounterRng(63));
    const MgvaeInput<double> in1{&p1.an, &p1.ar, NodeFeatures<double>::of(p1.x)};
    const auto o1 = model.forward(in1, noise);
    const auto l1 = model.loss(o1, in1, FinestTarget<double>{&p1.t, nullptr, nullptr});
    // the balance / infomax terms have the documented values
    for (std::size_t s = 0; s + 1 < o1.levels.size(); ++s) {  // the last level has K = 1: no balance term
      const auto& c = o1.levels[s].clustering;
      const std::string idx = "[" + std::to_string(s) + "]";
      const double sample = balanced_cut_kl(c).item(), argm = balanced_cut_kl_argmax(c).item();
      const double want = variant == 0 ? argm : variant == 1 ? sample + argm : sample;
      INFO("variant " << variant << " level " << s);
      CHECK(l1.value("balance" + idx) == Approx(0.7 * want).epsilon(1e-12));
      if (variant == 2)
        CHECK(l1.value("infomax" + idx) == Approx(0.3 * naive_infomax(c.probs.value())).epsilon(1e-12));
      else
        CHECK(l1.value("infomax" + idx) == 0.0);
    }
    // permutation invariance of every term (noise permuted with the nodes)
    MgvaeNoise<double> pn = noise;
    pn.eps0 = graph::permute_rows(noise.eps0, perm);
    pn.gumbel[0] = graph::permute_rows(noise.gumbel[0], perm);
    const MgvaeInput<double> in2{&p2.an, &p2.ar, NodeFeatures<double>::of(p2.x)};
    const auto o2 = model.forward(in2, pn);
    const auto l2 = model.loss(o2, in2, FinestTarget<double>{&p2.t, nullptr, nullptr});
    CHECK(graph::permute_labels(o1.levels[0].clustering.labels, perm) == o2.levels[0].clustering.labels);
    REQUIRE(l1.terms.size() == l2.terms.size());
    for (std::size_t i = 0; i < l1.terms.size(); ++i) {
      INFO(l1.terms[i].first);
      CHECK(l1.terms[i].first == l2.terms[i].first);
      CHECK(std::abs(l1.terms[i].second.item() - l2.terms[i].second.item()) < 1e-9);
    }
    // eval mode: the standardised argmax is equivariant as well
    const auto e1 = model.forward(in1, MgvaeNoise<double>{});
    const auto e2 = model.forward(in2, MgvaeNoise<double>{});
    CHECK(graph::permute_labels(e1.levels[0].clustering.labels, perm) == e2.levels[0].clustering.labels);
  }
}

TEST_CASE("balanced_argmax: exact balanced optimum on a small case, equivariance, errors", "[models][clustering][balance]") {
  // brute force over all assignments of 6 nodes into 3 clusters of size 2: the maximiser of
  // Σ_i s_iπ(i) (unique for this seed) is what the Sinkhorn argmax returns at small ε
  const std::int64_t n = 6, k = 3;
  TD S = TD::randn(Shape{n, k}, CounterRng(71));
  for (std::int64_t i = 0; i < n; ++i) S(i, 0) += 2.0;  // plain argmax collapses onto cluster 0
  std::vector<std::int64_t> best, lab(static_cast<std::size_t>(n));
  double best_v = -1e300;
  for (int code = 0; code < 729; ++code) {
    int c = code;
    std::vector<int> cnt(k, 0);
    double v = 0;
    for (std::int64_t i = 0; i < n; ++i, c /= 3) {
      lab[static_cast<std::size_t>(i)] = c % 3;
      ++cnt[static_cast<std::size_t>(c % 3)];
      v += S(i, c % 3);
    }
    if (cnt[0] == 2 && cnt[1] == 2 && cnt[2] == 2 && v > best_v) {
      best_v = v;
      best = lab;
    }
  }
  const auto b = balanced_argmax(S, 0.01, 2000);
  CHECK(b == best);
  const auto a = argmax_rows(S);
  CHECK(a != best);  // the check can fail: the plain argmax is not balanced here
  // a per-row shift does not change the result (logits vs log-probabilities)
  TD S2 = S.clone();
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < k; ++j) S2(i, j) += 0.7 * i;
  CHECK(balanced_argmax(S2, 0.01, 2000) == b);
  // row-permutation equivariance on a larger random case
  CounterRng rng(72);
  const TD R = TD::randn(Shape{40, 5}, CounterRng(73));
  const auto perm = graph::random_permutation(40, rng);
  CHECK(balanced_argmax(graph::permute_rows(R, perm)) == graph::permute_labels(balanced_argmax(R), perm));
  // identical rows cannot be split by column potentials: the capacity rounding does it
  const TD D = TD::from(Shape{6, 3}, {1, 0.5, 0, 1, 0.5, 0, 1, 0.5, 0, 1, 0.5, 0, 1, 0.5, 0, 1, 0.5, 0});
  std::vector<int> sz(3, 0);
  for (auto l : balanced_argmax(D)) ++sz[static_cast<std::size_t>(l)];
  CHECK(sz == std::vector<int>{2, 2, 2});
  for (auto l : balanced_argmax(R)) CHECK(l >= 0);
  std::vector<int> sr(5, 0);
  for (auto l : balanced_argmax(R)) ++sr[static_cast<std::size_t>(l)];
  for (int v : sr) CHECK(v <= 8);  // capacity ⌈40/5⌉
  CHECK_THROWS_AS(balanced_argmax(TD::zeros(Shape{4})), std::invalid_argument);
  CHECK_THROWS_AS(balanced_argmax(TD::zeros(Shape{0, 3})), std::invalid_argument);
  CHECK_THROWS_AS(balanced_argmax(R, 0.0), std::invalid_argument);
  CHECK_THROWS_AS(balanced_argmax(R, 0.05, 0), std::invalid_argument);
}
