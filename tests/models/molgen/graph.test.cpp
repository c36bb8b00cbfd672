// Molecule graphs, batches and decoding of the molecule MGVAE (models/molgen/graph.hpp): the
// correcting process never exceeds a valence, is the identity on chemically valid connected argmax
// graphs, and typed errors for empty graphs and mismatched sizes. No RDKit.
#include "mgvae/models/molgen/graph.hpp"

#include <cmath>
#include <set>
#include <stdexcept>
#include <vector>

#include "support/catch.hpp"

using namespace mgvae;
using namespace mgvae::molgen;

namespace {
/// Softmax probabilities [n·n, C] of random logits; `bond_bias` shifts the bond classes up.
std::vector<double> random_pair_probs(std::int64_t n, std::int64_t C, CounterRng& rng, double bond_bias) {
  std::vector<double> p(static_cast<std::size_t>(n * n * C));
  for (std::int64_t r = 0; r < n * n; ++r) {
    double s = 0;
    for (std::int64_t c = 0; c < C; ++c) {
      const double l = 2.0 * rng.next_normal() + (c > 0 ? bond_bias : 0.0);
      p[r * C + c] = std::exp(l);
      s += p[r * C + c];
    }
    for (std::int64_t c = 0; c < C; ++c) p[r * C + c] /= s;
  }
  return p;
}
}  // namespace

TEST_CASE("correct_graph never exceeds a valence and returns one connected molecule", "[models][molgen]") {
  const std::vector<int> val = max_valences({"C", "N", "O", "F"});
  REQUIRE(val == std::vector<int>{4, 3, 2, 1});
  CounterRng rng(11);
  int joined = 0, lowered = 0, dropped = 0;
  for (int trial = 0; trial < 400; ++trial) {
    const std::int64_t n = 1 + static_cast<std::int64_t>(rng.next_below(12));
    std::vector<std::int64_t> types;
    for (std::int64_t i = 0; i < n; ++i) types.push_back(static_cast<std::int64_t>(rng.next_below(4)));
    const double bias = trial % 3 == 0 ? 3.0 : (trial % 3 == 1 ? 0.0 : -2.0);  // dense, medium, sparse predictions
    const auto probs = random_pair_probs(n, 4, rng, bias);
    CorrectionInfo ci;
    const MolecularGraph m = correct_graph(n, types, probs, 4, val, &ci);
    INFO("trial " << trial << " n " << n);
    REQUIRE_NOTHROW(validate_graph("test", 0, m, 4, 3));
    const auto sums = bond_order_sums(m);
    for (std::int64_t i = 0; i < m.n; ++i) CHECK(sums[i] <= val[m.atom_type[i]]);
    std::int64_t k = 0;
    components(m, &k);
    CHECK(k == 1);
    CHECK(m.n + ci.dropped_atoms == n);
    for (const auto& [u, v, t] : m.bonds) CHECK(u < v);
    joined += ci.connecting > 0;
    lowered += ci.downgraded + ci.skipped > 0;
    dropped += ci.dropped_atoms > 0;
  }
  // the three passes were all exercised
  CHECK(joined > 0);
  CHECK(lowered > 0);
  CHECK(dropped > 0);
}

TEST_CASE("correct_graph keeps a valid connected argmax graph unchanged", "[models][molgen]") {
  // acetonitrile-like C-C#N plus an ethanol tail: C0-C1, C1#N2, C0-C3, C3-O4
  const std::int64_t n = 5, C = 4;
  std::vector<double> p(static_cast<std::size_t>(n * n * C), 0.0);
  for (std::int64_t r = 0; r < n * n; ++r) p[r * C + 0] = 0.9, p[r * C + 1] = 0.1;
  auto set = [&](std::int64_t i, std::int64_t j, std::int64_t cls, double q) {
    for (auto [a, b] : {std::pair{i, j}, std::pair{j, i}}) {
      for (std::int64_t c = 0; c < C; ++c) p[(a * n + b) * C + c] = (1 - q) / 3;
      p[(a * n + b) * C + cls] = q;
    }
  };
  set(0, 1, 1, 0.8);
  set(1, 2, 3, 0.7);
  set(0, 3, 1, 0.9);
  set(3, 4, 1, 0.6);
  const std::vector<std::int64_t> types{0, 0, 1, 0, 2};
  const auto am = argmax_graph<double>(n, std::vector<double>(static_cast<std::size_t>(n * 4), 0.0), p, 4, C);
  CHECK(am.bonds.size() == 4);
  CorrectionInfo ci;
  const auto m = correct_graph(n, types, p, C, max_valences({"C", "N", "O", "F"}), &ci);
  std::set<std::tuple<std::int64_t, std::int64_t, int>> a(am.bonds.begin(), am.bonds.end()), b(m.bonds.begin(), m.bonds.end());
  CHECK(a == b);
  CHECK(ci.downgraded == 0);
  CHECK(ci.skipped == 0);
  CHECK(ci.connecting == 0);
  CHECK(ci.dropped_atoms == 0);
  // an over-valent prediction (F with a double bond) is lowered to a single bond
  set(3, 4, 2, 0.95);
  const auto m2 = correct_graph(n, std::vector<std::int64_t>{0, 0, 1, 0, 3}, p, C, max_valences({"C", "N", "O", "F"}), &ci);
  CHECK(ci.downgraded == 1);
  const auto s2 = bond_order_sums(m2);
  CHECK(s2[4] == 1);
}

