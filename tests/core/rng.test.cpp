#include "mgvae/core/rng.hpp"

#include <cmath>
#include <cstdint>
#include <vector>

#include "support/catch.hpp"

using namespace mgvae;

namespace {
void check_block(const Philox4& r, std::uint32_t a, std::uint32_t b, std::uint32_t c, std::uint32_t d) {
  CHECK(r.v[0] == a);
  CHECK(r.v[1] == b);
  CHECK(r.v[2] == c);
  CHECK(r.v[3] == d);
}
/// Pearson chi-square statistic of `draws` next_below(n) samples.
double chi_square(CounterRng rng, std::uint64_t n, int draws) {
  std::vector<double> cnt(n, 0.0);
  for (int i = 0; i < draws; ++i) {
    const std::uint64_t v = rng.next_below(n);
    if (v >= n) return 1e300;  // out of range: fail loudly
    cnt[v] += 1;
  }
  const double e = static_cast<double>(draws) / static_cast<double>(n);
  double chi = 0;
  for (double c : cnt) chi += (c - e) * (c - e) / e;
  return chi;
}
}  // namespace

TEST_CASE("Philox4x32-10 known-answer vectors (Random123 kat_vectors)", "[core][rng]") {
  check_block(philox4x32_10(0, 0, 0, 0, 0, 0), 0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u);
  check_block(philox4x32_10(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu), 0x408f276du,
              0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu);
  check_block(philox4x32_10(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u), 0xd16cfe09u,
              0x94fdccebu, 0x5001e420u, 0x24126ea1u);
  // CounterRng maps (index, stream, seed) onto (counter words 0-1, counter words 2-3, key).
  const CounterRng k(0x299f31d0a4093822ull, 0x0370734413198a2eull);
  check_block(k.block(0x85a308d3243f6a88ull), 0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u);
  CHECK(k.bits(4 * 5 + 2) == k.block(5).v[2]);
}

TEST_CASE("CounterRng is deterministic and stateless per position", "[core][rng]") {
  const CounterRng a(42, 7), b(42, 7), c(42, 8), d(43, 7);
  for (std::uint64_t i = 0; i < 64; ++i) {
    CHECK(a.bits(i) == b.bits(i));
    CHECK(a.uniform(i) == b.uniform(i));
    CHECK(a.normal(i) == b.normal(i));
  }
  int same_stream = 0, same_seed = 0;
  for (std::uint64_t i = 0; i < 64; ++i) {
    same_stream += a.bits(i) == c.bits(i);
    same_seed += a.bits(i) == d.bits(i);
  }
  CHECK(same_stream < 2);
  CHECK(same_seed < 2);
  CounterRng s(42, 7);
  for (std::uint64_t i = 0; i < 10; ++i) CHECK(s.next_u32() == a.bits(i));
  CHECK(s.position() == 10);
  CHECK(s.next_uniform() == a.uniform(10));
  const CounterRng s1 = a.split(1), s2 = a.split(2);
  CHECK(s1.seed() == a.seed());
  CHECK(s1.stream() != a.stream());
  CHECK(s1.stream() != s2.stream());
  CHECK(s1.bits(0) == a.split(1).bits(0));
}

TEST_CASE("uniform draws lie in the open interval (0, 1)", "[core][rng]") {
  CHECK(u32_to_unit_open(0u) > 0.0);
  CHECK(u32_to_unit_open(0xffffffffu) < 1.0);
  const CounterRng r(1);
  double s = 0;
  int outside = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const double u = r.uniform(static_cast<std::uint64_t>(i));
    outside += !(u > 0.0 && u < 1.0);
    s += u;
  }
  CHECK(outside == 0);
  CHECK(std::abs(s / n - 0.5) < 4 * std::sqrt(1.0 / 12 / n));
  int nonfinite = 0;
  for (int i = 0; i < 1000; ++i) nonfinite += !std::isfinite(r.gumbel(static_cast<std::uint64_t>(i)));
  CHECK(nonfinite == 0);
}

TEST_CASE("normal draws have mean 0 and variance 1", "[core][rng]") {
  const CounterRng r(2, 3);
  const int n = 40000;
  double s = 0, s2 = 0;
  for (int i = 0; i < n; ++i) {
    const double z = r.normal(static_cast<std::uint64_t>(i));
    s += z;
    s2 += z * z;
  }
  const double mean = s / n, var = s2 / n - mean * mean;
  CHECK(std::abs(mean) < 4 / std::sqrt(double(n)));             // sd of the mean = 1/sqrt(n)
  CHECK(std::abs(var - 1) < 4 * std::sqrt(2.0 / double(n)));    // sd of the variance ≈ sqrt(2/n)
}

TEST_CASE("next_below is unbiased (chi-square) and in range", "[core][rng]") {
  // 99.9% quantiles of chi-square: df=2 -> 13.82, df=6 -> 22.46, df=9 -> 27.88
  CHECK(chi_square(CounterRng(5), 3, 30000) < 13.82);
  CHECK(chi_square(CounterRng(6), 7, 70000) < 22.46);
  CHECK(chi_square(CounterRng(7), 10, 50000) < 27.88);
  // a range that is not a divisor of 2^32 and large enough to expose modulo bias
  // (n = 3·2^30: plain x % n would give the first 2^30 values twice the probability)
  CounterRng big(8);
  const std::uint64_t n = 3ull << 30;
  int low = 0;
  const int draws = 30000;
  for (int i = 0; i < draws; ++i) low += big.next_below(n) < (1ull << 30);
  CHECK(std::abs(low / double(draws) - 1.0 / 3) < 0.015);  // biased would be 1/2
  CounterRng r(9);
  CHECK(r.next_below(0) == 0);
  CHECK(r.next_below(1) == 0);
  const std::uint64_t huge = (1ull << 40) + 3;
  int bad = 0;
  for (int i = 0; i < 100; ++i) bad += r.next_below(huge) >= huge;
  CHECK(bad == 0);
}
