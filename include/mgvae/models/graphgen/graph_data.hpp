#pragma once
/// @file graph_data.hpp
/// Data side of the generation experiment, on `mgvae::Graph` (read with `mgvae::data::read_graph_list`):
/// decoding a dense 0/1 matrix into a graph, stripping isolated (padding) nodes, a seed-fixed
/// GraphRNN-style 2-community generator (fallback when the data are absent), a validation split,
/// and the padded dense batch the model consumes (adjacency, node mask, node features).
#include <algorithm>
#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "mgvae/core/error.hpp"
#include "mgvae/core/rng.hpp"
#include "mgvae/graph/graph.hpp"
#include "mgvae/tensor/tensor.hpp"

namespace mgvae::graphgen {

/// Builds a graph from a symmetric dense 0/1 matrix [n, n] (only the upper triangle is read).
inline Graph from_dense(std::int64_t n, const std::vector<std::uint8_t>& a) {
  Graph g;
  g.n = n;
  for (std::int64_t u = 0; u < n; ++u)
    for (std::int64_t v = u + 1; v < n; ++v)
      if (a[static_cast<std::size_t>(u * n + v)]) g.edges.emplace_back(u, v);
  return g;
}

/// Removes isolated nodes (relabelling the rest in order). A graph without edges becomes empty (n = 0).
inline Graph strip_isolated(const Graph& g) {
  const auto d = g.degrees();
  std::vector<std::int64_t> keep;
  for (std::int64_t i = 0; i < g.n; ++i)
    if (d[static_cast<std::size_t>(i)] > 0) keep.push_back(i);
  return g.induced_subgraph(keep);
}

/// GraphRNN's `n_community` recipe: communities of the given sizes, each G(n, p_intra) (drawn
/// independently here), then every cross-community pair joined with probability p_inter, and at
/// least one cross edge per community pair.
inline Graph community_graph(CounterRng& rng, const std::vector<int>& sizes, double p_intra = 0.7,
                             double p_inter = 0.05) {
  Graph g;
  std::vector<std::int64_t> start;
  for (int s : sizes) {
    start.push_back(g.n);
    g.n += s;
  }
  std::set<Graph::Edge> e;
  for (std::size_t c = 0; c < sizes.size(); ++c)
    for (int i = 0; i < sizes[c]; ++i)
      for (int j = i + 1; j < sizes[c]; ++j)
        if (rng.next_uniform() < p_intra) e.insert({start[c] + i, start[c] + j});
  for (std::size_t a = 0; a < sizes.size(); ++a)
    for (std::size_t b = a + 1; b < sizes.size(); ++b) {
      bool any = false;
      for (int i = 0; i < sizes[a]; ++i)
        for (int j = 0; j < sizes[b]; ++j)
          if (rng.next_uniform() < p_inter) {
            e.insert({start[a] + i, start[b] + j});
            any = true;
          }
      if (!any)
        e.insert({start[a] + static_cast<std::int64_t>(rng.next_below(static_cast<std::uint64_t>(sizes[a]))),
                  start[b] + static_cast<std::int64_t>(rng.next_below(static_cast<std::uint64_t>(sizes[b])))});
    }
  g.edges.assign(e.begin(), e.end());
  return g;
}

/// 100 two-community graphs with community sizes uniform in {6..10} (12-20 nodes), as
/// GraphRNN's `community_small`.
inline std::vector<Graph> generate_community_small(std::uint64_t seed, int count = 100) {
  CounterRng rng(seed, 7);
  std::vector<Graph> gs;
  for (int i = 0; i < count; ++i) {
    const int a = 6 + static_cast<int>(rng.next_below(5)), b = 6 + static_cast<int>(rng.next_below(5));
    gs.push_back(community_graph(rng, {a, b}));
  }
  return gs;
}

/// A padded dense batch: A [B,N,N] (0/1, zero diagonal), mask [B,N,1] (1 on real nodes),
/// X [B,N,F] node features (F = 2: constant 1 and degree/10, independent of N_max; 0 on padding).
/// Validation split taken out of the training graphs, for model selection without the test set:
/// a Fisher-Yates shuffle of 0..n_train-1 with CounterRng(val_seed, 0x7A1D) (independent of the
/// training seed, so every training seed and every configuration sees the same split); the first
/// `val_count` shuffled indices (sorted) are the validation graphs, the rest (in their original
/// order) the graphs trained on. val_count = 0 returns all indices as training, unshuffled.
struct ValidationSplit {
  std::vector<std::size_t> train, val;
};
inline ValidationSplit validation_split(std::size_t n_train, std::size_t val_count, std::uint64_t val_seed) {
  if (val_count >= n_train && n_train > 0)
    throw std::invalid_argument("validation_split: val_count must be smaller than the number of training graphs");
  std::vector<std::size_t> perm(n_train);
  for (std::size_t i = 0; i < n_train; ++i) perm[i] = i;
  ValidationSplit s;
  if (val_count == 0) {
    s.train = perm;
    return s;
  }
  CounterRng rng(val_seed, 0x7A1D);
  for (std::size_t i = n_train; i > 1; --i) std::swap(perm[i - 1], perm[rng.next_below(i)]);
  s.val.assign(perm.begin(), perm.begin() + static_cast<std::ptrdiff_t>(val_count));
  std::sort(s.val.begin(), s.val.end());
  for (std::size_t i = 0, k = 0; i < n_train; ++i) {
    if (k < s.val.size() && s.val[k] == i) ++k;
    else s.train.push_back(i);
  }
  return s;
}

template <class T>
struct GraphBatch {
  std::int64_t B = 0, N = 0;
  Tensor<T> A, mask, X;
  std::vector<std::int64_t> n;  ///< real node count per graph
  static constexpr std::int64_t kFeatures = 2;
};

template <class T>
GraphBatch<T> make_batch(const std::vector<const Graph*>& gs, std::int64_t N) {
  GraphBatch<T> b;
  b.B = static_cast<std::int64_t>(gs.size());
  b.N = N;
  b.A = Tensor<T>::zeros({b.B, N, N});
  b.mask = Tensor<T>::zeros({b.B, N, 1});
  b.X = Tensor<T>::zeros({b.B, N, GraphBatch<T>::kFeatures});
  for (std::int64_t i = 0; i < b.B; ++i) {
    const Graph& g = *gs[static_cast<std::size_t>(i)];
    if (g.n > N) throw std::invalid_argument("graphgen::make_batch: graph with " + std::to_string(g.n) + " nodes > N_max");
    b.n.push_back(g.n);
    for (auto [u, v] : g.edges) {
      b.A(i, u, v) = T(1);
      b.A(i, v, u) = T(1);
    }
    const auto d = g.degrees();
    for (std::int64_t u = 0; u < g.n; ++u) {
      b.mask(i, u, 0) = T(1);
      b.X(i, u, 0) = T(1);
      b.X(i, u, 1) = static_cast<T>(d[static_cast<std::size_t>(u)]) / T(10);
    }
  }
  return b;
}

template <class T>
GraphBatch<T> make_batch(const std::vector<Graph>& gs, std::int64_t N) {
  std::vector<const Graph*> p;
  for (const auto& g : gs) p.push_back(&g);
  return make_batch<T>(p, N);
}

}  // namespace mgvae::graphgen
