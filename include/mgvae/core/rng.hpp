#pragma once
/// @file rng.hpp
/// Counter-based random numbers: Philox4x32-10 (Salmon et al., "Parallel random numbers:
/// as easy as 1, 2, 3", SC 2011). A (seed, stream, index) triple maps to the same bits on
/// every platform and on the GPU, so CPU and CUDA kernels can draw identical noise.
#include <cmath>
#include <cstdint>

#include "mgvae/config.hpp"

namespace mgvae {

/// Four 32-bit words of output.
struct Philox4 {
  std::uint32_t v[4];
};

/// Philox4x32 with 10 rounds. `ctr` is the 128-bit counter, `key` the 64-bit key.
MGVAE_HD inline Philox4 philox4x32_10(std::uint32_t c0, std::uint32_t c1, std::uint32_t c2, std::uint32_t c3,
                                      std::uint32_t k0, std::uint32_t k1) {
  constexpr std::uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  for (int r = 0; r < 10; ++r) {
    const std::uint64_t p0 = static_cast<std::uint64_t>(M0) * c0;
    const std::uint64_t p1 = static_cast<std::uint64_t>(M1) * c2;
    const std::uint32_t hi0 = static_cast<std::uint32_t>(p0 >> 32), lo0 = static_cast<std::uint32_t>(p0);
    const std::uint32_t hi1 = static_cast<std::uint32_t>(p1 >> 32), lo1 = static_cast<std::uint32_t>(p1);
    const std::uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += W0; k1 += W1;
  }
  return Philox4{{c0, c1, c2, c3}};
}

/// Maps 32 random bits to a float in the open interval (0, 1).
MGVAE_HD inline double u32_to_unit_open(std::uint32_t x) { return (static_cast<double>(x) + 0.5) * (1.0 / 4294967296.0); }

/// Stateless generator: value i of stream `stream` for key `seed` is a pure function of the triple.
/// Also usable as a sequential generator through next_*() (a running index).
class CounterRng {
 public:
  MGVAE_HD explicit CounterRng(std::uint64_t seed = 0, std::uint64_t stream = 0) : seed_(seed), stream_(stream) {}

  /// 4 x 32 random bits for block `i` (value index 4i..4i+3).
  MGVAE_HD Philox4 block(std::uint64_t i) const {
    return philox4x32_10(static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i >> 32),
                         static_cast<std::uint32_t>(stream_), static_cast<std::uint32_t>(stream_ >> 32),
                         static_cast<std::uint32_t>(seed_), static_cast<std::uint32_t>(seed_ >> 32));
  }
  /// 32 random bits at flat position i.
  MGVAE_HD std::uint32_t bits(std::uint64_t i) const { return block(i >> 2).v[i & 3]; }
  /// Uniform in (0,1) at position i.
  MGVAE_HD double uniform(std::uint64_t i) const { return u32_to_unit_open(bits(i)); }
  /// Standard normal at position i (Box-Muller on positions 2i, 2i+1 of a shifted stream).
  MGVAE_HD double normal(std::uint64_t i) const {
    const Philox4 b = block(i);  // one block per normal: simple, independent, reproducible
    const double u1 = u32_to_unit_open(b.v[0]), u2 = u32_to_unit_open(b.v[1]);
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  /// Standard Gumbel at position i: -log(-log U).
  MGVAE_HD double gumbel(std::uint64_t i) const { return -std::log(-std::log(uniform(i))); }

  // Sequential interface (for host code such as shuffles and splits).
  std::uint32_t next_u32() { return bits(pos_++); }
  double next_uniform() { return uniform(pos_++); }
  double next_normal() { return normal(pos_++); }
  /// Uniform integer in [0, n) (n > 0), by rejection: unbiased.
  std::uint64_t next_below(std::uint64_t n) {
    if (n <= 1) return 0;
    const std::uint64_t lim = (0x100000000ull / n) * n;
    if (n <= 0xFFFFFFFFull) {
      for (;;) {
        const std::uint64_t x = next_u32();
        if (x < lim) return x % n;
      }
    }
    for (;;) {  // 64-bit range
      const std::uint64_t x = (static_cast<std::uint64_t>(next_u32()) << 32) | next_u32();
      if (x < (~0ull / n) * n) return x % n;
    }
  }
  /// Derives an independent generator (different stream) for a sub-task.
  CounterRng split(std::uint64_t sub) const { return CounterRng(seed_, stream_ * 0x9E3779B97F4A7C15ull + sub + 1); }

  MGVAE_HD std::uint64_t seed() const { return seed_; }
  MGVAE_HD std::uint64_t stream() const { return stream_; }
  std::uint64_t position() const { return pos_; }
  /// Moves the sequential interface to position `pos` (restoring a saved position()).
  void set_position(std::uint64_t pos) { pos_ = pos; }

 private:
  std::uint64_t seed_, stream_;
  std::uint64_t pos_ = 0;
};

}  // namespace mgvae
