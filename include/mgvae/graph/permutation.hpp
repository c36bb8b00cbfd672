#pragma once
/// @file permutation.hpp
/// Node permutations for equivariance tests (Defs. 5, 8; Propositions 1-2).
///
/// Convention (the same as `Graph::permuted`): a permutation `perm` sends node i to node perm[i].
/// Acting on a node-indexed matrix X (rows = nodes) it gives Y with Y[perm[i], :] = X[i, :]
/// (`permute_rows`), i.e. [σ·X]_j = X_{σ^{-1}(j)} as in Def. 8.
#include <cstdint>
#include <numeric>
#include <vector>

#include "mgvae/core/error.hpp"
#include "mgvae/core/rng.hpp"
#include "mgvae/tensor/tensor.hpp"

namespace mgvae::graph {

/// A uniformly random permutation of 0..n-1 (Fisher-Yates on `rng`'s sequential stream).
inline std::vector<std::int64_t> random_permutation(std::int64_t n, CounterRng& rng) {
  if (n < 0) throw_invalid("random_permutation", "n must be >= 0");
  std::vector<std::int64_t> p(static_cast<std::size_t>(n));
  std::iota(p.begin(), p.end(), std::int64_t{0});
  for (std::int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<std::int64_t>(rng.next_below(static_cast<std::uint64_t>(i + 1)));
    std::swap(p[static_cast<std::size_t>(i)], p[static_cast<std::size_t>(j)]);
  }
  return p;
}

/// inv[perm[i]] = i. @throw std::invalid_argument if perm is not a permutation.
inline std::vector<std::int64_t> inverse_permutation(const std::vector<std::int64_t>& perm) {
  std::vector<std::int64_t> inv(perm.size(), -1);
  for (std::size_t i = 0; i < perm.size(); ++i) {
    const std::int64_t p = perm[i];
    if (p < 0 || p >= static_cast<std::int64_t>(perm.size()) || inv[static_cast<std::size_t>(p)] != -1)
      throw_invalid("inverse_permutation", "not a permutation (entry " + std::to_string(i) + ")");
    inv[static_cast<std::size_t>(p)] = static_cast<std::int64_t>(i);
  }
  return inv;
}

/// Y[perm[i], ...] = X[i, ...] along axis 0 (any rank >= 1).
/// @throw std::invalid_argument if perm.size() != X.shape[0].
template <class T>
Tensor<T> permute_rows(const Tensor<T>& x, const std::vector<std::int64_t>& perm) {
  if (x.dim() < 1 || x.size(0) != static_cast<std::int64_t>(perm.size()))
    throw_invalid("permute_rows", "permutation of size " + std::to_string(perm.size()) + " for shape " + shape_str(x.shape()));
  Tensor<T> c = x.contiguous();
  Tensor<T> y(x.shape());
  const std::int64_t inner = x.size(0) == 0 ? 0 : x.numel() / x.size(0);
  for (std::size_t i = 0; i < perm.size(); ++i)
    for (std::int64_t j = 0; j < inner; ++j)
      y.data()[perm[i] * inner + j] = c.data()[static_cast<std::int64_t>(i) * inner + j];
  return y;
}

/// Y[perm[i], perm[j]] = X[i, j] for a square matrix (an adjacency).
template <class T>
Tensor<T> permute_square(const Tensor<T>& x, const std::vector<std::int64_t>& perm) {
  const auto n = static_cast<std::int64_t>(perm.size());
  if (x.dim() != 2 || x.size(0) != n || x.size(1) != n)
    throw_invalid("permute_square", "permutation of size " + std::to_string(n) + " for shape " + shape_str(x.shape()));
  Tensor<T> c = x.contiguous();
  Tensor<T> y(x.shape());
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < n; ++j)
      y.data()[perm[static_cast<std::size_t>(i)] * n + perm[static_cast<std::size_t>(j)]] = c.data()[i * n + j];
  return y;
}

/// Labels relabelled with the nodes: out[perm[i]] = labels[i].
template <class L>
std::vector<L> permute_labels(const std::vector<L>& labels, const std::vector<std::int64_t>& perm) {
  if (labels.size() != perm.size()) throw_invalid("permute_labels", "size mismatch");
  std::vector<L> out(labels.size());
  for (std::size_t i = 0; i < perm.size(); ++i) out[static_cast<std::size_t>(perm[i])] = labels[i];
  return out;
}

}  // namespace mgvae::graph
