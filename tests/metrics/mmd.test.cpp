// Tests for include/mgvae/metrics/mmd.hpp: kernels on hand-computed inputs, closed forms for two
// single graphs, identical sets, empty/edgeless graphs, and GraphRNN-style MMDs on small sets
// compared with a Python re-implementation of GraphRNN's eval/mmd.py (compute_mmd / gaussian_emd /
// gaussian / gaussian_tv) on networkx statistics, where scipy.stats.wasserstein_distance (on bin
// positions i / distance_scaling) stands in for pyemd:
//
//   def emd(x, y, scaling):
//       L=max(len(x),len(y)); x=np.pad(x,(0,L-len(x))); y=np.pad(y,(0,L-len(y)))
//       pos=np.arange(L)/scaling; return wasserstein_distance(pos,pos,x,y)
//   gauss_emd = exp(-emd^2/(2 sigma^2)); gauss = exp(-||x-y||^2/(2 sigma^2)); gauss_tv with TV=|x-y|_1/2
//   def mmd(a,b,k,is_hist=True,**kw):   # GraphRNN compute_mmd
//       if is_hist: a=[s/np.sum(s) for s in a]; b=[s/np.sum(s) for s in b]
//       return disc(a,a,k,**kw)+disc(b,b,k,**kw)-2*disc(a,b,k,**kw)
//   X=[G1, nx.path_graph(4), nx.complete_graph(3)]
//   Y=[nx.gnp_random_graph(16,0.35,seed=7), nx.cycle_graph(5), nx.star_graph(3), nx.empty_graph(5)]
//   degree: nx.degree_histogram, gauss_emd sigma 1         -> 0.327350076593934
//   clustering: np.histogram(clustering, 100, (0,1)), gauss_emd sigma 0.1, scaling 100 -> 0.4511315278471998
//   orbit: orbit counts summed / n (networkx-isomorphism enumeration), gauss sigma 30, is_hist False
//                                                           -> 0.09314966081306864
//   degree with gauss_tv sigma 1                            -> 0.12561020230872422
#include "mgvae/metrics/mmd.hpp"

#include <cmath>
#include <stdexcept>
#include <vector>

#include "support/catch.hpp"

using mgvae::Graph;
using namespace mgvae::metrics;

namespace {

Graph mmd_path(std::int64_t n) {
  std::vector<Graph::Edge> e;
  for (std::int64_t i = 0; i + 1 < n; ++i) e.emplace_back(i, i + 1);
  return Graph::from_edges(n, e);
}
Graph mmd_cycle(std::int64_t n) {
  std::vector<Graph::Edge> e;
  for (std::int64_t i = 0; i < n; ++i) e.emplace_back(i, (i + 1) % n);
  return Graph::from_edges(n, e);
}
Graph mmd_clique(std::int64_t n) {
  std::vector<Graph::Edge> e;
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = i + 1; j < n; ++j) e.emplace_back(i, j);
  return Graph::from_edges(n, e);
}
std::vector<Graph> set_x() {
  return {Graph::from_edges(11, {{0, 1}, {0, 2}, {1, 2}, {2, 3}, {3, 4}, {4, 5}, {3, 5}, {3, 6}, {6, 7}, {7, 8}, {6, 8},
                                 {6, 9}, {1, 3}, {7, 9}}),
          mmd_path(4), mmd_clique(3)};
}
std::vector<Graph> set_y() {
  const Graph r16 = Graph::from_edges(
      16, {{0, 1},  {0, 2},   {0, 4},   {0, 7},   {0, 9},   {0, 11},  {0, 12},  {0, 15},  {1, 2},   {1, 8},  {1, 10},
           {1, 11}, {1, 12},  {1, 13},  {1, 15},  {2, 7},   {2, 8},   {2, 9},   {2, 12},  {2, 15},  {3, 6},  {3, 11},
           {3, 13}, {4, 5},   {4, 7},   {4, 12},  {5, 11},  {6, 7},   {6, 10},  {6, 12},  {6, 13},  {6, 14}, {7, 8},
           {7, 9},  {7, 12},  {8, 11},  {9, 10},  {9, 11},  {9, 12},  {9, 13},  {10, 11}, {10, 12}, {12, 14}});
  return {r16, mmd_cycle(5), Graph::from_edges(4, {{0, 1}, {0, 2}, {0, 3}}), Graph{5, {}}};
}

}  // namespace

