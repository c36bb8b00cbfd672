#pragma once
/// @file mgvae.hpp
/// First-order Multiresolution Graph VAE for a single large graph (the citation model of §5.1,
/// App. D.1), built on the MGN levels of mgn/mgn.hpp.
///
/// Forward (bottom-up, Eq. 8):
///   Z_0 ~ q(Z_0 | Â, X)                      VGAE encoder on the input graph
///   for s = 0 … L (K_s = K^(L−s) clusters):
///     Π_s  = c_s(Â_s, Z_s)                    learned (Gumbel straight-through) or fixed
///     A_{s+1} = Π_sᵀ A_s Π_s,  X_{s+1} = normalize(Π_sᵀ Z_s)
///     Z_{s+1} ~ q(Z_{s+1} | Â_{s+1}, X_{s+1})
/// Loss = −ELBO (Eq. 9) + balanced cut, every term kept by name (LossTerms):
///   recon_global      finest global decoder, VGAE BCE (dense n×n, or sampled negatives)
///   recon_local[s]    w_local · local decoders of the clusters of G_s (intra-cluster pairs only)
///   recon_coarse[s]   w_coarse · global decoder of G_s for s ≥ 1 (MSE to A_s / max A_s)
///   kl[s]             w_kl · KL(q(Z_s) ‖ N(0, I)) for every level s = 0 … L+1
///   balance[s]        w_balance · KL(P_s ‖ U_{K_s}) (learned clustering only; logged for fixed);
///                     P_s from the Gumbel sample (default), the Eq. 4 argmax, or both (cfg.balance_on)
///   infomax[s]        w_infomax · (KL(p̄_s ‖ U) + mean_i H(p_i)) (learned only; only if w_infomax > 0)
/// Evaluation (`noise` empty, or `forward(in)` after `eval()`): z = μ at every level and
/// Π_s = argmax (Eq. 4). Link prediction scores are ⟨μ_u, μ_v⟩ of the finest level.
///
/// `Order` is the tensor order of the message passing; this header implements Order = 1 (the
/// citation model) and includes the Order = 2 specialisation (mgvae2.hpp: ragged batches of small
/// graphs). Any other order fails to compile.
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mgvae/models/mgn/mgn.hpp"
#include "mgvae/models/mgvae/common.hpp"
#include "mgvae/models/mgvae/decoder.hpp"
#include "mgvae/models/mgvae/elbo.hpp"
#include "mgvae/models/mgvae/encoder.hpp"
#include "mgvae/models/mgvae/mgvae2.hpp"

namespace mgvae::models {

template <class T, int Order>
class Mgvae : public nn::Module<T> {
  // Order 2 is the partial specialisation Mgvae<T, 2> of mgvae2.hpp; the primary template is Order 1.
  static_assert(Order == 1, "models::Mgvae: Order must be 1 (first-order) or 2 (second-order, mgvae2.hpp)");

 public:
  /// @throw std::invalid_argument if K^L exceeds `num_nodes` or the sizes are invalid.
  Mgvae(const MgvaeConfig& cfg, std::int64_t num_nodes, CounterRng& rng)
      : cfg_(cfg), n_(num_nodes), noise_(rng.split(kMgvaeNoiseStream)) {
    if (cfg.in_features < 1) throw_invalid("Mgvae", "in_features must be >= 1");
    if (cfg.latent < 1) throw_invalid("Mgvae", "latent must be >= 1");
    sizes_ = level_sizes(num_nodes, cfg.levels, cfg.clusters_per_level);
    base_ = this->register_module("base", std::make_shared<GcnGaussianEncoder<T>>(cfg.in_features, cfg.hidden, cfg.latent, rng));
    for (std::size_t s = 0; s < sizes_.size(); ++s)
      levels_.push_back(this->register_module(
          "level" + std::to_string(s),
          std::make_shared<MgnLevel<T>>(cfg.latent, sizes_[s], cfg.hidden, cfg.latent, cfg.clustering, cfg.cluster_hidden, rng,
                                        cfg.bounded_cluster_logits, cfg.standardize_cluster_logits,
                                        cfg.cluster_logit_scale)));
  }

  const MgvaeConfig& config() const { return cfg_; }
  /// K_s for s = 0 … L.
  const std::vector<std::int64_t>& sizes() const { return sizes_; }
  std::int64_t num_nodes() const { return n_; }

