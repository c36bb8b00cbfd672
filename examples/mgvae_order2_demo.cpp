// mgvae_order2_demo: trains the second-order MGVAE, models::Mgvae<float, 2>, on generated small
// community graphs (data/generators.hpp, 12-20 nodes) in ragged mini-batches, prints every ELBO term
// per epoch, and times it against the first-order Mgvae<float, 1> on the same graphs in the same run
// (the first-order model is a single-graph model: it trains on the disjoint union of all graphs,
// one full-batch step per epoch). Both see every graph once per epoch.
//
//   mgvae_order2_demo [--graphs N] [--batch B] [--epochs E] [--levels L] [--k K] [--latent D]
//                     [--hidden H] [--lr LR] [--seed S] [--order both|1|2] [--threads T]
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "mgvae/autodiff/tape.hpp"
#include "mgvae/core/arena.hpp"
#include "mgvae/data/generators.hpp"
#include "mgvae/graph/normalize.hpp"
#include "mgvae/models/mgvae/mgvae.hpp"
#include "mgvae/nn/optim.hpp"

using namespace mgvae;
using T = float;

namespace {

/// Node features [Σ n_g, 2]: a constant and the degree / (n − 1).
Tensor<T> structural_features(const std::vector<Graph>& graphs) {
  std::int64_t N = 0;
  for (const Graph& g : graphs) N += g.n;
  Tensor<T> x(Shape{N, 2});
  std::int64_t o = 0;
  for (const Graph& g : graphs) {
    const auto deg = g.degrees();
    for (std::int64_t i = 0; i < g.n; ++i) {
      x.data()[(o + i) * 2] = T(1);
      x.data()[(o + i) * 2 + 1] = static_cast<T>(deg[static_cast<std::size_t>(i)]) / static_cast<T>(std::max<std::int64_t>(1, g.n - 1));
    }
    o += g.n;
  }
  return x;
}

/// Disjoint union of the graphs (node ids shifted).
Graph disjoint_union(const std::vector<Graph>& graphs) {
  std::vector<Graph::Edge> e;
  std::int64_t o = 0;
  for (const Graph& g : graphs) {
    for (const auto& [u, v] : g.edges) e.emplace_back(u + o, v + o);
    o += g.n;
  }
  return Graph::from_edges(o, e);
}

/// Process CPU seconds (all threads): unlike wall time, not inflated by other processes.
double cpu_seconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

/// Sums the terms by group ("kl[2]" → "kl") and prints them.
void print_terms(const char* tag, int epoch, const std::map<std::string, double>& sums, int steps, double secs,
                 double cpu) {
  std::printf("%s epoch %3d:", tag, epoch);
  for (const auto& [k, v] : sums) std::printf("  %s %.4f", k.c_str(), v / steps);
  std::printf("  | %.3f s wall, %.3f s CPU\n", secs, cpu);
  std::fflush(stdout);
}
void accumulate(std::map<std::string, double>& sums, const models::LossTerms<T>& t) {
  for (const auto& [name, v] : t.terms) sums[name.substr(0, name.find('['))] += static_cast<double>(v.item());
  sums["total"] += static_cast<double>(t.total().item());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Second-order MGVAE (Mgvae<float, 2>) on generated small graphs, timed against Mgvae<float, 1>"};
  int graphs = 64, batch = 16, epochs = 5, levels = 2, latent = 8, hidden = 16, threads = 1;
  std::int64_t k = 2;
  double lr = 1e-3;
  std::uint64_t seed = 1;
  std::string order = "both";
  app.add_option("--graphs", graphs, "number of generated community graphs (12-20 nodes)")->check(CLI::PositiveNumber);
  app.add_option("--batch", batch, "graphs per step (order 2)")->check(CLI::PositiveNumber);
  app.add_option("--epochs", epochs, "training epochs")->check(CLI::PositiveNumber);
  app.add_option("--levels", levels, "L: clusterings K^L, ..., K, 1")->check(CLI::NonNegativeNumber);
  app.add_option("--k", k, "K: clusters per level")->check(CLI::PositiveNumber);
  app.add_option("--latent", latent, "latent channels d")->check(CLI::PositiveNumber);
  app.add_option("--hidden", hidden, "hidden channels of every encoder / decoder")->check(CLI::PositiveNumber);
  app.add_option("--lr", lr, "Adam learning rate")->check(CLI::PositiveNumber);
  app.add_option("--seed", seed, "seed of the data, the initial weights and the noise");
  app.add_option("--order", order, "which models to train: both, 1 or 2")->check(CLI::IsMember({"both", "1", "2"}));
  app.add_option("--threads", threads, "OpenMP threads")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
#if defined(_OPENMP)
  omp_set_num_threads(threads);
#endif

  const std::vector<Graph> data = data::community_graphs(seed, graphs);
  std::int64_t nmin = data.front().n, nmax = 0, edges = 0;
  for (const Graph& g : data) {
    nmin = std::min(nmin, g.n);
    nmax = std::max(nmax, g.n);
    edges += static_cast<std::int64_t>(g.edges.size());
  }
  std::printf("data: %d community graphs, %lld-%lld nodes, %lld edges in all; L = %d, K = %lld, d = %d, hidden %d\n", graphs,
              static_cast<long long>(nmin), static_cast<long long>(nmax), static_cast<long long>(edges), levels,
              static_cast<long long>(k), latent, hidden);

  models::MgvaeConfig cfg;
  cfg.in_features = 2;
  cfg.hidden = {hidden};
  cfg.latent = latent;
  cfg.levels = levels;
  cfg.clusters_per_level = k;
  cfg.cluster_hidden = hidden;
  cfg.max_graph_nodes = std::max<std::int64_t>(64, nmax);
  const CounterRng root(seed);
  double spe1 = -1, spe2 = -1, cpe1 = -1, cpe2 = -1;

  if (order != "1") {  // ---- second order: ragged mini-batches
    CounterRng init = root.split(1);
    models::Mgvae<T, 2> model(cfg, nmin, init);
    nn::Adam<T> opt(model.parameters(), static_cast<T>(lr));
    std::printf("order 2: %lld parameters, %d graphs per step\n", static_cast<long long>(model.num_parameters()), batch);
    double total = 0, total_cpu = 0;
    for (int ep = 1; ep <= epochs; ++ep) {
      const auto t0 = std::chrono::steady_clock::now();
      const double c0 = cpu_seconds();
      std::map<std::string, double> sums;
      int steps = 0;
      for (int first = 0; first < graphs; first += batch) {
        ArenaScope step;
        const std::vector<Graph> part(data.begin() + first, data.begin() + std::min(graphs, first + batch));
        const auto [b, A] = models::ragged_adjacency<T>(part);
        const auto noise = model.draw_noise(b, root.split(1000 + static_cast<std::uint64_t>(ep * 10000 + first)));
        const auto out = model.forward(b, Var<T>(A), Var<T>(structural_features(part)), noise);
        const auto terms = model.loss(out);
        backward(terms.total());
        opt.step();
        opt.zero_grad();
        accumulate(sums, terms);
        ++steps;
      }
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const double c = cpu_seconds() - c0;
      total += s;
      total_cpu += c;
      print_terms("order 2", ep, sums, steps, s, c);
    }
    spe2 = total / epochs;
    cpe2 = total_cpu / epochs;
  }

  if (order != "2") {  // ---- first order: the disjoint union as one graph, one full-batch step
    const Graph u = disjoint_union(data);
    const CsrMatrix<T> an = graph::gcn_normalized<T>(u), araw = graph::adjacency_csr<T>(u);
    const auto target = models::make_dense_target<T>(u.n, u.edges);
    const Tensor<T> X = structural_features(data);
    CounterRng init = root.split(2);
    models::Mgvae<T, 1> model(cfg, u.n, init);
    nn::Adam<T> opt(model.parameters(), static_cast<T>(lr));
    std::printf("order 1: %lld parameters, one step on the %lld-node disjoint union\n",
                static_cast<long long>(model.num_parameters()), static_cast<long long>(u.n));
    models::MgvaeInput<T> in{&an, &araw, models::NodeFeatures<T>::of(Var<T>(X))};
    models::FinestTarget<T> ft;
    ft.dense = &target;
    double total = 0, total_cpu = 0;
    for (int ep = 1; ep <= epochs; ++ep) {
      const auto t0 = std::chrono::steady_clock::now();
      const double c0 = cpu_seconds();
      std::map<std::string, double> sums;
      {
        ArenaScope step;
        const auto out = model.forward(in, model.draw_noise(root.split(5000 + static_cast<std::uint64_t>(ep))));
        const auto terms = model.loss(out, in, ft);
        backward(terms.total());
        opt.step();
        opt.zero_grad();
        accumulate(sums, terms);
      }
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const double c = cpu_seconds() - c0;
      total += s;
      total_cpu += c;
      print_terms("order 1", ep, sums, 1, s, c);
    }
    spe1 = total / epochs;
    cpe1 = total_cpu / epochs;
  }
  std::printf("seconds/epoch (mean over %d epochs, %d thread%s):", epochs, threads, threads == 1 ? "" : "s");
  if (spe1 >= 0) std::printf("  order 1 %.4f wall, %.4f CPU", spe1, cpe1);
  if (spe2 >= 0) std::printf("  order 2 %.4f wall, %.4f CPU", spe2, cpe2);
  std::printf("\n");
  return 0;
}
