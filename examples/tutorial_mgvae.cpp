// Tutorial (docs/tutorial-mgvae.md): train the paper's first-order MGVAE (models::Mgvae<T, 1>) on
// your own graph and score held-out links.
//
//   1. build a Graph from an edge list (here: 4 planted communities of 20 nodes)
//   2. hold out 10% / 5% of the edges for test / validation (data::split_edges)
//   3. build the model from its MgvaeConfig
//   4. train with Adam, one ArenaScope per step, the model in training mode
//   5. eval(): deterministic latents (z = μ, Π = argmax), link-prediction AUC / AP on the test pairs
//
// Prints what it checks and exits with status 1 if a check fails. Runs in a few seconds.
#include <mgvae/mgvae.hpp>

#include <cstdio>
#include <tuple>
#include <vector>

using namespace mgvae;
using T = double;

namespace {
int failures = 0;
void check(bool ok, const char* what) {
  std::printf("check: %-58s %s\n", what, ok ? "ok" : "FAILED");
  if (!ok) ++failures;
}

/// Your own graph: any list of undirected (u, v) pairs on nodes 0 … n−1. Here a planted partition:
/// 4 communities of 20 nodes, edge probability 0.5 inside a community and 0.01 across.
Graph my_graph() {
  const std::int64_t n = 80, community = 20;
  CounterRng rng(2024);
  std::vector<Graph::Edge> edges;
  for (std::int64_t u = 0; u < n; ++u)
    for (std::int64_t v = u + 1; v < n; ++v)
      if (rng.next_uniform() < (u / community == v / community ? 0.5 : 0.01)) edges.emplace_back(u, v);
  return Graph::from_edges(n, edges);  // sorts, drops self loops and duplicates
}
}  // namespace

