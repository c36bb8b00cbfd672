// Gumbel-softmax (noise given or drawn), the straight-through estimator and the balanced-cut KL as
// differentiable ops (ops/gumbel.hpp).
#include "mgvae/ops/gumbel.hpp"

#include <cmath>
#include <vector>

#include "mgvae/autodiff/gradcheck.hpp"
#include "mgvae/ops/elementwise.hpp"
#include "mgvae/ops/softmax.hpp"
#include "support/catch.hpp"

using namespace mgvae;
using TD = Tensor<double>;
using VD = Var<double>;

TEST_CASE("gumbel_softmax_st: sample frequencies follow softmax(logits) (chi-square, fixed seed)", "[ops][gumbel]") {
  const std::int64_t N = 20000, K = 4;
  const std::vector<double> l = {0.5, -1.0, 1.5, 0.0};
  TD logits(Shape{N, K});
  for (std::int64_t i = 0; i < N; ++i)
    for (std::int64_t k = 0; k < K; ++k) logits.data()[i * K + k] = l[k];
  std::vector<std::int64_t> idx;
  const VD h = gumbel_softmax_st(VD(logits), 1.0, CounterRng(2024, 7), 0, &idx);
  std::vector<double> count(K, 0.0);
  for (std::int64_t i = 0; i < N; ++i) {
    count[idx[i]] += 1;
    REQUIRE(h.value().data()[i * K + idx[i]] == 1.0);
  }
  double z = 0;
  for (double v : l) z += std::exp(v);
  double chi2 = 0;
  for (std::int64_t k = 0; k < K; ++k) {
    const double e = N * std::exp(l[k]) / z;
    chi2 += (count[k] - e) * (count[k] - e) / e;
  }
  // 3 degrees of freedom: P(chi2 > 16.27) = 0.001
  CHECK(chi2 < 16.27);
  // the bound is not vacuous: uniform frequencies would fail it
  double chi2_uniform = 0;
  for (std::int64_t k = 0; k < K; ++k) {
    const double e = N * std::exp(l[k]) / z;
    chi2_uniform += (N / 4.0 - e) * (N / 4.0 - e) / e;
  }
  CHECK(chi2_uniform > 16.27);
}

TEST_CASE("gumbel_softmax_st: backward is the relaxed sample's Jacobian (vs softmax((l+g)/tau) op)", "[ops][gumbel][grad]") {
  const std::int64_t N = 5, K = 3;
  const TD logits = TD::uniform({N, K}, CounterRng(3), -1.0, 1.0);
  const TD seed = TD::uniform({N, K}, CounterRng(4), -1.0, 1.0);
  const CounterRng rng(99, 1);
  const std::uint64_t offset = 1000;
  for (double tau : {0.5, 1.0, 2.0}) {
    VD a(logits, true);
    backward(gumbel_softmax_st(a, tau, rng, offset), seed);
    // naive reference: the same noise, composed from generic ops
    TD g(Shape{N, K});
    for (std::int64_t i = 0; i < N * K; ++i) g.data()[i] = rng.gumbel(offset + static_cast<std::uint64_t>(i));
    VD b(logits, true);
    backward(softmax(mul_scalar(add(b, constant(g)), 1.0 / tau), 1), seed);
    CHECK(max_abs_diff(a.grad(), b.grad()) < 1e-12);
  }
}

TEST_CASE("gumbel_softmax_st: reproducible by (seed, stream, offset); hard is one-hot", "[ops][gumbel]") {
  const TD logits = TD::uniform({50, 6}, CounterRng(5), -2.0, 2.0);
  const VD a = gumbel_softmax_st(VD(logits), 0.7, CounterRng(1, 2), 10);
  const VD b = gumbel_softmax_st(VD(logits), 0.7, CounterRng(1, 2), 10);
  const VD c = gumbel_softmax_st(VD(logits), 0.7, CounterRng(1, 3), 10);
  CHECK(max_abs_diff(a.value(), b.value()) == 0.0);
  CHECK(max_abs_diff(a.value(), c.value()) > 0.0);
  for (std::int64_t i = 0; i < 50; ++i) {
    double s = 0;
    for (std::int64_t k = 0; k < 6; ++k) s += a.value().data()[i * 6 + k];
    CHECK(s == 1.0);
  }
}

