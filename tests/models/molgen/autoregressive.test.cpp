// The autoregressive MGN for molecules (models/molgen/autoregressive.hpp) on hand-made molecules
// (no RDKit): BFS orders, the teacher-forcing batch, gradcheck of the loss in double, per-step
// scores invariant/equivariant under a relabelling of the placed atoms (Props. 1–2 analogue),
// valence masks never allow an over-valent atom, sampling reproducible from the seed, typed errors,
// size-matched sampling (ar_sample_size_matched) draws its proposals from the sampler's own stream.
#include "mgvae/models/molgen/autoregressive.hpp"

#include <cmath>
#include <set>
#include <stdexcept>
#include <vector>

#include "mgvae/autodiff/gradcheck.hpp"
#include "mgvae/nn/optim.hpp"
#include "models/molgen/fixtures.hpp"
#include "support/catch.hpp"

using namespace mgvae;
using namespace mgvae::molgen;
using TD = Tensor<double>;
using VD = Var<double>;

namespace {
using mgvae::molgen::testing::molecules;

ArConfig tiny() {
  ArConfig c;
  c.hidden = 4;
  c.layers = 2;
  c.state = 5;
  c.head_hidden = 6;
  c.seed = 5;
  return c;
}
double rel(double a, double b) { return std::abs(a - b) / std::max(1.0, std::max(std::abs(a), std::abs(b))); }

/// The bicyclic hand-made graph used by the BFS tests: 0-1, 0-2, 1-3, 2-3, 3-4, 4-5 (all carbons).
MolecularGraph house() {
  MolecularGraph m;
  m.n = 6;
  m.atom_type.assign(6, 0);
  m.bonds = {{0, 1, 0}, {0, 2, 0}, {1, 3, 0}, {2, 3, 0}, {3, 4, 0}, {4, 5, 0}};
  return m;
}

/// Checks that m is in a BFS order: every atom k ≥ 1 has an earlier neighbour, and the first
/// earlier neighbours (parents) are non-decreasing.
bool is_bfs_ordered(const MolecularGraph& m) {
  std::vector<std::int64_t> p;
  try {
    p = bfs_parents(m);
  } catch (const std::invalid_argument&) {
    return false;
  }
  for (std::int64_t k = 2; k < m.n; ++k)
    if (p[k] < p[k - 1]) return false;
  return true;
}

/// Placed atom i of a partial graph moves to sigma[i] (flags moved with it; the candidate stays last).
ArPartial permute_partial(const ArPartial& p, const std::vector<std::int64_t>& sigma) {
  ArPartial q = p;
  for (std::int64_t i = 0; i < p.g.n; ++i) {
    q.g.atom_type[sigma[i]] = p.g.atom_type[i];
    q.closed[sigma[i]] = p.closed[i];
  }
  q.g.bonds.clear();
  for (const auto& [u, v, t] : p.g.bonds) q.g.bonds.emplace_back(std::min(sigma[u], sigma[v]), std::max(sigma[u], sigma[v]), t);
  q.focus = p.focus >= 0 ? sigma[p.focus] : -1;
  q.last = p.last >= 0 ? sigma[p.last] : -1;
  return q;
}
}  // namespace