int main() {
  // [graph]
  const Graph g = my_graph();
  const std::int64_t n = g.n;
  const data::EdgeSplit split = data::split_edges(g, /*seed=*/1);  // train / val / test pairs
  // What the model reads: Â = D̃^{-1/2}(A + I)D̃^{-1/2} and the raw A of the training edges,
  // and node features. This graph has none, so every node gets a one-hot feature (sparse identity).
  const CsrMatrix<T> adj_norm = graph::gcn_normalized<T>(split.train_graph);
  const CsrMatrix<T> adj = graph::adjacency_csr<T>(split.train_graph);
  std::vector<std::tuple<std::int64_t, std::int64_t, T>> eye;
  for (std::int64_t i = 0; i < n; ++i) eye.emplace_back(i, i, T(1));
  const CsrMatrix<T> features = CsrMatrix<T>::from_triplets(n, n, eye);
  const models::MgvaeInput<T> in{&adj_norm, &adj, models::NodeFeatures<T>::of(features)};
  // The finest reconstruction target: all n² pairs, VGAE weighting (pos_weight, norm).
  const models::DenseReconTarget<T> target = models::make_dense_target<T>(n, split.train_pos);
  const models::FinestTarget<T> finest{&target, nullptr, nullptr};
  // [graph]
  std::printf("graph: %lld nodes, %lld edges (%zu train, %zu val, %zu test)\n", static_cast<long long>(n),
              static_cast<long long>(g.num_edges()), split.train_pos.size(), split.val_pos.size(), split.test_pos.size());

  // [model]
  models::MgvaeConfig cfg;
  cfg.in_features = n;         // one-hot features
  cfg.hidden = {32};           // GCN widths of every encoder
  cfg.latent = 16;             // d_z
  cfg.levels = 2;              // L: clusters per level K_s = K^(L−s) = 4, 2, 1
  cfg.clusters_per_level = 2;  // K
  cfg.clustering = models::ClusteringKind::Learned;
  CounterRng init(7);
  models::Mgvae<T> model(cfg, n, init);
  // [model]
  std::printf("model: %lld parameters, clusters per level:", static_cast<long long>(model.num_parameters()));
  for (auto k : model.sizes()) std::printf(" %lld", static_cast<long long>(k));
  std::printf("\n");

  // [train]
  nn::Adam<T> opt(model.parameters(), /*lr=*/0.01);
  model.train();                        // training mode (the default): forward(in) samples z and Π
  model.set_noise_rng(CounterRng(11));  // optional: seeds the noise that forward(in) draws
  double first = 0, last = 0;
  for (int epoch = 1; epoch <= 200; ++epoch) {
    ArenaScope step;  // every temporary of this step is freed at the end of the iteration
    opt.zero_grad();
    const models::MgvaeOutput<T> out = model.forward(in);  // = forward(in, model.draw_noise(rng))
    const models::LossTerms<T> terms = model.loss(out, in, finest);
    const Var<T> loss = terms.total();  // −ELBO + balanced cut, every term already weighted
    loss.backward();
    opt.step();
    if (epoch == 1) first = loss.item();
    last = loss.item();
    if (epoch % 50 == 0 || epoch == 1)
      std::printf("epoch %3d  loss %.4f  recon_global %.4f  kl[0] %.4f  (%zu terms)\n", epoch, loss.item(),
                  terms.value("recon_global"), terms.value("kl[0]"), terms.terms.size());
  }
  // [train]
  check(last < first, "the loss went down");  // (the hierarchy terms are noisy: Gumbel samples)

  // [eval]
  model.eval();        // evaluation mode: z = μ at every level, Π = argmax (no noise)
  NoGradGuard no_grad;  // nothing to differentiate: record no tape
  const models::MgvaeOutput<T> out = model.forward(in);
  const Var<T>& mu = out.base.mu;  // [n, d] finest latent means
  const metrics::LinkEval val = metrics::evaluate_link_prediction(mu, split.val_pos, split.val_neg);
  const metrics::LinkEval test = metrics::evaluate_link_prediction(mu, split.test_pos, split.test_neg);
  std::printf("link prediction: val AUC %.4f AP %.4f | test AUC %.4f AP %.4f\n", val.auc, val.ap, test.auc, test.ap);
  // score of one pair: σ(⟨μ_u, μ_v⟩)
  std::printf("pair (%lld, %lld): score %.4f\n", static_cast<long long>(split.test_pos[0].first),
              static_cast<long long>(split.test_pos[0].second), test.pos_scores[0]);
  // [eval]
  check(test.auc > 0.75, "test AUC above 0.75 (random scores: 0.5)");

  // eval mode is deterministic and is the same as passing empty noise
  const models::MgvaeOutput<T> again = model.forward(in);
  const models::MgvaeOutput<T> empty = model.forward(in, models::MgvaeNoise<T>{});
  check(max_abs_diff(out.base.z.value(), again.base.z.value()) == 0 &&
            max_abs_diff(out.base.z.value(), empty.base.z.value()) == 0 &&
            max_abs_diff(out.base.z.value(), mu.value()) == 0,
        "eval forward: deterministic, z = mu, = forward(in, {})");

  // [clusters]
  // The learned finest partition Π_0 (argmax in eval mode): which cluster each node went to.
  const models::Clustering<T>& c0 = out.levels.front().clustering;
  std::vector<std::int64_t> sizes(static_cast<std::size_t>(c0.k), 0);
  for (std::int64_t l : c0.labels) ++sizes[static_cast<std::size_t>(l)];
  std::printf("finest clustering: %lld clusters of sizes", static_cast<long long>(c0.k));
  for (auto s : sizes) std::printf(" %lld", static_cast<long long>(s));
  std::printf("\n");
  // [clusters]
  check(static_cast<std::int64_t>(c0.labels.size()) == n, "one cluster label per node");

  if (failures) {
    std::printf("%d check(s) FAILED\n", failures);
    return 1;
  }
  std::printf("all checks passed\n");
  return 0;
}
