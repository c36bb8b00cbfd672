#pragma once
/// @file contraction.hpp
/// Fused second-order message passing (paper Eq. 3): the six pair contractions of T = A ⊗ H,
///   T_{abcd,(e,c)} = A_{ab,e} H_{cd,c},
/// computed without ever forming T (n⁴·E·C values), on ragged batches; forward and vector-Jacobian
/// products (backward). Plus the naive materialising reference (`contraction_naive`, test oracle and
/// benchmark baseline), the generic Def. 11 contraction `contract`, the Def. 10 `tensor_product`,
/// and the readout `Z = H↓₁ ⊕ H↓₂`.
///
/// Output layout of the fused kernels (per graph block, pair (i,j)): `[(i*n+j)*6EC + k*EC + e*C + c]`:
/// contraction-major (k = 0..5 for the pairs (1,2),(1,3),(2,3),(1,4),(2,4),(3,4) — see `kPairs`),
/// then edge channel e, then feature channel c.
///
/// Index convention (Def. 11 read literally): the indices that remain after contracting (x, y) keep
/// their original order, the first becomes i, the second j. Trace mode (set i_x = i_y and sum):
///   k=0 (1,2): tr(A_e) · H_ij                    k=3 (1,4): Σ_a A_ai H_ja   = (H A)ᵀ_ij
///   k=1 (1,3): Σ_a A_ai H_aj   = (Aᵀ H)_ij       k=4 (2,4): Σ_b A_ib H_jb   = (A Hᵀ)_ij
///   k=2 (2,3): Σ_b A_ib H_bj   = (A H)_ij        k=5 (3,4): A_ij · tr(H)
/// (DESIGN.md §4 writes (1,4) as Σ_a A_aj H_ia = (HA)_ij, the transpose of the literal reading; the two
/// coincide for symmetric A and H, and both are equivariant. We follow the literal index order so that
/// the fused kernel equals the brute-force Def. 11 einsum.)
/// IndependentSums mode (Σ_{i_x} Σ_{i_y}, no delta), with rA_i = Σ_b A_ib, cA_i = Σ_a A_ai, likewise rH, cH,
/// and sA = Σ A, sH = Σ H:
///   k=0: sA·H_ij   k=1: cA_i cH_j   k=2: rA_i cH_j   k=3: cA_i rH_j   k=4: rA_i rH_j   k=5: A_ij·sH.
///
/// FLOPs (Trace, dense A, per graph): 4·n³·E·C multiply-adds for k=1..4 plus 2·n²·E·C multiplies (k=0,5);
/// the backward to H costs the same again, the backward to A another 4·n³·E·C + O(n²EC).
#include <algorithm>
#include <cstdint>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "mgvae/core/error.hpp"
#include "mgvae/kernels/common/ragged.hpp"
#include "mgvae/kernels/common/simd.hpp"
#include "mgvae/kernels/cpu/graph_loop.hpp"

