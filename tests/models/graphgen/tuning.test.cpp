// Learning-rate schedule, edge-count threshold calibration, size matching and the size-stratified K-fold split of the graph-generation trainer
// (graphgen/tuning.hpp; options --lr-schedule, --lr-min, --threshold-calibration, --size-matching, --val-folds).
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "mgvae/models/graphgen/model.hpp"
#include "common/graphgen/tuning.hpp"
#include "support/catch.hpp"

using namespace mgvae;
using namespace mgvae::graphgen;
using TD = Tensor<double>;

namespace {

// one path graph per entry of ns, with that many nodes
std::vector<Graph> graphs_of(const std::vector<int>& ns) {
  std::vector<Graph> gs;
  for (int n : ns) {
    Graph g;
    g.n = n;
    for (int u = 0; u + 1 < n; ++u) g.edges.emplace_back(u, u + 1);
    gs.push_back(g);
  }
  return gs;
}

}  // namespace

TEST_CASE("graphgen: lr schedule (constant and cosine) and its typed errors", "[graphgen][tuning]") {
  for (int e : {0, 1, 500, 1999}) CHECK(lr_at_epoch(LrSchedule::Constant, 1e-3, 0.0, e, 2000) == 1e-3);
  // cosine: lr at epoch 0, midpoint (lr + lr_min) / 2 at E/2, strictly decreasing, above lr_min
  CHECK(lr_at_epoch(LrSchedule::Cosine, 1e-3, 1e-5, 0, 2000) == Approx(1e-3).epsilon(1e-12));
  CHECK(lr_at_epoch(LrSchedule::Cosine, 1e-3, 1e-5, 1000, 2000) == Approx(0.5 * (1e-3 + 1e-5)).epsilon(1e-12));
  CHECK(lr_at_epoch(LrSchedule::Cosine, 1e-3, 0.0, 500, 2000) ==
        Approx(0.5e-3 * (1 + std::cos(3.14159265358979323846 / 4))).epsilon(1e-12));
  double prev = 1.0;
  for (int e = 0; e < 100; ++e) {
    const double v = lr_at_epoch(LrSchedule::Cosine, 2e-3, 1e-4, e, 100);
    CHECK(v < prev);
    CHECK(v > 1e-4);
    prev = v;
  }
  CHECK(lr_at_epoch(LrSchedule::Cosine, 2e-3, 1e-4, 99, 100) == Approx(1e-4 + 0.5 * 1.9e-3 * (1 + std::cos(3.14159265358979323846 * 0.99))));
  CHECK_THROWS_AS(lr_at_epoch(LrSchedule::Cosine, 1e-3, 2e-3, 0, 10), std::invalid_argument);  // lr_min > lr
  CHECK_THROWS_AS(lr_at_epoch(LrSchedule::Cosine, 1e-3, -1e-6, 0, 10), std::invalid_argument);
  CHECK_THROWS_AS(lr_at_epoch(LrSchedule::Constant, 0.0, 0.0, 0, 10), std::invalid_argument);
  CHECK_THROWS_AS(lr_at_epoch(LrSchedule::Constant, 1e-3, 0.0, 10, 10), std::invalid_argument);
  CHECK_THROWS_AS(lr_at_epoch(LrSchedule::Constant, 1e-3, 0.0, -1, 10), std::invalid_argument);
  CHECK_THROWS_AS(lr_at_epoch(LrSchedule::Constant, 1e-3, 0.0, 0, 0), std::invalid_argument);
  CHECK_THROWS_AS(lr_at_epoch(LrSchedule::Cosine, std::nan(""), 0.0, 0, 10), std::invalid_argument);
}

namespace {

/// Mean edge count of probabilities_to_graphs at threshold t over all chunks.
double mean_edges(const std::vector<TD>& Ps, double t) {
  double m = 0, s = 0;
  for (const auto& P : Ps)
    for (const auto& g : probabilities_to_graphs(P, false, CounterRng(1), t)) {
      m += static_cast<double>(g.edges.size());
      s += 1;
    }
  return m / s;
}

}  // namespace

