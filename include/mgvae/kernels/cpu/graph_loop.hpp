#pragma once
/// @file graph_loop.hpp
/// Per-graph loops shared by the CPU kernels on ragged batches (equivariant_linear.hpp,
/// contraction.hpp): the parallel-region threshold, the loop over non-empty graphs, and the
/// row/column/diagonal/trace/total marginals of one n×n×C block.
#include <cstdint>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "mgvae/kernels/common/ragged.hpp"

namespace mgvae::kernels::cpu::detail {

/// Opens a parallel region only for batches with enough O(n²C) work (see kParallelMinWork).
inline bool worth_parallel(std::int64_t B, const std::int64_t* node_off, std::int64_t C) {
  if (B < 2) return false;
  std::int64_t w = 0;
  for (std::int64_t g = 0; g < B; ++g) {
    const std::int64_t n = node_off[g + 1] - node_off[g];
    w += n * n * C;
  }
  return w >= kParallelMinWork;
}
/// Runs body(g, n) for every non-empty graph g (n nodes), over an OpenMP parallel loop when the
/// batch holds enough O(n²C) work (worth_parallel). Bodies write disjoint per-graph slices.
template <class F>
inline void for_each_graph(std::int64_t B, const std::int64_t* node_off, std::int64_t C, F&& body) {
#if defined(_OPENMP)
#pragma omp parallel for schedule(dynamic) if (worth_parallel(B, node_off, C))
#endif
  for (std::int64_t g = 0; g < B; ++g) {
    const std::int64_t n = node_off[g + 1] - node_off[g];
    if (n > 0) body(g, n);
  }
#if !defined(_OPENMP)
  (void)C;  // only the parallel-work heuristic reads C
#endif
}
/// Row sums r, column sums s, diagonal d, trace tr, total tot of one n×n×C block.
template <class T>
struct Marg2 {
  std::vector<T> r, s, d, tr, tot;
  Marg2(std::int64_t n, std::int64_t C, const T* X)
      : r(n * C, T(0)), s(n * C, T(0)), d(n * C, T(0)), tr(C, T(0)), tot(C, T(0)) {
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < n; ++j)
        for (std::int64_t c = 0; c < C; ++c) {
          const T v = X[(i * n + j) * C + c];
          r[i * C + c] += v;
          s[j * C + c] += v;
          tot[c] += v;
          if (i == j) {
            d[i * C + c] = v;
            tr[c] += v;
          }
        }
  }
};
/// Σ_a X_aa: the per-channel trace of one n×n×C block, written to tr[0..C).
template <class T>
inline void diag_trace(std::int64_t n, std::int64_t C, const T* X, T* tr) {
  for (std::int64_t c = 0; c < C; ++c) tr[c] = T(0);
  for (std::int64_t a = 0; a < n; ++a)
    for (std::int64_t c = 0; c < C; ++c) tr[c] += X[(a * n + a) * C + c];
}

}  // namespace mgvae::kernels::cpu::detail
