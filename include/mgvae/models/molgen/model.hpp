#pragma once
/// @file model.hpp
/// All-at-once second-order MGVAE for molecules (paper §4.2, §5.2, App. B–D.2), on ragged batches.
///
/// Finest level (the molecule, n atoms; A [P, E] bond-type channels, X [N, F] one-hot atoms):
///   q(Z | A, X):   (μ, L) = SecondOrderEncoder(A, X)            μ [n, d], L_c [n, n] per channel c
///                  z_{·c} = μ_{·c} + L_c ε_{·c},  Σ_c = L_c L_cᵀ + εI                  (App. B)
///   p(G | Z):      H_0 = ReLU(W_in [z_i ⊙ z_j ‖ 1→2(z)])                 (outer product + 1→2 basis)
///                  Â = tanh(W_a H_0)   (E_dec learned "soft adjacency" channels)
///                  H_{t+1} = SecondOrderLayer(Â, H_t)   t < T_dec          (Eq. 3 + 2→2 basis, ReLU)
///                  bond logits_ij = ½(o_ij + o_ji), o = W_e H_T  → {none, single, double, triple}
///                  atom logits_i  = W_x [2→1(H_T) ‖ z]_i
///   prior:         Standard: N(0, (1+ε)I) per node and channel; or
///                  Learned (App. C): M slot means μ̂ [M, d] and an equivariant covariance factor per
///                  channel L̂_c = a_c I + (b_c / n) 11ᵀ; node i of a posterior is matched to the slot
///                  π(i) = argmin_j ‖μ_i − μ̂_j‖ (free matching), prior N(μ̂_π, L̂L̂ᵀ + εI).
/// Coarse levels s = 1..S (learned clustering, K_s clusters; paper L = 3 with K = 4, 2, 1):
///   S = W_k 2→1(SecondOrderLayer(A_{s−1}, 1→2(W_z Z_{s−1})))           (cluster scores [n, K])
///   Π = one_hot(argmax(S + g)) straight-through softmax((S + g)/τ)     (Gumbel, τ = 1)
///   A_s[e] = κ Πᵀ A_{s−1}[e] Π per graph and edge channel, κ = K / max(1, Σ A_{s−1}) (a constant: every
///   coarse adjacency sums to K),  X_s = Πᵀ Z_{s−1} / (|cluster| + 1)
///   (μ_s, L_s) = SecondOrderEncoder_s(A_s, X_s),  z_s = μ_s + L_s ε_s
///   Â_s = W_o 2→2(ReLU(W_i [z ⊙ z ‖ 1→2(z)]))   regresses A_s (MSE, target detached)
/// Loss per batch of B graphs:
///   [ Σ_g Σ_{i<j} w_bond[y_ij] CE(bond_ij) + Σ_i w_atom[x_i] CE(atom_i) + β KL_0 ]/B
///   + λ_c [ Σ_s MSE_s + β KL_s ]/B + λ_b Σ_s Σ_g KL(P_g ‖ U_K) / B
/// Every piece is S_n-equivariant, so the decoder logits are equivariant in z and the loss is
/// invariant when the encoder and Gumbel noise are permuted with the atoms (tested).
///
/// Ablation (paper Table 6): `MolGenConfig::decoder = DecoderKind::Mlp` replaces the second-order decoder
/// by `MlpDecoder` (mlp_decoder.hpp: an MLP on the zero-padded, flattened latent, max_atoms atoms).
/// That decoder — hence the reconstruction terms — is NOT permutation-equivariant; the encoder, the
/// KL, the clustering and the coarse levels are unchanged and still are (tested).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "mgvae/autodiff/tape.hpp"
#include "mgvae/autodiff/var.hpp"
#include "mgvae/core/error.hpp"
#include "mgvae/core/rng.hpp"
#include "mgvae/models/equivariant_prior.hpp"
#include "mgvae/models/mgn/coarsen.hpp"
#include "mgvae/models/mgn/second_order.hpp"
#include "mgvae/models/molgen/graph.hpp"
#include "mgvae/models/molgen/layers.hpp"
#include "mgvae/models/molgen/mlp_decoder.hpp"
#include "mgvae/nn/linear.hpp"
#include "mgvae/nn/module.hpp"
#include "mgvae/ops/elementwise.hpp"
#include "mgvae/ops/equivariant.hpp"
#include "mgvae/ops/gaussian.hpp"
#include "mgvae/ops/gumbel.hpp"
#include "mgvae/ops/indexing.hpp"
#include "mgvae/ops/loss.hpp"
#include "mgvae/ops/matmul.hpp"
#include "mgvae/ops/reduce.hpp"
#include "mgvae/ops/shape.hpp"
#include "mgvae/ops/softmax.hpp"