TEST_CASE("emd_1d and kernels on hand-computed inputs", "[metrics][mmd]") {
  CHECK(emd_1d({0.5, 0.5}, {0.0, 0.0, 1.0}) == Approx(1.5));  // |0.5-0| + |1-0|
  CHECK(emd_1d({0.5, 0.5}, {0.0, 0.0, 1.0}, 2.0) == Approx(0.75));
  CHECK(emd_1d({1.0}, {1.0}) == 0.0);
  CHECK(emd_1d({0.2, 0.3, 0.5}, {0.5, 0.3, 0.2}) == Approx(0.3 + 0.3));
  CHECK_THROWS_AS(emd_1d({1.0}, {0.5}), std::invalid_argument);
  CHECK_THROWS_AS(emd_1d({1.0}, {1.0}, 0.0), std::invalid_argument);
  CHECK_THROWS_AS(emd_1d({-1.0, 2.0}, {1.0}), std::domain_error);
  CHECK(gaussian_emd_kernel({1.0, 0.0}, {0.0, 1.0}, 2.0) == Approx(std::exp(-1.0 / 8.0)));
  CHECK(gaussian_tv_kernel({1.0, 0.0}, {0.0, 1.0}, 1.0) == Approx(std::exp(-0.5)));
  CHECK(gaussian_tv_kernel({0.5, 0.5}, {0.5}, 1.0) == Approx(std::exp(-0.25 * 0.25 / 2.0)));  // TV = 0.25
  CHECK(gaussian_rbf_kernel({1.0, 2.0}, {1.0}, 2.0) == Approx(std::exp(-4.0 / 8.0)));       // zero-padded
  CHECK_THROWS_AS(gaussian_rbf_kernel({1.0}, {1.0}, 0.0), std::invalid_argument);
  CHECK(kernel_name(MmdKernel::GaussianEmd) == "gaussian_emd");
  CHECK(kernel_name(MmdKernel::GaussianTv) == "gaussian_tv");
  CHECK(kernel_name(MmdKernel::GaussianRbf) == "gaussian");
}

TEST_CASE("compute_mmd closed forms", "[metrics][mmd]") {
  // Two single samples: k(x,x) + k(y,y) - 2 k(x,y) = 2 - 2 k(x,y).
  MmdOptions o;  // gaussian_emd, sigma 1, normalize
  CHECK(compute_mmd({{0, 2, 1}}, {{0, 0, 3}}, o) == Approx(2.0 - 2.0 * std::exp(-(2.0 / 3.0) * (2.0 / 3.0) / 2.0)));
  // Identical sets -> 0 (up to rounding).
  const std::vector<std::vector<double>> s{{1, 2, 3}, {0, 1}, {4}};
  CHECK(compute_mmd(s, s, o) == Approx(0.0).margin(1e-14));
  // Hand-derived 2 vs 1 samples, RBF (not normalized): X = {0, 1}, Y = {3}, sigma 1.
  o = MmdOptions::orbit();
  o.sigma = 1.0;
  const double kxx = (2.0 + 2.0 * std::exp(-0.5)) / 4.0, kyy = 1.0, kxy = (std::exp(-4.5) + std::exp(-2.0)) / 2.0;
  CHECK(compute_mmd({{0.0}, {1.0}}, {{3.0}}, o) == Approx(kxx + kyy - 2.0 * kxy).epsilon(1e-14));
  CHECK_THROWS_AS(compute_mmd({}, {{1.0}}, o), std::invalid_argument);
  CHECK_THROWS_AS(compute_mmd({{0.0, 0.0}}, {{1.0}}, MmdOptions::degree()), std::invalid_argument);  // sums to 0
  CHECK_THROWS_AS(compute_mmd({{std::nan("")}}, {{1.0}}, o), std::domain_error);
}

