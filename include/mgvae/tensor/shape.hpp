#pragma once
/// @file shape.hpp
/// Shapes, strides and broadcasting rules.
#include <cstdint>
#include <string>
#include <vector>

#include "mgvae/core/error.hpp"

namespace mgvae {

using Shape = std::vector<std::int64_t>;

/// Number of elements of a shape (1 for a scalar shape []).
inline std::int64_t numel_of(const Shape& s) {
  std::int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

/// Row-major strides of a shape.
inline Shape contiguous_strides(const Shape& s) {
  Shape st(s.size());
  std::int64_t acc = 1;
  for (std::size_t i = s.size(); i-- > 0;) {
    st[i] = acc;
    acc *= s[i];
  }
  return st;
}

/// Validates dimensions (non-negative).
inline void check_shape(const char* fn, const Shape& s) {
  for (auto d : s)
    if (d < 0) throw_invalid(fn, "negative dimension in shape " + shape_str(s));
}

/// NumPy broadcasting of two shapes; throws std::invalid_argument naming `fn` and both shapes.
inline Shape broadcast_shapes(const char* fn, const Shape& a, const Shape& b) {
  const std::size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (std::size_t i = 0; i < r; ++i) {
    const std::int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    const std::int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da != db && da != 1 && db != 1)
      throw_invalid(fn, "shapes " + shape_str(a) + " and " + shape_str(b) + " cannot be broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

/// Strides to read a tensor of shape `s` (with strides `st`) as if it had shape `out`
/// (broadcast dimensions get stride 0).
inline Shape broadcast_strides(const Shape& s, const Shape& st, const Shape& out) {
  Shape r(out.size(), 0);
  const std::size_t off = out.size() - s.size();
  for (std::size_t i = 0; i < s.size(); ++i) r[off + i] = (s[i] == 1 && out[off + i] != 1) ? 0 : st[i];
  return r;
}

/// Normalises a possibly negative axis; throws if out of range.
inline int normalize_axis(const char* fn, int axis, std::size_t rank) {
  const int r = static_cast<int>(rank);
  if (axis < -r || axis >= r)
    throw_invalid(fn, "axis " + std::to_string(axis) + " out of range for rank " + std::to_string(r));
  return axis < 0 ? axis + r : axis;
}

}  // namespace mgvae
