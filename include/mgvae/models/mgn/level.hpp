#pragma once
/// @file level.hpp
/// One level of a Multiresolution Graph Network (paper Def. 4), `MgnLevel<T, Order>`, for both
/// tensor orders of the message passing, on ragged batches of graphs (Order 1: one graph).
///
/// Level step s turns G_s (batch of graphs, adjacency A_s, node latents Z_s) into G_{s+1}:
///   1. clustering   Π_s = c(A_s, Z_s): straight-through Gumbel on the logits of the clustering
///                   network (§3.3; Eq. 4 argmax without noise) or a fixed one-hot (App. D.1)
///   2. coarsening   A_{s+1} = Π_sᵀ A_s Π_s per graph (and edge channel)        (Defs. 1-3)
///   3. pooling      X_{s+1} = p(Π_s, Z_s) per graph (pooling.hpp, invariant per cluster)
///   4. encoder      (posterior, Z_{s+1}) ~ q(· | A_{s+1}, X_{s+1})                (Eq. 8)
///   5. decoders     local: every cluster's sub-adjacency of A_s from its own latents; global:
///                   A_{s+1} from Z_{s+1} (the ELBO terms of mgvae.hpp call them)
/// The step is written once here. What depends on the order is the message-passing family, given
/// by `MgnOrder<T, Order>`:
///
/// | | Order 1 (`MgnOrder<T, 1>`) | Order 2 (`MgnOrder<T, 2>`) |
/// |---|---|---|
/// | graphs | one graph, Â GCN-normalised (CSR at the finest level) | ragged batch, A [Σ n_g², E] pair rows |
/// | encoder | `GcnGaussianEncoder`: diagonal Gaussian | `SecondOrderEncoder`: Σ = LLᵀ + εI (App. B) |
/// | clustering logits | `LearnedClustering` (GCN) | `SecondOrderClustering` (Eq. 3 layer, 2→1) |
/// | coarse adjacency read | Â_{s+1} = norm(Π_sᵀ A_s Π_s) | κ_g Π_sᵀ A_s Π_s, κ_g = K_s / max(1, Σ A_{0,g}) |
/// | decoders | ⟨z_u, z_v⟩ (no parameters) | `SecondOrderPairDecoder` per level (local, global) |
/// | KL | w_kl · KL(q ‖ N(0, I)) (VGAE scaling) | w_kl · mean_g Σ_c KL(N(μ, Σ) ‖ N(0, (1+ε)I)) / n_g² |
///
/// Equivariance (Prop. 2): every map is equivariant in the node index of each graph or invariant
/// (coarsening, pooling), so G_{s+1} and its latents do not change when G_s's nodes are permuted
/// together with the Gumbel noise (tests/models/equivariance.test.cpp, mgvae_order2.test.cpp).
#include <algorithm>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "mgvae/models/mgn/clustering.hpp"
#include "mgvae/models/mgn/coarsen.hpp"
#include "mgvae/models/mgn/gcn.hpp"
#include "mgvae/models/mgn/schedule.hpp"
#include "mgvae/models/mgn/pooling.hpp"
#include "mgvae/models/mgn/second_order.hpp"
#include "mgvae/models/mgn/second_order_blocks.hpp"
#include "mgvae/models/mgvae/config.hpp"
#include "mgvae/models/mgvae/decoder.hpp"
#include "mgvae/models/mgvae/elbo.hpp"
#include "mgvae/ops/equivariant.hpp"
#include "mgvae/ops/gaussian.hpp"
#include "mgvae/ops/indexing.hpp"
#include "mgvae/ops/loss.hpp"

