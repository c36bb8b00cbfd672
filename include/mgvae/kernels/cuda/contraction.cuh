#pragma once
/// @file contraction.cuh
/// CUDA version of the fused second-order message passing (paper Eq. 3) on ragged batches:
/// the six Trace-mode contractions of A ⊗ H, never forming the n⁴ tensor, and their
/// vector-Jacobian products. Same layouts and output order as `kernels/cpu/contraction.hpp`
/// (A [Σn², E], H [Σn², C], out [Σn², 6EC] with channel order (k, e, c)); the CPU kernel is the
/// reference (parity tests in tests/cuda/).
///
/// Layering: one thread per output element, one grid row (blockIdx.y) per graph, threads of a warp
/// walking the innermost channel index so that loads of H and stores of out are coalesced.
/// Per graph: forward 4n³EC + O(n²EC) multiply-adds; backward to H the same; backward to A
/// 4n³EC + O(n²EC). This first version reads A and H through the L1/L2 caches (no shared-memory
/// tiles yet) and supports `ContractionMode::Trace` only; IndependentSums throws.
///
/// All pointers are device pointers except the offsets, which are host arrays (they size the grid and
/// are copied to the device on `stream`). Calls are asynchronous on `stream`.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "mgvae/core/error.hpp"
#include "mgvae/kernels/common/ragged.hpp"
#include "mgvae/kernels/cuda/check.cuh"

namespace mgvae::kernels::cuda {

namespace detail {

constexpr int kThreads = 256;

template <class T>
__global__ void fused_forward_kernel(const std::int64_t* node_off, const std::int64_t* pair_off, const T* A,
                                     std::int64_t E, const T* H, std::int64_t C, T* out) {
  const std::int64_t g = blockIdx.y;
  const std::int64_t n = node_off[g + 1] - node_off[g];
  const std::int64_t EC = E * C, S = 6 * EC;
  const std::int64_t t = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= n * n * S) return;
  const std::int64_t pl = t / S, r = t % S;
  const int k = static_cast<int>(r / EC);
  const std::int64_t e = (r / C) % E, c = r % C;
  const std::int64_t i = pl / n, j = pl % n;
  const T* Ag = A + pair_off[g] * E;
  const T* Hg = H + pair_off[g] * C;
  auto a = [&](std::int64_t u, std::int64_t v) { return Ag[(u * n + v) * E + e]; };
  auto h = [&](std::int64_t u, std::int64_t v) { return Hg[(u * n + v) * C + c]; };
  T s = T(0);
  switch (k) {
    case 0:  // tr(A_e) H_ij
      for (std::int64_t q = 0; q < n; ++q) s += a(q, q);
      s *= h(i, j);
      break;
    case 1:  // Σ_a A_ai H_aj
      for (std::int64_t q = 0; q < n; ++q) s += a(q, i) * h(q, j);
      break;
    case 2:  // Σ_b A_ib H_bj
      for (std::int64_t q = 0; q < n; ++q) s += a(i, q) * h(q, j);
      break;
    case 3:  // Σ_a A_ai H_ja
      for (std::int64_t q = 0; q < n; ++q) s += a(q, i) * h(j, q);
      break;
    case 4:  // Σ_b A_ib H_jb
      for (std::int64_t q = 0; q < n; ++q) s += a(i, q) * h(j, q);
      break;
    default:  // A_ij tr(H_c)
      for (std::int64_t q = 0; q < n; ++q) s += h(q, q);
      s *= a(i, j);
      break;
  }
  out[(pair_off[g] + pl) * S + r] = s;
}

/// dH[x,y,c] = Σ_e [ tr(A_e) G0[x,y] + Σ_i A_xi G1[i,y] + Σ_i A_ix G2[i,y] + Σ_i A_yi G3[i,x]
///                   + Σ_i A_iy G4[i,x] + δ_xy Σ_ij A_ij G5[i,j] ]   (G_k = grad_out[.., k, e, c])
template <class T>
__global__ void fused_backward_h_kernel(const std::int64_t* node_off, const std::int64_t* pair_off, const T* A,
                                        std::int64_t E, std::int64_t C, const T* G, T* dH) {
  const std::int64_t g = blockIdx.y;
  const std::int64_t n = node_off[g + 1] - node_off[g];
  const std::int64_t EC = E * C, S = 6 * EC;
  const std::int64_t t = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= n * n * C) return;
  const std::int64_t pl = t / C, c = t % C;
  const std::int64_t x = pl / n, y = pl % n;
  const T* Ag = A + pair_off[g] * E;
  const T* Gg = G + pair_off[g] * S;
  T s = T(0);
  for (std::int64_t e = 0; e < E; ++e) {
    auto a = [&](std::int64_t u, std::int64_t v) { return Ag[(u * n + v) * E + e]; };
    auto gk = [&](int k, std::int64_t u, std::int64_t v) { return Gg[(u * n + v) * S + k * EC + e * C + c]; };
    T tr = T(0);
    for (std::int64_t q = 0; q < n; ++q) tr += a(q, q);
    s += tr * gk(0, x, y);
    for (std::int64_t q = 0; q < n; ++q)
      s += a(x, q) * gk(1, q, y) + a(q, x) * gk(2, q, y) + a(y, q) * gk(3, q, x) + a(q, y) * gk(4, q, x);
    if (x == y)
      for (std::int64_t u = 0; u < n; ++u)
        for (std::int64_t v = 0; v < n; ++v) s += a(u, v) * gk(5, u, v);
  }
  dH[(pair_off[g] + pl) * C + c] = s;
}

