#pragma once
/// @file iterate.hpp
/// Strided iteration over one to three operands of the same logical shape (broadcast views
/// have stride 0). The innermost axis is a plain loop, the others an odometer.
#include <array>
#include <cstdint>
#include <tuple>
#include <vector>

#include "mgvae/tensor/shape.hpp"

namespace mgvae {

/// Calls f(off_0, ..., off_{K-1}) for every multi-index of `shape` in row-major order, where
/// off_k = sum_d idx_d * strides[k][d].
template <std::size_t K, class F>
void for_each_strided(const Shape& shape, const std::array<const Shape*, K>& strides, F&& f) {
  if (numel_of(shape) == 0) return;
  const std::size_t r = shape.size();
  std::array<std::int64_t, K> off{};
  if (r == 0) {
    std::apply(f, off);
    return;
  }
  std::vector<std::int64_t> idx(r, 0);
  const std::int64_t last = shape[r - 1];
  std::array<std::int64_t, K> ls{};
  for (std::size_t k = 0; k < K; ++k) ls[k] = (*strides[k])[r - 1];
  for (;;) {
    std::array<std::int64_t, K> o = off;
    for (std::int64_t i = 0; i < last; ++i) {
      std::apply(f, o);
      for (std::size_t k = 0; k < K; ++k) o[k] += ls[k];
    }
    std::size_t d = r - 1;
    for (;;) {
      if (d == 0) return;
      --d;
      ++idx[d];
      for (std::size_t k = 0; k < K; ++k) off[k] += (*strides[k])[d];
      if (idx[d] < shape[d]) break;
      for (std::size_t k = 0; k < K; ++k) off[k] -= idx[d] * (*strides[k])[d];
      idx[d] = 0;
    }
  }
}

}  // namespace mgvae
