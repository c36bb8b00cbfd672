#pragma once
/// @file second_order_blocks.hpp
/// The second-order building blocks of an MGN level besides the encoder (second_order.hpp), on
/// ragged batches: the equivariant pair decoder p(A | Z) of the local and global decoders, the
/// second-order clustering network, and the ragged adjacency of a list of graphs.
///
/// `SecondOrderPairDecoder`: H_0 = ReLU(W_in [z_i ⊙ z_j ‖ 1→2(z)]), H_{t+1} = ReLU(W_t 2→2(H_t)),
///   o = W_out H_T, logits_ij = ½(o_ij + o_ji)  [P, E]  (symmetric, S_n-equivariant per graph).
/// `SecondOrderClustering`: p̃ = W_k 2→1(SecondOrderLayer(A, 1→2(Z)))  [N, K]  (tanh if bounded).
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mgvae/graph/graph.hpp"
#include "mgvae/models/mgn/second_order.hpp"
#include "mgvae/nn/linear.hpp"
#include "mgvae/ops/equivariant.hpp"
#include "mgvae/ops/indexing.hpp"
#include "mgvae/ops/shape.hpp"

namespace mgvae::models {

/// Row (g, j, i) of every pair row (g, i, j) of a ragged batch.
inline std::vector<std::int64_t> pair_transpose_rows(const RaggedBatch& b) {
  std::vector<std::int64_t> t(static_cast<std::size_t>(b.pairs()));
  for (std::int64_t g = 0; g < b.graphs(); ++g) {
    const std::int64_t n = b.size(g), o = b.pair_off[static_cast<std::size_t>(g)];
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < n; ++j) t[static_cast<std::size_t>(o + i * n + j)] = o + j * n + i;
  }
  return t;
}

/// The ragged adjacency [Σ n_g², 1] (0/1, symmetric) of a list of graphs, and its batch.
/// @throw std::invalid_argument from RaggedBatch::from_sizes (negative size).
template <class T>
std::pair<RaggedBatch, Tensor<T>> ragged_adjacency(const std::vector<Graph>& graphs) {
  std::vector<std::int64_t> sizes;
  for (const Graph& g : graphs) sizes.push_back(g.n);
  RaggedBatch b = RaggedBatch::from_sizes(sizes);
  Tensor<T> a = Tensor<T>::zeros(Shape{b.pairs(), 1});
  for (std::size_t g = 0; g < graphs.size(); ++g) {
    const std::int64_t n = graphs[g].n, o = b.pair_off[g];
    for (const auto& [u, v] : graphs[g].edges) {
      a.data()[o + u * n + v] = T(1);
      a.data()[o + v * n + u] = T(1);
    }
  }
  return {std::move(b), std::move(a)};
}

/// Second-order decoder p(A | Z): z [N, d] → symmetric pair logits [P, E] (see the file comment).
template <class T>
class SecondOrderPairDecoder : public nn::Module<T> {
 public:
  /// @throw std::invalid_argument if a size is not positive or layers < 0.
  SecondOrderPairDecoder(std::int64_t latent, std::int64_t hidden, std::int64_t out, int layers, CounterRng& rng) {
    check_arg(latent >= 1, "SecondOrderPairDecoder", "latent", "must be >= 1");
    check_arg(hidden >= 1, "SecondOrderPairDecoder", "hidden", "must be >= 1");
    check_arg(out >= 1, "SecondOrderPairDecoder", "out", "must be >= 1");
    check_arg(layers >= 0, "SecondOrderPairDecoder", "layers", "must be >= 0");
    in_ = this->register_module("in", std::make_shared<nn::Linear<T>>(6 * latent, hidden, rng));
    for (int l = 0; l < layers; ++l)
      layers_.push_back(
          this->register_module("layer" + std::to_string(l), std::make_shared<nn::Linear<T>>(15 * hidden, hidden, rng)));
    out_ = this->register_module("out", std::make_shared<nn::Linear<T>>(hidden, out, rng));
  }
  /// z [N, d] → logits [P, E] with logits(g, i, j) = logits(g, j, i).
  /// @throw std::invalid_argument (from the ops) if z does not have N rows and d columns.
  Var<T> forward(const RaggedBatch& b, const Var<T>& z) const {
    Var<T> h = relu(in_->forward(concat<T>({outer_product(b, z), equivariant_1to2(b, z, true)}, 1)));  // [P, h]
    for (const auto& l : layers_) h = relu(l->forward(equivariant_2to2(b, h, true)));
    const Var<T> o = out_->forward(h);                                                        // [P, E]
    return mul_scalar(add(o, index_select(o, 0, pair_transpose_rows(b))), T(0.5));
  }

 private:
  std::shared_ptr<nn::Linear<T>> in_, out_;
  std::vector<std::shared_ptr<nn::Linear<T>>> layers_;
};

/// Second-order clustering network: p̃ = W_k 2→1(SecondOrderLayer(A, 1→2(Z))) [N, K].
template <class T>
class SecondOrderClustering : public nn::Module<T> {
 public:
  SecondOrderClustering(std::int64_t edge_channels, std::int64_t latent, std::int64_t hidden, std::int64_t k,
                        CounterRng& rng, bool bounded = true)
      : k_(k), bounded_(bounded) {
    check_arg(k >= 1, "SecondOrderClustering", "k", "must be >= 1");
    layer_ = this->register_module(
        "layer", std::make_shared<SecondOrderLayer<T>>(edge_channels, 5 * latent, hidden, rng, Activation::Relu));
    out_ = this->register_module("out", std::make_shared<nn::Linear<T>>(5 * hidden, k, rng));
  }
  /// Logits [N, K] for the batch (A [P, E], Z [N, d]).
  Var<T> logits(const RaggedBatch& b, const Var<T>& A, const Var<T>& Z) const {
    const Var<T> h = layer_->forward(b, A, equivariant_1to2(b, Z, true));
    const Var<T> l = out_->forward(equivariant_2to1(b, h, true));
    return bounded_ ? tanh(l) : l;
  }
  std::int64_t k() const noexcept { return k_; }

 private:
  std::int64_t k_;
  bool bounded_;
  std::shared_ptr<SecondOrderLayer<T>> layer_;
  std::shared_ptr<nn::Linear<T>> out_;
};

}  // namespace mgvae::models
