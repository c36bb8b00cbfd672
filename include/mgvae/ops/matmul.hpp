#pragma once
/// @file matmul.hpp
/// Matrix products through Eigen: 2-D x 2-D, batched 3-D x 3-D, and 3-D x 2-D (shared right
/// operand).  C = A B:  A' = G Bᵀ,  B' = Aᵀ G  (per batch; summed over the batch for a shared B).
#include <Eigen/Core>

#include "mgvae/autodiff/var.hpp"

namespace mgvae {

namespace detail {
template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using MapC = Eigen::Map<const RowMat<T>>;
template <class T>
using Map = Eigen::Map<RowMat<T>>;

/// C[b] (+)= op(A[b]) op(B[b]) on contiguous buffers. ta/tb transpose the operands.
template <class T>
void gemm_batched(const T* A, const T* B, T* C, std::int64_t batch, std::int64_t m, std::int64_t k, std::int64_t n,
                  bool ta, bool tb, bool accumulate, std::int64_t strideA, std::int64_t strideB, std::int64_t strideC) {
  for (std::int64_t b = 0; b < batch; ++b) {
    // A is stored (ta ? k x m : m x k), B is stored (tb ? n x k : k x n)
    MapC<T> a(A + b * strideA, ta ? k : m, ta ? m : k);
    MapC<T> bb(B + b * strideB, tb ? n : k, tb ? k : n);
    Map<T> c(C + b * strideC, m, n);
    if (!accumulate) c.setZero();
    if (!ta && !tb) c.noalias() += a * bb;
    else if (ta && !tb) c.noalias() += a.transpose() * bb;
    else if (!ta && tb) c.noalias() += a * bb.transpose();
    else c.noalias() += a.transpose() * bb.transpose();
  }
}
}  // namespace detail

/// Matrix product. Shapes: [M,K]x[K,N] -> [M,N]; [B,M,K]x[B,K,N] -> [B,M,N];
/// [B,M,K]x[K,N] -> [B,M,N].
/// @throw std::invalid_argument naming both shapes when they do not fit.
template <class T>
Var<T> matmul(const Var<T>& a, const Var<T>& b) {
  const Shape& sa = a.shape();
  const Shape& sb = b.shape();
  const bool ok = (sa.size() == 2 && sb.size() == 2 && sa[1] == sb[0]) ||
                  (sa.size() == 3 && sb.size() == 3 && sa[0] == sb[0] && sa[2] == sb[1]) ||
                  (sa.size() == 3 && sb.size() == 2 && sa[2] == sb[0]);
  if (!ok) throw_invalid("matmul", "cannot multiply shapes " + shape_str(sa) + " and " + shape_str(sb));
  const bool batched = sa.size() == 3;
  const bool shared_b = batched && sb.size() == 2;
  const std::int64_t B = batched ? sa[0] : 1, M = sa[sa.size() - 2], K = sa.back(), N = sb.back();
  Tensor<T> ac = a.value().contiguous(), bc = b.value().contiguous();
  Tensor<T> y(batched ? Shape{B, M, N} : Shape{M, N});
  if (shared_b) {  // one big GEMM: [B*M, K] x [K, N]
    detail::gemm_batched(ac.data(), bc.data(), y.data(), 1, B * M, K, N, false, false, false, 0, 0, 0);
  } else {
    detail::gemm_batched(ac.data(), bc.data(), y.data(), B, M, K, N, false, false, false, M * K, K * N, M * N);
  }
  return make_result<T>(y, {a, b}, [a, b, ac, bc, B, M, K, N, shared_b](const Tensor<T>& g) {
    Tensor<T> gc = g.contiguous();
    if (a.requires_grad()) {  // dA = G Bᵀ   [M,N]x[N,K]
      Tensor<T> ga(a.shape());
      if (shared_b)
        detail::gemm_batched(gc.data(), bc.data(), ga.data(), 1, B * M, N, K, false, true, false, 0, 0, 0);
      else
        detail::gemm_batched(gc.data(), bc.data(), ga.data(), B, M, N, K, false, true, false, M * N, K * N, M * K);
      a.node().accumulate(ga);
    }
    if (b.requires_grad()) {  // dB = Aᵀ G   [K,M]x[M,N]
      Tensor<T> gb(b.shape());
      if (shared_b)
        detail::gemm_batched(ac.data(), gc.data(), gb.data(), 1, K, B * M, N, true, false, false, 0, 0, 0);
      else
        detail::gemm_batched(ac.data(), gc.data(), gb.data(), B, K, M, N, true, false, false, M * K, M * N, K * N);
      b.node().accumulate(gb);
    }
  });
}

}  // namespace mgvae
