// Tests for include/mgvae/kernels/cpu/equivariant_linear.hpp: each basis map against an independent
// brute-force formula, adjoints (<G, f(X)> = <f*(G), X>) and finite differences, permutation equivariance.
#include "mgvae/kernels/cpu/equivariant_linear.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "support/catch.hpp"

using namespace mgvae::kernels::cpu;
using I64 = std::int64_t;

namespace {

struct Batch {
  std::vector<I64> node_off{0}, pair_off{0};
  I64 B = 0;
  explicit Batch(const std::vector<I64>& sizes) {
    B = static_cast<I64>(sizes.size());
    for (I64 n : sizes) node_off.push_back(node_off.back() + n), pair_off.push_back(pair_off.back() + n * n);
  }
  I64 n(I64 g) const { return node_off[g + 1] - node_off[g]; }
};

std::vector<double> randv(std::size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<double> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  return std::inner_product(a.begin(), a.end(), b.begin(), 0.0);
}

const std::vector<I64> kSizes = {4, 0, 1, 3, 6};

}  // namespace

TEST_CASE("2->2 basis maps match their definitions", "[kernels][equivariant]") {
  std::mt19937 rng(1);
  const Batch b(kSizes);
  const I64 C = 3;
  auto X = randv(b.pair_off[b.B] * C, rng);
  for (bool norm : {false, true}) {
    std::vector<double> Y(b.pair_off[b.B] * 15 * C);
    equivariant_2to2_forward<double>(b.B, b.node_off.data(), b.pair_off.data(), X.data(), C, Y.data(), norm);
    for (I64 g = 0; g < b.B; ++g) {
      const I64 n = b.n(g);
      const double al = norm ? 1.0 / n : 1.0, be = norm ? 1.0 / (n * n) : 1.0;
      auto x = [&](I64 i, I64 j, I64 c) { return X[(b.pair_off[g] + i * n + j) * C + c]; };
      for (I64 i = 0; i < n; ++i)
        for (I64 j = 0; j < n; ++j)
          for (I64 c = 0; c < C; ++c) {
            double r_i = 0, r_j = 0, s_i = 0, s_j = 0, tr = 0, tot = 0;
            for (I64 k = 0; k < n; ++k) {
              r_i += x(i, k, c), r_j += x(j, k, c), s_i += x(k, i, c), s_j += x(k, j, c), tr += x(k, k, c);
              for (I64 l = 0; l < n; ++l) tot += x(k, l, c);
            }
            const double dl = i == j ? 1.0 : 0.0;
            const double want[15] = {dl * x(i, i, c), dl * al * tr, dl * al * r_i, dl * al * s_i, dl * be * tot,
                                     al * s_j,        al * s_i,     al * r_j,      al * r_i,      x(i, j, c),
                                     x(j, i, c),      x(j, j, c),   x(i, i, c),    al * tr,       be * tot};
            for (int k = 0; k < 15; ++k)
              CHECK(Y[(b.pair_off[g] + i * n + j) * 15 * C + k * C + c] == Approx(want[k]).margin(1e-12));
          }
    }
  }
}

