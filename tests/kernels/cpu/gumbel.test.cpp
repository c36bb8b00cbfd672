// Tests for include/mgvae/kernels/cpu/gumbel.hpp: Gumbel-max frequencies vs softmax (chi-square at a fixed
// seed), one-hot/argmax consistency, reproducibility, straight-through backward vs finite differences.
#include "mgvae/kernels/cpu/gumbel.hpp"

#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <stdexcept>
#include <vector>

#include "support/catch.hpp"

using namespace mgvae::kernels::cpu;
using I64 = std::int64_t;

TEST_CASE("Gumbel-max frequencies follow softmax(logits) (chi-square, fixed seed)", "[kernels][gumbel]") {
  const I64 K = 5, N = 20000;
  const double lg[K] = {0.3, -1.0, 1.2, 0.0, -0.4};
  std::vector<double> logits(N * K), hard(N * K), soft(N * K);
  for (I64 i = 0; i < N; ++i)
    for (I64 k = 0; k < K; ++k) logits[i * K + k] = lg[k];
  std::vector<I64> idx(N);
  gumbel_softmax_forward<double>(N, K, logits.data(), 0.5, mgvae::CounterRng(42, 3), 0, hard.data(), soft.data(),
                                 idx.data());
  double Z = 0;
  for (double v : lg) Z += std::exp(v);
  std::vector<double> cnt(K, 0.0);
  for (I64 i = 0; i < N; ++i) cnt[idx[i]] += 1;
  double chi2 = 0;
  for (I64 k = 0; k < K; ++k) {
    const double e = N * std::exp(lg[k]) / Z;
    chi2 += (cnt[k] - e) * (cnt[k] - e) / e;
  }
  INFO("chi2 = " << chi2);
  CHECK(chi2 < 18.47);  // χ²(4 dof) 0.999 quantile
}

TEMPLATE_TEST_CASE("hard is the one-hot argmax of the soft sample; reproducible by (seed, stream, offset)",
                   "[kernels][gumbel]", float, double) {
  using T = TestType;
  const I64 N = 50, K = 7;
  std::mt19937 rng(1);
  std::normal_distribution<double> nd;
  std::vector<T> logits(N * K), h1(N * K), s1(N * K), h2(N * K), s2(N * K), h3(N * K);
  for (auto& v : logits) v = static_cast<T>(nd(rng));
  const mgvae::CounterRng r(7, 1);
  gumbel_softmax_forward<T>(N, K, logits.data(), T(0.7), r, 100, h1.data(), s1.data());
  gumbel_softmax_forward<T>(N, K, logits.data(), T(0.7), r, 100, h2.data(), s2.data());
  gumbel_softmax_forward<T>(N, K, logits.data(), T(0.7), r, 100 + N * K, h3.data(), nullptr);
  CHECK(h1 == h2);
  CHECK(s1 == s2);
  CHECK(h1 != h3);
  for (I64 i = 0; i < N; ++i) {
    T sum = 0, ones = 0;
    I64 am = 0;
    for (I64 k = 0; k < K; ++k) {
      sum += s1[i * K + k];
      ones += h1[i * K + k];
      if (s1[i * K + k] > s1[i * K + am]) am = k;
    }
    CHECK(sum == Approx(1.0).epsilon(1e-5));
    CHECK(ones == T(1));
    CHECK(h1[i * K + am] == T(1));
  }
}

TEST_CASE("straight-through backward equals the soft sample's Jacobian / tau (finite differences)",
          "[kernels][gumbel]") {
  const I64 N = 4, K = 6;
  const double tau = 0.8;
  std::mt19937 rng(2);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> logits(N * K), G(N * K), hard(N * K), soft(N * K), gl(N * K);
  for (auto& v : logits) v = u(rng);
  for (auto& v : G) v = u(rng);
  const mgvae::CounterRng r(3, 0);
  gumbel_softmax_forward<double>(N, K, logits.data(), tau, r, 0, hard.data(), soft.data());
  gumbel_softmax_backward<double>(N, K, soft.data(), tau, G.data(), gl.data());
  auto loss = [&](const std::vector<double>& l) {
    std::vector<double> h(N * K), s(N * K);
    gumbel_softmax_forward<double>(N, K, l.data(), tau, r, 0, h.data(), s.data());
    return std::inner_product(s.begin(), s.end(), G.begin(), 0.0);
  };
  for (std::size_t k = 0; k < logits.size(); ++k) {
    auto lp = logits, lm = logits;
    lp[k] += 1e-6, lm[k] -= 1e-6;
    CHECK((loss(lp) - loss(lm)) / 2e-6 == Approx(gl[k]).epsilon(1e-6).margin(1e-9));
  }
}

TEST_CASE("Gumbel kernels reject tau <= 0", "[kernels][gumbel]") {
  std::vector<double> l(4), h(4), s(4), g(4);
  const mgvae::CounterRng r(0, 0);
  CHECK_THROWS_AS(gumbel_softmax_forward<double>(2, 2, l.data(), 0.0, r, 0, h.data(), s.data()),
                  std::invalid_argument);
  CHECK_THROWS_AS(gumbel_softmax_forward<double>(2, 2, l.data(), -1.0, r, 0, h.data(), s.data()),
                  std::invalid_argument);
  CHECK_THROWS_AS(gumbel_softmax_backward<double>(2, 2, s.data(), 0.0, g.data(), l.data()), std::invalid_argument);
  CHECK_THROWS_AS(gumbel_softmax_forward<double>(2, 0, l.data(), 1.0, r, 0, h.data(), s.data()),
                  std::invalid_argument);
}
