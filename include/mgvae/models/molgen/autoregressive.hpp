#pragma once
/// @file autoregressive.hpp
/// Autoregressive MGN for molecule generation (paper App. D.2, "Autoregressive", Table 2 row
/// "Autoregressive MGN"), RDKit-free. The paper gives one paragraph; the authors' code has no
/// autoregressive variant (REFERENCE-NOTES §5), so everything below is our reading of it.
///
/// Order. A molecule is built atom by atom in a breadth-first order from a start atom v₀
/// (`bfs_order`; training: a random start atom and random tie-breaking among neighbours, so one
/// molecule is seen in many orders). In a BFS order the *parent* p(k) of atom k ≥ 1 (its first
/// neighbour in the order) is non-decreasing in k, and atoms before p(k) have no bond to any atom
/// ≥ k. We use both facts: atoms before the parent of the last placed atom are *closed* (no new
/// bonds), and the new atom must bond to an atom at or after that parent (so every prefix is connected).
///
/// Step t = 0, 1, … (t atoms placed). The input graph G_t is the partial molecule plus one extra
/// *candidate* node (the atom about to be added, not yet typed and without bonds), t + 1 nodes:
///   A  [(t+1)², E]  bond-type channels of the placed atoms (both directions)
///   X  [t+1, F_in]  per node: atom type one-hot (F) ‖ candidate flag ‖ free valence one-hot
///                   (0..max valence) ‖ closed ‖ focus (parent of the last placed atom) ‖ last placed
/// A second-order MGN (`SecondOrderLayer`s of models/mgn, Eq. 3 contractions with A + the 2→2
/// basis) gives pair embeddings H [(t+1)², C] and node embeddings u = 2→1(H) [t+1, 5C]; the graph
/// readout r_t = mean_i u_i updates a graph-level hidden state with a GRU cell,
///   h_t = GRU(r_t, h_{t−1}),  h_{−1} = 0                                       (the gated recurrence)
/// and two heads score the step:
///   (a) next atom:  softmax over {F atom types, STOP} of MLP([h_t ‖ r_t])
///   (b) bonds of the new atom (type x_t) to each placed atom i, in placement order:
///       softmax over {none, single, double, triple} of MLP([H(i,c) ‖ H(c,i) ‖ u_i ‖ h_t ‖ onehot(x_t)])
///       where c is the candidate node: the second-order edge embedding between a vertex inside G_t
///       and the one outside, as in the paper.
/// Valence masks (`ar_type_mask`, `ArEdgeMasker`; logits of forbidden classes get −10⁴ added): a bond
/// of order k to atom i is allowed only if i is not closed and both i and the new atom still have k
/// free valences (C 4, N 3, O 2, F 1); "no bond" is forbidden on the last open atom with a free
/// valence if the new atom has no bond yet (connectivity); an atom type is allowed only if some open
/// atom has a free valence and fewer than `max_atoms` atoms are placed, else STOP is the only choice
/// ("stop when no edge is valid"); STOP is not allowed at t = 0. Every sampled graph therefore
/// respects the valences and is connected: validity is 100 % *by construction* (the masks, not the
/// network, guarantee it; the network decides which valid molecule).
///
/// Training: teacher forcing on BFS orders with cross-entropy of every (masked) decision, summed over
/// a molecule's steps and averaged over the batch. All steps of all molecules of a batch are one
/// ragged batch of partial graphs (one MGN pass); only the GRU runs step by step (packed, molecules
/// sorted by length).
///
/// Equivariance: the MGN and the readout are permutation equivariant/invariant, so for a fixed h_{t−1}
/// the per-step scores are invariant (atom head) / equivariant (bond logits per placed atom) under a
/// relabelling of the placed atoms *with their flags* (tested). The order itself breaks permutation
/// equivariance of the generative model, as the paper says; the masks depend on the placement order.
///
/// Unlike the paper ("we sample each vertex latent z independently"), there is no per-vertex latent:
/// the model is a plain autoregressive generator whose randomness is the sampling of each decision.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <numeric>
#include <string>
#include <tuple>
#include <vector>

#include "mgvae/autodiff/tape.hpp"
#include "mgvae/autodiff/var.hpp"
#include "mgvae/core/arena.hpp"
#include "mgvae/core/error.hpp"
#include "mgvae/core/rng.hpp"
#include "mgvae/models/molgen/graph.hpp"
#include "mgvae/models/molgen/layers.hpp"
#include "mgvae/models/size_matching.hpp"
#include "mgvae/nn/linear.hpp"
#include "mgvae/nn/module.hpp"
#include "mgvae/nn/optim.hpp"
#include "mgvae/ops/elementwise.hpp"
#include "mgvae/ops/equivariant.hpp"
#include "mgvae/ops/indexing.hpp"
#include "mgvae/ops/loss.hpp"
#include "mgvae/ops/shape.hpp"

namespace mgvae::molgen {

struct ArConfig {
  std::int64_t atom_types = 4;       ///< F (QM9: C N O F)
  std::int64_t bond_types = 3;       ///< E (single, double, triple); bond classes E + 1 (with "none")
  std::vector<int> max_valence = {4, 3, 2, 1};  ///< per atom type
  std::int64_t hidden = 24;          ///< channels of the second-order layers
  int layers = 2;                    ///< second-order layers
  std::int64_t state = 64;           ///< GRU hidden state
  std::int64_t head_hidden = 64;     ///< hidden width of the two heads
  std::int64_t max_atoms = 9;        ///< at most this many atoms are generated
  std::uint64_t seed = 1;            ///< parameter initialisation

