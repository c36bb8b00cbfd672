#pragma once
/// @file graph_list.hpp
/// Plain-text list of small graphs (shared/data/README.md section 4, `community_small.txt`):
///
///     G            number of graphs
///     n m          graph 0: node count, edge count
///     u v          m lines, 0-based node ids (u < v expected; u > v is accepted and reoriented)
///     ...
///     n m          graph 1 ...
///
/// and index files (`community_small.{train,test}.index`): one non-negative integer per line.
/// Fields are separated by spaces/tabs; blank lines are skipped; "\r\n" is accepted. Self loops and
/// repeated pairs are removed and counted (CleanupReport). Errors are `mgvae::ParseError(file, line,
/// msg)` with the 1-based line (0 = the file as a whole: empty); a file that cannot be opened or read
/// gives `mgvae::IoError` (a ParseError with line 0 whose message ends with the system's error text).
#include <algorithm>
#include <chrono>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "mgvae/core/error.hpp"
#include "mgvae/graph/graph.hpp"

namespace mgvae::data {

namespace graph_list_detail {

/// Iterates over the non-blank lines of a text file, splitting each into whitespace-separated tokens.
class LineReader {
 public:
  explicit LineReader(const std::string& path) : path_(path) {
    std::ifstream in(path, std::ios::binary);
    if (!in || is_directory_path(path)) throw open_error(path);
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) throw IoError(path, "error while reading file", errno);
    text_ = std::move(ss).str();
  }
  /// Next non-blank line into `tok`; false at end of file.
  bool next(std::vector<std::string_view>& tok) {
    while (pos_ < text_.size()) {
      std::size_t e = text_.find('\n', pos_);
      if (e == std::string::npos) e = text_.size();
      const std::string_view line = std::string_view(text_).substr(pos_, e - pos_);
      pos_ = e + 1;
      ++line_;
      tok.clear();
      std::size_t i = 0;
      const auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; };
      while (i < line.size()) {
        while (i < line.size() && ws(line[i])) ++i;
        const std::size_t b = i;
        while (i < line.size() && !ws(line[i])) ++i;
        if (i > b) tok.push_back(line.substr(b, i - b));
      }
      if (!tok.empty()) return true;
    }
    return false;
  }
  /// 1-based number of the line returned last (the last line of the file after `next` returned false).
  std::int64_t line() const { return line_; }
  const std::string& path() const { return path_; }

  /// Parses a non-negative integer token or throws ParseError naming `what`.
  std::int64_t nonneg_int(std::string_view tok, const char* what) const {
    std::int64_t v = 0;
    const char* b = tok.data();
    const char* e = b + tok.size();
    if (b != e && *b == '+') ++b;
    const auto r = std::from_chars(b, e, v);
    if (r.ec != std::errc() || r.ptr != e)
      throw ParseError(path_, line_, std::string(what) + " '" + std::string(tok) + "' is not an integer");
    if (v < 0) throw ParseError(path_, line_, std::string(what) + " " + std::to_string(v) + " is negative");
    return v;
  }

 private:
  std::string path_, text_;
  std::size_t pos_ = 0;
  std::int64_t line_ = 0;
};

}  // namespace graph_list_detail

/// Largest node count `read_graph_list` accepts for one graph (2^26): a graph costs O(n) memory
/// even without edges, so a corrupt header such as "6666666666660 0" must not allocate terabytes.
inline constexpr std::int64_t kMaxGraphListNodes = std::int64_t(1) << 26;

