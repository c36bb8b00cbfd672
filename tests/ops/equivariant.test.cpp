// Differentiable equivariant ops (ops/equivariant.hpp): gradcheck in double, agreement with naive
// references written from Defs. 10-11, permutation equivariance (Props. 1-2), and typed errors.
#include "mgvae/ops/equivariant.hpp"

#include <functional>
#include <vector>

#include "mgvae/autodiff/gradcheck.hpp"
#include "mgvae/core/rng.hpp"
#include "support/catch.hpp"
#include "support/permute.hpp"

using namespace mgvae;
using TD = Tensor<double>;
using VD = Var<double>;

namespace {
using testing::permute_nodes;
using testing::permute_pairs;

TD rnd(const Shape& s, std::uint64_t seed) { return TD::uniform(s, CounterRng(seed), -1.0, 1.0); }


/// Brute-force Eq. 3 straight from Def. 10 + Def. 11: T_{abcd,(e,c)} = A_ab,e H_cd,c, then contract the pair
/// (x, y): Trace sets i_x = i_y, IndependentSums sums both; the remaining two indices become (i, j) in order.
TD einsum_eq3(const RaggedBatch& b, const TD& A, const TD& H, ContractionMode mode) {
  const std::int64_t E = A.size(1), C = H.size(1), S = 6 * E * C;
  TD out = TD::zeros({b.pairs(), S});
  const int pairs[6][2] = {{0, 1}, {0, 2}, {1, 2}, {0, 3}, {1, 3}, {2, 3}};
  for (std::int64_t g = 0; g < b.graphs(); ++g) {
    const std::int64_t n = b.size(g), po = b.pair_off[g];
    for (int k = 0; k < 6; ++k)
      for (std::int64_t t0 = 0; t0 < n; ++t0)
        for (std::int64_t t1 = 0; t1 < n; ++t1)
          for (std::int64_t t2 = 0; t2 < n; ++t2)
            for (std::int64_t t3 = 0; t3 < n; ++t3) {
              const std::int64_t t[4] = {t0, t1, t2, t3};
              const int x = pairs[k][0], y = pairs[k][1];
              if (mode == ContractionMode::Trace && t[x] != t[y]) continue;
              std::int64_t rest[2], r = 0;
              for (int d = 0; d < 4; ++d)
                if (d != x && d != y) rest[r++] = t[d];
              for (std::int64_t e = 0; e < E; ++e)
                for (std::int64_t c = 0; c < C; ++c)
                  out.data()[(po + rest[0] * n + rest[1]) * S + k * E * C + e * C + c] +=
                      A.data()[(po + t0 * n + t1) * E + e] * H.data()[(po + t2 * n + t3) * C + c];
            }
  }
  return out;
}

void require_grad_ok(const GradcheckResult& r) {
  INFO(r.message);
  REQUIRE(r.checked > 0);
  CHECK(r.ok);
}

}  // namespace

TEST_CASE("RaggedBatch offsets and validation", "[ops][equivariant]") {
  const auto b = RaggedBatch::from_sizes({2, 0, 3});
  CHECK(b.node_off == std::vector<std::int64_t>{0, 2, 2, 5});
  CHECK(b.pair_off == std::vector<std::int64_t>{0, 4, 4, 13});
  CHECK(b.graphs() == 3);
  CHECK(b.nodes() == 5);
  CHECK(b.pairs() == 13);
  CHECK_THROWS_AS(RaggedBatch::from_sizes({2, -1}), std::invalid_argument);
  RaggedBatch bad = b;
  bad.pair_off[2] = 5;  // block 1 claims 1 pair for n = 0
  CHECK_THROWS_AS(bad.validate("test"), std::invalid_argument);
}

TEST_CASE("fused_contract equals the Def. 10/11 einsum in both readings of Def. 11", "[ops][equivariant][contraction]") {
  const auto b = RaggedBatch::from_sizes({3, 1, 4, 0, 2});
  const TD A = rnd({b.pairs(), 2}, 1), H = rnd({b.pairs(), 3}, 2);
  for (auto mode : {ContractionMode::Trace, ContractionMode::IndependentSums}) {
    const VD y = fused_contract(b, VD(A), VD(H), mode);
    CHECK(y.shape() == Shape{b.pairs(), 36});
    CHECK(max_abs_diff(y.value(), einsum_eq3(b, A, H, mode)) < 1e-12);
    // the kernels' own materialising baseline agrees too
    TD naive(Shape{b.pairs(), 36});
    kernels::cpu::contraction_naive(b.graphs(), b.node_off.data(), b.pair_off.data(), A.data(), 2, H.data(), 3,
                                    naive.data(), mode);
    CHECK(max_abs_diff(y.value(), naive) < 1e-12);
  }
}

