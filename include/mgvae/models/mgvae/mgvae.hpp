#pragma once
/// @file mgvae.hpp
/// Multiresolution Graph VAE, `Mgvae<T, Order>` (paper §4, Eq. 7–9): the loop over the MGN levels
/// `MgnLevel<T, Order>` (mgn/level.hpp) and the hierarchical ELBO, once for both tensor orders.
///   Order 1: one large graph, GCN encoders, dot-product decoders (the citation model of §5.1,
///            App. D.1).
///   Order 2: ragged batches of small graphs (molecules, community graphs), second-order encoders
///            with Σ = LLᵀ + εI and second-order equivariant decoders (§3.2 Eq. 3, App. B).
///
/// Forward (bottom-up, Eq. 8), every level on the whole batch:
///   (q(Z_0), Z_0) = encoder(A_0, X)                  Order 2 also: finest logits = decoder(Z_0)
///   for s = 0 … L (K_s = K^(L−s) clusters per graph):
///     Π_s = c_s(A_s, Z_s)                             learned (Gumbel straight-through) or fixed
///     A_{s+1} = Π_sᵀ A_s Π_s,  X_{s+1} = pool(Π_s, Z_s)
///     (q(Z_{s+1}), Z_{s+1}) = encoder_s(A_{s+1}, X_{s+1})
///   The levels above a level read its latents Z_s through a gradient scale cfg.hierarchy_grad
///   (default 0, a stop-gradient): each level's encoder learns from its own terms (its KL, its
///   clusters' local decoders, its global decoder), not from the clustering and pooling above it.
/// Loss = −ELBO (Eq. 9) + balanced cut, every term kept by name (LossTerms), in this order:
///   recon_global      finest decoder. Order 1: VGAE BCE of ⟨z_u, z_v⟩ (dense n×n, or sampled
///                     pairs). Order 2: per graph norm_g · mean_{ij,e} BCE_pw_g(logits, A + I) with
///                     pw_g = (n²E − ΣA)/ΣA, norm_g = n²E / (2(n²E − ΣA)); mean over graphs
///   kl[0]             w_kl · KL(q(Z_0) ‖ prior) (MgnOrder::kl: the VGAE 1/n² scaling)
///   recon_local[s]    w_local · local decoders of the clusters of G_s (intra-cluster pairs only);
///                     targets A_0 (s = 0) or A_s / max A_s per graph (s ≥ 1)
///   recon_coarse[s]   w_coarse · MSE(σ(global decoder of G_s), A_s / max A_s) for s ≥ 1
///   kl[s+1]           w_kl · KL(q(Z_{s+1}) ‖ prior)
///   balance[s]        w_balance · mean_g KL(P_g ‖ U_{K_s}) (learned clustering; logged unweighted for
///                     fixed); P from the Gumbel sample (default), the Eq. 4 argmax, or both (cfg.balance_on)
///   infomax[s]        w_infomax · (KL(p̄_s ‖ U) + mean_i H(p_i)) (learned only; only if w_infomax > 0)
/// Evaluation (`noise` empty, or `forward(in)` after `eval()`): z = μ at every level and
/// Π_s = argmax (Eq. 4). Link prediction scores are ⟨μ_u, μ_v⟩ of the finest level (Order 1).
///
/// Order 2 cost and limits: a graph's second-order tensors have n² rows and a layer costs
/// O(n³ E C) per graph, so a graph with more than `cfg.max_graph_nodes` nodes throws
/// std::length_error; an empty graph or batch std::invalid_argument. Graphs with fewer nodes than
/// K_s leave clusters empty. The input adjacency must be symmetric.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "mgvae/models/mgn/mgn.hpp"
#include "mgvae/models/mgvae/common.hpp"
#include "mgvae/models/mgvae/decoder.hpp"
#include "mgvae/models/mgvae/elbo.hpp"
#include "mgvae/models/mgvae/encoder.hpp"

namespace mgvae::models {

template <class T, int Order>
class Mgvae : public nn::Module<T> {
  static_assert(Order == 1 || Order == 2, "models::Mgvae: Order must be 1 (first-order) or 2 (second-order)");
  static constexpr const char* kName = Order == 1 ? "Mgvae<T, 1>" : "Mgvae<T, 2>";

 public:
  using Level = MgnLevel<T, Order>;
  using Ops = MgnOrder<T, Order>;
  using Output = MgvaeOutput<T, Order>;

