#pragma once
/// @file coarsen.hpp
/// Coarsening (Defs. 1-3, §3.3): A^(ℓ-1) = Πᵀ A^(ℓ) Π.
///
/// Convention: for a symmetric A with zero diagonal, (ΠᵀAΠ)_kk = Σ_{i,j∈V_k} A_ij counts every
/// intra-cluster edge twice; Def. 2 puts ½ of that on the diagonal. We keep ΠᵀAΠ (what §3.3 and
/// the authors' code compute; it is symmetric and its total equals Σ A) and give
/// `def2_adjacency` for the Def. 2 form. Off-diagonal entries are the numbers of edges between
/// clusters in both conventions.
///
/// Equivariance: for a node permutation P, (PΠ)ᵀ(PAPᵀ)(PΠ) = ΠᵀAΠ — coarse graphs are invariant.
#include <cstdint>

#include "mgvae/models/mgn/gcn.hpp"
#include "mgvae/ops/matmul.hpp"
#include "mgvae/ops/reduce.hpp"
#include "mgvae/ops/shape.hpp"

namespace mgvae::models {

/// Πᵀ A Π  [K, K]; differentiable in Π (and in A when dense).
template <class T>
Var<T> coarsen(const Adjacency<T>& a, const Var<T>& pi) {
  if (pi.dim() != 2 || pi.size(0) != a.num_nodes())
    throw_invalid("coarsen", "assignment of shape " + shape_str(pi.shape()) + " for a graph of " +
                                 std::to_string(a.num_nodes()) + " nodes");
  return matmul(transpose(pi, 0, 1), propagate(a, pi));
}

/// Πᵀ A Π of one graph of a ragged pair batch, per edge channel: `a` [n², E] (row i·n + j = pair
/// (i, j), the layout of RaggedBatch pair rows), `pi` [n, K] → [K², E] (row k·K + l). A must be
/// symmetric in (i, j) (computed as (A Π)ᵀ Π). Differentiable in both. Callers scale the result by
/// their κ (the molecule and second-order models keep coarse adjacencies at total K).
/// @throw std::invalid_argument if pi is not [n, K] or a does not have n² rows.
template <class T>
Var<T> coarsen_pairs(const Var<T>& a, const Var<T>& pi) {
  if (pi.dim() != 2 || a.dim() != 2 || a.size(0) != pi.size(0) * pi.size(0))
    throw_invalid("coarsen_pairs", "adjacency of shape " + shape_str(a.shape()) + " for an assignment of shape " +
                                       shape_str(pi.shape()) + " (needs [n*n, E] and [n, K])");
  const std::int64_t n = pi.size(0), k = pi.size(1), e = a.size(1);
  const Var<T> ag = permute(reshape(a, Shape{n, n, e}), {2, 0, 1});  // [E, n, n]
  const Var<T> pap = matmul(transpose(matmul(ag, pi), 1, 2), pi);     // [E, K, K] = (AΠ)ᵀΠ = ΠᵀAΠ
  return reshape(permute(pap, {1, 2, 0}), Shape{k * k, e});
}

/// Def. 2 weighted adjacency from ΠᵀAΠ: the diagonal halved.
template <class T>
Tensor<T> def2_adjacency(const Tensor<T>& ptap) {
  Tensor<T> d = ptap.clone();
  const std::int64_t k = d.size(0);
  for (std::int64_t i = 0; i < k; ++i) d.data()[i * k + i] *= T(0.5);
  return d;
}

/// Differentiable GCN normalisation of a dense weighted adjacency: D̃^{-1/2}(A + I)D̃^{-1/2},
/// D̃ = diag(rowsum(A) + 1). Empty clusters (zero rows) get Â_kk = 1.
template <class T>
Var<T> gcn_normalize_dense(const Var<T>& a) {
  const std::int64_t k = a.size(0);
  Tensor<T> eye = Tensor<T>::zeros(Shape{k, k});
  for (std::int64_t i = 0; i < k; ++i) eye.data()[i * k + i] = T(1);
  const Var<T> at = add(a, constant(eye));
  const Var<T> s = pow(sum(at, {1}), T(-0.5));  // [K]
  return mul(mul(at, reshape(s, Shape{k, 1})), reshape(s, Shape{1, k}));
}

}  // namespace mgvae::models