TEST_CASE("graphgen: edge-count threshold calibration matches the target mean edge count", "[graphgen][tuning]") {
  // two chunks of random, asymmetric probabilities (the calibration must use the symmetrised q, as the sampler)
  std::vector<TD> Ps;
  const CounterRng rng(7);
  std::uint64_t k = 0;
  for (int chunk = 0; chunk < 2; ++chunk) {
    TD P({chunk == 0 ? 5 : 3, 6, 6});
    for (std::int64_t i = 0; i < P.numel(); ++i) P.data()[i] = rng.uniform(k++);
    Ps.push_back(P);
  }
  // 8 samples, 15 pairs each; target 4.25 edges per sample -> exactly 34 pairs kept
  const auto c = calibrate_threshold_to_edges(Ps, 4.25);
  CHECK(c.samples == 8);
  CHECK(c.target_edges == 4.25);
  CHECK(c.mean_edges == Approx(4.25).epsilon(1e-12));
  CHECK(c.threshold > 0);
  CHECK(c.threshold < 1);
  CHECK(mean_edges(Ps, c.threshold) == Approx(4.25).epsilon(1e-12));  // what the sampler then produces
  // monotone: a larger target gives a lower threshold
  const auto c2 = calibrate_threshold_to_edges(Ps, 9.0);
  CHECK(c2.threshold < c.threshold);
  CHECK(mean_edges(Ps, c2.threshold) == Approx(9.0).epsilon(1e-12));
  // limits: 0 edges and all 15 pairs
  CHECK(mean_edges(Ps, calibrate_threshold_to_edges(Ps, 0.0).threshold) == 0.0);
  CHECK(mean_edges(Ps, calibrate_threshold_to_edges(Ps, 15.0).threshold) == 15.0);
  // a hand case: one 3-node sample, q = 0.9 (0-1), 0.35 (0-2: 0.2 and 0.5), 0.1 (1-2)
  TD Q = TD::zeros({1, 3, 3});
  Q(0, 0, 1) = Q(0, 1, 0) = 0.9;
  Q(0, 0, 2) = 0.2;
  Q(0, 2, 0) = 0.5;
  Q(0, 1, 2) = Q(0, 2, 1) = 0.1;
  CHECK(calibrate_threshold_to_edges(std::vector<TD>{Q}, 1.0).threshold == Approx(0.5 * (0.9 + 0.35)));
  CHECK(calibrate_threshold_to_edges(std::vector<TD>{Q}, 2.0).threshold == Approx(0.5 * (0.35 + 0.1)));
  // typed errors
  CHECK_THROWS_AS(calibrate_threshold_to_edges(Ps, -1.0), std::invalid_argument);
  CHECK_THROWS_AS(calibrate_threshold_to_edges(Ps, 15.5), std::invalid_argument);  // > N(N-1)/2
  CHECK_THROWS_AS(calibrate_threshold_to_edges(Ps, std::nan("")), std::invalid_argument);
  CHECK_THROWS_AS(calibrate_threshold_to_edges(std::vector<TD>{}, 1.0), std::invalid_argument);
  CHECK_THROWS_AS(calibrate_threshold_to_edges(std::vector<TD>{TD::zeros({2, 3, 4})}, 1.0), std::invalid_argument);
  CHECK_THROWS_AS(calibrate_threshold_to_edges(std::vector<TD>{TD::zeros({1, 3, 3}), TD::zeros({1, 4, 4})}, 1.0),
                  std::invalid_argument);
}

