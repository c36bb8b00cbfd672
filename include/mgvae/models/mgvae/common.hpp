#pragma once
/// @file common.hpp
/// Types of `Mgvae<T, Order>` (mgvae.hpp) for both orders: the configuration (config.hpp), the
/// explicit noise of one forward pass, the single-graph input, the outputs and the finest-level
/// target.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mgvae/models/mgn/mgn.hpp"
#include "mgvae/models/mgvae/config.hpp"
#include "mgvae/models/mgvae/decoder.hpp"
#include "mgvae/models/mgvae/elbo.hpp"
#include "mgvae/models/mgvae/encoder.hpp"

namespace mgvae::models {

/// Identity in the forward pass, gradient multiplied by `alpha` in the backward pass
/// (alpha = 0 is a stop-gradient).
template <class T>
Var<T> scale_gradient(const Var<T>& x, T alpha) {
  if (alpha == T(1)) return x;
  if (alpha == T(0)) return x.detach();
  return make_result<T>(x.value(), {x}, [x, alpha](const Tensor<T>& g) {
    if (!x.requires_grad()) return;
    Tensor<T> c = g.contiguous().clone();
    for (std::int64_t i = 0; i < c.numel(); ++i) c.data()[i] *= alpha;
    x.node().accumulate(c);
  });
}

/// Noise for one forward pass. Empty vectors / undefined tensors mean evaluation (no noise).
/// `forward(in, noise)` follows the noise it is given whatever the module's mode; `forward(in)`
/// follows the mode (train(): noise from the model's NoiseSource; eval(): none).
template <class T>
struct MgvaeNoise {
  Tensor<T> eps0;                  ///< [n, d] base-level ε
  std::vector<Tensor<T>> eps;      ///< eps[s]: [K_s, d], ε of level s+1
  std::vector<Tensor<T>> gumbel;   ///< gumbel[s]: [n_s, K_s]
  bool training() const { return eps0.defined(); }
};

/// Where a model's mode-driven `forward(in)` draws its training noise: draw k uses `rng.split(k)`,
/// k counting the draws since construction or the last `reset`. Copies of a model share the count
/// (as they share parameters); concurrent draws get distinct k.
class NoiseSource {
 public:
  explicit NoiseSource(const CounterRng& rng) : rng_(rng), count_(std::make_shared<std::atomic<std::uint64_t>>(0)) {}
  /// The generator of the next draw.
  CounterRng next() const { return rng_.split(count_->fetch_add(1)); }
  /// Restarts from draw 0 of `rng`.
  void reset(const CounterRng& rng) {
    rng_ = rng;
    count_->store(0);
  }
  /// Draws made so far.
  std::uint64_t count() const { return count_->load(); }

 private:
  CounterRng rng_;
  std::shared_ptr<std::atomic<std::uint64_t>> count_;
};

/// Stream (of the construction generator) that seeds a model's NoiseSource.
inline constexpr std::uint64_t kMgvaeNoiseStream = 0x6e6f697365ull;  // "noise"

/// The input graph: Â (GCN-normalised), A (raw 0/1, sorted columns), node features.
template <class T>
struct MgvaeInput {
  const CsrMatrix<T>* adj_norm = nullptr;
  const CsrMatrix<T>* adj = nullptr;
  NodeFeatures<T> x;
};

/// Level step s of a forward pass (G_s → G_{s+1}; mgn/level.hpp `LevelOutput`).
template <class T, int Order = 1>
using MgvaeLevel = LevelOutput<T, Order>;

/// Output of a forward pass.
template <class T, int Order = 1>
struct MgvaeOutput {
  RaggedBatch batch;                  ///< G_0 (Order 1: one graph)
  Var<T> adj;                         ///< Order 2: A_0 [P, E] (Order 1: undefined, the input's CSR)
  LevelPosterior<T, Order> base;      ///< q(Z_0): μ, log σ, z (Order 1) or μ [N, d], L_g [d, n_g, n_g] (Order 2)
  Var<T> z;                           ///< Z_0 [N, d]: a sample (training) or μ (evaluation)
  Var<T> logits;                      ///< Order 2: the finest decoder's pair logits [P, E] (Order 1: undefined)
  std::vector<MgvaeLevel<T, Order>> levels;  ///< s = 0 … L
};

/// Finest-level reconstruction target: dense (VGAE) or sampled pairs.
template <class T>
struct FinestTarget {
  const DenseReconTarget<T>* dense = nullptr;
  const std::vector<std::pair<std::int64_t, std::int64_t>>* pos = nullptr;
  const std::vector<std::pair<std::int64_t, std::int64_t>>* neg = nullptr;
};

/// Multiresolution graph VAE with `Order`-th order message passing (mgvae.hpp): Order 1 (one
/// large graph, GCN encoders, dot-product decoders) or Order 2 (ragged batches of small graphs,
/// second-order encoders with Σ = LLᵀ and second-order decoders). Other orders do not compile.
template <class T, int Order = 1>
class Mgvae;

}  // namespace mgvae::models
