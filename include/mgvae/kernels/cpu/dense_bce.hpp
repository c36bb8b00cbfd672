#pragma once
/// @file dense_bce.hpp
/// One row of the fused dense reconstruction loss (models/mgvae/decoder.hpp `dense_recon_loss`):
/// for the logits x_ij = ⟨z_i, z_j⟩, j = i … n−1 of the upper triangle, the pos-weighted BCE
///   l_ij = pos ? pw · softplus(−x) : softplus(x) = x + softplus(−x)
/// and its logit adjoint g_ij = pos ? −pw · σ(−x) : 1 − σ(−x), with softplus(−x) = max(−x, 0) +
/// log1p(e^{−|x|}) and σ(−x) = (x ≥ 0 ? e^{−|x|} : 1) / (1 + e^{−|x|}) (stable for every x).
///
/// In float, the whole row is computed with SIMD vectors (kernels/common/simd.hpp): e^{−|x|} and
/// log1p of it by Cephes-style polynomials (`exp_nonpositive`, `log1p_unit`, ≤ 2 ulp over their
/// domains, tests/kernels/cpu/dense_bce.test.cpp), the positive entries of the row (diagonal and the
/// row's CSR columns ≥ i) selected by a lane mask. Before this kernel, libm's scalar log1pf alone
/// took half of a VGAE epoch on Cora. In double (tests, gradchecks), `dense_bce_row_scalar` uses
/// std::exp / std::log1p, as before.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "mgvae/kernels/common/simd.hpp"

