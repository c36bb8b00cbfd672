// The SIMD row of the fused dense reconstruction loss (kernels/cpu/dense_bce.hpp): its e^x and
// log1p polynomials against libm in double over their whole domains, and the float row against the
// scalar reference (float and double) on rows of every length mod the vector width, with positives
// on and off the diagonal.
#include "mgvae/kernels/cpu/dense_bce.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "mgvae/core/rng.hpp"
#include "support/catch.hpp"

using namespace mgvae;
using namespace mgvae::kernels::cpu;
namespace sm = mgvae::kernels::cpu::simd_math;

namespace {
constexpr int W = kernels::simd::Vec<float>::W;

/// Applies a vector function lane by lane to a list of inputs.
template <class F>
std::vector<float> lanes(F f, const std::vector<float>& in) {
  std::vector<float> out(in.size());
  for (std::size_t s = 0; s < in.size(); s += W) {
    sm::fvec v = sm::splat(in[s]);
    for (int k = 0; k < W && s + static_cast<std::size_t>(k) < in.size(); ++k) v[k] = in[s + static_cast<std::size_t>(k)];
    const sm::fvec r = f(v);
    for (int k = 0; k < W && s + static_cast<std::size_t>(k) < in.size(); ++k) out[s + static_cast<std::size_t>(k)] = r[k];
  }
  return out;
}
}  // namespace

TEST_CASE("dense_bce: exp_nonpositive is within 2 ulp of exp on [-87, 0]", "[kernels][dense_bce]") {
  std::vector<float> x;
  for (int t = 0; t <= 200000; ++t) x.push_back(-87.0f * static_cast<float>(t) / 200000.0f);
  x.push_back(-0.0f);
  x.push_back(-1e-30f);
  const auto y = lanes([](const sm::fvec& v) { return sm::exp_nonpositive(v); }, x);
  double worst = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double ref = std::exp(static_cast<double>(x[i]));
    worst = std::max(worst, std::abs(static_cast<double>(y[i]) - ref) / ref);
  }
  INFO("max relative error " << worst);
  CHECK(worst <= 2 * 5.97e-8 * 2);  // 2 ulp of float (ulp/2 = 5.96e-8 relative)
  // Below the clamp the result stays a tiny positive normal number, never NaN or negative.
  const auto t = lanes([](const sm::fvec& v) { return sm::exp_nonpositive(v); }, std::vector<float>{-100.0f, -1e30f});
  CHECK(t[0] > 0.0f);
  CHECK(t[0] < 2e-38f);
  CHECK(t[1] > 0.0f);
}

TEST_CASE("dense_bce: log1p_unit is within 2 ulp of log1p on [0, 1]", "[kernels][dense_bce]") {
  std::vector<float> e;
  for (int t = 0; t <= 200000; ++t) e.push_back(static_cast<float>(t) / 200000.0f);
  for (float v = 1e-30f; v < 1e-3f; v *= 3.7f) e.push_back(v);  // tiny arguments: log1p(e) ≈ e
  const auto y = lanes([](const sm::fvec& v) { return sm::log1p_unit(v); }, e);
  double worst = 0;
  for (std::size_t i = 0; i < e.size(); ++i) {
    const double ref = std::log1p(static_cast<double>(e[i]));
    if (ref == 0) {
      CHECK(y[i] == 0.0f);
      continue;
    }
    worst = std::max(worst, std::abs(static_cast<double>(y[i]) - ref) / ref);
  }
  INFO("max relative error " << worst);
  CHECK(worst <= 2 * 5.97e-8 * 2);
}

TEST_CASE("dense_bce: the SIMD row equals the scalar reference within float round-off", "[kernels][dense_bce]") {
  CounterRng rng(42);
  std::uint64_t c = 0;
  for (std::int64_t n : {1, 2, 3, W - 1, W, W + 1, 2 * W + 3, 97, 300}) {
    for (std::int64_t i : {std::int64_t{0}, n / 3, n - 1}) {
      if (i < 0 || i >= n) continue;
      // Logits over the whole float range that matters, including |x| > 87 and exact 0.
      std::vector<float> x(static_cast<std::size_t>(n));
      for (auto& v : x) {
        const double r = rng.uniform(c++) - 0.5;
        const double range = rng.uniform(c++) < 0.1 ? 400.0 : 16.0;
        v = static_cast<float>(r * range);
      }
      x[static_cast<std::size_t>(i)] = 0.0f;
      // Sorted CSR columns: some before i (must be skipped), some after, one at i.
      std::vector<std::int64_t> cols;
      for (std::int64_t j = 0; j < n; ++j)
        if (rng.uniform(c++) < 0.15) cols.push_back(j);
      const float pw = 7.5f;
      const double gscale = 0.37;
      std::vector<float> a(x), b(x);
      std::vector<double> d(x.begin(), x.end());
      const double la = dense_bce_row_simd(a.data(), i, n, cols.data(), 0, static_cast<std::int64_t>(cols.size()), pw, gscale);
      const double lb = dense_bce_row_scalar<float>(b.data(), i, n, cols.data(), 0, static_cast<std::int64_t>(cols.size()), pw, gscale);
      const double ld = dense_bce_row_scalar<double>(d.data(), i, n, cols.data(), 0, static_cast<std::int64_t>(cols.size()), 7.5, gscale);
      INFO("n = " << n << ", i = " << i);
      CHECK(std::abs(la - ld) <= 1e-6 * std::max(1.0, std::abs(ld)));
      CHECK(std::abs(la - lb) <= 1e-6 * std::max(1.0, std::abs(ld)));
      for (std::int64_t j = 0; j < n; ++j) {
        const auto u = static_cast<std::size_t>(j);
        if (j < i) {
          CHECK(a[u] == x[u]);  // left of the diagonal: untouched
          continue;
        }
        CHECK(std::abs(static_cast<double>(a[u]) - d[u]) <= 1e-6 * pw * gscale);
      }
    }
  }
}