TEST_CASE("graphgen: reduced-temperature sampling scales the standard-prior draw", "[graphgen][tuning]") {
  ModelConfig c;
  c.n_max = 6;
  c.hidden = 5;
  c.latent = 3;
  c.layers = 2;
  c.levels = 1;
  c.dec_hidden = 6;
  c.seed = 7;
  GraphGenModel<double> model(c);
  const TD z1 = model.sample_latent(5, CounterRng(3));
  // temperature 1 is the prior itself: N(0, I), bit-identical to the default call and to randn
  const TD z1b = model.sample_latent(5, CounterRng(3), {}, {}, 1.0);
  const TD zr = TD::randn({5, 6, 3}, CounterRng(3));
  double d1 = 0, dr = 0, d05 = 0, norm = 0;
  const TD z05 = model.sample_latent(5, CounterRng(3), {}, {}, 0.5);
  REQUIRE(z05.shape() == z1.shape());
  for (std::int64_t i = 0; i < z1.numel(); ++i) {
    d1 = std::max(d1, std::abs(z1.data()[i] - z1b.data()[i]));
    dr = std::max(dr, std::abs(z1.data()[i] - zr.data()[i]));
    d05 = std::max(d05, std::abs(z05.data()[i] - 0.5 * z1.data()[i]));
    norm = std::max(norm, std::abs(z1.data()[i]));
  }
  CHECK(d1 == 0.0);
  CHECK(dr == 0.0);
  CHECK(d05 < 1e-15);
  CHECK(norm > 0.5);  // the draw is not trivially zero
  // the decoded probabilities follow the scaled latent (same seed)
  const TD P05 = model.sample_probabilities(5, CounterRng(3), {}, {}, 0.5);
  const TD P1 = model.sample_probabilities(5, CounterRng(3));
  double dp = 0;
  for (std::int64_t i = 0; i < P1.numel(); ++i) dp = std::max(dp, std::abs(P05.data()[i] - P1.data()[i]));
  CHECK(dp > 1e-6);
  // typed errors: τ ≤ 0 or non-finite; τ ≠ 1 with the learned prior
  CHECK_THROWS_AS(model.sample_latent(2, CounterRng(3), {}, {}, 0.0), std::invalid_argument);
  CHECK_THROWS_AS(model.sample_latent(2, CounterRng(3), {}, {}, -1.0), std::invalid_argument);
  CHECK_THROWS_AS(model.sample_latent(2, CounterRng(3), {}, {}, std::nan("")), std::invalid_argument);
  ModelConfig cl = c;
  cl.prior = PriorKind::Learned;
  cl.prior_slots = 4;
  GraphGenModel<double> learned(cl);
  CHECK_NOTHROW(learned.sample_latent(2, CounterRng(3), {}, {}, 1.0));
  CHECK_THROWS_AS(learned.sample_latent(2, CounterRng(3), {}, {}, 0.8), std::invalid_argument);
}