namespace mgvae::kernels::cpu {

/// How Def. 11's contraction is read: Trace sets the two indices equal and sums (DESIGN.md §4);
/// IndependentSums sums both indices independently (Def. 11's literal Σ_{i_x} Σ_{i_y}).
enum class ContractionMode { Trace, IndependentSums };

/// The six index pairs of Eq. 3 in output order (1-based tensor dimensions of A ⊗ H).
inline constexpr int kPairs[6][2] = {{1, 2}, {1, 3}, {2, 3}, {1, 4}, {2, 4}, {3, 4}};

namespace detail {

using simd::vec_t;
using simd::Vec;

/// Register-blocked strided micro-kernel:
///   O(r, v) (+)= Σ_{a<K} M(r, a) · X(a, v)   for r < RI, v < NV vectors of W lanes,
/// with M(r,a) = Mp[r*mr + a*ma] (scalars, broadcast), X(a,·) = Xp + a*sxa (contiguous), O(r,·) = Op + r*sor.
template <class T, int RI, int NV, bool ACC>
inline void mk_gemm(std::int64_t K, const T* Mp, std::int64_t mr, std::int64_t ma, const T* Xp, std::int64_t sxa,
                    T* Op, std::int64_t sor) {
  constexpr int W = Vec<T>::W;
  vec_t<T> acc[RI][NV];
  for (int r = 0; r < RI; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = ACC ? simd::load(Op + r * sor + v * W) : simd::zero<T>();
  for (std::int64_t a = 0; a < K; ++a) {
    vec_t<T> x[NV];
    const T* xa = Xp + a * sxa;
    for (int v = 0; v < NV; ++v) {
      x[v] = simd::load(xa + v * W);
      simd::keep_in_register<T>(x[v]);  // one load per vector, reused by the RI rows
    }
    for (int r = 0; r < RI; ++r) {
      const T m = Mp[r * mr + a * ma];
      for (int v = 0; v < NV; ++v) acc[r][v] += m * x[v];
    }
  }
  for (int r = 0; r < RI; ++r)
    for (int v = 0; v < NV; ++v) simd::store(Op + r * sor + v * W, acc[r][v]);
}

template <class T, int NV, bool ACC>
inline void gemm_rows(std::int64_t NI, std::int64_t K, const T* Mp, std::int64_t mr, std::int64_t ma, const T* Xp,
                      std::int64_t sxa, T* Op, std::int64_t sor) {
  std::int64_t i = 0;
  for (; i + 4 <= NI; i += 4) mk_gemm<T, 4, NV, ACC>(K, Mp + i * mr, mr, ma, Xp, sxa, Op + i * sor, sor);
  for (; i < NI; ++i) mk_gemm<T, 1, NV, ACC>(K, Mp + i * mr, mr, ma, Xp, sxa, Op + i * sor, sor);
}

/// Strided "GEMM over a channel-innermost operand":
///   O(i, j, c) (+)= Σ_{a<K} M(i, a) X(a, j, c),  i < NI, j ∈ [j0, j1), c < C,
/// M(i,a) = Mp[i*mr + a*ma], X(a,j,c) = Xp[a*sxa + j*sxj + c], O(i,j,c) = Op[i*soi + j*soj + c].
/// The inner loop is an FMA over contiguous channel vectors, register-blocked 4 rows × up to 4 vectors.
template <class T, bool ACC>
inline void strided_gemm(std::int64_t NI, std::int64_t K, std::int64_t j0, std::int64_t j1, std::int64_t C,
                         const T* Mp, std::int64_t mr, std::int64_t ma, const T* Xp, std::int64_t sxa,
                         std::int64_t sxj, T* Op, std::int64_t soi, std::int64_t soj) {
  constexpr int W = Vec<T>::W;
  const std::int64_t Cv = (C / W) * W;
  for (std::int64_t j = j0; j < j1; ++j) {
    const T* Xj = Xp + j * sxj;
    T* Oj = Op + j * soj;
    std::int64_t c = 0;
    for (; c + 4 * W <= Cv; c += 4 * W) gemm_rows<T, 4, ACC>(NI, K, Mp, mr, ma, Xj + c, sxa, Oj + c, soi);
    const std::int64_t rem = (Cv - c) / W;
    if (rem == 3) gemm_rows<T, 3, ACC>(NI, K, Mp, mr, ma, Xj + c, sxa, Oj + c, soi);
    if (rem == 2) gemm_rows<T, 2, ACC>(NI, K, Mp, mr, ma, Xj + c, sxa, Oj + c, soi);
    if (rem == 1) gemm_rows<T, 1, ACC>(NI, K, Mp, mr, ma, Xj + c, sxa, Oj + c, soi);
    for (c = Cv; c < C; ++c) {  // scalar channel tail
      for (std::int64_t i = 0; i < NI; ++i) {
        T s = ACC ? Oj[i * soi + c] : T(0);
        for (std::int64_t a = 0; a < K; ++a) s += Mp[i * mr + a * ma] * Xj[a * sxa + c];
        Oj[i * soi + c] = s;
      }
    }
  }
}

/// Two-term variant used by the backward: O(r, v) += Σ_a [M1(r,a) X1(a,v) + M2(r,a) X2(a,v)].
/// Summing two contractions into one register tile halves the read-modify-write traffic on the output.
template <class T, int RI, int NV>
inline void mk_gemm2(std::int64_t K, const T* M1, std::int64_t m1r, std::int64_t m1a, const T* M2, std::int64_t m2r,
                     std::int64_t m2a, const T* X1, const T* X2, std::int64_t sxa, T* Op, std::int64_t sor) {
  constexpr int W = Vec<T>::W;
  vec_t<T> acc[RI][NV];
  for (int r = 0; r < RI; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = simd::load(Op + r * sor + v * W);
  for (std::int64_t a = 0; a < K; ++a) {
    vec_t<T> x1[NV], x2[NV];
    for (int v = 0; v < NV; ++v) {
      x1[v] = simd::load(X1 + a * sxa + v * W);
      simd::keep_in_register<T>(x1[v]);
      x2[v] = simd::load(X2 + a * sxa + v * W);
      simd::keep_in_register<T>(x2[v]);
    }
    for (int r = 0; r < RI; ++r) {
      const T m1 = M1[r * m1r + a * m1a], m2 = M2[r * m2r + a * m2a];
      for (int v = 0; v < NV; ++v) {
        acc[r][v] += m1 * x1[v];  // two separate FMAs (not mul + fma + add)
        acc[r][v] += m2 * x2[v];
      }
    }
  }
  for (int r = 0; r < RI; ++r)
    for (int v = 0; v < NV; ++v) simd::store(Op + r * sor + v * W, acc[r][v]);
}

template <class T, int NV>
inline void gemm2_rows(std::int64_t NI, std::int64_t K, const T* M1, std::int64_t m1r, std::int64_t m1a, const T* M2,
                       std::int64_t m2r, std::int64_t m2a, const T* X1, const T* X2, std::int64_t sxa, T* Op,
                       std::int64_t sor) {
  std::int64_t i = 0;
  for (; i + 4 <= NI; i += 4)
    mk_gemm2<T, 4, NV>(K, M1 + i * m1r, m1r, m1a, M2 + i * m2r, m2r, m2a, X1, X2, sxa, Op + i * sor, sor);
  for (; i < NI; ++i)
    mk_gemm2<T, 1, NV>(K, M1 + i * m1r, m1r, m1a, M2 + i * m2r, m2r, m2a, X1, X2, sxa, Op + i * sor, sor);
}

/// O(i,j,c) += Σ_a [M1(i,a) X1(a,j,c) + M2(i,a) X2(a,j,c)] (X1, X2 share strides); see `strided_gemm`.
template <class T>
inline void strided_gemm2(std::int64_t NI, std::int64_t K, std::int64_t j0, std::int64_t j1, std::int64_t C,
                          const T* M1, std::int64_t m1r, std::int64_t m1a, const T* M2, std::int64_t m2r,
                          std::int64_t m2a, const T* X1, const T* X2, std::int64_t sxa, std::int64_t sxj, T* Op,
                          std::int64_t soi, std::int64_t soj) {
  constexpr int W = Vec<T>::W;
  const std::int64_t Cv = (C / W) * W;
  for (std::int64_t j = j0; j < j1; ++j) {
    const T* X1j = X1 + j * sxj;
    const T* X2j = X2 + j * sxj;
    T* Oj = Op + j * soj;
    std::int64_t c = 0;
    for (; c + 4 * W <= Cv; c += 4 * W)
      gemm2_rows<T, 4>(NI, K, M1, m1r, m1a, M2, m2r, m2a, X1j + c, X2j + c, sxa, Oj + c, soi);
    const std::int64_t rem = (Cv - c) / W;
    if (rem == 3) gemm2_rows<T, 3>(NI, K, M1, m1r, m1a, M2, m2r, m2a, X1j + c, X2j + c, sxa, Oj + c, soi);
    if (rem == 2) gemm2_rows<T, 2>(NI, K, M1, m1r, m1a, M2, m2r, m2a, X1j + c, X2j + c, sxa, Oj + c, soi);
    if (rem == 1) gemm2_rows<T, 1>(NI, K, M1, m1r, m1a, M2, m2r, m2a, X1j + c, X2j + c, sxa, Oj + c, soi);
    for (c = Cv; c < C; ++c)
      for (std::int64_t i = 0; i < NI; ++i) {
        T acc = Oj[i * soi + c];
        for (std::int64_t a = 0; a < K; ++a)
          acc += M1[i * m1r + a * m1a] * X1j[a * sxa + c] + M2[i * m2r + a * m2a] * X2j[a * sxa + c];
        Oj[i * soi + c] = acc;
      }
  }
}

/// Blocked dot-product kernel: D(p,q) += Σ_{j<J} Σ_{c<C} X(p,j,c) Y(q,j,c) for p ∈ [p0,p1), q < NQ,
/// X(p,j,c) = Xp[p*sxp + j*sxj + c], Y(q,j,c) = Yp[q*syq + j*syj + c], D(p,q) = Dp[p*dp + q*dq].
template <class T, int RP, int RQ>
inline void mk_dot(std::int64_t J, std::int64_t C, const T* Xp, std::int64_t sxp, std::int64_t sxj, const T* Yp,
                   std::int64_t syq, std::int64_t syj, T* Dp, std::int64_t dp, std::int64_t dq) {
  constexpr int W = Vec<T>::W;
  const std::int64_t Cv = (C / W) * W;
  vec_t<T> acc[RP][RQ];
  T tail[RP][RQ];
  for (int p = 0; p < RP; ++p)
    for (int q = 0; q < RQ; ++q) {
      acc[p][q] = simd::zero<T>();
      tail[p][q] = T(0);
    }
  for (std::int64_t j = 0; j < J; ++j) {
    const T* xj = Xp + j * sxj;
    const T* yj = Yp + j * syj;
    for (std::int64_t c = 0; c < Cv; c += W) {
      vec_t<T> x[RP], y[RQ];
      for (int p = 0; p < RP; ++p) {
        x[p] = simd::load(xj + p * sxp + c);
        simd::keep_in_register<T>(x[p]);
      }
      for (int q = 0; q < RQ; ++q) {
        y[q] = simd::load(yj + q * syq + c);
        simd::keep_in_register<T>(y[q]);
      }
      for (int p = 0; p < RP; ++p)
        for (int q = 0; q < RQ; ++q) acc[p][q] += x[p] * y[q];
    }
    for (std::int64_t c = Cv; c < C; ++c)
      for (int p = 0; p < RP; ++p)
        for (int q = 0; q < RQ; ++q) tail[p][q] += xj[p * sxp + c] * yj[q * syq + c];
  }
  for (int p = 0; p < RP; ++p)
    for (int q = 0; q < RQ; ++q) Dp[p * dp + q * dq] += simd::hsum<T>(acc[p][q]) + tail[p][q];
}

template <class T>
inline void strided_dot(std::int64_t p0, std::int64_t p1, std::int64_t NQ, std::int64_t J, std::int64_t C,
                        const T* Xp, std::int64_t sxp, std::int64_t sxj, const T* Yp, std::int64_t syq,
                        std::int64_t syj, T* Dp, std::int64_t dp, std::int64_t dq) {
  std::int64_t p = p0;
  for (; p + 2 <= p1; p += 2) {
    std::int64_t q = 0;
    for (; q + 4 <= NQ; q += 4)
      mk_dot<T, 2, 4>(J, C, Xp + p * sxp, sxp, sxj, Yp + q * syq, syq, syj, Dp + p * dp + q * dq, dp, dq);
    for (; q < NQ; ++q)
      mk_dot<T, 2, 1>(J, C, Xp + p * sxp, sxp, sxj, Yp + q * syq, syq, syj, Dp + p * dp + q * dq, dp, dq);
  }
  for (; p < p1; ++p) {
    std::int64_t q = 0;
    for (; q + 4 <= NQ; q += 4)
      mk_dot<T, 1, 4>(J, C, Xp + p * sxp, sxp, sxj, Yp + q * syq, syq, syj, Dp + p * dp + q * dq, dp, dq);
    for (; q < NQ; ++q)
      mk_dot<T, 1, 1>(J, C, Xp + p * sxp, sxp, sxj, Yp + q * syq, syq, syj, Dp + p * dp + q * dq, dp, dq);
  }
}

/// A unit of parallel work: rows/columns [r0, r1) of graph g.
struct Task {
  std::int64_t g, r0, r1;
};

/// Splits each graph's n rows into chunks (one chunk per graph for n < 64; 32-row chunks beyond),
/// so that a batch of small graphs parallelises over graphs and a single large graph over rows.
inline std::vector<Task> make_tasks(std::int64_t B, const std::int64_t* node_off) {
  std::vector<Task> t;
  t.reserve(static_cast<std::size_t>(B));
  for (std::int64_t g = 0; g < B; ++g) {
    const std::int64_t n = node_off[g + 1] - node_off[g];
    if (n == 0) continue;
    const std::int64_t step = n < 64 ? n : 32;
    for (std::int64_t r = 0; r < n; r += step) t.push_back({g, r, std::min(n, r + step)});
  }
  return t;
}

/// Runs f over the tasks, in parallel when the batch holds at least `work` ≥ kParallelMinWork.
template <class F>
inline void parallel_tasks(const std::vector<Task>& tasks, std::int64_t work, F&& f) {
  const std::int64_t nt = static_cast<std::int64_t>(tasks.size());
  const bool par = nt > 1 && work >= kParallelMinWork;
  (void)par;
#if defined(_OPENMP)
#pragma omp parallel for schedule(dynamic) if (par)
#endif
  for (std::int64_t t = 0; t < nt; ++t) f(tasks[static_cast<std::size_t>(t)]);
}

/// Σ_g n_g³ · ch: the work of a batch of n³ kernels (for the parallel-region threshold).
inline std::int64_t cubic_work(std::int64_t B, const std::int64_t* node_off, std::int64_t ch) {
  std::int64_t w = 0;
  for (std::int64_t g = 0; g < B; ++g) {
    const std::int64_t n = node_off[g + 1] - node_off[g];
    w += n * n * n * ch;
  }
  return w;
}

template <class T>
inline void check_mp_args(const char* fn, std::int64_t B, const std::int64_t* node_off, const std::int64_t* pair_off,
                          std::int64_t E, std::int64_t C) {
  check_ragged(fn, B, node_off, pair_off);
  check_arg(B == 0 || pair_off != nullptr, fn, "pair_off", "is null");
  check_count(fn, "E", E, true);
  check_count(fn, "C", C);
}

/// Σ_{p on the diagonal} val[p, e] of graph rows [o0, o0+n) of a CSR adjacency: tr(A_e), written to trA[0..E).
template <class T>
inline void csr_trace(std::int64_t n, std::int64_t o0, const std::int64_t* row_ptr, const std::int64_t* col,
                      const T* val, std::int64_t E, T* trA) {
  for (std::int64_t e = 0; e < E; ++e) trA[e] = T(0);
  for (std::int64_t r = 0; r < n; ++r)
    for (std::int64_t p = row_ptr[o0 + r]; p < row_ptr[o0 + r + 1]; ++p)
      if (col[p] - o0 == r)
        for (std::int64_t e = 0; e < E; ++e) trA[e] += val[p * E + e];
}

/// Index of CSR entry p (row r of graph g) in the dense ragged [Σn², E] layout, channel e.
inline std::int64_t csr_dense_index(const std::int64_t* node_off, const std::int64_t* pair_off,
                                    const std::int64_t* col, std::int64_t g, std::int64_t r, std::int64_t p,
                                    std::int64_t E, std::int64_t e) {
  const std::int64_t n = node_off[g + 1] - node_off[g];
  return (pair_off[g] + (r - node_off[g]) * n + (col[p] - node_off[g])) * E + e;
}

/// Dense copy [Σn², E] of a CSR adjacency (duplicate entries add up), for IndependentSums mode.
template <class T>
inline std::vector<T> csr_densify(std::int64_t B, const std::int64_t* node_off, const std::int64_t* pair_off,
                                  const std::int64_t* row_ptr, const std::int64_t* col, const T* val, std::int64_t E) {
  std::vector<T> Ad(static_cast<std::size_t>((B ? pair_off[B] : 0) * E), T(0));
  for (std::int64_t g = 0; g < B; ++g)
    for (std::int64_t r = node_off[g]; r < node_off[g + 1]; ++r)
      for (std::int64_t p = row_ptr[r]; p < row_ptr[r + 1]; ++p)
        for (std::int64_t e = 0; e < E; ++e)
          Ad[csr_dense_index(node_off, pair_off, col, g, r, p, E, e)] += val[p * E + e];
  return Ad;
}

}  // namespace detail

// ------------------------------------------------------------------------------------------------
// Dense A: forward
// ------------------------------------------------------------------------------------------------

/// Fused Eq. 3 contractions, dense adjacency.
/// @param B        number of graphs
/// @param node_off [B+1] node offsets; @param pair_off [B+1] pair offsets (Σ n_h²)
/// @param A        [Σn², E] adjacency with E edge channels, `[(pair_off[g] + i*n+j)*E + e]`
/// @param H        [Σn², C] second-order features
/// @param out      [Σn², 6·E·C] (overwritten), channel order (k, e, c), see the file comment
/// @throw std::invalid_argument for bad offsets, E < 1, C < 0 or null buffers.
template <class T>
void fused_contract_forward(std::int64_t B, const std::int64_t* node_off, const std::int64_t* pair_off, const T* A,
                            std::int64_t E, const T* H, std::int64_t C, T* out,
                            ContractionMode mode = ContractionMode::Trace) {
  constexpr const char* fn = "fused_contract_forward";
  detail::check_mp_args<T>(fn, B, node_off, pair_off, E, C);
  const std::int64_t P = B ? pair_off[B] : 0;
  check_ptr(fn, "A", A, P * E);
  check_ptr(fn, "H", H, P * C);
  check_ptr(fn, "out", out, P * 6 * E * C);
  const std::int64_t EC = E * C, S = 6 * EC;
  if (mode == ContractionMode::Trace) {
    const auto tasks = detail::make_tasks(B, node_off);
    const std::int64_t work = detail::cubic_work(B, node_off, E * C);
    detail::parallel_tasks(tasks, work, [&](const detail::Task& tk) {
      const std::int64_t n = node_off[tk.g + 1] - node_off[tk.g];
      const T* Ag = A + pair_off[tk.g] * E;
      const T* Hg = H + pair_off[tk.g] * C;
      T* Og = out + pair_off[tk.g] * S;
      std::vector<T> trH(static_cast<std::size_t>(C));
      detail::diag_trace(n, C, Hg, trH.data());
      for (std::int64_t e = 0; e < E; ++e) {
        T trA = 0;
        for (std::int64_t a = 0; a < n; ++a) trA += Ag[(a * n + a) * E + e];
        const std::int64_t eo = e * C;
        // k=0 (1,2): tr(A_e) H_ij ;  k=5 (3,4): A_ij,e tr(H)
        for (std::int64_t i = 0; i < n; ++i)
          for (std::int64_t j = tk.r0; j < tk.r1; ++j) {
            T* o = Og + (i * n + j) * S + eo;
            const T* h = Hg + (i * n + j) * C;
            const T aij = Ag[(i * n + j) * E + e];
            for (std::int64_t c = 0; c < C; ++c) {
              o[c] = trA * h[c];
              o[5 * EC + c] = aij * trH[c];
            }
          }
        // k=1 (1,3): O_ij = Σ_a A_ai H_aj      M(i,a)=A[a,i]
        detail::strided_gemm<T, false>(n, n, tk.r0, tk.r1, C, Ag + e, E, n * E, Hg, n * C, C, Og + 1 * EC + eo,
                                       n * S, S);
        // k=2 (2,3): O_ij = Σ_b A_ib H_bj      M(i,b)=A[i,b]
        detail::strided_gemm<T, false>(n, n, tk.r0, tk.r1, C, Ag + e, n * E, E, Hg, n * C, C, Og + 2 * EC + eo,
                                       n * S, S);
        // k=3 (1,4): O_ij = Σ_a A_ai H_ja      X(a,j)=H[j,a]
        detail::strided_gemm<T, false>(n, n, tk.r0, tk.r1, C, Ag + e, E, n * E, Hg, C, n * C, Og + 3 * EC + eo,
                                       n * S, S);
        // k=4 (2,4): O_ij = Σ_b A_ib H_jb
        detail::strided_gemm<T, false>(n, n, tk.r0, tk.r1, C, Ag + e, n * E, E, Hg, C, n * C, Og + 4 * EC + eo,
                                       n * S, S);
      }
    });
    return;
  }
  // IndependentSums: O(n²EC) per graph.
  detail::for_each_graph(B, node_off, C, [&](std::int64_t g, std::int64_t n) {
    const T* Ag = A + pair_off[g] * E;
    const T* Hg = H + pair_off[g] * C;
    T* Og = out + pair_off[g] * S;
    const detail::Marg2<T> mA(n, E, Ag), mH(n, C, Hg);
    const std::vector<T>&rA = mA.r, &cA = mA.s, &sA = mA.tot, &rH = mH.r, &cH = mH.s, &sH = mH.tot;
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < n; ++j)
        for (std::int64_t e = 0; e < E; ++e) {
          T* o = Og + (i * n + j) * S + e * C;
          const T* h = Hg + (i * n + j) * C;
          const T aij = Ag[(i * n + j) * E + e], ca = cA[i * E + e], ra = rA[i * E + e];
          for (std::int64_t c = 0; c < C; ++c) {
            o[c] = sA[e] * h[c];
            o[1 * EC + c] = ca * cH[j * C + c];
            o[2 * EC + c] = ra * cH[j * C + c];
            o[3 * EC + c] = ca * rH[j * C + c];
            o[4 * EC + c] = ra * rH[j * C + c];
            o[5 * EC + c] = aij * sH[c];
          }
        }
  });
}

// ------------------------------------------------------------------------------------------------
// Dense A: backward
// ------------------------------------------------------------------------------------------------

/// Vector-Jacobian product of `fused_contract_forward`.
/// @param grad_out [Σn², 6EC] upstream gradient
/// @param grad_H   [Σn², C]   overwritten with ∂L/∂H
/// @param grad_A   [Σn², E]   overwritten with ∂L/∂A, or nullptr to skip (saves 4n³EC multiply-adds)
/// @throw std::invalid_argument as the forward.
template <class T>
void fused_contract_backward(std::int64_t B, const std::int64_t* node_off, const std::int64_t* pair_off, const T* A,
                             std::int64_t E, const T* H, std::int64_t C, const T* grad_out, T* grad_H, T* grad_A,
                             ContractionMode mode = ContractionMode::Trace) {
  constexpr const char* fn = "fused_contract_backward";
  detail::check_mp_args<T>(fn, B, node_off, pair_off, E, C);
  const std::int64_t P = B ? pair_off[B] : 0;
  check_ptr(fn, "A", A, P * E);
  check_ptr(fn, "H", H, P * C);
  check_ptr(fn, "grad_out", grad_out, P * 6 * E * C);
  check_ptr(fn, "grad_H", grad_H, P * C);
  const std::int64_t EC = E * C, S = 6 * EC;
  if (mode == ContractionMode::Trace) {
    const auto tasks = detail::make_tasks(B, node_off);
    const std::int64_t work = detail::cubic_work(B, node_off, E * C);
    // Phase 1: columns j ∈ [r0, r1) of grad_H: k=0, k=5 (diagonal), k=1, k=2.
    detail::parallel_tasks(tasks, work, [&](const detail::Task& tk) {
      const std::int64_t n = node_off[tk.g + 1] - node_off[tk.g];
      const T* Ag = A + pair_off[tk.g] * E;
      const T* Gg = grad_out + pair_off[tk.g] * S;
      T* dH = grad_H + pair_off[tk.g] * C;
      std::vector<T> trA(static_cast<std::size_t>(E)), g5(C, T(0));
      detail::diag_trace(n, E, Ag, trA.data());
      // ∂/∂H_aa of k=5: Σ_{ij,e} G5[i,j,e,c] A_ij,e  (only needed if a diagonal entry lies in the range)
      for (std::int64_t p = 0; p < n * n; ++p)
        for (std::int64_t e = 0; e < E; ++e) {
          const T a = Ag[p * E + e];
          const T* g = Gg + p * S + 5 * EC + e * C;
          for (std::int64_t c = 0; c < C; ++c) g5[c] += a * g[c];
        }
      for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = tk.r0; j < tk.r1; ++j) {
          T* d = dH + (i * n + j) * C;
          const T* g = Gg + (i * n + j) * S;
          for (std::int64_t c = 0; c < C; ++c) d[c] = (i == j) ? g5[c] : T(0);
          for (std::int64_t e = 0; e < E; ++e)
            for (std::int64_t c = 0; c < C; ++c) d[c] += trA[e] * g[e * C + c];
        }
      for (std::int64_t e = 0; e < E; ++e)
        // k=1: O = Aᵀ H ⇒ dH(a,j) += Σ_i A(a,i) G1(i,j);   k=2: O = A H ⇒ dH(b,j) += Σ_i A(i,b) G2(i,j)
        detail::strided_gemm2<T>(n, n, tk.r0, tk.r1, C, Ag + e, n * E, E, Ag + e, E, n * E, Gg + 1 * EC + e * C,
                                 Gg + 2 * EC + e * C, n * S, S, dH, n * C, C);
    });
    // Phase 2: rows j ∈ [r0, r1) of grad_H: k=3, k=4.
    detail::parallel_tasks(tasks, work, [&](const detail::Task& tk) {
      const std::int64_t n = node_off[tk.g + 1] - node_off[tk.g];
      const T* Ag = A + pair_off[tk.g] * E;
      const T* Gg = grad_out + pair_off[tk.g] * S;
      T* dH = grad_H + pair_off[tk.g] * C;
      for (std::int64_t e = 0; e < E; ++e)
        // k=3: O_ij = Σ_a A_ai H_ja ⇒ dH(j,a) += Σ_i A(a,i) G3(i,j);
        // k=4: O_ij = Σ_b A_ib H_jb ⇒ dH(j,b) += Σ_i A(i,b) G4(i,j)
        detail::strided_gemm2<T>(n, n, tk.r0, tk.r1, C, Ag + e, n * E, E, Ag + e, E, n * E, Gg + 3 * EC + e * C,
                                 Gg + 4 * EC + e * C, n * S, S, dH, C, n * C);
    });
    if (grad_A == nullptr) return;
    // Phase 3: rows p ∈ [r0, r1) of grad_A.
    detail::parallel_tasks(tasks, work, [&](const detail::Task& tk) {
      const std::int64_t n = node_off[tk.g + 1] - node_off[tk.g];
      const T* Hg = H + pair_off[tk.g] * C;
      const T* Gg = grad_out + pair_off[tk.g] * S;
      T* dA = grad_A + pair_off[tk.g] * E;
      std::vector<T> trH(static_cast<std::size_t>(C));
      detail::diag_trace(n, C, Hg, trH.data());
      for (std::int64_t e = 0; e < E; ++e) {
        const T* G = Gg + e * C;
        for (std::int64_t p = tk.r0; p < tk.r1; ++p)
          for (std::int64_t q = 0; q < n; ++q) {  // k=5: Σ_c G5 tr(H)
            T s = 0;
            const T* g = G + (p * n + q) * S + 5 * EC;
            for (std::int64_t c = 0; c < C; ++c) s += g[c] * trH[c];
            dA[(p * n + q) * E + e] = s;
          }
        // k=0: ∂/∂A_pp = <G0, H>
        {
          T s = 0;
          for (std::int64_t ij = 0; ij < n * n; ++ij)
            for (std::int64_t c = 0; c < C; ++c) s += G[ij * S + c] * Hg[ij * C + c];
          for (std::int64_t p = tk.r0; p < tk.r1; ++p) dA[(p * n + p) * E + e] += s;
        }
        // k=1: dA(a,i) += Σ_j <H(a,j), G1(i,j)>
        detail::strided_dot<T>(tk.r0, tk.r1, n, n, C, Hg, n * C, C, G + 1 * EC, n * S, S, dA + e, n * E, E);
        // k=2: dA(i,b) += Σ_j <G2(i,j), H(b,j)>
        detail::strided_dot<T>(tk.r0, tk.r1, n, n, C, G + 2 * EC, n * S, S, Hg, n * C, C, dA + e, n * E, E);
        // k=3: dA(a,i) += Σ_j <H(j,a), G3(i,j)>
        detail::strided_dot<T>(tk.r0, tk.r1, n, n, C, Hg, C, n * C, G + 3 * EC, n * S, S, dA + e, n * E, E);
        // k=4: dA(i,b) += Σ_j <G4(i,j), H(j,b)>
        detail::strided_dot<T>(tk.r0, tk.r1, n, n, C, G + 4 * EC, n * S, S, Hg, C, n * C, dA + e, n * E, E);
      }
    });
    return;
  }
  // IndependentSums backward, O(n²EC) per graph.
  detail::for_each_graph(B, node_off, C, [&](std::int64_t g, std::int64_t n) {
    const T* Ag = A + pair_off[g] * E;
    const T* Hg = H + pair_off[g] * C;
    const T* Gg = grad_out + pair_off[g] * S;
    T* dH = grad_H + pair_off[g] * C;
    const detail::Marg2<T> mA(n, E, Ag), mH(n, C, Hg);
    const std::vector<T>&rA = mA.r, &cA = mA.s, &sA = mA.tot, &rH = mH.r, &cH = mH.s, &sH = mH.tot;
    // Gradients w.r.t. the marginals of H: dcH_j = Σ_{i,e} (cA G1 + rA G2), drH_j = Σ (cA G3 + rA G4),
    // dsH = Σ_{ij,e} A G5; and of A: dcA_i = Σ_{j,c} (G1 cH + G3 rH), drA_i = Σ (G2 cH + G4 rH),
    // dsA_e = <G0_e, H>.
    std::vector<T> dcH(n * C, T(0)), drH(n * C, T(0)), dsH(C, T(0)), dcA(n * E, T(0)), drA(n * E, T(0)),
        dsA(E, T(0));
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < n; ++j) {
        T* d = dH + (i * n + j) * C;
        for (std::int64_t c = 0; c < C; ++c) d[c] = 0;
        for (std::int64_t e = 0; e < E; ++e) {
          const T* go = Gg + (i * n + j) * S + e * C;
          const T ca = cA[i * E + e], ra = rA[i * E + e], aij = Ag[(i * n + j) * E + e];
          T s1 = 0, s2 = 0, s0 = 0;
          for (std::int64_t c = 0; c < C; ++c) {
            d[c] += sA[e] * go[c];
            dcH[j * C + c] += ca * go[1 * EC + c] + ra * go[2 * EC + c];
            drH[j * C + c] += ca * go[3 * EC + c] + ra * go[4 * EC + c];
            dsH[c] += aij * go[5 * EC + c];
            s1 += go[1 * EC + c] * cH[j * C + c] + go[3 * EC + c] * rH[j * C + c];
            s2 += go[2 * EC + c] * cH[j * C + c] + go[4 * EC + c] * rH[j * C + c];
            s0 += go[c] * Hg[(i * n + j) * C + c];
          }
          dcA[i * E + e] += s1;
          drA[i * E + e] += s2;
          dsA[e] += s0;
        }
      }
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < n; ++j)
        for (std::int64_t c = 0; c < C; ++c) dH[(i * n + j) * C + c] += dcH[j * C + c] + drH[i * C + c] + dsH[c];
    if (grad_A != nullptr) {
      T* dA = grad_A + pair_off[g] * E;
      for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = 0; j < n; ++j)
          for (std::int64_t e = 0; e < E; ++e) {
            const T* go = Gg + (i * n + j) * S + e * C + 5 * EC;
            T s = 0;
            for (std::int64_t c = 0; c < C; ++c) s += go[c] * sH[c];
            dA[(i * n + j) * E + e] = s + dsA[e] + dcA[j * E + e] + drA[i * E + e];
          }
    }
  });
}