TEST_CASE("fused_contract gradcheck (double) for A and H, both modes; gating skips A", "[ops][equivariant][grad]") {
  const auto b = RaggedBatch::from_sizes({2, 3});
  const TD A = rnd({b.pairs(), 2}, 3), H = rnd({b.pairs(), 2}, 4);
  for (auto mode : {ContractionMode::Trace, ContractionMode::IndependentSums}) {
    require_grad_ok(gradcheck([&](const std::vector<VD>& v) { return fused_contract(b, v[0], v[1], mode); }, {A, H}));
  }
  VD a(A, false), h(H, true);
  backward(fused_contract(b, a, h), TD::ones({b.pairs(), 24}));
  CHECK_FALSE(a.grad().defined());
  CHECK(h.grad().defined());
}

TEST_CASE("fused_contract_csr equals the dense op; gradcheck for values and H", "[ops][equivariant][grad]") {
  const auto b = RaggedBatch::from_sizes({3, 2});
  // pattern: graph 0 edges (0,1),(1,0),(1,2),(2,2); graph 1 edge (3,4),(4,3)
  RaggedCsrPattern p;
  p.row_ptr = {0, 1, 3, 4, 5, 6};
  p.col = {1, 0, 2, 2, 4, 3};
  const TD val = rnd({6, 2}, 5), H = rnd({b.pairs(), 2}, 6);
  TD dense = TD::zeros({b.pairs(), 2});
  for (std::int64_t g = 0; g < b.graphs(); ++g)
    for (std::int64_t r = b.node_off[g]; r < b.node_off[g + 1]; ++r)
      for (std::int64_t k = p.row_ptr[r]; k < p.row_ptr[r + 1]; ++k)
        for (int e = 0; e < 2; ++e)
          dense.data()[(b.pair_off[g] + (r - b.node_off[g]) * b.size(g) + (p.col[k] - b.node_off[g])) * 2 + e] =
              val.data()[k * 2 + e];
  for (auto mode : {ContractionMode::Trace, ContractionMode::IndependentSums}) {
    CHECK(max_abs_diff(fused_contract_csr(b, p, VD(val), VD(H), mode).value(),
                       fused_contract(b, VD(dense), VD(H), mode).value()) < 1e-12);
    require_grad_ok(gradcheck([&](const std::vector<VD>& v) { return fused_contract_csr(b, p, v[0], v[1], mode); }, {val, H}));
  }
  RaggedCsrPattern leak = p;
  leak.col[4] = 1;  // row 3 (graph 1) points into graph 0
  CHECK_THROWS_AS(fused_contract_csr(b, leak, VD(val), VD(H)), std::invalid_argument);
  RaggedCsrPattern short_rows = p;
  short_rows.row_ptr.pop_back();
  CHECK_THROWS_AS(fused_contract_csr(b, short_rows, VD(val), VD(H)), std::invalid_argument);
}

TEST_CASE("fused_contract, readout and the basis expansions are permutation equivariant", "[ops][equivariant]") {
  const auto b = RaggedBatch::from_sizes({4, 1, 5, 3});
  const auto ps = testing::random_perms(b, 77);
  const TD A = rnd({b.pairs(), 2}, 7), H = rnd({b.pairs(), 3}, 8), x = rnd({b.nodes(), 3}, 9);
  const auto close = [](const TD& u, const TD& v) { return max_abs_diff(u, v) < 1e-12; };
  for (auto mode : {ContractionMode::Trace, ContractionMode::IndependentSums})
    CHECK(close(fused_contract(b, VD(permute_pairs(b, ps, A)), VD(permute_pairs(b, ps, H)), mode).value(),
                permute_pairs(b, ps, fused_contract(b, VD(A), VD(H), mode).value())));
  CHECK(close(readout2(b, VD(permute_pairs(b, ps, H))).value(), permute_nodes(b, ps, readout2(b, VD(H)).value())));
  for (bool norm : {false, true}) {
    CHECK(close(equivariant_2to2(b, VD(permute_pairs(b, ps, H)), norm).value(), permute_pairs(b, ps, equivariant_2to2(b, VD(H), norm).value())));
    CHECK(close(equivariant_2to1(b, VD(permute_pairs(b, ps, H)), norm).value(), permute_nodes(b, ps, equivariant_2to1(b, VD(H), norm).value())));
    CHECK(close(equivariant_1to2(b, VD(permute_nodes(b, ps, x)), norm).value(), permute_pairs(b, ps, equivariant_1to2(b, VD(x), norm).value())));
    CHECK(close(equivariant_1to1(b, VD(permute_nodes(b, ps, x)), norm).value(), permute_nodes(b, ps, equivariant_1to1(b, VD(x), norm).value())));
  }
  CHECK(close(outer_product(b, VD(permute_nodes(b, ps, x))).value(), permute_pairs(b, ps, outer_product(b, VD(x)).value())));
  // and the test can fail: a non-equivariant map (fixed row 0 of each block) is caught
  const TD y = readout2(b, VD(H)).value();
  TD broken = y.clone();
  broken.data()[0] += 1.0;
  CHECK_FALSE(close(broken, y));
}

