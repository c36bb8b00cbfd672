#pragma once
/// @file broadcast.hpp
/// Broadcast-gradient reduction, done once for the whole engine (tinygrad's
/// `compute_gradient` idea): an op whose input was broadcast from `shape` to the output shape
/// reduces the output adjoint with `sum_to(g, shape)`.
#include "mgvae/tensor/iterate.hpp"
#include "mgvae/tensor/tensor.hpp"

namespace mgvae {

/// Sums `g` over the axes along which `shape` was broadcast to g.shape().
/// @throw std::invalid_argument if `shape` does not broadcast to g.shape().
template <class T>
Tensor<T> sum_to(const Tensor<T>& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  const Shape b = broadcast_shapes("sum_to", shape, g.shape());
  if (b != g.shape()) throw_invalid("sum_to", "cannot reduce " + shape_str(g.shape()) + " to " + shape_str(shape));
  Tensor<T> out = Tensor<T>::zeros(shape);
  const Shape ost = broadcast_strides(shape, contiguous_strides(shape), g.shape());
  T* o = out.data();
  const T* src = g.data();
  for_each_strided<2>(g.shape(), {&ost, &g.strides()}, [&](std::int64_t oo, std::int64_t io) { o[oo] += src[io]; });
  return out;
}

/// Materialises `t` broadcast to `shape` (a contiguous copy).
template <class T>
Tensor<T> broadcast_to(const Tensor<T>& t, const Shape& shape) {
  return t.expand(shape).clone();
}

}  // namespace mgvae
