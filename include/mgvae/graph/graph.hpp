#pragma once
/// @file graph.hpp
/// Plain undirected simple graphs (no tensors): an edge list with canonical pairs u < v, plus
/// the helpers the loaders, the edge split and the graph statistics need (degrees, CSR adjacency,
/// relabelling, induced subgraphs, connected components).
///
/// Canonical form (what `Graph::from_edges` produces and every function in this library returns):
/// every edge (u, v) has 0 <= u < v < n, no pair appears twice, and `edges` is sorted
/// lexicographically. Functions that take a Graph check ids are in range; `Graph::validate()`
/// checks the whole invariant.
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace mgvae {

/// What `Graph::from_edges` (and the loaders built on it) removed or noticed while cleaning an edge list.
struct CleanupReport {
  std::int64_t self_loops = 0;       ///< edges (u, u) dropped
  std::int64_t duplicate_edges = 0;  ///< repeated undirected pairs dropped ((u,v) and (v,u) count as the same pair)
  std::int64_t isolated_nodes = 0;   ///< nodes of degree 0 after cleaning (kept, only counted)

  /// Adds another report's counts to this one. @throw nothing
  CleanupReport& operator+=(const CleanupReport& o) {
    self_loops += o.self_loops;
    duplicate_edges += o.duplicate_edges;
    isolated_nodes += o.isolated_nodes;
    return *this;
  }
};

/// Compressed sparse row form of the symmetric adjacency: the neighbours of node i are
/// `col[row_ptr[i] .. row_ptr[i+1])`, sorted ascending. Each undirected edge appears twice.
struct Csr {
  std::vector<std::int64_t> row_ptr;  ///< size n + 1
  std::vector<std::int64_t> col;      ///< size 2 * |E|

  /// Number of nodes. @throw nothing
  std::int64_t num_nodes() const { return row_ptr.empty() ? 0 : static_cast<std::int64_t>(row_ptr.size()) - 1; }
  /// Degree of node i (no range check: i must be in [0, n)). @throw nothing
  std::int64_t degree(std::int64_t i) const {
    return row_ptr[static_cast<std::size_t>(i) + 1] - row_ptr[static_cast<std::size_t>(i)];
  }
  /// True when u and v are adjacent: O(log deg(u)) binary search. Out-of-range ids give false.
  /// @throw nothing
  bool has_edge(std::int64_t u, std::int64_t v) const {
    if (u < 0 || v < 0 || u >= num_nodes() || v >= num_nodes()) return false;
    const auto b = col.begin() + row_ptr[static_cast<std::size_t>(u)];
    const auto e = col.begin() + row_ptr[static_cast<std::size_t>(u) + 1];
    return std::binary_search(b, e, v);
  }
};

/// Connected components: `label[i]` in [0, count); components are numbered in the order of
/// their smallest node.
struct Components {
  std::int64_t count = 0;
  std::vector<std::int64_t> label;
  /// Sizes of the components, indexed by label. @throw std::bad_alloc only
  std::vector<std::int64_t> sizes() const {
    std::vector<std::int64_t> s(static_cast<std::size_t>(count), 0);
    for (const std::int64_t l : label) ++s[static_cast<std::size_t>(l)];
    return s;
  }
};

/// Undirected simple graph on nodes 0..n-1, stored as an edge list.
/// Invariant (canonical form): u < v for every edge, no duplicates, sorted; see the file comment.
struct Graph {
  using Edge = std::pair<std::int64_t, std::int64_t>;

  std::int64_t n = 0;
  std::vector<Edge> edges;

  /// Builds a canonical graph from an arbitrary edge list: orients every pair as (min, max),
  /// drops self loops and repeated pairs (counting them in `report` when it is not null), sorts
  /// the edges and counts isolated nodes into `report->isolated_nodes` (the report is reset first).
  /// @throw std::invalid_argument if n < 0, or naming the first edge with an id outside [0, n).
  static Graph from_edges(std::int64_t n, const std::vector<Edge>& raw, CleanupReport* report = nullptr) {
    if (n < 0) throw std::invalid_argument("Graph::from_edges: n must be >= 0, got " + std::to_string(n));
    CleanupReport rep;
    Graph g;
    g.n = n;
    g.edges.reserve(raw.size());
    for (std::size_t k = 0; k < raw.size(); ++k) {
      auto [u, v] = raw[k];
      if (u < 0 || v < 0 || u >= n || v >= n)
        throw std::invalid_argument("Graph::from_edges: edge #" + std::to_string(k) + " (" + std::to_string(u) +
                                    ", " + std::to_string(v) + ") has a node id outside [0, " + std::to_string(n) +
                                    ")");
      if (u == v) {
        ++rep.self_loops;
        continue;
      }
      if (u > v) std::swap(u, v);
      g.edges.emplace_back(u, v);
    }
    std::sort(g.edges.begin(), g.edges.end());
    const auto last = std::unique(g.edges.begin(), g.edges.end());
    rep.duplicate_edges = static_cast<std::int64_t>(g.edges.end() - last);
    g.edges.erase(last, g.edges.end());
    const auto deg = g.degrees();
    rep.isolated_nodes = static_cast<std::int64_t>(std::count(deg.begin(), deg.end(), std::int64_t{0}));
    if (report != nullptr) *report = rep;
    return g;
  }

  /// Checks the canonical-form invariant.
  /// @throw std::invalid_argument naming the first offending edge (out of range, u >= v, unsorted or repeated).
  void validate() const {
    if (n < 0) throw std::invalid_argument("Graph::validate: n must be >= 0, got " + std::to_string(n));
    for (std::size_t k = 0; k < edges.size(); ++k) {
      const auto [u, v] = edges[k];
      const std::string what = "Graph::validate: edge #" + std::to_string(k) + " (" + std::to_string(u) + ", " +
                               std::to_string(v) + ") ";
      if (u < 0 || v < 0 || u >= n || v >= n)
        throw std::invalid_argument(what + "has a node id outside [0, " + std::to_string(n) + ")");
      if (u >= v) throw std::invalid_argument(what + "is not oriented u < v (or is a self loop)");
      if (k > 0 && !(edges[k - 1] < edges[k]))
        throw std::invalid_argument(what + "is out of order or repeated");
    }
  }

  /// Number of undirected edges. @throw nothing
  std::int64_t num_edges() const { return static_cast<std::int64_t>(edges.size()); }

  /// Degree of every node.
  /// @throw std::invalid_argument if an edge names a node outside [0, n).
  std::vector<std::int64_t> degrees() const {
    std::vector<std::int64_t> d(static_cast<std::size_t>(std::max<std::int64_t>(n, 0)), 0);
    for (const auto& [u, v] : edges) {
      check_ids("Graph::degrees", u, v);
      ++d[static_cast<std::size_t>(u)];
      ++d[static_cast<std::size_t>(v)];
    }
    return d;
  }

  /// Symmetric adjacency in CSR form with sorted neighbour lists (each edge stored in both rows).
  /// @throw std::invalid_argument if an edge names a node outside [0, n).
  Csr csr() const {
    Csr c;
    const auto nn = static_cast<std::size_t>(std::max<std::int64_t>(n, 0));
    c.row_ptr.assign(nn + 1, 0);
    for (const auto& [u, v] : edges) {
      check_ids("Graph::csr", u, v);
      ++c.row_ptr[static_cast<std::size_t>(u) + 1];
      ++c.row_ptr[static_cast<std::size_t>(v) + 1];
    }
    for (std::size_t i = 0; i < nn; ++i) c.row_ptr[i + 1] += c.row_ptr[i];
    c.col.assign(static_cast<std::size_t>(c.row_ptr[nn]), 0);
    std::vector<std::int64_t> fill(c.row_ptr.begin(), c.row_ptr.end() - 1);
    for (const auto& [u, v] : edges) {
      c.col[static_cast<std::size_t>(fill[static_cast<std::size_t>(u)]++)] = v;
      c.col[static_cast<std::size_t>(fill[static_cast<std::size_t>(v)]++)] = u;
    }
    for (std::size_t i = 0; i < nn; ++i)
      std::sort(c.col.begin() + c.row_ptr[i], c.col.begin() + c.row_ptr[i + 1]);
    return c;
  }

  /// True when the undirected pair {u, v} is an edge. Linear scan, O(|E|); for many queries build
  /// `csr()` once and use `Csr::has_edge`. Out-of-range ids and u == v give false.
  /// @throw nothing
  bool has_edge(std::int64_t u, std::int64_t v) const {
    if (u > v) std::swap(u, v);
    return std::find(edges.begin(), edges.end(), Edge{u, v}) != edges.end();
  }

  /// Relabels nodes: node i of this graph becomes node perm[i] of the result (canonical form).
  /// @throw std::invalid_argument if perm is not a permutation of 0..n-1.
  Graph permuted(const std::vector<std::int64_t>& perm) const {
    if (static_cast<std::int64_t>(perm.size()) != n)
      throw std::invalid_argument("Graph::permuted: perm has size " + std::to_string(perm.size()) +
                                  " but the graph has " + std::to_string(n) + " nodes");
    std::vector<char> seen(perm.size(), 0);
    for (std::size_t i = 0; i < perm.size(); ++i) {
      const std::int64_t p = perm[i];
      if (p < 0 || p >= n || seen[static_cast<std::size_t>(p)])
        throw std::invalid_argument("Graph::permuted: perm is not a permutation (entry " + std::to_string(i) +
                                    " = " + std::to_string(p) + ")");
      seen[static_cast<std::size_t>(p)] = 1;
    }
    std::vector<Edge> e;
    e.reserve(edges.size());
    for (const auto& [u, v] : edges) {
      check_ids("Graph::permuted", u, v);
      e.emplace_back(perm[static_cast<std::size_t>(u)], perm[static_cast<std::size_t>(v)]);
    }
    return from_edges(n, e);
  }

  /// Subgraph induced by `nodes`: node k of the result is nodes[k] of this graph.
  /// @throw std::invalid_argument if a node is out of range or listed twice.
  Graph induced_subgraph(const std::vector<std::int64_t>& nodes) const {
    std::vector<std::int64_t> map(static_cast<std::size_t>(std::max<std::int64_t>(n, 0)), -1);
    for (std::size_t k = 0; k < nodes.size(); ++k) {
      const std::int64_t x = nodes[k];
      if (x < 0 || x >= n)
        throw std::invalid_argument("Graph::induced_subgraph: node " + std::to_string(x) + " (entry " +
                                    std::to_string(k) + ") is outside [0, " + std::to_string(n) + ")");
      if (map[static_cast<std::size_t>(x)] != -1)
        throw std::invalid_argument("Graph::induced_subgraph: node " + std::to_string(x) + " is listed twice");
      map[static_cast<std::size_t>(x)] = static_cast<std::int64_t>(k);
    }
    std::vector<Edge> e;
    for (const auto& [u, v] : edges) {
      check_ids("Graph::induced_subgraph", u, v);
      const std::int64_t a = map[static_cast<std::size_t>(u)], b = map[static_cast<std::size_t>(v)];
      if (a >= 0 && b >= 0) e.emplace_back(a, b);
    }
    return from_edges(static_cast<std::int64_t>(nodes.size()), e);
  }

  /// Connected components (isolated nodes are singleton components), by union-find.
  /// @throw std::invalid_argument if an edge names a node outside [0, n).
  Components connected_components() const {
    const auto nn = static_cast<std::size_t>(std::max<std::int64_t>(n, 0));
    std::vector<std::int64_t> parent(nn);
    std::iota(parent.begin(), parent.end(), std::int64_t{0});
    auto find = [&](std::int64_t x) {
      while (parent[static_cast<std::size_t>(x)] != x) {
        parent[static_cast<std::size_t>(x)] = parent[static_cast<std::size_t>(parent[static_cast<std::size_t>(x)])];
        x = parent[static_cast<std::size_t>(x)];
      }
      return x;
    };
    for (const auto& [u, v] : edges) {
      check_ids("Graph::connected_components", u, v);
      const std::int64_t a = find(u), b = find(v);
      if (a != b) parent[static_cast<std::size_t>(std::max(a, b))] = std::min(a, b);
    }
    Components c;
    c.label.assign(nn, -1);
    std::vector<std::int64_t> root_label(nn, -1);
    for (std::size_t i = 0; i < nn; ++i) {
      const auto r = static_cast<std::size_t>(find(static_cast<std::int64_t>(i)));
      if (root_label[r] < 0) root_label[r] = c.count++;
      c.label[i] = root_label[r];
    }
    return c;
  }

  /// True when the graph has exactly one connected component (a graph with 0 nodes is not connected).
  /// @throw std::invalid_argument if an edge names a node outside [0, n).
  bool is_connected() const { return connected_components().count == 1; }

  /// Equality of node count and edge lists (compare canonical graphs). @throw nothing
  bool operator==(const Graph& o) const { return n == o.n && edges == o.edges; }

 private:
  void check_ids(const char* fn, std::int64_t u, std::int64_t v) const {
    if (u < 0 || v < 0 || u >= n || v >= n)
      throw std::invalid_argument(std::string(fn) + ": edge (" + std::to_string(u) + ", " + std::to_string(v) +
                                  ") has a node id outside [0, " + std::to_string(n) + ")");
  }
};

}  // namespace mgvae
