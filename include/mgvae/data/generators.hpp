#pragma once
/// @file generators.hpp
/// Synthetic graphs: the GraphRNN-style two-community graphs (fallback for community_small) and a
/// stochastic-block-model citation network with community-dependent bag-of-words features (the demo
/// default when Cora is absent). All randomness comes from a caller-supplied `mgvae::CounterRng`,
/// consumed sequentially, so results are reproducible per (seed, stream).
///
/// No generated graph has isolated nodes (unless the graph has a single node): an isolated node is
/// joined to a uniformly chosen other node of its own community.
#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "mgvae/core/rng.hpp"
#include "mgvae/data/linqs.hpp"
#include "mgvae/graph/graph.hpp"

namespace mgvae::data {

/// Parameters of `community_graph`. The defaults are the recipe of the GraphRNN paper (You et al.
/// 2018, "Community": Erdős–Rényi communities with p = 0.3, sparse inter-community edges) at the
/// community-small size 12 <= |V| <= 20.
///
/// Note: the shipped community_small data (GDSS pickle) is denser: measured intra-community density
/// 0.646 and inter-community density 0.019 (first/second half of the nodes), and only even |V| in
/// {12, ..., 20}. `community_small_like()` returns parameters that reproduce those statistics.
struct CommunityOptions {
  std::int64_t min_nodes = 12;        ///< |V| is uniform in [min_nodes, max_nodes] (see equal_sizes)
  std::int64_t max_nodes = 20;
  std::int64_t num_communities = 2;   ///< communities are contiguous, sizes differ by at most 1
  double p_intra = 0.3;               ///< Erdős–Rényi probability inside a community
  double p_inter = 0.05;              ///< independent probability of each inter-community pair
  bool equal_sizes = false;           ///< draw |V| only among multiples of num_communities
  bool connect_communities = true;    ///< join the components of each community into one (so the
                                      ///< graph is connected); when false only isolated nodes are fixed

  /// Parameters matching shared/data/community_small (GDSS): p_intra 0.65, p_inter 0.0125, even |V|.
  /// @throw nothing. Reproduces the data's edge density (0.668 vs 0.667 edges per intra-community pair); |V| stays
  /// uniform over {12, 14, ..., 20}, whereas the data has more small graphs (mean |V| 15.28, not 16).
  static CommunityOptions community_small_like() {
    CommunityOptions o;
    o.p_intra = 0.65;
    o.p_inter = 0.0125;
    o.equal_sizes = true;
    return o;
  }
};

namespace generators_detail {
inline void check_prob(const char* fn, const char* name, double p) {
  if (!(p >= 0.0 && p <= 1.0))
    throw std::invalid_argument(std::string(fn) + ": " + name + " must be in [0, 1], got " + std::to_string(p));
}
}  // namespace generators_detail

/// One random community graph (canonical form). If `community` is not null it receives the
/// community of every node. Every inter-community pair of communities gets at least one edge
/// (a uniform pair is added when the Bernoulli draws give none), so with connect_communities the
/// graph is connected.
/// @throw std::invalid_argument if min_nodes < num_communities, max_nodes < min_nodes,
///   num_communities < 1, a probability is outside [0, 1], or equal_sizes leaves no admissible |V|.
inline Graph community_graph(CounterRng& rng, const CommunityOptions& opt = {},
                             std::vector<std::int64_t>* community = nullptr) {
  using generators_detail::check_prob;
  const std::int64_t C = opt.num_communities;
  if (C < 1) throw std::invalid_argument("community_graph: num_communities must be >= 1");
  if (opt.min_nodes < C || opt.max_nodes < opt.min_nodes)
    throw std::invalid_argument("community_graph: need num_communities <= min_nodes <= max_nodes");
  check_prob("community_graph", "p_intra", opt.p_intra);
  check_prob("community_graph", "p_inter", opt.p_inter);

  std::vector<std::int64_t> sizes_allowed;
  for (std::int64_t v = opt.min_nodes; v <= opt.max_nodes; ++v)
    if (!opt.equal_sizes || v % C == 0) sizes_allowed.push_back(v);
  if (sizes_allowed.empty())
    throw std::invalid_argument("community_graph: no |V| in [min_nodes, max_nodes] is a multiple of num_communities");
  const std::int64_t n = sizes_allowed[static_cast<std::size_t>(rng.next_below(sizes_allowed.size()))];

  // Contiguous communities: start[c] .. start[c+1].
  std::vector<std::int64_t> start(static_cast<std::size_t>(C) + 1, 0);
  for (std::int64_t c = 0; c < C; ++c) start[static_cast<std::size_t>(c) + 1] = start[static_cast<std::size_t>(c)] + n / C + (c < n % C ? 1 : 0);
  std::vector<std::int64_t> comm(static_cast<std::size_t>(n));
  for (std::int64_t c = 0; c < C; ++c)
    for (std::int64_t i = start[static_cast<std::size_t>(c)]; i < start[static_cast<std::size_t>(c) + 1]; ++i)
      comm[static_cast<std::size_t>(i)] = c;

  std::vector<Graph::Edge> e;
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = i + 1; j < n; ++j)
      if (comm[static_cast<std::size_t>(i)] == comm[static_cast<std::size_t>(j)] && rng.next_uniform() < opt.p_intra)
        e.emplace_back(i, j);
  for (std::int64_t a = 0; a < C; ++a)
    for (std::int64_t b = a + 1; b < C; ++b) {
      const std::int64_t a0 = start[static_cast<std::size_t>(a)], a1 = start[static_cast<std::size_t>(a) + 1];
      const std::int64_t b0 = start[static_cast<std::size_t>(b)], b1 = start[static_cast<std::size_t>(b) + 1];
      bool any = false;
      for (std::int64_t i = a0; i < a1; ++i)
        for (std::int64_t j = b0; j < b1; ++j)
          if (rng.next_uniform() < opt.p_inter) {
            e.emplace_back(i, j);
            any = true;
          }
      if (!any)
        e.emplace_back(a0 + static_cast<std::int64_t>(rng.next_below(static_cast<std::uint64_t>(a1 - a0))),
                       b0 + static_cast<std::int64_t>(rng.next_below(static_cast<std::uint64_t>(b1 - b0))));
    }

