#pragma once
/// @file linear.hpp
/// Affine layer y = x W + b over the last axis: x [..., in], W [in, out], b [out] -> y [..., out].
#include <cstdint>
#include <string>

#include "mgvae/autodiff/var.hpp"
#include "mgvae/core/error.hpp"
#include "mgvae/core/rng.hpp"
#include "mgvae/nn/init.hpp"
#include "mgvae/nn/module.hpp"
#include "mgvae/ops/elementwise.hpp"
#include "mgvae/ops/matmul.hpp"
#include "mgvae/ops/shape.hpp"

namespace mgvae::nn {

/// Functional form: x [..., in] · w [in, out] (+ b [out]) -> [..., out]. `b` may be an
/// undefined Var (no bias). Rank-2 and rank-3 inputs go straight to matmul; other ranks are
/// reshaped to [N, in] and back.
/// @throw std::invalid_argument naming "Linear" and the shapes when they do not fit.
template <class T>
Var<T> linear(const Var<T>& x, const Var<T>& w, const Var<T>& b = Var<T>()) {
  if (w.dim() != 2) throw_invalid("Linear", "weight must be 2-D [in, out], got " + shape_str(w.shape()));
  const std::int64_t in = w.shape()[0], out = w.shape()[1];
  if (x.dim() == 0 || x.shape().back() != in)
    throw_invalid("Linear", "input of shape " + shape_str(x.shape()) + " does not fit weight of shape " +
                                shape_str(w.shape()) + " (last input axis must be " + std::to_string(in) + ")");
  if (b.defined() && b.shape() != Shape{out})
    throw_invalid("Linear", "bias of shape " + shape_str(b.shape()) + " does not fit weight of shape " +
                                shape_str(w.shape()) + " (expected [" + std::to_string(out) + "])");
  Var<T> y;
  if (x.dim() == 2 || x.dim() == 3) {
    y = matmul(x, w);  // [N,in]x[in,out] or [B,N,in]x[in,out]
  } else {
    Shape os = x.shape();
    os.back() = out;
    y = reshape(matmul(reshape(x, Shape{-1, in}), w), os);
  }
  if (b.defined()) y = add(y, b);  // [..., out] + [out] (broadcast; adjoint summed by the engine)
  return y;
}

template <class T>
class Linear : public Module<T> {
 public:
  /// W [in, out] ~ Glorot uniform drawn from `rng` (sequentially), b [out] = 0.
  /// @throw std::invalid_argument if in or out is not positive.
  Linear(std::int64_t in, std::int64_t out, CounterRng& rng, bool bias = true) : in_(in), out_(out) {
    if (in <= 0 || out <= 0)
      throw_invalid("Linear", "features must be positive, got in=" + std::to_string(in) + ", out=" + std::to_string(out));
    weight_ = this->register_parameter("weight", glorot_uniform<T>(Shape{in, out}, rng));
    if (bias) bias_ = this->register_parameter("bias", zeros<T>(Shape{out}));
  }

  /// x [..., in] -> [..., out].
  /// @throw std::invalid_argument naming "Linear", the input shape and the weight shape.
  Var<T> forward(const Var<T>& x) const { return linear(x, weight_, bias_); }
  Var<T> operator()(const Var<T>& x) const { return forward(x); }

  std::int64_t in_features() const noexcept { return in_; }
  std::int64_t out_features() const noexcept { return out_; }
  bool has_bias() const noexcept { return bias_.defined(); }
  const Var<T>& weight() const noexcept { return weight_; }
  /// Undefined Var when constructed with bias = false.
  const Var<T>& bias() const noexcept { return bias_; }

 private:
  std::int64_t in_, out_;
  Var<T> weight_, bias_;
};

}  // namespace mgvae::nn
