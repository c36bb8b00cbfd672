#pragma once
/// @file permutation.hpp
/// Node permutations for equivariance tests (Defs. 5, 8; Propositions 1-2).
///
/// Convention (the same as `Graph::permuted`): a permutation `perm` sends node i to node perm[i].
/// Acting on a node-indexed matrix X (rows = nodes) it gives Y with Y[perm[i], :] = X[i, :]
/// (`permute_rows`), i.e. [σ·X]_j = X_{σ^{-1}(j)} as in Def. 8.
///
/// Single graph: `random_permutation` (from a CounterRng or a seed), `inverse_permutation`,
/// `permute_graph` (= Graph::permuted), `permute_rows` (first order, node rows), `permute_square`
/// ([n, n]), `permute_pair_rows` (second order, [n², C] with row i·n + j: both node indices move),
/// `permute_pair_axes` ([C, n, n] factors), `permute_labels`.
/// Ragged batches (ops/equivariant.hpp `RaggedBatch`, one permutation per graph): `random_permutations`,
/// `permute_node_rows` ([N, C]) and `permute_pair_rows` ([P, C], both node indices of each pair).
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include "mgvae/core/error.hpp"
#include "mgvae/core/rng.hpp"
#include "mgvae/graph/graph.hpp"
#include "mgvae/ops/equivariant.hpp"
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

/// A uniformly random permutation of 0..n-1 from a seed: random_permutation(n, CounterRng(seed)).
inline std::vector<std::int64_t> random_permutation(std::int64_t n, std::uint64_t seed) {
  CounterRng rng(seed);
  return random_permutation(n, rng);
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

/// The graph with node i renamed perm[i] (Graph::permuted). @throw std::invalid_argument if perm is
/// not a permutation of the graph's nodes.
inline Graph permute_graph(const Graph& g, const std::vector<std::int64_t>& perm) { return g.permuted(perm); }

/// Second-order (pair) rows of one graph: X [n², C...] with row i·n + j for the pair (i, j);
/// Y[perm[i]·n + perm[j], ...] = X[i·n + j, ...] (both node indices move).
/// @throw std::invalid_argument if X has no axis of size n² (n = perm.size()) first.
template <class T>
Tensor<T> permute_pair_rows(const Tensor<T>& x, const std::vector<std::int64_t>& perm) {
  const auto n = static_cast<std::int64_t>(perm.size());
  if (x.dim() < 1 || x.size(0) != n * n)
    throw_invalid("permute_pair_rows", "permutation of size " + std::to_string(n) + " for pair tensor of shape " +
                                           shape_str(x.shape()) + " (expected " + std::to_string(n * n) + " rows)");
  std::vector<std::int64_t> pp(static_cast<std::size_t>(n * n));
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < n; ++j)
      pp[static_cast<std::size_t>(i * n + j)] = perm[static_cast<std::size_t>(i)] * n + perm[static_cast<std::size_t>(j)];
  return permute_rows(x, pp);
}

/// A [C, n, n] tensor (e.g. per-channel covariance factors of one graph) permuted on its two node
/// axes: Y[c, perm[i], perm[j]] = X[c, i, j]. @throw std::invalid_argument on a shape mismatch.
template <class T>
Tensor<T> permute_pair_axes(const Tensor<T>& x, const std::vector<std::int64_t>& perm) {
  const auto n = static_cast<std::int64_t>(perm.size());
  if (x.dim() != 3 || x.size(1) != n || x.size(2) != n)
    throw_invalid("permute_pair_axes", "permutation of size " + std::to_string(n) + " for shape " + shape_str(x.shape()) +
                                           " (expected [C, n, n])");
  const std::int64_t d = x.size(0);
  const Tensor<T> c = x.contiguous();
  Tensor<T> y(x.shape());
  for (std::int64_t k = 0; k < d; ++k)
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < n; ++j)
        y.data()[(k * n + perm[static_cast<std::size_t>(i)]) * n + perm[static_cast<std::size_t>(j)]] =
            c.data()[(k * n + i) * n + j];
  return y;
}

/// One permutation per graph of a ragged batch: ps[g][i] = σ_g(i).
using BatchPermutation = std::vector<std::vector<std::int64_t>>;

