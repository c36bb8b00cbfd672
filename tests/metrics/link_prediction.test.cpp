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

#include "support/catch.hpp"

using mgvae::metrics::average_precision;
using mgvae::metrics::roc_auc;

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
