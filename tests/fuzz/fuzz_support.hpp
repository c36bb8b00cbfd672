#pragma once
// Shared pieces of the loader fuzz harnesses (tests/fuzz/README.md).
//
// Every loader reads a path, so a harness writes the input bytes to a private temporary file and
// calls the loader on it. A loader must either return or throw one of the library's typed errors
// (mgvae::ParseError / IoError, std::invalid_argument, std::domain_error, std::length_error); any
// other exception escapes the harness, and libFuzzer reports it as a crash, as it reports memory
// errors (AddressSanitizer) and undefined behaviour (UBSan).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "mgvae/core/error.hpp"

namespace mgvae::fuzz {

/// A private temporary directory, removed with its files when the object goes out of scope.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/mgvae_fuzz_XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr) std::abort();
    path_ = buf.data();
  }
  ~TempDir() {
    for (const auto& f : files_) std::remove(f.c_str());
    ::rmdir(path_.c_str());
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  /// Writes `bytes` to <dir>/<name> and returns the path.
  std::string write(const std::string& name, std::string_view bytes) {
    const std::string p = path_ + "/" + name;
    std::FILE* f = std::fopen(p.c_str(), "wb");
    if (!f) std::abort();
    if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) std::abort();
    std::fclose(f);
    files_.push_back(p);
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::vector<std::string> files_;
};

/// Runs `f`; the library's typed errors are accepted outcomes, anything else propagates.
template <class F>
void expect_typed(F&& f) {
  try {
    f();
  } catch (const mgvae::ParseError&) {
  } catch (const std::invalid_argument&) {
  } catch (const std::domain_error&) {
  } catch (const std::length_error&) {
  }
}

/// Splits the input at the first occurrence of `sep` (the rest after it; empty if absent).
inline std::pair<std::string_view, std::string_view> split_at(std::string_view s, std::string_view sep) {
  const auto k = s.find(sep);
  if (k == std::string_view::npos) return {s, std::string_view()};
  return {s.substr(0, k), s.substr(k + sep.size())};
}

}  // namespace mgvae::fuzz
