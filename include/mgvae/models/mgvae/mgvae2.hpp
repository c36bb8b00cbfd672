#pragma once
/// @file mgvae2.hpp
/// Second-order Multiresolution Graph VAE, `Mgvae<T, 2>`, on ragged batches of small graphs (paper
/// §3.2 Eq. 3, §4, App. B), with the configuration, noise and level schedule of the first-order
/// `Mgvae<T, 1>` (mgvae.hpp). Graph g of a batch has n_g nodes, adjacency A_g [n_g², E] (E edge
/// channels, symmetric) and node features X_g [n_g, F]; level s has K_s = K^(L−s) clusters per graph.
///
/// Forward (bottom-up, Eq. 8), every level on the whole batch:
///   q(Z_0 | A, X):  (μ, L) = SecondOrderEncoder(A, X)      μ [N, d], L_gc [n_g, n_g]   (App. B)
///                   z_{·c} = μ_{·c} + L_gc ε_{·c},  Σ_gc = L_gc L_gcᵀ + εI
///   for s = 0 … L:
///     p̃_s = W_k 2→1(SecondOrderLayer(Ã_s, 1→2(Z_s)))  [n_g, K_s]  (tanh if bounded_cluster_logits)
///     Π_s = one_hot(argmax(p̃_s + g)) straight-through softmax((p̃_s + g)/τ)   (Gumbel, §3.3)
///     A_{s+1} = Π_sᵀ A_s Π_s  per graph and edge channel                        (Defs. 1-3)
///     Ã_{s+1} = κ_g A_{s+1},  κ_g = K_s / max(1, Σ A_{0,g})  (a constant: Σ Πᵀ A Π = Σ A since
///               Π 1 = 1, so every coarse adjacency the encoders read sums to K_s)
///     X_{s+1} = pool(Π_s, Z_s)  (pooling.hpp: normalised cluster sums, per graph)
///     (μ, L)_{s+1} = SecondOrderEncoder_s(Ã_{s+1}, X_{s+1}),  Z_{s+1} = μ + L ε
/// Decoders (second order, equivariant; `SecondOrderPairDecoder`):
///     H_0 = ReLU(W_in [z_i ⊙ z_j ‖ 1→2(z)]),  H_{t+1} = ReLU(W_t 2→2(H_t)),  o = W_out H_T,
///     logits_ij = ½(o_ij + o_ji)  [n², E]
///   recon_global     finest decoder, VGAE weighting per graph: norm_g · mean_{ij,e} BCE_pw_g(logit, (A + I))
///                    with pw_g = (n²E − ΣA)/ΣA, norm_g = n²E / (2(n²E − ΣA)); mean over graphs
///   recon_local[s]   w_local · local decoder of G_s applied to every cluster separately (the
///                    cluster's induced subgraph is a graph of the decoder's ragged batch, so a
///                    cluster is reconstructed from its own latents only, Def. 4); mean BCE_pw over
///                    the ordered intra-cluster pairs u ≠ v, each weighted by ⟨Π_u, Π_v⟩ (value 1,
///                    straight-through gradient to the clustering); targets A_0 (s = 0) or
///                    A_s / max A_s per graph (s ≥ 1)
///   recon_coarse[s]  w_coarse · MSE(σ(d_global(Z_s)), A_s / max A_s) for s = 1 … L
///   kl[s]            w_kl · mean_g Σ_c KL(N(μ_gc, Σ_gc) ‖ N(0, (1+ε)I)) / n_g²  (the VGAE 1/n² scaling
///                    of elbo.hpp with the full-covariance Gaussian KL of ops/gaussian.hpp)
///   balance[s]       w_balance · mean_g KL(P_g ‖ U_K)  (elbo.hpp `balanced_cut_kl`, per graph)
/// Evaluation (noise empty, or the noise-less forward after `eval()`): z = μ, Π = argmax (Eq. 4).
///
/// Equivariance (Props. 1-2): every map is S_n-equivariant per graph (second-order layers, basis
/// maps, row-wise argmax/softmax with the Gumbel noise permuted with the nodes), coarsening and
/// pooling are invariant, so Z_0, L_0 and Π_0 permute with the nodes, the coarse graphs and their
/// latents are unchanged, and every loss term is invariant (tests/models/mgvae_order2.test.cpp).
///
/// Cost and limits. A graph's second-order tensors have n² rows and a layer with the fused
/// contraction costs O(n³ E C) per graph; memory is O(n² C) per layer. This model is for small
/// graphs (molecules, community graphs: n ≲ 50); a graph with more than `max_graph_nodes` nodes
/// throws std::length_error, an empty graph or batch std::invalid_argument. Graphs with fewer nodes
/// than K_s simply leave clusters empty. The input adjacency must be symmetric.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "mgvae/graph/graph.hpp"
#include "mgvae/models/mgn/coarsen.hpp"
#include "mgvae/models/mgn/second_order.hpp"
#include "mgvae/models/mgvae/common.hpp"
#include "mgvae/nn/linear.hpp"
#include "mgvae/ops/equivariant.hpp"
#include "mgvae/ops/gaussian.hpp"
#include "mgvae/ops/indexing.hpp"
#include "mgvae/ops/loss.hpp"
#include "mgvae/ops/softmax.hpp"