TEST_CASE("readout, basis expansions and outer product: naive values and gradcheck", "[ops][equivariant][grad]") {
  const auto b = RaggedBatch::from_sizes({3, 2});
  const TD H = rnd({b.pairs(), 2}, 10), x = rnd({b.nodes(), 2}, 11);
  // readout: Z_i = (Σ_a H_ai, Σ_b H_ib) on graph 0, node 1, channel 1
  const TD Z = readout2(b, VD(H)).value();
  double col = 0, row = 0;
  for (int a = 0; a < 3; ++a) col += H.data()[(a * 3 + 1) * 2 + 1], row += H.data()[(1 * 3 + a) * 2 + 1];
  CHECK(Z.data()[1 * 4 + 1] == Approx(col).margin(1e-14));
  CHECK(Z.data()[1 * 4 + 2 + 1] == Approx(row).margin(1e-14));
  // outer product on graph 1: Y_(0,1) = z_3 z_4
  const TD Y = outer_product(b, VD(x)).value();
  CHECK(Y.data()[(9 + 1) * 2 + 0] == Approx(x.data()[3 * 2] * x.data()[4 * 2]).margin(1e-14));
  // 2->2 identity and transpose channels
  const TD E22 = equivariant_2to2(b, VD(H)).value();
  CHECK(E22.data()[(0 * 3 + 2) * 30 + 9 * 2] == H.data()[(0 * 3 + 2) * 2]);
  CHECK(E22.data()[(0 * 3 + 2) * 30 + 10 * 2] == H.data()[(2 * 3 + 0) * 2]);

  require_grad_ok(gradcheck([&](const std::vector<VD>& v) { return readout2(b, v[0]); }, {H}));
  require_grad_ok(gradcheck([&](const std::vector<VD>& v) { return outer_product(b, v[0]); }, {x}));
  for (bool norm : {false, true}) {
    require_grad_ok(gradcheck([&](const std::vector<VD>& v) { return equivariant_2to2(b, v[0], norm); }, {H}));
    require_grad_ok(gradcheck([&](const std::vector<VD>& v) { return equivariant_2to1(b, v[0], norm); }, {H}));
    require_grad_ok(gradcheck([&](const std::vector<VD>& v) { return equivariant_1to2(b, v[0], norm); }, {x}));
    require_grad_ok(gradcheck([&](const std::vector<VD>& v) { return equivariant_1to1(b, v[0], norm); }, {x}));
  }
}

