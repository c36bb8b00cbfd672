#pragma once
/// @file cholesky.hpp
/// Batched small dense linear algebra for the MGVAE Gaussian posterior/prior (paper App. B–C):
/// Cholesky (lower) and its backward (Murray 2016), lower-triangular solves and their backward,
/// SPD log-determinant, the fused Gaussian KL with Σ = L Lᵀ + εI (L a full square matrix, as in the
/// authors' code), free matching and exact Hungarian matching.
///
/// Layout: a batch of `batch` row-major n×n matrices stored back to back, `[b*n*n + i*n + j]`;
/// right-hand sides `[b*n*m + i*m + j]`; vectors `[b*n + i]`. Dense algebra runs through Eigen 3.4
/// maps on the raw buffers; the batch loop is OpenMP-parallel (schedule(dynamic)).
///
/// Errors: std::invalid_argument names the bad argument (negative sizes, jitter < 0, null buffers);
/// std::domain_error names the first batch index whose matrix is not symmetric positive definite.
// GCC 12 reports false '__Y is used uninitialized' warnings inside its own AVX-512 intrinsics when
// Eigen's packet math is inlined (TOOLCHAIN.md gotcha 3), and Eigen 3.4's AVX-512 PacketMath.h has unused
// variables (visible when Eigen is included with -I rather than -isystem); silence them for Eigen only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wunused-variable"
#endif
#include <Eigen/Cholesky>
#include <Eigen/Core>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "mgvae/core/error.hpp"
#include "mgvae/kernels/common/ragged.hpp"

