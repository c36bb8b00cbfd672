// One full training step (forward + backward + optimiser step, inside an ArenaScope, as the
// trainers in examples/ run it) of every experiment model, on deterministic synthetic inputs shaped
// like the real experiments (no data files are read). float, like the trainers.
//
//   BM_vgae_cora          VGAE (GCN 1433 → 32 → 16, dense N×N reconstruction, Adam lr 0.01) on a
//                         Cora-shaped SBM graph: 2,708 nodes, 7 classes, ≈ 5,300 undirected edges
//                         (85 % of them are the training edges, as after link_prediction's split),
//                         1,433 binary features with ≈ 1.3 % ones. = link_prediction --model vgae.
//   BM_mgvae_cora         first-order MGVAE with the link_prediction defaults (learned clustering,
//                         L = 7, K = 2, hidden 32, latent 16, dense reconstruction, w_local 0.1,
//                         w_coarse 0.01, hierarchy_grad 0) on the same graph.
//   BM_molgen_qm9         molgen::MolGenModel with the molecule_generation defaults (hidden 32, d_z 16,
//                         3 + 3 second-order layers, levels 4,2,1, learned prior with 16 slots, β 0.1,
//                         √-balanced bond weights, Adam lr 1e-3, clip 10) on one batch of 32 synthetic
//                         molecules of 6–9 heavy atoms over C N O F. The step is molgen::train_step
//                         (examples/common/molgen/train.hpp) without valence regularisation.
//   BM_zinc_regressor     MgnRegressor with the zinc_regression defaults (hidden 64, 4 bond-aware layers,
//                         L = 3, K = 2, 2 coarse GCN layers, 16 RWSE features, mean readout, L1 loss,
//                         Adam lr 2e-3) on B synthetic ZINC-like molecules of 18–28 atoms (mean ≈ 23):
//                         B = 32 (the trainer's --batch) and B = 128. The batch is assembled inside the
//                         step, as the trainer does.
//   BM_graphgen_community GraphGenModel with the graph_generation defaults (N_max 20, hidden 64, 10 MP
//                         layers, d_z 16, 2 coarse levels, MLP decoder 256, standard prior, Adam lr 1e-3,
//                         clip 50) on one batch of 20 two-community graphs of 12–20 nodes
//                         (graphgen::generate_community_small).
//
// Every benchmark runs one untimed warm-up step (arena blocks, Adam state) and then times whole
// steps; the parameters keep training from step to step, as in a real run. Counters: graphs/s and
// nodes/s (rates over the real nodes of the step's batch). OpenMP threads: MGVAE_BENCH_THREADS
// (default 1), so the numbers line up with `benchmarks/compare_epoch.sh --threads T`.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <numeric>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "mgvae/core/arena.hpp"
#include "mgvae/core/rng.hpp"
#include "mgvae/data/edge_split.hpp"
#include "mgvae/data/generators.hpp"
#include "mgvae/graph/normalize.hpp"
#include "mgvae/models/graphgen/graph_data.hpp"
#include "mgvae/models/graphgen/model.hpp"
#include "mgvae/models/models.hpp"
#include "mgvae/models/molgen/model.hpp"
#include "mgvae/models/property/mgn_regressor.hpp"
#include "mgvae/nn/optim.hpp"
#include "mgvae/ops/loss.hpp"
#include "mgvae/ops/reduce.hpp"
#include "common/example_util.hpp"  // class_weights, as molecule_generation computes them
#include "common/molgen/train.hpp"   // molgen::train_step

