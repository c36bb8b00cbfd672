#pragma once
/// @file mmd.hpp
/// GraphRNN's generation metrics (You et al. 2018, code `eval/mmd.py` + `eval/stats.py`, which MGVAE
/// reuses; shared/REFERENCE-NOTES.md 6.2): squared MMD between two sets of graphs, computed on one
/// statistic per graph.
///
/// * MMD^2 (biased, diagonal included, as GraphRNN's `compute_mmd`):
///     mean_{x,x' in X} k(x,x') + mean_{y,y' in Y} k(y,y') - 2 mean_{x in X, y in Y} k(x,y).
///   When the samples are histograms (`normalize = true`, GraphRNN's `is_hist`), each is first
///   divided by its sum (a pmf). Vectors of different lengths are zero-padded to the longer one.
/// * Gaussian-EMD kernel (`gaussian_emd`): k = exp(-EMD^2 / (2 sigma^2)), where EMD is the earth
///   mover's distance between two pmfs on bins 0..L-1 with ground distance |i - j| / distance_scaling
///   (GraphRNN builds `toeplitz(range(L)) / distance_scaling` and calls pyemd). In one dimension with
///   equal masses this is sum_i |CDF_a(i) - CDF_b(i)| / distance_scaling.
/// * Gaussian-TV kernel (`gaussian_tv`, used by later GraphRNN-derived code such as GRAN/GDSS):
///   k = exp(-TV^2 / (2 sigma^2)), TV = (1/2) sum_i |a_i - b_i|.
/// * Gaussian RBF (`gaussian`): k = exp(-||a - b||_2^2 / (2 sigma^2)).
///
/// What GraphRNN computes, and our defaults:
/// * degree: `networkx.degree_histogram`, normalized, gaussian_emd, sigma = 1, distance_scaling = 1;
/// * clustering: `numpy.histogram(networkx.clustering(G).values(), bins=100, range=(0, 1))`,
///   normalized, gaussian_emd with sigma = 0.1 and distance_scaling = bins = 100. The scaling puts
///   the bins back on the [0, 1] axis (bin width 0.01), so the EMD is in units of clustering
///   coefficient and sigma = 0.1 is a width in those units;
/// * orbit: per graph, the 15 ORCA node-orbit counts summed over nodes and divided by the node count
///   (`orbit_stats_all`), not normalized, Gaussian RBF with sigma = 30.
/// Graphs with zero nodes have no defined statistic (GraphRNN drops empty generated graphs); they
/// are skipped and counted in MmdResult::skipped1/skipped2. Graphs with isolated nodes or no edges
/// are ordinary inputs.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "mgvae/graph/graph.hpp"
#include "mgvae/metrics/graph_stats.hpp"

namespace mgvae::metrics {

/// Kernel on per-graph statistic vectors.
enum class MmdKernel { GaussianEmd, GaussianTv, GaussianRbf };

/// Name of a kernel as in GraphRNN's code: "gaussian_emd", "gaussian_tv", "gaussian". @throw nothing
inline std::string kernel_name(MmdKernel k) {
  switch (k) {
    case MmdKernel::GaussianEmd: return "gaussian_emd";
    case MmdKernel::GaussianTv: return "gaussian_tv";
    case MmdKernel::GaussianRbf: return "gaussian";
  }
  return "unknown";
}

/// Options of an MMD evaluation. Use the factories for GraphRNN's settings.
struct MmdOptions {
  MmdKernel kernel = MmdKernel::GaussianEmd;
  double sigma = 1.0;
  double distance_scaling = 1.0;  ///< EMD ground distance |i-j| / distance_scaling (gaussian_emd only)
  bool normalize = true;          ///< divide each sample by its sum first (GraphRNN is_hist)
  std::int64_t bins = 100;        ///< clustering histogram bins (mmd_clustering only)

