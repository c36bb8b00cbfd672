#pragma once
/// @file error.hpp
/// Typed exceptions and argument validators (Stan's `check_*` style).
/// Shapes -> std::invalid_argument, non-PD / NaN -> std::domain_error,
/// unreadable files -> mgvae::ParseError (file and line in the message).
#include <cmath>
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace mgvae {

/// Thrown by loaders when a file is missing, malformed or truncated. The message names
/// the file and the 1-based line (or byte offset for binary files).
class ParseError : public std::runtime_error {
 public:
  ParseError(const std::string& file, std::int64_t line, const std::string& what)
      : std::runtime_error(file + ":" + std::to_string(line) + ": " + what), file_(file), line_(line) {}
  const std::string& file() const noexcept { return file_; }
  std::int64_t line() const noexcept { return line_; }

 private:
  std::string file_;
  std::int64_t line_;
};

/// Formats a shape as "[2, 3, 4]".
inline std::string shape_str(const std::vector<std::int64_t>& s) {
  std::ostringstream os;
  os << '[';
  for (std::size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << ']';
  return os.str();
}

/// Throws std::invalid_argument "<fn>: <msg>".
[[noreturn]] inline void throw_invalid(const std::string& fn, const std::string& msg) {
  throw std::invalid_argument(fn + ": " + msg);
}

/// Throws std::domain_error "<fn>: <msg>".
[[noreturn]] inline void throw_domain(const std::string& fn, const std::string& msg) {
  throw std::domain_error(fn + ": " + msg);
}

/// Requires `cond`, else std::invalid_argument naming the function and argument.
inline void check_arg(bool cond, const char* fn, const char* arg, const std::string& msg) {
  if (!cond) throw_invalid(fn, std::string("argument '") + arg + "' " + msg);
}

/// Requires two shapes to be equal.
inline void check_same_shape(const char* fn, const char* a, const std::vector<std::int64_t>& sa, const char* b,
                             const std::vector<std::int64_t>& sb) {
  if (sa != sb)
    throw_invalid(fn, std::string("shape mismatch: ") + a + " is " + shape_str(sa) + " but " + b + " is " +
                          shape_str(sb));
}

/// Requires every value to be finite; std::domain_error naming the argument and first bad index.
template <class T>
inline void check_finite(const char* fn, const char* arg, const T* p, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i)
    if (!std::isfinite(p[i]))
      throw_domain(fn, std::string("argument '") + arg + "' has a non-finite value at flat index " +
                           std::to_string(i));
}

}  // namespace mgvae
