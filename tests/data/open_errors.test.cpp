// Files that cannot be opened: every loader in include/mgvae/data (graph generation reads with data::read_graph_list)
// throws mgvae::IoError, a ParseError with line() == 0 whose message is "<file>: cannot open file:
// <system error text>" (no ":0:"), and error.hpp's ParseError formats line 0 without a line.
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <string>

#include "mgvae/core/error.hpp"
#include "mgvae/data/graph_list.hpp"
#include "mgvae/data/linqs.hpp"
#include "mgvae/data/qm9_files.hpp"
#include "support/catch.hpp"

namespace {

namespace fs = std::filesystem;

struct OpenTmp {
  fs::path dir;
  OpenTmp() {
    dir = fs::temp_directory_path() /
          ("mgvae_open_" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(dir);
  }
  ~OpenTmp() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

// Runs f, which must throw IoError for `file`; checks the type, the file, line 0, the system error
// text and that no line number is printed. Returns the message.
template <class F>
std::string expect_io_error(F&& f, const std::string& file, int errno_value, const std::string& text) {
  try {
    f();
    FAIL("expected mgvae::IoError for " << file);
  } catch (const mgvae::IoError& e) {
    const std::string msg = e.what();
    INFO(msg);
    CHECK(e.file() == file);
    CHECK(e.line() == 0);
    CHECK(e.error_code() == errno_value);
    CHECK(msg.rfind(file + ": ", 0) == 0);
    CHECK(msg.find("cannot open") != std::string::npos);
    CHECK(msg.find(text) != std::string::npos);
    CHECK(msg.find(":0:") == std::string::npos);
    return msg;
  }
  return {};
}

}  // namespace

TEST_CASE("ParseError: a line is printed, line 0 (the whole file) is not", "[data][error]") {
  const mgvae::ParseError with_line("a/b.txt", 7, "bad token");
  CHECK(std::string(with_line.what()) == "a/b.txt:7: bad token");
  CHECK(with_line.line() == 7);
  const mgvae::ParseError whole("a/b.txt", 0, "empty file");
  CHECK(std::string(whole.what()) == "a/b.txt: empty file");
  CHECK(whole.line() == 0);
  CHECK(whole.file() == "a/b.txt");
}

TEST_CASE("IoError carries the system error text and is a ParseError", "[data][error]") {
  const mgvae::IoError e("x/y.txt", "cannot open file", ENOENT);
  CHECK(std::string(e.what()) == "x/y.txt: cannot open file: No such file or directory");
  CHECK(e.error_code() == ENOENT);
  const mgvae::ParseError& base = e;  // existing catch (const ParseError&) sites still catch it
  CHECK(base.line() == 0);
  CHECK(std::string(mgvae::IoError("x", "cannot open file", 0).what()) == "x: cannot open file");
}

TEST_CASE("graph-list readers: a missing file is an IoError naming the file and errno text", "[data][graph_list][error]") {
  OpenTmp t;
  const std::string missing = (t.dir / "nope.txt").string();
  expect_io_error([&] { (void)mgvae::data::read_graph_list(missing); }, missing, ENOENT, "No such file or directory");
  expect_io_error([&] { (void)mgvae::data::read_index_file(missing); }, missing, ENOENT, "No such file or directory");
  const std::string dir = t.dir.string();
  expect_io_error([&] { (void)mgvae::data::read_graph_list(dir); }, dir, EISDIR, "Is a directory");
  // load_graph_list_split names the first missing file
  const std::string want = (t.dir / "community_small.txt").string();
  expect_io_error([&] { (void)mgvae::data::load_graph_list_split(dir, "community_small"); }, want, ENOENT,
                  "No such file or directory");
  // still catchable as ParseError (existing catch sites)
  CHECK_THROWS_AS(mgvae::data::read_graph_list(missing), mgvae::ParseError);
}

TEST_CASE("load_linqs: a missing file is an IoError naming the file and errno text", "[data][linqs][error]") {
  OpenTmp t;
  const std::string content = (t.dir / "g.content").string();
  expect_io_error([&] { (void)mgvae::data::load_linqs(t.dir.string(), "g"); }, content, ENOENT,
                  "No such file or directory");
}

TEST_CASE("QM9 count-line readers: a missing file is an IoError naming the file and errno text", "[data][qm9][error]") {
  OpenTmp t;
  const std::string missing = (t.dir / "SMILES").string();
  expect_io_error([&] { (void)mgvae::data::read_count_lines(missing); }, missing, ENOENT, "No such file or directory");
  expect_io_error([&] { (void)mgvae::data::read_qm9_target(missing); }, missing, ENOENT, "No such file or directory");
  expect_io_error([&] { (void)mgvae::data::read_qm9_split(missing); }, missing, ENOENT, "No such file or directory");
  const std::string dir = t.dir.string();
  expect_io_error([&] { (void)mgvae::data::read_count_lines(dir); }, dir, EISDIR, "Is a directory");
}
