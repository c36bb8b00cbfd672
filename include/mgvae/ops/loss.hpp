#pragma once
/// @file loss.hpp
/// Loss functions with fused, numerically stable forward and backward:
/// bce_with_logits (PyTorch `binary_cross_entropy_with_logits` semantics, incl. pos_weight),
/// mse, cross_entropy (integer labels); and weighted_bce_with_logits (elementwise class weights,
/// composed from elementwise ops).
///
/// With `debug::nan_checks()` on (core/debug.hpp, default off) every loss throws
/// std::domain_error naming the argument ("logits", "targets", ...) and the first flat index
/// holding NaN/Inf.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "mgvae/autodiff/var.hpp"
#include "mgvae/core/debug.hpp"
#include "mgvae/ops/elementwise.hpp"
#include "mgvae/ops/softmax.hpp"

namespace mgvae {

/// How per-element losses are combined.
enum class Reduction {
  Mean,  ///< average over all elements (rows for cross_entropy) -> scalar shape []
  Sum,   ///< sum -> scalar shape []
  None   ///< per-element losses, same shape as the input (cross_entropy: [N])
};

namespace detail {
template <class T>
void nan_check_arg(const char* fn, const char* arg, const Tensor<T>& t) {
  if (!debug::nan_checks()) return;
  Tensor<T> c = t.contiguous();
  check_finite(fn, arg, c.data(), c.numel());
}
/// Reduces a contiguous per-element loss `l` and returns (value, per-element adjoint scale).
template <class T>
Tensor<T> reduce_loss(const char* fn, const Tensor<T>& l, Reduction r) {
  if (r == Reduction::None) return l;
  const std::int64_t n = l.numel();
  if (r == Reduction::Mean && n == 0) throw_invalid(fn, "mean reduction of an empty input");
  T s = 0;
  for (std::int64_t i = 0; i < n; ++i) s += l.data()[i];
  return Tensor<T>::scalar(r == Reduction::Mean ? s / static_cast<T>(n) : s);
}
/// Adjoint of each per-element loss given the reduced output's adjoint g.
template <class T>
Tensor<T> expand_loss_grad(const Tensor<T>& g, const Shape& elem_shape, Reduction r) {
  if (r == Reduction::None) return g.contiguous();
  const std::int64_t n = numel_of(elem_shape);
  const T s = r == Reduction::Mean ? g.item() / static_cast<T>(n) : g.item();
  return Tensor<T>::full(elem_shape, s);
}
/// log(1 + e^v), stable.
template <class T>
T softplus_scalar(T v) {
  return v > 0 ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v));
}
/// 1 / (1 + e^-v), stable.
template <class T>
T sigmoid_scalar(T v) {
  if (v >= 0) return T(1) / (T(1) + std::exp(-v));
  const T e = std::exp(v);
  return e / (T(1) + e);
}
}  // namespace detail

/// Weighted binary cross-entropy on logits x with constant targets y, unreduced, composed from
/// elementwise ops (the form the MGVAE models train with):
///   ℓ = a ⊙ softplus(−x) + c ⊙ softplus(x),   a = w₊ ⊙ y ⊙ s,   c = (1 − y) ⊙ s
///     = −s ⊙ [w₊ y log σ(x) + (1 − y) log(1 − σ(x))]
/// with the elementwise positive-class weight w₊ = `pos_weight` (class weighting) and the optional
/// elementwise `scale` s (omitted: s = 1, no multiplication). Differentiable in x (autodiff of the
/// composition). Same value as bce_with_logits(x, y, p, None) for w₊ = p up to rounding.
/// @throw std::invalid_argument if targets, pos_weight or scale have another shape than logits.
template <class T>
Var<T> weighted_bce_with_logits(const Var<T>& logits, const Tensor<T>& targets, const Tensor<T>& pos_weight,
                                const Tensor<T>* scale = nullptr) {
  constexpr const char* fn = "weighted_bce_with_logits";
  check_same_shape(fn, "targets", targets.shape(), "logits", logits.shape());
  check_same_shape(fn, "pos_weight", pos_weight.shape(), "logits", logits.shape());
  if (scale) check_same_shape(fn, "scale", scale->shape(), "logits", logits.shape());
  const Tensor<T> yc = targets.contiguous(), wc = pos_weight.contiguous();
  const Tensor<T> sc = scale ? scale->contiguous() : Tensor<T>();
  Tensor<T> a(targets.shape()), c(targets.shape());
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    a.data()[i] = scale ? wc.data()[i] * yc.data()[i] * sc.data()[i] : wc.data()[i] * yc.data()[i];
    c.data()[i] = scale ? (T(1) - yc.data()[i]) * sc.data()[i] : T(1) - yc.data()[i];
  }
  return add(mul(constant(a), softplus(neg(logits))), mul(constant(c), softplus(logits)));
}

