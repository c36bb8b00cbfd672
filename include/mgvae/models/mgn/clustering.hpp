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
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mgvae/models/mgn/gcn.hpp"
#include "mgvae/ops/gumbel.hpp"
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

/// Straight-through Gumbel-softmax clustering from logits [n, K] (ops/gumbel.hpp `gumbel_softmax`,
/// argmax of p̃ + g). `gumbel` [n, K] (constant) or undefined for the noiseless argmax of Eq. 4.
/// `straight_through` false: Π is the relaxed sample softmax((p̃ + g)/τ) (gradchecks).
/// @throw std::invalid_argument if logits is not [n, K], τ <= 0 or the noise has another shape.
template <class T>
Clustering<T> straight_through_gumbel(const Var<T>& logits, const Tensor<T>& gumbel, T tau = T(1),
                                      bool straight_through = true) {
  if (logits.dim() != 2) throw_invalid("straight_through_gumbel", "logits must be [n, K], got " + shape_str(logits.shape()));
  if (!(tau > T(0))) throw_invalid("straight_through_gumbel", "temperature must be > 0");
  if (gumbel.defined()) check_same_shape("straight_through_gumbel", "gumbel", gumbel.shape(), "logits", logits.shape());
  GumbelSoftmaxOptions o;
  o.straight_through = straight_through;
  GumbelSample<T> g = gumbel_softmax(logits, gumbel, T(1) / tau, o);
  Clustering<T> c;
  c.k = logits.size(1);
  c.labels = std::move(g.labels);
  c.pi = g.pi;
  c.probs = softmax(logits, 1);
  return c;
}

/// Balanced argmax of scores [n, K] (logits or log-probabilities: a per-row shift does not
/// change the result): labels π(i) = argmax_k (s_ik + β_k), where s are the row-centred scores in
/// units of their standard deviation σ (so ε is scale-free) and β are the column potentials of
/// log-domain Sinkhorn iterations for the entropic transport of the rows (mass 1 each) onto K
/// columns of mass n/K (Cuturi 2013; SwAV-style equal-size assignment). The temperature is
/// annealed geometrically from 1 to ε over the first half of the `iters` iterations (β warm-
/// started), then kept at ε. The result is rounded with capacities: the pairs (i, k) are taken in
/// decreasing order of s_ik + β_k and a node goes to its first cluster with fewer than ⌈n/K⌉
/// nodes, so no cluster exceeds ⌈n/K⌉. With converged potentials this is (close to) the balanced
/// assignment that maximises Σ_i s_iπ(i). Row-permutation equivariant (up to exact ties).
/// Not used in training: an evaluation-time alternative to Eq. 4 (docs/link_prediction.md).
/// σ = 0 (every row constant) gives all ties, broken by node and cluster index.
/// @throw std::invalid_argument if scores is not [n, K] with n, K >= 1, eps <= 0 or iters < 1.
template <class T>
std::vector<std::int64_t> balanced_argmax(const Tensor<T>& scores, double eps = 0.05, int iters = 400) {
  if (!scores.defined() || scores.dim() != 2 || scores.size(0) < 1 || scores.size(1) < 1)
    throw_invalid("balanced_argmax", "scores must be a non-empty [n, K] matrix, got " +
                                         (scores.defined() ? shape_str(scores.shape()) : std::string("undefined")));
  if (!(eps > 0)) throw_invalid("balanced_argmax", "temperature eps must be > 0");
  if (iters < 1) throw_invalid("balanced_argmax", "iters must be >= 1");
  const Tensor<T> c = scores.contiguous();
  const std::int64_t n = c.size(0), k = c.size(1);
  const auto at = [k](std::int64_t i, std::int64_t j) { return static_cast<std::size_t>(i * k + j); };
  std::vector<double> s(static_cast<std::size_t>(n * k)), u(static_cast<std::size_t>(n), 0.0), beta(static_cast<std::size_t>(k), 0.0);
  double ss = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    double m = 0;
    for (std::int64_t j = 0; j < k; ++j) m += static_cast<double>(c.data()[i * k + j]) / static_cast<double>(k);
    for (std::int64_t j = 0; j < k; ++j) {
      const double d = static_cast<double>(c.data()[i * k + j]) - m;
      s[at(i, j)] = d;
      ss += d * d;
    }
  }
  const double sigma = std::sqrt(ss / static_cast<double>(n * k));
  for (auto& x : s) x = sigma > 0 ? x / sigma : 0.0;
  const double logcol = std::log(static_cast<double>(n) / static_cast<double>(k));
  std::vector<double> buf(static_cast<std::size_t>(std::max(n, k)));
  const auto lse = [&buf](std::int64_t m) {
    double mx = buf[0];
    for (std::int64_t j = 1; j < m; ++j) mx = std::max(mx, buf[static_cast<std::size_t>(j)]);
    double t = 0;
    for (std::int64_t j = 0; j < m; ++j) t += std::exp(buf[static_cast<std::size_t>(j)] - mx);
    return mx + std::log(t);
  };
  const int anneal = std::max(1, iters / 2);
  const double e0 = std::max(1.0, eps), decay = std::pow(eps / e0, 1.0 / anneal);
  double e = e0;
  for (int it = 0; it < iters; ++it) {
    for (std::int64_t i = 0; i < n; ++i) {
      for (std::int64_t j = 0; j < k; ++j) buf[static_cast<std::size_t>(j)] = (s[at(i, j)] + beta[static_cast<std::size_t>(j)]) / e;
      u[static_cast<std::size_t>(i)] = -lse(k);
    }
    for (std::int64_t j = 0; j < k; ++j) {
      for (std::int64_t i = 0; i < n; ++i) buf[static_cast<std::size_t>(i)] = s[at(i, j)] / e + u[static_cast<std::size_t>(i)];
      beta[static_cast<std::size_t>(j)] = e * (logcol - lse(n));
    }
    if (it + 1 < anneal) e *= decay;
    else e = eps;
  }
  // rounding with capacities: pairs (i, j) by decreasing s_ij + β_j (ties: node, then cluster
  // index), each node takes its first cluster that still has fewer than ⌈n/K⌉ nodes
  const std::int64_t cap = (n + k - 1) / k;
  std::vector<std::int64_t> order(static_cast<std::size_t>(n * k));
  for (std::int64_t t = 0; t < n * k; ++t) order[static_cast<std::size_t>(t)] = t;
  std::vector<double> adj(static_cast<std::size_t>(n * k));
  for (std::int64_t t = 0; t < n * k; ++t) adj[static_cast<std::size_t>(t)] = s[static_cast<std::size_t>(t)] + beta[static_cast<std::size_t>(t % k)];
  std::stable_sort(order.begin(), order.end(), [&adj](std::int64_t a, std::int64_t b) {
    return adj[static_cast<std::size_t>(a)] > adj[static_cast<std::size_t>(b)];
  });
  std::vector<std::int64_t> out(static_cast<std::size_t>(n), -1), size(static_cast<std::size_t>(k), 0);
  std::int64_t left = n;
  for (std::int64_t t : order) {
    const std::int64_t i = t / k, j = t % k;
    if (out[static_cast<std::size_t>(i)] >= 0 || size[static_cast<std::size_t>(j)] >= cap) continue;
    out[static_cast<std::size_t>(i)] = j;
    ++size[static_cast<std::size_t>(j)];
    if (--left == 0) break;
  }
  return out;
}

