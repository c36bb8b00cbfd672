// ZINC-250k training subset for molecule generation (data/molecules/zinc.hpp: zinc_train_pool,
// sample_molecules; examples/molecule_generation --dataset zinc): reproducible from the seed, never a
// GDSS test row, molecules outside the vocabulary or above max_atoms counted and skipped.
// The first cases use small fixtures; the last needs shared/data ($MGVAE_DATA_DIR overrides) and is
// skipped with a "SKIPPED: ..." warning without it.
#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "mgvae/data/molecules/zinc.hpp"
#include "support/catch.hpp"

using namespace mgvae::data;

namespace {
AtomVocab zinc_elements() { return AtomVocab{{"C", "N", "O", "F", "P", "S", "Cl", "Br", "I"}}; }
std::string chain(int n) { return std::string(static_cast<std::size_t>(n), 'C'); }
}  // namespace

TEST_CASE("zinc_train_pool: every row not in the test index", "[molecules][zinc_sampling]") {
  CHECK(zinc_train_pool(6, {4, 1, 4}) == std::vector<std::int64_t>{0, 2, 3, 5});
  CHECK(zinc_train_pool(3, {}) == std::vector<std::int64_t>{0, 1, 2});
  CHECK(zinc_train_pool(2, {0, 1}).empty());
  CHECK_THROWS_AS(zinc_train_pool(3, {3}), std::invalid_argument);
  CHECK_THROWS_AS(zinc_train_pool(3, {-1}), std::invalid_argument);
}

TEST_CASE("sample_molecules: reproducible from the seed, draws only pool rows", "[molecules][zinc_sampling]") {
  std::vector<std::string> smiles;
  for (int i = 1; i <= 40; ++i) smiles.push_back(chain(i % 12 + 1) + (i % 3 ? "O" : "N"));
  std::vector<std::int64_t> test;
  for (std::int64_t r = 0; r < 40; r += 3) test.push_back(r);
  const auto pool = zinc_train_pool(40, test);
  const std::set<std::int64_t> test_set(test.begin(), test.end());

  const auto a = sample_molecules(smiles, pool, AtomVocab::zinc(), 38, 10, 7);
  const auto b = sample_molecules(smiles, pool, AtomVocab::zinc(), 38, 10, 7);
  const auto c = sample_molecules(smiles, pool, AtomVocab::zinc(), 38, 10, 8);
  REQUIRE(a.data.graphs.size() == 10);
  CHECK(a.data.source_row == b.data.source_row);
  CHECK(a.data.smiles == b.data.smiles);
  CHECK(a.data.source_row != c.data.source_row);
  CHECK(a.examined == 10);
  CHECK(a.skipped() == 0);
  for (std::size_t k = 0; k < a.data.source_row.size(); ++k) {
    const auto r = a.data.source_row[k];
    CHECK(test_set.count(r) == 0);
    CHECK(a.data.smiles[k] == smiles[static_cast<std::size_t>(r)]);
  }
  const std::set<std::int64_t> distinct(a.data.source_row.begin(), a.data.source_row.end());
  CHECK(distinct.size() == a.data.source_row.size());  // without replacement

  // count > pool: the whole pool, each row once, none from the test index
  const auto all = sample_molecules(smiles, pool, AtomVocab::zinc(), 38, 1000, 7);
  CHECK(all.data.graphs.size() == pool.size());
  std::vector<std::int64_t> rows = all.data.source_row;
  std::sort(rows.begin(), rows.end());
  CHECK(rows == pool);
  // a prefix property: a larger request extends a smaller one with the same seed
  CHECK(std::equal(a.data.source_row.begin(), a.data.source_row.end(), all.data.source_row.begin()));
}