  /// @throw std::invalid_argument naming the bad field.
  void validate(const char* fn) const {
    check_arg(atom_types >= 1, fn, "atom_types", "must be >= 1");
    check_arg(bond_types >= 1, fn, "bond_types", "must be >= 1");
    check_arg(static_cast<std::int64_t>(max_valence.size()) == atom_types, fn, "max_valence",
              "must have atom_types = " + std::to_string(atom_types) + " entries, got " + std::to_string(max_valence.size()));
    for (int v : max_valence) check_arg(v >= 1, fn, "max_valence", "every entry must be >= 1");
    check_arg(hidden >= 1 && state >= 1 && head_hidden >= 1, fn, "hidden/state/head_hidden", "must be >= 1");
    check_arg(layers >= 1, fn, "layers", "must be >= 1");
    check_arg(max_atoms >= 1, fn, "max_atoms", "must be >= 1");
  }
  int max_free() const { return *std::max_element(max_valence.begin(), max_valence.end()); }
};

// ---- BFS order -------------------------------------------------------------------------------

/// Breadth-first order of the atoms of a connected molecule from `start`; neighbours are visited
/// in increasing `rank` (default: the atom index). @throw std::invalid_argument for a malformed
/// graph, `start` outside [0, n), `rank` not of size n, or a disconnected molecule.
inline std::vector<std::int64_t> bfs_order(const MolecularGraph& m, std::int64_t start,
                                           const std::vector<std::int64_t>& rank = {}) {
  constexpr const char* fn = "bfs_order";
  validate_graph(fn, 0, m, std::numeric_limits<std::int64_t>::max(), std::numeric_limits<int>::max());
  check_arg(start >= 0 && start < m.n, fn, "start", "must be in [0, " + std::to_string(m.n) + "), got " + std::to_string(start));
  check_arg(rank.empty() || static_cast<std::int64_t>(rank.size()) == m.n, fn, "rank",
            "must be empty or have n = " + std::to_string(m.n) + " entries, got " + std::to_string(rank.size()));
  std::vector<std::vector<std::int64_t>> nb(static_cast<std::size_t>(m.n));
  for (const auto& [u, v, t] : m.bonds) {
    nb[u].push_back(v);
    nb[v].push_back(u);
  }
  auto key = [&](std::int64_t a) { return rank.empty() ? a : rank[a]; };
  for (auto& l : nb) std::sort(l.begin(), l.end(), [&](std::int64_t a, std::int64_t b) { return key(a) < key(b) || (key(a) == key(b) && a < b); });
  std::vector<std::int64_t> order{start};
  std::vector<char> seen(static_cast<std::size_t>(m.n), 0);
  seen[start] = 1;
  for (std::size_t q = 0; q < order.size(); ++q)
    for (auto v : nb[order[q]])
      if (!seen[v]) {
        seen[v] = 1;
        order.push_back(v);
      }
  check_arg(static_cast<std::int64_t>(order.size()) == m.n, fn, "graph",
            "is not connected: BFS from atom " + std::to_string(start) + " reaches " + std::to_string(order.size()) + " of " +
                std::to_string(m.n) + " atoms");
  return order;
}

/// The molecule with its atoms renumbered: new atom k is old atom order[k]; bonds (u < v).
/// @throw std::invalid_argument if `order` is not a permutation of [0, n).
inline MolecularGraph relabel(const MolecularGraph& m, const std::vector<std::int64_t>& order) {
  check_arg(static_cast<std::int64_t>(order.size()) == m.n, "relabel", "order",
            "must have n = " + std::to_string(m.n) + " entries, got " + std::to_string(order.size()));
  std::vector<std::int64_t> pos(static_cast<std::size_t>(m.n), -1);
  for (std::int64_t k = 0; k < m.n; ++k) {
    check_arg(order[k] >= 0 && order[k] < m.n && pos[order[k]] < 0, "relabel", "order", "must be a permutation of [0, n)");
    pos[order[k]] = k;
  }
  MolecularGraph r;
  r.n = m.n;
  for (std::int64_t k = 0; k < m.n; ++k) r.atom_type.push_back(m.atom_type[order[k]]);
  for (const auto& [u, v, t] : m.bonds) r.bonds.emplace_back(std::min(pos[u], pos[v]), std::max(pos[u], pos[v]), t);
  std::sort(r.bonds.begin(), r.bonds.end());
  return r;
}

/// A BFS order from a random start atom with random tie-breaking among neighbours, drawn from
/// CounterRng(seed, stream) (deterministic in its arguments), and the molecule relabelled to it.
inline MolecularGraph random_bfs(const MolecularGraph& m, std::uint64_t seed, std::uint64_t stream) {
  CounterRng rng(seed, stream);
  check_arg(m.n >= 1, "random_bfs", "graph", "has no atoms");
  const std::int64_t start = static_cast<std::int64_t>(rng.next_below(static_cast<std::uint64_t>(m.n)));
  std::vector<std::int64_t> rank(static_cast<std::size_t>(m.n));
  for (auto& r : rank) r = static_cast<std::int64_t>(rng.next_u32());
  return relabel(m, bfs_order(m, start, rank));
}

// ---- partial graphs and masks --------------------------------------------------------------

/// The state before step t: t placed atoms (a MolecularGraph in placement order) and the BFS flags.
struct ArPartial {
  MolecularGraph g;
  std::vector<char> closed;  ///< [t] no more bonds to this atom
  std::int64_t focus = -1;   ///< parent of the last placed atom (−1: none)
  std::int64_t last = -1;    ///< the last placed atom (−1: none)
};

/// First neighbour in the order of every atom of a molecule in BFS order (−1 for atom 0).
/// @throw std::invalid_argument if an atom k ≥ 1 has no earlier neighbour (not a BFS-connected order).
inline std::vector<std::int64_t> bfs_parents(const MolecularGraph& m) {
  std::vector<std::int64_t> p(static_cast<std::size_t>(m.n), -1);
  for (const auto& [u, v, t] : m.bonds) {
    const std::int64_t a = std::min(u, v), b = std::max(u, v);
    if (p[b] < 0 || a < p[b]) p[b] = a;
  }
  for (std::int64_t k = 1; k < m.n; ++k)
    check_arg(p[k] >= 0, "bfs_parents", "graph", "atom " + std::to_string(k) + " has no earlier neighbour (order is not connected)");
  return p;
}

/// The partial graph of the first t atoms of a molecule already in BFS order, with its flags
/// (focus = parent of atom t − 1, closed = atoms before the focus).
inline ArPartial prefix_state(const MolecularGraph& m, const std::vector<std::int64_t>& parent, std::int64_t t) {
  ArPartial p;
  p.g.n = t;
  p.g.atom_type.assign(m.atom_type.begin(), m.atom_type.begin() + t);
  for (const auto& [u, v, bt] : m.bonds)
    if (u < t && v < t) p.g.bonds.emplace_back(u, v, bt);
  p.last = t - 1;
  p.focus = t >= 2 ? parent[t - 1] : -1;
  p.closed.assign(static_cast<std::size_t>(t), 0);
  for (std::int64_t i = 0; i < p.focus; ++i) p.closed[i] = 1;
  return p;
}

/// Free valence of every placed atom.
inline std::vector<int> free_valences(const ArPartial& p, const std::vector<int>& max_valence) {
  const auto used = bond_order_sums(p.g);
  std::vector<int> f(static_cast<std::size_t>(p.g.n));
  for (std::int64_t i = 0; i < p.g.n; ++i) f[i] = max_valence[p.g.atom_type[i]] - used[i];
  return f;
}

/// Allowed next-atom classes [F + 1] (index F = STOP) before a step.
inline std::vector<char> ar_type_mask(const ArPartial& p, const std::vector<int>& max_valence, std::int64_t atom_types,
                                      std::int64_t max_atoms) {
  std::vector<char> allow(static_cast<std::size_t>(atom_types + 1), 0);
  const std::int64_t t = p.g.n;
  if (t == 0) {
    for (std::int64_t x = 0; x < atom_types; ++x) allow[x] = 1;
    return allow;
  }
  allow[atom_types] = 1;  // STOP
  if (t >= max_atoms) return allow;
  const auto f = free_valences(p, max_valence);
  bool open = false;
  for (std::int64_t i = 0; i < t; ++i) open = open || (!p.closed[i] && f[i] >= 1);
  if (open)
    for (std::int64_t x = 0; x < atom_types; ++x) allow[x] = 1;
  return allow;
}

/// Bond masks of one step, visited in placement order i = 0, 1, …, t − 1: `allowed(i)` gives the
/// allowed classes [E + 1] given the decisions already taken with `take`.
class ArEdgeMasker {
 public:
  ArEdgeMasker(const ArPartial& p, std::int64_t new_type, const std::vector<int>& max_valence, std::int64_t bond_types)
      : p_(&p), free_(free_valences(p, max_valence)), rem_(max_valence[new_type]), e_(bond_types) {
    for (std::int64_t i = 0; i < p.g.n; ++i)
      if (!p.closed[i] && free_[i] >= 1) last_open_ = i;
  }
  std::vector<char> allowed(std::int64_t i) const {
    std::vector<char> a(static_cast<std::size_t>(e_ + 1), 0);
    a[0] = 1;
    if (p_->closed[i]) return a;
    const int k = std::min<int>({free_[i], rem_, static_cast<int>(e_)});
    for (int c = 1; c <= k; ++c) a[c] = 1;
    if (i == last_open_ && !bonded_ && k >= 1) a[0] = 0;
    return a;
  }
  void take(std::int64_t i, std::int64_t cls) {
    if (cls > 0) {
      free_[i] -= static_cast<int>(cls);
      rem_ -= static_cast<int>(cls);
      bonded_ = true;
    }
  }

