#pragma once
/// @file model.hpp
/// All-at-once MGVAE for small-graph generation (Hy & Kondor, App. D.5).
///
/// Finest level (the input graph, padded to N_max nodes, with a node mask):
///   h_0 = tanh(X W_in + b) ⊙ m,  h_t = tanh(Â (h_{t-1} W_t + b_t)) ⊙ m   (t = 1..T, T = `layers`)
///   Â = D̃⁻¹(A + I_real): row-normalised adjacency with self-loops on real nodes only
///   r = tanh([h_0 ‖ … ‖ h_T] W_r + b_r);  μ = r W_μ + b_μ;  log σ² = r W_v + b_v
///   z = m ⊙ (μ + σ ⊙ ε) + (1 − m) ⊙ ε      (padding slots carry prior noise: q = p there, KL 0)
/// Global decoder (not permutation-equivariant, as in the paper): an MLP from the flattened
/// z ∈ R^{N_max·d_z} to N_max×N_max logits, symmetrised (L + Lᵀ)/2.
/// Coarse levels ℓ = L, …, 1 with K = 2^ℓ clusters each (learned clustering):
///   S = GNN(A_prev, Z_prev) ∈ R^{n×K};  Π = straight_through(one_hot(argmax(S+g)), softmax((S+g)/τ)) ⊙ m
///   A_c = Πᵀ A_prev Π,  Z_c = Πᵀ Z_prev / |cluster|,  then a 2-layer encoder → (μ_c, log σ_c²) → z_c,
///   and a decoder sigmoid((z_c W)(z_c W)ᵀ) regressing A_c / (2|E|) (MSE, entries in [0, 1]).
/// Loss (per graph, averaged over the batch) = BCE_pw(fine) + β·Σ KL + λ_rec·Σ MSE_ℓ + λ_bal·Σ KL(P_ℓ‖U).
/// Every sum over nodes is masked: padding nodes never enter the encoder, the clustering, the
/// cluster sizes, the KL or the coarse losses. The fine BCE deliberately covers all N_max×N_max
/// off-diagonal slots: the empty rows of the padding are how the decoder learns graph size.
///
/// Prior over the finest latents (`ModelConfig::prior`): Standard, N(0, I) on every slot; or Learned
/// (paper App. C, free matching, models/equivariant_prior.hpp): M slot means μ̂ [M, d_z] and per channel
/// L̂_c = a_c I + (b_c / n) 11ᵀ over the n real nodes; every real node is matched to its nearest slot
/// (by its posterior mean), and KL_fine = Σ_graphs Σ_c KL(N(μ_{·c}, diag σ²_{·c} + εI) ‖ N(μ̂_{π,c},
/// L̂_c L̂_cᵀ + εI)) / B. Padding slots keep N(0, I) noise in both cases (training and sampling).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "mgvae/autodiff/tape.hpp"
#include "mgvae/autodiff/var.hpp"
#include "mgvae/core/error.hpp"
#include "mgvae/core/rng.hpp"
#include "mgvae/models/equivariant_prior.hpp"
#include "mgvae/models/graphgen/graph_data.hpp"
#include "mgvae/nn/linear.hpp"
#include "mgvae/nn/module.hpp"
#include "mgvae/ops/gumbel.hpp"
#include "mgvae/ops/loss.hpp"
#include "mgvae/ops/elementwise.hpp"
#include "mgvae/ops/matmul.hpp"
#include "mgvae/ops/reduce.hpp"
#include "mgvae/ops/shape.hpp"

