// Cholesky, triangular solve, log-determinant, Gaussian KL and matching as ops (ops/gaussian.hpp).
#include "mgvae/ops/gaussian.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include <Eigen/Dense>

#include "mgvae/autodiff/gradcheck.hpp"
#include "mgvae/ops/reduce.hpp"
#include "support/catch.hpp"

using namespace mgvae;
using TD = Tensor<double>;
using VD = Var<double>;
using Mat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

namespace {
TD rnd(const Shape& s, std::uint64_t seed) { return TD::uniform(s, CounterRng(seed), -1.0, 1.0); }

/// A batch of SPD matrices M Mᵀ + n I.
TD spd(std::int64_t batch, std::int64_t n, std::uint64_t seed) {
  const TD m = rnd({batch, n, n}, seed);
  TD a(Shape{batch, n, n});
  for (std::int64_t b = 0; b < batch; ++b) {
    Eigen::Map<const Mat> M(m.data() + b * n * n, n, n);
    Eigen::Map<Mat> A(a.data() + b * n * n, n, n);
    A = M * M.transpose() + static_cast<double>(n) * Mat::Identity(n, n);
  }
  return a;
}
/// A well-conditioned lower-triangular factor (diagonal in [1, 2]).
TD lower(std::int64_t batch, std::int64_t n, std::uint64_t seed) {
  TD l = rnd({batch, n, n}, seed);
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < n; ++j) {
        double& v = l.data()[b * n * n + i * n + j];
        if (j > i) v = 0;
        if (j == i) v = 1.5 + 0.5 * v;
      }
  return l;
}
void grad_ok(const GradcheckResult& r) {
  INFO(r.message);
  REQUIRE(r.checked > 0);
  CHECK(r.ok);
}
}  // namespace

TEST_CASE("cholesky: L Lᵀ = A, gradcheck (double), gating", "[ops][gaussian][grad]") {
  const TD A = spd(3, 4, 1);
  const VD L = cholesky(VD(A));
  for (std::int64_t b = 0; b < 3; ++b) {
    Eigen::Map<const Mat> l(L.value().data() + b * 16, 4, 4), a(A.data() + b * 16, 4, 4);
    CHECK((l * l.transpose() - a).cwiseAbs().maxCoeff() < 1e-12);
    CHECK(l.triangularView<Eigen::StrictlyUpper>().toDenseMatrix().cwiseAbs().maxCoeff() == 0.0);
  }
  grad_ok(gradcheck([](const std::vector<VD>& v) { return cholesky(v[0]); }, {spd(2, 3, 2)}));
  grad_ok(gradcheck([](const std::vector<VD>& v) { return cholesky(v[0]); }, {spd(1, 3, 3).reshape({3, 3})}));
}

TEST_CASE("cholesky / spd_logdet reject non-square, non-SPD and NaN input", "[ops][gaussian]") {
  CHECK_THROWS_AS(cholesky(VD(TD::zeros({3, 4}))), std::invalid_argument);
  CHECK_THROWS_AS(cholesky(VD(TD::zeros({2, 3, 4}))), std::invalid_argument);
  TD ns = spd(2, 3, 4);
  ns.data()[9 + 4] = -5.0;  // batch 1: negative diagonal entry
  try {
    cholesky(VD(ns));
    FAIL("expected std::domain_error");
  } catch (const std::domain_error& e) {
    CHECK(std::string(e.what()).find("batch index 1") != std::string::npos);
  }
  CHECK_THROWS_AS(spd_logdet(VD(ns)), std::domain_error);
  TD nan = spd(1, 2, 5);
  nan.data()[1] = std::nan("");
  CHECK_THROWS_AS(cholesky(VD(nan)), std::domain_error);
}

TEST_CASE("trsm_lower: solves and gradcheck in both orientations", "[ops][gaussian][grad]") {
  const TD L = lower(2, 3, 6), B = rnd({2, 3, 2}, 7);
  for (bool tr : {false, true}) {
    const VD X = trsm_lower(VD(L), VD(B), tr);
    for (std::int64_t b = 0; b < 2; ++b) {
      Eigen::Map<const Mat> l(L.data() + b * 9, 3, 3), x(X.value().data() + b * 6, 3, 2), bb(B.data() + b * 6, 3, 2);
      const Mat lhs = tr ? Mat(l.transpose() * x) : Mat(l * x);
      CHECK((lhs - bb).cwiseAbs().maxCoeff() < 1e-12);
    }
    grad_ok(gradcheck([tr](const std::vector<VD>& v) { return trsm_lower(v[0], v[1], tr); }, {L, B}));
  }
  CHECK_THROWS_AS(trsm_lower(VD(L), VD(rnd({2, 4, 2}, 8))), std::invalid_argument);
  CHECK_THROWS_AS(trsm_lower(VD(L), VD(rnd({3, 2}, 8))), std::invalid_argument);
}

TEST_CASE("spd_logdet: equals Eigen's log|A|, gradcheck", "[ops][gaussian][grad]") {
  const TD A = spd(3, 4, 9);
  const VD ld = spd_logdet(VD(A));
  REQUIRE(ld.shape() == Shape{3});
  for (std::int64_t b = 0; b < 3; ++b) {
    Eigen::Map<const Mat> a(A.data() + b * 16, 4, 4);
    CHECK(ld.value().data()[b] == Approx(std::log(a.determinant())).epsilon(1e-12));
  }
  CHECK(spd_logdet(VD(spd(1, 3, 10).reshape({3, 3}))).shape() == Shape{});
  grad_ok(gradcheck([](const std::vector<VD>& v) { return spd_logdet(v[0]); }, {spd(2, 3, 11)}));
}