namespace mgvae::models {

namespace detail {
/// Binary search in a CSR row with sorted columns.
template <class T>
bool csr_has(const CsrMatrix<T>& a, std::int64_t u, std::int64_t v) {
  const auto b = a.col.begin() + a.row_ptr[static_cast<std::size_t>(u)];
  const auto e = a.col.begin() + a.row_ptr[static_cast<std::size_t>(u + 1)];
  return std::binary_search(b, e, v);
}
}  // namespace detail

/// G_s as a level step reads it.
template <class T>
struct LevelGraph {
  RaggedBatch batch;     ///< the graphs of G_s (Order 1: one graph)
  Adjacency<T> adj;      ///< what the level's networks read: Â_s (Order 1) or κ A_s [P, E] (Order 2)
  Adjacency<T> raw;      ///< A_s = Π…ᵀ A_0 Π… (Order 1: CSR at s = 0, dense [n, n] above; Order 2: [P, E])
  std::vector<T> inv_total;  ///< Order 2: 1 / max(1, Σ A_{0,g}) per graph (the κ of every level)
};

/// A pair target of a local decoder: the finest adjacency as CSR (Order 1, s = 0) or a dense
/// tensor in the layout of the level's adjacency ([n, n] for Order 1, pair rows [P, E] for Order 2).
template <class T>
struct PairTarget {
  const CsrMatrix<T>* csr = nullptr;
  Tensor<T> dense;
};

/// The level posterior: diagonal (Order 1) or second-order Σ = LLᵀ + εI (Order 2).
template <class T, int Order>
using LevelPosterior = std::conditional_t<Order == 1, GaussianLatent<T>, SecondOrderPosterior<T>>;

/// Output of level step s (G_s → G_{s+1}).
template <class T, int Order = 1>
struct LevelOutput {
  RaggedBatch batch;          ///< G_{s+1}: B graphs of K_s nodes
  Clustering<T> clustering;   ///< Π_s [N_s, K_s] (graph g's rows contiguous)
  Var<T> coarse_adj;          ///< A_{s+1} = Π_sᵀ A_s Π_s  (Order 1 [K, K]; Order 2 [B·K², E])
  Var<T> adj_in;              ///< what G_{s+1}'s networks read: Â_{s+1} (Order 1) or κ A_{s+1} (Order 2)
  Var<T> pooled;              ///< X_{s+1} [B·K_s, d]
  LevelPosterior<T, Order> post;  ///< q(Z_{s+1} | G_{s+1})
  Var<T> z;                   ///< Z_{s+1} [B·K_s, d]: a sample (training) or μ (evaluation)
};

/// A / max A per graph of a ragged batch (all channels), detached; zeros for an edgeless graph.
/// `a` holds the batch's pair rows: [Σ n_g², E] or, for one graph, [n, n].
template <class T>
Tensor<T> scaled_per_graph(const RaggedBatch& b, const Tensor<T>& a) {
  Tensor<T> c = a.contiguous().clone();
  const std::int64_t E = b.pairs() > 0 ? c.numel() / b.pairs() : 1;
  for (std::int64_t g = 0; g < b.graphs(); ++g) {
    T m = 0;
    for (std::int64_t k = b.pair_off[g] * E; k < b.pair_off[g + 1] * E; ++k) m = std::max(m, c.data()[k]);
    if (m > 0)
      for (std::int64_t k = b.pair_off[g] * E; k < b.pair_off[g + 1] * E; ++k) c.data()[k] /= m;
  }
  return c;
}

/// A deterministic first-order level encoder: GCN layers in → widths[0] → … → widths.back(), each
/// γ(Â X W) with activation `act`; z = μ = the last layer's output (logstd undefined). The MGN of
/// the property regressor (models/property/mgn_regressor.hpp) encodes its coarse levels with it.
template <class T>
class GcnDeterministicEncoder : public nn::Module<T> {
 public:
  /// @throw std::invalid_argument if `widths` is empty or a size is not positive.
  GcnDeterministicEncoder(std::int64_t in, const std::vector<std::int64_t>& widths, Activation act, CounterRng& rng) {
    check_arg(!widths.empty(), "GcnDeterministicEncoder", "widths", "must name at least one layer");
    std::int64_t prev = in;
    for (std::size_t i = 0; i < widths.size(); ++i) {
      layers_.push_back(this->register_module("gc" + std::to_string(i), std::make_shared<GcnLayer<T>>(prev, widths[i], rng, act)));
      prev = widths[i];
    }
  }
  /// `eps` is ignored (a deterministic encoder): μ = z = the GCN stack's output.
  GaussianLatent<T> forward(const Adjacency<T>& a, const NodeFeatures<T>& x, const Tensor<T>& /*eps*/) const {
    Var<T> h = layers_.front()->forward(a, x);
    for (std::size_t i = 1; i < layers_.size(); ++i) h = layers_[i]->forward(a, h);
    GaussianLatent<T> out;
    out.mu = h;
    out.z = h;
    return out;
  }