namespace mgvae::graphgen {

using models::PriorKind;  ///< Standard (N(0, I)) or Learned (App. C), see models/equivariant_prior.hpp

struct ModelConfig {
  std::int64_t n_max = 20;       ///< padded node count
  std::int64_t hidden = 64;      ///< message-passing width
  std::int64_t latent = 16;      ///< d_z
  int layers = 10;               ///< message-passing layers at the finest level (paper: 10)
  int levels = 2;                ///< coarse levels L; level ℓ has 2^ℓ clusters
  int coarse_layers = 2;         ///< message-passing layers of clustering GNNs and coarse encoders
  std::int64_t dec_hidden = 256; ///< width of the two hidden layers of the global MLP decoder
  double tau = 1.0;              ///< Gumbel-softmax temperature
  bool straight_through = true;  ///< hard one-hot forward / soft gradient; false: relaxed soft Π (for gradcheck)
  double pos_weight = 1.0;       ///< positive-class weight of the fine BCE
  double beta = 1.0;             ///< KL weight
  double lambda_rec = 1.0;       ///< weight of the coarse reconstruction MSE
  double lambda_bal = 1.0;       ///< weight of the balanced-cut KL
  std::uint64_t seed = 1;        ///< parameter initialisation
  PriorKind prior = PriorKind::Standard;  ///< prior of the finest latents
  std::int64_t prior_slots = 16;  ///< M, learned prior only
  double jitter = 1e-4;           ///< ε added to both covariances of the learned-prior KL (paper App. C)
};

/// Noise for one forward pass (explicit so tests can permute it with the nodes).
template <class T>
struct Noise {
  Tensor<T> eps_fine;                 ///< [B,N,d_z]
  std::vector<Tensor<T>> gumbel;      ///< per coarse level: [B, n_prev, K]
  std::vector<Tensor<T>> eps_coarse;  ///< per coarse level: [B, K, d_z]
};

/// Per-level diagnostics and the intermediate values the tests look at.
template <class T>
struct LevelOut {
  int K = 0;
  Var<T> logits;       ///< cluster scores S [B,n_prev,K]
  Var<T> Pi;           ///< assignment [B,n_prev,K] (hard forward, soft gradient, masked)
  Var<T> A_c;          ///< coarsened adjacency [B,K,K]
  Var<T> mu;           ///< coarse posterior mean [B,K,d_z]
  Tensor<T> mask;      ///< [B,K,1] non-empty clusters
  Var<T> kl, rec, bal; ///< scalars (batch means)
};

template <class T>
struct ForwardOut {
  Var<T> loss, bce, kl_fine;
  std::vector<std::vector<std::int64_t>> prior_match;  ///< learned prior: slot of each real node, per graph
  Var<T> mu, logvar, z;  ///< finest level [B,N,d_z]
  Var<T> adj_logits;     ///< [B,N,N], symmetric
  std::vector<LevelOut<T>> levels;
};

/// The parameters of the learned prior (mu [M, d_z], a [d_z], b [d_z]) as a sub-module ("prior"),
/// registered after every layer so that the layers' parameters keep their order.
template <class T>
struct PriorModule : nn::Module<T> {
  PriorModule(std::int64_t slots, std::int64_t dz, const CounterRng& rng) {
    p.mu = this->register_parameter("mu", Tensor<T>::randn({slots, dz}, rng));
    p.a = this->register_parameter("a", Tensor<T>::ones({dz}));
    p.b = this->register_parameter("b", Tensor<T>::zeros({dz}));
  }
  models::EquivariantPriorParams<T> p;
};

/// The model. Parameters are registered (nn::Module): `parameters()` for the optimiser,
/// nn::save_checkpoint / load_checkpoint for files. Every layer is an nn::Linear whose weight is
/// drawn from its own stream `CounterRng(seed, 0x6767).split(k)`, k = 0, 1, … in construction order.
template <class T>
class GraphGenModel : public nn::Module<T> {
 public:
  /// @throw std::invalid_argument (naming the field) for a non-positive size, tau or slot count, or jitter < 0.
  explicit GraphGenModel(const ModelConfig& c) : cfg_(c) {
    constexpr const char* fn = "GraphGenModel";
    check_arg(c.n_max >= 1, fn, "n_max", "must be >= 1");
    check_arg(c.hidden >= 1 && c.latent >= 1 && c.dec_hidden >= 1, fn, "hidden/latent/dec_hidden", "must be >= 1");
    check_arg(c.layers >= 0 && c.levels >= 0 && c.coarse_layers >= 1, fn, "layers",
              "must be >= 0 (coarse_layers >= 1)");
    check_arg(c.tau > 0, fn, "tau", "must be > 0");
    check_arg(c.prior_slots >= 1, fn, "prior_slots", "must be >= 1");
    check_arg(c.jitter >= 0, fn, "jitter", "must be >= 0");
    CounterRng root(c.seed, 0x6767);
    std::uint64_t k = 0;
    auto dense = [&](const std::string& name, std::int64_t in, std::int64_t out) {
      CounterRng r = root.split(k++);
      return this->register_module(name, std::make_shared<nn::Linear<T>>(in, out, r));
    };
    const std::int64_t H = c.hidden, dz = c.latent, N = c.n_max;
    in_ = dense("in", GraphBatch<T>::kFeatures, H);
    for (int t = 0; t < c.layers; ++t) mp_.push_back(dense("mp" + std::to_string(t), H, H));
    read_ = dense("read", H * (c.layers + 1), H);
    mu_ = dense("mu", H, dz);
    lv_ = dense("logvar", H, dz);
    dec1_ = dense("dec1", N * dz, c.dec_hidden);
    dec2_ = dense("dec2", c.dec_hidden, c.dec_hidden);
    dec3_ = dense("dec3", c.dec_hidden, N * N);
    for (int l = c.levels; l >= 1; --l) {
      Coarse cl;
      cl.K = 1 << l;
      const std::string tag = "level" + std::to_string(l) + "_";
      std::int64_t in = dz;
      for (int t = 0; t < c.coarse_layers; ++t) {
        cl.cluster.push_back(dense(tag + "cluster" + std::to_string(t), in, H));
        in = H;
      }
      cl.cluster_out = dense(tag + "cluster_out", H, cl.K);
      in = dz;
      for (int t = 0; t < c.coarse_layers; ++t) {
        cl.enc.push_back(dense(tag + "enc" + std::to_string(t), in, H));
        in = H;
      }
      cl.mu = dense(tag + "mu", H * c.coarse_layers, dz);
      cl.lv = dense(tag + "logvar", H * c.coarse_layers, dz);
      cl.dec = dense(tag + "dec", dz, H);
      coarse_.push_back(std::move(cl));
    }
    if (c.prior == PriorKind::Learned)  // after all other parameters: their initialisation is unchanged
      prior_ = this->register_module("prior", std::make_shared<PriorModule<T>>(c.prior_slots, dz, root.split(k++)))->p;
  }

