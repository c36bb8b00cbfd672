#pragma once
/// @file mgn.hpp
/// One level of a Multiresolution Graph Network (Def. 4) in its first-order form, and the
/// level schedule of the citation experiments.
///
/// Level step s turns graph G_s (n_s nodes, adjacency A_s, node latents Z_s) into G_{s+1}:
///   1. clustering  c: Π_s = c(Â_s, Z_s)                        (clustering.hpp; learned or fixed)
///   2. local decoders d_local: reconstruct every cluster's sub-adjacency [A_s]_k from [Z_s]_k
///                                                               (mgvae/decoder.hpp, O(n_s²/K))
///   3. coarsening  A_{s+1} = Π_sᵀ A_s Π_s                        (coarsen.hpp)
///   4. pooling     p: X_{s+1} = normalize(Π_sᵀ Z_s)              (pooling.hpp, invariant per cluster)
///   5. encoder     e: Z_{s+1} ~ q(· | Â_{s+1}, X_{s+1})          (gcn.hpp; Eq. 8)
///   6. optional global decoder d_global on G_{s+1}: σ(Z Zᵀ) vs A_{s+1}/max A_{s+1}.
/// In the authors' citation code (and here) the encoder message-passes over the whole level graph
/// (not over each cluster separately): on the finest level that is the VGAE encoder.
///
/// Equivariance (Prop. 2). Every map above is equivariant in the node index of G_s (GCN layers,
/// row-wise argmax/softmax with per-node noise, pair losses) or invariant (coarsening, pooling),
/// so the coarse graphs G_{s≥1}, their latents and all losses are invariant under a permutation of
/// the input nodes, and the finest-level outputs (Z_0, Π_0) permute with it.
/// tests/models/equivariance.test.cpp checks this to 1e-9 in double.
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "mgvae/models/mgn/clustering.hpp"
#include "mgvae/models/mgn/coarsen.hpp"
#include "mgvae/models/mgn/gcn.hpp"
#include "mgvae/models/mgn/pooling.hpp"

namespace mgvae::models {

enum class ClusteringKind { Learned, Fixed };

/// Number of clusters at each coarsening step, finest first: K^L, K^(L-1), …, K, 1
/// (App. D.1: L = 7, K = 2 gives 128, 64, …, 2, 1 — the top graph is a single node, Def. 3).
/// @throw std::invalid_argument if K < 1, L < 0, or K^L exceeds `n` (more clusters than nodes).
inline std::vector<std::int64_t> level_sizes(std::int64_t n, int levels, std::int64_t k) {
  if (k < 1) throw_invalid("level_sizes", "clusters per level K must be >= 1, got " + std::to_string(k));
  if (levels < 0) throw_invalid("level_sizes", "levels must be >= 0, got " + std::to_string(levels));
  std::vector<std::int64_t> s;
  std::int64_t c = 1;
  for (int l = 0; l < levels; ++l) {
    c *= k;  // c <= n before the product: no overflow
    if (c > n)
      throw_invalid("level_sizes", "more clusters than nodes: K^L " + std::string(l + 1 == levels ? "= " : ">= ") +
                                       std::to_string(c) + " (K = " + std::to_string(k) + ", L = " + std::to_string(levels) +
                                       ") but the graph has " + std::to_string(n) + " nodes");
  }
  for (int l = levels; l >= 0; --l) {
    s.push_back(c);
    c /= (k > 0 ? k : 1);
  }
  return s;
}

/// The learnable parts of one level step: clustering GNN (if learned) and the encoder of the
/// coarse graph it produces.
template <class T>
class MgnLevel : public nn::Module<T> {
 public:
  MgnLevel(std::int64_t latent_in, std::int64_t k, const std::vector<std::int64_t>& hidden, std::int64_t latent_out,
           ClusteringKind kind, std::int64_t cluster_hidden, CounterRng& rng, bool bounded_logits = true,
           bool standardize_logits = false, double logit_scale = 1.0)
      : k_(k), kind_(kind) {
    if (kind == ClusteringKind::Learned)
      cluster_ = this->register_module("cluster",
                                       std::make_shared<LearnedClustering<T>>(latent_in, cluster_hidden, k, rng, bounded_logits,
                                                                             standardize_logits, logit_scale));
    encoder_ = this->register_module("encoder", std::make_shared<GcnGaussianEncoder<T>>(latent_in, hidden, latent_out, rng));
  }
  std::int64_t k() const { return k_; }
  ClusteringKind kind() const { return kind_; }
  const LearnedClustering<T>& clustering() const { return *cluster_; }
  const GcnGaussianEncoder<T>& encoder() const { return *encoder_; }

 private:
  std::int64_t k_;
  ClusteringKind kind_;
  std::shared_ptr<LearnedClustering<T>> cluster_;
  std::shared_ptr<GcnGaussianEncoder<T>> encoder_;
};

}  // namespace mgvae::models