  /// Labels of a fixed hierarchy (graph/spectral.hpp `fixed_hierarchy`): labels[s] has n_s entries in [0, K_s).
  /// @throw std::invalid_argument on a size mismatch.
  void set_fixed_hierarchy(std::vector<std::vector<std::int64_t>> labels) {
    if (labels.size() != sizes_.size())
      throw_invalid("Mgvae::set_fixed_hierarchy", "got " + std::to_string(labels.size()) + " partitions, the model has " +
                                                      std::to_string(sizes_.size()) + " levels (one partition per level)");
    std::int64_t n = n_;
    for (std::size_t s = 0; s < labels.size(); ++s) {
      if (static_cast<std::int64_t>(labels[s].size()) != n)
        throw_invalid("Mgvae::set_fixed_hierarchy", "level " + std::to_string(s) + " has " + std::to_string(labels[s].size()) +
                                                        " labels for " + std::to_string(n) + " nodes");
      n = sizes_[s];
    }
    fixed_ = std::move(labels);
  }

  /// Draws the noise of one training step; every tensor is indexed by (node, channel) so that it
  /// can be permuted with the nodes (see gcn.hpp normal_noise).
  MgvaeNoise<T> draw_noise(const CounterRng& rng) const {
    MgvaeNoise<T> z;
    z.eps0 = normal_noise<T>(n_, cfg_.latent, rng.split(0));
    std::int64_t n = n_;
    for (std::size_t s = 0; s < sizes_.size(); ++s) {
      z.gumbel.push_back(gumbel_noise<T>(n, sizes_[s], rng.split(1000 + s)));
      z.eps.push_back(normal_noise<T>(sizes_[s], cfg_.latent, rng.split(2000 + s)));
      n = sizes_[s];
    }
    return z;
  }

  /// Forward pass in the module's mode: in training mode (the default; train()) with fresh noise
  /// `draw_noise(g)`, g the next generator of the model's NoiseSource (set_noise_rng); after
  /// eval() deterministic (z = μ, Π = argmax), the same as `forward(in, MgvaeNoise<T>{})`.
  /// @throw std::invalid_argument as forward(in, noise).
  MgvaeOutput<T> forward(const MgvaeInput<T>& in) const {
    return this->is_training() ? forward(in, draw_noise(noise_.next())) : forward(in, MgvaeNoise<T>{});
  }

  /// Restarts the noise of forward(in) in training mode: draw k uses draw_noise(rng.split(k)).
  /// By default rng is the construction generator's split(kMgvaeNoiseStream).
  void set_noise_rng(const CounterRng& rng) { noise_.reset(rng); }

  /// Forward pass with explicit noise, whatever the module's mode: `noise` from draw_noise (a
  /// training pass) or empty (evaluation: z = μ at every level, Π = argmax).
  MgvaeOutput<T> forward(const MgvaeInput<T>& in, const MgvaeNoise<T>& noise) const {
    if (in.adj_norm == nullptr || in.adj == nullptr) throw_invalid("Mgvae::forward", "adjacency missing");
    if (in.adj_norm->rows != n_ || in.adj_norm->cols != n_)
      throw_invalid("Mgvae::forward", "graph has " + std::to_string(in.adj_norm->rows) + " nodes (adjacency " +
                                          std::to_string(in.adj_norm->rows) + " x " + std::to_string(in.adj_norm->cols) +
                                          "), the model was built for " + std::to_string(n_));
    const bool train = noise.training();
    MgvaeOutput<T> out;
    out.base = base_->forward(Adjacency<T>::of(*in.adj_norm), in.x, train ? noise.eps0 : Tensor<T>());
    Adjacency<T> a_norm = Adjacency<T>::of(*in.adj_norm), a_raw = Adjacency<T>::of(*in.adj);
    Var<T> z = scale_gradient(out.base.z, static_cast<T>(cfg_.hierarchy_grad));
    for (std::size_t s = 0; s < sizes_.size(); ++s) {
      const MgnLevel<T>& L = *levels_[s];
      MgvaeLevel<T> lv;
      if (L.kind() == ClusteringKind::Learned) {
        lv.clustering = L.clustering().forward(a_norm, NodeFeatures<T>::of(z), train ? noise.gumbel[s] : Tensor<T>(),
                                               static_cast<T>(cfg_.tau));
      } else {
        if (fixed_.empty()) throw_invalid("Mgvae::forward", "fixed clustering requested but no hierarchy set");
        lv.clustering = fixed_clustering<T>(fixed_[s], sizes_[s]);
      }
      lv.coarse_adj = coarsen(a_raw, lv.clustering.pi);
      lv.pooled = pool(lv.clustering.pi, z, cfg_.pooling);
      const Var<T> an = gcn_normalize_dense(lv.coarse_adj);
      lv.latent = L.encoder().forward(Adjacency<T>::of(an), NodeFeatures<T>::of(lv.pooled), train ? noise.eps[s] : Tensor<T>());
      a_raw = Adjacency<T>::of(lv.coarse_adj);
      a_norm = Adjacency<T>::of(an);
      z = lv.latent.z;
      out.levels.push_back(std::move(lv));
    }
    return out;
  }