TEST_CASE("graphgen: per-size edge-count calibration of the sampled graphs", "[graphgen][tuning]") {
  // table of mean edge counts by node count
  Graph g3, g3b, g4;
  g3.n = 3;
  g3.edges = {{0, 1}, {1, 2}};
  g3b.n = 3;
  g3b.edges = {{0, 1}, {1, 2}, {0, 2}};
  g4.n = 4;
  g4.edges = {{0, 1}};
  const auto t = mean_edges_by_size({g3, g3b, g4}, 5);
  REQUIRE(t.size() == 6);
  CHECK(t[3] == 2.5);
  CHECK(t[4] == 1.0);
  CHECK(t[0] == -1.0);
  CHECK(t[5] == -1.0);
  CHECK_THROWS_AS(mean_edges_by_size({g4}, 3), std::invalid_argument);
  CHECK_THROWS_AS(mean_edges_by_size({}, -1), std::invalid_argument);

  // one 6-node sample: thresholded at 0.5 it is the path 0-1-2-3 (V = {0,1,2,3}, 3 edges);
  // inside V the next pairs are {0,2} (0.45, stored asymmetrically 0.4 / 0.5) and {1,3} (0.3);
  // {3,4} (0.48) has an endpoint outside V and must not be added
  TD P = TD::zeros({1, 6, 6});
  auto set = [&](int u, int v, double x) { P(0, u, v) = P(0, v, u) = x; };
  set(0, 1, 0.9);
  set(1, 2, 0.8);
  set(2, 3, 0.7);
  P(0, 0, 2) = 0.4;
  P(0, 2, 0) = 0.5;
  set(1, 3, 0.3);
  set(0, 3, 0.1);
  set(3, 4, 0.48);
  std::vector<double> table(7, -1.0);
  // size 4 not in the table: same as plain thresholding
  const auto plain = probabilities_to_graphs(P, false, CounterRng(1), 0.5);
  CHECK(probabilities_to_graphs_size_calibrated(P, 0.5, table)[0] == plain[0]);
  CHECK(plain[0].edges.size() == 3);
  // size 4 -> 5 edges: the path plus {0,2} and {1,3}
  table[4] = 4.6;  // rounds to 5
  const auto up = probabilities_to_graphs_size_calibrated(P, 0.5, table);
  REQUIRE(up.size() == 1);
  CHECK(up[0].n == 4);
  CHECK(up[0].edges == std::vector<Graph::Edge>{{0, 1}, {0, 2}, {1, 2}, {1, 3}, {2, 3}});
  // size 4 -> 2 edges: {0,1} and {1,2}; node 3 becomes isolated and is stripped
  table[4] = 2.0;
  const auto down = probabilities_to_graphs_size_calibrated(P, 0.5, table);
  CHECK(down[0].n == 3);
  CHECK(down[0].edges == std::vector<Graph::Edge>{{0, 1}, {1, 2}});
  // more edges requested than pairs inside V: the complete graph on V
  table[4] = 10.0;
  CHECK(probabilities_to_graphs_size_calibrated(P, 0.5, table)[0].edges.size() == 6);
  // an all-zero sample stays empty (n = 0) whatever the table says
  TD Z = TD::zeros({2, 6, 6});
  table.assign(7, 3.0);
  for (const auto& g : probabilities_to_graphs_size_calibrated(Z, 0.5, table)) CHECK(g.n == 0);
  // typed errors
  CHECK_THROWS_AS(probabilities_to_graphs_size_calibrated(P, 0.5, std::vector<double>(6, 1.0)), std::invalid_argument);
  CHECK_THROWS_AS(probabilities_to_graphs_size_calibrated(TD::zeros({1, 3, 4}), 0.5, std::vector<double>(4, 1.0)),
                  std::invalid_argument);
}

TEST_CASE("graphgen: size matching by rejection follows the reference node-count distribution", "[graphgen][tuning]") {
  // reference: sizes 3 (50 %), 4 (25 %), 5 (25 %); generator: 3 (25 %), 4 (50 %), 5 (12.5 %), 6 (12.5 %)
  const auto ref = graphs_of({3, 3, 4, 5});
  const auto gen = graphs_of({3, 3, 4, 4, 4, 4, 5, 6});
  const auto a = size_acceptance(ref, gen, 6);
  REQUIRE(a.size() == 7);
  // r = 0.5/0.25 = 2, 0.25/0.5 = 0.5, 0.25/0.125 = 2, size 6 unseen in the reference -> 0; normalised by 2
  CHECK(a[3] == Approx(1.0));
  CHECK(a[4] == Approx(0.25));
  CHECK(a[5] == Approx(1.0));
  CHECK(a[6] == 0.0);
  CHECK(a[0] == 0.0);
  // rejection on many draws from the generator distribution: accepted sizes follow the reference
  std::vector<int> many;
  for (int k = 0; k < 4000; ++k)
    for (int n : {3, 3, 4, 4, 4, 4, 5, 6}) many.push_back(n);
  const auto kept = accept_by_size(graphs_of(many), a, CounterRng(11), 0);
  std::vector<double> frac(7, 0.0);
  for (const auto& g : kept) frac[static_cast<std::size_t>(g.n)] += 1.0 / static_cast<double>(kept.size());
  CHECK(frac[3] == Approx(0.5).margin(0.02));
  CHECK(frac[4] == Approx(0.25).margin(0.02));
  CHECK(frac[5] == Approx(0.25).margin(0.02));
  CHECK(frac[6] == 0.0);
  // expected acceptance 0.25 + 0.125 + 0.125 = 0.5
  CHECK(static_cast<double>(kept.size()) / static_cast<double>(many.size()) == Approx(0.5).margin(0.02));
  // same rng and offset -> same selection; graphs keep their structure
  const auto kept2 = accept_by_size(graphs_of(many), a, CounterRng(11), 0);
  REQUIRE(kept2.size() == kept.size());
  for (std::size_t k = 0; k < kept.size(); ++k) CHECK(kept[k] == kept2[k]);
  // typed errors
  CHECK_THROWS_AS(size_acceptance({}, gen, 6), std::invalid_argument);
  CHECK_THROWS_AS(size_acceptance(ref, {}, 6), std::invalid_argument);
  CHECK_THROWS_AS(size_acceptance(ref, gen, 5), std::invalid_argument);          // a graph of 6 nodes
  CHECK_THROWS_AS(size_acceptance(ref, graphs_of({6}), 6), std::invalid_argument);  // no common size
  CHECK_THROWS_AS(accept_by_size(graphs_of({7}), a, CounterRng(1), 0), std::invalid_argument);
}