namespace mgvae::models {

/// Row (g, j, i) of every pair row (g, i, j) of a ragged batch.
inline std::vector<std::int64_t> pair_transpose_rows(const RaggedBatch& b) {
  std::vector<std::int64_t> t(static_cast<std::size_t>(b.pairs()));
  for (std::int64_t g = 0; g < b.graphs(); ++g) {
    const std::int64_t n = b.size(g), o = b.pair_off[static_cast<std::size_t>(g)];
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < n; ++j) t[static_cast<std::size_t>(o + i * n + j)] = o + j * n + i;
  }
  return t;
}

/// The ragged adjacency [Σ n_g², 1] (0/1, symmetric) of a list of graphs, and its batch.
/// @throw std::invalid_argument from RaggedBatch::from_sizes (negative size).
template <class T>
std::pair<RaggedBatch, Tensor<T>> ragged_adjacency(const std::vector<Graph>& graphs) {
  std::vector<std::int64_t> sizes;
  for (const Graph& g : graphs) sizes.push_back(g.n);
  RaggedBatch b = RaggedBatch::from_sizes(sizes);
  Tensor<T> a = Tensor<T>::zeros(Shape{b.pairs(), 1});
  for (std::size_t g = 0; g < graphs.size(); ++g) {
    const std::int64_t n = graphs[g].n, o = b.pair_off[g];
    for (const auto& [u, v] : graphs[g].edges) {
      a.data()[o + u * n + v] = T(1);
      a.data()[o + v * n + u] = T(1);
    }
  }
  return {std::move(b), std::move(a)};
}

/// Second-order decoder p(A | Z): z [N, d] → symmetric pair logits [P, E] (see the file comment).
template <class T>
class SecondOrderPairDecoder : public nn::Module<T> {
 public:
  /// @throw std::invalid_argument if a size is not positive or layers < 0.
  SecondOrderPairDecoder(std::int64_t latent, std::int64_t hidden, std::int64_t out, int layers, CounterRng& rng) {
    check_arg(latent >= 1, "SecondOrderPairDecoder", "latent", "must be >= 1");
    check_arg(hidden >= 1, "SecondOrderPairDecoder", "hidden", "must be >= 1");
    check_arg(out >= 1, "SecondOrderPairDecoder", "out", "must be >= 1");
    check_arg(layers >= 0, "SecondOrderPairDecoder", "layers", "must be >= 0");
    in_ = this->register_module("in", std::make_shared<nn::Linear<T>>(6 * latent, hidden, rng));
    for (int l = 0; l < layers; ++l)
      layers_.push_back(
          this->register_module("layer" + std::to_string(l), std::make_shared<nn::Linear<T>>(15 * hidden, hidden, rng)));
    out_ = this->register_module("out", std::make_shared<nn::Linear<T>>(hidden, out, rng));
  }
  /// z [N, d] → logits [P, E] with logits(g, i, j) = logits(g, j, i).
  /// @throw std::invalid_argument (from the ops) if z does not have N rows and d columns.
  Var<T> forward(const RaggedBatch& b, const Var<T>& z) const {
    Var<T> h = relu(in_->forward(concat<T>({outer_product(b, z), equivariant_1to2(b, z, true)}, 1)));  // [P, h]
    for (const auto& l : layers_) h = relu(l->forward(equivariant_2to2(b, h, true)));
    const Var<T> o = out_->forward(h);                                                        // [P, E]
    return mul_scalar(add(o, index_select(o, 0, pair_transpose_rows(b))), T(0.5));
  }

 private:
  std::shared_ptr<nn::Linear<T>> in_, out_;
  std::vector<std::shared_ptr<nn::Linear<T>>> layers_;
};

/// Second-order clustering network: p̃ = W_k 2→1(SecondOrderLayer(A, 1→2(Z))) [N, K].
template <class T>
class SecondOrderClustering : public nn::Module<T> {
 public:
  SecondOrderClustering(std::int64_t edge_channels, std::int64_t latent, std::int64_t hidden, std::int64_t k,
                        CounterRng& rng, bool bounded = true)
      : k_(k), bounded_(bounded) {
    check_arg(k >= 1, "SecondOrderClustering", "k", "must be >= 1");
    layer_ = this->register_module(
        "layer", std::make_shared<SecondOrderLayer<T>>(edge_channels, 5 * latent, hidden, rng, Activation::Relu));
    out_ = this->register_module("out", std::make_shared<nn::Linear<T>>(5 * hidden, k, rng));
  }
  /// Logits [N, K] for the batch (A [P, E], Z [N, d]).
  Var<T> logits(const RaggedBatch& b, const Var<T>& A, const Var<T>& Z) const {
    const Var<T> h = layer_->forward(b, A, equivariant_1to2(b, Z, true));
    const Var<T> l = out_->forward(equivariant_2to1(b, h, true));
    return bounded_ ? tanh(l) : l;
  }
  std::int64_t k() const noexcept { return k_; }

 private:
  std::int64_t k_;
  bool bounded_;
  std::shared_ptr<SecondOrderLayer<T>> layer_;
  std::shared_ptr<nn::Linear<T>> out_;
};

