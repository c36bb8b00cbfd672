#pragma once
/// @file link_prediction.hpp
/// ROC-AUC and average precision with exactly scikit-learn's semantics
/// (`sklearn.metrics.roc_auc_score`, `sklearn.metrics.average_precision_score`, binary case,
/// no sample weights):
///
/// * both walk the distinct score thresholds from high to low (equal scores form one step);
/// * AUC = trapezoidal area under the (FPR, TPR) curve through those thresholds, which equals the
///   Mann–Whitney statistic with tied (positive, negative) pairs counted 1/2;
/// * AP = sum over thresholds of (R_k - R_{k-1}) * P_k with R_0 = 0, where P_k and R_k are the
///   precision and recall of "score >= threshold k" (no interpolation, as sklearn).
///
/// Scores must be finite (sklearn rejects NaN and inf as well). Only the order of the scores matters.
///
/// `evaluate_link_prediction(Z, pos, neg)` scores node pairs from latent embeddings Z [n, d] (the
/// inner-product decoder of VGAE / MGVAE: logit ⟨z_u, z_v⟩, probability σ(logit)) and returns the
/// scores with their ROC-AUC and AP.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "mgvae/autodiff/var.hpp"
#include "mgvae/core/error.hpp"
#include "mgvae/tensor/tensor.hpp"

namespace mgvae::metrics {

namespace lp_detail {

/// Cumulative (fp, tp) at each distinct threshold, scores sorted descending.
struct Curve {
  std::vector<double> fp, tp;  // counts at the end of each distinct-threshold group
};

inline Curve curve(std::span<const int> y, std::span<const double> s, const char* fn) {
  if (y.size() != s.size())
    throw std::invalid_argument(std::string(fn) + ": y_true has " + std::to_string(y.size()) +
                                " entries but scores has " + std::to_string(s.size()));
  std::size_t npos = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (y[i] != 0 && y[i] != 1)
      throw std::invalid_argument(std::string(fn) + ": y_true[" + std::to_string(i) + "] = " + std::to_string(y[i]) +
                                  " is not 0 or 1");
    if (std::isnan(s[i])) throw std::domain_error(std::string(fn) + ": scores[" + std::to_string(i) + "] is NaN");
    if (!std::isfinite(s[i]))
      throw std::domain_error(std::string(fn) + ": scores[" + std::to_string(i) + "] is infinite");
    npos += static_cast<std::size_t>(y[i]);
  }
  if (npos == 0 || npos == y.size())
    throw std::invalid_argument(std::string(fn) + ": y_true must contain both classes (got " + std::to_string(npos) +
                                " positives among " + std::to_string(y.size()) + " samples)");
  std::vector<std::size_t> order(y.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return s[a] > s[b]; });
  Curve c;
  double tp = 0, fp = 0;
  for (std::size_t k = 0; k < order.size(); ++k) {
    const std::size_t i = order[k];
    if (y[i]) tp += 1; else fp += 1;
    if (k + 1 == order.size() || s[order[k + 1]] != s[i]) {
      c.tp.push_back(tp);
      c.fp.push_back(fp);
    }
  }
  return c;
}

inline std::pair<std::vector<int>, std::vector<double>> stack(std::span<const double> pos, std::span<const double> neg) {
  std::vector<int> y(pos.size(), 1);
  y.resize(pos.size() + neg.size(), 0);
  std::vector<double> s(pos.begin(), pos.end());
  s.insert(s.end(), neg.begin(), neg.end());
  return {std::move(y), std::move(s)};
}

}  // namespace lp_detail

/// ROC-AUC of binary labels (0/1) against scores (higher = more likely positive), as
/// `sklearn.metrics.roc_auc_score(y_true, scores)`.
/// @throw std::invalid_argument if the sizes differ, a label is not 0/1, or only one class occurs
///   (including empty input); std::domain_error if a score is NaN or infinite.
inline double roc_auc(std::span<const int> y_true, std::span<const double> scores) {
  const auto c = lp_detail::curve(y_true, scores, "roc_auc");
  const double P = c.tp.back(), N = c.fp.back();
  double area = 0, tp_prev = 0, fp_prev = 0;
  for (std::size_t k = 0; k < c.tp.size(); ++k) {
    area += (c.fp[k] - fp_prev) * (c.tp[k] + tp_prev) * 0.5;
    tp_prev = c.tp[k];
    fp_prev = c.fp[k];
  }
  return area / (P * N);
}

/// ROC-AUC from the scores of the positive and of the negative examples (the link-prediction
/// form: scores_pos = scores of held-out edges, scores_neg = scores of sampled non-edges).
/// Equivalent to roc_auc(y_true = [1...1, 0...0], scores = [pos..., neg...]).
/// @throw std::invalid_argument if either list is empty; std::domain_error for a NaN/infinite score.
inline double roc_auc(std::span<const double> scores_pos, std::span<const double> scores_neg) {
  const auto [y, s] = lp_detail::stack(scores_pos, scores_neg);
  return roc_auc(std::span<const int>(y), std::span<const double>(s));
}

