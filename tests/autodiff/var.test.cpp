// Var<T>::backward(): the member form of backward(loss) gives the same gradients, accumulates
// across calls, takes a seed, and rejects a non-scalar loss without a seed.
#include <stdexcept>

#include "mgvae/autodiff/var.hpp"
#include "mgvae/ops/elementwise.hpp"
#include "mgvae/ops/reduce.hpp"
#include "support/catch.hpp"

using namespace mgvae;
using TD = Tensor<double>;
using VD = Var<double>;

TEST_CASE("Var::backward() equals backward(loss)", "[autodiff][var]") {
  const TD x0 = TD::from({3}, {0.5, -1.0, 2.0});
  VD a(x0.clone(), true), b(x0.clone(), true);
  sum(mul(a, a)).backward();  // d/dx Σ x² = 2x
  backward(sum(mul(b, b)));
  REQUIRE(a.grad().defined());
  CHECK(a.grad().to_vector() == std::vector<double>{1.0, -2.0, 4.0});
  CHECK(max_abs_diff(a.grad(), b.grad()) == 0.0);
  sum(a).backward();  // accumulates until zero_grad()
  CHECK(a.grad().to_vector() == std::vector<double>{2.0, -1.0, 5.0});
  a.zero_grad();
  CHECK_FALSE(a.grad().defined());
}

TEST_CASE("Var::backward(seed) and a non-scalar loss", "[autodiff][var]") {
  VD a(TD::from({2}, {1.0, 3.0}), true);
  const VD y = mul(a, a);
  CHECK_THROWS_AS(y.backward(), std::invalid_argument);
  const VD y2 = mul(a, a);
  y2.backward(TD::from({2}, {1.0, 10.0}));  // seed: vector-Jacobian product 2x ⊙ seed
  CHECK(a.grad().to_vector() == std::vector<double>{2.0, 60.0});
  const VD y3 = mul(a, a);
  CHECK_THROWS_AS(y3.backward(TD::from({3}, {1.0, 1.0, 1.0})), std::invalid_argument);
}