namespace mgvae::kernels::cpu {

namespace simd_math {
using simd::vec_t;
using simd::Vec;
using fvec = vec_t<float>;
typedef std::int32_t ivec __attribute__((vector_size(simd::kBytes)));
typedef double dvec __attribute__((vector_size(2 * simd::kBytes)));  // the float lanes, widened

inline fvec splat(float v) {
  fvec r;
  for (int k = 0; k < Vec<float>::W; ++k) r[k] = v;
  return r;
}
inline fvec select(const ivec& m, const fvec& a, const fvec& b) { return m ? a : b; }

/// e^x for x ≤ 0 (Cephes expf: x = n ln2 + r, |r| ≤ ln2/2, degree-5 polynomial, scale by 2^n).
/// Inputs below −87 are clamped to −87 (e^−87 ≈ 1.6e−38, the smallest normal float is 1.2e−38).
inline fvec exp_nonpositive(fvec x) {
  const fvec lo = splat(-87.0f);
  x = x < lo ? lo : x;
  const fvec y = x * splat(1.44269504088896341f);              // x log2 e ≤ 0
  const ivec ni = -__builtin_convertvector(splat(0.5f) - y, ivec);  // round(y) = −trunc(−y + 0.5), −y + 0.5 > 0
  const fvec n = __builtin_convertvector(ni, fvec);
  fvec r = x - n * splat(0.693359375f);
  r = r - n * splat(-2.12194440e-4f);
  const fvec z = r * r;
  fvec p = splat(1.9875691500e-4f);
  p = p * r + splat(1.3981999507e-3f);
  p = p * r + splat(8.3334519073e-3f);
  p = p * r + splat(4.1665795894e-2f);
  p = p * r + splat(1.6666665459e-1f);
  p = p * r + splat(5.0000001201e-1f);
  p = p * z + r + splat(1.0f);
  const ivec bits = (ni + 127) << 23;  // 2^n, n ∈ [−126, 0]: a normal float
  fvec scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return p * scale;
}

/// log1p(e) for e ∈ [0, 1]: u = 1 + e, log(u) by Cephes logf on u ∈ [1, 2] (u or u/2 around 1,
/// both exact), plus the rounding correction (e − (u − 1)) / u.
inline fvec log1p_unit(const fvec& e) {
  const fvec one = splat(1.0f);
  const fvec u = one + e;
  const ivec big = u >= splat(1.41421356237f);
  const fvec f = select(big, u * splat(0.5f) - one, u - one);  // exact (Sterbenz)
  const fvec k = select(big, one, splat(0.0f));
  const fvec z = f * f;
  fvec p = splat(7.0376836292e-2f);
  p = p * f + splat(-1.1514610310e-1f);
  p = p * f + splat(1.1676998740e-1f);
  p = p * f + splat(-1.2420140846e-1f);
  p = p * f + splat(1.4249322787e-1f);
  p = p * f + splat(-1.6668057665e-1f);
  p = p * f + splat(2.0000714765e-1f);
  p = p * f + splat(-2.4999993993e-1f);
  p = p * f + splat(3.3333331174e-1f);
  fvec y = p * f * z;
  y = y + k * splat(-2.12194440e-4f);
  y = y - splat(0.5f) * z;
  fvec lg = f + y;
  lg = lg + k * splat(0.693359375f);
  return lg + (e - (u - one)) / u;
}

}  // namespace simd_math

/// Scalar reference (any T): row[j] holds x_ij on entry and the scaled adjoint on exit; returns
/// Σ_j w_j l_ij with w = 1 on the diagonal and 2 off it. `ci[kbeg, kend)` are the row's sorted
/// CSR columns; `gscale` multiplies every adjoint (halved on the diagonal).
template <class T>
inline double dense_bce_row_scalar(T* row, std::int64_t i, std::int64_t n, const std::int64_t* ci, std::int64_t kbeg,
                                   std::int64_t kend, T pw, double gscale) {
  std::int64_t k = kbeg;
  while (k < kend && ci[k] < i) ++k;
  double acc = 0;
  for (std::int64_t j = i; j < n; ++j) {
    while (k < kend && ci[k] < j) ++k;
    const bool pos = (j == i) || (k < kend && ci[k] == j);
    const T x = row[j];
    const T e = std::exp(-std::abs(x));  // softplus(−x), σ(−x), stable
    const T sp = (x < 0 ? -x : T(0)) + std::log1p(e);
    const T sig_neg = x >= 0 ? e / (T(1) + e) : T(1) / (T(1) + e);
    const T l = pos ? pw * sp : x + sp;
    const T g = pos ? -pw * sig_neg : T(1) - sig_neg;
    const T w = j == i ? T(1) : T(2);
    acc += static_cast<double>(w * l);
    row[j] = static_cast<T>(static_cast<double>(g) * gscale * (j == i ? 0.5 : 1.0));  // U_ii = G_ii / 2
  }
  return acc;
}

/// SIMD row for float (same contract as the scalar one; values within float round-off of it).
inline double dense_bce_row_simd(float* row, std::int64_t i, std::int64_t n, const std::int64_t* ci, std::int64_t kbeg,
                                 std::int64_t kend, float pw, double gscale) {
  using namespace simd_math;
  constexpr int W = Vec<float>::W;
  std::int64_t k = kbeg;
  while (k < kend && ci[k] < i) ++k;
  const fvec zero = splat(0.0f), one = splat(1.0f), two = splat(2.0f), pwv = splat(pw);
  const fvec gs = splat(static_cast<float>(gscale));
  const float gs_diag = static_cast<float>(gscale * 0.5);
  dvec acc = __builtin_convertvector(zero, dvec);
  // One block of W logits starting at j0, m ≤ W of them valid (m < W only for the row's tail).
  auto block = [&](std::int64_t j0, std::int64_t m) {
    fvec x;
    if (m == W) {
      std::memcpy(&x, row + j0, sizeof(x));
    } else {
      x = zero;
      std::memcpy(&x, row + j0, static_cast<std::size_t>(m) * sizeof(float));
    }
    ivec pos = __builtin_convertvector(zero, ivec);  // lanes with label 1: the row's CSR columns, the diagonal
    while (k < kend && ci[k] < j0 + m) {
      if (ci[k] >= j0) pos[ci[k] - j0] = -1;
      ++k;
    }
    fvec w = two, gsc = gs;
    if (j0 == i) {
      pos[0] = -1;  // A + I
      w[0] = 1.0f;
      gsc[0] = gs_diag;
    }
    if (m < W)
      for (std::int64_t t = m; t < W; ++t) w[t] = 0.0f;
    const fvec ax = x < zero ? -x : x;
    const fvec e = exp_nonpositive(-ax);
    const fvec sp = (x < zero ? -x : zero) + log1p_unit(e);
    const fvec sig_neg = (x >= zero ? e : one) / (one + e);
    const fvec l = select(pos, pwv * sp, x + sp);
    const fvec g = select(pos, -pwv * sig_neg, one - sig_neg);
    acc += __builtin_convertvector(w * l, dvec);
    const fvec out = g * gsc;
    if (m == W)
      std::memcpy(row + j0, &out, sizeof(out));
    else
      std::memcpy(row + j0, &out, static_cast<std::size_t>(m) * sizeof(float));
  };
  std::int64_t j0 = i;
  for (; j0 + W <= n; j0 += W) block(j0, W);
  if (j0 < n) block(j0, n - j0);
  double total = 0;
  for (int t = 0; t < W; ++t) total += acc[t];
  return total;
}

/// Dispatch: SIMD in float, scalar otherwise.
template <class T>
inline double dense_bce_row(T* row, std::int64_t i, std::int64_t n, const std::int64_t* ci, std::int64_t kbeg,
                            std::int64_t kend, T pw, double gscale) {
  if constexpr (std::is_same_v<T, float>)
    return dense_bce_row_simd(row, i, n, ci, kbeg, kend, pw, gscale);
  else
    return dense_bce_row_scalar(row, i, n, ci, kbeg, kend, pw, gscale);
}

}  // namespace mgvae::kernels::cpu
