// Graph-generation MGVAE: masking, permutation equivariance of encoder + clustering, decoder
// shape, sampling post-processing, and a gradient check of the whole loss (one coarse level).
#include <algorithm>
#include <numeric>
#include <vector>

#include "mgvae/autodiff/gradcheck.hpp"
#include "mgvae/models/graphgen/model.hpp"
#include "models/graphgen/fixtures.hpp"
#include "support/catch.hpp"

using namespace mgvae;
using namespace mgvae::graphgen;
using TD = Tensor<double>;
using VD = Var<double>;

namespace {

Graph test_graph() { return graphgen::testing::seven_node_graph(); }

using graphgen::testing::small_config;

/// Rows [0, n) of a [1, R, C] tensor as a vector (row-major).
std::vector<double> rows(const TD& t, std::int64_t n) {
  const TD c = t.contiguous();
  const std::int64_t C = t.size(2);
  return std::vector<double>(c.data(), c.data() + n * C);
}

double max_diff(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

/// Copies noise rows [0, n) of `src` (batch 1) into `dst` (whose other rows keep their values).
void copy_rows(TD& dst, const TD& src, std::int64_t n) {
  for (std::int64_t u = 0; u < n; ++u)
    for (std::int64_t k = 0; k < dst.size(2); ++k) dst(0, u, k) = src(0, u, k);
}

}  // namespace

TEST_CASE("graphgen: padding nodes do not change the outputs for real nodes", "[graphgen][mask]") {
  const Graph g = test_graph();
  GraphGenModel<double> m8(small_config(8)), m12(small_config(12));
  auto b8 = make_batch<double>(std::vector<Graph>{g}, 8);
  auto b12 = make_batch<double>(std::vector<Graph>{g}, 12);
  // garbage on the padding rows of the features (must be masked out)
  for (std::int64_t u = g.n; u < 12; ++u) {
    b12.X(0, u, 0) = 3.5;
    b12.X(0, u, 1) = -2.0;
  }
  auto n8 = m8.draw_noise(CounterRng(3), 1);
  auto n12 = m12.draw_noise(CounterRng(4), 1);  // different noise on padding rows
  copy_rows(n12.eps_fine, n8.eps_fine, g.n);
  copy_rows(n12.gumbel[0], n8.gumbel[0], g.n);
  for (std::size_t l = 1; l < n8.gumbel.size(); ++l) n12.gumbel[l] = n8.gumbel[l].clone();
  for (std::size_t l = 0; l < n8.eps_coarse.size(); ++l) n12.eps_coarse[l] = n8.eps_coarse[l].clone();

  const auto o8 = m8.forward(b8, n8);
  const auto o12 = m12.forward(b12, n12);
  Tape::local().clear();
  CHECK(max_diff(rows(o8.mu.value(), g.n), rows(o12.mu.value(), g.n)) < 1e-12);
  CHECK(max_diff(rows(o8.logvar.value(), g.n), rows(o12.logvar.value(), g.n)) < 1e-12);
  // padding rows of the posterior are exactly zero
  for (std::int64_t u = g.n; u < 12; ++u)
    for (std::int64_t k = 0; k < 3; ++k) CHECK(o12.mu.value()(0, u, k) == 0.0);
  CHECK(o8.kl_fine.item() == Approx(o12.kl_fine.item()).epsilon(1e-12));
  REQUIRE(o8.levels.size() == 2);
  for (std::size_t l = 0; l < o8.levels.size(); ++l) {
    const auto& a = o8.levels[l];
    const auto& c = o12.levels[l];
    const std::int64_t nr = l == 0 ? g.n : a.Pi.size(1);
    CHECK(max_diff(rows(a.logits.value(), nr), rows(c.logits.value(), nr)) < 1e-12);
    CHECK(max_diff(rows(a.Pi.value(), nr), rows(c.Pi.value(), nr)) < 1e-12);
    CHECK(max_abs_diff(a.A_c.value(), c.A_c.value()) < 1e-12);
    CHECK(max_abs_diff(a.mu.value(), c.mu.value()) < 1e-12);
    CHECK(a.kl.item() == Approx(c.kl.item()).epsilon(1e-12));
    CHECK(a.rec.item() == Approx(c.rec.item()).epsilon(1e-12));
    CHECK(a.bal.item() == Approx(c.bal.item()).epsilon(1e-12));
  }
  // padding rows are never assigned to a cluster
  for (std::int64_t u = g.n; u < 12; ++u)
    for (std::int64_t k = 0; k < o12.levels[0].K; ++k) CHECK(o12.levels[0].Pi.value()(0, u, k) == 0.0);
  // the coarsened adjacency of level 1 counts every edge twice (A symmetric): sum = 2|E|
  double s = 0;
  for (double v : o12.levels[0].A_c.value().to_vector()) s += v;
  CHECK(s == Approx(2.0 * static_cast<double>(g.edges.size())));
}

TEST_CASE("graphgen: encoder and clustering are permutation-equivariant on the real nodes", "[graphgen][equivariance]") {
  const Graph g = test_graph();
  const std::int64_t N = 9;  // two padding slots
  GraphGenModel<double> model(small_config(N));
  const std::vector<int> sigma{4, 0, 6, 2, 5, 1, 3};  // node u of G becomes node sigma[u]
  const Graph h = graphgen::testing::relabel(g, sigma);
  const auto bg = make_batch<double>(std::vector<Graph>{g}, N);
  const auto bh = make_batch<double>(std::vector<Graph>{h}, N);
  const auto ng = model.draw_noise(CounterRng(11), 1);
  const auto nh = graphgen::testing::permute_noise(ng, sigma);  // the noise moves with the nodes
  const auto og = model.forward(bg, ng);
  const auto oh = model.forward(bh, nh);
  Tape::local().clear();
  auto check_perm = [&](const TD& a, const TD& b) {  // b[sigma[u]] == a[u]
    for (int u = 0; u < g.n; ++u)
      for (std::int64_t k = 0; k < a.size(2); ++k)
        CHECK(std::abs(a(0, u, k) - b(0, sigma[static_cast<std::size_t>(u)], k)) < 1e-9);
  };
  check_perm(og.mu.value(), oh.mu.value());
  check_perm(og.logvar.value(), oh.logvar.value());
  check_perm(og.levels[0].logits.value(), oh.levels[0].logits.value());
  check_perm(og.levels[0].Pi.value(), oh.levels[0].Pi.value());
  CHECK(std::abs(og.kl_fine.item() - oh.kl_fine.item()) < 1e-9);
  for (std::size_t l = 0; l < og.levels.size(); ++l) {  // coarse graphs are invariant
    CHECK(max_abs_diff(og.levels[l].A_c.value(), oh.levels[l].A_c.value()) < 1e-9);
    CHECK(max_abs_diff(og.levels[l].mu.value(), oh.levels[l].mu.value()) < 1e-9);
    CHECK(std::abs(og.levels[l].kl.item() - oh.levels[l].kl.item()) < 1e-9);
    CHECK(std::abs(og.levels[l].rec.item() - oh.levels[l].rec.item()) < 1e-9);
    CHECK(std::abs(og.levels[l].bal.item() - oh.levels[l].bal.item()) < 1e-9);
  }
}

TEST_CASE("graphgen: decoder output is [B,N,N] and symmetric; cluster counts are 2^l", "[graphgen][decoder]") {
  GraphGenModel<double> model(small_config(6));
  CHECK(model.cluster_counts() == std::vector<int>{4, 2});
  NoGradGuard ng;
  VD z(TD::randn({3, 6, 3}, CounterRng(5)));
  const VD L = model.decode(z);
  REQUIRE(L.shape() == Shape{3, 6, 6});
  for (std::int64_t b = 0; b < 3; ++b)
    for (std::int64_t i = 0; i < 6; ++i)
      for (std::int64_t j = 0; j < 6; ++j) CHECK(L.value()(b, i, j) == L.value()(b, j, i));
  const TD P = model.sample_probabilities(4, CounterRng(9));
  CHECK(P.shape() == Shape{4, 6, 6});
}

TEST_CASE("graphgen: sampling post-processing symmetrises, zeroes the diagonal, strips isolated nodes", "[graphgen][sample]") {
  const std::int64_t N = 5;
  TD P = TD::zeros({3, N, N});
  for (std::int64_t i = 0; i < N; ++i) P(0, i, i) = 0.99;  // diagonal must be ignored
  P(0, 0, 1) = 0.9;
  P(0, 1, 0) = 0.8;  // symmetric pair -> edge
  P(0, 1, 3) = 0.9;
  P(0, 3, 1) = 0.05;  // mean 0.475 -> no edge
  P(0, 3, 4) = 0.7;
  P(0, 4, 3) = 0.6;  // edge
  // graph 1: nothing above 0.5 -> empty; graph 2: a triangle on nodes 2, 3, 4
  for (auto [u, v] : std::vector<std::pair<int, int>>{{2, 3}, {2, 4}, {3, 4}}) P(2, u, v) = P(2, v, u) = 0.75;
  const auto gs = probabilities_to_graphs(P, false, CounterRng(1));
  REQUIRE(gs.size() == 3);
  // graph 0: edges {0,1} and {3,4}; node 2 isolated -> stripped, 4 nodes remain
  CHECK(gs[0].n == 4);
  CHECK(gs[0].edges == std::vector<Graph::Edge>{{0, 1}, {2, 3}});
  CHECK(gs[1].n == 0);
  CHECK(gs[1].edges.empty());
  CHECK(gs[2].n == 3);
  CHECK(gs[2].edges.size() == 3);
  for (const auto& g : gs) {
    for (auto [u, v] : g.edges) CHECK(u < v);  // no self loops, stored once
    CHECK_NOTHROW(g.validate());                 // canonical: in range, sorted, no repeated pair
    for (auto d : g.degrees()) CHECK(d > 0);     // isolated (padding) nodes stripped
  }
  // a lower threshold keeps the pair {1,3} (mean 0.475) as well; a higher one drops {3,4} (0.65)
  const auto lo = probabilities_to_graphs(P, false, CounterRng(1), 0.4);
  CHECK(lo[0].n == 4);
  CHECK(lo[0].edges == std::vector<Graph::Edge>{{0, 1}, {1, 2}, {2, 3}});
  const auto hi = probabilities_to_graphs(P, false, CounterRng(1), 0.7);
  CHECK(hi[0].n == 2);
  CHECK(hi[0].edges == std::vector<Graph::Edge>{{0, 1}});
  CHECK(probabilities_to_graphs(P, false, CounterRng(1), 0.5)[0] == gs[0]);  // default = 0.5
  // Bernoulli sampling: p = 1 always, p = 0 never
  TD Q = TD::zeros({1, 3, 3});
  Q(0, 0, 1) = Q(0, 1, 0) = 1.0;
  const auto qb = probabilities_to_graphs(Q, true, CounterRng(2));
  CHECK(qb[0].n == 2);
  CHECK(qb[0].edges.size() == 1);
}

TEST_CASE("graphgen: gradient check of the full loss (relaxed clustering) in double", "[graphgen][gradcheck]") {
  ModelConfig c = graphgen::testing::tiny_gradcheck_config();
  c.pos_weight = 2.5;
  GraphGenModel<double> model(c);
  GradcheckOptions o;
  o.rtol = 1e-5;
  o.atol = 1e-7;
  const auto r = graphgen::testing::full_loss_gradcheck(model, o);
  INFO(r.message);
  CHECK(r.ok);
  CHECK(r.checked > 100);
}

TEST_CASE("graphgen: straight-through assignments are one-hot and the loss is finite", "[graphgen][st]") {
  const Graph g = test_graph();
  GraphGenModel<double> model(small_config(8));
  const auto b = make_batch<double>(std::vector<Graph>{g}, 8);
  const auto o = model.forward(b, model.draw_noise(CounterRng(2), 1));
  const TD Pi = o.levels[0].Pi.value();
  for (int u = 0; u < g.n; ++u) {
    double s = 0;
    for (std::int64_t k = 0; k < Pi.size(2); ++k) {
      CHECK((Pi(0, u, k) == 0.0 || Pi(0, u, k) == 1.0));
      s += Pi(0, u, k);
    }
    CHECK(s == 1.0);
  }
  CHECK(std::isfinite(o.loss.item()));
  backward(o.loss);
  for (const auto& p : model.parameters()) {
    REQUIRE(p.grad().defined());
    for (double v : p.grad().to_vector()) CHECK(std::isfinite(v));
  }
}
