#pragma once
/// @file valence_reg.hpp
/// Valence regularizer for the all-at-once molecule decoder. **Not in the paper**: a penalty in the
/// spirit of Ma, Chen & Xiao, "Constrained Generation of Semantically Valid Graphs via Regularizing
/// Variational Autoencoders" (NeurIPS 2018), written for our ragged pair layout.
///
/// For decoder outputs (pair logits o [P, E+1], class c = bond order, c = 0 no bond; atom logits
/// a [N, F]) of B graphs:
///   p_ij = softmax(o_ij / τ),  q_i = softmax(a_i / τ),
///   V_i  = Σ_{j ≠ i} Σ_c c · p_ij[c]                      (expected sum of bond orders of atom i)
///   R    = (1/B) Σ_i [ Σ_t q_it · relu(V_i − cap_t)²          (squared valence excess)
///                      + w_iso · 1{n_g ≥ 2} · relu(1 − V_i)² ]   (isolated atoms, optional)
/// with cap_t the maximal valence of atom type t (e.g. C 4, N 3, O 2, F 1) and τ a temperature:
/// τ = 1 is the decoder's own distribution; τ → 0 approaches the argmax decoding that "validity
/// without correction" scores (five pairs at p(single) = 0.4 give V = 2 at τ = 1 but five bonds at
/// argmax), at the price of gradients that vanish away from the decision boundaries. R ≥ 0, R = 0 when no
/// atom can exceed its valence in expectation, and R is invariant under relabelling the atoms of a
/// graph (p and q permuted together), so adding it to the loss keeps Propositions 1–2. The second
/// term (w_iso > 0) penalises atoms without bonds in molecules of two or more atoms: a necessary
/// condition for a connected molecule (not a sufficient one), aimed at the isolated atoms that the
/// excess term alone leaves behind.
///
/// Training applies R to decodings of latents drawn **from the prior** (train.hpp, ValenceReg), the
/// latents that generation decodes, where the reconstruction loss gives the decoder no signal.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "mgvae/autodiff/var.hpp"
#include "mgvae/core/error.hpp"
#include "mgvae/ops/elementwise.hpp"
#include "mgvae/ops/equivariant.hpp"
#include "mgvae/ops/indexing.hpp"
#include "mgvae/ops/matmul.hpp"
#include "mgvae/ops/reduce.hpp"
#include "mgvae/ops/softmax.hpp"

namespace mgvae::molgen {

/// R above. `caps` has one maximal valence per atom type (F entries). Returns a scalar.
/// @throw std::invalid_argument naming the argument for shape mismatches, an empty batch, fewer
///        than two pair classes, a negative cap, temperature <= 0 or isolated_weight < 0.
template <class T>
Var<T> valence_penalty(const RaggedBatch& b, const Var<T>& edge_logits, const Var<T>& atom_logits,
                       const std::vector<int>& caps, double temperature = 1.0, double isolated_weight = 0.0) {
  constexpr const char* fn = "molgen::valence_penalty";
  b.validate(fn);
  check_arg(b.graphs() >= 1, fn, "batch", "has no graphs");
  check_arg(edge_logits.dim() == 2 && edge_logits.size(0) == b.pairs() && edge_logits.size(1) >= 2, fn, "edge_logits",
            "must be [P, C] with P = " + std::to_string(b.pairs()) + " pairs and C >= 2 classes, got " +
                shape_str(edge_logits.shape()));
  check_arg(atom_logits.dim() == 2 && atom_logits.size(0) == b.nodes(), fn, "atom_logits",
            "must be [N, F] with N = " + std::to_string(b.nodes()) + ", got " + shape_str(atom_logits.shape()));
  const std::int64_t C = edge_logits.size(1), F = atom_logits.size(1);
  check_arg(static_cast<std::int64_t>(caps.size()) == F, fn, "caps",
            "must have one entry per atom type (" + std::to_string(F) + "), got " + std::to_string(caps.size()));
  for (int c : caps) check_arg(c >= 0, fn, "caps", "maximal valences must be >= 0, got " + std::to_string(c));
  check_arg(temperature > 0 && std::isfinite(temperature), fn, "temperature",
            "must be finite and > 0, got " + std::to_string(temperature));
  check_arg(isolated_weight >= 0 && std::isfinite(isolated_weight), fn, "isolated_weight",
            "must be finite and >= 0, got " + std::to_string(isolated_weight));
  const T inv_t = static_cast<T>(1.0 / temperature);

  // off-diagonal pairs and the atom (row) each belongs to
  std::vector<std::int64_t> off, row;
  off.reserve(static_cast<std::size_t>(b.pairs()));
  row.reserve(static_cast<std::size_t>(b.pairs()));
  for (std::int64_t g = 0; g < b.graphs(); ++g) {
    const std::int64_t n = b.size(g), po = b.pair_off[g], no = b.node_off[g];
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < n; ++j)
        if (i != j) {
          off.push_back(po + i * n + j);
          row.push_back(no + i);
        }
  }
  Tensor<T> order(Shape{C, 1});
  for (std::int64_t c = 0; c < C; ++c) order.data()[c] = static_cast<T>(c);
  Tensor<T> cap(Shape{1, F});
  for (std::int64_t t = 0; t < F; ++t) cap.data()[t] = static_cast<T>(caps[static_cast<std::size_t>(t)]);

  const Var<T> q = softmax(mul_scalar(atom_logits, inv_t), 1);  // [N, F]
  Var<T> V;                                   // [N, 1]
  if (off.empty()) {
    V = constant(Tensor<T>::zeros(Shape{b.nodes(), 1}));
  } else {
    const Var<T> p = softmax(mul_scalar(index_select(edge_logits, 0, off), inv_t), 1);  // [P', C]
    V = scatter_add(matmul(p, constant(order)), 0, row, b.nodes());   // [N, 1]
  }
  const Var<T> excess = relu(sub(V, constant(cap)));                  // [N, F]
  Var<T> total = sum(mul(q, mul(excess, excess)));
  if (isolated_weight > 0) {
    Tensor<T> multi(Shape{b.nodes(), 1});  // 1 for atoms of molecules with >= 2 atoms
    for (std::int64_t g = 0; g < b.graphs(); ++g)
      for (std::int64_t i = b.node_off[g]; i < b.node_off[g + 1]; ++i) multi.data()[i] = b.size(g) >= 2 ? T(1) : T(0);
    const Var<T> under = mul(relu(add_scalar(neg(V), T(1))), constant(multi));  // [N, 1]
    total = add(total, mul_scalar(sum(mul(under, under)), static_cast<T>(isolated_weight)));
  }
  return mul_scalar(total, T(1) / static_cast<T>(b.graphs()));
}

}  // namespace mgvae::molgen
