#include "mgvae/ops/indexing.hpp"

#include "mgvae/autodiff/gradcheck.hpp"
#include "support/catch.hpp"
#include "support/op_check.hpp"

using namespace mgvae;
using TD = Tensor<double>;
using VD = Var<double>;

namespace {
TD rnd(const Shape& s, std::uint64_t seed) { return testing::uniform_tensor(s, seed, -1.5, 1.5); }
using mgvae::testing::expect_grad;
}  // namespace

TEST_CASE("index_select gathers slices along any axis (duplicates allowed)", "[ops][indexing]") {
  const TD x = rnd({3, 4, 2}, 1);
  const std::vector<std::int64_t> idx{3, 0, 3};
  const TD y = index_select(VD(x), 1, idx).value();
  REQUIRE(y.shape() == Shape{3, 3, 2});
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 2; ++k) CHECK(y(i, j, k) == x(i, idx[j], k));
  const TD y0 = index_select(VD(x), 0, {2}).value();
  CHECK(y0.shape() == Shape{1, 4, 2});
  CHECK(y0(0, 3, 1) == x(2, 3, 1));
  CHECK(index_select(VD(x), -1, {}).shape() == Shape{3, 4, 0});
  CHECK(index_select(VD(TD::zeros({0, 3})), 1, {2, 2}).shape() == Shape{0, 2});
  CHECK_THROWS_WITH(index_select(VD(x), 1, {0, 4}), Catch::Contains("index_select") && Catch::Contains("index 4"));
  CHECK_THROWS_WITH(index_select(VD(x), 0, {-1}), Catch::Contains("index -1"));
  CHECK_THROWS_AS(index_select(VD(x), 3, {0}), std::invalid_argument);
}

TEST_CASE("index_select backward scatter-adds (gradcheck)", "[ops][indexing][grad]") {
  expect_grad([](const std::vector<VD>& v) { return index_select(v[0], 1, {3, 0, 3, 1}); }, {rnd({2, 4, 2}, 2)});
  expect_grad([](const std::vector<VD>& v) { return index_select(v[0], 0, {0, 0}); }, {rnd({1, 1}, 3)});
  VD x(TD::zeros({3}), true);
  backward(index_select(x, 0, {2, 2, 0}), TD::from({3}, {1.0, 2.0, 4.0}));
  CHECK(x.grad()(0) == 4.0);
  CHECK(x.grad()(1) == 0.0);
  CHECK(x.grad()(2) == 3.0);
}

TEST_CASE("scatter_add sums into positions; backward gathers", "[ops][indexing][grad]") {
  const TD s = rnd({2, 4}, 4);
  const std::vector<std::int64_t> idx{1, 0, 1, 4};
  const TD y = scatter_add(VD(s), 1, idx, 5).value();
  REQUIRE(y.shape() == Shape{2, 5});
  for (int i = 0; i < 2; ++i) {
    TD ref = TD::zeros({5});
    for (int j = 0; j < 4; ++j) ref(idx[j]) += s(i, j);
    for (int k = 0; k < 5; ++k) CHECK(y(i, k) == Approx(ref(k)));
  }
  CHECK(scatter_add(VD(TD::zeros({0, 2})), 0, {}, 3).value().to_vector() == std::vector<double>(6, 0.0));
  CHECK_THROWS_WITH(scatter_add(VD(s), 1, {0, 1, 2, 5}, 5), Catch::Contains("scatter_add") && Catch::Contains("index 5"));
  CHECK_THROWS_WITH(scatter_add(VD(s), 1, {0, 1}, 5), Catch::Contains("[2, 4]"));
  CHECK_THROWS_AS(scatter_add(VD(s), 1, idx, -1), std::invalid_argument);
  expect_grad([&idx](const std::vector<VD>& v) { return scatter_add(v[0], 1, idx, 5); }, {s});
  expect_grad([](const std::vector<VD>& v) { return scatter_add(v[0], 0, {0}, 1); }, {rnd({1, 1}, 5)});
  // adjoint pair: <index_select(x), s> == <x, scatter_add(s)>
  const TD x = rnd({5, 3}, 6), s2 = rnd({4, 3}, 7);
  const TD a = index_select(VD(x), 0, idx).value(), b = scatter_add(VD(s2), 0, idx, 5).value();
  double l = 0, r = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i) l += a.data()[i] * s2.data()[i];
  for (std::int64_t i = 0; i < b.numel(); ++i) r += b.data()[i] * x.data()[i];
  CHECK(l == Approx(r));
}

TEST_CASE("pair_dot scores <Z_u, Z_v> without Z Z^T", "[ops][indexing][grad]") {
  const TD z = rnd({4, 3}, 8);
  const std::vector<std::pair<std::int64_t, std::int64_t>> pairs{{0, 1}, {2, 2}, {3, 0}, {1, 0}};
  const TD y = pair_dot(VD(z), pairs).value();
  REQUIRE(y.shape() == Shape{4});
  for (std::size_t p = 0; p < pairs.size(); ++p) {
    double ref = 0;
    for (int j = 0; j < 3; ++j) ref += z(pairs[p].first, j) * z(pairs[p].second, j);
    CHECK(y(static_cast<std::int64_t>(p)) == Approx(ref));
  }
  CHECK(pair_dot(VD(z), {}).shape() == Shape{0});
  CHECK(pair_dot(VD(TD::zeros({2, 0})), {{0, 1}}).value()(0) == 0.0);
  CHECK_THROWS_WITH(pair_dot(VD(z), {{0, 4}}), Catch::Contains("pair_dot") && Catch::Contains("index 4"));
  CHECK_THROWS_AS(pair_dot(VD(TD::zeros({4})), {{0, 1}}), std::invalid_argument);
  expect_grad([&pairs](const std::vector<VD>& v) { return pair_dot(v[0], pairs); }, {z});  // incl. u == v
  expect_grad([](const std::vector<VD>& v) { return pair_dot(v[0], {{0, 0}}); }, {rnd({1, 1}, 9)});
}
