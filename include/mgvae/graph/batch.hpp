#pragma once
/// @file batch.hpp
/// Ragged batches of small graphs in the layout the second-order models take
/// (`Mgvae<T, 2>::forward(b, A, X, noise)`, `SecondOrderEncoder`, the ops of ops/equivariant.hpp):
///   b  RaggedBatch: node_off / pair_off prefix sums of n_g and n_g²
///   A  [Σ n_g², 1]  adjacency of graph g at rows pair_off_g + i·n_g + j (symmetric, 0/1, zero diagonal)
///   X  [Σ n_g, F]   node features of graph g at rows node_off_g + i
/// Graph g of the batch is graphs[g]; node i keeps its index. Permuting the nodes of graph g by σ_g
/// (Graph::permuted) permutes A and X as graph::permute_pair_rows / permute_node_rows (permutation.hpp).
#include <cstdint>
#include <string>
#include <vector>

#include "mgvae/core/error.hpp"
#include "mgvae/graph/graph.hpp"
#include "mgvae/ops/equivariant.hpp"
#include "mgvae/tensor/tensor.hpp"

namespace mgvae::graph {

/// A ragged batch of graphs: offsets, one-channel adjacency [P, 1] and node features [N, F].
template <class T>
struct RaggedGraphBatch {
  RaggedBatch b;  ///< offsets (b.graphs() graphs, b.nodes() nodes, b.pairs() pairs)
  Tensor<T> A;    ///< [P, 1]
  Tensor<T> X;    ///< [N, F]
};

/// Builds the batch of `graphs` with the given node features: features[g] is [n_g, F] (the same F
/// for every graph), or `features` is empty and X is a column of ones [N, 1].
/// @throw std::invalid_argument (naming the argument and the graph) for an empty list, an invalid
///   graph (Graph::validate), a features list of the wrong length, or features of the wrong shape.
template <class T>
RaggedGraphBatch<T> make_ragged_batch(const std::vector<Graph>& graphs, const std::vector<Tensor<T>>& features = {}) {
  constexpr const char* fn = "graph::make_ragged_batch";
  check_arg(!graphs.empty(), fn, "graphs", "is empty");
  check_arg(features.empty() || features.size() == graphs.size(), fn, "features",
            "has " + std::to_string(features.size()) + " entries for " + std::to_string(graphs.size()) + " graphs");
  std::vector<std::int64_t> sizes;
  sizes.reserve(graphs.size());
  for (std::size_t g = 0; g < graphs.size(); ++g) {
    try {
      graphs[g].validate();
    } catch (const std::invalid_argument& e) {
      throw_invalid(fn, "graphs[" + std::to_string(g) + "] is not a valid graph: " + e.what());
    }
    sizes.push_back(graphs[g].n);
  }
  const std::int64_t F = features.empty() ? 1 : (features[0].dim() == 2 ? features[0].size(1) : -1);
  for (std::size_t g = 0; g < features.size(); ++g) {
    const Tensor<T>& f = features[g];
    check_arg(f.dim() == 2 && f.size(0) == graphs[g].n && f.size(1) == F, fn, "features",
              "entry " + std::to_string(g) + " has shape " + shape_str(f.shape()) + ", expected [" +
                  std::to_string(graphs[g].n) + ", " + std::to_string(F < 0 ? 0 : F) + "]");
  }
  RaggedGraphBatch<T> out;
  out.b = RaggedBatch::from_sizes(sizes);
  out.A = Tensor<T>::zeros(Shape{out.b.pairs(), 1});
  T* a = out.A.data();
  for (std::size_t g = 0; g < graphs.size(); ++g) {
    const std::int64_t n = graphs[g].n, off = out.b.pair_off[g];
    for (const auto& [u, v] : graphs[g].edges) {
      a[off + u * n + v] = T(1);
      a[off + v * n + u] = T(1);
    }
  }
  if (features.empty()) {
    out.X = Tensor<T>::ones(Shape{out.b.nodes(), 1});
  } else {
    out.X = Tensor<T>(Shape{out.b.nodes(), F});
    T* x = out.X.data();
    for (std::size_t g = 0; g < features.size(); ++g) {
      const Tensor<T> f = features[g].contiguous();
      const std::int64_t base = out.b.node_off[g] * F;
      for (std::int64_t k = 0; k < f.numel(); ++k) x[base + k] = f.data()[k];
    }
  }
  return out;
}

}  // namespace mgvae::graph