namespace mgvae::molgen {

using models::PriorKind;  ///< Standard or Learned (models/equivariant_prior.hpp)
/// p(G | Z): the second-order all-at-once decoder (MolDecoder, S_n-equivariant) or the MLP ablation
/// (MlpDecoder, not equivariant, graphs of at most `max_atoms` atoms).
enum class DecoderKind { AllAtOnce, Mlp };

struct MolGenConfig {
  std::int64_t atom_types = 4;         ///< F (QM9: C N O F)
  std::int64_t bond_types = 3;         ///< E (single, double, triple); pair classes = E + 1
  std::int64_t hidden = 32;            ///< channels of the finest encoder and decoder layers
  std::int64_t latent = 16;            ///< d_z per node
  int enc_layers = 3;                  ///< second-order layers of the finest encoder
  int dec_layers = 3;                  ///< second-order layers of the decoder
  std::int64_t dec_edge_channels = 2;  ///< E_dec: learned adjacency channels the decoder layers contract with
  std::vector<std::int64_t> clusters = {4, 2, 1};  ///< K of each coarse level, finest first (empty: none)
  std::int64_t coarse_hidden = 16;     ///< channels of clustering / coarse encoder / coarse decoder
  std::int64_t cluster_in = 8;         ///< z is projected to this many channels before the clustering layer
  int coarse_layers = 1;               ///< second-order layers of each coarse encoder
  double tau = 1.0;                    ///< Gumbel-softmax temperature
  bool straight_through = true;        ///< hard Π forward; false: relaxed softmax Π (gradchecks)
  bool hierarchy_grad = true;          ///< false: the coarse levels read a detached finest z
  bool detach_coarse_target = true;    ///< the coarse decoders regress a detached A_s (false: exact gradient, gradchecks)
  double chol_init_scale = 0.1;        ///< the finest encoder's covariance head starts at this scale (small Σ)
  PriorKind prior = PriorKind::Standard;
  std::int64_t prior_slots = 16;       ///< M, learned prior only
  double jitter = 1e-4;                ///< ε added to every covariance (paper App. C)
  double beta = 1.0;                   ///< KL weight
  double lambda_coarse = 0.1;          ///< weight of the coarse reconstruction + KL terms
  double lambda_balance = 0.1;         ///< weight of the balanced-cut KL of every clustering
  std::vector<double> bond_weight;     ///< per pair class (E + 1); empty = all 1
  std::vector<double> atom_weight;     ///< per atom type (F); empty = all 1
  std::uint64_t seed = 1;              ///< parameter initialisation
  DecoderKind decoder = DecoderKind::AllAtOnce;  ///< Mlp: the Table 6 ablation (not equivariant)
  std::int64_t max_atoms = 9;          ///< Mlp decoder: atoms of the padded latent (QM9: 9 heavy atoms)
  std::int64_t mlp_hidden = 512;       ///< Mlp decoder: hidden width (authors' mrf_mlp: 512)
};

/// Noise of one forward pass (explicit, indexed by node / cluster row, so tests can permute it).
template <class T>
struct MolNoise {
  Tensor<T> eps;                       ///< [N, d]
  std::vector<Tensor<T>> gumbel;       ///< level s: [rows of level s−1, K_s]
  std::vector<Tensor<T>> eps_coarse;   ///< level s: [B·K_s, d]
};

template <class T>
struct MolLevelOut {
  std::int64_t K = 0;
  RaggedBatch b;          ///< the coarse batch (B graphs of K nodes)
  Var<T> scores, Pi;      ///< [rows, K]
  Var<T> A_c;             ///< [B·K², E]
  Var<T> X_c, z;          ///< [B·K, d]
  models::SecondOrderPosterior<T> post;
  Var<T> rec, kl, balance;
};

template <class T>
struct MolForward {
  Var<T> loss;                         ///< the total, a scalar
  Var<T> bond_ce, atom_ce, kl;         ///< finest terms, batch means
  Var<T> coarse_rec, coarse_kl, balance;  ///< sums over levels, batch means (0 without levels)
  Var<T> valence;                      ///< valence penalty of prior decodings (train_step with ValenceReg; else undefined)
  models::SecondOrderPosterior<T> post;
  Var<T> z;                            ///< [N, d]
  Var<T> edge_logits;                  ///< [P, E + 1], symmetric in (i, j)
  Var<T> atom_logits;                  ///< [N, F]
  std::vector<std::int64_t> prior_match;  ///< learned prior: slot of every node
  std::vector<MolLevelOut<T>> levels;
  std::int64_t bond_correct = 0, bond_total = 0, atom_correct = 0, atom_total = 0;  ///< argmax accuracies
};

/// Second-order decoder p(G | Z): logits of the pair classes and atom types.
template <class T>
class MolDecoder : public nn::Module<T> {
 public:
  MolDecoder(std::int64_t latent, std::int64_t hidden, std::int64_t edge_channels, int layers, std::int64_t atom_types,
             std::int64_t pair_classes, CounterRng& rng) {
    check_arg(latent >= 1 && hidden >= 1 && edge_channels >= 1 && layers >= 0 && atom_types >= 1 && pair_classes >= 2,
              "MolDecoder", "sizes", "must be positive (pair_classes >= 2, layers >= 0)");
    in_ = this->register_module("in", std::make_shared<nn::Linear<T>>(6 * latent, hidden, rng));
    adj_ = this->register_module("adj", std::make_shared<nn::Linear<T>>(hidden, edge_channels, rng));
    for (int l = 0; l < layers; ++l)
      layers_.push_back(this->register_module(
          "layer" + std::to_string(l),
          std::make_shared<SplitSecondOrderLayer<T>>(edge_channels, hidden, hidden, rng, models::Activation::Relu)));
    edge_ = this->register_module("edge", std::make_shared<nn::Linear<T>>(hidden, pair_classes, rng));
    node_ = this->register_module("node", std::make_shared<nn::Linear<T>>(5 * hidden + latent, atom_types, rng));
    d_ = latent;
  }
  /// z [N, d] → (edge logits [P, classes] symmetric, atom logits [N, F]). `transpose` is
  /// MolBatch::pair_transpose_index(b). @throw std::invalid_argument on shape mismatches.
  std::pair<Var<T>, Var<T>> forward(const RaggedBatch& b, const Var<T>& z, const std::vector<std::int64_t>& transpose) const {
    check_arg(z.dim() == 2 && z.size(0) == b.nodes() && z.size(1) == d_, "MolDecoder::forward", "z",
              "must be [N, d] = " + shape_str(Shape{b.nodes(), d_}) + ", got " + shape_str(z.shape()));
    check_arg(static_cast<std::int64_t>(transpose.size()) == b.pairs(), "MolDecoder::forward", "transpose",
              "must have one entry per pair (" + std::to_string(b.pairs()) + "), got " + std::to_string(transpose.size()));
    Var<T> H = relu(in_->forward(concat<T>({outer_product(b, z), equivariant_1to2(b, z, true)}, 1)));
    const Var<T> A = tanh(adj_->forward(H));
    for (const auto& l : layers_) H = l->forward(b, A, H);
    const Var<T> o = edge_->forward(H);
    const Var<T> e = mul_scalar(add(o, index_select(o, 0, transpose)), T(0.5));
    const Var<T> a = node_->forward(concat<T>({equivariant_2to1(b, H, true), z}, 1));
    return {e, a};
  }

