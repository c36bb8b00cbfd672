#pragma once
/// @file clustering.hpp
/// The clustering procedure c(G^(ℓ); θ) of Def. 4 (component 1) and §3.3.
///
/// Learned (§3.3): a GNN gives logits p̃ ∈ R^{n×K}; the assignment is
///   Π_i = one-hot(argmax_k [g_ik + log p_ik]),  p = softmax(p̃)          (Gumbel-max, Eq. after 4)
/// in training, and Π_i = one-hot(argmax_k p̃_ik) (Eq. 4) in evaluation (no noise). Since
/// log p_ik = p̃_ik − logsumexp_k p̃_ik and the shift does not change the argmax, the logits are used
/// directly. The backward pass is straight-through (Jang et al. 2017): Π = hard + soft − detach(soft)
/// with soft = softmax((p̃ + g)/τ) — the value is exactly the one-hot matrix, the gradient is the
/// relaxed sample's. τ = 1 as in the authors' code.
///
/// The Gumbel noise g is passed explicitly as a tensor (see `gumbel_noise` in gcn.hpp): the noise
/// belongs to the nodes, so a permuted graph gets the permuted noise and the clustering is exactly
/// equivariant (Def. 9): c(σ·G) = σ·c(G).
///
/// Fixed (App. D.1): spectral or k-means labels computed once (graph/spectral.hpp), turned into a
/// constant one-hot Π here.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mgvae/models/mgn/gcn.hpp"
#include "mgvae/ops/reduce.hpp"
#include "mgvae/ops/softmax.hpp"

namespace mgvae::models {

/// The result of a clustering procedure at one level.
template <class T>
struct Clustering {
  Var<T> pi;                          ///< [n, K] assignment (one-hot value; straight-through gradient if learned)
  Var<T> probs;                       ///< [n, K] softmax(p̃) (learned only; undefined for fixed)
  std::vector<std::int64_t> labels;   ///< π(i) ∈ [0, K)
  std::int64_t k = 0;
};

/// One-hot [n, K] constant tensor of `labels`.
/// @throw std::invalid_argument if a label is outside [0, K).
template <class T>
Tensor<T> one_hot(const std::vector<std::int64_t>& labels, std::int64_t k) {
  Tensor<T> t = Tensor<T>::zeros(Shape{static_cast<std::int64_t>(labels.size()), k});
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || labels[i] >= k)
      throw_invalid("one_hot", "label " + std::to_string(labels[i]) + " of node " + std::to_string(i) + " outside [0, " +
                                   std::to_string(k) + ")");
    t.data()[static_cast<std::int64_t>(i) * k + labels[i]] = T(1);
  }
  return t;
}

/// Row-wise argmax of a [n, K] tensor (first maximum on ties).
template <class T>
std::vector<std::int64_t> argmax_rows(const Tensor<T>& x) {
  Tensor<T> c = x.contiguous();
  const std::int64_t n = c.size(0), k = c.size(1);
  std::vector<std::int64_t> out(static_cast<std::size_t>(n), 0);
  for (std::int64_t i = 0; i < n; ++i) {
    const T* r = c.data() + i * k;
    std::int64_t b = 0;
    for (std::int64_t j = 1; j < k; ++j)
      if (r[j] > r[b]) b = j;
    out[static_cast<std::size_t>(i)] = b;
  }
  return out;
}

/// Straight-through Gumbel-softmax from logits [n, K]. `gumbel` [n, K] (constant) or undefined
/// for the noiseless argmax of Eq. 4.
template <class T>
Clustering<T> straight_through_gumbel(const Var<T>& logits, const Tensor<T>& gumbel, T tau = T(1)) {
  if (logits.dim() != 2) throw_invalid("straight_through_gumbel", "logits must be [n, K], got " + shape_str(logits.shape()));
  if (!(tau > T(0))) throw_invalid("straight_through_gumbel", "temperature must be > 0");
  Var<T> perturbed = logits;
  if (gumbel.defined()) {
    check_same_shape("straight_through_gumbel", "gumbel", gumbel.shape(), "logits", logits.shape());
    perturbed = add(logits, constant(gumbel));
  }
  Clustering<T> c;
  c.k = logits.size(1);
  c.labels = argmax_rows(perturbed.value());
  const Var<T> soft = softmax(mul_scalar(perturbed, T(1) / tau), 1);
  const Var<T> hard = constant(one_hot<T>(c.labels, c.k));
  c.pi = add(hard, sub(soft, soft.detach()));
  c.probs = softmax(logits, 1);
  return c;
}

/// A constant clustering from fixed labels (spectral / k-means).
template <class T>
Clustering<T> fixed_clustering(const std::vector<std::int64_t>& labels, std::int64_t k) {
  Clustering<T> c;
  c.k = k;
  c.labels = labels;
  c.pi = constant(one_hot<T>(labels, k));
  return c;
}

/// The learned clustering GNN: GCN(d → hidden, ReLU) → GCN(hidden → K), followed by tanh when
/// `bounded` (default; the authors' batched scripts end in tanh, so the logits lie in [−1, 1] and
/// the Gumbel noise dominates early: near-uniform random — hence balanced — assignments that
/// sharpen as training proceeds; their citation script has no tanh, which on Cora collapses the
/// initial assignment into a few clusters and makes the local decoders O(n²)).
template <class T>
class LearnedClustering : public nn::Module<T> {
 public:
  LearnedClustering(std::int64_t in, std::int64_t hidden, std::int64_t k, CounterRng& rng, bool bounded = true)
      : k_(k), bounded_(bounded) {
    if (k < 1) throw_invalid("LearnedClustering", "K must be >= 1");
    l1_ = this->register_module("gc0", std::make_shared<GcnLayer<T>>(in, hidden, rng, Activation::Relu));
    l2_ = this->register_module("gc1", std::make_shared<GcnLayer<T>>(hidden, k, rng, Activation::Identity));
  }
  /// Logits p̃ [n, K].
  Var<T> logits(const Adjacency<T>& a, const NodeFeatures<T>& x) const {
    const Var<T> l = l2_->forward(a, l1_->forward(a, x));
    return bounded_ ? tanh(l) : l;
  }
  /// Π for the graph (a, x). `gumbel` undefined = Eq. 4 (evaluation).
  /// @throw std::invalid_argument if K exceeds the number of nodes.
  Clustering<T> forward(const Adjacency<T>& a, const NodeFeatures<T>& x, const Tensor<T>& gumbel, T tau = T(1)) const {
    if (k_ > a.num_nodes())
      throw_invalid("LearnedClustering", "more clusters (" + std::to_string(k_) + ") than nodes (" +
                                             std::to_string(a.num_nodes()) + ")");
    return straight_through_gumbel(logits(a, x), gumbel, tau);
  }
  std::int64_t k() const { return k_; }

 private:
  std::int64_t k_;
  bool bounded_;
  std::shared_ptr<GcnLayer<T>> l1_, l2_;
};

}  // namespace mgvae::models
