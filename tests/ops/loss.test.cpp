#include "mgvae/ops/loss.hpp"

#include <cmath>
#include <limits>

#include "mgvae/autodiff/gradcheck.hpp"
#include "support/catch.hpp"
#include "support/op_check.hpp"

using namespace mgvae;
using TD = Tensor<double>;
using VD = Var<double>;

namespace {
TD rnd(const Shape& s, std::uint64_t seed, double lo = -2.0, double hi = 2.0) {
  return testing::uniform_tensor(s, seed, lo, hi);
}
using mgvae::testing::expect_grad;
void check_all(const TD& t, const std::vector<double>& ref) {
  REQUIRE(t.numel() == static_cast<std::int64_t>(ref.size()));
  const auto v = t.to_vector();
  for (std::size_t i = 0; i < ref.size(); ++i) CHECK(v[i] == Approx(ref[i]).epsilon(1e-12).margin(1e-15));
}
}  // namespace

// Reference values from PyTorch 1.13.1 (python3-torch, float64):
//   import torch, torch.nn.functional as F
//   x = torch.tensor([[-3.0, -0.5, 0.0], [0.25, 2.0, 40.0]], dtype=torch.float64, requires_grad=True)
//   y = torch.tensor([[0.0, 1.0, 0.5], [1.0, 0.0, 1.0]], dtype=torch.float64)
//   w = torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64)
//   for pw in [1.0, 3.0]:
//     pwt = torch.full((3,), pw, dtype=torch.float64)
//     for red in ['mean', 'sum', 'none']:
//       F.binary_cross_entropy_with_logits(x, y, pos_weight=pwt, reduction=red)
//       F.binary_cross_entropy_with_logits(x, y, weight=w, pos_weight=pwt, reduction=red)
//     torch.autograd.grad(F.binary_cross_entropy_with_logits(x, y, weight=w, pos_weight=pwt), x)
// (PyTorch gives exactly 0 for x=40, y=1; we give softplus(-40) = 4.2e-18, hence the margin.)
TEST_CASE("bce_with_logits matches PyTorch (pos_weight, weight, reductions)", "[ops][loss]") {
  const VD x(TD::from({2, 3}, {-3.0, -0.5, 0.0, 0.25, 2.0, 40.0}));
  const VD y(TD::from({2, 3}, {0.0, 1.0, 0.5, 1.0, 0.0, 1.0}));
  const TD w = TD::from({3}, {0.5, 1.0, 2.0});
  check_all(bce_with_logits(x, y).value(), {0.7364464912059351});
  check_all(bce_with_logits(x, y, 1.0, Reduction::Mean, &w).value(), {0.7999271236782105});
  check_all(bce_with_logits(x, y, 1.0, Reduction::Sum).value(), {4.418678947235611});
  check_all(bce_with_logits(x, y, 1.0, Reduction::Sum, &w).value(), {4.799562742069263});
  check_all(bce_with_logits(x, y, 1.0, Reduction::None).value(),
            {0.048587351573742055, 0.9740769841801067, 0.6931471805599453, 0.5759394198788437, 2.1269280110429727, 0.0});
  check_all(bce_with_logits(x, y, 1.0, Reduction::None, &w).value(),
            {0.024293675786871027, 0.9740769841801067, 1.3862943611198906, 0.28796970993942184, 2.1269280110429727, 0.0});
  check_all(bce_with_logits(x, y, 3.0).value(), {1.3686431559855763});
  check_all(bce_with_logits(x, y, 3.0, Reduction::Mean, &w).value(), {1.4516584152380352});
  check_all(bce_with_logits(x, y, 3.0, Reduction::Sum).value(), {8.211858935913458});
  check_all(bce_with_logits(x, y, 3.0, Reduction::Sum, &w).value(), {8.709950491428211});
  check_all(bce_with_logits(x, y, 3.0, Reduction::None).value(),
            {0.048587351573742055, 2.9222309525403203, 1.3862943611198906, 1.727818259636531, 2.1269280110429727, 0.0});
  check_all(bce_with_logits(x, y, 3.0, Reduction::None, &w).value(),
            {0.024293675786871027, 2.9222309525403203, 2.772588722239781, 0.8639091298182655, 2.1269280110429727, 0.0});
  CHECK(bce_with_logits(x, y).shape() == Shape{});
  for (double pw : {1.0, 3.0}) {
    VD xg(x.value(), true);
    backward(bce_with_logits(xg, y, pw, Reduction::Mean, &w));
    if (pw == 1.0)
      check_all(xg.grad(), {0.003952156098130565, -0.10374322186697577, 0.0, -0.03648529159285016, 0.14679951299631372, 0.0});
    else
      check_all(xg.grad(), {0.003952156098130565, -0.3112296656009273, -0.16666666666666666, -0.1094558747785505,
                            0.14679951299631372, 0.0});
  }
}

