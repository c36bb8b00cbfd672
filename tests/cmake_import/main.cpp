// Consumer of an installed mgvae: only the umbrella header and the exported target mgvae::mgvae.
// Uses one piece of each part the umbrella promises: data (a generated graph), graph (operators),
// models (a small first-order Mgvae, one training-mode forward and its loss) and metrics (link
// prediction on the posterior means).
#include <mgvae/mgvae.hpp>

#include <cmath>
#include <iostream>
#include <utility>
#include <vector>

int main() {
  using namespace mgvae;
  CounterRng r(1);
  const double u = r.uniform(0);
  std::cout << "mgvae " << MGVAE_VERSION_MAJOR << '.' << MGVAE_VERSION_MINOR << '.' << MGVAE_VERSION_PATCH
            << " uniform(0) = " << u << '\n';
  if (!(u > 0.0 && u < 1.0)) return 1;

  // data: a two-community graph; graph: its operators
  CounterRng grng(2);
  data::CommunityOptions opt;
  opt.min_nodes = opt.max_nodes = 16;
  const Graph g = data::community_graph(grng, opt);
  const CsrMatrix<double> anorm = graph::gcn_normalized<double>(g), araw = graph::adjacency_csr<double>(g);
  const Tensor<double> x = Tensor<double>::ones(Shape{g.n, 1});

  // models: first-order MGVAE with K = 2, L = 2 (4, 2, 1 clusters), one forward in training mode
  models::MgvaeConfig cfg;
  cfg.in_features = 1;
  cfg.hidden = {8};
  cfg.latent = 4;
  cfg.levels = 2;
  cfg.clusters_per_level = 2;
  cfg.cluster_hidden = 8;
  CounterRng mrng(3);
  models::Mgvae<double, 1> model(cfg, g.n, mrng);
  const models::MgvaeInput<double> in{&anorm, &araw, models::NodeFeatures<double>::of(Var<double>(x))};
  const auto target = models::make_dense_target<double>(g.n, g.edges);
  const auto out = model.forward(in, model.draw_noise(CounterRng(4)));
  const double loss = model.loss(out, in, models::FinestTarget<double>{&target}).total().item();
  std::cout << "Mgvae<double, 1> on " << g.n << " nodes, " << g.num_edges() << " edges: loss " << loss << '\n';
  if (!std::isfinite(loss) || out.base.mu.value().size(0) != g.n) return 1;

  // metrics: edges against non-edges, scored on the posterior means
  std::vector<std::pair<std::int64_t, std::int64_t>> pos(g.edges.begin(), g.edges.end()), neg;
  const Csr csr = g.csr();
  for (std::int64_t a = 0; a < g.n && neg.size() < pos.size(); ++a)
    for (std::int64_t b = a + 1; b < g.n && neg.size() < pos.size(); ++b)
      if (!csr.has_edge(a, b)) neg.emplace_back(a, b);
  const metrics::LinkEval e = metrics::evaluate_link_prediction(out.base.mu, pos, neg);
  std::cout << "link prediction (untrained): AUC " << e.auc << " AP " << e.ap << '\n';
  if (!(e.auc >= 0.0 && e.auc <= 1.0 && e.ap > 0.0 && e.ap <= 1.0)) return 1;

  std::cout << "mgvae consumer OK\n";
  return 0;
}
