// Second-order MGN layer and encoder (models/mgn/second_order.hpp): equivariance (Prop. 1),
// invariance of the KL, gradchecks in double, and typed errors.
#include "mgvae/models/mgn/second_order.hpp"

#include <vector>

#include "mgvae/autodiff/gradcheck.hpp"
#include "support/catch.hpp"
#include "support/permute.hpp"

using namespace mgvae;
using namespace mgvae::models;
using TD = Tensor<double>;
using VD = Var<double>;

namespace {
using testing::permute_nodes;
using testing::permute_pairs;
using testing::permute_factor;
using testing::Perms;
Perms perms_for(const RaggedBatch& b) { return testing::random_perms(b, 31); }

/// A symmetric 0/1 adjacency with 2 edge channels (bond types) per graph.
TD random_adjacency(const RaggedBatch& b, std::uint64_t seed) {
  CounterRng rng(seed);
  TD A = TD::zeros({b.pairs(), 2});
  for (std::int64_t g = 0; g < b.graphs(); ++g) {
    const std::int64_t n = b.size(g);
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = i + 1; j < n; ++j)
        if (rng.next_uniform() < 0.5) {
          const std::int64_t e = rng.next_uniform() < 0.5 ? 0 : 1;
          A.data()[(b.pair_off[g] + i * n + j) * 2 + e] = 1;
          A.data()[(b.pair_off[g] + j * n + i) * 2 + e] = 1;
        }
  }
  return A;
}
}  // namespace

TEST_CASE("SecondOrderLayer is permutation equivariant and gradchecks", "[models][second_order]") {
  const auto b = RaggedBatch::from_sizes({4, 2, 5});
  const auto ps = perms_for(b);
  CounterRng rng(1);
  SecondOrderLayer<double> layer(2, 3, 4, rng, Activation::Tanh);
  const TD A = random_adjacency(b, 2), H = TD::uniform({b.pairs(), 3}, CounterRng(3), -1, 1);
  const TD y = layer.forward(b, VD(A), VD(H)).value();
  CHECK(y.shape() == Shape{b.pairs(), 4});
  const TD yp = layer.forward(b, VD(permute_pairs(b, ps, A)), VD(permute_pairs(b, ps, H))).value();
  CHECK(max_abs_diff(yp, permute_pairs(b, ps, y)) < 1e-12);
  // a different permutation of the output alone is not what the layer gives (the check can fail)
  Perms other = ps;
  std::swap(other[0][0], other[0][1]);
  CHECK(max_abs_diff(yp, permute_pairs(b, other, y)) > 1e-6);

  const auto small = RaggedBatch::from_sizes({2, 3});
  const TD As = random_adjacency(small, 4), Hs = TD::uniform({small.pairs(), 3}, CounterRng(5), -1, 1);
  const auto r = gradcheck([&](const std::vector<VD>& v) { return layer.forward(small, v[0], v[1]); }, {As, Hs});
  INFO(r.message);
  CHECK(r.ok);
  // parameters get gradients too
  backward(sum(layer.forward(small, VD(As), VD(Hs))));
  for (const auto& [name, p] : layer.named_parameters()) {
    INFO(name);
    CHECK(p.grad().defined());
  }
}

TEST_CASE("SecondOrderEncoder: μ and L equivariant, samples equivariant with permuted noise, KL invariant",
          "[models][second_order]") {
  const auto b = RaggedBatch::from_sizes({5, 3, 4});
  const auto ps = perms_for(b);
  CounterRng rng(7);
  SecondOrderEncoder<double> enc(2, 3, 6, 2, 2, rng);
  const TD A = random_adjacency(b, 8);
  TD X = TD::zeros({b.nodes(), 3});  // one-hot atom types
  for (std::int64_t i = 0; i < b.nodes(); ++i) X.data()[i * 3 + (i * 7) % 3] = 1;
  const auto post = enc.forward(b, VD(A), VD(X));
  const auto postp = enc.forward(b, VD(permute_pairs(b, ps, A)), VD(permute_nodes(b, ps, X)));
  CHECK(max_abs_diff(postp.mu.value(), permute_nodes(b, ps, post.mu.value())) < 1e-12);
  REQUIRE(post.L.size() == 3);
  for (std::int64_t g = 0; g < 3; ++g) {
    CHECK(post.L[g].shape() == Shape{2, b.size(g), b.size(g)});
    CHECK(max_abs_diff(postp.L[g].value(), permute_factor(ps[g], post.L[g].value())) < 1e-12);
  }
  const TD eps = enc.draw_noise(b, CounterRng(9));
  const TD z = enc.sample(b, post, eps).value();
  CHECK(z.shape() == Shape{b.nodes(), 2});
  CHECK(max_abs_diff(enc.sample(b, postp, permute_nodes(b, ps, eps)).value(), permute_nodes(b, ps, z)) < 1e-12);
  const double kl = enc.kl_standard(b, post).item();
  CHECK(kl > 0.0);
  CHECK(enc.kl_standard(b, postp).item() == Approx(kl).epsilon(1e-10));
}

