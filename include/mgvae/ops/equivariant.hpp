#pragma once
/// @file equivariant.hpp
/// Differentiable wrappers (Var in, Var out, backward on the tape) around the CPU equivariant kernels
/// of `mgvae/kernels/cpu/`: the Def. 10 tensor product and Def. 11 contraction with compile-time
/// orders, the fused second-order message passing of Eq. 3 (dense or CSR adjacency, edge channels,
/// ragged batches), the readout Z = H↓₁ ⊕ H↓₂, the equivariant linear basis expansions (1→1, 1→2,
/// 2→1, 2→2) and the outer-product promotion.
///
/// Ragged layout (kernels/common/ragged.hpp): first-order tensors are [N, C] with N = Σ n_g rows;
/// second-order tensors are [P, C] with P = Σ n_g² rows, graph g's block row-major (i*n_g + j).
/// A `RaggedBatch` holds the offsets once per batch; every op validates its inputs' row counts
/// against it and throws std::invalid_argument naming the argument.
///
/// Each backward calls the kernel's vector-Jacobian product; inputs that do not require a gradient
/// are skipped (for the fused contraction that saves the 4n³EC multiply-adds of ∂/∂A).
#include <cstdint>
#include <string>
#include <vector>

#include "mgvae/autodiff/var.hpp"
#include "mgvae/core/error.hpp"
#include "mgvae/kernels/common/ragged.hpp"
#include "mgvae/kernels/cpu/contraction.hpp"
#include "mgvae/kernels/cpu/equivariant_linear.hpp"

namespace mgvae {

using kernels::cpu::ChannelMode;
using kernels::cpu::ContractionMode;

/// Offsets of a ragged batch of graphs (no padding).
struct RaggedBatch {
  std::vector<std::int64_t> node_off{0};  ///< [B+1] prefix sums of n_g
  std::vector<std::int64_t> pair_off{0};  ///< [B+1] prefix sums of n_g²

