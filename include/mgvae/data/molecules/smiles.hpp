#pragma once
/// @file smiles.hpp
/// SMILES <-> molecular graph conversion with RDKit (needs RDKit: link RDKit::SmilesParse,
/// RDKit::GraphMol, RDKit::RDGeneral; see cmake/FindRDKit.cmake and docs/molecules.md).
///
/// A molecule becomes a `MolGraph`: heavy atoms (hydrogens removed) typed by an index into an
/// `AtomVocab`, and kekulized bonds (0 = single, 1 = double, 2 = triple). The reverse direction
/// builds an RWMol, recomputes implicit hydrogens from default valences and sanitizes it.
/// Nothing here throws on bad chemistry: failures return std::nullopt and a reason string.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <GraphMol/GraphMol.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/PeriodicTable.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <GraphMol/SmilesParse/SmilesWrite.h>
#include <RDGeneral/RDLog.h>

namespace mgvae::data {

/// Number of per-atom chemical features (paper App. D.2, Table 7).
inline constexpr std::int64_t kAtomFeatureDim = 24;

/// Names of the `kAtomFeatureDim` features, in storage order.
inline const std::vector<std::string>& atom_feature_names() {
  static const std::vector<std::string> names = {
      "AtomicNum",    "IsInRing",      "IsInRingSize1",    "IsInRingSize2",     "IsInRingSize3",
      "IsInRingSize4", "IsInRingSize5", "IsInRingSize6",    "IsInRingSize7",     "IsInRingSize8",
      "IsInRingSize9", "IsAromatic",    "Degree",           "ExplicitValence",   "FormalCharge",
      "Isotope",      "Mass",          "NoImplicit",       "NumExplicitHs",     "NumImplicitHs",
      "NumRadicalElectrons", "TotalDegree", "TotalNumHs",   "TotalValence"};
  return names;
}

/// A molecule as a graph over its heavy atoms.
struct MolGraph {
  std::int64_t n = 0;                       ///< number of atoms
  std::vector<std::int64_t> atom_type;      ///< n entries, index into AtomVocab::symbols
  /// Bonds (u, v, type) with u < v; type 0 = single, 1 = double, 2 = triple (kekulized).
  std::vector<std::tuple<std::int64_t, std::int64_t, int>> bonds;
  /// Optional n x kAtomFeatureDim row-major features (Table 7), empty unless requested.
  std::vector<float> atom_features;
};

/// Atom vocabulary. A symbol is an element symbol optionally followed by a formal charge:
/// "C", "Cl", "N+", "O-", "N+2". A plain symbol matches only the neutral atom.
struct AtomVocab {
  std::vector<std::string> symbols;

