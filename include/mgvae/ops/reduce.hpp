#pragma once
/// @file reduce.hpp
/// Reductions along axes: sum, mean, max, logsumexp (forward and backward side by side).
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "mgvae/autodiff/var.hpp"
#include "mgvae/ops/broadcast.hpp"
#include "mgvae/ops/elementwise.hpp"
#include "mgvae/tensor/iterate.hpp"

namespace mgvae {

namespace detail {
/// Sorted, normalised, unique axes; empty input means "all axes".
inline std::vector<int> norm_axes(const char* fn, std::vector<int> axes, std::size_t rank) {
  if (axes.empty())
    for (std::size_t i = 0; i < rank; ++i) axes.push_back(static_cast<int>(i));
  for (auto& a : axes) a = normalize_axis(fn, a, rank);
  std::sort(axes.begin(), axes.end());
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end()) throw_invalid(fn, "repeated axis");
  return axes;
}
/// Shape with reduced axes set to 1.
inline Shape keep_shape(const Shape& s, const std::vector<int>& axes) {
  Shape k = s;
  for (int a : axes) k[static_cast<std::size_t>(a)] = 1;
  return k;
}
/// Shape with reduced axes removed.
inline Shape drop_shape(const Shape& s, const std::vector<int>& axes) {
  Shape d;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (std::find(axes.begin(), axes.end(), static_cast<int>(i)) == axes.end()) d.push_back(s[i]);
  return d;
}
/// Raw sum over axes into the keepdim shape.
template <class T>
Tensor<T> sum_keep(const Tensor<T>& x, const std::vector<int>& axes) {
  const Shape ks = keep_shape(x.shape(), axes);
  Tensor<T> out = Tensor<T>::zeros(ks);
  const Shape ost = broadcast_strides(ks, contiguous_strides(ks), x.shape());
  T* o = out.data();
  const T* p = x.data();
  for_each_strided<2>(x.shape(), {&ost, &x.strides()}, [&](std::int64_t oo, std::int64_t io) { o[oo] += p[io]; });
  return out;
}
}  // namespace detail

/// Sum over `axes` (all if empty). keepdim keeps reduced axes with size 1.
/// (Σx)'x = g broadcast back to x's shape.
template <class T>
Var<T> sum(const Var<T>& x, std::vector<int> axes = {}, bool keepdim = false) {
  axes = detail::norm_axes("sum", axes, x.shape().size());
  Tensor<T> k = detail::sum_keep(x.value(), axes);
  const Shape ks = k.shape();
  Tensor<T> y = keepdim ? k : k.reshape(detail::drop_shape(x.shape(), axes));
  return make_result<T>(y, {x}, [x, ks](const Tensor<T>& g) {
    if (x.requires_grad()) x.node().accumulate(g.contiguous().reshape(ks).expand(x.shape()).clone());
  });
}

/// Mean over `axes` (all if empty).  (mean x)'x = g / count.
template <class T>
Var<T> mean(const Var<T>& x, std::vector<int> axes = {}, bool keepdim = false) {
  axes = detail::norm_axes("mean", axes, x.shape().size());
  std::int64_t cnt = 1;
  for (int a : axes) cnt *= x.shape()[static_cast<std::size_t>(a)];
  if (cnt == 0) throw_invalid("mean", "mean over an empty axis of shape " + shape_str(x.shape()));
  return mul_scalar(sum(x, axes, keepdim), T(1) / static_cast<T>(cnt));
}

/// Max over one axis, returning values; the adjoint goes to the first maximal element.
template <class T>
Var<T> max(const Var<T>& x, int axis, bool keepdim = false) {
  const std::vector<int> axes = detail::norm_axes("max", {axis}, x.shape().size());
  const int ax = axes[0];
  if (x.shape()[static_cast<std::size_t>(ax)] == 0) throw_invalid("max", "max over an empty axis of shape " + shape_str(x.shape()));
  const Shape ks = detail::keep_shape(x.shape(), axes);
  Tensor<T> out = Tensor<T>::full(ks, -std::numeric_limits<T>::infinity());
  std::vector<std::int64_t> arg(static_cast<std::size_t>(out.numel()), -1);
  Tensor<T> xc = x.value().contiguous();
  const Shape ost = broadcast_strides(ks, contiguous_strides(ks), x.shape());
  const Shape xst = xc.strides();
  T* o = out.data();
  const T* p = xc.data();
  for_each_strided<2>(x.shape(), {&ost, &xst}, [&](std::int64_t oo, std::int64_t io) {
    auto& a = arg[static_cast<std::size_t>(oo)];
    if (a < 0 || (!std::isnan(o[oo]) && (std::isnan(p[io]) || p[io] > o[oo]))) {  // NaN propagates
      o[oo] = p[io];
      a = io;
    }
  });
  Tensor<T> y = keepdim ? out : out.reshape(detail::drop_shape(x.shape(), axes));
  return make_result<T>(y, {x}, [x, arg](const Tensor<T>& g) {
    if (!x.requires_grad()) return;
    Tensor<T> gx = Tensor<T>::zeros(x.shape());
    Tensor<T> gc = g.contiguous();
    for (std::size_t i = 0; i < arg.size(); ++i) gx.data()[arg[i]] += gc.data()[i];
    x.node().accumulate(gx);
  });
}

/// log Σ exp(x) over one axis, stable (max-shifted).  (lse)'x = g · softmax(x).
template <class T>
Var<T> logsumexp(const Var<T>& x, int axis, bool keepdim = false) {
  const std::vector<int> axes = detail::norm_axes("logsumexp", {axis}, x.shape().size());
  const Shape ks = detail::keep_shape(x.shape(), axes);
  Tensor<T> m;
  {
    NoGradGuard ng;
    m = max(Var<T>(x.value()), axes[0], true).value();
  }
  T* pm = m.data();
  for (std::int64_t i = 0; i < m.numel(); ++i)
    if (!std::isfinite(pm[i])) pm[i] = 0;  // all -inf rows: keep lse = -inf without NaN
  Tensor<T> e = detail::zip_map("logsumexp", x.value(), m, [](T u, T v) { return std::exp(u - v); });
  Tensor<T> s = detail::sum_keep(e, axes);
  Tensor<T> lse = detail::zip_map("logsumexp", s, m, [](T u, T v) { return std::log(u) + v; });
  Tensor<T> y = keepdim ? lse : lse.reshape(detail::drop_shape(x.shape(), axes));
  return make_result<T>(y, {x}, [x, lse, ks](const Tensor<T>& g) {
    if (!x.requires_grad()) return;
    Tensor<T> sm = detail::zip_map("logsumexp", x.value(), lse, [](T u, T v) { return std::exp(u - v); });
    Tensor<T> gk = g.contiguous().reshape(ks);
    x.node().accumulate(detail::zip_map("logsumexp", sm, gk, [](T u, T v) { return u * v; }));
  });
}

}  // namespace mgvae