 private:
  std::int64_t d_ = 0;
  std::shared_ptr<nn::Linear<T>> in_, adj_, edge_, node_;
  std::vector<std::shared_ptr<SplitSecondOrderLayer<T>>> layers_;
};

/// The model. Parameters are registered (nn::Module), so nn::save_checkpoint works.
template <class T>
class MolGenModel : public nn::Module<T> {
 public:
  explicit MolGenModel(const MolGenConfig& c) : cfg_(c) {
    constexpr const char* fn = "MolGenModel";
    check_arg(c.atom_types >= 1, fn, "atom_types", "must be >= 1");
    check_arg(c.bond_types >= 1, fn, "bond_types", "must be >= 1");
    check_arg(c.hidden >= 1 && c.latent >= 1 && c.coarse_hidden >= 1, fn, "hidden/latent", "must be >= 1");
    check_arg(c.enc_layers >= 1 && c.coarse_layers >= 1 && c.dec_layers >= 0, fn, "layers", "must be >= 1 (decoder >= 0)");
    check_arg(c.tau > 0, fn, "tau", "must be > 0");
    check_arg(c.jitter >= 0, fn, "jitter", "must be >= 0");
    check_arg(c.prior_slots >= 1, fn, "prior_slots", "must be >= 1");
    for (auto k : c.clusters) check_arg(k >= 1, fn, "clusters", "every K must be >= 1");
    check_arg(c.bond_weight.empty() || static_cast<std::int64_t>(c.bond_weight.size()) == c.bond_types + 1, fn,
              "bond_weight", "must have bond_types + 1 = " + std::to_string(c.bond_types + 1) + " entries or none, got " +
                                 std::to_string(c.bond_weight.size()));
    check_arg(c.atom_weight.empty() || static_cast<std::int64_t>(c.atom_weight.size()) == c.atom_types, fn,
              "atom_weight", "must have atom_types = " + std::to_string(c.atom_types) + " entries or none, got " +
                                 std::to_string(c.atom_weight.size()));
    CounterRng rng(c.seed, 0x6d6f6c67656eull);
    const std::int64_t E = c.bond_types, d = c.latent, Cc = c.coarse_hidden;
    enc_ = this->register_module("enc", std::make_shared<SplitSecondOrderEncoder<T>>(
                                            E, c.atom_types, c.hidden, d, c.enc_layers, rng, static_cast<T>(c.jitter)));
    if (c.decoder == DecoderKind::Mlp) {
      check_arg(c.max_atoms >= 1 && c.mlp_hidden >= 1, fn, "max_atoms/mlp_hidden", "must be >= 1");
      mlp_dec_ = this->register_module(
          "mlp_dec", std::make_shared<MlpDecoder<T>>(d, c.max_atoms, c.mlp_hidden, c.atom_types, E + 1, rng));
    } else {
      dec_ = this->register_module("dec", std::make_shared<MolDecoder<T>>(d, c.hidden, c.dec_edge_channels, c.dec_layers,
                                                                          c.atom_types, E + 1, rng));
    }
    for (std::size_t s = 0; s < c.clusters.size(); ++s) {
      Level lv;
      lv.K = c.clusters[s];
      const std::string tag = std::to_string(s + 1);
      lv.cluster_in = this->register_module("cluster_in" + tag, std::make_shared<nn::Linear<T>>(d, c.cluster_in, rng));
      lv.cluster = this->register_module("cluster" + tag, std::make_shared<SplitSecondOrderLayer<T>>(
                                                             E, 5 * c.cluster_in, Cc, rng, models::Activation::Relu));
      lv.cluster_out = this->register_module("cluster_out" + tag, std::make_shared<nn::Linear<T>>(5 * Cc, lv.K, rng));
      lv.enc = this->register_module("coarse_enc" + tag, std::make_shared<SplitSecondOrderEncoder<T>>(
                                                             E, d, Cc, d, c.coarse_layers, rng, static_cast<T>(c.jitter)));
      lv.dec_in = this->register_module("coarse_dec_in" + tag, std::make_shared<nn::Linear<T>>(6 * d, Cc, rng));
      lv.dec_out = this->register_module("coarse_dec_out" + tag, std::make_shared<nn::Linear<T>>(15 * Cc, E, rng));
      levels_.push_back(lv);
    }
    {  // a small initial covariance factor: z starts close to μ, so the decoder sees the encoder's signal
      Var<T> w = this->parameter("enc.chol.weight");
      for (std::int64_t k = 0; k < w.numel(); ++k) w.value().data()[k] *= static_cast<T>(c.chol_init_scale);
    }
    if (c.prior == PriorKind::Learned) {
      prior_.mu = this->register_parameter("prior_mu", Tensor<T>::randn(Shape{c.prior_slots, d}, CounterRng(c.seed, 77)));
      prior_.a = this->register_parameter("prior_a", Tensor<T>::ones(Shape{d}));
      prior_.b = this->register_parameter("prior_b", Tensor<T>::zeros(Shape{d}));
    }
  }
  MolGenModel(const MolGenModel&) = delete;
  MolGenModel& operator=(const MolGenModel&) = delete;

