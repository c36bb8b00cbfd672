// The graph statistics / MMD used by the graph-generation example.
#include <cmath>
#include <vector>

#include "mgvae/autodiff/gradcheck.hpp"
#include "common/graphgen/eval.hpp"
#include "support/catch.hpp"

using namespace mgvae;
using namespace mgvae::graphgen;
using TD = Tensor<double>;
using VD = Var<double>;

TEST_CASE("graphgen eval: orbit counts of small graphs", "[graphgen][eval]") {
  SmallGraph k4;
  k4.n = 4;
  k4.edges = {{0, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3}, {2, 3}};
  for (const auto& r : orbit_counts(k4)) {
    CHECK(r[0] == 3);
    CHECK(r[3] == 3);  // 3 triangles through each node
    CHECK(r[14] == 1);
    CHECK(r[1] + r[2] + r[4] + r[5] + r[6] + r[7] + r[8] + r[9] + r[10] + r[11] + r[12] + r[13] == 0);
  }
  SmallGraph paw;  // triangle 0-1-2 with tail 2-3
  paw.n = 4;
  paw.edges = {{0, 1}, {0, 2}, {1, 2}, {2, 3}};
  const auto o = orbit_counts(paw);
  CHECK(o[3][9] == 1);   // tail end
  CHECK(o[0][10] == 1);  // triangle, degree 2
  CHECK(o[1][10] == 1);
  CHECK(o[2][11] == 1);  // centre
  CHECK(o[3][1] == 2);   // 3-paths 3-2-0, 3-2-1 end at node 3
  CHECK(o[2][2] == 2);   // node 2 is the middle of both
  SmallGraph p4;  // path 0-1-2-3
  p4.n = 4;
  p4.edges = {{0, 1}, {1, 2}, {2, 3}};
  const auto q = orbit_counts(p4);
  CHECK(q[0][4] == 1);
  CHECK(q[1][5] == 1);
  SmallGraph star;  // claw centred at 0
  star.n = 4;
  star.edges = {{0, 1}, {0, 2}, {0, 3}};
  const auto c = orbit_counts(star);
  CHECK(c[0][7] == 1);
  CHECK(c[1][6] == 1);
  SmallGraph diamond;  // C4 0-1-2-3 plus chord 0-2
  diamond.n = 4;
  diamond.edges = {{0, 1}, {0, 2}, {0, 3}, {1, 2}, {2, 3}};
  const auto d = orbit_counts(diamond);
  CHECK(d[0][13] == 1);
  CHECK(d[1][12] == 1);
  SmallGraph c4;
  c4.n = 4;
  c4.edges = {{0, 1}, {0, 3}, {1, 2}, {2, 3}};
  CHECK(orbit_counts(c4)[2][8] == 1);
}

TEST_CASE("graphgen eval: clustering coefficients, kernels and MMD", "[graphgen][eval]") {
  SmallGraph paw;
  paw.n = 4;
  paw.edges = {{0, 1}, {0, 2}, {1, 2}, {2, 3}};
  const auto cc = clustering_coefficients(paw);
  CHECK(cc[0] == Approx(1.0));
  CHECK(cc[2] == Approx(1.0 / 3.0));
  CHECK(cc[3] == 0.0);
  const auto h = clustering_histogram(paw);
  CHECK(h[99] == 2);  // c = 1 falls in the last (closed) bin
  CHECK(h[33] == 1);
  CHECK(h[0] == 1);
  SmallGraph path;
  path.n = 3;
  path.edges = {{0, 1}, {1, 2}};
  const auto s1 = compute_stats({paw, path}), s2 = compute_stats({paw, path});
  CHECK(std::abs(mmd_degree(s1, s2).value) < 1e-12);
  CHECK(std::abs(mmd_clustering(s1, s2).value) < 1e-12);
  CHECK(std::abs(mmd_orbit(s1, s2).value) < 1e-12);
  // one-vs-one: MMD^2 = 2 - 2 k(x, y); degree pmfs of path [0, 2/3, 1/3] and paw [0, 1/4, 1/2, 1/4]:
  // CDFs (0, 2/3, 1, 1) vs (0, 1/4, 3/4, 1): EMD = 5/12 + 1/4 = 2/3
  const auto a = compute_stats({path}), b = compute_stats({paw});
  const double emd = 2.0 / 3.0;
  CHECK(mmd_degree(a, b).value == Approx(2 - 2 * std::exp(-emd * emd / 2)));
  const double tv = 0.5 * (std::abs(2.0 / 3 - 0.25) + std::abs(1.0 / 3 - 0.5) + 0.25);  // = 5/12
  CHECK(mmd_degree(a, b, HistKernel::GaussianTV).value == Approx(2 - 2 * std::exp(-tv * tv / 2)));
  CHECK(mmd_degree(a, b).kernel == "gaussian_emd");
  CHECK(mmd_orbit(a, b).sigma == 30.0);
}
