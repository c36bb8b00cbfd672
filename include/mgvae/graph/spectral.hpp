#pragma once
/// @file spectral.hpp
/// Fixed clusterings of App. D.1 (Hy & Kondor): spectral and k-means, and the fixed hierarchy
/// built from either.
///
/// Spectral embedding. With the random-walk Laplacian L = D⁻¹(D − A), node i is embedded as
///   (ξ_1(i)/λ_1, …, ξ_m(i)/λ_m),  m = 10,
/// where (λ_j, ξ_j) are the eigen-pairs of L in increasing order, skipping j = 0 (λ_0 = 0, ξ_0
/// constant). Computation uses the symmetric trick: if u solves (I − D^{-1/2}AD^{-1/2})u = λu then
/// ξ = D^{-1/2}u solves Lξ = λξ. As in the authors' `tree.py`, 1e-4 is added to every eigenvalue
/// before dividing (λ = 0 recurs once per connected component; Cora has 78). Dense
/// eigen-decomposition: O(n³) time, O(n²) memory — fine up to a few 10⁴ nodes (Cora: ~10 s);
/// larger graphs are refused.
///
/// Isolated nodes (degree 0) make D⁻¹ undefined. `IsolatedNodes::Throw` (default) raises
/// std::invalid_argument naming the node; `IsolatedNodes::UnitDegree` sets D_ii = 1 for them, so
/// their row of L is e_iᵀ: they decouple with eigenvalue 1 and sit at the origin of the
/// low-frequency embedding (used for link-prediction training graphs, where held-out edges leave
/// some nodes isolated).
///
/// Fixed hierarchy (`fixed_hierarchy`): k-means of the node embedding into K_L clusters (finest),
/// then k-means of the cluster mean embeddings into K_{L-1} clusters, and so on ("at the ℓ-th
/// resolution level, we apply K-Means ... to partition G^(ℓ)"). A level asking for more clusters
/// than it has nodes throws std::invalid_argument.
#include <Eigen/Dense>
#include <Eigen/Eigenvalues>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "mgvae/core/error.hpp"
#include "mgvae/graph/graph.hpp"
#include "mgvae/graph/kmeans.hpp"

