// SMILES <-> MolGraph conversion (data/molecules/smiles.hpp) and load_molecule_dataset.
#include <algorithm>
#include <string>
#include <vector>

#include "mgvae/data/molecules/qm9.hpp"
#include "mgvae/data/molecules/smiles.hpp"
#include "support/molecules/reference.hpp"
#include "support/catch.hpp"

using mgvae::data::AtomVocab;
using mgvae::data::canonical_smiles;
using mgvae::data::graph_to_smiles;
using mgvae::data::MolGraph;
using mgvae::data::smiles_to_graph;

namespace {
int count_bonds(const MolGraph& g, int type) {
  return static_cast<int>(std::count_if(g.bonds.begin(), g.bonds.end(),
                                        [&](const auto& b) { return std::get<2>(b) == type; }));
}
}  // namespace

TEST_CASE("benzene is kekulized, hydrogens removed", "[molecules][smiles]") {
  std::string why;
  const auto g = smiles_to_graph("c1ccccc1", AtomVocab::qm9(), 9, false, &why);
  REQUIRE(g.has_value());
  CHECK(g->n == 6);
  CHECK(g->atom_type == std::vector<std::int64_t>(6, 0));
  CHECK(g->bonds.size() == 6);
  CHECK(count_bonds(*g, 0) == 3);
  CHECK(count_bonds(*g, 1) == 3);
  for (const auto& [u, v, t] : g->bonds) CHECK(u < v);
  CHECK(g->atom_features.empty());
  CHECK(graph_to_smiles(*g, AtomVocab::qm9()).value() == "c1ccccc1");
}

TEST_CASE("fixed molecules survive SMILES -> graph -> SMILES", "[molecules][smiles]") {
  const std::vector<std::string> mols = {"CCO", "C#N", "O=C1CCCCC1", "CC(=O)Oc1ccccc1C(=O)O", "c1ccc2[nH]ccc2c1",
                                         "c1ccncc1", "Cc1ccc(Cl)cc1Br", "[NH3+]CC(=O)[O-]", "C[N+](C)(C)C",
                                         "O=[N+]([O-])c1ccccc1", "CS(=O)(=O)N", "FC(F)(F)c1ccco1", "C1=CC=CC=C1",
                                         "N[C@@H](C)C(=O)O"};
  for (const auto& s : mols) {
    INFO(s);
    std::string why;
    const auto g = smiles_to_graph(s, AtomVocab::zinc(), 38, false, &why);
    INFO(why);
    REQUIRE(g.has_value());
    const auto back = graph_to_smiles(*g, AtomVocab::zinc(), &why);
    REQUIRE(back.has_value());
    CHECK(*back == canonical_smiles(s, false).value());
  }
}

TEST_CASE("round trip on the 1,000 reference molecules (500 QM9, 500 ZINC)", "[molecules][smiles]") {
  const auto rows = mgvae_test::read_qed_reference();
  REQUIRE(rows.size() == 1000);
  int ok = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto vocab = i < 500 ? AtomVocab::qm9() : AtomVocab::zinc();
    std::string why;
    const auto g = smiles_to_graph(rows[i].smiles, vocab, i < 500 ? 9 : 38, true, &why);
    INFO(rows[i].smiles << " " << why);
    REQUIRE(g.has_value());
    REQUIRE(g->atom_features.size() == static_cast<std::size_t>(g->n * mgvae::data::kAtomFeatureDim));
    const auto back = graph_to_smiles(*g, vocab, &why);
    REQUIRE(back.has_value());
    if (*back == canonical_smiles(rows[i].smiles, false).value()) ++ok;
    else UNSCOPED_INFO(rows[i].smiles << " -> " << *back);
  }
  CHECK(ok == 1000);
}

TEST_CASE("Table 7 atom features", "[molecules][smiles]") {
  CHECK(mgvae::data::atom_feature_names().size() == static_cast<std::size_t>(mgvae::data::kAtomFeatureDim));
  const auto g = smiles_to_graph("c1ccccc1O", AtomVocab::qm9(), 9, true);
  REQUIRE(g.has_value());
  REQUIRE(g->atom_features.size() == 7u * 24u);
  const float* c0 = g->atom_features.data();  // aromatic CH
  CHECK(c0[0] == 6.0f);                        // atomic number
  CHECK(c0[1] == 1.0f);                        // in ring
  CHECK(c0[2 + 5] == 1.0f);                    // ring of size 6
  CHECK(c0[2 + 4] == 0.0f);                    // not size 5
  CHECK(c0[11] == 1.0f);                       // aromatic
  CHECK(c0[12] == 2.0f);                       // degree
  CHECK(c0[16] == Approx(12.011));             // mass
  CHECK(c0[22] == 1.0f);                       // total H
  CHECK(c0[23] == 4.0f);                       // total valence
  const float* o = g->atom_features.data() + 6 * 24;
  CHECK(o[0] == 8.0f);
  CHECK(o[1] == 0.0f);
  CHECK(o[11] == 0.0f);
  CHECK(o[22] == 1.0f);
}

