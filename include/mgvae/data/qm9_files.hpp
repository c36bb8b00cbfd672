#pragma once
/// @file qm9_files.hpp
/// Readers for MGVAE's QM9 count-line files (shared/data/README.md section 2). No RDKit: the
/// SMILES → graph conversion is in data/molecules/qm9.hpp, which includes this header.
///
/// Every QM9 file starts with a line holding the count N, followed by N lines:
///   qm9/SMILES                       one SMILES per line
///   qm9/targets/<name>               one float per line (standardized values)
///   qm9/splits/<p>.{train,test}.index one 0-based row index per line
/// Errors are mgvae::ParseError(file, line, msg) with a 1-based line (0 = the file as a whole);
/// a file that cannot be opened gives mgvae::IoError (a ParseError naming the system error text).
/// A trailing "\r" is accepted; blank lines after the N records are ignored.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "mgvae/core/error.hpp"

#ifndef MGVAE_DEFAULT_DATA_DIR
#ifdef MGVAE_SOURCE_DIR
#define MGVAE_DEFAULT_DATA_DIR MGVAE_SOURCE_DIR "/../shared/data"
#else
#define MGVAE_DEFAULT_DATA_DIR "../shared/data"
#endif
#endif

namespace mgvae::data {

/// Data directory: $MGVAE_DATA_DIR if set, else MGVAE_DEFAULT_DATA_DIR (compile-time).
inline std::string molecule_data_dir() {
  const char* env = std::getenv("MGVAE_DATA_DIR");
  return env && *env ? std::string(env) : std::string(MGVAE_DEFAULT_DATA_DIR);
}

/// The 13 QM9 regression targets shipped by MGVAE.
inline const std::vector<std::string>& qm9_target_names() {
  static const std::vector<std::string> names = {"alpha", "Cv",    "G", "gap", "H",  "HOMO", "LUMO",
                                                 "mu",    "omega1", "R2", "U",   "U0", "ZPVE"};
  return names;
}

/// Reads a count-line file: the first line is N, then N records (lines, "\r" stripped).
/// Throws IoError (a ParseError) for a missing file, ParseError for a bad count, fewer than N lines, or
/// extra non-blank lines.
inline std::vector<std::string> read_count_lines(const std::string& path) {
  std::ifstream in(path);
  if (!in || is_directory_path(path)) throw open_error(path);
  std::string line;
  if (!std::getline(in, line)) throw ParseError(path, 0, "empty file");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  std::int64_t n = -1;
  {
    const char* b = line.data();
    const char* e = b + line.size();
    while (b < e && (*b == ' ' || *b == '\t')) ++b;
    while (e > b && (e[-1] == ' ' || e[-1] == '\t')) --e;
    const auto r = std::from_chars(b, e, n);
    if (r.ec != std::errc() || r.ptr != e || n < 0) throw ParseError(path, 1, "bad count line '" + line + "'");
  }
  std::vector<std::string> out;
  // The count is untrusted until the lines are there: reserve at most 2^20 records up front (a corrupt
  // count such as 653834942 must not allocate gigabytes; found by fuzzing).
  out.reserve(static_cast<std::size_t>(std::min<std::int64_t>(n, std::int64_t(1) << 20)));
  std::int64_t lineno = 1;
  while (static_cast<std::int64_t>(out.size()) < n && std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(line);
  }
  if (static_cast<std::int64_t>(out.size()) < n)
    throw ParseError(path, lineno + 1,
                     "truncated: count line says " + std::to_string(n) + " records, found " + std::to_string(out.size()));
  while (std::getline(in, line)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") != std::string::npos)
      throw ParseError(path, lineno, "count mismatch: more than " + std::to_string(n) + " records");
  }
  return out;
}

namespace detail {
inline std::string trim_ws(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}
}  // namespace detail

/// qm9/SMILES: the first whitespace-separated token of each record. Empty records -> ParseError.
inline std::vector<std::string> read_qm9_smiles(const std::string& path) {
  auto lines = read_count_lines(path);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string t = detail::trim_ws(lines[i]);
    const auto sp = t.find_first_of(" \t");
    if (sp != std::string::npos) t.resize(sp);
    if (t.empty()) throw ParseError(path, static_cast<std::int64_t>(i) + 2, "empty SMILES");
    lines[i] = std::move(t);
  }
  return lines;
}

/// qm9/targets/<name>: one finite float per record; NaN/inf/garbage -> ParseError(file, line).
/// `expected_rows` >= 0 also requires that many records (one per molecule), else ParseError at line 1.
inline std::vector<double> read_qm9_target(const std::string& path, std::int64_t expected_rows = -1) {
  const auto lines = read_count_lines(path);
  if (expected_rows >= 0 && static_cast<std::int64_t>(lines.size()) != expected_rows)
    throw ParseError(path, 1,
                     "count mismatch: " + std::to_string(lines.size()) + " records, expected " +
                         std::to_string(expected_rows) + " (one per molecule)");
  std::vector<double> out(lines.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string t = detail::trim_ws(lines[i]);
    char* end = nullptr;
    const double v = t.empty() ? 0.0 : std::strtod(t.c_str(), &end);
    if (t.empty() || end != t.c_str() + t.size())
      throw ParseError(path, static_cast<std::int64_t>(i) + 2, "bad number '" + t + "'");
    if (!std::isfinite(v)) throw ParseError(path, static_cast<std::int64_t>(i) + 2, "non-finite target value '" + t + "'");
    out[i] = v;
  }
  return out;
}

/// qm9/splits/<p>.{train,test}.index: one 0-based index per record; negative, garbage or
/// (when num_rows > 0) >= num_rows or repeated -> ParseError.
inline std::vector<std::int64_t> read_qm9_split(const std::string& path, std::int64_t num_rows = 0) {
  const auto lines = read_count_lines(path);
  std::vector<std::int64_t> out(lines.size());
  std::vector<char> seen(static_cast<std::size_t>(num_rows > 0 ? num_rows : 0), 0);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string t = detail::trim_ws(lines[i]);
    std::int64_t v = -1;
    const auto r = std::from_chars(t.data(), t.data() + t.size(), v);
    if (t.empty() || r.ec != std::errc() || r.ptr != t.data() + t.size() || v < 0)
      throw ParseError(path, static_cast<std::int64_t>(i) + 2, "bad index '" + t + "'");
    if (num_rows > 0 && v >= num_rows)
      throw ParseError(path, static_cast<std::int64_t>(i) + 2,
                       "index " + std::to_string(v) + " out of range [0, " + std::to_string(num_rows) + ")");
    if (num_rows > 0) {
      if (seen[static_cast<std::size_t>(v)])
        throw ParseError(path, static_cast<std::int64_t>(i) + 2, "index " + std::to_string(v) + " repeated");
      seen[static_cast<std::size_t>(v)] = 1;
    }
    out[i] = v;
  }
  return out;
}

}  // namespace mgvae::data
