#pragma once
/// @file equi_tensor.hpp
/// Equivariant tensors with their order in the type. `EquiTensor<T, K>` is a `Var<T>` whose rows are
/// indexed by K-tuples of nodes of each graph of a `RaggedBatch` (K = 1: node tensor [Σ n_g, C];
/// K = 2: pair tensor [Σ n_g², C], graph g's block row-major) together with the batch it belongs to.
///
/// The typed overloads below take and return EquiTensors with the order in the signature, so feeding
/// a first-order tensor where a second-order one is expected (e.g. a NodeTensor to equivariant_2to2
/// without the 1→2 map) does not compile (tests/compile_fail/order_mismatch.cpp). There are no implicit
/// conversions: the constructors are explicit and converting between orders is deleted. Each typed op
/// unwraps its arguments and calls the untyped op of ops/equivariant.hpp (bit-identical numbers, same
/// gradients); the untyped API is unchanged.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "mgvae/autodiff/var.hpp"
#include "mgvae/core/error.hpp"
#include "mgvae/ops/equivariant.hpp"

namespace mgvae {

namespace detail {
/// Rows an order-K tensor has over a batch: Σ n_g (K = 1) or Σ n_g² (K = 2).
template <int K>
std::int64_t equi_rows(const RaggedBatch& b) {
  if constexpr (K == 1)
    return b.nodes();
  else
    return b.pairs();
}
}  // namespace detail

/// A [Σ n_g^K, C] tensor over a ragged batch, K-th order in the node indices of each graph.
template <class T, int K>
class EquiTensor {
  static_assert(K == 1 || K == 2, "EquiTensor: only first (K = 1) and second (K = 2) order are supported");

 public:
  static constexpr int order = K;

  /// Wraps `value` [Σ n_g^K, C] over `batch` (shared, not copied).
  /// @throw std::invalid_argument naming the expected and actual row counts (or a null batch, bad offsets).
  explicit EquiTensor(std::shared_ptr<const RaggedBatch> batch, Var<T> value)
      : b_(std::move(batch)), v_(std::move(value)) {
    check();
  }
  /// Wraps `value` over a copy of `batch`. @throw std::invalid_argument as above.
  explicit EquiTensor(const RaggedBatch& batch, Var<T> value)
      : EquiTensor(std::make_shared<const RaggedBatch>(batch), std::move(value)) {}

  EquiTensor(const EquiTensor&) = default;
  EquiTensor(EquiTensor&&) noexcept = default;
  EquiTensor& operator=(const EquiTensor&) = default;
  EquiTensor& operator=(EquiTensor&&) noexcept = default;
  /// No conversion between orders: lift with equivariant_1to2 / outer_product, reduce with
  /// equivariant_2to1 / readout. (Explicit as well as deleted, so that passing the wrong order to a
  /// function reports "no matching function" at the call rather than this constructor.)
  template <int J>
    requires(J != K)
  explicit EquiTensor(const EquiTensor<T, J>&) = delete;
  template <int J>
    requires(J != K)
  EquiTensor& operator=(const EquiTensor<T, J>&) = delete;

  const Var<T>& var() const noexcept { return v_; }
  const RaggedBatch& batch() const noexcept { return *b_; }
  const std::shared_ptr<const RaggedBatch>& batch_ptr() const noexcept { return b_; }
  /// Row count Σ n_g^K.
  std::int64_t rows() const { return v_.shape()[0]; }
  /// Channel count C.
  std::int64_t channels() const { return v_.shape()[1]; }

 private:
  void check() const {
    constexpr const char* fn = K == 1 ? "EquiTensor<T, 1>" : "EquiTensor<T, 2>";
    check_arg(b_ != nullptr, fn, "batch", "must not be null");
    b_->validate(fn);
    check_arg(v_.defined(), fn, "value", "must be defined");
    const std::int64_t expected = detail::equi_rows<K>(*b_);
    const Shape& s = v_.shape();
    check_arg(s.size() == 2, fn, "value", "must be 2-D [rows, channels], got " + shape_str(s));
    check_arg(s[0] == expected, fn, "value",
              "has " + std::to_string(s[0]) + " rows, expected " + std::to_string(expected) +
                  (K == 1 ? " (Σ n_g nodes of the batch)" : " (Σ n_g² pairs of the batch)"));
  }