/// dA[x,y,e] = Σ_c [ δ_xy Σ_ij G0[i,j] H_ij + Σ_j G1[y,j] H_xj + Σ_j G2[x,j] H_yj + Σ_j G3[y,j] H_jx
///                   + Σ_j G4[x,j] H_jy + G5[x,y] tr(H_c) ]
template <class T>
__global__ void fused_backward_a_kernel(const std::int64_t* node_off, const std::int64_t* pair_off, const T* H,
                                        std::int64_t E, std::int64_t C, const T* G, T* dA) {
  const std::int64_t g = blockIdx.y;
  const std::int64_t n = node_off[g + 1] - node_off[g];
  const std::int64_t EC = E * C, S = 6 * EC;
  const std::int64_t t = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= n * n * E) return;
  const std::int64_t pl = t / E, e = t % E;
  const std::int64_t x = pl / n, y = pl % n;
  const T* Hg = H + pair_off[g] * C;
  const T* Gg = G + pair_off[g] * S;
  T s = T(0);
  for (std::int64_t c = 0; c < C; ++c) {
    auto h = [&](std::int64_t u, std::int64_t v) { return Hg[(u * n + v) * C + c]; };
    auto gk = [&](int k, std::int64_t u, std::int64_t v) { return Gg[(u * n + v) * S + k * EC + e * C + c]; };
    T tr = T(0);
    for (std::int64_t q = 0; q < n; ++q) tr += h(q, q);
    s += gk(5, x, y) * tr;
    for (std::int64_t q = 0; q < n; ++q)
      s += gk(1, y, q) * h(x, q) + gk(2, x, q) * h(y, q) + gk(3, y, q) * h(q, x) + gk(4, x, q) * h(q, y);
    if (x == y)
      for (std::int64_t u = 0; u < n; ++u)
        for (std::int64_t v = 0; v < n; ++v) s += gk(0, u, v) * h(u, v);
  }
  dA[(pair_off[g] + pl) * E + e] = s;
}

/// Validated offsets on the device plus the largest n² of the batch.
struct DeviceOffsets {
  mgvae::cuda::DeviceBuffer<std::int64_t> node, pair;
  std::int64_t max_n2 = 0;
};

