#pragma once
/// @file second_order.hpp
/// Second-order equivariant message passing (paper §3.2, Eq. 3) and the second-order Gaussian
/// encoder with Σ = L Lᵀ + εI (App. B), on ragged batches (no padding).
///
/// `SecondOrderLayer`: for H [P, C] and an adjacency with E edge channels A [P, E],
///   H' = γ( W · [ s ⊙ fused_contract(A, H)  ‖  equivariant_2to2(H) ] + b )
/// (computed with W split into its message and basis rows, without forming the concatenation)
/// i.e. the six contractions of A ⊗ H (never materialised) and the 15-map basis of the 2→2
/// equivariant linear maps, mixed by one learnable channel Linear (6EC + 15C → O). With `normalize`
/// (default) the contractions of graph g are scaled by s = 1/n_g and the basis sums by 1/n (totals
/// 1/n²), the authors' 'mean' normalisation (REFERENCE-NOTES §2.5), which keeps activations O(1)
/// across molecule sizes. Every part is permutation equivariant, so the layer is (Prop. 1).
///
/// `SecondOrderEncoder` (App. B): lifts node features X [N, F] to second order with the 1→2 basis,
/// concatenates the adjacency channels, applies `layers` SecondOrderLayers, then reads
///   μ [N, d]   = Linear(equivariant_2to1(H))          (first order, per node and latent channel)
///   L_g [d, n_g, n_g] = Linear(equivariant_2to2(H))   (a full square factor per graph and channel)
/// so the posterior of graph g, channel c is N(μ_g[:, c], L_gc L_gcᵀ + εI) over its n_g nodes:
/// correlated across nodes, as the paper's second-order encoder. Sampling z = μ + L ε is equivariant
/// when ε is permuted with the nodes; the KL to N(0, I + εI) (or to any prior) is invariant.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mgvae/autodiff/var.hpp"
#include "mgvae/core/error.hpp"
#include "mgvae/core/rng.hpp"
#include "mgvae/models/mgn/gcn.hpp"
#include "mgvae/nn/linear.hpp"
#include "mgvae/nn/module.hpp"
#include "mgvae/ops/elementwise.hpp"
#include "mgvae/ops/equi_tensor.hpp"
#include "mgvae/ops/equivariant.hpp"
#include "mgvae/ops/gaussian.hpp"
#include "mgvae/ops/matmul.hpp"
#include "mgvae/ops/reduce.hpp"
#include "mgvae/ops/shape.hpp"

namespace mgvae::models {

/// 1/n_g on every row of graph g's second-order block: [P, 1].
template <class T>
Tensor<T> inverse_size_rows(const RaggedBatch& b) {
  Tensor<T> s(Shape{b.pairs(), 1});
  for (std::int64_t g = 0; g < b.graphs(); ++g)
    for (std::int64_t p = b.pair_off[g]; p < b.pair_off[g + 1]; ++p) s.data()[p] = T(1) / static_cast<T>(b.size(g));
  return s;
}

/// One second-order message-passing layer (Eq. 3 + the 2→2 equivariant basis).
template <class T>
class SecondOrderLayer : public nn::Module<T> {
 public:
  /// @param edge_channels E (≥ 1), @param in C, @param out O.
  /// @throw std::invalid_argument if a size is not positive.
  SecondOrderLayer(std::int64_t edge_channels, std::int64_t in, std::int64_t out, CounterRng& rng,
                   Activation act = Activation::Relu, ContractionMode mode = ContractionMode::Trace,
                   bool normalize = true)
      : e_(edge_channels), in_(in), act_(act), mode_(mode), normalize_(normalize) {
    check_arg(edge_channels >= 1, "SecondOrderLayer", "edge_channels", "must be >= 1");
    check_arg(in >= 1, "SecondOrderLayer", "in", "must be >= 1");
    check_arg(out >= 1, "SecondOrderLayer", "out", "must be >= 1");
    mix_ = this->register_module("mix", std::make_shared<nn::Linear<T>>(6 * edge_channels * in + 15 * in, out, rng));
  }
  /// A [P, E], H [P, C] → [P, O]. @throw std::invalid_argument (from the ops) on shape mismatches.
  ///
  /// Computed with the weight split in its message and basis rows, W = [W₁; W₂]:
  ///   y = s ⊙ (msg · W₁) + basis · W₂ + b   (= W · [s ⊙ msg ‖ basis] + b, s = 1/n_g per row)
  /// so the [P, 6EC + 15C] concatenation is never formed and the 1/n_g scale is applied to the O
  /// output channels instead of the 6EC message channels (about a third of a QM9 training step).
  Var<T> forward(const RaggedBatch& b, const Var<T>& A, const Var<T>& H) const {
    const std::int64_t m = 6 * e_ * in_;
    const Var<T>& W = mix_->weight();  // [6EC + 15C, O]
    Var<T> y = matmul(fused_contract(b, A, H, mode_), slice(W, 0, 0, m));  // [P, O]
    if (normalize_) y = mul(y, constant(inverse_size_rows<T>(b)));
    y = add(y, matmul(equivariant_2to2(b, H, normalize_), slice(W, 0, m, m + 15 * in_)));
    if (mix_->has_bias()) y = add(y, mix_->bias());
    return activate(y, act_);
  }
  /// Typed form (ops/equi_tensor.hpp): PairTensor A [P, E], PairTensor H [P, C] → PairTensor [P, O] on
  /// the same batch; the same ops in the same order as the untyped forward (bit-identical output).
  /// @throw std::invalid_argument if A and H belong to different batches, or on shape mismatches.
  PairTensor<T> forward(const PairTensor<T>& A, const PairTensor<T>& H) const {
    const std::int64_t m = 6 * e_ * in_;
    const Var<T>& W = mix_->weight();  // [6EC + 15C, O]
    Var<T> y = matmul(fused_contract(A, H, mode_).var(), slice(W, 0, 0, m));  // [P, O]
    if (normalize_) y = mul(y, constant(inverse_size_rows<T>(H.batch())));
    y = add(y, matmul(equivariant_2to2(H, normalize_).var(), slice(W, 0, m, m + 15 * in_)));
    if (mix_->has_bias()) y = add(y, mix_->bias());
    return PairTensor<T>(H.batch_ptr(), activate(y, act_));
  }
  /// The mixing Linear (weight [6EC + 15C, O], rows: messages then basis).
  const nn::Linear<T>& mix() const noexcept { return *mix_; }
  std::int64_t edge_channels() const noexcept { return e_; }
  std::int64_t in_features() const noexcept { return in_; }
  std::int64_t out_features() const noexcept { return mix_->out_features(); }