/// Learnable parts of level step s of the second-order model: clustering of G_s (learned only),
/// encoder of G_{s+1}, local decoder of G_s's clusters, global decoder of G_{s+1} (all but the top).
template <class T>
class Mgvae2LevelModules : public nn::Module<T> {
 public:
  Mgvae2LevelModules(const MgvaeConfig& cfg, std::int64_t k, bool has_global, CounterRng& rng) {
    const std::int64_t h = cfg.hidden.back(), d = cfg.latent, E = cfg.edge_channels;
    if (cfg.clustering == ClusteringKind::Learned)
      cluster_ = this->register_module(
          "cluster", std::make_shared<SecondOrderClustering<T>>(E, d, cfg.cluster_hidden, k, rng, cfg.bounded_cluster_logits));
    encoder_ = this->register_module(
        "encoder", std::make_shared<SecondOrderEncoder<T>>(E, d, h, d, cfg.order2_layers, rng, static_cast<T>(cfg.order2_jitter)));
    local_ = this->register_module("local",
                                   std::make_shared<SecondOrderPairDecoder<T>>(d, h, E, cfg.order2_decoder_layers, rng));
    if (has_global)
      global_ = this->register_module("global",
                                      std::make_shared<SecondOrderPairDecoder<T>>(d, h, E, cfg.order2_decoder_layers, rng));
  }
  const SecondOrderClustering<T>& clustering() const { return *cluster_; }
  const SecondOrderEncoder<T>& encoder() const { return *encoder_; }
  const SecondOrderPairDecoder<T>& local() const { return *local_; }
  const SecondOrderPairDecoder<T>& global() const { return *global_; }

 private:
  std::shared_ptr<SecondOrderClustering<T>> cluster_;
  std::shared_ptr<SecondOrderEncoder<T>> encoder_;
  std::shared_ptr<SecondOrderPairDecoder<T>> local_, global_;
};

/// Level step s of a second-order forward pass (G_s → G_{s+1}).
template <class T>
struct Mgvae2Level {
  RaggedBatch batch;          ///< G_{s+1}: B graphs of K_s nodes
  Clustering<T> clustering;   ///< Π_s [N_s, K_s] over the whole batch (graph g's rows contiguous)
  Var<T> coarse_adj;          ///< A_{s+1} = Π_sᵀ A_s Π_s  [B·K_s², E]
  Var<T> adj_in;              ///< κ A_{s+1}: what the encoder and the next clustering read
  Var<T> pooled;              ///< X_{s+1} [B·K_s, d]
  SecondOrderPosterior<T> post;
  Var<T> z;                   ///< Z_{s+1} [B·K_s, d]
};

template <class T>
struct Mgvae2Output {
  RaggedBatch batch;                ///< G_0
  Var<T> adj;                       ///< A_0 [P, E]
  SecondOrderPosterior<T> base;     ///< q(Z_0): μ [N, d], L_g [d, n_g, n_g]
  Var<T> z;                         ///< Z_0 [N, d]
  Var<T> logits;                    ///< finest decoder [P, E]
  std::vector<Mgvae2Level<T>> levels;
};

/// Second-order MGVAE (see the file comment).
template <class T>
class Mgvae<T, 2> : public nn::Module<T> {
 public:
  /// `num_nodes` fixes the level schedule check (K^L ≤ num_nodes) and the graph size of the
  /// single-graph interface; batches may hold graphs of any size in [1, max_graph_nodes].
  /// @throw std::invalid_argument for invalid sizes or K^L > num_nodes; std::length_error if
  ///        num_nodes exceeds cfg.max_graph_nodes.
  Mgvae(const MgvaeConfig& cfg, std::int64_t num_nodes, CounterRng& rng)
      : cfg_(cfg), n_(num_nodes), noise_(rng.split(kMgvaeNoiseStream)) {
    constexpr const char* fn = "Mgvae<T, 2>";
    check_arg(cfg.in_features >= 1, fn, "cfg.in_features", "must be >= 1");
    check_arg(cfg.latent >= 1, fn, "cfg.latent", "must be >= 1");
    check_arg(!cfg.hidden.empty() && cfg.hidden.back() >= 1, fn, "cfg.hidden", "must end in a positive width");
    check_arg(cfg.edge_channels >= 1, fn, "cfg.edge_channels", "must be >= 1");
    check_arg(cfg.order2_layers >= 1, fn, "cfg.order2_layers", "must be >= 1");
    check_arg(cfg.order2_decoder_layers >= 0, fn, "cfg.order2_decoder_layers", "must be >= 0");
    check_arg(cfg.cluster_hidden >= 1, fn, "cfg.cluster_hidden", "must be >= 1");
    check_arg(cfg.max_graph_nodes >= 1, fn, "cfg.max_graph_nodes", "must be >= 1");
    check_arg(cfg.tau > 0, fn, "cfg.tau", "must be > 0");
    check_arg(cfg.cluster_logit_scale == 1.0, fn, "cfg.cluster_logit_scale", "is a first-order option; must be 1");
    check_arg(num_nodes >= 1, fn, "num_nodes", "must be >= 1");
    check_size(fn, num_nodes);
    sizes_ = level_sizes(num_nodes, cfg.levels, cfg.clusters_per_level);
    const std::int64_t h = cfg.hidden.back();
    base_ = this->register_module("base", std::make_shared<SecondOrderEncoder<T>>(
                                              cfg.edge_channels, cfg.in_features, h, cfg.latent, cfg.order2_layers, rng,
                                              static_cast<T>(cfg.order2_jitter)));
    dec_ = this->register_module("decoder", std::make_shared<SecondOrderPairDecoder<T>>(cfg.latent, h, cfg.edge_channels,
                                                                                        cfg.order2_decoder_layers, rng));
    for (std::size_t s = 0; s < sizes_.size(); ++s)
      levels_.push_back(this->register_module(
          "level" + std::to_string(s), std::make_shared<Mgvae2LevelModules<T>>(cfg, sizes_[s], s + 1 < sizes_.size(), rng)));
  }