  GraphGenModel(const GraphGenModel&) = delete;
  GraphGenModel& operator=(const GraphGenModel&) = delete;

  const ModelConfig& config() const { return cfg_; }
  /// Cluster counts per coarse level, finest first (e.g. {4, 2} for L = 2).
  std::vector<int> cluster_counts() const {
    std::vector<int> k;
    for (const auto& c : coarse_) k.push_back(c.K);
    return k;
  }

  /// Draws the noise of one forward pass for a batch of B graphs.
  Noise<T> draw_noise(const CounterRng& rng, std::int64_t B) const {
    Noise<T> nz;
    const std::int64_t N = cfg_.n_max, dz = cfg_.latent;
    std::uint64_t s = 0;
    nz.eps_fine = Tensor<T>::randn({B, N, dz}, rng.split(s++));
    std::int64_t n_prev = N;
    for (const auto& c : coarse_) {
      nz.gumbel.push_back(sample_gumbel<T>({B, n_prev, c.K}, rng.split(s++)));
      nz.eps_coarse.push_back(Tensor<T>::randn({B, c.K, dz}, rng.split(s++)));
      n_prev = c.K;
    }
    return nz;
  }

  /// The finest-level encoder: (μ, log σ²) [B,N,d_z], masked.
  std::pair<Var<T>, Var<T>> encode(const GraphBatch<T>& b) const {
    const Var<T> m = constant(b.mask);
    const Var<T> Ahat = constant(normalized_adjacency(b.A, b.mask));
    Var<T> h = mul(tanh(in_->forward(constant(b.X))), m);
    std::vector<Var<T>> hs{h};
    for (const auto& L : mp_) {
      h = mul(tanh(matmul(Ahat, L->forward(h))), m);
      hs.push_back(h);
    }
    Var<T> r = tanh(read_->forward(concat(hs, -1)));
    return {mul(mu_->forward(r), m), mul(lv_->forward(r), m)};
  }