TEST_CASE("bce_with_logits: stable at extreme logits, gradcheck, errors", "[ops][loss][grad]") {
  const VD big(TD::from({4}, {-800.0, 800.0, -800.0, 800.0})), yy(TD::from({4}, {0.0, 1.0, 1.0, 0.0}));
  check_all(bce_with_logits(big, yy, 1.0, Reduction::None).value(), {0.0, 0.0, 800.0, 800.0});
  const TD x = rnd({2, 3}, 1), y = rnd({2, 3}, 2, 0.0, 1.0), w = rnd({2, 1}, 3, 0.5, 2.0);
  for (double pw : {1.0, 2.5})
    for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
      expect_grad([pw, r](const std::vector<VD>& v) { return bce_with_logits(v[0], v[1], pw, r); }, {x, y});
      expect_grad([pw, r, &w](const std::vector<VD>& v) { return bce_with_logits(v[0], v[1], pw, r, &w); }, {x, y});
    }
  expect_grad([](const std::vector<VD>& v) { return bce_with_logits(v[0], v[1], 2.0); }, {rnd({1, 1}, 4), rnd({1, 1}, 5, 0, 1)});
  CHECK(bce_with_logits(VD(TD::zeros({0})), VD(TD::zeros({0})), 1.0, Reduction::Sum).item() == 0.0);
  CHECK(bce_with_logits(VD(TD::zeros({0, 2})), VD(TD::zeros({0, 2})), 1.0, Reduction::None).shape() == Shape{0, 2});
  CHECK_THROWS_AS(bce_with_logits(VD(TD::zeros({0})), VD(TD::zeros({0}))), std::invalid_argument);
  CHECK_THROWS_WITH(bce_with_logits(VD(TD::zeros({2, 3})), VD(TD::zeros({3, 2}))),
                    Catch::Contains("bce_with_logits") && Catch::Contains("[2, 3]") && Catch::Contains("[3, 2]"));
  const TD bad_w = TD::ones({4});
  CHECK_THROWS_AS(bce_with_logits(VD(x), VD(y), 1.0, Reduction::Mean, &bad_w), std::invalid_argument);
  // constant targets get no gradient
  VD xv(x, true), yv(y, false);
  backward(bce_with_logits(xv, yv));
  CHECK(xv.grad().defined());
  CHECK_FALSE(yv.grad().defined());
}

TEST_CASE("loss NaN checks are off by default and throw std::domain_error when on", "[ops][loss][debug]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const VD x(TD::from({3}, {0.0, nan, 1.0})), y(TD::from({3}, {0.0, 1.0, 1.0}));
  CHECK_FALSE(debug::nan_checks());
  CHECK(std::isnan(bce_with_logits(x, y).item()));
  {
    debug::NanCheckScope on;
    CHECK(debug::nan_checks());
    CHECK_THROWS_WITH(bce_with_logits(x, y), Catch::Contains("logits") && Catch::Contains("index 1"));
    CHECK_THROWS_AS(bce_with_logits(y, x), std::domain_error);
    CHECK_THROWS_WITH(bce_with_logits(y, x), Catch::Contains("targets"));
    const VD inf(TD::from({3}, {0.0, std::numeric_limits<double>::infinity(), 0.0}));
    CHECK_THROWS_AS(mse(inf, y), std::domain_error);
    CHECK_THROWS_AS(cross_entropy(VD(TD::from({1, 3}, {0.0, nan, 0.0})), {0}), std::domain_error);
    CHECK_NOTHROW(bce_with_logits(y, y));
    {
      debug::NanCheckScope off(false);
      CHECK_NOTHROW(bce_with_logits(x, y));
    }
    CHECK(debug::nan_checks());
  }
  CHECK_FALSE(debug::nan_checks());
}

TEST_CASE("mse matches the naive formula; gradcheck; errors", "[ops][loss][grad]") {
  const TD p = rnd({3, 2}, 6), t = rnd({3, 2}, 7);
  double s = 0;
  for (std::int64_t i = 0; i < p.numel(); ++i) s += (p.data()[i] - t.data()[i]) * (p.data()[i] - t.data()[i]);
  CHECK(mse(VD(p), VD(t)).item() == Approx(s / 6));
  CHECK(mse(VD(p), VD(t), Reduction::Sum).item() == Approx(s));
  const TD n = mse(VD(p), VD(t), Reduction::None).value();
  CHECK(n.shape() == Shape{3, 2});
  CHECK(n(2, 1) == Approx((p(2, 1) - t(2, 1)) * (p(2, 1) - t(2, 1))));
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None})
    expect_grad([r](const std::vector<VD>& v) { return mse(v[0], v[1], r); }, {p, t});
  expect_grad([](const std::vector<VD>& v) { return mse(v[0], v[1]); }, {rnd({1, 1}, 8), rnd({1, 1}, 9)});
  CHECK(mse(VD(TD::zeros({0})), VD(TD::zeros({0})), Reduction::Sum).item() == 0.0);
  CHECK_THROWS_WITH(mse(VD(p), VD(TD::zeros({2, 3}))), Catch::Contains("mse") && Catch::Contains("[3, 2]") && Catch::Contains("[2, 3]"));
}