TEST_CASE("autoregressive MGN: BFS order on a hand-made graph", "[models][molgen][autoregressive]") {
  const auto m = house();
  CHECK(bfs_order(m, 0) == std::vector<std::int64_t>{0, 1, 2, 3, 4, 5});
  CHECK(bfs_order(m, 5) == std::vector<std::int64_t>{5, 4, 3, 1, 2, 0});
  CHECK(bfs_order(m, 3) == std::vector<std::int64_t>{3, 1, 2, 4, 0, 5});
  // ties broken by rank: atom 2 before atom 1
  CHECK(bfs_order(m, 0, {0, 9, 1, 0, 0, 0}) == std::vector<std::int64_t>{0, 2, 1, 3, 4, 5});
  CHECK(bfs_order(m, 3, {0, 9, 1, 0, 0, 0}) == std::vector<std::int64_t>{3, 4, 2, 1, 5, 0});
  const auto r = relabel(m, bfs_order(m, 5));  // new k = old order[k]
  CHECK(r.bonds == std::vector<std::tuple<std::int64_t, std::int64_t, int>>{{0, 1, 0}, {1, 2, 0}, {2, 3, 0}, {2, 4, 0}, {3, 5, 0}, {4, 5, 0}});
  CHECK(bfs_parents(r) == std::vector<std::int64_t>{-1, 0, 1, 2, 2, 3});
  CHECK(is_bfs_ordered(r));
  // prefix state after 5 atoms: focus = parent of atom 4 = 2, atoms 0, 1 closed
  const auto p = prefix_state(r, bfs_parents(r), 5);
  CHECK(p.g.n == 5);
  CHECK(p.focus == 2);
  CHECK(p.last == 4);
  CHECK(p.closed == std::vector<char>{1, 1, 0, 0, 0});
  CHECK(p.g.bonds.size() == 4);
  // random BFS orders of every fixture molecule are BFS orders of the same molecule
  for (const auto& g : molecules())
    for (std::uint64_t s = 0; s < 20; ++s) {
      const auto o = random_bfs(g, 11, s);
      CHECK(is_bfs_ordered(o));
      CHECK(o.n == g.n);
      CHECK(o.bonds.size() == g.bonds.size());
      std::multiset<std::int64_t> a(g.atom_type.begin(), g.atom_type.end()), b(o.atom_type.begin(), o.atom_type.end());
      CHECK(a == b);
    }
  // every start atom of the house graph is used by some random_bfs draw
  std::set<std::int64_t> first_degree;
  for (std::uint64_t s = 0; s < 60; ++s) {
    const auto o = random_bfs(m, 2, s);
    std::int64_t deg = 0;
    for (const auto& [u, v, t] : o.bonds) deg += (u == 0 || v == 0) ? 1 : 0;
    first_degree.insert(deg);
  }
  CHECK(first_degree == std::set<std::int64_t>{1, 2, 3});
}

TEST_CASE("autoregressive MGN: teacher-forcing batch layout and labels", "[models][molgen][autoregressive]") {
  const auto gs = molecules();  // sizes 3, 6, 5, 1
  std::vector<MolecularGraph> o;
  for (std::size_t g = 0; g < gs.size(); ++g) o.push_back(relabel(gs[g], bfs_order(gs[g], 0)));
  const auto tf = ArTeacher::make(o, ArConfig{});
  CHECK(tf.parts.size() == 4 + 7 + 6 + 2);
  CHECK(tf.steps() == 7);
  CHECK(tf.step_begin == std::vector<std::int64_t>{0, 4, 8, 11, 14, 16, 18, 19});
  // step 0: all four molecules, empty graphs; the labels are the first atoms (sorted by size: 6, 5, 3, 1)
  CHECK(tf.type_label[0] == o[1].atom_type[0]);
  CHECK(tf.type_label[1] == o[2].atom_type[0]);
  CHECK(tf.type_label[3] == 0);
  CHECK(tf.type_label[7] == 4);  // methane stops at t = 1
  CHECK(tf.type_label.back() == 4);  // benzene stops at t = 6
  std::int64_t bonds = 0;
  for (auto l : tf.edge_label) bonds += l > 0 ? 1 : 0;
  CHECK(bonds == 2 + 6 + 4);  // every bond is scored exactly once (closed atoms carry no rows)
}

