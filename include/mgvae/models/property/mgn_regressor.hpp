#pragma once
/// @file mgn_regressor.hpp
/// Supervised Multiresolution Graph Network for graph-level regression (paper App. D.4, Table 3
/// bottom: ZINC-12k constrained solubility).
///
/// The model, for a block-diagonal batch of B graphs (N nodes in all):
///
///   finest level (resolution 0, the input graph):
///     h_0 = X W_emb + b  (+ P W_P + b_P)             X: one-hot atom type [N, V] (sparse); P: optional
///                                                    dense node features [N, F] (e.g. random-walk
///                                                    landing probabilities, `random_walk_encoding`)
///     h_t = h_{t-1} + ReLU([h, A_1 h, …, A_R h] W_t + b_t)     t = 1..T   (bond-aware, default)
///        or h_{t-1} + ReLU(Â h W_t)                              (plain GCN, `bond_types = false`)
///     Z_0 = tanh([h_0, …, h_T] W_z + b_z)            jumping-knowledge latent [N, d]
///   A_r = D̃⁻¹ A^(r): the adjacency of bond type r (single/double/triple, kekulized) divided row-wise
///   by (degree + 1), the supervised reference's D⁻¹A normalisation (REFERENCE-NOTES §3.1);
///   Â = D̃^{-1/2}(A + I)D̃^{-1/2}.
///
///   coarse levels s = 1 … L−1 with K_s = K^{L−s} clusters per graph (L = 3, K = 2: 4 then 2), each one
///   MGN level `MgnLevel<T, 1, GcnDeterministicEncoder<T>>` (models/mgn/level.hpp) on the batch:
///     Π_s   = c_s(Â_{s−1}, Z_{s−1})       learned clustering (LearnedClustering, Gumbel straight-through
///                                        in training, argmax in evaluation; Eq. 4), per node over the
///                                        K_s clusters *of its own graph*
///     A_s   = Π_sᵀ A_{s−1} Π_s           coarsen (block diagonal: one K_s × K_s block per graph)
///     X_s   = pool(Π_s, Z_{s−1})          sum over the cluster, smoothed L2 normalisation
///     Z_s   = GCN layers (tanh) on gcn_normalize_dense(A_s)
///
///   readout (App. D.4): the node latents of every level are averaged per graph (or summed,
///   `Readout::Sum`), the L vectors are concatenated ([B, d·L]) and a linear layer gives the
///   prediction [B].
///
/// Invariance (Props. 1–2): every map is equivariant in the node index of the level graph
/// (message passing, row-wise clustering with per-node noise) or invariant (coarsening, pooling,
/// per-graph mean/sum), so the prediction is invariant to a permutation of each graph's nodes
/// (tests/models/property/mgn_regressor.test.cpp checks it in double to 1e-9).
///
/// Everything here is RDKit-free; `PropertyGraph` is filled from a `data::MolGraph` by the caller.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "mgvae/autodiff/var.hpp"
#include "mgvae/core/error.hpp"
#include "mgvae/core/rng.hpp"
#include "mgvae/models/mgn/clustering.hpp"
#include "mgvae/models/mgn/coarsen.hpp"
#include "mgvae/models/mgn/gcn.hpp"
#include "mgvae/models/mgn/level.hpp"
#include "mgvae/models/mgn/pooling.hpp"
#include "mgvae/nn/init.hpp"
#include "mgvae/nn/linear.hpp"
#include "mgvae/nn/module.hpp"
#include "mgvae/ops/elementwise.hpp"
#include "mgvae/ops/indexing.hpp"
#include "mgvae/ops/matmul.hpp"
#include "mgvae/ops/shape.hpp"
#include "mgvae/ops/spmm.hpp"
#include "mgvae/tensor/csr.hpp"

