#pragma once
/// @file gaussian.hpp
/// Differentiable batched Cholesky, lower-triangular solve, SPD log-determinant and the Gaussian KL
/// between N(μ, LLᵀ + εI) and a learnable N(μ̂, L̂L̂ᵀ + εI) (paper App. B–C), plus free matching and
/// exact Hungarian matching, on top of `kernels/cpu/cholesky.hpp`.
///
/// Matrices are [n, n] (one) or [batch, n, n]. Derivations:
/// * Cholesky backward: I. Murray, "Differentiation of the Cholesky decomposition", arXiv:1602.07527
///   (P = Φ(Lᵀ L̄), Ā = ½ sym(L⁻ᵀ P L⁻¹)); `cholesky` and `spd_logdet` factor the symmetric part
///   ½(A + Aᵀ), so the symmetric gradient is also the exact gradient with respect to every entry of A.
/// * Triangular solve backward: X = L⁻¹B ⇒ B̄ = L⁻ᵀX̄, L̄ = −tril(B̄ Xᵀ) (Giles 2008, "Extended collection
///   of matrix derivative results", §2.2.3); only the lower triangle of L is read.
/// * log det A = 2 Σ log L_ii, Ā = A⁻¹ (matrix cookbook eq. 57).
/// * Gaussian KL: the closed form and its gradients are derived in kernels/cpu/cholesky.hpp.
///
/// Errors: std::invalid_argument naming the argument for non-square or mismatched shapes and bad jitter;
/// std::domain_error naming the batch index for a matrix that is not symmetric positive definite.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "mgvae/autodiff/var.hpp"
#include "mgvae/core/error.hpp"
#include "mgvae/kernels/cpu/cholesky.hpp"

namespace mgvae {

namespace detail {
/// (batch, n) of a square matrix or a batch of them; throws naming `arg` otherwise.
inline std::pair<std::int64_t, std::int64_t> square_batch(const char* fn, const char* arg, const Shape& s) {
  if (s.size() == 2) {
    check_arg(s[0] == s[1], fn, arg, "must be square, got " + shape_str(s));
    return {1, s[0]};
  }
  check_arg(s.size() == 3, fn, arg, "must be [n, n] or [batch, n, n], got " + shape_str(s));
  check_arg(s[1] == s[2], fn, arg, "must hold square matrices, got " + shape_str(s));
  return {s[0], s[1]};
}
/// ½(A + Aᵀ) per matrix (contiguous copy).
template <class T>
Tensor<T> symmetric_part(const Tensor<T>& A, std::int64_t batch, std::int64_t n) {
  const Tensor<T> a = A.contiguous();
  Tensor<T> s(A.shape());
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < n; ++j)
        s.data()[b * n * n + i * n + j] = T(0.5) * (a.data()[b * n * n + i * n + j] + a.data()[b * n * n + j * n + i]);
  return s;
}
}  // namespace detail

/// Lower Cholesky factor L of the symmetric part of A ([n, n] or [batch, n, n]); same shape as A.
/// @throw std::invalid_argument for non-square input; std::domain_error if not positive definite.
template <class T>
Var<T> cholesky(const Var<T>& A) {
  constexpr const char* fn = "cholesky";
  const auto bn = detail::square_batch(fn, "A", A.shape());
  const std::int64_t batch = bn.first, n = bn.second;
  check_finite(fn, "A", A.value().contiguous().data(), A.numel());
  const Tensor<T> s = detail::symmetric_part(A.value(), batch, n);
  Tensor<T> L(A.shape());
  kernels::cpu::cholesky_forward(batch, n, s.data(), L.data());
  return make_result<T>(L, {A}, [A, L, batch, n](const Tensor<T>& g) {
    if (!A.requires_grad()) return;
    const Tensor<T> gc = g.contiguous();
    Tensor<T> dA(A.shape());
    kernels::cpu::cholesky_backward(batch, n, L.data(), gc.data(), dA.data());
    A.node().accumulate(dA);
  });
}

