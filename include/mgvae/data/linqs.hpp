#pragma once
/// @file linqs.hpp
/// Loader for LINQS-style citation data sets (Cora, Citeseer, ...): `<prefix>.content` and
/// `<prefix>.cites` in one directory (see shared/data/README.md section 1).
///
/// `<prefix>.content`: one node per line, `<id> <f_1> ... <f_F> <label>`, fields separated by any run
/// of tabs/spaces. Node ids are arbitrary strings without whitespace; node k of the graph is the
/// k-th data line (file order). Features are parsed as float (0/1 in LINQS files). Labels that are
/// all integers in [0, 10^6] keep their value (label_names = "0".."max"); otherwise the distinct
/// label strings are sorted and numbered 0..C-1 (label_names[c] is the string of class c).
///
/// `<prefix>.cites`: one edge per line, `<id_a> <id_b>` (LINQS writes cited, citing; direction is
/// dropped). Self loops and repeated pairs (in either orientation) are removed and counted in
/// `CitationData::cleanup`; isolated nodes are kept and counted.
///
/// Blank (whitespace-only) lines are skipped and "\r\n" line ends are accepted. All errors are
/// `mgvae::ParseError(file, line, msg)` with the 1-based line; line 0 means "the file as a whole"
/// (empty); a file that cannot be opened or read gives `mgvae::IoError` (a ParseError with line 0
/// whose message ends with the system's error text, e.g. "No such file or directory").
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mgvae/core/error.hpp"
#include "mgvae/graph/graph.hpp"

namespace mgvae::data {

/// A single attributed graph with node classes (the citation-network setting).
struct CitationData {
  Graph graph;                           ///< canonical undirected graph on n nodes
  std::vector<float> features;           ///< n x num_features, row-major
  std::int64_t num_features = 0;         ///< F
  std::vector<std::int64_t> labels;      ///< class of each node, in [0, label_names.size())
  std::vector<std::string> label_names;  ///< name of each class (see the file comment)
  std::vector<std::string> ids;          ///< original node id of each node (file order)
  CleanupReport cleanup;                 ///< self loops / duplicates removed, isolated nodes counted

  /// Number of nodes. @throw nothing
  std::int64_t num_nodes() const { return graph.n; }
  /// Number of classes. @throw nothing
  std::int64_t num_classes() const { return static_cast<std::int64_t>(label_names.size()); }
};

namespace linqs_detail {

/// Reads a whole file. @throw mgvae::IoError (a ParseError, line 0) if it cannot be opened or read.
inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in || is_directory_path(path)) throw open_error(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw IoError(path, "error while reading file", errno);
  return std::move(ss).str();
}

/// Splits `line` into whitespace-separated tokens (space, tab, \r, \v, \f).
inline void tokenize(std::string_view line, std::vector<std::string_view>& out) {
  out.clear();
  std::size_t i = 0;
  const auto is_ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; };
  while (i < line.size()) {
    while (i < line.size() && is_ws(line[i])) ++i;
    const std::size_t b = i;
    while (i < line.size() && !is_ws(line[i])) ++i;
    if (i > b) out.push_back(line.substr(b, i - b));
  }
}

/// Calls f(line_number, line) for every line (1-based), without the trailing '\n'.
template <class F>
inline void for_each_line(const std::string& text, F&& f) {
  std::size_t pos = 0;
  std::int64_t lineno = 0;
  while (pos < text.size()) {
    std::size_t e = text.find('\n', pos);
    if (e == std::string::npos) e = text.size();
    ++lineno;
    f(lineno, std::string_view(text).substr(pos, e - pos));
    pos = e + 1;
  }
}

inline bool parse_float(std::string_view tok, float& out) {
  const char* b = tok.data();
  const char* e = b + tok.size();
  if (b != e && *b == '+') ++b;  // from_chars rejects a leading '+'
  const auto r = std::from_chars(b, e, out);
  return r.ec == std::errc() && r.ptr == e;
}

inline bool parse_i64(std::string_view tok, std::int64_t& out) {
  const char* b = tok.data();
  const char* e = b + tok.size();
  if (b != e && *b == '+') ++b;
  const auto r = std::from_chars(b, e, out);
  return r.ec == std::errc() && r.ptr == e;
}

}  // namespace linqs_detail

