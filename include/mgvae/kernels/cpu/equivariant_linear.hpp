#pragma once
/// @file equivariant_linear.hpp
/// Basis expansions of the permutation-equivariant linear maps (Maron, Ben-Hamu, Shamir, Lipman,
/// "Invariant and Equivariant Graph Networks", ICLR 2019) on ragged batches, forward and adjoint.
/// Each expansion writes `[.., k·C]` basis-major (`[row*k*C + b*C + c]`, b = basis index); a learnable
/// channel Linear (k·C → O) then mixes them, which gives the general equivariant layer.
///
/// Notation for one graph (n nodes, channel c implicit): X is n×n, x is n-vector,
///   r_i = Σ_j X_ij (row sums),  s_j = Σ_i X_ij (column sums),  d_i = X_ii,  tr = Σ_i X_ii,  tot = Σ_ij X_ij.
/// `normalize` (the authors' 'mean', REFERENCE-NOTES §2.5): r, s, tr and first-order sums are divided by n,
/// tot by n²; the diagonal d and the identity/transpose are never scaled. α = 1/n (or 1), β = 1/n² (or 1).
///
/// 2→2 (15 maps), output b:
///   0: δ_ij d_i        1: δ_ij α tr      2: δ_ij α r_i     3: δ_ij α s_i     4: δ_ij β tot
///   5: α s_j (col sums broadcast down the rows)       6: α s_i (col sums broadcast along the rows)
///   7: α r_j            8: α r_i          9: X_ij (identity)   10: X_ji (transpose)
///   11: d_j             12: d_i           13: α tr (everywhere)    14: β tot (everywhere)
/// 2→1 (5 maps): 0: α r_i   1: α s_i   2: d_i   3: β tot   4: α tr.
/// 1→2 (5 maps): 0: δ_ij x_i   1: x_i (broadcast along row i)   2: x_j (broadcast along column j)
///               3: α Σ_k x_k (everywhere)   4: δ_ij α Σ_k x_k (on the diagonal).
/// 1→1 (2 maps): 0: x_i   1: α Σ_k x_k.
/// outer_product: Y_ij,c = z_i,c z_j,c (the authors' `einsum('bic,bjc->bijc')`).
///
/// Every backward is the exact adjoint (grad_X is overwritten). Cost: O(n²C) per graph.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "mgvae/core/error.hpp"
#include "mgvae/kernels/common/ragged.hpp"
#include "mgvae/kernels/cpu/graph_loop.hpp"

namespace mgvae::kernels::cpu {

namespace detail {
template <class T>
inline T alpha_of(std::int64_t n, bool normalize) {
  return (normalize && n > 0) ? T(1) / static_cast<T>(n) : T(1);
}
template <class T>
inline T beta_of(std::int64_t n, bool normalize) {
  return (normalize && n > 0) ? T(1) / static_cast<T>(n * n) : T(1);
}
inline void check_eq_args(const char* fn, std::int64_t B, const std::int64_t* node_off, const std::int64_t* pair_off,
                          std::int64_t C, bool need_pairs = true) {
  check_ragged(fn, B, node_off, pair_off);
  check_arg(!need_pairs || B == 0 || pair_off != nullptr, fn, "pair_off", "is null");
  check_count(fn, "C", C);
}
}  // namespace detail

/// 2→2 basis expansion: X [Σn², C] → out [Σn², 15·C] (overwritten). @throw std::invalid_argument on bad offsets.
template <class T>
void equivariant_2to2_forward(std::int64_t B, const std::int64_t* node_off, const std::int64_t* pair_off, const T* X,
                              std::int64_t C, T* out, bool normalize = false) {
  detail::check_eq_args("equivariant_2to2_forward", B, node_off, pair_off, C);
  const std::int64_t S = 15 * C;
  detail::for_each_graph(B, node_off, C, [&](std::int64_t g, std::int64_t n) {
    const T* Xg = X + pair_off[g] * C;
    T* O = out + pair_off[g] * S;
    const detail::Marg2<T> m(n, C, Xg);
    const T a = detail::alpha_of<T>(n, normalize), be = detail::beta_of<T>(n, normalize);
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < n; ++j) {
        T* o = O + (i * n + j) * S;
        const bool dg = i == j;
        for (std::int64_t c = 0; c < C; ++c) {
          o[0 * C + c] = dg ? m.d[i * C + c] : T(0);
          o[1 * C + c] = dg ? a * m.tr[c] : T(0);
          o[2 * C + c] = dg ? a * m.r[i * C + c] : T(0);
          o[3 * C + c] = dg ? a * m.s[i * C + c] : T(0);
          o[4 * C + c] = dg ? be * m.tot[c] : T(0);
          o[5 * C + c] = a * m.s[j * C + c];
          o[6 * C + c] = a * m.s[i * C + c];
          o[7 * C + c] = a * m.r[j * C + c];
          o[8 * C + c] = a * m.r[i * C + c];
          o[9 * C + c] = Xg[(i * n + j) * C + c];
          o[10 * C + c] = Xg[(j * n + i) * C + c];
          o[11 * C + c] = m.d[j * C + c];
          o[12 * C + c] = m.d[i * C + c];
          o[13 * C + c] = a * m.tr[c];
          o[14 * C + c] = be * m.tot[c];
        }
      }
  });
}

