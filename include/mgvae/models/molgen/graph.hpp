#pragma once
/// @file graph.hpp
/// RDKit-free molecular graphs for the second-order molecule MGVAE (models/molgen), the ragged
/// training batch built from them, and the decoding of the decoder's logits into graphs:
/// argmax decoding ("without correction") and the valence-aware correcting process (paper App. D.2).
///
/// `MolecularGraph` mirrors `data::MolGraph` (data/molecules/smiles.hpp) without its RDKit
/// dependency: n heavy atoms, an atom-type index per atom (into an atom vocabulary such as
/// C N O F), and bonds (u < v, type 0 single, 1 double, 2 triple). The examples convert between the
/// two field by field.
///
/// Pair classes. The decoder predicts, for every ordered pair (i, j), i ≠ j, a class in
/// {0 no bond, 1 single, 2 double, 3 triple}: class = bond type + 1. Bond order of class c is c.
///
/// Correcting process (`correct_graph`), our reading of App. D.2 ("sort the edge probabilities in
/// descending order and gradually add the edges in that order to satisfy all chemical constraints"):
///   1. p_bond(i, j) = 1 − p(no bond); candidate pairs i < j sorted by p_bond, descending (ties: (i, j)
///      lexicographic).
///   2. Pass 1, in that order, for pairs whose most likely class is a bond: add the bond with the most
///      likely order if both atoms have that much free valence, else the highest lower order that fits
///      (triple → double → single); skip the pair when not even a single bond fits.
///   3. Pass 2 (connectivity), while the graph has several components: add a single bond on the
///      most probable pair that joins two components and whose atoms both have free valence.
///   4. If it is still disconnected (no such pair exists), keep the largest component (ties: the one
///      holding the lowest atom index), as GDSS/MoFlow's `valid_mol_can_with_seg` keeps the largest
///      fragment.
/// Every added bond respects `max_valence[atom type]` (sum of bond orders), so the result never
/// exceeds a valence (tested on random logits).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <string>
#include <tuple>
#include <vector>

#include "mgvae/core/error.hpp"
#include "mgvae/ops/equivariant.hpp"
#include "mgvae/tensor/tensor.hpp"