namespace mgvae::graph {

enum class IsolatedNodes { Throw, UnitDegree };

struct SpectralOptions {
  std::int64_t dims = 10;      ///< n_max of App. D.1
  double eig_shift = 1e-4;     ///< added to λ before dividing (authors' tree.py)
  IsolatedNodes isolated = IsolatedNodes::Throw;
  std::int64_t max_nodes = 20000;  ///< dense O(n³) guard
};

/// n x dims spectral embedding (see the file comment).
/// @throw std::invalid_argument on an isolated node (with IsolatedNodes::Throw), dims < 1,
///        dims >= n, or n > max_nodes.
template <class Matrix = Eigen::MatrixXd>  // a template only so that its Eigen solver is compiled where it is called
Matrix spectral_embedding(const Graph& g, const SpectralOptions& opt = {}) {
  const std::int64_t n = g.n;
  if (opt.dims < 1 || opt.dims >= n)
    throw_invalid("spectral_embedding", "dims must be in [1, n-1] = [1, " + std::to_string(n - 1) + "], got " +
                                            std::to_string(opt.dims));
  if (n > opt.max_nodes)
    throw_invalid("spectral_embedding", "dense eigen-decomposition refused for n = " + std::to_string(n) +
                                            " > max_nodes = " + std::to_string(opt.max_nodes));
  const auto deg = g.degrees();
  Eigen::VectorXd dinv_sqrt(n);
  for (std::int64_t i = 0; i < n; ++i) {
    auto di = deg[static_cast<std::size_t>(i)];
    if (di == 0) {
      if (opt.isolated == IsolatedNodes::Throw)
        throw_invalid("spectral_embedding", "node " + std::to_string(i) +
                                                " is isolated (degree 0): D^-1 of the random-walk Laplacian is undefined "
                                                "(use IsolatedNodes::UnitDegree to treat it as degree 1)");
      di = 1;
    }
    dinv_sqrt(i) = 1.0 / std::sqrt(static_cast<double>(di));
  }
  Matrix Ls = Matrix::Identity(n, n);  // I − D^{-1/2} A D^{-1/2}
  for (const auto& [u, v] : g.edges) {
    const double w = dinv_sqrt(u) * dinv_sqrt(v);
    Ls(u, v) -= w;
    Ls(v, u) -= w;
  }
  Eigen::SelfAdjointEigenSolver<Matrix> es(Ls);
  if (es.info() != Eigen::Success) throw_invalid("spectral_embedding", "eigen-decomposition failed");
  Matrix E(n, opt.dims);
  for (std::int64_t j = 0; j < opt.dims; ++j) {
    const Eigen::Index c = j + 1;  // skip λ_0
    const double lam = std::max(0.0, es.eigenvalues()(c)) + opt.eig_shift;
    Eigen::VectorXd xi = dinv_sqrt.cwiseProduct(es.eigenvectors().col(c));
    Eigen::Index imax = 0;
    xi.cwiseAbs().maxCoeff(&imax);
    if (xi(imax) < 0) xi = -xi;  // deterministic sign
    E.col(j) = xi / lam;
  }
  return E;
}

/// One partition per level, finest first: result[0] has `sizes[0]` clusters of the n input
/// points, result[1] clusters those clusters into sizes[1] groups, etc. (`sizes` must not
/// increase). Points of level ℓ+1 are the mean embeddings of the clusters of level ℓ.
/// @throw std::invalid_argument if a level asks for more clusters than it has points.
template <class Matrix = Eigen::MatrixXd>  // a template only so that its Eigen code is compiled where it is called
std::vector<std::vector<std::int64_t>> fixed_hierarchy(const Eigen::MatrixXd& embedding, const std::vector<std::int64_t>& sizes,
                                                       std::uint64_t seed, const KMeansOptions& opt = {}) {
  std::vector<std::vector<std::int64_t>> out;
  Matrix pts = embedding;
  for (std::size_t l = 0; l < sizes.size(); ++l) {
    const std::int64_t k = sizes[l];
    if (k > pts.rows())
      throw_invalid("fixed_hierarchy", "level " + std::to_string(l) + " asks for " + std::to_string(k) +
                                           " clusters of only " + std::to_string(pts.rows()) + " nodes");
    KMeansResult r = kmeans<Matrix>(pts, k, seed + 7919 * l, opt);
    Matrix next = Matrix::Zero(k, pts.cols());
    std::vector<double> cnt(static_cast<std::size_t>(k), 0.0);
    for (Eigen::Index i = 0; i < pts.rows(); ++i) {
      next.row(r.labels[static_cast<std::size_t>(i)]) += pts.row(i);
      cnt[static_cast<std::size_t>(r.labels[static_cast<std::size_t>(i)])] += 1;
    }
    for (std::int64_t c = 0; c < k; ++c)
      if (cnt[static_cast<std::size_t>(c)] > 0) next.row(c) /= cnt[static_cast<std::size_t>(c)];
    out.push_back(std::move(r.labels));
    pts = std::move(next);
  }
  return out;
}

/// Row-major float features (n x F) as an Eigen matrix.
template <class Matrix = Eigen::MatrixXd>  // a template only so that its Eigen code is compiled where it is called
Matrix features_matrix(const std::vector<float>& x, std::int64_t n, std::int64_t F) {
  if (static_cast<std::int64_t>(x.size()) != n * F) throw_invalid("features_matrix", "size mismatch");
  Matrix M(n, F);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < F; ++j) M(i, j) = x[static_cast<std::size_t>(i * F + j)];
  return M;
}

/// Cluster sizes, and the balance statistics of App. D.1 / Table 4 (KL to the uniform law).
struct ClusterBalance {
  std::int64_t k = 0, min = 0, max = 0, empty = 0;
  double mean = 0, stddev = 0, kl_uniform = 0;
};

inline ClusterBalance cluster_balance(const std::vector<std::int64_t>& labels, std::int64_t k) {
  if (k < 1) throw_invalid("cluster_balance", "k must be >= 1");
  std::vector<std::int64_t> sz(static_cast<std::size_t>(k), 0);
  for (auto l : labels) {
    if (l < 0 || l >= k) throw_invalid("cluster_balance", "label " + std::to_string(l) + " outside [0, k)");
    ++sz[static_cast<std::size_t>(l)];
  }
  ClusterBalance b;
  b.k = k;
  b.min = *std::min_element(sz.begin(), sz.end());
  b.max = *std::max_element(sz.begin(), sz.end());
  const double n = static_cast<double>(labels.size());
  b.mean = n / static_cast<double>(k);
  double var = 0;
  for (auto s : sz) {
    var += (static_cast<double>(s) - b.mean) * (static_cast<double>(s) - b.mean);
    if (s == 0) ++b.empty;
    if (s > 0) {
      const double p = static_cast<double>(s) / n;
      b.kl_uniform += p * std::log(p * static_cast<double>(k));
    }
  }
  b.stddev = std::sqrt(var / static_cast<double>(k));
  return b;
}

}  // namespace mgvae::graph