 private:
  std::vector<std::shared_ptr<GcnLayer<T>>> layers_;
};

/// The order-specific primitives of an MGN level (see the table in the file comment).
template <class T, int Order>
struct MgnOrder;

template <class T>
struct MgnOrder<T, 1> {
  using Encoder = GcnGaussianEncoder<T>;
  using ClusterNet = LearnedClustering<T>;
  using Decoder = void;  ///< the dot-product decoder has no parameters
  static constexpr bool kParametricDecoders = false;

  static void validate(const MgvaeConfig& cfg, const char* fn) {
    check_arg(cfg.in_features >= 1, fn, "cfg.in_features", "must be >= 1");
    check_arg(cfg.latent >= 1, fn, "cfg.latent", "must be >= 1");
  }
  static std::shared_ptr<Encoder> make_encoder(const MgvaeConfig& cfg, std::int64_t in, CounterRng& rng) {
    return std::make_shared<Encoder>(in, cfg.hidden, cfg.latent, rng);
  }
  static std::shared_ptr<ClusterNet> make_clustering(const MgvaeConfig& cfg, std::int64_t k, CounterRng& rng) {
    return std::make_shared<ClusterNet>(cfg.latent, cfg.cluster_hidden, k, rng, cfg.bounded_cluster_logits,
                                        cfg.standardize_cluster_logits, cfg.cluster_logit_scale);
  }
  template <class E>
  static std::pair<GaussianLatent<T>, Var<T>> encode(const E& e, const LevelGraph<T>& g, const NodeFeatures<T>& x,
                                                    const Tensor<T>& eps) {
    GaussianLatent<T> post = e.forward(g.adj, x, eps);
    Var<T> z = post.z;
    return {std::move(post), std::move(z)};
  }
  static Var<T> cluster_logits(const ClusterNet& c, const LevelGraph<T>& g, const Var<T>& z) {
    return c.logits(g.adj, NodeFeatures<T>::of(z));
  }
  /// A_{s+1} = Πᵀ A_s Π, X_{s+1} = pool(Π, Z_s), Â_{s+1} = norm(A_{s+1}). A batch of B graphs is one
  /// block-diagonal graph: node i of graph q goes to column q·K + π(i) of the block assignment
  /// [n, B·K], so A_{s+1} is block diagonal with one K × K block per graph.
  static void coarsen_pool(const MgvaeConfig& cfg, const LevelGraph<T>& g, const Var<T>& z, std::int64_t k,
                           LevelOutput<T, 1>& lv) {
    const RaggedBatch& bs = g.batch;
    const std::int64_t B = bs.graphs();
    lv.batch = RaggedBatch::from_sizes(std::vector<std::int64_t>(static_cast<std::size_t>(B), k));
    Var<T> pi = lv.clustering.pi;
    if (B > 1) {
      const std::int64_t n = pi.size(0);
      std::vector<std::int64_t> idx(static_cast<std::size_t>(n * k));
      for (std::int64_t q = 0; q < B; ++q)
        for (std::int64_t i = bs.node_off[q]; i < bs.node_off[q + 1]; ++i)
          for (std::int64_t c = 0; c < k; ++c) idx[static_cast<std::size_t>(i * k + c)] = i * (B * k) + q * k + c;
      pi = reshape(scatter_add(reshape(pi, Shape{n * k}), 0, idx, n * B * k), Shape{n, B * k});
    }
    lv.coarse_adj = coarsen(g.raw, pi);
    lv.pooled = pool(pi, z, cfg.pooling);
    lv.adj_in = gcn_normalize_dense(lv.coarse_adj);
  }
  static LevelGraph<T> next_graph(const LevelOutput<T, 1>& lv, const LevelGraph<T>& /*g*/) {
    return LevelGraph<T>{lv.batch, Adjacency<T>::of(lv.adj_in), Adjacency<T>::of(lv.coarse_adj), {}};
  }
  /// w_kl · KL(q ‖ N(0, I)) with the VGAE 1/n² scaling (elbo.hpp).
  static Var<T> kl(const MgvaeConfig& cfg, const RaggedBatch& /*b*/, const GaussianLatent<T>& post) {
    return mul_scalar(kl_standard_normal(post.mu, post.logstd), static_cast<T>(cfg.w_kl));
  }
  /// Dot-product local decoders of the clusters of G_s (decoder.hpp `local_recon_loss`).
  static Var<T> local_loss(const MgvaeConfig& cfg, const void* /*decoder*/, const RaggedBatch& /*bs*/, const Var<T>& zs,
                           const PairTarget<T>& tgt, const Clustering<T>& c) {
    if (tgt.csr) {
      const CsrMatrix<T>& A = *tgt.csr;
      return local_recon_loss(zs, c, [&A](std::int64_t u, std::int64_t v) { return detail::csr_has(A, u, v) ? 1.0 : 0.0; },
                              cfg.local_grad_to_clustering);
    }
    const Tensor<T>& t = tgt.dense;
    const std::int64_t m = t.size(0);
    return local_recon_loss(zs, c, [&t, m](std::int64_t u, std::int64_t v) { return static_cast<double>(t.data()[u * m + v]); },
                            cfg.local_grad_to_clustering);
  }
  /// Dot-product global decoder of G_s: MSE(σ(Z Zᵀ), A_s / max A_s).
  static Var<T> coarse_loss(const void* /*decoder*/, const RaggedBatch& /*bs*/, const Var<T>& zs, const Tensor<T>& scaled) {
    return coarse_global_loss(zs, scaled);
  }
};

template <class T>
struct MgnOrder<T, 2> {
  using Encoder = SecondOrderEncoder<T>;
  using ClusterNet = SecondOrderClustering<T>;
  using Decoder = SecondOrderPairDecoder<T>;
  static constexpr bool kParametricDecoders = true;