  const MgvaeConfig& config() const { return cfg_; }
  /// K_s for s = 0 … L.
  const std::vector<std::int64_t>& sizes() const { return sizes_; }
  std::int64_t num_nodes() const { return n_; }

  /// Fixed hierarchy labels of the single graph (as Mgvae<T, 1>); used when the batch is that one graph.
  /// @throw std::invalid_argument on a size mismatch.
  void set_fixed_hierarchy(std::vector<std::vector<std::int64_t>> labels) {
    if (labels.size() != sizes_.size())
      throw_invalid("Mgvae<T, 2>::set_fixed_hierarchy", "got " + std::to_string(labels.size()) + " partitions, the model has " +
                                                            std::to_string(sizes_.size()) + " levels (one partition per level)");
    std::int64_t n = n_;
    for (std::size_t s = 0; s < labels.size(); ++s) {
      if (static_cast<std::int64_t>(labels[s].size()) != n)
        throw_invalid("Mgvae<T, 2>::set_fixed_hierarchy", "level " + std::to_string(s) + " has " +
                                                              std::to_string(labels[s].size()) + " labels for " +
                                                              std::to_string(n) + " nodes");
      n = sizes_[s];
    }
    fixed_ = std::move(labels);
  }

  /// Noise of one training step for the single graph of `num_nodes()` nodes.
  MgvaeNoise<T> draw_noise(const CounterRng& rng) const { return draw_noise(RaggedBatch::from_sizes({n_}), rng); }
  /// Noise for a batch: eps0 [N, d], gumbel[s] [N_s, K_s] (N_0 = N, N_s = B·K_{s−1}), eps[s] [B·K_s, d],
  /// every entry indexed by (row, column) so that it can be permuted with the nodes.
  MgvaeNoise<T> draw_noise(const RaggedBatch& b, const CounterRng& rng) const {
    MgvaeNoise<T> z;
    z.eps0 = normal_noise<T>(b.nodes(), cfg_.latent, rng.split(0));
    std::int64_t rows = b.nodes();
    for (std::size_t s = 0; s < sizes_.size(); ++s) {
      z.gumbel.push_back(gumbel_noise<T>(rows, sizes_[s], rng.split(1000 + s)));
      rows = b.graphs() * sizes_[s];
      z.eps.push_back(normal_noise<T>(rows, cfg_.latent, rng.split(2000 + s)));
    }
    return z;
  }

  /// Forward passes in the module's mode (as Mgvae<T, 1>::forward(in)): in training mode (the
  /// default) with fresh noise drawn from the model's NoiseSource (set_noise_rng), after eval()
  /// deterministic, the same as passing MgvaeNoise<T>{}.
  /// @throw as the explicit-noise overloads.
  Mgvae2Output<T> forward(const MgvaeInput<T>& in) const {
    return this->is_training() ? forward(in, draw_noise(noise_.next())) : forward(in, MgvaeNoise<T>{});
  }
  Mgvae2Output<T> forward(const RaggedBatch& b, const Var<T>& A, const Var<T>& X) const {
    return this->is_training() ? forward(b, A, X, draw_noise(b, noise_.next())) : forward(b, A, X, MgvaeNoise<T>{});
  }

  /// Restarts the noise of the mode-driven forward: draw k uses draw_noise(…, rng.split(k)).
  /// By default rng is the construction generator's split(kMgvaeNoiseStream).
  void set_noise_rng(const CounterRng& rng) { noise_.reset(rng); }

  /// Single-graph interface of Mgvae<T, 1>: A = *in.adj (raw, symmetric; `adj_norm` is not used, the
  /// second-order layers normalise by 1/n), X = in.x (dense or sparse). Requires edge_channels = 1.
  /// @throw std::invalid_argument if the adjacency is missing or its size differs from num_nodes().
  Mgvae2Output<T> forward(const MgvaeInput<T>& in, const MgvaeNoise<T>& noise) const {
    constexpr const char* fn = "Mgvae<T, 2>::forward";
    if (in.adj == nullptr) throw_invalid(fn, "adjacency missing");
    if (in.adj->rows != n_ || in.adj->cols != n_)
      throw_invalid(fn, "graph has " + std::to_string(in.adj->rows) + " nodes (adjacency " + std::to_string(in.adj->rows) +
                            " x " + std::to_string(in.adj->cols) + "), the model was built for " + std::to_string(n_));
    check_arg(cfg_.edge_channels == 1, fn, "in.adj", "is one channel but the model has edge_channels != 1");
    const RaggedBatch b = RaggedBatch::from_sizes({n_});
    Tensor<T> a = Tensor<T>::zeros(Shape{n_ * n_, 1});
    for (std::int64_t u = 0; u < n_; ++u)
      for (std::int64_t k = in.adj->row_ptr[static_cast<std::size_t>(u)]; k < in.adj->row_ptr[static_cast<std::size_t>(u + 1)]; ++k)
        a.data()[u * n_ + in.adj->col[static_cast<std::size_t>(k)]] = in.adj->val[static_cast<std::size_t>(k)];
    const Var<T> x = in.x.sparse ? constant(in.x.sparse->to_dense()) : in.x.dense;
    return forward(b, constant(a), x, noise);
  }