/// Adjoint of `equivariant_2to2_forward`: grad_out [Σn², 15C] → grad_X [Σn², C] (overwritten).
template <class T>
void equivariant_2to2_backward(std::int64_t B, const std::int64_t* node_off, const std::int64_t* pair_off,
                               const T* grad_out, std::int64_t C, T* grad_X, bool normalize = false) {
  detail::check_eq_args("equivariant_2to2_backward", B, node_off, pair_off, C);
  const std::int64_t S = 15 * C;
  detail::for_each_graph(B, node_off, C, [&](std::int64_t g, std::int64_t n) {
    const T* G = grad_out + pair_off[g] * S;
    T* dX = grad_X + pair_off[g] * C;
    const T a = detail::alpha_of<T>(n, normalize), be = detail::beta_of<T>(n, normalize);
    // Per-basis reductions of G: row sums (over j), column sums (over i), diagonal sums, totals.
    std::vector<T> rowG(n * S, T(0)), colG(n * S, T(0)), diagS(S, T(0)), totS(S, T(0));
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < n; ++j) {
        const T* gg = G + (i * n + j) * S;
        for (std::int64_t k = 0; k < S; ++k) {
          rowG[i * S + k] += gg[k];
          colG[j * S + k] += gg[k];
          totS[k] += gg[k];
          if (i == j) diagS[k] += gg[k];
        }
      }
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < n; ++j) {
        T* d = dX + (i * n + j) * C;
        const T* gij = G + (i * n + j) * S;
        const T* gji = G + (j * n + i) * S;
        const T* gii = G + (i * n + i) * S;
        const T* gjj = G + (j * n + j) * S;
        for (std::int64_t c = 0; c < C; ++c) {
          T v = gij[9 * C + c] + gji[10 * C + c];
          v += a * gii[2 * C + c];                 // 2: δ α r_i   → ∂X_ij += α G_ii
          v += a * gjj[3 * C + c];                 // 3: δ α s_i   → ∂X_ij += α G_jj
          v += be * diagS[4 * C + c];              // 4: δ β tot
          v += a * colG[j * S + 5 * C + c];        // 5: α s_j     → ∂X_ij += α Σ_i' G_i'j
          v += a * rowG[j * S + 6 * C + c];        // 6: α s_i     → ∂X_ij += α Σ_j' G_jj'
          v += a * colG[i * S + 7 * C + c];        // 7: α r_j     → ∂X_ij += α Σ_i' G_i'i
          v += a * rowG[i * S + 8 * C + c];        // 8: α r_i     → ∂X_ij += α Σ_j' G_ij'
          v += be * totS[14 * C + c];              // 14: β tot
          if (i == j) {
            v += gii[0 * C + c];                   // 0: δ d
            v += a * diagS[1 * C + c];             // 1: δ α tr
            v += colG[i * S + 11 * C + c];         // 11: d_j
            v += rowG[i * S + 12 * C + c];         // 12: d_i
            v += a * totS[13 * C + c];             // 13: α tr
          }
          d[c] = v;
        }
      }
  });
}

