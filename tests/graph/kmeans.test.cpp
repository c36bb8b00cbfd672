#include "mgvae/graph/kmeans.hpp"

#include <set>

#include "support/catch.hpp"

using namespace mgvae;

namespace {
Eigen::MatrixXd blobs(int per, std::uint64_t seed) {
  CounterRng r(seed);
  const double centers[3][2] = {{0, 0}, {10, 0}, {0, 10}};
  Eigen::MatrixXd X(3 * per, 2);
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < per; ++i) {
      X(c * per + i, 0) = centers[c][0] + 0.3 * r.next_normal();
      X(c * per + i, 1) = centers[c][1] + 0.3 * r.next_normal();
    }
  return X;
}
}  // namespace

TEST_CASE("kmeans recovers well-separated blobs and is deterministic per seed", "[graph][kmeans]") {
  const Eigen::MatrixXd X = blobs(20, 1);
  const auto r = graph::kmeans(X, 3, 42);
  for (int c = 0; c < 3; ++c) {
    std::set<std::int64_t> labs;
    for (int i = 0; i < 20; ++i) labs.insert(r.labels[static_cast<std::size_t>(c * 20 + i)]);
    CHECK(labs.size() == 1);
  }
  std::set<std::int64_t> all(r.labels.begin(), r.labels.end());
  CHECK(all.size() == 3);
  const auto r2 = graph::kmeans(X, 3, 42);
  CHECK(r.labels == r2.labels);
  CHECK(r.inertia == r2.inertia);
}

TEST_CASE("kmeans leaves no cluster empty and rejects k > n", "[graph][kmeans]") {
  const Eigen::MatrixXd X = blobs(4, 2);  // 12 points
  const auto r = graph::kmeans(X, 12, 5);
  std::set<std::int64_t> all(r.labels.begin(), r.labels.end());
  CHECK(all.size() == 12);
  CHECK_THROWS_AS(graph::kmeans(X, 13, 5), std::invalid_argument);
  CHECK_THROWS_AS(graph::kmeans(X, 0, 5), std::invalid_argument);
}

TEST_CASE("pca orders components by variance", "[graph][kmeans]") {
  CounterRng r(9);
  Eigen::MatrixXd X(200, 3);
  for (int i = 0; i < 200; ++i) {
    X(i, 0) = 0.1 * r.next_normal();
    X(i, 1) = 5.0 * r.next_normal();
    X(i, 2) = 1.0 * r.next_normal();
  }
  const Eigen::MatrixXd P = graph::pca(X, 2);
  REQUIRE(P.cols() == 2);
  const double v0 = P.col(0).squaredNorm(), v1 = P.col(1).squaredNorm();
  CHECK(v0 > v1);
  CHECK(v0 / 200 == Approx(25.0).epsilon(0.3));
  CHECK_THROWS_AS(graph::pca(X, 4), std::invalid_argument);
}