TEST_CASE("SecondOrderEncoder: z = μ + Lε by hand; KL gradchecks w.r.t. the node features", "[models][second_order]") {
  const auto b = RaggedBatch::from_sizes({3, 2});
  CounterRng rng(11);
  SecondOrderEncoder<double> enc(2, 2, 4, 2, 1, rng);
  const TD A = random_adjacency(b, 12), X = TD::uniform({b.nodes(), 2}, CounterRng(13), 0, 1);
  const auto post = enc.forward(b, VD(A), VD(X));
  const TD eps = enc.draw_noise(b, CounterRng(14));
  const TD z = enc.sample(b, post, eps).value();
  // graph 1 (nodes 3, 4), channel 1, node 0: μ + Σ_j L[1][0][j] ε_j
  const TD L1 = post.L[1].value().contiguous();
  const double want = post.mu.value().data()[3 * 2 + 1] + L1.data()[(1 * 2 + 0) * 2 + 0] * eps.data()[3 * 2 + 1] +
                      L1.data()[(1 * 2 + 0) * 2 + 1] * eps.data()[4 * 2 + 1];
  CHECK(z.data()[3 * 2 + 1] == Approx(want).epsilon(1e-12));
  const auto r = gradcheck([&](const std::vector<VD>& v) { return enc.kl_standard(b, enc.forward(b, constant(A), v[0])); }, {X});
  INFO(r.message);
  CHECK(r.ok);
}

TEST_CASE("second-order modules reject bad sizes and mismatched inputs", "[models][second_order]") {
  CounterRng rng(1);
  CHECK_THROWS_AS(SecondOrderLayer<double>(0, 3, 4, rng), std::invalid_argument);
  CHECK_THROWS_AS(SecondOrderEncoder<double>(2, 3, 4, 2, 0, rng), std::invalid_argument);
  SecondOrderLayer<double> layer(2, 3, 4, rng);
  const auto b = RaggedBatch::from_sizes({2, 3});
  CHECK_THROWS_AS(layer.forward(b, VD(TD::zeros({b.pairs(), 2})), VD(TD::zeros({b.pairs(), 5}))), std::invalid_argument);
  CHECK_THROWS_AS(layer.forward(b, VD(TD::zeros({b.pairs() - 1, 2})), VD(TD::zeros({b.pairs(), 3}))), std::invalid_argument);
  SecondOrderEncoder<double> enc(2, 3, 4, 2, 1, rng);
  const auto post = enc.forward(b, VD(TD::zeros({b.pairs(), 2})), VD(TD::ones({b.nodes(), 3})));
  CHECK_THROWS_AS(enc.sample(b, post, TD::zeros({b.nodes(), 3})), std::invalid_argument);
}

TEST_CASE("SecondOrderLayer's split forward equals the concatenated form W·[s ⊙ msg ‖ basis] + b", "[models][second_order]") {
  const auto b = RaggedBatch::from_sizes({4, 1, 3});
  CounterRng rng(71);
  SecondOrderLayer<double> layer(2, 3, 5, rng, Activation::Tanh);
  const TD A = random_adjacency(b, 72), H0 = TD::uniform({b.pairs(), 3}, CounterRng(73), -1, 1);
  VD H1(H0.clone(), true), H2(H0.clone(), true);
  const VD y = layer.forward(b, VD(A), H1);
  const VD msg = mul(fused_contract(b, VD(A), VD(H0)), constant(inverse_size_rows<double>(b)));
  const VD ref_in = concat<double>({msg, equivariant_2to2(b, VD(H0), true)}, 1);
  CHECK(layer.mix().weight().shape() == Shape{6 * 2 * 3 + 15 * 3, 5});
  const VD ref = tanh(layer.mix().forward(ref_in));
  CHECK(max_abs_diff(y.value(), ref.value()) < 1e-12);
  // and the gradients w.r.t. the input and the weight agree
  const TD W = TD::uniform({b.pairs(), 5}, CounterRng(74), -1, 1);
  backward(sum(mul(y, constant(W))));
  const TD gH = H1.grad().clone(), gW = layer.mix().weight().grad().clone();
  layer.mix().weight().zero_grad();
  const VD msg2 = mul(fused_contract(b, VD(A), H2), constant(inverse_size_rows<double>(b)));
  backward(sum(mul(tanh(layer.mix().forward(concat<double>({msg2, equivariant_2to2(b, H2, true)}, 1))), constant(W))));
  CHECK(max_abs_diff(gH, H2.grad()) < 1e-12);
  CHECK(max_abs_diff(gW, layer.mix().weight().grad()) < 1e-12);
}