/// X = L⁻¹ B (or L⁻ᵀ B with `transpose`) for lower-triangular L [n, n] / [batch, n, n] and B [n, m] /
/// [batch, n, m]. Only L's lower triangle is read (its upper-triangle gradient is 0).
/// @throw std::invalid_argument for mismatched shapes; std::domain_error for a zero on L's diagonal.
template <class T>
Var<T> trsm_lower(const Var<T>& L, const Var<T>& B, bool transpose = false) {
  constexpr const char* fn = "trsm_lower";
  const auto bn = detail::square_batch(fn, "L", L.shape());
  const std::int64_t batch = bn.first, n = bn.second;
  const Shape& bs = B.shape();
  check_arg(bs.size() == L.shape().size(), fn, "B",
            "must have the same rank as L (" + shape_str(L.shape()) + "), got " + shape_str(bs));
  const std::int64_t m = bs.back();
  if (bs.size() == 3) check_arg(bs[0] == batch, fn, "B", "batch size differs from L's: " + shape_str(bs));
  check_arg(bs[bs.size() - 2] == n, fn, "B", "must have n = " + std::to_string(n) + " rows, got " + shape_str(bs));
  const Tensor<T> lv = L.value().contiguous(), bv = B.value().contiguous();
  Tensor<T> X(bs);
  kernels::cpu::trsm_lower_forward(batch, n, m, lv.data(), bv.data(), X.data(), transpose);
  return make_result<T>(X, {L, B}, [L, B, lv, X, batch, n, m, transpose](const Tensor<T>& g) {
    const Tensor<T> gc = g.contiguous();
    Tensor<T> dB(B.shape()), dL;
    if (L.requires_grad()) dL = Tensor<T>(L.shape());
    kernels::cpu::trsm_lower_backward(batch, n, m, lv.data(), X.data(), gc.data(), dB.data(),
                                      L.requires_grad() ? dL.data() : nullptr, transpose);
    if (B.requires_grad()) B.node().accumulate(dB);
    if (L.requires_grad()) L.node().accumulate(dL);
  });
}

/// log det of the symmetric part of SPD A: a scalar for [n, n], [batch] for [batch, n, n].
/// @throw std::invalid_argument for non-square input; std::domain_error if not positive definite.
template <class T>
Var<T> spd_logdet(const Var<T>& A) {
  constexpr const char* fn = "spd_logdet";
  const auto bn = detail::square_batch(fn, "A", A.shape());
  const std::int64_t batch = bn.first, n = bn.second;
  check_finite(fn, "A", A.value().contiguous().data(), A.numel());
  const Tensor<T> s = detail::symmetric_part(A.value(), batch, n);
  Tensor<T> L(A.shape());
  Tensor<T> ld = A.dim() == 2 ? Tensor<T>(Shape{}) : Tensor<T>(Shape{batch});
  kernels::cpu::spd_logdet_forward(batch, n, s.data(), ld.data(), L.data());
  return make_result<T>(ld, {A}, [A, L, batch, n](const Tensor<T>& g) {
    if (!A.requires_grad()) return;
    const Tensor<T> gc = g.contiguous();
    Tensor<T> dA(A.shape());
    kernels::cpu::spd_logdet_backward(batch, n, L.data(), gc.data(), dA.data());
    A.node().accumulate(dA);
  });
}

