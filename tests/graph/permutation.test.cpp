// graph/permutation.hpp: seeded permutations, graph / node-row / pair-row / pair-axis actions on a
// single graph and on ragged batches, checked against naive index loops and against each other.
#include "mgvae/graph/permutation.hpp"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "mgvae/graph/normalize.hpp"
#include "support/catch.hpp"

using namespace mgvae;
using TD = Tensor<double>;

namespace {
bool is_permutation_of_n(const std::vector<std::int64_t>& p) {
  std::vector<std::int64_t> s = p;
  std::sort(s.begin(), s.end());
  for (std::size_t i = 0; i < s.size(); ++i)
    if (s[i] != static_cast<std::int64_t>(i)) return false;
  return true;
}
}  // namespace

TEST_CASE("random_permutation from a seed: a permutation, deterministic, equal to the CounterRng form",
          "[graph][permutation]") {
  const auto p = graph::random_permutation(9, 42);
  CHECK(is_permutation_of_n(p));
  CHECK(p == graph::random_permutation(9, 42));
  CounterRng rng(42);
  CHECK(p == graph::random_permutation(9, rng));
  CHECK(p != graph::random_permutation(9, 43));  // 9! permutations: two seeds agreeing would be a bug
  CHECK(graph::random_permutation(0, 1).empty());
  CHECK_THROWS_AS(graph::random_permutation(-1, 1), std::invalid_argument);
}

TEST_CASE("permute_graph relabels the nodes as Graph::permuted and the adjacency as permute_square",
          "[graph][permutation]") {
  const Graph g = Graph::from_edges(5, {{0, 1}, {1, 2}, {3, 4}, {0, 4}});
  const auto perm = graph::random_permutation(5, 7);
  const Graph h = graph::permute_graph(g, perm);
  CHECK(h == g.permuted(perm));
  CHECK(max_abs_diff(graph::adjacency_csr<double>(h).to_dense(),
                     graph::permute_square(graph::adjacency_csr<double>(g).to_dense(), perm)) == 0.0);
  CHECK_THROWS_AS(graph::permute_graph(g, {0, 1, 2}), std::invalid_argument);
}

TEST_CASE("permute_pair_rows (one graph) moves both node indices; permute_pair_axes per channel",
          "[graph][permutation]") {
  const std::int64_t n = 4, C = 3;
  const TD X = TD::uniform({n * n, C}, CounterRng(5), -1, 1);
  const auto perm = graph::random_permutation(n, 11);
  const TD Y = graph::permute_pair_rows(X, perm);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < n; ++j)
      for (std::int64_t c = 0; c < C; ++c) CHECK(Y(perm[i] * n + perm[j], c) == X(i * n + j, c));
  // the inverse permutation undoes it
  CHECK(max_abs_diff(graph::permute_pair_rows(Y, graph::inverse_permutation(perm)), X) == 0.0);
  // [C, n, n]: channel c is permute_square of the channel
  const TD L = TD::uniform({C, n, n}, CounterRng(6), -1, 1);
  const TD Lp = graph::permute_pair_axes(L, perm);
  for (std::int64_t c = 0; c < C; ++c) {
    TD lc({n, n}), lpc({n, n});
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < n; ++j) {
        lc(i, j) = L(c, i, j);
        lpc(i, j) = Lp(c, i, j);
      }
    CHECK(max_abs_diff(lpc, graph::permute_square(lc, perm)) == 0.0);
  }
  CHECK_THROWS_AS(graph::permute_pair_rows(TD::zeros({15, 1}), perm), std::invalid_argument);
  CHECK_THROWS_AS(graph::permute_pair_axes(TD::zeros({2, 4, 3}), perm), std::invalid_argument);
}

TEST_CASE("ragged batch permutations: per-graph blocks, naive reference, inverse round trip", "[graph][permutation]") {
  const auto b = RaggedBatch::from_sizes({3, 5, 1, 4});
  const auto ps = graph::random_permutations(b, 99);
  REQUIRE(static_cast<std::int64_t>(ps.size()) == b.graphs());
  // the same draws as one CounterRng(seed) used graph after graph
  CounterRng rng(99);
  for (std::int64_t g = 0; g < b.graphs(); ++g) {
    CHECK(is_permutation_of_n(ps[g]));
    CHECK(ps[g] == graph::random_permutation(b.size(g), rng));
  }
  const std::int64_t C = 2;
  const TD X = TD::uniform({b.nodes(), C}, CounterRng(1), -1, 1);
  const TD P = TD::uniform({b.pairs(), C}, CounterRng(2), -1, 1);
  const TD Xp = graph::permute_node_rows(b, ps, X);
  const TD Pp = graph::permute_pair_rows(b, ps, P);
  for (std::int64_t g = 0; g < b.graphs(); ++g) {
    const std::int64_t n = b.size(g);
    for (std::int64_t i = 0; i < n; ++i) {
      for (std::int64_t c = 0; c < C; ++c) CHECK(Xp(b.node_off[g] + ps[g][i], c) == X(b.node_off[g] + i, c));
      for (std::int64_t j = 0; j < n; ++j)
        for (std::int64_t c = 0; c < C; ++c)
          CHECK(Pp(b.pair_off[g] + ps[g][i] * n + ps[g][j], c) == P(b.pair_off[g] + i * n + j, c));
    }
  }
  graph::BatchPermutation inv;
  for (const auto& p : ps) inv.push_back(graph::inverse_permutation(p));
  CHECK(max_abs_diff(graph::permute_node_rows(b, inv, Xp), X) == 0.0);
  CHECK(max_abs_diff(graph::permute_pair_rows(b, inv, Pp), P) == 0.0);
  // typed errors: wrong row count, wrong number of permutations, a non-permutation
  CHECK_THROWS_AS(graph::permute_node_rows(b, ps, TD::zeros({b.nodes() + 1, C})), std::invalid_argument);
  CHECK_THROWS_AS(graph::permute_pair_rows(b, ps, TD::zeros({b.nodes(), C})), std::invalid_argument);
  graph::BatchPermutation short_ps(ps.begin(), ps.end() - 1);
  CHECK_THROWS_AS(graph::permute_node_rows(b, short_ps, X), std::invalid_argument);
  graph::BatchPermutation bad = ps;
  bad[1][0] = bad[1][1];
  CHECK_THROWS_AS(graph::permute_pair_rows(b, bad, P), std::invalid_argument);
}