TEST_CASE("autoregressive MGN: loss gradcheck in double on tiny molecules", "[models][molgen][autoregressive]") {
  const auto gs = molecules();
  const std::vector<MolecularGraph> o = {random_bfs(gs[0], 3, 0), random_bfs(gs[2], 3, 1)};  // ethanol, N#C-C(F)=O
  const ArMolGen<double> model(tiny());
  const auto tf = ArTeacher::make(o, model.config());
  RaggedBatch b;
  TD A, X;
  model.inputs(tf.parts, b, A, X);
  CounterRng rng(9);
  for (std::int64_t k = 0; k < X.numel(); ++k) X.data()[k] += 0.1 * rng.normal(static_cast<std::uint64_t>(k));
  const auto r = gradcheck([&](const std::vector<VD>& v) { return model.forward(tf, &v[0]).loss; }, {X});
  INFO(r.message);
  CHECK(r.ok);
  // every parameter receives a gradient
  VD xv(X, false);
  const auto f = model.forward(tf, &xv);
  backward(f.loss);
  for (const auto& [name, p] : model.named_parameters()) {
    INFO(name);
    REQUIRE(p.grad().defined());
    double s = 0;
    for (std::int64_t k = 0; k < p.grad().numel(); ++k) s += std::abs(p.grad().contiguous().data()[k]);
    CHECK(s > 0);
  }
  CHECK(f.loss.item() > 0);
  CHECK(std::abs(f.loss.item() - (f.type_ce.item() + f.edge_ce.item())) < 1e-12);
}

TEST_CASE("autoregressive MGN: per-step scores are invariant/equivariant under relabelling the placed atoms",
          "[models][molgen][autoregressive]") {
  const auto gs = molecules();
  const ArMolGen<double> model(tiny());
  // partial graphs: benzene after 5 atoms, N#C-C(F)=O after 4, ethanol after 2 (BFS orders, with flags)
  std::vector<ArPartial> parts;
  std::vector<std::int64_t> ts = {5, 4, 2};
  std::vector<std::size_t> which = {1, 2, 0};
  for (std::size_t k = 0; k < ts.size(); ++k) {
    const auto o = random_bfs(gs[which[k]], 4, k);
    parts.push_back(prefix_state(o, bfs_parents(o), ts[k]));
  }
  CounterRng rng(21);
  TD hp(Shape{3, model.config().state});
  for (std::int64_t k = 0; k < hp.numel(); ++k) hp.data()[k] = 0.5 * rng.normal(static_cast<std::uint64_t>(k));
  auto scores = [&](const std::vector<ArPartial>& ps, const std::vector<std::int64_t>& rows_part,
                    const std::vector<std::int64_t>& rows_atom) {
    RaggedBatch b;
    TD A, X;
    model.inputs(ps, b, A, X);
    const auto enc = model.encode(b, A, constant(X));
    const VD h = model.gru(enc.readout, constant(hp));
    std::vector<std::int64_t> nt(rows_part.size(), 1);
    return std::make_pair(model.type_logits(h, enc.readout).value().contiguous(),
                          model.edge_logits(enc, h, rows_part, rows_atom, nt).value().contiguous());
  };
  std::vector<std::int64_t> part, atom;
  for (std::size_t k = 0; k < parts.size(); ++k)
    for (std::int64_t i = 0; i < parts[k].g.n; ++i) {
      part.push_back(static_cast<std::int64_t>(k));
      atom.push_back(i);
    }
  const auto [t0, e0] = scores(parts, part, atom);
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    std::vector<ArPartial> pp;
    std::vector<std::vector<std::int64_t>> sig;
    CounterRng r(seed, 77);
    for (const auto& p : parts) {
      std::vector<std::int64_t> s(static_cast<std::size_t>(p.g.n));
      for (std::int64_t i = 0; i < p.g.n; ++i) s[i] = i;
      for (std::int64_t i = p.g.n - 1; i > 0; --i) std::swap(s[i], s[static_cast<std::int64_t>(r.next_below(i + 1))]);
      sig.push_back(s);
      pp.push_back(permute_partial(p, s));
    }
    std::vector<std::int64_t> atom2;
    for (std::size_t q = 0; q < part.size(); ++q) atom2.push_back(sig[part[q]][atom[q]]);
    const auto [t1, e1] = scores(pp, part, atom2);
    double dt = 0, de = 0;
    for (std::int64_t k = 0; k < t0.numel(); ++k) dt = std::max(dt, rel(t0.data()[k], t1.data()[k]));
    for (std::int64_t k = 0; k < e0.numel(); ++k) de = std::max(de, rel(e0.data()[k], e1.data()[k]));
    CHECK(dt < 1e-12);  // next-atom / STOP logits invariant
    CHECK(de < 1e-12);  // bond logits of placed atom i = those of σ(i)
  }
  // control: the flags matter (moving the focus flag alone changes the scores)
  auto moved = parts;
  moved[0].focus = (moved[0].focus + 1) % moved[0].g.n;
  const auto [t2, e2] = scores(moved, part, atom);
  double dt = 0;
  for (std::int64_t k = 0; k < t0.numel(); ++k) dt = std::max(dt, rel(t0.data()[k], t2.data()[k]));
  CHECK(dt > 1e-9);
}

