#include "mgvae/ops/shape.hpp"

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

TEST_CASE("reshape/flatten/unsqueeze/squeeze keep row-major order and share storage", "[ops][shape]") {
  const TD x = rnd({2, 3, 4}, 1);
  const VD vx(x);
  const TD r = reshape(vx, {4, -1}).value();
  CHECK(r.shape() == Shape{4, 6});
  CHECK(r.shares_storage_with(x));
  CHECK(r.to_vector() == x.to_vector());
  CHECK(flatten(vx).shape() == Shape{24});
  CHECK(unsqueeze(vx, 0).shape() == Shape{1, 2, 3, 4});
  CHECK(unsqueeze(vx, -1).shape() == Shape{2, 3, 4, 1});
  CHECK(unsqueeze(vx, 3).shape() == Shape{2, 3, 4, 1});
  CHECK(squeeze(unsqueeze(vx, 1), 1).shape() == Shape{2, 3, 4});
  CHECK_THROWS_WITH(squeeze(vx, 0), Catch::Contains("squeeze") && Catch::Contains("[2, 3, 4]"));
  CHECK_THROWS_AS(unsqueeze(vx, 4), std::invalid_argument);
  CHECK_THROWS_WITH(reshape(vx, {5, 5}), Catch::Contains("reshape") && Catch::Contains("[2, 3, 4]") && Catch::Contains("[5, 5]"));
  expect_grad([](const std::vector<VD>& v) { return reshape(v[0], {3, 8}); }, {x});
  expect_grad([](const std::vector<VD>& v) { return squeeze(unsqueeze(v[0], 2), 2); }, {rnd({2, 3}, 2)});
  expect_grad([](const std::vector<VD>& v) { return flatten(v[0]); }, {rnd({1, 1}, 3)});
  CHECK(reshape(VD(TD::zeros({0, 3})), {3, 0}).shape() == Shape{3, 0});
}

TEST_CASE("transpose and permute match naive index maps", "[ops][shape]") {
  const TD x = rnd({2, 3, 4}, 4);
  const TD t = transpose(VD(x), 0, 2).value();
  REQUIRE(t.shape() == Shape{4, 3, 2});
  CHECK(t.is_contiguous());
  const TD p = permute(VD(x), {1, 2, 0}).value();
  REQUIRE(p.shape() == Shape{3, 4, 2});
  CHECK(p.is_contiguous());
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) {
        CHECK(t(k, j, i) == x(i, j, k));
        CHECK(p(j, k, i) == x(i, j, k));
      }
  CHECK_THROWS_WITH(transpose(VD(x), 0, 3), Catch::Contains("transpose") && Catch::Contains("axis 3"));
  CHECK_THROWS_AS(permute(VD(x), {0, 0, 1}), std::invalid_argument);
  CHECK_THROWS_AS(permute(VD(x), {0, 1}), std::invalid_argument);
  expect_grad([](const std::vector<VD>& v) { return transpose(v[0], 0, -1); }, {x});
  expect_grad([](const std::vector<VD>& v) { return permute(v[0], {2, 0, 1}); }, {x});
  expect_grad([](const std::vector<VD>& v) { return transpose(v[0], 0, 1); }, {rnd({1, 1}, 5)});
  CHECK(transpose(VD(TD::zeros({0, 3})), 0, 1).shape() == Shape{3, 0});
}

TEST_CASE("slice: values, view along axis 0, zero-padded gradient", "[ops][shape]") {
  const TD x = rnd({4, 5}, 6);
  const TD s0 = slice(VD(x), 0, 1, 3).value();
  CHECK(s0.shares_storage_with(x));  // leading-axis slice of a contiguous tensor is a view
  const TD s1 = slice(VD(x), 1, 2, 5).value();
  CHECK(s1.is_contiguous());
  REQUIRE(s1.shape() == Shape{4, 3});
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 3; ++j) CHECK(s1(i, j) == x(i, j + 2));
  CHECK(slice(VD(x), 1, 2, 2).shape() == Shape{4, 0});
  CHECK_THROWS_WITH(slice(VD(x), 1, 3, 6), Catch::Contains("slice") && Catch::Contains("[4, 5]"));
  CHECK_THROWS_AS(slice(VD(x), 0, 3, 2), std::invalid_argument);
  expect_grad([](const std::vector<VD>& v) { return slice(v[0], 1, 1, 4); }, {x});
  expect_grad([](const std::vector<VD>& v) { return slice(v[0], 0, 0, 1); }, {rnd({1, 1}, 7)});
  VD v(x, true);
  backward(slice(v, 1, 1, 3), TD::ones({4, 2}));
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 5; ++j) CHECK(v.grad()(i, j) == ((j == 1 || j == 2) ? 1.0 : 0.0));
}

