#pragma once
/// Shared helpers of the equivariance tests (Props. 1–2): one random permutation per graph of a
/// ragged batch, and its first-order (node rows), second-order (pair rows) and [d, n, n] actions.
/// Thin aliases of the library's mgvae/graph/permutation.hpp (the tests' historic names).
#include <cstdint>
#include <vector>

#include "mgvae/graph/permutation.hpp"
#include "mgvae/ops/equivariant.hpp"

namespace mgvae::testing {

/// ps[g][i] = σ_g(i): node i of graph g moves to position σ_g(i).
using Perms = graph::BatchPermutation;

/// A uniformly random permutation per graph (Fisher–Yates with a seeded CounterRng).
inline Perms random_perms(const RaggedBatch& b, std::uint64_t seed) { return graph::random_permutations(b, seed); }

/// First-order action on X [N, C]: Y[off_g + σ(i)] = X[off_g + i].
inline Tensor<double> permute_nodes(const RaggedBatch& b, const Perms& ps, const Tensor<double>& X) {
  return graph::permute_node_rows(b, ps, X);
}

/// Second-order action on X [P, C]: Y[σ(i), σ(j)] = X[i, j] in each graph's block.
inline Tensor<double> permute_pairs(const RaggedBatch& b, const Perms& ps, const Tensor<double>& X) {
  return graph::permute_pair_rows(b, ps, X);
}

/// A [d, n, n] factor (one graph) permuted on its two node axes.
inline Tensor<double> permute_factor(const std::vector<std::int64_t>& p, const Tensor<double>& L) {
  return graph::permute_pair_axes(L, p);
}

}  // namespace mgvae::testing