TEST_CASE("sample_molecules: out-of-vocabulary and oversized molecules are counted, not fatal",
          "[molecules][zinc_sampling]") {
  const std::vector<std::string> smiles = {
      "CCO",                  // kept
      "C[N+](C)(C)C",         // charged N: kept with AtomVocab::zinc(), out of vocabulary with the 9 elements
      "CC(=O)[O-]",           // charged O: same
      "C[Si](C)(C)C",         // Si: out of vocabulary for both
      chain(40),              // 40 atoms > 38
      "C1CC",                 // unparsable (unclosed ring)
      "c1ccccc1Cl",           // kept
      "CC(C)(C)C(=O)N",       // kept
  };
  std::vector<std::int64_t> pool(smiles.size());
  for (std::size_t i = 0; i < pool.size(); ++i) pool[i] = static_cast<std::int64_t>(i);

  const auto e = sample_molecules(smiles, pool, zinc_elements(), 38, 100, 3);
  CHECK(e.examined == 8);
  CHECK(e.data.graphs.size() == 3);
  CHECK(e.out_of_vocab == 3);
  CHECK(e.too_many_atoms == 1);
  CHECK(e.other == 1);
  CHECK(e.skipped() == 5);
  CHECK(e.data.num_skipped() == 5);
  for (const auto& s : e.data.skipped) UNSCOPED_INFO(s);
  CHECK(std::any_of(e.data.skipped.begin(), e.data.skipped.end(),
                    [](const std::string& s) { return s.find("'N+' is not in the vocabulary") != std::string::npos; }));

  const auto z = sample_molecules(smiles, pool, AtomVocab::zinc(), 38, 100, 3);
  CHECK(z.data.graphs.size() == 5);
  CHECK(z.out_of_vocab == 1);  // Si
  CHECK(z.too_many_atoms == 1);
  CHECK(z.other == 1);

  // with count reached early, only the rows needed are examined
  const auto one = sample_molecules(smiles, pool, AtomVocab::zinc(), 38, 1, 3);
  CHECK(one.data.graphs.size() == 1);
  CHECK(one.examined == one.skipped() + 1);

  // a pool row outside the SMILES list is counted as "other"
  const auto bad = sample_molecules(smiles, {0, 99}, AtomVocab::zinc(), 38, 5, 1);
  CHECK(bad.data.graphs.size() == 1);
  CHECK(bad.other == 1);
}

TEST_CASE("ZINC-250k training subset on the real data", "[molecules][zinc_sampling][data]") {
  const std::string dir = molecule_data_dir() + "/zinc250k/";
  if (!std::filesystem::exists(dir + "zinc250k.tsv.gz") || !std::filesystem::exists(dir + "gdss_test_idx.txt")) {
    WARN("SKIPPED: " << dir << "zinc250k.tsv.gz or gdss_test_idx.txt not found (set MGVAE_DATA_DIR)");
    return;
  }
  const auto t = read_zinc250k(dir + "zinc250k.tsv.gz");
  const auto test = read_index_file(dir + "gdss_test_idx.txt");
  const auto pool = zinc_train_pool(t.rows(), test);
  const std::set<std::int64_t> test_set(test.begin(), test.end());
  CHECK(static_cast<std::int64_t>(pool.size()) == t.rows() - static_cast<std::int64_t>(test_set.size()));
  for (auto r : pool) REQUIRE(test_set.count(r) == 0);

  const auto a = sample_molecules(t.smiles, pool, AtomVocab::zinc(), 38, 500, 1);
  const auto b = sample_molecules(t.smiles, pool, AtomVocab::zinc(), 38, 500, 1);
  const auto c = sample_molecules(t.smiles, pool, AtomVocab::zinc(), 38, 500, 2);
  REQUIRE(a.data.graphs.size() == 500);
  CHECK(a.data.source_row == b.data.source_row);
  CHECK(a.data.source_row != c.data.source_row);
  for (auto r : a.data.source_row) CHECK(test_set.count(r) == 0);
  CHECK(a.skipped() == 0);  // AtomVocab::zinc() covers ZINC-250k, which has at most 38 heavy atoms

  // the 9 neutral elements: charged molecules are counted and skipped
  const auto e = sample_molecules(t.smiles, pool, zinc_elements(), 38, 500, 1);
  CHECK(e.data.graphs.size() == 500);
  CHECK(e.examined == 500 + e.skipped());
  CHECK(e.too_many_atoms == 0);
  CHECK(e.other == 0);
  WARN("ZINC-250k, 9 neutral elements: " << e.out_of_vocab << " of " << e.examined
                                         << " drawn rows skipped as out of vocabulary (formal charges)");
  for (auto r : e.data.source_row) CHECK(test_set.count(r) == 0);
}
