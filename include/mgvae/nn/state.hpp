#pragma once
/// @file state.hpp
/// Shared pieces of saved training state (optim.hpp, schedule.hpp, checkpoint.hpp): the error a
/// state that does not fit throws, and exact text for scalars kept in safetensors metadata.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <utility>

namespace mgvae::nn {

/// A saved state (optimiser, schedule, training state file) that does not fit the object it is
/// loaded into. `entry()` names the offending entry ("exp_avg.3", "beta1", "param/enc.fc0.weight",
/// a trainer flag, ...). A std::invalid_argument, so existing handlers keep catching it.
class StateMismatchError : public std::invalid_argument {
 public:
  StateMismatchError(std::string entry, const std::string& what) : std::invalid_argument(what), entry_(std::move(entry)) {}
  const std::string& entry() const noexcept { return entry_; }

 private:
  std::string entry_;
};

/// Exact text of a double (C99 hexadecimal float, "0x1.999999999999ap-4"; "inf", "-inf", "nan"):
/// `parse_exact` gives back the same bits (floats convert to double exactly).
inline std::string format_exact(double x) {
  char b[64];
  std::snprintf(b, sizeof b, "%a", x);
  return b;
}
/// Inverse of format_exact (also accepts decimal text).
/// @throw StateMismatchError naming `entry` if `text` is not a complete number.
inline double parse_exact(const std::string& text, const std::string& entry) {
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size())
    throw StateMismatchError(entry, "state entry '" + entry + "' is not a number: \"" + text + "\"");
  return v;
}
/// Integer counterpart of parse_exact. @throw StateMismatchError naming `entry`.
inline long long parse_exact_int(const std::string& text, const std::string& entry) {
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE)
    throw StateMismatchError(entry, "state entry '" + entry + "' is not an integer: \"" + text + "\"");
  return v;
}

}  // namespace mgvae::nn