namespace mgvae::models::property {

/// A labelled graph: node types (e.g. atom types), typed undirected edges (e.g. bond orders) and
/// optional dense node features (F = `feature_dim` per node, row-major; F = 0: none).
struct PropertyGraph {
  std::int64_t n = 0;                                               ///< nodes
  std::vector<std::int64_t> node_type;                              ///< [n], in [0, num_node_types)
  std::vector<std::tuple<std::int64_t, std::int64_t, int>> edges;   ///< (u, v, type), u != v, type in [0, num_edge_types)
  std::int64_t feature_dim = 0;                                     ///< F: dense features per node (0 = none)
  std::vector<double> features;                                     ///< [n × F] row-major, finite
};

/// Random-walk structural encoding (RWSE; Dwivedi et al. 2022, "Graph neural networks with learnable
/// structural and positional representations"): for every node i the landing probabilities
/// [(D⁻¹A)^k]_ii of a k-step simple random walk started at i, k = 1..steps, from the 0/1 adjacency of
/// `g.edges` (bond types ignored, repeated edges counted once). A node without edges gets zeros.
/// Returned row-major [n × steps], ready for `PropertyGraph::features`. The map is permutation
/// equivariant (relabelling the nodes permutes the rows). It tells a message-passing network what
/// 1-WL cannot, e.g. the ring sizes a node sits in ([M^6]_ii > 0 on a six-ring's walk-arounds).
/// Not in the MGVAE paper (an optional input of the ZINC trainer, `--rwse`).
/// @throw std::invalid_argument for steps < 1, n < 0 or an edge endpoint outside [0, n).
inline std::vector<double> random_walk_encoding(const PropertyGraph& g, int steps) {
  const char* fn = "random_walk_encoding";
  if (steps < 1) throw_invalid(fn, "steps must be >= 1, got " + std::to_string(steps));
  if (g.n < 0) throw_invalid(fn, "negative node count " + std::to_string(g.n));
  const auto n = static_cast<std::size_t>(g.n);
  std::vector<double> m(n * n, 0.0), p, q(n * n), out(n * static_cast<std::size_t>(steps), 0.0);
  for (const auto& [u, v, t] : g.edges) {
    if (u < 0 || u >= g.n || v < 0 || v >= g.n)
      throw_invalid(fn, "edge (" + std::to_string(u) + ", " + std::to_string(v) + ") has an endpoint outside [0, " +
                            std::to_string(g.n) + ")");
    if (u == v) continue;
    m[static_cast<std::size_t>(u) * n + static_cast<std::size_t>(v)] = 1.0;
    m[static_cast<std::size_t>(v) * n + static_cast<std::size_t>(u)] = 1.0;
  }
  for (std::size_t i = 0; i < n; ++i) {
    double deg = 0;
    for (std::size_t j = 0; j < n; ++j) deg += m[i * n + j];
    if (deg > 0)
      for (std::size_t j = 0; j < n; ++j) m[i * n + j] /= deg;
  }
  p = m;  // p = M^k
  for (int k = 0; k < steps; ++k) {
    for (std::size_t i = 0; i < n; ++i) out[i * static_cast<std::size_t>(steps) + static_cast<std::size_t>(k)] = p[i * n + i];
    if (k + 1 == steps) break;
    std::fill(q.begin(), q.end(), 0.0);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t l = 0; l < n; ++l) {
        const double a = p[i * n + l];
        if (a == 0) continue;
        for (std::size_t j = 0; j < n; ++j) q[i * n + j] += a * m[l * n + j];
      }
    std::swap(p, q);
  }
  return out;
}

/// Per-graph aggregation of the node latents of a level.
enum class Readout { Mean, Sum };

inline const char* readout_name(Readout r) { return r == Readout::Mean ? "mean" : "sum"; }

