#pragma once
/// @file elbo.hpp
/// The terms of the multiresolution ELBO (Eq. 9) and the balanced-cut penalty (§3.3).
///
/// * `kl_standard_normal(μ, log σ)`: KL(q ‖ N(0, I)) of a factorial Gaussian in the VGAE scaling
///     KL = −(0.5 / n) · mean_i Σ_d (1 + 2 log σ_id − μ_id² − σ_id²),
///   i.e. the per-node KL averaged over nodes, divided by n (the same 1/n that `norm` puts on the
///   reconstruction mean over n² pairs). We use σ² = exp(2 log σ): the authors' code (inherited from
///   DaehanKim/vgae_pytorch) writes exp(log σ), whose minimum is at σ = 2, not 1 (REFERENCE-NOTES §3.6).
/// * `balanced_cut_kl(clustering)`: KL(P ‖ U_K) = Σ_k P_k log(K P_k), P_k = (1/n) Σ_i Π_ik. The value
///   uses the hard assignment (cluster sizes, 0·log 0 = 0); the gradient flows through the soft
///   probabilities p = softmax(p̃) (straight-through: P = mean_i(Π + p − detach(p))).
///   The paper (§3.3) defines P by the cluster sizes of the assignment; in training that is the
///   Gumbel *sample*. With bounded (tanh) logits the sample is close to a uniformly random
///   partition whatever the logits, so this term is small and says nothing about the
///   deterministic partition of Eq. 4 (argmax of p̃), which can collapse (docs/lab/link_prediction.md, "Cluster balance").
/// * `balanced_cut_kl_argmax(clustering)`: the same KL on the cluster sizes of the *noiseless*
///   argmax of p (= argmax of p̃, Eq. 4, the evaluation partition; first maximum on ties), with
///   the same straight-through gradient through mean_i p_i. Option `BalanceOn::Argmax|Both`.
/// * `infomax_balance(p)`: KL(p̄ ‖ U_K) + mean_i H(p_i) = log K − I(node; cluster), p̄ = mean_i p_i
///   (regularised information maximisation, Krause, Perona & Gomes 2010): the marginal is
///   balanced AND every node is confident, so the argmax partition inherits the balance. Exactly
///   differentiable (no straight-through). Option `MgvaeConfig::w_infomax`.
/// * `LossTerms`: every term by name, so the trainer logs them separately.
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "mgvae/models/mgn/clustering.hpp"
#include "mgvae/ops/gumbel.hpp"
#include "mgvae/ops/elementwise.hpp"
#include "mgvae/ops/reduce.hpp"

namespace mgvae::models {

template <class T>
Var<T> kl_standard_normal(const Var<T>& mu, const Var<T>& logstd) {
  check_same_shape("kl_standard_normal", "mu", mu.shape(), "logstd", logstd.shape());
  const auto n = static_cast<T>(mu.size(0));
  const Var<T> inner = sub(sub(add_scalar(mul_scalar(logstd, T(2)), T(1)), mul(mu, mu)), exp(mul_scalar(logstd, T(2))));
  return mul_scalar(mean(sum(inner, {1})), T(-0.5) / n);
}

/// ops/gumbel.hpp `balanced_cut_kl` (form ZeroOffset) of the straight-through assignment
/// one_hot(labels) with the gradient of `probs` (or the constant one-hot for a fixed clustering).
template <class T>
Var<T> balanced_cut_kl(const Clustering<T>& c) {
  const Tensor<T> hard = one_hot<T>(c.labels, c.k);
  const Var<T> a = c.probs.defined() ? straight_through(hard, c.probs) : constant(hard);
  return mgvae::balanced_cut_kl(a, BalancedCutForm::ZeroOffset);
}

/// Which assignment the balanced-cut KL of the learned clustering is computed on (first-order
/// model): the training Gumbel sample (the paper, default), the noiseless argmax of Eq. 4, or
/// the sum of both.
enum class BalanceOn { Sample, Argmax, Both };

/// KL(P ‖ U_K) on the cluster sizes of the noiseless argmax of `c.probs` (Eq. 4), gradient
/// straight-through mean_i p_i (as `balanced_cut_kl`).
/// @throw std::invalid_argument if the clustering has no probabilities (fixed) or a bad shape.
template <class T>
Var<T> balanced_cut_kl_argmax(const Clustering<T>& c) {
  if (!c.probs.defined()) throw_invalid("balanced_cut_kl_argmax", "needs a learned clustering (probabilities undefined)");
  if (c.probs.dim() != 2 || c.probs.size(1) != c.k)
    throw_invalid("balanced_cut_kl_argmax", "probabilities must be [n, K] with K = " + std::to_string(c.k) + ", got " +
                                                shape_str(c.probs.shape()));
  Clustering<T> a;
  a.k = c.k;
  a.probs = c.probs;
  a.labels = argmax_rows(c.probs.value());
  return balanced_cut_kl(a);
}

/// KL(p̄ ‖ U_K) + mean_i H(p_i) for row-stochastic p [n, K] (0·log 0 = 0).
/// @throw std::invalid_argument if p is not [n, K] with n, K >= 1.
template <class T>
Var<T> infomax_balance(const Var<T>& p) {
  if (!p.defined() || p.dim() != 2 || p.size(0) < 1 || p.size(1) < 1)
    throw_invalid("infomax_balance", "probabilities must be a non-empty [n, K] matrix, got " +
                                         (p.defined() ? shape_str(p.shape()) : std::string("undefined")));
  const std::int64_t n = p.size(0), k = p.size(1);
  const auto offsets = [](const Tensor<T>& v) {  // tiny offset inside the log where an entry is 0
    Tensor<T> c = v.contiguous(), off(v.shape());
    for (std::int64_t j = 0; j < c.numel(); ++j) off.data()[j] = c.data()[j] > T(0) ? T(0) : T(1e-30);
    return off;
  };
  const Var<T> pbar = mean(p, {0});  // [K]
  const Var<T> kl = sum(mul(pbar, log(mul_scalar(add(pbar, constant(offsets(pbar.value()))), static_cast<T>(k)))));
  const Var<T> plogp = mul(p, log(add(p, constant(offsets(p.value())))));  // [n, K]
  const Var<T> mean_h = mul_scalar(sum(plogp), T(-1) / static_cast<T>(n));
  return add(kl, mean_h);
}

/// Named loss terms; `total()` is their sum (each already weighted).
template <class T>
struct LossTerms {
  std::vector<std::pair<std::string, Var<T>>> terms;
  void add(const std::string& name, const Var<T>& v) {
    if (v.defined()) terms.emplace_back(name, v);
  }
  Var<T> total() const {
    if (terms.empty()) throw_invalid("LossTerms::total", "no terms");
    Var<T> t = terms.front().second;
    for (std::size_t i = 1; i < terms.size(); ++i) t = mgvae::add(t, terms[i].second);
    return t;
  }
  double value(const std::string& name) const {
    for (const auto& [n, v] : terms)
      if (n == name) return static_cast<double>(v.item());
    return 0.0;
  }
};

}  // namespace mgvae::models