inline DeviceOffsets upload_offsets(const char* fn, std::int64_t B, const std::int64_t* node_off,
                                    const std::int64_t* pair_off, cudaStream_t stream) {
  check_ragged(fn, B, node_off, pair_off);
  check_arg(B == 0 || pair_off != nullptr, fn, "pair_off", "is null");
  check_arg(B <= 65535, fn, "B", "at most 65535 graphs per call (grid y limit), got " + std::to_string(B));
  DeviceOffsets d;
  for (std::int64_t g = 0; g < B; ++g) {
    const std::int64_t n = node_off[g + 1] - node_off[g];
    d.max_n2 = std::max(d.max_n2, n * n);
  }
  d.node = mgvae::cuda::DeviceBuffer<std::int64_t>(std::vector<std::int64_t>(node_off, node_off + B + 1), stream);
  d.pair = mgvae::cuda::DeviceBuffer<std::int64_t>(std::vector<std::int64_t>(pair_off, pair_off + B + 1), stream);
  return d;
}

inline dim3 grid_for(std::int64_t per_graph, std::int64_t B) {
  const std::int64_t bx = std::max<std::int64_t>(1, (per_graph + kThreads - 1) / kThreads);
  return dim3(static_cast<unsigned>(bx), static_cast<unsigned>(B));
}

}  // namespace detail

/// Fused Eq. 3 forward (Trace mode) on the device. Shapes as the CPU `fused_contract_forward`.
/// @throw std::invalid_argument for bad offsets / sizes; mgvae::CudaError for a CUDA failure or no device.
template <class T>
void fused_contract_forward(std::int64_t B, const std::int64_t* node_off, const std::int64_t* pair_off, const T* A,
                            std::int64_t E, const T* H, std::int64_t C, T* out, cudaStream_t stream = nullptr) {
  constexpr const char* fn = "cuda::fused_contract_forward";
  mgvae::cuda::require_device(fn);
  check_count(fn, "E", E, true);
  check_count(fn, "C", C);
  auto off = detail::upload_offsets(fn, B, node_off, pair_off, stream);
  if (B == 0 || off.max_n2 == 0 || C == 0) return;
  detail::fused_forward_kernel<T><<<detail::grid_for(off.max_n2 * 6 * E * C, B), detail::kThreads, 0, stream>>>(
      off.node.data(), off.pair.data(), A, E, H, C, out);
  MGVAE_CUDA_CHECK_LAUNCH();
}

/// Vector-Jacobian product of `fused_contract_forward`: grad_H [Σn², C] overwritten; grad_A [Σn², E]
/// overwritten, or nullptr to skip it.
template <class T>
void fused_contract_backward(std::int64_t B, const std::int64_t* node_off, const std::int64_t* pair_off, const T* A,
                             std::int64_t E, const T* H, std::int64_t C, const T* grad_out, T* grad_H, T* grad_A,
                             cudaStream_t stream = nullptr) {
  constexpr const char* fn = "cuda::fused_contract_backward";
  mgvae::cuda::require_device(fn);
  check_count(fn, "E", E, true);
  check_count(fn, "C", C);
  auto off = detail::upload_offsets(fn, B, node_off, pair_off, stream);
  if (B == 0 || off.max_n2 == 0) return;
  if (C > 0) {
    detail::fused_backward_h_kernel<T><<<detail::grid_for(off.max_n2 * C, B), detail::kThreads, 0, stream>>>(
        off.node.data(), off.pair.data(), A, E, C, grad_out, grad_H);
    MGVAE_CUDA_CHECK_LAUNCH();
  }
  if (grad_A) {
    if (C == 0) {
      MGVAE_CUDA_CHECK(cudaMemsetAsync(grad_A, 0, static_cast<std::size_t>(pair_off[B] * E) * sizeof(T), stream));
      return;
    }
    detail::fused_backward_a_kernel<T><<<detail::grid_for(off.max_n2 * E, B), detail::kThreads, 0, stream>>>(
        off.node.data(), off.pair.data(), H, E, C, grad_out, grad_A);
    MGVAE_CUDA_CHECK_LAUNCH();
  }
}

}  // namespace mgvae::kernels::cuda