  /// `num_nodes`: the graph of the single-graph interface (Order 1: the graph); it fixes the level
  /// schedule check K^L ≤ num_nodes. Order 2 batches may hold graphs of any size in [1, max_graph_nodes].
  /// @throw std::invalid_argument for invalid sizes or K^L > num_nodes; std::length_error (Order 2)
  ///        if num_nodes exceeds cfg.max_graph_nodes.
  Mgvae(const MgvaeConfig& cfg, std::int64_t num_nodes, CounterRng& rng);

  const MgvaeConfig& config() const { return cfg_; }
  /// K_s for s = 0 … L.
  const std::vector<std::int64_t>& sizes() const { return sizes_; }
  std::int64_t num_nodes() const { return n_; }
  /// The MGN level of step s.
  const Level& level(std::size_t s) const { return *levels_.at(s); }

  /// Labels of a fixed hierarchy (graph/spectral.hpp `fixed_hierarchy`) of the single graph:
  /// labels[s] has n_s entries in [0, K_s). Order 2 uses it when the batch is that one graph.
  /// @throw std::invalid_argument on a size mismatch.
  void set_fixed_hierarchy(std::vector<std::vector<std::int64_t>> labels) {
    const std::string fn = std::string(kName) + "::set_fixed_hierarchy";
    if (labels.size() != sizes_.size())
      throw_invalid(fn, "got " + std::to_string(labels.size()) + " partitions, the model has " + std::to_string(sizes_.size()) +
                            " levels (one partition per level)");
    std::int64_t n = n_;
    for (std::size_t s = 0; s < labels.size(); ++s) {
      if (static_cast<std::int64_t>(labels[s].size()) != n)
        throw_invalid(fn, "level " + std::to_string(s) + " has " + std::to_string(labels[s].size()) + " labels for " +
                              std::to_string(n) + " nodes");
      n = sizes_[s];
    }
    fixed_ = std::move(labels);
  }

  /// Noise of one training step for the single graph of `num_nodes()` nodes.
  MgvaeNoise<T> draw_noise(const CounterRng& rng) const { return draw_noise(RaggedBatch::from_sizes({n_}), rng); }
  /// Noise for a batch: eps0 [N, d], gumbel[s] [N_s, K_s] (N_0 = N, N_s = B·K_{s−1}), eps[s] [B·K_s, d].
  /// Every tensor is indexed by (node, channel) so that it can be permuted with the nodes
  /// (see gcn.hpp normal_noise).
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

  /// Forward pass in the module's mode: in training mode (the default; train()) with fresh noise
  /// `draw_noise(g)`, g the next generator of the model's NoiseSource (set_noise_rng); after
  /// eval() deterministic (z = μ, Π = argmax), the same as passing `MgvaeNoise<T>{}`.
  /// @throw as the explicit-noise overloads.
  Output forward(const MgvaeInput<T>& in) const {
    return this->is_training() ? forward(in, draw_noise(noise_.next())) : forward(in, MgvaeNoise<T>{});
  }
  /// Batched forward in the module's mode (Order 2).
  template <int O = Order>
    requires(O == 2)
  Output forward(const RaggedBatch& b, const Var<T>& A, const Var<T>& X) const
  {
    return this->is_training() ? forward(b, A, X, draw_noise(b, noise_.next())) : forward(b, A, X, MgvaeNoise<T>{});
  }

  /// Restarts the noise of the mode-driven forward: draw k uses draw_noise(…, rng.split(k)).
  /// By default rng is the construction generator's split(kMgvaeNoiseStream).
  void set_noise_rng(const CounterRng& rng) { noise_.reset(rng); }

  /// Single-graph forward with explicit noise, whatever the module's mode: `noise` from draw_noise
  /// (a training pass) or empty (evaluation). Order 1 reads Â = *in.adj_norm and A = *in.adj; Order 2
  /// reads A = *in.adj (raw, symmetric; the second-order layers normalise by 1/n) and needs
  /// edge_channels = 1.
  /// @throw std::invalid_argument if the adjacency is missing or its size differs from num_nodes().
  Output forward(const MgvaeInput<T>& in, const MgvaeNoise<T>& noise) const;

  /// Batched forward (Order 2): A [Σ n_g², E] (symmetric per graph and channel), X [N, F].
  /// @throw std::invalid_argument for an empty batch or graph, mismatched shapes or noise;
  ///        std::length_error for a graph with more than cfg.max_graph_nodes nodes.
  template <int O = Order>
    requires(O == 2)
  Output forward(const RaggedBatch& b, const Var<T>& A, const Var<T>& X, const MgvaeNoise<T>& noise) const;

