// Tests for include/mgvae/metrics/graph_stats.hpp.
// * Orbit counts: hand-derived on paths, stars, cycles, cliques, paw and diamond; plus a random
//   graph cross-checked against an independent Python enumeration that matches each connected
//   induced subgraph to reference graphlets with networkx's isomorphism matcher (snippet below).
// * Degree histograms / clustering / clustering histograms: values pasted from networkx 2.8.8 and
//   numpy 1.24.2 (Debian), snippet:
//     import networkx as nx, numpy as np
//     E=[(0,1),(0,2),(1,2),(2,3),(3,4),(4,5),(3,5),(3,6),(6,7),(7,8),(6,8),(6,9),(1,3),(7,9)]
//     G=nx.Graph(); G.add_nodes_from(range(11)); G.add_edges_from(E)
//     print(nx.degree_histogram(G), nx.clustering(G))
//     h,_=np.histogram(list(nx.clustering(G).values()), bins=100, range=(0.0,1.0))
//     R=nx.gnp_random_graph(16,0.35,seed=7); print(sorted(R.edges()), nx.degree_histogram(R), nx.clustering(R))
//     vals=[0.0,0.01,0.29,0.3,0.57,0.58,0.99,1.0,1/3,2/3,0.5,0.1,0.7,0.07,0.14,0.28,0.56,0.3,0.005]
//     for b in (100,7,10,3): print(np.histogram(vals,bins=b,range=(0.0,1.0))[0])
#include "mgvae/metrics/graph_stats.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "mgvae/core/rng.hpp"
#include "support/catch.hpp"

using mgvae::Graph;
using mgvae::metrics::OrbitCounts;

namespace {

Graph path(std::int64_t n) {
  std::vector<Graph::Edge> e;
  for (std::int64_t i = 0; i + 1 < n; ++i) e.emplace_back(i, i + 1);
  return Graph::from_edges(n, e);
}
Graph cycle(std::int64_t n) {
  std::vector<Graph::Edge> e;
  for (std::int64_t i = 0; i < n; ++i) e.emplace_back(i, (i + 1) % n);
  return Graph::from_edges(n, e);
}
Graph clique(std::int64_t n) {
  std::vector<Graph::Edge> e;
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = i + 1; j < n; ++j) e.emplace_back(i, j);
  return Graph::from_edges(n, e);
}
Graph star(std::int64_t leaves) {
  std::vector<Graph::Edge> e;
  for (std::int64_t i = 1; i <= leaves; ++i) e.emplace_back(0, i);
  return Graph::from_edges(leaves + 1, e);
}
Graph g1() {  // 11 nodes, node 10 isolated
  return Graph::from_edges(11, {{0, 1}, {0, 2}, {1, 2}, {2, 3}, {3, 4}, {4, 5}, {3, 5}, {3, 6}, {6, 7}, {7, 8}, {6, 8},
                                {6, 9}, {1, 3}, {7, 9}});
}
Graph r16() {  // networkx.gnp_random_graph(16, 0.35, seed=7)
  return Graph::from_edges(
      16, {{0, 1},  {0, 2},   {0, 4},   {0, 7},   {0, 9},   {0, 11},  {0, 12},  {0, 15},  {1, 2},   {1, 8},  {1, 10},
           {1, 11}, {1, 12},  {1, 13},  {1, 15},  {2, 7},   {2, 8},   {2, 9},   {2, 12},  {2, 15},  {3, 6},  {3, 11},
           {3, 13}, {4, 5},   {4, 7},   {4, 12},  {5, 11},  {6, 7},   {6, 10},  {6, 12},  {6, 13},  {6, 14}, {7, 8},
           {7, 9},  {7, 12},  {8, 11},  {9, 10},  {9, 11},  {9, 12},  {9, 13},  {10, 11}, {10, 12}, {12, 14}});
}
OrbitCounts row(std::initializer_list<std::pair<int, std::int64_t>> nz) {
  OrbitCounts r{};
  for (const auto& [k, v] : nz) r[static_cast<std::size_t>(k)] = v;
  return r;
}

