#pragma once
/// @file gumbel.cuh
/// CUDA Gumbel-max / straight-through Gumbel-softmax with the project's counter-based Philox RNG
/// (`mgvae::CounterRng`, core/rng.hpp): the noise at position offset + i·K + k is bit-identical to the
/// CPU kernel's, so a (seed, stream, offset) triple gives the same clusters on both devices (only the
/// soft probabilities may differ in the last bits, from the device's exp). One thread per row.
/// Semantics and layouts as `kernels/cpu/gumbel.hpp`; device pointers, asynchronous on `stream`.
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "mgvae/core/error.hpp"
#include "mgvae/core/rng.hpp"
#include "mgvae/kernels/common/ragged.hpp"
#include "mgvae/kernels/cuda/check.cuh"

namespace mgvae::kernels::cuda {

namespace detail {
template <class T>
__global__ void gumbel_forward_kernel(std::int64_t N, std::int64_t K, const T* logits, T tau, CounterRng rng,
                                      std::uint64_t offset, T* hard, T* soft, std::int64_t* index) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= N) return;
  const T* l = logits + i * K;
  std::int64_t best = 0;
  T bv = T(0);
  for (std::int64_t k = 0; k < K; ++k) {
    const T z = l[k] + static_cast<T>(rng.gumbel(offset + static_cast<std::uint64_t>(i * K + k)));
    if (soft) soft[i * K + k] = z;
    if (k == 0 || z > bv) bv = z, best = k;
  }
  for (std::int64_t k = 0; k < K; ++k) hard[i * K + k] = k == best ? T(1) : T(0);
  if (index) index[i] = best;
  if (soft) {
    T s = T(0);
    for (std::int64_t k = 0; k < K; ++k) {
      const T e = exp((soft[i * K + k] - bv) / tau);
      soft[i * K + k] = e;
      s += e;
    }
    for (std::int64_t k = 0; k < K; ++k) soft[i * K + k] /= s;
  }
}

template <class T>
__global__ void gumbel_backward_kernel(std::int64_t N, std::int64_t K, const T* soft, T tau, const T* grad_hard,
                                       T* grad_logits) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= N) return;
  const T* y = soft + i * K;
  const T* g = grad_hard + i * K;
  T d = T(0);
  for (std::int64_t k = 0; k < K; ++k) d += y[k] * g[k];
  for (std::int64_t k = 0; k < K; ++k) grad_logits[i * K + k] = y[k] * (g[k] - d) / tau;
}

inline void gumbel_check(const char* fn, std::int64_t N, std::int64_t K, double tau) {
  check_count(fn, "N", N);
  check_arg(K >= 1 || N == 0, fn, "K", "must be positive, got " + std::to_string(K));
  check_arg(tau > 0 && std::isfinite(tau), fn, "tau", "must be finite and > 0");
}
}  // namespace detail

/// Forward: hard [N, K] one-hot, soft [N, K] (may be null), index [N] (may be null); device pointers.
/// @throw std::invalid_argument for N < 0, K < 1, τ ≤ 0; mgvae::CudaError for CUDA failures / no device.
template <class T>
void gumbel_softmax_forward(std::int64_t N, std::int64_t K, const T* logits, T tau, const CounterRng& rng,
                            std::uint64_t offset, T* hard, T* soft, std::int64_t* index = nullptr,
                            cudaStream_t stream = nullptr) {
  constexpr const char* fn = "cuda::gumbel_softmax_forward";
  detail::gumbel_check(fn, N, K, static_cast<double>(tau));
  mgvae::cuda::require_device(fn);
  if (N == 0) return;
  const unsigned blocks = static_cast<unsigned>((N + 255) / 256);
  detail::gumbel_forward_kernel<T><<<blocks, 256, 0, stream>>>(N, K, logits, tau, rng, offset, hard, soft, index);
  MGVAE_CUDA_CHECK_LAUNCH();
}

/// Straight-through backward: grad_logits = (1/τ) y ⊙ (ḣ − ⟨y, ḣ⟩) per row (overwritten).
template <class T>
void gumbel_softmax_backward(std::int64_t N, std::int64_t K, const T* soft, T tau, const T* grad_hard, T* grad_logits,
                             cudaStream_t stream = nullptr) {
  constexpr const char* fn = "cuda::gumbel_softmax_backward";
  detail::gumbel_check(fn, N, K, static_cast<double>(tau));
  mgvae::cuda::require_device(fn);
  if (N == 0) return;
  const unsigned blocks = static_cast<unsigned>((N + 255) / 256);
  detail::gumbel_backward_kernel<T><<<blocks, 256, 0, stream>>>(N, K, soft, tau, grad_hard, grad_logits);
  MGVAE_CUDA_CHECK_LAUNCH();
}

}  // namespace mgvae::kernels::cuda
