#pragma once
/// @file size_matching.hpp
/// Size matching by rejection sampling, shared by the graph-generation trainer (graphgen/tuning.hpp:
/// `size_acceptance`, `calibrate_size_matching`, `accept_by_size` on Graph node counts) and the
/// autoregressive molecule sampler (molgen/autoregressive.hpp: `ar_sample_size_matched`, heavy-atom counts).
///
/// A generated object of size n is accepted with probability a(n) = r(n) / max r, r(n) = p_ref(n) / p_gen(n)
/// (0 where p_ref(n) = 0 or p_gen(n) = 0); p_ref is the size distribution of a reference (the training data),
/// p_gen that of a calibration batch drawn from the generator. Accepted objects then have sizes
/// ∝ p_gen(n) a(n) ∝ p_ref(n) on the sizes the generator produces, and the expected acceptance rate is
/// Σ_n p_gen(n) a(n) = Σ_{n: p_gen(n) > 0} p_ref(n) / max r. Not in the MGVAE paper (GDSS / GRAN draw n from
/// the training data instead).
///
/// `sample_size_matched` is the sampling loop: calibration batch from chunks numbered from
/// `kSizeCalibrationChunk0` (a stream of its own), then proposal chunks 0, 1, 2, … until `count` objects
/// are accepted (the first `count` in draw order are returned).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "mgvae/core/rng.hpp"