// Brute force over all 2/3/4-subsets (O(n^4)), classifying by sorted internal degree sequence.
std::vector<OrbitCounts> brute_orbits(const Graph& g) {
  const auto n = g.n;
  const auto c = g.csr();
  std::vector<OrbitCounts> out(static_cast<std::size_t>(n), OrbitCounts{});
  auto add = [&](std::vector<std::int64_t> s) {
    const std::size_t k = s.size();
    std::vector<int> deg(k, 0);
    int m = 0;
    for (std::size_t a = 0; a < k; ++a)
      for (std::size_t b = a + 1; b < k; ++b)
        if (c.has_edge(s[a], s[b])) ++deg[a], ++deg[b], ++m;
    if (static_cast<std::size_t>(m) + 1 < k) return;  // too few edges to be connected
    if (std::count(deg.begin(), deg.end(), 0) > 0) return;  // with m >= k-1 this leaves connected sets
    std::vector<int> sd = deg;
    std::sort(sd.begin(), sd.end());
    for (std::size_t a = 0; a < k; ++a) {
      int o = -1;
      const int d = deg[a];
      if (k == 2) o = 0;
      else if (k == 3) o = m == 3 ? 3 : (d == 1 ? 1 : 2);
      else if (sd == std::vector<int>{1, 1, 2, 2}) o = d == 1 ? 4 : 5;
      else if (sd == std::vector<int>{1, 1, 1, 3}) o = d == 1 ? 6 : 7;
      else if (sd == std::vector<int>{2, 2, 2, 2}) o = 8;
      else if (sd == std::vector<int>{1, 2, 2, 3}) o = d == 1 ? 9 : (d == 2 ? 10 : 11);
      else if (sd == std::vector<int>{2, 2, 3, 3}) o = d == 2 ? 12 : 13;
      else if (sd == std::vector<int>{3, 3, 3, 3}) o = 14;
      if (o < 0) throw std::logic_error("brute_orbits: unclassified subgraph");
      ++out[static_cast<std::size_t>(s[a])][static_cast<std::size_t>(o)];
    }
  };
  for (std::int64_t a = 0; a < n; ++a)
    for (std::int64_t b = a + 1; b < n; ++b) {
      add({a, b});
      for (std::int64_t cc = b + 1; cc < n; ++cc) {
        add({a, b, cc});
        for (std::int64_t d = cc + 1; d < n; ++d) add({a, b, cc, d});
      }
    }
  return out;
}

}  // namespace

TEST_CASE("orbit counts: hand-derived small graphs", "[metrics][orbits]") {
  using mgvae::metrics::orbit_counts;
  const OrbitCounts p_end = row({{0, 1}, {1, 1}, {4, 1}}), p_mid = row({{0, 2}, {1, 1}, {2, 1}, {5, 1}});
  CHECK(orbit_counts(path(4)) == std::vector<OrbitCounts>{p_end, p_mid, p_mid, p_end});
  CHECK(orbit_counts(path(2)) == std::vector<OrbitCounts>{row({{0, 1}}), row({{0, 1}})});
  CHECK(orbit_counts(path(3)) ==
        std::vector<OrbitCounts>{row({{0, 1}, {1, 1}}), row({{0, 2}, {2, 1}}), row({{0, 1}, {1, 1}})});
  const OrbitCounts centre = row({{0, 3}, {2, 3}, {7, 1}}), leaf = row({{0, 1}, {1, 2}, {6, 1}});
  CHECK(orbit_counts(star(3)) == std::vector<OrbitCounts>{centre, leaf, leaf, leaf});
  // Star with 4 leaves: centre in C(4,2)=6 P3s and C(4,3)=4 claws; a leaf in 3 P3s and C(3,2)=3 claws.
  CHECK(orbit_counts(star(4))[0] == row({{0, 4}, {2, 6}, {7, 4}}));
  CHECK(orbit_counts(star(4))[1] == row({{0, 1}, {1, 3}, {6, 3}}));
  for (const auto& r : orbit_counts(cycle(4))) CHECK(r == row({{0, 2}, {1, 2}, {2, 1}, {8, 1}}));
  // C5: removing one node leaves a P4; node v is an end of it when the removed node is a neighbour.
  for (const auto& r : orbit_counts(cycle(5))) CHECK(r == row({{0, 2}, {1, 2}, {2, 1}, {4, 2}, {5, 2}}));
  for (const auto& r : orbit_counts(clique(3))) CHECK(r == row({{0, 2}, {3, 1}}));
  for (const auto& r : orbit_counts(clique(4))) CHECK(r == row({{0, 3}, {3, 3}, {14, 1}}));
  for (const auto& r : orbit_counts(clique(5))) CHECK(r == row({{0, 4}, {3, 6}, {14, 4}}));
  // Paw: triangle 0-1-2 with tail 2-3.
  const Graph paw = Graph::from_edges(4, {{0, 1}, {1, 2}, {0, 2}, {2, 3}});
  const OrbitCounts petal = row({{0, 2}, {1, 1}, {3, 1}, {10, 1}});
  CHECK(orbit_counts(paw) == std::vector<OrbitCounts>{petal, petal, row({{0, 3}, {2, 2}, {3, 1}, {11, 1}}),
                                                      row({{0, 1}, {1, 2}, {9, 1}})});
  // Diamond: 4-cycle 0-1-2-3 with chord 0-2.
  const Graph diamond = Graph::from_edges(4, {{0, 1}, {1, 2}, {2, 3}, {0, 3}, {0, 2}});
  const OrbitCounts d3 = row({{0, 3}, {2, 1}, {3, 2}, {13, 1}}), d2 = row({{0, 2}, {1, 2}, {3, 1}, {12, 1}});
  CHECK(orbit_counts(diamond) == std::vector<OrbitCounts>{d3, d2, d3, d2});
  // Isolated nodes, empty graphs.
  CHECK(orbit_counts(Graph{3, {}}) == std::vector<OrbitCounts>(3, OrbitCounts{}));
  CHECK(orbit_counts(Graph{0, {}}).empty());
  CHECK_THROWS_AS(orbit_counts(Graph{2, {{1, 0}}}), std::invalid_argument);
}

