// Tests for include/mgvae/data/linqs.hpp on small fixtures written to a temporary directory:
// a good file with string ids, string labels, tabs/spaces, CRLF, a duplicate edge, a self loop and
// an isolated node; then every kind of malformed input (ParseError naming file and line).
#include "mgvae/data/linqs.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "support/catch.hpp"

namespace {

namespace fs = std::filesystem;

struct LinqsTmp {
  fs::path dir;
  LinqsTmp() {
    dir = fs::temp_directory_path() /
          ("mgvae_linqs_" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(dir);
  }
  ~LinqsTmp() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(dir / name, std::ios::binary) << text;
  }
  std::string path(const std::string& name) const { return (dir / name).string(); }
};

// Expects load_linqs to throw a ParseError for `file` at `line`, whose message contains `needle`.
void expect_parse_error(const LinqsTmp& t, const std::string& file, std::int64_t line, const std::string& needle) {
  try {
    (void)mgvae::data::load_linqs(t.dir.string(), "g");
    FAIL("expected ParseError");
  } catch (const mgvae::ParseError& e) {
    CHECK(e.file() == t.path(file));
    CHECK(e.line() == line);
    const std::string msg = e.what();
    INFO(msg);
    CHECK(msg.find(line > 0 ? t.path(file) + ":" + std::to_string(line) + ":" : t.path(file) + ": ") == 0);
    CHECK(msg.find(needle) != std::string::npos);
  }
}

const char* kGoodContent =
    "p31\t1\t0\t0\tNeural_Networks\n"
    "x-7 0 1 0.5 Theory\r\n"
    "\n"
    "a9\t0\t0\t1\tNeural_Networks\n"
    "b2\t1 1\t0\tRule_Learning\n";

}  // namespace

TEST_CASE("load_linqs reads ids, features, string labels and cleans edges", "[data][linqs]") {
  LinqsTmp t;
  t.write("g.content", kGoodContent);
  t.write("g.cites", "p31 x-7\nx-7\tp31\n a9 p31 \nb2 b2\n\n");  // duplicate (reversed), self loop
  const auto d = mgvae::data::load_linqs(t.dir.string(), "g");
  CHECK(d.num_nodes() == 4);
  CHECK(d.num_features == 3);
  CHECK(d.ids == std::vector<std::string>{"p31", "x-7", "a9", "b2"});
  CHECK(d.features == std::vector<float>{1, 0, 0, 0, 1, 0.5f, 0, 0, 1, 1, 1, 0});
  CHECK(d.label_names == std::vector<std::string>{"Neural_Networks", "Rule_Learning", "Theory"});
  CHECK(d.labels == std::vector<std::int64_t>{0, 2, 0, 1});
  CHECK(d.num_classes() == 3);
  CHECK(d.graph.edges == std::vector<mgvae::Graph::Edge>{{0, 1}, {0, 2}});
  CHECK(d.cleanup.duplicate_edges == 1);
  CHECK(d.cleanup.self_loops == 1);
  CHECK(d.cleanup.isolated_nodes == 1);  // b2
}

TEST_CASE("load_linqs keeps integer labels as values", "[data][linqs]") {
  LinqsTmp t;
  t.write("g.content", "0 1 0 3\n1 0 1 0\n2 1 1 3\n");
  t.write("g.cites", "0 1\n1 2\n");
  const auto d = mgvae::data::load_linqs(t.dir.string() + "/", "g");
  CHECK(d.labels == std::vector<std::int64_t>{3, 0, 3});
  CHECK(d.label_names == std::vector<std::string>{"0", "1", "2", "3"});
  CHECK(d.cleanup.isolated_nodes == 0);
}

TEST_CASE("load_linqs errors: missing files", "[data][linqs]") {
  LinqsTmp t;
  expect_parse_error(t, "g.content", 0, "cannot open");
  t.write("g.content", kGoodContent);
  expect_parse_error(t, "g.cites", 0, "cannot open");
}

TEST_CASE("load_linqs errors: empty files", "[data][linqs]") {
  LinqsTmp t;
  t.write("g.content", "");
  t.write("g.cites", "p31 x-7\n");
  expect_parse_error(t, "g.content", 0, "empty");
  t.write("g.content", "\n  \n");
  expect_parse_error(t, "g.content", 0, "empty");
  t.write("g.content", kGoodContent);
  t.write("g.cites", "\n");
  expect_parse_error(t, "g.cites", 0, "empty");
}

TEST_CASE("load_linqs errors: ragged, non-numeric, too short, duplicate id", "[data][linqs]") {
  LinqsTmp t;
  t.write("g.cites", "a b\n");
  t.write("g.content", "a 1 0 L\nb 1 0 0 L\n");
  expect_parse_error(t, "g.content", 2, "ragged");
  t.write("g.content", "a 1 0 L\nb 1 L\n");
  expect_parse_error(t, "g.content", 2, "ragged");
  t.write("g.content", "a 1 0 L\n\nb 1 zero L\n");
  expect_parse_error(t, "g.content", 3, "feature 2 ('zero') is not a number");
  t.write("g.content", "a 1 0 L\nb 1 1.5x L\n");
  expect_parse_error(t, "g.content", 2, "not a number");
  t.write("g.content", "a 1 nan L\n");
  expect_parse_error(t, "g.content", 1, "not finite");
  t.write("g.content", "a L\n");
  expect_parse_error(t, "g.content", 1, "at least one feature");
  t.write("g.content", "a 1 L\nb 0 L\na 1 L\n");
  expect_parse_error(t, "g.content", 3, "duplicate node id 'a' (first on line 1)");
}

TEST_CASE("load_linqs errors: bad cites lines", "[data][linqs]") {
  LinqsTmp t;
  t.write("g.content", kGoodContent);
  t.write("g.cites", "p31 x-7\na9 nobody\n");
  expect_parse_error(t, "g.cites", 2, "unknown node id 'nobody'");
  t.write("g.cites", "p31 x-7\n\np31 a9 b2\n");
  expect_parse_error(t, "g.cites", 3, "3 field(s)");
  t.write("g.cites", "p31\n");
  expect_parse_error(t, "g.cites", 1, "1 field(s)");
}