  /// Batched forward: A [Σ n_g², E] (symmetric per graph and channel), X [N, F].
  /// @throw std::invalid_argument for an empty batch or graph, mismatched shapes or noise;
  ///        std::length_error for a graph with more than cfg.max_graph_nodes nodes.
  Mgvae2Output<T> forward(const RaggedBatch& b, const Var<T>& A, const Var<T>& X, const MgvaeNoise<T>& noise) const {
    constexpr const char* fn = "Mgvae<T, 2>::forward";
    b.validate(fn);
    check_arg(b.graphs() >= 1, fn, "batch", "has no graph");
    for (std::int64_t g = 0; g < b.graphs(); ++g) {
      check_arg(b.size(g) >= 1, fn, "batch", "graph " + std::to_string(g) + " is empty");
      check_size(fn, b.size(g), g);
    }
    const std::int64_t B = b.graphs(), d = cfg_.latent, E = cfg_.edge_channels;
    check_arg(A.shape() == Shape{b.pairs(), E}, fn, "A",
              "must be [P, E] = " + shape_str(Shape{b.pairs(), E}) + ", got " + shape_str(A.shape()));
    check_arg(X.shape() == Shape{b.nodes(), cfg_.in_features}, fn, "X",
              "must be [N, F] = " + shape_str(Shape{b.nodes(), cfg_.in_features}) + ", got " + shape_str(X.shape()));
    const bool train = noise.training();
    if (train) {
      check_arg(noise.gumbel.size() == sizes_.size() && noise.eps.size() == sizes_.size(), fn, "noise",
                "needs one gumbel and one eps tensor per level (" + std::to_string(sizes_.size()) + "), got " +
                    std::to_string(noise.gumbel.size()) + " and " + std::to_string(noise.eps.size()));
      std::int64_t rows = b.nodes();
      for (std::size_t s = 0; s < sizes_.size(); ++s) {
        check_arg(noise.gumbel[s].shape() == Shape{rows, sizes_[s]}, fn, "noise.gumbel",
                  "level " + std::to_string(s) + " must be " + shape_str(Shape{rows, sizes_[s]}) + ", got " +
                      shape_str(noise.gumbel[s].shape()));
        rows = B * sizes_[s];
        check_arg(noise.eps[s].shape() == Shape{rows, d}, fn, "noise.eps",
                  "level " + std::to_string(s) + " must be " + shape_str(Shape{rows, d}) + ", got " +
                      shape_str(noise.eps[s].shape()));
      }
    }
    // κ_g = 1 / max(1, Σ A_{0,g}): coarse adjacencies are scaled by K_s κ_g (see the file comment)
    std::vector<T> inv_total(static_cast<std::size_t>(B));
    {
      const Tensor<T> av = A.value().contiguous();
      for (std::int64_t g = 0; g < B; ++g) {
        T tot = 0;
        for (std::int64_t k = b.pair_off[g] * E; k < b.pair_off[g + 1] * E; ++k) tot += av.data()[k];
        inv_total[static_cast<std::size_t>(g)] = T(1) / std::max(tot, T(1));
      }
    }

    Mgvae2Output<T> out;
    out.batch = b;
    out.adj = A;
    out.base = base_->forward(b, A, X);
    out.z = train ? base_->sample(b, out.base, noise.eps0) : out.base.mu;
    out.logits = dec_->forward(b, out.z);
    Var<T> z = scale_gradient(out.z, static_cast<T>(cfg_.hierarchy_grad));
    Var<T> a_in = A, a_raw = A;  // what the level modules read / the raw counts Π…ᵀ A Π…
    RaggedBatch bs = b;
    for (std::size_t s = 0; s < sizes_.size(); ++s) {
      const Mgvae2LevelModules<T>& M = *levels_[s];
      const std::int64_t K = sizes_[s];
      Mgvae2Level<T> lv;
      if (cfg_.clustering == ClusteringKind::Learned) {
        lv.clustering = assign(M.clustering().logits(bs, a_in, z), train ? noise.gumbel[s] : Tensor<T>());
      } else {
        if (fixed_.empty()) throw_invalid(fn, "fixed clustering requested but no hierarchy set");
        check_arg(B == 1 && b.size(0) == n_, fn, "batch",
                  "has " + std::to_string(B) + " graph(s) (first: " + std::to_string(b.size(0)) + " nodes); a fixed hierarchy "
                  "applies to one graph of num_nodes() = " + std::to_string(n_) + " nodes");
        lv.clustering = fixed_clustering<T>(fixed_[s], K);
      }
      std::vector<Var<T>> ablocks, xblocks;
      Tensor<T> kappa(Shape{B * K * K, 1});
      for (std::int64_t g = 0; g < B; ++g) {
        const Var<T> P = slice(lv.clustering.pi, 0, bs.node_off[g], bs.node_off[g + 1]);  // [n, K]
        ablocks.push_back(coarsen_pairs(slice(a_raw, 0, bs.pair_off[g], bs.pair_off[g + 1]), P));  // [K², E] Πᵀ A Π
        xblocks.push_back(pool(P, slice(z, 0, bs.node_off[g], bs.node_off[g + 1]), cfg_.pooling));
        for (std::int64_t r = 0; r < K * K; ++r)
          kappa.data()[g * K * K + r] = static_cast<T>(K) * inv_total[static_cast<std::size_t>(g)];
      }
      lv.batch = RaggedBatch::from_sizes(std::vector<std::int64_t>(static_cast<std::size_t>(B), K));
      lv.coarse_adj = concat<T>(ablocks, 0);
      lv.adj_in = mul(lv.coarse_adj, constant(kappa));
      lv.pooled = concat<T>(xblocks, 0);
      lv.post = M.encoder().forward(lv.batch, lv.adj_in, lv.pooled);
      lv.z = train ? M.encoder().sample(lv.batch, lv.post, noise.eps[s]) : lv.post.mu;
      a_raw = lv.coarse_adj;
      a_in = lv.adj_in;
      z = lv.z;
      bs = lv.batch;
      out.levels.push_back(std::move(lv));
    }
    return out;
  }

