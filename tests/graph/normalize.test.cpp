#include "mgvae/graph/normalize.hpp"

#include <cmath>

#include "mgvae/graph/permutation.hpp"
#include "support/catch.hpp"

using namespace mgvae;

TEST_CASE("gcn_normalized equals D^-1/2 (A+I) D^-1/2 computed densely", "[graph][normalize]") {
  // path 0-1-2 plus an isolated node 3
  const Graph g = Graph::from_edges(4, {{0, 1}, {1, 2}});
  const auto a = graph::gcn_normalized<double>(g).to_dense();
  const double deg[4] = {2, 3, 2, 1};  // degree + 1
  const double A[4][4] = {{1, 1, 0, 0}, {1, 1, 1, 0}, {0, 1, 1, 0}, {0, 0, 0, 1}};
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) CHECK(a(i, j) == Approx(A[i][j] / std::sqrt(deg[i] * deg[j])).margin(1e-15));
  CHECK(a(3, 3) == 1.0);  // the isolated node keeps its self loop: no division by zero
}

TEST_CASE("adjacency_csr is symmetric 0/1 and dense_to_csr drops zeros", "[graph][normalize]") {
  const Graph g = Graph::from_edges(3, {{0, 2}});
  const auto a = graph::adjacency_csr<float>(g).to_dense();
  CHECK(a(0, 2) == 1.0f);
  CHECK(a(2, 0) == 1.0f);
  CHECK(a(0, 1) == 0.0f);
  const std::vector<float> x{0, 1, 0, 2, 0, 0};
  const auto c = graph::dense_to_csr<double>(x, 2, 3);
  CHECK(c.nnz() == 2);
  CHECK(c.to_dense()(1, 0) == 2.0);
  CHECK_THROWS_AS(graph::dense_to_csr<double>(x, 4, 3), std::invalid_argument);
}

TEST_CASE("permutation helpers agree with Graph::permuted", "[graph][permutation]") {
  CounterRng rng(3);
  const Graph g = Graph::from_edges(6, {{0, 1}, {1, 2}, {2, 3}, {4, 5}, {0, 5}});
  const auto perm = graph::random_permutation(6, rng);
  const auto inv = graph::inverse_permutation(perm);
  for (std::size_t i = 0; i < perm.size(); ++i) CHECK(inv[static_cast<std::size_t>(perm[i])] == static_cast<std::int64_t>(i));
  const auto a = graph::adjacency_csr<double>(g).to_dense();
  const auto b = graph::adjacency_csr<double>(g.permuted(perm)).to_dense();
  CHECK(max_abs_diff(graph::permute_square(a, perm), b) == 0.0);
  CHECK_THROWS_AS(graph::inverse_permutation({0, 0, 1}), std::invalid_argument);
}