TEST_CASE("graphgen: size-matching calibration (acceptance, p_gen, expected acceptance rate)", "[graphgen][tuning]") {
  const auto ref = graphs_of({3, 3, 4, 5});
  // batch A (as in the test above): 3 (25 %), 4 (50 %), 5 (12.5 %), 6 (12.5 %)
  const auto genA = graphs_of({3, 3, 4, 4, 4, 4, 5, 6});
  const auto cA = calibrate_size_matching(ref, genA, 6);
  REQUIRE(cA.acceptance.size() == 7);
  REQUIRE(cA.generated_probs.size() == 7);
  const auto aA = size_acceptance(ref, genA, 6);
  for (std::size_t n = 0; n < 7; ++n) CHECK(cA.acceptance[n] == aA[n]);
  const std::vector<double> pA{0, 0, 0, 0.25, 0.5, 0.125, 0.125};
  for (std::size_t n = 0; n < 7; ++n) CHECK(cA.generated_probs[n] == Approx(pA[n]));
  CHECK(cA.expected_acceptance_rate == Approx(0.5));  // 0.25·1 + 0.5·0.25 + 0.125·1 + 0.125·0
  // matches the rate that accept_by_size realises on many draws from batch A's distribution
  std::vector<int> many;
  for (int k = 0; k < 4000; ++k)
    for (int n : {3, 3, 4, 4, 4, 4, 5, 6}) many.push_back(n);
  const auto kept = accept_by_size(graphs_of(many), cA.acceptance, CounterRng(5), 0);
  CHECK(static_cast<double>(kept.size()) / static_cast<double>(many.size()) == Approx(cA.expected_acceptance_rate).margin(0.02));
  // batch B (another threshold gives other sizes): 3 (75 %), 5 (25 %); no size 4 -> a(4) = 0
  // r(3) = 0.5/0.75 = 2/3, r(5) = 0.25/0.25 = 1 -> a = 2/3, 0, 1; rate = 0.75·2/3 + 0.25·1 = 0.75
  const auto cB = calibrate_size_matching(ref, graphs_of({3, 3, 3, 5}), 6);
  CHECK(cB.acceptance[3] == Approx(2.0 / 3.0));
  CHECK(cB.acceptance[4] == 0.0);
  CHECK(cB.acceptance[5] == Approx(1.0));
  CHECK(cB.generated_probs[3] == Approx(0.75));
  CHECK(cB.generated_probs[5] == Approx(0.25));
  CHECK(cB.expected_acceptance_rate == Approx(0.75));
  // identity: rate = (reference mass on the sizes the batch has) / max r = 0.75 / 1
  // typed errors as size_acceptance
  CHECK_THROWS_AS(calibrate_size_matching(ref, {}, 6), std::invalid_argument);
  CHECK_THROWS_AS(calibrate_size_matching(ref, genA, 5), std::invalid_argument);
  CHECK_THROWS_AS(calibrate_size_matching(ref, graphs_of({6}), 6), std::invalid_argument);
}