/// Column standardisation of logits [n, K] over the nodes: (l − mean_i l) / sqrt(var_i l + eps)
/// per cluster k (population variance). Removes the per-cluster offset shared by all nodes — the
/// direction in which a learned argmax partition collapses (every node preferring the same
/// cluster) — and gives every cluster's logit column the same scale. The mean and variance are
/// over the nodes, so the map is permutation equivariant in the node index.
/// @throw std::invalid_argument if x is not [n, K] with n >= 1 or eps <= 0.
template <class T>
Var<T> standardize_columns(const Var<T>& x, T eps = T(1e-5)) {
  if (!x.defined() || x.dim() != 2 || x.size(0) < 1)
    throw_invalid("standardize_columns", "expected a non-empty [n, K] matrix, got " +
                                             (x.defined() ? shape_str(x.shape()) : std::string("undefined")));
  if (!(eps > T(0))) throw_invalid("standardize_columns", "eps must be > 0");
  const Var<T> c = sub(x, mean(x, {0}, true));
  const Var<T> var = mean(mul(c, c), {0}, true);
  return div(c, sqrt(add_scalar(var, eps)));
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
/// `standardize` (default false; false is bit-identical to the plain GNN): the GNN output is
/// column-standardised over the nodes (`standardize_columns`) before the tanh, so the argmax of
/// Eq. 4 cannot put every node into the same cluster through a shared per-cluster offset.
/// `scale` (default 1; 1 is bit-identical): the final logits are multiplied by it, so bounded
/// logits lie in [−scale, scale]. The hard Gumbel-max sample argmax(p̃ + g) then follows the
/// noiseless argmax more closely as the scale grows (Gumbel noise has std π/√6 ≈ 1.28), so a
/// balance term computed on the training sample also constrains the evaluation partition.
template <class T>
class LearnedClustering : public nn::Module<T> {
 public:
  LearnedClustering(std::int64_t in, std::int64_t hidden, std::int64_t k, CounterRng& rng, bool bounded = true,
                    bool standardize = false, double scale = 1.0)
      : k_(k), bounded_(bounded), standardize_(standardize), scale_(scale) {
    if (k < 1) throw_invalid("LearnedClustering", "K must be >= 1");
    if (!(std::isfinite(scale) && scale > 0.0))
      throw_invalid("LearnedClustering", "logit scale must be finite and > 0, got " + std::to_string(scale));
    l1_ = this->register_module("gc0", std::make_shared<GcnLayer<T>>(in, hidden, rng, Activation::Relu));
    l2_ = this->register_module("gc1", std::make_shared<GcnLayer<T>>(hidden, k, rng, Activation::Identity));
  }
  /// Logits p̃ [n, K].
  Var<T> logits(const Adjacency<T>& a, const NodeFeatures<T>& x) const {
    Var<T> l = l2_->forward(a, l1_->forward(a, x));
    if (standardize_) l = standardize_columns(l);
    if (bounded_) l = tanh(l);
    return scale_ == 1.0 ? l : mul_scalar(l, static_cast<T>(scale_));
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
  double scale() const { return scale_; }

 private:
  std::int64_t k_;
  bool bounded_, standardize_;
  double scale_;
  std::shared_ptr<GcnLayer<T>> l1_, l2_;
};

}  // namespace mgvae::models
