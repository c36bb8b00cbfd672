// Unsupervised QM9 property prediction (models/property/qm9_features.hpp, paper App. D.3):
//  * the molecule feature (node mean of the finest posterior mean μ) is invariant under a
//    permutation of the atoms (Prop. 2), while μ itself is only equivariant;
//  * the MLP head gradchecks in double w.r.t. its input (4-point finite differences) and the L1
//    training loss w.r.t. every parameter (central differences);
//  * the target / split readers raise ParseError naming the file and the 1-based line for count
//    mismatches, NaN, garbage and missing files (temp files, no data directory needed);
//  * MAE and mean pooling against hand-computed values; fitting reduces the validation MAE.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

#include <unistd.h>

#include "mgvae/autodiff/gradcheck.hpp"
#include "common/property/qm9_features.hpp"
#include "support/catch.hpp"

using namespace mgvae;
using namespace mgvae::models::property;
using molgen::MolBatch;
using molgen::MolecularGraph;

namespace {

molgen::MolGenConfig tiny_molgen() {
  molgen::MolGenConfig c;
  c.atom_types = 4;
  c.bond_types = 3;
  c.hidden = 5;
  c.latent = 6;
  c.enc_layers = 2;
  c.dec_layers = 1;
  c.clusters = {2, 1};
  c.coarse_hidden = 4;
  c.cluster_in = 3;
  c.seed = 7;
  return c;
}

/// A 7-atom ring with a branch, heteroatoms and double/triple bonds; and a 4-atom chain.
std::vector<MolecularGraph> two_molecules() {
  MolecularGraph a;
  a.n = 7;
  a.atom_type = {0, 0, 1, 0, 2, 0, 3};
  a.bonds = {{0, 1, 0}, {1, 2, 1}, {2, 3, 0}, {3, 4, 0}, {4, 0, 0}, {3, 5, 0}, {5, 6, 0}};
  MolecularGraph b;
  b.n = 4;
  b.atom_type = {0, 0, 0, 2};
  b.bonds = {{0, 1, 2}, {1, 2, 0}, {2, 3, 1}};
  return {a, b};
}

MolecularGraph permuted(const MolecularGraph& g, const std::vector<std::int64_t>& perm) {
  MolecularGraph p;
  p.n = g.n;
  p.atom_type.assign(static_cast<std::size_t>(g.n), 0);
  for (std::int64_t i = 0; i < g.n; ++i) p.atom_type[static_cast<std::size_t>(perm[static_cast<std::size_t>(i)])] = g.atom_type[static_cast<std::size_t>(i)];
  for (const auto& [u, v, t] : g.bonds) {
    const auto pu = perm[static_cast<std::size_t>(u)], pv = perm[static_cast<std::size_t>(v)];
    p.bonds.emplace_back(std::min(pu, pv), std::max(pu, pv), t);
  }
  return p;
}

std::string temp_file(const std::string& name, const std::string& text) {
  const auto dir = std::filesystem::temp_directory_path() / ("mgvae_qm9_features_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto p = (dir / name).string();
  std::ofstream(p) << text;
  return p;
}

template <class F>
void expect_parse_error(F&& f, const std::string& file, std::int64_t line) {
  try {
    f();
    FAIL("expected ParseError for " << file << ":" << line);
  } catch (const ParseError& e) {
    CHECK(e.file() == file);
    CHECK(e.line() == line);
    CHECK(std::string(e.what()).find(line > 0 ? file + ":" + std::to_string(line) + ":" : file + ": ") == 0);
  }
}

}  // namespace

TEST_CASE("qm9 features: node mean of μ is invariant under atom permutations (Prop. 2)", "[property][qm9]") {
  molgen::MolGenModel<double> model(tiny_molgen());
  const auto gs = two_molecules();
  const std::vector<std::int64_t> pa = {3, 6, 0, 5, 1, 4, 2}, pb = {2, 0, 3, 1};
  const std::vector<MolecularGraph> ps = {permuted(gs[0], pa), permuted(gs[1], pb)};
  const auto mb = MolBatch<double>::make(gs, 4, 3), mp = MolBatch<double>::make(ps, 4, 3);
  const Tensor<double> f = molgen_mean_features(model, mb), fp = molgen_mean_features(model, mp);
  REQUIRE(f.shape() == Shape{2, 6});
  double max_diff = 0, spread = 0;
  for (std::int64_t k = 0; k < f.numel(); ++k) {
    max_diff = std::max(max_diff, std::abs(f.data()[k] - fp.data()[k]));
    spread = std::max(spread, std::abs(f.data()[k] - f.data()[k % 6 + 6 * (1 - k / 6)]));
  }
  CHECK(max_diff < 1e-10);
  CHECK(spread > 1e-6);  // the two molecules get different features (not a constant map)

  // μ itself is equivariant, not invariant: row i of μ(G) is row perm[i] of μ(σG).
  NoGradGuard ng;
  const auto mu = model.encoder().forward(mb.b, constant(mb.A), constant(mb.X)).mu.value().contiguous();
  const auto mup = model.encoder().forward(mp.b, constant(mp.A), constant(mp.X)).mu.value().contiguous();
  double eq_err = 0, inv_diff = 0;
  for (std::int64_t i = 0; i < 7; ++i)
    for (std::int64_t c = 0; c < 6; ++c) {
      eq_err = std::max(eq_err, std::abs(mu.data()[i * 6 + c] - mup.data()[pa[static_cast<std::size_t>(i)] * 6 + c]));
      inv_diff = std::max(inv_diff, std::abs(mu.data()[i * 6 + c] - mup.data()[i * 6 + c]));
    }
  CHECK(eq_err < 1e-10);
  CHECK(inv_diff > 1e-6);
}

TEST_CASE("qm9 features: mean_pool_nodes and MAE against hand-computed values", "[property][qm9]") {
  const RaggedBatch b = RaggedBatch::from_sizes({2, 0, 3});
  Tensor<double> h(Shape{5, 2});
  const double v[] = {1, 2, 3, 6, 0, 0, 3, 3, 6, -3};
  std::copy(v, v + 10, h.data());
  const Tensor<double> m = mean_pool_nodes(b, h);
  REQUIRE(m.shape() == Shape{3, 2});
  CHECK(m.data()[0] == Approx(2.0));
  CHECK(m.data()[1] == Approx(4.0));
  CHECK(m.data()[2] == 0.0);
  CHECK(m.data()[3] == 0.0);
  CHECK(m.data()[4] == Approx(3.0));
  CHECK(m.data()[5] == Approx(0.0));
  CHECK_THROWS_AS(mean_pool_nodes(b, Tensor<double>::zeros(Shape{4, 2})), std::invalid_argument);

  // |1.5-1| + |-2-0| + |0.25-1| + |3-3| = 0.5 + 2 + 0.75 + 0 = 3.25 -> 3.25 / 4
  CHECK(mean_absolute_error({1.5, -2.0, 0.25, 3.0}, {1.0, 0.0, 1.0, 3.0}) == Approx(0.8125).epsilon(1e-15));
  CHECK_THROWS_AS(mean_absolute_error({1.0}, {1.0, 2.0}), std::invalid_argument);
  CHECK_THROWS_AS(mean_absolute_error({}, {}), std::invalid_argument);

  // Table 9: physical MAE = standardised MAE x std
  CHECK(qm9_table9().size() == 13);
  CHECK(qm9_target_info("omega1").std == Approx(266.8982));
  CHECK(qm9_target_info("U0").paper_mae == Approx(1.90));
  CHECK_THROWS_AS(qm9_target_info("nope"), std::invalid_argument);
}

TEST_CASE("qm9 features: the sigmoid MLP head gradchecks in double", "[property][qm9]") {
  PropertyMlpConfig c;
  c.in = 5;
  c.hidden = 7;
  c.hidden_layers = 2;
  c.seed = 3;
  PropertyMLP<double> model(c);
  Tensor<double> shift(Shape{5}), scale(Shape{5});
  for (int k = 0; k < 5; ++k) {
    shift.data()[k] = 0.1 * k;
    scale.data()[k] = 1.0 + 0.2 * k;
  }
  model.set_standardization(shift, scale);
  const Tensor<double> x = Tensor<double>::randn(Shape{4, 5}, CounterRng(5, 1));
  {  // input gradient, full Jacobian (4 outputs)
    auto f = [&](const std::vector<Var<double>>& v) { return model.forward(v[0]); };
    const auto res = gradcheck(f, {x});
    INFO(res.message);
    CHECK(res.ok);
    CHECK(res.checked == 4 * 20);
  }
  // L1 loss gradient w.r.t. every parameter entry by central differences.
  Tensor<double> y(Shape{4});
  for (int i = 0; i < 4; ++i) y.data()[i] = 3.0 * (i - 1.5);  // far from the initial outputs: |.| is smooth there
  auto loss = [&] { return mean(abs(sub(model.forward(constant(x)), constant(y)))); };
  model.zero_grad();
  backward(loss());
  double worst = 0;
  std::int64_t checked = 0;
  for (auto& [name, p] : model.named_parameters()) {
    const Tensor<double>& val = p.value();
    const Tensor<double> g = p.grad().contiguous();
    REQUIRE(g.numel() == val.numel());
    for (std::int64_t k = 0; k < val.numel(); ++k) {
      const double x0 = val.data()[k], h = 1e-6;
      double lp, lm;
      {
        NoGradGuard ng;
        val.data()[k] = x0 + h;
        lp = loss().item();
        val.data()[k] = x0 - h;
        lm = loss().item();
        val.data()[k] = x0;
      }
      const double fd = (lp - lm) / (2 * h);
      worst = std::max(worst, std::abs(fd - g.data()[k]) / std::max(1.0, std::abs(fd)));
      ++checked;
    }
  }
  CHECK(checked == model.num_parameters());
  CHECK(worst < 1e-6);
  CHECK_THROWS_AS(model.forward(constant(Tensor<double>::zeros(Shape{2, 4}))), std::invalid_argument);
}

TEST_CASE("qm9 features: fitting the MLP lowers the validation MAE and restores the best epoch", "[property][qm9]") {
  CounterRng r(11, 0);
  const std::int64_t N = 240, d = 3;
  Tensor<float> x(Shape{N, d});
  std::vector<double> y(static_cast<std::size_t>(N));
  for (std::int64_t i = 0; i < N; ++i) {
    double s = 0;
    for (std::int64_t k = 0; k < d; ++k) {
      x.data()[i * d + k] = static_cast<float>(r.normal(static_cast<std::uint64_t>(i * d + k)));
      s += (k + 1) * x.data()[i * d + k];
    }
    y[static_cast<std::size_t>(i)] = std::sin(s) + 0.5 * s;
  }
  Tensor<float> xtr(Shape{200, d}), xval(Shape{40, d});
  std::copy(x.data(), x.data() + 200 * d, xtr.data());
  std::copy(x.data() + 200 * d, x.data() + N * d, xval.data());
  std::vector<double> ytr(y.begin(), y.begin() + 200), yval(y.begin() + 200, y.end());
  PropertyMlpConfig c;
  c.in = d;
  c.hidden = 16;
  PropertyMLP<float> model(c);
  const auto [sh, sc] = feature_standardization(xtr);
  model.set_standardization(sh, sc);
  const double before = mean_absolute_error(predict_rows(model, xval), yval);
  MlpFitConfig f;
  f.epochs = 40;
  f.batch = 16;
  f.lr = 1e-2;
  const auto res = fit_property_mlp(model, xtr, ytr, xval, yval, f);
  const double after = mean_absolute_error(predict_rows(model, xval), yval);
  CHECK(res.epochs_run == 40);
  CHECK(after == Approx(res.best_val_mae).epsilon(1e-6));  // the best epoch's parameters are restored
  CHECK(after < 0.5 * before);
  CHECK_THROWS_AS(fit_property_mlp(model, xtr, yval, xval, yval, f), std::invalid_argument);
}

TEST_CASE("qm9 features: target and split readers raise ParseError naming file and line", "[property][qm9]") {
  const auto good = temp_file("good", "3\n0.5\n-1.25\n2e-1\n");
  const auto vals = data::read_qm9_target(good, 3);
  REQUIRE(vals.size() == 3);
  CHECK(vals[1] == -1.25);
  CHECK(data::read_qm9_target(temp_file("crlf", "2\r\n1\r\n2\r\n\r\n")).size() == 2);

  const auto nan = temp_file("nan", "3\n0.5\nnan\n1\n");
  expect_parse_error([&] { data::read_qm9_target(nan); }, nan, 3);
  const auto inf = temp_file("inf", "2\n1\n-inf\n");
  expect_parse_error([&] { data::read_qm9_target(inf); }, inf, 3);
  const auto junk = temp_file("junk", "2\n1.0x\n1\n");
  expect_parse_error([&] { data::read_qm9_target(junk); }, junk, 2);
  const auto empty_rec = temp_file("emptyrec", "2\n\n1\n");
  expect_parse_error([&] { data::read_qm9_target(empty_rec); }, empty_rec, 2);
  const auto short_f = temp_file("short", "4\n1\n2\n");  // the count says 4, two records: fails at line 4
  expect_parse_error([&] { data::read_qm9_target(short_f); }, short_f, 4);
  const auto long_f = temp_file("long", "2\n1\n2\n3\n");
  expect_parse_error([&] { data::read_qm9_target(long_f); }, long_f, 4);
  const auto badcount = temp_file("badcount", "two\n1\n2\n");
  expect_parse_error([&] { data::read_qm9_target(badcount); }, badcount, 1);
  expect_parse_error([&] { data::read_qm9_target(good, 4); }, good, 1);  // one target row per molecule
  const std::string missing = good + ".missing";
  expect_parse_error([&] { data::read_qm9_target(missing); }, missing, 0);

  const auto idx = temp_file("idx", "3\n4\n0\n2\n");
  CHECK(data::read_qm9_split(idx, 5) == std::vector<std::int64_t>{4, 0, 2});
  expect_parse_error([&] { data::read_qm9_split(idx, 4); }, idx, 2);  // row 4 out of range
  const auto rep = temp_file("rep", "3\n1\n0\n1\n");
  expect_parse_error([&] { data::read_qm9_split(rep, 5); }, rep, 4);
  const auto neg = temp_file("neg", "1\n-1\n");
  expect_parse_error([&] { data::read_qm9_split(neg, 5); }, neg, 2);
  std::filesystem::remove_all(std::filesystem::path(good).parent_path());
}
