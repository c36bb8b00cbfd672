// The all-at-once second-order molecule MGVAE (models/molgen/model.hpp, layers.hpp) on hand-made
// molecules (no RDKit): the second-order layers on molecule batches (gradcheck),
// decoder logits are permutation equivariant, every loss term is invariant when the noise is
// permuted with the atoms (standard and learned prior), gradchecks in double, typed errors.
#include "mgvae/models/molgen/model.hpp"
#include "common/molgen/train.hpp"

#include <cmath>
#include <stdexcept>
#include <vector>

#include "mgvae/autodiff/gradcheck.hpp"
#include "mgvae/models/mgn/second_order.hpp"
#include "models/molgen/fixtures.hpp"
#include "support/catch.hpp"

using namespace mgvae;
using namespace mgvae::molgen;
using TD = Tensor<double>;
using VD = Var<double>;

namespace {
using mgvae::testing::Perms;
using mgvae::molgen::testing::molecules;
using mgvae::molgen::testing::permute_graphs;
constexpr auto* p1 = &mgvae::testing::permute_nodes;
constexpr auto* p2 = &mgvae::testing::permute_pairs;

Perms perms_for(const std::vector<MolecularGraph>& gs, std::uint64_t seed) {
  Perms ps;
  CounterRng rng(seed);
  for (const auto& g : gs) {
    std::vector<std::int64_t> p(static_cast<std::size_t>(g.n));
    for (std::int64_t i = 0; i < g.n; ++i) p[i] = i;
    for (std::int64_t i = g.n - 1; i > 0; --i) std::swap(p[i], p[static_cast<std::int64_t>(rng.next_below(i + 1))]);
    ps.push_back(p);
  }
  return ps;
}
MolGenConfig tiny(PriorKind prior) {
  MolGenConfig c;
  c.hidden = 5;
  c.latent = 3;
  c.enc_layers = 2;
  c.dec_layers = 2;
  c.clusters = {3, 2};
  c.coarse_hidden = 4;
  c.cluster_in = 3;
  c.prior = prior;
  c.prior_slots = 5;
  c.bond_weight = {0.5, 1.0, 2.0, 3.0};
  c.atom_weight = {1.0, 1.5, 1.2, 4.0};
  c.seed = 3;
  return c;
}
double rel(double a, double b) { return std::abs(a - b) / std::max(1.0, std::max(std::abs(a), std::abs(b))); }
}  // namespace

TEST_CASE("molgen second-order layer/encoder (aliases of models::SecondOrder*): equal seeds agree on molecule batches, gradcheck", "[models][molgen]") {
  const auto mb = MolBatch<double>::make(molecules(), 4, 3);
  const auto& b = mb.b;
  CounterRng r1(5), r2(5);
  models::SecondOrderLayer<double> ref(3, 4, 6, r1, models::Activation::Tanh);
  SplitSecondOrderLayer<double> fast(3, 4, 6, r2, models::Activation::Tanh);
  const TD H = TD::uniform({b.pairs(), 4}, CounterRng(6), -1, 1);
  CHECK(max_abs_diff(ref.forward(b, VD(mb.A), VD(H)).value(), fast.forward(b, VD(mb.A), VD(H)).value()) < 1e-12);
  const auto r = gradcheck([&](const std::vector<VD>& v) { return fast.forward(b, v[0], v[1]); }, {mb.A, H});
  INFO(r.message);
  CHECK(r.ok);

  CounterRng e1(8), e2(8);
  models::SecondOrderEncoder<double> eref(3, 4, 5, 2, 2, e1);
  SplitSecondOrderEncoder<double> efast(3, 4, 5, 2, 2, e2);
  const auto pr = eref.forward(b, VD(mb.A), VD(mb.X));
  const auto pf = efast.forward(b, VD(mb.A), VD(mb.X));
  CHECK(max_abs_diff(pr.mu.value(), pf.mu.value()) < 1e-12);
  for (std::size_t g = 0; g < pr.L.size(); ++g) CHECK(max_abs_diff(pr.L[g].value(), pf.L[g].value()) < 1e-12);
  const TD eps = eref.draw_noise(b, CounterRng(9));
  CHECK(max_abs_diff(eps, efast.draw_noise(b, CounterRng(9))) == 0.0);
  CHECK(max_abs_diff(eref.sample(b, pr, eps).value(), efast.sample(b, pf, eps).value()) < 1e-12);
  CHECK(std::abs(eref.kl_standard(b, pr).item() - efast.kl_standard(b, pf).item()) < 1e-10);
}

