#pragma once
/// @file graph_stats.hpp
/// Per-graph statistics used by the GraphRNN generation metrics (shared/REFERENCE-NOTES.md 6.2):
/// degree histogram (`networkx.degree_histogram`), local clustering coefficients
/// (`networkx.clustering`) and their histogram (`numpy.histogram(..., bins, range=(0, 1))`), and the
/// 15 node orbit counts of graphlets on 2–4 nodes (what `orca node 4` outputs).
///
/// Orbit numbering (Pržulj 2007; Hočevar & Demšar, ORCA, 2014), for node v:
///   0  edge (= degree)                 1  path P3, end            2  path P3, middle
///   3  triangle                        4  path P4, end            5  path P4, inner
///   6  star K1,3, leaf                 7  star K1,3, centre       8  cycle C4
///   9  paw (tailed triangle), tail end 10 paw, triangle node of degree 2   11 paw, degree-3 node
///   12 diamond, degree-2 node          13 diamond, degree-3 node  14 clique K4
/// Counts are over INDUCED connected subgraphs (a triangle is not also counted as a P3).
/// We enumerate every connected induced subgraph on 2, 3 and 4 nodes once with the ESU algorithm
/// (Wernicke 2006) and classify it by its edge count and internal degrees; the cost is
/// proportional to the number of such subgraphs (fine for the <= ~100-node graphs of the
/// generation benchmarks; bounded by O(n * d^3)).
#include <algorithm>
#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "mgvae/graph/graph.hpp"