TEST_CASE("argmax_graph symmetrises the pair scores and decodes atom types", "[models][molgen]") {
  const std::int64_t n = 3, C = 4;
  std::vector<double> s(static_cast<std::size_t>(n * n * C), 0.0);
  for (std::int64_t r = 0; r < n * n; ++r) s[r * C] = 1.0;
  s[(0 * n + 1) * C + 2] = 3.0;  // (0,1) double in one direction only: mean 1.5 > 1 (none)
  s[(2 * n + 1) * C + 1] = 1.5;  // (1,2) single in one direction: mean 0.75 < 1
  std::vector<double> a{0, 1, 0, 0, /**/ 5, 0, 0, 0, /**/ 0, 0, 0, 2};
  const auto m = argmax_graph(n, a, s, 4, C);
  CHECK(m.atom_type == std::vector<std::int64_t>{1, 0, 3});
  REQUIRE(m.bonds.size() == 1);
  CHECK(m.bonds[0] == std::tuple<std::int64_t, std::int64_t, int>{0, 1, 1});
}

TEST_CASE("molgen graphs: typed errors for empty graphs and mismatched sizes", "[models][molgen]") {
  MolecularGraph ok;
  ok.n = 2;
  ok.atom_type = {0, 1};
  ok.bonds = {{0, 1, 0}};
  MolecularGraph empty;
  CHECK_THROWS_AS(MolBatch<double>::make({ok, empty}, 4, 3), std::invalid_argument);
  CHECK_THROWS_AS(MolBatch<double>::make({}, 4, 3), std::invalid_argument);
  MolecularGraph bad = ok;
  bad.atom_type = {0};
  CHECK_THROWS_AS(MolBatch<double>::make({bad}, 4, 3), std::invalid_argument);
  bad = ok;
  bad.atom_type = {0, 4};
  CHECK_THROWS_AS(MolBatch<double>::make({bad}, 4, 3), std::invalid_argument);
  bad = ok;
  bad.bonds = {{0, 1, 3}};
  CHECK_THROWS_AS(MolBatch<double>::make({bad}, 4, 3), std::invalid_argument);
  bad = ok;
  bad.bonds = {{0, 1, 0}, {1, 0, 1}};
  CHECK_THROWS_AS(MolBatch<double>::make({bad}, 4, 3), std::invalid_argument);
  bad = ok;
  bad.bonds = {{1, 1, 0}};
  CHECK_THROWS_AS(MolBatch<double>::make({bad}, 4, 3), std::invalid_argument);
  bad = ok;
  bad.bonds = {{0, 2, 0}};
  CHECK_THROWS_AS(MolBatch<double>::make({bad}, 4, 3), std::invalid_argument);
  try {
    MolBatch<double>::make({ok, empty}, 4, 3);
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).find("graph 1 has no atoms") != std::string::npos);
  }
  const std::vector<int> val{4, 3, 2, 1};
  CHECK_THROWS_AS(correct_graph<double>(0, {}, {}, 4, val), std::invalid_argument);
  CHECK_THROWS_AS(correct_graph<double>(2, {0, 1}, std::vector<double>(15, 0.25), 4, val), std::invalid_argument);
  CHECK_THROWS_AS(correct_graph<double>(2, {0}, std::vector<double>(16, 0.25), 4, val), std::invalid_argument);
  CHECK_THROWS_AS(correct_graph<double>(2, {0, 7}, std::vector<double>(16, 0.25), 4, val), std::invalid_argument);
  CHECK_THROWS_AS(argmax_graph<double>(0, {}, {}, 4, 4), std::invalid_argument);
  CHECK_THROWS_AS(argmax_graph<double>(2, std::vector<double>(7), std::vector<double>(16), 4, 4), std::invalid_argument);
  CHECK_THROWS_AS(default_max_valence("Xx"), std::invalid_argument);

  // the batch layout
  const auto mb = MolBatch<double>::make({ok, ok}, 4, 3);
  CHECK(mb.b.pairs() == 8);
  CHECK(mb.upper == std::vector<std::int64_t>{1, 5});
  CHECK(mb.pair_label == std::vector<std::int64_t>{1, 1});
  CHECK(mb.A(1, 0) == 1.0);
  CHECK(mb.A(2, 0) == 1.0);
  CHECK(mb.A(0, 0) == 0.0);
  CHECK(mb.transpose == std::vector<std::int64_t>{0, 2, 1, 3, 4, 6, 5, 7});
}