/// Checks a graph against the vocabulary sizes.
/// @throw std::invalid_argument naming the graph (`what`) and the problem: an empty graph, a
///        node type or edge type out of range, an edge endpoint out of range, or a self loop.
inline void validate_graph(const PropertyGraph& g, std::int64_t num_node_types, std::int64_t num_edge_types,
                           const std::string& what = "graph") {
  const char* fn = "mgvae::models::property";
  if (g.n <= 0) throw_invalid(fn, what + " is empty (" + std::to_string(g.n) + " nodes); a graph needs at least one node");
  if (static_cast<std::int64_t>(g.node_type.size()) != g.n)
    throw_invalid(fn, what + " has " + std::to_string(g.n) + " nodes but " + std::to_string(g.node_type.size()) +
                          " node types");
  for (std::int64_t i = 0; i < g.n; ++i) {
    const auto t = g.node_type[static_cast<std::size_t>(i)];
    if (t < 0 || t >= num_node_types)
      throw_invalid(fn, what + ": node " + std::to_string(i) + " has type " + std::to_string(t) + " outside [0, " +
                            std::to_string(num_node_types) + ")");
  }
  for (std::size_t e = 0; e < g.edges.size(); ++e) {
    const auto& [u, v, t] = g.edges[e];
    if (u < 0 || u >= g.n || v < 0 || v >= g.n)
      throw_invalid(fn, what + ": edge " + std::to_string(e) + " (" + std::to_string(u) + ", " + std::to_string(v) +
                            ") has an endpoint outside [0, " + std::to_string(g.n) + ")");
    if (u == v) throw_invalid(fn, what + ": edge " + std::to_string(e) + " is a self loop on node " + std::to_string(u));
    if (t < 0 || t >= num_edge_types)
      throw_invalid(fn, what + ": edge " + std::to_string(e) + " has type " + std::to_string(t) + " outside [0, " +
                            std::to_string(num_edge_types) + ")");
  }
  if (g.feature_dim < 0) throw_invalid(fn, what + ": negative feature_dim " + std::to_string(g.feature_dim));
  if (static_cast<std::int64_t>(g.features.size()) != g.n * g.feature_dim)
    throw_invalid(fn, what + " has " + std::to_string(g.features.size()) + " feature values, expected n × F = " +
                          std::to_string(g.n) + " × " + std::to_string(g.feature_dim));
  for (std::size_t k = 0; k < g.features.size(); ++k)
    if (!std::isfinite(g.features[k]))
      throw_invalid(fn, what + ": feature " + std::to_string(k % static_cast<std::size_t>(g.feature_dim)) + " of node " +
                            std::to_string(k / static_cast<std::size_t>(g.feature_dim)) + " is not finite");
}

/// A block-diagonal batch of graphs: all operators are constant CSR matrices.
template <class T>
struct GraphBatch {
  std::int64_t num_graphs = 0, num_nodes = 0;
  std::vector<std::int64_t> offset;          ///< [B + 1] first node of each graph
  std::vector<std::int64_t> graph_of_node;   ///< [N]
  CsrMatrix<T> x;                            ///< [N, V] one-hot node types
  std::int64_t feature_dim = 0;              ///< F of the dense node features (0 = none)
  Tensor<T> features;                        ///< [N, F] dense node features (defined only when F > 0)
  CsrMatrix<T> adjacency;                    ///< [N, N] 0/1, symmetric (operand of the first coarsening)
  CsrMatrix<T> gcn;                          ///< [N, N] D̃^{-1/2}(A + I)D̃^{-1/2}
  std::vector<CsrMatrix<T>> relation;        ///< R × [N, N] A^(r) / (deg + 1)
  CsrMatrix<T> readout;                      ///< [B, N] 1/n_g (mean) or 1 (sum)
  Readout readout_kind = Readout::Mean;
};