  static void validate(const MgvaeConfig& cfg, const char* fn) {
    check_arg(cfg.in_features >= 1, fn, "cfg.in_features", "must be >= 1");
    check_arg(cfg.latent >= 1, fn, "cfg.latent", "must be >= 1");
    check_arg(!cfg.hidden.empty() && cfg.hidden.back() >= 1, fn, "cfg.hidden", "must end in a positive width");
    check_arg(cfg.edge_channels >= 1, fn, "cfg.edge_channels", "must be >= 1");
    check_arg(cfg.order2_layers >= 1, fn, "cfg.order2_layers", "must be >= 1");
    check_arg(cfg.order2_decoder_layers >= 0, fn, "cfg.order2_decoder_layers", "must be >= 0");
    check_arg(cfg.cluster_hidden >= 1, fn, "cfg.cluster_hidden", "must be >= 1");
    check_arg(cfg.max_graph_nodes >= 1, fn, "cfg.max_graph_nodes", "must be >= 1");
    check_arg(cfg.cluster_logit_scale == 1.0, fn, "cfg.cluster_logit_scale", "is a first-order option; must be 1");
    check_arg(!cfg.standardize_cluster_logits, fn, "cfg.standardize_cluster_logits", "is a first-order option; must be false");
  }
  static std::shared_ptr<Encoder> make_encoder(const MgvaeConfig& cfg, std::int64_t in, CounterRng& rng) {
    return std::make_shared<Encoder>(cfg.edge_channels, in, cfg.hidden.back(), cfg.latent, cfg.order2_layers, rng,
                                     static_cast<T>(cfg.order2_jitter));
  }
  static std::shared_ptr<ClusterNet> make_clustering(const MgvaeConfig& cfg, std::int64_t k, CounterRng& rng) {
    return std::make_shared<ClusterNet>(cfg.edge_channels, cfg.latent, cfg.cluster_hidden, k, rng, cfg.bounded_cluster_logits);
  }
  static std::shared_ptr<Decoder> make_decoder(const MgvaeConfig& cfg, CounterRng& rng) {
    return std::make_shared<Decoder>(cfg.latent, cfg.hidden.back(), cfg.edge_channels, cfg.order2_decoder_layers, rng);
  }
  static std::pair<SecondOrderPosterior<T>, Var<T>> encode(const Encoder& e, const LevelGraph<T>& g, const NodeFeatures<T>& x,
                                                          const Tensor<T>& eps) {
    SecondOrderPosterior<T> post = e.forward(g.batch, g.adj.dense, x.dense);
    Var<T> z = eps.defined() ? e.sample(g.batch, post, eps) : post.mu;
    return {std::move(post), std::move(z)};
  }
  static Var<T> cluster_logits(const ClusterNet& c, const LevelGraph<T>& g, const Var<T>& z) {
    return c.logits(g.batch, g.adj.dense, z);
  }
  /// Per graph g: A_{s+1,g} = Π_gᵀ A_{s,g} Π_g, X_{s+1,g} = pool(Π_g, Z_g); the networks read κ_g A_{s+1}.
  static void coarsen_pool(const MgvaeConfig& cfg, const LevelGraph<T>& g, const Var<T>& z, std::int64_t K,
                           LevelOutput<T, 2>& lv) {
    const RaggedBatch& bs = g.batch;
    const std::int64_t B = bs.graphs();
    std::vector<Var<T>> ablocks, xblocks;
    Tensor<T> kappa(Shape{B * K * K, 1});
    for (std::int64_t q = 0; q < B; ++q) {
      const Var<T> P = slice(lv.clustering.pi, 0, bs.node_off[q], bs.node_off[q + 1]);  // [n, K]
      ablocks.push_back(coarsen_pairs(slice(g.raw.dense, 0, bs.pair_off[q], bs.pair_off[q + 1]), P));  // [K², E]
      xblocks.push_back(pool(P, slice(z, 0, bs.node_off[q], bs.node_off[q + 1]), cfg.pooling));
      for (std::int64_t r = 0; r < K * K; ++r)
        kappa.data()[q * K * K + r] = static_cast<T>(K) * g.inv_total[static_cast<std::size_t>(q)];
    }
    lv.batch = RaggedBatch::from_sizes(std::vector<std::int64_t>(static_cast<std::size_t>(B), K));
    lv.coarse_adj = concat<T>(ablocks, 0);
    lv.adj_in = mul(lv.coarse_adj, constant(kappa));
    lv.pooled = concat<T>(xblocks, 0);
  }
  static LevelGraph<T> next_graph(const LevelOutput<T, 2>& lv, const LevelGraph<T>& g) {
    return LevelGraph<T>{lv.batch, Adjacency<T>::of(lv.adj_in), Adjacency<T>::of(lv.coarse_adj), g.inv_total};
  }
  /// w_kl · mean_g Σ_c KL(N(μ_gc, L L ᵀ + εI) ‖ N(0, (1 + ε) I)) / n_g².
  static Var<T> kl(const MgvaeConfig& cfg, const RaggedBatch& b, const SecondOrderPosterior<T>& post) {
    const Var<T> total = second_order_standard_kl(b, post, static_cast<T>(cfg.order2_jitter), /*per_pair_mean=*/true);
    return mul_scalar(total, static_cast<T>(cfg.w_kl / static_cast<double>(b.graphs())));
  }
  /// The local decoder applied to every cluster of G_s separately (a cluster's induced subgraph is
  /// a graph of the decoder's ragged batch, Def. 4): mean BCE_pw over the ordered intra-cluster
  /// pairs u ≠ v, each weighted by ⟨Π_u, Π_v⟩ when the clustering is learned. Targets [P_s, E].
  static Var<T> local_loss(const MgvaeConfig& cfg, const Decoder* dec, const RaggedBatch& bs, const Var<T>& zs,
                           const PairTarget<T>& target, const Clustering<T>& c) {
    const Tensor<T>& tgt = target.dense;
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
    const Var<T> logits = dec->forward(cb, index_select(zs, 0, rows));  // [Σ m², E]
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
    if (cfg.local_grad_to_clustering && c.pi.requires_grad()) l = mul(l, reshape(pair_dot(c.pi, pairs), Shape{M, 1}));
    return mean(l);
  }
  /// Second-order global decoder of G_s: MSE(σ(d(Z_s)), A_s / max A_s per graph).
  static Var<T> coarse_loss(const Decoder* dec, const RaggedBatch& bs, const Var<T>& zs, const Tensor<T>& scaled) {
    return mse(sigmoid(dec->forward(bs, zs)), constant(scaled));
  }
  static std::int64_t graph_of(const RaggedBatch& b, std::int64_t node) {
    return static_cast<std::int64_t>(std::upper_bound(b.node_off.begin(), b.node_off.end(), node) - b.node_off.begin()) - 1;
  }
};

/// The learnable parts and the step of one MGN level (Def. 4; see the file comment): the
/// clustering network (learned clustering only), the encoder of G_{s+1}, and for Order 2 the
/// local decoder of G_s's clusters and the global decoder of G_{s+1} (all levels but the top).
/// `Encoder` (Order 1 only) replaces the level's Gaussian encoder, e.g. by GcnDeterministicEncoder
/// for a supervised MGN; it needs forward(Adjacency, NodeFeatures, eps) → GaussianLatent.
template <class T, int Order = 1, class Encoder = typename MgnOrder<T, Order>::Encoder>
class MgnLevel : public nn::Module<T> {
  static_assert(Order == 1 || Order == 2, "MgnLevel: Order must be 1 (first-order) or 2 (second-order)");
  static_assert(Order == 1 || std::is_same_v<Encoder, typename MgnOrder<T, Order>::Encoder>,
                "MgnLevel: a custom encoder is a first-order option");

