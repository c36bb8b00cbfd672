#pragma once
/// @file debug.hpp
/// Thread-local debug switches. `nan_checks()` (default off) makes the loss functions
/// (ops/loss.hpp) validate their inputs and throw std::domain_error naming the argument and
/// the first non-finite element. Turn it on for a scope with `debug::NanCheckScope`.
namespace mgvae::debug {

/// The calling thread's NaN-check flag (mutable reference).
inline bool& nan_checks_flag() {
  thread_local bool on = false;
  return on;
}
/// Whether NaN/Inf checks are enabled on this thread.
inline bool nan_checks() { return nan_checks_flag(); }

/// RAII: sets the NaN-check flag for the lifetime of the scope, then restores it.
class NanCheckScope {
 public:
  explicit NanCheckScope(bool on = true) : prev_(nan_checks_flag()) { nan_checks_flag() = on; }
  ~NanCheckScope() { nan_checks_flag() = prev_; }
  NanCheckScope(const NanCheckScope&) = delete;
  NanCheckScope& operator=(const NanCheckScope&) = delete;

 private:
  bool prev_;
};

}  // namespace mgvae::debug
