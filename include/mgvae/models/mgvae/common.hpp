#pragma once
/// @file common.hpp
/// Types shared by the first-order (mgvae.hpp) and second-order (mgvae2.hpp) MGVAE: the
/// configuration, the explicit noise of one forward pass, the single-graph input and finest-level
/// target, and the declaration of `Mgvae<T, Order>` (Order 1: citation graphs; Order 2: ragged
/// batches of small graphs).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mgvae/models/mgn/mgn.hpp"
#include "mgvae/models/mgvae/decoder.hpp"
#include "mgvae/models/mgvae/elbo.hpp"
#include "mgvae/models/mgvae/encoder.hpp"

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
  /// (clustering.hpp `standardize_columns`; first-order model only). Default off.
  bool standardize_cluster_logits = false;
  /// Multiplier of the (bounded) clustering logits (clustering.hpp `LearnedClustering`; first-order
  /// model only). 1 = the paper / authors' scripts; larger makes the training Gumbel sample track
  /// the evaluation argmax. Must be finite and > 0.
  double cluster_logit_scale = 1.0;
  double tau = 1.0;                      ///< Gumbel-softmax temperature
  ClusterPooling pooling = ClusterPooling::SumL2;
  double w_local = 0.1, w_coarse = 0.01, w_kl = 1.0, w_balance = 1.0;
  /// First-order model only (mgvae.hpp): the assignment whose cluster sizes the balanced-cut KL
  /// (weight w_balance) is computed on — the training Gumbel sample (the paper; default), the
  /// noiseless argmax of Eq. 4 (the evaluation partition), or both (sum) — and the weight of the
  /// extra infomax term KL(p̄ ‖ U) + mean_i H(p_i) of every learned clustering (elbo.hpp; 0 = off).
  BalanceOn balance_on = BalanceOn::Sample;
  double w_infomax = 0.0;
  bool local_grad_to_clustering = true;
  /// Scale of the gradient that the hierarchy (clustering, pooling and everything above the
  /// finest level) sends back into the finest latents Z_0. 1 = plain backpropagation (the
  /// reference); on Cora that gradient swamps the finest reconstruction's and the finest
  /// embedding degrades (docs/lab/link_prediction.md, "Findings that shaped the defaults"), so the default passes only a small fraction.
  double hierarchy_grad = 0.0;

  // ---- Order 2 only (mgvae2.hpp); ignored by the first-order model ----------------------------
  /// Largest graph (nodes) a second-order model accepts: every second-order tensor of a graph has
  /// n² rows and each layer costs O(n³) per graph, so larger graphs throw std::length_error.
  std::int64_t max_graph_nodes = 64;
  std::int64_t edge_channels = 1;  ///< E: channels of the input adjacency A [Σ n_g², E]
  int order2_layers = 2;           ///< second-order layers of every encoder (width hidden.back())
  int order2_decoder_layers = 1;   ///< 2→2 basis layers of every second-order decoder
  double order2_jitter = 1e-4;     ///< ε of Σ = LLᵀ + εI (paper App. C)
  /// true: Π is the straight-through Gumbel one-hot (the paper). false: the relaxed sample
  /// softmax((p̃ + g)/τ) in value and gradient, and a soft balanced cut — every loss term is then
  /// an exactly differentiable function of the parameters (finite-difference gradchecks).
  bool straight_through = true;
};

/// Identity in the forward pass, gradient multiplied by `alpha` in the backward pass
/// (alpha = 0 is a stop-gradient).
template <class T>
Var<T> scale_gradient(const Var<T>& x, T alpha) {
  if (alpha == T(1)) return x;
  if (alpha == T(0)) return x.detach();
  return make_result<T>(x.value(), {x}, [x, alpha](const Tensor<T>& g) {
    if (!x.requires_grad()) return;
    Tensor<T> c = g.contiguous().clone();
    for (std::int64_t i = 0; i < c.numel(); ++i) c.data()[i] *= alpha;
    x.node().accumulate(c);
  });
}