  /// All ELBO terms of a single-graph forward (see the file comment). The finest target is dense
  /// (Order 1: VGAE BCE of ⟨z_u, z_v⟩; Order 2: norm · mean BCE_pw over the n² logits against
  /// A + I, the target's pos_weight and norm) or sampled pairs (mean BCE).
  /// @throw std::invalid_argument without a target, or (Order 2) for an output that is not one
  ///        graph of one channel.
  LossTerms<T> loss(const Output& o, const MgvaeInput<T>& in, const FinestTarget<T>& target) const;

  /// All ELBO terms of a batched forward (Order 2); recon_global uses the VGAE weighting of every graph.
  template <int O = Order>
    requires(O == 2)
  LossTerms<T> loss(const Output& o) const;

 private:
  void check_size(const char* fn, std::int64_t n, std::int64_t graph = -1) const {
    if (n > cfg_.max_graph_nodes)
      throw std::length_error(std::string(fn) + ": " + (graph >= 0 ? "graph " + std::to_string(graph) + " has " : "") +
                              std::to_string(n) + " nodes, more than max_graph_nodes = " + std::to_string(cfg_.max_graph_nodes) +
                              " (second-order tensors are n² per graph, O(n³) per layer: use Mgvae<T, 1> for large graphs)");
  }

  /// Shapes of explicit training noise for the batch b (empty noise: evaluation, nothing to check).
  void check_noise(const std::string& fn, const RaggedBatch& b, const MgvaeNoise<T>& noise) const {
    if (!noise.training()) return;
    const std::int64_t d = cfg_.latent;
    check_arg(noise.eps0.shape() == Shape{b.nodes(), d}, fn.c_str(), "noise.eps0",
              "must be " + shape_str(Shape{b.nodes(), d}) + ", got " + shape_str(noise.eps0.shape()));
    check_arg(noise.gumbel.size() == sizes_.size() && noise.eps.size() == sizes_.size(), fn.c_str(), "noise",
              "needs one gumbel and one eps tensor per level (" + std::to_string(sizes_.size()) + "), got " +
                  std::to_string(noise.gumbel.size()) + " and " + std::to_string(noise.eps.size()));
    std::int64_t rows = b.nodes();
    for (std::size_t s = 0; s < sizes_.size(); ++s) {
      if (cfg_.clustering == ClusteringKind::Learned)
        check_arg(noise.gumbel[s].shape() == Shape{rows, sizes_[s]}, fn.c_str(), "noise.gumbel",
                  "level " + std::to_string(s) + " must be " + shape_str(Shape{rows, sizes_[s]}) + ", got " +
                      shape_str(noise.gumbel[s].shape()));
      rows = b.graphs() * sizes_[s];
      check_arg(noise.eps[s].shape() == Shape{rows, d}, fn.c_str(), "noise.eps",
                "level " + std::to_string(s) + " must be " + shape_str(Shape{rows, d}) + ", got " +
                    shape_str(noise.eps[s].shape()));
    }
  }

  /// The level loop (Eq. 8), the same for both orders.
  Output run(LevelGraph<T> g, const NodeFeatures<T>& x, const MgvaeNoise<T>& noise) const {
    const bool train = noise.training();
    Output out;
    out.batch = g.batch;
    if constexpr (Order == 2) out.adj = g.raw.dense;
    std::tie(out.base, out.z) = Ops::encode(*base_, g, x, train ? noise.eps0 : Tensor<T>());
    if constexpr (Order == 2) out.logits = dec_->forward(g.batch, out.z);
    Var<T> z = scale_gradient(out.z, static_cast<T>(cfg_.hierarchy_grad));
    for (std::size_t s = 0; s < sizes_.size(); ++s) {
      const std::vector<std::int64_t>* fixed = nullptr;
      if (cfg_.clustering == ClusteringKind::Fixed) {
        if (fixed_.empty()) throw_invalid(std::string(kName) + "::forward", "fixed clustering requested but no hierarchy set");
        check_arg(g.batch.graphs() == 1 && (s > 0 || g.batch.size(0) == n_), kName, "batch",
                  "has " + std::to_string(g.batch.graphs()) + " graph(s) (first: " + std::to_string(g.batch.size(0)) +
                      " nodes); a fixed hierarchy applies to one graph of num_nodes() = " + std::to_string(n_) + " nodes");
        fixed = &fixed_[s];
      }
      MgvaeLevel<T, Order> lv = levels_[s]->forward(g, z, train ? noise.gumbel[s] : Tensor<T>(), train ? noise.eps[s] : Tensor<T>(), fixed);
      g = Level::next_graph(lv, g);
      z = scale_gradient(lv.z, static_cast<T>(cfg_.hierarchy_grad));  // what the levels above send back into Z_{s+1}
      out.levels.push_back(std::move(lv));
    }
    return out;
  }