  const MolGenConfig& config() const noexcept { return cfg_; }
  /// Changes the KL weight β (KL warm-up schedules).
  void set_beta(double beta) { cfg_.beta = beta; }
  std::int64_t pair_classes() const noexcept { return cfg_.bond_types + 1; }

  /// Draws all noise of one training step: ε [N, d], Gumbel noise per level, coarse ε per level.
  MolNoise<T> draw_noise(const RaggedBatch& b, const CounterRng& rng) const {
    MolNoise<T> nz;
    nz.eps = enc_->draw_noise(b, rng.split(0));
    std::int64_t rows = b.nodes();
    for (std::size_t s = 0; s < levels_.size(); ++s) {
      const std::int64_t K = levels_[s].K;
      nz.gumbel.push_back(sample_gumbel<T>(Shape{rows, K}, rng.split(100 + s)));
      nz.eps_coarse.push_back(Tensor<T>::randn(Shape{b.graphs() * K, cfg_.latent}, rng.split(200 + s)));
      rows = b.graphs() * K;
    }
    return nz;
  }
  /// Evaluation noise: ε = 0 (z = μ), Gumbel 0 (argmax clustering).
  MolNoise<T> zero_noise(const RaggedBatch& b) const {
    MolNoise<T> nz;
    nz.eps = Tensor<T>::zeros(Shape{b.nodes(), cfg_.latent});
    std::int64_t rows = b.nodes();
    for (const auto& lv : levels_) {
      nz.gumbel.push_back(Tensor<T>::zeros(Shape{rows, lv.K}));
      nz.eps_coarse.push_back(Tensor<T>::zeros(Shape{b.graphs() * lv.K, cfg_.latent}));
      rows = b.graphs() * lv.K;
    }
    return nz;
  }

