#pragma once
/// @file elementwise.hpp
/// Elementwise ops with NumPy broadcasting: forward and backward side by side.
/// Binary ops reduce their adjoints to each input's shape with `sum_to` (ops/broadcast.hpp).
#include <cmath>
#include <functional>

#include "mgvae/autodiff/var.hpp"
#include "mgvae/ops/broadcast.hpp"
#include "mgvae/tensor/iterate.hpp"

namespace mgvae {

namespace detail {

/// out = f(a, b) with broadcasting.
template <class T, class F>
Tensor<T> zip_map(const char* fn, const Tensor<T>& a, const Tensor<T>& b, F f) {
  const Shape out = broadcast_shapes(fn, a.shape(), b.shape());
  Tensor<T> r(out);
  T* o = r.data();
  const T* pa = a.data();
  const T* pb = b.data();
  if (a.shape() == out && b.shape() == out && a.is_contiguous() && b.is_contiguous()) {
    const std::int64_t n = r.numel();
    for (std::int64_t i = 0; i < n; ++i) o[i] = f(pa[i], pb[i]);
    return r;
  }
  const Shape sa = broadcast_strides(a.shape(), a.strides(), out);
  const Shape sb = broadcast_strides(b.shape(), b.strides(), out);
  const Shape so = r.strides();
  for_each_strided<3>(out, {&so, &sa, &sb},
                      [&](std::int64_t io, std::int64_t ia, std::int64_t ib) { o[io] = f(pa[ia], pb[ib]); });
  return r;
}

/// out = f(a) elementwise.
template <class T, class F>
Tensor<T> map(const Tensor<T>& a, F f) {
  Tensor<T> c = a.contiguous();
  Tensor<T> r(a.shape());
  const T* p = c.data();
  T* o = r.data();
  const std::int64_t n = r.numel();
  for (std::int64_t i = 0; i < n; ++i) o[i] = f(p[i]);
  return r;
}

/// Generic unary op: value = f(x); adjoint gx = g * df(x, y) where y = f(x).
template <class T, class F, class DF>
Var<T> unary(const Var<T>& x, F f, DF df) {
  Tensor<T> y = map(x.value(), f);
  return make_result<T>(y, {x}, [x, y, df](const Tensor<T>& g) {
    if (!x.requires_grad()) return;
    // d/dx: g * df(x, y)
    Tensor<T> xc = x.value().contiguous();
    Tensor<T> gc = g.contiguous();
    Tensor<T> gx(x.shape());
    const T *px = xc.data(), *py = y.data(), *pg = gc.data();
    T* o = gx.data();
    const std::int64_t n = gx.numel();
    for (std::int64_t i = 0; i < n; ++i) o[i] = pg[i] * df(px[i], py[i]);
    x.node().accumulate(gx);
  });
}

}  // namespace detail

// ---- binary ----------------------------------------------------------------------------------

/// a + b (broadcasting).  (a+b)'a = g, (a+b)'b = g, each reduced to its input's shape.
template <class T>
Var<T> add(const Var<T>& a, const Var<T>& b) {
  Tensor<T> y = detail::zip_map("add", a.value(), b.value(), [](T u, T v) { return u + v; });
  return make_result<T>(y, {a, b}, [a, b](const Tensor<T>& g) {
    if (a.requires_grad()) a.node().accumulate(sum_to(g, a.shape()));
    if (b.requires_grad()) b.node().accumulate(sum_to(g, b.shape()));
  });
}

/// a - b.  (a-b)'a = g, (a-b)'b = -g.
template <class T>
Var<T> sub(const Var<T>& a, const Var<T>& b) {
  Tensor<T> y = detail::zip_map("sub", a.value(), b.value(), [](T u, T v) { return u - v; });
  return make_result<T>(y, {a, b}, [a, b](const Tensor<T>& g) {
    if (a.requires_grad()) a.node().accumulate(sum_to(g, a.shape()));
    if (b.requires_grad()) b.node().accumulate(sum_to(detail::map(g, [](T v) { return -v; }), b.shape()));
  });
}

/// a * b.  (ab)'a = g b, (ab)'b = g a.
template <class T>
Var<T> mul(const Var<T>& a, const Var<T>& b) {
  Tensor<T> y = detail::zip_map("mul", a.value(), b.value(), [](T u, T v) { return u * v; });
  return make_result<T>(y, {a, b}, [a, b](const Tensor<T>& g) {
    if (a.requires_grad())
      a.node().accumulate(sum_to(detail::zip_map("mul", g, b.value(), [](T u, T v) { return u * v; }), a.shape()));
    if (b.requires_grad())
      b.node().accumulate(sum_to(detail::zip_map("mul", g, a.value(), [](T u, T v) { return u * v; }), b.shape()));
  });
}

/// a / b.  (a/b)'a = g / b, (a/b)'b = -g a / b².
template <class T>
Var<T> div(const Var<T>& a, const Var<T>& b) {
  Tensor<T> y = detail::zip_map("div", a.value(), b.value(), [](T u, T v) { return u / v; });
  return make_result<T>(y, {a, b}, [a, b, y](const Tensor<T>& g) {
    if (a.requires_grad())
      a.node().accumulate(sum_to(detail::zip_map("div", g, b.value(), [](T u, T v) { return u / v; }), a.shape()));
    if (b.requires_grad()) {
      // -g * y / b
      Tensor<T> gy = detail::zip_map("div", g, y, [](T u, T v) { return u * v; });
      b.node().accumulate(sum_to(detail::zip_map("div", gy, b.value(), [](T u, T v) { return -u / v; }), b.shape()));
    }
  });
}

/// max(a, b) elementwise; the adjoint goes to a where a >= b, else to b.
template <class T>
Var<T> maximum(const Var<T>& a, const Var<T>& b) {
  Tensor<T> y = detail::zip_map("maximum", a.value(), b.value(), [](T u, T v) { return u >= v ? u : v; });
  return make_result<T>(y, {a, b}, [a, b](const Tensor<T>& g) {
    Tensor<T> mask = detail::zip_map("maximum", a.value(), b.value(), [](T u, T v) { return u >= v ? T(1) : T(0); });
    if (a.requires_grad())
      a.node().accumulate(sum_to(detail::zip_map("maximum", g, mask, [](T u, T m) { return u * m; }), a.shape()));
    if (b.requires_grad())
      b.node().accumulate(sum_to(detail::zip_map("maximum", g, mask, [](T u, T m) { return u * (1 - m); }), b.shape()));
  });
}

// ---- scalar forms ----------------------------------------------------------------------------

/// x + s.
template <class T>
Var<T> add_scalar(const Var<T>& x, T s) {
  return detail::unary(x, [s](T v) { return v + s; }, [](T, T) { return T(1); });
}
/// x * s.
template <class T>
Var<T> mul_scalar(const Var<T>& x, T s) {
  return detail::unary(x, [s](T v) { return v * s; }, [s](T, T) { return s; });
}

// ---- unary -----------------------------------------------------------------------------------

/// -x.
template <class T>
Var<T> neg(const Var<T>& x) {
  return detail::unary(x, [](T v) { return -v; }, [](T, T) { return T(-1); });
}
/// exp(x).  y' = y.
template <class T>
Var<T> exp(const Var<T>& x) {
  return detail::unary(x, [](T v) { return std::exp(v); }, [](T, T y) { return y; });
}
/// log(x).  y' = 1/x.
template <class T>
Var<T> log(const Var<T>& x) {
  return detail::unary(x, [](T v) { return std::log(v); }, [](T v, T) { return T(1) / v; });
}
/// tanh(x).  y' = 1 - y².
template <class T>
Var<T> tanh(const Var<T>& x) {
  return detail::unary(x, [](T v) { return std::tanh(v); }, [](T, T y) { return T(1) - y * y; });
}
/// sigmoid(x) = 1/(1+e^-x), computed stably.  y' = y(1-y).
template <class T>
Var<T> sigmoid(const Var<T>& x) {
  return detail::unary(
      x,
      [](T v) {
        if (v >= 0) return T(1) / (T(1) + std::exp(-v));
        const T e = std::exp(v);
        return e / (T(1) + e);
      },
      [](T, T y) { return y * (T(1) - y); });
}
/// relu(x) = max(x, 0).  y' = [x > 0].
template <class T>
Var<T> relu(const Var<T>& x) {
  return detail::unary(x, [](T v) { return v > 0 ? v : T(0); }, [](T v, T) { return v > 0 ? T(1) : T(0); });
}
/// softplus(x) = log(1 + e^x), stable.  y' = sigmoid(x).
template <class T>
Var<T> softplus(const Var<T>& x) {
  return detail::unary(
      x, [](T v) { return v > 0 ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v)); },
      [](T v, T) { return v >= 0 ? T(1) / (T(1) + std::exp(-v)) : std::exp(v) / (T(1) + std::exp(v)); });
}
/// sqrt(x).  y' = 1/(2y).
template <class T>
Var<T> sqrt(const Var<T>& x) {
  return detail::unary(x, [](T v) { return std::sqrt(v); }, [](T, T y) { return T(0.5) / y; });
}
/// x^p for a scalar exponent.  y' = p x^(p-1).
template <class T>
Var<T> pow(const Var<T>& x, T p) {
  return detail::unary(x, [p](T v) { return std::pow(v, p); }, [p](T v, T) { return p * std::pow(v, p - T(1)); });
}
/// |x|.  y' = sign(x) (0 at 0).
template <class T>
Var<T> abs(const Var<T>& x) {
  return detail::unary(x, [](T v) { return std::abs(v); }, [](T v, T) { return v > 0 ? T(1) : (v < 0 ? T(-1) : T(0)); });
}
/// a^b elementwise for tensors (a > 0 where b is non-integer).  (a^b)'a = b a^(b-1), (a^b)'b = a^b log a.
template <class T>
Var<T> pow(const Var<T>& a, const Var<T>& b) {
  Tensor<T> y = detail::zip_map("pow", a.value(), b.value(), [](T u, T v) { return std::pow(u, v); });
  return make_result<T>(y, {a, b}, [a, b, y](const Tensor<T>& g) {
    const Shape& os = y.shape();
    Tensor<T> ae = a.value().expand(os).contiguous(), be = b.value().expand(os).contiguous(), gc = g.contiguous();
    const std::int64_t n = y.numel();
    if (a.requires_grad()) {
      Tensor<T> ga(os);
      for (std::int64_t i = 0; i < n; ++i) ga.data()[i] = gc.data()[i] * be.data()[i] * std::pow(ae.data()[i], be.data()[i] - 1);
      a.node().accumulate(sum_to(ga, a.shape()));
    }
    if (b.requires_grad()) {
      Tensor<T> gb(os);
      for (std::int64_t i = 0; i < n; ++i) gb.data()[i] = gc.data()[i] * y.data()[i] * std::log(ae.data()[i]);
      b.node().accumulate(sum_to(gb, b.shape()));
    }
  });
}

