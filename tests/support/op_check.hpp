#pragma once
/// Shared helpers of the op tests (tests/ops/*.test.cpp): seeded random inputs and a Catch2
/// wrapper around the finite-difference gradient check (mgvae/autodiff/gradcheck.hpp).
#include <cstdint>
#include <functional>
#include <vector>

#include "mgvae/autodiff/gradcheck.hpp"
#include "support/catch.hpp"

namespace mgvae::testing {

/// A [shape] tensor of doubles drawn uniformly from [lo, hi) with a fixed seed.
inline Tensor<double> uniform_tensor(const Shape& s, std::uint64_t seed, double lo, double hi) {
  return Tensor<double>::uniform(s, CounterRng(seed), lo, hi);
}

/// Checks f's analytic gradient against central differences (double precision) and that at least
/// one entry was compared; `wrt` selects the inputs to check (empty: all).
inline void expect_grad(const std::function<Var<double>(const std::vector<Var<double>>&)>& f,
                        const std::vector<Tensor<double>>& xs, std::vector<bool> wrt = {}) {
  const auto r = gradcheck(f, xs, {}, wrt);
  INFO(r.message);
  CHECK(r.ok);
  CHECK(r.checked > 0);
}

}  // namespace mgvae::testing