  /// Forward pass with all loss terms; X overrides the batch's one-hot features when defined (gradchecks).
  /// @throw std::invalid_argument when the noise or X does not fit the batch.
  MolForward<T> forward(const MolBatch<T>& mb, const MolNoise<T>& nz, const Var<T>& X = Var<T>()) const {
    constexpr const char* fn = "MolGenModel::forward";
    const RaggedBatch& b = mb.b;
    const std::int64_t B = b.graphs(), d = cfg_.latent, E = cfg_.bond_types;
    check_arg(B >= 1, fn, "batch", "has no graphs");
    for (std::int64_t g = 0; g < B; ++g)
      check_arg(b.size(g) >= 1, fn, "batch", "graph " + std::to_string(g) + " has no atoms");
    check_arg(mb.A.shape() == Shape{b.pairs(), E}, fn, "batch.A",
              "must be [P, E] = " + shape_str(Shape{b.pairs(), E}) + ", got " + shape_str(mb.A.shape()));
    check_arg(nz.eps.shape() == Shape{b.nodes(), d}, fn, "noise.eps",
              "must be [N, d] = " + shape_str(Shape{b.nodes(), d}) + ", got " + shape_str(nz.eps.shape()));
    check_arg(nz.gumbel.size() == levels_.size() && nz.eps_coarse.size() == levels_.size(), fn, "noise",
              "needs one Gumbel and one ε tensor per coarse level (" + std::to_string(levels_.size()) + "), got " +
                  std::to_string(nz.gumbel.size()) + " and " + std::to_string(nz.eps_coarse.size()));
    const Var<T> Xv = X.defined() ? X : constant(mb.X);
    check_arg(Xv.shape() == Shape{b.nodes(), cfg_.atom_types}, fn, "X",
              "must be [N, F] = " + shape_str(Shape{b.nodes(), cfg_.atom_types}) + ", got " + shape_str(Xv.shape()));
    const T invB = T(1) / static_cast<T>(B);
    MolForward<T> out;
    const Var<T> A = constant(mb.A);
    out.post = enc_->forward(b, A, Xv);
    out.z = enc_->sample(b, out.post, nz.eps);
    std::tie(out.edge_logits, out.atom_logits) = run_decoder(b, out.z, mb.transpose);

    // reconstruction
    if (!mb.upper.empty()) {
      const Var<T> lq = cross_entropy(index_select(out.edge_logits, 0, mb.upper), mb.pair_label, Reduction::None);
      out.bond_ce = mul_scalar(sum(mul(lq, constant(class_weights(mb.pair_label, cfg_.bond_weight)))), invB);
    } else {
      out.bond_ce = constant(Tensor<T>::scalar(T(0)));
    }
    const Var<T> la = cross_entropy(out.atom_logits, mb.atom_label, Reduction::None);
    out.atom_ce = mul_scalar(sum(mul(la, constant(class_weights(mb.atom_label, cfg_.atom_weight)))), invB);
    accuracies(mb, out);

    // KL at the finest level
    out.kl = mul_scalar(cfg_.prior == PriorKind::Learned ? kl_learned(b, out.post, &out.prior_match)
                                                          : enc_->kl_standard(b, out.post),
                        invB);
    Var<T> loss = add(add(out.bond_ce, out.atom_ce), mul_scalar(out.kl, static_cast<T>(cfg_.beta)));

    // coarse levels
    Var<T> Zs = cfg_.hierarchy_grad ? out.z : out.z.detach();
    Var<T> As = A;
    RaggedBatch bs = b;
    Var<T> rec_sum, kl_sum, bal_sum;
    for (std::size_t s = 0; s < levels_.size(); ++s) {
      const Level& lv = levels_[s];
      const std::int64_t K = lv.K;
      MolLevelOut<T> lo;
      lo.K = K;
      check_arg(nz.gumbel[s].shape() == Shape{bs.nodes(), K}, fn, "noise.gumbel",
                "level " + std::to_string(s + 1) + " must be " + shape_str(Shape{bs.nodes(), K}) + ", got " +
                    shape_str(nz.gumbel[s].shape()));
      check_arg(nz.eps_coarse[s].shape() == Shape{B * K, d}, fn, "noise.eps_coarse",
                "level " + std::to_string(s + 1) + " must be " + shape_str(Shape{B * K, d}) + ", got " +
                    shape_str(nz.eps_coarse[s].shape()));
      const Var<T> Hc = lv.cluster->forward(bs, As, equivariant_1to2(bs, lv.cluster_in->forward(Zs), true));
      lo.scores = lv.cluster_out->forward(equivariant_2to1(bs, Hc, true));
      GumbelSoftmaxOptions go;
      go.straight_through = cfg_.straight_through;
      go.argmax_of_scaled = true;
      lo.Pi = gumbel_softmax(lo.scores, nz.gumbel[s], static_cast<T>(1.0 / cfg_.tau), go).pi;
      std::vector<Var<T>> ablocks, xblocks;
      Var<T> bal;
      for (std::int64_t g = 0; g < B; ++g) {
        const Var<T> P = slice(lo.Pi, 0, bs.node_off[g], bs.node_off[g + 1]);                   // [n, K]
        const Var<T> PAP = models::coarsen_pairs(slice(As, 0, bs.pair_off[g], bs.pair_off[g + 1]), P);  // [K², E] Πᵀ A Π
        // scale (a constant) so that every coarse adjacency sums to K: ΣΠᵀAΠ = ΣA for a hard Π, so
        // without it the entries grow level after level (and the coarse encoders blow up)
        T tot = 0;
        {
          const Tensor<T> av = As.value().contiguous();
          for (std::int64_t k = bs.pair_off[g] * E; k < bs.pair_off[g + 1] * E; ++k) tot += av.data()[k];
        }
        const T scale = static_cast<T>(K) / std::max(tot, T(1));
        ablocks.push_back(mul_scalar(PAP, scale));
        const Var<T> Zg = slice(Zs, 0, bs.node_off[g], bs.node_off[g + 1]);                      // [n, d]
        const Var<T> cnt = add_scalar(reshape(sum(P, {0}), Shape{K, 1}), T(1));
        xblocks.push_back(div(matmul(transpose(P, 0, 1), Zg), cnt));
        const Var<T> kb = balanced_cut_kl(P);
        bal = bal.defined() ? add(bal, kb) : kb;
      }
      std::vector<std::int64_t> sizes(static_cast<std::size_t>(B), K);
      lo.b = RaggedBatch::from_sizes(sizes);
      lo.A_c = concat<T>(ablocks, 0);
      lo.X_c = concat<T>(xblocks, 0);
      lo.post = lv.enc->forward(lo.b, lo.A_c, lo.X_c);
      lo.z = lv.enc->sample(lo.b, lo.post, nz.eps_coarse[s]);
      lo.kl = mul_scalar(lv.enc->kl_standard(lo.b, lo.post), invB);
      const Var<T> h = relu(lv.dec_in->forward(concat<T>({outer_product(lo.b, lo.z), equivariant_1to2(lo.b, lo.z, true)}, 1)));
      const Var<T> pred = lv.dec_out->forward(equivariant_2to2(lo.b, h, true));
      const Var<T> diff = sub(pred, cfg_.detach_coarse_target ? lo.A_c.detach() : lo.A_c);
      lo.rec = mul_scalar(sum(mul(diff, diff)), invB);
      lo.balance = mul_scalar(bal, invB);
      rec_sum = rec_sum.defined() ? add(rec_sum, lo.rec) : lo.rec;
      kl_sum = kl_sum.defined() ? add(kl_sum, lo.kl) : lo.kl;
      bal_sum = bal_sum.defined() ? add(bal_sum, lo.balance) : lo.balance;
      Zs = lo.z;
      As = lo.A_c;
      bs = lo.b;
      out.levels.push_back(std::move(lo));
    }
    if (rec_sum.defined()) {
      out.coarse_rec = rec_sum;
      out.coarse_kl = kl_sum;
      out.balance = bal_sum;
      loss = add(loss, mul_scalar(add(rec_sum, mul_scalar(kl_sum, static_cast<T>(cfg_.beta))),
                                  static_cast<T>(cfg_.lambda_coarse)));
      loss = add(loss, mul_scalar(bal_sum, static_cast<T>(cfg_.lambda_balance)));
    } else {
      out.coarse_rec = out.coarse_kl = out.balance = constant(Tensor<T>::scalar(T(0)));
    }
    out.loss = loss;
    return out;
  }