TEST_CASE("autoregressive MGN: valence masks never allow an over-valent atom", "[models][molgen][autoregressive]") {
  const std::vector<int> val = {4, 3, 2, 1};
  CounterRng rng(31);
  // random partial graphs grown through the masks with uniformly random allowed choices
  for (int trial = 0; trial < 300; ++trial) {
    ArPartial p;
    std::int64_t stopped_at = -1;
    for (std::int64_t t = 0; t < 14; ++t) {
      const auto tm = ar_type_mask(p, val, 4, 14);
      std::vector<std::int64_t> ok;
      for (std::int64_t c = 0; c < 5; ++c)
        if (tm[c]) ok.push_back(c);
      REQUIRE(!ok.empty());
      if (t == 0) CHECK(!tm[4]);
      const std::int64_t x = ok[rng.next_below(ok.size())];
      if (x == 4) {
        stopped_at = t;
        break;
      }
      ArEdgeMasker em(p, x, val, 3);
      std::int64_t par = -1;
      for (std::int64_t i = 0; i < t; ++i) {
        const auto a = em.allowed(i);
        std::vector<std::int64_t> oc;
        for (std::int64_t c = 0; c < 4; ++c)
          if (a[c]) oc.push_back(c);
        REQUIRE(!oc.empty());
        const std::int64_t c = oc[rng.next_below(oc.size())];
        em.take(i, c);
        if (c > 0) {
          p.g.bonds.emplace_back(i, t, static_cast<int>(c - 1));
          if (par < 0) par = i;
        }
      }
      if (t > 0) REQUIRE(par >= 0);  // connected by construction
      p.g.atom_type.push_back(x);
      p.g.n = t + 1;
      p.last = t;
      p.focus = par;
      p.closed.assign(static_cast<std::size_t>(t + 1), 0);
      for (std::int64_t i = 0; i < par; ++i) p.closed[i] = 1;
      const auto used = bond_order_sums(p.g);
      for (std::int64_t i = 0; i < p.g.n; ++i) REQUIRE(used[i] <= val[p.g.atom_type[i]]);
    }
    CHECK(stopped_at != 0);
    if (p.g.n == 0) continue;
    std::int64_t k = 0;
    components(p.g, &k);
    CHECK(k == 1);
    CHECK(is_bfs_ordered(p.g));
  }
  // and the sampler of an untrained model (hot temperature: many different choices)
  ArConfig c = tiny();
  c.max_atoms = 12;
  const ArMolGen<float> model(c);
  const auto s = model.sample(300, 8, 3.0, 64);
  REQUIRE(s.size() == 300);
  std::int64_t bonds = 0, multi = 0;
  for (const auto& g : s) {
    REQUIRE(g.n >= 1);
    REQUIRE(g.n <= 12);
    validate_graph("test", 0, g, 4, 3);
    const auto used = bond_order_sums(g);
    for (std::int64_t i = 0; i < g.n; ++i) REQUIRE(used[i] <= c.max_valence[g.atom_type[i]]);
    std::int64_t k = 0;
    components(g, &k);
    CHECK(k == 1);
    CHECK(is_bfs_ordered(g));
    bonds += static_cast<std::int64_t>(g.bonds.size());
    for (const auto& [u, v, t] : g.bonds) multi += t > 0 ? 1 : 0;
  }
  CHECK(bonds > 300);
  CHECK(multi > 0);
}