 private:
  std::int64_t e_, in_;
  Activation act_;
  ContractionMode mode_;
  bool normalize_;
  std::shared_ptr<nn::Linear<T>> mix_;
};

/// Posterior of the second-order encoder: μ [N, d] and one factor L_g [d, n_g, n_g] per graph.
template <class T>
struct SecondOrderPosterior {
  Var<T> mu;
  std::vector<Var<T>> L;
};

/// Σ_g w_g Σ_c KL(N(μ_gc, L_gc L_gcᵀ + εI) ‖ N(0, (1 + ε) I)) over the graphs of a ragged batch
/// (graphs without nodes skipped), with w_g = 1, or w_g = 1 / n_g² when `per_pair_mean` (the
/// second-order MGVAE's per-graph normalisation). The one second-order KL to the standard prior:
/// `SecondOrderEncoder::kl_standard` and the Order-2 MGN level (level.hpp) call it.
template <class T>
Var<T> second_order_standard_kl(const RaggedBatch& b, const SecondOrderPosterior<T>& post, T jitter,
                                bool per_pair_mean = false) {
  Var<T> total;
  for (std::int64_t g = 0; g < b.graphs(); ++g) {
    const std::int64_t n = b.size(g);
    if (n == 0) continue;
    const Var<T> mu_g = transpose(slice(post.mu, 0, b.node_off[g], b.node_off[g + 1]), 0, 1);  // [d, n]
    Tensor<T> eye = Tensor<T>::zeros(Shape{1, n, n});
    for (std::int64_t i = 0; i < n; ++i) eye.data()[i * n + i] = T(1);
    Var<T> kl = sum(gaussian_kl(mu_g, post.L[static_cast<std::size_t>(g)], constant(Tensor<T>::zeros(Shape{1, n})),
                                constant(eye), jitter));
    if (per_pair_mean) kl = mul_scalar(kl, T(1) / static_cast<T>(n * n));
    total = total.defined() ? add(total, kl) : kl;
  }
  return total.defined() ? total : constant(Tensor<T>::scalar(T(0)));
}

/// Second-order encoder q(Z | A, X) with Σ = L Lᵀ + εI (App. B).
template <class T>
class SecondOrderEncoder : public nn::Module<T> {
 public:
  /// @param edge_channels E of the adjacency (e.g. 3 bond types), @param features F of X,
  /// @param hidden channels of the hidden second-order layers, @param latent d, @param layers ≥ 1.
  SecondOrderEncoder(std::int64_t edge_channels, std::int64_t features, std::int64_t hidden, std::int64_t latent,
                     int layers, CounterRng& rng, T jitter = T(1e-4), ContractionMode mode = ContractionMode::Trace)
      : e_(edge_channels), f_(features), d_(latent), jitter_(jitter) {
    check_arg(features >= 1, "SecondOrderEncoder", "features", "must be >= 1");
    check_arg(latent >= 1, "SecondOrderEncoder", "latent", "must be >= 1");
    check_arg(layers >= 1, "SecondOrderEncoder", "layers", "must be >= 1");
    check_arg(jitter >= T(0), "SecondOrderEncoder", "jitter", "must be >= 0");
    std::int64_t c = edge_channels + 5 * features;
    for (int l = 0; l < layers; ++l) {
      layers_.push_back(this->register_module(
          "layer" + std::to_string(l),
          std::make_shared<SecondOrderLayer<T>>(edge_channels, c, hidden, rng, Activation::Relu, mode)));
      c = hidden;
    }
    mu_ = this->register_module("mu", std::make_shared<nn::Linear<T>>(5 * hidden, latent, rng));
    chol_ = this->register_module("chol", std::make_shared<nn::Linear<T>>(15 * hidden, latent, rng));
  }

