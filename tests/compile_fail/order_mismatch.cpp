// Compile-time order check (ops/equi_tensor.hpp). Built with -fsyntax-only by the ctest tests
// `compile_order_ok` (this file as is: must compile), `compile_order_mismatch` (with
// -DMGVAE_EXPECT_COMPILE_ERROR: a NodeTensor passed to equivariant_2to2) and
// `compile_order_mismatch_layer` (-DMGVAE_EXPECT_COMPILE_ERROR=2: a NodeTensor passed to the
// SecondOrderLayer's typed forward). The last two must fail to compile at that call;
// tests/compile_fail/expect_fail.cmake checks that the first error names the op.
#include <cstdint>
#include <vector>

#include "mgvae/core/rng.hpp"
#include "mgvae/models/mgn/second_order.hpp"
#include "mgvae/ops/equi_tensor.hpp"

int main() {
  using namespace mgvae;
  const RaggedBatch b = RaggedBatch::from_sizes({3, 2});
  CounterRng rng(1);
  const NodeTensor<double> x(b, constant(Tensor<double>::zeros(Shape{b.nodes(), 4})));
  const PairTensor<double> A(b, constant(Tensor<double>::zeros(Shape{b.pairs(), 1})));
  models::SecondOrderLayer<double> layer(1, 5 * 4, 8, rng);
#if defined(MGVAE_EXPECT_COMPILE_ERROR) && MGVAE_EXPECT_COMPILE_ERROR == 2
  // Wrong: a node tensor fed to the second-order layer without the 1→2 map.
  const PairTensor<double> y = layer.forward(A, x);
#elif defined(MGVAE_EXPECT_COMPILE_ERROR)
  // Wrong: a node tensor where a pair tensor is needed, without the 1→2 map.
  const PairTensor<double> y = equivariant_2to2(x);
#else
  // Right: lift to second order first, then the second-order layer and the 2→2 basis.
  const PairTensor<double> h = layer.forward(A, equivariant_1to2(x));
  const PairTensor<double> y = equivariant_2to2(h);
#endif
  return static_cast<int>(y.rows() > 0 ? 0 : 1);
}