namespace mgvae::molgen {

/// A molecule as a graph: atoms typed by vocabulary index, bonds (u < v, 0 single / 1 double / 2 triple).
struct MolecularGraph {
  std::int64_t n = 0;
  std::vector<std::int64_t> atom_type;
  std::vector<std::tuple<std::int64_t, std::int64_t, int>> bonds;
};

/// Default maximal valence (sum of bond orders to heavy atoms) of a vocabulary symbol such as "C",
/// "N+", "O-": the element's default valence adjusted for the charge (N+ 4, O- 1, O+ 3, C- 3, N- 2,
/// S- 1, S+ 3, P+ 4; P 5, S 6). @throw std::invalid_argument for an unknown symbol.
inline int default_max_valence(const std::string& symbol) {
  static const std::vector<std::pair<std::string, int>> table = {
      {"C", 4},  {"N", 3},  {"O", 2},  {"F", 1},  {"P", 5},  {"S", 6},  {"Cl", 1}, {"Br", 1}, {"I", 1},
      {"N+", 4}, {"O-", 1}, {"N-", 2}, {"S-", 1}, {"P+", 4}, {"S+", 3}, {"C-", 3}, {"O+", 3}, {"B", 3}};
  for (const auto& [s, v] : table)
    if (s == symbol) return v;
  throw_invalid("default_max_valence", "unknown atom symbol '" + symbol + "'");
}

/// Maximal valences of a vocabulary (one per symbol).
inline std::vector<int> max_valences(const std::vector<std::string>& symbols) {
  std::vector<int> v;
  for (const auto& s : symbols) v.push_back(default_max_valence(s));
  return v;
}

/// Checks a graph against `atom_types` and `bond_types` (number of atom / bond classes).
/// @throw std::invalid_argument naming `fn`, the graph index `g` and the problem: no atoms,
///        atom_type size ≠ n, type out of range, bond endpoint out of range, self loop, repeated bond,
///        bond type out of range.
inline void validate_graph(const char* fn, std::int64_t g, const MolecularGraph& m, std::int64_t atom_types,
                           std::int64_t bond_types) {
  const std::string w = "graph " + std::to_string(g);
  if (m.n <= 0) throw_invalid(fn, w + " has no atoms (n = " + std::to_string(m.n) + ")");
  if (static_cast<std::int64_t>(m.atom_type.size()) != m.n)
    throw_invalid(fn, w + ": atom_type has " + std::to_string(m.atom_type.size()) + " entries but n = " +
                          std::to_string(m.n));
  for (std::int64_t i = 0; i < m.n; ++i)
    if (m.atom_type[static_cast<std::size_t>(i)] < 0 || m.atom_type[static_cast<std::size_t>(i)] >= atom_types)
      throw_invalid(fn, w + ": atom " + std::to_string(i) + " has type " +
                            std::to_string(m.atom_type[static_cast<std::size_t>(i)]) + " outside [0, " +
                            std::to_string(atom_types) + ")");
  std::vector<char> seen(static_cast<std::size_t>(m.n * m.n), 0);
  for (const auto& [u, v, t] : m.bonds) {
    if (u < 0 || v < 0 || u >= m.n || v >= m.n)
      throw_invalid(fn, w + ": bond (" + std::to_string(u) + ", " + std::to_string(v) + ") has an endpoint outside [0, " +
                            std::to_string(m.n) + ")");
    if (u == v) throw_invalid(fn, w + ": self loop on atom " + std::to_string(u));
    if (t < 0 || t >= bond_types)
      throw_invalid(fn, w + ": bond (" + std::to_string(u) + ", " + std::to_string(v) + ") has type " + std::to_string(t) +
                            " outside [0, " + std::to_string(bond_types) + ")");
    char& s = seen[static_cast<std::size_t>(std::min(u, v) * m.n + std::max(u, v))];
    if (s) throw_invalid(fn, w + ": repeated bond (" + std::to_string(u) + ", " + std::to_string(v) + ")");
    s = 1;
  }
}

/// One ragged training batch (no padding): graph g's atoms are rows node_off[g].. of X, its ordered
/// pairs (i, j) rows pair_off[g] + i·n_g + j of A.
template <class T>
struct MolBatch {
  RaggedBatch b;
  Tensor<T> A;                          ///< [P, E] bond-type one-hot, both directions, zero diagonal
  Tensor<T> X;                          ///< [N, F] atom-type one-hot
  std::vector<std::int64_t> atom_label; ///< [N] atom type
  std::vector<std::int64_t> upper;      ///< rows (of the P pairs) with i < j, graph by graph
  std::vector<std::int64_t> pair_label; ///< [upper.size()] class 0 none, 1 + bond type
  std::vector<std::int64_t> transpose;  ///< [P] row of (j, i) for the row of (i, j)

  std::int64_t graphs() const { return b.graphs(); }