/// KL(N(μ0, L0L0ᵀ + εI) ‖ N(μ1, L1L1ᵀ + εI)) for P problems: mu0 [P, n], L0 [P, n, n], mu1 [Q, n],
/// L1 [Q, n, n]; problem p uses prior p % Q (Q = P: one prior per problem; Q < P: priors shared, e.g.
/// one per channel across graphs). ε = `jitter` (the paper's 1e-4). Returns [P].
/// @throw std::invalid_argument for mismatched shapes, Q ∤ P, jitter < 0; std::domain_error naming the
///        problem whose covariance is not positive definite.
template <class T>
Var<T> gaussian_kl(const Var<T>& mu0, const Var<T>& L0, const Var<T>& mu1, const Var<T>& L1, T jitter = T(1e-4)) {
  constexpr const char* fn = "gaussian_kl";
  const Shape &m0 = mu0.shape(), &m1 = mu1.shape(), &l0 = L0.shape(), &l1 = L1.shape();
  check_arg(m0.size() == 2, fn, "mu0", "must be [P, n], got " + shape_str(m0));
  check_arg(m1.size() == 2, fn, "mu1", "must be [Q, n], got " + shape_str(m1));
  const std::int64_t P = m0[0], n = m0[1], Q = m1[0];
  check_arg(m1[1] == n, fn, "mu1", "must have n = " + std::to_string(n) + " columns like mu0, got " + shape_str(m1));
  check_arg(l0 == Shape{P, n, n}, fn, "L0", "must be [P, n, n] = " + shape_str(Shape{P, n, n}) + ", got " + shape_str(l0));
  check_arg(l1 == Shape{Q, n, n}, fn, "L1", "must be [Q, n, n] = " + shape_str(Shape{Q, n, n}) + ", got " + shape_str(l1));
  check_arg(Q >= 1 || P == 0, fn, "mu1", "needs at least one prior");
  const Tensor<T> a = mu0.value().contiguous(), b = L0.value().contiguous(), c = mu1.value().contiguous(),
                  d = L1.value().contiguous();
  Tensor<T> kl(Shape{P});
  kernels::cpu::gaussian_kl_forward(P, n, a.data(), b.data(), c.data(), d.data(), kl.data(), jitter, Q);
  return make_result<T>(kl, {mu0, L0, mu1, L1}, [=](const Tensor<T>& g) {
    const Tensor<T> gc = g.contiguous();
    Tensor<T> g0, gL0, g1, gL1;
    if (mu0.requires_grad()) g0 = Tensor<T>(Shape{P, n});
    if (L0.requires_grad()) gL0 = Tensor<T>(Shape{P, n, n});
    if (mu1.requires_grad()) g1 = Tensor<T>(Shape{Q, n});
    if (L1.requires_grad()) gL1 = Tensor<T>(Shape{Q, n, n});
    kernels::cpu::gaussian_kl_backward(P, n, a.data(), b.data(), c.data(), d.data(), gc.data(),
                                       g0.defined() ? g0.data() : nullptr, gL0.defined() ? gL0.data() : nullptr,
                                       g1.defined() ? g1.data() : nullptr, gL1.defined() ? gL1.data() : nullptr,
                                       jitter, Q);
    if (g0.defined()) mu0.node().accumulate(g0);
    if (gL0.defined()) L0.node().accumulate(gL0);
    if (g1.defined()) mu1.node().accumulate(g1);
    if (gL1.defined()) L1.node().accumulate(gL1);
  });
}

/// Free matching (paper App. C): for each row of mu [n, C] the index of the nearest row of mu_hat [m, C]
/// (squared Euclidean, ties → smallest index). Not differentiable (an index); gather the matched prior
/// rows with `index_select` so the KL's gradient reaches them.
/// @throw std::invalid_argument for non-2-D inputs, differing C, or m == 0 while n > 0.
template <class T>
std::vector<std::int64_t> free_matching(const Tensor<T>& mu, const Tensor<T>& mu_hat) {
  constexpr const char* fn = "free_matching";
  check_arg(mu.dim() == 2, fn, "mu", "must be [n, C], got " + shape_str(mu.shape()));
  check_arg(mu_hat.dim() == 2 && mu_hat.size(1) == mu.size(1), fn, "mu_hat",
            "must be [m, C] with C = " + std::to_string(mu.size(1)) + ", got " + shape_str(mu_hat.shape()));
  const Tensor<T> a = mu.contiguous(), b = mu_hat.contiguous();
  std::vector<std::int64_t> idx(static_cast<std::size_t>(mu.size(0)));
  kernels::cpu::free_matching(mu.size(0), mu_hat.size(0), mu.size(1), a.data(), b.data(), idx.data());
  return idx;
}

/// Exact minimum-cost perfect matching of a square cost matrix [n, n] (Hungarian algorithm, O(n³)):
/// result[i] = column assigned to row i. @throw std::invalid_argument for non-square or non-finite cost.
template <class T>
std::vector<std::int64_t> hungarian_matching(const Tensor<T>& cost) {
  constexpr const char* fn = "hungarian_matching";
  check_arg(cost.dim() == 2 && cost.size(0) == cost.size(1), fn, "cost",
            "must be square [n, n], got " + shape_str(cost.shape()));
  const Tensor<T> c = cost.contiguous();
  std::vector<std::int64_t> asg(static_cast<std::size_t>(cost.size(0)));
  kernels::cpu::hungarian(cost.size(0), c.data(), asg.data());
  return asg;
}

}  // namespace mgvae