 private:
  const ArPartial* p_;
  std::vector<int> free_;
  int rem_;
  std::int64_t e_;
  std::int64_t last_open_ = -1;
  bool bonded_ = false;
};

// ---- teacher-forcing batch -----------------------------------------------------------------

/// All steps of a batch of molecules (each already in BFS order), packed step-major: step t of the
/// molecules (sorted by atom count, descending) that have it. Molecule g has n_g + 1 steps
/// (t = 0..n_g; the last one's label is STOP).
struct ArTeacher {
  std::vector<ArPartial> parts;                 ///< one per (step, molecule), step-major
  std::vector<std::int64_t> step_begin;         ///< [steps + 1] offsets of each step in `parts`
  std::vector<std::int64_t> type_label;         ///< [parts] atom type or F (STOP)
  std::vector<char> type_mask;                  ///< [parts · (F + 1)]
  std::vector<std::int64_t> edge_part, edge_atom, edge_new_type;  ///< one row per (step, placed atom) scored
  std::vector<std::int64_t> edge_label;         ///< [rows] class 0 none, 1 + bond type
  std::vector<char> edge_mask;                  ///< [rows · (E + 1)]
  std::int64_t molecules = 0;

  /// @throw std::invalid_argument for an empty list, a malformed molecule, one that is not in BFS
  ///        order (not connected prefix by prefix, a bond to a closed atom), exceeds a valence or
  ///        has more than cfg.max_atoms atoms (the message names the molecule).
  static ArTeacher make(const std::vector<MolecularGraph>& mols, const ArConfig& cfg) {
    constexpr const char* fn = "ArTeacher::make";
    cfg.validate(fn);
    check_arg(!mols.empty(), fn, "molecules", "must not be empty");
    const std::int64_t F = cfg.atom_types, E = cfg.bond_types;
    std::vector<std::vector<std::int64_t>> parents;
    std::int64_t max_n = 0;
    for (std::size_t g = 0; g < mols.size(); ++g) {
      validate_graph(fn, static_cast<std::int64_t>(g), mols[g], F, E);
      check_arg(mols[g].n <= cfg.max_atoms, fn, "molecules",
                "molecule " + std::to_string(g) + " has " + std::to_string(mols[g].n) + " atoms, more than max_atoms = " +
                    std::to_string(cfg.max_atoms));
      parents.push_back(bfs_parents(mols[g]));
      max_n = std::max(max_n, mols[g].n);
    }
    std::vector<std::size_t> ord(mols.size());
    std::iota(ord.begin(), ord.end(), 0);
    std::stable_sort(ord.begin(), ord.end(), [&](std::size_t a, std::size_t b) { return mols[a].n > mols[b].n; });
    ArTeacher tf;
    tf.molecules = static_cast<std::int64_t>(mols.size());
    tf.step_begin.push_back(0);
    for (std::int64_t t = 0; t <= max_n; ++t) {
      for (std::size_t g : ord) {
        const auto& m = mols[g];
        if (t > m.n) break;
        const std::string who = "molecule " + std::to_string(g) + ", step " + std::to_string(t);
        ArPartial p = prefix_state(m, parents[g], t);
        const auto tm = ar_type_mask(p, cfg.max_valence, F, cfg.max_atoms);
        const std::int64_t label = t < m.n ? m.atom_type[t] : F;
        check_arg(tm[label], fn, "molecules", who + ": the next atom is not allowed by the masks (not a BFS order or over-valent)");
        const std::int64_t part = static_cast<std::int64_t>(tf.parts.size());
        tf.type_label.push_back(label);
        tf.type_mask.insert(tf.type_mask.end(), tm.begin(), tm.end());
        if (t >= 1 && t < m.n) {
          std::vector<std::int64_t> cls(static_cast<std::size_t>(t), 0);
          for (const auto& [u, v, bt] : m.bonds)
            if (std::max(u, v) == t) cls[std::min(u, v)] = bt + 1;
          ArEdgeMasker em(p, label, cfg.max_valence, E);
          for (std::int64_t i = 0; i < t; ++i) {
            const auto a = em.allowed(i);
            check_arg(a[cls[i]], fn, "molecules",
                      who + ": bond to atom " + std::to_string(i) + " is not allowed by the masks (not a BFS order or over-valent)");
            em.take(i, cls[i]);
            if (p.closed[i]) continue;  // forced "none": no row
            tf.edge_part.push_back(part);
            tf.edge_atom.push_back(i);
            tf.edge_new_type.push_back(label);
            tf.edge_label.push_back(cls[i]);
            tf.edge_mask.insert(tf.edge_mask.end(), a.begin(), a.end());
          }
        }
        tf.parts.push_back(std::move(p));
      }
      tf.step_begin.push_back(static_cast<std::int64_t>(tf.parts.size()));
    }
    return tf;
  }
  std::int64_t steps() const { return static_cast<std::int64_t>(step_begin.size()) - 1; }
};

template <class T>
struct ArForward {
  Var<T> loss;                  ///< (Σ type CE + Σ bond CE) / molecules
  Var<T> type_ce, edge_ce;      ///< sums / molecules
  Var<T> type_logits;           ///< [parts, F + 1], masked
  Var<T> edge_logits;           ///< [rows, E + 1], masked
  std::int64_t type_correct = 0, type_total = 0, edge_correct = 0, edge_total = 0;  ///< argmax accuracies
};

/// The graph-level outputs of the MGN over a batch of partial graphs (each + candidate node).
template <class T>
struct ArEncoded {
  RaggedBatch b;
  Var<T> H;        ///< [P, C] pair embeddings
  Var<T> node;     ///< [N, 5C] node embeddings 2→1(H)
  Var<T> readout;  ///< [G, 5C] mean of the node embeddings
};

/// Additive mask: 0 where allowed, −10⁴ where not.
template <class T>
Tensor<T> mask_tensor(const std::vector<char>& allow, std::int64_t cols) {
  const std::int64_t rows = static_cast<std::int64_t>(allow.size()) / cols;
  Tensor<T> m(Shape{rows, cols});
  for (std::size_t k = 0; k < allow.size(); ++k) m.data()[k] = allow[k] ? T(0) : T(-1e4);
  return m;
}

template <class T>
class ArMolGen : public nn::Module<T> {
 public:
  explicit ArMolGen(const ArConfig& c) : cfg_(c) {
    c.validate("ArMolGen");
    CounterRng rng(c.seed, 0x61726d67ull);
    const std::int64_t E = c.bond_types, C = c.hidden, S = c.state, F = c.atom_types;
    std::int64_t cin = E + 5 * node_features();
    for (int l = 0; l < c.layers; ++l) {
      layers_.push_back(this->register_module(
          "layer" + std::to_string(l), std::make_shared<SplitSecondOrderLayer<T>>(E, cin, C, rng, models::Activation::Relu)));
      cin = C;
    }
    gx_ = this->register_module("gru_x", std::make_shared<nn::Linear<T>>(5 * C, 3 * S, rng));
    gh_ = this->register_module("gru_h", std::make_shared<nn::Linear<T>>(S, 3 * S, rng));
    t1_ = this->register_module("type1", std::make_shared<nn::Linear<T>>(S + 5 * C, c.head_hidden, rng));
    t2_ = this->register_module("type2", std::make_shared<nn::Linear<T>>(c.head_hidden, F + 1, rng));
    e1_ = this->register_module("edge1", std::make_shared<nn::Linear<T>>(2 * C + 5 * C + S + F, c.head_hidden, rng));
    e2_ = this->register_module("edge2", std::make_shared<nn::Linear<T>>(c.head_hidden, E + 1, rng));
  }

