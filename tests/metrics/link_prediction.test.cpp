// Tests for include/mgvae/metrics/link_prediction.hpp against scikit-learn 1.2.1 (Debian
// python3-sklearn), values pasted from this snippet run with /usr/bin/python3:
//
//   from sklearn.metrics import roc_auc_score, average_precision_score
//   cases = {
//    "A": ([1,0,1,1,0,0,1,0,1,0], [0.9,0.9,0.8,0.5,0.5,0.5,0.3,0.2,0.2,0.1]),
//    "B": ([0,0,1,1], [0.1,0.4,0.35,0.8]),
//    "C": ([1,0,1,0], [0.5,0.5,0.5,0.5]),
//    "D": ([0,1,1,0,1,0,0,1,1,1,0,0], [0.3,0.7,0.7,0.7,0.2,0.2,0.9,1.0,0.3,0.7,0.1,0.3]),
//   }
//   for k,(y,s) in cases.items(): print(k, repr(roc_auc_score(y,s)), repr(average_precision_score(y,s)))
//
// Output:  A 0.6 0.5587301587301587 | B 0.75 0.8333333333333333 | C 0.5 0.5 |
//          D 0.6666666666666666 0.6835016835016835
#include "mgvae/metrics/link_prediction.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "mgvae/graph/permutation.hpp"
#include "support/catch.hpp"

using mgvae::metrics::average_precision;
using mgvae::metrics::roc_auc;
using mgvae::metrics::evaluate_link_prediction;
using mgvae::metrics::NodePairs;

namespace {
struct LpCase {
  std::vector<int> y;
  std::vector<double> s;
  double auc, ap;
};
std::vector<LpCase> lp_cases() {
  return {
      {{1, 0, 1, 1, 0, 0, 1, 0, 1, 0}, {0.9, 0.9, 0.8, 0.5, 0.5, 0.5, 0.3, 0.2, 0.2, 0.1}, 0.6, 0.5587301587301587},
      {{0, 0, 1, 1}, {0.1, 0.4, 0.35, 0.8}, 0.75, 0.8333333333333333},
      {{1, 0, 1, 0}, {0.5, 0.5, 0.5, 0.5}, 0.5, 0.5},
      {{0, 1, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0},
       {0.3, 0.7, 0.7, 0.7, 0.2, 0.2, 0.9, 1.0, 0.3, 0.7, 0.1, 0.3},
       0.6666666666666666,
       0.6835016835016835},
  };
}
}  // namespace

TEST_CASE("roc_auc and average_precision match scikit-learn (with ties)", "[metrics][link_prediction]") {
  for (const auto& c : lp_cases()) {
    CHECK(roc_auc(c.y, c.s) == Approx(c.auc).epsilon(1e-12));
    CHECK(average_precision(c.y, c.s) == Approx(c.ap).epsilon(1e-12));
    // The (pos, neg) form gives the same numbers.
    std::vector<double> pos, neg;
    for (std::size_t i = 0; i < c.y.size(); ++i) (c.y[i] ? pos : neg).push_back(c.s[i]);
    CHECK(roc_auc(pos, neg) == Approx(c.auc).epsilon(1e-12));
    CHECK(average_precision(pos, neg) == Approx(c.ap).epsilon(1e-12));
  }
}

TEST_CASE("roc_auc equals the Mann-Whitney statistic with ties counted 1/2", "[metrics][link_prediction]") {
  const std::vector<double> pos{0.1, 0.5, 0.5, 0.9, 0.3, 0.3, 0.7}, neg{0.5, 0.3, 0.2, 0.9, 0.0};
  double u = 0;
  for (const double p : pos)
    for (const double n : neg) u += p > n ? 1.0 : (p == n ? 0.5 : 0.0);
  CHECK(roc_auc(pos, neg) == Approx(u / (pos.size() * neg.size())).epsilon(1e-14));
  // Perfect and reversed rankings; invariance under a monotone transform.
  CHECK(roc_auc(std::vector<double>{2, 3}, std::vector<double>{0, 1}) == 1.0);
  CHECK(roc_auc(std::vector<double>{0, 1}, std::vector<double>{2, 3}) == 0.0);
  CHECK(average_precision(std::vector<double>{2, 3}, std::vector<double>{0, 1}) == 1.0);
  std::vector<double> pos2, neg2;
  for (const double p : pos) pos2.push_back(std::exp(3 * p));
  for (const double n : neg) neg2.push_back(std::exp(3 * n));
  CHECK(roc_auc(pos2, neg2) == Approx(roc_auc(pos, neg)).epsilon(1e-14));
  CHECK(average_precision(pos2, neg2) == Approx(average_precision(pos, neg)).epsilon(1e-14));
}