// ------------------------------------------------------------------------------------------------
// CSR A
// ------------------------------------------------------------------------------------------------

namespace detail {
template <class T>
inline void check_csr(const char* fn, std::int64_t B, const std::int64_t* node_off, const std::int64_t* row_ptr,
                      const std::int64_t* col) {
  if (B == 0) return;
  const std::int64_t N = node_off[B];
  check_arg(row_ptr != nullptr, fn, "row_ptr", "is null");
  check_arg(row_ptr[0] == 0, fn, "row_ptr", "must start at 0");
  for (std::int64_t g = 0; g < B; ++g)
    for (std::int64_t r = node_off[g]; r < node_off[g + 1]; ++r) {
      check_arg(row_ptr[r + 1] >= row_ptr[r], fn, "row_ptr", "must be non-decreasing at row " + std::to_string(r));
      for (std::int64_t p = row_ptr[r]; p < row_ptr[r + 1]; ++p)
        check_arg(col[p] >= node_off[g] && col[p] < node_off[g + 1], fn, "col",
                  "entry " + std::to_string(p) + " (row " + std::to_string(r) + ") leaves graph " + std::to_string(g) +
                      " (the CSR must be block diagonal)");
    }
  (void)N;
}
}  // namespace detail

/// Fused Eq. 3 contractions with a sparse (CSR, block-diagonal, global node indices) adjacency.
/// Trace mode touches only the nnz entries: per graph 4·nnz·n·E·C multiply-adds.
/// IndependentSums densifies A per graph (the output is n²·6EC anyway).
/// @param row_ptr [N+1], @param col [nnz] (global column index), @param val [nnz, E]
/// @throw std::invalid_argument for bad offsets or a column outside its graph.
template <class T>
void fused_contract_csr_forward(std::int64_t B, const std::int64_t* node_off, const std::int64_t* pair_off,
                                const std::int64_t* row_ptr, const std::int64_t* col, const T* val, std::int64_t E,
                                const T* H, std::int64_t C, T* out, ContractionMode mode = ContractionMode::Trace) {
  constexpr const char* fn = "fused_contract_csr_forward";
  detail::check_mp_args<T>(fn, B, node_off, pair_off, E, C);
  detail::check_csr<T>(fn, B, node_off, row_ptr, col);
  const std::int64_t EC = E * C, S = 6 * EC;
  if (mode == ContractionMode::IndependentSums) {
    const std::vector<T> Ad = detail::csr_densify(B, node_off, pair_off, row_ptr, col, val, E);
    fused_contract_forward<T>(B, node_off, pair_off, Ad.data(), E, H, C, out, mode);
    return;
  }
  detail::for_each_graph(B, node_off, C, [&](std::int64_t g, std::int64_t n) {
    const std::int64_t o0 = node_off[g];
    const T* Hg = H + pair_off[g] * C;
    T* Og = out + pair_off[g] * S;
    std::fill(Og, Og + n * n * S, T(0));
    std::vector<T> trH(static_cast<std::size_t>(C)), trA(static_cast<std::size_t>(E));
    detail::diag_trace(n, C, Hg, trH.data());
    detail::csr_trace(n, o0, row_ptr, col, val, E, trA.data());
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < n; ++j)
        for (std::int64_t e = 0; e < E; ++e)
          for (std::int64_t c = 0; c < C; ++c) Og[(i * n + j) * S + e * C + c] = trA[e] * Hg[(i * n + j) * C + c];
    for (std::int64_t r = 0; r < n; ++r)
      for (std::int64_t p = row_ptr[o0 + r]; p < row_ptr[o0 + r + 1]; ++p) {
        const std::int64_t s = col[p] - o0;  // entry A_rs
        for (std::int64_t e = 0; e < E; ++e) {
          const T v = val[p * E + e];
          const std::int64_t eo = e * C;
          T* o5 = Og + (r * n + s) * S + 5 * EC + eo;
          for (std::int64_t c = 0; c < C; ++c) o5[c] += v * trH[c];
          for (std::int64_t j = 0; j < n; ++j) {
            T* o1 = Og + (s * n + j) * S + 1 * EC + eo;  // k=1: O_sj += A_rs H_rj
            T* o2 = Og + (r * n + j) * S + 2 * EC + eo;  // k=2: O_rj += A_rs H_sj
            T* o3 = Og + (s * n + j) * S + 3 * EC + eo;  // k=3: O_sj += A_rs H_jr
            T* o4 = Og + (r * n + j) * S + 4 * EC + eo;  // k=4: O_rj += A_rs H_js
            const T* hrj = Hg + (r * n + j) * C;
            const T* hsj = Hg + (s * n + j) * C;
            const T* hjr = Hg + (j * n + r) * C;
            const T* hjs = Hg + (j * n + s) * C;
            for (std::int64_t c = 0; c < C; ++c) {
              o1[c] += v * hrj[c];
              o2[c] += v * hsj[c];
              o3[c] += v * hjr[c];
              o4[c] += v * hjs[c];
            }
          }
        }
      }
  });
}

