#pragma once
/// @file equivariant_prior.hpp
/// The learnable S_n-equivariant prior of the paper's App. C (free matching), shared by the molecule
/// generator (molgen/model.hpp) and the general graph generator (graphgen/model.hpp).
///
/// Parameters: M slot means μ̂ [M, d] and, per latent channel c, the coefficients of an equivariant
/// covariance factor L̂_c = a_c I + (b_c / n) 11ᵀ [n, n] (n = nodes of the graph). For a graph whose
/// posterior has means μ [n, d] and per-channel factors L_c [n, n], node i is matched to the slot
/// π(i) = argmin_j ‖μ_i − μ̂_j‖ (free matching: several nodes may share a slot; the matching is an
/// index, not differentiated), and the KL is Σ_c KL(N(μ_{·c}, L_c L_cᵀ + εI) ‖ N(μ̂_{π,c}, L̂_c L̂_cᵀ + εI)).
/// Permuting the nodes permutes π and leaves the KL unchanged (L̂ commutes with permutations).
/// Sampling: node i takes a slot j_i (given, or drawn i.i.d. from a categorical over the slots, e.g.
/// their usage), and z_{ic} = μ̂_{j_i c} + t (a_c ε_ic + b_c mean_i(ε_·c) + √ε ε'_ic).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "mgvae/autodiff/var.hpp"
#include "mgvae/core/error.hpp"
#include "mgvae/core/rng.hpp"
#include "mgvae/ops/elementwise.hpp"
#include "mgvae/ops/gaussian.hpp"
#include "mgvae/ops/indexing.hpp"
#include "mgvae/ops/reduce.hpp"
#include "mgvae/ops/shape.hpp"

namespace mgvae::models {

/// Prior over the finest latents: standard normal, or the learned equivariant prior (App. C).
enum class PriorKind { Standard, Learned };

/// The learned prior's parameters (leaves with gradients): mu [M, d], a [d], b [d].
template <class T>
struct EquivariantPriorParams {
  Var<T> mu, a, b;
};

/// L̂ [d, n, n] with L̂_c = a_c I + (b_c / n) 11ᵀ, differentiable in a and b ([d] each).
template <class T>
Var<T> equivariant_prior_factor(const Var<T>& a, const Var<T>& b, std::int64_t n) {
  const std::int64_t d = a.numel();
  const Var<T> a3 = reshape(a, Shape{d, 1, 1}), b3 = reshape(b, Shape{d, 1, 1});
  Tensor<T> eye = Tensor<T>::zeros(Shape{1, n, n}), jn = Tensor<T>::full(Shape{1, n, n}, T(1) / static_cast<T>(n));
  for (std::int64_t i = 0; i < n; ++i) eye.data()[i * n + i] = T(1);
  return add(mul(a3, constant(eye)), mul(b3, constant(jn)));
}

/// KL of one graph's posterior against the free-matched learned prior (a scalar, summed over channels).
/// mu_nd: posterior means [n, d]; L: per-channel posterior covariance factors [d, n, n]; ε = jitter.
/// The slot of every node (free matching of mu_nd's value to p.mu) is appended to `match` when given.
/// @throw std::invalid_argument on shape mismatches; std::domain_error for a covariance that is not SPD.
template <class T>
Var<T> learned_prior_kl(const Var<T>& mu_nd, const Var<T>& L, const EquivariantPriorParams<T>& p, T jitter,
                        std::vector<std::int64_t>* match = nullptr) {
  check_arg(mu_nd.dim() == 2 && mu_nd.size(1) == p.mu.size(1), "learned_prior_kl", "mu",
            "must be [n, d] with d = " + std::to_string(p.mu.size(1)) + ", got " + shape_str(mu_nd.shape()));
  const std::int64_t n = mu_nd.size(0);
  const std::vector<std::int64_t> pi = free_matching(mu_nd.value(), p.mu.value());
  if (match) match->insert(match->end(), pi.begin(), pi.end());
  const Var<T> mu_p = transpose(index_select(p.mu, 0, pi), 0, 1);  // [d, n]
  const Var<T> Lp = equivariant_prior_factor(p.a, p.b, n);          // [d, n, n]
  return sum(gaussian_kl(transpose(mu_nd, 0, 1), L, mu_p, Lp, jitter));
}

/// A categorical distribution over {0, …, K−1} from non-negative weights (negative ones count as 0;
/// empty = uniform), drawn by inverting its CDF.
class Categorical {
 public:
  /// @throw std::invalid_argument (naming `fn` and `arg`) if `weights` is neither empty nor of size K,
  ///        or has no positive entry.
  Categorical(const std::vector<double>& weights, std::int64_t K, const char* fn, const char* arg) {
    check_arg(weights.empty() || static_cast<std::int64_t>(weights.size()) == K, fn, arg,
              "must have " + std::to_string(K) + " entries or none, got " + std::to_string(weights.size()));
    cdf_.assign(static_cast<std::size_t>(K), 0.0);
    for (std::int64_t j = 0; j < K; ++j) {
      total_ += weights.empty() ? 1.0 : std::max(0.0, weights[static_cast<std::size_t>(j)]);
      cdf_[static_cast<std::size_t>(j)] = total_;
    }
    check_arg(total_ > 0, fn, arg, "has no positive entry");
  }
  /// The outcome for a uniform number u in (0, 1).
  std::int64_t draw(double u) const {
    const double x = u * total_;
    const std::int64_t K = static_cast<std::int64_t>(cdf_.size());
    std::int64_t j = 0;
    while (j < K - 1 && cdf_[static_cast<std::size_t>(j)] < x) ++j;
    return j;
  }

 private:
  std::vector<double> cdf_;
  double total_ = 0;
};

/// Latents of one graph of n nodes from the learned prior, written to z[i·d + c] (row-major [n, d]).
/// mu [M, d], a [d], b [d]: the prior's values (contiguous). Node i uses slot slots[i] when `slots` is
/// given, else slots.draw(r2.uniform(o + i)); noise: ε = r1.normal((o+i)·d + c), ε' = r3.normal((o+i)·d + c),
/// so `o` (the graph's first row in a larger batch) makes graphs of one call independent.
template <class T>
void sample_learned_prior_graph(T* z, std::int64_t n, std::int64_t o, const Tensor<T>& mu, const Tensor<T>& a,
                                const Tensor<T>& b, double jitter, double temperature, const CounterRng& r1,
                                const CounterRng& r2, const CounterRng& r3, const Categorical& slot_dist,
                                const std::int64_t* slots = nullptr) {
  const std::int64_t d = mu.size(1);
  const double sj = std::sqrt(jitter), t = temperature;
  std::vector<double> mean_eps(static_cast<std::size_t>(d), 0.0);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t c = 0; c < d; ++c)
      mean_eps[static_cast<std::size_t>(c)] +=
          r1.normal(static_cast<std::uint64_t>((o + i) * d + c)) / static_cast<double>(n);
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t j = slots ? slots[i] : slot_dist.draw(r2.uniform(static_cast<std::uint64_t>(o + i)));
    for (std::int64_t c = 0; c < d; ++c) {
      const double e = r1.normal(static_cast<std::uint64_t>((o + i) * d + c));
      // (a I + (b/n) 11ᵀ) ε = a ε_i + b mean(ε)
      z[i * d + c] = static_cast<T>(mu.data()[j * d + c] +
                                    t * (a.data()[c] * e + b.data()[c] * mean_eps[static_cast<std::size_t>(c)] +
                                         sj * r3.normal(static_cast<std::uint64_t>((o + i) * d + c))));
    }
  }
}

}  // namespace mgvae::models