/// Builds the batch of `graphs` (each validated first).
/// @throw std::invalid_argument for an empty list, an invalid graph (see validate_graph) or graphs with
///        different feature_dim.
template <class T>
GraphBatch<T> make_batch(const std::vector<const PropertyGraph*>& graphs, std::int64_t num_node_types,
                         std::int64_t num_edge_types, Readout readout = Readout::Mean) {
  if (graphs.empty()) throw_invalid("mgvae::models::property::make_batch", "empty batch (no graphs)");
  GraphBatch<T> b;
  b.num_graphs = static_cast<std::int64_t>(graphs.size());
  b.readout_kind = readout;
  b.offset.push_back(0);
  for (std::size_t g = 0; g < graphs.size(); ++g) {
    if (!graphs[g]) throw_invalid("mgvae::models::property::make_batch", "graph " + std::to_string(g) + " is null");
    validate_graph(*graphs[g], num_node_types, num_edge_types, "graph " + std::to_string(g) + " of the batch");
    if (graphs[g]->feature_dim != graphs[0]->feature_dim)
      throw_invalid("mgvae::models::property::make_batch", "graph " + std::to_string(g) + " has " +
                                                              std::to_string(graphs[g]->feature_dim) + " features per node, graph 0 has " +
                                                              std::to_string(graphs[0]->feature_dim));
    b.offset.push_back(b.offset.back() + graphs[g]->n);
  }
  const std::int64_t N = b.offset.back();
  b.num_nodes = N;
  b.feature_dim = graphs[0]->feature_dim;
  if (b.feature_dim > 0) {
    b.features = Tensor<T>(Shape{N, b.feature_dim});
    T* f = b.features.data();
    for (const auto* G : graphs)
      for (double v : G->features) *f++ = static_cast<T>(v);
  }
  b.graph_of_node.resize(static_cast<std::size_t>(N));
  std::vector<std::tuple<std::int64_t, std::int64_t, T>> xt, at;
  std::vector<std::vector<std::tuple<std::int64_t, std::int64_t, T>>> rel(static_cast<std::size_t>(num_edge_types));
  std::vector<T> deg(static_cast<std::size_t>(N), T(0));
  std::vector<std::tuple<std::int64_t, std::int64_t, T>> rd;
  for (std::size_t g = 0; g < graphs.size(); ++g) {
    const auto& G = *graphs[g];
    const std::int64_t o = b.offset[g];
    for (std::int64_t i = 0; i < G.n; ++i) {
      b.graph_of_node[static_cast<std::size_t>(o + i)] = static_cast<std::int64_t>(g);
      xt.emplace_back(o + i, G.node_type[static_cast<std::size_t>(i)], T(1));
      rd.emplace_back(static_cast<std::int64_t>(g), o + i, readout == Readout::Mean ? T(1) / static_cast<T>(G.n) : T(1));
    }
    for (const auto& [u, v, t] : G.edges) {
      at.emplace_back(o + u, o + v, T(1));
      at.emplace_back(o + v, o + u, T(1));
    }
  }
  b.x = CsrMatrix<T>::from_triplets(N, num_node_types, xt);
  b.adjacency = CsrMatrix<T>::from_triplets(N, N, at);
  // Duplicate edges are summed by from_triplets; clamp to 0/1 so that a repeated bond counts once.
  for (auto& v : b.adjacency.val) v = T(1);
  for (std::int64_t r = 0; r < N; ++r)
    deg[static_cast<std::size_t>(r)] =
        static_cast<T>(b.adjacency.row_ptr[static_cast<std::size_t>(r + 1)] - b.adjacency.row_ptr[static_cast<std::size_t>(r)]);
  // Â = D̃^{-1/2}(A + I)D̃^{-1/2}
  std::vector<std::tuple<std::int64_t, std::int64_t, T>> gt;
  for (std::int64_t r = 0; r < N; ++r) {
    const T dr = deg[static_cast<std::size_t>(r)] + T(1);
    gt.emplace_back(r, r, T(1) / dr);
    for (std::int64_t k = b.adjacency.row_ptr[static_cast<std::size_t>(r)]; k < b.adjacency.row_ptr[static_cast<std::size_t>(r + 1)]; ++k) {
      const std::int64_t c = b.adjacency.col[static_cast<std::size_t>(k)];
      gt.emplace_back(r, c, T(1) / std::sqrt(dr * (deg[static_cast<std::size_t>(c)] + T(1))));
    }
  }
  b.gcn = CsrMatrix<T>::from_triplets(N, N, gt);
  // A^(r) / (deg + 1)
  for (std::size_t g = 0; g < graphs.size(); ++g) {
    const auto& G = *graphs[g];
    const std::int64_t o = b.offset[g];
    for (const auto& [u, v, t] : G.edges) {
      const auto U = o + u, V = o + v;
      rel[static_cast<std::size_t>(t)].emplace_back(U, V, T(1) / (deg[static_cast<std::size_t>(U)] + T(1)));
      rel[static_cast<std::size_t>(t)].emplace_back(V, U, T(1) / (deg[static_cast<std::size_t>(V)] + T(1)));
    }
  }
  for (auto& r : rel) b.relation.push_back(CsrMatrix<T>::from_triplets(N, N, r));
  b.readout = CsrMatrix<T>::from_triplets(b.num_graphs, N, rd);
  return b;
}

/// Column concatenation of 2-D tensors with equal row counts: [n, d_0] ⊕ … → [n, Σ d_i]; a 2-D
/// checked spelling of `concat(xs, 1)` (ops/shape.hpp), which copies whole row blocks.
/// @throw std::invalid_argument on an empty list, a non-2-D input or a row-count mismatch.
template <class T>
Var<T> concat_cols(const std::vector<Var<T>>& xs) {
  if (xs.empty()) throw_invalid("concat_cols", "empty list of inputs");
  const std::int64_t n = xs[0].dim() == 2 ? xs[0].size(0) : -1;
  for (std::size_t i = 0; i < xs.size(); ++i)
    if (xs[i].dim() != 2 || xs[i].size(0) != n)
      throw_invalid("concat_cols", "input " + std::to_string(i) + " has shape " + shape_str(xs[i].shape()) +
                                       ", expected [" + std::to_string(n) + ", *] like input 0");
  return concat(xs, 1);
}