  /// Decoder only: z [N, d] → (edge logits [P, E+1], atom logits [N, F]).
  /// With the MLP decoder: @throw std::invalid_argument for a graph larger than max_atoms.
  std::pair<Var<T>, Var<T>> decode(const RaggedBatch& b, const Var<T>& z) const {
    return run_decoder(b, z, MolBatch<T>::pair_transpose_index(b));
  }

  /// Posterior means μ [N, d] of a batch (no noise, no gradient): the finest latents used for
  /// interpolation. @throw std::invalid_argument (from the encoder) on malformed batches.
  Tensor<T> posterior_mean(const MolBatch<T>& mb) const {
    NoGradGuard ng;
    return enc_->forward(mb.b, constant(mb.A), constant(mb.X)).mu.value().contiguous();
  }

  /// Latents from the prior for graphs of the given sizes (b). Standard: z = t √(1+ε) ε', ε' ~ N(0, I).
  /// Learned: node i uses slot j_i, z_{·c} = μ̂_{j,c} + t (L̂_c ε' + √ε ε''), where the slots are
  /// `slots` (one per node, e.g. a training molecule's matched slots) when given, else drawn i.i.d.
  /// from `slot_probs` (uniform when empty). t = `temperature` (1 = the prior itself).
  /// @throw std::invalid_argument if slot_probs or slots have the wrong size, no positive probability,
  ///        or a slot is out of range.
  Tensor<T> sample_prior(const RaggedBatch& b, const CounterRng& rng, const std::vector<double>& slot_probs = {},
                         double temperature = 1.0, const std::vector<std::int64_t>* slots = nullptr) const {
    constexpr const char* fn = "MolGenModel::sample_prior";
    check_arg(temperature >= 0, fn, "temperature", "must be >= 0");
    const std::int64_t N = b.nodes(), d = cfg_.latent;
    Tensor<T> z(Shape{N, d});
    const CounterRng r1 = rng.split(1), r2 = rng.split(2), r3 = rng.split(3);
    if (cfg_.prior == PriorKind::Standard) {
      for (std::int64_t i = 0; i < N * d; ++i)
        z.data()[i] = static_cast<T>(temperature * std::sqrt(1.0 + cfg_.jitter) * r1.normal(static_cast<std::uint64_t>(i)));
      return z;
    }
    const std::int64_t M = cfg_.prior_slots;
    const models::Categorical slot_dist(slot_probs, M, fn, "slot_probs");
    if (slots) {
      check_arg(static_cast<std::int64_t>(slots->size()) == N, fn, "slots",
                "must have one entry per node (" + std::to_string(N) + "), got " + std::to_string(slots->size()));
      for (auto j : *slots) check_arg(j >= 0 && j < M, fn, "slots", "slot " + std::to_string(j) + " out of range");
    }
    const Tensor<T> mu = prior_.mu.value().contiguous(), a = prior_.a.value().contiguous(),
                    bb = prior_.b.value().contiguous();
    for (std::int64_t g = 0; g < b.graphs(); ++g) {
      const std::int64_t o = b.node_off[g];
      models::sample_learned_prior_graph(z.data() + o * d, b.size(g), o, mu, a, bb, cfg_.jitter, temperature, r1, r2,
                                         r3, slot_dist, slots ? slots->data() + o : nullptr);
    }
    return z;
  }