  /// All ELBO terms (see the file comment).
  LossTerms<T> loss(const MgvaeOutput<T>& o, const MgvaeInput<T>& in, const FinestTarget<T>& target) const {
    LossTerms<T> t;
    if (target.dense)
      t.add("recon_global", dense_recon_loss(o.base.z, *target.dense));
    else if (target.pos && target.neg)
      t.add("recon_global", sampled_recon_loss(o.base.z, *target.pos, *target.neg));
    else
      throw_invalid("Mgvae::loss", "no finest-level target");
    t.add("kl[0]", mul_scalar(kl_standard_normal(o.base.mu, o.base.logstd), static_cast<T>(cfg_.w_kl)));
    const CsrMatrix<T>& A = *in.adj;
    for (std::size_t s = 0; s < o.levels.size(); ++s) {
      const MgvaeLevel<T>& lv = o.levels[s];
      const std::string idx = "[" + std::to_string(s) + "]";
      const Var<T> zs = s == 0 ? o.base.z : o.levels[s - 1].latent.z;
      if (cfg_.w_local > 0) {
        Var<T> l;
        if (s == 0) {
          l = local_recon_loss(zs, lv.clustering, [&A](std::int64_t u, std::int64_t v) { return detail::csr_has(A, u, v) ? 1.0 : 0.0; },
                               cfg_.local_grad_to_clustering);
        } else {
          const Tensor<T> tgt = scaled_target(o.levels[s - 1].coarse_adj.value());
          const std::int64_t m = tgt.size(0);
          l = local_recon_loss(zs, lv.clustering,
                               [&tgt, m](std::int64_t u, std::int64_t v) { return static_cast<double>(tgt.data()[u * m + v]); },
                               cfg_.local_grad_to_clustering);
        }
        if (l.defined()) t.add("recon_local" + idx, mul_scalar(l, static_cast<T>(cfg_.w_local)));
      }
      if (cfg_.w_coarse > 0 && s > 0)
        t.add("recon_coarse" + idx, mul_scalar(coarse_global_loss(zs, scaled_target(o.levels[s - 1].coarse_adj.value())),
                                               static_cast<T>(cfg_.w_coarse)));
      t.add("kl[" + std::to_string(s + 1) + "]",
            mul_scalar(kl_standard_normal(lv.latent.mu, lv.latent.logstd), static_cast<T>(cfg_.w_kl)));
      if (lv.clustering.k > 1) {
        const bool learned = lv.clustering.probs.defined();
        Var<T> b;
        if (!learned || cfg_.balance_on == BalanceOn::Sample)
          b = balanced_cut_kl(lv.clustering);
        else if (cfg_.balance_on == BalanceOn::Argmax)
          b = balanced_cut_kl_argmax(lv.clustering);
        else
          b = add(balanced_cut_kl(lv.clustering), balanced_cut_kl_argmax(lv.clustering));
        t.add("balance" + idx, learned ? mul_scalar(b, static_cast<T>(cfg_.w_balance)) : b);
        if (learned && cfg_.w_infomax > 0)
          t.add("infomax" + idx, mul_scalar(infomax_balance(lv.clustering.probs), static_cast<T>(cfg_.w_infomax)));
      }
    }
    return t;
  }

 private:
  MgvaeConfig cfg_;
  std::int64_t n_;
  NoiseSource noise_;
  std::vector<std::int64_t> sizes_;
  std::shared_ptr<GcnGaussianEncoder<T>> base_;
  std::vector<std::shared_ptr<MgnLevel<T>>> levels_;
  std::vector<std::vector<std::int64_t>> fixed_;
};

}  // namespace mgvae::models
