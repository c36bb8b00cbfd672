// Validity / uniqueness / novelty (metrics/molecules/generation.hpp) on hand-made lists.
#include <algorithm>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "mgvae/metrics/molecules/generation.hpp"
#include "support/catch.hpp"

using mgvae::data::AtomVocab;
using mgvae::data::MolGraph;
using namespace mgvae::metrics;

TEST_CASE("generation metrics on SMILES", "[molecules][generation]") {
  const auto train = canonical_smiles_set({"CCO", "c1ccccc1", "C1=CC=CC=C1", "not a smiles"});
  CHECK(train.size() == 2);  // benzene twice, garbage skipped
  // 8 samples: 2 invalid; valid = OCC (=CCO, in train), CCO, CCN, CCN, C[C@H](N)O (stereo dropped), CC(N)O
  const auto m = evaluate_generation_smiles({"OCC", "CCO", "CCN", "C1CC", "NCC", "c1cccc1", "C[C@H](N)O", "CC(N)O"}, train);
  CHECK(m.total == 8);
  CHECK(m.valid == 6);
  CHECK(m.unique == 3);  // CCO, CCN, CC(N)O
  CHECK(m.novel == 2);   // CCN, CC(N)O
  CHECK(m.validity == Approx(6.0 / 8));
  CHECK(m.uniqueness == Approx(3.0 / 6));
  CHECK(m.novelty == Approx(2.0 / 3));
  REQUIRE(m.invalid_log.size() == 2);
  CHECK(m.invalid_log[0].rfind("3: ", 0) == 0);
  CHECK(m.invalid_log[1].rfind("5: ", 0) == 0);
  CHECK(m.valid_smiles.size() == 6);
}

TEST_CASE("generation metrics on graphs", "[molecules][generation]") {
  const auto vocab = AtomVocab::qm9();
  const auto train = canonical_smiles_set({"CO"});
  MolGraph methanol{2, {0, 2}, {{0, 1, 0}}, {}};
  MolGraph formaldehyde{2, {0, 2}, {{0, 1, 1}}, {}};
  MolGraph bad{2, {2, 2}, {{0, 1, 2}}, {}};            // O#O: valence error
  MolGraph frag{3, {0, 2, 1}, {{0, 1, 0}}, {}};        // CO + N: disconnected
  const std::vector<MolGraph> gen = {methanol, formaldehyde, bad, frag, formaldehyde};
  const auto m = evaluate_generation(gen, vocab, train);
  CHECK(m.total == 5);
  CHECK(m.valid == 4);
  CHECK(m.unique == 3);
  CHECK(m.novel == 2);
  CHECK(m.invalid_log.size() == 1);
  CHECK(m.invalid_log[0].find("2: ") == 0);
  GenerationOptions strict;
  strict.allow_disconnected = false;
  const auto s = evaluate_generation(gen, vocab, train, strict);
  CHECK(s.valid == 3);
  CHECK(s.unique == 2);
  CHECK(s.novel == 1);
  CHECK(s.invalid_log.size() == 2);
  CHECK(s.invalid_log[1].find("disconnected") != std::string::npos);
}

TEST_CASE("generation metrics of an empty list are zero", "[molecules][generation]") {
  const auto m = evaluate_generation_smiles({}, {});
  CHECK(m.total == 0);
  CHECK(m.validity == 0.0);
  CHECK(m.uniqueness == 0.0);
  CHECK(m.novelty == 0.0);
  const auto all_bad = evaluate_generation_smiles({"C1CC", "(("}, {});
  CHECK(all_bad.valid == 0);
  CHECK(all_bad.invalid_log.size() == 2);
}

// ---- GDSS / MoFlow "validity without correction" ------------------------------------------------

TEST_CASE("GDSS validity without correction: hand cases", "[molecules][generation][gdss]") {
  const auto vocab = AtomVocab::qm9();  // C N O F
  const auto check = [&](const MolGraph& g, bool want_valid, int want_charged) {
    std::string why;
    int charged = -1;
    const bool ok = gdss_valid_without_correction(g, vocab, &why, &charged);
    CHECK(ok == want_valid);
    CHECK(charged == want_charged);
    if (!ok) CHECK(!why.empty());
  };
  check(MolGraph{2, {0, 2}, {{0, 1, 0}}, {}}, true, 0);  // CO
  // tetramethylammonium: N with four single bonds becomes N+ (invalid for plain sanitization)
  const MolGraph nme4{5, {1, 0, 0, 0, 0}, {{0, 1, 0}, {0, 2, 0}, {0, 3, 0}, {0, 4, 0}}, {}};
  check(nme4, true, 1);
  std::string why;
  CHECK_FALSE(mgvae::data::graph_to_smiles(nme4, vocab, &why).has_value());
  // trimethyloxonium: O with three bonds becomes O+
  check(MolGraph{4, {2, 0, 0, 0}, {{0, 1, 0}, {0, 2, 0}, {0, 3, 0}}, {}}, true, 1);
  // C=N(C)C: valence 4 on N through a double bond, also made N+
  check(MolGraph{4, {0, 1, 0, 0}, {{0, 1, 1}, {1, 2, 0}, {1, 3, 0}}, {}}, true, 1);
  // N with valence 5 (two over): invalid, although the first overflow (4) was made N+
  check(MolGraph{5, {1, 0, 0, 0, 0}, {{0, 1, 1}, {0, 2, 0}, {0, 3, 0}, {0, 4, 0}}, {}}, false, 1);
  // pentavalent carbon: invalid, never charged
  check(MolGraph{6, {0, 0, 0, 0, 0, 0}, {{0, 1, 0}, {0, 2, 0}, {0, 3, 0}, {0, 4, 0}, {0, 5, 0}}, {}}, false, 0);
  check(MolGraph{3, {3, 0, 0}, {{0, 1, 0}, {0, 2, 0}}, {}}, false, 0);  // F with two bonds
  // O#O: the bond puts both O one over; the check reports (and the rule fixes) only the first one
  check(MolGraph{2, {2, 2}, {{0, 1, 2}}, {}}, false, 1);
  // malformed graphs: false with a reason, never an exception
  check(MolGraph{2, {0, 7}, {{0, 1, 0}}, {}}, false, 0);
  check(MolGraph{2, {0, 0}, {{0, 1, 0}, {1, 0, 0}}, {}}, false, 0);
  check(MolGraph{0, {}, {}, {}}, false, 0);
}