  /// @throw std::invalid_argument (from validate_graph) for an empty batch entry or a malformed graph,
  ///        and for an empty list of graphs or non-positive class counts.
  static MolBatch make(const std::vector<MolecularGraph>& gs, std::int64_t atom_types, std::int64_t bond_types) {
    constexpr const char* fn = "MolBatch::make";
    check_arg(!gs.empty(), fn, "graphs", "must not be empty");
    check_arg(atom_types >= 1, fn, "atom_types", "must be >= 1");
    check_arg(bond_types >= 1, fn, "bond_types", "must be >= 1");
    std::vector<std::int64_t> sizes;
    for (std::size_t g = 0; g < gs.size(); ++g) {
      validate_graph(fn, static_cast<std::int64_t>(g), gs[g], atom_types, bond_types);
      sizes.push_back(gs[g].n);
    }
    MolBatch mb;
    mb.b = RaggedBatch::from_sizes(sizes);
    mb.A = Tensor<T>::zeros(Shape{mb.b.pairs(), bond_types});
    mb.X = Tensor<T>::zeros(Shape{mb.b.nodes(), atom_types});
    mb.transpose = pair_transpose_index(mb.b);
    for (std::size_t g = 0; g < gs.size(); ++g) {
      const auto& m = gs[g];
      const std::int64_t n = m.n, no = mb.b.node_off[g], po = mb.b.pair_off[g];
      for (std::int64_t i = 0; i < n; ++i) {
        const std::int64_t t = m.atom_type[static_cast<std::size_t>(i)];
        mb.X.data()[(no + i) * atom_types + t] = T(1);
        mb.atom_label.push_back(t);
      }
      std::vector<std::int64_t> cls(static_cast<std::size_t>(n * n), 0);
      for (const auto& [u, v, t] : m.bonds) {
        mb.A.data()[(po + u * n + v) * bond_types + t] = T(1);
        mb.A.data()[(po + v * n + u) * bond_types + t] = T(1);
        cls[static_cast<std::size_t>(std::min(u, v) * n + std::max(u, v))] = t + 1;
      }
      for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = i + 1; j < n; ++j) {
          mb.upper.push_back(po + i * n + j);
          mb.pair_label.push_back(cls[static_cast<std::size_t>(i * n + j)]);
        }
    }
    return mb;
  }

  /// Row of (j, i) for every row (i, j) of a ragged second-order tensor.
  static std::vector<std::int64_t> pair_transpose_index(const RaggedBatch& b) {
    std::vector<std::int64_t> t(static_cast<std::size_t>(b.pairs()));
    for (std::int64_t g = 0; g < b.graphs(); ++g) {
      const std::int64_t n = b.size(g), po = b.pair_off[g];
      for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = 0; j < n; ++j) t[static_cast<std::size_t>(po + i * n + j)] = po + j * n + i;
    }
    return t;
  }
  /// Rows with i < j of every graph.
  static std::vector<std::int64_t> upper_index(const RaggedBatch& b) {
    std::vector<std::int64_t> u;
    for (std::int64_t g = 0; g < b.graphs(); ++g) {
      const std::int64_t n = b.size(g), po = b.pair_off[g];
      for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = i + 1; j < n; ++j) u.push_back(po + i * n + j);
    }
    return u;
  }
};

namespace detail {
inline void check_decode_args(const char* fn, std::int64_t n, std::int64_t atom_types, std::int64_t pair_classes,
                              std::size_t atom_size, std::size_t pair_size) {
  check_arg(n >= 1, fn, "n", "must be >= 1 (a molecule needs an atom), got " + std::to_string(n));
  check_arg(atom_types >= 1, fn, "atom_types", "must be >= 1");
  check_arg(pair_classes >= 2, fn, "pair_classes", "must be >= 2 (no bond + at least one bond type)");
  check_arg(atom_size == static_cast<std::size_t>(n * atom_types), fn, "atom_logits",
            "must hold n·atom_types = " + std::to_string(n * atom_types) + " values, got " + std::to_string(atom_size));
  check_arg(pair_size == static_cast<std::size_t>(n * n * pair_classes), fn, "pair_probs",
            "must hold n²·pair_classes = " + std::to_string(n * n * pair_classes) + " values, got " +
                std::to_string(pair_size));
}
template <class T>
std::int64_t argmax_row(const T* p, std::int64_t k) {
  std::int64_t best = 0;
  for (std::int64_t c = 1; c < k; ++c)
    if (p[c] > p[best]) best = c;
  return best;
}
}  // namespace detail