/// Reads a graph-list file (format in the file comment). Every returned graph is canonical.
/// `report` (if not null) receives the summed self loops / duplicates removed and isolated nodes.
/// @throw mgvae::IoError (a ParseError) naming the file and the system error for a missing or unreadable
///   file; mgvae::ParseError naming file and line: empty file; a count line that is not one
///   non-negative integer; a graph header that is not `n m`; a node count above kMaxGraphListNodes; an edge line that is not `u v`; a
///   non-numeric or negative number; a node id outside [0, n); the file ending before the declared
///   graphs/edges (truncated, or an edge count larger than the edges given); non-blank lines after
///   the last declared graph (an edge count smaller than the edges given).
inline std::vector<Graph> read_graph_list(const std::string& path, CleanupReport* report = nullptr) {
  graph_list_detail::LineReader rd(path);
  std::vector<std::string_view> tok;
  if (!rd.next(tok)) throw ParseError(path, 0, "empty file");
  if (tok.size() != 1)
    throw ParseError(path, rd.line(), "expected the graph count G alone on the first line, got " +
                                          std::to_string(tok.size()) + " fields");
  const std::int64_t G = rd.nonneg_int(tok[0], "graph count");
  std::vector<Graph> out;
  out.reserve(static_cast<std::size_t>(std::min<std::int64_t>(G, 1 << 20)));
  CleanupReport total;
  for (std::int64_t gi = 0; gi < G; ++gi) {
    if (!rd.next(tok))
      throw ParseError(path, rd.line() + 1,
                       "unexpected end of file: expected the header 'n m' of graph " + std::to_string(gi) +
                           " (the file declares " + std::to_string(G) + " graphs)");
    if (tok.size() != 2)
      throw ParseError(path, rd.line(), "expected the header 'n m' of graph " + std::to_string(gi) + ", got " +
                                            std::to_string(tok.size()) + " field(s)");
    const std::int64_t n = rd.nonneg_int(tok[0], "node count");
    if (n > kMaxGraphListNodes)
      throw ParseError(path, rd.line(), "node count " + std::to_string(n) + " of graph " + std::to_string(gi) +
                                            " exceeds the reader's limit of " + std::to_string(kMaxGraphListNodes) +
                                            " nodes per graph");
    const std::int64_t m = rd.nonneg_int(tok[1], "edge count");
    const std::int64_t header_line = rd.line();
    std::vector<Graph::Edge> edges;
    edges.reserve(static_cast<std::size_t>(std::min<std::int64_t>(m, 1 << 20)));
    for (std::int64_t k = 0; k < m; ++k) {
      if (!rd.next(tok))
        throw ParseError(path, rd.line() + 1,
                         "unexpected end of file: graph " + std::to_string(gi) + " (header on line " +
                             std::to_string(header_line) + ") declares " + std::to_string(m) +
                             " edges but only " + std::to_string(k) + " follow");
      if (tok.size() != 2)
        throw ParseError(path, rd.line(), "expected an edge 'u v' of graph " + std::to_string(gi) + ", got " +
                                              std::to_string(tok.size()) + " field(s)");
      const std::int64_t u = rd.nonneg_int(tok[0], "node id");
      const std::int64_t v = rd.nonneg_int(tok[1], "node id");
      if (u >= n || v >= n)
        throw ParseError(path, rd.line(), "edge (" + std::to_string(u) + ", " + std::to_string(v) + ") of graph " +
                                              std::to_string(gi) + " has a node id outside [0, " +
                                              std::to_string(n) + ")");
      edges.emplace_back(u, v);
    }
    CleanupReport r;
    out.push_back(Graph::from_edges(n, edges, &r));
    total += r;
  }
  if (rd.next(tok))
    throw ParseError(path, rd.line(), "unexpected data after the " + std::to_string(G) +
                                          " declared graphs (an edge count smaller than the edges given?)");
  if (report != nullptr) *report = total;
  return out;
}

