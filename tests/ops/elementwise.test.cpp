#include "mgvae/ops/elementwise.hpp"

#include <cmath>

#include "mgvae/autodiff/gradcheck.hpp"
#include "support/catch.hpp"
#include "support/op_check.hpp"

using namespace mgvae;
using TD = Tensor<double>;
using VD = Var<double>;

namespace {
TD rnd(const Shape& s, std::uint64_t seed, double lo = -1.5, double hi = 1.5) {
  return testing::uniform_tensor(s, seed, lo, hi);
}
using mgvae::testing::expect_grad;
}  // namespace

TEST_CASE("binary ops match naive loops with broadcasting", "[ops][elementwise]") {
  const TD a = rnd({2, 3, 4}, 1), b = rnd({3, 1}, 2, 0.5, 2.0);
  const VD va(a), vb(b);
  const TD s = add(va, vb).value(), d = sub(va, vb).value(), m = mul(va, vb).value(), q = div(va, vb).value();
  REQUIRE(s.shape() == Shape{2, 3, 4});
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) {
        CHECK(s(i, j, k) == Approx(a(i, j, k) + b(j, 0)));
        CHECK(d(i, j, k) == Approx(a(i, j, k) - b(j, 0)));
        CHECK(m(i, j, k) == Approx(a(i, j, k) * b(j, 0)));
        CHECK(q(i, j, k) == Approx(a(i, j, k) / b(j, 0)));
      }
}

TEST_CASE("binary ops: shape mismatch names the op and both shapes", "[ops][elementwise]") {
  const VD a(TD::zeros({2, 3})), b(TD::zeros({4}));
  try {
    (void)add(a, b);
    FAIL("no throw");
  } catch (const std::invalid_argument& e) {
    const std::string m = e.what();
    CHECK(m.find("add") != std::string::npos);
    CHECK(m.find("[2, 3]") != std::string::npos);
    CHECK(m.find("[4]") != std::string::npos);
  }
}

TEST_CASE("binary ops gradcheck (broadcast reduction in the engine)", "[ops][elementwise][grad]") {
  const TD a = rnd({2, 3}, 3), b = rnd({3}, 4, 0.5, 2.0), c = rnd({2, 1}, 5, 0.5, 2.0);
  expect_grad([](const std::vector<VD>& v) { return add(v[0], v[1]); }, {a, b});
  expect_grad([](const std::vector<VD>& v) { return sub(v[0], v[2]); }, {a, b, c});
  expect_grad([](const std::vector<VD>& v) { return mul(v[0], v[1]); }, {a, b});
  expect_grad([](const std::vector<VD>& v) { return div(v[0], v[1]); }, {a, b});
  expect_grad([](const std::vector<VD>& v) { return div(v[1], v[2]); }, {a, b, c});
  expect_grad([](const std::vector<VD>& v) { return maximum(v[0], v[2]); }, {a, b, c});
  expect_grad([](const std::vector<VD>& v) { return pow(v[1], v[2]); }, {a, b, c});
}

TEST_CASE("unary ops match std:: and pass gradcheck", "[ops][elementwise][grad]") {
  const TD x = rnd({3, 4}, 7), xp = rnd({3, 4}, 8, 0.2, 3.0);
  const VD vx(x), vp(xp);
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    const double u = x.data()[i], p = xp.data()[i];
    CHECK(exp(vx).value().data()[i] == Approx(std::exp(u)));
    CHECK(log(vp).value().data()[i] == Approx(std::log(p)));
    CHECK(tanh(vx).value().data()[i] == Approx(std::tanh(u)));
    CHECK(sigmoid(vx).value().data()[i] == Approx(1 / (1 + std::exp(-u))));
    CHECK(relu(vx).value().data()[i] == Approx(u > 0 ? u : 0));
    CHECK(softplus(vx).value().data()[i] == Approx(std::log1p(std::exp(u))));
    CHECK(sqrt(vp).value().data()[i] == Approx(std::sqrt(p)));
    CHECK(pow(vp, 1.7).value().data()[i] == Approx(std::pow(p, 1.7)));
    CHECK(neg(vx).value().data()[i] == Approx(-u));
  }
  expect_grad([](const std::vector<VD>& v) { return exp(v[0]); }, {x});
  expect_grad([](const std::vector<VD>& v) { return log(v[0]); }, {xp});
  expect_grad([](const std::vector<VD>& v) { return tanh(v[0]); }, {x});
  expect_grad([](const std::vector<VD>& v) { return sigmoid(v[0]); }, {x});
  expect_grad([](const std::vector<VD>& v) { return relu(v[0]); }, {x});  // uniform draws avoid the kink
  expect_grad([](const std::vector<VD>& v) { return softplus(v[0]); }, {x});
  expect_grad([](const std::vector<VD>& v) { return sqrt(v[0]); }, {xp});
  expect_grad([](const std::vector<VD>& v) { return pow(v[0], 2.5); }, {xp});
  expect_grad([](const std::vector<VD>& v) { return neg(v[0]); }, {x});
  expect_grad([](const std::vector<VD>& v) { return abs(v[0]); }, {x});
  expect_grad([](const std::vector<VD>& v) { return (v[0] * 2.0 + 1.0) / 3.0 - v[0]; }, {x});
}

TEST_CASE("sigmoid and softplus are stable at large |x|", "[ops][elementwise]") {
  const VD x(TD::from({4}, {-800.0, -30.0, 30.0, 800.0}));
  const TD s = sigmoid(x).value(), p = softplus(x).value();
  for (int i = 0; i < 4; ++i) {
    CHECK(std::isfinite(s(i)));
    CHECK(std::isfinite(p(i)));
  }
  CHECK(s(3) == Approx(1.0));
  CHECK(p(3) == Approx(800.0));
  CHECK(p(0) == Approx(0.0).margin(1e-300));
}

TEST_CASE("elementwise ops on 0-size and 1x1 shapes", "[ops][elementwise]") {
  const VD e(TD::zeros({0, 3}), true), one(TD::full({1, 1}, 2.0), true);
  CHECK(add(e, e).shape() == Shape{0, 3});
  CHECK(exp(e).numel() == 0);
  CHECK(mul(one, one).value()(0, 0) == Approx(4.0));
  expect_grad([](const std::vector<VD>& v) { return mul(v[0], v[0]); }, {TD::full({1, 1}, 2.0)});
}