 public:
  using Ops = MgnOrder<T, Order>;

  /// @param k clusters K_s of this level, @param has_global whether G_{s+1} gets a global decoder.
  MgnLevel(const MgvaeConfig& cfg, std::int64_t k, bool has_global, CounterRng& rng)
    requires std::is_same_v<Encoder, typename MgnOrder<T, Order>::Encoder>
      : MgnLevel(cfg, k, has_global, rng, [&cfg](CounterRng& r) { return Ops::make_encoder(cfg, cfg.latent, r); }) {}

  /// With the encoder made by `make_encoder(rng)` (called after the clustering network is drawn).
  template <class MakeEncoder>
  MgnLevel(const MgvaeConfig& cfg, std::int64_t k, bool has_global, CounterRng& rng, MakeEncoder&& make_encoder)
      : cfg_(cfg), k_(k) {
    check_arg(k >= 1, "MgnLevel", "k", "must be >= 1");
    if (cfg.clustering == ClusteringKind::Learned) cluster_ = this->register_module("cluster", Ops::make_clustering(cfg, k, rng));
    encoder_ = this->register_module("encoder", std::shared_ptr<Encoder>(make_encoder(rng)));
    if constexpr (Ops::kParametricDecoders) {
      local_ = this->register_module("local", Ops::make_decoder(cfg, rng));
      if (has_global) global_ = this->register_module("global", Ops::make_decoder(cfg, rng));
    }
  }

