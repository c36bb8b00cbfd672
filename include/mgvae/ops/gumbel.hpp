#pragma once
/// @file gumbel.hpp (ops)
/// Differentiable Gumbel sampling for the learn-to-cluster step (paper §3.3) and the balanced-cut
/// penalty, on top of `kernels/cpu/gumbel.hpp`.
///
/// * `gumbel_softmax_st(logits, τ, rng, offset)`: the forward value is the hard one-hot
///   onehot(argmax(ℓ + g)) (Gumbel-max, an exact sample of softmax(ℓ)); the backward is the
///   straight-through estimator, the Jacobian of the relaxed sample softmax((ℓ + g)/τ). The noise g is
///   drawn from the counter-based RNG at positions offset + i·K + k, so a (seed, stream, offset) triple
///   gives the same sample on every platform.
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

namespace mgvae {

/// Straight-through Gumbel-softmax. @param logits [N, K]; @param index if non-null receives the sampled
/// class of each row. @return the hard one-hot [N, K].
/// @throw std::invalid_argument if logits is not 2-D with K ≥ 1, τ ≤ 0 or not finite, or a logit is not finite.
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
  const std::int64_t N = s[0], K = s[1];
  Tensor<T> hard(Shape{N, K}), soft(Shape{N, K});
  std::vector<std::int64_t> idx(static_cast<std::size_t>(N));
  kernels::cpu::gumbel_softmax_forward(N, K, lv.data(), tau, rng, offset, hard.data(), soft.data(), idx.data());
  if (index) *index = std::move(idx);
  return make_result<T>(hard, {logits}, [logits, soft, tau, N, K](const Tensor<T>& g) {
    if (!logits.requires_grad()) return;
    const Tensor<T> gc = g.contiguous();
    Tensor<T> dl(Shape{N, K});
    kernels::cpu::gumbel_softmax_backward(N, K, soft.data(), tau, gc.data(), dl.data());
    logits.node().accumulate(dl);
  });
}

/// Balanced-cut KL to the uniform distribution over clusters, a scalar. @param assign [N, K], N ≥ 1.
/// Gradient: ∂/∂Π_ik = (log(K P_k) + 1) / N (empty clusters: log is taken at 1e-30 · (1/K)).
/// @throw std::invalid_argument if assign is not 2-D with N ≥ 1 and K ≥ 1.
template <class T>
Var<T> balanced_cut_kl(const Var<T>& assign) {
  constexpr const char* fn = "balanced_cut_kl";
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

}  // namespace mgvae