  /// Builds the offsets from the graph sizes. @throw std::invalid_argument naming `sizes` if one is negative.
  static RaggedBatch from_sizes(const std::vector<std::int64_t>& sizes) {
    RaggedBatch b;
    b.node_off.reserve(sizes.size() + 1);
    b.pair_off.reserve(sizes.size() + 1);
    for (std::size_t g = 0; g < sizes.size(); ++g) {
      check_arg(sizes[g] >= 0, "RaggedBatch::from_sizes", "sizes",
                "graph " + std::to_string(g) + " has negative size " + std::to_string(sizes[g]));
      b.node_off.push_back(b.node_off.back() + sizes[g]);
      b.pair_off.push_back(b.pair_off.back() + sizes[g] * sizes[g]);
    }
    return b;
  }
  std::int64_t graphs() const noexcept { return static_cast<std::int64_t>(node_off.size()) - 1; }
  std::int64_t nodes() const noexcept { return node_off.back(); }
  std::int64_t pairs() const noexcept { return pair_off.back(); }
  std::int64_t size(std::int64_t g) const { return node_off.at(static_cast<std::size_t>(g + 1)) - node_off.at(static_cast<std::size_t>(g)); }
  /// @throw std::invalid_argument (naming node_off / pair_off) if the offsets are inconsistent.
  void validate(const char* fn) const {
    check_arg(!node_off.empty() && node_off.size() == pair_off.size(), fn, "batch",
              "node_off and pair_off must both have B+1 entries");
    kernels::check_ragged(fn, graphs(), node_off.data(), pair_off.data());
  }
};

namespace detail {
/// Requires a 2-D tensor with `rows` rows (and `cols` columns when cols >= 0); returns its column count.
template <class T>
std::int64_t check_rows(const char* fn, const char* arg, const Var<T>& v, std::int64_t rows, const char* what,
                        std::int64_t cols = -1) {
  const Shape& s = v.shape();
  check_arg(s.size() == 2, fn, arg, "must be 2-D [" + std::string(what) + ", channels], got " + shape_str(s));
  check_arg(s[0] == rows, fn, arg,
            "has " + std::to_string(s[0]) + " rows but the batch has " + std::to_string(rows) + " " + what);
  if (cols >= 0) check_arg(s[1] == cols, fn, arg, "must have " + std::to_string(cols) + " columns, got " + shape_str(s));
  return s[1];
}
inline std::int64_t ipow(std::int64_t n, int k) {
  std::int64_t r = 1;
  for (int i = 0; i < k; ++i) r *= n;
  return r;
}
}  // namespace detail

// ------------------------------------------------------------------------------------------------
// Def. 10 / Def. 11 on one graph, compile-time orders
// ------------------------------------------------------------------------------------------------

/// Tensor product (Def. 10) of X [n^OA, Cx] and Y [n^OB, Cy] → [n^(OA+OB), Cout], indices (X's, then Y's)
/// flattened row-major; Cout = Cx (Pairwise, Cx == Cy) or Cx·Cy (Outer, channel cx*Cy + cy).
/// @throw std::invalid_argument if a row count is not n^order or Pairwise channels differ.
template <int OA, int OB, class T>
Var<T> tensor_product(const Var<T>& X, const Var<T>& Y, std::int64_t n, ChannelMode cm = ChannelMode::Outer) {
  static_assert(OA >= 0 && OB >= 0 && OA + OB <= 8, "tensor_product: orders must be >= 0 with OA + OB <= 8");
  constexpr const char* fn = "tensor_product";
  check_arg(n >= 0, fn, "n", "must be non-negative, got " + std::to_string(n));
  const std::int64_t NX = detail::ipow(n, OA), NY = detail::ipow(n, OB);
  const std::int64_t Cx = detail::check_rows(fn, "X", X, NX, "n^OA entries");
  const std::int64_t Cy = detail::check_rows(fn, "Y", Y, NY, "n^OB entries");
  if (cm == ChannelMode::Pairwise) check_arg(Cx == Cy, fn, "Y", "must have as many channels as X for Pairwise");
  const std::int64_t Co = cm == ChannelMode::Pairwise ? Cx : Cx * Cy;
  const Tensor<T> xv = X.value().contiguous(), yv = Y.value().contiguous();
  Tensor<T> out(Shape{NX * NY, Co});
  kernels::cpu::tensor_product(xv.data(), OA, Cx, yv.data(), OB, Cy, n, out.data(), cm);
  return make_result<T>(out, {X, Y}, [X, Y, xv, yv, NX, NY, Cx, Cy, Co, cm](const Tensor<T>& g) {
    const Tensor<T> gc = g.contiguous();
    const T* G = gc.data();
    const bool gx = X.requires_grad(), gy = Y.requires_grad();
    Tensor<T> dX = Tensor<T>::zeros(Shape{NX, Cx}), dY = Tensor<T>::zeros(Shape{NY, Cy});
    for (std::int64_t ix = 0; ix < NX; ++ix)
      for (std::int64_t iy = 0; iy < NY; ++iy) {
        const T* o = G + (ix * NY + iy) * Co;
        const T* x = xv.data() + ix * Cx;
        const T* y = yv.data() + iy * Cy;
        T* dx = dX.data() + ix * Cx;
        T* dy = dY.data() + iy * Cy;
        if (cm == ChannelMode::Pairwise) {
          for (std::int64_t c = 0; c < Cx; ++c) {
            if (gx) dx[c] += o[c] * y[c];
            if (gy) dy[c] += o[c] * x[c];
          }
        } else {
          for (std::int64_t cx = 0; cx < Cx; ++cx)
            for (std::int64_t cy = 0; cy < Cy; ++cy) {
              if (gx) dx[cx] += o[cx * Cy + cy] * y[cy];
              if (gy) dy[cy] += o[cx * Cy + cy] * x[cx];
            }
        }
      }
    if (gx) X.node().accumulate(dX);
    if (gy) Y.node().accumulate(dY);
  });
}

/// Contraction (Def. 11) of X [n^Order, C] along the dimension pair (x, y) (1-based, any order, x != y)
/// → [n^(Order-2), C]; the remaining indices keep their order. Trace: i_x = i_y summed (DESIGN.md §4);
/// IndependentSums: Σ_{i_x} Σ_{i_y}. Brute force over the n^Order tuples (a reference / small-order op;
/// message passing uses `fused_contract`).
/// @throw std::invalid_argument for x, y out of [1, Order] or equal, or a row count that is not n^Order.
template <int Order, class T>
Var<T> contract(const Var<T>& X, std::int64_t n, int x, int y, ContractionMode mode = ContractionMode::Trace) {
  static_assert(Order >= 2 && Order <= 8, "contract: Order must be in [2, 8]");
  constexpr const char* fn = "contract";
  check_arg(n >= 0, fn, "n", "must be non-negative, got " + std::to_string(n));
  check_arg(x >= 1 && x <= Order, fn, "x", "must be a dimension in [1, Order]");
  check_arg(y >= 1 && y <= Order, fn, "y", "must be a dimension in [1, Order]");
  check_arg(x != y, fn, "y", "must differ from x");
  const std::int64_t NT = detail::ipow(n, Order), NO = detail::ipow(n, Order - 2);
  const std::int64_t C = detail::check_rows(fn, "X", X, NT, "n^Order entries");
  const Tensor<T> xv = X.value().contiguous();
  Tensor<T> out(Shape{NO, C});
  kernels::cpu::contract(xv.data(), n, Order, C, x, y, out.data(), mode);
  int lo = x < y ? x : y, hi = x < y ? y : x;
  return make_result<T>(out, {X}, [X, n, NT, C, lo, hi, mode](const Tensor<T>& g) {
    if (!X.requires_grad()) return;
    const Tensor<T> gc = g.contiguous();
    Tensor<T> dX = Tensor<T>::zeros(Shape{NT, C});
    std::int64_t idx[Order];
    for (std::int64_t t = 0; t < NT; ++t) {
      std::int64_t r = t;
      for (int k = Order - 1; k >= 0; --k) idx[k] = r % n, r /= n;
      if (mode == ContractionMode::Trace && idx[lo - 1] != idx[hi - 1]) continue;
      std::int64_t o = 0;
      for (int k = 0; k < Order; ++k)
        if (k != lo - 1 && k != hi - 1) o = o * n + idx[k];
      for (std::int64_t c = 0; c < C; ++c) dX.data()[t * C + c] = gc.data()[o * C + c];
    }
    X.node().accumulate(dX);
  });
}

// ------------------------------------------------------------------------------------------------
// Fused second-order message passing (Eq. 3), ragged batches
// ------------------------------------------------------------------------------------------------

/// The six contractions of A ⊗ H (Eq. 3) without forming the fourth-order tensor.
/// @param A [P, E] adjacency with E edge channels; @param H [P, C] second-order features
/// @return [P, 6·E·C], channel order (k, e, c), k over the pairs (1,2),(1,3),(2,3),(1,4),(2,4),(3,4)
/// @throw std::invalid_argument for inconsistent offsets or row counts, E < 1.
template <class T>
Var<T> fused_contract(const RaggedBatch& b, const Var<T>& A, const Var<T>& H,
                      ContractionMode mode = ContractionMode::Trace) {
  constexpr const char* fn = "fused_contract";
  b.validate(fn);
  const std::int64_t E = detail::check_rows(fn, "A", A, b.pairs(), "pairs (Σ n_g²)");
  const std::int64_t C = detail::check_rows(fn, "H", H, b.pairs(), "pairs (Σ n_g²)");
  check_arg(E >= 1, fn, "A", "needs at least one edge channel");
  const Tensor<T> av = A.value().contiguous(), hv = H.value().contiguous();
  Tensor<T> out(Shape{b.pairs(), 6 * E * C});
  kernels::cpu::fused_contract_forward(b.graphs(), b.node_off.data(), b.pair_off.data(), av.data(), E, hv.data(), C,
                                       out.data(), mode);
  return make_result<T>(out, {A, H}, [b, A, H, av, hv, E, C, mode](const Tensor<T>& g) {
    const Tensor<T> gc = g.contiguous();
    Tensor<T> dH(Shape{b.pairs(), C});
    Tensor<T> dA;
    if (A.requires_grad()) dA = Tensor<T>(Shape{b.pairs(), E});
    kernels::cpu::fused_contract_backward(b.graphs(), b.node_off.data(), b.pair_off.data(), av.data(), E, hv.data(), C,
                                          gc.data(), dH.data(), A.requires_grad() ? dA.data() : nullptr, mode);
    if (H.requires_grad()) H.node().accumulate(dH);
    if (A.requires_grad()) A.node().accumulate(dA);
  });
}

/// Block-diagonal sparsity pattern of a batch's adjacency in global node indices (row r's columns lie in
/// the graph that owns r). Values live in a separate [nnz, E] Var so they can be learned.
struct RaggedCsrPattern {
  std::vector<std::int64_t> row_ptr{0};  ///< [N+1]
  std::vector<std::int64_t> col;         ///< [nnz] global column indices
  std::int64_t nnz() const noexcept { return static_cast<std::int64_t>(col.size()); }
};

/// `fused_contract` with a sparse adjacency: pattern + values [nnz, E]. Trace mode costs 4·nnz·n·E·C
/// multiply-adds per graph instead of 4·n³·E·C. The gradient flows to the stored values only.
/// @throw std::invalid_argument for a pattern that does not match the batch or leaves a graph's block.
template <class T>
Var<T> fused_contract_csr(const RaggedBatch& b, const RaggedCsrPattern& p, const Var<T>& val, const Var<T>& H,
                          ContractionMode mode = ContractionMode::Trace) {
  constexpr const char* fn = "fused_contract_csr";
  b.validate(fn);
  check_arg(static_cast<std::int64_t>(p.row_ptr.size()) == b.nodes() + 1, fn, "pattern.row_ptr",
            "must have N+1 = " + std::to_string(b.nodes() + 1) + " entries, got " + std::to_string(p.row_ptr.size()));
  check_arg(p.row_ptr.back() == p.nnz(), fn, "pattern.row_ptr",
            "ends at " + std::to_string(p.row_ptr.back()) + " but col has " + std::to_string(p.nnz()) + " entries");
  const std::int64_t E = detail::check_rows(fn, "val", val, p.nnz(), "stored entries (nnz)");
  const std::int64_t C = detail::check_rows(fn, "H", H, b.pairs(), "pairs (Σ n_g²)");
  check_arg(E >= 1, fn, "val", "needs at least one edge channel");
  const Tensor<T> vv = val.value().contiguous(), hv = H.value().contiguous();
  Tensor<T> out(Shape{b.pairs(), 6 * E * C});
  kernels::cpu::fused_contract_csr_forward(b.graphs(), b.node_off.data(), b.pair_off.data(), p.row_ptr.data(),
                                           p.col.data(), vv.data(), E, hv.data(), C, out.data(), mode);
  return make_result<T>(out, {val, H}, [b, p, val, H, vv, hv, E, C, mode](const Tensor<T>& g) {
    const Tensor<T> gc = g.contiguous();
    Tensor<T> dH(Shape{b.pairs(), C});
    Tensor<T> dV;
    if (val.requires_grad()) dV = Tensor<T>(Shape{p.nnz(), E});
    kernels::cpu::fused_contract_csr_backward(b.graphs(), b.node_off.data(), b.pair_off.data(), p.row_ptr.data(),
                                              p.col.data(), vv.data(), E, hv.data(), C, gc.data(), dH.data(),
                                              val.requires_grad() ? dV.data() : nullptr, mode);
    if (H.requires_grad()) H.node().accumulate(dH);
    if (val.requires_grad()) val.node().accumulate(dV);
  });
}

/// Readout Z = H↓₁ ⊕ H↓₂: H [P, C] → Z [N, 2C], Z_i = (Σ_a H_ai, Σ_b H_ib).
template <class T>
Var<T> readout2(const RaggedBatch& b, const Var<T>& H) {
  constexpr const char* fn = "readout2";
  b.validate(fn);
  const std::int64_t C = detail::check_rows(fn, "H", H, b.pairs(), "pairs (Σ n_g²)");
  const Tensor<T> hv = H.value().contiguous();
  Tensor<T> Z(Shape{b.nodes(), 2 * C});
  kernels::cpu::readout_forward(b.graphs(), b.node_off.data(), b.pair_off.data(), hv.data(), C, Z.data());
  return make_result<T>(Z, {H}, [b, H, C](const Tensor<T>& g) {
    if (!H.requires_grad()) return;
    const Tensor<T> gc = g.contiguous();
    Tensor<T> dH(Shape{b.pairs(), C});
    kernels::cpu::readout_backward(b.graphs(), b.node_off.data(), b.pair_off.data(), gc.data(), C, dH.data());
    H.node().accumulate(dH);
  });
}

// ------------------------------------------------------------------------------------------------
// Equivariant linear basis expansions (Maron et al. 2019); a channel Linear on the result gives the
// general equivariant layer. `normalize` divides the sums by n (totals by n²).
// ------------------------------------------------------------------------------------------------

/// 2→2: X [P, C] → [P, 15C] (basis-major, see kernels/cpu/equivariant_linear.hpp).
template <class T>
Var<T> equivariant_2to2(const RaggedBatch& b, const Var<T>& X, bool normalize = false) {
  constexpr const char* fn = "equivariant_2to2";
  b.validate(fn);
  const std::int64_t C = detail::check_rows(fn, "X", X, b.pairs(), "pairs (Σ n_g²)");
  const Tensor<T> xv = X.value().contiguous();
  Tensor<T> out(Shape{b.pairs(), 15 * C});
  kernels::cpu::equivariant_2to2_forward(b.graphs(), b.node_off.data(), b.pair_off.data(), xv.data(), C, out.data(),
                                         normalize);
  return make_result<T>(out, {X}, [b, X, C, normalize](const Tensor<T>& g) {
    if (!X.requires_grad()) return;
    const Tensor<T> gc = g.contiguous();
    Tensor<T> dX(Shape{b.pairs(), C});
    kernels::cpu::equivariant_2to2_backward(b.graphs(), b.node_off.data(), b.pair_off.data(), gc.data(), C, dX.data(),
                                            normalize);
    X.node().accumulate(dX);
  });
}

/// 2→1: X [P, C] → [N, 5C] (α r_i, α s_i, d_i, β tot, α tr).
template <class T>
Var<T> equivariant_2to1(const RaggedBatch& b, const Var<T>& X, bool normalize = false) {
  constexpr const char* fn = "equivariant_2to1";
  b.validate(fn);
  const std::int64_t C = detail::check_rows(fn, "X", X, b.pairs(), "pairs (Σ n_g²)");
  const Tensor<T> xv = X.value().contiguous();
  Tensor<T> out(Shape{b.nodes(), 5 * C});
  kernels::cpu::equivariant_2to1_forward(b.graphs(), b.node_off.data(), b.pair_off.data(), xv.data(), C, out.data(),
                                         normalize);
  return make_result<T>(out, {X}, [b, X, C, normalize](const Tensor<T>& g) {
    if (!X.requires_grad()) return;
    const Tensor<T> gc = g.contiguous();
    Tensor<T> dX(Shape{b.pairs(), C});
    kernels::cpu::equivariant_2to1_backward(b.graphs(), b.node_off.data(), b.pair_off.data(), gc.data(), C, dX.data(),
                                            normalize);
    X.node().accumulate(dX);
  });
}

/// 1→2: x [N, C] → [P, 5C] (δ x_i, x_i, x_j, α Σx, δ α Σx).
template <class T>
Var<T> equivariant_1to2(const RaggedBatch& b, const Var<T>& x, bool normalize = false) {
  constexpr const char* fn = "equivariant_1to2";
  b.validate(fn);
  const std::int64_t C = detail::check_rows(fn, "x", x, b.nodes(), "nodes");
  const Tensor<T> xv = x.value().contiguous();
  Tensor<T> out(Shape{b.pairs(), 5 * C});
  kernels::cpu::equivariant_1to2_forward(b.graphs(), b.node_off.data(), b.pair_off.data(), xv.data(), C, out.data(),
                                         normalize);
  return make_result<T>(out, {x}, [b, x, C, normalize](const Tensor<T>& g) {
    if (!x.requires_grad()) return;
    const Tensor<T> gc = g.contiguous();
    Tensor<T> dx(Shape{b.nodes(), C});
    kernels::cpu::equivariant_1to2_backward(b.graphs(), b.node_off.data(), b.pair_off.data(), gc.data(), C, dx.data(),
                                            normalize);
    x.node().accumulate(dx);
  });
}

/// 1→1: x [N, C] → [N, 2C] (x_i, α Σ_k x_k).
template <class T>
Var<T> equivariant_1to1(const RaggedBatch& b, const Var<T>& x, bool normalize = false) {
  constexpr const char* fn = "equivariant_1to1";
  b.validate(fn);
  const std::int64_t C = detail::check_rows(fn, "x", x, b.nodes(), "nodes");
  const Tensor<T> xv = x.value().contiguous();
  Tensor<T> out(Shape{b.nodes(), 2 * C});
  kernels::cpu::equivariant_1to1_forward(b.graphs(), b.node_off.data(), xv.data(), C, out.data(), normalize);
  return make_result<T>(out, {x}, [b, x, C, normalize](const Tensor<T>& g) {
    if (!x.requires_grad()) return;
    const Tensor<T> gc = g.contiguous();
    Tensor<T> dx(Shape{b.nodes(), C});
    kernels::cpu::equivariant_1to1_backward(b.graphs(), b.node_off.data(), gc.data(), C, dx.data(), normalize);
    x.node().accumulate(dx);
  });
}

/// Outer-product promotion z [N, C] → Y [P, C], Y_ij,c = z_i,c z_j,c (the second-order decoder input).
template <class T>
Var<T> outer_product(const RaggedBatch& b, const Var<T>& z) {
  constexpr const char* fn = "outer_product";
  b.validate(fn);
  const std::int64_t C = detail::check_rows(fn, "z", z, b.nodes(), "nodes");
  const Tensor<T> zv = z.value().contiguous();
  Tensor<T> out(Shape{b.pairs(), C});
  kernels::cpu::outer_product_forward(b.graphs(), b.node_off.data(), b.pair_off.data(), zv.data(), C, out.data());
  return make_result<T>(out, {z}, [b, z, zv, C](const Tensor<T>& g) {
    if (!z.requires_grad()) return;
    const Tensor<T> gc = g.contiguous();
    Tensor<T> dz(Shape{b.nodes(), C});
    kernels::cpu::outer_product_backward(b.graphs(), b.node_off.data(), b.pair_off.data(), zv.data(), gc.data(), C,
                                         dz.data());
    z.node().accumulate(dz);
  });
}

}  // namespace mgvae