TEST_CASE("molgen decoder logits are permutation equivariant in z", "[models][molgen]") {
  MolGenModel<double> model(tiny(PriorKind::Standard));
  const auto gs = molecules();
  const auto mb = MolBatch<double>::make(gs, 4, 3);
  const auto ps = perms_for(gs, 21);
  const TD z = TD::randn({mb.b.nodes(), 3}, CounterRng(4));
  auto [e, a] = model.decode(mb.b, VD(z));
  auto [ep, ap] = model.decode(mb.b, VD(p1(mb.b, ps, z)));
  CHECK(e.shape() == Shape{mb.b.pairs(), 4});
  CHECK(a.shape() == Shape{mb.b.nodes(), 4});
  CHECK(max_abs_diff(ep.value(), p2(mb.b, ps, e.value())) < 1e-12);
  CHECK(max_abs_diff(ap.value(), p1(mb.b, ps, a.value())) < 1e-12);
  // symmetric pair logits
  CHECK(max_abs_diff(e.value(), p2(mb.b, ps, e.value())) > 1e-6);  // the check can fail
  const TD ev = e.value().contiguous();
  for (std::int64_t p = 0; p < mb.b.pairs(); ++p)
    for (std::int64_t c = 0; c < 4; ++c) CHECK(ev.data()[p * 4 + c] == ev.data()[mb.transpose[p] * 4 + c]);
  // gradient of the decoder w.r.t. z
  const auto small = MolBatch<double>::make({gs[0], gs[2]}, 4, 3);
  const TD zs = TD::randn({small.b.nodes(), 3}, CounterRng(12));
  const auto r = gradcheck([&](const std::vector<VD>& v) { return model.decode(small.b, v[0]).first; }, {zs});
  INFO(r.message);
  CHECK(r.ok);
}

TEST_CASE("molgen loss is invariant when the noise is permuted with the atoms", "[models][molgen]") {
  for (PriorKind prior : {PriorKind::Standard, PriorKind::Learned}) {
    INFO("prior " << (prior == PriorKind::Learned ? "learned" : "standard"));
    MolGenModel<double> model(tiny(prior));
    const auto gs = molecules();
    const auto ps = perms_for(gs, 33);
    const auto mb = MolBatch<double>::make(gs, 4, 3);
    const auto mbp = MolBatch<double>::make(permute_graphs(gs, ps), 4, 3);
    CHECK(max_abs_diff(mbp.A, p2(mb.b, ps, mb.A)) == 0.0);
    const auto nz = model.draw_noise(mb.b, CounterRng(41, 2));
    auto nzp = nz;
    nzp.eps = p1(mb.b, ps, nz.eps);
    nzp.gumbel[0] = p1(mb.b, ps, nz.gumbel[0]);  // finest rows are atoms; coarse rows are clusters (not permuted)
    const auto f = model.forward(mb, nz);
    const auto fp = model.forward(mbp, nzp);
    CHECK(rel(f.loss.item(), fp.loss.item()) < 1e-10);
    CHECK(rel(f.bond_ce.item(), fp.bond_ce.item()) < 1e-10);
    CHECK(rel(f.atom_ce.item(), fp.atom_ce.item()) < 1e-10);
    CHECK(rel(f.kl.item(), fp.kl.item()) < 1e-10);
    CHECK(rel(f.coarse_rec.item(), fp.coarse_rec.item()) < 1e-10);
    CHECK(rel(f.coarse_kl.item(), fp.coarse_kl.item()) < 1e-10);
    CHECK(rel(f.balance.item(), fp.balance.item()) < 1e-10);
    CHECK(max_abs_diff(fp.z.value(), p1(mb.b, ps, f.z.value())) < 1e-10);
    CHECK(max_abs_diff(fp.edge_logits.value(), p2(mb.b, ps, f.edge_logits.value())) < 1e-10);
    REQUIRE(f.levels.size() == 2);
    CHECK(max_abs_diff(fp.levels[0].Pi.value(), p1(mb.b, ps, f.levels[0].Pi.value())) < 1e-12);
    for (std::size_t s = 0; s < 2; ++s) CHECK(max_abs_diff(fp.levels[s].A_c.value(), f.levels[s].A_c.value()) < 1e-10);
    if (prior == PriorKind::Learned) {
      REQUIRE(f.prior_match.size() == static_cast<std::size_t>(mb.b.nodes()));
      for (std::int64_t g = 0; g < mb.b.graphs(); ++g)
        for (std::int64_t i = 0; i < mb.b.size(g); ++i)
          CHECK(fp.prior_match[mb.b.node_off[g] + ps[g][i]] == f.prior_match[mb.b.node_off[g] + i]);
    }
    // control: unpermuted noise changes the loss (the identity is not trivial)
    const auto fc = model.forward(mbp, nz);
    CHECK(rel(f.loss.item(), fc.loss.item()) > 1e-8);
    // every parameter gets a gradient
    backward(f.loss);
    for (const auto& [name, p] : model.named_parameters()) {
      INFO(name);
      CHECK(p.grad().defined());
    }
  }
}