  /// A [P, E], X [N, F] → μ and the per-graph factors. @throw std::invalid_argument on shape mismatches.
  SecondOrderPosterior<T> forward(const RaggedBatch& b, const Var<T>& A, const Var<T>& X) const {
    Var<T> H = concat<T>({A, equivariant_1to2(b, X, true)}, 1);
    for (const auto& l : layers_) H = l->forward(b, A, H);
    SecondOrderPosterior<T> post;
    post.mu = mu_->forward(equivariant_2to1(b, H, true));
    const Var<T> Lall = chol_->forward(equivariant_2to2(b, H, true));  // [P, d]
    for (std::int64_t g = 0; g < b.graphs(); ++g) {
      const std::int64_t n = b.size(g);
      const Var<T> blk = reshape(slice(Lall, 0, b.pair_off[g], b.pair_off[g + 1]), Shape{n, n, d_});
      post.L.push_back(permute(blk, {2, 0, 1}));  // [d, n, n]
    }
    return post;
  }

  /// z = μ + L ε with node-indexed noise eps [N, d] (constant): z_g[:, c] = μ_g[:, c] + L_gc ε_g[:, c].
  /// @throw std::invalid_argument if eps is not [N, d].
  Var<T> sample(const RaggedBatch& b, const SecondOrderPosterior<T>& post, const Tensor<T>& eps) const {
    check_arg(eps.shape() == Shape{b.nodes(), d_}, "SecondOrderEncoder::sample", "eps",
              "must be [N, d] = " + shape_str(Shape{b.nodes(), d_}) + ", got " + shape_str(eps.shape()));
    std::vector<Var<T>> parts;
    const Var<T> e = constant(eps);
    for (std::int64_t g = 0; g < b.graphs(); ++g) {
      const std::int64_t n = b.size(g);
      if (n == 0) continue;
      const Var<T> eg = unsqueeze(transpose(slice(e, 0, b.node_off[g], b.node_off[g + 1]), 0, 1), 2);  // [d, n, 1]
      const Var<T> le = transpose(reshape(matmul(post.L[g], eg), Shape{d_, n}), 0, 1);              // [n, d]
      parts.push_back(add(slice(post.mu, 0, b.node_off[g], b.node_off[g + 1]), le));
    }
    if (parts.empty()) return post.mu;
    return concat<T>(parts, 0);
  }
  /// Noise for `sample` from the counter-based RNG: eps[r, c] = rng.normal(offset + r·d + c).
  Tensor<T> draw_noise(const RaggedBatch& b, const CounterRng& rng, std::uint64_t offset = 0) const {
    Tensor<T> eps(Shape{b.nodes(), d_});
    for (std::int64_t i = 0; i < eps.numel(); ++i)
      eps.data()[i] = static_cast<T>(rng.normal(offset + static_cast<std::uint64_t>(i)));
    return eps;
  }

  /// Σ_g Σ_c KL(N(μ_gc, L_gc L_gcᵀ + εI) ‖ N(0, (1 + ε) I)): a scalar, permutation invariant.
  Var<T> kl_standard(const RaggedBatch& b, const SecondOrderPosterior<T>& post) const {
    return second_order_standard_kl(b, post, jitter_);
  }
  std::int64_t latent() const noexcept { return d_; }
  T jitter() const noexcept { return jitter_; }

 private:
  std::int64_t e_, f_, d_;
  T jitter_;
  std::vector<std::shared_ptr<SecondOrderLayer<T>>> layers_;
  std::shared_ptr<nn::Linear<T>> mu_, chol_;
};

}  // namespace mgvae::models