/// 2→1 basis expansion: X [Σn², C] → out [N, 5C] (overwritten): α r_i, α s_i, d_i, β tot, α tr.
template <class T>
void equivariant_2to1_forward(std::int64_t B, const std::int64_t* node_off, const std::int64_t* pair_off, const T* X,
                              std::int64_t C, T* out, bool normalize = false) {
  detail::check_eq_args("equivariant_2to1_forward", B, node_off, pair_off, C);
  detail::for_each_graph(B, node_off, C, [&](std::int64_t g, std::int64_t n) {
    const detail::Marg2<T> m(n, C, X + pair_off[g] * C);
    const T a = detail::alpha_of<T>(n, normalize), be = detail::beta_of<T>(n, normalize);
    T* O = out + node_off[g] * 5 * C;
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t c = 0; c < C; ++c) {
        T* o = O + i * 5 * C;
        o[c] = a * m.r[i * C + c];
        o[C + c] = a * m.s[i * C + c];
        o[2 * C + c] = m.d[i * C + c];
        o[3 * C + c] = be * m.tot[c];
        o[4 * C + c] = a * m.tr[c];
      }
  });
}

/// Adjoint of `equivariant_2to1_forward`: grad_out [N, 5C] → grad_X [Σn², C] (overwritten).
template <class T>
void equivariant_2to1_backward(std::int64_t B, const std::int64_t* node_off, const std::int64_t* pair_off,
                               const T* grad_out, std::int64_t C, T* grad_X, bool normalize = false) {
  detail::check_eq_args("equivariant_2to1_backward", B, node_off, pair_off, C);
  detail::for_each_graph(B, node_off, C, [&](std::int64_t g, std::int64_t n) {
    const T* G = grad_out + node_off[g] * 5 * C;
    T* dX = grad_X + pair_off[g] * C;
    const T a = detail::alpha_of<T>(n, normalize), be = detail::beta_of<T>(n, normalize);
    std::vector<T> s3(C, T(0)), s4(C, T(0));
    for (std::int64_t k = 0; k < n; ++k)
      for (std::int64_t c = 0; c < C; ++c) s3[c] += G[k * 5 * C + 3 * C + c], s4[c] += G[k * 5 * C + 4 * C + c];
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < n; ++j)
        for (std::int64_t c = 0; c < C; ++c) {
          T v = a * G[i * 5 * C + c] + a * G[j * 5 * C + C + c] + be * s3[c];
          if (i == j) v += G[i * 5 * C + 2 * C + c] + a * s4[c];
          dX[(i * n + j) * C + c] = v;
        }
  });
}

/// 1→2 basis expansion: x [N, C] → out [Σn², 5C] (overwritten): δ x_i, x_i, x_j, α Σx, δ α Σx.
template <class T>
void equivariant_1to2_forward(std::int64_t B, const std::int64_t* node_off, const std::int64_t* pair_off, const T* x,
                              std::int64_t C, T* out, bool normalize = false) {
  detail::check_eq_args("equivariant_1to2_forward", B, node_off, pair_off, C);
  detail::for_each_graph(B, node_off, C, [&](std::int64_t g, std::int64_t n) {
    const T* xg = x + node_off[g] * C;
    T* O = out + pair_off[g] * 5 * C;
    const T a = detail::alpha_of<T>(n, normalize);
    std::vector<T> sum(C, T(0));
    for (std::int64_t k = 0; k < n; ++k)
      for (std::int64_t c = 0; c < C; ++c) sum[c] += xg[k * C + c];
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < n; ++j)
        for (std::int64_t c = 0; c < C; ++c) {
          T* o = O + (i * n + j) * 5 * C;
          o[c] = i == j ? xg[i * C + c] : T(0);
          o[C + c] = xg[i * C + c];
          o[2 * C + c] = xg[j * C + c];
          o[3 * C + c] = a * sum[c];
          o[4 * C + c] = i == j ? a * sum[c] : T(0);
        }
  });
}

/// Adjoint of `equivariant_1to2_forward`: grad_out [Σn², 5C] → grad_x [N, C] (overwritten).
template <class T>
void equivariant_1to2_backward(std::int64_t B, const std::int64_t* node_off, const std::int64_t* pair_off,
                               const T* grad_out, std::int64_t C, T* grad_x, bool normalize = false) {
  detail::check_eq_args("equivariant_1to2_backward", B, node_off, pair_off, C);
  detail::for_each_graph(B, node_off, C, [&](std::int64_t g, std::int64_t n) {
    const T* G = grad_out + pair_off[g] * 5 * C;
    T* dx = grad_x + node_off[g] * C;
    const T a = detail::alpha_of<T>(n, normalize);
    std::vector<T> glob(C, T(0));
    std::fill(dx, dx + n * C, T(0));
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < n; ++j)
        for (std::int64_t c = 0; c < C; ++c) {
          const T* gg = G + (i * n + j) * 5 * C;
          if (i == j) dx[i * C + c] += gg[c], glob[c] += gg[4 * C + c];
          dx[i * C + c] += gg[C + c];
          dx[j * C + c] += gg[2 * C + c];
          glob[c] += gg[3 * C + c];
        }
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t c = 0; c < C; ++c) dx[i * C + c] += a * glob[c];
  });
}

