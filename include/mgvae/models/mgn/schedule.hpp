#pragma once
/// @file schedule.hpp
/// The clustering kinds and the level schedule K_s = K^(L−s) of an MGN / MGVAE hierarchy.
#include <cstdint>
#include <string>
#include <vector>

#include "mgvae/core/error.hpp"

namespace mgvae::models {

enum class ClusteringKind { Learned, Fixed };

/// Number of clusters at each coarsening step, finest first: K^L, K^(L-1), …, K, 1
/// (App. D.1: L = 7, K = 2 gives 128, 64, …, 2, 1 — the top graph is a single node, Def. 3).
/// @throw std::invalid_argument if K < 1, L < 0, or K^L exceeds `n` (more clusters than nodes).
inline std::vector<std::int64_t> level_sizes(std::int64_t n, int levels, std::int64_t k) {
  if (k < 1) throw_invalid("level_sizes", "clusters per level K must be >= 1, got " + std::to_string(k));
  if (levels < 0) throw_invalid("level_sizes", "levels must be >= 0, got " + std::to_string(levels));
  std::vector<std::int64_t> s;
  std::int64_t c = 1;
  for (int l = 0; l < levels; ++l) {
    c *= k;  // c <= n before the product: no overflow
    if (c > n)
      throw_invalid("level_sizes", "more clusters than nodes: K^L " + std::string(l + 1 == levels ? "= " : ">= ") +
                                       std::to_string(c) + " (K = " + std::to_string(k) + ", L = " + std::to_string(levels) +
                                       ") but the graph has " + std::to_string(n) + " nodes");
  }
  for (int l = levels; l >= 0; --l) {
    s.push_back(c);
    c /= (k > 0 ? k : 1);
  }
  return s;
}

}  // namespace mgvae::models