TEST_CASE("equivariant maps: backward is the adjoint and matches finite differences", "[kernels][equivariant]") {
  std::mt19937 rng(2);
  const Batch b(kSizes);
  const I64 C = 2, P = b.pair_off[b.B], N = b.node_off[b.B];
  for (bool norm : {false, true}) {
    {  // 2->2
      auto X = randv(P * C, rng), G = randv(P * 15 * C, rng);
      std::vector<double> Y(P * 15 * C), dX(P * C);
      equivariant_2to2_forward<double>(b.B, b.node_off.data(), b.pair_off.data(), X.data(), C, Y.data(), norm);
      equivariant_2to2_backward<double>(b.B, b.node_off.data(), b.pair_off.data(), G.data(), C, dX.data(), norm);
      CHECK(dot(Y, G) == Approx(dot(X, dX)).epsilon(1e-12));
      // central finite difference on a few coordinates
      for (std::size_t k = 0; k < X.size(); k += 7) {
        auto Xp = X, Xm = X;
        Xp[k] += 1e-6, Xm[k] -= 1e-6;
        std::vector<double> Yp(Y.size()), Ym(Y.size());
        equivariant_2to2_forward<double>(b.B, b.node_off.data(), b.pair_off.data(), Xp.data(), C, Yp.data(), norm);
        equivariant_2to2_forward<double>(b.B, b.node_off.data(), b.pair_off.data(), Xm.data(), C, Ym.data(), norm);
        CHECK((dot(Yp, G) - dot(Ym, G)) / 2e-6 == Approx(dX[k]).epsilon(1e-6));
      }
    }
    {  // 2->1
      auto X = randv(P * C, rng), G = randv(N * 5 * C, rng);
      std::vector<double> Y(N * 5 * C), dX(P * C);
      equivariant_2to1_forward<double>(b.B, b.node_off.data(), b.pair_off.data(), X.data(), C, Y.data(), norm);
      equivariant_2to1_backward<double>(b.B, b.node_off.data(), b.pair_off.data(), G.data(), C, dX.data(), norm);
      CHECK(dot(Y, G) == Approx(dot(X, dX)).epsilon(1e-12));
    }
    {  // 1->2
      auto x = randv(N * C, rng), G = randv(P * 5 * C, rng);
      std::vector<double> Y(P * 5 * C), dx(N * C);
      equivariant_1to2_forward<double>(b.B, b.node_off.data(), b.pair_off.data(), x.data(), C, Y.data(), norm);
      equivariant_1to2_backward<double>(b.B, b.node_off.data(), b.pair_off.data(), G.data(), C, dx.data(), norm);
      CHECK(dot(Y, G) == Approx(dot(x, dx)).epsilon(1e-12));
    }
    {  // 1->1
      auto x = randv(N * C, rng), G = randv(N * 2 * C, rng);
      std::vector<double> Y(N * 2 * C), dx(N * C);
      equivariant_1to1_forward<double>(b.B, b.node_off.data(), x.data(), C, Y.data(), norm);
      equivariant_1to1_backward<double>(b.B, b.node_off.data(), G.data(), C, dx.data(), norm);
      CHECK(dot(Y, G) == Approx(dot(x, dx)).epsilon(1e-12));
    }
  }
  {  // outer product (nonlinear): finite differences
    auto z = randv(N * C, rng), G = randv(P * C, rng);
    std::vector<double> Y(P * C), dz(N * C);
    outer_product_backward<double>(b.B, b.node_off.data(), b.pair_off.data(), z.data(), G.data(), C, dz.data());
    for (std::size_t k = 0; k < z.size(); ++k) {
      auto zp = z, zm = z;
      zp[k] += 1e-6, zm[k] -= 1e-6;
      std::vector<double> Yp(Y.size()), Ym(Y.size());
      outer_product_forward<double>(b.B, b.node_off.data(), b.pair_off.data(), zp.data(), C, Yp.data());
      outer_product_forward<double>(b.B, b.node_off.data(), b.pair_off.data(), zm.data(), C, Ym.data());
      CHECK((dot(Yp, G) - dot(Ym, G)) / 2e-6 == Approx(dz[k]).epsilon(1e-6).margin(1e-9));
    }
  }
}