/// Backward of `fused_contract_csr_forward`. grad_H [Σn², C] overwritten; grad_val [nnz, E] overwritten
/// (gradient w.r.t. the stored values only; the sparsity pattern is fixed) or nullptr to skip.
template <class T>
void fused_contract_csr_backward(std::int64_t B, const std::int64_t* node_off, const std::int64_t* pair_off,
                                 const std::int64_t* row_ptr, const std::int64_t* col, const T* val, std::int64_t E,
                                 const T* H, std::int64_t C, const T* grad_out, T* grad_H, T* grad_val,
                                 ContractionMode mode = ContractionMode::Trace) {
  constexpr const char* fn = "fused_contract_csr_backward";
  detail::check_mp_args<T>(fn, B, node_off, pair_off, E, C);
  detail::check_csr<T>(fn, B, node_off, row_ptr, col);
  const std::int64_t EC = E * C, S = 6 * EC;
  if (mode == ContractionMode::IndependentSums) {
    const std::vector<T> Ad = detail::csr_densify(B, node_off, pair_off, row_ptr, col, val, E);
    std::vector<T> dAd;
    if (grad_val) dAd.assign(Ad.size(), T(0));
    fused_contract_backward<T>(B, node_off, pair_off, Ad.data(), E, H, C, grad_out, grad_H,
                               grad_val ? dAd.data() : nullptr, mode);
    if (grad_val)
      for (std::int64_t g = 0; g < B; ++g)
        for (std::int64_t r = node_off[g]; r < node_off[g + 1]; ++r)
          for (std::int64_t p = row_ptr[r]; p < row_ptr[r + 1]; ++p)
            for (std::int64_t e = 0; e < E; ++e) grad_val[p * E + e] = dAd[detail::csr_dense_index(node_off, pair_off, col, g, r, p, E, e)];
    return;
  }
  detail::for_each_graph(B, node_off, C, [&](std::int64_t g, std::int64_t n) {
    const std::int64_t o0 = node_off[g];
    const T* Hg = H + pair_off[g] * C;
    const T* Gg = grad_out + pair_off[g] * S;
    T* dH = grad_H + pair_off[g] * C;
    std::vector<T> trH(static_cast<std::size_t>(C)), trA(static_cast<std::size_t>(E)), g5(C, T(0)), g0H(E, T(0));
    detail::diag_trace(n, C, Hg, trH.data());
    detail::csr_trace(n, o0, row_ptr, col, val, E, trA.data());
    for (std::int64_t ij = 0; ij < n * n; ++ij)
      for (std::int64_t c = 0; c < C; ++c) {
        T s = 0;
        for (std::int64_t e = 0; e < E; ++e) s += trA[e] * Gg[ij * S + e * C + c];
        dH[ij * C + c] = s;
      }
    if (grad_val)
      for (std::int64_t e = 0; e < E; ++e)
        for (std::int64_t ij = 0; ij < n * n; ++ij)
          for (std::int64_t c = 0; c < C; ++c) g0H[e] += Gg[ij * S + e * C + c] * Hg[ij * C + c];
    for (std::int64_t r = 0; r < n; ++r)
      for (std::int64_t p = row_ptr[o0 + r]; p < row_ptr[o0 + r + 1]; ++p) {
        const std::int64_t s = col[p] - o0;
        for (std::int64_t e = 0; e < E; ++e) {
          const T v = val[p * E + e];
          const std::int64_t eo = e * C;
          const T* g5p = Gg + (r * n + s) * S + 5 * EC + eo;
          T dv = 0;
          for (std::int64_t c = 0; c < C; ++c) {
            g5[c] += v * g5p[c];
            dv += g5p[c] * trH[c];
          }
          if (r == s) dv += g0H[e];
          for (std::int64_t j = 0; j < n; ++j) {
            const T* g1 = Gg + (s * n + j) * S + 1 * EC + eo;
            const T* g2 = Gg + (r * n + j) * S + 2 * EC + eo;
            const T* g3 = Gg + (s * n + j) * S + 3 * EC + eo;
            const T* g4 = Gg + (r * n + j) * S + 4 * EC + eo;
            T* hrj = dH + (r * n + j) * C;
            T* hsj = dH + (s * n + j) * C;
            T* hjr = dH + (j * n + r) * C;
            T* hjs = dH + (j * n + s) * C;
            const T* Hrj = Hg + (r * n + j) * C;
            const T* Hsj = Hg + (s * n + j) * C;
            const T* Hjr = Hg + (j * n + r) * C;
            const T* Hjs = Hg + (j * n + s) * C;
            for (std::int64_t c = 0; c < C; ++c) {
              hrj[c] += v * g1[c];
              hsj[c] += v * g2[c];
              hjr[c] += v * g3[c];
              hjs[c] += v * g4[c];
              dv += g1[c] * Hrj[c] + g2[c] * Hsj[c] + g3[c] * Hjr[c] + g4[c] * Hjs[c];
            }
          }
          if (grad_val) grad_val[p * E + e] = dv;
        }
      }
    for (std::int64_t a = 0; a < n; ++a)
      for (std::int64_t c = 0; c < C; ++c) dH[(a * n + a) * C + c] += g5[c];
  });
}