TEST_CASE("link-prediction metric validation", "[metrics][link_prediction]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<int> y{1, 0, 1};
  CHECK_THROWS_AS(roc_auc(y, std::vector<double>{0.1, nan, 0.3}), std::domain_error);
  CHECK_THROWS_AS(average_precision(y, std::vector<double>{0.1, nan, 0.3}), std::domain_error);
  CHECK_THROWS_AS(roc_auc(std::vector<double>{nan}, std::vector<double>{0.1}), std::domain_error);
  CHECK_THROWS_AS(roc_auc(y, std::vector<double>{0.1, inf, 0.3}), std::domain_error);
  CHECK_THROWS_AS(roc_auc(std::vector<int>{1, 1}, std::vector<double>{0.1, 0.2}), std::invalid_argument);
  CHECK_THROWS_AS(average_precision(std::vector<int>{0, 0}, std::vector<double>{0.1, 0.2}), std::invalid_argument);
  CHECK_THROWS_AS(roc_auc(std::vector<double>{}, std::vector<double>{0.1}), std::invalid_argument);
  CHECK_THROWS_AS(average_precision(std::vector<double>{0.4}, std::vector<double>{}), std::invalid_argument);
  CHECK_THROWS_AS(roc_auc(std::vector<int>{}, std::vector<double>{}), std::invalid_argument);
  CHECK_THROWS_AS(roc_auc(y, std::vector<double>{0.1, 0.2}), std::invalid_argument);
  CHECK_THROWS_AS(roc_auc(std::vector<int>{1, 2, 0}, std::vector<double>{0.1, 0.2, 0.3}), std::invalid_argument);
}

// --- evaluate_link_prediction: pair scores σ(⟨z_u, z_v⟩) with AUC / AP ----------------------------

TEST_CASE("evaluate_link_prediction: hand-made embedding with known scores, AUC and AP", "[metrics][link_prediction]") {
  // 1-D embeddings: logits are products. pos (0,1) → 2, (2,3) → −0.5; neg (0,2) → −2, (1,3) → 0.5.
  mgvae::Tensor<double> Z({4, 1});
  Z(0, 0) = 2;
  Z(1, 0) = 1;
  Z(2, 0) = -1;
  Z(3, 0) = 0.5;
  const NodePairs pos{{0, 1}, {2, 3}}, neg{{0, 2}, {1, 3}};
  const auto e = evaluate_link_prediction(Z, pos, neg);
  CHECK(e.pos_logits == std::vector<double>{2.0, -0.5});
  CHECK(e.neg_logits == std::vector<double>{-2.0, 0.5});
  CHECK(e.pos_scores[0] == Approx(1 / (1 + std::exp(-2.0))).epsilon(1e-15));
  CHECK(e.neg_scores[0] == Approx(1 / (1 + std::exp(2.0))).epsilon(1e-15));
  // 3 of the 4 (pos, neg) pairs are ordered correctly; AP: ranks p n p n → ½·1 + ½·⅔
  CHECK(e.auc == Approx(0.75).epsilon(1e-15));
  CHECK(e.ap == Approx(0.5 + 1.0 / 3.0).epsilon(1e-15));
  // a perfect embedding
  const auto p = evaluate_link_prediction(Z, NodePairs{{0, 1}}, NodePairs{{0, 2}, {2, 3}});
  CHECK(p.auc == 1.0);
  CHECK(p.ap == 1.0);
}

