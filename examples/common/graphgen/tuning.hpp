#pragma once
/// @file tuning.hpp
/// Training-schedule and sampling-calibration helpers of the graph-generation trainer
/// (examples/graph_generation/main.cpp; options `--lr-schedule`, `--lr-min`, `--threshold-calibration`).
///
/// * `lr_at_epoch`: constant learning rate, or cosine annealing from `lr` (epoch 0) towards `lr_min`
///   (lr(e) = lr_min + ½(lr − lr_min)(1 + cos(π e / E)), e = 0..E−1; the PyTorch CosineAnnealingLR rule
///   with T_max = E, stepped once per epoch).
/// * `calibrate_threshold_to_edges`: the global edge threshold t for which prior samples have, on
///   average, a given number of edges (the mean edge count of the graphs trained on): a pair is kept
///   when its symmetrised probability q_uv = ½(p_uv + p_vu) is > t, as in `probabilities_to_graphs`.
///   Not in the paper (which thresholds at 0.5); a moment-matching of one statistic on training data.
/// * `probabilities_to_graphs_size_calibrated`: per sample, the node set V of the thresholded graph is
///   kept and the number of edges is set to the mean edge count of the training graphs with |V| nodes
///   (`mean_edges_by_size`): the round(m̄(|V|)) pairs inside V with the largest q. Not in the paper either.
/// * `size_acceptance` / `accept_by_size`: rejection sampling of generated graphs so that their node-count
///   distribution matches a reference (the graphs trained on): a(n) = r(n) / max r, r(n) = p_ref(n) / p_gen(n)
///   (0 where p_ref(n) = 0 or p_gen(n) = 0). Accepted graphs then have node counts ∝ p_gen(n) a(n) ∝ p_ref(n)
///   on the sizes the generator produces. Not in the MGVAE paper (GDSS / GRAN draw n from the training data).
///   The count-based core is shared with the autoregressive molecule sampler (models/size_matching.hpp);
///   `calibrate_size_matching` adds the calibration batch's p_gen and the expected acceptance rate.
/// * `stratified_fold_split`: size-stratified K-fold validation split of the training graphs (options
///   `--val-folds K --val-fold i`): every node-count class is shuffled and dealt round-robin into the K folds,
///   so each fold has every size in (almost) the training proportions.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "mgvae/core/rng.hpp"
#include "mgvae/models/graphgen/graph_data.hpp"
#include "mgvae/models/size_matching.hpp"
#include "mgvae/tensor/tensor.hpp"

