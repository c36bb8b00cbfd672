// The MLP-decoder ablation of the molecule MGVAE (models/molgen/mlp_decoder.hpp, paper Table 6): shapes,
// gradchecks in double, the decoder is NOT permutation-equivariant while the encoder, KL and coarse
// levels of the model still are, typed errors for molecules larger than the padded size, determinism.
#include "mgvae/models/molgen/molgen.hpp"

#include <cmath>
#include <stdexcept>
#include <vector>

#include "mgvae/autodiff/gradcheck.hpp"
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

/// Fixed permutations, none the identity except on the 1-atom graph.
Perms perms() { return {{2, 0, 1}, {3, 5, 0, 1, 4, 2}, {4, 2, 3, 0, 1}, {0}}; }
MolGenConfig tiny_mlp() {
  MolGenConfig c;
  c.hidden = 5;
  c.latent = 3;
  c.enc_layers = 2;
  c.clusters = {3, 2};
  c.coarse_hidden = 4;
  c.cluster_in = 3;
  c.bond_weight = {0.5, 1.0, 2.0, 3.0};
  c.atom_weight = {1.0, 1.5, 1.2, 4.0};
  c.seed = 3;
  c.decoder = DecoderKind::Mlp;
  c.max_atoms = 7;
  c.mlp_hidden = 6;
  return c;
}
double rel(double a, double b) { return std::abs(a - b) / std::max(1.0, std::max(std::abs(a), std::abs(b))); }
}  // namespace

TEST_CASE("MLP decoder: shapes, symmetric pair logits, padding does not leak between graphs", "[models][molgen][mlp]") {
  CounterRng rng(7);
  MlpDecoder<double> dec(3, 7, 6, 4, 4, rng);
  CHECK(dec.max_atoms() == 7);
  CHECK(dec.num_parameters() == (21 * 6 + 6) + (6 * 6 + 6) + (6 * 196 + 196) + (21 * 6 + 6) + (6 * 28 + 28));
  const auto mb = MolBatch<double>::make(molecules(), 4, 3);
  const TD z = TD::randn({mb.b.nodes(), 3}, CounterRng(4));
  auto [e, a] = dec.forward(mb.b, VD(z), mb.transpose);
  CHECK(e.shape() == Shape{mb.b.pairs(), 4});
  CHECK(a.shape() == Shape{mb.b.nodes(), 4});
  const TD ev = e.value().contiguous();
  for (std::int64_t p = 0; p < mb.b.pairs(); ++p)
    for (std::int64_t c = 0; c < 4; ++c) CHECK(ev.data()[p * 4 + c] == ev.data()[mb.transpose[p] * 4 + c]);
  // graph 1 decoded alone gives the same logits (each graph sees only its own padded latent)
  const auto one = MolBatch<double>::make({molecules()[1]}, 4, 3);
  TD z1(Shape{6, 3});
  for (std::int64_t k = 0; k < 18; ++k) z1.data()[k] = z.data()[mb.b.node_off[1] * 3 + k];
  auto [e1, a1] = dec.forward(one.b, VD(z1), one.transpose);
  CHECK(max_abs_diff(e1.value(), slice(e, 0, mb.b.pair_off[1], mb.b.pair_off[2]).value()) < 1e-14);
  CHECK(max_abs_diff(a1.value(), slice(a, 0, mb.b.node_off[1], mb.b.node_off[2]).value()) < 1e-14);
  // through the model: same shapes as the second-order decoder
  MolGenModel<double> model(tiny_mlp());
  auto [me, ma] = model.decode(mb.b, VD(z));
  CHECK(me.shape() == Shape{mb.b.pairs(), 4});
  CHECK(ma.shape() == Shape{mb.b.nodes(), 4});
  CHECK_NOTHROW(model.mlp_decoder());
  CHECK_THROWS_AS(model.decoder(), std::logic_error);
  const auto dg = model.decode_graphs(mb.b, z);
  REQUIRE(dg.size() == 4);
  CHECK(dg[1].pair_probs.size() == 36u * 4u);
}

