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
#include <string>

#include "mgvae/core/error.hpp"

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

 private:
  double lr_;
  PlateauOptions opt_;
  double best_ = std::numeric_limits<double>::infinity();
  int bad_ = 0;
  long updates_ = 0;
};

}  // namespace mgvae::nn