/// weighted_bce_with_logits with one positive-class weight p for every element (w₊ = p).
template <class T>
Var<T> weighted_bce_with_logits(const Var<T>& logits, const Tensor<T>& targets, T pos_weight) {
  return weighted_bce_with_logits(logits, targets, Tensor<T>::full(targets.shape(), pos_weight));
}

/// Binary cross-entropy on logits x with targets y (same shape), PyTorch semantics:
///   ℓ = −w·[p·y·log σ(x) + (1−y)·log(1−σ(x))] = w·[(1−y)·x + (1 + (p−1)·y)·softplus(−x)]
/// with p = pos_weight and w the optional per-element `weight` (broadcast to x's shape).
/// Backward:  ℓ'x = w·[(1−y) − (1 + (p−1)·y)·σ(−x)],   ℓ'y = w·[−x + (p−1)·softplus(−x)].
/// Mean divides by the element count (weights do not renormalise, as in PyTorch).
/// @throw std::invalid_argument if targets' shape differs from logits', weight does not
///        broadcast to it, or Mean is asked of an empty input.
/// @throw std::domain_error on NaN/Inf in logits/targets/weight when debug::nan_checks() is on.
template <class T>
Var<T> bce_with_logits(const Var<T>& logits, const Var<T>& targets, T pos_weight = T(1),
                       Reduction r = Reduction::Mean, const Tensor<T>* weight = nullptr) {
  check_same_shape("bce_with_logits", "logits", logits.shape(), "targets", targets.shape());
  Tensor<T> w;
  if (weight) {
    const Shape b = broadcast_shapes("bce_with_logits", weight->shape(), logits.shape());
    if (b != logits.shape())
      throw_invalid("bce_with_logits", "weight of shape " + shape_str(weight->shape()) +
                                           " does not broadcast to logits of shape " + shape_str(logits.shape()));
    w = weight->expand(logits.shape()).clone();
  }
  detail::nan_check_arg("bce_with_logits", "logits", logits.value());
  detail::nan_check_arg("bce_with_logits", "targets", targets.value());
  if (weight) detail::nan_check_arg("bce_with_logits", "weight", w);
  Tensor<T> xc = logits.value().contiguous(), yc = targets.value().contiguous();
  const std::int64_t n = xc.numel();
  Tensor<T> l(logits.shape());
  for (std::int64_t i = 0; i < n; ++i) {
    const T x = xc.data()[i], y = yc.data()[i];
    T v = (T(1) - y) * x + (T(1) + (pos_weight - T(1)) * y) * detail::softplus_scalar(-x);
    if (weight) v *= w.data()[i];
    l.data()[i] = v;
  }
  Tensor<T> out = detail::reduce_loss("bce_with_logits", l, r);
  return make_result<T>(out, {logits, targets}, [logits, targets, xc, yc, w, pos_weight, r](const Tensor<T>& g) {
    const Tensor<T> ge = detail::expand_loss_grad(g, xc.shape(), r);
    const std::int64_t m = xc.numel();
    const bool has_w = w.defined();
    if (logits.requires_grad()) {  // ℓ'x = w [(1−y) − (1 + (p−1) y) σ(−x)]
      Tensor<T> gx(xc.shape());
      for (std::int64_t i = 0; i < m; ++i) {
        const T x = xc.data()[i], y = yc.data()[i];
        T d = (T(1) - y) - (T(1) + (pos_weight - T(1)) * y) * detail::sigmoid_scalar(-x);
        if (has_w) d *= w.data()[i];
        gx.data()[i] = ge.data()[i] * d;
      }
      logits.node().accumulate(gx);
    }
    if (targets.requires_grad()) {  // ℓ'y = w [−x + (p−1) softplus(−x)]
      Tensor<T> gy(yc.shape());
      for (std::int64_t i = 0; i < m; ++i) {
        const T x = xc.data()[i];
        T d = -x + (pos_weight - T(1)) * detail::softplus_scalar(-x);
        if (has_w) d *= w.data()[i];
        gy.data()[i] = ge.data()[i] * d;
      }
      targets.node().accumulate(gy);
    }
  });
}

