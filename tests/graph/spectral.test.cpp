#include "mgvae/graph/spectral.hpp"

#include <set>

#include "mgvae/graph/permutation.hpp"
#include "support/catch.hpp"

using namespace mgvae;

namespace {
/// Two 6-cliques joined by one edge, plus a 4-cycle tied to the second clique.
Graph two_cliques() {
  std::vector<Graph::Edge> e;
  for (int a = 0; a < 6; ++a)
    for (int b = a + 1; b < 6; ++b) {
      e.emplace_back(a, b);
      e.emplace_back(6 + a, 6 + b);
    }
  e.emplace_back(5, 6);
  return Graph::from_edges(12, e);
}
}  // namespace

TEST_CASE("spectral embedding columns are eigenvectors of the random-walk Laplacian", "[graph][spectral]") {
  const Graph g = two_cliques();
  graph::SpectralOptions o;
  o.dims = 3;
  o.eig_shift = 0;
  const Eigen::MatrixXd E = graph::spectral_embedding(g, o);
  Eigen::MatrixXd A = Eigen::MatrixXd::Zero(12, 12);
  for (auto [u, v] : g.edges) A(u, v) = A(v, u) = 1;
  const Eigen::VectorXd deg = A.rowwise().sum();
  const Eigen::MatrixXd L = Eigen::MatrixXd::Identity(12, 12) - deg.cwiseInverse().asDiagonal() * A;  // D^-1(D - A)
  for (int j = 0; j < 3; ++j) {
    const Eigen::VectorXd xi = E.col(j);
    const double lam = xi.dot(L * xi) / xi.dot(xi);  // Rayleigh quotient (xi = ξ/λ, scale-free)
    CHECK((L * xi - lam * xi).norm() < 1e-9 * std::max(1.0, xi.norm()));
    CHECK(lam > 1e-9);  // λ_0 = 0 was skipped
  }
}

TEST_CASE("spectral + k-means separates two cliques; isolated nodes are rejected or handled", "[graph][spectral]") {
  const Graph g = two_cliques();
  graph::SpectralOptions o;
  o.dims = 2;
  const auto lv = graph::fixed_hierarchy(graph::spectral_embedding(g, o), {2, 1}, 7);
  REQUIRE(lv.size() == 2);
  REQUIRE(lv[0].size() == 12);
  REQUIRE(lv[1].size() == 2);
  for (int i = 1; i < 6; ++i) CHECK(lv[0][static_cast<std::size_t>(i)] == lv[0][0]);
  for (int i = 7; i < 12; ++i) CHECK(lv[0][static_cast<std::size_t>(i)] == lv[0][6]);
  CHECK(lv[0][0] != lv[0][6]);

  const Graph gi = Graph::from_edges(13, g.edges);  // node 12 isolated
  CHECK_THROWS_AS(graph::spectral_embedding(gi, o), std::invalid_argument);
  o.isolated = graph::IsolatedNodes::UnitDegree;
  const Eigen::MatrixXd E = graph::spectral_embedding(gi, o);
  CHECK(E.allFinite());
  CHECK_THROWS_AS(graph::fixed_hierarchy(E, {14}, 1), std::invalid_argument);  // more clusters than nodes
}

TEST_CASE("cluster_balance statistics", "[graph][spectral]") {
  const auto b = graph::cluster_balance({0, 0, 1, 1}, 2);
  CHECK(b.kl_uniform == Approx(0.0).margin(1e-15));
  CHECK(b.min == 2);
  const auto c = graph::cluster_balance({0, 0, 0, 0}, 2);
  CHECK(c.kl_uniform == Approx(std::log(2.0)));
  CHECK(c.empty == 1);
  CHECK_THROWS_AS(graph::cluster_balance({0, 2}, 2), std::invalid_argument);
}