  /// Global decoder: symmetric logits [B,N,N] from z [B,N,d_z].
  Var<T> decode(const Var<T>& z) const {
    const std::int64_t B = z.size(0), N = cfg_.n_max;
    Var<T> f = reshape(z, Shape{B, N * cfg_.latent});
    Var<T> h = tanh(dec1_->forward(f));
    h = tanh(dec2_->forward(h));
    Var<T> o = reshape(dec3_->forward(h), Shape{B, N, N});
    return mul_scalar(add(o, transpose(o, 1, 2)), T(0.5));
  }

  /// Full forward pass with all loss terms.
  ForwardOut<T> forward(const GraphBatch<T>& b, const Noise<T>& nz) const {
    ForwardOut<T> out;
    const T Bf = static_cast<T>(b.B);
    const Var<T> m = constant(b.mask);
    auto [mu, lv] = encode(b);
    out.mu = mu;
    out.logvar = lv;
    const Var<T> eps = constant(nz.eps_fine);
    const Var<T> zr = mul(add(mu, mul(exp(mul_scalar(lv, T(0.5))), eps)), m);  // real nodes
    Tensor<T> inv_m = detail::map(b.mask, [](T v) { return T(1) - v; });
    out.z = add(zr, mul(constant(inv_m), eps));  // padding: prior noise
    out.kl_fine = cfg_.prior == PriorKind::Learned ? kl_learned(mu, lv, b, Bf, &out.prior_match)
                                                   : kl_normal(mu, lv, b.mask, Bf);

    out.adj_logits = decode(out.z);
    const std::int64_t N = cfg_.n_max;
    Tensor<T> offdiag({N, N});
    for (std::int64_t i = 0; i < N; ++i)
      for (std::int64_t j = 0; j < N; ++j) offdiag(i, j) = i == j ? T(0) : T(0.5);  // each pair once
    Var<T> bce_el = weighted_bce_with_logits(out.adj_logits, b.A, static_cast<T>(cfg_.pos_weight));
    out.bce = mul_scalar(sum(mul(bce_el, constant(offdiag))), T(1) / Bf);

    // Coarse levels.
    Var<T> A_prev = constant(b.A), Z_prev = zr;
    Tensor<T> m_prev = b.mask;
    Tensor<T> two_e = Tensor<T>::zeros({b.B, 1, 1});  // 2|E| per graph (sum of A), at least 1
    {
      const std::int64_t NN = N * N;
      for (std::int64_t i = 0; i < b.B; ++i) {
        T s = 0;
        for (std::int64_t k = 0; k < NN; ++k) s += b.A.data()[i * NN + k];
        two_e.data()[i] = std::max(s, T(1));
      }
    }
    Var<T> kl_sum = out.kl_fine, rec_sum, bal_sum;
    for (std::size_t li = 0; li < coarse_.size(); ++li) {
      const Coarse& c = coarse_[li];
      LevelOut<T> lo;
      lo.K = c.K;
      const std::int64_t n_prev = A_prev.size(1);
      const Var<T> mp = constant(m_prev);
      // clustering GNN
      const Var<T> Ahat = normalized_adjacency_var(A_prev, m_prev);
      Var<T> h = Z_prev;
      for (const auto& L : c.cluster) h = mul(tanh(matmul(Ahat, L->forward(h))), mp);
      lo.logits = c.cluster_out->forward(h);
      GumbelSoftmaxOptions go;
      go.straight_through = cfg_.straight_through;
      go.argmax_of_scaled = true;
      go.form = GumbelSoftmaxForm::LogSumExp;
      lo.Pi = mul(gumbel_softmax(lo.logits, nz.gumbel[li], static_cast<T>(1.0 / cfg_.tau), go).pi, mp);
      // cluster sizes (hard counts in the forward pass; differentiable through Π)
      const Var<T> counts = transpose(sum(lo.Pi, {1}, true), 1, 2);  // [B,K,1]
      Tensor<T> nreal = Tensor<T>::zeros({b.B, 1});
      for (std::int64_t i = 0; i < b.B; ++i)
        for (std::int64_t u = 0; u < n_prev; ++u) nreal.data()[i] += m_prev.data()[i * n_prev + u];
      lo.mask = detail::map(counts.value(), [](T v) { return v > T(0.5) ? T(1) : T(0); });
      Tensor<T> empty = detail::map(lo.mask, [](T v) { return T(1) - v; });
      Tensor<T> inv_n = detail::map(nreal, [](T v) { return T(1) / std::max(v, T(1)); });
      const Var<T> PiT = transpose(lo.Pi, 1, 2);
      lo.A_c = matmul(matmul(PiT, A_prev), lo.Pi);
      // mean pooling of the members' latents (empty clusters: divide by 1, they are masked anyway)
      Var<T> Z_c = div(matmul(PiT, Z_prev), add(counts, constant(empty)));
      // balanced cut: KL(P || U), P_k = |V_k| / n
      Var<T> P = mul(sum(lo.Pi, {1}), constant(inv_n));  // [B,K]
      lo.bal = mul_scalar(usage_kl(P, BalancedCutForm::Epsilon, T(1e-12)), T(1) / Bf);
      // coarse encoder
      const Var<T> mc = constant(lo.mask);
      const Var<T> Ahat_c = normalized_adjacency_var(lo.A_c, lo.mask);
      Var<T> e = Z_c;
      std::vector<Var<T>> es;
      for (const auto& L : c.enc) {
        e = mul(tanh(matmul(Ahat_c, L->forward(e))), mc);
        es.push_back(e);
      }
      Var<T> ecat = es.size() == 1 ? es[0] : concat(es, -1);
      lo.mu = mul(c.mu->forward(ecat), mc);
      Var<T> lvc = mul(c.lv->forward(ecat), mc);
      Var<T> zc = mul(add(lo.mu, mul(exp(mul_scalar(lvc, T(0.5))), constant(nz.eps_coarse[li]))), mc);
      lo.kl = kl_normal(lo.mu, lvc, lo.mask, Bf);
      // coarse decoder: sigmoid((z W)(z W)^T) vs A_c / 2|E|, masked to non-empty clusters
      Var<T> pz = c.dec->forward(zc);
      Var<T> pred = sigmoid(matmul(pz, transpose(pz, 1, 2)));
      Var<T> target = div(lo.A_c, constant(two_e));
      Tensor<T> mm = pair_mask(lo.mask);
      Var<T> diff = mul(sub(pred, target), constant(mm));
      lo.rec = mul_scalar(sum(mul(diff, diff)), T(1) / Bf);

      kl_sum = add(kl_sum, lo.kl);
      rec_sum = rec_sum.defined() ? add(rec_sum, lo.rec) : lo.rec;
      bal_sum = bal_sum.defined() ? add(bal_sum, lo.bal) : lo.bal;
      A_prev = lo.A_c;
      Z_prev = zc;
      m_prev = lo.mask;
      out.levels.push_back(std::move(lo));
    }
    out.loss = add(out.bce, mul_scalar(kl_sum, static_cast<T>(cfg_.beta)));
    if (rec_sum.defined()) out.loss = add(out.loss, mul_scalar(rec_sum, static_cast<T>(cfg_.lambda_rec)));
    if (bal_sum.defined()) out.loss = add(out.loss, mul_scalar(bal_sum, static_cast<T>(cfg_.lambda_bal)));
    return out;
  }

