#pragma once
/// @file gumbel.hpp (ops)
/// Gumbel-softmax sampling for the learn-to-cluster step (paper §3.3) and the balanced-cut penalty.
/// The one implementation of each; every model calls these.
///
/// * `gumbel_softmax(ℓ, g, 1/τ, opts)`: the Gumbel-softmax sample of logits ℓ [..., K] with given
///   Gumbel noise g (same shape, a constant; undefined = no noise, the argmax of Eq. 4). With
///   y = (ℓ + g)·(1/τ): the relaxed sample soft = softmax(y) over the last axis; the hard sample
///   onehot(argmax(ℓ + g)) (Gumbel-max, an exact sample of softmax(ℓ); first maximum on ties);
///   Π = straight_through(hard, soft) — value exactly the one-hot, gradient the relaxed sample's
///   (Jang et al. 2017) — or, without straight-through, Π = soft. The noise is an argument so that
///   a permuted graph can get the permuted noise (exact equivariance, Def. 9).
/// * `gumbel_softmax_st(ℓ, τ, rng, offset)`: the same straight-through sample with the noise drawn
///   from the counter-based RNG at positions offset + i·K + k (as `sample_gumbel`), so a
///   (seed, stream, offset) triple gives the same sample on every platform; one fused op on the CPU
///   kernel `kernels::cpu::gumbel_softmax_forward/backward` (the CUDA kernel's reference).
/// * `straight_through(hard, soft)`: the estimator itself; `one_hot_argmax`: the hard sample.
/// * `balanced_cut_kl(assign)`: KL(P ‖ U_K) = Σ_k P_k log(K P_k) with P_k = (1/N) Σ_i Π_ik, for an
///   assignment Π [N, K] (hard, soft or straight-through), 0·log 0 = 0. It is 0 exactly for balanced
///   clusters and log K when all nodes share one cluster.
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mgvae/autodiff/var.hpp"
#include "mgvae/core/error.hpp"
#include "mgvae/core/rng.hpp"
#include "mgvae/kernels/cpu/gumbel.hpp"
#include "mgvae/ops/elementwise.hpp"
#include "mgvae/ops/reduce.hpp"
#include "mgvae/ops/softmax.hpp"

