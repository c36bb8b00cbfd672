// Tutorial (docs/tutorial-mgvae.md, part 2): a second-order equivariant layer (paper §3.2, Eq. 3;
// models/mgn/second_order.hpp) on a ragged batch of small graphs, and a check of its permutation
// equivariance: relabelling the nodes of every graph permutes the output pairs the same way.
//
// Prints what it checks and exits with status 1 if a check fails (equivariance error > 1e-9 in
// double, a failed gradcheck). Runs in well under a second.
#include <mgvae/mgvae.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <vector>

using namespace mgvae;
using T = double;

namespace {
int failures = 0;
void check(bool ok, const char* what) {
  std::printf("check: %-58s %s\n", what, ok ? "ok" : "FAILED");
  if (!ok) ++failures;
}

/// Node features of a batch: [degree, 1] per node, graph after graph.
Tensor<T> degree_features(const std::vector<Graph>& graphs) {
  std::int64_t total = 0;
  for (const Graph& g : graphs) total += g.n;
  Tensor<T> x = Tensor<T>::zeros({total, 2});
  std::int64_t off = 0;
  for (const Graph& g : graphs) {
    for (const auto& [u, v] : g.edges) {
      x(off + u, 0) += 1;
      x(off + v, 0) += 1;
    }
    for (std::int64_t i = 0; i < g.n; ++i) x(off + i, 1) = 1;
    off += g.n;
  }
  return x;
}
}  // namespace

int main() {
  // [batch]
  // A batch of graphs of different sizes. Second-order tensors hold one row per ordered node pair
  // (i, j) of each graph: P = Σ_g n_g² rows, graph after graph, row i·n_g + j inside graph g.
  const std::vector<Graph> graphs = {
      Graph::from_edges(5, {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 0}}),          // 5-cycle
      Graph::from_edges(6, {{0, 1}, {0, 2}, {0, 3}, {0, 4}, {0, 5}}),          // star
      Graph::from_edges(4, {{0, 1}, {1, 2}, {2, 0}, {2, 3}}),                  // triangle with a tail
  };
  const auto [batch, A] = models::ragged_adjacency<T>(graphs);  // RaggedBatch, A [P, 1] (0/1)
  const Tensor<T> X = degree_features(graphs);                   // [N, 2]
  // [batch]
  std::printf("batch: %lld graphs, %lld nodes, %lld pairs\n", static_cast<long long>(batch.graphs()),
              static_cast<long long>(batch.nodes()), static_cast<long long>(batch.pairs()));

  // [layer]
  // Lift the node features to pairs with the 1→2 equivariant basis ([N, F] → [P, 5F]), then one
  // second-order layer: H' = tanh(W · [A ⊗ H contractions ‖ 2→2 basis of H] + b).
  CounterRng init(3);
  models::SecondOrderLayer<T> layer(/*edge_channels=*/1, /*in=*/5 * 2, /*out=*/8, init, nn::Activation::Tanh);
  auto forward = [&](const Tensor<T>& adj, const Tensor<T>& x) {
    const Var<T> h0 = equivariant_1to2(batch, Var<T>(x), /*normalize=*/true);  // [P, 10]
    return layer.forward(batch, Var<T>(adj), h0);                              // [P, 8]
  };
  const Var<T> H = forward(A, X);
  // [layer]
  std::printf("layer output: shape %s\n", shape_str(H.shape()).c_str());

  // [equivariance]
  // Relabel the nodes of every graph with a random permutation σ_g (node i becomes σ_g(i)).
  std::vector<Graph> permuted;
  std::vector<std::vector<std::int64_t>> perms;
  Tensor<T> Xp(X.shape());
  for (std::int64_t g = 0; g < batch.graphs(); ++g) {
    const Graph& gr = graphs[static_cast<std::size_t>(g)];
    perms.push_back(graph::random_permutation(gr.n, /*seed=*/100 + static_cast<std::uint64_t>(g)));
    permuted.push_back(gr.permuted(perms.back()));
    const std::int64_t lo = batch.node_off[static_cast<std::size_t>(g)], hi = lo + gr.n;
    Xp.slice(0, lo, hi).copy_from(graph::permute_rows(X.slice(0, lo, hi), perms.back()));
  }
  const Tensor<T> Ap = models::ragged_adjacency<T>(permuted).second;
  const Var<T> Hp = forward(Ap, Xp);
  // Equivariance: H'(σ·G)[σ(i), σ(j)] = H(G)[i, j] for every graph of the batch.
  double err = 0;
  for (std::int64_t g = 0; g < batch.graphs(); ++g) {
    const std::int64_t lo = batch.pair_off[static_cast<std::size_t>(g)], hi = batch.pair_off[static_cast<std::size_t>(g) + 1];
    const Tensor<T> expected = graph::permute_pair_rows(H.value().slice(0, lo, hi), perms[static_cast<std::size_t>(g)]);
    err = std::max(err, max_abs_diff(expected, Hp.value().slice(0, lo, hi)));
  }
  std::printf("equivariance: max |H(σ·G) − σ·H(G)| = %.3e\n", err);
  // [equivariance]
  check(err <= 1e-9, "second-order layer is permutation equivariant");

  // [invariant]
  // Summing over the pairs of each graph gives a graph-level vector that does not depend on the
  // node order (an invariant readout), e.g. for graph classification or regression.
  auto graph_sums = [&](const Var<T>& h) {
    std::vector<Var<T>> rows;
    for (std::int64_t g = 0; g < batch.graphs(); ++g)
      rows.push_back(sum(slice(h, 0, batch.pair_off[static_cast<std::size_t>(g)], batch.pair_off[static_cast<std::size_t>(g) + 1]),
                         {0}, /*keepdim=*/true));
    return concat<T>(rows, 0);  // [B, 8]
  };
  const Var<T> y = graph_sums(H), yp = graph_sums(Hp);
  std::cout << "graph-level readout:\n" << y << "\n";
  // [invariant]
  const double inv_err = max_abs_diff(y.value(), yp.value());
  std::printf("invariance: max |readout(σ·G) − readout(G)| = %.3e\n", inv_err);
  check(inv_err <= 1e-9, "pair-sum readout is permutation invariant");

  // [gradients]
  // Gradients flow through the layer like through any op: loss.backward() fills the weights' .grad().
  const Var<T> loss = sum(mul(y, y));
  loss.backward();
  const Var<T> w = layer.parameter("mix.weight");
  std::printf("loss %.4f, |dloss/dW| has %lld entries\n", loss.item(), static_cast<long long>(w.grad().numel()));
  // and a finite-difference check of the layer's gradient with respect to its pair input
  const GradcheckResult gc = gradcheck(
      [&](const std::vector<Var<T>>& v) { return layer.forward(batch, Var<T>(A), v[0]); },
      {equivariant_1to2(batch, Var<T>(X), true).value()});
  std::printf("gradcheck: max abs error %.2e over %lld compared gradient entries\n", gc.max_abs_err, static_cast<long long>(gc.checked));
  // [gradients]
  check(w.grad().defined() && w.grad().numel() == w.numel(), "backward fills the layer's weight gradient");
  check(gc.ok, "gradcheck of the second-order layer");

  if (failures) {
    std::printf("%d check(s) FAILED\n", failures);
    return 1;
  }
  std::printf("all checks passed\n");
  return 0;
}
