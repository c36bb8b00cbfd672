#pragma once
/// @file decoder.hpp
/// Decoders p_θ(G | Z) (Def. 4 components 3-4, §4.1, Eq. 9) and their reconstruction losses.
///
/// * Global dot-product decoder at the finest level (VGAE, Kipf & Welling 2016):
///     p(A_uv = 1 | Z) = σ(⟨z_u, z_v⟩),
///     loss = norm · mean_{u,v} BCE_pw(⟨z_u, z_v⟩, A_uv + δ_uv),
///     pos_weight = (N² − ΣA)/ΣA,  norm = N² / (2 (N² − ΣA)).
///   `dense_recon_loss` forms all N² logits: O(N² d) time and O(N²) memory — 7.3 M entries on Cora
///   (2708 nodes), acceptable; `sampled_recon_loss` is the large-graph alternative (all positive
///   pairs plus as many uniformly sampled negative pairs per step), O(|E| d).
/// * Local dot-product decoders d_local (one per cluster, Def. 4 component 3): each reconstructs
///   its cluster's induced sub-adjacency [A]_k from [Z]_k only. `local_recon_loss` enumerates the
///   pairs {u < v} inside each cluster: Σ_k |V_k|² / 2 ≈ N²/(2K) pairs for balanced clusters — never
///   O(N²). Targets are in [0, 1] (binary at the finest level, A/max A on coarse weighted graphs).
///   With a learned clustering each pair's loss is weighted by ⟨Π_u, Π_v⟩ (value exactly 1, gradient
///   straight-through to the clustering).
/// * Coarse global decoder (optional d_global, authors' citation code): MSE(σ(ZZᵀ), A/max A).
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <tuple>
#include <utility>
#include <vector>

#include "mgvae/kernels/cpu/dense_bce.hpp"
#include "mgvae/models/mgn/clustering.hpp"
#include "mgvae/ops/indexing.hpp"
#include "mgvae/ops/loss.hpp"
#include "mgvae/ops/shape.hpp"

