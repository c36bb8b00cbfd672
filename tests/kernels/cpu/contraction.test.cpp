// Tests for include/mgvae/kernels/cpu/contraction.hpp: fused Eq. 3 contractions vs the naive Def. 10/11
// reference, CSR vs dense, backward vs central finite differences, permutation equivariance, readout.
#include "mgvae/kernels/cpu/contraction.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <stdexcept>
#include <vector>

#include "support/catch.hpp"

using namespace mgvae::kernels::cpu;
using I64 = std::int64_t;

namespace {

struct Batch {
  std::vector<I64> node_off, pair_off;
  I64 B = 0;
};

Batch make_batch(const std::vector<I64>& sizes) {
  Batch b;
  b.B = static_cast<I64>(sizes.size());
  b.node_off.assign(1, 0);
  b.pair_off.assign(1, 0);
  for (I64 n : sizes) {
    b.node_off.push_back(b.node_off.back() + n);
    b.pair_off.push_back(b.pair_off.back() + n * n);
  }
  return b;
}

template <class T>
std::vector<T> randv(std::size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(u(rng));
  return v;
}

/// Random sparse A (density ~0.4, diagonal entries allowed) in dense pair layout and in CSR.
template <class T>
void make_sparse(const Batch& b, I64 E, std::mt19937& rng, std::vector<T>& dense, std::vector<I64>& row_ptr,
                 std::vector<I64>& col, std::vector<T>& val) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::bernoulli_distribution keep(0.4);
  const I64 N = b.node_off[b.B];
  dense.assign(static_cast<std::size_t>(b.pair_off[b.B] * E), T(0));
  row_ptr.assign(1, 0);
  col.clear();
  val.clear();
  for (I64 g = 0; g < b.B; ++g) {
    const I64 n = b.node_off[g + 1] - b.node_off[g];
    for (I64 i = 0; i < n; ++i) {
      for (I64 j = 0; j < n; ++j)
        if (keep(rng)) {
          col.push_back(b.node_off[g] + j);
          for (I64 e = 0; e < E; ++e) {
            const T v = static_cast<T>(u(rng));
            val.push_back(v);
            dense[(b.pair_off[g] + i * n + j) * E + e] = v;
          }
        }
      row_ptr.push_back(static_cast<I64>(col.size()));
    }
  }
  REQUIRE(static_cast<I64>(row_ptr.size()) == N + 1);
}

template <class T>
double max_rel_err(const std::vector<T>& a, const std::vector<T>& b) {
  REQUIRE(a.size() == b.size());
  double scale = 1e-30, err = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    scale = std::max(scale, std::abs(static_cast<double>(b[i])));
    err = std::max(err, std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
  }
  return err / scale;
}

template <class T>
double tol() {
  return sizeof(T) == 4 ? 2e-5 : 1e-12;
}

const std::vector<I64> kSizes = {3, 0, 1, 5, 2, 9, 4};

}  // namespace

TEMPLATE_TEST_CASE("fused contraction forward equals the naive Def. 11 reference", "[kernels][contraction]", float,
                   double) {
  using T = TestType;
  std::mt19937 rng(1234);
  const Batch b = make_batch(kSizes);
  for (auto mode : {ContractionMode::Trace, ContractionMode::IndependentSums})
    for (I64 E : {1, 2})
      for (I64 C : {1, 3, 17, 67}) {
        if (E == 2 && C == 67) continue;
        const I64 P = b.pair_off[b.B];
        auto A = randv<T>(P * E, rng), H = randv<T>(P * C, rng);
        std::vector<T> o1(P * 6 * E * C, T(-7)), o2(P * 6 * E * C, T(-7));
        fused_contract_forward<T>(b.B, b.node_off.data(), b.pair_off.data(), A.data(), E, H.data(), C, o1.data(),
                                  mode);
        contraction_naive<T>(b.B, b.node_off.data(), b.pair_off.data(), A.data(), E, H.data(), C, o2.data(), mode);
        INFO("mode " << static_cast<int>(mode) << " E " << E << " C " << C);
        CHECK(max_rel_err(o1, o2) < tol<T>());
      }
}