/// Argmax decoding of one graph: atom type = argmax of its logits [n, atom_types]; pair (i < j) class
/// = argmax of the symmetrised scores (s_ij + s_ji)/2 [n·n, pair_classes] (logits or probabilities);
/// class c ≥ 1 is a bond of type c − 1. No chemistry is applied ("without correction").
/// @throw std::invalid_argument for n < 1 or sizes that do not match.
template <class T>
MolecularGraph argmax_graph(std::int64_t n, const std::vector<T>& atom_logits, const std::vector<T>& pair_scores,
                            std::int64_t atom_types, std::int64_t pair_classes) {
  detail::check_decode_args("argmax_graph", n, atom_types, pair_classes, atom_logits.size(), pair_scores.size());
  MolecularGraph m;
  m.n = n;
  for (std::int64_t i = 0; i < n; ++i) m.atom_type.push_back(detail::argmax_row(atom_logits.data() + i * atom_types, atom_types));
  std::vector<T> s(static_cast<std::size_t>(pair_classes));
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = i + 1; j < n; ++j) {
      for (std::int64_t c = 0; c < pair_classes; ++c)
        s[c] = (pair_scores[(i * n + j) * pair_classes + c] + pair_scores[(j * n + i) * pair_classes + c]) / T(2);
      const std::int64_t c = detail::argmax_row(s.data(), pair_classes);
      if (c > 0) m.bonds.emplace_back(i, j, static_cast<int>(c - 1));
    }
  return m;
}

/// Sum of bond orders at each atom (bond type t has order t + 1).
inline std::vector<int> bond_order_sums(const MolecularGraph& m) {
  std::vector<int> s(static_cast<std::size_t>(m.n), 0);
  for (const auto& [u, v, t] : m.bonds) {
    s[static_cast<std::size_t>(u)] += t + 1;
    s[static_cast<std::size_t>(v)] += t + 1;
  }
  return s;
}

/// Connected components (label per atom, labels 0.. in order of their lowest atom).
inline std::vector<std::int64_t> components(const MolecularGraph& m, std::int64_t* count = nullptr) {
  std::vector<std::int64_t> parent(static_cast<std::size_t>(m.n));
  std::iota(parent.begin(), parent.end(), 0);
  auto find = [&](std::int64_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  };
  for (const auto& [u, v, t] : m.bonds) {
    const std::int64_t a = find(u), b = find(v);
    if (a != b) parent[std::max(a, b)] = std::min(a, b);
  }
  std::vector<std::int64_t> label(static_cast<std::size_t>(m.n), -1), root_label(static_cast<std::size_t>(m.n), -1);
  std::int64_t k = 0;
  for (std::int64_t i = 0; i < m.n; ++i) {
    const std::int64_t r = find(i);
    if (root_label[r] < 0) root_label[r] = k++;
    label[i] = root_label[r];
  }
  if (count) *count = k;
  return label;
}

/// Statistics of one correction (for the report).
struct CorrectionInfo {
  int downgraded = 0;       ///< bonds added with a lower order than predicted
  int skipped = 0;          ///< predicted bonds dropped for lack of valence
  int connecting = 0;       ///< single bonds added in pass 2 to join components
  std::int64_t dropped_atoms = 0;  ///< atoms outside the kept largest component
};