/// Loads `<dir>/<prefix>.content` and `<dir>/<prefix>.cites`, e.g.
/// `load_linqs("/work/shared/data/cora", "cora")` (2708 nodes, 5278 edges, 1433 features, 7 classes).
/// @throw mgvae::IoError (a ParseError) naming the file and the system error for a missing/unreadable
///   file; mgvae::ParseError naming the file and line: file without data
///   lines (line 0); a content line with fewer than 3 fields (id, >= 1 feature, label); ragged feature
///   rows (a different field count than the first line); a non-numeric or non-finite feature; a
///   repeated node id; a cites line that does not have exactly 2 fields; a cites line naming an id
///   that is not in the content file.
inline CitationData load_linqs(const std::string& dir, const std::string& prefix) {
  using namespace linqs_detail;
  const std::string base = dir.empty() ? prefix : (dir.back() == '/' ? dir + prefix : dir + "/" + prefix);
  const std::string content_path = base + ".content";
  const std::string cites_path = base + ".cites";

  CitationData d;
  std::unordered_map<std::string, std::int64_t> index;
  std::vector<std::int64_t> node_line;  // 1-based content line of each node
  std::vector<std::string> raw_labels;
  std::vector<std::string_view> tok;

  {
    const std::string text = read_file(content_path);
    std::int64_t fields = -1, fields_line = 0;
    for_each_line(text, [&](std::int64_t ln, std::string_view line) {
      tokenize(line, tok);
      if (tok.empty()) return;
      if (tok.size() < 3)
        throw ParseError(content_path, ln,
                         "expected '<id> <features...> <label>' with at least one feature, got " +
                             std::to_string(tok.size()) + " field(s)");
      if (fields < 0) {
        fields = static_cast<std::int64_t>(tok.size());
        fields_line = ln;
        d.num_features = fields - 2;
      } else if (static_cast<std::int64_t>(tok.size()) != fields) {
        throw ParseError(content_path, ln,
                         "ragged row: " + std::to_string(tok.size() - 2) + " features but line " +
                             std::to_string(fields_line) + " has " + std::to_string(fields - 2));
      }
      std::string id(tok.front());
      const auto [it, inserted] = index.emplace(id, static_cast<std::int64_t>(d.ids.size()));
      if (!inserted)
        throw ParseError(content_path, ln,
                         "duplicate node id '" + id + "' (first on line " +
                             std::to_string(node_line[static_cast<std::size_t>(it->second)]) + ")");
      node_line.push_back(ln);
      for (std::size_t j = 1; j + 1 < tok.size(); ++j) {
        float v = 0.0f;
        if (!parse_float(tok[j], v))
          throw ParseError(content_path, ln,
                           "feature " + std::to_string(j) + " ('" + std::string(tok[j]) + "') is not a number");
        if (!std::isfinite(v))
          throw ParseError(content_path, ln,
                           "feature " + std::to_string(j) + " ('" + std::string(tok[j]) + "') is not finite");
        d.features.push_back(v);
      }
      raw_labels.emplace_back(tok.back());
      d.ids.push_back(std::move(id));
    });
    if (d.ids.empty()) throw ParseError(content_path, 0, "empty file (no node lines)");
  }

  // Labels: integer values when all labels are non-negative integers, else sorted names.
  bool all_int = true;
  std::int64_t max_label = -1;
  std::vector<std::int64_t> int_labels;
  int_labels.reserve(raw_labels.size());
  for (const auto& s : raw_labels) {
    std::int64_t v = 0;
    if (!parse_i64(s, v) || v < 0 || v > 1000000) {
      all_int = false;
      break;
    }
    int_labels.push_back(v);
    max_label = std::max(max_label, v);
  }
  if (all_int) {
    d.labels = std::move(int_labels);
    for (std::int64_t c = 0; c <= max_label; ++c) d.label_names.push_back(std::to_string(c));
  } else {
    std::map<std::string, std::int64_t> names;
    for (const auto& s : raw_labels) names.emplace(s, 0);
    std::int64_t c = 0;
    for (auto& [name, id] : names) {
      id = c++;
      d.label_names.push_back(name);
    }
    d.labels.reserve(raw_labels.size());
    for (const auto& s : raw_labels) d.labels.push_back(names.at(s));
  }

  std::vector<Graph::Edge> edges;
  {
    const std::string text = read_file(cites_path);
    for_each_line(text, [&](std::int64_t ln, std::string_view line) {
      tokenize(line, tok);
      if (tok.empty()) return;
      if (tok.size() != 2)
        throw ParseError(cites_path, ln, "expected '<id> <id>', got " + std::to_string(tok.size()) + " field(s)");
      std::int64_t uv[2];
      for (int k = 0; k < 2; ++k) {
        const auto it = index.find(std::string(tok[static_cast<std::size_t>(k)]));
        if (it == index.end())
          throw ParseError(cites_path, ln,
                           "edge names unknown node id '" + std::string(tok[static_cast<std::size_t>(k)]) +
                               "' (not in " + content_path + ")");
        uv[k] = it->second;
      }
      edges.emplace_back(uv[0], uv[1]);
    });
    if (edges.empty()) throw ParseError(cites_path, 0, "empty file (no edge lines)");
  }
  d.graph = Graph::from_edges(static_cast<std::int64_t>(d.ids.size()), edges, &d.cleanup);
  return d;
}

}  // namespace mgvae::data
