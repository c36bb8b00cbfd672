#pragma once
/// @file vgae.hpp
/// VGAE baseline (Kipf & Welling 2016, "Variational Graph Auto-Encoders"):
///   encoder  H = ReLU(Â X W₀) (32), μ = Â H W_μ, log σ = Â H W_σ (16), z = μ + σ ⊙ ε
///   decoder  p(A_uv = 1 | z) = σ(⟨z_u, z_v⟩)
///   loss     norm · mean BCE_pw(ZZᵀ, A + I) + KL,  pos_weight = (N² − ΣA)/ΣA,
///            norm = N²/(2(N² − ΣA)),  KL = −(0.5/N) mean_i Σ_d (1 + 2 log σ − μ² − σ²)
/// with the correct σ² = exp(2 log σ) (the authors' PyTorch port writes exp(log σ); see elbo.hpp).
#include <cstdint>
#include <memory>
#include <vector>

#include "mgvae/models/mgn/gcn.hpp"
#include "mgvae/models/mgvae/decoder.hpp"
#include "mgvae/models/mgvae/elbo.hpp"

namespace mgvae::models {

template <class T>
class Vgae : public nn::Module<T> {
 public:
  Vgae(std::int64_t in_features, const std::vector<std::int64_t>& hidden, std::int64_t latent, CounterRng& rng) {
    enc_ = this->register_module("encoder", std::make_shared<GcnGaussianEncoder<T>>(in_features, hidden, latent, rng));
  }
  /// `eps` [n, latent] for training, undefined for evaluation (z = μ).
  GaussianLatent<T> forward(const CsrMatrix<T>& adj_norm, const NodeFeatures<T>& x, const Tensor<T>& eps) const {
    return enc_->forward(Adjacency<T>::of(adj_norm), x, eps);
  }
  LossTerms<T> loss(const GaussianLatent<T>& q, const DenseReconTarget<T>& target) const {
    LossTerms<T> t;
    t.add("recon_global", dense_recon_loss(q.z, target));
    t.add("kl[0]", kl_standard_normal(q.mu, q.logstd));
    return t;
  }
  LossTerms<T> loss_sampled(const GaussianLatent<T>& q, const std::vector<std::pair<std::int64_t, std::int64_t>>& pos,
                            const std::vector<std::pair<std::int64_t, std::int64_t>>& neg) const {
    LossTerms<T> t;
    t.add("recon_global", sampled_recon_loss(q.z, pos, neg));
    t.add("kl[0]", kl_standard_normal(q.mu, q.logstd));
    return t;
  }
  std::int64_t latent() const { return enc_->latent(); }

 private:
  std::shared_ptr<GcnGaussianEncoder<T>> enc_;
};

}  // namespace mgvae::models