  /// S latent draws z [S,N,d_z] from the prior. Standard: z ~ N(0, I) (the two lists are ignored).
  /// Learned: per draw, a node count n ~ `size_probs` (entry k = weight of n = k, k = 0..N_max; empty:
  /// n = N_max), slots 0..n−1 from the learned prior with slots drawn i.i.d. from `slot_probs` (e.g. the
  /// slot usage on the training graphs; empty: uniform), slots n..N_max−1 ~ N(0, 1) (padding, as in
  /// training). `temperature` τ (standard prior only): z ~ N(0, τ² I), i.e. τ times the τ = 1 draw
  /// (reduced-temperature sampling; τ = 1 is the prior itself). @throw std::invalid_argument for lists of
  /// the wrong size or without a positive entry, τ ≤ 0 or non-finite, or τ ≠ 1 with the learned prior.
  Tensor<T> sample_latent(std::int64_t S, const CounterRng& rng, const std::vector<double>& slot_probs = {},
                          const std::vector<double>& size_probs = {}, double temperature = 1.0) const {
    constexpr const char* fn = "GraphGenModel::sample_latent";
    const std::int64_t N = cfg_.n_max, d = cfg_.latent;
    if (!(std::isfinite(temperature) && temperature > 0))
      throw std::invalid_argument(std::string(fn) + ": temperature must be finite and > 0");
    if (cfg_.prior == PriorKind::Standard) {
      Tensor<T> z = Tensor<T>::randn({S, N, d}, rng);
      if (temperature != 1.0)
        for (std::int64_t i = 0; i < z.numel(); ++i) z.data()[i] = static_cast<T>(temperature * static_cast<double>(z.data()[i]));
      return z;
    }
    if (temperature != 1.0)
      throw std::invalid_argument(std::string(fn) + ": temperature != 1 is only implemented for the standard prior");
    const models::Categorical slot_dist(slot_probs, cfg_.prior_slots, fn, "slot_probs");
    std::vector<double> sp = size_probs;
    if (sp.empty()) {
      sp.assign(static_cast<std::size_t>(N + 1), 0.0);
      sp.back() = 1.0;
    }
    const models::Categorical size_dist(sp, N + 1, fn, "size_probs");
    const CounterRng r1 = rng.split(1), r2 = rng.split(2), r3 = rng.split(3), rn = rng.split(4), rp = rng.split(5);
    const Tensor<T> mu = prior_.mu.value().contiguous(), a = prior_.a.value().contiguous(),
                    bb = prior_.b.value().contiguous();
    Tensor<T> z({S, N, d});
    for (std::int64_t s = 0; s < S; ++s) {
      const std::int64_t n = size_dist.draw(rn.uniform(static_cast<std::uint64_t>(s)));
      T* zs = z.data() + s * N * d;
      models::sample_learned_prior_graph(zs, n, s * N, mu, a, bb, cfg_.jitter, 1.0, r1, r2, r3, slot_dist);
      for (std::int64_t k = n * d; k < N * d; ++k)
        zs[k] = static_cast<T>(rp.normal(static_cast<std::uint64_t>(s * N * d + k)));
    }
    return z;
  }