TEST_CASE("trace-mode contractions match the matrix forms of DESIGN.md §4", "[kernels][contraction]") {
  // One graph, E = C = 1: k=1 is AᵀH, k=2 is AH, k=3 is (HA)ᵀ, k=4 is AHᵀ, k=0 tr(A)H, k=5 tr(H)A.
  std::mt19937 rng(7);
  const I64 n = 5;
  const Batch b = make_batch({n});
  auto A = randv<double>(n * n, rng), H = randv<double>(n * n, rng);
  std::vector<double> o(n * n * 6);
  fused_contract_forward<double>(1, b.node_off.data(), b.pair_off.data(), A.data(), 1, H.data(), 1, o.data());
  double trA = 0, trH = 0;
  for (I64 a = 0; a < n; ++a) trA += A[a * n + a], trH += H[a * n + a];
  for (I64 i = 0; i < n; ++i)
    for (I64 j = 0; j < n; ++j) {
      double AtH = 0, AH = 0, HAt = 0, AHt = 0;
      for (I64 a = 0; a < n; ++a) {
        AtH += A[a * n + i] * H[a * n + j];
        AH += A[i * n + a] * H[a * n + j];
        HAt += H[j * n + a] * A[a * n + i];  // (HA)_ji
        AHt += A[i * n + a] * H[j * n + a];
      }
      const double* r = &o[(i * n + j) * 6];
      CHECK(r[0] == Approx(trA * H[i * n + j]));
      CHECK(r[1] == Approx(AtH));
      CHECK(r[2] == Approx(AH));
      CHECK(r[3] == Approx(HAt));
      CHECK(r[4] == Approx(AHt));
      CHECK(r[5] == Approx(trH * A[i * n + j]));
    }
}

TEMPLATE_TEST_CASE("CSR fused contraction equals dense (forward and backward)", "[kernels][contraction]", float,
                   double) {
  using T = TestType;
  std::mt19937 rng(99);
  const Batch b = make_batch(kSizes);
  for (auto mode : {ContractionMode::Trace, ContractionMode::IndependentSums})
    for (I64 E : {1, 2})
      for (I64 C : {1, 5, 19}) {
        const I64 P = b.pair_off[b.B];
        std::vector<T> Ad, val;
        std::vector<I64> rp, col;
        make_sparse<T>(b, E, rng, Ad, rp, col, val);
        auto H = randv<T>(P * C, rng), G = randv<T>(P * 6 * E * C, rng);
        std::vector<T> o1(P * 6 * E * C), o2(P * 6 * E * C);
        fused_contract_forward<T>(b.B, b.node_off.data(), b.pair_off.data(), Ad.data(), E, H.data(), C, o1.data(),
                                  mode);
        fused_contract_csr_forward<T>(b.B, b.node_off.data(), b.pair_off.data(), rp.data(), col.data(), val.data(), E,
                                      H.data(), C, o2.data(), mode);
        INFO("mode " << static_cast<int>(mode) << " E " << E << " C " << C);
        CHECK(max_rel_err(o2, o1) < tol<T>());
        std::vector<T> dH1(P * C), dA1(P * E), dH2(P * C), dv(val.size());
        fused_contract_backward<T>(b.B, b.node_off.data(), b.pair_off.data(), Ad.data(), E, H.data(), C, G.data(),
                                   dH1.data(), dA1.data(), mode);
        fused_contract_csr_backward<T>(b.B, b.node_off.data(), b.pair_off.data(), rp.data(), col.data(), val.data(),
                                       E, H.data(), C, G.data(), dH2.data(), dv.data(), mode);
        CHECK(max_rel_err(dH2, dH1) < tol<T>());
        // gather the dense grad_A at the nnz positions
        std::vector<T> dvd(val.size());
        for (I64 g = 0; g < b.B; ++g) {
          const I64 n = b.node_off[g + 1] - b.node_off[g];
          for (I64 r = b.node_off[g]; r < b.node_off[g + 1]; ++r)
            for (I64 p = rp[r]; p < rp[r + 1]; ++p)
              for (I64 e = 0; e < E; ++e)
                dvd[p * E + e] = dA1[(b.pair_off[g] + (r - b.node_off[g]) * n + (col[p] - b.node_off[g])) * E + e];
        }
        CHECK(max_rel_err(dv, dvd) < tol<T>());
      }
}

