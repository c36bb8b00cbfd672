// Validity / uniqueness / novelty (metrics/molecules/generation.hpp) on hand-made lists.
#include <string>
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
