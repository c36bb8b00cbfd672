#pragma once
/// @file print.hpp
/// Printing a tensor, PyTorch style: `std::cout << t` or `to_string(t, opts)`.
///
///   tensor([[1.0000, 2.5000, 3.0000],
///           [4.0000, 5.0000, 6.0000]], shape=[2, 3], dtype=float64)
///
/// Values share one format chosen from the values shown: integers as "3." when every finite value
/// is whole, fixed point with `precision` decimals, or scientific ("1.0000e-05") when the
/// magnitudes span more than 10³ or leave [10⁻⁴, 10⁸). A dimension longer than `max_per_dim`
/// shows its first and last `edge_items` entries around "...". nan/inf print as "nan"/"inf"/"-inf".
/// An undefined tensor prints "tensor(undefined)". (Var<T> prints the same, with requires_grad:
/// autodiff/var.hpp.)
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ostream>
#include <string>
#include <type_traits>
#include <vector>

#include "mgvae/core/error.hpp"
#include "mgvae/tensor/tensor.hpp"

namespace mgvae {

/// How `to_string` lays a tensor out.
struct PrintOptions {
  int precision = 4;              ///< decimals of the fixed and scientific formats
  std::int64_t max_per_dim = 6;   ///< a longer dimension is summarised
  std::int64_t edge_items = 3;    ///< entries kept at each end of a summarised dimension
};

/// "float32" or "float64".
template <class T>
constexpr const char* dtype_name() {
  return std::is_same_v<T, float> ? "float32" : "float64";
}

namespace detail {

/// Indices shown along a dimension of size n; -1 marks the "..." gap.
inline std::vector<std::int64_t> shown_indices(std::int64_t n, const PrintOptions& o) {
  std::vector<std::int64_t> idx;
  if (n > o.max_per_dim && 2 * o.edge_items < n) {
    for (std::int64_t i = 0; i < o.edge_items; ++i) idx.push_back(i);
    idx.push_back(-1);
    for (std::int64_t i = n - o.edge_items; i < n; ++i) idx.push_back(i);
  } else {
    for (std::int64_t i = 0; i < n; ++i) idx.push_back(i);
  }
  return idx;
}

/// One number format for every value of a print.
class ValueFormat {
 public:
  ValueFormat(const std::vector<double>& shown, int precision) : prec_(std::max(0, precision)) {
    bool whole = true;
    double max_abs = 0, min_abs = 0;
    bool any = false;
    for (double v : shown) {
      if (!std::isfinite(v)) continue;
      if (v != std::nearbyint(v)) whole = false;
      const double a = std::fabs(v);
      max_abs = std::max(max_abs, a);
      if (a > 0) {
        min_abs = any ? std::min(min_abs, a) : a;
        any = true;
      }
    }
    if (whole && max_abs < 1e8)
      mode_ = Mode::Whole;
    else if (any && (max_abs / min_abs > 1e3 || max_abs >= 1e8 || min_abs < 1e-4))
      mode_ = Mode::Sci;
    else
      mode_ = Mode::Fixed;
    for (double v : shown) width_ = std::max(width_, format_raw(v).size());
  }
  /// The value right-aligned to the common width.
  std::string format(double v) const {
    std::string s = format_raw(v);
    return std::string(width_ - s.size(), ' ') + s;
  }

 private:
  enum class Mode { Whole, Fixed, Sci };
  std::string format_raw(double v) const {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    char buf[64];
    switch (mode_) {
      case Mode::Whole: std::snprintf(buf, sizeof buf, "%.0f.", v); break;
      case Mode::Fixed: std::snprintf(buf, sizeof buf, "%.*f", prec_, v); break;
      case Mode::Sci: std::snprintf(buf, sizeof buf, "%.*e", prec_, v); break;
    }
    return buf;
  }
  int prec_;
  Mode mode_ = Mode::Fixed;
  std::size_t width_ = 0;
};

template <class T>
void collect_shown(const Tensor<T>& t, const PrintOptions& o, std::size_t d, std::int64_t off, std::vector<double>& out) {
  if (d == t.shape().size()) {
    out.push_back(static_cast<double>(t.data()[off]));
    return;
  }
  for (std::int64_t i : shown_indices(t.shape()[d], o))
    if (i >= 0) collect_shown(t, o, d + 1, off + i * t.strides()[d], out);
}

/// Nested brackets of dimension d onwards; `indent` is the column of the outermost '['.
template <class T>
void format_block(const Tensor<T>& t, const PrintOptions& o, const ValueFormat& f, std::size_t d, std::int64_t off,
                  std::size_t indent, std::string& s) {
  const std::size_t nd = t.shape().size();
  if (d == nd) {
    s += f.format(static_cast<double>(t.data()[off]));
    return;
  }
  // separator between entries of dimension d: ", " on the last, a newline (and a blank line per
  // further dimension) on the outer ones
  const std::string sep =
      d + 1 == nd ? ", " : ",\n" + std::string(nd - d - 2, '\n') + std::string(indent + d + 1, ' ');
  s += '[';
  bool first = true;
  for (std::int64_t i : shown_indices(t.shape()[d], o)) {
    if (!first) s += sep;
    first = false;
    if (i < 0)
      s += "...";
    else
      format_block(t, o, f, d + 1, off + i * t.strides()[d], indent, s);
  }
  s += ']';
}

/// "tensor(<values>, shape=[...], dtype=...<extra>)".
template <class T>
std::string format_tensor(const Tensor<T>& t, const PrintOptions& o, const std::string& extra) {
  if (o.max_per_dim < 1 || o.edge_items < 1)
    throw_invalid("to_string(Tensor)", "PrintOptions max_per_dim and edge_items must be >= 1");
  std::string s = "tensor(";
  if (!t.defined()) return s + "undefined" + extra + ")";
  if (t.numel() == 0) {
    s += "[]";
  } else {
    std::vector<double> shown;
    collect_shown(t, o, 0, 0, shown);
    const ValueFormat f(shown, o.precision);
    format_block(t, o, f, 0, 0, s.size(), s);
  }
  return s + ", shape=" + shape_str(t.shape()) + ", dtype=" + dtype_name<T>() + extra + ")";
}

}  // namespace detail

/// The tensor as text (see the file comment).
/// @throw std::invalid_argument if o.max_per_dim or o.edge_items is < 1.
template <class T>
std::string to_string(const Tensor<T>& t, const PrintOptions& o = {}) {
  return detail::format_tensor(t, o, "");
}

/// `to_string(t)` with the default options.
template <class T>
std::ostream& operator<<(std::ostream& os, const Tensor<T>& t) {
  return os << to_string(t);
}

}  // namespace mgvae
