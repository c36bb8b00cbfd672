// Benchmarks for include/mgvae/kernels/cpu/cholesky.hpp: the fused Gaussian KL (Σ = LLᵀ + εI, Cholesky +
// triangular solves) forward and forward+backward for B·C independent n×n problems, against the naive
// closed form with explicit inverses and determinants (Eigen .inverse() / .determinant(), the authors'
// torch.inverse + slogdet recipe) in the same file. n = 9 (QM9), 38 (ZINC), 128; C = 16 channels per
// graph, B = 8 graphs (128 problems; n = 128 uses B = 1 → 16 problems). double and float.
//
// FLOP counters (useful work only, per problem): forward ≈ 2·(n³) for the two Gram products L Lᵀ,
// 2·(n³/3) for the two Cholesky factorisations, n³ for K1⁻¹K0 (triangular solve with n right-hand sides),
// total ≈ (3 + 2/3)·n³ multiply-adds ×2. The naive baseline is credited the same useful FLOPs.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wunused-variable"
#endif
#include <Eigen/Dense>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include "mgvae/kernels/cpu/cholesky.hpp"

namespace {

using I64 = std::int64_t;

template <class T>
struct Problems {
  I64 P, n;
  std::vector<T> mu0, L0, mu1, L1, kl, g, gm0, gL0, gm1, gL1;
  Problems(I64 P_, I64 n_) : P(P_), n(n_) {
    std::mt19937 rng(static_cast<unsigned>(P * 1000 + n));
    std::uniform_real_distribution<double> u(-1, 1);
    auto fill = [&](std::vector<T>& v, std::size_t k) {
      v.resize(k);
      for (auto& x : v) x = static_cast<T>(u(rng));
    };
    fill(mu0, P * n), fill(mu1, P * n), fill(L0, P * n * n), fill(L1, P * n * n), fill(g, P);
    for (I64 p = 0; p < P; ++p)
      for (I64 i = 0; i < n; ++i) L0[p * n * n + i * n + i] += T(2), L1[p * n * n + i * n + i] += T(2);
    kl.resize(P), gm0.resize(P * n), gL0.resize(P * n * n), gm1.resize(P * n), gL1.resize(P * n * n);
  }
};

void set_threads(benchmark::State& state) {
#if defined(_OPENMP)
  omp_set_num_threads(static_cast<int>(state.range(1)));
#endif
}

I64 problems_for(I64 n) { return n >= 128 ? 16 : 8 * 16; }

double fwd_flops(I64 n) { return 2.0 * (3.0 + 2.0 / 3.0) * double(n) * n * n; }

template <class T>
void BM_kl_fused(benchmark::State& state, bool backward) {
  set_threads(state);
  const I64 n = state.range(0);
  Problems<T> pb(problems_for(n), n);
  for (auto _ : state) {
    if (backward)
      mgvae::kernels::cpu::gaussian_kl_backward<T>(pb.P, n, pb.mu0.data(), pb.L0.data(), pb.mu1.data(), pb.L1.data(),
                                                   pb.g.data(), pb.gm0.data(), pb.gL0.data(), pb.gm1.data(),
                                                   pb.gL1.data());
    mgvae::kernels::cpu::gaussian_kl_forward<T>(pb.P, n, pb.mu0.data(), pb.L0.data(), pb.mu1.data(), pb.L1.data(),
                                                pb.kl.data());
    benchmark::DoNotOptimize(pb.kl.data());
    benchmark::DoNotOptimize(pb.gL1.data());
    benchmark::ClobberMemory();
  }
  state.counters["FLOPs"] = benchmark::Counter(fwd_flops(n) * double(pb.P) * double(state.iterations()),
                                               benchmark::Counter::kIsRate);
  state.counters["problems"] = double(pb.P);
  state.counters["time_per_problem"] = benchmark::Counter(double(pb.P) * double(state.iterations()),
                                                          benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.SetItemsProcessed(pb.P * state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(sizeof(T)) * pb.P * (2 * n * n + 2 * n) * state.iterations());
}

// Naive: explicit inverse and determinants (forward only).
template <class T>
void BM_kl_naive_inverse(benchmark::State& state) {
  set_threads(state);
  using M = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const I64 n = state.range(0);
  Problems<T> pb(problems_for(n), n);
  for (auto _ : state) {
    for (I64 p = 0; p < pb.P; ++p) {
      Eigen::Map<const M> A0(pb.L0.data() + p * n * n, n, n), A1(pb.L1.data() + p * n * n, n, n);
      const M S0 = A0 * A0.transpose() + T(1e-4) * M::Identity(n, n);
      const M S1 = A1 * A1.transpose() + T(1e-4) * M::Identity(n, n);
      const M S1i = S1.inverse();
      Eigen::Matrix<T, Eigen::Dynamic, 1> d(n);
      for (I64 i = 0; i < n; ++i) d[i] = pb.mu1[p * n + i] - pb.mu0[p * n + i];
      pb.kl[p] = T(0.5) * ((S1i * S0).trace() + d.dot(S1i * d) - T(n) + std::log(S1.determinant()) -
                           std::log(S0.determinant()));
    }
    benchmark::DoNotOptimize(pb.kl.data());
    benchmark::ClobberMemory();
  }
  state.counters["FLOPs"] = benchmark::Counter(fwd_flops(n) * double(pb.P) * double(state.iterations()),
                                               benchmark::Counter::kIsRate);
  state.counters["problems"] = double(pb.P);
  state.counters["time_per_problem"] = benchmark::Counter(double(pb.P) * double(state.iterations()),
                                                          benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.SetItemsProcessed(pb.P * state.iterations());
}

}  // namespace

#define MGVAE_KL_ARGS \
  ->ArgsProduct({{9, 38, 128}, {1, 2}})->ArgNames({"n", "threads"})->UseRealTime()->Unit(benchmark::kMicrosecond)

namespace {
void BM_kl_fused_f64(benchmark::State& s, bool bwd) { BM_kl_fused<double>(s, bwd); }
void BM_kl_fused_f32(benchmark::State& s, bool bwd) { BM_kl_fused<float>(s, bwd); }
}  // namespace

BENCHMARK_CAPTURE(BM_kl_fused_f64, fwd, false) MGVAE_KL_ARGS;
BENCHMARK_CAPTURE(BM_kl_fused_f64, fwdbwd, true) MGVAE_KL_ARGS;
BENCHMARK_CAPTURE(BM_kl_fused_f32, fwd, false) MGVAE_KL_ARGS;
BENCHMARK_CAPTURE(BM_kl_fused_f32, fwdbwd, true) MGVAE_KL_ARGS;
BENCHMARK_TEMPLATE(BM_kl_naive_inverse, double)
    ->ArgsProduct({{9, 38, 128}, {1}})->ArgNames({"n", "threads"})->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_kl_naive_inverse, float)
    ->ArgsProduct({{9, 38, 128}, {1}})->ArgNames({"n", "threads"})->UseRealTime()->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
