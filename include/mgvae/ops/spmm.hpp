#pragma once
/// @file spmm.hpp
/// Sparse (constant CSR) x dense product, the message-passing primitive of graph layers.
///   Y = A X,  A [r, c] constant,  X [c, d]  ->  Y [r, d]
///   X' = Aᵀ G   (computed with the transposed CSR, built once in the forward and cached in
///                the backward closure, so the backward is also a row-parallel gather: no atomics)
/// Rows are processed in parallel with OpenMP when compiled with -fopenmp.
#include <cstdint>
#include <memory>

#include "mgvae/autodiff/var.hpp"
#include "mgvae/tensor/csr.hpp"

namespace mgvae {

namespace detail {
/// Y[i, :] = Σ_k A.val[k] X[A.col[k], :] for a contiguous X [A.cols, d] and Y [A.rows, d].
template <class T>
void csr_times_dense(const CsrMatrix<T>& A, const T* X, T* Y, std::int64_t d) {
  const std::int64_t* rp = A.row_ptr.data();
  const std::int64_t* ci = A.col.data();
  const T* av = A.val.data();
#if defined(_OPENMP)
#pragma omp parallel for schedule(dynamic, 64) if (A.rows * d > 32768)
#endif
  for (std::int64_t i = 0; i < A.rows; ++i) {
    T* y = Y + i * d;
    for (std::int64_t j = 0; j < d; ++j) y[j] = T(0);
    for (std::int64_t k = rp[i]; k < rp[i + 1]; ++k) {
      const T a = av[k];
      const T* x = X + ci[k] * d;
      for (std::int64_t j = 0; j < d; ++j) y[j] += a * x[j];
    }
  }
}
}  // namespace detail

/// Y = A X for a constant sparse A [r, c] and X [c, d].
/// @throw std::invalid_argument if A is inconsistent (CsrMatrix::validate), X is not 2-D, or
///        X.shape[0] != A.cols (the message names both shapes).
template <class T>
Var<T> spmm(const CsrMatrix<T>& A, const Var<T>& X) {
  A.validate("spmm");
  const Shape& xs = X.shape();
  if (xs.size() != 2 || xs[0] != A.cols)
    throw_invalid("spmm", "cannot multiply sparse " + shape_str(A.shape()) + " by dense " + shape_str(xs));
  const std::int64_t d = xs[1];
  Tensor<T> xc = X.value().contiguous();
  Tensor<T> y(Shape{A.rows, d});  // [r, d]
  detail::csr_times_dense(A, xc.data(), y.data(), d);
  std::shared_ptr<const CsrMatrix<T>> At;
  if (grad_enabled() && X.requires_grad()) At = std::make_shared<const CsrMatrix<T>>(A.transpose());  // [c, r]
  return make_result<T>(y, {X}, [X, At, d](const Tensor<T>& g) {
    if (!X.requires_grad()) return;
    // X' = Aᵀ G   [c, r] x [r, d] -> [c, d]
    Tensor<T> gc = g.contiguous();
    Tensor<T> gx(X.shape());
    detail::csr_times_dense(*At, gc.data(), gx.data(), d);
    X.node().accumulate(gx);
  });
}

}  // namespace mgvae