TEST_CASE("fused contraction backward equals central finite differences (double)", "[kernels][contraction]") {
  std::mt19937 rng(5);
  for (auto mode : {ContractionMode::Trace, ContractionMode::IndependentSums})
    for (auto cfg : {std::pair<std::vector<I64>, std::pair<I64, I64>>{{3, 0, 1, 4}, {2, 3}},
                     std::pair<std::vector<I64>, std::pair<I64, I64>>{{6}, {1, 9}}}) {
      const Batch b = make_batch(cfg.first);
      const I64 E = cfg.second.first, C = cfg.second.second, P = b.pair_off[b.B];
      auto A = randv<double>(P * E, rng), H = randv<double>(P * C, rng), G = randv<double>(P * 6 * E * C, rng);
      std::vector<double> dH(P * C), dA(P * E), o(P * 6 * E * C);
      fused_contract_backward<double>(b.B, b.node_off.data(), b.pair_off.data(), A.data(), E, H.data(), C, G.data(),
                                      dH.data(), dA.data(), mode);
      auto loss = [&]() {
        fused_contract_forward<double>(b.B, b.node_off.data(), b.pair_off.data(), A.data(), E, H.data(), C, o.data(),
                                       mode);
        return std::inner_product(o.begin(), o.end(), G.begin(), 0.0);
      };
      const double h = 1e-6;
      double err = 0, scale = 1e-12;
      for (auto* buf : {&H, &A}) {
        const auto& grad = buf == &H ? dH : dA;
        for (std::size_t k = 0; k < buf->size(); ++k) {
          const double x0 = (*buf)[k];
          (*buf)[k] = x0 + h;
          const double lp = loss();
          (*buf)[k] = x0 - h;
          const double lm = loss();
          (*buf)[k] = x0;
          const double fd = (lp - lm) / (2 * h);
          err = std::max(err, std::abs(fd - grad[k]));
          scale = std::max(scale, std::abs(fd));
        }
      }
      INFO("mode " << static_cast<int>(mode) << " E " << E << " C " << C);
      CHECK(err / scale < 1e-7);
    }
}

TEMPLATE_TEST_CASE("fused contraction is permutation equivariant", "[kernels][contraction]", float, double) {
  using T = TestType;
  std::mt19937 rng(11);
  const Batch b = make_batch({6, 1, 0, 8});
  const I64 E = 2, C = 5, P = b.pair_off[b.B], S = 6 * E * C;
  auto A = randv<T>(P * E, rng), H = randv<T>(P * C, rng);
  // σ per graph; (σ·X)_ij = X_{σ(i) σ(j)}
  std::vector<T> Ap(A.size()), Hp(H.size());
  std::vector<std::vector<I64>> perms;
  for (I64 g = 0; g < b.B; ++g) {
    const I64 n = b.node_off[g + 1] - b.node_off[g];
    std::vector<I64> s(n);
    std::iota(s.begin(), s.end(), 0);
    std::shuffle(s.begin(), s.end(), rng);
    perms.push_back(s);
    for (I64 i = 0; i < n; ++i)
      for (I64 j = 0; j < n; ++j) {
        for (I64 e = 0; e < E; ++e)
          Ap[(b.pair_off[g] + i * n + j) * E + e] = A[(b.pair_off[g] + s[i] * n + s[j]) * E + e];
        for (I64 c = 0; c < C; ++c)
          Hp[(b.pair_off[g] + i * n + j) * C + c] = H[(b.pair_off[g] + s[i] * n + s[j]) * C + c];
      }
  }
  for (auto mode : {ContractionMode::Trace, ContractionMode::IndependentSums}) {
    std::vector<T> o(P * S), op(P * S), po(P * S);
    fused_contract_forward<T>(b.B, b.node_off.data(), b.pair_off.data(), A.data(), E, H.data(), C, o.data(), mode);
    fused_contract_forward<T>(b.B, b.node_off.data(), b.pair_off.data(), Ap.data(), E, Hp.data(), C, op.data(),
                              mode);
    for (I64 g = 0; g < b.B; ++g) {
      const I64 n = b.node_off[g + 1] - b.node_off[g];
      const auto& s = perms[g];
      for (I64 i = 0; i < n; ++i)
        for (I64 j = 0; j < n; ++j)
          for (I64 k = 0; k < S; ++k)
            po[(b.pair_off[g] + i * n + j) * S + k] = o[(b.pair_off[g] + s[i] * n + s[j]) * S + k];
    }
    CHECK(max_rel_err(op, po) < tol<T>());
  }
}