namespace {

using mgvae::ArenaScope;
using mgvae::CounterRng;
using T = float;

void set_threads() {
#if defined(_OPENMP)
  int t = 1;
  if (const char* e = std::getenv("MGVAE_BENCH_THREADS")) t = std::max(1, std::atoi(e));
  omp_set_num_threads(t);
#endif
}

void set_rates(benchmark::State& state, double graphs, double nodes) {
  state.counters["graphs/s"] = benchmark::Counter(graphs, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["nodes/s"] = benchmark::Counter(nodes, benchmark::Counter::kIsIterationInvariantRate);
}

template <class Loss>
void check_finite(benchmark::State& state, const Loss& last) {
  if (!std::isfinite(static_cast<double>(last))) state.SkipWithError("non-finite loss");
}

// ---------------------------------------------------------------------------------------------
// Cora-shaped citation graph (link_prediction)
// ---------------------------------------------------------------------------------------------

/// 2,708 nodes in 7 classes; p_in / p_out give ≈ 4,300 intra- and ≈ 1,000 inter-class edges
/// (≈ 5,300 in all, Cora: 5,278); each node switches on ≈ 10 words of its class's block of 205 and
/// ≈ 8 others (≈ 18 of 1,433 = 1.3 %, Cora: 18.2 on average).
struct CoraLike {
  mgvae::data::CitationData d;
  mgvae::data::EdgeSplit split;
  mgvae::CsrMatrix<T> Anorm, Araw, X;
  mgvae::models::DenseReconTarget<T> target;
  std::int64_t n = 0;

  CoraLike() {
    CounterRng g(2708);
    mgvae::data::SbmFeatureOptions fo;
    fo.word_in = 0.05;
    fo.word_out = 0.0068;
    d = mgvae::data::sbm_citation_like(g, 2708, 7, 1433, 0.0082, 0.00032, fo);
    n = d.graph.n;
    split = mgvae::data::split_edges(d.graph, 1);  // link_prediction, seed 1
    Anorm = mgvae::graph::gcn_normalized<T>(split.train_graph);
    Araw = mgvae::graph::adjacency_csr<T>(split.train_graph);
    target = mgvae::models::make_dense_target<T>(n, split.train_pos);
    X = mgvae::graph::dense_to_csr<T>(d.features, n, d.num_features);
  }
  static const CoraLike& get() {
    static const CoraLike c;
    return c;
  }
};

void BM_vgae_cora(benchmark::State& state) {
  set_threads();
  namespace md = mgvae::models;
  const CoraLike& c = CoraLike::get();
  const auto xin = md::NodeFeatures<T>::of(c.X);
  const std::int64_t latent = 16;
  CounterRng rng(1ull * 1000003ull + 17);  // link_prediction, seed 1
  CounterRng init = rng.split(1);
  md::Vgae<T> model(c.d.num_features, {32}, latent, init);
  mgvae::nn::Adam<T> opt(model.parameters(), static_cast<T>(0.01));
  std::uint64_t ep = 0;
  float last = 0;
  auto step = [&] {
    ArenaScope scope;
    const CounterRng step_rng = rng.split(100 + ++ep);
    const auto q = model.forward(c.Anorm, xin, md::normal_noise<T>(c.n, latent, step_rng.split(0)));
    const auto loss = model.loss(q, c.target).total();
    mgvae::backward(loss);
    opt.step();
    opt.zero_grad();
    last = loss.item();
  };
  step();  // warm-up
  for (auto _ : state) step();
  check_finite(state, last);
  set_rates(state, 1, static_cast<double>(c.n));
  state.counters["edges"] = static_cast<double>(c.d.graph.num_edges());
}

void BM_mgvae_cora(benchmark::State& state) {
  set_threads();
  namespace md = mgvae::models;
  const CoraLike& c = CoraLike::get();
  md::MgvaeConfig cfg;  // link_prediction defaults (--model mgvae)
  cfg.in_features = c.d.num_features;
  cfg.hidden = {32};
  cfg.latent = 16;
  cfg.levels = 7;
  cfg.clusters_per_level = 2;
  cfg.clustering = md::ClusteringKind::Learned;
  cfg.w_local = 0.1;
  cfg.w_coarse = 0.01;
  cfg.w_balance = 1.0;
  cfg.w_kl = 1.0;
  cfg.balance_on = md::BalanceOn::Sample;
  cfg.w_infomax = 0.0;
  cfg.standardize_cluster_logits = false;
  cfg.cluster_logit_scale = 1.0;
  cfg.local_grad_to_clustering = true;
  cfg.hierarchy_grad = 0.0;
  CounterRng rng(1ull * 1000003ull + 17);
  CounterRng init = rng.split(1);
  md::Mgvae<T> model(cfg, c.n, init);
  mgvae::nn::Adam<T> opt(model.parameters(), static_cast<T>(0.01));
  const md::MgvaeInput<T> in{&c.Anorm, &c.Araw, md::NodeFeatures<T>::of(c.X)};
  md::FinestTarget<T> ft;
  ft.dense = &c.target;
  std::uint64_t ep = 0;
  float last = 0;
  auto step = [&] {
    ArenaScope scope;
    const CounterRng step_rng = rng.split(100 + ++ep);
    const auto noise = model.draw_noise(step_rng);
    const auto o = model.forward(in, noise);
    const auto loss = model.loss(o, in, ft).total();
    mgvae::backward(loss);
    opt.step();
    opt.zero_grad();
    last = loss.item();
  };
  step();
  for (auto _ : state) step();
  check_finite(state, last);
  set_rates(state, 1, static_cast<double>(c.n));
}

// ---------------------------------------------------------------------------------------------
// Synthetic molecules
// ---------------------------------------------------------------------------------------------

/// A connected molecule-like graph of n atoms: a random tree of maximum degree 4 (each atom bonds
/// to an earlier atom with a free valence slot) plus `rings` ring closures between atoms four to
/// five tree positions apart; bond types 0/1/2 with probabilities ≈ 0.8/0.17/0.03; atom types drawn
/// from `type_cdf` (cumulative probabilities, last entry 1).
struct MolSketch {
  std::int64_t n = 0;
  std::vector<std::int64_t> type;
  std::vector<std::tuple<std::int64_t, std::int64_t, int>> bonds;
};

MolSketch sketch_molecule(CounterRng& r, std::int64_t n, int rings, const std::vector<double>& type_cdf) {
  MolSketch m;
  m.n = n;
  std::vector<int> deg(static_cast<std::size_t>(n), 0);
  auto bond_type = [&r] {
    const double u = r.next_uniform();
    return u < 0.80 ? 0 : (u < 0.97 ? 1 : 2);
  };
  for (std::int64_t i = 0; i < n; ++i) {
    const double u = r.next_uniform();
    std::int64_t t = 0;
    while (t + 1 < static_cast<std::int64_t>(type_cdf.size()) && u >= type_cdf[static_cast<std::size_t>(t)]) ++t;
    m.type.push_back(t);
    if (i == 0) continue;
    std::int64_t j;
    int tries = 0;
    do j = static_cast<std::int64_t>(r.next_below(static_cast<std::uint64_t>(i)));
    while (deg[static_cast<std::size_t>(j)] >= 4 && ++tries < 16);
    m.bonds.emplace_back(j, i, bond_type());
    ++deg[static_cast<std::size_t>(j)], ++deg[static_cast<std::size_t>(i)];
  }
  for (int k = 0; k < rings && n >= 6; ++k) {
    const std::int64_t v = 5 + static_cast<std::int64_t>(r.next_below(static_cast<std::uint64_t>(n - 5)));
    const std::int64_t u = v - 4 - static_cast<std::int64_t>(r.next_below(2));
    bool dup = false;
    for (const auto& [a, b, t] : m.bonds) dup = dup || (a == u && b == v);
    if (!dup && deg[static_cast<std::size_t>(u)] < 4 && deg[static_cast<std::size_t>(v)] < 4) {
      m.bonds.emplace_back(u, v, 0);
      ++deg[static_cast<std::size_t>(u)], ++deg[static_cast<std::size_t>(v)];
    }
  }
  return m;
}

void BM_molgen_qm9(benchmark::State& state) {
  set_threads();
  namespace mg = mgvae::molgen;
  const std::int64_t F = 4, E = 3, B = 32;
  CounterRng r(9, 0x4D31);
  const std::vector<double> qm9_types{0.72, 0.84, 0.99, 1.0};  // C N O F (QM9 heavy-atom frequencies, roughly)
  std::vector<mg::MolecularGraph> gs;
  std::int64_t nodes = 0;
  std::vector<double> bond_counts(static_cast<std::size_t>(E + 1), 0.0);
  for (std::int64_t g = 0; g < B; ++g) {
    const std::int64_t n = 6 + static_cast<std::int64_t>(r.next_below(4));  // 6..9 heavy atoms
    const MolSketch s = sketch_molecule(r, n, 1, qm9_types);
    mg::MolecularGraph m;
    m.n = s.n;
    m.atom_type = s.type;
    m.bonds = s.bonds;
    gs.push_back(m);
    nodes += n;
    bond_counts[0] += static_cast<double>(n * (n - 1) / 2 - static_cast<std::int64_t>(s.bonds.size()));
    for (const auto& b : s.bonds) bond_counts[static_cast<std::size_t>(std::get<2>(b) + 1)] += 1;
  }
  mg::MolGenConfig cfg;  // molecule_generation defaults
  cfg.atom_types = F;
  cfg.bond_types = E;
  cfg.hidden = 32;
  cfg.latent = 16;
  cfg.enc_layers = 3;
  cfg.dec_layers = 3;
  cfg.dec_edge_channels = 2;
  cfg.coarse_hidden = 16;
  cfg.clusters = {4, 2, 1};
  cfg.prior = mg::PriorKind::Learned;
  cfg.prior_slots = 16;
  cfg.beta = 0.1;
  cfg.lambda_coarse = 0.1;
  cfg.lambda_balance = 0.1;
  cfg.bond_weight = mgvae::examples::class_weights(bond_counts, 0.5);
  cfg.atom_weight = std::vector<double>(static_cast<std::size_t>(F), 1.0);  // --atom-weight-power 0
  cfg.seed = 1;
  cfg.decoder = mg::DecoderKind::AllAtOnce;
  cfg.max_atoms = 9;
  mg::MolGenModel<T> model(cfg);
  mgvae::nn::Adam<T> opt(model.parameters(), static_cast<T>(1e-3));
  const std::uint64_t seed = 1;
  std::int64_t step_no = 0;
  float last = 0;
  auto step = [&] {  // the molecule_generation trainer's step (examples/common/molgen/train.hpp)
    ArenaScope scope;
    last = static_cast<float>(mg::train_step(model, opt, gs, F, E, seed, /*epoch*/ 0, step_no++, /*clip*/ 10.0).loss.item());
  };
  step();
  for (auto _ : state) step();
  check_finite(state, last);
  set_rates(state, static_cast<double>(B), static_cast<double>(nodes));
}

void BM_zinc_regressor(benchmark::State& state) {
  set_threads();
  namespace mp = mgvae::models::property;
  const std::int64_t B = state.range(0);
  const int rwse = 16;
  // ZINC vocabulary (AtomVocab::zinc(): 17 symbols); mostly C, N, O, then F, S, Cl, ...
  const std::vector<double> zinc_types{0.73, 0.85, 0.95, 0.965, 0.967, 0.985, 0.993, 0.996, 0.997,
                                       0.9985, 0.9995, 0.9996, 0.9997, 0.9998, 0.99985, 0.9999, 1.0};
  CounterRng r(12, 0x5A1C);
  std::vector<mp::PropertyGraph> graphs;
  std::vector<float> y;
  std::int64_t nodes = 0;
  for (std::int64_t g = 0; g < B; ++g) {
    const std::int64_t n = 18 + static_cast<std::int64_t>(r.next_below(11));  // 18..28, mean 23
    const MolSketch s = sketch_molecule(r, n, 3, zinc_types);
    mp::PropertyGraph pg;
    pg.n = s.n;
    pg.node_type = s.type;
    pg.edges = s.bonds;
    pg.features = mp::random_walk_encoding(pg, rwse);  // precomputed once per molecule, as the trainer
    pg.feature_dim = rwse;
    graphs.push_back(std::move(pg));
    y.push_back(static_cast<float>(r.next_uniform() * 4.0 - 2.0));
    nodes += n;
  }
  std::vector<const mp::PropertyGraph*> bg;
  for (const auto& g : graphs) bg.push_back(&g);
  mp::MgnRegressorConfig cfg;  // zinc_regression defaults
  cfg.num_node_types = 17;
  cfg.num_edge_types = 3;
  cfg.hidden = 64;
  cfg.layers = 4;
  cfg.coarse_layers = 2;
  cfg.levels = 3;
  cfg.clusters = 2;
  cfg.use_edge_types = true;
  cfg.node_feature_dim = rwse;
  cfg.readout = mp::Readout::Mean;
  cfg.seed = 1;
  mp::MgnRegressor<T> model(cfg);
  mgvae::nn::Adam<T> opt(model.parameters(), static_cast<T>(2e-3));
  std::uint64_t step_no = 0;
  float last = 0;
  auto step = [&] {
    ArenaScope scope;
    const auto b = mp::make_batch<T>(bg, cfg.num_node_types, cfg.num_edge_types, cfg.readout);
    const auto noise = model.draw_noise(b, CounterRng(1, 0x6B1ull).split(step_no++));
    const auto out = model.forward(b, noise);
    const mgvae::Var<T> target(mgvae::Tensor<T>::from(mgvae::Shape{B}, y), false);
    const mgvae::Var<T> loss = mgvae::mean(mgvae::abs(mgvae::sub(out.prediction, target)));  // L1
    opt.zero_grad();
    mgvae::backward(loss);
    opt.step();
    last = loss.item();
  };
  step();
  for (auto _ : state) step();
  check_finite(state, last);
  set_rates(state, static_cast<double>(B), static_cast<double>(nodes));
}

// ---------------------------------------------------------------------------------------------
// Community-small graph generation
// ---------------------------------------------------------------------------------------------

void BM_graphgen_community(benchmark::State& state) {
  set_threads();
  namespace gg = mgvae::graphgen;
  const int B = 20;  // graph_generation --batch
  const auto graphs = gg::generate_community_small(1, B);
  std::int64_t nodes = 0;
  for (const auto& g : graphs) nodes += g.n;
  gg::ModelConfig cfg;  // graph_generation defaults
  cfg.n_max = 20;
  cfg.hidden = 64;
  cfg.latent = 16;
  cfg.layers = 10;
  cfg.levels = 2;
  cfg.dec_hidden = 256;
  cfg.tau = 1.0;
  cfg.pos_weight = 1.0;
  cfg.beta = 1.0;
  cfg.lambda_rec = 1.0;
  cfg.lambda_bal = 1.0;
  cfg.seed = 1;
  cfg.prior = gg::PriorKind::Standard;
  gg::GraphGenModel<T> model(cfg);
  mgvae::nn::Adam<T> opt(model.parameters(), static_cast<T>(1e-3));
  std::vector<const mgvae::Graph*> bg;
  for (const auto& g : graphs) bg.push_back(&g);
  const CounterRng rng(1);
  std::uint64_t step_no = 0;
  float last = 0;
  auto step = [&] {
    ArenaScope scope;
    const auto b = gg::make_batch<T>(bg, cfg.n_max);
    const auto nz = model.draw_noise(rng.split(2 * ++step_no + 1), b.B);
    const auto o = model.forward(b, nz);
    opt.zero_grad();
    mgvae::backward(o.loss);
    mgvae::nn::clip_grad_norm(model.parameters(), static_cast<T>(50));  // --clip 50
    opt.step();
    last = o.loss.item();
  };
  step();
  for (auto _ : state) step();
  check_finite(state, last);
  set_rates(state, static_cast<double>(B), static_cast<double>(nodes));
}

}  // namespace

// MinTime(1 s) per benchmark: the whole binary takes ~15 s on one core (steps are 20–200 ms).
BENCHMARK(BM_vgae_cora)->Unit(benchmark::kMillisecond)->MinTime(1.0)->UseRealTime();
BENCHMARK(BM_mgvae_cora)->Unit(benchmark::kMillisecond)->MinTime(1.0)->UseRealTime();
BENCHMARK(BM_molgen_qm9)->Unit(benchmark::kMillisecond)->MinTime(1.0)->UseRealTime();
BENCHMARK(BM_zinc_regressor)->ArgName("batch")->Arg(32)->Arg(128)->Unit(benchmark::kMillisecond)->MinTime(1.0)->UseRealTime();
BENCHMARK(BM_graphgen_community)->Unit(benchmark::kMillisecond)->MinTime(1.0)->UseRealTime();
