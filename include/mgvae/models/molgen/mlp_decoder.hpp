#pragma once
/// @file mlp_decoder.hpp
/// MLP decoder p(G | Z) for the molecule MGVAE: the ablation of paper Table 6 ("MLP decoder" instead
/// of the second-order equivariant one), after the authors' `mrf_mlp` (REFERENCE-NOTES §3.3).
///
/// Every graph's latent z [n, d] is padded with zero rows to `max_atoms` = N atoms and flattened
/// (atom-major) into a vector of N·d, then
///   edge logits:  o = W₃ ReLU(W₂ ReLU(W₁ z_flat))   N·d → H → H → N²·(E+1)   (one logit per pair and class)
///   atom logits:  a = W₅ ReLU(W₄ z_flat)             N·d → H → N·F
/// (H = 512 in the authors' code). The pair logits are symmetrised, ℓ_ij = ½(o_ij + o_ji), and the rows
/// of the graph's n real atoms / n² real pairs are gathered back into the ragged layout, so the output
/// has exactly the shapes of `MolDecoder` and the rest of the model (losses, sampling, correction) is
/// unchanged.
///
/// NOT permutation-equivariant: each atom slot i has its own weights, so permuting the rows of z does
/// not permute the logits (tested). The activation is ReLU (our choice; the authors' general MLP
/// decoder uses sigmoid).
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mgvae/autodiff/var.hpp"
#include "mgvae/core/error.hpp"
#include "mgvae/core/rng.hpp"
#include "mgvae/nn/linear.hpp"
#include "mgvae/nn/module.hpp"
#include "mgvae/ops/elementwise.hpp"
#include "mgvae/ops/equivariant.hpp"
#include "mgvae/ops/indexing.hpp"
#include "mgvae/ops/shape.hpp"

namespace mgvae::molgen {

template <class T>
class MlpDecoder : public nn::Module<T> {
 public:
  /// @throw std::invalid_argument if a size is not positive (pair_classes >= 2).
  MlpDecoder(std::int64_t latent, std::int64_t max_atoms, std::int64_t hidden, std::int64_t atom_types,
             std::int64_t pair_classes, CounterRng& rng)
      : d_(latent), n_(max_atoms), f_(atom_types), c_(pair_classes) {
    check_arg(latent >= 1 && max_atoms >= 1 && hidden >= 1 && atom_types >= 1 && pair_classes >= 2, "MlpDecoder",
              "sizes", "must be positive (pair_classes >= 2)");
    const std::int64_t in = max_atoms * latent;
    e1_ = this->register_module("edge1", std::make_shared<nn::Linear<T>>(in, hidden, rng));
    e2_ = this->register_module("edge2", std::make_shared<nn::Linear<T>>(hidden, hidden, rng));
    e3_ = this->register_module("edge3", std::make_shared<nn::Linear<T>>(hidden, max_atoms * max_atoms * pair_classes, rng));
    a1_ = this->register_module("atom1", std::make_shared<nn::Linear<T>>(in, hidden, rng));
    a2_ = this->register_module("atom2", std::make_shared<nn::Linear<T>>(hidden, max_atoms * atom_types, rng));
  }

  std::int64_t max_atoms() const noexcept { return n_; }

  /// z [N, d] (ragged) → (edge logits [P, E+1] symmetric in (i, j), atom logits [N, F]), the layout of
  /// MolDecoder::forward. `transpose` is MolBatch::pair_transpose_index(b).
  /// @throw std::invalid_argument on shape mismatches or when a graph has more than max_atoms atoms.
  std::pair<Var<T>, Var<T>> forward(const RaggedBatch& b, const Var<T>& z, const std::vector<std::int64_t>& transpose) const {
    constexpr const char* fn = "MlpDecoder::forward";
    check_arg(z.dim() == 2 && z.size(0) == b.nodes() && z.size(1) == d_, fn, "z",
              "must be [N, d] = " + shape_str(Shape{b.nodes(), d_}) + ", got " + shape_str(z.shape()));
    check_arg(static_cast<std::int64_t>(transpose.size()) == b.pairs(), fn, "transpose",
              "must have one entry per pair (" + std::to_string(b.pairs()) + "), got " + std::to_string(transpose.size()));
    const std::int64_t B = b.graphs(), N = n_;
    check_arg(B >= 1, fn, "batch", "has no graphs");
    std::vector<std::int64_t> pad, node_rows, pair_rows;  // gathers: ragged → padded, padded → ragged
    pad.reserve(static_cast<std::size_t>(B * N));
    for (std::int64_t g = 0; g < B; ++g) {
      const std::int64_t n = b.size(g);
      check_arg(n <= N, fn, "batch",
                "graph " + std::to_string(g) + " has " + std::to_string(n) + " atoms, more than the MLP decoder's max_atoms = " +
                    std::to_string(N));
      for (std::int64_t i = 0; i < N; ++i) pad.push_back(i < n ? b.node_off[g] + i : b.nodes());  // row N: zeros
      for (std::int64_t i = 0; i < n; ++i) {
        node_rows.push_back(g * N + i);
        for (std::int64_t j = 0; j < n; ++j) pair_rows.push_back((g * N + i) * N + j);
      }
    }
    const Var<T> zz = concat<T>({z, constant(Tensor<T>::zeros(Shape{1, d_}))}, 0);
    const Var<T> flat = reshape(index_select(zz, 0, pad), Shape{B, N * d_});
    const Var<T> h = relu(e2_->forward(relu(e1_->forward(flat))));
    const Var<T> o = index_select(reshape(e3_->forward(h), Shape{B * N * N, c_}), 0, pair_rows);  // [P, C]
    const Var<T> e = mul_scalar(add(o, index_select(o, 0, transpose)), T(0.5));
    const Var<T> a = index_select(reshape(a2_->forward(relu(a1_->forward(flat))), Shape{B * N, f_}), 0, node_rows);
    return {e, a};
  }

 private:
  std::int64_t d_, n_, f_, c_;
  std::shared_ptr<nn::Linear<T>> e1_, e2_, e3_, a1_, a2_;
};

}  // namespace mgvae::molgen