TEST_CASE("generic contract handles out-of-order pairs and orders 2..4", "[kernels][contraction]") {
  std::mt19937 rng(3);
  const I64 n = 3, C = 2;
  for (int order : {2, 3, 4}) {
    I64 NT = 1;
    for (int k = 0; k < order; ++k) NT *= n;
    auto X = randv<double>(NT * C, rng);
    for (int x = 1; x <= order; ++x)
      for (int y = x + 1; y <= order; ++y)
        for (auto mode : {ContractionMode::Trace, ContractionMode::IndependentSums}) {
          std::vector<double> a(NT / (n * n) * C), c(a.size());
          contract(X.data(), n, order, C, x, y, a.data(), mode);
          contract(X.data(), n, order, C, y, x, c.data(), mode);
          CHECK(a == c);
        }
  }
  // order 2: Trace gives the trace, IndependentSums the total.
  auto X = randv<double>(n * n, rng);
  double tr = 0, tot = 0, r1 = 0, r2 = 0;
  for (I64 i = 0; i < n; ++i)
    for (I64 j = 0; j < n; ++j) tot += X[i * n + j], tr += (i == j) ? X[i * n + j] : 0;
  contract(X.data(), n, 2, 1, 2, 1, &r1, ContractionMode::Trace);
  contract(X.data(), n, 2, 1, 1, 2, &r2, ContractionMode::IndependentSums);
  CHECK(r1 == Approx(tr));
  CHECK(r2 == Approx(tot));
  CHECK_THROWS_AS(contract(X.data(), n, 2, 1, 1, 1, &r1), std::invalid_argument);
  CHECK_THROWS_AS(contract(X.data(), n, 2, 1, 1, 3, &r1), std::invalid_argument);
}

TEST_CASE("tensor_product pairwise and outer channels", "[kernels][contraction]") {
  const double X[] = {1, 2, 3, 4};  // n=2, order 1, C=2
  const double Y[] = {5, 6, 7, 8};
  double o[2 * 2 * 4];
  tensor_product(X, 1, 2, Y, 1, 2, 2, o, ChannelMode::Outer);
  CHECK(o[(0 * 2 + 1) * 4 + 1] == 1 * 8);  // X_0,c0 · Y_1,c1
  CHECK(o[(1 * 2 + 0) * 4 + 2] == 4 * 5);  // X_1,c1 · Y_0,c0
  tensor_product(X, 1, 2, Y, 1, 2, 2, o, ChannelMode::Pairwise);
  CHECK(o[(1 * 2 + 1) * 2 + 1] == 4 * 8);
  CHECK_THROWS_AS(tensor_product(X, 1, 2, Y, 1, 1, 2, o, ChannelMode::Pairwise), std::invalid_argument);
}

TEST_CASE("readout Z = H↓1 ⊕ H↓2 and its adjoint", "[kernels][contraction]") {
  std::mt19937 rng(8);
  const Batch b = make_batch({3, 0, 1, 4});
  const I64 C = 3, P = b.pair_off[b.B], N = b.node_off[b.B];
  auto H = randv<double>(P * C, rng), dZ = randv<double>(N * 2 * C, rng);
  std::vector<double> Z(N * 2 * C), dH(P * C);
  readout_forward<double>(b.B, b.node_off.data(), b.pair_off.data(), H.data(), C, Z.data());
  readout_backward<double>(b.B, b.node_off.data(), b.pair_off.data(), dZ.data(), C, dH.data());
  // reference through generic contract on order 2: ↓1 leaves the 2nd index
  for (I64 g = 0; g < b.B; ++g) {
    const I64 n = b.node_off[g + 1] - b.node_off[g];
    for (I64 i = 0; i < n; ++i)
      for (I64 c = 0; c < C; ++c) {
        double s1 = 0, s2 = 0;
        for (I64 a = 0; a < n; ++a) {
          s1 += H[(b.pair_off[g] + a * n + i) * C + c];
          s2 += H[(b.pair_off[g] + i * n + a) * C + c];
        }
        CHECK(Z[(b.node_off[g] + i) * 2 * C + c] == Approx(s1));
        CHECK(Z[(b.node_off[g] + i) * 2 * C + C + c] == Approx(s2));
      }
  }
  CHECK(std::inner_product(Z.begin(), Z.end(), dZ.begin(), 0.0) ==
        Approx(std::inner_product(H.begin(), H.end(), dH.begin(), 0.0)));
}

