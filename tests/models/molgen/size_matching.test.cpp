// Size matching by rejection sampling (models/size_matching.hpp; used by graphgen/tuning.hpp and by the
// autoregressive molecule sampler, whose test is in autoregressive.test.cpp): the acceptance table against a
// hand-computed one, the accepted-size distribution of a synthetic sampler against the reference (5σ),
// reproducibility, typed errors. No RDKit.
#include "mgvae/models/size_matching.hpp"

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "support/catch.hpp"

using namespace mgvae;

TEST_CASE("size matching: acceptance table, accepted-size distribution, typed errors", "[models][size_matching]") {
  // reference sizes 3 (50 %), 4 (25 %), 5 (25 %); calibration batch 3 (25 %), 4 (50 %), 5 (12.5 %), 6 (12.5 %)
  const std::vector<int> ref{3, 3, 4, 5}, gen{3, 3, 4, 4, 4, 4, 5, 6};
  // by hand: r = 0.5/0.25 = 2, 0.25/0.5 = 0.5, 0.25/0.125 = 2, r(6) = 0 (not in the reference); a = r / 2
  const std::vector<double> a_hand{0, 0, 0, 1.0, 0.25, 1.0, 0};
  const auto a = size_acceptance_from_sizes(ref, gen, 6);
  REQUIRE(a.size() == 7);
  for (std::size_t n = 0; n < 7; ++n) CHECK(a[n] == Approx(a_hand[n]).margin(1e-15));
  const auto cal = calibrate_size_matching_from_sizes(ref, gen, 6);
  const std::vector<double> pg{0, 0, 0, 0.25, 0.5, 0.125, 0.125};
  for (std::size_t n = 0; n < 7; ++n) CHECK(cal.generated_probs[n] == Approx(pg[n]).margin(1e-15));
  CHECK(cal.expected_acceptance_rate == Approx(0.5));  // 0.25·1 + 0.5·0.25 + 0.125·1 + 0.125·0

  // A synthetic sampler with sizes i.i.d. from p_gen (chunk c: CounterRng(9, c)), reference p_ref.
  // Accepted sizes must follow p_ref. Bound: 5σ with σ² = p(1−p)/N_out + p²/(p_gen N_cal) (sampling noise of
  // the output plus the relative error of the calibration estimate p̂_gen(n) carried into a(n)).
  const std::vector<double> p_gen{0, 0.1, 0.4, 0.3, 0.15, 0.05}, p_ref{0, 0.05, 0.15, 0.3, 0.3, 0.2};
  std::vector<int> ref_sizes;  // 2,000 reference sizes with exactly p_ref
  for (int n = 0; n <= 5; ++n)
    for (int k = 0; k < static_cast<int>(std::lround(2000 * p_ref[n])); ++k) ref_sizes.push_back(n);
  int chunks_drawn = 0;
  auto draw = [&](std::uint64_t c) {
    if (c < kSizeCalibrationChunk0) ++chunks_drawn;
    CounterRng rng(9, c);
    std::vector<int> out;
    for (int k = 0; k < 1000; ++k) {
      double u = rng.next_uniform();
      int n = 1;
      while (n < 5 && u >= p_gen[n]) u -= p_gen[n++];
      out.push_back(n);
    }
    return out;
  };
  auto id = [](int n) { return n; };
  SizeMatchingOptions opt;
  opt.calibration = 50000;
  const std::int64_t N = 20000;
  const auto sm = sample_size_matched<int>(draw, id, ref_sizes, 5, N, CounterRng(4, 1), opt);
  REQUIRE(static_cast<std::int64_t>(sm.items.size()) == N);
  CHECK(chunks_drawn == sm.chunks);
  std::int64_t out_total = 0, drawn_total = 0;
  for (int n = 0; n <= 5; ++n) {
    const double p = p_ref[n], f = static_cast<double>(sm.output_counts[n]) / static_cast<double>(N);
    const double sigma = p > 0 ? std::sqrt(p * (1 - p) / N + p * p / (p_gen[n] * opt.calibration)) : 0.0;
    CHECK(std::abs(f - p) <= 5 * sigma);
    CHECK(sm.reference_probs[n] == Approx(p).margin(1e-12));
    out_total += sm.output_counts[n];
    drawn_total += sm.drawn_counts[n];
  }
  CHECK(out_total == N);
  CHECK(drawn_total == sm.drawn);
  // expected rate with the exact p_gen: Σ p_ref / max r = 1 / 4 (max r = 0.2 / 0.05 = 4); its estimate has the
  // relative error of p̂_gen(5): σ = 0.25 · sqrt((1 − 0.05) / (0.05 N_cal))
  const double Ncal = static_cast<double>(opt.calibration);
  CHECK(std::abs(sm.calibration.expected_acceptance_rate - 0.25) <= 5 * 0.25 * std::sqrt(0.95 / (0.05 * Ncal)));
  // realised rate: binomial noise of the proposals plus |Σ (p̂_gen − p_gen) a| ≤ ~1/sqrt(N_cal) (one σ)
  const double rs = std::sqrt(0.25 * 0.75 / static_cast<double>(sm.drawn)) + 1 / std::sqrt(Ncal);
  CHECK(std::abs(sm.realised_rate() - sm.calibration.expected_acceptance_rate) <= 5 * rs);
  // reproducible with fixed seeds; another acceptance stream gives another selection
  const auto sm2 = sample_size_matched<int>(draw, id, ref_sizes, 5, N, CounterRng(4, 1), opt);
  CHECK(sm2.items == sm.items);
  CHECK(sm2.drawn == sm.drawn);
  const auto sm3 = sample_size_matched<int>(draw, id, ref_sizes, 5, N, CounterRng(5, 1), opt);
  CHECK(sm3.items != sm.items);

  // typed errors
  CHECK_THROWS_AS(size_acceptance_from_sizes({}, gen, 6), std::invalid_argument);       // empty reference
  CHECK_THROWS_AS(size_acceptance_from_sizes(ref, {}, 6), std::invalid_argument);       // empty batch
  CHECK_THROWS_AS(size_acceptance_from_sizes(ref, {6, 6}, 6), std::invalid_argument);   // no common size
  CHECK_THROWS_AS(size_acceptance_from_sizes(ref, gen, -1), std::invalid_argument);     // n_max < 0
  CHECK_THROWS_AS(size_acceptance_from_sizes(ref, gen, 5), std::invalid_argument);      // a size above n_max
  CHECK_THROWS_AS(calibrate_size_matching_from_sizes({}, gen, 6), std::invalid_argument);
  CHECK_THROWS_AS(accepted_by_size({7}, a, CounterRng(1), 0), std::invalid_argument);
  CHECK_THROWS_AS(sample_size_matched<int>(draw, id, ref_sizes, 5, -1, CounterRng(4), opt), std::invalid_argument);
  SizeMatchingOptions bad = opt;
  bad.calibration = 0;
  CHECK_THROWS_AS(sample_size_matched<int>(draw, id, ref_sizes, 5, 10, CounterRng(4), bad), std::invalid_argument);
  // acceptance ~0: refused up front, or stopped by the chunk limit (typed, not an endless loop)
  bad = opt;
  bad.min_expected_rate = 0.5;
  CHECK_THROWS_AS(sample_size_matched<int>(draw, id, ref_sizes, 5, 10, CounterRng(4), bad), std::runtime_error);
  bad = opt;
  bad.max_chunks = 2;
  CHECK_THROWS_AS(sample_size_matched<int>(draw, id, ref_sizes, 5, 5000, CounterRng(4), bad), std::runtime_error);
}