  /// QM9: C, N, O, F.
  static AtomVocab qm9() { return AtomVocab{{"C", "N", "O", "F"}}; }
  /// QM9 with the charged species of its 226 zwitterions: C, N, O, F, N+, N-, O-, C-.
  static AtomVocab qm9_with_charges() { return AtomVocab{{"C", "N", "O", "F", "N+", "N-", "O-", "C-"}}; }
  /// ZINC-250k: the 9 elements plus the charged species that occur in the data set.
  static AtomVocab zinc() {
    return AtomVocab{{"C", "N", "O", "F", "P", "S", "Cl", "Br", "I", "N+", "O-", "N-", "S-", "P+", "S+", "C-", "O+"}};
  }
  std::int64_t size() const { return static_cast<std::int64_t>(symbols.size()); }
};

namespace detail {

/// Silences RDKit's error/warning logs once per process (they go to stderr otherwise).
inline void quiet_rdkit() {
  static const bool done = [] {
    RDLog::InitLogs();
    boost::logging::disable_logs("rdApp.*");
    return true;
  }();
  (void)done;
}

/// Splits "N+2" into ("N", +2). Returns false when the symbol is malformed or unknown.
inline bool parse_vocab_symbol(const std::string& s, int& atomic_num, int& charge) {
  std::size_t i = 0;
  if (i >= s.size() || !std::isupper(static_cast<unsigned char>(s[i]))) return false;
  ++i;
  while (i < s.size() && std::islower(static_cast<unsigned char>(s[i]))) ++i;
  const std::string elem = s.substr(0, i);
  charge = 0;
  if (i < s.size()) {
    if (s[i] != '+' && s[i] != '-') return false;
    const int sign = s[i] == '+' ? 1 : -1;
    ++i;
    int mag = 1;
    if (i < s.size()) {
      mag = 0;
      for (; i < s.size(); ++i) {
        if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
        mag = mag * 10 + (s[i] - '0');
      }
    }
    charge = sign * mag;
  }
  if (elem == "H") {
    atomic_num = 1;
    return true;
  }
  try {
    atomic_num = static_cast<int>(RDKit::PeriodicTable::getTable()->getAtomicNumber(elem));
  } catch (...) {
    return false;
  }
  return atomic_num > 0;
}

/// Parsed vocabulary: (atomic number, charge) per symbol.
inline std::vector<std::pair<int, int>> parse_vocab(const AtomVocab& vocab, std::string* reason) {
  std::vector<std::pair<int, int>> out;
  for (const auto& s : vocab.symbols) {
    int z = 0, q = 0;
    if (!parse_vocab_symbol(s, z, q)) {
      if (reason) *reason = "bad vocabulary symbol '" + s + "'";
      return {};
    }
    out.emplace_back(z, q);
  }
  return out;
}

inline std::string atom_label(const RDKit::Atom& a) {
  std::string s = a.getSymbol();
  const int q = a.getFormalCharge();
  // appended piecewise: `"+" + std::string&&` trips GCC 12's -Wrestrict false positive (PR105329)
  if (q != 0) {
    s.push_back(q > 0 ? '+' : '-');
    const int m = q > 0 ? q : -q;
    if (m > 1) s.append(std::to_string(m));
  }
  return s;
}

inline void set_reason(std::string* reason, const std::string& msg) {
  if (reason) *reason = msg;
}

/// Parses and sanitizes a SMILES; nullptr (and a reason) on a syntax or sanitization error.
inline std::unique_ptr<RDKit::RWMol> parse_smiles(const std::string& smiles, std::string* reason) {
  quiet_rdkit();
  std::unique_ptr<RDKit::RWMol> mol;
  try {
    mol.reset(RDKit::SmilesToMol(smiles));
  } catch (const std::exception& e) {
    set_reason(reason, std::string("sanitization failed: ") + e.what());
    return nullptr;
  } catch (...) {
    set_reason(reason, "sanitization failed");
    return nullptr;
  }
  if (!mol) set_reason(reason, "unparsable SMILES '" + smiles + "'");
  return mol;
}

}  // namespace detail

/// Fills `out` (n x kAtomFeatureDim) with the Table 7 features of a sanitized molecule.
inline void atom_features(const RDKit::ROMol& mol, std::vector<float>& out) {
  const auto n = mol.getNumAtoms();
  out.assign(static_cast<std::size_t>(n) * kAtomFeatureDim, 0.0f);
  const RDKit::RingInfo* ri = mol.getRingInfo();
  const bool rings = ri && ri->isInitialized();
  for (unsigned i = 0; i < n; ++i) {
    const RDKit::Atom* a = mol.getAtomWithIdx(i);
    float* f = out.data() + static_cast<std::size_t>(i) * kAtomFeatureDim;
    int k = 0;
    f[k++] = static_cast<float>(a->getAtomicNum());
    f[k++] = rings && ri->numAtomRings(i) > 0 ? 1.0f : 0.0f;
    for (unsigned sz = 1; sz <= 9; ++sz) f[k++] = rings && ri->isAtomInRingOfSize(i, sz) ? 1.0f : 0.0f;
    f[k++] = a->getIsAromatic() ? 1.0f : 0.0f;
    f[k++] = static_cast<float>(a->getDegree());
    f[k++] = static_cast<float>(a->getExplicitValence());
    f[k++] = static_cast<float>(a->getFormalCharge());
    f[k++] = static_cast<float>(a->getIsotope());
    f[k++] = static_cast<float>(a->getMass());
    f[k++] = a->getNoImplicit() ? 1.0f : 0.0f;
    f[k++] = static_cast<float>(a->getNumExplicitHs());
    f[k++] = static_cast<float>(a->getNumImplicitHs());
    f[k++] = static_cast<float>(a->getNumRadicalElectrons());
    f[k++] = static_cast<float>(a->getTotalDegree());
    f[k++] = static_cast<float>(a->getTotalNumHs());
    f[k++] = static_cast<float>(a->getTotalValence());
  }
}

/// Converts a sanitized molecule (hydrogens already removed) to a MolGraph: kekulizes a copy,
/// maps atoms to `vocab`. std::nullopt (and `*reason`) on an out-of-vocabulary atom, more than
/// `max_atoms` atoms (max_atoms <= 0: no limit), or a bond that is not single/double/triple.
inline std::optional<MolGraph> mol_to_graph(const RDKit::ROMol& mol, const AtomVocab& vocab, std::int64_t max_atoms,
                                            bool with_features = false, std::string* reason = nullptr) {
  detail::quiet_rdkit();
  const auto table = detail::parse_vocab(vocab, reason);
  if (table.empty()) {
    if (vocab.symbols.empty()) detail::set_reason(reason, "empty vocabulary");
    return std::nullopt;
  }
  const auto n = static_cast<std::int64_t>(mol.getNumAtoms());
  if (n == 0) {
    detail::set_reason(reason, "molecule has no atoms");
    return std::nullopt;
  }
  if (max_atoms > 0 && n > max_atoms) {
    detail::set_reason(reason, "too many atoms: " + std::to_string(n) + " > " + std::to_string(max_atoms));
    return std::nullopt;
  }
  MolGraph g;
  g.n = n;
  g.atom_type.resize(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    const RDKit::Atom* a = mol.getAtomWithIdx(static_cast<unsigned>(i));
    const std::pair<int, int> key{a->getAtomicNum(), a->getFormalCharge()};
    const auto it = std::find(table.begin(), table.end(), key);
    if (it == table.end()) {
      detail::set_reason(reason, "atom " + std::to_string(i) + " '" + detail::atom_label(*a) + "' is not in the vocabulary");
      return std::nullopt;
    }
    g.atom_type[static_cast<std::size_t>(i)] = it - table.begin();
  }
  if (with_features) atom_features(mol, g.atom_features);
  RDKit::RWMol kek(mol);
  try {
    RDKit::MolOps::Kekulize(kek, true);
  } catch (const std::exception& e) {
    detail::set_reason(reason, std::string("kekulization failed: ") + e.what());
    return std::nullopt;
  }
  for (const RDKit::Bond* b : kek.bonds()) {
    int t = -1;
    switch (b->getBondType()) {
      case RDKit::Bond::SINGLE: t = 0; break;
      case RDKit::Bond::DOUBLE: t = 1; break;
      case RDKit::Bond::TRIPLE: t = 2; break;
      default: break;
    }
    if (t < 0) {
      detail::set_reason(reason, "bond " + std::to_string(b->getIdx()) + " is not single/double/triple after kekulization");
      return std::nullopt;
    }
    auto u = static_cast<std::int64_t>(b->getBeginAtomIdx());
    auto v = static_cast<std::int64_t>(b->getEndAtomIdx());
    if (u > v) std::swap(u, v);
    g.bonds.emplace_back(u, v, t);
  }
  return g;
}

/// SMILES -> MolGraph (sanitized, hydrogens removed, kekulized). std::nullopt and `*reason`
/// for an unparsable SMILES, a sanitization error, an element outside `vocab`, more than
/// `max_atoms` heavy atoms (<= 0: no limit), or aromatic bonds left after kekulization.
inline std::optional<MolGraph> smiles_to_graph(const std::string& smiles, const AtomVocab& vocab, std::int64_t max_atoms,
                                               bool with_features = false, std::string* reason = nullptr) {
  auto mol = detail::parse_smiles(smiles, reason);
  if (!mol) return std::nullopt;
  try {
    return mol_to_graph(*mol, vocab, max_atoms, with_features, reason);
  } catch (const std::exception& e) {
    detail::set_reason(reason, std::string("RDKit error: ") + e.what());
  } catch (...) {
    detail::set_reason(reason, "RDKit error");
  }
  return std::nullopt;
}

namespace detail {

/// A graph's atoms as an unsanitized RWMol plus its checked bond list (u < v), in input order. nullptr
/// and `*reason` for a malformed graph (type or endpoint out of range, self loop, repeated bond, bad
/// bond type). Shared by graph_to_mol and the GDSS-style valence check (metrics/molecules/generation.hpp).
struct UnsanitizedMol {
  std::unique_ptr<RDKit::RWMol> mol;
  std::vector<std::tuple<unsigned, unsigned, RDKit::Bond::BondType>> bonds;
};

inline UnsanitizedMol graph_atoms_and_bonds(const MolGraph& g, const AtomVocab& vocab, std::string* reason) {
  quiet_rdkit();
  const auto table = parse_vocab(vocab, reason);
  if (table.empty()) {
    if (vocab.symbols.empty()) set_reason(reason, "empty vocabulary");
    return {};
  }
  if (g.n <= 0 || static_cast<std::int64_t>(g.atom_type.size()) != g.n) {
    set_reason(reason, "graph has " + std::to_string(g.n) + " atoms but " + std::to_string(g.atom_type.size()) +
                           " atom types");
    return {};
  }
  UnsanitizedMol out;
  auto mol = std::make_unique<RDKit::RWMol>();
  for (std::int64_t i = 0; i < g.n; ++i) {
    const std::int64_t t = g.atom_type[static_cast<std::size_t>(i)];
    if (t < 0 || t >= static_cast<std::int64_t>(table.size())) {
      set_reason(reason, "atom " + std::to_string(i) + " has type " + std::to_string(t) + " outside the vocabulary");
      return {};
    }
    auto* a = new RDKit::Atom(table[static_cast<std::size_t>(t)].first);
    a->setFormalCharge(table[static_cast<std::size_t>(t)].second);
    mol->addAtom(a, false, true);
  }
  std::set<std::pair<std::int64_t, std::int64_t>> seen;
  for (const auto& [u0, v0, t] : g.bonds) {
    const std::int64_t u = std::min(u0, v0), v = std::max(u0, v0);
    if (u < 0 || v >= g.n || u == v) {
      set_reason(reason, "bad bond (" + std::to_string(u0) + ", " + std::to_string(v0) + ")");
      return {};
    }
    if (!seen.emplace(u, v).second) {
      set_reason(reason, "repeated bond (" + std::to_string(u) + ", " + std::to_string(v) + ")");
      return {};
    }
    RDKit::Bond::BondType bt;
    switch (t) {
      case 0: bt = RDKit::Bond::SINGLE; break;
      case 1: bt = RDKit::Bond::DOUBLE; break;
      case 2: bt = RDKit::Bond::TRIPLE; break;
      default:
        set_reason(reason, "bond type " + std::to_string(t) + " is not 0/1/2");
        return {};
    }
    out.bonds.emplace_back(static_cast<unsigned>(u), static_cast<unsigned>(v), bt);
  }
  out.mol = std::move(mol);
  return out;
}

}  // namespace detail

/// MolGraph -> sanitized RDKit molecule (implicit hydrogens from default valences). nullptr and
/// `*reason` for a malformed graph (type or endpoint out of range, self loop, repeated bond, bad
/// bond type) or a molecule that fails sanitization (valence, kekulization).
inline std::unique_ptr<RDKit::RWMol> graph_to_mol(const MolGraph& g, const AtomVocab& vocab,
                                                  std::string* reason = nullptr) {
  auto built = detail::graph_atoms_and_bonds(g, vocab, reason);
  if (!built.mol) return nullptr;
  auto mol = std::move(built.mol);
  for (const auto& [u, v, bt] : built.bonds) mol->addBond(u, v, bt);
  try {
    RDKit::MolOps::sanitizeMol(*mol);
  } catch (const std::exception& e) {
    detail::set_reason(reason, std::string("sanitization failed: ") + e.what());
    return nullptr;
  } catch (...) {
    detail::set_reason(reason, "sanitization failed");
    return nullptr;
  }
  return mol;
}

/// MolGraph -> canonical SMILES of the sanitized molecule (std::nullopt and `*reason` if invalid).
/// Disconnected graphs give dot-separated SMILES.
inline std::optional<std::string> graph_to_smiles(const MolGraph& g, const AtomVocab& vocab,
                                                  std::string* reason = nullptr) {
  auto mol = graph_to_mol(g, vocab, reason);
  if (!mol) return std::nullopt;
  try {
    return RDKit::MolToSmiles(*mol);
  } catch (const std::exception& e) {
    detail::set_reason(reason, std::string("MolToSmiles failed: ") + e.what());
  }
  return std::nullopt;
}

/// Canonical SMILES of a SMILES string (RDKit canonicalization; `isomeric` keeps stereo and
/// isotopes). std::nullopt and `*reason` when it does not parse or sanitize.
inline std::optional<std::string> canonical_smiles(const std::string& smiles, bool isomeric = true,
                                                   std::string* reason = nullptr) {
  auto mol = detail::parse_smiles(smiles, reason);
  if (!mol) return std::nullopt;
  try {
    return RDKit::MolToSmiles(*mol, isomeric);
  } catch (const std::exception& e) {
    detail::set_reason(reason, std::string("MolToSmiles failed: ") + e.what());
  }
  return std::nullopt;
}

}  // namespace mgvae::data