/// Readout matrix [B, B·K] of a coarse level (K clusters per graph, graph-major order).
template <class T>
CsrMatrix<T> coarse_readout(std::int64_t num_graphs, std::int64_t k, Readout readout) {
  std::vector<std::tuple<std::int64_t, std::int64_t, T>> t;
  for (std::int64_t g = 0; g < num_graphs; ++g)
    for (std::int64_t j = 0; j < k; ++j) t.emplace_back(g, g * k + j, readout == Readout::Mean ? T(1) / static_cast<T>(k) : T(1));
  return CsrMatrix<T>::from_triplets(num_graphs, num_graphs * k, t);
}

/// The readout/head path: per level ℓ, r_ℓ = R_ℓ Z_ℓ ([B, d_ℓ]); y = [r_0, …, r_{L−1}] W + b → [B].
/// @throw std::invalid_argument if the lists differ in length or a shape does not fit.
template <class T>
Var<T> readout_head(const std::vector<Var<T>>& latents, const std::vector<const CsrMatrix<T>*>& readouts, const Var<T>& w,
                    const Var<T>& b) {
  if (latents.empty() || latents.size() != readouts.size())
    throw_invalid("readout_head", std::to_string(latents.size()) + " level latents but " + std::to_string(readouts.size()) +
                                      " readout matrices");
  std::vector<Var<T>> parts;
  for (std::size_t l = 0; l < latents.size(); ++l) parts.push_back(spmm(*readouts[l], latents[l]));
  const Var<T> h = parts.size() == 1 ? parts[0] : concat_cols(parts);  // [B, Σ d_ℓ]
  const Var<T> y = nn::linear(h, w, b);                               // [B, 1]
  return reshape(y, Shape{y.size(0)});
}

struct MgnRegressorConfig {
  std::int64_t num_node_types = 17;   ///< AtomVocab::zinc()
  std::int64_t num_edge_types = 3;    ///< single, double, triple (kekulized)
  std::int64_t hidden = 128;          ///< d: width of every layer and of each level latent
  int layers = 4;                     ///< message-passing layers at the finest level
  int coarse_layers = 2;              ///< GCN layers of each coarse level's encoder
  int levels = 3;                     ///< resolution levels L, the finest included
  std::int64_t clusters = 2;          ///< K: coarse level s has K^(L−s) clusters per graph
  std::int64_t cluster_hidden = 32;   ///< hidden width of the clustering GNN
  bool use_edge_types = true;         ///< bond-aware finest layers (false: plain GCN on Â)
  std::int64_t node_feature_dim = 0;  ///< F of the dense node features (PropertyGraph::features); 0 = none
  Readout readout = Readout::Mean;
  double tau = 1.0;                   ///< Gumbel-softmax temperature
  std::uint64_t seed = 0;

  /// Clusters per graph of the coarse levels, finest first (K^(L−1), …, K).
  std::vector<std::int64_t> cluster_counts() const {
    std::vector<std::int64_t> c;
    for (int s = 1; s < levels; ++s) {
      std::int64_t k = 1;
      for (int e = 0; e < levels - s; ++e) k *= clusters;
      c.push_back(k);
    }
    return c;
  }
};

/// Forward output: predictions and everything a test or a log may want to look at.
template <class T>
struct MgnRegressorOutput {
  Var<T> prediction;                          ///< [B]
  std::vector<Var<T>> latents;                ///< Z_ℓ per level: [N, d], then [B·K_s, d]
  std::vector<Var<T>> coarse_adjacency;       ///< A_s = Πᵀ A Π per coarse level [B·K_s, B·K_s]
  std::vector<std::vector<std::int64_t>> labels;  ///< per coarse level: cluster (within its graph) of each node of the level below
};

template <class T>
class MgnRegressor : public nn::Module<T> {
 public:
  /// A coarse level: learned clustering, coarsening, pooling and a tanh GCN stack (no sampling).
  using Level = MgnLevel<T, 1, GcnDeterministicEncoder<T>>;