  // Repair inside each community: join components (or only isolated nodes) to a random node.
  for (std::int64_t c = 0; c < C; ++c) {
    const std::int64_t s0 = start[static_cast<std::size_t>(c)], s1 = start[static_cast<std::size_t>(c) + 1];
    const std::int64_t sz = s1 - s0;
    if (sz < 2) continue;
    std::vector<std::int64_t> nodes(static_cast<std::size_t>(sz));
    for (std::int64_t k = 0; k < sz; ++k) nodes[static_cast<std::size_t>(k)] = s0 + k;
    // Intra-community subgraph of the current edge list.
    std::vector<Graph::Edge> intra;
    for (const auto& [u, v] : e)
      if (u >= s0 && u < s1 && v >= s0 && v < s1) intra.emplace_back(u - s0, v - s0);
    const Graph sub = Graph::from_edges(sz, intra);
    const Components cc = sub.connected_components();
    if (opt.connect_communities) {
      // Members of the component of the community's first node (label 0).
      std::vector<std::int64_t> main_members;
      for (std::int64_t k = 0; k < sz; ++k)
        if (cc.label[static_cast<std::size_t>(k)] == 0) main_members.push_back(k);
      for (std::int64_t l = 1; l < cc.count; ++l) {
        std::vector<std::int64_t> members;
        for (std::int64_t k = 0; k < sz; ++k)
          if (cc.label[static_cast<std::size_t>(k)] == l) members.push_back(k);
        const std::int64_t x = members[static_cast<std::size_t>(rng.next_below(members.size()))];
        const std::int64_t y = main_members[static_cast<std::size_t>(rng.next_below(main_members.size()))];
        e.emplace_back(s0 + x, s0 + y);
        main_members.insert(main_members.end(), members.begin(), members.end());
      }
    } else {
      const auto deg = Graph::from_edges(n, e).degrees();
      for (std::int64_t k = 0; k < sz; ++k) {
        if (deg[static_cast<std::size_t>(s0 + k)] != 0) continue;
        std::int64_t y = static_cast<std::int64_t>(rng.next_below(static_cast<std::uint64_t>(sz - 1)));
        if (y >= k) ++y;  // uniform over the other members
        e.emplace_back(s0 + k, s0 + y);
      }
    }
  }
  // A community of size 1 is never isolated when C > 1: every pair of communities has an edge, and
  // all edges leaving a singleton community touch its only node.
  if (community != nullptr) *community = comm;
  return Graph::from_edges(n, e);
}

/// `count` independent community graphs; graph i uses `CounterRng(seed).split(i)`.
/// @throw std::invalid_argument as community_graph, or if count < 0.
inline std::vector<Graph> community_graphs(std::uint64_t seed, std::int64_t count, const CommunityOptions& opt = {}) {
  if (count < 0) throw std::invalid_argument("community_graphs: count must be >= 0");
  const CounterRng base(seed);
  std::vector<Graph> out;
  out.reserve(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) {
    CounterRng r = base.split(static_cast<std::uint64_t>(i));
    out.push_back(community_graph(r, opt));
  }
  return out;
}

/// Bag-of-words parameters of `sbm_citation_like`: the F words are split into `communities`
/// contiguous topic blocks; a node of community c switches on each word of block c with
/// probability word_in and every other word with probability word_out (at least one word of its
/// own block is always on).
struct SbmFeatureOptions {
  double word_in = 0.05;
  double word_out = 0.005;
};