  const ArConfig& config() const noexcept { return cfg_; }
  /// F_in: type one-hot, candidate flag, free valence one-hot (0..max), closed, focus, last.
  std::int64_t node_features() const { return cfg_.atom_types + 1 + (cfg_.max_free() + 1) + 3; }

  /// The MGN inputs of a batch of partial graphs: the ragged batch (t + 1 nodes each, candidate
  /// last), A [P, E] and X [N, F_in]. @throw std::invalid_argument for an empty list or a malformed part.
  void inputs(const std::vector<ArPartial>& parts, RaggedBatch& b, Tensor<T>& A, Tensor<T>& X) const {
    constexpr const char* fn = "ArMolGen::inputs";
    check_arg(!parts.empty(), fn, "parts", "must not be empty");
    const std::int64_t F = cfg_.atom_types, E = cfg_.bond_types, Fin = node_features(), V = cfg_.max_free();
    std::vector<std::int64_t> sizes;
    for (std::size_t k = 0; k < parts.size(); ++k) {
      const auto& p = parts[k];
      if (p.g.n > 0) validate_graph(fn, static_cast<std::int64_t>(k), p.g, F, E);
      check_arg(p.g.n >= 0 && static_cast<std::int64_t>(p.closed.size()) == p.g.n && p.focus < p.g.n && p.last < p.g.n &&
                    static_cast<std::int64_t>(p.g.atom_type.size()) == p.g.n,
                fn, "parts", "part " + std::to_string(k) + " is malformed (closed/focus/last do not match n)");
      sizes.push_back(p.g.n + 1);
    }
    b = RaggedBatch::from_sizes(sizes);
    A = Tensor<T>::zeros(Shape{b.pairs(), E});
    X = Tensor<T>::zeros(Shape{b.nodes(), Fin});
    for (std::size_t k = 0; k < parts.size(); ++k) {
      const auto& p = parts[k];
      const std::int64_t n = p.g.n + 1, no = b.node_off[k], po = b.pair_off[k];
      const auto f = free_valences(p, cfg_.max_valence);
      for (std::int64_t i = 0; i < p.g.n; ++i) {
        T* x = X.data() + (no + i) * Fin;
        x[p.g.atom_type[i]] = T(1);
        x[F + 1 + std::clamp<std::int64_t>(f[i], 0, V)] = T(1);
        x[F + 2 + V] = p.closed[i] ? T(1) : T(0);
        x[F + 3 + V] = i == p.focus ? T(1) : T(0);
        x[F + 4 + V] = i == p.last ? T(1) : T(0);
      }
      X.data()[(no + p.g.n) * Fin + F] = T(1);  // candidate
      for (const auto& [u, v, bt] : p.g.bonds) {
        A.data()[(po + u * n + v) * E + bt] = T(1);
        A.data()[(po + v * n + u) * E + bt] = T(1);
      }
    }
  }