TEST_CASE("molgen loss gradchecks w.r.t. node features (relaxed clustering, double)", "[models][molgen]") {
  for (PriorKind prior : {PriorKind::Standard, PriorKind::Learned}) {
    INFO("prior " << (prior == PriorKind::Learned ? "learned" : "standard"));
    MolGenConfig c = tiny(prior);
    c.straight_through = false;       // the straight-through estimator is not the derivative of the forward
    c.detach_coarse_target = false;   // a detached target is not either
    MolGenModel<double> model(c);
    const auto gs = molecules();
    const auto mb = MolBatch<double>::make({gs[0], gs[3]}, 4, 3);  // 4 atoms × 4 features, 2 coarse levels
    const auto nz = model.draw_noise(mb.b, CounterRng(51));
    const TD X = TD::uniform(mb.X.shape(), CounterRng(52), 0.0, 1.0);
    const auto r = gradcheck([&](const std::vector<VD>& v) { return model.forward(mb, nz, v[0]).loss; }, {X});
    INFO(r.message);
    CHECK(r.ok);
    CHECK(r.checked == mb.X.numel());
  }
}

TEST_CASE("molgen prior samples and generation shapes", "[models][molgen]") {
  for (PriorKind prior : {PriorKind::Standard, PriorKind::Learned}) {
    MolGenModel<double> model(tiny(prior));
    const auto b = RaggedBatch::from_sizes({4, 1, 7});
    const TD z = model.sample_prior(b, CounterRng(3), prior == PriorKind::Learned ? std::vector<double>{1, 0, 0, 2, 0}
                                                                                   : std::vector<double>{});
    CHECK(z.shape() == Shape{12, 3});
    for (double v : z.to_vector()) CHECK(std::isfinite(v));
    const auto dec = model.decode_graphs(b, z);
    REQUIRE(dec.size() == 3);
    CHECK(dec[2].n == 7);
    CHECK(dec[2].pair_probs.size() == 7u * 7u * 4u);
    CHECK(dec[1].atom_logits.size() == 4u);
    double s = 0;
    for (int c = 0; c < 4; ++c) s += dec[0].pair_probs[c];
    CHECK(std::abs(s - 1.0) < 1e-12);
    const auto m = correct_graph(dec[2].n, argmax_graph(dec[2].n, dec[2].atom_logits, dec[2].pair_probs, 4, 4).atom_type,
                                 dec[2].pair_probs, 4, max_valences({"C", "N", "O", "F"}));
    CHECK(m.n >= 1);
    if (prior == PriorKind::Learned) {
      CHECK_THROWS_AS(model.sample_prior(b, CounterRng(3), std::vector<double>{1, 2}), std::invalid_argument);
      // explicit slots at temperature 0: z is exactly the slot means
      std::vector<std::int64_t> slots;
      for (std::int64_t i = 0; i < b.nodes(); ++i) slots.push_back(i % 5);
      const TD z0 = model.sample_prior(b, CounterRng(3), {}, 0.0, &slots);
      const TD mu = model.parameter("prior_mu").value().contiguous();
      for (std::int64_t i = 0; i < b.nodes(); ++i)
        for (std::int64_t c = 0; c < 3; ++c) CHECK(z0(i, c) == mu.data()[(i % 5) * 3 + c]);
      slots.back() = 5;
      CHECK_THROWS_AS(model.sample_prior(b, CounterRng(3), {}, 1.0, &slots), std::invalid_argument);
      const auto mb = MolBatch<double>::make(molecules(), 4, 3);
      const auto m = model.match_slots(mb);
      CHECK(m.size() == static_cast<std::size_t>(mb.b.nodes()));
      for (auto j : m) CHECK((j >= 0 && j < 5));
    } else {
      const auto mb = MolBatch<double>::make(molecules(), 4, 3);
      CHECK_THROWS_AS(model.match_slots(mb), std::logic_error);
    }
  }
}