namespace mgvae::graphgen {

enum class LrSchedule { Constant, Cosine };

/// Learning rate of epoch `epoch` (0-based) of `epochs`. @throw std::invalid_argument for lr ≤ 0,
/// lr_min < 0, lr_min > lr, epochs < 1 or epoch outside [0, epochs), or a non-finite value.
inline double lr_at_epoch(LrSchedule schedule, double lr, double lr_min, int epoch, int epochs) {
  if (!(std::isfinite(lr) && lr > 0)) throw std::invalid_argument("lr_at_epoch: lr must be finite and > 0");
  if (!(std::isfinite(lr_min) && lr_min >= 0)) throw std::invalid_argument("lr_at_epoch: lr_min must be finite and >= 0");
  if (lr_min > lr) throw std::invalid_argument("lr_at_epoch: lr_min must not exceed lr");
  if (epochs < 1) throw std::invalid_argument("lr_at_epoch: epochs must be >= 1");
  if (epoch < 0 || epoch >= epochs) throw std::invalid_argument("lr_at_epoch: epoch outside [0, epochs)");
  if (schedule == LrSchedule::Constant) return lr;
  const double pi = 3.14159265358979323846;
  return lr_min + 0.5 * (lr - lr_min) * (1.0 + std::cos(pi * static_cast<double>(epoch) / static_cast<double>(epochs)));
}

struct ThresholdCalibration {
  double threshold = 0.5;     ///< keep a pair when q > threshold
  double target_edges = 0;    ///< requested mean edge count per sample
  double mean_edges = 0;      ///< mean edge count per sample at `threshold` (= target up to rounding and ties)
  std::int64_t samples = 0;   ///< number of probability matrices used
};

/// Threshold t such that the mean number of pairs u < v with q_uv = ½(p_uv + p_vu) > t over all samples
/// in `Ps` (each [S, N, N]) is round(target · S_total) / S_total. t lies strictly between the K-th and
/// (K+1)-th largest q (their midpoint; K = round(target · S_total); K = 0: the largest q; K = all pairs:
/// half the smallest q), so ties aside the count is exact.
/// @throw std::invalid_argument for no samples, a tensor that is not [S, N, N] with the same N, or a
/// target that is negative, non-finite, or above N(N−1)/2.
template <class T>
ThresholdCalibration calibrate_threshold_to_edges(const std::vector<Tensor<T>>& Ps, double target_mean_edges) {
  constexpr const char* fn = "calibrate_threshold_to_edges: ";
  std::vector<double> q;
  std::int64_t S_total = 0, N = -1;
  for (const auto& P : Ps) {
    if (P.dim() != 3 || P.size(1) != P.size(2)) throw std::invalid_argument(std::string(fn) + "tensors must be [S, N, N]");
    if (N >= 0 && P.size(1) != N) throw std::invalid_argument(std::string(fn) + "all tensors must have the same N");
    N = P.size(1);
    const Tensor<T> c = P.contiguous();
    for (std::int64_t s = 0; s < P.size(0); ++s) {
      const T* p = c.data() + s * N * N;
      for (std::int64_t u = 0; u < N; ++u)
        for (std::int64_t v = u + 1; v < N; ++v)
          q.push_back(0.5 * (static_cast<double>(p[u * N + v]) + static_cast<double>(p[v * N + u])));
    }
    S_total += P.size(0);
  }
  if (S_total == 0 || N < 2) throw std::invalid_argument(std::string(fn) + "no samples (or N < 2)");
  const double max_pairs = static_cast<double>(N * (N - 1) / 2);
  if (!std::isfinite(target_mean_edges) || target_mean_edges < 0 || target_mean_edges > max_pairs)
    throw std::invalid_argument(std::string(fn) + "target mean edge count must be in [0, N(N-1)/2]");
  std::sort(q.begin(), q.end(), std::greater<double>());
  const auto total = static_cast<std::int64_t>(q.size());
  const auto K = std::min<std::int64_t>(total, static_cast<std::int64_t>(std::llround(target_mean_edges * static_cast<double>(S_total))));
  ThresholdCalibration r;
  r.target_edges = target_mean_edges;
  r.samples = S_total;
  if (K == 0) r.threshold = q.front();  // nothing is > the largest q
  else if (K == total) r.threshold = 0.5 * q.back();
  else r.threshold = 0.5 * (q[static_cast<std::size_t>(K - 1)] + q[static_cast<std::size_t>(K)]);
  const auto kept = std::count_if(q.begin(), q.end(), [&](double x) { return x > r.threshold; });
  r.mean_edges = static_cast<double>(kept) / static_cast<double>(S_total);
  return r;
}

/// Entry n (n = 0..n_max) = mean edge count of the graphs in `gs` with n nodes, or −1 where there is none.
/// @throw std::invalid_argument for n_max < 0 or a graph with more than n_max nodes.
inline std::vector<double> mean_edges_by_size(const std::vector<Graph>& gs, int n_max) {
  if (n_max < 0) throw std::invalid_argument("mean_edges_by_size: n_max must be >= 0");
  std::vector<double> sum(static_cast<std::size_t>(n_max + 1), 0.0), cnt(static_cast<std::size_t>(n_max + 1), 0.0);
  for (const auto& g : gs) {
    if (g.n < 0 || g.n > n_max) throw std::invalid_argument("mean_edges_by_size: graph larger than n_max");
    sum[static_cast<std::size_t>(g.n)] += static_cast<double>(g.edges.size());
    cnt[static_cast<std::size_t>(g.n)] += 1.0;
  }
  for (std::size_t n = 0; n < sum.size(); ++n) sum[n] = cnt[n] > 0 ? sum[n] / cnt[n] : -1.0;
  return sum;
}

/// Per-sample edge-count calibration. For each sample of P [S, N, N]: q_uv = ½(p_uv + p_vu); V = the nodes
/// with at least one pair q > `threshold`; if m̄ = `mean_edges[|V|]` ≥ 0 (a size seen in training), keep
/// the K = min(round(m̄), |V|(|V|−1)/2) pairs u < v inside V with the largest q (ties: the lower pair
/// index first), otherwise keep the thresholded graph; zero diagonal; strip isolated nodes (a graph
/// whose K is smaller than its thresholded edge count can lose nodes). No edge → n = 0, as in
/// `probabilities_to_graphs`. @throw std::invalid_argument for P not [S, N, N], mean_edges.size() ≠ N + 1.
template <class T>
std::vector<Graph> probabilities_to_graphs_size_calibrated(const Tensor<T>& P, double threshold,
                                                                const std::vector<double>& mean_edges) {
  constexpr const char* fn = "probabilities_to_graphs_size_calibrated: ";
  if (P.dim() != 3 || P.size(1) != P.size(2)) throw std::invalid_argument(std::string(fn) + "P must be [S, N, N]");
  const std::int64_t S = P.size(0), N = P.size(1);
  if (static_cast<std::int64_t>(mean_edges.size()) != N + 1)
    throw std::invalid_argument(std::string(fn) + "mean_edges must have N + 1 entries");
  const Tensor<T> c = P.contiguous();
  std::vector<Graph> out;
  for (std::int64_t s = 0; s < S; ++s) {
    const T* p = c.data() + s * N * N;
    auto q = [&](std::int64_t u, std::int64_t v) {
      return 0.5 * (static_cast<double>(p[u * N + v]) + static_cast<double>(p[v * N + u]));
    };
    std::vector<std::uint8_t> a(static_cast<std::size_t>(N * N), 0), in_v(static_cast<std::size_t>(N), 0);
    for (std::int64_t u = 0; u < N; ++u)
      for (std::int64_t v = u + 1; v < N; ++v)
        if (q(u, v) > threshold) {
          a[static_cast<std::size_t>(u * N + v)] = a[static_cast<std::size_t>(v * N + u)] = 1;
          in_v[static_cast<std::size_t>(u)] = in_v[static_cast<std::size_t>(v)] = 1;
        }
    std::int64_t nv = 0;
    for (auto x : in_v) nv += x;
    const double mbar = mean_edges[static_cast<std::size_t>(nv)];
    if (nv >= 2 && mbar >= 0) {
      struct Pair {
        double q;
        std::int64_t u, v;
      };
      std::vector<Pair> pairs;
      for (std::int64_t u = 0; u < N; ++u)
        for (std::int64_t v = u + 1; v < N; ++v)
          if (in_v[static_cast<std::size_t>(u)] && in_v[static_cast<std::size_t>(v)]) pairs.push_back({q(u, v), u, v});
      std::stable_sort(pairs.begin(), pairs.end(), [](const Pair& x, const Pair& y) { return x.q > y.q; });
      const auto K = std::min<std::size_t>(pairs.size(), static_cast<std::size_t>(std::llround(mbar)));
      std::fill(a.begin(), a.end(), 0);
      for (std::size_t k = 0; k < K; ++k)
        a[static_cast<std::size_t>(pairs[k].u * N + pairs[k].v)] = a[static_cast<std::size_t>(pairs[k].v * N + pairs[k].u)] = 1;
    }
    out.push_back(strip_isolated(from_dense(N, a)));
  }
  return out;
}

/// Node counts of `gs`, in order.
inline std::vector<int> node_counts(const std::vector<Graph>& gs) {
  std::vector<int> n;
  n.reserve(gs.size());
  for (const auto& g : gs) n.push_back(static_cast<int>(g.n));
  return n;
}

/// Acceptance probability per node count n = 0..n_max (see the file comment): p_ref from `ref`, p_gen from
/// `generated` (a calibration batch of the generator); `size_acceptance_from_sizes` on the node counts.
/// @throw std::invalid_argument for n_max < 0, an empty list, a graph with more than n_max nodes, or no size
/// that both lists have.
inline std::vector<double> size_acceptance(const std::vector<Graph>& ref, const std::vector<Graph>& generated,
                                           int n_max) {
  return size_acceptance_from_sizes(node_counts(ref), node_counts(generated), n_max);
}

/// Size matching calibrated on one batch of the generator (mgvae::SizeMatchingCalibration: the acceptance
/// table of `size_acceptance`, the node-count distribution p_gen(n) of the batch, and the expected acceptance
/// rate Σ_n p_gen(n) a(n), the fraction of generated graphs that `accept_by_size` keeps on average;
/// = Σ_{n: p_gen(n) > 0} p_ref(n) / max r).
using mgvae::SizeMatchingCalibration;

/// `size_acceptance(ref, generated, n_max)` plus the calibration batch's size distribution and expected
/// acceptance rate. Used per edge threshold by the trainer (the batch depends on the threshold).
/// @throw std::invalid_argument as `size_acceptance`.
inline SizeMatchingCalibration calibrate_size_matching(const std::vector<Graph>& ref,
                                                       const std::vector<Graph>& generated, int n_max) {
  return calibrate_size_matching_from_sizes(node_counts(ref), node_counts(generated), n_max);
}

/// Keeps graph k of `gs` when rng.uniform(offset + k) < acceptance[n_k] (positions offset, offset + 1, …).
/// @throw std::invalid_argument for a graph whose n has no entry in `acceptance`.
inline std::vector<Graph> accept_by_size(std::vector<Graph> gs, const std::vector<double>& acceptance,
                                              const CounterRng& rng, std::uint64_t offset) {
  std::vector<Graph> out;
  for (auto k : accepted_by_size(node_counts(gs), acceptance, rng, offset)) out.push_back(std::move(gs[k]));
  return out;
}

/// Size-stratified K-fold split of n = classes.size() graphs (classes[k] = the class of graph k, e.g. its
/// node count). Classes are visited in ascending order; the positions of a class (ascending) are shuffled by
/// Fisher-Yates with CounterRng(seed, 0x7A1C).split(class) and dealt round-robin into folds 0..K−1, the
/// dealing position continuing across classes (graph number d overall goes to fold d mod K). So every graph is
/// in exactly one fold, fold sizes differ by at most 1, and within a class the per-fold counts differ by at
/// most 1. Returns fold `fold` as `val` and the other folds as `train` (both sorted, i.e. in the original
/// order). @throw std::invalid_argument for folds < 2, fold ≥ folds, folds > n, or a negative class.
inline ValidationSplit stratified_fold_split(const std::vector<int>& classes, std::size_t folds, std::size_t fold,
                                             std::uint64_t seed) {
  constexpr const char* fn = "stratified_fold_split: ";
  if (folds < 2) throw std::invalid_argument(std::string(fn) + "the number of folds must be >= 2");
  if (fold >= folds) throw std::invalid_argument(std::string(fn) + "fold must be < the number of folds");
  if (folds > classes.size())
    throw std::invalid_argument(std::string(fn) + "more folds than graphs (" + std::to_string(folds) + " > " +
                                std::to_string(classes.size()) + ")");
  int cmax = -1;
  for (int c : classes) {
    if (c < 0) throw std::invalid_argument(std::string(fn) + "classes must be >= 0");
    cmax = std::max(cmax, c);
  }
  std::vector<std::vector<std::size_t>> by_class(static_cast<std::size_t>(cmax + 1));
  for (std::size_t k = 0; k < classes.size(); ++k) by_class[static_cast<std::size_t>(classes[k])].push_back(k);
  const CounterRng base(seed, 0x7A1C);
  std::vector<std::uint8_t> in_val(classes.size(), 0);
  std::size_t d = 0;  // dealing position, continued across classes
  for (std::size_t c = 0; c < by_class.size(); ++c) {
    auto& pos = by_class[c];
    CounterRng rng = base.split(static_cast<std::uint64_t>(c));
    for (std::size_t i = pos.size(); i > 1; --i) std::swap(pos[i - 1], pos[rng.next_below(i)]);
    for (auto k : pos) in_val[k] = (d++ % folds) == fold ? 1 : 0;
  }
  ValidationSplit s;
  for (std::size_t k = 0; k < classes.size(); ++k) (in_val[k] ? s.val : s.train).push_back(k);
  return s;
}

}  // namespace mgvae::graphgen
