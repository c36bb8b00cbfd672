#pragma once
/// @file error.hpp
/// Typed exceptions and argument validators (Stan's `check_*` style).
/// Shapes -> std::invalid_argument, non-PD / NaN -> std::domain_error,
/// malformed files -> mgvae::ParseError (file and line in the message), files that cannot be
/// opened -> mgvae::IoError (a ParseError naming the file and the system's error text).
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace mgvae {

/// Thrown by loaders when a file is missing, malformed or truncated. The message is
/// "<file>:<line>: <what>" with the 1-based line (or byte offset for binary files), or
/// "<file>: <what>" when `line` is 0 (the file as a whole: missing, empty, unreadable).
class ParseError : public std::runtime_error {
 public:
  ParseError(const std::string& file, std::int64_t line, const std::string& what)
      : std::runtime_error(line > 0 ? file + ":" + std::to_string(line) + ": " + what : file + ": " + what),
        file_(file),
        line_(line) {}
  const std::string& file() const noexcept { return file_; }
  /// 1-based line (or byte offset); 0 when the error concerns the file as a whole.
  std::int64_t line() const noexcept { return line_; }

 private:
  std::string file_;
  std::int64_t line_;
};

/// Thrown when a file cannot be opened or read: "<file>: <what>: <system error text>", e.g.
/// "data/x.txt: cannot open file: No such file or directory". A ParseError with line() == 0, so
/// existing `catch (const ParseError&)` sites keep catching it; `error_code()` is the errno value.
class IoError : public ParseError {
 public:
  IoError(const std::string& file, const std::string& what, int errno_value)
      : ParseError(file, 0,
                   errno_value != 0 ? what + ": " + std::system_category().message(errno_value) : what),
        errno_(errno_value) {}
  /// The errno value captured at the failure (0 if the system reported none).
  int error_code() const noexcept { return errno_; }

 private:
  int errno_;
};

/// Thrown when training diverges (a non-finite loss term, gradient or parameter) and when a
/// checkpoint writer is asked to save a non-finite tensor. The message is "<where>: <what>", e.g.
/// "seed 1 epoch 200 step 200: loss term 'kl[0]' is inf"; `where()` is the step/epoch (or the
/// function), `term()` the loss term, parameter or tensor name.
class DivergenceError : public std::runtime_error {
 public:
  DivergenceError(const std::string& where, const std::string& term, const std::string& what)
      : std::runtime_error(where.empty() ? what : where + ": " + what), where_(where), term_(term) {}
  const std::string& where() const noexcept { return where_; }
  const std::string& term() const noexcept { return term_; }

 private:
  std::string where_, term_;
};

/// True if `file` names a directory. Streams and gzopen "open" a directory on Linux and only the
/// first read fails, so loaders test this next to the open (`if (!in || is_directory_path(p))`).
inline bool is_directory_path(const std::string& file) noexcept {
  std::error_code ec;
  return std::filesystem::is_directory(file, ec);
}

/// The IoError for a failed open of `file`: call it right after the failing open, while errno
/// still holds the cause. A directory gives "Is a directory".
inline IoError open_error(const std::string& file, const std::string& what = "cannot open file") {
  const int e = errno;
  if (is_directory_path(file)) return IoError(file, what, EISDIR);
  return IoError(file, what, e);
}

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