TEST_CASE("graphgen: size-stratified K-fold validation split", "[graphgen][tuning][split]") {
  // node counts of a Community-small-like training list: 21 x 12, 20 x 14, 15 x 16, 13 x 18, 11 x 20 (80 graphs),
  // interleaved so that the classes are not contiguous
  std::vector<int> sizes;
  const std::vector<std::pair<int, int>> mix{{12, 21}, {14, 20}, {16, 15}, {18, 13}, {20, 11}};
  for (int k = 0; k < 21; ++k)
    for (const auto& [n, c] : mix)
      if (k < c) sizes.push_back(n);
  REQUIRE(sizes.size() == 80);
  const std::size_t K = 4;
  std::vector<int> owner(sizes.size(), -1);
  std::vector<std::vector<std::size_t>> vals;
  for (std::size_t f = 0; f < K; ++f) {
    const auto s = stratified_fold_split(sizes, K, f, 0);
    CHECK(std::is_sorted(s.val.begin(), s.val.end()));
    CHECK(std::is_sorted(s.train.begin(), s.train.end()));
    CHECK(s.val.size() + s.train.size() == sizes.size());
    CHECK(s.val.size() == 20);  // 80 / 4
    // train = the complement of val
    std::vector<int> in(sizes.size(), 0);
    for (auto i : s.val) in[i] += 1;
    for (auto i : s.train) in[i] += 2;
    for (int x : in) CHECK((x == 1 || x == 2));
    for (auto i : s.val) {
      CHECK(owner[i] == -1);  // in no other fold
      owner[i] = static_cast<int>(f);
    }
    vals.push_back(s.val);
  }
  for (int o : owner) CHECK(o >= 0);  // every graph in exactly one fold
  // per class, the fold counts differ by at most 1 (every fold sees every size)
  for (const auto& [n, c] : mix) {
    std::vector<int> cnt(K, 0);
    for (std::size_t i = 0; i < sizes.size(); ++i)
      if (sizes[i] == n) ++cnt[static_cast<std::size_t>(owner[i])];
    const auto [lo, hi] = std::minmax_element(cnt.begin(), cnt.end());
    CHECK(*hi - *lo <= 1);
    CHECK(*lo >= 2);
  }
  // deterministic for a seed; another seed gives another split (same per-class counts)
  for (std::size_t f = 0; f < K; ++f) {
    CHECK(stratified_fold_split(sizes, K, f, 0).val == vals[f]);
    CHECK(stratified_fold_split(sizes, K, f, 0).train == stratified_fold_split(sizes, K, f, 0).train);
  }
  bool differs = false;
  for (std::size_t f = 0; f < K; ++f) differs = differs || stratified_fold_split(sizes, K, f, 1).val != vals[f];
  CHECK(differs);
  CHECK(stratified_fold_split(sizes, K, 0, 1).val != vals[0]);
  // fold sizes differ by at most 1 when K does not divide n or the classes (7 graphs, 3 folds: 3/2/2)
  const std::vector<int> small{5, 5, 6, 6, 6, 7, 5};
  std::vector<std::size_t> fs;
  for (std::size_t f = 0; f < 3; ++f) fs.push_back(stratified_fold_split(small, 3, f, 2).val.size());
  CHECK(*std::max_element(fs.begin(), fs.end()) - *std::min_element(fs.begin(), fs.end()) <= 1);
  CHECK(fs[0] + fs[1] + fs[2] == 7);
  // K = n: leave-one-out, every fold one graph
  for (std::size_t f = 0; f < 7; ++f) CHECK(stratified_fold_split(small, 7, f, 0).val.size() == 1);
  // typed errors
  CHECK_THROWS_AS(stratified_fold_split(sizes, 1, 0, 0), std::invalid_argument);  // K = 1
  CHECK_THROWS_AS(stratified_fold_split(sizes, 0, 0, 0), std::invalid_argument);
  CHECK_THROWS_AS(stratified_fold_split(sizes, 4, 4, 0), std::invalid_argument);  // i >= K
  CHECK_THROWS_AS(stratified_fold_split(small, 8, 0, 0), std::invalid_argument);  // K > number of graphs
  CHECK_THROWS_AS(stratified_fold_split({}, 2, 0, 0), std::invalid_argument);
  CHECK_THROWS_AS(stratified_fold_split({3, -1, 4}, 2, 0, 0), std::invalid_argument);
}