TEST_CASE("orbit counts: random graph vs independent Python enumeration", "[metrics][orbits]") {
  // Python (networkx GraphMatcher against reference graphlets) on gnp_random_graph(16, 0.35, seed=7):
  const std::vector<std::int64_t> totals{86, 262, 131, 96, 462, 462, 228, 76, 104, 162, 324, 162, 110, 110, 32};
  const auto oc = mgvae::metrics::orbit_counts(r16());
  for (std::size_t k = 0; k < 15; ++k) {
    std::int64_t t = 0;
    for (const auto& r : oc) t += r[k];
    CHECK(t == totals[k]);
  }
  CHECK(oc[0] == OrbitCounts{8, 16, 14, 14, 15, 40, 12, 6, 7, 2, 42, 23, 8, 20, 7});
  CHECK(oc[6] == OrbitCounts{6, 16, 11, 4, 40, 40, 11, 7, 7, 13, 14, 10, 6, 3, 0});
  const std::vector<std::int64_t> g1_totals{28, 30, 15, 15, 36, 36, 15, 5, 0, 8, 16, 8, 4, 4, 0};
  const auto og = mgvae::metrics::orbit_counts(g1());
  for (std::size_t k = 0; k < 15; ++k) {
    std::int64_t t = 0;
    for (const auto& r : og) t += r[k];
    CHECK(t == g1_totals[k]);
  }
}

TEST_CASE("orbit counts: ESU equals O(n^4) brute force; permutation equivariance", "[metrics][orbits]") {
  mgvae::CounterRng rng(99);
  for (int rep = 0; rep < 12; ++rep) {
    const std::int64_t n = 5 + static_cast<std::int64_t>(rng.next_below(18));
    const double p = 0.1 + 0.8 * rng.next_uniform();
    std::vector<Graph::Edge> e;
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = i + 1; j < n; ++j)
        if (rng.next_uniform() < p) e.emplace_back(i, j);
    const Graph g = Graph::from_edges(n, e);
    const auto oc = mgvae::metrics::orbit_counts(g);
    CHECK(oc == brute_orbits(g));
    // Orbit 0 is the degree.
    const auto deg = g.degrees();
    for (std::size_t i = 0; i < deg.size(); ++i) CHECK(oc[i][0] == deg[i]);
    // Relabelling permutes the rows.
    std::vector<std::int64_t> perm(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) perm[static_cast<std::size_t>(i)] = i;
    for (std::int64_t i = n - 1; i > 0; --i)
      std::swap(perm[static_cast<std::size_t>(i)], perm[rng.next_below(static_cast<std::uint64_t>(i) + 1)]);
    const auto op = mgvae::metrics::orbit_counts(g.permuted(perm));
    for (std::int64_t i = 0; i < n; ++i) CHECK(op[static_cast<std::size_t>(perm[static_cast<std::size_t>(i)])] == oc[static_cast<std::size_t>(i)]);
  }
}

TEST_CASE("mean_orbit_counts divides by all nodes", "[metrics][orbits]") {
  const auto m = mgvae::metrics::mean_orbit_counts(path(3));
  CHECK(m[0] == Approx(4.0 / 3.0));
  CHECK(m[1] == Approx(2.0 / 3.0));
  CHECK(m[2] == Approx(1.0 / 3.0));
  const auto z = mgvae::metrics::mean_orbit_counts(Graph{0, {}});
  CHECK(z == std::vector<double>(15, 0.0));
  const auto iso = mgvae::metrics::mean_orbit_counts(Graph{4, {{0, 1}}});
  CHECK(iso[0] == Approx(0.5));
}