TEST_CASE("concat: values, gradient split, shape errors", "[ops][shape]") {
  const TD a = rnd({2, 3}, 8), b = rnd({2, 1}, 9), c = rnd({2, 0}, 10);
  const TD y = concat<double>({VD(a), VD(b), VD(c)}, 1).value();
  REQUIRE(y.shape() == Shape{2, 4});
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 3; ++j) CHECK(y(i, j) == a(i, j));
    CHECK(y(i, 3) == b(i, 0));
  }
  const TD y0 = concat<double>({VD(a), VD(rnd({1, 3}, 11))}, 0).value();
  CHECK(y0.shape() == Shape{3, 3});
  CHECK(y0(2, 1) == rnd({1, 3}, 11)(0, 1));
  CHECK_THROWS_WITH(concat<double>({VD(a), VD(rnd({3, 3}, 1))}, 1),
                    Catch::Contains("concat") && Catch::Contains("[2, 3]") && Catch::Contains("[3, 3]"));
  CHECK_THROWS_AS(concat<double>({VD(a), VD(rnd({6}, 1))}, 0), std::invalid_argument);
  CHECK_THROWS_AS(concat<double>({}, 0), std::invalid_argument);
  expect_grad([](const std::vector<VD>& v) { return concat<double>({v[0], v[1], v[0]}, -1); }, {a, b});
  expect_grad([](const std::vector<VD>& v) { return concat<double>({v[0], v[1]}, 0); }, {rnd({1, 1}, 12), rnd({1, 1}, 13)});
  // a constant input gets no gradient
  VD va(a, true), vb(b, false);
  backward(concat<double>({va, vb}, 1), TD::ones({2, 4}));
  CHECK(max_abs_diff(va.grad(), TD::ones({2, 3})) == 0.0);
  CHECK_FALSE(vb.grad().defined());
}

TEST_CASE("concat along a middle axis of 3-D and strided inputs matches a naive index map", "[ops][shape]") {
  const TD a = rnd({2, 3, 4}, 21), b = rnd({2, 1, 4}, 22);
  const TD ct = rnd({4, 2, 2}, 23).permute({1, 2, 0});  // a non-contiguous [2, 2, 4] view
  REQUIRE_FALSE(ct.is_contiguous());
  const TD y = concat<double>({VD(a), VD(b), VD(ct)}, 1).value();
  REQUIRE(y.shape() == Shape{2, 6, 4});
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t k = 0; k < 4; ++k) {
      for (std::int64_t j = 0; j < 3; ++j) CHECK(y(i, j, k) == a(i, j, k));
      CHECK(y(i, 3, k) == b(i, 0, k));
      for (std::int64_t j = 0; j < 2; ++j) CHECK(y(i, 4 + j, k) == ct(i, j, k));
    }
  const TD w = rnd({2, 3, 1}, 24);
  const TD z = concat<double>({VD(a), VD(w)}, 2).value();
  REQUIRE(z.shape() == Shape{2, 3, 5});
  CHECK(z(1, 2, 4) == w(1, 2, 0));
  CHECK(z(1, 2, 3) == a(1, 2, 3));
  expect_grad([](const std::vector<VD>& v) { return concat<double>({v[0], v[1], v[0]}, 1); }, {a, b});
  expect_grad([](const std::vector<VD>& v) { return concat<double>({v[1], v[0]}, 2); }, {a, rnd({2, 3, 2}, 25)});
  expect_grad([](const std::vector<VD>& v) { return concat<double>({v[0], permute(v[1], {1, 0, 2})}, 0); },
              {rnd({1, 2, 2}, 26), rnd({2, 2, 2}, 27)});
}