  std::int64_t k() const { return k_; }
  ClusteringKind kind() const { return cfg_.clustering; }
  const typename Ops::ClusterNet& clustering() const { return *cluster_; }
  const Encoder& encoder() const { return *encoder_; }

  /// The level step G_s → G_{s+1}: `fixed` labels (fixed clustering) or the learned clustering
  /// with `gumbel` noise [N_s, K] (undefined: Eq. 4 argmax); `eps` the encoder noise (undefined: z = μ).
  /// @throw std::invalid_argument if the clustering is learned but the level has no network.
  LevelOutput<T, Order> forward(const LevelGraph<T>& g, const Var<T>& z, const Tensor<T>& gumbel, const Tensor<T>& eps,
                                const std::vector<std::int64_t>* fixed = nullptr) const {
    LevelOutput<T, Order> lv;
    if (fixed) {
      lv.clustering = fixed_clustering<T>(*fixed, k_);
    } else {
      if (!cluster_) throw_invalid("MgnLevel::forward", "learned clustering requested but the level was built for a fixed one");
      lv.clustering = straight_through_gumbel(Ops::cluster_logits(*cluster_, g, z), gumbel, static_cast<T>(cfg_.tau),
                                              cfg_.straight_through);
    }
    Ops::coarsen_pool(cfg_, g, z, k_, lv);
    std::tie(lv.post, lv.z) = Ops::encode(*encoder_, Ops::next_graph(lv, g), NodeFeatures<T>::of(lv.pooled), eps);
    return lv;
  }
  /// G_{s+1} as the next level reads it.
  static LevelGraph<T> next_graph(const LevelOutput<T, Order>& lv, const LevelGraph<T>& g) { return Ops::next_graph(lv, g); }