TEST_CASE("gumbel_softmax_st rejects bad tau, shapes and NaN logits", "[ops][gumbel]") {
  const VD l(TD::zeros({3, 2}));
  CHECK_THROWS_AS(gumbel_softmax_st(l, 0.0, CounterRng(1)), std::invalid_argument);
  CHECK_THROWS_AS(gumbel_softmax_st(l, -1.0, CounterRng(1)), std::invalid_argument);
  CHECK_THROWS_AS(gumbel_softmax_st(l, std::nan(""), CounterRng(1)), std::invalid_argument);
  CHECK_THROWS_AS(gumbel_softmax_st(VD(TD::zeros({6})), 1.0, CounterRng(1)), std::invalid_argument);
  CHECK_THROWS_AS(gumbel_softmax_st(VD(TD::zeros({3, 0})), 1.0, CounterRng(1)), std::invalid_argument);
  TD bad = TD::zeros({3, 2});
  bad.data()[3] = std::nan("");
  CHECK_THROWS_AS(gumbel_softmax_st(VD(bad), 1.0, CounterRng(1)), std::domain_error);
}

TEST_CASE("gumbel_softmax: relaxed sample vs naive softmax((l+g)/tau), both forms, gradcheck", "[ops][gumbel][grad]") {
  const TD logits = TD::uniform({2, 3, 4}, CounterRng(31), -1.0, 1.0);
  const TD g = sample_gumbel<double>(logits.shape(), CounterRng(32), 7);
  CHECK(g.data()[5] == CounterRng(32).gumbel(12));  // element i at offset + i
  for (GumbelSoftmaxForm form : {GumbelSoftmaxForm::Fused, GumbelSoftmaxForm::LogSumExp})
    for (double tau : {0.6, 1.0}) {
      GumbelSoftmaxOptions o;
      o.straight_through = false;
      o.form = form;
      const auto s = gumbel_softmax(VD(logits), g, 1.0 / tau, o);
      REQUIRE(s.labels.size() == 6);
      for (std::int64_t r = 0; r < 6; ++r) {
        double mx = -1e300, z = 0;
        std::int64_t best = 0;
        for (std::int64_t k = 0; k < 4; ++k) {
          const double v = logits.data()[r * 4 + k] + g.data()[r * 4 + k];
          if (v > mx) mx = v, best = k;
        }
        for (std::int64_t k = 0; k < 4; ++k) z += std::exp((logits.data()[r * 4 + k] + g.data()[r * 4 + k] - mx) / tau);
        CHECK(s.labels[static_cast<std::size_t>(r)] == best);
        for (std::int64_t k = 0; k < 4; ++k)
          CHECK(s.pi.value().data()[r * 4 + k] ==
                Approx(std::exp((logits.data()[r * 4 + k] + g.data()[r * 4 + k] - mx) / tau) / z).epsilon(1e-13));
      }
      const TD w = TD::uniform(logits.shape(), CounterRng(33), -1.0, 1.0);
      const auto r = gradcheck([&](const std::vector<VD>& v) { return mul(gumbel_softmax(v[0], g, 1.0 / tau, o).pi, constant(w)); },
                               {logits});
      INFO(r.message);
      CHECK(r.ok);
    }
}

TEST_CASE("gumbel_softmax: straight-through value is the one-hot, gradient the relaxed sample's", "[ops][gumbel][grad]") {
  const TD logits = TD::uniform({5, 3}, CounterRng(41), -1.0, 1.0);
  const TD g = sample_gumbel<double>(logits.shape(), CounterRng(42));
  const TD w = TD::uniform(logits.shape(), CounterRng(43), -1.0, 1.0);
  VD a(logits, true), b(logits, true);
  const auto s = gumbel_softmax(a, g, 1.0 / 0.5);
  std::vector<std::int64_t> lab;
  const TD hard = one_hot_argmax(add(VD(logits), constant(g)).value(), &lab);
  CHECK(max_abs_diff(s.pi.value(), hard) == 0.0);
  CHECK(s.labels == lab);
  backward(sum(mul(s.pi, constant(w))));
  backward(sum(mul(softmax(mul_scalar(add(b, constant(g)), 2.0), 1), constant(w))));
  CHECK(max_abs_diff(a.grad(), b.grad()) < 1e-15);
  // no noise: the argmax of the logits (Eq. 4)
  CHECK(gumbel_softmax(VD(logits), TD(), 1.0).labels == [&] {
    std::vector<std::int64_t> l0;
    one_hot_argmax(logits, &l0);
    return l0;
  }());
  // argmax_of_scaled: the argmax of (l + g)/tau; equal to the default away from ties
  GumbelSoftmaxOptions o;
  o.argmax_of_scaled = true;
  CHECK(gumbel_softmax(VD(logits), g, 2.0, o).labels == s.labels);
}