  /// @throw std::invalid_argument for non-positive sizes, levels < 1 or K < 1.
  explicit MgnRegressor(const MgnRegressorConfig& cfg) : cfg_(cfg) {
    const char* fn = "MgnRegressor";
    if (cfg.hidden < 1 || cfg.num_node_types < 1 || cfg.num_edge_types < 1 || cfg.cluster_hidden < 1)
      throw_invalid(fn, "sizes must be >= 1");
    if (cfg.node_feature_dim < 0) throw_invalid(fn, "node_feature_dim must be >= 0, got " + std::to_string(cfg.node_feature_dim));
    if (cfg.layers < 0 || cfg.coarse_layers < 1) throw_invalid(fn, "layers must be >= 0 and coarse_layers >= 1");
    if (cfg.levels < 1) throw_invalid(fn, "levels must be >= 1, got " + std::to_string(cfg.levels));
    if (cfg.clusters < 1) throw_invalid(fn, "clusters per level K must be >= 1, got " + std::to_string(cfg.clusters));
    if (!(cfg.tau > 0)) throw_invalid(fn, "temperature must be > 0");
    CounterRng rng(cfg.seed, 0x3A1C);
    const std::int64_t d = cfg.hidden;
    emb_ = this->register_module("embed", std::make_shared<nn::Linear<T>>(cfg.num_node_types, d, rng));
    const std::int64_t fan = cfg.use_edge_types ? (1 + cfg.num_edge_types) * d : d;
    for (int t = 0; t < cfg.layers; ++t) {
      if (cfg.use_edge_types)
        conv_.push_back(this->register_module("conv" + std::to_string(t), std::make_shared<nn::Linear<T>>(fan, d, rng)));
      else
        gcn_.push_back(this->register_module("gcn" + std::to_string(t), std::make_shared<GcnLayer<T>>(d, d, rng, Activation::Relu)));
    }
    latent_ = this->register_module("latent", std::make_shared<nn::Linear<T>>((cfg.layers + 1) * d, d, rng));
    const auto ks = cfg.cluster_counts();
    const MgvaeConfig lc = level_config(cfg);
    const std::vector<std::int64_t> widths(static_cast<std::size_t>(cfg.coarse_layers), d);
    for (std::size_t s = 0; s < ks.size(); ++s)
      levels_.push_back(this->register_module(
          "level" + std::to_string(s + 1),
          std::make_shared<Level>(lc, ks[s], false, rng, [d, &widths](CounterRng& r) {
            return std::make_shared<GcnDeterministicEncoder<T>>(d, widths, Activation::Tanh, r);
          })));
    head_ = this->register_module("head", std::make_shared<nn::Linear<T>>(d * cfg.levels, 1, rng));
    // Registered last, so that without features every other parameter is initialised as before.
    if (cfg.node_feature_dim > 0)
      feat_ = this->register_module("embed_features", std::make_shared<nn::Linear<T>>(cfg.node_feature_dim, d, rng));
  }

  const MgnRegressorConfig& config() const { return cfg_; }
  /// The coarse level s = 1 … L−1 (index s − 1).
  const Level& level(std::size_t i) const { return *levels_.at(i); }
  nn::Linear<T>& head() { return *head_; }

  /// Gumbel noise for a training step: one [nodes of level s−1, K_s] tensor per coarse level,
  /// indexed by (node, cluster) so that it can be permuted with the nodes.
  std::vector<Tensor<T>> draw_noise(const GraphBatch<T>& b, const CounterRng& rng) const {
    std::vector<Tensor<T>> out;
    const auto ks = cfg_.cluster_counts();
    std::int64_t rows = b.num_nodes;
    for (std::size_t s = 0; s < ks.size(); ++s) {
      out.push_back(gumbel_noise<T>(rows, ks[s], rng.split(s)));
      rows = b.num_graphs * ks[s];
    }
    return out;
  }

