// Typed equivariant tensors (ops/equi_tensor.hpp): every typed op gives bit-identical values and
// gradients to the untyped op it wraps, the order is checked at compile time (static_asserts here; the
// failing program is tests/compile_fail/order_mismatch.cpp), row counts are checked at construction,
// and a typed chain is permutation equivariant (Prop. 1) and gradchecks.
#include "mgvae/ops/equi_tensor.hpp"

#include <concepts>
#include <cstring>
#include <functional>
#include <type_traits>
#include <utility>
#include <vector>

#include "mgvae/autodiff/gradcheck.hpp"
#include "mgvae/core/rng.hpp"
#include "mgvae/models/mgn/second_order.hpp"
#include "support/catch.hpp"
#include "support/permute.hpp"

using namespace mgvae;
using TD = Tensor<double>;
using VD = Var<double>;
using ND = NodeTensor<double>;
using PD = PairTensor<double>;

// --- the order is part of the type ------------------------------------------------------------
static_assert(!std::is_convertible_v<ND, PD> && !std::is_convertible_v<PD, ND>);
static_assert(!std::is_constructible_v<PD, ND> && !std::is_constructible_v<ND, PD>);
static_assert(!std::is_assignable_v<PD&, ND> && !std::is_assignable_v<ND&, PD>);
static_assert(!std::is_convertible_v<VD, ND> && !std::is_convertible_v<VD, PD>);
// (requires-expressions only turn an invalid call into `false` inside a template, hence the concepts)
template <class X>
concept Takes2to2 = requires(const X& x) { equivariant_2to2(x); };
template <class X>
concept Takes2to1 = requires(const X& x) { equivariant_2to1(x); };
template <class X>
concept Takes1to2 = requires(const X& x) { equivariant_1to2(x); };
template <class X>
concept Takes1to1 = requires(const X& x) { equivariant_1to1(x); };
template <class X>
concept TakesOuter = requires(const X& x) { outer_product(x); };
template <class X>
concept TakesReadout = requires(const X& x) { readout(x); };
template <class X, class Y>
concept TakesFused = requires(const X& a, const Y& h) { fused_contract(a, h); };
template <class X, class Y>
concept LayerTakes = requires(const models::SecondOrderLayer<double>& l, const X& a, const Y& h) {
  { l.forward(a, h) } -> std::same_as<PD>;
};
static_assert(Takes2to2<PD> && !Takes2to2<ND>);
static_assert(Takes2to1<PD> && !Takes2to1<ND>);
static_assert(Takes1to2<ND> && !Takes1to2<PD>);
static_assert(Takes1to1<ND> && !Takes1to1<PD>);
static_assert(TakesOuter<ND> && !TakesOuter<PD>);
static_assert(TakesReadout<PD> && !TakesReadout<ND>);
static_assert(TakesFused<PD, PD> && !TakesFused<PD, ND> && !TakesFused<ND, PD> && !TakesFused<ND, ND>);
static_assert(LayerTakes<PD, PD> && !LayerTakes<PD, ND> && !LayerTakes<ND, PD>);
static_assert(std::is_same_v<decltype(equivariant_2to2(std::declval<PD>())), PD>);
static_assert(std::is_same_v<decltype(equivariant_2to1(std::declval<PD>())), ND>);
static_assert(std::is_same_v<decltype(equivariant_1to2(std::declval<ND>())), PD>);
static_assert(std::is_same_v<decltype(equivariant_1to1(std::declval<ND>())), ND>);
static_assert(std::is_same_v<decltype(outer_product(std::declval<ND>())), PD>);
static_assert(std::is_same_v<decltype(readout(std::declval<PD>())), ND>);
static_assert(std::is_same_v<decltype(fused_contract(std::declval<PD>(), std::declval<PD>())), PD>);