/// 1→1 basis expansion: x [N, C] → out [N, 2C] (overwritten): x_i, α Σ_k x_k.
template <class T>
void equivariant_1to1_forward(std::int64_t B, const std::int64_t* node_off, const T* x, std::int64_t C, T* out,
                              bool normalize = false) {
  detail::check_eq_args("equivariant_1to1_forward", B, node_off, nullptr, C, false);
  detail::for_each_graph(B, node_off, C, [&](std::int64_t g, std::int64_t n) {
    const T* xg = x + node_off[g] * C;
    T* O = out + node_off[g] * 2 * C;
    const T a = detail::alpha_of<T>(n, normalize);
    std::vector<T> sum(C, T(0));
    for (std::int64_t k = 0; k < n; ++k)
      for (std::int64_t c = 0; c < C; ++c) sum[c] += xg[k * C + c];
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t c = 0; c < C; ++c) O[i * 2 * C + c] = xg[i * C + c], O[i * 2 * C + C + c] = a * sum[c];
  });
}

/// Adjoint of `equivariant_1to1_forward`: grad_out [N, 2C] → grad_x [N, C] (overwritten).
template <class T>
void equivariant_1to1_backward(std::int64_t B, const std::int64_t* node_off, const T* grad_out, std::int64_t C,
                               T* grad_x, bool normalize = false) {
  detail::check_eq_args("equivariant_1to1_backward", B, node_off, nullptr, C, false);
  detail::for_each_graph(B, node_off, C, [&](std::int64_t g, std::int64_t n) {
    const T* G = grad_out + node_off[g] * 2 * C;
    T* dx = grad_x + node_off[g] * C;
    const T a = detail::alpha_of<T>(n, normalize);
    std::vector<T> sum(C, T(0));
    for (std::int64_t k = 0; k < n; ++k)
      for (std::int64_t c = 0; c < C; ++c) sum[c] += G[k * 2 * C + C + c];
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t c = 0; c < C; ++c) dx[i * C + c] = G[i * 2 * C + c] + a * sum[c];
  });
}

/// Outer product promotion: z [N, C] → Y [Σn², C], Y_ij,c = z_i,c z_j,c (overwritten).
template <class T>
void outer_product_forward(std::int64_t B, const std::int64_t* node_off, const std::int64_t* pair_off, const T* z,
                           std::int64_t C, T* out) {
  detail::check_eq_args("outer_product_forward", B, node_off, pair_off, C);
  detail::for_each_graph(B, node_off, C, [&](std::int64_t g, std::int64_t n) {
    const T* zg = z + node_off[g] * C;
    T* O = out + pair_off[g] * C;
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < n; ++j)
        for (std::int64_t c = 0; c < C; ++c) O[(i * n + j) * C + c] = zg[i * C + c] * zg[j * C + c];
  });
}

/// Backward of `outer_product_forward`: grad_z_i = Σ_j (G_ij + G_ji) z_j (overwritten).
template <class T>
void outer_product_backward(std::int64_t B, const std::int64_t* node_off, const std::int64_t* pair_off, const T* z,
                            const T* grad_out, std::int64_t C, T* grad_z) {
  detail::check_eq_args("outer_product_backward", B, node_off, pair_off, C);
  detail::for_each_graph(B, node_off, C, [&](std::int64_t g, std::int64_t n) {
    const T* zg = z + node_off[g] * C;
    const T* G = grad_out + pair_off[g] * C;
    T* dz = grad_z + node_off[g] * C;
    std::fill(dz, dz + n * C, T(0));
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < n; ++j)
        for (std::int64_t c = 0; c < C; ++c) {
          const T gv = G[(i * n + j) * C + c];
          dz[i * C + c] += gv * zg[j * C + c];
          dz[j * C + c] += gv * zg[i * C + c];
        }
  });
}

}  // namespace mgvae::kernels::cpu
