#include "mgvae/ops/reduce.hpp"

#include <cmath>
#include <limits>

#include "mgvae/autodiff/gradcheck.hpp"
#include "support/catch.hpp"
#include "support/op_check.hpp"

using namespace mgvae;
using TD = Tensor<double>;
using VD = Var<double>;

namespace {
TD rnd(const Shape& s, std::uint64_t seed) { return testing::uniform_tensor(s, seed, -2.0, 2.0); }
using mgvae::testing::expect_grad;
}  // namespace

TEST_CASE("sum/mean over axes match naive loops", "[ops][reduce]") {
  const TD x = rnd({2, 3, 4}, 1);
  double tot = 0;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) tot += x(i, j, k);
  CHECK(sum(VD(x)).shape() == Shape{});
  CHECK(sum(VD(x)).item() == Approx(tot));
  CHECK(mean(VD(x)).item() == Approx(tot / 24));
  const TD s1 = sum(VD(x), {1}).value(), s02 = sum(VD(x), {0, -1}, true).value(), m2 = mean(VD(x), {2}).value();
  REQUIRE(s1.shape() == Shape{2, 4});
  REQUIRE(s02.shape() == Shape{1, 3, 1});
  REQUIRE(m2.shape() == Shape{2, 3});
  for (int i = 0; i < 2; ++i)
    for (int k = 0; k < 4; ++k) {
      double r = 0;
      for (int j = 0; j < 3; ++j) r += x(i, j, k);
      CHECK(s1(i, k) == Approx(r));
    }
  for (int j = 0; j < 3; ++j) {
    double r = 0;
    for (int i = 0; i < 2; ++i)
      for (int k = 0; k < 4; ++k) r += x(i, j, k);
    CHECK(s02(0, j, 0) == Approx(r));
  }
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) {
      double r = 0;
      for (int k = 0; k < 4; ++k) r += x(i, j, k);
      CHECK(m2(i, j) == Approx(r / 4));
    }
  // non-contiguous input: xt[k, j, i] = x[i, j, k]; sum over axis 0 is s1 transposed
  const TD st = sum(VD(x.transpose(0, 2)), {0}).value();
  REQUIRE(st.shape() == Shape{3, 2});
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) {
      double r = 0;
      for (int k = 0; k < 4; ++k) r += x(i, j, k);
      CHECK(st(j, i) == Approx(r));
    }
}

TEST_CASE("sum/mean: 0-size, 1x1 and errors", "[ops][reduce]") {
  CHECK(sum(VD(TD::zeros({0, 3}))).item() == 0.0);
  CHECK(sum(VD(TD::zeros({0, 3})), {0}).value().to_vector() == std::vector<double>(3, 0.0));
  CHECK(sum(VD(TD::zeros({0, 3})), {1}).shape() == Shape{0});
  CHECK(sum(VD(TD::full({1, 1}, 2.5))).item() == 2.5);
  CHECK(mean(VD(TD::full({1, 1}, 2.5)), {0, 1}, true).shape() == Shape{1, 1});
  CHECK_THROWS_WITH(mean(VD(TD::zeros({0, 3}))), Catch::Contains("mean") && Catch::Contains("[0, 3]"));
  CHECK_THROWS_WITH(sum(VD(TD::zeros({2, 3})), {2}), Catch::Contains("sum") && Catch::Contains("axis 2"));
  CHECK_THROWS_WITH(sum(VD(TD::zeros({2, 3})), {1, -1}), Catch::Contains("repeated axis"));
}

TEST_CASE("max/logsumexp match naive loops; max ties and NaN", "[ops][reduce]") {
  const TD x = rnd({3, 4}, 2);
  const TD m0 = max(VD(x), 0).value(), m1 = max(VD(x), 1, true).value(), l1 = logsumexp(VD(x), 1).value();
  REQUIRE(m0.shape() == Shape{4});
  REQUIRE(m1.shape() == Shape{3, 1});
  REQUIRE(l1.shape() == Shape{3});
  for (int k = 0; k < 4; ++k) CHECK(m0(k) == std::max({x(0, k), x(1, k), x(2, k)}));
  for (int i = 0; i < 3; ++i) {
    double m = x(i, 0), z = 0;
    for (int k = 0; k < 4; ++k) m = std::max(m, x(i, k));
    for (int k = 0; k < 4; ++k) z += std::exp(x(i, k));
    CHECK(m1(i, 0) == m);
    CHECK(l1(i) == Approx(std::log(z)));
  }
  // ties: the gradient goes to the first maximum only
  VD t(TD::from({3}, {1.0, 5.0, 5.0}), true);
  backward(max(t, 0));
  CHECK(t.grad().to_vector() == std::vector<double>{0.0, 1.0, 0.0});
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  CHECK(std::isnan(max(VD(TD::from({3}, {1.0, nan, 2.0})), 0).item()));
  // stability and all -inf rows
  CHECK(logsumexp(VD(TD::from({2}, {1000.0, 1000.0})), 0).item() == Approx(1000.0 + std::log(2.0)));
  CHECK(logsumexp(VD(TD::from({2}, {-inf, -inf})), 0).item() == -inf);
  CHECK(logsumexp(VD(TD::full({1, 1}, 3.0)), 1).value()(0) == 3.0);
  CHECK(max(VD(TD::full({1, 1}, 3.0)), 0).value()(0) == 3.0);
  CHECK(max(VD(TD::zeros({0, 3})), 1).shape() == Shape{0});
  CHECK(logsumexp(VD(TD::zeros({0, 3})), 1).shape() == Shape{0});
  CHECK_THROWS_WITH(max(VD(TD::zeros({0, 3})), 0), Catch::Contains("max") && Catch::Contains("[0, 3]"));
  CHECK_THROWS_AS(logsumexp(VD(x), 2), std::invalid_argument);
}

TEST_CASE("reductions gradcheck", "[ops][reduce][grad]") {
  const TD x = rnd({2, 3, 4}, 3);
  expect_grad([](const std::vector<VD>& v) { return sum(v[0]); }, {x});
  expect_grad([](const std::vector<VD>& v) { return sum(v[0], {0, 2}); }, {x});
  expect_grad([](const std::vector<VD>& v) { return sum(v[0], {1}, true); }, {x});
  expect_grad([](const std::vector<VD>& v) { return mean(v[0], {-1}); }, {x});
  expect_grad([](const std::vector<VD>& v) { return mean(v[0]); }, {x});
  for (int axis = 0; axis < 3; ++axis) {
    expect_grad([axis](const std::vector<VD>& v) { return max(v[0], axis); }, {x});  // continuous draws: no ties
    expect_grad([axis](const std::vector<VD>& v) { return logsumexp(v[0], axis, true); }, {x});
  }
  const TD one = TD::full({1, 1}, 0.7);
  expect_grad([](const std::vector<VD>& v) { return sum(v[0]); }, {one});
  expect_grad([](const std::vector<VD>& v) { return mean(v[0], {0}); }, {one});
  expect_grad([](const std::vector<VD>& v) { return max(v[0], 1); }, {one});
  expect_grad([](const std::vector<VD>& v) { return logsumexp(v[0], 0); }, {one});
}
