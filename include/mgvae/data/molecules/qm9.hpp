#pragma once
/// @file qm9.hpp
/// MGVAE's QM9 files (shared/data/README.md section 2): the count-line readers of
/// mgvae/data/qm9_files.hpp (no RDKit) and `load_molecule_dataset`, which turns SMILES into
/// MolGraphs and reports the ones it skips.
#include <cstdint>
#include <string>
#include <vector>

#include "mgvae/core/error.hpp"
#include "mgvae/data/molecules/smiles.hpp"
#include "mgvae/data/qm9_files.hpp"

namespace mgvae::data {

/// A set of molecules as graphs, with the rows that could not be converted.
struct MoleculeDataset {
  std::vector<MolGraph> graphs;
  std::vector<std::string> smiles;        ///< input SMILES of each kept graph
  std::vector<std::int64_t> source_row;   ///< row of each kept graph in the input list
  std::vector<std::string> skipped;       ///< "<row>: <reason>" for every skipped SMILES
  std::int64_t num_skipped() const { return static_cast<std::int64_t>(skipped.size()); }
};

/// Converts SMILES to MolGraphs with smiles_to_graph; unconvertible ones (unparsable, out of
/// vocabulary, too many atoms) are skipped and logged. `rows` selects a subset (empty = all).
inline MoleculeDataset load_molecule_dataset(const std::vector<std::string>& smiles, const AtomVocab& vocab,
                                             std::int64_t max_atoms, bool with_features = false,
                                             const std::vector<std::int64_t>& rows = {}) {
  MoleculeDataset d;
  const std::int64_t n = rows.empty() ? static_cast<std::int64_t>(smiles.size()) : static_cast<std::int64_t>(rows.size());
  d.graphs.reserve(static_cast<std::size_t>(n));
  for (std::int64_t k = 0; k < n; ++k) {
    const std::int64_t r = rows.empty() ? k : rows[static_cast<std::size_t>(k)];
    if (r < 0 || r >= static_cast<std::int64_t>(smiles.size())) {
      d.skipped.push_back(std::to_string(r) + ": row out of range");
      continue;
    }
    std::string why;
    auto g = smiles_to_graph(smiles[static_cast<std::size_t>(r)], vocab, max_atoms, with_features, &why);
    if (!g) {
      d.skipped.push_back(std::to_string(r) + ": " + why);
      continue;
    }
    d.graphs.push_back(std::move(*g));
    d.smiles.push_back(smiles[static_cast<std::size_t>(r)]);
    d.source_row.push_back(r);
  }
  return d;
}

}  // namespace mgvae::data