  /// Learned prior: the slot free-matched to each node's posterior mean μ (no noise, no gradient),
  /// in batch node order. @throw std::logic_error with the standard prior.
  std::vector<std::int64_t> match_slots(const MolBatch<T>& mb) const {
    if (cfg_.prior != PriorKind::Learned) throw std::logic_error("MolGenModel::match_slots: the prior is not learned");
    NoGradGuard ng;
    const auto post = enc_->forward(mb.b, constant(mb.A), constant(mb.X));
    const Tensor<T> muv = post.mu.value().contiguous(), muh = prior_.mu.value().contiguous();
    const std::int64_t d = cfg_.latent;
    std::vector<std::int64_t> out;
    for (std::int64_t g = 0; g < mb.b.graphs(); ++g) {
      const std::int64_t n = mb.b.size(g), o = mb.b.node_off[g];
      Tensor<T> mg(Shape{n, d});
      for (std::int64_t k = 0; k < n * d; ++k) mg.data()[k] = muv.data()[o * d + k];
      const auto pi = free_matching(mg, muh);
      out.insert(out.end(), pi.begin(), pi.end());
    }
    return out;
  }

  /// Decoder output of one graph: atom logits [n·F] and pair probabilities [n²·(E+1)].
  struct Decoded {
    std::int64_t n = 0;
    std::vector<T> atom_logits, pair_probs;
  };
  /// Decodes z (no gradient) into per-graph atom logits and softmax pair probabilities.
  std::vector<Decoded> decode_graphs(const RaggedBatch& b, const Tensor<T>& z) const {
    NoGradGuard ng;
    auto [e, a] = decode(b, constant(z));
    const Tensor<T> p = softmax(e, 1).value().contiguous(), av = a.value().contiguous();
    const std::int64_t F = cfg_.atom_types, C = pair_classes();
    std::vector<Decoded> out;
    for (std::int64_t g = 0; g < b.graphs(); ++g) {
      Decoded dg;
      dg.n = b.size(g);
      dg.atom_logits.assign(av.data() + b.node_off[g] * F, av.data() + b.node_off[g + 1] * F);
      dg.pair_probs.assign(p.data() + b.pair_off[g] * C, p.data() + b.pair_off[g + 1] * C);
      out.push_back(std::move(dg));
    }
    return out;
  }