TEST_CASE("fused contraction validates its arguments", "[kernels][contraction]") {
  const Batch b = make_batch({2, 3});
  std::vector<double> A(13), H(13), o(13 * 6);
  auto bad = b.pair_off;
  bad[1] = 3;
  CHECK_THROWS_AS(fused_contract_forward<double>(2, b.node_off.data(), bad.data(), A.data(), 1, H.data(), 1, o.data()),
                  std::invalid_argument);
  CHECK_THROWS_AS(
      fused_contract_forward<double>(2, b.node_off.data(), b.pair_off.data(), A.data(), 0, H.data(), 1, o.data()),
      std::invalid_argument);
  CHECK_THROWS_AS(
      fused_contract_forward<double>(2, b.node_off.data(), b.pair_off.data(), A.data(), 1, H.data(), -1, o.data()),
      std::invalid_argument);
  CHECK_THROWS_AS(
      fused_contract_forward<double>(-1, b.node_off.data(), b.pair_off.data(), A.data(), 1, H.data(), 1, o.data()),
      std::invalid_argument);
  auto badn = b.node_off;
  badn[1] = 6;  // graph 1 would have a negative size
  CHECK_THROWS_AS(fused_contract_forward<double>(2, badn.data(), b.pair_off.data(), A.data(), 1, H.data(), 1, o.data()),
                  std::invalid_argument);
  // CSR column leaving its graph
  std::vector<I64> rp = {0, 1, 1, 1, 1, 1}, col = {3};
  std::vector<double> val = {1.0};
  CHECK_THROWS_AS(fused_contract_csr_forward<double>(2, b.node_off.data(), b.pair_off.data(), rp.data(), col.data(),
                                                     val.data(), 1, H.data(), 1, o.data()),
                  std::invalid_argument);
  // B = 0 is fine
  CHECK_NOTHROW(fused_contract_forward<double>(0, b.node_off.data(), b.pair_off.data(), nullptr, 1, nullptr, 4,
                                               nullptr));
}

TEST_CASE("row-chunked large graph and parallel batch paths (n = 70; 24 graphs of n = 12)",
          "[kernels][contraction]") {
  // n >= 64 splits a graph into 32-row tasks; a batch this size opens OpenMP regions. Forward is checked
  // against direct O(n³) loops of the Trace formulas, the backward by bilinearity:
  // <G, f(A, H)> = <∂A, A> = <∂H, H>.
  std::mt19937 rng(21);
  for (const auto& sizes : {std::vector<I64>{70}, std::vector<I64>(24, 12)}) {
    const Batch b = make_batch(sizes);
    const I64 C = 3, P = b.pair_off[b.B], S = 6 * C;
    auto A = randv<double>(P, rng), H = randv<double>(P * C, rng), G = randv<double>(P * S, rng);
    std::vector<double> o(P * S), dH(P * C), dA(P);
    fused_contract_forward<double>(b.B, b.node_off.data(), b.pair_off.data(), A.data(), 1, H.data(), C, o.data());
    fused_contract_backward<double>(b.B, b.node_off.data(), b.pair_off.data(), A.data(), 1, H.data(), C, G.data(),
                                    dH.data(), dA.data());
    double err = 0;
    for (I64 g = 0; g < b.B; ++g) {
      const I64 n = b.node_off[g + 1] - b.node_off[g];
      const double* Ag = A.data() + b.pair_off[g];
      const double* Hg = H.data() + b.pair_off[g] * C;
      const double* og = o.data() + b.pair_off[g] * S;
      double trA = 0;
      std::vector<double> trH(C, 0.0);
      for (I64 a = 0; a < n; ++a) {
        trA += Ag[a * n + a];
        for (I64 c = 0; c < C; ++c) trH[c] += Hg[(a * n + a) * C + c];
      }
      for (I64 i = 0; i < n; ++i)
        for (I64 j = 0; j < n; ++j)
          for (I64 c = 0; c < C; ++c) {
            double r[6] = {trA * Hg[(i * n + j) * C + c], 0, 0, 0, 0, Ag[i * n + j] * trH[c]};
            for (I64 a = 0; a < n; ++a) {
              r[1] += Ag[a * n + i] * Hg[(a * n + j) * C + c];
              r[2] += Ag[i * n + a] * Hg[(a * n + j) * C + c];
              r[3] += Ag[a * n + i] * Hg[(j * n + a) * C + c];
              r[4] += Ag[i * n + a] * Hg[(j * n + a) * C + c];
            }
            for (int k = 0; k < 6; ++k) err = std::max(err, std::abs(r[k] - og[(i * n + j) * S + k * C + c]));
          }
    }
    CHECK(err < 1e-10);
    const double l = std::inner_product(o.begin(), o.end(), G.begin(), 0.0);
    CHECK(std::inner_product(dH.begin(), dH.end(), H.begin(), 0.0) == Approx(l).epsilon(1e-10));
    CHECK(std::inner_product(dA.begin(), dA.end(), A.begin(), 0.0) == Approx(l).epsilon(1e-10));
  }
}