namespace {
using testing::permute_nodes;
using testing::permute_pairs;

TD rnd(const Shape& s, std::uint64_t seed) { return TD::uniform(s, CounterRng(seed), -1.0, 1.0); }

/// Same shape and the same bits.
bool bit_equal(const TD& a, const TD& b) {
  if (a.shape() != b.shape()) return false;
  const TD ac = a.contiguous(), bc = b.contiguous();
  return std::memcmp(ac.data(), bc.data(), static_cast<std::size_t>(ac.numel()) * sizeof(double)) == 0;
}

/// Runs `typed` and `untyped` on fresh leaves with the same values, back-propagates the same seed, and
/// requires bit-identical outputs and input gradients.
void require_same(const std::vector<TD>& inputs,
                  const std::function<VD(const std::vector<VD>&)>& typed,
                  const std::function<VD(const std::vector<VD>&)>& untyped) {
  std::vector<VD> a, b;
  for (const auto& t : inputs) {
    a.emplace_back(t.clone(), true);
    b.emplace_back(t.clone(), true);
  }
  // one forward + backward at a time (a reverse pass consumes the thread's tape)
  const VD ya = typed(a);
  const TD seed = rnd(ya.shape(), 99);
  backward(ya, seed);
  const VD yb = untyped(b);
  REQUIRE(bit_equal(ya.value(), yb.value()));
  backward(yb, seed);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    INFO("input " << i);
    REQUIRE(a[i].grad().defined());
    REQUIRE(b[i].grad().defined());
    CHECK(bit_equal(a[i].grad(), b[i].grad()));
  }
}
}  // namespace

TEST_CASE("typed equivariant ops equal the untyped ones bit for bit", "[ops][equi_tensor]") {
  const auto b = RaggedBatch::from_sizes({3, 1, 4, 0, 2});
  const auto bp = std::make_shared<const RaggedBatch>(b);
  const TD x = rnd({b.nodes(), 3}, 1), X = rnd({b.pairs(), 3}, 2), A = rnd({b.pairs(), 2}, 3);
  for (const bool norm : {false, true}) {
    INFO("normalize " << norm);
    require_same({X}, [&](const auto& v) { return equivariant_2to2(PD(bp, v[0]), norm).var(); },
                 [&](const auto& v) { return equivariant_2to2(b, v[0], norm); });
    require_same({X}, [&](const auto& v) { return equivariant_2to1(PD(bp, v[0]), norm).var(); },
                 [&](const auto& v) { return equivariant_2to1(b, v[0], norm); });
    require_same({x}, [&](const auto& v) { return equivariant_1to2(ND(bp, v[0]), norm).var(); },
                 [&](const auto& v) { return equivariant_1to2(b, v[0], norm); });
    require_same({x}, [&](const auto& v) { return equivariant_1to1(ND(bp, v[0]), norm).var(); },
                 [&](const auto& v) { return equivariant_1to1(b, v[0], norm); });
  }
  for (const auto mode : {ContractionMode::Trace, ContractionMode::IndependentSums})
    require_same({A, X}, [&](const auto& v) { return fused_contract(PD(bp, v[0]), PD(bp, v[1]), mode).var(); },
                 [&](const auto& v) { return fused_contract(b, v[0], v[1], mode); });
  require_same({X}, [&](const auto& v) { return readout(PD(b, v[0])).var(); },
               [&](const auto& v) { return readout2(b, v[0]); });
  require_same({x}, [&](const auto& v) { return outer_product(ND(b, v[0])).var(); },
               [&](const auto& v) { return outer_product(b, v[0]); });

  // the result carries the batch of its input, and the right shape
  const PD lifted = equivariant_1to2(ND(bp, VD(x)));
  CHECK(lifted.batch_ptr() == bp);
  CHECK(lifted.rows() == b.pairs());
  CHECK(lifted.channels() == 15);
  const ND down = equivariant_2to1(lifted);
  CHECK(down.rows() == b.nodes());
  CHECK(down.channels() == 75);
}

TEST_CASE("SecondOrderLayer typed forward equals the untyped forward bit for bit", "[ops][equi_tensor][models]") {
  const auto b = RaggedBatch::from_sizes({4, 2, 5});
  CounterRng rng(11);
  for (const bool norm : {true, false}) {
    models::SecondOrderLayer<double> layer(2, 3, 4, rng, models::Activation::Tanh, ContractionMode::Trace, norm);
    const TD A = rnd({b.pairs(), 2}, 12), H = rnd({b.pairs(), 3}, 13);
    require_same({A, H}, [&](const auto& v) { return layer.forward(PD(b, v[0]), PD(b, v[1])).var(); },
                 [&](const auto& v) { return layer.forward(b, v[0], v[1]); });
  }
}