// ------------------------------------------------------------------------------------------------
// Generic Def. 10 / Def. 11 (reference; small sizes only)
// ------------------------------------------------------------------------------------------------

/// How channels combine in `tensor_product`: Pairwise (C_x == C_y, out channel c = x_c · y_c) or
/// Outer (out channel cx*C_y + cy = x_cx · y_cy).
enum class ChannelMode { Pairwise, Outer };

/// Def. 10 for one graph: X [n^a, Cx] ⊗ Y [n^b, Cy] → out [n^(a+b), Cout], index (i_1..i_a, j_1..j_b)
/// flattened row-major (X's indices first). Cout = Cx (Pairwise) or Cx·Cy (Outer).
/// @throw std::invalid_argument for negative sizes or Pairwise with Cx != Cy.
template <class T>
void tensor_product(const T* X, int a, std::int64_t Cx, const T* Y, int b, std::int64_t Cy, std::int64_t n, T* out,
                    ChannelMode cm = ChannelMode::Outer) {
  constexpr const char* fn = "tensor_product";
  check_count(fn, "n", n);
  check_arg(a >= 0 && b >= 0, fn, "a/b", "orders must be non-negative");
  check_count(fn, "Cx", Cx);
  check_count(fn, "Cy", Cy);
  if (cm == ChannelMode::Pairwise) check_arg(Cx == Cy, fn, "Cy", "must equal Cx for ChannelMode::Pairwise");
  std::int64_t NX = 1, NY = 1;
  for (int k = 0; k < a; ++k) NX *= n;
  for (int k = 0; k < b; ++k) NY *= n;
  const std::int64_t Co = cm == ChannelMode::Pairwise ? Cx : Cx * Cy;
  for (std::int64_t ix = 0; ix < NX; ++ix)
    for (std::int64_t iy = 0; iy < NY; ++iy) {
      T* o = out + (ix * NY + iy) * Co;
      const T* x = X + ix * Cx;
      const T* y = Y + iy * Cy;
      if (cm == ChannelMode::Pairwise)
        for (std::int64_t c = 0; c < Cx; ++c) o[c] = x[c] * y[c];
      else
        for (std::int64_t cx = 0; cx < Cx; ++cx)
          for (std::int64_t cy = 0; cy < Cy; ++cy) o[cx * Cy + cy] = x[cx] * y[cy];
    }
}

