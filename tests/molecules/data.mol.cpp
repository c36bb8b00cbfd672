// Checks on the real data sets in shared/data (skipped with a warning when absent).
// Data directory: $MGVAE_DATA_DIR, else MGVAE_DEFAULT_DATA_DIR (= <source>/../shared/data).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "mgvae/data/molecules/qm9.hpp"
#include "mgvae/data/molecules/zinc.hpp"
#include "mgvae/metrics/molecules/qed.hpp"
#include "mgvae/metrics/molecules/sa_score.hpp"
#include "support/catch.hpp"

using namespace mgvae::data;

namespace {
bool have(const std::string& rel) {
  const std::string p = molecule_data_dir() + "/" + rel;
  if (std::filesystem::exists(p)) return true;
  WARN("SKIPPED: " << p << " not found (set MGVAE_DATA_DIR)");
  return false;
}
double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / double(v.size());
}
}  // namespace

TEST_CASE("QM9 SMILES, targets and splits", "[molecules][data]") {
  if (!have("qm9/SMILES")) return;
  const std::string dir = molecule_data_dir() + "/qm9/";
  const auto smiles = read_qm9_smiles(dir + "SMILES");
  REQUIRE(smiles.size() == 130462);
  for (const auto& name : qm9_target_names()) {
    const auto t = read_qm9_target(dir + "targets/" + name);
    CHECK(t.size() == smiles.size());
    CHECK(std::abs(mean(t)) < 0.05);
  }
  const std::vector<std::pair<int, std::int64_t>> sizes = {{10, 117421}, {30, 91333}, {50, 65236}, {70, 39140}, {90, 13047}};
  for (const auto& [p, ntrain] : sizes) {
    const auto tr = read_qm9_split(dir + "splits/" + std::to_string(p) + ".train.index", 130462);
    const auto te = read_qm9_split(dir + "splits/" + std::to_string(p) + ".test.index", 130462);
    CHECK(static_cast<std::int64_t>(tr.size()) == ntrain);
    CHECK(tr.size() + te.size() == smiles.size());
    std::vector<char> seen(smiles.size(), 0);
    for (auto i : tr) seen[static_cast<std::size_t>(i)]++;
    for (auto i : te) seen[static_cast<std::size_t>(i)]++;
    CHECK(std::all_of(seen.begin(), seen.end(), [](char c) { return c == 1; }));
  }
  // every QM9 molecule converts with the C,N,O,F vocabulary and at most 9 atoms
  const auto d = load_molecule_dataset(smiles, AtomVocab::qm9(), 9);
  for (std::size_t i = 0; i < std::min<std::size_t>(d.skipped.size(), 10); ++i) UNSCOPED_INFO(d.skipped[i]);
  WARN("QM9: " << d.graphs.size() << " graphs, " << d.num_skipped() << " skipped");
  CHECK(d.graphs.size() + d.skipped.size() == smiles.size());
  CHECK(d.num_skipped() == 226);  // zwitterions: N+, O-, N-, C-
  const auto dc = load_molecule_dataset(smiles, AtomVocab::qm9_with_charges(), 9);
  CHECK(dc.num_skipped() == 0);
}

TEST_CASE("ZINC-250k table and property agreement", "[molecules][data]") {
  if (!have("zinc250k/zinc250k.tsv.gz")) return;
  const auto t = read_zinc250k(molecule_data_dir() + "/zinc250k/zinc250k.tsv.gz");
  REQUIRE(t.rows() == 249455);
  CHECK(mean(t.column("logP")) == Approx(2.4571).margin(1e-4));
  CHECK(mean(t.column("qed")) == Approx(0.7283).margin(1e-4));
  CHECK(mean(t.column("SAS")) == Approx(3.0533).margin(1e-4));
  const auto idx = read_index_file(molecule_data_dir() + "/zinc250k/gdss_test_idx.txt");
  CHECK(idx.size() == 24887);
  CHECK(*std::max_element(idx.begin(), idx.end()) < t.rows());
  // SAS was recomputed with RDKit 2022.09.3: our port must match; qed/logP are chemical_vae's
  double max_sa = 0, max_qed = 0, max_logp = 0;
  int qed_off = 0;
  const std::int64_t n = 2000;
  for (std::int64_t i = 0; i < n; ++i) {
    auto mol = detail::parse_smiles(t.smiles[static_cast<std::size_t>(i)], nullptr);
    REQUIRE(mol);
    max_sa = std::max(max_sa, std::abs(mgvae::metrics::sa_score(*mol) - t.column("SAS")[static_cast<std::size_t>(i)]));
    const double dq = std::abs(mgvae::metrics::qed(*mol) - t.column("qed")[static_cast<std::size_t>(i)]);
    max_qed = std::max(max_qed, dq);
    if (dq > 1e-6) ++qed_off;
    max_logp = std::max(max_logp, std::abs(mgvae::metrics::crippen_logp(*mol) - t.column("logP")[static_cast<std::size_t>(i)]));
  }
  WARN("ZINC-250k first " << n << " rows: max |SA - file| = " << max_sa << ", max |QED - file| = " << max_qed
                          << " (" << qed_off << " rows > 1e-6), max |logP - file| = " << max_logp);
  CHECK(max_sa < 1e-9);
  // The file's qed column comes from chemical_vae (an older RDKit QED, descriptor version 1.0):
  // Python RDKit 2022.09's QED.qed itself differs from it by up to ~0.04, so only a loose bound.
  CHECK(max_qed < 0.05);
  CHECK(max_logp < 1e-6);
  const auto d = load_molecule_dataset(t.smiles, AtomVocab::zinc(), 38, false,
                                       std::vector<std::int64_t>(idx.begin(), idx.begin() + 5000));
  CHECK(d.num_skipped() == 0);
}

TEST_CASE("ZINC-12k (benchmarking-gnns) splits", "[molecules][data]") {
  if (!have("zinc12k_bgnn/train.tsv")) return;
  const std::string dir = molecule_data_dir() + "/zinc12k_bgnn/";
  const std::vector<std::pair<std::string, std::int64_t>> parts = {{"train", 10000}, {"val", 1000}, {"test", 1000}};
  double max_plogp = 0;
  for (const auto& [name, rows] : parts) {
    const auto t = read_zinc12k_bgnn(dir + name + ".tsv");
    CHECK(t.rows() == rows);
    CHECK(static_cast<std::int64_t>(read_index_file(dir + name + ".index").size()) == rows);
    const auto d = load_molecule_dataset(t.smiles, AtomVocab::zinc(), 38, true);
    CHECK(d.num_skipped() == 0);
    std::int64_t max_n = 0;
    for (const auto& g : d.graphs) max_n = std::max(max_n, g.n);
    CHECK(max_n <= 37);
    for (std::int64_t i = 0; i < std::min<std::int64_t>(rows, 1000); ++i) {
      auto mol = detail::parse_smiles(t.smiles[static_cast<std::size_t>(i)], nullptr);
      REQUIRE(mol);
      max_plogp = std::max(max_plogp, std::abs(mgvae::metrics::penalized_logp(*mol) -
                                               t.column("penalized_logP")[static_cast<std::size_t>(i)]));
    }
  }
  WARN("ZINC-12k: max |penalized logP - file| = " << max_plogp);
  CHECK(max_plogp < 1e-6);
}