  /// Forward pass. `noise` empty = evaluation (Eq. 4 argmax clusterings); otherwise one Gumbel
  /// tensor per coarse level (draw_noise), straight-through gradients to the clustering GNNs.
  /// @throw std::invalid_argument if the batch does not fit the model or the noise the batch.
  MgnRegressorOutput<T> forward(const GraphBatch<T>& b, const std::vector<Tensor<T>>& noise = {}) const {
    const char* fn = "MgnRegressor::forward";
    if (b.x.cols != cfg_.num_node_types)
      throw_invalid(fn, "batch has " + std::to_string(b.x.cols) + " node types, model expects " + std::to_string(cfg_.num_node_types));
    if (cfg_.use_edge_types && static_cast<std::int64_t>(b.relation.size()) != cfg_.num_edge_types)
      throw_invalid(fn, "batch has " + std::to_string(b.relation.size()) + " edge types, model expects " +
                            std::to_string(cfg_.num_edge_types));
    if (b.feature_dim != cfg_.node_feature_dim)
      throw_invalid(fn, "batch has " + std::to_string(b.feature_dim) + " dense node features, model expects " +
                            std::to_string(cfg_.node_feature_dim));
    if (b.readout_kind != cfg_.readout)
      throw_invalid(fn, std::string("batch built with ") + readout_name(b.readout_kind) + " readout, model uses " +
                            readout_name(cfg_.readout));
    const auto ks = cfg_.cluster_counts();
    if (!noise.empty() && noise.size() != ks.size())
      throw_invalid(fn, std::to_string(noise.size()) + " noise tensors for " + std::to_string(ks.size()) + " coarse levels");
    MgnRegressorOutput<T> out;
    const std::int64_t B = b.num_graphs;

    // ---- finest level ----------------------------------------------------------------------
    Var<T> h = add(spmm(b.x, emb_->weight()), emb_->bias());  // X W + b (sparse one-hot X)
    if (feat_) h = add(h, feat_->forward(constant(b.features)));  // + P W_P + b_P
    std::vector<Var<T>> hs{h};
    const Adjacency<T> a0 = Adjacency<T>::of(b.gcn);
    for (int t = 0; t < cfg_.layers; ++t) {
      Var<T> m;
      if (cfg_.use_edge_types) {
        std::vector<Var<T>> parts{h};
        for (const auto& r : b.relation) parts.push_back(spmm(r, h));
        m = relu(conv_[static_cast<std::size_t>(t)]->forward(concat_cols(parts)));
      } else {
        m = gcn_[static_cast<std::size_t>(t)]->forward(a0, h);
      }
      h = add(h, m);
      hs.push_back(h);
    }
    Var<T> z = tanh(latent_->forward(hs.size() == 1 ? hs[0] : concat_cols(hs)));
    out.latents.push_back(z);
    std::vector<const CsrMatrix<T>*> readouts{&b.readout};
    std::vector<CsrMatrix<T>> coarse_ro;
    coarse_ro.reserve(ks.size());

    // ---- coarse levels: one MGN level each (models/mgn/level.hpp) --------------------------------
    std::vector<std::int64_t> sizes;
    for (std::int64_t g = 0; g < B; ++g) sizes.push_back(b.offset[static_cast<std::size_t>(g + 1)] - b.offset[static_cast<std::size_t>(g)]);
    LevelGraph<T> lg{RaggedBatch::from_sizes(sizes), a0, Adjacency<T>::of(b.adjacency), {}};
    for (std::size_t s = 0; s < ks.size(); ++s) {
      const std::int64_t K = ks[s];
      if (!noise.empty())
        check_same_shape(fn, "noise", noise[s].shape(), "clustering logits", Shape{lg.batch.nodes(), K});
      LevelOutput<T, 1> lv = levels_[s]->forward(lg, z, noise.empty() ? Tensor<T>() : noise[s], Tensor<T>());
      out.coarse_adjacency.push_back(lv.coarse_adj);
      out.labels.push_back(lv.clustering.labels);
      out.latents.push_back(lv.z);
      coarse_ro.push_back(coarse_readout<T>(B, K, cfg_.readout));
      readouts.push_back(&coarse_ro.back());
      lg = Level::next_graph(lv, lg);
      z = lv.z;
    }
    out.prediction = readout_head(out.latents, readouts, head_->weight(), head_->bias());
    return out;
  }

 private:
  /// The options of the coarse MGN levels (clustering GNN width, τ; pooling SumL2, straight-through Π).
  static MgvaeConfig level_config(const MgnRegressorConfig& c) {
    MgvaeConfig lc;
    lc.in_features = c.hidden;
    lc.latent = c.hidden;
    lc.cluster_hidden = c.cluster_hidden;
    lc.clustering = ClusteringKind::Learned;
    lc.tau = c.tau;
    return lc;
  }

  MgnRegressorConfig cfg_;
  std::shared_ptr<nn::Linear<T>> emb_, latent_, head_, feat_;
  std::vector<std::shared_ptr<nn::Linear<T>>> conv_;
  std::vector<std::shared_ptr<GcnLayer<T>>> gcn_;
  std::vector<std::shared_ptr<Level>> levels_;
};

}  // namespace mgvae::models::property
