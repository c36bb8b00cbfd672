// Valence regularizer (models/molgen/valence_reg.hpp, not in the paper): a hand-derived value, a
// naive-loop reference on random logits, finite-difference gradients (double), invariance under
// relabelling the atoms of every graph, typed errors, and its use in train_step (λ = 0 is the
// plain step, λ > 0 adds exactly λ·R, training with it lowers R on prior decodings).
#include "common/molgen/valence_reg.hpp"
#include "common/molgen/train.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "mgvae/autodiff/gradcheck.hpp"
#include "models/molgen/fixtures.hpp"
#include "support/catch.hpp"
#include "support/permute.hpp"

using namespace mgvae;
using namespace mgvae::molgen;
using TD = Tensor<double>;
using VD = Var<double>;

namespace {
// R by plain loops over every graph, atom and type.
double naive_penalty(const RaggedBatch& b, const TD& e, const TD& a, const std::vector<int>& caps, double w_iso = 0) {
  const TD ec = e.contiguous(), ac = a.contiguous();
  const std::int64_t C = ec.size(1), F = ac.size(1);
  double total = 0;
  for (std::int64_t g = 0; g < b.graphs(); ++g) {
    const std::int64_t n = b.size(g);
    for (std::int64_t i = 0; i < n; ++i) {
      double V = 0;
      for (std::int64_t j = 0; j < n; ++j) {
        if (j == i) continue;
        const double* row = ec.data() + (b.pair_off[g] + i * n + j) * C;
        double mx = row[0], z = 0, s = 0;
        for (std::int64_t c = 1; c < C; ++c) mx = std::max(mx, row[c]);
        for (std::int64_t c = 0; c < C; ++c) z += std::exp(row[c] - mx);
        for (std::int64_t c = 0; c < C; ++c) s += static_cast<double>(c) * std::exp(row[c] - mx) / z;
        V += s;
      }
      const double* ar = ac.data() + (b.node_off[g] + i) * F;
      double mx = ar[0], z = 0;
      for (std::int64_t t = 1; t < F; ++t) mx = std::max(mx, ar[t]);
      for (std::int64_t t = 0; t < F; ++t) z += std::exp(ar[t] - mx);
      for (std::int64_t t = 0; t < F; ++t) {
        const double ex = std::max(0.0, V - caps[static_cast<std::size_t>(t)]);
        total += std::exp(ar[t] - mx) / z * ex * ex;
      }
      if (n >= 2) total += w_iso * std::max(0.0, 1.0 - V) * std::max(0.0, 1.0 - V);
    }
  }
  return total / static_cast<double>(b.graphs());
}
const std::vector<int> kCaps = {4, 3, 2, 1};  // C N O F
TD scaled(const TD& x, double s) {
  TD y = x.contiguous().clone();
  for (std::int64_t k = 0; k < y.numel(); ++k) y.data()[k] *= s;
  return y;
}
}  // namespace

