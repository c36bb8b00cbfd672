#pragma once
/// @file pooling.hpp
/// Pooling network p (Def. 4, component 5): a permutation-invariant map from the latents of a
/// cluster to one cluster latent. As in the authors' learned-clustering code,
///   z̃_k = normalize(Σ_{i∈V_k} z_i) = (ΠᵀZ)_k / ‖(ΠᵀZ)_k‖₂,
/// a sum (invariant to the order of the cluster's nodes) followed by an L2 normalisation. The norm
/// is smoothed, ‖s‖ → sqrt(‖s‖² + 1): an empty cluster gives the zero vector with a bounded
/// gradient. (With the reference's F.normalize, eps = 1e-12, the straight-through gradient that
/// reaches an empty cluster's column of Π is scaled by 10⁶ and blows up training.)
/// `ClusterPooling::Mean` divides by (cluster size + 1) instead.
#include <cstdint>

#include "mgvae/models/mgn/gcn.hpp"
#include "mgvae/ops/reduce.hpp"
#include "mgvae/ops/shape.hpp"

namespace mgvae::models {

enum class ClusterPooling { SumL2, Mean };

/// [K, d] cluster latents from Π [n, K] and Z [n, d].
template <class T>
Var<T> pool(const Var<T>& pi, const Var<T>& z, ClusterPooling mode = ClusterPooling::SumL2) {
  if (pi.dim() != 2 || z.dim() != 2 || pi.size(0) != z.size(0))
    throw_invalid("pool", "assignment " + shape_str(pi.shape()) + " and latents " + shape_str(z.shape()) + " do not match");
  const Var<T> s = matmul(transpose(pi, 0, 1), z);  // [K, d]
  const std::int64_t k = s.size(0);
  if (mode == ClusterPooling::Mean) {
    const Var<T> cnt = add_scalar(sum(pi, {0}), T(1));  // [K] size + 1: bounded for empty clusters
    return div(s, reshape(cnt, Shape{k, 1}));
  }
  const Var<T> nrm = sqrt(add_scalar(sum(mul(s, s), {1}), T(1)));  // [K]
  return div(s, reshape(nrm, Shape{k, 1}));
}

}  // namespace mgvae::models