  std::shared_ptr<const RaggedBatch> b_;
  Var<T> v_;
};

/// First-order (node) tensor [Σ n_g, C].
template <class T>
using NodeTensor = EquiTensor<T, 1>;
/// Second-order (pair) tensor [Σ n_g², C].
template <class T>
using PairTensor = EquiTensor<T, 2>;

namespace detail {
/// Requires two tensors to live on the same batch (same object or equal offsets); returns it.
template <class T, int KA, int KB>
const std::shared_ptr<const RaggedBatch>& same_batch(const char* fn, const EquiTensor<T, KA>& a,
                                                     const EquiTensor<T, KB>& b) {
  const bool same = a.batch_ptr() == b.batch_ptr() || (a.batch().node_off == b.batch().node_off &&
                                                        a.batch().pair_off == b.batch().pair_off);
  check_arg(same, fn, "H", "belongs to a different batch than A (offsets differ)");
  return a.batch_ptr();
}
}  // namespace detail

// ------------------------------------------------------------------------------------------------
// Typed overloads: order in, order out. Each forwards to the untyped op of ops/equivariant.hpp.
// ------------------------------------------------------------------------------------------------

/// 2→2 basis: PairTensor [P, C] → PairTensor [P, 15C].
template <class T>
PairTensor<T> equivariant_2to2(const PairTensor<T>& X, bool normalize = false) {
  return PairTensor<T>(X.batch_ptr(), equivariant_2to2(X.batch(), X.var(), normalize));
}

/// 2→1 basis: PairTensor [P, C] → NodeTensor [N, 5C].
template <class T>
NodeTensor<T> equivariant_2to1(const PairTensor<T>& X, bool normalize = false) {
  return NodeTensor<T>(X.batch_ptr(), equivariant_2to1(X.batch(), X.var(), normalize));
}

/// 1→2 basis: NodeTensor [N, C] → PairTensor [P, 5C].
template <class T>
PairTensor<T> equivariant_1to2(const NodeTensor<T>& x, bool normalize = false) {
  return PairTensor<T>(x.batch_ptr(), equivariant_1to2(x.batch(), x.var(), normalize));
}

/// 1→1 basis: NodeTensor [N, C] → NodeTensor [N, 2C].
template <class T>
NodeTensor<T> equivariant_1to1(const NodeTensor<T>& x, bool normalize = false) {
  return NodeTensor<T>(x.batch_ptr(), equivariant_1to1(x.batch(), x.var(), normalize));
}

/// Eq. 3 contractions of A ⊗ H: PairTensor A [P, E], PairTensor H [P, C] → PairTensor [P, 6EC].
/// @throw std::invalid_argument if A and H belong to different batches.
template <class T>
PairTensor<T> fused_contract(const PairTensor<T>& A, const PairTensor<T>& H,
                             ContractionMode mode = ContractionMode::Trace) {
  const auto& b = detail::same_batch("fused_contract", A, H);
  return PairTensor<T>(b, fused_contract(*b, A.var(), H.var(), mode));
}

/// Readout Z = H↓₁ ⊕ H↓₂ (`readout2`): PairTensor [P, C] → NodeTensor [N, 2C].
template <class T>
NodeTensor<T> readout(const PairTensor<T>& H) {
  return NodeTensor<T>(H.batch_ptr(), readout2(H.batch(), H.var()));
}

/// Outer-product promotion: NodeTensor z [N, C] → PairTensor [P, C], Y_ij = z_i ⊙ z_j.
template <class T>
PairTensor<T> outer_product(const NodeTensor<T>& z) {
  return PairTensor<T>(z.batch_ptr(), outer_product(z.batch(), z.var()));
}

}  // namespace mgvae