/// Noise for one forward pass. Empty vectors / undefined tensors mean evaluation (no noise).
/// `forward(in, noise)` follows the noise it is given whatever the module's mode; `forward(in)`
/// follows the mode (train(): noise from the model's NoiseSource; eval(): none).
template <class T>
struct MgvaeNoise {
  Tensor<T> eps0;                  ///< [n, d] base-level ε
  std::vector<Tensor<T>> eps;      ///< eps[s]: [K_s, d], ε of level s+1
  std::vector<Tensor<T>> gumbel;   ///< gumbel[s]: [n_s, K_s]
  bool training() const { return eps0.defined(); }
};

/// Where a model's mode-driven `forward(in)` draws its training noise: draw k uses `rng.split(k)`,
/// k counting the draws since construction or the last `reset`. Copies of a model share the count
/// (as they share parameters); concurrent draws get distinct k.
class NoiseSource {
 public:
  explicit NoiseSource(const CounterRng& rng) : rng_(rng), count_(std::make_shared<std::atomic<std::uint64_t>>(0)) {}
  /// The generator of the next draw.
  CounterRng next() const { return rng_.split(count_->fetch_add(1)); }
  /// Restarts from draw 0 of `rng`.
  void reset(const CounterRng& rng) {
    rng_ = rng;
    count_->store(0);
  }
  /// Draws made so far.
  std::uint64_t count() const { return count_->load(); }

 private:
  CounterRng rng_;
  std::shared_ptr<std::atomic<std::uint64_t>> count_;
};

/// Stream (of the construction generator) that seeds a model's NoiseSource.
inline constexpr std::uint64_t kMgvaeNoiseStream = 0x6e6f697365ull;  // "noise"

/// The input graph: Â (GCN-normalised), A (raw 0/1, sorted columns), node features.
template <class T>
struct MgvaeInput {
  const CsrMatrix<T>* adj_norm = nullptr;
  const CsrMatrix<T>* adj = nullptr;
  NodeFeatures<T> x;
};

template <class T>
struct MgvaeLevel {
  Clustering<T> clustering;  ///< Π_s of G_s
  Var<T> coarse_adj;         ///< A_{s+1} = Π_sᵀ A_s Π_s
  Var<T> pooled;             ///< X_{s+1}
  GaussianLatent<T> latent;  ///< Z_{s+1}
};

template <class T>
struct MgvaeOutput {
  GaussianLatent<T> base;            ///< Z_0
  std::vector<MgvaeLevel<T>> levels; ///< s = 0 … L
};

/// Finest-level reconstruction target: dense (VGAE) or sampled pairs.
template <class T>
struct FinestTarget {
  const DenseReconTarget<T>* dense = nullptr;
  const std::vector<std::pair<std::int64_t, std::int64_t>>* pos = nullptr;
  const std::vector<std::pair<std::int64_t, std::int64_t>>* neg = nullptr;
};

namespace detail {
/// Binary search in a CSR row with sorted columns.
template <class T>
bool csr_has(const CsrMatrix<T>& a, std::int64_t u, std::int64_t v) {
  const auto b = a.col.begin() + a.row_ptr[static_cast<std::size_t>(u)];
  const auto e = a.col.begin() + a.row_ptr[static_cast<std::size_t>(u + 1)];
  return std::binary_search(b, e, v);
}
}  // namespace detail

/// Multiresolution graph VAE with `Order`-th order message passing: Order 1 (mgvae.hpp, one
/// large graph, GCN encoders, dot-product decoders) or Order 2 (mgvae2.hpp, ragged batches of
/// small graphs, second-order encoders with Σ = LLᵀ and second-order decoders). Other orders do
/// not compile.
template <class T, int Order = 1>
class Mgvae;

}  // namespace mgvae::models
