#pragma once
/// @file normalize.hpp
/// Graph operators as constant sparse matrices (`CsrMatrix<T>`), the operands of `spmm`.
///
/// * `adjacency_csr(g)`         : A (symmetric, 0/1, no diagonal).
/// * `gcn_normalized(g)`        : Â = D̃^{-1/2} (A + I) D̃^{-1/2}, D̃ = diag(deg + 1)
///                                (Kipf & Welling 2017; the authors' citation code, REFERENCE-NOTES §3.1).
///                                Isolated nodes are fine here: the self loop makes D̃_ii = 1.
/// * `dense_to_csr(x, n, F)`    : a row-major dense matrix (e.g. bag-of-words features) as CSR,
///                                dropping exact zeros, so that X W costs O(nnz(X)·d).
#include <cmath>
#include <cstdint>
#include <tuple>
#include <vector>

#include "mgvae/core/error.hpp"
#include "mgvae/graph/graph.hpp"
#include "mgvae/tensor/csr.hpp"

namespace mgvae::graph {

/// The symmetric 0/1 adjacency of `g` (each undirected edge stored in both rows).
template <class T>
CsrMatrix<T> adjacency_csr(const Graph& g) {
  std::vector<std::tuple<std::int64_t, std::int64_t, T>> trip;
  trip.reserve(2 * g.edges.size());
  for (const auto& [u, v] : g.edges) {
    trip.emplace_back(u, v, T(1));
    trip.emplace_back(v, u, T(1));
  }
  return CsrMatrix<T>::from_triplets(g.n, g.n, trip);
}

/// Â = D̃^{-1/2}(A + I)D̃^{-1/2} with D̃_ii = deg(i) + 1 (never zero).
template <class T>
CsrMatrix<T> gcn_normalized(const Graph& g) {
  const auto deg = g.degrees();
  std::vector<T> s(deg.size());
  for (std::size_t i = 0; i < deg.size(); ++i) s[i] = T(1) / std::sqrt(static_cast<T>(deg[i] + 1));
  std::vector<std::tuple<std::int64_t, std::int64_t, T>> trip;
  trip.reserve(2 * g.edges.size() + static_cast<std::size_t>(g.n));
  for (std::int64_t i = 0; i < g.n; ++i) trip.emplace_back(i, i, s[static_cast<std::size_t>(i)] * s[static_cast<std::size_t>(i)]);
  for (const auto& [u, v] : g.edges) {
    const T w = s[static_cast<std::size_t>(u)] * s[static_cast<std::size_t>(v)];
    trip.emplace_back(u, v, w);
    trip.emplace_back(v, u, w);
  }
  return CsrMatrix<T>::from_triplets(g.n, g.n, trip);
}

/// A row-major dense [rows, cols] matrix as CSR (exact zeros dropped).
/// @throw std::invalid_argument if x.size() != rows * cols.
template <class T, class S>
CsrMatrix<T> dense_to_csr(const std::vector<S>& x, std::int64_t rows, std::int64_t cols) {
  if (rows < 0 || cols < 0 || static_cast<std::int64_t>(x.size()) != rows * cols)
    throw_invalid("dense_to_csr", "buffer of " + std::to_string(x.size()) + " values is not " + std::to_string(rows) +
                                      " x " + std::to_string(cols));
  CsrMatrix<T> m;
  m.rows = rows;
  m.cols = cols;
  m.row_ptr.assign(static_cast<std::size_t>(rows + 1), 0);
  for (std::int64_t i = 0; i < rows; ++i) {
    for (std::int64_t j = 0; j < cols; ++j) {
      const S v = x[static_cast<std::size_t>(i * cols + j)];
      if (v != S(0)) {
        m.col.push_back(j);
        m.val.push_back(static_cast<T>(v));
      }
    }
    m.row_ptr[static_cast<std::size_t>(i + 1)] = static_cast<std::int64_t>(m.col.size());
  }
  return m;
}

}  // namespace mgvae::graph