TEST_CASE("autoregressive MGN: sampling is reproducible from the seed; training lowers the loss",
          "[models][molgen][autoregressive]") {
  const ArMolGen<float> model(tiny());
  const auto a = model.sample(40, 123), b = model.sample(40, 123), d = model.sample(40, 124);
  auto same = [](const std::vector<MolecularGraph>& x, const std::vector<MolecularGraph>& y) {
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i)
      if (x[i].n != y[i].n || x[i].atom_type != y[i].atom_type || x[i].bonds != y[i].bonds) return false;
    return true;
  };
  CHECK(same(a, b));
  CHECK(!same(a, d));
  // equal seeds give equal parameters and loss
  const ArMolGen<float> m2(tiny());
  const auto gs = molecules();
  const auto tf = ArTeacher::make({random_bfs(gs[1], 1, 0), random_bfs(gs[2], 1, 1)}, tiny());
  CHECK(model.forward(tf).loss.item() == m2.forward(tf).loss.item());
  // a few Adam steps on the fixture molecules lower the teacher-forced loss
  ArMolGen<float> m3(tiny());
  nn::Adam<float> opt(m3.parameters(), 1e-2f);
  const std::vector<MolecularGraph> train(gs.begin(), gs.begin() + 3);
  double first = 0, last = 0;  // means over the first and the last 5 steps (each step draws new BFS orders)
  for (int step = 0; step < 60; ++step) {
    const auto f = ar_train_step(m3, opt, train, 7, 0, step, 10.0);
    if (step < 5) first += f.loss.item() / 5;
    if (step >= 55) last += f.loss.item() / 5;
  }
  CHECK(last < 0.7 * first);
}

TEST_CASE("autoregressive MGN: bad input gives typed exceptions", "[models][molgen][autoregressive]") {
  const auto gs = molecules();
  ArConfig c;
  MolecularGraph disc;  // two atoms, no bond
  disc.n = 2;
  disc.atom_type = {0, 0};
  CHECK_THROWS_AS(bfs_order(disc, 0), std::invalid_argument);
  CHECK_THROWS_AS(random_bfs(disc, 1, 0), std::invalid_argument);
  CHECK_THROWS_AS(ArTeacher::make({disc}, c), std::invalid_argument);
  CHECK_THROWS_AS(bfs_order(gs[0], 3), std::invalid_argument);
  CHECK_THROWS_AS(bfs_order(gs[0], 0, {1, 2}), std::invalid_argument);
  CHECK_THROWS_AS(relabel(gs[0], {0, 0, 1}), std::invalid_argument);
  MolecularGraph over;  // O with three single bonds (over-valent)
  over.n = 4;
  over.atom_type = {2, 0, 0, 0};
  over.bonds = {{0, 1, 0}, {0, 2, 0}, {0, 3, 0}};
  CHECK_THROWS_AS(ArTeacher::make({relabel(over, bfs_order(over, 0))}, c), std::invalid_argument);
  MolecularGraph not_bfs;  // C-C-C path numbered 0-2-1: atom 1 has no earlier neighbour
  not_bfs.n = 3;
  not_bfs.atom_type = {0, 0, 0};
  not_bfs.bonds = {{0, 2, 0}, {1, 2, 0}};
  CHECK_THROWS_AS(ArTeacher::make({not_bfs}, c), std::invalid_argument);
  MolecularGraph closed;  // a bond to a closed atom: atom 4's parent is 0, before the parent 1 of atom 3
  closed.n = 5;
  closed.atom_type = {0, 0, 0, 0, 0};
  closed.bonds = {{0, 1, 0}, {0, 2, 0}, {1, 3, 0}, {2, 4, 0}, {0, 4, 0}};
  CHECK_THROWS_AS(ArTeacher::make({closed}, c), std::invalid_argument);
  CHECK_THROWS_AS(ArTeacher::make({}, c), std::invalid_argument);
  ArConfig small = c;
  small.max_atoms = 4;
  CHECK_THROWS_AS(ArTeacher::make({gs[1]}, small), std::invalid_argument);
  MolecularGraph bad_type = gs[0];
  bad_type.atom_type[1] = 7;
  CHECK_THROWS_AS(ArTeacher::make({bad_type}, c), std::invalid_argument);
  ArConfig badc = c;
  badc.max_valence = {4, 3};
  CHECK_THROWS_AS(ArMolGen<float>(badc), std::invalid_argument);
  badc = c;
  badc.layers = 0;
  CHECK_THROWS_AS(ArMolGen<float>(badc), std::invalid_argument);
  const ArMolGen<float> model(tiny());
  CHECK_THROWS_AS(model.sample(-1, 1), std::invalid_argument);
  CHECK_THROWS_AS(model.sample(5, 1, 0.0), std::invalid_argument);
  CHECK_THROWS_AS(model.sample(5, 1, 1.0, 0), std::invalid_argument);
  CHECK_THROWS_AS(model.sample(5, 1, 1.0, 500, -1.0), std::invalid_argument);
  CHECK_THROWS_AS(model.sample(5, 1, 1.0, 500, std::nan("")), std::invalid_argument);
  std::vector<ArPartial> none;
  RaggedBatch b;
  Tensor<float> A, X;
  CHECK_THROWS_AS(model.inputs(none, b, A, X), std::invalid_argument);
  ArPartial broken;
  broken.g.n = 2;
  broken.g.atom_type = {0, 0};
  broken.g.bonds = {{0, 1, 0}};
  CHECK_THROWS_AS(model.inputs({broken}, b, A, X), std::invalid_argument);  // closed has no entries
  const auto tf = ArTeacher::make({relabel(gs[0], bfs_order(gs[0], 0))}, tiny());
  Var<float> wrong(Tensor<float>::zeros(Shape{2, 2}), false);
  CHECK_THROWS_AS(model.forward(tf, &wrong), std::invalid_argument);
}