  /// GraphRNN degree setting: gaussian_emd, sigma 1, normalized. @throw nothing
  static MmdOptions degree() { return MmdOptions{}; }
  /// GraphRNN clustering setting: 100 bins, gaussian_emd, sigma 0.1, distance_scaling 100, normalized. @throw nothing
  static MmdOptions clustering() {
    MmdOptions o;
    o.sigma = 0.1;
    o.distance_scaling = 100.0;
    o.bins = 100;
    return o;
  }
  /// GraphRNN orbit setting: Gaussian RBF on mean orbit counts, sigma 30, not normalized. @throw nothing
  static MmdOptions orbit() {
    MmdOptions o;
    o.kernel = MmdKernel::GaussianRbf;
    o.sigma = 30.0;
    o.normalize = false;
    return o;
  }
};

/// Result of an MMD evaluation, with what it was computed with.
struct MmdResult {
  double value = 0.0;             ///< squared MMD (may be slightly negative from rounding, or for the
                                  ///< EMD/TV kernels, which are not guaranteed positive definite)
  std::string kernel;             ///< kernel_name(...)
  double sigma = 0.0;
  double distance_scaling = 1.0;
  std::int64_t n1 = 0, n2 = 0;    ///< number of graphs used from each set
  std::int64_t skipped1 = 0, skipped2 = 0;  ///< graphs skipped (no nodes)
};

namespace mmd_detail {
inline void check_sigma(const char* fn, double sigma) {
  if (!(sigma > 0.0) || !std::isfinite(sigma))
    throw std::invalid_argument(std::string(fn) + ": sigma must be finite and > 0");
}
inline double at(const std::vector<double>& v, std::size_t i) { return i < v.size() ? v[i] : 0.0; }
}  // namespace mmd_detail

/// 1-D earth mover's distance between two nonnegative vectors of equal total mass on bins
/// 0..L-1 (zero-padded to the longer length), ground distance |i - j| / distance_scaling:
/// sum_i |CDF_a(i) - CDF_b(i)| / distance_scaling.
/// @throw std::invalid_argument if distance_scaling <= 0 or the masses differ (relative 1e-9);
///   std::domain_error if a value is negative or not finite.
inline double emd_1d(const std::vector<double>& a, const std::vector<double>& b, double distance_scaling = 1.0) {
  if (!(distance_scaling > 0.0)) throw std::invalid_argument("emd_1d: distance_scaling must be > 0");
  const std::size_t L = std::max(a.size(), b.size());
  double ca = 0, cb = 0, d = 0;
  for (std::size_t i = 0; i < L; ++i) {
    const double x = mmd_detail::at(a, i), y = mmd_detail::at(b, i);
    if (!(x >= 0.0) || !(y >= 0.0) || !std::isfinite(x) || !std::isfinite(y))
      throw std::domain_error("emd_1d: entry " + std::to_string(i) + " is negative or not finite");
    ca += x;
    cb += y;
    if (i + 1 < L) d += std::abs(ca - cb);
  }
  if (std::abs(ca - cb) > 1e-9 * std::max({1.0, ca, cb}))
    throw std::invalid_argument("emd_1d: the two vectors have different total mass (" + std::to_string(ca) +
                                " vs " + std::to_string(cb) + "); normalize them first");
  return d / distance_scaling;
}

/// GraphRNN `gaussian_emd`: exp(-emd_1d(a, b, distance_scaling)^2 / (2 sigma^2)).
/// @throw std::invalid_argument if sigma <= 0 (or as emd_1d); std::domain_error as emd_1d.
inline double gaussian_emd_kernel(const std::vector<double>& a, const std::vector<double>& b, double sigma,
                                  double distance_scaling = 1.0) {
  mmd_detail::check_sigma("gaussian_emd_kernel", sigma);
  const double e = emd_1d(a, b, distance_scaling);
  return std::exp(-e * e / (2.0 * sigma * sigma));
}

/// `gaussian_tv`: exp(-TV^2 / (2 sigma^2)) with TV = 0.5 * sum |a_i - b_i| (zero-padded).
/// @throw std::invalid_argument if sigma <= 0.
inline double gaussian_tv_kernel(const std::vector<double>& a, const std::vector<double>& b, double sigma) {
  mmd_detail::check_sigma("gaussian_tv_kernel", sigma);
  const std::size_t L = std::max(a.size(), b.size());
  double tv = 0;
  for (std::size_t i = 0; i < L; ++i) tv += std::abs(mmd_detail::at(a, i) - mmd_detail::at(b, i));
  tv *= 0.5;
  return std::exp(-tv * tv / (2.0 * sigma * sigma));
}

/// GraphRNN `gaussian`: exp(-||a - b||^2 / (2 sigma^2)) (zero-padded).
/// @throw std::invalid_argument if sigma <= 0.
inline double gaussian_rbf_kernel(const std::vector<double>& a, const std::vector<double>& b, double sigma) {
  mmd_detail::check_sigma("gaussian_rbf_kernel", sigma);
  const std::size_t L = std::max(a.size(), b.size());
  double d2 = 0;
  for (std::size_t i = 0; i < L; ++i) {
    const double t = mmd_detail::at(a, i) - mmd_detail::at(b, i);
    d2 += t * t;
  }
  return std::exp(-d2 / (2.0 * sigma * sigma));
}

/// The kernel selected by `opt` (kernel, sigma, distance_scaling).
/// @throw as the selected kernel function.
inline double kernel_value(const MmdOptions& opt, const std::vector<double>& a, const std::vector<double>& b) {
  switch (opt.kernel) {
    case MmdKernel::GaussianEmd: return gaussian_emd_kernel(a, b, opt.sigma, opt.distance_scaling);
    case MmdKernel::GaussianTv: return gaussian_tv_kernel(a, b, opt.sigma);
    case MmdKernel::GaussianRbf: return gaussian_rbf_kernel(a, b, opt.sigma);
  }
  throw std::invalid_argument("kernel_value: unknown kernel");
}

/// GraphRNN `compute_mmd(samples1, samples2, kernel, is_hist=opt.normalize)`: biased squared MMD
/// with the diagonal terms included (see the file comment).
/// @throw std::invalid_argument if a set is empty, sigma <= 0, or (normalize) a sample sums to 0 or
///   less; std::domain_error if a value is not finite (or negative for the EMD kernel).
inline double compute_mmd(std::vector<std::vector<double>> s1, std::vector<std::vector<double>> s2,
                          const MmdOptions& opt) {
  if (s1.empty() || s2.empty()) throw std::invalid_argument("compute_mmd: both sample sets must be non-empty");
  mmd_detail::check_sigma("compute_mmd", opt.sigma);
  for (auto* set : {&s1, &s2})
    for (auto& v : *set) {
      for (const double x : v)
        if (!std::isfinite(x)) throw std::domain_error("compute_mmd: a sample has a non-finite value");
      if (opt.normalize) {
        double s = 0;
        for (const double x : v) s += x;
        if (!(s > 0.0)) throw std::invalid_argument("compute_mmd: a histogram sample sums to 0; cannot normalize");
        for (auto& x : v) x /= s;
      }
    }
  auto mean_self = [&](const std::vector<std::vector<double>>& s) {
    double acc = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
      acc += kernel_value(opt, s[i], s[i]);
      for (std::size_t j = i + 1; j < s.size(); ++j) acc += 2.0 * kernel_value(opt, s[i], s[j]);
    }
    return acc / (static_cast<double>(s.size()) * static_cast<double>(s.size()));
  };
  double cross = 0;
  for (const auto& a : s1)
    for (const auto& b : s2) cross += kernel_value(opt, a, b);
  cross /= static_cast<double>(s1.size()) * static_cast<double>(s2.size());
  return mean_self(s1) + mean_self(s2) - 2.0 * cross;
}

