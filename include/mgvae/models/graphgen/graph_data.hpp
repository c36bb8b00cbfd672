#pragma once
/// @file graph_data.hpp
/// Small undirected graphs for the generation experiment: a plain edge-list type, the reader
/// for `community_small.txt` + `.train.index` / `.test.index` (shared/data/README.md §4), a
/// seed-fixed GraphRNN-style 2-community generator (fallback when the data are absent), and
/// the padded dense batch the model consumes (adjacency, node mask, node features).
#include <algorithm>
#include <cstdint>
#include <fstream>
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

/// Undirected simple graph on nodes 0..n-1; edges stored once with u < v.
struct SmallGraph {
  int n = 0;
  std::vector<std::pair<int, int>> edges;

  std::vector<int> degrees() const {
    std::vector<int> d(static_cast<std::size_t>(n), 0);
    for (auto [u, v] : edges) {
      ++d[static_cast<std::size_t>(u)];
      ++d[static_cast<std::size_t>(v)];
    }
    return d;
  }
  /// Dense 0/1 adjacency, row-major n*n.
  std::vector<std::uint8_t> dense() const {
    std::vector<std::uint8_t> a(static_cast<std::size_t>(n) * static_cast<std::size_t>(n), 0);
    for (auto [u, v] : edges) {
      a[static_cast<std::size_t>(u * n + v)] = 1;
      a[static_cast<std::size_t>(v * n + u)] = 1;
    }
    return a;
  }
  bool operator==(const SmallGraph& o) const { return n == o.n && edges == o.edges; }
};

/// Builds a graph from a symmetric dense 0/1 matrix (only the upper triangle is read).
inline SmallGraph from_dense(int n, const std::vector<std::uint8_t>& a) {
  SmallGraph g;
  g.n = n;
  for (int u = 0; u < n; ++u)
    for (int v = u + 1; v < n; ++v)
      if (a[static_cast<std::size_t>(u * n + v)]) g.edges.emplace_back(u, v);
  return g;
}

/// Removes isolated nodes (relabelling the rest in order). A graph without edges becomes empty (n = 0).
/// The same graphs as the project's `mgvae::Graph` (what `mgvae::metrics` measures).
inline std::vector<mgvae::Graph> to_graphs(const std::vector<SmallGraph>& gs) {
  std::vector<mgvae::Graph> out;
  out.reserve(gs.size());
  for (const auto& g : gs) {
    std::vector<mgvae::Graph::Edge> e;
    e.reserve(g.edges.size());
    for (auto [u, v] : g.edges) e.emplace_back(u, v);
    out.push_back(mgvae::Graph::from_edges(g.n, e));
  }
  return out;
}

inline SmallGraph strip_isolated(const SmallGraph& g) {
  const auto d = g.degrees();
  std::vector<int> map(static_cast<std::size_t>(g.n), -1);
  int k = 0;
  for (int i = 0; i < g.n; ++i)
    if (d[static_cast<std::size_t>(i)] > 0) map[static_cast<std::size_t>(i)] = k++;
  SmallGraph h;
  h.n = k;
  for (auto [u, v] : g.edges) h.edges.emplace_back(map[static_cast<std::size_t>(u)], map[static_cast<std::size_t>(v)]);
  std::sort(h.edges.begin(), h.edges.end());
  return h;
}