TEST_CASE("valence penalty: hand-derived value, diagonal ignored, zero when valences fit", "[models][molgen][valence]") {
  // one graph of 3 atoms: atom 0 (certainly F, cap 1) double-bonded to atoms 1 and 2 (certainly C);
  // the diagonal pairs claim a triple bond, which must not count. V = (4, 2, 2): only atom 0
  // exceeds, by 3 → R = 9 (B = 1). With atom 0 a carbon (cap 4) nothing exceeds: R = 0.
  const auto b = RaggedBatch::from_sizes({3});
  TD e = TD::zeros({9, 4});
  auto set = [&](std::int64_t i, std::int64_t j, std::int64_t cls) {
    for (std::int64_t c = 0; c < 4; ++c) e.data()[(i * 3 + j) * 4 + c] = c == cls ? 60.0 : -60.0;
  };
  set(0, 1, 2), set(1, 0, 2), set(0, 2, 2), set(2, 0, 2), set(1, 2, 0), set(2, 1, 0);
  for (std::int64_t i = 0; i < 3; ++i) set(i, i, 3);
  TD a = TD::zeros({3, 4});
  auto type = [&](std::int64_t i, std::int64_t t) {
    for (std::int64_t k = 0; k < 4; ++k) a.data()[i * 4 + k] = k == t ? 60.0 : -60.0;
  };
  type(0, 3), type(1, 0), type(2, 0);
  CHECK(valence_penalty(b, VD(e), VD(a), kCaps).item() == Approx(9.0).epsilon(1e-12));
  type(0, 0);
  CHECK(valence_penalty(b, VD(e), VD(a), kCaps).item() == Approx(0.0).margin(1e-30));
  // atom 0 half F, half O: ½·3² + ½·2² = 6.5
  for (std::int64_t k = 0; k < 4; ++k) a.data()[k] = (k == 2 || k == 3) ? 60.0 : -60.0;
  CHECK(valence_penalty(b, VD(e), VD(a), kCaps).item() == Approx(6.5).epsilon(1e-12));
  // a single atom has no pairs: R = 0; the batch mean divides by B
  const auto b1 = RaggedBatch::from_sizes({1});
  CHECK(valence_penalty(b1, VD(TD::randn({1, 4}, CounterRng(1))), VD(TD::randn({1, 4}, CounterRng(2))), kCaps).item() == 0.0);
  const auto b2 = RaggedBatch::from_sizes({3, 1});
  TD e2 = TD::zeros({10, 4}), a2 = TD::zeros({4, 4});
  std::copy(e.data(), e.data() + 36, e2.data());
  std::copy(a.data(), a.data() + 12, a2.data());
  CHECK(valence_penalty(b2, VD(e2), VD(a2), kCaps).item() == Approx(6.5 / 2).epsilon(1e-12));

  // isolated-atom term: atoms 0–1 single-bonded, atom 2 without bonds (V = 1, 1, 0), all carbon:
  // no excess, one isolated atom → R = w_iso; the one-atom molecule of b2 adds nothing
  set(0, 1, 1), set(1, 0, 1), set(0, 2, 0), set(2, 0, 0);
  type(0, 0);
  CHECK(valence_penalty(b, VD(e), VD(a), kCaps).item() == Approx(0.0).margin(1e-30));
  CHECK(valence_penalty(b, VD(e), VD(a), kCaps, 1.0, 2.5).item() == Approx(2.5).epsilon(1e-12));
  // half a bond (p(single) = ½ on pair 0–2): V_2 = ½ → w_iso · ¼ (V_0 = 1.5 does not count)
  for (std::int64_t c = 0; c < 4; ++c) e.data()[(0 * 3 + 2) * 4 + c] = e.data()[(2 * 3 + 0) * 4 + c] = c <= 1 ? 0.0 : -60.0;
  CHECK(valence_penalty(b, VD(e), VD(a), kCaps, 1.0, 2.0).item() == Approx(0.5).epsilon(1e-12));
  TD e3 = TD::zeros({10, 4}), a3 = TD::zeros({4, 4});
  std::copy(e.data(), e.data() + 36, e3.data());
  std::copy(a.data(), a.data() + 12, a3.data());
  for (std::int64_t c = 0; c < 4; ++c) a3.data()[12 + c] = c == 0 ? 60.0 : -60.0;  // the lone atom: V = 0, not counted
  CHECK(valence_penalty(b2, VD(e3), VD(a3), kCaps, 1.0, 2.0).item() == Approx(0.5 / 2).epsilon(1e-12));
}

TEST_CASE("valence penalty matches naive loops on random logits and gradchecks (double)", "[models][molgen][valence]") {
  const auto b = RaggedBatch::from_sizes({4, 1, 3, 5});
  // logits scaled so that many atoms exceed and many do not (both branches of the relu)
  const TD e = TD::uniform({b.pairs(), 4}, CounterRng(7), -4.0, 4.0);
  const TD a = TD::randn({b.nodes(), 4}, CounterRng(8));
  const double r = valence_penalty(b, VD(e), VD(a), {2, 1, 1, 0}).item();
  CHECK(r > 0);
  CHECK(r == Approx(naive_penalty(b, e, a, {2, 1, 1, 0})).epsilon(1e-12));
  const auto g = gradcheck([&](const std::vector<VD>& v) { return valence_penalty(b, v[0], v[1], {2, 1, 1, 0}); }, {e, a});
  INFO(g.message);
  CHECK(g.ok);
  CHECK(g.checked == e.numel() + a.numel());
  // temperature τ: softmax(logits / τ), i.e. R of the logits scaled by 1/τ
  const double rt = valence_penalty(b, VD(e), VD(a), {2, 1, 1, 0}, 0.25).item();
  CHECK(rt == Approx(naive_penalty(b, scaled(e, 4.0), scaled(a, 4.0), {2, 1, 1, 0})).epsilon(1e-12));
  CHECK(std::abs(rt - r) > 1e-3);
  // isolated-atom term: "no bond" made likelier so that some atoms fall below V = 1 and some exceed
  TD eb = e.contiguous().clone();
  for (std::int64_t p = 0; p < b.pairs(); ++p) eb.data()[p * 4] += 6.0;
  const double ri = valence_penalty(b, VD(eb), VD(a), {2, 1, 1, 0}, 2.0, 1.7).item();
  CHECK(ri == Approx(naive_penalty(b, scaled(eb, 0.5), scaled(a, 0.5), {2, 1, 1, 0}, 1.7)).epsilon(1e-12));
  CHECK(std::abs(ri - valence_penalty(b, VD(eb), VD(a), {2, 1, 1, 0}, 2.0).item()) > 1e-3);  // the term is active
  const auto gt = gradcheck([&](const std::vector<VD>& v) { return valence_penalty(b, v[0], v[1], {2, 1, 1, 0}, 0.5, 1.3); }, {eb, a});
  INFO(gt.message);
  CHECK(gt.ok);
}