// ---- operators -------------------------------------------------------------------------------
template <class T> Var<T> operator+(const Var<T>& a, const Var<T>& b) { return add(a, b); }
template <class T> Var<T> operator-(const Var<T>& a, const Var<T>& b) { return sub(a, b); }
template <class T> Var<T> operator*(const Var<T>& a, const Var<T>& b) { return mul(a, b); }
template <class T> Var<T> operator/(const Var<T>& a, const Var<T>& b) { return div(a, b); }
template <class T> Var<T> operator-(const Var<T>& a) { return neg(a); }
template <class T> Var<T> operator+(const Var<T>& a, T s) { return add_scalar(a, s); }
template <class T> Var<T> operator+(T s, const Var<T>& a) { return add_scalar(a, s); }
template <class T> Var<T> operator-(const Var<T>& a, T s) { return add_scalar(a, -s); }
template <class T> Var<T> operator-(T s, const Var<T>& a) { return add_scalar(neg(a), s); }
template <class T> Var<T> operator*(const Var<T>& a, T s) { return mul_scalar(a, s); }
template <class T> Var<T> operator*(T s, const Var<T>& a) { return mul_scalar(a, s); }
template <class T> Var<T> operator/(const Var<T>& a, T s) { return mul_scalar(a, T(1) / s); }

/// A constant (no gradient) Var from a tensor.
template <class T>
Var<T> constant(const Tensor<T>& t) {
  return Var<T>(t, false);
}

}  // namespace mgvae
