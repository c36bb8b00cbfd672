#pragma once
/// Shared by the graph-generation model tests: a small test graph, its relabelling by a node
/// permutation, and the matching permutation of the first coarse level's and the finest noise.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "mgvae/autodiff/gradcheck.hpp"
#include "mgvae/models/graphgen/model.hpp"

namespace mgvae::graphgen::testing {

/// 7 nodes: a triangle and a 4-cycle joined by one edge.
inline Graph seven_node_graph() {
  Graph g;
  g.n = 7;
  g.edges = {{0, 1}, {0, 2}, {1, 2}, {2, 3}, {3, 4}, {3, 6}, {4, 5}, {5, 6}};
  return g;
}

/// A tiny model configuration (hidden 5, latent 3, 3 layers, 2 levels, seed 7) for N_max = n_max.
inline ModelConfig small_config(std::int64_t n_max) {
  ModelConfig c;
  c.n_max = n_max;
  c.hidden = 5;
  c.latent = 3;
  c.layers = 3;
  c.levels = 2;
  c.dec_hidden = 6;
  c.seed = 7;
  return c;
}

/// The full-loss gradient checks' model: N_max 4, hidden 3, latent 2, 2 layers, one coarse level
/// (K = 2) with one layer, relaxed clustering (the straight-through estimator is not the derivative
/// of its forward value), seed 3.
inline ModelConfig tiny_gradcheck_config() {
  ModelConfig c;
  c.n_max = 4;
  c.hidden = 3;
  c.latent = 2;
  c.layers = 2;
  c.levels = 1;
  c.coarse_layers = 1;
  c.dec_hidden = 3;
  c.straight_through = false;
  c.seed = 3;
  return c;
}

/// The path 0-1-2.
inline Graph three_node_path() {
  Graph g;
  g.n = 3;
  g.edges = {{0, 1}, {1, 2}};
  return g;
}

/// Finite-difference check of the loss of `model` on `three_node_path()` (padded to 4, noise
/// CounterRng(21)) in every parameter entry: the backward pass's gradient against central
/// differences (4-point stencil when o.four_point) taken by perturbing the parameter values in place
/// (restored afterwards); an entry passes when |analytic − numeric| <= o.atol + o.rtol·|numeric|.
/// `init` (optional) receives the parameter values checked at.
inline GradcheckResult full_loss_gradcheck(GraphGenModel<double>& model, const GradcheckOptions& o = {},
                                           std::vector<Tensor<double>>* init = nullptr) {
  const auto b = make_batch<double>(std::vector<Graph>{three_node_path()}, 4);
  const auto nz = model.draw_noise(CounterRng(21), 1);
  const auto params = model.named_parameters();
  if (init) {
    init->clear();
    for (const auto& [name, p] : params) init->push_back(p.value().clone());
  }
  model.zero_grad();
  backward(model.forward(b, nz).loss);
  auto loss_at = [&] {
    NoGradGuard ng;
    return model.forward(b, nz).loss.item();
  };
  GradcheckResult r;
  for (const auto& [name, p] : params) {
    Tensor<double> val = p.value();
    const Tensor<double> g = p.grad().defined() ? p.grad().contiguous() : Tensor<double>::zeros(p.shape());
    for (std::int64_t k = 0; k < val.numel(); ++k) {
      const double x0 = val.data()[k], h = o.eps;
      auto at = [&](double x) {
        val.data()[k] = x;
        const double l = loss_at();
        val.data()[k] = x0;
        return l;
      };
      const double fd = o.four_point ? (8 * (at(x0 + h) - at(x0 - h)) - (at(x0 + 2 * h) - at(x0 - 2 * h))) / (12 * h)
                                     : (at(x0 + h) - at(x0 - h)) / (2 * h);
      const double an = g.data()[k], err = std::abs(an - fd);
      r.max_abs_err = std::max(r.max_abs_err, err);
      r.max_rel_err = std::max(r.max_rel_err, err / std::max(std::abs(fd), 1e-300));
      ++r.checked;
      if (err > o.atol + o.rtol * std::abs(fd) && r.ok) {
        r.ok = false;
        r.message = name + "[" + std::to_string(k) + "]: analytic " + std::to_string(an) + ", numeric " + std::to_string(fd);
      }
    }
  }
  return r;
}

/// Node u of g becomes node sigma[u] (edges stored once, sorted).
inline Graph relabel(const Graph& g, const std::vector<int>& sigma) {
  Graph h;
  h.n = g.n;
  for (auto [u, v] : g.edges) {
    const int a = sigma[static_cast<std::size_t>(u)], b = sigma[static_cast<std::size_t>(v)];
    h.edges.emplace_back(std::min(a, b), std::max(a, b));
  }
  std::sort(h.edges.begin(), h.edges.end());
  return h;
}

/// The noise of batch row 0 with the finest ε and the first level's Gumbel noise moved with the
/// real nodes (row u → row sigma[u]); padding rows and the other levels unchanged.
inline Noise<double> permute_noise(const Noise<double>& ng, const std::vector<int>& sigma) {
  Noise<double> nh = ng;
  nh.eps_fine = ng.eps_fine.clone();
  nh.gumbel[0] = ng.gumbel[0].clone();
  for (std::size_t u = 0; u < sigma.size(); ++u) {
    for (std::int64_t k = 0; k < ng.eps_fine.size(2); ++k)
      nh.eps_fine(0, sigma[u], k) = ng.eps_fine(0, static_cast<std::int64_t>(u), k);
    for (std::int64_t k = 0; k < ng.gumbel[0].size(2); ++k)
      nh.gumbel[0](0, sigma[u], k) = ng.gumbel[0](0, static_cast<std::int64_t>(u), k);
  }
  return nh;
}

}  // namespace mgvae::graphgen::testing