namespace mmd_detail {
template <class Stat>
inline MmdResult run(const std::vector<Graph>& gs1, const std::vector<Graph>& gs2, const MmdOptions& opt, Stat stat,
                     const char* fn) {
  MmdResult r;
  r.kernel = kernel_name(opt.kernel);
  r.sigma = opt.sigma;
  r.distance_scaling = opt.distance_scaling;
  std::vector<std::vector<double>> s1, s2;
  for (const Graph& g : gs1) {
    if (g.n == 0) { ++r.skipped1; continue; }
    s1.push_back(stat(g));
  }
  for (const Graph& g : gs2) {
    if (g.n == 0) { ++r.skipped2; continue; }
    s2.push_back(stat(g));
  }
  r.n1 = static_cast<std::int64_t>(s1.size());
  r.n2 = static_cast<std::int64_t>(s2.size());
  if (s1.empty() || s2.empty())
    throw std::invalid_argument(std::string(fn) + ": each set needs at least one graph with nodes (got " +
                                std::to_string(r.n1) + " and " + std::to_string(r.n2) + ")");
  r.value = compute_mmd(std::move(s1), std::move(s2), opt);
  return r;
}
template <class T>
inline std::vector<double> to_double(const std::vector<T>& v) {
  return std::vector<double>(v.begin(), v.end());
}
}  // namespace mmd_detail

/// Degree MMD (GraphRNN `degree_stats`): statistic = degree histogram.
/// @throw std::invalid_argument if a set has no graph with nodes, a graph is invalid, or sigma <= 0.
inline MmdResult mmd_degree(const std::vector<Graph>& gs1, const std::vector<Graph>& gs2,
                            const MmdOptions& opt = MmdOptions::degree()) {
  return mmd_detail::run(gs1, gs2, opt, [](const Graph& g) { return mmd_detail::to_double(degree_histogram(g)); },
                         "mmd_degree");
}

/// Clustering MMD (GraphRNN `clustering_stats`): statistic = opt.bins-bin histogram of the local
/// clustering coefficients on [0, 1].
/// @throw std::invalid_argument if a set has no graph with nodes, a graph is invalid, bins < 1 or sigma <= 0.
inline MmdResult mmd_clustering(const std::vector<Graph>& gs1, const std::vector<Graph>& gs2,
                                const MmdOptions& opt = MmdOptions::clustering()) {
  return mmd_detail::run(
      gs1, gs2, opt, [&](const Graph& g) { return mmd_detail::to_double(clustering_histogram(g, opt.bins)); },
      "mmd_clustering");
}

/// Orbit MMD (GraphRNN `orbit_stats_all`): statistic = mean_orbit_counts (15 values per graph).
/// @throw std::invalid_argument if a set has no graph with nodes, a graph is not canonical, or sigma <= 0.
inline MmdResult mmd_orbit(const std::vector<Graph>& gs1, const std::vector<Graph>& gs2,
                           const MmdOptions& opt = MmdOptions::orbit()) {
  return mmd_detail::run(gs1, gs2, opt, [](const Graph& g) { return mean_orbit_counts(g); }, "mmd_orbit");
}

}  // namespace mgvae::metrics
