#pragma once
/// @file generation.hpp
/// Validity, uniqueness and novelty of generated molecules (the usual molecular-generation
/// metrics). A generated graph is valid when graph_to_mol builds a molecule that RDKit sanitizes;
/// run it on the raw decoder outputs for "validity without correction". Uniqueness and novelty are
/// computed on canonical SMILES:
///   validity   = valid / total
///   uniqueness = unique / valid          (distinct canonical SMILES among the valid ones)
///   novelty    = novel / unique          (distinct valid SMILES not in the training set)
///
/// `gdss_validity_without_correction` is the other common "validity without correction": the one of
/// GDSS / MoFlow (valence check only, fragments allowed, N/O/S one bond over valence made cations).
/// Needs RDKit::SmilesParse, RDKit::GraphMol, RDKit::RDGeneral.
#include <algorithm>
#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

#include <GraphMol/MolOps.h>
#include <GraphMol/SanitException.h>

#include "mgvae/data/molecules/smiles.hpp"

namespace mgvae::metrics {

struct GenerationOptions {
  /// Accept a disconnected molecule (dot-separated SMILES) as valid. When false such a sample
  /// counts as invalid with reason "disconnected".
  bool allow_disconnected = true;
};

struct GenerationMetrics {
  std::int64_t total = 0, valid = 0, unique = 0, novel = 0;
  double validity = 0, uniqueness = 0, novelty = 0;
  /// Canonical SMILES of every valid sample, in input order (duplicates kept).
  std::vector<std::string> valid_smiles;
  /// One entry per invalid sample: "<index>: <reason>".
  std::vector<std::string> invalid_log;
};

/// Canonical (non-isomeric by default) SMILES of every parsable input; unparsable ones are skipped.
inline std::unordered_set<std::string> canonical_smiles_set(const std::vector<std::string>& smiles,
                                                            bool isomeric = false) {
  std::unordered_set<std::string> out;
  out.reserve(smiles.size());
  for (const auto& s : smiles)
    if (auto c = data::canonical_smiles(s, isomeric)) out.insert(*c);
  return out;
}

namespace detail {

inline void finish_generation_metrics(GenerationMetrics& m, const std::unordered_set<std::string>& train) {
  std::unordered_set<std::string> uniq(m.valid_smiles.begin(), m.valid_smiles.end());
  m.valid = static_cast<std::int64_t>(m.valid_smiles.size());
  m.unique = static_cast<std::int64_t>(uniq.size());
  m.novel = 0;
  for (const auto& s : uniq)
    if (!train.count(s)) ++m.novel;
  m.validity = m.total ? double(m.valid) / double(m.total) : 0.0;
  m.uniqueness = m.valid ? double(m.unique) / double(m.valid) : 0.0;
  m.novelty = m.unique ? double(m.novel) / double(m.unique) : 0.0;
}

inline bool accept_smiles(const std::string& smi, const GenerationOptions& opt, std::int64_t i,
                          GenerationMetrics& m) {
  if (!opt.allow_disconnected && smi.find('.') != std::string::npos) {
    m.invalid_log.push_back(std::to_string(i) + ": disconnected (" + smi + ")");
    return false;
  }
  m.valid_smiles.push_back(smi);
  return true;
}

}  // namespace detail

/// Metrics of generated graphs. `train_canonical` holds canonical SMILES of the training set as
/// produced by graph_to_smiles or canonical_smiles(s, false) (non-isomeric; graphs carry no stereo).
inline GenerationMetrics evaluate_generation(const std::vector<data::MolGraph>& generated, const data::AtomVocab& vocab,
                                             const std::unordered_set<std::string>& train_canonical,
                                             const GenerationOptions& opt = {}) {
  GenerationMetrics m;
  m.total = static_cast<std::int64_t>(generated.size());
  for (std::int64_t i = 0; i < m.total; ++i) {
    std::string why;
    auto smi = data::graph_to_smiles(generated[static_cast<std::size_t>(i)], vocab, &why);
    if (!smi) {
      m.invalid_log.push_back(std::to_string(i) + ": " + why);
      continue;
    }
    detail::accept_smiles(*smi, opt, i, m);
  }
  detail::finish_generation_metrics(m, train_canonical);
  return m;
}

/// Same metrics for generated SMILES strings (canonicalized without stereo).
inline GenerationMetrics evaluate_generation_smiles(const std::vector<std::string>& generated,
                                                    const std::unordered_set<std::string>& train_canonical,
                                                    const GenerationOptions& opt = {}) {
  GenerationMetrics m;
  m.total = static_cast<std::int64_t>(generated.size());
  for (std::int64_t i = 0; i < m.total; ++i) {
    std::string why;
    auto smi = data::canonical_smiles(generated[static_cast<std::size_t>(i)], false, &why);
    if (!smi) {
      m.invalid_log.push_back(std::to_string(i) + ": " + why);
      continue;
    }
    detail::accept_smiles(*smi, opt, i, m);
  }
  detail::finish_generation_metrics(m, train_canonical);
  return m;
}

/// Result of `gdss_validity_without_correction`.
struct GdssValidity {
  std::int64_t total = 0, valid = 0;
  /// Valid molecules that are valid only because the rule below made an atom a cation.
  std::int64_t valid_with_added_charge = 0;
  /// Valid molecules with more than one connected component (the definition allows fragments).
  std::int64_t valid_fragmented = 0;
  double validity = 0;
  /// One entry per invalid sample: "<index>: <reason>".
  std::vector<std::string> invalid_log;
};

/// One graph under the GDSS / MoFlow definition of "validity without correction" (Jo et al. 2022,
/// `utils/mol_utils.py`: `construct_mol`, then `correct_mol`'s first `check_valency`; MoFlow's code is
/// the same): bonds are added in the order (larger index, smaller index) ascending; after each one
/// RDKit's valence check runs (`SanitizeMol(SANITIZE_PROPERTIES)`), and if it reports an N, O or S
/// atom whose explicit valence is exactly one above its default (N 3, O 2, S 2), that atom gets
/// formal charge +1 (e.g. a four-bonded N becomes N+). The molecule counts as valid when the final
/// valence check passes; fragments are allowed and no kekulization is required. Returns false and
/// `*reason` otherwise (also for a malformed graph). `*charged` = number of atoms made cations.
inline bool gdss_valid_without_correction(const data::MolGraph& g, const data::AtomVocab& vocab,
                                          std::string* reason = nullptr, int* charged = nullptr) {
  if (charged) *charged = 0;
  auto built = data::detail::graph_atoms_and_bonds(g, vocab, reason);
  if (!built.mol) return false;
  auto& mol = *built.mol;
  auto bonds = built.bonds;
  std::stable_sort(bonds.begin(), bonds.end(), [](const auto& a, const auto& b) {
    return std::pair(std::get<1>(a), std::get<0>(a)) < std::pair(std::get<1>(b), std::get<0>(b));
  });
  const auto check = [&mol](std::string* why) -> int {  // -1 = ok, else the offending atom (or -2)
    try {
      unsigned int failed = 0;
      RDKit::MolOps::sanitizeMol(mol, failed, RDKit::MolOps::SANITIZE_PROPERTIES);
      return -1;
    } catch (const RDKit::AtomValenceException& e) {
      if (why) *why = e.what();
      return static_cast<int>(e.getAtomIdx());
    } catch (const std::exception& e) {
      if (why) *why = e.what();
      return -2;
    }
  };
  for (const auto& [u, v, bt] : bonds) {
    mol.addBond(u, v, bt);
    const int bad = check(nullptr);
    if (bad < 0) continue;
    RDKit::Atom* atom = mol.getAtomWithIdx(static_cast<unsigned>(bad));
    double valence = 0;
    for (auto [b, e] = mol.getAtomBonds(atom); b != e; ++b) valence += mol[*b]->getBondTypeAsDouble();
    const int z = atom->getAtomicNum();
    const int def = z == 7 ? 3 : 2;  // GDSS's ATOM_VALENCY for N, O, S
    if ((z == 7 || z == 8 || z == 16) && valence - def == 1.0) {
      atom->setFormalCharge(1);
      if (charged) ++*charged;
    }
  }
  std::string why;
  if (check(&why) == -1) return true;
  data::detail::set_reason(reason, "valence check failed: " + why);
  return false;
}

/// `gdss_valid_without_correction` over a list of generated graphs.
inline GdssValidity gdss_validity_without_correction(const std::vector<data::MolGraph>& generated,
                                                     const data::AtomVocab& vocab) {
  GdssValidity m;
  m.total = static_cast<std::int64_t>(generated.size());
  for (std::int64_t i = 0; i < m.total; ++i) {
    const auto& g = generated[static_cast<std::size_t>(i)];
    std::string why;
    int charged = 0;
    if (!gdss_valid_without_correction(g, vocab, &why, &charged)) {
      m.invalid_log.push_back(std::to_string(i) + ": " + why);
      continue;
    }
    ++m.valid;
    if (charged > 0) ++m.valid_with_added_charge;
    // components by union-find over the bonds
    std::vector<std::int64_t> parent(static_cast<std::size_t>(g.n));
    for (std::int64_t a = 0; a < g.n; ++a) parent[static_cast<std::size_t>(a)] = a;
    const auto find = [&parent](std::int64_t a) {
      while (parent[static_cast<std::size_t>(a)] != a) a = parent[static_cast<std::size_t>(a)] = parent[static_cast<std::size_t>(parent[static_cast<std::size_t>(a)])];
      return a;
    };
    std::int64_t comps = g.n;
    for (const auto& [u, v, t] : g.bonds) {
      (void)t;
      const auto ru = find(u), rv = find(v);
      if (ru != rv) {
        parent[static_cast<std::size_t>(ru)] = rv;
        --comps;
      }
    }
    if (comps > 1) ++m.valid_fragmented;
  }
  m.validity = m.total ? double(m.valid) / double(m.total) : 0.0;
  return m;
}

}  // namespace mgvae::metrics