TEST_CASE("autoregressive MGN: split STOP draw matches its two-stage distribution", "[models][molgen][autoregressive]") {
  // classes 0..2 are atom types, 3 is STOP
  const std::vector<float> logits{1.0f, 0.5f, -1.0f, 2.0f};
  const auto softmax = [&](const std::vector<char>& allow, double t) {
    std::vector<double> p(4, 0.0);
    double s = 0;
    for (int c = 0; c < 4; ++c)
      if (allow[c]) s += p[c] = std::exp(logits[c] / t);
    for (auto& v : p) v /= s;
    return p;
  };
  const auto freq = [&](const std::vector<char>& allow, double t, double ts, std::uint64_t seed) {
    CounterRng rng(seed, 3);
    std::vector<double> f(4, 0.0);
    const int n = 200000;
    int bad = 0;
    for (int i = 0; i < n; ++i) {
      const auto c = ArMolGen<float>::draw_split_stop(logits.data(), allow, t, ts, rng);
      if (c < 0 || c >= 4 || !allow[static_cast<std::size_t>(c)]) ++bad;
      else f[static_cast<std::size_t>(c)] += 1.0;
    }
    CHECK(bad == 0);  // only allowed classes are drawn
    for (auto& v : f) v /= n;
    return f;
  };
  const auto close = [](const std::vector<double>& f, const std::vector<double>& p) {
    for (std::size_t c = 0; c < p.size(); ++c) {
      INFO("class " << c << ": frequency " << f[c] << " vs probability " << p[c]);
      CHECK(std::abs(f[c] - p[c]) < 5.0 * std::sqrt(p[c] * (1 - p[c]) / 200000.0) + 1e-12);
    }
  };
  const std::vector<char> all{1, 1, 1, 1};
  // stop at temperature 1, atoms at temperature 2: P(stop) from softmax_1, atoms ∝ exp(l / 2) otherwise
  {
    const auto p1 = softmax(all, 1.0);
    auto pa = softmax(std::vector<char>{1, 1, 1, 0}, 2.0);
    std::vector<double> want(4);
    for (int c = 0; c < 3; ++c) want[c] = (1 - p1[3]) * pa[c];
    want[3] = p1[3];
    close(freq(all, 2.0, 1.0, 11), want);
  }
  // equal temperatures: the single draw's distribution
  close(freq(all, 1.7, 1.7, 12), softmax(all, 1.7));
  // STOP masked: never stops; only STOP allowed: always stops
  const std::vector<char> no_stop{1, 1, 0, 0}, only_stop{0, 0, 0, 1};
  close(freq(no_stop, 2.0, 1.0, 13), softmax(no_stop, 2.0));
  close(freq(only_stop, 2.0, 1.0, 14), std::vector<double>{0, 0, 0, 1});
  // the sampler with it: valid, reproducible, and different from the single draw's stream
  ArConfig c = tiny();
  c.max_atoms = 12;
  const ArMolGen<float> model(c);
  const auto a = model.sample(60, 5, 2.0, 32, 1.0), b = model.sample(60, 5, 2.0, 32, 1.0), d = model.sample(60, 5, 2.0, 32);
  REQUIRE(a.size() == 60);
  bool differs = false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    validate_graph("split-stop sample", static_cast<std::int64_t>(i), a[i], 4, 3);
    CHECK(a[i].atom_type == b[i].atom_type);
    CHECK(a[i].bonds == b[i].bonds);
    differs = differs || a[i].atom_type != d[i].atom_type || a[i].bonds != d[i].bonds;
  }
  CHECK(differs);
}