TEST_CASE("molgen model: typed errors for empty graphs and mismatched shapes", "[models][molgen]") {
  MolGenModel<double> model(tiny(PriorKind::Standard));
  const auto gs = molecules();
  const auto mb = MolBatch<double>::make(gs, 4, 3);
  auto nz = model.draw_noise(mb.b, CounterRng(1));
  auto bad = nz;
  bad.eps = TD::zeros({mb.b.nodes() + 1, 3});
  CHECK_THROWS_AS(model.forward(mb, bad), std::invalid_argument);
  bad = nz;
  bad.gumbel.pop_back();
  CHECK_THROWS_AS(model.forward(mb, bad), std::invalid_argument);
  bad = nz;
  bad.gumbel[1] = TD::zeros({3, 2});
  CHECK_THROWS_AS(model.forward(mb, bad), std::invalid_argument);
  bad = nz;
  bad.eps_coarse[0] = TD::zeros({2, 3});
  CHECK_THROWS_AS(model.forward(mb, bad), std::invalid_argument);
  CHECK_THROWS_AS(model.forward(mb, nz, VD(TD::zeros({mb.b.nodes(), 5}))), std::invalid_argument);
  // a batch whose offsets contain an empty graph (bypassing MolBatch::make)
  auto eb = mb;
  eb.b = RaggedBatch::from_sizes({3, 0, 6, 5, 1});
  CHECK_THROWS_AS(model.forward(eb, nz), std::invalid_argument);
  CHECK_THROWS_AS(model.decode(mb.b, VD(TD::zeros({mb.b.nodes(), 4}))), std::invalid_argument);
  MolGenConfig c = tiny(PriorKind::Standard);
  c.bond_weight = {1.0, 2.0};
  CHECK_THROWS_AS(MolGenModel<double>(c), std::invalid_argument);
  c = tiny(PriorKind::Standard);
  c.clusters = {2, 0};
  CHECK_THROWS_AS(MolGenModel<double>(c), std::invalid_argument);
  MolecularGraph empty;
  CHECK_THROWS_AS(MolBatch<double>::make({gs[0], empty}, 4, 3), std::invalid_argument);
}

TEST_CASE("train_step is reproducible from the seed, lowers the loss, and MolEpochSums weights by batch size",
          "[models][molgen]") {
  const auto gs = molecules();
  auto run = [&](std::uint64_t seed, int steps) {
    MolGenModel<double> model(tiny(PriorKind::Standard));
    nn::Adam<double> opt(model.parameters(), 1e-2);
    std::vector<double> losses;
    for (int s = 0; s < steps; ++s) losses.push_back(train_step(model, opt, gs, 4, 3, seed, 0, s, 1.0).loss.item());
    return losses;
  };
  const auto a = run(7, 30), b = run(7, 30), c = run(8, 1);
  CHECK(a == b);
  CHECK(a[0] != c[0]);  // another seed draws other noise
  CHECK(a.back() < a.front());

  MolGenModel<double> model(tiny(PriorKind::Standard));
  nn::Adam<double> opt(model.parameters(), 0.0);
  const auto f1 = train_step(model, opt, {gs[0]}, 4, 3, 1, 0, 0, 0.0);
  const auto f3 = train_step(model, opt, {gs[1], gs[2], gs[3]}, 4, 3, 1, 0, 1, 0.0);
  MolEpochSums sums;
  sums.add(f1, 1);
  sums.add(f3, 3);
  CHECK(sums.molecules == 4);
  CHECK(sums.mean(sums.loss) == Approx((f1.loss.item() + 3 * f3.loss.item()) / 4).epsilon(1e-12));
  CHECK(sums.bond_total == f1.bond_total + f3.bond_total);
  CHECK(sums.bond_acc() == Approx(double(f1.bond_correct + f3.bond_correct) / double(sums.bond_total)));
  CHECK(MolEpochSums{}.mean(1.0) == 1.0);
  CHECK(MolEpochSums{}.bond_acc() == 0.0);
}
