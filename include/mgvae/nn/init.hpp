#pragma once
/// @file init.hpp
/// Parameter initialisers. Each draws from the sequential interface of a `CounterRng`
/// (`next_uniform` / `next_normal`), so successive calls on one generator give fresh values and
/// a fixed seed gives the same model. Results are heap tensors (made under `HeapScope`).
///
/// Fans for a shape: rank 0 -> (1, 1); rank 1 [n] -> (n, n); rank 2 [in, out] -> (in, out)
/// (our weights multiply as x W); rank > 2 [..., in, out] -> (in·r, out·r) with r the product
/// of the leading dims (the receptive field, as PyTorch does for convolution kernels).
#include <cmath>
#include <cstdint>
#include <utility>

#include "mgvae/core/arena.hpp"
#include "mgvae/core/error.hpp"
#include "mgvae/core/rng.hpp"
#include "mgvae/tensor/tensor.hpp"

namespace mgvae::nn {

/// (fan_in, fan_out) of a weight shape (see the file comment).
inline std::pair<double, double> fans(const Shape& s) {
  check_shape("nn::fans", s);
  if (s.empty()) return {1.0, 1.0};
  if (s.size() == 1) return {static_cast<double>(s[0]), static_cast<double>(s[0])};
  double r = 1;
  for (std::size_t i = 0; i + 2 < s.size(); ++i) r *= static_cast<double>(s[i]);
  return {static_cast<double>(s[s.size() - 2]) * r, static_cast<double>(s.back()) * r};
}

/// Uniform entries in (lo, hi).
template <class T>
Tensor<T> uniform(const Shape& s, T lo, T hi, CounterRng& rng) {
  HeapScope heap;
  Tensor<T> t(s);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = static_cast<T>(lo + (hi - lo) * rng.next_uniform());
  return t;
}

/// Normal entries with mean 0 and standard deviation `stddev`.
template <class T>
Tensor<T> normal(const Shape& s, T stddev, CounterRng& rng) {
  HeapScope heap;
  Tensor<T> t(s);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = static_cast<T>(stddev * rng.next_normal());
  return t;
}

/// Glorot/Xavier uniform: U(-a, a) with a = sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio 2010).
/// @throw std::invalid_argument for a negative dimension.
template <class T>
Tensor<T> glorot_uniform(const Shape& s, CounterRng& rng) {
  const auto [fi, fo] = fans(s);
  const double a = fi + fo > 0 ? std::sqrt(6.0 / (fi + fo)) : 0.0;
  return uniform<T>(s, static_cast<T>(-a), static_cast<T>(a), rng);
}

/// Glorot/Xavier normal: N(0, 2 / (fan_in + fan_out)), not truncated (PyTorch's xavier_normal_).
template <class T>
Tensor<T> glorot_normal(const Shape& s, CounterRng& rng) {
  const auto [fi, fo] = fans(s);
  const double sd = fi + fo > 0 ? std::sqrt(2.0 / (fi + fo)) : 0.0;
  return normal<T>(s, static_cast<T>(sd), rng);
}

/// All zeros (a heap tensor).
template <class T>
Tensor<T> zeros(const Shape& s) {
  HeapScope heap;
  return Tensor<T>::zeros(s);
}

/// All ones (a heap tensor).
template <class T>
Tensor<T> ones(const Shape& s) {
  HeapScope heap;
  return Tensor<T>::ones(s);
}

}  // namespace mgvae::nn
