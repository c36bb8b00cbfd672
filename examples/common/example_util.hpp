#pragma once
// Small utilities shared by the example trainers (examples/*/main.cpp): number formatting,
// wall-clock helpers, atomic text output, mean ± std, class weights and the default data path.
// Examples include it as "../common/example_util.hpp", so a direct `g++ examples/X/main.cpp`
// build needs no extra include path.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace mgvae::examples {

using Clock = std::chrono::steady_clock;

/// Seconds elapsed since t0 (steady clock).
inline double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// v with p significant digits (iostream default notation).
inline std::string fmt(double v, int p = 4) {
  std::ostringstream os;
  os << std::setprecision(p) << v;
  return os.str();
}

/// v with p digits after the decimal point.
inline std::string fmt_fixed(double v, int p = 4) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(p) << v;
  return os.str();
}

/// A duration as "<minutes>m<seconds>s", e.g. 125.4 → "2m05s" (for ETAs).
inline std::string hms(double s) {
  const long t = static_cast<long>(std::max(0.0, s) + 0.5);
  std::ostringstream os;
  os << t / 60 << "m" << std::setw(2) << std::setfill('0') << t % 60 << "s";
  return os.str();
}

/// Writes `text` to `<path>.tmp` and renames it over `path`, so a reader never sees a partial file.
/// @throw std::runtime_error naming the file when it cannot be written.
inline void write_atomic(const std::filesystem::path& path, const std::string& text) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream o(tmp, std::ios::binary);
    if (!o) throw std::runtime_error("cannot write " + tmp.string());
    o << text;
    o.flush();
    if (!o) throw std::runtime_error("write failed: " + tmp.string());
  }
  std::filesystem::rename(tmp, path);
}

/// Mean and sample standard deviation (n − 1; 0 for fewer than two values) of `v`.
struct MeanStd {
  double mean = 0, std = 0;
  std::size_t n = 0;
};
inline MeanStd mean_std(const std::vector<double>& v) {
  MeanStd r;
  r.n = v.size();
  if (v.empty()) return r;
  r.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  if (v.size() > 1) {
    double s = 0;
    for (double x : v) s += (x - r.mean) * (x - r.mean);
    r.std = std::sqrt(s / static_cast<double>(v.size() - 1));
  }
  return r;
}

/// Class weights w_c ∝ f_c^(−power) from class counts (f = relative frequency; a zero count is
/// treated as 1), normalised so that Σ_c f_c w_c = 1 (the weighted loss keeps the unweighted scale).
/// power 0 (or no counts) gives all ones.
inline std::vector<double> class_weights(const std::vector<double>& counts, double power) {
  const double tot = std::accumulate(counts.begin(), counts.end(), 0.0);
  std::vector<double> w(counts.size(), 1.0);
  if (power == 0.0 || tot <= 0) return w;
  double norm = 0;
  for (std::size_t c = 0; c < counts.size(); ++c) {
    w[c] = std::pow(std::max(counts[c], 1.0) / tot, -power);
    norm += (counts[c] / tot) * w[c];
  }
  for (auto& x : w) x /= norm;
  return w;
}

/// Default location of the data set folder `sub` (e.g. "qm9"): `$MGVAE_DATA_DIR/sub` when that
/// environment variable is set (as for the tests and data::molecule_data_dir), else
/// `MGVAE_DEFAULT_DATA_DIR/sub` when the build defines it (CMake does), else
/// `MGVAE_SOURCE_DIR/../shared/data/sub` (direct g++ builds that pass -DMGVAE_SOURCE_DIR), else
/// `../shared/data/sub` relative to the working directory.
inline std::string default_data_dir(const std::string& sub) {
  if (const char* env = std::getenv("MGVAE_DATA_DIR"); env != nullptr && *env != '\0') return std::string(env) + "/" + sub;
#if defined(MGVAE_DEFAULT_DATA_DIR)
  return std::string(MGVAE_DEFAULT_DATA_DIR) + "/" + sub;
#elif defined(MGVAE_SOURCE_DIR)
  return std::string(MGVAE_SOURCE_DIR) + "/../shared/data/" + sub;
#else
  return "../shared/data/" + sub;
#endif
}

/// Flush std::cout after every output operation, so progress lines reach a log file or pipe as
/// they are printed (std::cout is only line-buffered on a terminal). Call first in main().
inline void flush_progress_output() { std::cout << std::unitbuf; }

}  // namespace mgvae::examples
