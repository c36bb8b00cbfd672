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
/// * `LossTerms`: every term by name, so the trainer logs them separately.
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "mgvae/models/mgn/clustering.hpp"
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

template <class T>
Var<T> balanced_cut_kl(const Clustering<T>& c) {
  const std::int64_t k = c.k;
  const Var<T> hard = constant(one_hot<T>(c.labels, k));
  const Var<T> P = c.probs.defined() ? mean(add(hard, sub(c.probs, c.probs.detach())), {0}) : mean(hard, {0});  // [K]
  // Σ_k P_k log(K P_k) with 0·log 0 = 0: empty clusters get a tiny offset inside the log only.
  Tensor<T> off(Shape{k});
  for (std::int64_t j = 0; j < k; ++j) off.data()[j] = P.value().data()[j] > T(0) ? T(0) : T(1e-30);
  return sum(mul(P, log(mul_scalar(add(P, constant(off)), static_cast<T>(k)))));
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
