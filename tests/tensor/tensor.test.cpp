#include "mgvae/tensor/tensor.hpp"

#include <vector>

#include "support/catch.hpp"

using namespace mgvae;
using TD = Tensor<double>;

namespace {
TD iota(const Shape& s) {
  TD t(s);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = static_cast<double>(i);
  return t;
}
}  // namespace

TEST_CASE("tensor factories, shape, strides, item", "[tensor]") {
  const TD t = TD::from({2, 3}, {0, 1, 2, 3, 4, 5});
  CHECK(t.shape() == Shape{2, 3});
  CHECK(t.strides() == Shape{3, 1});
  CHECK(t.dim() == 2);
  CHECK(t.size(-1) == 3);
  CHECK(t.numel() == 6);
  CHECK(t.is_contiguous());
  CHECK(t(1, 2) == 5.0);
  CHECK(TD::scalar(4.0).item() == 4.0);
  CHECK(TD::scalar(4.0).shape().empty());
  CHECK(TD::zeros({0, 4}).numel() == 0);
  CHECK(TD::full({1, 1}, 2.0).item() == 2.0);
  CHECK_THROWS_WITH(TD::from({2, 2}, {1, 2, 3}), Catch::Contains("[2, 2]"));
  CHECK_THROWS_AS(t.item(), std::invalid_argument);
  CHECK_THROWS_AS(TD({2, -1}), std::invalid_argument);
  CHECK_THROWS_AS(TD().data(), std::logic_error);
  CHECK_FALSE(TD().defined());
  const Tensor<float> f = t.cast<float>();
  CHECK(f(1, 1) == 4.0f);
}

TEST_CASE("operator() checks rank and bounds", "[tensor]") {
  const TD t = iota({2, 3});
  CHECK_THROWS_WITH(t(2, 0), Catch::Contains("index 2") && Catch::Contains("[2, 3]"));
  CHECK_THROWS_WITH(t(0, -1), Catch::Contains("index -1"));
  CHECK_THROWS_AS(t(0, 3), std::invalid_argument);
  CHECK_THROWS_WITH(t(0), Catch::Contains("got 1 indices"));
  CHECK_THROWS_AS(t(0, 0, 0), std::invalid_argument);
  CHECK_THROWS_AS(t(), std::invalid_argument);
  CHECK(TD::scalar(7.0)() == 7.0);
  t(1, 1) = -1.0;  // writable
  CHECK(t.data()[4] == -1.0);
}

TEST_CASE("views share storage: slice, transpose, permute, reshape, expand", "[tensor][view]") {
  const TD t = iota({2, 3, 4});
  const TD s = t.slice(1, 1, 3);
  CHECK(s.shares_storage_with(t));
  CHECK(s.shape() == Shape{2, 2, 4});
  CHECK(s(1, 0, 2) == t(1, 1, 2));
  CHECK_FALSE(s.is_contiguous());
  const TD tr = t.transpose(0, 2);
  CHECK(tr.shares_storage_with(t));
  CHECK(tr.shape() == Shape{4, 3, 2});
  CHECK(tr(3, 1, 0) == t(0, 1, 3));
  const TD p = t.permute({2, 0, 1});
  CHECK(p.shares_storage_with(t));
  CHECK(p(3, 1, 2) == t(1, 2, 3));
  const TD r = t.reshape({6, -1});
  CHECK(r.shares_storage_with(t));
  CHECK(r.shape() == Shape{6, 4});
  t(0, 0, 1) = 100.0;  // writes are visible through every view
  CHECK(r(0, 1) == 100.0);
  CHECK(tr(1, 0, 0) == 100.0);
  CHECK(p(1, 0, 0) == 100.0);
  // reshape of a non-contiguous view copies
  const TD rt = tr.reshape({24});
  CHECK_FALSE(rt.shares_storage_with(t));
  CHECK(rt(1) == t(1, 0, 0));
  // expand: stride-0 broadcast view
  const TD col = TD::from({3, 1}, {1, 2, 3});
  const TD e = col.expand({2, 3, 4});
  CHECK(e.shares_storage_with(col));
  CHECK(e.strides() == Shape{0, 1, 0});
  CHECK(e(1, 2, 3) == 3.0);
  CHECK_THROWS_WITH(col.expand({2, 2}), Catch::Contains("expand"));
  CHECK_THROWS_AS(col.expand({3}), std::invalid_argument);  // cannot drop a dimension
  CHECK_THROWS_AS(t.slice(0, 1, 3), std::invalid_argument);
  CHECK_THROWS_AS(t.transpose(0, 3), std::invalid_argument);
  CHECK_THROWS_AS(t.permute({0, 1, 1}), std::invalid_argument);
  CHECK_THROWS_AS(t.reshape({5, -1}), std::invalid_argument);
  CHECK_THROWS_AS(t.reshape({-1, -1}), std::invalid_argument);
  CHECK(TD::zeros({0, 3}).reshape({3, 0}).shape() == Shape{3, 0});
}