/// Def. 11 for one graph: contracts X [n^order, C] along the pair (x, y) (1-based, any order of the two,
/// x != y) → out [n^(order-2), C] (overwritten); remaining indices keep their order.
/// Trace: i_x = i_y summed; IndependentSums: Σ_{i_x} Σ_{i_y}. Brute force over all n^order tuples.
/// @throw std::invalid_argument for order < 2, order > 8, x/y out of range or equal.
template <class T>
void contract(const T* X, std::int64_t n, int order, std::int64_t C, int x, int y, T* out,
              ContractionMode mode = ContractionMode::Trace) {
  constexpr const char* fn = "contract";
  check_arg(order >= 2 && order <= 8, fn, "order", "must be in [2, 8]");
  check_arg(x >= 1 && x <= order, fn, "x", "must be a dimension in [1, order]");
  check_arg(y >= 1 && y <= order, fn, "y", "must be a dimension in [1, order]");
  check_arg(x != y, fn, "y", "must differ from x");
  check_count(fn, "n", n);
  check_count(fn, "C", C);
  if (x > y) std::swap(x, y);
  std::int64_t NO = 1, NT = 1;
  for (int k = 0; k < order - 2; ++k) NO *= n;
  for (int k = 0; k < order; ++k) NT *= n;
  std::fill(out, out + NO * C, T(0));
  if (n == 0) return;
  std::vector<std::int64_t> idx(static_cast<std::size_t>(order), 0);
  for (std::int64_t t = 0; t < NT; ++t) {
    // decode t into idx (row-major)
    std::int64_t r = t;
    for (int k = order - 1; k >= 0; --k) {
      idx[k] = r % n;
      r /= n;
    }
    if (mode == ContractionMode::Trace && idx[x - 1] != idx[y - 1]) continue;
    std::int64_t o = 0;
    for (int k = 0; k < order; ++k)
      if (k != x - 1 && k != y - 1) o = o * n + idx[k];
    for (std::int64_t c = 0; c < C; ++c) out[o * C + c] += X[t * C + c];
  }
}