  /// kl[0] and the terms of every level (see the file comment). `adj0`: Order 1's finest raw adjacency.
  void hierarchy_terms(const Output& o, const CsrMatrix<T>* adj0, LossTerms<T>& t) const {
    t.add("kl[0]", Ops::kl(cfg_, o.batch, o.base));
    for (std::size_t s = 0; s < o.levels.size(); ++s) {
      const MgvaeLevel<T, Order>& lv = o.levels[s];
      const std::string idx = "[" + std::to_string(s) + "]";
      const RaggedBatch& bs = s == 0 ? o.batch : o.levels[s - 1].batch;
      const Var<T>& zs = s == 0 ? o.z : o.levels[s - 1].z;
      if (cfg_.w_local > 0) {
        PairTarget<T> tgt;
        if (s > 0)
          tgt.dense = scaled_per_graph(bs, o.levels[s - 1].coarse_adj.value());
        else if constexpr (Order == 1)
          tgt.csr = adj0;
        else
          tgt.dense = o.adj.value();
        const Var<T> l = levels_[s]->local_loss(bs, zs, tgt, lv.clustering);
        if (l.defined()) t.add("recon_local" + idx, mul_scalar(l, static_cast<T>(cfg_.w_local)));
      }
      if (cfg_.w_coarse > 0 && s > 0)
        t.add("recon_coarse" + idx,
              mul_scalar(levels_[s - 1]->global_loss(bs, zs, scaled_per_graph(bs, o.levels[s - 1].coarse_adj.value())),
                         static_cast<T>(cfg_.w_coarse)));
      t.add("kl[" + std::to_string(s + 1) + "]", Ops::kl(cfg_, lv.batch, lv.post));
      if (lv.clustering.k > 1) {
        const bool learned = lv.clustering.probs.defined();
        const Var<T> b = levels_[s]->balance(bs, lv.clustering);
        t.add("balance" + idx, learned ? mul_scalar(b, static_cast<T>(cfg_.w_balance)) : b);
        if (learned && cfg_.w_infomax > 0)
          t.add("infomax" + idx, mul_scalar(levels_[s]->infomax(bs, lv.clustering), static_cast<T>(cfg_.w_infomax)));
      }
    }
  }

  /// Order 2 single-graph finest term against a FinestTarget (dense: the VGAE weighting; sampled pairs: mean BCE).
  Var<T> order2_finest_target_loss(const std::string& fn, const Output& o, const FinestTarget<T>& target) const {
    check_arg(o.batch.graphs() == 1 && o.logits.size(1) == 1, fn.c_str(), "o",
              "must be the output of a single one-channel graph, got " + std::to_string(o.batch.graphs()) + " graph(s) and " +
                  std::to_string(o.logits.size(1)) + " channel(s)");
    const std::int64_t n = o.batch.size(0);
    if (target.dense) {
      const DenseReconTarget<T>& dt = *target.dense;
      check_arg(dt.adj.rows == n, fn.c_str(), "target", "has " + std::to_string(dt.adj.rows) + " nodes, the graph " + std::to_string(n));
      Tensor<T> y = Tensor<T>::zeros(Shape{n * n, 1});
      for (std::int64_t u = 0; u < n; ++u) {
        y.data()[u * n + u] = T(1);
        for (std::int64_t k = dt.adj.row_ptr[static_cast<std::size_t>(u)]; k < dt.adj.row_ptr[static_cast<std::size_t>(u + 1)]; ++k)
          y.data()[u * n + dt.adj.col[static_cast<std::size_t>(k)]] = T(1);
      }
      const T scale = dt.norm / static_cast<T>(n * n);
      const Tensor<T> sc = Tensor<T>::full(y.shape(), scale);
      return sum(weighted_bce_with_logits(o.logits, y, Tensor<T>::full(y.shape(), dt.pos_weight), &sc));
    }
    if (target.pos && target.neg) {
      std::vector<std::int64_t> rows;
      for (const auto& [u, v] : *target.pos) rows.push_back(u * n + v);
      for (const auto& [u, v] : *target.neg) rows.push_back(u * n + v);
      Tensor<T> y = Tensor<T>::zeros(Shape{static_cast<std::int64_t>(rows.size())});
      for (std::size_t i = 0; i < target.pos->size(); ++i) y.data()[i] = T(1);
      return bce_with_logits(reshape(index_select(o.logits, 0, rows), y.shape()), constant(y));
    }
    throw_invalid(fn, "no finest-level target");
  }

