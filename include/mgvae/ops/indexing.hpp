#pragma once
/// @file indexing.hpp
/// Gather / scatter primitives: index_select, scatter_add (adjoints of each other) and
/// pair_dot (edge scores <Z_u, Z_v> without forming Z Zᵀ).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "mgvae/autodiff/var.hpp"
#include "mgvae/ops/shape.hpp"

namespace mgvae {

namespace detail {
/// Throws std::invalid_argument naming the op, the bad index and its position.
inline void check_indices(const char* fn, const std::vector<std::int64_t>& idx, std::int64_t bound,
                          const std::string& what) {
  for (std::size_t i = 0; i < idx.size(); ++i)
    if (idx[i] < 0 || idx[i] >= bound)
      throw_invalid(fn, "index " + std::to_string(idx[i]) + " at position " + std::to_string(i) +
                            " out of range [0, " + std::to_string(bound) + ") for " + what);
}
/// dst[o, idx[i], :] += src[o, i, :] where src is [outer, idx.size(), inner] and dst [outer, n, inner].
template <class T>
void scatter_add_rows(const T* src, T* dst, const std::vector<std::int64_t>& idx, std::int64_t outer, std::int64_t n,
                      std::int64_t inner) {
  const auto m = static_cast<std::int64_t>(idx.size());
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t i = 0; i < m; ++i) {
      const T* s = src + (o * m + i) * inner;
      T* d = dst + (o * n + idx[static_cast<std::size_t>(i)]) * inner;
      for (std::int64_t j = 0; j < inner; ++j) d[j] += s[j];
    }
}
/// dst[o, i, :] = src[o, idx[i], :] where src is [outer, n, inner] and dst [outer, idx.size(), inner].
template <class T>
void gather_rows(const T* src, T* dst, const std::vector<std::int64_t>& idx, std::int64_t outer, std::int64_t n,
                 std::int64_t inner) {
  const auto m = static_cast<std::int64_t>(idx.size());
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t i = 0; i < m; ++i) {
      const T* s = src + (o * n + idx[static_cast<std::size_t>(i)]) * inner;
      T* d = dst + (o * m + i) * inner;
      for (std::int64_t j = 0; j < inner; ++j) d[j] = s[j];
    }
}
}  // namespace detail

/// Selects slices along `axis`: y[..., i, ...] = x[..., idx[i], ...] (duplicates allowed).
/// Shape: x.shape with shape[axis] replaced by idx.size().
/// (index_select)'x = scatter-add of g into the selected positions.
/// @throw std::invalid_argument for an out-of-range axis or index (the message names the index).
template <class T>
Var<T> index_select(const Var<T>& x, int axis, const std::vector<std::int64_t>& idx) {
  axis = normalize_axis("index_select", axis, x.shape().size());
  const auto sp = detail::split_at_axis(x.shape(), axis);
  detail::check_indices("index_select", idx, sp.mid, "axis " + std::to_string(axis) + " of shape " + shape_str(x.shape()));
  Shape ys = x.shape();
  ys[static_cast<std::size_t>(axis)] = static_cast<std::int64_t>(idx.size());
  Tensor<T> xc = x.value().contiguous();
  Tensor<T> y(ys);
  detail::gather_rows(xc.data(), y.data(), idx, sp.outer, sp.mid, sp.inner);
  return make_result<T>(y, {x}, [x, idx, sp](const Tensor<T>& g) {
    if (!x.requires_grad()) return;
    Tensor<T> gc = g.contiguous();
    Tensor<T> gx = Tensor<T>::zeros(x.shape());
    detail::scatter_add_rows(gc.data(), gx.data(), idx, sp.outer, sp.mid, sp.inner);
    x.node().accumulate(gx);
  });
}