/// Naive materialising reference of `fused_contract_forward`: per graph builds T = A ⊗ H
/// ([n⁴, E·C], Outer channels, e-major) with `tensor_product`, contracts each of the six pairs with
/// `contract`, and writes the same layout as the fused kernel. O(n⁴·E·C) memory and time per graph.
template <class T>
void contraction_naive(std::int64_t B, const std::int64_t* node_off, const std::int64_t* pair_off, const T* A,
                       std::int64_t E, const T* H, std::int64_t C, T* out,
                       ContractionMode mode = ContractionMode::Trace) {
  constexpr const char* fn = "contraction_naive";
  detail::check_mp_args<T>(fn, B, node_off, pair_off, E, C);
  const std::int64_t EC = E * C, S = 6 * EC;
  std::vector<T> Tt, R;
  for (std::int64_t g = 0; g < B; ++g) {
    const std::int64_t n = node_off[g + 1] - node_off[g];
    if (n == 0) continue;
    Tt.assign(static_cast<std::size_t>(n * n * n * n * EC), T(0));
    R.assign(static_cast<std::size_t>(n * n * EC), T(0));
    tensor_product(A + pair_off[g] * E, 2, E, H + pair_off[g] * C, 2, C, n, Tt.data(), ChannelMode::Outer);
    for (int k = 0; k < 6; ++k) {
      contract(Tt.data(), n, 4, EC, kPairs[k][0], kPairs[k][1], R.data(), mode);
      for (std::int64_t ij = 0; ij < n * n; ++ij)
        for (std::int64_t ec = 0; ec < EC; ++ec) out[(pair_off[g] + ij) * S + k * EC + ec] = R[ij * EC + ec];
    }
  }
}

