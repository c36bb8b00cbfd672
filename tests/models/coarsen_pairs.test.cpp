// models/mgn/coarsen.hpp `coarsen_pairs`: Πᵀ A Π of one graph in the ragged pair layout [n², E]
// (the coarsening shared by the molecule and second-order models): naive reference, gradcheck in
// both inputs, invariance under a node permutation, typed errors.
#include "mgvae/models/mgn/coarsen.hpp"

#include <vector>

#include "mgvae/autodiff/gradcheck.hpp"
#include "support/catch.hpp"

using namespace mgvae;
using namespace mgvae::models;
using TD = Tensor<double>;
using VD = Var<double>;

namespace {
TD symmetric_pairs(std::int64_t n, std::int64_t E, std::uint64_t seed) {
  const TD r = TD::uniform({n * n, E}, CounterRng(seed), 0.0, 1.0);
  TD a(Shape{n * n, E});
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < n; ++j)
      for (std::int64_t e = 0; e < E; ++e)
        a.data()[(i * n + j) * E + e] = r.data()[(std::min(i, j) * n + std::max(i, j)) * E + e];
  return a;
}
}  // namespace

TEST_CASE("coarsen_pairs: naive reference, gradcheck, permutation invariance, errors", "[models][coarsen]") {
  const std::int64_t n = 5, K = 3, E = 2;
  const TD a = symmetric_pairs(n, E, 1);
  const TD pi = TD::uniform({n, K}, CounterRng(2), 0.0, 1.0);
  const TD c = coarsen_pairs(VD(a), VD(pi)).value();
  REQUIRE(c.shape() == Shape{K * K, E});
  for (std::int64_t k = 0; k < K; ++k)
    for (std::int64_t l = 0; l < K; ++l)
      for (std::int64_t e = 0; e < E; ++e) {
        double s = 0;
        for (std::int64_t i = 0; i < n; ++i)
          for (std::int64_t j = 0; j < n; ++j) s += pi.data()[i * K + k] * a.data()[(i * n + j) * E + e] * pi.data()[j * K + l];
        CHECK(c.data()[(k * K + l) * E + e] == Approx(s).epsilon(1e-13));
      }
  const auto r = gradcheck([](const std::vector<VD>& v) { return coarsen_pairs(v[0], v[1]); }, {a, pi});
  INFO(r.message);
  CHECK(r.ok);
  // σ: node i -> p[i]; the coarse graph does not change
  const std::int64_t p[5] = {3, 0, 4, 1, 2};
  TD ap(a.shape()), pp(pi.shape());
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t k = 0; k < K; ++k) pp.data()[p[i] * K + k] = pi.data()[i * K + k];
    for (std::int64_t j = 0; j < n; ++j)
      for (std::int64_t e = 0; e < E; ++e) ap.data()[(p[i] * n + p[j]) * E + e] = a.data()[(i * n + j) * E + e];
  }
  CHECK(max_abs_diff(coarsen_pairs(VD(ap), VD(pp)).value(), c) < 1e-13);
  CHECK_THROWS_AS(coarsen_pairs(VD(TD::zeros({24, E})), VD(pi)), std::invalid_argument);
  CHECK_THROWS_WITH(coarsen_pairs(VD(a), VD(TD::zeros({n}))), Catch::Contains("coarsen_pairs") && Catch::Contains("[5]"));
}