TEST_CASE("MLP decoder gradchecks w.r.t. z and the model loss w.r.t. node features (double)", "[models][molgen][mlp]") {
  CounterRng rng(9);
  MlpDecoder<double> dec(3, 5, 6, 4, 4, rng);
  const auto gs = molecules();
  const auto mb = MolBatch<double>::make({gs[0], gs[2]}, 4, 3);
  const TD z = TD::randn({mb.b.nodes(), 3}, CounterRng(12));
  auto re = gradcheck([&](const std::vector<VD>& v) { return dec.forward(mb.b, v[0], mb.transpose).first; }, {z});
  INFO(re.message);
  CHECK(re.ok);
  auto ra = gradcheck([&](const std::vector<VD>& v) { return dec.forward(mb.b, v[0], mb.transpose).second; }, {z});
  INFO(ra.message);
  CHECK(ra.ok);

  MolGenConfig c = tiny_mlp();
  c.straight_through = false;
  c.detach_coarse_target = false;
  MolGenModel<double> model(c);
  const auto mb2 = MolBatch<double>::make({gs[0], gs[3]}, 4, 3);
  const auto nz = model.draw_noise(mb2.b, CounterRng(51));
  const TD X = TD::uniform(mb2.X.shape(), CounterRng(52), 0.0, 1.0);
  const auto r = gradcheck([&](const std::vector<VD>& v) { return model.forward(mb2, nz, v[0]).loss; }, {X});
  INFO(r.message);
  CHECK(r.ok);
  CHECK(r.checked == mb2.X.numel());
}

TEST_CASE("MLP decoder is not permutation-equivariant; the rest of the model still is", "[models][molgen][mlp]") {
  MolGenModel<double> model(tiny_mlp());
  const auto gs = molecules();
  const auto ps = perms();
  const auto mb = MolBatch<double>::make(gs, 4, 3);
  const auto mbp = MolBatch<double>::make(permute_graphs(gs, ps), 4, 3);
  // decoder: permuting z does NOT permute the logits
  const TD z = TD::randn({mb.b.nodes(), 3}, CounterRng(4));
  auto [e, a] = model.decode(mb.b, VD(z));
  auto [ep, ap] = model.decode(mb.b, VD(p1(mb.b, ps, z)));
  CHECK(max_abs_diff(ep.value(), p2(mb.b, ps, e.value())) > 1e-3);
  CHECK(max_abs_diff(ap.value(), p1(mb.b, ps, a.value())) > 1e-3);
  // the 1-atom graph (identity permutation) is unaffected by the others: its logits agree
  const std::int64_t o = mb.b.node_off[3];
  for (std::int64_t c = 0; c < 4; ++c) CHECK(ap.value()(o, c) == a.value()(o, c));

  // the model: encoder, KL and the coarse levels are invariant/equivariant, the reconstruction is not
  const auto nz = model.draw_noise(mb.b, CounterRng(41, 2));
  auto nzp = nz;
  nzp.eps = p1(mb.b, ps, nz.eps);
  nzp.gumbel[0] = p1(mb.b, ps, nz.gumbel[0]);
  const auto f = model.forward(mb, nz);
  const auto fp = model.forward(mbp, nzp);
  CHECK(max_abs_diff(fp.post.mu.value(), p1(mb.b, ps, f.post.mu.value())) < 1e-10);
  CHECK(max_abs_diff(fp.z.value(), p1(mb.b, ps, f.z.value())) < 1e-10);
  CHECK(rel(f.kl.item(), fp.kl.item()) < 1e-10);
  CHECK(rel(f.coarse_rec.item(), fp.coarse_rec.item()) < 1e-10);
  CHECK(rel(f.coarse_kl.item(), fp.coarse_kl.item()) < 1e-10);
  CHECK(rel(f.balance.item(), fp.balance.item()) < 1e-10);
  REQUIRE(f.levels.size() == 2);
  CHECK(max_abs_diff(fp.levels[0].Pi.value(), p1(mb.b, ps, f.levels[0].Pi.value())) < 1e-12);
  for (std::size_t s = 0; s < 2; ++s) CHECK(max_abs_diff(fp.levels[s].A_c.value(), f.levels[s].A_c.value()) < 1e-10);
  CHECK(rel(f.bond_ce.item(), fp.bond_ce.item()) > 1e-6);
  CHECK(max_abs_diff(fp.edge_logits.value(), p2(mb.b, ps, f.edge_logits.value())) > 1e-3);
  // posterior_mean equals the encoder's μ and is equivariant
  CHECK(max_abs_diff(model.posterior_mean(mb), f.post.mu.value()) < 1e-12);
  CHECK(max_abs_diff(model.posterior_mean(mbp), p1(mb.b, ps, model.posterior_mean(mb))) < 1e-10);
  // every parameter of the MLP model gets a gradient
  backward(f.loss);
  for (const auto& [name, p] : model.named_parameters()) {
    INFO(name);
    CHECK(p.grad().defined());
  }
}