  /// MGN over a batch of partial graphs; X (node features) may be a Var (gradchecks).
  ArEncoded<T> encode(const RaggedBatch& b, const Tensor<T>& A, const Var<T>& X) const {
    ArEncoded<T> out;
    out.b = b;
    const Var<T> a = constant(A);
    Var<T> H = concat<T>({a, equivariant_1to2(b, X, true)}, 1);
    for (const auto& l : layers_) H = l->forward(b, a, H);
    out.H = H;
    out.node = equivariant_2to1(b, H, true);
    std::vector<std::int64_t> gi;
    Tensor<T> inv(Shape{b.graphs(), 1});
    for (std::int64_t g = 0; g < b.graphs(); ++g) {
      for (std::int64_t i = 0; i < b.size(g); ++i) gi.push_back(g);
      inv.data()[g] = T(1) / static_cast<T>(b.size(g));
    }
    out.readout = mul(scatter_add(out.node, 0, gi, b.graphs()), constant(inv));
    return out;
  }

  /// GRU cell: x [G, 5C], h [G, S] → h' [G, S].
  Var<T> gru(const Var<T>& x, const Var<T>& h) const {
    const std::int64_t S = cfg_.state;
    const Var<T> gx = gx_->forward(x), gh = gh_->forward(h);
    const Var<T> z = sigmoid(add(slice(gx, 1, 0, S), slice(gh, 1, 0, S)));
    const Var<T> r = sigmoid(add(slice(gx, 1, S, 2 * S), slice(gh, 1, S, 2 * S)));
    const Var<T> cand = tanh(add(slice(gx, 1, 2 * S, 3 * S), mul(r, slice(gh, 1, 2 * S, 3 * S))));
    return add(cand, mul(z, sub(h, cand)));  // (1 − z) n + z h
  }

  /// Unmasked next-atom logits [G, F + 1] from h [G, S] and the readout [G, 5C].
  Var<T> type_logits(const Var<T>& h, const Var<T>& readout) const {
    return t2_->forward(relu(t1_->forward(concat<T>({h, readout}, 1))));
  }