TEST_CASE("straight_through and one_hot_argmax: adjoint passed unchanged, first maximum on ties", "[ops][gumbel]") {
  VD soft(TD::from({1, 3}, {0.2, 0.5, 0.3}), true);
  const TD hard = one_hot_argmax(soft.value());
  CHECK(hard.to_vector() == std::vector<double>{0, 1, 0});
  const VD st = straight_through(hard, soft);
  CHECK(st.value().to_vector() == std::vector<double>{0, 1, 0});
  backward(sum(mul(st, constant(TD::from({1, 3}, {1.0, 2.0, 3.0})))));
  CHECK(soft.grad().to_vector() == std::vector<double>{1.0, 2.0, 3.0});
  CHECK(one_hot_argmax(TD::from({2, 2}, {1.0, 1.0, -2.0, 3.0})).to_vector() == std::vector<double>{1, 0, 0, 1});
}

TEST_CASE("gumbel_softmax, straight_through, one_hot_argmax: typed errors", "[ops][gumbel][errors]") {
  const VD l(TD::zeros({3, 2}));
  CHECK_THROWS_AS(gumbel_softmax(l, TD::zeros({2, 3}), 1.0), std::invalid_argument);
  CHECK_THROWS_WITH(gumbel_softmax(l, TD::zeros({2, 3}), 1.0), Catch::Contains("gumbel_softmax") && Catch::Contains("[2, 3]"));
  CHECK_THROWS_AS(gumbel_softmax(l, TD(), 0.0), std::invalid_argument);
  CHECK_THROWS_AS(gumbel_softmax(l, TD(), std::nan("")), std::invalid_argument);
  CHECK_THROWS_AS(gumbel_softmax(VD(TD::zeros({3, 0})), TD(), 1.0), std::invalid_argument);
  CHECK_THROWS_AS(gumbel_softmax(VD(TD::scalar(1.0)), TD(), 1.0), std::invalid_argument);
  CHECK_THROWS_AS(straight_through(TD::zeros({3, 2}), VD(TD::zeros({2, 3}))), std::invalid_argument);
  CHECK_THROWS_AS(one_hot_argmax(TD::scalar(1.0)), std::invalid_argument);
}

TEST_CASE("balanced_cut_kl: values, naive reference and gradcheck", "[ops][gumbel][grad]") {
  // balanced hard assignment: 0; everything in one cluster: log K
  TD bal = TD::zeros({4, 2});
  bal.data()[0] = bal.data()[2] = bal.data()[5] = bal.data()[7] = 1.0;
  CHECK(balanced_cut_kl(VD(bal)).item() == Approx(0.0).margin(1e-15));
  TD one = TD::zeros({4, 3});
  for (int i = 0; i < 4; ++i) one.data()[i * 3] = 1.0;
  CHECK(balanced_cut_kl(VD(one)).item() == Approx(std::log(3.0)).epsilon(1e-14));
  // soft assignment vs the formula computed by hand
  const TD raw = TD::uniform({6, 3}, CounterRng(8), 0.1, 1.0);
  TD soft(raw.shape());
  for (int i = 0; i < 6; ++i) {
    double s = 0;
    for (int k = 0; k < 3; ++k) s += raw.data()[i * 3 + k];
    for (int k = 0; k < 3; ++k) soft.data()[i * 3 + k] = raw.data()[i * 3 + k] / s;
  }
  double kl = 0;
  for (int k = 0; k < 3; ++k) {
    double p = 0;
    for (int i = 0; i < 6; ++i) p += soft.data()[i * 3 + k] / 6.0;
    kl += p * std::log(3.0 * p);
  }
  CHECK(balanced_cut_kl(VD(soft)).item() == Approx(kl).epsilon(1e-13));
  const auto r = gradcheck([](const std::vector<VD>& v) { return balanced_cut_kl(v[0]); }, {soft});
  INFO(r.message);
  CHECK(r.ok);
  // permutation invariance over nodes
  TD perm(soft.shape());
  const int p[6] = {3, 5, 0, 1, 4, 2};
  for (int i = 0; i < 6; ++i)
    for (int k = 0; k < 3; ++k) perm.data()[p[i] * 3 + k] = soft.data()[i * 3 + k];
  CHECK(balanced_cut_kl(VD(perm)).item() == Approx(kl).epsilon(1e-13));
  CHECK_THROWS_AS(balanced_cut_kl(VD(TD::zeros({0, 3}))), std::invalid_argument);
  CHECK_THROWS_AS(balanced_cut_kl(VD(TD::zeros({3}))), std::invalid_argument);
}