TEST_CASE("1->2, 2->1, 1->1 basis maps match their definitions", "[kernels][equivariant]") {
  std::mt19937 rng(4);
  const Batch b({3, 1});
  const I64 C = 1, N = b.node_off[b.B], P = b.pair_off[b.B];
  auto x = randv(N * C, rng), X = randv(P * C, rng);
  std::vector<double> Y12(P * 5), Y21(N * 5), Y11(N * 2);
  equivariant_1to2_forward<double>(b.B, b.node_off.data(), b.pair_off.data(), x.data(), C, Y12.data(), true);
  equivariant_2to1_forward<double>(b.B, b.node_off.data(), b.pair_off.data(), X.data(), C, Y21.data(), true);
  equivariant_1to1_forward<double>(b.B, b.node_off.data(), x.data(), C, Y11.data(), true);
  const I64 n = 3;
  const double sx = (x[0] + x[1] + x[2]) / n;
  // graph 0, pair (0,1)
  const double* y = &Y12[(0 * n + 1) * 5];
  CHECK(y[0] == 0.0);
  CHECK(y[1] == x[0]);
  CHECK(y[2] == x[1]);
  CHECK(y[3] == Approx(sx));
  CHECK(y[4] == 0.0);
  CHECK(Y12[(2 * n + 2) * 5 + 4] == Approx(sx));
  double r1 = 0, s1 = 0, tr = 0, tot = 0;
  for (I64 k = 0; k < n; ++k) {
    r1 += X[1 * n + k], s1 += X[k * n + 1], tr += X[k * n + k];
    for (I64 l = 0; l < n; ++l) tot += X[k * n + l];
  }
  CHECK(Y21[1 * 5 + 0] == Approx(r1 / n));
  CHECK(Y21[1 * 5 + 1] == Approx(s1 / n));
  CHECK(Y21[1 * 5 + 2] == Approx(X[1 * n + 1]));
  CHECK(Y21[1 * 5 + 3] == Approx(tot / (n * n)));
  CHECK(Y21[1 * 5 + 4] == Approx(tr / n));
  CHECK(Y11[1 * 2 + 1] == Approx(sx));
}

TEST_CASE("2->2 and 2->1 expansions are permutation equivariant", "[kernels][equivariant]") {
  std::mt19937 rng(6);
  const I64 n = 7, C = 2;
  const Batch b({n});
  auto X = randv(n * n * C, rng);
  std::vector<I64> s(n);
  std::iota(s.begin(), s.end(), 0);
  std::shuffle(s.begin(), s.end(), rng);
  std::vector<double> Xp(X.size());
  for (I64 i = 0; i < n; ++i)
    for (I64 j = 0; j < n; ++j)
      for (I64 c = 0; c < C; ++c) Xp[(i * n + j) * C + c] = X[(s[i] * n + s[j]) * C + c];
  std::vector<double> Y(n * n * 15 * C), Yp(Y.size()), Z(n * 5 * C), Zp(Z.size());
  equivariant_2to2_forward<double>(1, b.node_off.data(), b.pair_off.data(), X.data(), C, Y.data(), true);
  equivariant_2to2_forward<double>(1, b.node_off.data(), b.pair_off.data(), Xp.data(), C, Yp.data(), true);
  equivariant_2to1_forward<double>(1, b.node_off.data(), b.pair_off.data(), X.data(), C, Z.data(), true);
  equivariant_2to1_forward<double>(1, b.node_off.data(), b.pair_off.data(), Xp.data(), C, Zp.data(), true);
  for (I64 i = 0; i < n; ++i) {
    for (I64 j = 0; j < n; ++j)
      for (I64 k = 0; k < 15 * C; ++k)
        CHECK(Yp[(i * n + j) * 15 * C + k] == Approx(Y[(s[i] * n + s[j]) * 15 * C + k]).margin(1e-12));
    for (I64 k = 0; k < 5 * C; ++k) CHECK(Zp[i * 5 * C + k] == Approx(Z[s[i] * 5 * C + k]).margin(1e-12));
  }
}

TEST_CASE("equivariant maps validate offsets", "[kernels][equivariant]") {
  std::vector<I64> no = {0, 2}, po = {0, 3};
  std::vector<double> X(4), Y(60);
  CHECK_THROWS_AS(equivariant_2to2_forward<double>(1, no.data(), po.data(), X.data(), 1, Y.data()),
                  std::invalid_argument);
  CHECK_THROWS_AS(equivariant_1to1_forward<double>(1, no.data(), X.data(), -1, Y.data()), std::invalid_argument);
}