/// A uniformly random permutation for every graph of `b`, drawn one after the other from a single
/// CounterRng(seed) (Fisher–Yates, as random_permutation).
inline BatchPermutation random_permutations(const RaggedBatch& b, std::uint64_t seed) {
  CounterRng rng(seed);
  BatchPermutation ps;
  ps.reserve(static_cast<std::size_t>(b.graphs()));
  for (std::int64_t g = 0; g < b.graphs(); ++g) ps.push_back(random_permutation(b.size(g), rng));
  return ps;
}

namespace permutation_detail {
inline void check_batch_permutation(const char* fn, const RaggedBatch& b, const BatchPermutation& ps) {
  check_arg(static_cast<std::int64_t>(ps.size()) == b.graphs(), fn, "ps",
            "has " + std::to_string(ps.size()) + " permutations for a batch of " + std::to_string(b.graphs()) + " graphs");
  for (std::int64_t g = 0; g < b.graphs(); ++g) {
    const auto& p = ps[static_cast<std::size_t>(g)];
    check_arg(static_cast<std::int64_t>(p.size()) == b.size(g), fn, "ps",
              "permutation " + std::to_string(g) + " has size " + std::to_string(p.size()) + " but graph " +
                  std::to_string(g) + " has " + std::to_string(b.size(g)) + " nodes");
    std::vector<char> seen(p.size(), 0);
    for (std::size_t i = 0; i < p.size(); ++i) {
      check_arg(p[i] >= 0 && p[i] < b.size(g) && !seen[static_cast<std::size_t>(p[i])], fn, "ps",
                "entry " + std::to_string(i) + " of permutation " + std::to_string(g) + " is not a permutation entry");
      seen[static_cast<std::size_t>(p[i])] = 1;
    }
  }
}
}  // namespace permutation_detail

/// First-order action on node rows of a batch: X [N, C...], Y[off_g + σ_g(i)] = X[off_g + i].
/// @throw std::invalid_argument if X does not have b.nodes() rows or ps does not match b.
template <class T>
Tensor<T> permute_node_rows(const RaggedBatch& b, const BatchPermutation& ps, const Tensor<T>& x) {
  constexpr const char* fn = "permute_node_rows";
  permutation_detail::check_batch_permutation(fn, b, ps);
  check_arg(x.dim() >= 1 && x.size(0) == b.nodes(), fn, "X",
            "has shape " + shape_str(x.shape()) + " but the batch has " + std::to_string(b.nodes()) + " nodes");
  std::vector<std::int64_t> full(static_cast<std::size_t>(b.nodes()));
  for (std::int64_t g = 0; g < b.graphs(); ++g)
    for (std::int64_t i = 0; i < b.size(g); ++i)
      full[static_cast<std::size_t>(b.node_off[g] + i)] = b.node_off[g] + ps[static_cast<std::size_t>(g)][static_cast<std::size_t>(i)];
  return permute_rows(x, full);
}

/// Second-order action on the pair rows of a batch: X [P, C...] (graph g's pair (i, j) at row
/// pair_off_g + i·n_g + j), Y[pair_off_g + σ_g(i)·n_g + σ_g(j)] = X[pair_off_g + i·n_g + j].
/// @throw std::invalid_argument if X does not have b.pairs() rows or ps does not match b.
template <class T>
Tensor<T> permute_pair_rows(const RaggedBatch& b, const BatchPermutation& ps, const Tensor<T>& x) {
  constexpr const char* fn = "permute_pair_rows";
  permutation_detail::check_batch_permutation(fn, b, ps);
  check_arg(x.dim() >= 1 && x.size(0) == b.pairs(), fn, "X",
            "has shape " + shape_str(x.shape()) + " but the batch has " + std::to_string(b.pairs()) + " pairs");
  std::vector<std::int64_t> full(static_cast<std::size_t>(b.pairs()));
  for (std::int64_t g = 0; g < b.graphs(); ++g) {
    const std::int64_t n = b.size(g);
    const auto& p = ps[static_cast<std::size_t>(g)];
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < n; ++j)
        full[static_cast<std::size_t>(b.pair_off[g] + i * n + j)] =
            b.pair_off[g] + p[static_cast<std::size_t>(i)] * n + p[static_cast<std::size_t>(j)];
  }
  return permute_rows(x, full);
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