TEST_CASE("bad inputs give nullopt with a reason, never a crash", "[molecules][smiles]") {
  const auto qm9 = AtomVocab::qm9();
  std::string why;
  CHECK_FALSE(smiles_to_graph("C1CC", qm9, 9, false, &why));  // unclosed ring
  CHECK(why.find("unparsable") != std::string::npos);
  CHECK_FALSE(smiles_to_graph("XYZ", qm9, 9, false, &why));
  CHECK_FALSE(smiles_to_graph("c1cccc1", qm9, 9, false, &why));  // cannot kekulize
  CHECK(why.find("sanitization") != std::string::npos);
  CHECK_FALSE(smiles_to_graph("C(C)(C)(C)(C)C", qm9, 9, false, &why));  // pentavalent carbon
  CHECK_FALSE(smiles_to_graph("", qm9, 9, false, &why));
  CHECK(why.find("no atoms") != std::string::npos);
  CHECK_FALSE(smiles_to_graph("CCCl", qm9, 9, false, &why));  // out of vocabulary
  CHECK(why.find("'Cl'") != std::string::npos);
  CHECK_FALSE(smiles_to_graph("C[NH3+]", qm9, 9, false, &why));  // charged N not in QM9 vocab
  CHECK(why.find("'N+'") != std::string::npos);
  CHECK_FALSE(smiles_to_graph("CCCCCCCCCC", qm9, 9, false, &why));  // 10 > 9 atoms
  CHECK(why.find("too many atoms") != std::string::npos);
  CHECK(smiles_to_graph("CCCCCCCCCC", qm9, 0).has_value());  // no limit
  CHECK_FALSE(smiles_to_graph("CC", AtomVocab{{"C", "Xx"}}, 9, false, &why));
  CHECK(why.find("vocabulary symbol") != std::string::npos);

  // load_molecule_dataset counts what it skips
  const auto d = mgvae::data::load_molecule_dataset({"CCO", "C1CC", "CCCl", "c1ccccc1", "CCCCCCCCCC"}, qm9, 9);
  CHECK(d.graphs.size() == 2);
  CHECK(d.num_skipped() == 3);
  CHECK(d.source_row == std::vector<std::int64_t>{0, 3});
  CHECK(d.skipped[0].rfind("1: ", 0) == 0);
  const auto d2 = mgvae::data::load_molecule_dataset({"CCO", "C1CC", "CCN"}, qm9, 9, false, {2, 0, 7});
  CHECK(d2.graphs.size() == 2);
  CHECK(d2.source_row == std::vector<std::int64_t>{2, 0});
  CHECK(d2.num_skipped() == 1);
}

TEST_CASE("graph_to_smiles rejects invalid graphs", "[molecules][smiles]") {
  const auto qm9 = AtomVocab::qm9();
  std::string why;
  MolGraph g;
  g.n = 6;
  g.atom_type = {0, 0, 0, 0, 0, 0};
  g.bonds = {{0, 1, 0}, {0, 2, 0}, {0, 3, 0}, {0, 4, 0}, {0, 5, 0}};  // pentavalent carbon
  CHECK_FALSE(graph_to_smiles(g, qm9, &why));
  CHECK(why.find("sanitization") != std::string::npos);
  g.bonds = {{0, 1, 3}};
  CHECK_FALSE(graph_to_smiles(g, qm9, &why));
  g.bonds = {{0, 0, 0}};
  CHECK_FALSE(graph_to_smiles(g, qm9, &why));
  g.bonds = {{0, 1, 0}, {1, 0, 1}};
  CHECK_FALSE(graph_to_smiles(g, qm9, &why));
  CHECK(why.find("repeated") != std::string::npos);
  g.bonds = {{0, 9, 0}};
  CHECK_FALSE(graph_to_smiles(g, qm9, &why));
  g.bonds = {};
  g.atom_type[2] = 4;
  CHECK_FALSE(graph_to_smiles(g, qm9, &why));
  CHECK(why.find("outside the vocabulary") != std::string::npos);
  g.atom_type = {0, 1};
  CHECK_FALSE(graph_to_smiles(g, qm9, &why));  // n mismatch
  MolGraph empty;
  CHECK_FALSE(graph_to_smiles(empty, qm9, &why));
  // disconnected graphs are valid molecules with dotted SMILES
  MolGraph two;
  two.n = 2;
  two.atom_type = {0, 2};
  CHECK(graph_to_smiles(two, qm9).value() == "C.O");
  // oxygen with two double bonds: valence error
  MolGraph ring;
  ring.n = 3;
  ring.atom_type = {2, 0, 0};
  ring.bonds = {{0, 1, 1}, {0, 2, 1}};
  CHECK_FALSE(graph_to_smiles(ring, qm9, &why));
  CHECK(why.find("valence") != std::string::npos);
}

TEST_CASE("canonical_smiles", "[molecules][smiles]") {
  CHECK(canonical_smiles("OCC").value() == "CCO");
  CHECK(canonical_smiles("C1=CC=CC=C1").value() == "c1ccccc1");
  CHECK(canonical_smiles("N[C@@H](C)C(=O)O").value() == "C[C@H](N)C(=O)O");
  CHECK(canonical_smiles("N[C@@H](C)C(=O)O", false).value() == "CC(N)C(=O)O");
  std::string why;
  CHECK_FALSE(canonical_smiles("C1CC", true, &why));
  CHECK_FALSE(why.empty());
}
