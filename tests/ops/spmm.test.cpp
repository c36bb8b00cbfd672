#include "mgvae/ops/spmm.hpp"

#include <tuple>

#include "mgvae/autodiff/gradcheck.hpp"
#include "mgvae/tensor/csr.hpp"
#include "support/catch.hpp"

using namespace mgvae;
using TD = Tensor<double>;
using VD = Var<double>;

namespace {
using Trip = std::tuple<std::int64_t, std::int64_t, double>;

CsrMatrix<double> random_csr(std::int64_t r, std::int64_t c, double density, std::uint64_t seed) {
  CounterRng rng(seed);
  std::vector<Trip> t;
  for (std::int64_t i = 0; i < r; ++i)
    for (std::int64_t j = 0; j < c; ++j)
      if (rng.next_uniform() < density) t.emplace_back(i, j, rng.next_uniform() * 2 - 1);
  return CsrMatrix<double>::from_triplets(r, c, t);
}

TD naive_matmul(const TD& a, const TD& b) {
  TD y = TD::zeros({a.shape()[0], b.shape()[1]});
  for (std::int64_t i = 0; i < a.shape()[0]; ++i)
    for (std::int64_t j = 0; j < b.shape()[1]; ++j)
      for (std::int64_t k = 0; k < a.shape()[1]; ++k) y(i, j) += a(i, k) * b(k, j);
  return y;
}
}  // namespace

TEST_CASE("CsrMatrix::from_triplets sums duplicates and sorts columns", "[tensor][csr]") {
  const auto m = CsrMatrix<double>::from_triplets(3, 4, {{2, 3, 1.0}, {0, 2, 2.0}, {0, 0, 3.0}, {2, 3, 0.5}, {0, 2, -1.0}});
  REQUIRE_NOTHROW(m.validate("test"));
  CHECK(m.nnz() == 3);
  CHECK(m.row_ptr == std::vector<std::int64_t>{0, 2, 2, 3});
  CHECK(m.col == std::vector<std::int64_t>{0, 2, 3});
  CHECK(m.val == std::vector<double>{3.0, 1.0, 1.5});
  const TD d = m.to_dense();
  CHECK(d.shape() == Shape{3, 4});
  CHECK(d(0, 0) == 3.0);
  CHECK(d(0, 2) == 1.0);
  CHECK(d(2, 3) == 1.5);
  CHECK(d(1, 1) == 0.0);
  CHECK_THROWS_AS(CsrMatrix<double>::from_triplets(2, 2, {{0, 2, 1.0}}), std::invalid_argument);
  CHECK_THROWS_AS(CsrMatrix<double>::from_triplets(2, 2, {{-1, 0, 1.0}}), std::invalid_argument);
}

TEST_CASE("CsrMatrix::transpose matches the dense transpose", "[tensor][csr]") {
  for (auto [r, c] : {std::pair<std::int64_t, std::int64_t>{5, 3}, {1, 1}, {0, 4}, {4, 0}, {7, 7}}) {
    const auto m = random_csr(r, c, 0.4, static_cast<std::uint64_t>(r * 10 + c));
    const auto t = m.transpose();
    REQUIRE_NOTHROW(t.validate("test"));
    CHECK(t.rows == c);
    CHECK(t.cols == r);
    CHECK(max_abs_diff(t.to_dense(), m.to_dense().transpose(0, 1).contiguous()) == 0.0);
    for (std::int64_t i = 0; i < t.rows; ++i)  // columns sorted within each row
      for (auto k = t.row_ptr[i] + 1; k < t.row_ptr[i + 1]; ++k) CHECK(t.col[k - 1] < t.col[k]);
  }
}

TEST_CASE("CsrMatrix::validate rejects inconsistent arrays", "[tensor][csr]") {
  CsrMatrix<double> m;
  m.rows = 2;
  m.cols = 2;
  m.row_ptr = {0, 1};  // too short
  m.col = {0};
  m.val = {1.0};
  CHECK_THROWS_WITH(m.validate("spmm"), Catch::Contains("spmm") && Catch::Contains("row_ptr"));
  m.row_ptr = {0, 1, 1};
  CHECK_NOTHROW(m.validate("spmm"));
  m.col = {2};
  CHECK_THROWS_WITH(m.validate("spmm"), Catch::Contains("column index 2"));
  m.col = {0};
  m.val = {1.0, 2.0};
  CHECK_THROWS_AS(m.validate("spmm"), std::invalid_argument);
  m.val = {1.0};
  m.row_ptr = {0, 1, 0};
  CHECK_THROWS_AS(m.validate("spmm"), std::invalid_argument);
  m.row_ptr = {1, 1, 1};
  CHECK_THROWS_AS(m.validate("spmm"), std::invalid_argument);
}

TEST_CASE("spmm matches dense matmul, incl. 0-size and 1x1", "[ops][spmm]") {
  struct Case {
    std::int64_t r, c, d;
  };
  for (const Case& k : {Case{6, 5, 3}, Case{1, 1, 1}, Case{0, 3, 2}, Case{3, 0, 2}, Case{3, 4, 0}, Case{40, 30, 7}}) {
    const auto A = random_csr(k.r, k.c, 0.3, 7);
    const TD X = TD::uniform({k.c, k.d}, CounterRng(3), -1, 1);
    const TD Y = spmm(A, VD(X)).value();
    REQUIRE(Y.shape() == Shape{k.r, k.d});
    CHECK(max_abs_diff(Y, naive_matmul(A.to_dense(), X)) < 1e-12);
  }
  // float path
  const auto Af = CsrMatrix<float>::from_triplets(2, 2, {{0, 1, 2.0f}, {1, 0, -1.0f}});
  const Tensor<float> yf = spmm(Af, Var<float>(Tensor<float>::from({2, 1}, {3.0f, 5.0f}))).value();
  CHECK(yf(0, 0) == 10.0f);
  CHECK(yf(1, 0) == -3.0f);
}

TEST_CASE("spmm gradcheck: X' = A^T G", "[ops][spmm][grad]") {
  const auto A = random_csr(5, 4, 0.5, 11);
  const auto r = gradcheck([&A](const std::vector<VD>& v) { return spmm(A, v[0]); }, {TD::uniform({4, 3}, CounterRng(5), -1, 1)});
  INFO(r.message);
  CHECK(r.ok);
  const auto A1 = CsrMatrix<double>::from_triplets(1, 1, {{0, 0, 2.5}});
  CHECK(gradcheck([&A1](const std::vector<VD>& v) { return spmm(A1, v[0]); }, {TD::full({1, 1}, 0.3)}).ok);
  // empty A (no entries): gradient is zero
  const auto A0 = CsrMatrix<double>::from_triplets(3, 2, {});
  VD x(TD::ones({2, 2}), true);
  backward(spmm(A0, x), TD::ones({3, 2}));
  CHECK(max_abs_diff(x.grad(), TD::zeros({2, 2})) == 0.0);
}

TEST_CASE("spmm: shape errors name both shapes", "[ops][spmm]") {
  const auto A = CsrMatrix<double>::from_triplets(3, 4, {});
  CHECK_THROWS_WITH(spmm(A, VD(TD::zeros({3, 2}))), Catch::Contains("spmm") && Catch::Contains("[3, 4]") && Catch::Contains("[3, 2]"));
  CHECK_THROWS_AS(spmm(A, VD(TD::zeros({4}))), std::invalid_argument);
}