/// Average precision, as `sklearn.metrics.average_precision_score(y_true, scores)` (see file comment).
/// @throw std::invalid_argument if the sizes differ, a label is not 0/1, or only one class occurs
///   (sklearn warns and returns a degenerate value there; we refuse); std::domain_error if a score
///   is NaN or infinite.
inline double average_precision(std::span<const int> y_true, std::span<const double> scores) {
  const auto c = lp_detail::curve(y_true, scores, "average_precision");
  const double P = c.tp.back();
  double ap = 0, r_prev = 0;
  for (std::size_t k = 0; k < c.tp.size(); ++k) {
    const double r = c.tp[k] / P;
    const double prec = c.tp[k] / (c.tp[k] + c.fp[k]);
    ap += (r - r_prev) * prec;
    r_prev = r;
  }
  return ap;
}

/// Average precision from positive and negative scores (see roc_auc(scores_pos, scores_neg)).
/// @throw std::invalid_argument if either list is empty; std::domain_error for a NaN/infinite score.
inline double average_precision(std::span<const double> scores_pos, std::span<const double> scores_neg) {
  const auto [y, s] = lp_detail::stack(scores_pos, scores_neg);
  return average_precision(std::span<const int>(y), std::span<const double>(s));
}

/// Node pairs (u, v) scored by link prediction.
using NodePairs = std::vector<std::pair<std::int64_t, std::int64_t>>;

/// Link-prediction evaluation of one embedding: per-pair scores and the two metrics.
struct LinkEval {
  std::vector<double> pos_logits, neg_logits;  ///< ⟨z_u, z_v⟩ (accumulated in T over d, as ops pair_dot)
  std::vector<double> pos_scores, neg_scores;  ///< σ(logit): the decoder's edge probability
  double auc = 0;                              ///< roc_auc(pos, neg)
  double ap = 0;                               ///< average_precision(pos, neg)
};

namespace lp_detail {
/// Logits ⟨Z[u], Z[v]⟩ with exactly pair_dot's arithmetic (sum over j = 0 … d−1 in T), widened to double.
template <class T>
std::vector<double> pair_logits(const T* z, std::int64_t n, std::int64_t d, const NodePairs& pairs, const char* arg) {
  std::vector<double> out(pairs.size());
  for (std::size_t p = 0; p < pairs.size(); ++p) {
    const auto [u, v] = pairs[p];
    if (u < 0 || u >= n || v < 0 || v >= n)
      throw_invalid("evaluate_link_prediction", std::string(arg) + "[" + std::to_string(p) + "] = (" + std::to_string(u) +
                                                    ", " + std::to_string(v) + ") has a node outside [0, " +
                                                    std::to_string(n) + ")");
    const T* a = z + u * d;
    const T* b = z + v * d;
    T s = 0;
    for (std::int64_t j = 0; j < d; ++j) s += a[j] * b[j];
    out[p] = static_cast<double>(s);
  }
  return out;
}

/// σ(x) without overflow for either sign.
inline double sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1.0 + e);
}
}  // namespace lp_detail

/// Scores the positive (held-out edges) and negative (non-edges) pairs with the inner-product decoder
/// of the latent node embeddings Z [n, d] (logit ⟨z_u, z_v⟩, score σ(logit)) and computes ROC-AUC and
/// AP of positives against negatives. The metrics rank the pairs by logit: the order of σ(logit),
/// without the ties σ would create where it rounds to 1 in double (logits above ~37).
/// @throw std::invalid_argument if Z is not 2-D, a node index is outside [0, n), or either pair list
///   is empty; std::domain_error if a logit is NaN or infinite.
template <class T>
LinkEval evaluate_link_prediction(const Tensor<T>& Z, const NodePairs& pos_pairs, const NodePairs& neg_pairs) {
  if (Z.dim() != 2) throw_invalid("evaluate_link_prediction", "Z must be 2-D [n, d], got shape " + shape_str(Z.shape()));
  check_arg(!pos_pairs.empty(), "evaluate_link_prediction", "pos_pairs", "is empty");
  check_arg(!neg_pairs.empty(), "evaluate_link_prediction", "neg_pairs", "is empty");
  const Tensor<T> zc = Z.contiguous();
  const std::int64_t n = Z.size(0), d = Z.size(1);
  LinkEval e;
  e.pos_logits = lp_detail::pair_logits(zc.data(), n, d, pos_pairs, "pos_pairs");
  e.neg_logits = lp_detail::pair_logits(zc.data(), n, d, neg_pairs, "neg_pairs");
  e.auc = roc_auc(std::span<const double>(e.pos_logits), std::span<const double>(e.neg_logits));
  e.ap = average_precision(std::span<const double>(e.pos_logits), std::span<const double>(e.neg_logits));
  e.pos_scores.reserve(e.pos_logits.size());
  e.neg_scores.reserve(e.neg_logits.size());
  for (const double x : e.pos_logits) e.pos_scores.push_back(lp_detail::sigmoid(x));
  for (const double x : e.neg_logits) e.neg_scores.push_back(lp_detail::sigmoid(x));
  return e;
}

/// evaluate_link_prediction on the value of a Var (no gradient is recorded).
template <class T>
LinkEval evaluate_link_prediction(const Var<T>& Z, const NodePairs& pos_pairs, const NodePairs& neg_pairs) {
  return evaluate_link_prediction(Z.value(), pos_pairs, neg_pairs);
}

}  // namespace mgvae::metrics