  /// All ELBO terms of a batched forward; recon_global uses the VGAE weighting of every graph.
  LossTerms<T> loss(const Mgvae2Output<T>& o) const {
    LossTerms<T> t;
    t.add("recon_global", global_recon(o));
    hierarchy_terms(o, t);
    return t;
  }

  /// Single-graph loss with the finest target of Mgvae<T, 1>: dense (norm · mean BCE_pw over all n²
  /// logits against A + I, the target's pos_weight and norm) or sampled pairs (mean BCE).
  /// @throw std::invalid_argument without a target or for a batch that is not one graph of one channel.
  LossTerms<T> loss(const Mgvae2Output<T>& o, const MgvaeInput<T>& in, const FinestTarget<T>& target) const {
    constexpr const char* fn = "Mgvae<T, 2>::loss";
    (void)in;
    check_arg(o.batch.graphs() == 1 && o.logits.size(1) == 1, fn, "o",
              "must be the output of a single one-channel graph, got " + std::to_string(o.batch.graphs()) + " graph(s) and " +
                  std::to_string(o.logits.size(1)) + " channel(s)");
    const std::int64_t n = o.batch.size(0);
    LossTerms<T> t;
    if (target.dense) {
      const DenseReconTarget<T>& dt = *target.dense;
      check_arg(dt.adj.rows == n, fn, "target", "has " + std::to_string(dt.adj.rows) + " nodes, the graph " + std::to_string(n));
      Tensor<T> y = Tensor<T>::zeros(Shape{n * n, 1});
      for (std::int64_t u = 0; u < n; ++u) {
        y.data()[u * n + u] = T(1);
        for (std::int64_t k = dt.adj.row_ptr[static_cast<std::size_t>(u)]; k < dt.adj.row_ptr[static_cast<std::size_t>(u + 1)]; ++k)
          y.data()[u * n + dt.adj.col[static_cast<std::size_t>(k)]] = T(1);
      }
      const T scale = dt.norm / static_cast<T>(n * n);
      t.add("recon_global", weighted_bce_sum(o.logits, y, Tensor<T>::full(y.shape(), dt.pos_weight), Tensor<T>::full(y.shape(), scale)));
    } else if (target.pos && target.neg) {
      std::vector<std::int64_t> rows;
      for (const auto& [u, v] : *target.pos) rows.push_back(u * n + v);
      for (const auto& [u, v] : *target.neg) rows.push_back(u * n + v);
      Tensor<T> y = Tensor<T>::zeros(Shape{static_cast<std::int64_t>(rows.size())});
      for (std::size_t i = 0; i < target.pos->size(); ++i) y.data()[i] = T(1);
      t.add("recon_global", bce_with_logits(reshape(index_select(o.logits, 0, rows), y.shape()), constant(y)));
    } else {
      throw_invalid(fn, "no finest-level target");
    }
    hierarchy_terms(o, t);
    return t;
  }

 private:
  void check_size(const char* fn, std::int64_t n, std::int64_t graph = -1) const {
    if (n > cfg_.max_graph_nodes)
      throw std::length_error(std::string(fn) + ": " + (graph >= 0 ? "graph " + std::to_string(graph) + " has " : "") +
                              std::to_string(n) + " nodes, more than max_graph_nodes = " + std::to_string(cfg_.max_graph_nodes) +
                              " (second-order tensors are n² per graph, O(n³) per layer: use Mgvae<T, 1> for large graphs)");
  }

  /// Π from logits [N, K] and Gumbel noise (undefined: evaluation): straight-through or relaxed.
  Clustering<T> assign(const Var<T>& logits, const Tensor<T>& gumbel) const {
    return straight_through_gumbel(logits, gumbel, static_cast<T>(cfg_.tau), cfg_.straight_through);
  }

