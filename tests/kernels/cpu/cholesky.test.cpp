// Tests for include/mgvae/kernels/cpu/cholesky.hpp: Cholesky + backward (finite differences), triangular
// solves + backward, SPD log-det, Gaussian KL vs an explicit-inverse closed form (Eigen .inverse()),
// KL backward vs finite differences, non-SPD errors, free and Hungarian matching.
#include "mgvae/kernels/cpu/cholesky.hpp"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wunused-variable"
#endif
#include <Eigen/Dense>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <stdexcept>
#include <vector>

#include "support/catch.hpp"

using namespace mgvae::kernels::cpu;
using I64 = std::int64_t;
using MatD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

namespace {

std::vector<double> randv(std::size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<double> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

/// batch of random SPD matrices M Mᵀ + n I
std::vector<double> rand_spd(I64 batch, I64 n, std::mt19937& rng) {
  std::vector<double> A(batch * n * n);
  for (I64 b = 0; b < batch; ++b) {
    auto M = randv(n * n, rng);
    Eigen::Map<MatD> Mm(M.data(), n, n), Am(A.data() + b * n * n, n, n);
    Am = Mm * Mm.transpose() + MatD::Identity(n, n) * static_cast<double>(n) * 0.5;
  }
  return A;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  return std::inner_product(a.begin(), a.end(), b.begin(), 0.0);
}

}  // namespace

TEMPLATE_TEST_CASE("batched Cholesky reconstructs A and matches Eigen", "[kernels][cholesky]", float, double) {
  using T = TestType;
  std::mt19937 rng(1);
  for (I64 n : {0, 1, 2, 5, 17}) {
    const I64 batch = 3;
    auto Ad = rand_spd(batch, n, rng);
    std::vector<T> A(Ad.begin(), Ad.end()), L(A.size());
    cholesky_forward<T>(batch, n, A.data(), L.data());
    for (I64 b = 0; b < batch; ++b) {
      Eigen::Map<const MatD> Am(Ad.data() + b * n * n, n, n);
      MatD Lm(n, n);
      for (I64 k = 0; k < n * n; ++k) Lm.data()[k] = static_cast<double>(L[b * n * n + k]);
      CHECK((Lm * Lm.transpose() - Am).norm() <= (sizeof(T) == 4 ? 1e-4 : 1e-10) * (1 + Am.norm()));
      for (I64 i = 0; i < n; ++i)
        for (I64 j = i + 1; j < n; ++j) CHECK(Lm(i, j) == 0.0);
    }
  }
}

TEST_CASE("non-SPD input throws std::domain_error naming the batch index", "[kernels][cholesky]") {
  std::mt19937 rng(2);
  auto A = rand_spd(4, 3, rng);
  A[2 * 9 + 4] = -5.0;  // batch 2, entry (1,1)
  std::vector<double> L(A.size()), ld(4);
  try {
    cholesky_forward<double>(4, 3, A.data(), L.data());
    FAIL("no exception");
  } catch (const std::domain_error& e) {
    CHECK(std::string(e.what()).find("batch index 2") != std::string::npos);
  }
  CHECK_THROWS_AS(spd_logdet_forward<double>(4, 3, A.data(), ld.data()), std::domain_error);
  CHECK_THROWS_AS(cholesky_forward<double>(-1, 3, A.data(), L.data()), std::invalid_argument);
  A[2 * 9 + 4] = std::nan("");
  CHECK_THROWS_AS(cholesky_forward<double>(4, 3, A.data(), L.data()), std::domain_error);
}

TEST_CASE("Cholesky backward (Murray 2016) matches finite differences", "[kernels][cholesky]") {
  std::mt19937 rng(3);
  const I64 n = 5, batch = 2;
  auto A = rand_spd(batch, n, rng);
  auto G = randv(batch * n * n, rng);
  for (I64 b = 0; b < batch; ++b)  // upstream only on the lower triangle (L's free entries)
    for (I64 i = 0; i < n; ++i)
      for (I64 j = i + 1; j < n; ++j) G[b * n * n + i * n + j] = 0;
  std::vector<double> L(A.size()), gA(A.size());
  cholesky_forward<double>(batch, n, A.data(), L.data());
  cholesky_backward<double>(batch, n, L.data(), G.data(), gA.data());
  auto loss = [&](const std::vector<double>& X) {
    std::vector<double> Lx(X.size());
    cholesky_forward<double>(batch, n, X.data(), Lx.data());
    return dot(Lx, G);
  };
  const double h = 1e-6;
  for (I64 b = 0; b < batch; ++b)
    for (I64 i = 0; i < n; ++i)
      for (I64 j = 0; j <= i; ++j) {  // symmetric perturbation of (i,j) and (j,i)
        auto Ap = A, Am = A;
        Ap[b * n * n + i * n + j] += h, Am[b * n * n + i * n + j] -= h;
        if (i != j) Ap[b * n * n + j * n + i] += h, Am[b * n * n + j * n + i] -= h;
        const double fd = (loss(Ap) - loss(Am)) / (2 * h);
        const double an = (i == j) ? gA[b * n * n + i * n + i] : gA[b * n * n + i * n + j] + gA[b * n * n + j * n + i];
        CHECK(fd == Approx(an).epsilon(1e-6).margin(1e-8));
      }
}

TEST_CASE("triangular solves and their backward", "[kernels][cholesky]") {
  std::mt19937 rng(4);
  const I64 n = 6, m = 3, batch = 2;
  auto A = rand_spd(batch, n, rng);
  std::vector<double> L(A.size());
  cholesky_forward<double>(batch, n, A.data(), L.data());
  auto Bm = randv(batch * n * m, rng), G = randv(batch * n * m, rng);
  for (bool tr : {false, true}) {
    std::vector<double> X(Bm.size()), gB(Bm.size()), gL(L.size());
    trsm_lower_forward<double>(batch, n, m, L.data(), Bm.data(), X.data(), tr);
    for (I64 b = 0; b < batch; ++b) {
      Eigen::Map<const MatD> Lm(L.data() + b * n * n, n, n), Xm(X.data() + b * n * m, n, m),
          Bb(Bm.data() + b * n * m, n, m);
      const MatD R = (tr ? MatD(Lm.transpose()) : MatD(Lm)) * Xm - Bb;
      CHECK(R.norm() < 1e-12);
    }
    trsm_lower_backward<double>(batch, n, m, L.data(), X.data(), G.data(), gB.data(), gL.data(), tr);
    auto loss = [&](const std::vector<double>& Lx, const std::vector<double>& Bx) {
      std::vector<double> Xx(Bx.size());
      trsm_lower_forward<double>(batch, n, m, Lx.data(), Bx.data(), Xx.data(), tr);
      return dot(Xx, G);
    };
    const double h = 1e-6;
    for (std::size_t k = 0; k < Bm.size(); k += 5) {
      auto Bp = Bm, Bq = Bm;
      Bp[k] += h, Bq[k] -= h;
      CHECK((loss(L, Bp) - loss(L, Bq)) / (2 * h) == Approx(gB[k]).epsilon(1e-6).margin(1e-8));
    }
    for (I64 b = 0; b < batch; ++b)
      for (I64 i = 0; i < n; ++i)
        for (I64 j = 0; j <= i; ++j) {
          auto Lp = L, Lq = L;
          const std::size_t k = static_cast<std::size_t>(b * n * n + i * n + j);
          Lp[k] += h, Lq[k] -= h;
          CHECK((loss(Lp, Bm) - loss(Lq, Bm)) / (2 * h) == Approx(gL[k]).epsilon(1e-6).margin(1e-8));
        }
    // in place (X aliases B)
    auto Xi = Bm;
    trsm_lower_forward<double>(batch, n, m, L.data(), Xi.data(), Xi.data(), tr);
    CHECK(Xi == X);
  }
  std::vector<double> Z(n * n, 0.0), Bz(n * m), Xz(n * m);
  CHECK_THROWS_AS(trsm_lower_forward<double>(1, n, m, Z.data(), Bz.data(), Xz.data()), std::domain_error);
}

TEST_CASE("SPD log-determinant and its backward", "[kernels][cholesky]") {
  std::mt19937 rng(5);
  const I64 n = 7, batch = 3;
  auto A = rand_spd(batch, n, rng);
  std::vector<double> ld(batch), L(A.size()), g = {0.5, -1.0, 2.0}, gA(A.size());
  spd_logdet_forward<double>(batch, n, A.data(), ld.data(), L.data());
  spd_logdet_backward<double>(batch, n, L.data(), g.data(), gA.data());
  for (I64 b = 0; b < batch; ++b) {
    Eigen::Map<const MatD> Am(A.data() + b * n * n, n, n);
    CHECK(ld[b] == Approx(std::log(Am.determinant())).epsilon(1e-12));
    Eigen::Map<const MatD> gAm(gA.data() + b * n * n, n, n);
    CHECK((gAm - g[b] * MatD(Am.inverse())).norm() < 1e-10);
  }
}

namespace {
/// Naive closed form with explicit inverses (double).
double kl_naive(I64 n, const double* mu0, const double* L0, const double* mu1, const double* L1, double eps) {
  Eigen::Map<const MatD> A0(L0, n, n), A1(L1, n, n);
  const MatD S0 = A0 * A0.transpose() + eps * MatD::Identity(n, n);
  const MatD S1 = A1 * A1.transpose() + eps * MatD::Identity(n, n);
  const MatD S1i = S1.inverse();
  Eigen::VectorXd d(n);
  for (I64 i = 0; i < n; ++i) d[i] = mu1[i] - mu0[i];
  return 0.5 * ((S1i * S0).trace() + d.dot(S1i * d) - static_cast<double>(n) + std::log(S1.determinant()) -
                std::log(S0.determinant()));
}
}  // namespace

TEST_CASE("Gaussian KL equals the explicit-inverse closed form; backward matches finite differences",
          "[kernels][cholesky][kl]") {
  std::mt19937 rng(6);
  for (I64 n : {1, 3, 6}) {
    const I64 P = 4;
    auto mu0 = randv(P * n, rng), mu1 = randv(P * n, rng), L0 = randv(P * n * n, rng), L1 = randv(P * n * n, rng);
    for (I64 p = 0; p < P; ++p)
      for (I64 i = 0; i < n; ++i) L0[p * n * n + i * n + i] += 2.0, L1[p * n * n + i * n + i] += 2.0;
    const double eps = 1e-4;
    std::vector<double> kl(P);
    gaussian_kl_forward<double>(P, n, mu0.data(), L0.data(), mu1.data(), L1.data(), kl.data(), eps);
    for (I64 p = 0; p < P; ++p)
      CHECK(kl[p] == Approx(kl_naive(n, mu0.data() + p * n, L0.data() + p * n * n, mu1.data() + p * n,
                                     L1.data() + p * n * n, eps))
                         .epsilon(1e-10));
    // KL(q‖q) = 0
    std::vector<double> kl0(P);
    gaussian_kl_forward<double>(P, n, mu0.data(), L0.data(), mu0.data(), L0.data(), kl0.data(), eps);
    for (double v : kl0) CHECK(v == Approx(0.0).margin(1e-10));

    auto g = randv(P, rng);
    std::vector<double> gm0(P * n), gL0(P * n * n), gm1(P * n), gL1(P * n * n);
    gaussian_kl_backward<double>(P, n, mu0.data(), L0.data(), mu1.data(), L1.data(), g.data(), gm0.data(),
                                 gL0.data(), gm1.data(), gL1.data(), eps);
    auto loss = [&]() {
      std::vector<double> k(P);
      gaussian_kl_forward<double>(P, n, mu0.data(), L0.data(), mu1.data(), L1.data(), k.data(), eps);
      return dot(k, g);
    };
    const double h = 1e-6;
    for (auto pr : {std::make_pair(&mu0, &gm0), std::make_pair(&L0, &gL0), std::make_pair(&mu1, &gm1),
                    std::make_pair(&L1, &gL1)}) {
      auto& x = *pr.first;
      const auto& gx = *pr.second;
      for (std::size_t k = 0; k < x.size(); k += 3) {
        const double x0 = x[k];
        x[k] = x0 + h;
        const double lp = loss();
        x[k] = x0 - h;
        const double lm = loss();
        x[k] = x0;
        CHECK((lp - lm) / (2 * h) == Approx(gx[k]).epsilon(1e-5).margin(1e-7));
      }
    }
  }
}

TEST_CASE("Gaussian KL with a prior shared across graphs accumulates prior gradients", "[kernels][cholesky][kl]") {
  std::mt19937 rng(7);
  const I64 n = 3, Bg = 3, C = 2, P = Bg * C;
  auto mu0 = randv(P * n, rng), L0 = randv(P * n * n, rng), mu1 = randv(C * n, rng), L1 = randv(C * n * n, rng);
  for (I64 p = 0; p < P; ++p)
    for (I64 i = 0; i < n; ++i) L0[p * n * n + i * n + i] += 2.0;
  for (I64 p = 0; p < C; ++p)
    for (I64 i = 0; i < n; ++i) L1[p * n * n + i * n + i] += 2.0;
  // expand the prior to P problems and compare
  std::vector<double> mu1e(P * n), L1e(P * n * n);
  for (I64 p = 0; p < P; ++p) {
    std::copy(mu1.begin() + (p % C) * n, mu1.begin() + (p % C + 1) * n, mu1e.begin() + p * n);
    std::copy(L1.begin() + (p % C) * n * n, L1.begin() + (p % C + 1) * n * n, L1e.begin() + p * n * n);
  }
  std::vector<double> k1(P), k2(P), g(P, 1.0);
  gaussian_kl_forward<double>(P, n, mu0.data(), L0.data(), mu1.data(), L1.data(), k1.data(), 1e-4, C);
  gaussian_kl_forward<double>(P, n, mu0.data(), L0.data(), mu1e.data(), L1e.data(), k2.data(), 1e-4);
  CHECK(k1 == k2);
  std::vector<double> gm1(C * n), gL1(C * n * n), gm1e(P * n), gL1e(P * n * n);
  gaussian_kl_backward<double>(P, n, mu0.data(), L0.data(), mu1.data(), L1.data(), g.data(), nullptr, nullptr,
                               gm1.data(), gL1.data(), 1e-4, C);
  gaussian_kl_backward<double>(P, n, mu0.data(), L0.data(), mu1e.data(), L1e.data(), g.data(), nullptr, nullptr,
                               gm1e.data(), gL1e.data(), 1e-4);
  for (I64 q = 0; q < C; ++q)
    for (I64 i = 0; i < n; ++i) {
      double s = 0;
      for (I64 p = q; p < P; p += C) s += gm1e[p * n + i];
      CHECK(gm1[q * n + i] == Approx(s));
    }
  CHECK_THROWS_AS(gaussian_kl_forward<double>(P, n, mu0.data(), L0.data(), mu1.data(), L1.data(), k1.data(), -1.0),
                  std::invalid_argument);
  CHECK_THROWS_AS(gaussian_kl_forward<double>(P, n, mu0.data(), L0.data(), mu1.data(), L1.data(), k1.data(), 1e-4, 4),
                  std::invalid_argument);
  // zero L and zero jitter: singular covariance → domain_error
  std::vector<double> Z(P * n * n, 0.0);
  CHECK_THROWS_AS(gaussian_kl_forward<double>(P, n, mu0.data(), Z.data(), mu1e.data(), L1e.data(), k1.data(), 0.0),
                  std::domain_error);
}

TEST_CASE("free matching and Hungarian matching", "[kernels][cholesky][matching]") {
  const double mu[] = {0.0, 0.0, 5.0, 5.0, 1.0, 0.2};
  const double mh[] = {4.9, 5.1, 0.9, 0.1, -0.1, 0.0};
  std::int64_t idx[3];
  free_matching<double>(3, 3, 2, mu, mh, idx);
  CHECK(idx[0] == 2);
  CHECK(idx[1] == 0);
  CHECK(idx[2] == 1);
  // Hungarian vs brute force over all permutations
  std::mt19937 rng(8);
  for (I64 n : {0, 1, 2, 4, 6}) {
    auto c = randv(n * n, rng);
    std::vector<std::int64_t> a(n);
    const double tot = hungarian<double>(n, c.data(), a.data());
    std::vector<std::int64_t> perm(n);
    std::iota(perm.begin(), perm.end(), 0);
    double best = n ? 1e300 : 0.0;
    do {
      double s = 0;
      for (I64 i = 0; i < n; ++i) s += c[i * n + perm[i]];
      best = std::min(best, s);
    } while (std::next_permutation(perm.begin(), perm.end()));
    CHECK(tot == Approx(best).margin(1e-12));
    std::vector<std::int64_t> sorted = a;
    std::sort(sorted.begin(), sorted.end());
    for (I64 i = 0; i < n; ++i) CHECK(sorted[i] == i);
    double s = 0;
    for (I64 i = 0; i < n; ++i) s += c[i * n + a[i]];
    CHECK(s == Approx(tot).margin(1e-12));
  }
  std::vector<double> bad = {1.0, std::nan("")};
  std::int64_t a2[1];
  CHECK_THROWS_AS(hungarian<double>(1, bad.data() + 1, a2), std::domain_error);
}