TEST_CASE("cross_entropy matches -log_softmax at the label; gradcheck; errors", "[ops][loss][grad]") {
  const TD x = rnd({4, 3}, 10);
  const std::vector<std::int64_t> lab{2, 0, 1, 2};
  double tot = 0;
  const TD per = cross_entropy(VD(x), lab, Reduction::None).value();
  REQUIRE(per.shape() == Shape{4});
  for (int i = 0; i < 4; ++i) {
    double z = 0;
    for (int k = 0; k < 3; ++k) z += std::exp(x(i, k));
    const double li = std::log(z) - x(i, lab[static_cast<std::size_t>(i)]);
    CHECK(per(i) == Approx(li));
    tot += li;
  }
  CHECK(cross_entropy(VD(x), lab).item() == Approx(tot / 4));
  CHECK(cross_entropy(VD(x), lab, Reduction::Sum).item() == Approx(tot));
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None})
    expect_grad([r, &lab](const std::vector<VD>& v) { return cross_entropy(v[0], lab, r); }, {x});
  expect_grad([](const std::vector<VD>& v) { return cross_entropy(v[0], {0}); }, {rnd({1, 1}, 11)});
  CHECK(cross_entropy(VD(TD::full({1, 1}, 3.0)), {0}).item() == 0.0);
  CHECK(cross_entropy(VD(TD::from({1, 2}, {1000.0, -1000.0})), {1}).item() == Approx(2000.0));
  CHECK(cross_entropy(VD(TD::zeros({0, 3})), {}, Reduction::Sum).item() == 0.0);
  CHECK_THROWS_AS(cross_entropy(VD(TD::zeros({0, 3})), {}), std::invalid_argument);
  CHECK_THROWS_WITH(cross_entropy(VD(x), {2, 0, 3, 1}), Catch::Contains("cross_entropy") && Catch::Contains("label 3"));
  CHECK_THROWS_WITH(cross_entropy(VD(x), {-1, 0, 0, 1}), Catch::Contains("label -1"));
  CHECK_THROWS_WITH(cross_entropy(VD(x), {0, 1}), Catch::Contains("[4, 3]"));
  CHECK_THROWS_AS(cross_entropy(VD(TD::zeros({4})), {0, 0, 0, 0}), std::invalid_argument);
}

TEST_CASE("weighted_bce_with_logits: textbook reference, agrees with bce_with_logits, gradcheck, errors", "[ops][loss][grad]") {
  const TD x = TD::from({2, 3}, {-3.0, -0.5, 0.0, 0.25, 2.0, 4.0});
  const TD y = TD::from({2, 3}, {0.0, 1.0, 0.5, 1.0, 0.0, 1.0});
  const TD wp = TD::from({2, 3}, {1.0, 3.0, 2.0, 0.5, 1.0, 4.0});
  const TD sc = TD::from({2, 3}, {0.1, 1.0, 2.0, 1.0, 0.5, 3.0});
  const auto sg = [](double z) { return 1.0 / (1.0 + std::exp(-z)); };
  const TD l = weighted_bce_with_logits(VD(x), y, wp, &sc).value();
  for (std::int64_t i = 0; i < 6; ++i) {
    const double xi = x.data()[i], yi = y.data()[i];
    const double ref = -sc.data()[i] * (wp.data()[i] * yi * std::log(sg(xi)) + (1 - yi) * std::log(1 - sg(xi)));
    CHECK(l.data()[i] == Approx(ref).epsilon(1e-13));
  }
  // a scalar positive weight = PyTorch's pos_weight
  check_all(weighted_bce_with_logits(VD(x), y, 3.0).value(), bce_with_logits(VD(x), VD(y), 3.0, Reduction::None).value().to_vector());
  expect_grad([&](const std::vector<VD>& v) { return weighted_bce_with_logits(v[0], y, wp, &sc); }, {x});
  expect_grad([&](const std::vector<VD>& v) { return weighted_bce_with_logits(v[0], y, 2.5); }, {x});
  CHECK_THROWS_AS(weighted_bce_with_logits(VD(x), TD::zeros({3, 2}), 1.0), std::invalid_argument);
  CHECK_THROWS_WITH(weighted_bce_with_logits(VD(x), y, TD::ones({6})), Catch::Contains("pos_weight") && Catch::Contains("[6]"));
  const TD bad_scale = TD::ones({2, 2});
  CHECK_THROWS_WITH(weighted_bce_with_logits(VD(x), y, wp, &bad_scale), Catch::Contains("scale"));
}