  /// Edge probabilities [S,N,N] for S latent draws from the prior (sample_latent, same arguments).
  Tensor<T> sample_probabilities(std::int64_t S, const CounterRng& rng, const std::vector<double>& slot_probs = {},
                                 const std::vector<double>& size_probs = {}, double temperature = 1.0) const {
    NoGradGuard ng;
    Var<T> z = constant(sample_latent(S, rng, slot_probs, size_probs, temperature));
    return sigmoid(decode(z)).value();
  }

  /// Learned prior: the slot free-matched to each real node's posterior mean μ (no noise, no
  /// gradient), per graph of the batch. @throw std::logic_error with the standard prior.
  std::vector<std::vector<std::int64_t>> match_slots(const GraphBatch<T>& b) const {
    if (cfg_.prior != PriorKind::Learned) throw std::logic_error("GraphGenModel::match_slots: the prior is not learned");
    NoGradGuard ng;
    const Tensor<T> mu = encode(b).first.value().contiguous(), muh = prior_.mu.value().contiguous();
    const std::int64_t N = cfg_.n_max, d = cfg_.latent;
    std::vector<std::vector<std::int64_t>> out;
    for (std::int64_t g = 0; g < b.B; ++g) {
      const std::int64_t n = b.n[static_cast<std::size_t>(g)];
      Tensor<T> mg({n, d});
      for (std::int64_t k = 0; k < n * d; ++k) mg.data()[k] = mu.data()[g * N * d + k];
      out.push_back(free_matching(mg, muh));
    }
    return out;
  }