TEST_CASE("graph MMDs: two single graphs (P3 vs K3) in closed form", "[metrics][mmd]") {
  const std::vector<Graph> a{mmd_path(3)}, b{mmd_clique(3)};
  // Degree pmfs [0, 2/3, 1/3] vs [0, 0, 1]: EMD = 2/3.
  const auto d = mmd_degree(a, b);
  CHECK(d.value == Approx(2.0 - 2.0 * std::exp(-2.0 / 9.0)));
  CHECK(d.kernel == "gaussian_emd");
  CHECK(d.sigma == 1.0);
  CHECK(d.n1 == 1);
  CHECK(d.n2 == 1);
  // Clustering: all 0 (bin 0) vs all 1 (bin 99): EMD = 99 / 100.
  const auto c = mmd_clustering(a, b);
  CHECK(c.value == Approx(2.0 - 2.0 * std::exp(-0.99 * 0.99 / (2.0 * 0.01))));
  CHECK(c.sigma == 0.1);
  CHECK(c.distance_scaling == 100.0);
  // Orbits: mean vectors (4/3, 2/3, 1/3, 0, ...) vs (2, 0, 0, 1, 0, ...): squared distance 2.
  const auto o = mmd_orbit(a, b);
  CHECK(o.value == Approx(2.0 - 2.0 * std::exp(-2.0 / (2.0 * 900.0))).epsilon(1e-12));
  CHECK(o.kernel == "gaussian");
  CHECK(o.sigma == 30.0);
}

TEST_CASE("graph MMDs match the GraphRNN Python re-implementation", "[metrics][mmd]") {
  const auto X = set_x(), Y = set_y();
  CHECK(mmd_degree(X, Y).value == Approx(0.327350076593934).epsilon(1e-12));
  CHECK(mmd_clustering(X, Y).value == Approx(0.4511315278471998).epsilon(1e-12));
  CHECK(mmd_orbit(X, Y).value == Approx(0.09314966081306864).epsilon(1e-12));
  MmdOptions tv;
  tv.kernel = MmdKernel::GaussianTv;
  const auto r = mmd_degree(X, Y, tv);
  CHECK(r.value == Approx(0.12561020230872422).epsilon(1e-12));
  CHECK(r.kernel == "gaussian_tv");
  CHECK(r.n1 == 3);
  CHECK(r.n2 == 4);
}

TEST_CASE("graph MMDs: identical sets, edgeless and empty graphs", "[metrics][mmd]") {
  const auto X = set_x();
  CHECK(mmd_degree(X, X).value == Approx(0.0).margin(1e-12));
  CHECK(mmd_clustering(X, X).value == Approx(0.0).margin(1e-12));
  CHECK(mmd_orbit(X, X).value == Approx(0.0).margin(1e-12));
  // Edgeless graphs are fine; graphs without nodes are skipped and counted.
  const std::vector<Graph> edgeless{Graph{4, {}}, Graph{1, {}}, Graph{0, {}}};
  const auto d = mmd_degree(edgeless, X);
  CHECK(d.n1 == 2);
  CHECK(d.skipped1 == 1);
  CHECK(std::isfinite(d.value));
  CHECK(mmd_degree(edgeless, edgeless).value == Approx(0.0).margin(1e-12));
  CHECK(std::isfinite(mmd_clustering(edgeless, X).value));
  CHECK(std::isfinite(mmd_orbit(edgeless, X).value));
  CHECK_THROWS_AS(mmd_degree({Graph{0, {}}}, X), std::invalid_argument);
  CHECK_THROWS_AS(mmd_orbit(X, {}), std::invalid_argument);
}