namespace mgvae {

/// Standard Gumbel noise of shape `s`: element i (row-major) is rng.gumbel(offset + i).
template <class T>
Tensor<T> sample_gumbel(const Shape& s, const CounterRng& rng, std::uint64_t offset = 0) {
  Tensor<T> t(s);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = static_cast<T>(rng.gumbel(offset + static_cast<std::uint64_t>(i)));
  return t;
}

/// Row-wise argmax over the last axis of y [..., K] (first maximum on ties); `labels` (optional)
/// receives the index of every row. @return the one-hot tensor, y's shape (a constant).
/// @throw std::invalid_argument if y is undefined, 0-D or has K = 0 with rows.
template <class T>
Tensor<T> one_hot_argmax(const Tensor<T>& y, std::vector<std::int64_t>* labels = nullptr) {
  check_arg(y.defined() && y.dim() >= 1, "one_hot_argmax", "y", "must have at least one axis");
  const std::int64_t K = y.shape().back();
  check_arg(K >= 1 || y.numel() == 0, "one_hot_argmax", "y", "needs at least one class, got " + shape_str(y.shape()));
  const Tensor<T> c = y.contiguous();
  Tensor<T> h = Tensor<T>::zeros(y.shape());
  const std::int64_t rows = K == 0 ? 0 : c.numel() / K;
  if (labels) labels->assign(static_cast<std::size_t>(rows), 0);
  for (std::int64_t r = 0; r < rows; ++r) {
    const T* p = c.data() + r * K;
    std::int64_t best = 0;
    for (std::int64_t k = 1; k < K; ++k)
      if (p[k] > p[best]) best = k;
    h.data()[r * K + best] = T(1);
    if (labels) (*labels)[static_cast<std::size_t>(r)] = best;
  }
  return h;
}

/// Straight-through estimator: the value is `hard` (a constant), the adjoint is passed unchanged to
/// `soft` (same shape). Same value and gradient as hard + soft − detach(soft), without the rounding
/// of that sum. @throw std::invalid_argument if the shapes differ.
template <class T>
Var<T> straight_through(const Tensor<T>& hard, const Var<T>& soft) {
  check_same_shape("straight_through", "hard", hard.shape(), "soft", soft.shape());
  return make_result<T>(hard.clone(), {soft}, [soft](const Tensor<T>& g) {
    if (soft.requires_grad()) soft.node().accumulate(g.contiguous().clone());
  });
}

/// How the relaxed sample is computed from y = (ℓ + g)/τ (equal up to rounding).
enum class GumbelSoftmaxForm {
  Fused,      ///< softmax(y, −1) (ops/softmax.hpp)
  LogSumExp,  ///< exp(y − logsumexp(y, −1)) composed from elementwise ops (the graph-generation model)
};

/// Options of `gumbel_softmax`; the defaults are the clustering of models/mgn/clustering.hpp.
struct GumbelSoftmaxOptions {
  bool straight_through = true;  ///< Π = hard one-hot with the relaxed gradient; false: Π = the relaxed sample
  /// Take the hard sample's argmax of y = (ℓ + g)/τ rather than of ℓ + g. Equal for τ = 1; otherwise
  /// they differ only where the rounding of the product creates a tie (the molecule and
  /// graph-generation models use y, kept so that their results do not move).
  bool argmax_of_scaled = false;
  GumbelSoftmaxForm form = GumbelSoftmaxForm::Fused;
};

/// A Gumbel-softmax sample.
template <class T>
struct GumbelSample {
  Var<T> pi;                         ///< [..., K] straight-through one-hot or the relaxed sample
  Var<T> soft;                       ///< [..., K] the relaxed sample softmax((ℓ + g)/τ)
  std::vector<std::int64_t> labels;  ///< hard class of every row (rows = numel / K, row-major)
};

/// Gumbel-softmax of `logits` [..., K] with the noise `gumbel` (logits' shape, or undefined for none)
/// at inverse temperature `inv_tau` = 1/τ (passed as the multiplier so callers control its rounding).
/// @throw std::invalid_argument if logits is undefined or 0-D, K = 0, the noise's shape differs, or
///        inv_tau is not finite and > 0.
template <class T>
GumbelSample<T> gumbel_softmax(const Var<T>& logits, const Tensor<T>& gumbel, T inv_tau, const GumbelSoftmaxOptions& o = {}) {
  constexpr const char* fn = "gumbel_softmax";
  check_arg(logits.defined() && logits.dim() >= 1, fn, "logits", "must be [..., K]");
  check_arg(logits.shape().back() >= 1, fn, "logits", "needs at least one class (K >= 1), got " + shape_str(logits.shape()));
  check_arg(inv_tau > T(0) && std::isfinite(inv_tau), fn, "inv_tau", "must be finite and > 0, got " + std::to_string(inv_tau));
  Var<T> perturbed = logits;
  if (gumbel.defined()) {
    check_same_shape(fn, "gumbel", gumbel.shape(), "logits", logits.shape());
    perturbed = add(logits, constant(gumbel));
  }
  GumbelSample<T> s;
  const Var<T> y = mul_scalar(perturbed, inv_tau);
  const Tensor<T> hard = one_hot_argmax(o.argmax_of_scaled ? y.value() : perturbed.value(), &s.labels);
  s.soft = o.form == GumbelSoftmaxForm::Fused ? softmax(y, -1) : exp(sub(y, logsumexp(y, -1, true)));
  s.pi = o.straight_through ? straight_through(hard, s.soft) : s.soft;
  return s;
}

/// Straight-through Gumbel-softmax with noise from `rng` (see the file comment). @param logits [N, K];
/// @param index if non-null receives the sampled class of each row. @return the hard one-hot [N, K].
/// @throw std::invalid_argument if logits is not 2-D with K ≥ 1, τ ≤ 0 or not finite;
///        std::domain_error if a logit is not finite.
template <class T>
Var<T> gumbel_softmax_st(const Var<T>& logits, T tau, const CounterRng& rng, std::uint64_t offset = 0,
                         std::vector<std::int64_t>* index = nullptr) {
  constexpr const char* fn = "gumbel_softmax_st";
  const Shape& s = logits.shape();
  check_arg(s.size() == 2, fn, "logits", "must be 2-D [N, K], got " + shape_str(s));
  check_arg(s[1] >= 1, fn, "logits", "needs at least one class (K >= 1), got " + shape_str(s));
  check_arg(tau > T(0) && std::isfinite(tau), fn, "tau", "must be finite and > 0, got " + std::to_string(tau));
  const Tensor<T> lv = logits.value().contiguous();
  check_finite(fn, "logits", lv.data(), lv.numel());
  // One fused op on the CPU kernel (kernels/cpu/gumbel.hpp, the reference of the CUDA kernel):
  // value = the hard one-hot, backward = the relaxed sample's Jacobian (straight-through).
  const std::int64_t N = s[0], K = s[1];
  Tensor<T> hard(s), soft(s);
  std::vector<std::int64_t> idx(static_cast<std::size_t>(N));
  kernels::cpu::gumbel_softmax_forward(N, K, lv.data(), tau, rng, offset, hard.data(), soft.data(), idx.data());
  if (index) *index = std::move(idx);
  return make_result<T>(hard, {logits}, [logits, soft, tau, N, K](const Tensor<T>& g) {
    if (!logits.requires_grad()) return;
    const Tensor<T> gc = g.contiguous();
    Tensor<T> d(Shape{N, K});
    kernels::cpu::gumbel_softmax_backward(N, K, soft.data(), tau, gc.data(), d.data());
    logits.node().accumulate(d);
  });
}

namespace detail {
/// The fused balanced-cut KL op (form Fused of `balanced_cut_kl`).
/// Gradient: ∂/∂Π_ik = (log(K P_k) + 1) / N (empty clusters: log is taken at 1e-30 · (1/K)).
/// @throw std::invalid_argument if assign is not 2-D with N ≥ 1 and K ≥ 1.
template <class T>
Var<T> balanced_cut_kl_fused(const Var<T>& assign) {
  constexpr const char* fn = "balanced_cut_kl";  // callers see the public name
  const Shape& s = assign.shape();
  check_arg(s.size() == 2 && s[0] >= 1 && s[1] >= 1, fn, "assign",
            "must be [N, K] with N, K >= 1, got " + shape_str(s));
  const std::int64_t N = s[0], K = s[1];
  const Tensor<T> av = assign.value().contiguous();
  std::vector<T> P(static_cast<std::size_t>(K), T(0));
  for (std::int64_t i = 0; i < N; ++i)
    for (std::int64_t k = 0; k < K; ++k) P[k] += av.data()[i * K + k];
  T kl = 0;
  auto lg = std::make_shared<std::vector<T>>(static_cast<std::size_t>(K));
  for (std::int64_t k = 0; k < K; ++k) {
    P[k] /= static_cast<T>(N);
    const T pk = P[k] > T(0) ? P[k] : T(0);
    (*lg)[k] = std::log(static_cast<T>(K) * (pk > T(0) ? pk : T(1e-30)));
    if (pk > T(0)) kl += pk * (*lg)[k];
  }
  return make_result<T>(Tensor<T>::scalar(kl), {assign}, [assign, lg, N, K](const Tensor<T>& g) {
    if (!assign.requires_grad()) return;
    const T go = g.contiguous().data()[0];
    Tensor<T> d(Shape{N, K});
    for (std::int64_t i = 0; i < N; ++i)
      for (std::int64_t k = 0; k < K; ++k) d.data()[i * K + k] = go * ((*lg)[k] + T(1)) / static_cast<T>(N);
    assign.node().accumulate(d);
  });
}
}  // namespace detail

/// How Σ_k P_k log(K P_k) is evaluated (equal up to rounding where every P_k > 0).
enum class BalancedCutForm {
  Fused,       ///< one op with the closed-form gradient (balanced_cut_kl only; log(K·1e-30) for empty clusters)
  ZeroOffset,  ///< Σ P ⊙ log(K (P + o)), o = 1e-30 where P = 0, else 0 (0·log 0 = 0), from elementwise ops
  Epsilon,     ///< Σ P ⊙ log(K P + ε) from elementwise ops (the graph-generation model, ε = 1e-12)
};

/// KL(P ‖ U_K) = Σ_k P_k log(K P_k) of cluster-usage distributions P [..., K] (the rows of P each sum
/// to 1), summed over all rows; a scalar. Differentiable in P. `form` ZeroOffset or Epsilon.
/// @throw std::invalid_argument if P is undefined, 0-D or has K = 0, or form is Fused.
template <class T>
Var<T> usage_kl(const Var<T>& P, BalancedCutForm form = BalancedCutForm::ZeroOffset, T eps = T(1e-12)) {
  constexpr const char* fn = "usage_kl";
  check_arg(P.defined() && P.dim() >= 1 && P.shape().back() >= 1, fn, "P", "must be [..., K] with K >= 1");
  check_arg(form != BalancedCutForm::Fused, fn, "form", "Fused needs the assignment: use balanced_cut_kl");
  const T k = static_cast<T>(P.shape().back());
  if (form == BalancedCutForm::Epsilon) return sum(mul(P, log(add_scalar(mul_scalar(P, k), eps))));
  const Tensor<T> pv = P.value().contiguous();
  Tensor<T> off(P.shape());
  for (std::int64_t j = 0; j < pv.numel(); ++j) off.data()[j] = pv.data()[j] > T(0) ? T(0) : T(1e-30);
  return sum(mul(P, log(mul_scalar(add(P, constant(off)), k))));
}

/// Balanced-cut KL to the uniform distribution over clusters, a scalar: usage_kl of the cluster
/// usage P = mean_i Π_i of an assignment Π [N, K], N ≥ 1 (hard, soft or straight-through).
/// Fused (default): one op, gradient ∂/∂Π_ik = (log(K P_k) + 1) / N (empty clusters: log is taken at
/// 1e-30 · (1/K)); otherwise usage_kl(mean(Π, {0}), form).
/// @throw std::invalid_argument if assign is not 2-D with N ≥ 1 and K ≥ 1.
template <class T>
Var<T> balanced_cut_kl(const Var<T>& assign, BalancedCutForm form = BalancedCutForm::Fused) {
  const Shape& s = assign.shape();
  check_arg(s.size() == 2 && s[0] >= 1 && s[1] >= 1, "balanced_cut_kl", "assign",
            "must be [N, K] with N, K >= 1, got " + shape_str(s));
  if (form == BalancedCutForm::Fused) return detail::balanced_cut_kl_fused(assign);
  return usage_kl(mean(assign, {0}), form);
}

}  // namespace mgvae