TEST_CASE("balanced_cut_kl forms and usage_kl: naive reference, agreement, gradcheck, errors", "[ops][gumbel][grad]") {
  const TD raw = TD::uniform({2, 5, 3}, CounterRng(51), 0.1, 1.0);
  TD P(Shape{2, 3});  // two usage distributions
  for (std::int64_t b = 0; b < 2; ++b) {
    double s = 0;
    for (std::int64_t k = 0; k < 3; ++k) s += raw.data()[b * 15 + k];
    for (std::int64_t k = 0; k < 3; ++k) P.data()[b * 3 + k] = raw.data()[b * 15 + k] / s;
  }
  double naive = 0, naive_eps = 0;
  for (std::int64_t j = 0; j < 6; ++j) {
    naive += P.data()[j] * std::log(3.0 * P.data()[j]);
    naive_eps += P.data()[j] * std::log(3.0 * P.data()[j] + 1e-3);
  }
  CHECK(usage_kl(VD(P)).item() == Approx(naive).epsilon(1e-14));
  CHECK(usage_kl(VD(P), BalancedCutForm::Epsilon, 1e-3).item() == Approx(naive_eps).epsilon(1e-14));
  for (BalancedCutForm f : {BalancedCutForm::ZeroOffset, BalancedCutForm::Epsilon}) {
    const auto r = gradcheck([f](const std::vector<VD>& v) { return usage_kl(v[0], f, 1e-3); }, {P});
    INFO(r.message);
    CHECK(r.ok);
  }
  // empty cluster: 0·log 0 = 0 in the ZeroOffset form
  CHECK(usage_kl(VD(TD::from({3}, {0.5, 0.5, 0.0}))).item() == Approx(0.5 * std::log(1.5) * 2));
  // the assignment forms agree with each other (hard, soft, with an empty cluster)
  TD hard = TD::zeros({4, 3});
  hard.data()[0] = hard.data()[3] = hard.data()[6] = hard.data()[10] = 1.0;
  const TD soft = softmax(VD(TD::uniform({6, 3}, CounterRng(52), -1.0, 1.0)), 1).value();
  for (const TD& a : {hard, soft}) {
    const double fused = balanced_cut_kl(VD(a)).item();
    CHECK(balanced_cut_kl(VD(a), BalancedCutForm::ZeroOffset).item() == Approx(fused).epsilon(1e-13));
    const auto r = gradcheck([](const std::vector<VD>& v) { return balanced_cut_kl(v[0], BalancedCutForm::ZeroOffset); }, {soft});
    CHECK(r.ok);
  }
  CHECK_THROWS_AS(usage_kl(VD(TD::scalar(1.0))), std::invalid_argument);
  CHECK_THROWS_AS(usage_kl(VD(TD::zeros({2, 0}))), std::invalid_argument);
  CHECK_THROWS_AS(usage_kl(VD(P), BalancedCutForm::Fused), std::invalid_argument);
  CHECK_THROWS_WITH(balanced_cut_kl(VD(TD::zeros({3})), BalancedCutForm::ZeroOffset),
                    Catch::Contains("balanced_cut_kl") && Catch::Contains("assign"));
}