  /// Unmasked bond logits [rows, E + 1] for (part, placed atom, new atom type) rows; h [G, S].
  Var<T> edge_logits(const ArEncoded<T>& enc, const Var<T>& h, const std::vector<std::int64_t>& part,
                     const std::vector<std::int64_t>& atom, const std::vector<std::int64_t>& new_type) const {
    const std::int64_t F = cfg_.atom_types;
    std::vector<std::int64_t> ic, ci, ni;
    Tensor<T> oh = Tensor<T>::zeros(Shape{static_cast<std::int64_t>(part.size()), F});
    for (std::size_t r = 0; r < part.size(); ++r) {
      const std::int64_t g = part[r], n = enc.b.size(g), c = n - 1, po = enc.b.pair_off[g], i = atom[r];
      check_arg(i >= 0 && i < c, "ArMolGen::edge_logits", "atom", "row " + std::to_string(r) + ": not a placed atom");
      check_arg(new_type[r] >= 0 && new_type[r] < F, "ArMolGen::edge_logits", "new_type", "outside [0, F)");
      ic.push_back(po + i * n + c);
      ci.push_back(po + c * n + i);
      ni.push_back(enc.b.node_off[g] + i);
      oh.data()[static_cast<std::int64_t>(r) * F + new_type[r]] = T(1);
    }
    const Var<T> in = concat<T>({index_select(enc.H, 0, ic), index_select(enc.H, 0, ci), index_select(enc.node, 0, ni),
                                 index_select(h, 0, part), constant(oh)},
                                1);
    return e2_->forward(relu(e1_->forward(in)));
  }

  /// Teacher-forced loss. `X` overrides the node features (a Var; gradchecks), else they are built.
  ArForward<T> forward(const ArTeacher& tf, const Var<T>* X = nullptr) const {
    RaggedBatch b;
    Tensor<T> A, Xt;
    inputs(tf.parts, b, A, Xt);
    if (X)
      check_arg(X->shape() == Xt.shape(), "ArMolGen::forward", "X",
                "must be " + shape_str(Xt.shape()) + ", got " + shape_str(X->shape()));
    const ArEncoded<T> enc = encode(b, A, X ? *X : constant(Xt));
    // GRU, step by step over the packed rows
    std::vector<Var<T>> hs;
    Var<T> h = constant(Tensor<T>::zeros(Shape{tf.step_begin[1] - tf.step_begin[0], cfg_.state}));
    for (std::int64_t t = 0; t < tf.steps(); ++t) {
      const std::int64_t k = tf.step_begin[t + 1] - tf.step_begin[t];
      h = gru(slice(enc.readout, 0, tf.step_begin[t], tf.step_begin[t + 1]), slice(h, 0, 0, k));
      hs.push_back(h);
    }
    const Var<T> H = hs.size() == 1 ? hs[0] : concat<T>(hs, 0);
    ArForward<T> f;
    const std::int64_t F = cfg_.atom_types, E = cfg_.bond_types;
    f.type_logits = add(type_logits(H, enc.readout), constant(mask_tensor<T>(tf.type_mask, F + 1)));
    f.type_ce = mul_scalar(cross_entropy(f.type_logits, tf.type_label, Reduction::Sum), T(1) / static_cast<T>(tf.molecules));
    count_correct(f.type_logits, tf.type_label, f.type_correct, f.type_total);
    if (!tf.edge_part.empty()) {
      f.edge_logits = add(edge_logits(enc, H, tf.edge_part, tf.edge_atom, tf.edge_new_type),
                          constant(mask_tensor<T>(tf.edge_mask, E + 1)));
      f.edge_ce = mul_scalar(cross_entropy(f.edge_logits, tf.edge_label, Reduction::Sum), T(1) / static_cast<T>(tf.molecules));
      count_correct(f.edge_logits, tf.edge_label, f.edge_correct, f.edge_total);
      f.loss = add(f.type_ce, f.edge_ce);
    } else {
      f.edge_ce = constant(Tensor<T>::scalar(T(0)));
      f.loss = f.type_ce;
    }
    return f;
  }