  /// The learned prior's parameters (undefined Vars with the standard prior).
  const models::EquivariantPriorParams<T>& prior() const { return prior_; }

 private:
  struct Coarse {
    int K = 2;
    std::vector<std::shared_ptr<nn::Linear<T>>> cluster, enc;
    std::shared_ptr<nn::Linear<T>> cluster_out, mu, lv, dec;
  };

  /// D̃⁻¹(A + I_real) on a constant adjacency; padding rows are zero.
  static Tensor<T> normalized_adjacency(const Tensor<T>& A, const Tensor<T>& mask) {
    const std::int64_t B = A.size(0), n = A.size(1);
    Tensor<T> Ac = A.contiguous();
    Tensor<T> out = Ac.clone();
    for (std::int64_t i = 0; i < B; ++i)
      for (std::int64_t u = 0; u < n; ++u) {
        const T mu = mask.data()[i * n + u];
        T* row = out.data() + (i * n + u) * n;
        row[u] += mu;
        T s = 0;
        for (std::int64_t v = 0; v < n; ++v) s += row[v];
        const T inv = s > T(0) ? T(1) / s : T(0);
        for (std::int64_t v = 0; v < n; ++v) row[v] *= inv;
      }
    return out;
  }
  /// Same, differentiable in A (weighted coarse adjacency).
  static Var<T> normalized_adjacency_var(const Var<T>& A, const Tensor<T>& mask) {
    const std::int64_t B = A.size(0), n = A.size(1);
    Tensor<T> eye = Tensor<T>::zeros({B, n, n});
    Tensor<T> pad = Tensor<T>::zeros({B, n, 1});
    for (std::int64_t i = 0; i < B; ++i)
      for (std::int64_t u = 0; u < n; ++u) {
        eye(i, u, u) = mask.data()[i * n + u];
        pad(i, u, 0) = T(1) - mask.data()[i * n + u];
      }
    Var<T> As = add(A, constant(eye));
    Var<T> rs = add(sum(As, {2}, true), constant(pad));  // padding rows: divide by 1
    return div(As, rs);
  }
  /// Outer product of a [B,K,1] mask with itself: [B,K,K].
  static Tensor<T> pair_mask(const Tensor<T>& m) {
    const std::int64_t B = m.size(0), K = m.size(1);
    Tensor<T> o({B, K, K});
    for (std::int64_t i = 0; i < B; ++i)
      for (std::int64_t a = 0; a < K; ++a)
        for (std::int64_t c = 0; c < K; ++c) o(i, a, c) = m.data()[i * K + a] * m.data()[i * K + c];
    return o;
  }
  /// Σ_graphs KL(q ‖ free-matched learned prior) / B over the real nodes of each graph; the posterior
  /// factor per channel is diag(σ) (σ = exp(logvar / 2)). Slots of every graph go to `match`.
  Var<T> kl_learned(const Var<T>& mu, const Var<T>& lv, const GraphBatch<T>& b, T Bf,
                    std::vector<std::vector<std::int64_t>>* match) const {
    const std::int64_t d = cfg_.latent;
    Var<T> total;
    for (std::int64_t g = 0; g < b.B; ++g) {
      const std::int64_t n = b.n[static_cast<std::size_t>(g)];
      std::vector<std::int64_t> pi;
      if (n == 0) {
        if (match) match->push_back(pi);
        continue;
      }
      const Var<T> mu_g = reshape(slice(slice(mu, 0, g, g + 1), 1, 0, n), Shape{n, d});
      const Var<T> sd = exp(mul_scalar(reshape(slice(slice(lv, 0, g, g + 1), 1, 0, n), Shape{n, d}), T(0.5)));
      Tensor<T> eye = Tensor<T>::zeros({1, n, n});
      for (std::int64_t i = 0; i < n; ++i) eye.data()[i * n + i] = T(1);
      const Var<T> L = mul(reshape(transpose(sd, 0, 1), Shape{d, n, 1}), constant(eye));  // [d,n,n] = diag(σ_·c)
      const Var<T> kl = models::learned_prior_kl(mu_g, L, prior_, static_cast<T>(cfg_.jitter), &pi);
      if (match) match->push_back(pi);
      total = total.defined() ? add(total, kl) : kl;
    }
    if (!total.defined()) return constant(Tensor<T>::scalar(T(0)));
    return mul_scalar(total, T(1) / Bf);
  }
  /// 0.5 Σ_masked (μ² + σ² − 1 − log σ²) / B, with σ² = exp(logvar) (the correct variance).
  static Var<T> kl_normal(const Var<T>& mu, const Var<T>& lv, const Tensor<T>& mask, T Bf) {
    Var<T> t = sub(add(mul(mu, mu), exp(lv)), add_scalar(lv, T(1)));
    return mul_scalar(sum(mul(t, constant(mask))), T(0.5) / Bf);
  }

