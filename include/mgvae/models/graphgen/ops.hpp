#pragma once
/// @file ops.hpp
/// Small differentiable helpers private to the graph-generation model (namespace
/// mgvae::graphgen::gops). They are written against the core ops that exist (elementwise,
/// reduce, matmul) so the model does not depend on the arrival order of ops/shape.hpp,
/// ops/softmax.hpp and ops/loss.hpp. Each one is checked by tests/models/graphgen/.
#include <cstdint>
#include <vector>

#include "mgvae/autodiff/var.hpp"
#include "mgvae/ops/elementwise.hpp"
#include "mgvae/ops/reduce.hpp"

namespace mgvae::graphgen::gops {

/// Swaps the last two axes of a 3-D Var ([B,M,N] -> [B,N,M]); the result is contiguous.
/// Backward: the adjoint transposed back.
template <class T>
Var<T> transpose12(const Var<T>& x) {
  if (x.dim() != 3) throw_invalid("graphgen::transpose12", "needs a 3-D input, got " + shape_str(x.shape()));
  Tensor<T> y = x.value().transpose(1, 2).contiguous();
  return make_result<T>(y, {x}, [x](const Tensor<T>& g) {
    if (x.requires_grad()) x.node().accumulate(g.transpose(1, 2).contiguous());
  });
}

/// Reshape (same number of elements). Backward: the adjoint reshaped back.
template <class T>
Var<T> reshape(const Var<T>& x, const Shape& s) {
  Tensor<T> y = x.value().reshape(s);
  const Shape xs = x.shape();
  return make_result<T>(y, {x}, [x, xs](const Tensor<T>& g) {
    if (x.requires_grad()) x.node().accumulate(g.contiguous().reshape(xs).clone());
  });
}

/// Concatenation along the last axis of Vars that agree on every other axis.
template <class T>
Var<T> concat_last(const std::vector<Var<T>>& xs) {
  if (xs.empty()) throw_invalid("graphgen::concat_last", "no inputs");
  Shape s = xs[0].shape();
  const std::size_t r = s.size();
  std::int64_t total = 0;
  std::vector<std::int64_t> widths;
  for (const auto& v : xs) {
    Shape t = v.shape();
    if (t.size() != r) throw_invalid("graphgen::concat_last", "rank mismatch " + shape_str(t) + " vs " + shape_str(s));
    for (std::size_t d = 0; d + 1 < r; ++d)
      if (t[d] != s[d]) throw_invalid("graphgen::concat_last", "shape mismatch " + shape_str(t) + " vs " + shape_str(s));
    widths.push_back(t[r - 1]);
    total += t[r - 1];
  }
  std::int64_t outer = 1;
  for (std::size_t d = 0; d + 1 < r; ++d) outer *= s[d];
  s[r - 1] = total;
  Tensor<T> y(s);
  std::int64_t col = 0;
  for (std::size_t k = 0; k < xs.size(); ++k) {
    Tensor<T> c = xs[k].value().contiguous();
    const std::int64_t w = widths[k];
    for (std::int64_t o = 0; o < outer; ++o)
      for (std::int64_t j = 0; j < w; ++j) y.data()[o * total + col + j] = c.data()[o * w + j];
    col += w;
  }
  return make_result_n<T>(y, xs, [xs, widths, outer, total](const Tensor<T>& g) {
    Tensor<T> gc = g.contiguous();
    std::int64_t c0 = 0;
    for (std::size_t k = 0; k < xs.size(); ++k) {
      const std::int64_t w = widths[k];
      if (xs[k].requires_grad()) {
        Tensor<T> gk(xs[k].shape());
        for (std::int64_t o = 0; o < outer; ++o)
          for (std::int64_t j = 0; j < w; ++j) gk.data()[o * w + j] = gc.data()[o * total + c0 + j];
        xs[k].node().accumulate(gk);
      }
      c0 += w;
    }
  });
}

/// Softmax over the last axis, composed as exp(x - logsumexp(x)).
template <class T>
Var<T> softmax_last(const Var<T>& x) {
  return exp(sub(x, logsumexp(x, -1, true)));
}

}  // namespace mgvae::graphgen::gops
