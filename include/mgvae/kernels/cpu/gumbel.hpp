#pragma once
/// @file gumbel.hpp
/// Gumbel-max sampling with the straight-through Gumbel-softmax gradient (Jang, Gu, Poole 2017;
/// Maddison, Mnih, Teh 2017), as used by MGVAE's learn-to-cluster step (paper §3.3, DESIGN.md §4).
///
/// For logits ℓ [N, K] and noise g_ik = rng.gumbel(offset + i*K + k) (mgvae::CounterRng, Philox: the same
/// noise on every platform and on the GPU):
///   forward:  hard_i = onehot(argmax_k (ℓ_ik + g_ik))     (ties → smallest k)
///             soft_i = softmax((ℓ_i + g_i) / τ)
///   backward (straight-through): the upstream gradient ḣ w.r.t. the one-hot is passed through the soft
///             relaxation's Jacobian: ℓ̄_ik = (1/τ) y_ik (ḣ_ik − Σ_j y_ij ḣ_ij), y = soft.
/// argmax(ℓ + g) equals argmax(log softmax(ℓ) + g) (a per-row shift), so the DESIGN formula is the same.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "mgvae/core/error.hpp"
#include "mgvae/core/rng.hpp"
#include "mgvae/kernels/common/ragged.hpp"

namespace mgvae::kernels::cpu {

/// Forward: hard [N, K] one-hot (overwritten), soft [N, K] relaxed probabilities (overwritten; may be null),
/// index [N] the sampled class (may be null).
/// @throw std::invalid_argument if N < 0, K < 1 (with N > 0), or τ ≤ 0 / not finite.
template <class T>
void gumbel_softmax_forward(std::int64_t N, std::int64_t K, const T* logits, T tau, const mgvae::CounterRng& rng,
                            std::uint64_t offset, T* hard, T* soft, std::int64_t* index = nullptr) {
  constexpr const char* fn = "gumbel_softmax_forward";
  check_count(fn, "N", N);
  check_arg(K >= 1 || N == 0, fn, "K", "must be positive, got " + std::to_string(K));
  check_arg(tau > T(0) && std::isfinite(tau), fn, "tau", "must be finite and > 0");
#if defined(_OPENMP)
#pragma omp parallel for schedule(static)
#endif
  for (std::int64_t i = 0; i < N; ++i) {
    const T* l = logits + i * K;
    // perturbed logits into `soft` (or a small stack-free pass when soft is null)
    std::int64_t best = 0;
    T bv = -std::numeric_limits<T>::infinity();
    for (std::int64_t k = 0; k < K; ++k) {
      const T z = l[k] + static_cast<T>(rng.gumbel(offset + static_cast<std::uint64_t>(i * K + k)));
      if (soft) soft[i * K + k] = z;
      if (z > bv || k == 0) bv = z, best = k;
    }
    for (std::int64_t k = 0; k < K; ++k) hard[i * K + k] = k == best ? T(1) : T(0);
    if (index) index[i] = best;
    if (soft) {
      T s = 0;
      for (std::int64_t k = 0; k < K; ++k) {
        const T e = std::exp((soft[i * K + k] - bv) / tau);  // max-shifted: no overflow
        soft[i * K + k] = e;
        s += e;
      }
      for (std::int64_t k = 0; k < K; ++k) soft[i * K + k] /= s;
    }
  }
}

/// Straight-through backward: grad_logits = (1/τ) y ⊙ (ḣ − <y, ḣ>) per row, with y = soft (from the forward).
/// grad_logits [N, K] overwritten. @throw std::invalid_argument as the forward.
template <class T>
void gumbel_softmax_backward(std::int64_t N, std::int64_t K, const T* soft, T tau, const T* grad_hard,
                             T* grad_logits) {
  constexpr const char* fn = "gumbel_softmax_backward";
  check_count(fn, "N", N);
  check_arg(K >= 1 || N == 0, fn, "K", "must be positive, got " + std::to_string(K));
  check_arg(tau > T(0) && std::isfinite(tau), fn, "tau", "must be finite and > 0");
#if defined(_OPENMP)
#pragma omp parallel for schedule(static)
#endif
  for (std::int64_t i = 0; i < N; ++i) {
    const T* y = soft + i * K;
    const T* g = grad_hard + i * K;
    T dotv = 0;
    for (std::int64_t k = 0; k < K; ++k) dotv += y[k] * g[k];
    for (std::int64_t k = 0; k < K; ++k) grad_logits[i * K + k] = y[k] * (g[k] - dotv) / tau;
  }
}

}  // namespace mgvae::kernels::cpu