/// Mean squared error ℓ = (pred − target)², shapes must match.
/// ℓ'pred = 2 (pred − target),  ℓ'target = −2 (pred − target).
/// @throw std::invalid_argument on a shape mismatch or Mean of an empty input.
/// @throw std::domain_error on NaN/Inf when debug::nan_checks() is on.
template <class T>
Var<T> mse(const Var<T>& pred, const Var<T>& target, Reduction r = Reduction::Mean) {
  check_same_shape("mse", "pred", pred.shape(), "target", target.shape());
  detail::nan_check_arg("mse", "pred", pred.value());
  detail::nan_check_arg("mse", "target", target.value());
  Tensor<T> pc = pred.value().contiguous(), tc = target.value().contiguous();
  const std::int64_t n = pc.numel();
  Tensor<T> diff(pred.shape()), l(pred.shape());
  for (std::int64_t i = 0; i < n; ++i) {
    diff.data()[i] = pc.data()[i] - tc.data()[i];
    l.data()[i] = diff.data()[i] * diff.data()[i];
  }
  Tensor<T> out = detail::reduce_loss("mse", l, r);
  return make_result<T>(out, {pred, target}, [pred, target, diff, r](const Tensor<T>& g) {
    const Tensor<T> ge = detail::expand_loss_grad(g, diff.shape(), r);
    const std::int64_t m = diff.numel();
    Tensor<T> gp(diff.shape());  // 2 (p − t) g
    for (std::int64_t i = 0; i < m; ++i) gp.data()[i] = T(2) * diff.data()[i] * ge.data()[i];
    if (pred.requires_grad()) pred.node().accumulate(gp);
    if (target.requires_grad()) {
      for (std::int64_t i = 0; i < m; ++i) gp.data()[i] = -gp.data()[i];
      target.node().accumulate(gp);
    }
  });
}

/// Cross-entropy of logits [N, K] against integer labels (N of them, each in [0, K)):
///   ℓ_i = −log_softmax(x_i)[label_i] = logsumexp(x_i) − x_i[label_i]
/// Backward: ℓ'x_i = g_i (softmax(x_i) − onehot(label_i)).  Mean divides by N.
/// @throw std::invalid_argument if logits are not 2-D, labels.size() != N, a label is outside
///        [0, K) (the message names it), or Mean is asked of N = 0.
/// @throw std::domain_error on NaN/Inf in logits when debug::nan_checks() is on.
template <class T>
Var<T> cross_entropy(const Var<T>& logits, const std::vector<std::int64_t>& labels, Reduction r = Reduction::Mean) {
  const Shape& s = logits.shape();
  if (s.size() != 2) throw_invalid("cross_entropy", "logits must be 2-D [N, K], got shape " + shape_str(s));
  const std::int64_t N = s[0], K = s[1];
  if (static_cast<std::int64_t>(labels.size()) != N)
    throw_invalid("cross_entropy", "logits of shape " + shape_str(s) + " need " + std::to_string(N) + " labels, got " +
                                       std::to_string(labels.size()));
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < 0 || labels[i] >= K)
      throw_invalid("cross_entropy", "label " + std::to_string(labels[i]) + " at position " + std::to_string(i) +
                                         " out of range [0, " + std::to_string(K) + ")");
  detail::nan_check_arg("cross_entropy", "logits", logits.value());
  Tensor<T> xc = logits.value().contiguous();
  Tensor<T> ls(s);  // log_softmax rows
  detail::softmax_rows(xc.data(), ls.data(), detail::AxisSplit{N, K, 1}, true);
  Tensor<T> l(Shape{N});
  for (std::int64_t i = 0; i < N; ++i) l.data()[i] = -ls.data()[i * K + labels[static_cast<std::size_t>(i)]];
  Tensor<T> out = detail::reduce_loss("cross_entropy", l, r);
  return make_result<T>(out, {logits}, [logits, labels, ls, r, N, K](const Tensor<T>& g) {
    if (!logits.requires_grad()) return;
    const Tensor<T> ge = detail::expand_loss_grad(g, Shape{N}, r);
    Tensor<T> gx(Shape{N, K});  // g_i (softmax − onehot)
    for (std::int64_t i = 0; i < N; ++i) {
      const T gi = ge.data()[i];
      for (std::int64_t k = 0; k < K; ++k) gx.data()[i * K + k] = gi * std::exp(ls.data()[i * K + k]);
      gx.data()[i * K + labels[static_cast<std::size_t>(i)]] -= gi;
    }
    logits.node().accumulate(gx);
  });
}

}  // namespace mgvae
