#pragma once
/// @file eval.hpp
/// Graph statistics and MMD for the generation experiment (a private implementation of the
/// GraphRNN evaluation, You et al. 2018, kept next to the model so the example does not
/// depend on the arrival of metrics/; it follows the same definitions):
///  * degree: histogram of node degrees, normalised to a pmf; Gaussian-EMD kernel, σ = 1
///    (1-D EMD with ground distance |i − j| = L1 distance between the CDFs);
///  * clustering: histogram of local clustering coefficients, 100 bins on [0, 1], pmf;
///    Gaussian-EMD with ground distance |i − j| / 100, σ = 0.1;
///  * orbit: per-graph mean over nodes of the 15 node-orbit counts of graphlets with 2-4 nodes
///    (ORCA numbering), Gaussian kernel on the L2 distance, σ = 30;
///  * optional Gaussian total-variation kernel (GRAN/GDSS): exp(−TV² / 2σ²), TV = ½‖p − q‖₁.
/// MMD² is the biased estimate mean k(X,X) + mean k(Y,Y) − 2 mean k(X,Y) (diagonals included),
/// as in GraphRNN's `compute_mmd`. Graphs are used as given (callers strip isolated padding).
#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "mgvae/models/graphgen/graph_data.hpp"

namespace mgvae::graphgen {

/// Degree histogram: entry d = number of nodes of degree d.
inline std::vector<double> degree_histogram(const SmallGraph& g) {
  const auto d = g.degrees();
  int mx = 0;
  for (int v : d) mx = std::max(mx, v);
  std::vector<double> h(static_cast<std::size_t>(g.n > 0 ? mx + 1 : 0), 0.0);
  for (int v : d) h[static_cast<std::size_t>(v)] += 1.0;
  return h;
}

/// Local clustering coefficient of every node (0 for degree < 2), as networkx.clustering.
inline std::vector<double> clustering_coefficients(const SmallGraph& g) {
  const auto a = g.dense();
  const auto d = g.degrees();
  const int n = g.n;
  std::vector<double> c(static_cast<std::size_t>(n), 0.0);
  for (int u = 0; u < n; ++u) {
    const int k = d[static_cast<std::size_t>(u)];
    if (k < 2) continue;
    int t = 0;
    for (int v = 0; v < n; ++v)
      if (a[static_cast<std::size_t>(u * n + v)])
        for (int w = v + 1; w < n; ++w)
          if (a[static_cast<std::size_t>(u * n + w)] && a[static_cast<std::size_t>(v * n + w)]) ++t;
    c[static_cast<std::size_t>(u)] = 2.0 * t / (static_cast<double>(k) * (k - 1));
  }
  return c;
}

/// np.histogram(c, bins, range=(0,1)): bins [e_i, e_{i+1}) on the edges e_i = i / bins (as
/// numpy's linspace), the last bin closed; a value on an edge lands where numpy puts it.
inline std::vector<double> clustering_histogram(const SmallGraph& g, int bins = 100) {
  std::vector<double> h(static_cast<std::size_t>(bins), 0.0);
  const double step = 1.0 / bins;
  auto edge = [&](int i) { return i == bins ? 1.0 : i * step; };
  for (double c : clustering_coefficients(g)) {
    int b = std::clamp(static_cast<int>(c * bins), 0, bins - 1);
    if (c < edge(b)) --b;
    else if (b != bins - 1 && c >= edge(b + 1)) ++b;
    h[static_cast<std::size_t>(std::clamp(b, 0, bins - 1))] += 1.0;
  }
  return h;
}

/// Per-node counts of the 15 orbits of connected induced graphlets on 2-4 nodes (ORCA order:
/// 0 edge; 1 path-end, 2 path-middle; 3 triangle; 4 P4-end, 5 P4-inner; 6 claw-leaf,
/// 7 claw-centre; 8 C4; 9 paw-tail, 10 paw-triangle (deg 2), 11 paw-centre; 12 diamond deg 2,
/// 13 diamond deg 3; 14 K4). Brute force over node subsets (fine for ≤ 20-node graphs).
inline std::vector<std::array<double, 15>> orbit_counts(const SmallGraph& g) {
  const int n = g.n;
  const auto a = g.dense();
  auto adj = [&](int u, int v) { return a[static_cast<std::size_t>(u * n + v)] != 0; };
  std::vector<std::array<double, 15>> o(static_cast<std::size_t>(n));
  for (auto& r : o) r.fill(0.0);
  const auto deg = g.degrees();
  for (int u = 0; u < n; ++u) o[static_cast<std::size_t>(u)][0] = deg[static_cast<std::size_t>(u)];
  for (int x = 0; x < n; ++x)
    for (int y = x + 1; y < n; ++y)
      for (int z = y + 1; z < n; ++z) {
        const int nodes[3] = {x, y, z};
        int dl[3] = {0, 0, 0}, e = 0;
        for (int i = 0; i < 3; ++i)
          for (int j = i + 1; j < 3; ++j)
            if (adj(nodes[i], nodes[j])) {
              ++dl[i];
              ++dl[j];
              ++e;
            }
        if (e == 3) {
          for (int v : nodes) o[static_cast<std::size_t>(v)][3] += 1;
        } else if (e == 2) {
          for (int i = 0; i < 3; ++i) o[static_cast<std::size_t>(nodes[i])][dl[i] == 2 ? 2 : 1] += 1;
        }
      }
  for (int w = 0; w < n; ++w)
    for (int x = w + 1; x < n; ++x)
      for (int y = x + 1; y < n; ++y)
        for (int z = y + 1; z < n; ++z) {
          const int nodes[4] = {w, x, y, z};
          int dl[4] = {0, 0, 0, 0}, e = 0;
          for (int i = 0; i < 4; ++i)
            for (int j = i + 1; j < 4; ++j)
              if (adj(nodes[i], nodes[j])) {
                ++dl[i];
                ++dl[j];
                ++e;
              }
          if (e < 3) continue;
          int mx = 0, mn = 4;
          for (int i = 0; i < 4; ++i) {
            mx = std::max(mx, dl[i]);
            mn = std::min(mn, dl[i]);
          }
          if (mn == 0) continue;  // disconnected (an isolated node)
          for (int i = 0; i < 4; ++i) {
            auto& r = o[static_cast<std::size_t>(nodes[i])];
            const int d = dl[i];
            if (e == 3) {  // path P4 or claw (3 edges on 4 nodes without isolated node: a tree)
              if (mx == 3) r[d == 3 ? 7 : 6] += 1;
              else r[d == 1 ? 4 : 5] += 1;
            } else if (e == 4) {  // C4 or paw
              if (mx == 2) r[8] += 1;
              else r[d == 1 ? 9 : (d == 2 ? 10 : 11)] += 1;
            } else if (e == 5) {
              r[d == 2 ? 12 : 13] += 1;
            } else {
              r[14] += 1;
            }
          }
        }
  return o;
}

/// Per-graph vector: mean over nodes of the orbit counts (GraphRNN `orbit_stats_all`).
inline std::array<double, 15> orbit_mean(const SmallGraph& g) {
  std::array<double, 15> m{};
  m.fill(0.0);
  if (g.n == 0) return m;
  for (const auto& r : orbit_counts(g))
    for (int k = 0; k < 15; ++k) m[static_cast<std::size_t>(k)] += r[static_cast<std::size_t>(k)];
  for (auto& v : m) v /= g.n;
  return m;
}

enum class HistKernel { GaussianEMD, GaussianTV };

inline const char* kernel_name(HistKernel k) { return k == HistKernel::GaussianEMD ? "gaussian_emd" : "gaussian_tv"; }

namespace detail_eval {
inline std::vector<double> to_pmf(std::vector<double> h) {
  double s = 0;
  for (double v : h) s += v;
  if (s > 0)
    for (double& v : h) v /= s;
  return h;
}
/// Kernel between two pmfs (padded to the same length with zeros).
inline double hist_kernel(const std::vector<double>& x, const std::vector<double>& y, HistKernel k, double sigma,
                          double distance_scaling) {
  const std::size_t L = std::max(x.size(), y.size());
  double d = 0;
  if (k == HistKernel::GaussianEMD) {
    double cx = 0, cy = 0;
    for (std::size_t i = 0; i < L; ++i) {
      cx += i < x.size() ? x[i] : 0.0;
      cy += i < y.size() ? y[i] : 0.0;
      d += std::abs(cx - cy);
    }
    d /= distance_scaling;
  } else {
    for (std::size_t i = 0; i < L; ++i) d += std::abs((i < x.size() ? x[i] : 0.0) - (i < y.size() ? y[i] : 0.0));
    d *= 0.5;
  }
  return std::exp(-d * d / (2 * sigma * sigma));
}
template <class V, class K>
double mmd2(const std::vector<V>& X, const std::vector<V>& Y, K kern) {
  auto block = [&](const std::vector<V>& A, const std::vector<V>& B) {
    double s = 0;
    const long na = static_cast<long>(A.size());
#ifdef _OPENMP
#pragma omp parallel for reduction(+ : s) schedule(dynamic, 8)
#endif
    for (long i = 0; i < na; ++i)
      for (const auto& b : B) s += kern(A[static_cast<std::size_t>(i)], b);
    return s / (static_cast<double>(A.size()) * static_cast<double>(B.size()));
  };
  return block(X, X) + block(Y, Y) - 2 * block(X, Y);
}
}  // namespace detail_eval

/// One MMD value with the kernel that produced it.
struct MmdValue {
  double value = 0;
  std::string statistic, kernel;
  double sigma = 0;
  std::size_t n_ref = 0, n_pred = 0;
};

/// Precomputed statistics of a graph set (so the reference set is summarised once).
struct GraphSetStats {
  std::vector<std::vector<double>> degree, clustering;
  std::vector<std::array<double, 15>> orbit;
  std::size_t size() const { return degree.size(); }
};

/// Statistics of every graph with at least one node (empty graphs are skipped by the caller).
inline GraphSetStats compute_stats(const std::vector<SmallGraph>& gs) {
  GraphSetStats s;
  s.degree.resize(gs.size());
  s.clustering.resize(gs.size());
  s.orbit.resize(gs.size());
  const long n = static_cast<long>(gs.size());
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 4)
#endif
  for (long i = 0; i < n; ++i) {
    const auto& g = gs[static_cast<std::size_t>(i)];
    s.degree[static_cast<std::size_t>(i)] = detail_eval::to_pmf(degree_histogram(g));
    s.clustering[static_cast<std::size_t>(i)] = detail_eval::to_pmf(clustering_histogram(g));
    s.orbit[static_cast<std::size_t>(i)] = orbit_mean(g);
  }
  return s;
}