namespace mgvae::metrics {

/// Number of node orbits of graphlets with 2..4 nodes.
inline constexpr int kNumOrbits4 = 15;
/// Orbit counts of one node.
using OrbitCounts = std::array<std::int64_t, kNumOrbits4>;

/// `networkx.degree_histogram`: h[d] = number of nodes of degree d, length max degree + 1
/// (empty for a graph with no nodes).
/// @throw std::invalid_argument if an edge names a node outside [0, n).
inline std::vector<std::int64_t> degree_histogram(const Graph& g) {
  const auto deg = g.degrees();
  if (deg.empty()) return {};
  std::vector<std::int64_t> h(static_cast<std::size_t>(*std::max_element(deg.begin(), deg.end())) + 1, 0);
  for (const std::int64_t d : deg) ++h[static_cast<std::size_t>(d)];
  return h;
}

/// Local clustering coefficient of every node, as `networkx.clustering` (unweighted):
/// c(v) = 2 T(v) / (d(v) (d(v) - 1)), with c(v) = 0 when d(v) < 2. Expects a canonical graph
/// (a repeated edge would be counted twice).
/// @throw std::invalid_argument if an edge names a node outside [0, n).
inline std::vector<double> clustering(const Graph& g) {
  const Csr c = g.csr();
  const auto n = static_cast<std::size_t>(g.n);
  std::vector<double> out(n, 0.0);
  std::vector<char> mark(n, 0);
  for (std::size_t v = 0; v < n; ++v) {
    const std::int64_t b = c.row_ptr[v], e = c.row_ptr[v + 1], d = e - b;
    if (d < 2) continue;
    for (std::int64_t k = b; k < e; ++k) mark[static_cast<std::size_t>(c.col[static_cast<std::size_t>(k)])] = 1;
    std::int64_t t2 = 0;  // each triangle at v counted twice
    for (std::int64_t k = b; k < e; ++k) {
      const auto u = static_cast<std::size_t>(c.col[static_cast<std::size_t>(k)]);
      for (std::int64_t q = c.row_ptr[u]; q < c.row_ptr[u + 1]; ++q) t2 += mark[static_cast<std::size_t>(c.col[static_cast<std::size_t>(q)])];
    }
    for (std::int64_t k = b; k < e; ++k) mark[static_cast<std::size_t>(c.col[static_cast<std::size_t>(k)])] = 0;
    out[v] = static_cast<double>(t2) / static_cast<double>(d * (d - 1));
  }
  return out;
}

/// `numpy.histogram(values, bins, range=(lo, hi))[0]`: equal-width bins, every bin half-open
/// [e_i, e_{i+1}) except the last, which is closed; values outside [lo, hi] are ignored. The bin of
/// a value is found exactly as numpy does (scaled index, then corrected against the linspace edges),
/// so values on bin edges land where numpy puts them.
/// @throw std::invalid_argument if bins < 1 or !(lo < hi); std::domain_error if a value is NaN.
inline std::vector<std::int64_t> histogram(const std::vector<double>& values, std::int64_t bins, double lo, double hi) {
  if (bins < 1) throw std::invalid_argument("histogram: bins must be >= 1, got " + std::to_string(bins));
  if (!(lo < hi)) throw std::invalid_argument("histogram: need lo < hi");
  // numpy.linspace(lo, hi, bins + 1): lo + i * step, last edge exactly hi.
  const double step = (hi - lo) / static_cast<double>(bins);
  std::vector<double> edges(static_cast<std::size_t>(bins) + 1);
  for (std::int64_t i = 0; i <= bins; ++i) edges[static_cast<std::size_t>(i)] = static_cast<double>(i) * step + lo;
  edges.back() = hi;
  const double norm = static_cast<double>(bins) / (hi - lo);
  std::vector<std::int64_t> h(static_cast<std::size_t>(bins), 0);
  for (const double x : values) {
    if (x != x) throw std::domain_error("histogram: value is NaN");
    if (x < lo || x > hi) continue;
    auto idx = static_cast<std::int64_t>((x - lo) * norm);
    if (idx == bins) --idx;
    if (x < edges[static_cast<std::size_t>(idx)]) --idx;
    else if (idx != bins - 1 && x >= edges[static_cast<std::size_t>(idx) + 1]) ++idx;
    ++h[static_cast<std::size_t>(idx)];
  }
  return h;
}

/// Histogram of the clustering coefficients, as GraphRNN's `clustering_worker`:
/// `numpy.histogram(networkx.clustering(G).values(), bins=bins, range=(0.0, 1.0))[0]`.
/// @throw std::invalid_argument if bins < 1 or an edge names a node outside [0, n).
inline std::vector<std::int64_t> clustering_histogram(const Graph& g, std::int64_t bins = 100) {
  return histogram(clustering(g), bins, 0.0, 1.0);
}

namespace orbit_detail {

/// Adds the orbits of the connected induced subgraph on `nodes` (size k in 2..4) to `out`.
inline void classify(const std::int64_t* nodes, int k, const std::vector<std::vector<char>>& adj,
                     std::vector<OrbitCounts>& out) {
  int deg[4] = {0, 0, 0, 0};
  int m = 0;
  for (int a = 0; a < k; ++a)
    for (int b = a + 1; b < k; ++b)
      if (adj[static_cast<std::size_t>(nodes[a])][static_cast<std::size_t>(nodes[b])]) {
        ++deg[a];
        ++deg[b];
        ++m;
      }
  const int maxdeg = *std::max_element(deg, deg + k);
  for (int a = 0; a < k; ++a) {
    int orbit = -1;
    const int d = deg[a];
    if (k == 2) {
      orbit = 0;
    } else if (k == 3) {
      orbit = (m == 3) ? 3 : (d == 1 ? 1 : 2);
    } else if (m == 3) {
      if (maxdeg == 3) orbit = (d == 3) ? 7 : 6;  // star
      else orbit = (d == 1) ? 4 : 5;              // path
    } else if (m == 4) {
      if (maxdeg == 3) orbit = (d == 1) ? 9 : (d == 2 ? 10 : 11);  // paw
      else orbit = 8;                                             // 4-cycle
    } else if (m == 5) {
      orbit = (d == 2) ? 12 : 13;  // diamond
    } else {
      orbit = 14;  // K4
    }
    ++out[static_cast<std::size_t>(nodes[a])][static_cast<std::size_t>(orbit)];
  }
}

}  // namespace orbit_detail

/// Orbit counts (orbits 0..14, see the file comment) of every node, equal to the rows of
/// `orca node 4` output. Isolated nodes get all zeros. Memory O(n^2) (dense adjacency for the
/// induced-edge tests).
/// @throw std::invalid_argument if the graph is not canonical (Graph::validate).
inline std::vector<OrbitCounts> orbit_counts(const Graph& g) {
  g.validate();
  const auto n = static_cast<std::size_t>(g.n);
  std::vector<OrbitCounts> out(n, OrbitCounts{});
  if (n == 0) return out;
  const Csr c = g.csr();
  std::vector<std::vector<char>> adj(n, std::vector<char>(n, 0));
  for (const auto& [u, v] : g.edges) {
    adj[static_cast<std::size_t>(u)][static_cast<std::size_t>(v)] = 1;
    adj[static_cast<std::size_t>(v)][static_cast<std::size_t>(u)] = 1;
  }
  // ESU: every connected induced subgraph is produced exactly once, rooted at its smallest node r.
  // The extension set holds candidate nodes > r; adding w contributes only w's *exclusive*
  // neighbours (> r, neither in the subgraph nor adjacent to it before w was added).
  std::int64_t sub[4] = {0, 0, 0, 0};
  std::vector<char> near_sub(n, 0);  // 1 for nodes in the current subgraph or adjacent to it
  auto mark_neighbours = [&](std::int64_t w, std::vector<std::int64_t>& newly) {
    for (std::int64_t q = c.row_ptr[static_cast<std::size_t>(w)]; q < c.row_ptr[static_cast<std::size_t>(w) + 1]; ++q) {
      const auto x = static_cast<std::size_t>(c.col[static_cast<std::size_t>(q)]);
      if (!near_sub[x]) {
        near_sub[x] = 1;
        newly.push_back(static_cast<std::int64_t>(x));
      }
    }
  };
  auto extend = [&](auto&& self, int k, std::vector<std::int64_t> ext, std::int64_t r) -> void {
    if (k >= 2) orbit_detail::classify(sub, k, adj, out);
    if (k == 4) return;
    while (!ext.empty()) {
      const std::int64_t w = ext.back();
      ext.pop_back();
      std::vector<std::int64_t> ext2 = ext;
      for (std::int64_t q = c.row_ptr[static_cast<std::size_t>(w)]; q < c.row_ptr[static_cast<std::size_t>(w) + 1]; ++q) {
        const std::int64_t x = c.col[static_cast<std::size_t>(q)];
        if (x > r && !near_sub[static_cast<std::size_t>(x)]) ext2.push_back(x);
      }
      std::vector<std::int64_t> newly;
      mark_neighbours(w, newly);
      sub[k] = w;
      self(self, k + 1, std::move(ext2), r);
      for (const std::int64_t x : newly) near_sub[static_cast<std::size_t>(x)] = 0;
    }
  };
  for (std::size_t r = 0; r < n; ++r) {
    const auto rr = static_cast<std::int64_t>(r);
    std::vector<std::int64_t> ext;
    for (std::int64_t q = c.row_ptr[r]; q < c.row_ptr[r + 1]; ++q)
      if (c.col[static_cast<std::size_t>(q)] > rr) ext.push_back(c.col[static_cast<std::size_t>(q)]);
    std::vector<std::int64_t> newly{rr};
    near_sub[r] = 1;
    mark_neighbours(rr, newly);
    sub[0] = rr;
    extend(extend, 1, std::move(ext), rr);
    for (const std::int64_t x : newly) near_sub[static_cast<std::size_t>(x)] = 0;
  }
  return out;
}

/// Per-graph orbit feature of GraphRNN's `orbit_stats_all`: the sum over nodes of the 15 orbit
/// counts divided by the number of nodes (isolated nodes included). Zero vector for n = 0.
/// @throw std::invalid_argument if the graph is not canonical.
inline std::vector<double> mean_orbit_counts(const Graph& g) {
  const auto oc = orbit_counts(g);
  std::vector<double> m(kNumOrbits4, 0.0);
  if (oc.empty()) return m;
  for (const auto& row : oc)
    for (int k = 0; k < kNumOrbits4; ++k) m[static_cast<std::size_t>(k)] += static_cast<double>(row[static_cast<std::size_t>(k)]);
  for (auto& x : m) x /= static_cast<double>(oc.size());
  return m;
}

}  // namespace mgvae::metrics