  const SplitSecondOrderEncoder<T>& encoder() const { return *enc_; }
  /// The second-order decoder. @throw std::logic_error when the model uses the MLP decoder.
  const MolDecoder<T>& decoder() const {
    if (!dec_) throw std::logic_error("MolGenModel::decoder: the model uses the MLP decoder (mlp_decoder())");
    return *dec_;
  }
  /// The MLP decoder. @throw std::logic_error when the model uses the second-order decoder.
  const MlpDecoder<T>& mlp_decoder() const {
    if (!mlp_dec_) throw std::logic_error("MolGenModel::mlp_decoder: the model uses the second-order decoder");
    return *mlp_dec_;
  }
  std::size_t num_levels() const noexcept { return levels_.size(); }

 private:
  struct Level {
    std::int64_t K = 1;
    std::shared_ptr<SplitSecondOrderLayer<T>> cluster;
    std::shared_ptr<nn::Linear<T>> cluster_in, cluster_out, dec_in, dec_out;
    std::shared_ptr<SplitSecondOrderEncoder<T>> enc;
  };

  std::pair<Var<T>, Var<T>> run_decoder(const RaggedBatch& b, const Var<T>& z, const std::vector<std::int64_t>& tr) const {
    return mlp_dec_ ? mlp_dec_->forward(b, z, tr) : dec_->forward(b, z, tr);
  }
  static Tensor<T> class_weights(const std::vector<std::int64_t>& labels, const std::vector<double>& w) {
    Tensor<T> t(Shape{static_cast<std::int64_t>(labels.size())});
    for (std::size_t i = 0; i < labels.size(); ++i) t.data()[i] = w.empty() ? T(1) : static_cast<T>(w[labels[i]]);
    return t;
  }
  void accuracies(const MolBatch<T>& mb, MolForward<T>& out) const {
    const Tensor<T> e = out.edge_logits.value().contiguous(), a = out.atom_logits.value().contiguous();
    const std::int64_t C = pair_classes(), F = cfg_.atom_types;
    for (std::size_t q = 0; q < mb.upper.size(); ++q) {
      if (mb.pair_label[q] == 0) continue;  // bonds only (no-bond pairs dominate)
      ++out.bond_total;
      if (detail::argmax_row(e.data() + mb.upper[q] * C, C) == mb.pair_label[q]) ++out.bond_correct;
    }
    for (std::size_t i = 0; i < mb.atom_label.size(); ++i) {
      ++out.atom_total;
      if (detail::argmax_row(a.data() + static_cast<std::int64_t>(i) * F, F) == mb.atom_label[i]) ++out.atom_correct;
    }
  }
  /// Σ_g Σ_c KL(q_gc ‖ N(μ̂_π, L̂_c L̂_cᵀ + εI)) with free matching π (App. C).
  Var<T> kl_learned(const RaggedBatch& b, const models::SecondOrderPosterior<T>& post, std::vector<std::int64_t>* match) const {
    Var<T> total;
    for (std::int64_t g = 0; g < b.graphs(); ++g) {
      const std::int64_t n = b.size(g), o = b.node_off[g];
      const Var<T> kl = models::learned_prior_kl(slice(post.mu, 0, o, o + n), post.L[g], prior_, static_cast<T>(cfg_.jitter), match);
      total = total.defined() ? add(total, kl) : kl;
    }
    return total.defined() ? total : constant(Tensor<T>::scalar(T(0)));
  }

  MolGenConfig cfg_;
  std::shared_ptr<SplitSecondOrderEncoder<T>> enc_;
  std::shared_ptr<MolDecoder<T>> dec_;
  std::shared_ptr<MlpDecoder<T>> mlp_dec_;
  std::vector<Level> levels_;
  models::EquivariantPriorParams<T> prior_;
};

}  // namespace mgvae::molgen