TEST_CASE("tensor_product<OA, OB> and contract<Order>: naive values, gradcheck, equivariance", "[ops][equivariant][grad]") {
  const std::int64_t n = 3;
  const TD X = rnd({n * n, 2}, 12), Y = rnd({n, 2}, 13);
  // Outer channels: out[(i,j,k), cx*2+cy] = X_ij,cx Y_k,cy
  const VD T3 = tensor_product<2, 1>(VD(X), VD(Y), n);
  CHECK(T3.shape() == Shape{27, 4});
  CHECK(T3.value().data()[((1 * 3 + 2) * 3 + 0) * 4 + 1 * 2 + 0] == X.data()[(1 * 3 + 2) * 2 + 1] * Y.data()[0]);
  const VD Tp = tensor_product<2, 1>(VD(X), VD(Y), n, ChannelMode::Pairwise);
  CHECK(Tp.shape() == Shape{27, 2});
  require_grad_ok(gradcheck([&](const std::vector<VD>& v) { return tensor_product<2, 1>(v[0], v[1], n); }, {X, Y}));
  require_grad_ok(gradcheck(
      [&](const std::vector<VD>& v) { return tensor_product<2, 1>(v[0], v[1], n, ChannelMode::Pairwise); }, {X, Y}));

  // contract<3>(T, (3, 1)) in trace mode: out_j = Σ_a T_{a j a} (out-of-order pair)
  const TD T = rnd({27, 1}, 14);
  const VD c31 = contract<3>(VD(T), n, 3, 1);
  for (std::int64_t j = 0; j < n; ++j) {
    double s = 0;
    for (std::int64_t a = 0; a < n; ++a) s += T.data()[(a * 3 + j) * 3 + a];
    CHECK(c31.value().data()[j] == Approx(s).margin(1e-14));
  }
  const VD cis = contract<3>(VD(T), n, 1, 3, ContractionMode::IndependentSums);
  for (std::int64_t j = 0; j < n; ++j) {
    double s = 0;
    for (std::int64_t a = 0; a < n; ++a)
      for (std::int64_t c = 0; c < n; ++c) s += T.data()[(a * 3 + j) * 3 + c];
    CHECK(cis.value().data()[j] == Approx(s).margin(1e-14));
  }
  for (auto mode : {ContractionMode::Trace, ContractionMode::IndependentSums})
    require_grad_ok(gradcheck([&](const std::vector<VD>& v) { return contract<4>(v[0], 2, 4, 2, mode); }, {rnd({16, 2}, 15)}));

  // equivariance of contract<4> ∘ tensor_product<2,2> under a node permutation σ
  const TD A2 = rnd({n * n, 1}, 16), H2 = rnd({n * n, 1}, 17);
  const std::vector<std::int64_t> s = {2, 0, 1};
  const auto perm_sq = [&](const TD& M) {
    TD r(M.shape());
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < n; ++j) r.data()[s[i] * n + s[j]] = M.data()[i * n + j];
    return r;
  };
  for (int x = 1; x <= 4; ++x)
    for (int y = 1; y <= 4; ++y) {
      if (x == y) continue;
      const auto f = [&](const TD& a, const TD& h) {
        return contract<4>(tensor_product<2, 2>(VD(a), VD(h), n), n, x, y).value();
      };
      CHECK(max_abs_diff(f(perm_sq(A2), perm_sq(H2)), perm_sq(f(A2, H2))) < 1e-12);
    }
}

TEST_CASE("equivariant ops name the bad argument", "[ops][equivariant]") {
  const auto b = RaggedBatch::from_sizes({2, 3});
  const VD A(TD::zeros({b.pairs(), 1})), H(TD::zeros({b.pairs(), 2})), x(TD::zeros({b.nodes(), 2}));
  const auto msg_has = [](auto&& f, const std::string& needle) {
    try {
      f();
    } catch (const std::invalid_argument& e) {
      return std::string(e.what()).find(needle) != std::string::npos;
    }
    return false;
  };
  CHECK(msg_has([&] { fused_contract(b, VD(TD::zeros({12, 1})), H); }, "argument 'A'"));
  CHECK(msg_has([&] { fused_contract(b, A, VD(TD::zeros({b.pairs()}))); }, "argument 'H'"));
  CHECK(msg_has([&] { fused_contract(b, VD(TD::zeros({b.pairs(), 0})), H); }, "argument 'A'"));
  CHECK(msg_has([&] { readout2(b, x); }, "argument 'H'"));
  CHECK(msg_has([&] { equivariant_1to2(b, H); }, "argument 'x'"));
  CHECK(msg_has([&] { outer_product(b, H); }, "argument 'z'"));
  CHECK(msg_has([&] { contract<3>(VD(TD::zeros({27, 1})), 3, 2, 2); }, "argument 'y'"));
  CHECK(msg_has([&] { tensor_product<1, 1>(x, VD(TD::zeros({4, 3})), 5, ChannelMode::Pairwise); }, "argument 'Y'"));
  RaggedBatch bad = b;
  bad.node_off[1] = 3;  // sizes 3 and 2 but pair_off still says 4, 9
  CHECK(msg_has([&] { readout2(bad, H); }, "argument 'pair_off'"));
}
