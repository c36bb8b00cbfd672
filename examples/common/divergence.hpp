#pragma once
// Divergence handling shared by the trainers (issue 29): after each step's backward pass and before
// the optimiser step, the trainer checks the loss terms it logs and the parameter gradients
// (mgvae/nn/finite.hpp; the check only reads values, so normal runs are bit-identical). On a NaN or
// ±Inf it stops: one line on stderr naming the seed/epoch/step and the term (or parameter),
// metrics.json with "diverged": {"epoch", "step", "term"}, the last good checkpoint kept (the
// checkpoint writer refuses non-finite tensors anyway), exit code 3.
#include <cmath>
#include <cstdint>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "mgvae/nn/finite.hpp"

namespace mgvae::examples {

/// Exit code of a run stopped by a non-finite loss term or gradient.
inline constexpr int kExitDiverged = 3;

/// The --help footer line every trainer shows.
inline constexpr const char* kDivergenceHelp =
    "Divergence: a non-finite loss term or gradient stops the run before the optimiser step with a line on "
    "stderr naming the epoch, step and term (or parameter); metrics.json records \"diverged\", the last good "
    "checkpoint is kept, and the exit code is 3.";

/// Where and what diverged. `seed` < 0 when the trainer has a single seed it does not report.
struct Divergence {
  long long seed = -1;
  long long epoch = 0;
  long long step = 0;  ///< optimiser step (1-based, counted over the whole run of this seed)
  std::string term;    ///< loss term or parameter name
  std::string what;    ///< "loss term 'kl' is inf", "gradient of parameter 'fc.weight' is not finite"

  std::string where() const {
    std::string s = seed >= 0 ? "seed " + std::to_string(seed) + " " : "";
    return s + "epoch " + std::to_string(epoch) + " step " + std::to_string(step);
  }
  nlohmann::json to_json() const {
    nlohmann::json j{{"epoch", epoch}, {"step", step}, {"term", term}, {"message", what}};
    if (seed >= 0) j["seed"] = seed;
    return j;
  }
  /// The one-line stderr message: "<prog>: diverged at seed 1 epoch 200 step 200: loss term 'kl' is inf; stopping".
  void report(const char* prog) const { std::cerr << prog << ": diverged at " << where() << ": " << what << "; stopping\n"; }
};

/// Runs nn::check_step; on a hit fills `d` (keeping its seed/epoch/step) and returns true.
template <class T>
bool diverged(const std::vector<std::pair<std::string, double>>& terms, const std::vector<Var<T>>& params, Divergence& d) {
  auto r = nn::check_step(terms, params);
  if (!r) return false;
  d.term = r->term;
  d.what = r->what;
  return true;
}

/// Wraps an optimiser for the library's step helpers (molgen::train_step, ar_train_step), which
/// call zero_grad(), backward, clipping and step() themselves: step() first checks the gradients of
/// `params` (clip_grad_norm leaves a non-finite gradient untouched) and, on a NaN or ±Inf, drops
/// the update and records the parameter in `bad` instead of stepping. The trainer then checks the
/// returned loss terms and `bad`, and stops.
template <class Opt, class T>
struct CheckedOptimizer {
  Opt& opt;
  std::vector<Var<T>> params;
  std::string bad;  ///< non-empty: the last step() was dropped; the first parameter with a non-finite gradient

  void zero_grad() { opt.zero_grad(); }
  void step() {
    bad.clear();
    if (!nn::grads_finite(params, &bad)) return;
    opt.step();
  }
};

/// Checks the loss terms of a step (undefined Vars are left out), then `bad_param` (from
/// CheckedOptimizer). On a hit fills `d` and returns true.
template <class T>
bool diverged(const std::vector<std::pair<std::string, Var<T>>>& terms, const std::string& bad_param, Divergence& d) {
  for (const auto& [name, v] : terms) {
    if (!v.defined()) continue;
    const double x = static_cast<double>(v.numel() == 1 ? v.item() : T(0));
    if (v.numel() != 1 ? nn::first_non_finite_index(v.value()) >= 0 : !std::isfinite(x)) {
      d.term = name;
      d.what = "loss term '" + name + "' is " + (v.numel() == 1 ? nn::finite_str(x) : std::string("not finite"));
      return true;
    }
  }
  if (bad_param.empty()) return false;
  d.term = bad_param;
  d.what = "gradient of parameter '" + bad_param + "' is not finite";
  return true;
}

}  // namespace mgvae::examples