TEST_CASE("contiguous copies only when needed; strided copies are correct", "[tensor][view]") {
  const TD t = iota({3, 4});
  const TD c = t.contiguous();
  CHECK(c.shares_storage_with(t));  // already contiguous: no copy
  const TD lead = t.slice(0, 1, 2);
  CHECK(lead.is_contiguous());      // a leading-axis slice stays contiguous
  CHECK(lead.contiguous().shares_storage_with(t));
  const TD tr = t.transpose(0, 1);
  const TD tc = tr.contiguous();
  CHECK_FALSE(tc.shares_storage_with(t));
  CHECK(tc.is_contiguous());
  CHECK(tc.to_vector() == std::vector<double>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
  const TD cl = t.clone();
  CHECK_FALSE(cl.shares_storage_with(t));
  CHECK(cl.to_vector() == t.to_vector());
  // copy_from into a strided destination
  const TD dst = TD::zeros({4, 3});
  dst.transpose(0, 1).copy_from(t);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) CHECK(dst(j, i) == t(i, j));
  CHECK_THROWS_WITH(dst.copy_from(t), Catch::Contains("copy_from") && Catch::Contains("[4, 3]") && Catch::Contains("[3, 4]"));
  // fill a strided view
  const TD f = TD::zeros({3, 4});
  f.slice(1, 1, 3).fill(9.0);
  CHECK(f.to_vector() == std::vector<double>{0, 9, 9, 0, 0, 9, 9, 0, 0, 9, 9, 0});
  // as_strided: a diagonal view
  const TD sq = iota({3, 3});
  const TD diag = sq.as_strided({3}, {4});
  CHECK(diag.to_vector() == std::vector<double>{0, 4, 8});
  CHECK_THROWS_AS(sq.as_strided({3}, {1, 1}), std::invalid_argument);
  // strided 3-D gather order
  const TD x = iota({2, 3, 4});
  const TD v = x.permute({1, 2, 0}).slice(1, 1, 3).clone();
  REQUIRE(v.shape() == Shape{3, 2, 2});
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 2; ++b)
      for (int c2 = 0; c2 < 2; ++c2) CHECK(v(a, b, c2) == x(c2, a, b + 1));
  CHECK(max_abs_diff(v, v.clone()) == 0.0);
  CHECK_THROWS_AS(max_abs_diff(v, t), std::invalid_argument);
}

TEST_CASE("broadcast shape rules and random factories", "[tensor]") {
  CHECK(broadcast_shapes("f", {2, 1, 4}, {3, 1}) == Shape{2, 3, 4});
  CHECK(broadcast_shapes("f", {}, {2}) == Shape{2});
  CHECK(broadcast_shapes("f", {0, 1}, {1, 5}) == Shape{0, 5});
  CHECK_THROWS_WITH(broadcast_shapes("myop", {2, 3}, {4}), Catch::Contains("myop") && Catch::Contains("[2, 3]") && Catch::Contains("[4]"));
  const TD a = TD::randn({3, 4}, CounterRng(1)), b = TD::randn({3, 4}, CounterRng(1)), c = TD::randn({3, 4}, CounterRng(2));
  CHECK(a.to_vector() == b.to_vector());
  CHECK(a.to_vector() != c.to_vector());
  const TD u = TD::uniform({100}, CounterRng(3), -2.0, 5.0);
  for (double x : u.to_vector()) {
    CHECK(x > -2.0);
    CHECK(x < 5.0);
  }
}