namespace mgvae::kernels::cpu {

namespace detail {
template <class T>
using RMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using MapM = Eigen::Map<RMat<T>>;
template <class T>
using CMapM = Eigen::Map<const RMat<T>>;
template <class T>
using Vecx = Eigen::Matrix<T, Eigen::Dynamic, 1>;

/// Records the smallest failing batch index from inside an OpenMP loop (exceptions may not leave it).
struct FirstFailure {
  std::int64_t idx = std::numeric_limits<std::int64_t>::max();
  void record(std::int64_t b) {
#if defined(_OPENMP)
#pragma omp critical(mgvae_first_failure)
#endif
    idx = std::min(idx, b);
  }
  bool failed() const { return idx != std::numeric_limits<std::int64_t>::max(); }
};

/// In-place lower Cholesky of one row-major n×n matrix (reads the lower triangle only, zeroes the
/// upper). Returns false if a pivot is not positive and finite. Unblocked, right-looking: n³/3 FMAs.
template <class T>
inline bool chol_inplace(std::int64_t n, T* L) {
  for (std::int64_t j = 0; j < n; ++j) {
    T d = L[j * n + j];
    for (std::int64_t k = 0; k < j; ++k) d -= L[j * n + k] * L[j * n + k];
    if (!(d > T(0)) || !std::isfinite(d)) return false;
    const T ljj = std::sqrt(d);
    L[j * n + j] = ljj;
    const T inv = T(1) / ljj;
    for (std::int64_t i = j + 1; i < n; ++i) {
      T s = L[i * n + j];
      const T* li = L + i * n;
      const T* lj = L + j * n;
      for (std::int64_t k = 0; k < j; ++k) s -= li[k] * lj[k];
      L[i * n + j] = s * inv;
    }
    for (std::int64_t k = j + 1; k < n; ++k) L[j * n + k] = T(0);
  }
  return true;
}

inline void check_batch(const char* fn, std::int64_t batch, std::int64_t n) {
  check_count(fn, "batch", batch);
  check_count(fn, "n", n);
}
}  // namespace detail

/// Batched lower Cholesky: A [batch, n, n] (SPD; only the lower triangle is read) → L [batch, n, n]
/// lower triangular with zeros above the diagonal (L may alias A).
/// @throw std::invalid_argument for negative sizes; std::domain_error naming the first batch index whose
///        matrix is not (numerically) positive definite.
template <class T>
void cholesky_forward(std::int64_t batch, std::int64_t n, const T* A, T* L) {
  constexpr const char* fn = "cholesky_forward";
  detail::check_batch(fn, batch, n);
  check_ptr(fn, "A", A, batch * n * n);
  check_ptr(fn, "L", L, batch * n * n);
  detail::FirstFailure fail;
#if defined(_OPENMP)
#pragma omp parallel for schedule(dynamic)
#endif
  for (std::int64_t b = 0; b < batch; ++b) {
    T* Lb = L + b * n * n;
    if (Lb != A + b * n * n) std::copy(A + b * n * n, A + (b + 1) * n * n, Lb);
    if (!detail::chol_inplace(n, Lb)) fail.record(b);
  }
  if (fail.failed())
    throw_domain(fn, "matrix at batch index " + std::to_string(fail.idx) + " is not symmetric positive definite");
}

/// Backward of `cholesky_forward` (Murray 2016, "Differentiation of the Cholesky decomposition",
/// arXiv:1602.07527, unblocked/level-3 form):
///   P = Φ(Lᵀ L̄),  S = L⁻ᵀ P L⁻¹,  Ā = ½ (S + Sᵀ),
/// where L̄ is the lower triangle of grad_L and Φ takes the lower triangle and halves the diagonal.
/// Ā is the symmetric gradient (a perturbation dA = dAᵀ changes the loss by <Ā, dA>). Two triangular
/// solves with n right-hand sides, no explicit inverse. grad_A [batch, n, n] is overwritten.
template <class T>
void cholesky_backward(std::int64_t batch, std::int64_t n, const T* L, const T* grad_L, T* grad_A) {
  constexpr const char* fn = "cholesky_backward";
  detail::check_batch(fn, batch, n);
#if defined(_OPENMP)
#pragma omp parallel for schedule(dynamic)
#endif
  for (std::int64_t b = 0; b < batch; ++b) {
    detail::CMapM<T> Lm(L + b * n * n, n, n), gL(grad_L + b * n * n, n, n);
    detail::MapM<T> gA(grad_A + b * n * n, n, n);
    detail::RMat<T> gLl = gL;
    gLl.template triangularView<Eigen::StrictlyUpper>().setZero();
    detail::RMat<T> P = Lm.transpose().template triangularView<Eigen::Upper>() * gLl;
    P.template triangularView<Eigen::StrictlyUpper>().setZero();
    P.diagonal() *= T(0.5);
    // S = L⁻ᵀ P L⁻¹ : solve Lᵀ Y = P, then S Lᵀ... S = Y L⁻¹ ⇔ Sᵀ = L⁻ᵀ Yᵀ
    detail::RMat<T> Y = Lm.transpose().template triangularView<Eigen::Upper>().solve(P);
    detail::RMat<T> St = Lm.transpose().template triangularView<Eigen::Upper>().solve(Y.transpose());
    gA = T(0.5) * (St + St.transpose());
  }
}

/// Batched triangular solve with a lower-triangular L [batch, n, n]: X = L⁻¹ B (transpose = false) or
/// X = L⁻ᵀ B (transpose = true), B and X [batch, n, m] (X may alias B). Only L's lower triangle is read.
/// @throw std::invalid_argument for negative sizes; std::domain_error if a diagonal entry is zero.
template <class T>
void trsm_lower_forward(std::int64_t batch, std::int64_t n, std::int64_t m, const T* L, const T* Bm, T* X,
                        bool transpose = false) {
  constexpr const char* fn = "trsm_lower_forward";
  detail::check_batch(fn, batch, n);
  check_count(fn, "m", m);
  detail::FirstFailure fail;
#if defined(_OPENMP)
#pragma omp parallel for schedule(dynamic)
#endif
  for (std::int64_t b = 0; b < batch; ++b) {
    detail::CMapM<T> Lm(L + b * n * n, n, n);
    bool ok = true;
    for (std::int64_t i = 0; i < n; ++i) ok = ok && Lm(i, i) != T(0);
    if (!ok) {
      fail.record(b);
      continue;
    }
    detail::MapM<T> Xm(X + b * n * m, n, m);
    if (X != Bm) Xm = detail::CMapM<T>(Bm + b * n * m, n, m);
    if (transpose)
      Lm.transpose().template triangularView<Eigen::Upper>().solveInPlace(Xm);
    else
      Lm.template triangularView<Eigen::Lower>().solveInPlace(Xm);
  }
  if (fail.failed())
    throw_domain(fn, "L at batch index " + std::to_string(fail.idx) + " has a zero on its diagonal");
}

/// Backward of `trsm_lower_forward` given X (its output) and X̄:
///   L X = B:   B̄ = L⁻ᵀ X̄,  L̄ = −tril(B̄ Xᵀ);      Lᵀ X = B:   B̄ = L⁻¹ X̄,  L̄ = −tril(X B̄ᵀ).
/// grad_B [batch, n, m] and grad_L [batch, n, n] are overwritten; grad_L may be null.
template <class T>
void trsm_lower_backward(std::int64_t batch, std::int64_t n, std::int64_t m, const T* L, const T* X,
                         const T* grad_X, T* grad_B, T* grad_L, bool transpose = false) {
  constexpr const char* fn = "trsm_lower_backward";
  detail::check_batch(fn, batch, n);
  check_count(fn, "m", m);
#if defined(_OPENMP)
#pragma omp parallel for schedule(dynamic)
#endif
  for (std::int64_t b = 0; b < batch; ++b) {
    detail::CMapM<T> Lm(L + b * n * n, n, n), Xm(X + b * n * m, n, m);
    detail::MapM<T> gB(grad_B + b * n * m, n, m);
    gB = detail::CMapM<T>(grad_X + b * n * m, n, m);
    if (transpose)
      Lm.template triangularView<Eigen::Lower>().solveInPlace(gB);
    else
      Lm.transpose().template triangularView<Eigen::Upper>().solveInPlace(gB);
    if (grad_L) {
      detail::MapM<T> gL(grad_L + b * n * n, n, n);
      if (transpose)
        gL = -(Xm * gB.transpose());
      else
        gL = -(gB * Xm.transpose());
      gL.template triangularView<Eigen::StrictlyUpper>().setZero();
    }
  }
}

/// log det A for SPD A [batch, n, n] via Cholesky: logdet = 2 Σ_i log L_ii. If L_out is non-null the
/// factor is stored there (for the backward). @throw std::domain_error naming the batch index if not SPD.
template <class T>
void spd_logdet_forward(std::int64_t batch, std::int64_t n, const T* A, T* logdet, T* L_out = nullptr) {
  constexpr const char* fn = "spd_logdet_forward";
  detail::check_batch(fn, batch, n);
  detail::FirstFailure fail;
#if defined(_OPENMP)
#pragma omp parallel for schedule(dynamic)
#endif
  for (std::int64_t b = 0; b < batch; ++b) {
    std::vector<T> tmp;
    T* Lb = L_out ? L_out + b * n * n : nullptr;
    if (!Lb) {
      tmp.resize(static_cast<std::size_t>(n * n));
      Lb = tmp.data();
    }
    std::copy(A + b * n * n, A + (b + 1) * n * n, Lb);
    if (!detail::chol_inplace(n, Lb)) {
      fail.record(b);
      continue;
    }
    T s = 0;
    for (std::int64_t i = 0; i < n; ++i) s += std::log(Lb[i * n + i]);
    logdet[b] = 2 * s;
  }
  if (fail.failed())
    throw_domain(fn, "matrix at batch index " + std::to_string(fail.idx) + " is not symmetric positive definite");
}

/// Backward of `spd_logdet_forward`: Ā = ḡ · A⁻¹ = ḡ L⁻ᵀ L⁻¹ (symmetric), from the stored factor L,
/// computed by two triangular solves against the identity. grad_A overwritten.
template <class T>
void spd_logdet_backward(std::int64_t batch, std::int64_t n, const T* L, const T* grad_logdet, T* grad_A) {
  constexpr const char* fn = "spd_logdet_backward";
  detail::check_batch(fn, batch, n);
#if defined(_OPENMP)
#pragma omp parallel for schedule(dynamic)
#endif
  for (std::int64_t b = 0; b < batch; ++b) {
    detail::CMapM<T> Lm(L + b * n * n, n, n);
    detail::MapM<T> gA(grad_A + b * n * n, n, n);
    gA.setIdentity();
    Lm.template triangularView<Eigen::Lower>().solveInPlace(gA);
    Lm.transpose().template triangularView<Eigen::Upper>().solveInPlace(gA);
    gA *= grad_logdet[b];
  }
}

// ------------------------------------------------------------------------------------------------
// Gaussian KL
// ------------------------------------------------------------------------------------------------
//
// KL(N(μ0, Σ0) ‖ N(μ1, Σ1)) = ½ [ tr(Σ1⁻¹ Σ0) + δᵀ Σ1⁻¹ δ − n + ln det Σ1 − ln det Σ0 ],  δ = μ1 − μ0,
// with Σk = Lk Lkᵀ + ε I (Lk a full square matrix, as the authors' `KL_Gaussians`; REFERENCE-NOTES §4).
// Forward, with K0 = chol(Σ0), K1 = chol(Σ1) (never an explicit inverse):
//   tr(Σ1⁻¹ Σ0) = ‖K1⁻¹ K0‖_F²,   δᵀ Σ1⁻¹ δ = ‖K1⁻¹ δ‖²,   ln det Σk = 2 Σ_i ln (Kk)_ii.
// Backward (matrix cookbook identities ∂ tr(Σ1⁻¹Σ0)/∂Σ0 = Σ1⁻¹, ∂ ln det Σ/∂Σ = Σ⁻¹,
// ∂ tr(Σ1⁻¹ M)/∂Σ1 = −Σ1⁻¹ M Σ1⁻¹; all matrices symmetric):
//   ∂KL/∂Σ0 = ½ (Σ1⁻¹ − Σ0⁻¹)
//   ∂KL/∂Σ1 = ½ (Σ1⁻¹ − Σ1⁻¹ (Σ0 + δ δᵀ) Σ1⁻¹)
//   ∂KL/∂μ0 = −Σ1⁻¹ δ,   ∂KL/∂μ1 = Σ1⁻¹ δ
//   Σ = L Lᵀ + εI ⇒ dΣ = dL Lᵀ + L dLᵀ ⇒ ∂KL/∂L = (Σ̄ + Σ̄ᵀ) L = 2 Σ̄ L (Σ̄ symmetric).
// In the backward Σk⁻¹ is formed from the Cholesky factor by two triangular solves (it *is* the
// gradient, so it must be materialised); the forward never forms it.

namespace detail {
template <class T>
inline void gauss_check(const char* fn, std::int64_t P, std::int64_t n, std::int64_t prior_count, T jitter) {
  check_count(fn, "P", P);
  check_count(fn, "n", n);
  check_arg(prior_count >= 1 || P == 0, fn, "prior_count", "must be positive");
  check_arg(prior_count <= 0 || P % prior_count == 0, fn, "prior_count",
            "must divide the number of problems P = " + std::to_string(P));
  check_arg(jitter >= T(0) && std::isfinite(jitter), fn, "jitter", "must be finite and >= 0");
}
}  // namespace detail

/// Fused Gaussian KL for P independent n-dimensional problems.
/// @param mu0 [P, n], @param L0 [P, n, n]  posterior (problem p)
/// @param mu1 [Q, n], @param L1 [Q, n, n]  prior; problem p uses prior p % Q with Q = prior_count
///        (Q = P: one prior per problem; Q = C with problems ordered (b, c): a prior shared across graphs)
/// @param kl  [P] overwritten
/// @throw std::invalid_argument (sizes, jitter < 0, Q ∤ P); std::domain_error naming the problem whose
///        Σ is not numerically positive definite.
template <class T>
void gaussian_kl_forward(std::int64_t P, std::int64_t n, const T* mu0, const T* L0, const T* mu1, const T* L1, T* kl,
                         T jitter = T(1e-4), std::int64_t prior_count = -1) {
  constexpr const char* fn = "gaussian_kl_forward";
  if (prior_count < 0) prior_count = P;
  detail::gauss_check(fn, P, n, prior_count, jitter);
  detail::FirstFailure fail;
#if defined(_OPENMP)
#pragma omp parallel for schedule(dynamic)
#endif
  for (std::int64_t p = 0; p < P; ++p) {
    const std::int64_t q = p % prior_count;
    detail::CMapM<T> A0(L0 + p * n * n, n, n), A1(L1 + q * n * n, n, n);
    detail::RMat<T> K0 = A0 * A0.transpose(), K1 = A1 * A1.transpose();
    K0.diagonal().array() += jitter;
    K1.diagonal().array() += jitter;
    if (!detail::chol_inplace(n, K0.data()) || !detail::chol_inplace(n, K1.data())) {
      fail.record(p);
      continue;
    }
    detail::RMat<T> M = K1.template triangularView<Eigen::Lower>().solve(K0);  // K1⁻¹ K0
    detail::Vecx<T> d(n);
    for (std::int64_t i = 0; i < n; ++i) d[i] = mu1[q * n + i] - mu0[p * n + i];
    K1.template triangularView<Eigen::Lower>().solveInPlace(d);  // K1⁻¹ δ
    T ld = 0;
    for (std::int64_t i = 0; i < n; ++i) ld += std::log(K1(i, i)) - std::log(K0(i, i));
    kl[p] = T(0.5) * (M.squaredNorm() + d.squaredNorm() - static_cast<T>(n) + 2 * ld);
  }
  if (fail.failed())
    throw_domain(fn, "covariance of problem " + std::to_string(fail.idx) + " is not positive definite");
}

/// Backward of `gaussian_kl_forward`: upstream grad_kl [P]; outputs (each may be null, all overwritten)
/// grad_mu0 [P, n], grad_L0 [P, n, n], grad_mu1 [Q, n], grad_L1 [Q, n, n] (prior gradients summed over
/// the problems that share the prior).
template <class T>
void gaussian_kl_backward(std::int64_t P, std::int64_t n, const T* mu0, const T* L0, const T* mu1, const T* L1,
                          const T* grad_kl, T* grad_mu0, T* grad_L0, T* grad_mu1, T* grad_L1, T jitter = T(1e-4),
                          std::int64_t prior_count = -1) {
  constexpr const char* fn = "gaussian_kl_backward";
  if (prior_count < 0) prior_count = P;
  detail::gauss_check(fn, P, n, prior_count, jitter);
  const bool need_prior = grad_mu1 || grad_L1;
  // per-problem prior gradients, reduced serially afterwards (deterministic, race-free)
  std::vector<T> pm1(need_prior ? static_cast<std::size_t>(P * n) : 0),
      pL1(need_prior ? static_cast<std::size_t>(P * n * n) : 0);
  detail::FirstFailure fail;
#if defined(_OPENMP)
#pragma omp parallel for schedule(dynamic)
#endif
  for (std::int64_t p = 0; p < P; ++p) {
    const std::int64_t q = p % prior_count;
    detail::CMapM<T> A0(L0 + p * n * n, n, n), A1(L1 + q * n * n, n, n);
    detail::RMat<T> S0 = A0 * A0.transpose(), S1 = A1 * A1.transpose();
    S0.diagonal().array() += jitter;
    S1.diagonal().array() += jitter;
    detail::RMat<T> K0 = S0, K1 = S1;
    if (!detail::chol_inplace(n, K0.data()) || !detail::chol_inplace(n, K1.data())) {
      fail.record(p);
      continue;
    }
    const T g = grad_kl[p];
    detail::RMat<T> S1i = detail::RMat<T>::Identity(n, n);
    K1.template triangularView<Eigen::Lower>().solveInPlace(S1i);
    K1.transpose().template triangularView<Eigen::Upper>().solveInPlace(S1i);  // Σ1⁻¹
    detail::Vecx<T> d(n);
    for (std::int64_t i = 0; i < n; ++i) d[i] = mu1[q * n + i] - mu0[p * n + i];
    const detail::Vecx<T> s1d = S1i * d;  // Σ1⁻¹ δ
    if (grad_mu0)
      for (std::int64_t i = 0; i < n; ++i) grad_mu0[p * n + i] = -g * s1d[i];
    if (grad_L0) {
      detail::RMat<T> S0i = detail::RMat<T>::Identity(n, n);
      K0.template triangularView<Eigen::Lower>().solveInPlace(S0i);
      K0.transpose().template triangularView<Eigen::Upper>().solveInPlace(S0i);  // Σ0⁻¹
      detail::MapM<T> gL0(grad_L0 + p * n * n, n, n);
      gL0 = g * ((S1i - S0i) * A0);  // 2 · ½(Σ1⁻¹ − Σ0⁻¹) · L0
    }
    if (need_prior) {
      for (std::int64_t i = 0; i < n; ++i) pm1[p * n + i] = g * s1d[i];
      // Σ̄1 = ½(Σ1⁻¹ − Σ1⁻¹ S0 Σ1⁻¹ − (Σ1⁻¹δ)(Σ1⁻¹δ)ᵀ);  ∂/∂L1 = 2 Σ̄1 L1
      detail::RMat<T> Sb = S1i - S1i * S0 * S1i - s1d * s1d.transpose();
      detail::MapM<T> gL(pL1.data() + p * n * n, n, n);
      gL = g * (Sb * A1);
    }
  }
  if (fail.failed())
    throw_domain(fn, "covariance of problem " + std::to_string(fail.idx) + " is not positive definite");
  if (grad_mu1) std::fill(grad_mu1, grad_mu1 + prior_count * n, T(0));
  if (grad_L1) std::fill(grad_L1, grad_L1 + prior_count * n * n, T(0));
  for (std::int64_t p = 0; p < P && need_prior; ++p) {
    const std::int64_t q = p % prior_count;
    if (grad_mu1)
      for (std::int64_t i = 0; i < n; ++i) grad_mu1[q * n + i] += pm1[p * n + i];
    if (grad_L1)
      for (std::int64_t k = 0; k < n * n; ++k) grad_L1[q * n * n + k] += pL1[p * n * n + k];
  }
}

// ------------------------------------------------------------------------------------------------
// Matching
// ------------------------------------------------------------------------------------------------

/// Free matching: idx[i] = argmin_j ‖μ_i − μ̂_j‖² (ties → smallest j). mu [n, C], mu_hat [m, C].
/// @throw std::invalid_argument if m == 0 while n > 0 or sizes are negative.
template <class T>
void free_matching(std::int64_t n, std::int64_t m, std::int64_t C, const T* mu, const T* mu_hat, std::int64_t* idx) {
  constexpr const char* fn = "free_matching";
  check_count(fn, "n", n);
  check_count(fn, "m", m);
  check_count(fn, "C", C);
  check_arg(n == 0 || m > 0, fn, "m", "must be positive when n > 0 (nothing to match against)");
  for (std::int64_t i = 0; i < n; ++i) {
    T best = std::numeric_limits<T>::infinity();
    std::int64_t bj = 0;
    for (std::int64_t j = 0; j < m; ++j) {
      T s = 0;
      for (std::int64_t c = 0; c < C; ++c) {
        const T d = mu[i * C + c] - mu_hat[j * C + c];
        s += d * d;
      }
      if (s < best) best = s, bj = j;
    }
    idx[i] = bj;
  }
}

/// Exact minimum-cost perfect matching (Hungarian / Kuhn–Munkres with row and column potentials,
/// shortest augmenting paths; O(n³)). cost [n, n] row-major; assignment[i] = column given to row i.
/// Returns the total cost. @throw std::invalid_argument for n < 0 or a non-finite cost.
template <class T>
T hungarian(std::int64_t n, const T* cost, std::int64_t* assignment) {
  constexpr const char* fn = "hungarian";
  check_count(fn, "n", n);
  check_finite(fn, "cost", cost, n * n);
  const T INF = std::numeric_limits<T>::infinity();
  // 1-based arrays; p[j] = row matched to column j (0 = none); u, v potentials.
  std::vector<T> u(n + 1, T(0)), v(n + 1, T(0)), minv(n + 1);
  std::vector<std::int64_t> p(n + 1, 0), way(n + 1, 0);
  std::vector<char> used(n + 1);
  for (std::int64_t i = 1; i <= n; ++i) {
    p[0] = i;
    std::int64_t j0 = 0;
    std::fill(minv.begin(), minv.end(), INF);
    std::fill(used.begin(), used.end(), 0);
    do {
      used[j0] = 1;
      const std::int64_t i0 = p[j0];
      T delta = INF;
      std::int64_t j1 = 0;
      for (std::int64_t j = 1; j <= n; ++j)
        if (!used[j]) {
          const T cur = cost[(i0 - 1) * n + (j - 1)] - u[i0] - v[j];
          if (cur < minv[j]) minv[j] = cur, way[j] = j0;
          if (minv[j] < delta) delta = minv[j], j1 = j;
        }
      for (std::int64_t j = 0; j <= n; ++j)
        if (used[j])
          u[p[j]] += delta, v[j] -= delta;
        else
          minv[j] -= delta;
      j0 = j1;
    } while (p[j0] != 0);
    do {  // augment along the alternating path
      const std::int64_t j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0 != 0);
  }
  T total = 0;
  for (std::int64_t j = 1; j <= n; ++j) {
    assignment[p[j] - 1] = j - 1;
    total += cost[(p[j] - 1) * n + (j - 1)];
  }
  return total;
}

}  // namespace mgvae::kernels::cpu
