#pragma once
/// @file ragged.hpp
/// Ragged-batch layout helpers and argument validation shared by the raw-buffer kernels.
///
/// Layout (fixed across the project):
///  - B graphs; `node_off[B+1]` prefix sums of node counts n_g (node_off[0] == 0).
///  - First-order tensors: row `node_off[g] + i`, channels innermost: `[(node_off[g]+i)*C + c]`.
///  - Second-order tensors: graph g's block starts at `pair_off[g] = Σ_{h<g} n_h²`, laid out
///    `[(pair_off[g] + i*n_g + j)*C + c]`.
#include <cstdint>
#include <string>

#include "mgvae/core/error.hpp"

namespace mgvae::kernels {

/// Minimum amount of work (multiply-adds or touched values) for a kernel to open an OpenMP parallel
/// region: below it, waking the thread team costs more than it saves (and on a loaded machine a region
/// can cost a scheduler time slice).
inline constexpr std::int64_t kParallelMinWork = std::int64_t(1) << 17;

/// Validates a ragged batch description.
/// @throw std::invalid_argument naming `node_off` / `pair_off` when B < 0, a pointer is null while B > 0,
///        node_off[0] != 0, offsets decrease, pair_off[0] != 0 or pair_off[g+1]-pair_off[g] != n_g².
inline void check_ragged(const char* fn, std::int64_t B, const std::int64_t* node_off, const std::int64_t* pair_off) {
  check_arg(B >= 0, fn, "B", "must be non-negative, got " + std::to_string(B));
  if (B == 0) return;
  check_arg(node_off != nullptr, fn, "node_off", "is null");
  check_arg(node_off[0] == 0, fn, "node_off", "must start at 0, got " + std::to_string(node_off[0]));
  for (std::int64_t g = 0; g < B; ++g)
    check_arg(node_off[g + 1] >= node_off[g], fn, "node_off",
              "must be non-decreasing (graph " + std::to_string(g) + " has a negative size)");
  if (pair_off == nullptr) return;
  check_arg(pair_off[0] == 0, fn, "pair_off", "must start at 0, got " + std::to_string(pair_off[0]));
  for (std::int64_t g = 0; g < B; ++g) {
    const std::int64_t n = node_off[g + 1] - node_off[g];
    check_arg(pair_off[g + 1] - pair_off[g] == n * n, fn, "pair_off",
              "block " + std::to_string(g) + " has " + std::to_string(pair_off[g + 1] - pair_off[g]) +
                  " pairs but n_g² = " + std::to_string(n * n));
  }
}

/// Requires a channel / size argument to be non-negative (or positive when `positive`).
inline void check_count(const char* fn, const char* arg, std::int64_t v, bool positive = false) {
  if (positive)
    check_arg(v > 0, fn, arg, "must be positive, got " + std::to_string(v));
  else
    check_arg(v >= 0, fn, arg, "must be non-negative, got " + std::to_string(v));
}

/// Requires a non-null pointer when the buffer it names is non-empty.
inline void check_ptr(const char* fn, const char* arg, const void* p, std::int64_t count) {
  check_arg(count == 0 || p != nullptr, fn, arg, "is null but must hold " + std::to_string(count) + " values");
}

}  // namespace mgvae::kernels
