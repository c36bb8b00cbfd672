#pragma once
/// Shared helpers of the equivariance tests (Props. 1–2): one random permutation per graph of a
/// ragged batch, and its first-order (node rows), second-order (pair rows) and [d, n, n] actions.
#include <cstdint>
#include <utility>
#include <vector>

#include "mgvae/core/rng.hpp"
#include "mgvae/ops/equivariant.hpp"

namespace mgvae::testing {

/// ps[g][i] = σ_g(i): node i of graph g moves to position σ_g(i).
using Perms = std::vector<std::vector<std::int64_t>>;

/// A uniformly random permutation per graph (Fisher–Yates with a seeded CounterRng).
inline Perms random_perms(const RaggedBatch& b, std::uint64_t seed) {
  CounterRng rng(seed);
  Perms ps;
  for (std::int64_t g = 0; g < b.graphs(); ++g) {
    const std::int64_t n = b.size(g);
    std::vector<std::int64_t> p(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) p[i] = i;
    for (std::int64_t i = n - 1; i > 0; --i) std::swap(p[i], p[static_cast<std::int64_t>(rng.next_below(i + 1))]);
    ps.push_back(std::move(p));
  }
  return ps;
}

/// First-order action on X [N, C]: Y[off_g + σ(i)] = X[off_g + i].
inline Tensor<double> permute_nodes(const RaggedBatch& b, const Perms& ps, const Tensor<double>& X) {
  const Tensor<double> x = X.contiguous();
  Tensor<double> y(x.shape());
  const std::int64_t C = x.size(1);
  for (std::int64_t g = 0; g < b.graphs(); ++g)
    for (std::int64_t i = 0; i < b.size(g); ++i)
      for (std::int64_t c = 0; c < C; ++c)
        y.data()[(b.node_off[g] + ps[g][i]) * C + c] = x.data()[(b.node_off[g] + i) * C + c];
  return y;
}

/// Second-order action on X [P, C]: Y[σ(i), σ(j)] = X[i, j] in each graph's block.
inline Tensor<double> permute_pairs(const RaggedBatch& b, const Perms& ps, const Tensor<double>& X) {
  const Tensor<double> x = X.contiguous();
  Tensor<double> y(x.shape());
  const std::int64_t C = x.size(1);
  for (std::int64_t g = 0; g < b.graphs(); ++g) {
    const std::int64_t n = b.size(g);
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < n; ++j)
        for (std::int64_t c = 0; c < C; ++c)
          y.data()[(b.pair_off[g] + ps[g][i] * n + ps[g][j]) * C + c] = x.data()[(b.pair_off[g] + i * n + j) * C + c];
  }
  return y;
}

/// A [d, n, n] factor (one graph) permuted on its two node axes.
inline Tensor<double> permute_factor(const std::vector<std::int64_t>& p, const Tensor<double>& L) {
  const std::int64_t d = L.size(0), n = L.size(1);
  const Tensor<double> l = L.contiguous();
  Tensor<double> y(L.shape());
  for (std::int64_t c = 0; c < d; ++c)
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < n; ++j) y.data()[(c * n + p[i]) * n + p[j]] = l.data()[(c * n + i) * n + j];
  return y;
}

}  // namespace mgvae::testing
