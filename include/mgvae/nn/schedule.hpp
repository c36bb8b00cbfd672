#pragma once
/// @file schedule.hpp
/// Learning-rate schedule on a validation metric: reduce the rate by a factor after `patience`
/// epochs without improvement (PyTorch's `ReduceLROnPlateau` in `mode="min"` with
/// `threshold=0`, `cooldown=0`), and the Benchmarking-GNNs stopping rule (stop once a plateau is
/// reached while the rate is already at its floor).
///
/// The scheduler holds no optimiser: `update(metric)` returns what to do and the caller applies
/// `lr()` to its optimiser, so it works with every optimiser of optim.hpp.
///
///     nn::PlateauSchedule sched(2e-3, {.factor = 0.5, .patience = 5, .min_lr = 1e-5});
///     for (int ep = 1; ep <= epochs; ++ep) {
///       ... train ...
///       const auto s = sched.update(val_mae);
///       opt.set_lr(static_cast<float>(sched.lr()));
///       if (s.stop) break;
///     }
#include <cmath>
#include <limits>
#include <map>
#include <string>

#include "mgvae/core/error.hpp"
#include "mgvae/nn/state.hpp"

namespace mgvae::nn {

struct PlateauOptions {
  double factor = 0.5;  ///< new lr = max(min_lr, lr * factor); in (0, 1)
  int patience = 5;     ///< epochs without a strictly better metric before a reduction; >= 1
  double min_lr = 0;    ///< floor of the rate; >= 0
};

/// What one `update` decided.
struct PlateauStep {
  bool improved = false;  ///< the metric is strictly below the best so far (the first finite one always is)
  bool reduced = false;   ///< the rate was lowered at this update
  bool stop = false;      ///< a plateau was reached with the rate already at min_lr
};

class PlateauSchedule {
 public:
  /// @throw std::invalid_argument if lr is not finite and > 0, factor is not in (0, 1), patience < 1,
  ///        or min_lr is negative, not finite, or above lr.
  PlateauSchedule(double lr, PlateauOptions opt = {}) : lr_(lr), opt_(opt) {
    const char* fn = "PlateauSchedule";
    check_arg(std::isfinite(lr) && lr > 0, fn, "lr", "must be finite and > 0, got " + std::to_string(lr));
    check_arg(opt.factor > 0 && opt.factor < 1, fn, "factor", "must be in (0, 1), got " + std::to_string(opt.factor));
    check_arg(opt.patience >= 1, fn, "patience", "must be >= 1, got " + std::to_string(opt.patience));
    check_arg(std::isfinite(opt.min_lr) && opt.min_lr >= 0 && opt.min_lr <= lr, fn, "min_lr",
              "must be finite, >= 0 and <= lr, got " + std::to_string(opt.min_lr));
  }

  /// Records one epoch's metric (lower is better).
  /// @throw std::domain_error if the metric is NaN (a diverged run must not look like a plateau).
  PlateauStep update(double metric) {
    if (std::isnan(metric)) throw_domain("PlateauSchedule::update", "metric is NaN at update " + std::to_string(updates_ + 1));
    ++updates_;
    PlateauStep s;
    if (metric < best_) {
      best_ = metric;
      bad_ = 0;
      s.improved = true;
      return s;
    }
    if (++bad_ < opt_.patience) return s;
    bad_ = 0;
    if (lr_ <= opt_.min_lr) {
      s.stop = true;
      return s;
    }
    lr_ = std::max(opt_.min_lr, lr_ * opt_.factor);
    s.reduced = true;
    return s;
  }

  double lr() const { return lr_; }
  double best() const { return best_; }
  int epochs_since_best() const { return bad_; }
  const PlateauOptions& options() const { return opt_; }

  /// The schedule's position (rate, best metric, epochs since best, update count, and the options
  /// for checking), as exact text for a training-state file (checkpoint.hpp); load_state restores it.
  std::map<std::string, std::string> state() const {
    return {{"lr", format_exact(lr_)},       {"best", format_exact(best_)},
            {"bad", std::to_string(bad_)},   {"updates", std::to_string(updates_)},
            {"factor", format_exact(opt_.factor)}, {"patience", std::to_string(opt_.patience)},
            {"min_lr", format_exact(opt_.min_lr)}};
  }
  /// @throw StateMismatchError naming a missing entry, or an option ("factor", "patience",
  ///        "min_lr") that differs from this schedule's; nothing changes then.
  void load_state(const std::map<std::string, std::string>& s) {
    auto get = [&](const char* key) -> const std::string& {
      auto it = s.find(key);
      if (it == s.end()) throw StateMismatchError(key, std::string("PlateauSchedule::load_state: state has no '") + key + "'");
      return it->second;
    };
    if (parse_exact(get("factor"), "factor") != opt_.factor)
      throw StateMismatchError("factor", "PlateauSchedule::load_state: factor differs (" + get("factor") + " in the state)");
    if (parse_exact_int(get("patience"), "patience") != opt_.patience)
      throw StateMismatchError("patience", "PlateauSchedule::load_state: patience differs (" + get("patience") + " in the state)");
    if (parse_exact(get("min_lr"), "min_lr") != opt_.min_lr)
      throw StateMismatchError("min_lr", "PlateauSchedule::load_state: min_lr differs (" + get("min_lr") + " in the state)");
    const double lr = parse_exact(get("lr"), "lr"), best = parse_exact(get("best"), "best");
    const long long bad = parse_exact_int(get("bad"), "bad"), updates = parse_exact_int(get("updates"), "updates");
    if (!(std::isfinite(lr) && lr > 0)) throw StateMismatchError("lr", "PlateauSchedule::load_state: bad lr " + get("lr"));
    if (bad < 0 || bad >= opt_.patience || updates < 0)
      throw StateMismatchError("bad", "PlateauSchedule::load_state: bad counters " + get("bad") + ", " + get("updates"));
    lr_ = lr;
    best_ = best;
    bad_ = static_cast<int>(bad);
    updates_ = static_cast<long>(updates);
  }

 private:
  double lr_;
  PlateauOptions opt_;
  double best_ = std::numeric_limits<double>::infinity();
  int bad_ = 0;
  long updates_ = 0;
};

}  // namespace mgvae::nn