/// Stochastic-block-model citation graph: n nodes in `communities` balanced classes (randomly
/// assigned), each pair joined with probability p_in (same class) or p_out (different classes),
/// binary bag-of-words features (see SbmFeatureOptions), labels = class, ids = "0".."n-1".
/// Isolated nodes are joined to a random node of their class (to any node if the class is a
/// singleton). O(n^2) pair draws: meant for n up to a few 10^4.
/// @throw std::invalid_argument if n < 1, communities < 1 or > n, feature_dim < communities, or a
///   probability is outside [0, 1].
inline CitationData sbm_citation_like(CounterRng& rng, std::int64_t n, std::int64_t communities,
                                      std::int64_t feature_dim, double p_in, double p_out,
                                      const SbmFeatureOptions& fo = {}) {
  using generators_detail::check_prob;
  const char* fn = "sbm_citation_like";
  if (n < 1) throw std::invalid_argument("sbm_citation_like: n must be >= 1");
  if (communities < 1 || communities > n)
    throw std::invalid_argument("sbm_citation_like: communities must be in [1, n]");
  if (feature_dim < communities)
    throw std::invalid_argument("sbm_citation_like: feature_dim must be >= communities");
  check_prob(fn, "p_in", p_in);
  check_prob(fn, "p_out", p_out);
  check_prob(fn, "word_in", fo.word_in);
  check_prob(fn, "word_out", fo.word_out);

  CitationData d;
  const auto nn = static_cast<std::size_t>(n);
  d.labels.resize(nn);
  for (std::size_t i = 0; i < nn; ++i) d.labels[i] = static_cast<std::int64_t>(i) % communities;
  for (std::size_t i = nn - 1; i > 0; --i) std::swap(d.labels[i], d.labels[rng.next_below(i + 1)]);
  for (std::int64_t c = 0; c < communities; ++c) d.label_names.push_back(std::to_string(c));
  d.ids.reserve(nn);
  for (std::int64_t i = 0; i < n; ++i) d.ids.push_back(std::to_string(i));

  std::vector<Graph::Edge> e;
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = i + 1; j < n; ++j) {
      const double p = d.labels[static_cast<std::size_t>(i)] == d.labels[static_cast<std::size_t>(j)] ? p_in : p_out;
      if (rng.next_uniform() < p) e.emplace_back(i, j);
    }
  // Members of each class, for the isolated-node repair.
  std::vector<std::vector<std::int64_t>> members(static_cast<std::size_t>(communities));
  for (std::int64_t i = 0; i < n; ++i) members[static_cast<std::size_t>(d.labels[static_cast<std::size_t>(i)])].push_back(i);
  {
    std::vector<std::int64_t> deg(nn, 0);
    for (const auto& [u, v] : e) {
      ++deg[static_cast<std::size_t>(u)];
      ++deg[static_cast<std::size_t>(v)];
    }
    for (std::int64_t i = 0; i < n && n > 1; ++i) {
      if (deg[static_cast<std::size_t>(i)] != 0) continue;
      const auto& m = members[static_cast<std::size_t>(d.labels[static_cast<std::size_t>(i)])];
      std::int64_t y;
      if (m.size() >= 2) {
        do y = m[static_cast<std::size_t>(rng.next_below(m.size()))]; while (y == i);
      } else {
        y = static_cast<std::int64_t>(rng.next_below(nn - 1));
        if (y >= i) ++y;
      }
      e.emplace_back(i, y);
      ++deg[static_cast<std::size_t>(i)];
      ++deg[static_cast<std::size_t>(y)];
    }
  }
  d.graph = Graph::from_edges(n, e, &d.cleanup);  // no loops/duplicates are generated; isolated only if n == 1

  // Features.
  d.num_features = feature_dim;
  d.features.assign(nn * static_cast<std::size_t>(feature_dim), 0.0f);
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t c = d.labels[static_cast<std::size_t>(i)];
    const std::int64_t b0 = c * feature_dim / communities, b1 = (c + 1) * feature_dim / communities;
    float* row = d.features.data() + static_cast<std::size_t>(i) * static_cast<std::size_t>(feature_dim);
    bool any = false;
    for (std::int64_t j = 0; j < feature_dim; ++j) {
      const double q = (j >= b0 && j < b1) ? fo.word_in : fo.word_out;
      if (rng.next_uniform() < q) {
        row[j] = 1.0f;
        any = any || (j >= b0 && j < b1);
      }
    }
    if (!any) row[b0 + static_cast<std::int64_t>(rng.next_below(static_cast<std::uint64_t>(b1 - b0)))] = 1.0f;
  }
  return d;
}

}  // namespace mgvae::data