namespace mgvae {

namespace detail {
/// p(n), n = 0..n_max, of a list of sizes (each adds 1 / sizes.size()).
inline std::vector<double> size_probs(const std::vector<int>& sizes, int n_max, const std::string& fn) {
  std::vector<double> h(static_cast<std::size_t>(n_max + 1), 0.0);
  for (int n : sizes) {
    if (n < 0 || n > n_max)
      throw std::invalid_argument(fn + "size " + std::to_string(n) + " outside [0, n_max] = [0, " + std::to_string(n_max) + "]");
    h[static_cast<std::size_t>(n)] += 1.0 / static_cast<double>(sizes.size());
  }
  return h;
}
}  // namespace detail

/// Acceptance probability a(n), n = 0..n_max (see the file comment), from the sizes of the reference and of
/// a calibration batch of the generator. @throw std::invalid_argument for n_max < 0, an empty list, a size
/// outside [0, n_max], or no size that both lists have.
inline std::vector<double> size_acceptance_from_sizes(const std::vector<int>& ref, const std::vector<int>& generated,
                                                      int n_max) {
  const std::string fn = "size_acceptance: ";
  if (n_max < 0) throw std::invalid_argument(fn + "n_max must be >= 0");
  if (ref.empty() || generated.empty()) throw std::invalid_argument(fn + "empty size list");
  const auto pr = detail::size_probs(ref, n_max, fn), pg = detail::size_probs(generated, n_max, fn);
  std::vector<double> a(pr.size(), 0.0);
  double mx = 0;
  for (std::size_t n = 0; n < a.size(); ++n) {
    if (pr[n] > 0 && pg[n] > 0) a[n] = pr[n] / pg[n];
    mx = std::max(mx, a[n]);
  }
  if (mx <= 0) throw std::invalid_argument(fn + "no size is both in the reference and generated");
  for (auto& x : a) x /= mx;
  return a;
}

/// Size matching calibrated on one batch of the generator: the acceptance table, the batch's size
/// distribution p_gen(n) and the expected acceptance rate Σ_n p_gen(n) a(n).
struct SizeMatchingCalibration {
  std::vector<double> acceptance;       ///< a(n), n = 0..n_max
  std::vector<double> generated_probs;  ///< p_gen(n) of the calibration batch, n = 0..n_max
  double expected_acceptance_rate = 0;  ///< Σ_n p_gen(n) a(n)
};

/// `size_acceptance_from_sizes` plus p_gen of the batch and the expected acceptance rate.
/// @throw std::invalid_argument as `size_acceptance_from_sizes`.
inline SizeMatchingCalibration calibrate_size_matching_from_sizes(const std::vector<int>& ref,
                                                                  const std::vector<int>& generated, int n_max) {
  SizeMatchingCalibration c;
  c.acceptance = size_acceptance_from_sizes(ref, generated, n_max);
  c.generated_probs = detail::size_probs(generated, n_max, "calibrate_size_matching: ");
  for (std::size_t n = 0; n < c.generated_probs.size(); ++n) c.expected_acceptance_rate += c.generated_probs[n] * c.acceptance[n];
  return c;
}

/// Positions k of `sizes` kept by rejection: rng.uniform(offset + k) < acceptance[sizes[k]] (ascending).
/// @throw std::invalid_argument for a size with no entry in `acceptance`.
inline std::vector<std::size_t> accepted_by_size(const std::vector<int>& sizes, const std::vector<double>& acceptance,
                                                 const CounterRng& rng, std::uint64_t offset) {
  for (int n : sizes)
    if (n < 0 || static_cast<std::size_t>(n) >= acceptance.size())
      throw std::invalid_argument("accept_by_size: size " + std::to_string(n) + " outside the acceptance table (sizes 0.." +
                                  std::to_string(static_cast<std::int64_t>(acceptance.size()) - 1) + ")");
  std::vector<std::size_t> kept;
  for (std::size_t k = 0; k < sizes.size(); ++k)
    if (rng.uniform(offset + k) < acceptance[static_cast<std::size_t>(sizes[k])]) kept.push_back(k);
  return kept;
}

/// First chunk index of the calibration batch in `sample_size_matched` (proposal chunks count from 0, so
/// the two never share a chunk index, i.e. a random stream of the generator).
inline constexpr std::uint64_t kSizeCalibrationChunk0 = std::uint64_t{1} << 40;

struct SizeMatchingOptions {
  std::int64_t calibration = 10000;  ///< calibration batch size (objects)
  double min_expected_rate = 1e-3;   ///< refuse (std::runtime_error) below this expected acceptance rate
  std::int64_t max_chunks = 0;       ///< proposal chunks at most (0: 4 · count / (rate · chunk) + 8)
};

/// Output of `sample_size_matched`.
template <class Item>
struct SizeMatchedSample {
  std::vector<Item> items;                   ///< the first `count` accepted objects, in draw order
  SizeMatchingCalibration calibration;       ///< a(n), p_gen(n) of the calibration batch, expected rate
  std::vector<double> reference_probs;       ///< p_ref(n), n = 0..n_max
  std::vector<std::int64_t> drawn_counts;    ///< sizes of all proposals drawn
  std::vector<std::int64_t> output_counts;   ///< sizes of `items`
  std::int64_t drawn = 0;                    ///< proposals drawn (whole chunks)
  std::int64_t accepted = 0;                 ///< proposals accepted (>= items.size(): the last chunk can overshoot)
  std::int64_t chunks = 0;                   ///< proposal chunks drawn
  double realised_rate() const { return drawn > 0 ? static_cast<double>(accepted) / static_cast<double>(drawn) : 0.0; }
};

/// Rejection sampling of `count` objects whose size distribution follows `ref_sizes`.
/// `draw_chunk(c)` returns the objects of chunk c (deterministic in c; chunk indices ≥ kSizeCalibrationChunk0
/// build the calibration batch of opt.calibration objects), `size_of(item)` their size in [0, n_max].
/// Proposal k (over all chunks, in order) is accepted when accept_rng.uniform(k) < a(size).
/// @throw std::invalid_argument for count < 0, opt.calibration < 1, an empty chunk, or as
/// `size_acceptance_from_sizes`; std::runtime_error when the expected acceptance rate is below
/// opt.min_expected_rate or `count` objects are not accepted within the chunk limit.
template <class Item, class DrawChunk, class SizeOf>
SizeMatchedSample<Item> sample_size_matched(DrawChunk&& draw_chunk, SizeOf&& size_of, const std::vector<int>& ref_sizes,
                                            int n_max, std::int64_t count, const CounterRng& accept_rng,
                                            const SizeMatchingOptions& opt = {}) {
  const std::string fn = "sample_size_matched: ";
  if (count < 0) throw std::invalid_argument(fn + "count must be >= 0");
  if (opt.calibration < 1) throw std::invalid_argument(fn + "the calibration batch must have >= 1 object");
  std::vector<int> cal;
  for (std::uint64_t c = kSizeCalibrationChunk0; static_cast<std::int64_t>(cal.size()) < opt.calibration; ++c) {
    const std::vector<Item> batch = draw_chunk(c);
    if (batch.empty()) throw std::invalid_argument(fn + "draw_chunk returned no objects");
    for (const auto& it : batch)
      if (static_cast<std::int64_t>(cal.size()) < opt.calibration) cal.push_back(size_of(it));
  }
  SizeMatchedSample<Item> out;
  out.calibration = calibrate_size_matching_from_sizes(ref_sizes, cal, n_max);
  out.reference_probs = detail::size_probs(ref_sizes, n_max, fn);
  out.drawn_counts.assign(static_cast<std::size_t>(n_max + 1), 0);
  out.output_counts.assign(static_cast<std::size_t>(n_max + 1), 0);
  const double rate = out.calibration.expected_acceptance_rate;
  if (!(rate >= opt.min_expected_rate))
    throw std::runtime_error(fn + "expected acceptance rate " + std::to_string(rate) + " is below " +
                             std::to_string(opt.min_expected_rate));
  std::int64_t max_chunks = opt.max_chunks;
  while (static_cast<std::int64_t>(out.items.size()) < count) {
    if (max_chunks > 0 && out.chunks >= max_chunks)
      throw std::runtime_error(fn + "only " + std::to_string(out.items.size()) + " of " + std::to_string(count) +
                               " objects accepted after " + std::to_string(out.chunks) + " chunks (" +
                               std::to_string(out.drawn) + " proposals)");
    std::vector<Item> batch = draw_chunk(static_cast<std::uint64_t>(out.chunks));
    if (batch.empty()) throw std::invalid_argument(fn + "draw_chunk returned no objects");
    if (max_chunks <= 0)  // automatic limit, from the first chunk's size
      max_chunks = static_cast<std::int64_t>(std::ceil(4.0 * static_cast<double>(count) /
                                                       (rate * static_cast<double>(batch.size())))) + 8;
    std::vector<int> sizes;
    for (const auto& it : batch) sizes.push_back(size_of(it));
    const auto kept = accepted_by_size(sizes, out.calibration.acceptance, accept_rng, static_cast<std::uint64_t>(out.drawn));
    for (int n : sizes) ++out.drawn_counts[static_cast<std::size_t>(n)];
    for (auto k : kept)
      if (static_cast<std::int64_t>(out.items.size()) < count) {
        ++out.output_counts[static_cast<std::size_t>(sizes[k])];
        out.items.push_back(std::move(batch[k]));
      }
    out.drawn += static_cast<std::int64_t>(batch.size());
    out.accepted += static_cast<std::int64_t>(kept.size());
    ++out.chunks;
  }
  return out;
}

}  // namespace mgvae
