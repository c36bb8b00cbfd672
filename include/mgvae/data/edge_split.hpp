#pragma once
/// @file edge_split.hpp
/// Link-prediction edge split in the VGAE protocol (Kipf & Welling 2016; shared/REFERENCE-NOTES.md
/// 6.1, `mask_test_edges`), without that code's leaks:
///
/// * positives: the |E| undirected edges are shuffled; the first floor(|E|/10) are test, the next
///   floor(|E|/20) are validation, the rest are training;
/// * negatives: uniform over the unordered non-edges {i, j} (i != j) of the FULL graph, without
///   repetition, as many as there are positives; the test negatives and the validation negatives are
///   disjoint (the original code let validation negatives be test edges and allowed duplicates);
/// * the training graph holds the training edges only, so no held-out edge leaks into the encoder.
///
/// Deterministic for a given (graph, seed); independent streams of `mgvae::CounterRng(seed)` are
/// used for the shuffle (`split(0)`) and for the negatives (`split(1)`).
#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "mgvae/core/rng.hpp"
#include "mgvae/graph/graph.hpp"

namespace mgvae::data {

/// Result of `split_edges`. Every pair is (u, v) with u < v.
struct EdgeSplit {
  Graph train_graph;                   ///< n nodes, train_pos edges only
  std::vector<Graph::Edge> train_pos;  ///< sorted
  std::vector<Graph::Edge> val_pos;    ///< in shuffled order
  std::vector<Graph::Edge> val_neg;    ///< val_neg.size() == val_pos.size()
  std::vector<Graph::Edge> test_pos;   ///< in shuffled order
  std::vector<Graph::Edge> test_neg;   ///< test_neg.size() == test_pos.size()
};

/// Splits the edges of `g` for link prediction (see the file comment). Nodes may become isolated
/// in the training graph (as in VGAE).
/// @throw std::invalid_argument if `g` is not canonical (see Graph::validate) or has fewer
///   non-edges than the floor(|E|/10) + floor(|E|/20) negatives needed.
inline EdgeSplit split_edges(const Graph& g, std::uint64_t seed) {
  g.validate();
  const std::int64_t E = g.num_edges();
  const std::int64_t n = g.n;
  const std::int64_t num_test = E / 10, num_val = E / 20;
  const std::int64_t need = num_test + num_val;
  const std::int64_t total_pairs = n * (n - 1) / 2;
  const std::int64_t non_edges = total_pairs - E;
  if (non_edges < need)
    throw std::invalid_argument("split_edges: the graph has " + std::to_string(non_edges) +
                                " non-edges but " + std::to_string(need) + " negatives are needed");

  const CounterRng base(seed);
  EdgeSplit s;

  // Positives: Fisher-Yates shuffle.
  std::vector<Graph::Edge> e = g.edges;
  CounterRng shuf = base.split(0);
  for (std::int64_t i = E - 1; i > 0; --i) {
    const auto j = static_cast<std::int64_t>(shuf.next_below(static_cast<std::uint64_t>(i) + 1));
    std::swap(e[static_cast<std::size_t>(i)], e[static_cast<std::size_t>(j)]);
  }
  s.test_pos.assign(e.begin(), e.begin() + num_test);
  s.val_pos.assign(e.begin() + num_test, e.begin() + need);
  s.train_pos.assign(e.begin() + need, e.end());
  std::sort(s.train_pos.begin(), s.train_pos.end());
  s.train_graph.n = n;
  s.train_graph.edges = s.train_pos;  // already canonical: a sorted subset of canonical edges

  // Negatives.
  const auto key = [n](std::int64_t u, std::int64_t v) {
    return static_cast<std::uint64_t>(u) * static_cast<std::uint64_t>(n) + static_cast<std::uint64_t>(v);
  };
  std::vector<Graph::Edge> neg;
  neg.reserve(static_cast<std::size_t>(need));
  CounterRng nrng = base.split(1);
  if (non_edges >= 2 * need) {
    // Rejection sampling: at least half of the non-edges stay available, so the acceptance rate is
    // bounded below (>= 1/2 of the non-edge density).
    std::unordered_set<std::uint64_t> taken;
    taken.reserve(static_cast<std::size_t>(E + need) * 2);
    for (const auto& [u, v] : g.edges) taken.insert(key(u, v));
    while (static_cast<std::int64_t>(neg.size()) < need) {
      auto i = static_cast<std::int64_t>(nrng.next_below(static_cast<std::uint64_t>(n)));
      auto j = static_cast<std::int64_t>(nrng.next_below(static_cast<std::uint64_t>(n)));
      if (i == j) continue;
      if (i > j) std::swap(i, j);
      if (!taken.insert(key(i, j)).second) continue;  // an edge, or already drawn
      neg.emplace_back(i, j);
    }
  } else {
    // Dense graph: enumerate the non-edges (fewer than 2 * need) and draw without replacement.
    const Csr c = g.csr();
    std::vector<Graph::Edge> pool;
    pool.reserve(static_cast<std::size_t>(non_edges));
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = i + 1; j < n; ++j)
        if (!c.has_edge(i, j)) pool.emplace_back(i, j);
    for (std::int64_t k = 0; k < need; ++k) {
      const auto r = k + static_cast<std::int64_t>(nrng.next_below(static_cast<std::uint64_t>(non_edges - k)));
      std::swap(pool[static_cast<std::size_t>(k)], pool[static_cast<std::size_t>(r)]);
      neg.push_back(pool[static_cast<std::size_t>(k)]);
    }
  }
  s.test_neg.assign(neg.begin(), neg.begin() + num_test);
  s.val_neg.assign(neg.begin() + num_test, neg.end());
  return s;
}

}  // namespace mgvae::data