  /// mean_g norm_g · mean_{ij,e} BCE_pw_g(logits, A + I).
  Var<T> global_recon(const Output& o) const {
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
    return sum(weighted_bce_with_logits(o.logits, y, w, &sc));
  }

  using FinestDecoder = std::conditional_t<Order == 2, std::shared_ptr<SecondOrderPairDecoder<T>>, std::nullptr_t>;

  MgvaeConfig cfg_;
  std::int64_t n_;
  NoiseSource noise_;
  std::vector<std::int64_t> sizes_;
  std::shared_ptr<typename Ops::Encoder> base_;
  FinestDecoder dec_{};
  std::vector<std::shared_ptr<Level>> levels_;
  std::vector<std::vector<std::int64_t>> fixed_;
};

// ---- Out-of-class definitions of the entry points: with MGVAE_PREBUILT (the mgvae::prebuilt
// target, models/prebuilt.hpp) a user's translation unit does not instantiate them for float/double.

template <class T, int Order>
Mgvae<T, Order>::Mgvae(const MgvaeConfig& cfg, std::int64_t num_nodes, CounterRng& rng)
    : cfg_(cfg), n_(num_nodes), noise_(rng.split(kMgvaeNoiseStream)) {
  Ops::validate(cfg, kName);
  check_arg(cfg.tau > 0, kName, "cfg.tau", "must be > 0");
  check_arg(num_nodes >= 1, kName, "num_nodes", "must be >= 1");
  if constexpr (Order == 2) check_size(kName, num_nodes);
  sizes_ = level_sizes(num_nodes, cfg.levels, cfg.clusters_per_level);
  base_ = this->register_module("base", Ops::make_encoder(cfg, cfg.in_features, rng));
  if constexpr (Order == 2) dec_ = this->register_module("decoder", Ops::make_decoder(cfg, rng));
  for (std::size_t s = 0; s < sizes_.size(); ++s)
    levels_.push_back(this->register_module("level" + std::to_string(s),
                                            std::make_shared<Level>(cfg, sizes_[s], s + 1 < sizes_.size(), rng)));
}

template <class T, int Order>
auto Mgvae<T, Order>::forward(const MgvaeInput<T>& in, const MgvaeNoise<T>& noise) const -> Output {
  const std::string fn = std::string(kName) + "::forward";
  if (in.adj == nullptr || (Order == 1 && in.adj_norm == nullptr)) throw_invalid(fn, "adjacency missing");
  const CsrMatrix<T>& a = Order == 1 ? *in.adj_norm : *in.adj;
  if (a.rows != n_ || a.cols != n_)
    throw_invalid(fn, "graph has " + std::to_string(a.rows) + " nodes (adjacency " + std::to_string(a.rows) + " x " +
                          std::to_string(a.cols) + "), the model was built for " + std::to_string(n_));
  if constexpr (Order == 1) {
    LevelGraph<T> g0{RaggedBatch::from_sizes({n_}), Adjacency<T>::of(*in.adj_norm), Adjacency<T>::of(*in.adj), {}};
    check_noise(fn, g0.batch, noise);
    return run(std::move(g0), in.x, noise);
  } else {
    check_arg(cfg_.edge_channels == 1, fn.c_str(), "in.adj", "is one channel but the model has edge_channels != 1");
    Tensor<T> A = Tensor<T>::zeros(Shape{n_ * n_, 1});
    for (std::int64_t u = 0; u < n_; ++u)
      for (std::int64_t k = in.adj->row_ptr[static_cast<std::size_t>(u)]; k < in.adj->row_ptr[static_cast<std::size_t>(u + 1)]; ++k)
        A.data()[u * n_ + in.adj->col[static_cast<std::size_t>(k)]] = in.adj->val[static_cast<std::size_t>(k)];
    const Var<T> x = in.x.sparse ? constant(in.x.sparse->to_dense()) : in.x.dense;
    return forward(RaggedBatch::from_sizes({n_}), constant(A), x, noise);
  }
}

template <class T, int Order>
template <int O>
  requires(O == 2)
auto Mgvae<T, Order>::forward(const RaggedBatch& b, const Var<T>& A, const Var<T>& X, const MgvaeNoise<T>& noise) const -> Output {
  constexpr const char* fn = "Mgvae<T, 2>::forward";
  b.validate(fn);
  check_arg(b.graphs() >= 1, fn, "batch", "has no graph");
  for (std::int64_t g = 0; g < b.graphs(); ++g) {
    check_arg(b.size(g) >= 1, fn, "batch", "graph " + std::to_string(g) + " is empty");
    check_size(fn, b.size(g), g);
  }
  const std::int64_t E = cfg_.edge_channels;
  check_arg(A.shape() == Shape{b.pairs(), E}, fn, "A",
            "must be [P, E] = " + shape_str(Shape{b.pairs(), E}) + ", got " + shape_str(A.shape()));
  check_arg(X.shape() == Shape{b.nodes(), cfg_.in_features}, fn, "X",
            "must be [N, F] = " + shape_str(Shape{b.nodes(), cfg_.in_features}) + ", got " + shape_str(X.shape()));
  check_noise(fn, b, noise);
  // κ_g = 1 / max(1, Σ A_{0,g}): coarse adjacencies are read as K_s κ_g Π…ᵀ A Π… (level.hpp)
  LevelGraph<T> g0{b, Adjacency<T>::of(A), Adjacency<T>::of(A), std::vector<T>(static_cast<std::size_t>(b.graphs()))};
  const Tensor<T> av = A.value().contiguous();
  for (std::int64_t g = 0; g < b.graphs(); ++g) {
    T tot = 0;
    for (std::int64_t k = b.pair_off[g] * E; k < b.pair_off[g + 1] * E; ++k) tot += av.data()[k];
    g0.inv_total[static_cast<std::size_t>(g)] = T(1) / std::max(tot, T(1));
  }
  return run(std::move(g0), NodeFeatures<T>::of(X), noise);
}

template <class T, int Order>
LossTerms<T> Mgvae<T, Order>::loss(const Output& o, const MgvaeInput<T>& in, const FinestTarget<T>& target) const {
  const std::string fn = std::string(kName) + "::loss";
  LossTerms<T> t;
  if constexpr (Order == 1) {
    if (target.dense)
      t.add("recon_global", dense_recon_loss(o.base.z, *target.dense));
    else if (target.pos && target.neg)
      t.add("recon_global", sampled_recon_loss(o.base.z, *target.pos, *target.neg));
    else
      throw_invalid(fn, "no finest-level target");
    if (in.adj == nullptr) throw_invalid(fn, "adjacency missing");
  } else {
    t.add("recon_global", order2_finest_target_loss(fn, o, target));
  }
  hierarchy_terms(o, in.adj, t);
  return t;
}

template <class T, int Order>
template <int O>
  requires(O == 2)
LossTerms<T> Mgvae<T, Order>::loss(const Output& o) const {
  LossTerms<T> t;
  t.add("recon_global", global_recon(o));
  hierarchy_terms(o, nullptr, t);
  return t;
}

}  // namespace mgvae::models

#if defined(MGVAE_PREBUILT) && !defined(MGVAE_PREBUILT_BUILDING)
// Instantiated once in the mgvae::prebuilt library (src/prebuilt.cpp): a translation unit that
// links it compiles only its own code (docs/getting-started.md, "Faster builds").
#define MGVAE_DETAIL_EXTERN_MGVAE(T)                                                                          \
  extern template class mgvae::models::Mgvae<T, 1>;                                                            \
  extern template class mgvae::models::Mgvae<T, 2>;                                                            \
  extern template mgvae::models::MgvaeOutput<T, 2> mgvae::models::Mgvae<T, 2>::forward<2>(                    \
      const mgvae::RaggedBatch&, const mgvae::Var<T>&, const mgvae::Var<T>&, const mgvae::models::MgvaeNoise<T>&) \
      const;                                                                                                   \
  extern template mgvae::models::LossTerms<T> mgvae::models::Mgvae<T, 2>::loss<2>(                            \
      const mgvae::models::MgvaeOutput<T, 2>&) const;
MGVAE_DETAIL_EXTERN_MGVAE(float)
MGVAE_DETAIL_EXTERN_MGVAE(double)
#undef MGVAE_DETAIL_EXTERN_MGVAE
#endif
