#pragma once
/// @file tape.hpp
/// The linear tape (Stan style) and the grad-mode switch.
///
/// Every differentiable op that produces a value needing a gradient appends one entry: a
/// closure that reads the output's adjoint and adds vector-Jacobian products into its inputs'
/// adjoints. `backward()` is one reverse loop over the entries. The tape is per thread.
#include <functional>
#include <memory>
#include <vector>

namespace mgvae {

/// One recorded operation: keeps its output node alive and knows how to propagate.
struct TapeEntry {
  std::shared_ptr<void> keep;
  std::function<void()> backward;
};

/// The calling thread's tape.
class Tape {
 public:
  static Tape& local() {
    thread_local Tape t;
    return t;
  }
  void push(TapeEntry e) { entries_.push_back(std::move(e)); }
  std::size_t size() const noexcept { return entries_.size(); }
  /// Runs the backward closures from the newest entry down to `stop` (an earlier size()).
  void run_backward(std::size_t stop = 0) {
    for (std::size_t i = entries_.size(); i-- > stop;) entries_[i].backward();
  }
  /// Drops entries above `mark` (0 = everything).
  void clear(std::size_t mark = 0) { entries_.resize(std::min(mark, entries_.size())); }

 private:
  std::vector<TapeEntry> entries_;
};

/// Whether ops record onto the tape on this thread.
inline bool& grad_mode_flag() {
  thread_local bool enabled = true;
  return enabled;
}
inline bool grad_enabled() { return grad_mode_flag(); }

/// RAII: disables recording (inference, optimiser updates, metrics).
class NoGradGuard {
 public:
  NoGradGuard() : prev_(grad_mode_flag()) { grad_mode_flag() = false; }
  ~NoGradGuard() { grad_mode_flag() = prev_; }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

}  // namespace mgvae