/// Scatter-add along `axis`: y has src's shape with shape[axis] = out_size, zero-initialised,
/// and y[..., idx[i], ...] += src[..., i, ...].  (scatter_add)'src = index_select(g, axis, idx).
/// @throw std::invalid_argument if src.shape[axis] != idx.size(), out_size < 0, or an index is
///        outside [0, out_size).
template <class T>
Var<T> scatter_add(const Var<T>& src, int axis, const std::vector<std::int64_t>& idx, std::int64_t out_size) {
  axis = normalize_axis("scatter_add", axis, src.shape().size());
  const auto sp = detail::split_at_axis(src.shape(), axis);
  if (out_size < 0) throw_invalid("scatter_add", "negative out_size " + std::to_string(out_size));
  if (sp.mid != static_cast<std::int64_t>(idx.size()))
    throw_invalid("scatter_add", "src of shape " + shape_str(src.shape()) + " has " + std::to_string(sp.mid) +
                                     " entries along axis " + std::to_string(axis) + " but " +
                                     std::to_string(idx.size()) + " indices were given");
  detail::check_indices("scatter_add", idx, out_size, "output size " + std::to_string(out_size));
  Shape ys = src.shape();
  ys[static_cast<std::size_t>(axis)] = out_size;
  Tensor<T> sc = src.value().contiguous();
  Tensor<T> y = Tensor<T>::zeros(ys);
  detail::scatter_add_rows(sc.data(), y.data(), idx, sp.outer, out_size, sp.inner);
  return make_result<T>(y, {src}, [src, idx, sp, out_size](const Tensor<T>& g) {
    if (!src.requires_grad()) return;
    Tensor<T> gc = g.contiguous();
    Tensor<T> gs(src.shape());
    detail::gather_rows(gc.data(), gs.data(), idx, sp.outer, out_size, sp.inner);
    src.node().accumulate(gs);
  });
}

/// Scores s_p = <Z[u_p], Z[v_p]> for each pair p = (u_p, v_p); Z [n, d] -> [P].
/// (pair_dot)'Z[u_p] += g_p Z[v_p],  (pair_dot)'Z[v_p] += g_p Z[u_p]  (both for u_p == v_p).
/// @throw std::invalid_argument if Z is not 2-D or a node index is outside [0, n).
template <class T>
Var<T> pair_dot(const Var<T>& Z, const std::vector<std::pair<std::int64_t, std::int64_t>>& pairs) {
  if (Z.shape().size() != 2) throw_invalid("pair_dot", "Z must be 2-D [n, d], got shape " + shape_str(Z.shape()));
  const std::int64_t n = Z.shape()[0], d = Z.shape()[1];
  for (std::size_t p = 0; p < pairs.size(); ++p) {
    for (std::int64_t v : {pairs[p].first, pairs[p].second})
      if (v < 0 || v >= n)
        throw_invalid("pair_dot", "index " + std::to_string(v) + " in pair " + std::to_string(p) + " out of range [0, " +
                                      std::to_string(n) + ") for Z of shape " + shape_str(Z.shape()));
  }
  const auto P = static_cast<std::int64_t>(pairs.size());
  Tensor<T> zc = Z.value().contiguous();
  Tensor<T> y(Shape{P});  // [P]
  const T* z = zc.data();
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) if (P * d > 65536)
#endif
  for (std::int64_t p = 0; p < P; ++p) {
    const T* a = z + pairs[static_cast<std::size_t>(p)].first * d;
    const T* b = z + pairs[static_cast<std::size_t>(p)].second * d;
    T s = 0;
    for (std::int64_t j = 0; j < d; ++j) s += a[j] * b[j];
    y.data()[p] = s;
  }
  return make_result<T>(y, {Z}, [Z, pairs, zc, n, d](const Tensor<T>& g) {
    if (!Z.requires_grad()) return;
    Tensor<T> gc = g.contiguous();
    Tensor<T> gz = Tensor<T>::zeros(Shape{n, d});  // [n, d]
    const T* zz = zc.data();
    T* o = gz.data();
    for (std::size_t p = 0; p < pairs.size(); ++p) {
      const T gp = gc.data()[p];
      const std::int64_t u = pairs[p].first, v = pairs[p].second;
      for (std::int64_t j = 0; j < d; ++j) {
        o[u * d + j] += gp * zz[v * d + j];
        o[v * d + j] += gp * zz[u * d + j];
      }
    }
    Z.node().accumulate(gz);
  });
}

}  // namespace mgvae
