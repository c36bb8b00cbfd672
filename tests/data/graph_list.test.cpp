// Tests for include/mgvae/data/graph_list.hpp: reading, writing (round trip, atomic replace),
// index files, and every malformed-input case (ParseError naming file and line).
#include "mgvae/data/graph_list.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "support/catch.hpp"

using mgvae::Graph;

namespace {

namespace fs = std::filesystem;

struct ListTmp {
  fs::path dir;
  ListTmp() {
    dir = fs::temp_directory_path() /
          ("mgvae_glist_" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(dir);
  }
  ~ListTmp() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(dir / name, std::ios::binary) << text;
    return (dir / name).string();
  }
};

template <class F>
void expect_parse_error(F&& f, const std::string& file, std::int64_t line, const std::string& needle) {
  try {
    f();
    FAIL("expected ParseError");
  } catch (const mgvae::ParseError& e) {
    const std::string msg = e.what();
    INFO(msg);
    CHECK(e.file() == file);
    CHECK(e.line() == line);
    // "file:line: ..." for a line, "file: ..." (no line) for the file as a whole
    CHECK(msg.find(line > 0 ? file + ":" + std::to_string(line) + ":" : file + ": ") == 0);
    CHECK(msg.find(needle) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("read_graph_list parses blocks and cleans edges", "[data][graph_list]") {
  ListTmp t;
  const std::string p = t.write("g.txt",
                                "3\n"
                                "3 2\n0 1\n2 1\n"
                                "\n"
                                "4 4\r\n0\t1\r\n1 1\r\n0 1\r\n2 3\r\n"
                                "0 0\n");
  mgvae::CleanupReport rep;
  const auto gs = mgvae::data::read_graph_list(p, &rep);
  REQUIRE(gs.size() == 3);
  CHECK(gs[0] == Graph{3, {{0, 1}, {1, 2}}});
  CHECK(gs[1] == Graph{4, {{0, 1}, {2, 3}}});
  CHECK(gs[2] == Graph{0, {}});
  CHECK(rep.self_loops == 1);
  CHECK(rep.duplicate_edges == 1);
  CHECK(rep.isolated_nodes == 0);
}

TEST_CASE("read_graph_list errors", "[data][graph_list]") {
  ListTmp t;
  auto rd = [](const std::string& p) { return [p] { (void)mgvae::data::read_graph_list(p); }; };
  const std::string missing = (t.dir / "nope.txt").string();
  expect_parse_error(rd(missing), missing, 0, "cannot open");
  std::string p = t.write("a.txt", "");
  expect_parse_error(rd(p), p, 0, "empty");
  p = t.write("b.txt", "x\n");
  expect_parse_error(rd(p), p, 1, "'x' is not an integer");
  p = t.write("c.txt", "2 3\n");
  expect_parse_error(rd(p), p, 1, "graph count");
  // Truncated: graph 1 header missing.
  p = t.write("d.txt", "2\n2 1\n0 1\n");
  expect_parse_error(rd(p), p, 4, "graph 1");
  // Edge count larger than the edges given (file ends).
  p = t.write("e.txt", "1\n3 3\n0 1\n1 2\n");
  expect_parse_error(rd(p), p, 5, "declares 3 edges but only 2 follow");
  // Edge count smaller than the edges given (trailing data).
  p = t.write("f.txt", "1\n3 1\n0 1\n1 2\n");
  expect_parse_error(rd(p), p, 4, "unexpected data");
  // Id out of range.
  p = t.write("g.txt", "1\n3 2\n0 1\n1 3\n");
  expect_parse_error(rd(p), p, 4, "outside [0, 3)");
  // Non-numeric edge and header fields, negative numbers, wrong field counts.
  p = t.write("h.txt", "1\n3 2\n0 1\n1 b\n");
  expect_parse_error(rd(p), p, 4, "'b' is not an integer");
  p = t.write("i.txt", "1\n3 two\n");
  expect_parse_error(rd(p), p, 2, "edge count 'two'");
  p = t.write("j.txt", "1\n3 1\n-1 2\n");
  expect_parse_error(rd(p), p, 3, "negative");
  p = t.write("k.txt", "1\n3 1\n0 1 2\n");
  expect_parse_error(rd(p), p, 3, "3 field(s)");
  p = t.write("l.txt", "1\n3\n");
  expect_parse_error(rd(p), p, 2, "header 'n m'");
  p = t.write("m.txt", "1\n3 1\n0.5 1\n");
  expect_parse_error(rd(p), p, 3, "not an integer");
  // A corrupt header with an absurd node count (found by fuzzing: it allocated terabytes).
  p = t.write("n.txt", "2\n6 0\n6666666666660 0\n1 2\n2\n");
  expect_parse_error(rd(p), p, 3, "exceeds the reader's limit");
  p = t.write("o.txt", "1\n67108865 0\n");  // one above the limit
  expect_parse_error(rd(p), p, 2, "limit of 67108864 nodes");
}

TEST_CASE("read_index_file", "[data][graph_list]") {
  ListTmp t;
  std::string p = t.write("i.index", "20\n21\n\n99\n");
  CHECK(mgvae::data::read_index_file(p) == std::vector<std::int64_t>{20, 21, 99});
  CHECK(mgvae::data::read_index_file(p, 100).size() == 3);
  expect_parse_error([&] { (void)mgvae::data::read_index_file(p, 99); }, p, 4, "outside [0, 99)");
  p = t.write("j.index", "1\n2 3\n");
  expect_parse_error([&] { (void)mgvae::data::read_index_file(p); }, p, 2, "one index per line");
  p = t.write("k.index", "1\nfoo\n");
  expect_parse_error([&] { (void)mgvae::data::read_index_file(p); }, p, 2, "'foo' is not an integer");
  p = t.write("l.index", "");
  expect_parse_error([&] { (void)mgvae::data::read_index_file(p); }, p, 0, "empty");
}

TEST_CASE("write_graph_list round trip and atomic replace", "[data][graph_list]") {
  ListTmp t;
  const std::vector<Graph> gs{Graph{3, {{0, 1}, {1, 2}}}, Graph{0, {}}, Graph{5, {{0, 4}, {1, 2}, {2, 3}}}};
  const std::string p = (t.dir / "out.txt").string();
  t.write("out.txt", "old contents\n");
  mgvae::data::write_graph_list(p, gs);
  CHECK(mgvae::data::read_graph_list(p) == gs);
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  CHECK(ss.str() == "3\n3 2\n0 1\n1 2\n0 0\n5 3\n0 4\n1 2\n2 3\n");
  // No temporary file is left behind.
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(t.dir)) ++files;
  CHECK(files == 1);
  // Non-canonical graph: refused, target untouched.
  CHECK_THROWS_AS(mgvae::data::write_graph_list(p, {Graph{2, {{1, 0}}}}), std::invalid_argument);
  CHECK(mgvae::data::read_graph_list(p) == gs);
  // Unwritable location.
  CHECK_THROWS_AS(mgvae::data::write_graph_list((t.dir / "no_such_dir" / "x.txt").string(), gs), std::runtime_error);
}

TEST_CASE("load_graph_list_split", "[data][graph_list]") {
  ListTmp t;
  t.write("s.txt", "3\n2 1\n0 1\n3 0\n2 1\n0 1\n");
  t.write("s.train.index", "1\n2\n");
  t.write("s.test.index", "0\n");
  const auto s = mgvae::data::load_graph_list_split(t.dir.string(), "s");
  CHECK(s.graphs.size() == 3);
  CHECK(s.train().size() == 2);
  CHECK(s.train()[0] == Graph{3, {}});
  CHECK(s.test()[0] == Graph{2, {{0, 1}}});
  CHECK(s.cleanup.isolated_nodes == 3);
  t.write("s.test.index", "3\n");
  expect_parse_error([&] { (void)mgvae::data::load_graph_list_split(t.dir.string(), "s"); },
                     (t.dir / "s.test.index").string(), 1, "outside [0, 3)");
}