TEST_CASE("degree histogram matches networkx", "[metrics][graph_stats]") {
  using mgvae::metrics::degree_histogram;
  CHECK(degree_histogram(g1()) == std::vector<std::int64_t>{1, 0, 5, 3, 1, 1});
  CHECK(degree_histogram(r16()) == std::vector<std::int64_t>{0, 0, 2, 2, 3, 1, 1, 4, 2, 1});
  CHECK(degree_histogram(Graph{3, {}}) == std::vector<std::int64_t>{3});
  CHECK(degree_histogram(Graph{0, {}}).empty());
}

TEST_CASE("clustering coefficients and histogram match networkx/numpy", "[metrics][graph_stats]") {
  using mgvae::metrics::clustering;
  using mgvae::metrics::clustering_histogram;
  const std::vector<double> c1{1.0, 0.6666666666666666, 0.6666666666666666, 0.2, 1.0, 1.0, 0.3333333333333333,
                               0.6666666666666666, 1.0, 1.0, 0.0};
  const auto got1 = clustering(g1());
  REQUIRE(got1.size() == c1.size());
  for (std::size_t i = 0; i < c1.size(); ++i) CHECK(got1[i] == Approx(c1[i]).epsilon(1e-15));
  const std::vector<double> c2{0.5, 0.35714285714285715, 0.5714285714285714, 0.3333333333333333, 0.5, 0.0,
                               0.26666666666666666, 0.47619047619047616, 0.5, 0.42857142857142855, 0.5,
                               0.23809523809523808, 0.4166666666666667, 0.16666666666666666, 1.0, 1.0};
  const auto got2 = clustering(r16());
  REQUIRE(got2.size() == c2.size());
  for (std::size_t i = 0; i < c2.size(); ++i) CHECK(got2[i] == Approx(c2[i]).epsilon(1e-15));

  auto nonzero = [](const std::vector<std::int64_t>& h) {
    std::vector<std::pair<std::int64_t, std::int64_t>> r;
    for (std::size_t i = 0; i < h.size(); ++i)
      if (h[i]) r.emplace_back(static_cast<std::int64_t>(i), h[i]);
    return r;
  };
  const auto h1 = clustering_histogram(g1());
  CHECK(h1.size() == 100);
  CHECK(nonzero(h1) == std::vector<std::pair<std::int64_t, std::int64_t>>{{0, 1}, {20, 1}, {33, 1}, {66, 3}, {99, 5}});
  CHECK(nonzero(clustering_histogram(r16())) ==
        std::vector<std::pair<std::int64_t, std::int64_t>>{
            {0, 1}, {16, 1}, {23, 1}, {26, 1}, {33, 1}, {35, 1}, {41, 1}, {42, 1}, {47, 1}, {50, 4}, {57, 1}, {99, 2}});
}

TEST_CASE("histogram follows numpy.histogram on bin edges", "[metrics][graph_stats]") {
  using mgvae::metrics::histogram;
  const std::vector<double> vals{0.0, 0.01, 0.29, 0.3, 0.57, 0.58, 0.99, 1.0, 1.0 / 3.0, 2.0 / 3.0,
                                 0.5, 0.1,  0.7,  0.07, 0.14, 0.28, 0.56, 0.3, 0.005};
  const auto h = histogram(vals, 100, 0.0, 1.0);
  std::vector<std::pair<std::int64_t, std::int64_t>> nz;
  for (std::size_t i = 0; i < h.size(); ++i)
    if (h[i]) nz.emplace_back(static_cast<std::int64_t>(i), h[i]);
  CHECK(nz == std::vector<std::pair<std::int64_t, std::int64_t>>{{0, 2},  {1, 1},  {7, 1},  {10, 1}, {14, 1},
                                                                 {28, 1}, {29, 1}, {30, 2}, {33, 1}, {50, 1},
                                                                 {56, 2}, {58, 1}, {66, 1}, {69, 1}, {99, 2}});
  CHECK(histogram(vals, 7, 0.0, 1.0) == std::vector<std::int64_t>{6, 1, 4, 3, 3, 0, 2});
  CHECK(histogram(vals, 10, 0.0, 1.0) == std::vector<std::int64_t>{4, 2, 4, 1, 0, 4, 2, 0, 0, 2});
  CHECK(histogram(vals, 3, 0.0, 1.0) == std::vector<std::int64_t>{10, 5, 4});
  CHECK(histogram({-0.1, 1.1}, 4, 0.0, 1.0) == std::vector<std::int64_t>{0, 0, 0, 0});  // outside: ignored
  CHECK_THROWS_AS(histogram(vals, 0, 0.0, 1.0), std::invalid_argument);
  CHECK_THROWS_AS(histogram(vals, 3, 1.0, 1.0), std::invalid_argument);
  CHECK_THROWS_AS(histogram({0.5, std::nan("")}, 3, 0.0, 1.0), std::domain_error);
}