TEST_CASE("autoregressive MGN: size-matched sampling draws from the sampler's stream", "[models][molgen][autoregressive]") {
  ArConfig c = tiny();
  c.max_atoms = 6;
  const ArMolGen<float> model(c);
  const std::vector<int> ref{1, 2, 3, 3, 4, 4, 4, 5, 5, 6};
  SizeMatchingOptions opt;
  opt.calibration = 64;
  const auto sm = ar_sample_size_matched(model, ref, 40, 17, opt, 1.0, 16);
  REQUIRE(sm.items.size() == 40);
  CHECK(sm.drawn == 16 * sm.chunks);
  // the proposals are model.sample(drawn, 17, 1, 16): the output is a subsequence of them, in order
  const auto all = model.sample(sm.drawn, 17, 1.0, 16);
  std::size_t j = 0;
  for (const auto& g : sm.items) {
    while (j < all.size() && !(all[j].n == g.n && all[j].atom_type == g.atom_type && all[j].bonds == g.bonds)) ++j;
    CHECK(j < all.size());
    CHECK(sm.calibration.acceptance[static_cast<std::size_t>(g.n)] > 0);
    ++j;
  }
  // p_gen comes from the calibration stream (chunks from kSizeCalibrationChunk0 = 2^40), not the proposals
  std::vector<double> pcal(7, 0.0);
  for (const auto& g : model.sample(64, 17, 1.0, 16, 0.0, std::uint64_t{1} << 40)) pcal[static_cast<std::size_t>(g.n)] += 1.0 / 64;
  for (std::size_t n = 0; n < 7; ++n) CHECK(sm.calibration.generated_probs[n] == Approx(pcal[n]).margin(1e-12));
  // reproducible
  const auto sm2 = ar_sample_size_matched(model, ref, 40, 17, opt, 1.0, 16);
  REQUIRE(sm2.items.size() == 40);
  for (std::size_t k = 0; k < 40; ++k) CHECK(sm2.items[k].bonds == sm.items[k].bonds);
  CHECK(sm2.output_counts == sm.output_counts);
  // typed errors: a reference size above max_atoms, chunk < 1
  CHECK_THROWS_AS(ar_sample_size_matched(model, {7}, 10, 17, opt), std::invalid_argument);
  CHECK_THROWS_AS(ar_sample_size_matched(model, ref, 10, 17, opt, 1.0, 0), std::invalid_argument);
}
