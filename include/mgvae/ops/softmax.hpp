#pragma once
/// @file softmax.hpp
/// softmax and log_softmax along one axis, max-shifted for stability.
///   y = softmax(x):      x' = y ⊙ (g − Σ_axis g ⊙ y)
///   y = log_softmax(x):  x' = g − softmax(x) ⊙ Σ_axis g
/// A row whose entries are all −inf gives NaN (as in PyTorch).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "mgvae/autodiff/var.hpp"
#include "mgvae/ops/shape.hpp"

namespace mgvae {

namespace detail {
/// Row-wise (along the middle of [outer, mid, inner]) softmax or log-softmax of contiguous x.
template <class T>
void softmax_rows(const T* x, T* y, const AxisSplit& s, bool log_out) {
  for (std::int64_t o = 0; o < s.outer; ++o)
    for (std::int64_t in = 0; in < s.inner; ++in) {
      const T* xr = x + o * s.mid * s.inner + in;
      T* yr = y + o * s.mid * s.inner + in;
      T m = -std::numeric_limits<T>::infinity();
      for (std::int64_t k = 0; k < s.mid; ++k) m = std::max(m, xr[k * s.inner]);
      T z = 0;
      for (std::int64_t k = 0; k < s.mid; ++k) z += std::exp(xr[k * s.inner] - m);
      if (log_out) {
        const T lz = m + std::log(z);
        for (std::int64_t k = 0; k < s.mid; ++k) yr[k * s.inner] = xr[k * s.inner] - lz;
      } else {
        for (std::int64_t k = 0; k < s.mid; ++k) yr[k * s.inner] = std::exp(xr[k * s.inner] - m) / z;
      }
    }
}

/// The adjoint of softmax_rows given its output y and the upstream gradient g (both contiguous):
///   softmax:     x' = y ⊙ (g − Σ_k g_k y_k)
///   log_softmax: x' = g − exp(y) ⊙ Σ_k g_k
template <class T>
void softmax_rows_backward(const T* g, const T* y, T* gx, const AxisSplit& s, bool log_out) {
  for (std::int64_t a = 0; a < s.outer; ++a)
    for (std::int64_t in = 0; in < s.inner; ++in) {
      const std::int64_t base = a * s.mid * s.inner + in;
      T acc = 0;  // Σ_k g_k (log) or Σ_k g_k y_k
      for (std::int64_t k = 0; k < s.mid; ++k) {
        const std::int64_t i = base + k * s.inner;
        acc += log_out ? g[i] : g[i] * y[i];
      }
      for (std::int64_t k = 0; k < s.mid; ++k) {
        const std::int64_t i = base + k * s.inner;
        gx[i] = log_out ? g[i] - std::exp(y[i]) * acc : y[i] * (g[i] - acc);
      }
    }
}

template <class T>
Var<T> softmax_along(const Var<T>& x, int axis, bool log_out) {
  axis = normalize_axis(log_out ? "log_softmax" : "softmax", axis, x.shape().size());
  const auto sp = split_at_axis(x.shape(), axis);
  Tensor<T> xc = x.value().contiguous();
  Tensor<T> y(x.shape());
  softmax_rows(xc.data(), y.data(), sp, log_out);
  return make_result<T>(y, {x}, [x, y, sp, log_out](const Tensor<T>& g) {
    if (!x.requires_grad()) return;
    const Tensor<T> gc = g.contiguous();
    Tensor<T> gx(x.shape());
    softmax_rows_backward(gc.data(), y.data(), gx.data(), sp, log_out);
    x.node().accumulate(gx);
  });
}
}  // namespace detail

/// Softmax along `axis`.  x' = y ⊙ (g − Σ_axis g ⊙ y).
/// @throw std::invalid_argument if axis is out of range.
template <class T>
Var<T> softmax(const Var<T>& x, int axis) {
  return detail::softmax_along(x, axis, false);
}

/// log(softmax(x)) along `axis`, computed as x − logsumexp(x).  x' = g − softmax(x) ⊙ Σ_axis g.
/// @throw std::invalid_argument if axis is out of range.
template <class T>
Var<T> log_softmax(const Var<T>& x, int axis) {
  return detail::softmax_along(x, axis, true);
}

}  // namespace mgvae
