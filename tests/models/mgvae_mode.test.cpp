// Training vs evaluation mode of Mgvae<T, 1> and Mgvae<T, 2> (nn::Module::train()/eval()):
// forward(in) after eval() equals forward(in, MgvaeNoise<T>{}); in training mode it equals
// forward(in, draw_noise(rng.split(k))) for the k-th draw of the model's noise generator; the
// explicit-noise overloads ignore the mode; train()/eval() reach every sub-module.
#include <cstdint>
#include <vector>

#include "mgvae/graph/graph.hpp"
#include "mgvae/graph/normalize.hpp"
#include "mgvae/models/mgvae/mgvae.hpp"
#include "support/catch.hpp"

using namespace mgvae;
using namespace mgvae::models;
using TD = Tensor<double>;
using VD = Var<double>;

namespace {
const Graph& ring8() {
  static const Graph g = Graph::from_edges(8, {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}, {5, 6}, {6, 7}, {0, 7}, {0, 4}});
  return g;
}
MgvaeConfig config() {
  MgvaeConfig c;
  c.in_features = 3;
  c.hidden = {5};
  c.latent = 2;
  c.levels = 2;
  c.clusters_per_level = 2;
  c.cluster_hidden = 4;
  c.max_graph_nodes = 8;
  c.order2_layers = 1;
  return c;
}
bool all_modules(const nn::Module<double>& m, bool training) {
  if (m.is_training() != training) return false;
  for (const auto& [n, c] : m.children())
    if (!all_modules(*c, training)) return false;
  return true;
}
template <class Out>
double loss_of(const Out& o, const Mgvae<double, 1>& m, const MgvaeInput<double>& in, const FinestTarget<double>& t) {
  return m.loss(o, in, t).total().item();
}
}  // namespace

TEST_CASE("Mgvae<T, 1>: eval() forward equals forward with empty noise; train() draws the model's noise",
          "[models][mgvae][mode]") {
  const auto an = graph::gcn_normalized<double>(ring8());
  const auto ar = graph::adjacency_csr<double>(ring8());
  const auto target = make_dense_target<double>(8, ring8().edges);
  const VD x(TD::randn({8, 3}, CounterRng(1)));
  const MgvaeInput<double> in{&an, &ar, NodeFeatures<double>::of(x)};
  const FinestTarget<double> ft{&target, nullptr, nullptr};
  CounterRng init(2);
  Mgvae<double, 1> m(config(), 8, init);
  CHECK(m.is_training());  // modules start in training mode, as in PyTorch
  CHECK(all_modules(m, true));

  m.eval();
  CHECK_FALSE(m.is_training());
  CHECK(all_modules(m, false));
  const auto e1 = m.forward(in);
  const auto e2 = m.forward(in, MgvaeNoise<double>{});
  CHECK(max_abs_diff(e1.base.z.value(), e2.base.z.value()) == 0.0);
  CHECK(max_abs_diff(e1.base.z.value(), e1.base.mu.value()) == 0.0);  // z = μ
  CHECK(e1.levels.back().z.value().to_vector() == e2.levels.back().z.value().to_vector());
  CHECK(loss_of(e1, m, in, ft) == loss_of(e2, m, in, ft));
  // explicit noise is followed whatever the mode
  const auto nz = m.draw_noise(CounterRng(9));
  const auto x1 = m.forward(in, nz);
  m.train();
  CHECK(all_modules(m, true));
  const auto x2 = m.forward(in, nz);
  CHECK(loss_of(x1, m, in, ft) == loss_of(x2, m, in, ft));

  // training mode: draw k is draw_noise(g.split(k)), g the noise generator
  const CounterRng g(77);
  m.set_noise_rng(g);
  const auto t0 = m.forward(in);
  const auto t1 = m.forward(in);
  const auto r0 = m.forward(in, m.draw_noise(g.split(0)));
  const auto r1 = m.forward(in, m.draw_noise(g.split(1)));
  CHECK(max_abs_diff(t0.base.z.value(), r0.base.z.value()) == 0.0);
  CHECK(max_abs_diff(t1.base.z.value(), r1.base.z.value()) == 0.0);
  CHECK(max_abs_diff(t0.base.z.value(), t1.base.z.value()) > 0.0);  // fresh noise per call
  CHECK(max_abs_diff(t0.base.z.value(), e1.base.z.value()) > 0.0);
  CHECK(loss_of(t1, m, in, ft) == loss_of(r1, m, in, ft));
}

TEST_CASE("Mgvae<T, 2>: eval() forward equals forward with empty noise, single graph and batch", "[models][mgvae2][mode]") {
  const Graph g6 = Graph::from_edges(6, {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}, {0, 5}});
  const auto [b, A] = ragged_adjacency<double>({ring8(), g6});
  const VD X(TD::randn({b.nodes(), 3}, CounterRng(3)));
  const auto adj = graph::adjacency_csr<double>(ring8());
  const MgvaeInput<double> in{nullptr, &adj, NodeFeatures<double>::of(VD(TD::randn({8, 3}, CounterRng(4))))};
  CounterRng init(5);
  Mgvae<double, 2> m(config(), 8, init);
  m.eval();
  CHECK(all_modules(m, false));
  const auto e1 = m.forward(b, VD(A), X);
  const auto e2 = m.forward(b, VD(A), X, MgvaeNoise<double>{});
  CHECK(max_abs_diff(e1.z.value(), e2.z.value()) == 0.0);
  CHECK(max_abs_diff(e1.logits.value(), e2.logits.value()) == 0.0);
  CHECK(m.loss(e1).total().item() == m.loss(e2).total().item());
  CHECK(max_abs_diff(m.forward(in).z.value(), m.forward(in, MgvaeNoise<double>{}).z.value()) == 0.0);

  m.train();
  CHECK(all_modules(m, true));
  const CounterRng g(11);
  m.set_noise_rng(g);
  const auto t0 = m.forward(b, VD(A), X);
  const auto t1 = m.forward(in);
  const auto r0 = m.forward(b, VD(A), X, m.draw_noise(b, g.split(0)));
  const auto r1 = m.forward(in, m.draw_noise(g.split(1)));
  CHECK(max_abs_diff(t0.z.value(), r0.z.value()) == 0.0);
  CHECK(max_abs_diff(t1.z.value(), r1.z.value()) == 0.0);
  CHECK(max_abs_diff(t0.z.value(), e1.z.value()) > 0.0);
}
