#pragma once
/// @file kmeans.hpp
/// Deterministic k-means (k-means++ seeding + Lloyd iterations, best of `n_init` restarts) and
/// PCA, the building blocks of the fixed clusterings of App. D.1 ("K-Means on PCA-10 of the
/// bag-of-words features"; the spectral clustering in spectral.hpp also ends in k-means).
///
/// Determinism: every random choice is drawn from `CounterRng(seed).split(restart)`, so the
/// result is a pure function of (data, k, seed, options). Empty clusters are re-seeded with the
/// point farthest from its centroid, so every cluster is non-empty whenever k <= #distinct points.
#include <Eigen/Dense>
#include <Eigen/Eigenvalues>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "mgvae/core/error.hpp"
#include "mgvae/core/rng.hpp"

namespace mgvae::graph {

struct KMeansOptions {
  int n_init = 4;         ///< restarts; the lowest inertia wins
  int max_iter = 100;     ///< Lloyd iterations per restart
  double tol = 1e-10;     ///< stop when the inertia improves by less than tol (relative)
};

struct KMeansResult {
  std::vector<std::int64_t> labels;  ///< cluster of each point, in [0, k)
  Eigen::MatrixXd centroids;         ///< k x d
  double inertia = 0;                ///< Σ_i ‖x_i − c_{label(i)}‖²
};

namespace kmeans_detail {
template <class Matrix>
double sqdist(const Matrix& X, Eigen::Index i, const Matrix& C, Eigen::Index k) {
  return (X.row(i) - C.row(k)).squaredNorm();
}
}  // namespace kmeans_detail

/// k-means of the rows of X (n x d) into k clusters.
/// @throw std::invalid_argument if k < 1 or k > n (more clusters than points).
template <class Matrix = Eigen::MatrixXd>  // a template only so that its Eigen code is compiled where it is called
KMeansResult kmeans(const Eigen::MatrixXd& X, std::int64_t k, std::uint64_t seed, const KMeansOptions& opt = {}) {
  using kmeans_detail::sqdist;
  const Eigen::Index n = X.rows(), d = X.cols();
  if (k < 1) throw_invalid("kmeans", "k must be >= 1, got " + std::to_string(k));
  if (k > n)
    throw_invalid("kmeans", "more clusters (" + std::to_string(k) + ") than points (" + std::to_string(n) + ")");
  KMeansResult best;
  best.inertia = std::numeric_limits<double>::infinity();
  const CounterRng base(seed);
  for (int r = 0; r < std::max(1, opt.n_init); ++r) {
    CounterRng rng = base.split(static_cast<std::uint64_t>(r));
    Matrix C(k, d);
    // k-means++ seeding
    std::vector<double> dmin(static_cast<std::size_t>(n), std::numeric_limits<double>::infinity());
    Eigen::Index first = static_cast<Eigen::Index>(rng.next_below(static_cast<std::uint64_t>(n)));
    C.row(0) = X.row(first);
    for (std::int64_t c = 1; c < k; ++c) {
      double tot = 0;
      for (Eigen::Index i = 0; i < n; ++i) {
        dmin[static_cast<std::size_t>(i)] = std::min(dmin[static_cast<std::size_t>(i)], sqdist(X, i, C, c - 1));
        tot += dmin[static_cast<std::size_t>(i)];
      }
      Eigen::Index pick = 0;
      if (tot > 0) {
        double u = rng.next_uniform() * tot, acc = 0;
        pick = n - 1;
        for (Eigen::Index i = 0; i < n; ++i) {
          acc += dmin[static_cast<std::size_t>(i)];
          if (acc >= u && dmin[static_cast<std::size_t>(i)] > 0) {
            pick = i;
            break;
          }
        }
      } else {
        pick = static_cast<Eigen::Index>(rng.next_below(static_cast<std::uint64_t>(n)));
      }
      C.row(c) = X.row(pick);
    }
    // Lloyd
    std::vector<std::int64_t> lab(static_cast<std::size_t>(n), 0);
    double prev = std::numeric_limits<double>::infinity(), inertia = 0;
    for (int it = 0; it < opt.max_iter; ++it) {
      inertia = 0;
      std::vector<double> dist(static_cast<std::size_t>(n));
      for (Eigen::Index i = 0; i < n; ++i) {
        double bd = std::numeric_limits<double>::infinity();
        std::int64_t bk = 0;
        for (std::int64_t c = 0; c < k; ++c) {
          const double dd = sqdist(X, i, C, c);
          if (dd < bd) {
            bd = dd;
            bk = c;
          }
        }
        lab[static_cast<std::size_t>(i)] = bk;
        dist[static_cast<std::size_t>(i)] = bd;
        inertia += bd;
      }
      Matrix S = Matrix::Zero(k, d);
      std::vector<std::int64_t> cnt(static_cast<std::size_t>(k), 0);
      for (Eigen::Index i = 0; i < n; ++i) {
        S.row(lab[static_cast<std::size_t>(i)]) += X.row(i);
        ++cnt[static_cast<std::size_t>(lab[static_cast<std::size_t>(i)])];
      }
      for (std::int64_t c = 0; c < k; ++c) {
        if (cnt[static_cast<std::size_t>(c)] > 0) {
          C.row(c) = S.row(c) / static_cast<double>(cnt[static_cast<std::size_t>(c)]);
        } else {  // empty: re-seed with the farthest point (then never pick it again this round)
          Eigen::Index far = 0;
          for (Eigen::Index i = 1; i < n; ++i)
            if (dist[static_cast<std::size_t>(i)] > dist[static_cast<std::size_t>(far)]) far = i;
          C.row(c) = X.row(far);
          dist[static_cast<std::size_t>(far)] = -1;
          prev = std::numeric_limits<double>::infinity();  // force another iteration
        }
      }
      if (std::isfinite(prev) && prev - inertia <= opt.tol * std::max(1.0, prev)) break;
      prev = inertia;
    }
    // final assignment against the final centroids
    inertia = 0;
    for (Eigen::Index i = 0; i < n; ++i) {
      double bd = std::numeric_limits<double>::infinity();
      std::int64_t bk = 0;
      for (std::int64_t c = 0; c < k; ++c) {
        const double dd = sqdist(X, i, C, c);
        if (dd < bd) {
          bd = dd;
          bk = c;
        }
      }
      lab[static_cast<std::size_t>(i)] = bk;
      inertia += bd;
    }
    if (inertia < best.inertia) {
      best.inertia = inertia;
      best.labels = lab;
      best.centroids = C;
    }
  }
  return best;
}

/// Projection of the rows of X (n x d) on their top `dims` principal components (centred;
/// covariance eigen-decomposition, O(n d² + d³)). Components are ordered by decreasing variance;
/// each sign is fixed so that the entry of largest magnitude in the loading vector is positive.
/// @throw std::invalid_argument if dims < 1 or dims > d.
template <class Matrix = Eigen::MatrixXd>  // a template only so that its Eigen solver is compiled where it is called
Matrix pca(const Eigen::MatrixXd& X, std::int64_t dims) {
  const Eigen::Index d = X.cols();
  if (dims < 1 || dims > d) throw_invalid("pca", "dims must be in [1, " + std::to_string(d) + "], got " + std::to_string(dims));
  const Eigen::RowVectorXd mu = X.colwise().mean();
  const Matrix Xc = X.rowwise() - mu;
  Matrix cov = Matrix::Zero(d, d);
  cov.template selfadjointView<Eigen::Lower>().rankUpdate(Xc.transpose());
  cov = cov.template selfadjointView<Eigen::Lower>();
  Eigen::SelfAdjointEigenSolver<Matrix> es(cov);
  if (es.info() != Eigen::Success) throw_invalid("pca", "eigen-decomposition failed");
  Matrix W(d, dims);
  for (std::int64_t j = 0; j < dims; ++j) {
    Eigen::VectorXd v = es.eigenvectors().col(d - 1 - j);  // ascending order -> take from the end
    Eigen::Index imax = 0;
    v.cwiseAbs().maxCoeff(&imax);
    if (v(imax) < 0) v = -v;
    W.col(j) = v;
  }
  return Xc * W;
}

}  // namespace mgvae::graph