  /// Σ scale · BCE_wpos(x, y) with an elementwise positive weight (ops/loss.hpp weighted_bce_with_logits).
  static Var<T> weighted_bce_sum(const Var<T>& x, const Tensor<T>& y, const Tensor<T>& wpos, const Tensor<T>& scale) {
    return sum(weighted_bce_with_logits(x, y, wpos, &scale));
  }

  /// mean_g norm_g · mean_{ij,e} BCE_pw_g(logits, A + I).
  Var<T> global_recon(const Mgvae2Output<T>& o) const {
    const RaggedBatch& b = o.batch;
    const std::int64_t E = o.logits.size(1), B = b.graphs();
    const Tensor<T> av = o.adj.value().contiguous();
    Tensor<T> y(Shape{b.pairs(), E}), w(y.shape()), sc(y.shape());
    for (std::int64_t g = 0; g < B; ++g) {
      const std::int64_t n = b.size(g), off = b.pair_off[g];
      double s = 0;
      for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = 0; j < n; ++j)
          for (std::int64_t e = 0; e < E; ++e) {
            const std::int64_t k = (off + i * n + j) * E + e;
            y.data()[k] = i == j ? T(1) : av.data()[k];
            if (i != j) s += static_cast<double>(av.data()[k]);
          }
      const double nn = static_cast<double>(n * n * E);
      const double pw = s > 0 ? (nn - s) / s : 1.0, norm = nn / (2.0 * (nn - s));
      for (std::int64_t k = off * E; k < (off + n * n) * E; ++k) {
        w.data()[k] = static_cast<T>(pw);
        sc.data()[k] = static_cast<T>(norm / nn / static_cast<double>(B));
      }
    }
    return weighted_bce_sum(o.logits, y, w, sc);
  }

  /// w_kl · mean_g Σ_c KL(N(μ_gc, L L ᵀ + εI) ‖ N(0, (1 + ε) I)) / n_g².
  Var<T> kl_term(const RaggedBatch& b, const SecondOrderPosterior<T>& post) const {
    Var<T> total;
    const T jitter = static_cast<T>(cfg_.order2_jitter);
    for (std::int64_t g = 0; g < b.graphs(); ++g) {
      const std::int64_t n = b.size(g);
      const Var<T> mu_g = transpose(slice(post.mu, 0, b.node_off[g], b.node_off[g + 1]), 0, 1);  // [d, n]
      Tensor<T> eye = Tensor<T>::zeros(Shape{1, n, n});
      for (std::int64_t i = 0; i < n; ++i) eye.data()[i * n + i] = T(1);
      const Var<T> kl = mul_scalar(sum(gaussian_kl(mu_g, post.L[static_cast<std::size_t>(g)],
                                                   constant(Tensor<T>::zeros(Shape{1, n})), constant(eye), jitter)),
                                   T(1) / static_cast<T>(n * n));
      total = total.defined() ? add(total, kl) : kl;
    }
    return mul_scalar(total, static_cast<T>(cfg_.w_kl / static_cast<double>(b.graphs())));
  }

  /// A / max A per graph (all channels), detached; zeros for an edgeless graph.
  static Tensor<T> scaled_per_graph(const RaggedBatch& b, const Tensor<T>& a) {
    Tensor<T> c = a.contiguous().clone();
    const std::int64_t E = c.size(1);
    for (std::int64_t g = 0; g < b.graphs(); ++g) {
      T m = 0;
      for (std::int64_t k = b.pair_off[g] * E; k < b.pair_off[g + 1] * E; ++k) m = std::max(m, c.data()[k]);
      if (m > 0)
        for (std::int64_t k = b.pair_off[g] * E; k < b.pair_off[g + 1] * E; ++k) c.data()[k] /= m;
    }
    return c;
  }

  /// Local decoders of the clusters of G_s (batch `bs`, latents `zs`, targets `tgt` [P_s, E]).
  Var<T> local_recon(const SecondOrderPairDecoder<T>& dec, const RaggedBatch& bs, const Var<T>& zs, const Tensor<T>& tgt,
                     const Clustering<T>& c) const {
    const std::int64_t K = c.k, E = tgt.size(1);
    std::vector<std::int64_t> sizes, rows;
    for (std::int64_t g = 0; g < bs.graphs(); ++g) {
      std::vector<std::vector<std::int64_t>> members(static_cast<std::size_t>(K));
      for (std::int64_t i = bs.node_off[g]; i < bs.node_off[g + 1]; ++i)
        members[static_cast<std::size_t>(c.labels[static_cast<std::size_t>(i)])].push_back(i);
      for (const auto& m : members)
        if (m.size() >= 2) {
          sizes.push_back(static_cast<std::int64_t>(m.size()));
          rows.insert(rows.end(), m.begin(), m.end());
        }
    }
    if (sizes.empty()) return Var<T>();
    const RaggedBatch cb = RaggedBatch::from_sizes(sizes);
    const Var<T> logits = dec.forward(cb, index_select(zs, 0, rows));  // [Σ m², E]
    // ordered pairs u ≠ v of every cluster, as (row of the cluster batch, global nodes)
    std::vector<std::int64_t> sel;
    std::vector<std::pair<std::int64_t, std::int64_t>> pairs;
    const Tensor<T> tv = tgt.contiguous();
    std::vector<T> y;
    double s = 0;
    for (std::int64_t q = 0; q < cb.graphs(); ++q) {
      const std::int64_t m = cb.size(q), no = cb.node_off[q], po = cb.pair_off[q];
      for (std::int64_t i = 0; i < m; ++i)
        for (std::int64_t j = 0; j < m; ++j) {
          if (i == j) continue;
          const std::int64_t u = rows[static_cast<std::size_t>(no + i)], v = rows[static_cast<std::size_t>(no + j)];
          sel.push_back(po + i * m + j);
          pairs.emplace_back(u, v);
          const std::int64_t g = graph_of(bs, u);
          const std::int64_t n = bs.size(g), lu = u - bs.node_off[g], lv = v - bs.node_off[g];
          for (std::int64_t e = 0; e < E; ++e) {
            y.push_back(tv.data()[(bs.pair_off[g] + lu * n + lv) * E + e]);
            s += static_cast<double>(y.back());
          }
        }
    }
    const auto M = static_cast<std::int64_t>(pairs.size());
    Tensor<T> yt(Shape{M, E});
    std::copy(y.begin(), y.end(), yt.data());
    const double tot = static_cast<double>(M * E);
    const T pw = static_cast<T>(s > 0 ? std::max(1.0, (tot - s) / s) : 1.0);
    const Var<T> x = index_select(logits, 0, sel);  // [M, E]
    Var<T> l = weighted_bce_with_logits(x, yt, pw);  // [M, E]
    if (cfg_.local_grad_to_clustering && c.pi.requires_grad()) l = mul(l, reshape(pair_dot(c.pi, pairs), Shape{M, 1}));
    return mean(l);
  }
  static std::int64_t graph_of(const RaggedBatch& b, std::int64_t node) {
    return static_cast<std::int64_t>(std::upper_bound(b.node_off.begin(), b.node_off.end(), node) - b.node_off.begin()) - 1;
  }

  /// KL(P ‖ U_K) per graph, mean over graphs (straight-through or, relaxed, the soft P = mean Π).
  Var<T> balance(const RaggedBatch& bs, const Clustering<T>& c) const {
    Var<T> total;
    for (std::int64_t g = 0; g < bs.graphs(); ++g) {
      const std::int64_t lo = bs.node_off[g], hi = bs.node_off[g + 1];
      Var<T> kb;
      if (!cfg_.straight_through && c.probs.defined()) {
        kb = mgvae::balanced_cut_kl(slice(c.pi, 0, lo, hi), BalancedCutForm::ZeroOffset);  // soft P > 0: offset 0
      } else {
        Clustering<T> cg;
        cg.k = c.k;
        cg.labels.assign(c.labels.begin() + lo, c.labels.begin() + hi);
        cg.pi = slice(c.pi, 0, lo, hi);
        if (c.probs.defined()) cg.probs = slice(c.probs, 0, lo, hi);
        kb = balanced_cut_kl(cg);
      }
      total = total.defined() ? add(total, kb) : kb;
    }
    return mul_scalar(total, T(1) / static_cast<T>(bs.graphs()));
  }

  void hierarchy_terms(const Mgvae2Output<T>& o, LossTerms<T>& t) const {
    t.add("kl[0]", kl_term(o.batch, o.base));
    for (std::size_t s = 0; s < o.levels.size(); ++s) {
      const Mgvae2Level<T>& lv = o.levels[s];
      const std::string idx = "[" + std::to_string(s) + "]";
      const RaggedBatch& bs = s == 0 ? o.batch : o.levels[s - 1].batch;
      const Var<T>& zs = s == 0 ? o.z : o.levels[s - 1].z;
      if (cfg_.w_local > 0) {
        const Tensor<T> tgt = s == 0 ? o.adj.value() : scaled_per_graph(bs, o.levels[s - 1].coarse_adj.value());
        const Var<T> l = local_recon(levels_[s]->local(), bs, zs, tgt, lv.clustering);
        if (l.defined()) t.add("recon_local" + idx, mul_scalar(l, static_cast<T>(cfg_.w_local)));
      }
      if (cfg_.w_coarse > 0 && s > 0) {
        const Tensor<T> tgt = scaled_per_graph(bs, o.levels[s - 1].coarse_adj.value());
        const Var<T> pred = sigmoid(levels_[s - 1]->global().forward(bs, zs));
        t.add("recon_coarse" + idx, mul_scalar(mse(pred, constant(tgt)), static_cast<T>(cfg_.w_coarse)));
      }
      t.add("kl[" + std::to_string(s + 1) + "]", kl_term(lv.batch, lv.post));
      if (lv.clustering.k > 1) {
        const Var<T> b = balance(bs, lv.clustering);
        t.add("balance" + idx, lv.clustering.probs.defined() ? mul_scalar(b, static_cast<T>(cfg_.w_balance)) : b);
      }
    }
  }

  MgvaeConfig cfg_;
  std::int64_t n_;
  NoiseSource noise_;
  std::vector<std::int64_t> sizes_;
  std::shared_ptr<SecondOrderEncoder<T>> base_;
  std::shared_ptr<SecondOrderPairDecoder<T>> dec_;
  std::vector<std::shared_ptr<Mgvae2LevelModules<T>>> levels_;
  std::vector<std::vector<std::int64_t>> fixed_;
};

}  // namespace mgvae::models