TEST_CASE("gaussian_kl: matches the explicit-inverse closed form; gradcheck for all four inputs",
          "[ops][gaussian][kl][grad]") {
  const std::int64_t P = 6, Q = 3, n = 4;  // problem p uses prior p % Q
  const double eps = 1e-4;
  const TD mu0 = rnd({P, n}, 12), L0 = lower(P, n, 13), mu1 = rnd({Q, n}, 14), L1 = lower(Q, n, 15);
  const VD kl = gaussian_kl(VD(mu0), VD(L0), VD(mu1), VD(L1), eps);
  REQUIRE(kl.shape() == Shape{P});
  for (std::int64_t p = 0; p < P; ++p) {
    const std::int64_t q = p % Q;
    Eigen::Map<const Mat> a0(L0.data() + p * n * n, n, n), a1(L1.data() + q * n * n, n, n);
    const Mat S0 = a0 * a0.transpose() + eps * Mat::Identity(n, n), S1 = a1 * a1.transpose() + eps * Mat::Identity(n, n);
    const Mat S1i = S1.inverse();  // naive double-precision inverse
    Eigen::VectorXd d(n);
    for (std::int64_t i = 0; i < n; ++i) d[i] = mu1.data()[q * n + i] - mu0.data()[p * n + i];
    const double ref = 0.5 * ((S1i * S0).trace() + d.dot(S1i * d) - static_cast<double>(n) +
                              std::log(S1.determinant()) - std::log(S0.determinant()));
    CHECK(kl.value().data()[p] == Approx(ref).epsilon(1e-10));
  }
  // KL of a distribution with itself is 0
  CHECK(gaussian_kl(VD(mu1), VD(L1), VD(mu1), VD(L1), eps).value().data()[1] == Approx(0.0).margin(1e-12));
  grad_ok(gradcheck([eps](const std::vector<VD>& v) { return gaussian_kl(v[0], v[1], v[2], v[3], eps); },
                    {rnd({4, 3}, 16), lower(4, 3, 17), rnd({2, 3}, 18), lower(2, 3, 19)}));
  // gating: only the prior
  VD a(mu0), b(L0), c(mu1, true), d(L1, true);
  backward(sum(gaussian_kl(a, b, c, d, eps)));
  CHECK_FALSE(a.grad().defined());
  CHECK(c.grad().defined());
  CHECK(d.grad().shape() == Shape{Q, n, n});
}

TEST_CASE("gaussian_kl names mismatched arguments", "[ops][gaussian][kl]") {
  const VD mu0(rnd({4, 3}, 1)), L0(lower(4, 3, 2)), mu1(rnd({3, 3}, 3)), L1(lower(3, 3, 4));
  CHECK_THROWS_AS(gaussian_kl(mu0, L0, mu1, L1), std::invalid_argument);  // Q = 3 does not divide P = 4
  CHECK_THROWS_AS(gaussian_kl(mu0, VD(lower(4, 2, 5)), mu0, L0), std::invalid_argument);
  CHECK_THROWS_AS(gaussian_kl(mu0, L0, VD(rnd({4, 2}, 6)), L0), std::invalid_argument);
  CHECK_THROWS_AS(gaussian_kl(mu0, L0, mu0, L0, -1.0), std::invalid_argument);
  TD sing = TD::zeros({4, 3, 3});
  CHECK_THROWS_AS(gaussian_kl(mu0, VD(sing), mu0, L0, 0.0), std::domain_error);
}

TEST_CASE("free matching is the nearest prior row; Hungarian is the optimal permutation", "[ops][gaussian][matching]") {
  const TD mu = rnd({5, 2}, 20), mu_hat = rnd({4, 2}, 21);
  const auto idx = free_matching(mu, mu_hat);
  REQUIRE(idx.size() == 5);
  for (std::int64_t i = 0; i < 5; ++i) {
    double best = 1e300;
    std::int64_t bj = -1;
    for (std::int64_t j = 0; j < 4; ++j) {
      const double dx = mu.data()[i * 2] - mu_hat.data()[j * 2], dy = mu.data()[i * 2 + 1] - mu_hat.data()[j * 2 + 1];
      if (dx * dx + dy * dy < best) best = dx * dx + dy * dy, bj = j;
    }
    CHECK(idx[i] == bj);
  }
  const TD cost = TD::uniform({5, 5}, CounterRng(22), 0.0, 10.0);
  const auto asg = hungarian_matching(cost);
  std::vector<std::int64_t> perm(5);
  std::iota(perm.begin(), perm.end(), 0);
  double best = 1e300;
  do {
    double s = 0;
    for (int i = 0; i < 5; ++i) s += cost.data()[i * 5 + perm[i]];
    best = std::min(best, s);
  } while (std::next_permutation(perm.begin(), perm.end()));
  double got = 0;
  for (int i = 0; i < 5; ++i) got += cost.data()[i * 5 + asg[i]];
  CHECK(got == Approx(best).epsilon(1e-12));
  CHECK_THROWS_AS(hungarian_matching(TD::zeros({2, 3})), std::invalid_argument);
  CHECK_THROWS_AS(free_matching(mu, TD::zeros({4, 3})), std::invalid_argument);
}
