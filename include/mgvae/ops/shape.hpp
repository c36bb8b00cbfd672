#pragma once
/// @file shape.hpp
/// Differentiable shape ops: reshape, flatten, unsqueeze, squeeze, transpose, permute, slice,
/// concat. Results are views of the input when that view is contiguous (reshape of a
/// contiguous tensor, a slice along the leading axis, ...), otherwise contiguous copies, so
/// downstream kernels always see row-major data. Backward maps the adjoint back to the input
/// layout (reshape back, inverse permutation, zero-padded slice, split).
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "mgvae/autodiff/var.hpp"

namespace mgvae {

namespace detail {
/// Sizes (outer, mid, inner) of a shape seen as [prod(s[:axis]), s[axis], prod(s[axis+1:])].
struct AxisSplit {
  std::int64_t outer = 1, mid = 1, inner = 1;
};
inline AxisSplit split_at_axis(const Shape& s, int axis) {
  AxisSplit r;
  for (int i = 0; i < static_cast<int>(s.size()); ++i) {
    const std::int64_t d = s[static_cast<std::size_t>(i)];
    if (i < axis) r.outer *= d;
    else if (i == axis) r.mid = d;
    else r.inner *= d;
  }
  return r;
}
/// `v` if contiguous, else a contiguous copy.
template <class T>
Tensor<T> contiguous_or_copy(const Tensor<T>& v) {
  return v.is_contiguous() ? v : v.clone();
}
}  // namespace detail

/// Reshape (one dimension may be -1). A view when x is contiguous.  (reshape)'x = reshape(g, x.shape).
/// @throw std::invalid_argument if the element counts differ.
template <class T>
Var<T> reshape(const Var<T>& x, const Shape& s) {
  Tensor<T> y = x.value().reshape(s);
  return make_result<T>(y, {x}, [x](const Tensor<T>& g) {
    if (x.requires_grad()) x.node().accumulate(g.contiguous().reshape(x.shape()));
  });
}

/// Flattens to 1-D [numel].
template <class T>
Var<T> flatten(const Var<T>& x) {
  return reshape(x, Shape{x.numel()});
}

/// Inserts a size-1 axis at position `axis` in [-(rank+1), rank].
/// @throw std::invalid_argument if axis is out of range.
template <class T>
Var<T> unsqueeze(const Var<T>& x, int axis) {
  Shape s = x.shape();
  axis = normalize_axis("unsqueeze", axis, s.size() + 1);
  s.insert(s.begin() + axis, 1);
  return reshape(x, s);
}

/// Removes the size-1 axis `axis`.
/// @throw std::invalid_argument if axis is out of range or its size is not 1.
template <class T>
Var<T> squeeze(const Var<T>& x, int axis) {
  Shape s = x.shape();
  axis = normalize_axis("squeeze", axis, s.size());
  if (s[static_cast<std::size_t>(axis)] != 1)
    throw_invalid("squeeze", "axis " + std::to_string(axis) + " of shape " + shape_str(s) + " has size " +
                                 std::to_string(s[static_cast<std::size_t>(axis)]) + ", not 1");
  s.erase(s.begin() + axis);
  return reshape(x, s);
}

/// Swaps axes a and b (contiguous result).  (transpose)'x = transpose(g, a, b).
/// @throw std::invalid_argument if an axis is out of range.
template <class T>
Var<T> transpose(const Var<T>& x, int a, int b) {
  a = normalize_axis("transpose", a, x.shape().size());
  b = normalize_axis("transpose", b, x.shape().size());
  Tensor<T> y = detail::contiguous_or_copy(x.value().transpose(a, b));
  return make_result<T>(y, {x}, [x, a, b](const Tensor<T>& g) {
    if (x.requires_grad()) x.node().accumulate(g.transpose(a, b).contiguous());
  });
}

/// Reorders axes: result axis i is input axis dims[i] (contiguous result).
/// (permute)'x = permute(g, inverse(dims)).
/// @throw std::invalid_argument if dims is not a permutation of the axes.
template <class T>
Var<T> permute(const Var<T>& x, const std::vector<int>& dims) {
  Tensor<T> y = detail::contiguous_or_copy(x.value().permute(dims));  // validates dims
  std::vector<int> inv(dims.size());
  for (std::size_t i = 0; i < dims.size(); ++i)
    inv[static_cast<std::size_t>(normalize_axis("permute", dims[i], dims.size()))] = static_cast<int>(i);
  return make_result<T>(y, {x}, [x, inv](const Tensor<T>& g) {
    if (x.requires_grad()) x.node().accumulate(g.permute(inv).contiguous());
  });
}

/// Elements [start, end) along `axis` (a view when contiguous, e.g. along the leading axis).
/// (slice)'x = g placed in [start, end) of a zero tensor of x's shape.
/// @throw std::invalid_argument if the range is out of bounds.
template <class T>
Var<T> slice(const Var<T>& x, int axis, std::int64_t start, std::int64_t end) {
  axis = normalize_axis("slice", axis, x.shape().size());
  Tensor<T> y = detail::contiguous_or_copy(x.value().slice(axis, start, end));
  return make_result<T>(y, {x}, [x, axis, start, end](const Tensor<T>& g) {
    if (!x.requires_grad()) return;
    Tensor<T> gx = Tensor<T>::zeros(x.shape());
    gx.slice(axis, start, end).copy_from(g);
    x.node().accumulate(gx);
  });
}

/// Concatenates along `axis`; all inputs must have the same rank and equal sizes on the
/// other axes.  (concat)'x_i = the i-th block of g along axis.
/// @throw std::invalid_argument on an empty list, a rank or size mismatch (naming both shapes),
///        or an out-of-range axis.
template <class T>
Var<T> concat(const std::vector<Var<T>>& xs, int axis) {
  if (xs.empty()) throw_invalid("concat", "empty list of inputs");
  const Shape& s0 = xs[0].shape();
  axis = normalize_axis("concat", axis, s0.size());
  const auto ax = static_cast<std::size_t>(axis);
  Shape out = s0;
  out[ax] = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const Shape& si = xs[i].shape();
    bool ok = si.size() == s0.size();
    for (std::size_t d = 0; ok && d < si.size(); ++d) ok = d == ax || si[d] == s0[d];
    if (!ok)
      throw_invalid("concat", "input " + std::to_string(i) + " has shape " + shape_str(si) +
                                  ", incompatible with input 0 of shape " + shape_str(s0) + " along axis " +
                                  std::to_string(axis));
    out[ax] += si[ax];
  }
  // Row-major blocks: y = [outer, Σ w_i] with w_i = size_i[axis] · inner, so each input is copied as
  // `outer` contiguous runs of w_i elements (forward and backward), not element by element.
  std::int64_t outer = 1, inner = 1;
  for (std::size_t d = 0; d < ax; ++d) outer *= out[d];
  for (std::size_t d = ax + 1; d < out.size(); ++d) inner *= out[d];
  const std::int64_t row = out[ax] * inner;
  std::vector<std::int64_t> offs, widths;
  Tensor<T> y(out);
  std::int64_t at = 0;
  for (const auto& x : xs) {
    const std::int64_t w = x.shape()[ax] * inner;
    const Tensor<T> xc = x.value().contiguous();
    for (std::int64_t o = 0; o < outer; ++o) std::copy_n(xc.data() + o * w, w, y.data() + o * row + at);
    offs.push_back(at);
    widths.push_back(w);
    at += w;
  }
  return make_result_n<T>(y, xs, [xs, outer, row, offs, widths](const Tensor<T>& g) {
    const Tensor<T> gc = g.contiguous();
    for (std::size_t i = 0; i < xs.size(); ++i) {
      if (!xs[i].requires_grad()) continue;
      Tensor<T> gi(xs[i].shape());
      const std::int64_t w = widths[i];
      for (std::int64_t o = 0; o < outer; ++o) std::copy_n(gc.data() + o * row + offs[i], w, gi.data() + o * w);
      xs[i].node().accumulate(gi);
    }
  });
}

}  // namespace mgvae