/// Reads an index file: one non-negative integer per non-blank line, in file order.
/// If `bound >= 0`, every index must be < bound.
/// @throw mgvae::IoError (a ParseError) for a missing or unreadable file; mgvae::ParseError naming file
///   and line: empty file, a line that is not exactly
///   one non-negative integer, an index >= bound.
inline std::vector<std::int64_t> read_index_file(const std::string& path, std::int64_t bound = -1) {
  graph_list_detail::LineReader rd(path);
  std::vector<std::string_view> tok;
  std::vector<std::int64_t> out;
  while (rd.next(tok)) {
    if (tok.size() != 1)
      throw ParseError(path, rd.line(), "expected one index per line, got " + std::to_string(tok.size()) + " fields");
    const std::int64_t v = rd.nonneg_int(tok[0], "index");
    if (bound >= 0 && v >= bound)
      throw ParseError(path, rd.line(), "index " + std::to_string(v) + " is outside [0, " + std::to_string(bound) + ")");
    out.push_back(v);
  }
  if (out.empty()) throw ParseError(path, 0, "empty file");
  return out;
}

/// A graph list with its train/test index files.
struct GraphListSplit {
  std::vector<Graph> graphs;               ///< all graphs, file order
  std::vector<std::int64_t> train_index;   ///< indices into graphs
  std::vector<std::int64_t> test_index;    ///< indices into graphs
  CleanupReport cleanup;                   ///< summed over all graphs

  /// The training graphs, in index-file order. @throw std::bad_alloc only
  std::vector<Graph> train() const { return pick(train_index); }
  /// The test graphs, in index-file order. @throw std::bad_alloc only
  std::vector<Graph> test() const { return pick(test_index); }

 private:
  std::vector<Graph> pick(const std::vector<std::int64_t>& idx) const {
    std::vector<Graph> r;
    r.reserve(idx.size());
    for (const std::int64_t i : idx) r.push_back(graphs[static_cast<std::size_t>(i)]);
    return r;
  }
};

/// Loads `<dir>/<name>.txt`, `<dir>/<name>.train.index` and `<dir>/<name>.test.index`, e.g.
/// `load_graph_list_split("/work/shared/data/community_small", "community_small")` (100 graphs,
/// train 80 = graphs 20..99, test 20 = graphs 0..19).
/// @throw mgvae::ParseError as read_graph_list / read_index_file (indices are checked against the
///   number of graphs).
inline GraphListSplit load_graph_list_split(const std::string& dir, const std::string& name) {
  const std::string base = dir.empty() ? name : (dir.back() == '/' ? dir + name : dir + "/" + name);
  GraphListSplit s;
  s.graphs = read_graph_list(base + ".txt", &s.cleanup);
  const auto G = static_cast<std::int64_t>(s.graphs.size());
  s.train_index = read_index_file(base + ".train.index", G);
  s.test_index = read_index_file(base + ".test.index", G);
  return s;
}

/// Writes graphs in the graph-list format (edges as stored; canonical graphs give u < v).
/// The file is written to a temporary sibling and renamed over `path`, so readers never see a
/// partial file.
/// @throw std::invalid_argument if a graph is not canonical (naming the graph index);
///   std::runtime_error if the file cannot be written or renamed.
inline void write_graph_list(const std::string& path, const std::vector<Graph>& graphs) {
  for (std::size_t i = 0; i < graphs.size(); ++i) {
    try {
      graphs[i].validate();
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("write_graph_list: graph " + std::to_string(i) + ": " + e.what());
    }
  }
  const std::string tmp =
      path + ".tmp." + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("write_graph_list: cannot create " + tmp);
    out << graphs.size() << '\n';
    for (const Graph& g : graphs) {
      out << g.n << ' ' << g.edges.size() << '\n';
      for (const auto& [u, v] : g.edges) out << u << ' ' << v << '\n';
    }
    out.flush();
    if (!out) {
      out.close();
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      throw std::runtime_error("write_graph_list: error while writing " + tmp);
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::error_code ec2;
    std::filesystem::remove(tmp, ec2);
    throw std::runtime_error("write_graph_list: cannot rename " + tmp + " to " + path + ": " + ec.message());
  }
}

}  // namespace mgvae::data