  /// Samples `count` molecules (seeded, reproducible): categorical draws from the masked softmaxes at
  /// `temperature` (> 0), in chunks of `chunk` molecules decoded in parallel. Every result is
  /// connected and respects cfg.max_valence. `stop_temperature` (0 = the same as `temperature`, a
  /// single draw over atom types + STOP, the default): otherwise the next-atom draw is split in two,
  /// STOP with its probability under softmax(logits / stop_temperature) over the allowed classes, then
  /// (if not stopping) the atom type from softmax(logits / temperature) over the allowed atom types.
  /// With stop_temperature = 1 a higher `temperature` diversifies atoms and bonds without changing
  /// how likely the molecule is to end at each step. The split draw has the single draw's
  /// distribution when both temperatures are equal, but consumes the random stream differently.
  /// Chunk c draws from CounterRng(seed, 0x617273616d + first_chunk + c): `first_chunk` (default 0) continues
  /// the chunk numbering, so sample(k·chunk, seed) equals chunks 0..k−1 drawn one call at a time.
  /// @throw std::invalid_argument for count < 0, chunk < 1, temperature <= 0, stop_temperature < 0.
  std::vector<MolecularGraph> sample(std::int64_t count, std::uint64_t seed, double temperature = 1.0,
                                     std::int64_t chunk = 500, double stop_temperature = 0.0,
                                     std::uint64_t first_chunk = 0) const {
    constexpr const char* fn = "ArMolGen::sample";
    check_arg(count >= 0, fn, "count", "must be >= 0");
    check_arg(chunk >= 1, fn, "chunk", "must be >= 1");
    check_arg(temperature > 0, fn, "temperature", "must be > 0");
    check_arg(stop_temperature >= 0 && std::isfinite(stop_temperature), fn, "stop_temperature", "must be finite and >= 0");
    const std::int64_t F = cfg_.atom_types, E = cfg_.bond_types, S = cfg_.state;
    std::vector<MolecularGraph> out;
    NoGradGuard ng;
    for (std::int64_t start = 0, c = 0; start < count; start += chunk, ++c) {
      ArenaScope scope;
      const std::int64_t m = std::min(chunk, count - start);
      CounterRng rng(seed, 0x617273616dull + first_chunk + static_cast<std::uint64_t>(c));
      std::vector<ArPartial> st(static_cast<std::size_t>(m));
      std::vector<std::vector<std::int64_t>> parent(static_cast<std::size_t>(m));
      std::vector<char> done(static_cast<std::size_t>(m), 0);
      std::vector<T> hval(static_cast<std::size_t>(m * S), T(0));
      for (std::int64_t t = 0;; ++t) {
        std::vector<std::int64_t> act;
        for (std::int64_t g = 0; g < m; ++g)
          if (!done[g]) act.push_back(g);
        if (act.empty()) break;
        std::vector<ArPartial> parts;
        Tensor<T> hp(Shape{static_cast<std::int64_t>(act.size()), S});
        for (std::size_t a = 0; a < act.size(); ++a) {
          parts.push_back(st[act[a]]);
          std::copy_n(hval.data() + act[a] * S, S, hp.data() + static_cast<std::int64_t>(a) * S);
        }
        RaggedBatch b;
        Tensor<T> A, X;
        inputs(parts, b, A, X);
        const ArEncoded<T> enc = encode(b, A, constant(X));
        const Var<T> h = gru(enc.readout, constant(hp));
        const Tensor<T> hv = h.value().contiguous();
        const Tensor<T> tl = type_logits(h, enc.readout).value().contiguous();
        std::vector<std::int64_t> epart, eatom, etype, newt(act.size(), F);
        for (std::size_t a = 0; a < act.size(); ++a) {
          std::copy_n(hv.data() + static_cast<std::int64_t>(a) * S, S, hval.data() + act[a] * S);
          const auto allow = ar_type_mask(parts[a], cfg_.max_valence, F, cfg_.max_atoms);
          const T* row_logits = tl.data() + static_cast<std::int64_t>(a) * (F + 1);
          const std::int64_t x = stop_temperature > 0 ? draw_split_stop(row_logits, allow, temperature, stop_temperature, rng)
                                                      : draw(row_logits, allow, temperature, rng);
          newt[a] = x;
          if (x == F) {
            done[act[a]] = 1;
            continue;
          }
          for (std::int64_t i = 0; i < t; ++i) {
            if (parts[a].closed[i]) continue;  // forced "none": not scored
            epart.push_back(static_cast<std::int64_t>(a));
            eatom.push_back(i);
            etype.push_back(x);
          }
        }
        Tensor<T> el;
        if (!epart.empty()) el = edge_logits(enc, h, epart, eatom, etype).value().contiguous();
        std::size_t row = 0;
        for (std::size_t a = 0; a < act.size(); ++a) {
          if (newt[a] == F) continue;
          ArPartial& p = st[act[a]];
          ArEdgeMasker em(p, newt[a], cfg_.max_valence, E);
          std::int64_t par = -1;
          for (std::int64_t i = 0; i < t; ++i) {
            const std::int64_t cls =
                p.closed[i] ? 0 : draw(el.data() + static_cast<std::int64_t>(row++) * (E + 1), em.allowed(i), temperature, rng);
            em.take(i, cls);
            if (cls > 0) {
              p.g.bonds.emplace_back(i, t, static_cast<int>(cls - 1));
              if (par < 0) par = i;
            }
          }
          p.g.atom_type.push_back(newt[a]);
          p.g.n = t + 1;
          parent[act[a]].push_back(par);
          p.last = t;
          p.focus = par;
          p.closed.assign(static_cast<std::size_t>(t + 1), 0);
          for (std::int64_t i = 0; i < par; ++i) p.closed[i] = 1;
        }
      }
      for (auto& p : st) out.push_back(p.g);
    }
    return out;
  }

 private:
  static void count_correct(const Var<T>& logits, const std::vector<std::int64_t>& label, std::int64_t& correct,
                            std::int64_t& total) {
    const Tensor<T> v = logits.value().contiguous();
    const std::int64_t k = v.size(1);
    for (std::size_t r = 0; r < label.size(); ++r) {
      correct += detail::argmax_row(v.data() + static_cast<std::int64_t>(r) * k, k) == label[r] ? 1 : 0;
      ++total;
    }
  }
  /// The two-stage next-atom draw of `sample` (the last class is STOP): STOP with its probability
  /// under softmax(logits / stop_temperature) over the allowed classes, else an allowed atom type
  /// from softmax(logits / temperature). Public for the tests.
 public:
  static std::int64_t draw_split_stop(const T* logits, const std::vector<char>& allow, double temperature,
                                      double stop_temperature, CounterRng& rng) {
    const std::int64_t k = static_cast<std::int64_t>(allow.size()), stop = k - 1;
    bool any_atom = false;
    for (std::int64_t c = 0; c < stop; ++c) any_atom = any_atom || allow[c];
    if (!any_atom) return allow[stop] ? stop : draw(logits, allow, temperature, rng);
    if (allow[stop]) {
      double mx = -1e300;
      for (std::int64_t c = 0; c < k; ++c)
        if (allow[c]) mx = std::max(mx, static_cast<double>(logits[c]) / stop_temperature);
      double s = 0;
      for (std::int64_t c = 0; c < k; ++c)
        if (allow[c]) s += std::exp(static_cast<double>(logits[c]) / stop_temperature - mx);
      const double p_stop = std::exp(static_cast<double>(logits[stop]) / stop_temperature - mx) / s;
      if (rng.next_uniform() < p_stop) return stop;
    }
    std::vector<char> atoms = allow;
    atoms[static_cast<std::size_t>(stop)] = 0;
    return draw(logits, atoms, temperature, rng);
  }