/// Reads the GDSS-format list: first line G, then per graph "n m" and m lines "u v".
inline std::vector<SmallGraph> read_graph_list(const std::string& path) {
  std::ifstream in(path);
  if (!in || is_directory_path(path)) throw open_error(path, "graphgen: cannot open file");
  int G = 0;
  if (!(in >> G) || G < 0) throw std::runtime_error("graphgen: bad header in " + path);
  std::vector<SmallGraph> out;
  out.reserve(static_cast<std::size_t>(G));
  for (int gi = 0; gi < G; ++gi) {
    SmallGraph g;
    int m = 0;
    if (!(in >> g.n >> m) || g.n < 0 || m < 0) throw std::runtime_error("graphgen: bad block header in " + path);
    std::set<std::pair<int, int>> seen;
    for (int e = 0; e < m; ++e) {
      int u = 0, v = 0;
      if (!(in >> u >> v)) throw std::runtime_error("graphgen: truncated edge list in " + path);
      if (u == v || u < 0 || v < 0 || u >= g.n || v >= g.n) throw std::runtime_error("graphgen: bad edge in " + path);
      if (u > v) std::swap(u, v);
      if (seen.insert({u, v}).second) g.edges.emplace_back(u, v);
    }
    std::sort(g.edges.begin(), g.edges.end());
    out.push_back(std::move(g));
  }
  return out;
}

/// Reads one index per line.
inline std::vector<int> read_index_file(const std::string& path) {
  std::ifstream in(path);
  if (!in || is_directory_path(path)) throw open_error(path, "graphgen: cannot open file");
  std::vector<int> idx;
  int i = 0;
  while (in >> i) idx.push_back(i);
  return idx;
}

/// GraphRNN's `n_community` recipe: communities of the given sizes, each G(n, p_intra) (drawn
/// independently here), then every cross-community pair joined with probability p_inter, and at
/// least one cross edge per community pair.
inline SmallGraph community_graph(CounterRng& rng, const std::vector<int>& sizes, double p_intra = 0.7,
                                  double p_inter = 0.05) {
  SmallGraph g;
  std::vector<int> start;
  for (int s : sizes) {
    start.push_back(g.n);
    g.n += s;
  }
  std::set<std::pair<int, int>> e;
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
        e.insert({start[a] + static_cast<int>(rng.next_below(static_cast<std::uint64_t>(sizes[a]))),
                  start[b] + static_cast<int>(rng.next_below(static_cast<std::uint64_t>(sizes[b])))});
    }
  g.edges.assign(e.begin(), e.end());
  return g;
}

/// 100 two-community graphs with community sizes uniform in {6..10} (12-20 nodes), as
/// GraphRNN's `community_small`.
inline std::vector<SmallGraph> generate_community_small(std::uint64_t seed, int count = 100) {
  CounterRng rng(seed, 7);
  std::vector<SmallGraph> gs;
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
  std::vector<int> n;  ///< real node count per graph
  static constexpr std::int64_t kFeatures = 2;
};

template <class T>
GraphBatch<T> make_batch(const std::vector<const SmallGraph*>& gs, std::int64_t N) {
  GraphBatch<T> b;
  b.B = static_cast<std::int64_t>(gs.size());
  b.N = N;
  b.A = Tensor<T>::zeros({b.B, N, N});
  b.mask = Tensor<T>::zeros({b.B, N, 1});
  b.X = Tensor<T>::zeros({b.B, N, GraphBatch<T>::kFeatures});
  for (std::int64_t i = 0; i < b.B; ++i) {
    const SmallGraph& g = *gs[static_cast<std::size_t>(i)];
    if (g.n > N) throw std::invalid_argument("graphgen::make_batch: graph with " + std::to_string(g.n) + " nodes > N_max");
    b.n.push_back(g.n);
    for (auto [u, v] : g.edges) {
      b.A(i, u, v) = T(1);
      b.A(i, v, u) = T(1);
    }
    const auto d = g.degrees();
    for (int u = 0; u < g.n; ++u) {
      b.mask(i, u, 0) = T(1);
      b.X(i, u, 0) = T(1);
      b.X(i, u, 1) = static_cast<T>(d[static_cast<std::size_t>(u)]) / T(10);
    }
  }
  return b;
}

template <class T>
GraphBatch<T> make_batch(const std::vector<SmallGraph>& gs, std::int64_t N) {
  std::vector<const SmallGraph*> p;
  for (const auto& g : gs) p.push_back(&g);
  return make_batch<T>(p, N);
}

}  // namespace mgvae::graphgen