TEST_CASE("EquiTensor checks its rows against the batch", "[ops][equi_tensor]") {
  const auto b = RaggedBatch::from_sizes({3, 2});  // 5 nodes, 13 pairs
  const auto message = [](const std::function<void()>& f) {
    try {
      f();
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("(no exception)");
  };
  const std::string m1 = message([&] { ND(b, VD(TD::zeros({13, 2}))); });
  CHECK(m1.find("has 13 rows, expected 5") != std::string::npos);
  CHECK(m1.find("EquiTensor<T, 1>") != std::string::npos);
  const std::string m2 = message([&] { PD(b, VD(TD::zeros({5, 2}))); });
  CHECK(m2.find("has 5 rows, expected 13") != std::string::npos);
  CHECK(m2.find("EquiTensor<T, 2>") != std::string::npos);
  CHECK_THROWS_AS(PD(b, VD(TD::zeros({13}))), std::invalid_argument);              // not 2-D
  CHECK_THROWS_AS(PD(b, VD()), std::invalid_argument);                             // undefined
  CHECK_THROWS_AS(PD(std::shared_ptr<const RaggedBatch>(), VD(TD::zeros({13, 2}))), std::invalid_argument);
  CHECK_NOTHROW(PD(b, VD(TD::zeros({13, 2}))));
  CHECK_NOTHROW(ND(b, VD(TD::zeros({5, 0}))));

  // two pair tensors of different batches cannot be contracted together; equal offsets are fine
  const auto other = RaggedBatch::from_sizes({2, 3});  // also 13 pairs, other blocks
  const PD A(b, VD(TD::ones({13, 1}))), H(other, VD(TD::ones({13, 1})));
  const std::string m3 = message([&] { fused_contract(A, H); });
  CHECK(m3.find("different batch") != std::string::npos);
  CHECK_NOTHROW(fused_contract(A, PD(b, VD(TD::ones({13, 2})))));
}

TEST_CASE("a typed chain node -> pair -> layer -> node is permutation equivariant and gradchecks",
          "[ops][equi_tensor]") {
  const auto b = RaggedBatch::from_sizes({4, 3, 5});
  const auto ps = testing::random_perms(b, 17);
  CounterRng rng(21);
  models::SecondOrderLayer<double> layer(2, 5 * 2, 3, rng, models::Activation::Tanh);
  const auto chain = [&](const RaggedBatch& batch, const VD& A, const VD& x) {
    const ND xt(batch, x);
    const PD At(batch, A);
    const PD h = layer.forward(At, equivariant_1to2(xt, true));
    return equivariant_1to1(readout(equivariant_2to2(h, true))).var();
  };
  const TD A = rnd({b.pairs(), 2}, 22), x = rnd({b.nodes(), 2}, 23);
  const TD y = chain(b, VD(A), VD(x)).value();
  const TD yp = chain(b, VD(permute_pairs(b, ps, A)), VD(permute_nodes(b, ps, x))).value();
  CHECK(y.shape() == Shape{b.nodes(), 2 * 2 * 15 * 3});
  CHECK(max_abs_diff(yp, permute_nodes(b, ps, y)) < 1e-10);
  // the check can fail: a different permutation of the output is not what the chain gives
  auto other = ps;
  std::swap(other[0][0], other[0][1]);
  CHECK(max_abs_diff(yp, permute_nodes(b, other, y)) > 1e-6);

  const auto small = RaggedBatch::from_sizes({2, 3});
  const auto r = gradcheck([&](const std::vector<VD>& v) { return chain(small, v[0], v[1]); },
                           {rnd({small.pairs(), 2}, 24), rnd({small.nodes(), 2}, 25)});
  INFO(r.message);
  REQUIRE(r.checked > 0);
  CHECK(r.ok);
}