  ModelConfig cfg_;
  std::shared_ptr<nn::Linear<T>> in_, read_, mu_, lv_, dec1_, dec2_, dec3_;
  std::vector<std::shared_ptr<nn::Linear<T>>> mp_;
  std::vector<Coarse> coarse_;
  models::EquivariantPriorParams<T> prior_;
};

/// Turns edge probabilities [S,N,N] into graphs: symmetrise (mean of the two directions),
/// keep a pair when its probability is > `threshold` (default 0.5; or Bernoulli-sample with `rng`
/// when `bernoulli`, which ignores the threshold), zero diagonal, strip isolated nodes. Graphs
/// without edges come back with n = 0.
template <class T>
std::vector<Graph> probabilities_to_graphs(const Tensor<T>& P, bool bernoulli, const CounterRng& rng,
                                                double threshold = 0.5) {
  const std::int64_t S = P.size(0), N = P.size(1);
  const Tensor<T> c = P.contiguous();
  std::vector<Graph> out;
  std::uint64_t pos = 0;
  for (std::int64_t s = 0; s < S; ++s) {
    const T* p = c.data() + s * N * N;
    std::vector<std::uint8_t> a(static_cast<std::size_t>(N * N), 0);
    for (std::int64_t u = 0; u < N; ++u)
      for (std::int64_t v = u + 1; v < N; ++v) {
        const double q = 0.5 * (static_cast<double>(p[u * N + v]) + static_cast<double>(p[v * N + u]));
        const bool e = bernoulli ? rng.uniform(pos++) < q : q > threshold;
        a[static_cast<std::size_t>(u * N + v)] = a[static_cast<std::size_t>(v * N + u)] = e ? 1 : 0;
      }
    out.push_back(strip_isolated(from_dense(N, a)));
  }
  return out;
}

}  // namespace mgvae::graphgen