TEST_CASE("valence penalty is invariant under relabelling the atoms of each graph", "[models][molgen][valence]") {
  const auto b = RaggedBatch::from_sizes({5, 2, 4});
  const TD e = TD::uniform({b.pairs(), 4}, CounterRng(17), -4.0, 4.0);
  const TD a = TD::randn({b.nodes(), 4}, CounterRng(18));
  const auto ps = mgvae::testing::random_perms(b, 19);
  const double r = valence_penalty(b, VD(e), VD(a), {2, 1, 1, 0}).item();
  const double rp = valence_penalty(b, VD(mgvae::testing::permute_pairs(b, ps, e)),
                                    VD(mgvae::testing::permute_nodes(b, ps, a)), {2, 1, 1, 0}).item();
  const double ri = valence_penalty(b, VD(e), VD(a), {2, 1, 1, 0}, 0.7, 2.0).item();
  const double rip = valence_penalty(b, VD(mgvae::testing::permute_pairs(b, ps, e)),
                                     VD(mgvae::testing::permute_nodes(b, ps, a)), {2, 1, 1, 0}, 0.7, 2.0).item();
  CHECK(rip == Approx(ri).epsilon(1e-12));
  CHECK(rp == Approx(r).epsilon(1e-12));
  // control: permuting the atoms but not their pairs changes R (the identity is not trivial)
  const double rc = valence_penalty(b, VD(e), VD(mgvae::testing::permute_nodes(b, ps, a)), {2, 1, 1, 0}).item();
  CHECK(std::abs(rc - r) > 1e-6);
}

TEST_CASE("valence penalty: typed errors name the argument", "[models][molgen][valence]") {
  const auto b = RaggedBatch::from_sizes({3});
  const VD e(TD::zeros({9, 4})), a(TD::zeros({3, 4}));
  CHECK_THROWS_AS(valence_penalty(b, e, a, {4, 3, 2}), std::invalid_argument);       // caps per type
  CHECK_THROWS_AS(valence_penalty(b, e, a, {4, 3, -2, 1}), std::invalid_argument);   // negative cap
  CHECK_THROWS_AS(valence_penalty(b, e, a, kCaps, 0.0), std::invalid_argument);      // temperature
  CHECK_THROWS_AS(valence_penalty(b, e, a, kCaps, -1.0), std::invalid_argument);
  CHECK_THROWS_AS(valence_penalty(b, e, a, kCaps, 1.0, -0.5), std::invalid_argument);  // isolated_weight
  CHECK_THROWS_AS(valence_penalty(b, VD(TD::zeros({8, 4})), a, kCaps), std::invalid_argument);
  CHECK_THROWS_AS(valence_penalty(b, VD(TD::zeros({9, 1})), a, kCaps), std::invalid_argument);
  CHECK_THROWS_AS(valence_penalty(b, e, VD(TD::zeros({2, 4})), kCaps), std::invalid_argument);
  CHECK_THROWS_AS(valence_penalty(RaggedBatch::from_sizes({}), VD(TD::zeros({0, 4})), VD(TD::zeros({0, 4})), kCaps),
                  std::invalid_argument);
  try {
    valence_penalty(b, e, a, {4, 3, 2});
    FAIL("no exception");
  } catch (const std::invalid_argument& ex) {
    CHECK(std::string(ex.what()).find("caps") != std::string::npos);
  }
}

