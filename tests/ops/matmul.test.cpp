#include "mgvae/ops/matmul.hpp"

#include "mgvae/autodiff/gradcheck.hpp"
#include "support/catch.hpp"
#include "support/op_check.hpp"

using namespace mgvae;
using TD = Tensor<double>;
using VD = Var<double>;

namespace {
TD rnd(const Shape& s, std::uint64_t seed) { return testing::uniform_tensor(s, seed, -1.0, 1.0); }
using mgvae::testing::expect_grad;
/// Naive [M,K]x[K,N] on 2-D (possibly strided) tensors.
TD naive2(const TD& a, const TD& b) {
  TD y = TD::zeros({a.shape()[0], b.shape()[1]});
  for (std::int64_t i = 0; i < a.shape()[0]; ++i)
    for (std::int64_t j = 0; j < b.shape()[1]; ++j)
      for (std::int64_t k = 0; k < a.shape()[1]; ++k) y(i, j) += a(i, k) * b(k, j);
  return y;
}
}  // namespace

TEST_CASE("matmul 2-D matches a naive triple loop, incl. 0-size, 1x1, strided", "[ops][matmul]") {
  struct C {
    std::int64_t m, k, n;
  };
  for (const C& c : {C{3, 4, 5}, C{1, 1, 1}, C{0, 3, 2}, C{3, 0, 2}, C{2, 3, 0}, C{17, 9, 13}}) {
    const TD a = rnd({c.m, c.k}, 1), b = rnd({c.k, c.n}, 2);
    const TD y = matmul(VD(a), VD(b)).value();
    REQUIRE(y.shape() == Shape{c.m, c.n});
    CHECK(max_abs_diff(y, naive2(a, b)) < 1e-12);
  }
  const TD at = rnd({4, 3}, 3).transpose(0, 1), b = rnd({4, 2}, 4);  // non-contiguous operand
  CHECK(max_abs_diff(matmul(VD(at), VD(b)).value(), naive2(at, b)) < 1e-12);
  const Tensor<float> af = Tensor<float>::from({1, 2}, {1.0f, 2.0f}), bf = Tensor<float>::from({2, 1}, {3.0f, 4.0f});
  CHECK(matmul(Var<float>(af), Var<float>(bf)).value()(0, 0) == 11.0f);
}

TEST_CASE("matmul batched 3-D x 3-D and 3-D x 2-D match per-batch loops", "[ops][matmul]") {
  const TD a = rnd({3, 2, 4}, 5), b3 = rnd({3, 4, 5}, 6), b2 = rnd({4, 5}, 7);
  const TD y3 = matmul(VD(a), VD(b3)).value(), y2 = matmul(VD(a), VD(b2)).value();
  REQUIRE(y3.shape() == Shape{3, 2, 5});
  REQUIRE(y2.shape() == Shape{3, 2, 5});
  for (std::int64_t bi = 0; bi < 3; ++bi) {
    const TD ab = a.slice(0, bi, bi + 1).reshape({2, 4});
    CHECK(max_abs_diff(y3.slice(0, bi, bi + 1).reshape({2, 5}), naive2(ab, b3.slice(0, bi, bi + 1).reshape({4, 5}))) < 1e-12);
    CHECK(max_abs_diff(y2.slice(0, bi, bi + 1).reshape({2, 5}), naive2(ab, b2)) < 1e-12);
  }
  CHECK(matmul(VD(TD::zeros({0, 2, 3})), VD(TD::zeros({0, 3, 4}))).shape() == Shape{0, 2, 4});
  CHECK(matmul(VD(TD::zeros({0, 2, 3})), VD(TD::zeros({3, 4}))).shape() == Shape{0, 2, 4});
  CHECK(matmul(VD(TD::full({1, 1, 1}, 2.0)), VD(TD::full({1, 1}, 3.0))).value()(0, 0, 0) == 6.0);
}

TEST_CASE("matmul gradcheck (2-D, batched, shared right operand)", "[ops][matmul][grad]") {
  expect_grad([](const std::vector<VD>& v) { return matmul(v[0], v[1]); }, {rnd({3, 4}, 8), rnd({4, 2}, 9)});
  expect_grad([](const std::vector<VD>& v) { return matmul(v[0], v[1]); }, {rnd({2, 3, 4}, 10), rnd({2, 4, 2}, 11)});
  expect_grad([](const std::vector<VD>& v) { return matmul(v[0], v[1]); }, {rnd({2, 3, 4}, 12), rnd({4, 2}, 13)});
  expect_grad([](const std::vector<VD>& v) { return matmul(v[0], v[1]); }, {rnd({1, 1}, 14), rnd({1, 1}, 15)});
  // gating: constant operand gets no gradient; 0-size inner dim gives zero gradients
  VD a(rnd({2, 3}, 16), true), b(rnd({3, 2}, 17), false);
  backward(matmul(a, b), TD::ones({2, 2}));
  CHECK(a.grad().defined());
  CHECK_FALSE(b.grad().defined());
  VD e(TD::zeros({2, 0}), true), f(TD::zeros({0, 3}), true);
  backward(matmul(e, f), TD::ones({2, 3}));
  CHECK(e.grad().shape() == Shape{2, 0});
  CHECK(f.grad().shape() == Shape{0, 3});
}

TEST_CASE("matmul: shape mismatch names both shapes", "[ops][matmul]") {
  CHECK_THROWS_WITH(matmul(VD(TD::zeros({2, 3})), VD(TD::zeros({4, 5}))),
                    Catch::Contains("matmul") && Catch::Contains("[2, 3]") && Catch::Contains("[4, 5]"));
  CHECK_THROWS_AS(matmul(VD(TD::zeros({2, 2, 3})), VD(TD::zeros({3, 3, 5}))), std::invalid_argument);
  CHECK_THROWS_AS(matmul(VD(TD::zeros({2, 3})), VD(TD::zeros({2, 3, 5}))), std::invalid_argument);
  CHECK_THROWS_AS(matmul(VD(TD::zeros({3})), VD(TD::zeros({3}))), std::invalid_argument);
}