// ------------------------------------------------------------------------------------------------
// Readout Z = H↓₁ ⊕ H↓₂
// ------------------------------------------------------------------------------------------------

/// Z[(node_off[g]+i), 0:C] = Σ_a H_ai (sum over the first index), Z[.., C:2C] = Σ_b H_ib (second index).
/// @param Z [N, 2C] overwritten.
template <class T>
void readout_forward(std::int64_t B, const std::int64_t* node_off, const std::int64_t* pair_off, const T* H,
                     std::int64_t C, T* Z) {
  constexpr const char* fn = "readout_forward";
  check_ragged(fn, B, node_off, pair_off);
  check_arg(B == 0 || pair_off != nullptr, fn, "pair_off", "is null");
  check_count(fn, "C", C);
  detail::for_each_graph(B, node_off, C, [&](std::int64_t g, std::int64_t n) {
    const T* Hg = H + pair_off[g] * C;
    T* Zg = Z + node_off[g] * 2 * C;
    std::fill(Zg, Zg + n * 2 * C, T(0));
    for (std::int64_t a = 0; a < n; ++a)
      for (std::int64_t b = 0; b < n; ++b)
        for (std::int64_t c = 0; c < C; ++c) {
          const T v = Hg[(a * n + b) * C + c];
          Zg[b * 2 * C + c] += v;      // ↓1: indexed by the remaining second index
          Zg[a * 2 * C + C + c] += v;  // ↓2
        }
  });
}

/// Backward of `readout_forward`: grad_H[a,b,c] = dZ[b, c] + dZ[a, C + c] (overwritten).
template <class T>
void readout_backward(std::int64_t B, const std::int64_t* node_off, const std::int64_t* pair_off,
                      const T* grad_Z, std::int64_t C, T* grad_H) {
  constexpr const char* fn = "readout_backward";
  check_ragged(fn, B, node_off, pair_off);
  check_arg(B == 0 || pair_off != nullptr, fn, "pair_off", "is null");
  check_count(fn, "C", C);
  detail::for_each_graph(B, node_off, C, [&](std::int64_t g, std::int64_t n) {
    const T* dZ = grad_Z + node_off[g] * 2 * C;
    T* dH = grad_H + pair_off[g] * C;
    for (std::int64_t a = 0; a < n; ++a)
      for (std::int64_t b = 0; b < n; ++b)
        for (std::int64_t c = 0; c < C; ++c) dH[(a * n + b) * C + c] = dZ[b * 2 * C + c] + dZ[a * 2 * C + C + c];
  });
}

}  // namespace mgvae::kernels::cpu