 private:
  /// One categorical draw from softmax(logits / temperature) over the allowed classes.
  static std::int64_t draw(const T* logits, const std::vector<char>& allow, double temperature, CounterRng& rng) {
    const std::int64_t k = static_cast<std::int64_t>(allow.size());
    double mx = -1e300;
    for (std::int64_t c = 0; c < k; ++c)
      if (allow[c]) mx = std::max(mx, static_cast<double>(logits[c]) / temperature);
    std::vector<double> p(static_cast<std::size_t>(k), 0.0);
    double s = 0;
    for (std::int64_t c = 0; c < k; ++c)
      if (allow[c]) s += p[c] = std::exp(static_cast<double>(logits[c]) / temperature - mx);
    double u = rng.next_uniform() * s;
    std::int64_t lastc = -1;
    for (std::int64_t c = 0; c < k; ++c) {
      if (!allow[c]) continue;
      lastc = c;
      if (u < p[c]) return c;
      u -= p[c];
    }
    return lastc;  // rounding
  }

  ArConfig cfg_;
  std::vector<std::shared_ptr<SplitSecondOrderLayer<T>>> layers_;
  std::shared_ptr<nn::Linear<T>> gx_, gh_, t1_, t2_, e1_, e2_;
};

/// Size-matched sampling (not in the paper; GDSS / GRAN draw the size from the training data): rejection
/// sampling of `model.sample` so that the heavy-atom counts of the returned molecules follow `ref_sizes`
/// (the training molecules' atom counts, each in [0, max_atoms]), `sample_size_matched` of
/// models/size_matching.hpp. The calibration batch (opt.calibration molecules) comes from the sampler's
/// chunks numbered from kSizeCalibrationChunk0 (a stream of its own); the proposals are chunks 0, 1, 2, …
/// of `chunk` molecules, i.e. exactly the molecules of model.sample(·, seed, temperature, chunk,
/// stop_temperature), and proposal k is accepted when CounterRng(seed, 0x61727361636370).uniform(k) < a(n_k).
/// Returns the first `count` accepted molecules and the calibration / acceptance statistics.
/// @throw std::invalid_argument / std::runtime_error as `sample_size_matched` and `ArMolGen::sample`.
template <class T>
SizeMatchedSample<MolecularGraph> ar_sample_size_matched(const ArMolGen<T>& model, const std::vector<int>& ref_sizes,
                                                         std::int64_t count, std::uint64_t seed,
                                                         const SizeMatchingOptions& opt = {}, double temperature = 1.0,
                                                         std::int64_t chunk = 500, double stop_temperature = 0.0) {
  check_arg(chunk >= 1, "ar_sample_size_matched", "chunk", "must be >= 1");
  return sample_size_matched<MolecularGraph>(
      [&](std::uint64_t c) { return model.sample(chunk, seed, temperature, chunk, stop_temperature, c); },
      [](const MolecularGraph& g) { return static_cast<int>(g.n); }, ref_sizes,
      static_cast<int>(model.config().max_atoms), count, CounterRng(seed, 0x61727361636370ull), opt);
}

/// Sums over the molecules of one epoch.
struct ArEpochSums {
  double loss = 0, type_ce = 0, edge_ce = 0;
  std::int64_t type_correct = 0, type_total = 0, edge_correct = 0, edge_total = 0, molecules = 0;
  template <class T>
  void add(const ArForward<T>& f, std::int64_t batch_molecules) {
    const double w = static_cast<double>(batch_molecules);
    molecules += batch_molecules;
    loss += f.loss.item() * w;
    type_ce += f.type_ce.item() * w;
    edge_ce += f.edge_ce.item() * w;
    type_correct += f.type_correct;
    type_total += f.type_total;
    edge_correct += f.edge_correct;
    edge_total += f.edge_total;
  }
  double mean(double s) const { return s / static_cast<double>(std::max<std::int64_t>(molecules, 1)); }
  double type_acc() const { return type_total ? double(type_correct) / double(type_total) : 0.0; }
  double edge_acc() const { return edge_total ? double(edge_correct) / double(edge_total) : 0.0; }
};

/// One optimiser step on molecules `gs` (any atom order): each molecule gets a random BFS order
/// (random start atom and tie-breaking, `random_bfs` with stream 0x10000000 + 100000·epoch + step and
/// the molecule's position), teacher-forced loss, backward, gradient clipping to `clip` (≤ 0: off), step.
/// The caller keeps an ArenaScope open while it uses the result.
template <class T, class Optimizer>
ArForward<T> ar_train_step(ArMolGen<T>& model, Optimizer& opt, const std::vector<MolecularGraph>& gs, std::uint64_t seed,
                           int epoch, std::int64_t step, double clip) {
  std::vector<MolecularGraph> ord;
  const std::uint64_t base = (0x10000000ull + static_cast<std::uint64_t>(epoch) * 100000 + static_cast<std::uint64_t>(step)) << 12;
  for (std::size_t g = 0; g < gs.size(); ++g) ord.push_back(random_bfs(gs[g], seed, base + g));
  const ArTeacher tf = ArTeacher::make(ord, model.config());
  opt.zero_grad();
  auto f = model.forward(tf);
  backward(f.loss);
  if (clip > 0) nn::clip_grad_norm(model.parameters(), static_cast<T>(clip));
  opt.step();
  return f;
}

}  // namespace mgvae::molgen