namespace {

// Naive reference of the GDSS rule on the QM9 vocabulary (C N O F), without RDKit: add the bonds in
// (larger, smaller) order; after each, the lowest-index atom above its allowed valence (C 4, N 3,
// O 2, F 1; a cation N+ 4, O+ 3) is made a cation if it is N/O exactly one above the neutral value.
bool gdss_reference(const MolGraph& g, int& charged) {
  const int cap[4] = {4, 3, 2, 1};
  std::vector<int> val(static_cast<std::size_t>(g.n), 0), plus(static_cast<std::size_t>(g.n), 0);
  auto bonds = g.bonds;
  std::sort(bonds.begin(), bonds.end(), [](const auto& a, const auto& b) {
    const auto ka = std::pair(std::max(std::get<0>(a), std::get<1>(a)), std::min(std::get<0>(a), std::get<1>(a)));
    const auto kb = std::pair(std::max(std::get<0>(b), std::get<1>(b)), std::min(std::get<0>(b), std::get<1>(b)));
    return ka < kb;
  });
  const auto allowed = [&](std::int64_t i) { return cap[g.atom_type[static_cast<std::size_t>(i)]] + plus[static_cast<std::size_t>(i)]; };
  const auto first_bad = [&]() -> std::int64_t {
    for (std::int64_t i = 0; i < g.n; ++i)
      if (val[static_cast<std::size_t>(i)] > allowed(i)) return i;
    return -1;
  };
  charged = 0;
  for (const auto& [u, v, t] : bonds) {
    val[static_cast<std::size_t>(u)] += static_cast<int>(t) + 1;
    val[static_cast<std::size_t>(v)] += static_cast<int>(t) + 1;
    const auto i = first_bad();
    if (i < 0) continue;
    const auto type = g.atom_type[static_cast<std::size_t>(i)];
    if ((type == 1 || type == 2) && val[static_cast<std::size_t>(i)] - cap[type] == 1) {
      plus[static_cast<std::size_t>(i)] = 1;
      ++charged;
    }
  }
  return first_bad() < 0;
}

}  // namespace

TEST_CASE("GDSS validity without correction agrees with a naive reference on random graphs",
          "[molecules][generation][gdss]") {
  const auto vocab = AtomVocab::qm9();
  std::mt19937 rng(20261202);
  std::vector<MolGraph> graphs;
  std::int64_t valid_ref = 0, charged_valid_ref = 0, plain_valid = 0, plain_and_gdss = 0;
  for (int trial = 0; trial < 600; ++trial) {
    MolGraph g;
    g.n = std::uniform_int_distribution<int>(1, 9)(rng);
    for (std::int64_t i = 0; i < g.n; ++i) g.atom_type.push_back(std::discrete_distribution<int>({6, 2, 2, 0.5})(rng));
    const double p = std::uniform_real_distribution<double>(0.1, 0.5)(rng);
    for (std::int64_t i = 0; i < g.n; ++i)
      for (std::int64_t j = i + 1; j < g.n; ++j)
        if (std::bernoulli_distribution(p)(rng)) {
          const int t = std::discrete_distribution<int>({8, 2, 1})(rng);
          // endpoints in random orientation; the rule must not depend on it
          if (rng() % 2) g.bonds.emplace_back(i, j, t); else g.bonds.emplace_back(j, i, t);
        }
    std::shuffle(g.bonds.begin(), g.bonds.end(), rng);  // nor on the input order of the bonds
    int charged_ref = 0, charged = -1;
    const bool ref = gdss_reference(g, charged_ref);
    std::string why;
    const bool got = gdss_valid_without_correction(g, vocab, &why, &charged);
    INFO("trial " << trial);
    CHECK(got == ref);
    CHECK(charged == charged_ref);
    valid_ref += ref ? 1 : 0;
    charged_valid_ref += (ref && charged_ref > 0) ? 1 : 0;
    const bool plain = mgvae::data::graph_to_smiles(g, vocab).has_value();
    plain_valid += plain ? 1 : 0;
    plain_and_gdss += (plain && got) ? 1 : 0;
    graphs.push_back(std::move(g));
  }
  // the random graphs exercise every branch: valid, invalid, valid only through a cation
  CHECK(valid_ref > 50);
  CHECK(valid_ref < 550);
  CHECK(charged_valid_ref > 10);
  // on a neutral vocabulary, sanitizable implies GDSS-valid (the rule only ever adds allowances)
  CHECK(plain_and_gdss == plain_valid);
  const auto m = gdss_validity_without_correction(graphs, vocab);
  CHECK(m.total == 600);
  CHECK(m.valid == valid_ref);
  CHECK(m.valid_with_added_charge == charged_valid_ref);
  CHECK(m.validity == Approx(double(valid_ref) / 600.0));
  CHECK(static_cast<std::int64_t>(m.invalid_log.size()) == 600 - valid_ref);
  CHECK(m.valid_fragmented > 0);
  CHECK(m.valid_fragmented < m.valid);
}