  /// Local decoders of this level's clusters of G_s (batch `bs`, latents `zs`, pair target).
  /// Undefined when no cluster has two nodes.
  Var<T> local_loss(const RaggedBatch& bs, const Var<T>& zs, const PairTarget<T>& tgt, const Clustering<T>& c) const {
    return Ops::local_loss(cfg_, decoder_ptr(local_), bs, zs, tgt, c);
  }
  /// The global decoder of G_{s+1} (this level's output graph) against A_{s+1} / max A_{s+1}.
  Var<T> global_loss(const RaggedBatch& b, const Var<T>& z, const Tensor<T>& scaled) const {
    return Ops::coarse_loss(decoder_ptr(global_), b, z, scaled);
  }

  /// KL(P ‖ U_K) of a clustering of the batch `bs`, mean over its graphs: on the straight-through
  /// sample, the Eq. 4 argmax or both (cfg.balance_on); the relaxed form (cfg.straight_through
  /// false) on the soft Π.
  Var<T> balance(const RaggedBatch& bs, const Clustering<T>& c) const {
    if (bs.graphs() == 1) return balance_one(c);
    Var<T> total;
    for (std::int64_t g = 0; g < bs.graphs(); ++g) {
      const Var<T> kb = balance_one(graph_part(bs, c, g));
      total = total.defined() ? add(total, kb) : kb;
    }
    return mul_scalar(total, T(1) / static_cast<T>(bs.graphs()));
  }
  /// KL(p̄ ‖ U) + mean_i H(p_i) of a learned clustering (elbo.hpp `infomax_balance`), mean over graphs.
  Var<T> infomax(const RaggedBatch& bs, const Clustering<T>& c) const {
    if (bs.graphs() == 1) return infomax_balance(c.probs);
    Var<T> total;
    for (std::int64_t g = 0; g < bs.graphs(); ++g) {
      const Var<T> kb = infomax_balance(slice(c.probs, 0, bs.node_off[g], bs.node_off[g + 1]));
      total = total.defined() ? add(total, kb) : kb;
    }
    return mul_scalar(total, T(1) / static_cast<T>(bs.graphs()));
  }

 private:
  template <class P>
  static const auto* decoder_ptr(const std::shared_ptr<P>& p) {
    return p.get();
  }
  static const void* decoder_ptr(std::nullptr_t) { return nullptr; }

  Var<T> balance_one(const Clustering<T>& c) const {
    const bool learned = c.probs.defined();
    if (learned && !cfg_.straight_through) return mgvae::balanced_cut_kl(c.pi, BalancedCutForm::ZeroOffset);  // soft P > 0
    if (!learned || cfg_.balance_on == BalanceOn::Sample) return balanced_cut_kl(c);
    if (cfg_.balance_on == BalanceOn::Argmax) return balanced_cut_kl_argmax(c);
    return add(balanced_cut_kl(c), balanced_cut_kl_argmax(c));
  }
  static Clustering<T> graph_part(const RaggedBatch& bs, const Clustering<T>& c, std::int64_t g) {
    const std::int64_t lo = bs.node_off[g], hi = bs.node_off[g + 1];
    Clustering<T> cg;
    cg.k = c.k;
    cg.labels.assign(c.labels.begin() + lo, c.labels.begin() + hi);
    cg.pi = slice(c.pi, 0, lo, hi);
    if (c.probs.defined()) cg.probs = slice(c.probs, 0, lo, hi);
    return cg;
  }

  using DecoderHolder = std::conditional_t<Ops::kParametricDecoders, std::shared_ptr<typename Ops::Decoder>, std::nullptr_t>;

  MgvaeConfig cfg_;
  std::int64_t k_;
  std::shared_ptr<typename Ops::ClusterNet> cluster_;
  std::shared_ptr<Encoder> encoder_;
  DecoderHolder local_{}, global_{};
};

}  // namespace mgvae::models
