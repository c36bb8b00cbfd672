#pragma once
/// Hand-made molecules shared by the molecule-model tests (no RDKit needed), and the relabelling
/// of their atoms by a permutation per molecule.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "mgvae/models/molgen/graph.hpp"
#include "support/permute.hpp"

namespace mgvae::molgen::testing {

/// Four molecules over C N O F (types 0..3), bond types 0 single, 1 double, 2 triple.
inline std::vector<MolecularGraph> molecules() {
  std::vector<MolecularGraph> g(4);
  g[0].n = 3;  // ethanol C-C-O
  g[0].atom_type = {0, 0, 2};
  g[0].bonds = {{0, 1, 0}, {1, 2, 0}};
  g[1].n = 6;  // benzene, Kekulé
  g[1].atom_type = {0, 0, 0, 0, 0, 0};
  g[1].bonds = {{0, 1, 0}, {1, 2, 1}, {2, 3, 0}, {3, 4, 1}, {4, 5, 0}, {0, 5, 1}};
  g[2].n = 5;  // N#C-C(F)=O
  g[2].atom_type = {1, 0, 0, 3, 2};
  g[2].bonds = {{0, 1, 2}, {1, 2, 0}, {2, 3, 0}, {2, 4, 1}};
  g[3].n = 1;  // methane
  g[3].atom_type = {0};
  return g;
}

/// Atom i of molecule g becomes atom ps[g][i].
inline std::vector<MolecularGraph> permute_graphs(const std::vector<MolecularGraph>& gs,
                                                  const mgvae::testing::Perms& ps) {
  std::vector<MolecularGraph> out = gs;
  for (std::size_t g = 0; g < gs.size(); ++g) {
    for (std::int64_t i = 0; i < gs[g].n; ++i) out[g].atom_type[ps[g][i]] = gs[g].atom_type[i];
    out[g].bonds.clear();
    for (const auto& [u, v, t] : gs[g].bonds)
      out[g].bonds.emplace_back(std::min(ps[g][u], ps[g][v]), std::max(ps[g][u], ps[g][v]), t);
  }
  return out;
}

}  // namespace mgvae::molgen::testing