TEST_CASE("train_step with ValenceReg: λ = 0 is the plain step, λ > 0 adds λ·R, training lowers R", "[models][molgen][valence]") {
  const auto gs = mgvae::molgen::testing::molecules();
  MolGenConfig c;
  c.hidden = 5;
  c.latent = 3;
  c.enc_layers = 1;
  c.dec_layers = 1;
  c.clusters = {2};
  c.coarse_hidden = 4;
  c.cluster_in = 3;
  c.prior = PriorKind::Learned;
  c.prior_slots = 4;
  c.bond_weight = {0.2, 3.0, 3.0, 3.0};  // bonds everywhere at first: prior decodings exceed valences
  c.seed = 5;
  ValenceReg off;
  off.caps = kCaps;
  {  // λ = 0 and no reg give the same step, bit for bit
    MolGenModel<double> m1(c), m2(c);
    nn::Adam<double> o1(m1.parameters(), 1e-2), o2(m2.parameters(), 1e-2);
    for (int s = 0; s < 3; ++s) {
      const auto f1 = train_step(m1, o1, gs, 4, 3, 9, 0, s, 1.0);
      const auto f2 = train_step(m2, o2, gs, 4, 3, 9, 0, s, 1.0, &off);
      CHECK(f1.loss.item() == f2.loss.item());
      CHECK_FALSE(f2.valence.defined());
    }
  }
  ValenceReg on = off;
  on.weight = 2.5;
  {  // λ > 0: loss = plain loss + λ·R, with R of the decodings of this step's prior draw
    MolGenModel<double> m1(c), m2(c);
    nn::Adam<double> o1(m1.parameters(), 0.0), o2(m2.parameters(), 0.0);
    const auto f1 = train_step(m1, o1, gs, 4, 3, 9, 0, 0, 0.0);
    const auto f2 = train_step(m2, o2, gs, 4, 3, 9, 0, 0, 0.0, &on);
    REQUIRE(f2.valence.defined());
    CHECK(f2.valence.item() > 0);
    CHECK(f2.loss.item() == Approx(f1.loss.item() + 2.5 * f2.valence.item()).epsilon(1e-12));
    const auto mb = MolBatch<double>::make(gs, 4, 3);
    const TD zp = m2.sample_prior(mb.b, CounterRng(9, 0x20000000ull), {});
    const auto [e, a] = m2.decode(mb.b, VD(zp));
    CHECK(f2.valence.item() == Approx(valence_penalty(mb.b, e, a, kCaps).item()).epsilon(1e-12));
    MolEpochSums sums;
    sums.add(f2, static_cast<std::int64_t>(gs.size()));
    CHECK(sums.mean(sums.valence) == Approx(f2.valence.item()));
    ValenceReg bad = on;
    bad.caps = {4, 3};
    CHECK_THROWS_AS(train_step(m2, o2, gs, 4, 3, 9, 0, 1, 0.0, &bad), std::invalid_argument);
    bad = on;
    bad.weight = -1;
    CHECK_THROWS_AS(train_step(m2, o2, gs, 4, 3, 9, 0, 1, 0.0, &bad), std::invalid_argument);
  }
  {  // training on R lowers it (the reconstruction loss alone does not target prior decodings)
    auto final_r = [&](const ValenceReg* reg) {
      MolGenModel<double> m(c);
      nn::Adam<double> o(m.parameters(), 1e-2);
      for (int s = 0; s < 40; ++s) train_step(m, o, gs, 4, 3, 9, 0, s, 1.0, reg);
      const auto mb = MolBatch<double>::make(gs, 4, 3);
      double r = 0;
      for (std::uint64_t k = 0; k < 8; ++k) {
        const auto [e, a] = m.decode(mb.b, VD(m.sample_prior(mb.b, CounterRng(1234, k), {})));
        r += valence_penalty(mb.b, e, a, kCaps).item();
      }
      return r / 8;
    };
    ValenceReg strong = on;
    strong.weight = 10;
    const double r0 = final_r(nullptr), r1 = final_r(&strong);
    INFO("R without " << r0 << ", with " << r1);
    CHECK(r1 < 0.5 * r0);
  }
}