TEST_CASE("evaluate_link_prediction agrees with a naive reference (logits, σ, Mann-Whitney AUC)",
          "[metrics][link_prediction]") {
  const std::int64_t n = 20, d = 4;
  const auto Z = mgvae::Tensor<double>::uniform({n, d}, mgvae::CounterRng(3), -1, 1);
  mgvae::CounterRng rng(4);
  NodePairs pos, neg;
  for (int k = 0; k < 30; ++k) {
    pos.emplace_back(static_cast<std::int64_t>(rng.next_below(n)), static_cast<std::int64_t>(rng.next_below(n)));
    neg.emplace_back(static_cast<std::int64_t>(rng.next_below(n)), static_cast<std::int64_t>(rng.next_below(n)));
  }
  const auto e = evaluate_link_prediction(Z, pos, neg);
  auto logit = [&](std::pair<std::int64_t, std::int64_t> uv) {
    double s = 0;
    for (std::int64_t j = 0; j < d; ++j) s += Z(uv.first, j) * Z(uv.second, j);
    return s;
  };
  REQUIRE(e.pos_scores.size() == pos.size());
  REQUIRE(e.neg_scores.size() == neg.size());
  std::vector<double> lp, ln;
  for (std::size_t k = 0; k < pos.size(); ++k) {
    lp.push_back(logit(pos[k]));
    CHECK(e.pos_logits[k] == lp.back());
    CHECK(e.pos_scores[k] == Approx(1 / (1 + std::exp(-lp.back()))).epsilon(1e-14));
  }
  for (std::size_t k = 0; k < neg.size(); ++k) {
    ln.push_back(logit(neg[k]));
    CHECK(e.neg_logits[k] == ln.back());
    CHECK(e.neg_scores[k] == Approx(1 / (1 + std::exp(-ln.back()))).epsilon(1e-14));
  }
  double u = 0;
  for (double a : lp)
    for (double b : ln) u += a > b ? 1.0 : (a == b ? 0.5 : 0.0);
  CHECK(e.auc == Approx(u / static_cast<double>(lp.size() * ln.size())).epsilon(1e-14));
  CHECK(e.ap == Approx(average_precision(lp, ln)).epsilon(1e-15));
  // the probabilities rank the pairs as the logits do here (no saturation)
  CHECK(roc_auc(e.pos_scores, e.neg_scores) == Approx(e.auc).epsilon(1e-15));
  // the Var overload and float embeddings
  const auto ev = evaluate_link_prediction(mgvae::Var<double>(Z), pos, neg);
  CHECK(ev.auc == e.auc);
  CHECK(ev.ap == e.ap);
  mgvae::Tensor<float> Zf({n, d});
  for (std::int64_t i = 0; i < n * d; ++i) Zf.data()[i] = static_cast<float>(Z.data()[i]);
  CHECK(evaluate_link_prediction(Zf, pos, neg).auc == Approx(e.auc).margin(0.05));
}

TEST_CASE("evaluate_link_prediction is invariant under a node permutation", "[metrics][link_prediction][equivariance]") {
  const std::int64_t n = 15, d = 3;
  const auto Z = mgvae::Tensor<double>::uniform({n, d}, mgvae::CounterRng(8), -1, 1);
  NodePairs pos, neg;
  for (std::int64_t i = 0; i + 1 < n; ++i) (i % 3 == 0 ? neg : pos).emplace_back(i, (i * 7 + 2) % n);
  const auto perm = mgvae::graph::random_permutation(n, 9);
  auto relabel = [&](const NodePairs& ps) {
    NodePairs out;
    for (const auto& [u, v] : ps) out.emplace_back(perm[static_cast<std::size_t>(u)], perm[static_cast<std::size_t>(v)]);
    return out;
  };
  const auto e = evaluate_link_prediction(Z, pos, neg);
  const auto ep = evaluate_link_prediction(mgvae::graph::permute_rows(Z, perm), relabel(pos), relabel(neg));
  CHECK(ep.pos_logits == e.pos_logits);
  CHECK(ep.neg_logits == e.neg_logits);
  CHECK(ep.auc == e.auc);
  CHECK(ep.ap == e.ap);
}

TEST_CASE("evaluate_link_prediction: typed errors", "[metrics][link_prediction][errors]") {
  const auto Z = mgvae::Tensor<double>::uniform({4, 2}, mgvae::CounterRng(1), -1, 1);
  const NodePairs pos{{0, 1}}, neg{{2, 3}};
  CHECK_THROWS_AS(evaluate_link_prediction(mgvae::Tensor<double>::zeros({4}), pos, neg), std::invalid_argument);
  CHECK_THROWS_AS(evaluate_link_prediction(Z, NodePairs{{0, 4}}, neg), std::invalid_argument);
  CHECK_THROWS_AS(evaluate_link_prediction(Z, pos, NodePairs{{-1, 0}}), std::invalid_argument);
  CHECK_THROWS_AS(evaluate_link_prediction(Z, NodePairs{}, neg), std::invalid_argument);
  CHECK_THROWS_AS(evaluate_link_prediction(Z, pos, NodePairs{}), std::invalid_argument);
  auto Zn = Z.clone();
  Zn(0, 0) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS(evaluate_link_prediction(Zn, pos, neg), std::domain_error);
}