/// The correcting process (see the file comment). `atom_type` [n] (e.g. argmax of the atom logits),
/// `pair_probs` [n·n, pair_classes] softmax probabilities (symmetrised internally), `max_valence` per
/// atom type. @throw std::invalid_argument for n < 1, mismatched sizes, an atom type without a valence.
template <class T>
MolecularGraph correct_graph(std::int64_t n, const std::vector<std::int64_t>& atom_type,
                             const std::vector<T>& pair_probs, std::int64_t pair_classes,
                             const std::vector<int>& max_valence, CorrectionInfo* info = nullptr) {
  constexpr const char* fn = "correct_graph";
  check_arg(n >= 1, fn, "n", "must be >= 1 (a molecule needs an atom), got " + std::to_string(n));
  check_arg(atom_type.size() == static_cast<std::size_t>(n), fn, "atom_type",
            "must have n = " + std::to_string(n) + " entries, got " + std::to_string(atom_type.size()));
  check_arg(pair_classes >= 2, fn, "pair_classes", "must be >= 2");
  check_arg(pair_probs.size() == static_cast<std::size_t>(n * n * pair_classes), fn, "pair_probs",
            "must hold n²·pair_classes = " + std::to_string(n * n * pair_classes) + " values, got " +
                std::to_string(pair_probs.size()));
  for (std::int64_t i = 0; i < n; ++i)
    check_arg(atom_type[i] >= 0 && atom_type[i] < static_cast<std::int64_t>(max_valence.size()), fn, "atom_type",
              "atom " + std::to_string(i) + " has type " + std::to_string(atom_type[i]) + " without a max_valence entry");
  CorrectionInfo ci;
  struct Cand {
    double p;
    std::int64_t i, j, cls;
  };
  std::vector<Cand> cand;
  std::vector<double> s(static_cast<std::size_t>(pair_classes));
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = i + 1; j < n; ++j) {
      for (std::int64_t c = 0; c < pair_classes; ++c)
        s[c] = 0.5 * (static_cast<double>(pair_probs[(i * n + j) * pair_classes + c]) +
                      static_cast<double>(pair_probs[(j * n + i) * pair_classes + c]));
      cand.push_back({1.0 - s[0], i, j, detail::argmax_row(s.data(), pair_classes)});
    }
  std::stable_sort(cand.begin(), cand.end(), [](const Cand& a, const Cand& b) { return a.p > b.p; });

  MolecularGraph m;
  m.n = n;
  m.atom_type = atom_type;
  std::vector<int> free(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) free[i] = max_valence[static_cast<std::size_t>(atom_type[i])];
  std::vector<char> bonded(static_cast<std::size_t>(n * n), 0);
  // pass 1: predicted bonds, most probable first, order lowered to what the valences allow
  for (const auto& c : cand) {
    if (c.cls == 0) continue;
    const int want = static_cast<int>(c.cls), fit = std::min({want, free[c.i], free[c.j]});
    if (fit < 1) {
      ++ci.skipped;
      continue;
    }
    if (fit < want) ++ci.downgraded;
    m.bonds.emplace_back(c.i, c.j, fit - 1);
    free[c.i] -= fit;
    free[c.j] -= fit;
    bonded[c.i * n + c.j] = 1;
  }
  // pass 2: join components with the most probable single bonds that fit
  for (;;) {
    std::int64_t k = 0;
    const auto lab = components(m, &k);
    if (k <= 1) break;
    bool added = false;
    for (const auto& c : cand) {
      if (bonded[c.i * n + c.j] || lab[c.i] == lab[c.j] || free[c.i] < 1 || free[c.j] < 1) continue;
      m.bonds.emplace_back(c.i, c.j, 0);
      --free[c.i];
      --free[c.j];
      bonded[c.i * n + c.j] = 1;
      ++ci.connecting;
      added = true;
      break;
    }
    if (!added) break;
  }
  // pass 3: keep the largest component
  std::int64_t k = 0;
  const auto lab = components(m, &k);
  if (k > 1) {
    std::vector<std::int64_t> cnt(static_cast<std::size_t>(k), 0);
    for (auto l : lab) ++cnt[l];
    const std::int64_t keep = std::max_element(cnt.begin(), cnt.end()) - cnt.begin();
    std::vector<std::int64_t> idx(static_cast<std::size_t>(n), -1);
    MolecularGraph r;
    for (std::int64_t i = 0; i < n; ++i)
      if (lab[i] == keep) {
        idx[i] = r.n++;
        r.atom_type.push_back(atom_type[i]);
      }
    for (const auto& [u, v, t] : m.bonds)
      if (idx[u] >= 0 && idx[v] >= 0) r.bonds.emplace_back(idx[u], idx[v], t);
    ci.dropped_atoms = n - r.n;
    m = std::move(r);
  }
  if (info) *info = ci;
  return m;
}

}  // namespace mgvae::molgen