namespace mgvae::models {

/// The VGAE target of the finest graph: A (CSR, sorted rows; the diagonal target is 1 implicitly:
/// A + I) and the weights pos_weight = (N² − ΣA)/ΣA, norm = N²/(2(N² − ΣA)).
template <class T>
struct DenseReconTarget {
  CsrMatrix<T> adj;
  T pos_weight = 1, norm = 1;
};

/// Builds the VGAE target from an undirected edge list (u != v) on n nodes.
template <class T>
DenseReconTarget<T> make_dense_target(std::int64_t n, const std::vector<std::pair<std::int64_t, std::int64_t>>& edges) {
  DenseReconTarget<T> r;
  std::vector<std::tuple<std::int64_t, std::int64_t, T>> trip;
  trip.reserve(2 * edges.size());
  for (const auto& [u, v] : edges) {
    if (u == v) throw_invalid("make_dense_target", "self loop (" + std::to_string(u) + ", " + std::to_string(u) + ")");
    trip.emplace_back(u, v, T(1));
    trip.emplace_back(v, u, T(1));
  }
  r.adj = CsrMatrix<T>::from_triplets(n, n, trip);
  for (auto& v : r.adj.val) v = T(1);  // duplicates collapse to 1
  const double nn = static_cast<double>(n) * static_cast<double>(n);
  const double s = static_cast<double>(r.adj.nnz());  // ΣA without the diagonal
  r.pos_weight = static_cast<T>(s > 0 ? (nn - s) / s : 1.0);
  r.norm = static_cast<T>(nn / (2.0 * (nn - s)));
  return r;
}

/// norm · mean_{u,v} BCE_pw(⟨z_u, z_v⟩, (A + I)_uv) as one fused op. Logits and target are
/// symmetric, so only the upper triangle u ≤ v is formed (a rank-d update), the loss and the
/// logit adjoint are computed in place in one OpenMP pass (off-diagonal pairs counted twice; SIMD
/// e^x / log1p in float, kernels/cpu/dense_bce.hpp), and
/// the backward is ∂/∂Z = (G + Gᵀ) Z with G = U + Uᵀ, two triangular products. Memory: one N×N
/// buffer (upper half used). Same value and gradient as bce_with_logits(Z Zᵀ, A + I, pos_weight) · norm
/// (tests/models/mgvae.test.cpp).
template <class T>
Var<T> dense_recon_loss(const Var<T>& z, const DenseReconTarget<T>& t) {
  using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  if (z.dim() != 2 || z.size(0) != t.adj.rows)
    throw_invalid("dense_recon_loss", "latents of shape " + shape_str(z.shape()) + " for a target of " + std::to_string(t.adj.rows) + " nodes");
  const std::int64_t n = z.size(0), d = z.size(1);
  const Tensor<T> zc = z.value().contiguous();
  Eigen::Map<const Mat> Z(zc.data(), n, d);
  auto U = std::make_shared<Mat>(n, n);
  U->setZero();
  U->template selfadjointView<Eigen::Upper>().rankUpdate(Z);  // upper triangle of Z Zᵀ
  const T pw = t.pos_weight;
  const double scale = static_cast<double>(t.norm) / (static_cast<double>(n) * static_cast<double>(n));
  double total = 0;
  const auto* rp = t.adj.row_ptr.data();
  const auto* ci = t.adj.col.data();
#if defined(_OPENMP)
#pragma omp parallel for schedule(dynamic, 16) reduction(+ : total)
#endif
  for (std::int64_t i = 0; i < n; ++i) {
    // Row i of the upper triangle: loss and logit adjoint in place (SIMD in float, see
    // kernels/cpu/dense_bce.hpp; off-diagonal pairs weighted 2, U_ii = G_ii / 2).
    const std::int64_t kbeg = std::lower_bound(ci + rp[i], ci + rp[i + 1], i) - ci;
    total += kernels::cpu::dense_bce_row<T>(U->data() + i * n, i, n, ci, kbeg, rp[i + 1], pw, scale);
  }
  Tensor<T> out = Tensor<T>::scalar(static_cast<T>(total * scale));
  return make_result<T>(out, {z}, [z, zc, U, n, d](const Tensor<T>& g) {
    if (!z.requires_grad()) return;
    const T gs = g.contiguous().data()[0];
    Eigen::Map<const Mat> Zm(zc.data(), n, d);
    Tensor<T> gz(Shape{n, d});
    Eigen::Map<Mat> GZ(gz.data(), n, d);
    GZ.noalias() = U->template triangularView<Eigen::Upper>() * Zm;                // U Z
    GZ.noalias() += U->template triangularView<Eigen::Upper>().transpose() * Zm;   // Uᵀ Z
    GZ *= T(2) * gs;                                                                // (G + Gᵀ) Z = 2 (U + Uᵀ) Z
    z.node().accumulate(gz);
  });
}

/// Sampled reconstruction: mean BCE over the positive pairs (label 1) and the negative pairs (label 0).
template <class T>
Var<T> sampled_recon_loss(const Var<T>& z, const std::vector<std::pair<std::int64_t, std::int64_t>>& pos,
                          const std::vector<std::pair<std::int64_t, std::int64_t>>& neg) {
  std::vector<std::pair<std::int64_t, std::int64_t>> pairs(pos);
  pairs.insert(pairs.end(), neg.begin(), neg.end());
  Tensor<T> y = Tensor<T>::zeros(Shape{static_cast<std::int64_t>(pairs.size())});
  for (std::size_t i = 0; i < pos.size(); ++i) y.data()[i] = T(1);
  return bce_with_logits(pair_dot(z, pairs), constant(y));
}

/// Pairs {u < v} inside each cluster, for local decoders.
inline std::vector<std::pair<std::int64_t, std::int64_t>> intra_cluster_pairs(const std::vector<std::int64_t>& labels,
                                                                               std::int64_t k) {
  std::vector<std::vector<std::int64_t>> members(static_cast<std::size_t>(k));
  for (std::size_t i = 0; i < labels.size(); ++i) members[static_cast<std::size_t>(labels[i])].push_back(static_cast<std::int64_t>(i));
  std::vector<std::pair<std::int64_t, std::int64_t>> pairs;
  for (const auto& m : members)
    for (std::size_t a = 0; a < m.size(); ++a)
      for (std::size_t b = a + 1; b < m.size(); ++b) pairs.emplace_back(m[a], m[b]);
  return pairs;
}

/// Local decoders: mean over intra-cluster pairs of BCE_pw(⟨z_u, z_v⟩, target(u, v)), pos_weight =
/// (#pairs − Σ target)/Σ target. `target(u, v)` ∈ [0, 1]. `pi` (optional) weights each pair by
/// ⟨Π_u, Π_v⟩ for a straight-through gradient to a learned clustering. Returns an undefined Var
/// when no cluster has two nodes.
template <class T, class TargetFn>
Var<T> local_recon_loss(const Var<T>& z, const Clustering<T>& c, TargetFn&& target, bool grad_to_clustering) {
  const auto pairs = intra_cluster_pairs(c.labels, c.k);
  if (pairs.empty()) return Var<T>();
  const auto P = static_cast<std::int64_t>(pairs.size());
  Tensor<T> y(Shape{P});
  double s = 0;
  for (std::int64_t p = 0; p < P; ++p) {
    y.data()[p] = static_cast<T>(target(pairs[static_cast<std::size_t>(p)].first, pairs[static_cast<std::size_t>(p)].second));
    s += static_cast<double>(y.data()[p]);
  }
  const T pw = static_cast<T>(s > 0 ? std::max(1.0, (static_cast<double>(P) - s) / s) : 1.0);
  const Var<T> l = bce_with_logits(pair_dot(z, pairs), constant(y), pw, Reduction::None);
  if (grad_to_clustering && c.pi.requires_grad()) return mean(mul(l, pair_dot(c.pi, pairs)));
  return mean(l);
}

/// Coarse global decoder loss MSE(σ(ZZᵀ), target) with a constant target in [0, 1].
template <class T>
Var<T> coarse_global_loss(const Var<T>& z, const Tensor<T>& target) {
  return mse(sigmoid(matmul(z, transpose(z, 0, 1))), constant(target));
}

}  // namespace mgvae::models
