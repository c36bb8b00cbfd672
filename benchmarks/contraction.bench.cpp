// Benchmarks for include/mgvae/kernels/cpu/contraction.hpp: the fused Eq. 3 second-order message passing
// (six pair contractions of A ⊗ H) against the naive materialising Def. 10/11 loop, on ragged batches
// shaped like QM9 (128 graphs, n ~ U{1..9}), ZINC (128 graphs, n ~ U{10..38}) and one large graph
// (n = 256). E = 1 edge channel, float.
//
// Counters: FLOP/s counts only unpadded multiply-adds ×2 (forward: 8n³C + 2n²C per graph; backward to H:
// 8n³C + 4n²C; backward to A adds 8n³C + 4n²C), bytes = buffers read + written once, items = graphs.
// `time_per_graph` (seconds per graph) normalises by the number of graphs in the batch. The naive baseline is O(n⁴C) in memory,
// so it runs on the first 16 graphs of the QM9 batch and on the first 2 graphs of the ZINC batch (n = 13, 24);
// compare it through `time_per_graph` (seconds per graph) only; `BM_fused/*_first*` runs the fused kernel on the
// very same graphs for a like-for-like ratio.
//
// Thread count: the benchmark argument (omp_set_num_threads inside).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "mgvae/kernels/cpu/contraction.hpp"