inline MmdValue mmd_degree(const GraphSetStats& ref, const GraphSetStats& pred, HistKernel k = HistKernel::GaussianEMD,
                           double sigma = 1.0) {
  MmdValue r{detail_eval::mmd2(ref.degree, pred.degree,
                               [&](const auto& x, const auto& y) { return detail_eval::hist_kernel(x, y, k, sigma, 1.0); }),
             "degree", kernel_name(k), sigma, ref.size(), pred.size()};
  return r;
}

inline MmdValue mmd_clustering(const GraphSetStats& ref, const GraphSetStats& pred,
                               HistKernel k = HistKernel::GaussianEMD, double sigma = 0.1) {
  MmdValue r{detail_eval::mmd2(ref.clustering, pred.clustering,
                               [&](const auto& x, const auto& y) { return detail_eval::hist_kernel(x, y, k, sigma, 100.0); }),
             "clustering", kernel_name(k), sigma, ref.size(), pred.size()};
  return r;
}

inline MmdValue mmd_orbit(const GraphSetStats& ref, const GraphSetStats& pred, double sigma = 30.0) {
  auto kern = [sigma](const std::array<double, 15>& x, const std::array<double, 15>& y) {
    double d2 = 0;
    for (int i = 0; i < 15; ++i) d2 += (x[static_cast<std::size_t>(i)] - y[static_cast<std::size_t>(i)]) *
                                       (x[static_cast<std::size_t>(i)] - y[static_cast<std::size_t>(i)]);
    return std::exp(-d2 / (2 * sigma * sigma));
  };
  MmdValue r{detail_eval::mmd2(ref.orbit, pred.orbit, kern), "orbit", "gaussian", sigma, ref.size(), pred.size()};
  return r;
}

}  // namespace mgvae::graphgen