TEST_CASE("MLP decoder: typed errors, equal seeds give equal results", "[models][molgen][mlp]") {
  MolGenConfig c = tiny_mlp();
  c.max_atoms = 5;  // benzene has 6 atoms
  MolGenModel<double> model(c);
  const auto gs = molecules();
  const auto big = MolBatch<double>::make({gs[0], gs[1]}, 4, 3);
  CHECK_THROWS_AS(model.forward(big, model.draw_noise(big.b, CounterRng(1))), std::invalid_argument);
  CHECK_THROWS_AS(model.decode(big.b, VD(TD::zeros({big.b.nodes(), 3}))), std::invalid_argument);
  CHECK_THROWS_AS(model.decode_graphs(RaggedBatch::from_sizes({5, 6}), TD::zeros({11, 3})), std::invalid_argument);
  const auto ok = MolBatch<double>::make({gs[0], gs[2]}, 4, 3);
  CHECK_NOTHROW(model.forward(ok, model.draw_noise(ok.b, CounterRng(1))));
  CHECK_THROWS_AS(model.decode(ok.b, VD(TD::zeros({ok.b.nodes(), 4}))), std::invalid_argument);
  CounterRng rng(1);
  CHECK_THROWS_AS(MlpDecoder<double>(3, 0, 6, 4, 4, rng), std::invalid_argument);
  CHECK_THROWS_AS(MlpDecoder<double>(3, 5, 6, 4, 1, rng), std::invalid_argument);
  c.max_atoms = 0;
  CHECK_THROWS_AS(MolGenModel<double>(c), std::invalid_argument);
  // second-order model: mlp_decoder() is a logic error
  MolGenConfig s = tiny_mlp();
  s.decoder = DecoderKind::AllAtOnce;
  MolGenModel<double> so(s);
  CHECK_THROWS_AS(so.mlp_decoder(), std::logic_error);

  // determinism: equal seeds → equal parameters, loss and gradients; another seed differs
  MolGenModel<double> m1(tiny_mlp()), m2(tiny_mlp());
  MolGenConfig c3 = tiny_mlp();
  c3.seed = 4;
  MolGenModel<double> m3(c3);
  const auto mb = MolBatch<double>::make(gs, 4, 3);
  const auto f3 = m3.forward(mb, m3.draw_noise(mb.b, CounterRng(5)));
  const double l3 = f3.loss.item();
  backward(f3.loss);  // the tape is per thread: one forward/backward at a time
  const auto f1 = m1.forward(mb, m1.draw_noise(mb.b, CounterRng(5)));
  const double l1 = f1.loss.item();
  backward(f1.loss);
  const auto f2 = m2.forward(mb, m2.draw_noise(mb.b, CounterRng(5)));
  const double l2 = f2.loss.item();
  backward(f2.loss);
  CHECK(l1 == l2);
  CHECK(l1 != l3);
  const auto n1 = m1.named_parameters(), n2 = m2.named_parameters();
  REQUIRE(n1.size() == n2.size());
  for (std::size_t k = 0; k < n1.size(); ++k) {
    INFO(n1[k].first);
    CHECK(max_abs_diff(n1[k].second.value(), n2[k].second.value()) == 0.0);
    CHECK(max_abs_diff(n1[k].second.grad(), n2[k].second.grad()) == 0.0);
  }
  const TD z = m1.sample_prior(mb.b, CounterRng(8));
  CHECK(max_abs_diff(m1.decode(mb.b, VD(z)).first.value(), m2.decode(mb.b, VD(z)).first.value()) == 0.0);
}
