#include "mgvae/ops/softmax.hpp"

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

TEST_CASE("softmax/log_softmax match naive formulas along every axis", "[ops][softmax]") {
  const TD x = rnd({2, 3, 4}, 1);
  for (int axis = 0; axis < 3; ++axis) {
    const TD s = softmax(VD(x), axis).value(), l = log_softmax(VD(x), axis).value();
    REQUIRE(s.shape() == x.shape());
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j)
        for (int k = 0; k < 4; ++k) {
          double z = 0;
          const int n = static_cast<int>(x.shape()[static_cast<std::size_t>(axis)]);
          for (int t = 0; t < n; ++t) z += std::exp(axis == 0 ? x(t, j, k) : axis == 1 ? x(i, t, k) : x(i, j, t));
          CHECK(s(i, j, k) == Approx(std::exp(x(i, j, k)) / z));
          CHECK(l(i, j, k) == Approx(x(i, j, k) - std::log(z)));
        }
  }
  CHECK(softmax(VD(x), -1).value().to_vector() == softmax(VD(x), 2).value().to_vector());
  CHECK_THROWS_WITH(softmax(VD(x), 3), Catch::Contains("softmax") && Catch::Contains("axis 3"));
  CHECK_THROWS_AS(log_softmax(VD(x), -4), std::invalid_argument);
}

TEST_CASE("softmax is stable for large logits; 0-size and 1x1", "[ops][softmax]") {
  const VD x(TD::from({1, 3}, {1000.0, 1000.0, -1000.0}));
  const TD s = softmax(x, 1).value(), l = log_softmax(x, 1).value();
  CHECK(s(0, 0) == Approx(0.5));
  CHECK(s(0, 2) == 0.0);
  CHECK(l(0, 0) == Approx(-std::log(2.0)));
  CHECK(l(0, 2) == Approx(-2000.0 - std::log(2.0)));
  const TD neg_inf = softmax(VD(TD::from({2}, {-std::numeric_limits<double>::infinity(), 0.0})), 0).value();
  CHECK(neg_inf(0) == 0.0);
  CHECK(neg_inf(1) == 1.0);
  CHECK(softmax(VD(TD::zeros({0, 3})), 1).shape() == Shape{0, 3});
  CHECK(softmax(VD(TD::zeros({3, 0})), 1).shape() == Shape{3, 0});
  CHECK(softmax(VD(TD::full({1, 1}, 7.0)), 1).value()(0, 0) == 1.0);
  CHECK(log_softmax(VD(TD::full({1, 1}, 7.0)), 0).value()(0, 0) == 0.0);
  // float
  const Tensor<float> sf = softmax(Var<float>(Tensor<float>::from({2}, {100.0f, 100.0f})), 0).value();
  CHECK(sf(0) == Approx(0.5f));
}

TEST_CASE("softmax/log_softmax gradcheck", "[ops][softmax][grad]") {
  const TD x = rnd({2, 3, 4}, 2);
  for (int axis = 0; axis < 3; ++axis) {
    expect_grad([axis](const std::vector<VD>& v) { return softmax(v[0], axis); }, {x});
    expect_grad([axis](const std::vector<VD>& v) { return log_softmax(v[0], axis); }, {x});
  }
  expect_grad([](const std::vector<VD>& v) { return softmax(v[0], 0); }, {rnd({1, 1}, 3)});
  expect_grad([](const std::vector<VD>& v) { return log_softmax(v[0], 1); }, {rnd({1, 1}, 4)});
}
