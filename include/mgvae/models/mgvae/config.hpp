#pragma once
/// @file config.hpp
/// `MgvaeConfig`: the options of an MGVAE and of its MGN levels, for both tensor orders
/// (`Mgvae<T, 1>`, `Mgvae<T, 2>`, mgvae.hpp). Options marked "Order 1 only" / "Order 2 only" are
/// ignored or checked by the other order.
#include <cstdint>
#include <vector>

#include "mgvae/models/mgn/schedule.hpp"
#include "mgvae/models/mgn/pooling.hpp"
#include "mgvae/models/mgvae/elbo.hpp"

namespace mgvae::models {

struct MgvaeConfig {
  std::int64_t in_features = 0;
  std::vector<std::int64_t> hidden{32};  ///< hidden GCN sizes of every encoder (VGAE: {32})
  std::int64_t latent = 16;              ///< d_z
  int levels = 7;                        ///< L: the finest clustering has K^L clusters
  std::int64_t clusters_per_level = 2;   ///< K
  ClusteringKind clustering = ClusteringKind::Learned;
  std::int64_t cluster_hidden = 32;
  bool bounded_cluster_logits = true;    ///< tanh on the clustering logits (see clustering.hpp)
  /// Column-standardise the clustering GNN's output over the nodes before the tanh
  /// (clustering.hpp `standardize_columns`; Order 1 only, Order 2 requires false). Default off.
  bool standardize_cluster_logits = false;
  /// Multiplier of the (bounded) clustering logits (clustering.hpp `LearnedClustering`; Order 1
  /// only). 1 = the paper / authors' scripts; larger makes the training Gumbel sample track
  /// the evaluation argmax. Must be finite and > 0 (Order 2: must be 1).
  double cluster_logit_scale = 1.0;
  double tau = 1.0;                      ///< Gumbel-softmax temperature
  ClusterPooling pooling = ClusterPooling::SumL2;
  double w_local = 0.1, w_coarse = 0.01, w_kl = 1.0, w_balance = 1.0;
  /// The assignment whose cluster sizes the balanced-cut KL (weight w_balance) is computed on — the training Gumbel sample (the paper; default), the
  /// noiseless argmax of Eq. 4 (the evaluation partition), or both (sum) — and the weight of the
  /// extra infomax term KL(p̄ ‖ U) + mean_i H(p_i) of every learned clustering (elbo.hpp; 0 = off).
  BalanceOn balance_on = BalanceOn::Sample;
  double w_infomax = 0.0;
  bool local_grad_to_clustering = true;
  /// Scale of the gradient that the hierarchy above a level (its clustering, pooling and every
  /// level above) sends back into that level's latents Z_s, at every level s = 0 … L. 1 = plain
  /// backpropagation (the reference). At the finest level that gradient swamps the finest
  /// reconstruction's on Cora and the embedding degrades (docs/lab/link_prediction.md, "Findings
  /// that shaped the defaults"); at the coarse levels (16 and 8 clusters on Cora) the clustering's
  /// column-standardised logits amplify it up to 1/sqrt(1e-5) ≈ 316× and, at width 256, the coarse
  /// KL diverges late in training (docs/lab/link_prediction.md, "Late divergence at width 256").
  /// Default 0: a stop-gradient at every level.
  double hierarchy_grad = 0.0;

  /// true: Π is the straight-through Gumbel one-hot (the paper). false: the relaxed sample
  /// softmax((p̃ + g)/τ) in value and gradient, and a soft balanced cut — every loss term is then
  /// an exactly differentiable function of the parameters (finite-difference gradchecks).
  bool straight_through = true;

  // ---- Order 2 only; ignored by the first-order model -----------------------------------------
  /// Largest graph (nodes) a second-order model accepts: every second-order tensor of a graph has
  /// n² rows and each layer costs O(n³) per graph, so larger graphs throw std::length_error.
  std::int64_t max_graph_nodes = 64;
  std::int64_t edge_channels = 1;  ///< E: channels of the input adjacency A [Σ n_g², E]
  int order2_layers = 2;           ///< second-order layers of every encoder (width hidden.back())
  int order2_decoder_layers = 1;   ///< 2→2 basis layers of every second-order decoder
  double order2_jitter = 1e-4;     ///< ε of Σ = LLᵀ + εI (paper App. C)
};

}  // namespace mgvae::models