namespace {

using I64 = std::int64_t;
using mgvae::kernels::cpu::ContractionMode;

struct Batch {
  std::vector<I64> node_off{0}, pair_off{0};
  I64 B = 0;
  double sum_n2 = 0, sum_n3 = 0;
};

Batch make_batch(I64 count, I64 lo, I64 hi, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<I64> d(lo, hi);
  Batch b;
  b.B = count;
  for (I64 g = 0; g < count; ++g) {
    const I64 n = d(rng);
    b.node_off.push_back(b.node_off.back() + n);
    b.pair_off.push_back(b.pair_off.back() + n * n);
    b.sum_n2 += double(n) * n;
    b.sum_n3 += double(n) * n * n;
  }
  return b;
}

enum Shape { QM9 = 0, ZINC = 1, LARGE = 2, QM9_NAIVE = 3, ZINC_NAIVE = 4 };

const Batch& batch(int s) {
  static const Batch qm9 = make_batch(128, 1, 9, 2024);
  static const Batch zinc = make_batch(128, 10, 38, 2025);
  static const Batch large = make_batch(1, 256, 256, 0);
  static const Batch qm9n = make_batch(16, 1, 9, 2024);  // the first 16 graphs of the QM9 batch
  static const Batch zincn = make_batch(2, 10, 38, 2025);  // the first 2 graphs of the ZINC batch
  switch (s) {
    case QM9: return qm9;
    case ZINC: return zinc;
    case LARGE: return large;
    case QM9_NAIVE: return qm9n;
    default: return zincn;
  }
}

std::vector<float> randv(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

void set_threads(benchmark::State& state) {
#if defined(_OPENMP)
  omp_set_num_threads(static_cast<int>(state.range(0)));
#else
  if (state.range(0) != 1) state.SkipWithError("built without OpenMP");
#endif
}

void counters(benchmark::State& state, const Batch& b, I64 C, double flops_per_iter, double bytes_per_iter) {
  const double it = static_cast<double>(state.iterations());
  state.counters["FLOPs"] = benchmark::Counter(flops_per_iter * it, benchmark::Counter::kIsRate);
  state.counters["time_per_graph"] =
      benchmark::Counter(static_cast<double>(b.B) * it, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["C"] = static_cast<double>(C);
  state.counters["graphs"] = static_cast<double>(b.B);
  state.SetBytesProcessed(static_cast<int64_t>(bytes_per_iter * it));
  state.SetItemsProcessed(static_cast<int64_t>(b.B) * state.iterations());
}

// mode: 0 = forward, 1 = forward + backward to H, 2 = forward + backward to H and A
void BM_fused(benchmark::State& state, int shape, I64 C, int mode) {
  set_threads(state);
  const Batch& b = batch(shape);
  const I64 P = b.pair_off[b.B];
  auto A = randv(P, 1), H = randv(P * C, 2), G = randv(P * 6 * C, 3);
  std::vector<float> out(P * 6 * C), dH(P * C), dA(P);
  for (auto _ : state) {
    mgvae::kernels::cpu::fused_contract_forward<float>(b.B, b.node_off.data(), b.pair_off.data(), A.data(), 1,
                                                       H.data(), C, out.data());
    if (mode >= 1)
      mgvae::kernels::cpu::fused_contract_backward<float>(b.B, b.node_off.data(), b.pair_off.data(), A.data(), 1,
                                                          H.data(), C, G.data(), dH.data(),
                                                          mode == 2 ? dA.data() : nullptr);
    benchmark::DoNotOptimize(out.data());
    benchmark::DoNotOptimize(dH.data());
    benchmark::ClobberMemory();
  }
  const double fwd = 8 * b.sum_n3 * C + 2 * b.sum_n2 * C;
  const double bwd = 8 * b.sum_n3 * C + 4 * b.sum_n2 * C;
  const double flops = fwd + (mode >= 1 ? bwd : 0) + (mode == 2 ? bwd : 0);
  const double bytes = 4.0 * P * (1 + C + 6 * C) * (mode >= 1 ? 2 : 1);
  counters(state, b, C, flops, bytes);
}

// The naive materialising baseline (builds T = A ⊗ H, n⁴C values per graph, then contracts).
// Backward: the naive VJP is the same contraction loops run over T's adjoint; we time forward twice as
// a (generous) stand-in for "forward + backward" and label it so.
void BM_naive(benchmark::State& state, int shape, I64 C, int mode) {
  set_threads(state);
  const Batch& b = batch(shape);
  const I64 P = b.pair_off[b.B];
  auto A = randv(P, 1), H = randv(P * C, 2);
  std::vector<float> out(P * 6 * C);
  for (auto _ : state) {
    for (int rep = 0; rep < (mode >= 1 ? 2 : 1); ++rep)
      mgvae::kernels::cpu::contraction_naive<float>(b.B, b.node_off.data(), b.pair_off.data(), A.data(), 1,
                                                    H.data(), C, out.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  const double fwd = 8 * b.sum_n3 * C + 2 * b.sum_n2 * C;
  const double bwd = 8 * b.sum_n3 * C + 4 * b.sum_n2 * C;
  counters(state, b, C, fwd + (mode >= 1 ? bwd : 0), 4.0 * P * (1 + C + 6 * C));
}

// CSR adjacency of molecule-like sparsity (a ring plus a few chords, ~2.3 nnz per row incl. symmetry).
void BM_fused_csr(benchmark::State& state, int shape, I64 C, int mode) {
  set_threads(state);
  const Batch& b = batch(shape);
  const I64 P = b.pair_off[b.B];
  std::vector<I64> rp{0}, col;
  std::mt19937 rng(7);
  for (I64 g = 0; g < b.B; ++g) {
    const I64 n = b.node_off[g + 1] - b.node_off[g], o = b.node_off[g];
    for (I64 i = 0; i < n; ++i) {
      std::vector<I64> nb;
      if (n > 1) nb.push_back(o + (i + 1) % n), nb.push_back(o + (i + n - 1) % n);
      if (n > 4 && i % 5 == 0) nb.push_back(o + (i + n / 2) % n);
      std::sort(nb.begin(), nb.end());
      nb.erase(std::unique(nb.begin(), nb.end()), nb.end());
      for (I64 c : nb) col.push_back(c);
      rp.push_back(static_cast<I64>(col.size()));
    }
  }
  auto val = randv(col.size(), 4), H = randv(P * C, 2), G = randv(P * 6 * C, 3);
  std::vector<float> out(P * 6 * C), dH(P * C);
  for (auto _ : state) {
    mgvae::kernels::cpu::fused_contract_csr_forward<float>(b.B, b.node_off.data(), b.pair_off.data(), rp.data(),
                                                           col.data(), val.data(), 1, H.data(), C, out.data());
    if (mode >= 1)
      mgvae::kernels::cpu::fused_contract_csr_backward<float>(b.B, b.node_off.data(), b.pair_off.data(), rp.data(),
                                                              col.data(), val.data(), 1, H.data(), C, G.data(),
                                                              dH.data(), nullptr);
    benchmark::DoNotOptimize(out.data());
    benchmark::DoNotOptimize(dH.data());
    benchmark::ClobberMemory();
  }
  // useful work: 4 multiply-adds per nnz per (j, c) + n²C for k=0, nnz·C for k=5
  double nnzn = 0;
  for (I64 g = 0; g < b.B; ++g) {
    const I64 n = b.node_off[g + 1] - b.node_off[g];
    nnzn += double(rp[b.node_off[g + 1]] - rp[b.node_off[g]]) * n;
  }
  const double fwd = 8 * nnzn * C + 2 * b.sum_n2 * C;
  counters(state, b, C, fwd * (mode >= 1 ? 2 : 1), 4.0 * P * (1 + C + 6 * C) * (mode >= 1 ? 2 : 1));
}

}  // namespace

#define MGVAE_THREADS ->Arg(1)->Arg(2)->ArgName("threads")->UseRealTime()->Unit(benchmark::kMicrosecond)

BENCHMARK_CAPTURE(BM_fused, qm9_c64_fwd, QM9, 64, 0) MGVAE_THREADS;
BENCHMARK_CAPTURE(BM_fused, qm9_c64_fwdbwd, QM9, 64, 1) MGVAE_THREADS;
BENCHMARK_CAPTURE(BM_fused, qm9_c256_fwd, QM9, 256, 0) MGVAE_THREADS;
BENCHMARK_CAPTURE(BM_fused, qm9_c256_fwdbwd, QM9, 256, 1) MGVAE_THREADS;
BENCHMARK_CAPTURE(BM_fused, zinc_c64_fwd, ZINC, 64, 0) MGVAE_THREADS;
BENCHMARK_CAPTURE(BM_fused, zinc_c64_fwdbwd, ZINC, 64, 1) MGVAE_THREADS;
BENCHMARK_CAPTURE(BM_fused, zinc_c64_fwdbwd_gradA, ZINC, 64, 2) MGVAE_THREADS;
BENCHMARK_CAPTURE(BM_fused, large256_c64_fwd, LARGE, 64, 0) MGVAE_THREADS;
BENCHMARK_CAPTURE(BM_fused, large256_c64_fwdbwd, LARGE, 64, 1) MGVAE_THREADS;
BENCHMARK_CAPTURE(BM_fused_csr, zinc_c64_fwd, ZINC, 64, 0) MGVAE_THREADS;
BENCHMARK_CAPTURE(BM_fused_csr, zinc_c64_fwdbwd, ZINC, 64, 1) MGVAE_THREADS;
// the fused kernel on exactly the naive baseline's graphs (same-graph comparison)
BENCHMARK_CAPTURE(BM_fused, qm9_first16_c64_fwd, QM9_NAIVE, 64, 0)->Arg(1)->ArgName("threads")->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_fused, zinc_first2_c64_fwd, ZINC_NAIVE, 64, 0)->Arg(1)->ArgName("threads")->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_naive, qm9_first16_c64_fwd, QM9_NAIVE, 64, 0)->Arg(1)->ArgName("threads")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_naive, zinc_first2_c64_fwd, ZINC_NAIVE, 64, 0)->Arg(1)->ArgName("threads")->UseRealTime()->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
