// The user guide quotes compiled programs: every ```cpp block of docs/*.md that is followed by
// "*(from `examples/FILE`)*" must appear in that file, line by line and in order (blank lines and
// leading indentation aside). CI compiles and runs the quoted programs (ctest -L tutorial), so a
// page whose snippet drifts from its program fails here.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/catch.hpp"

namespace {

namespace fs = std::filesystem;

std::string read_all(const fs::path& p) {
  std::ifstream in(p);
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string l; std::getline(ss, l);) out.push_back(l);
  return out;
}

struct Snippet {
  std::string file;                 ///< the program it claims to come from
  std::vector<std::string> lines;   ///< the block's lines
  std::size_t doc_line = 0;         ///< 1-based line of the opening fence
};

/// ```cpp blocks of a markdown text that are followed (after blank lines) by *(from `FILE`)*.
std::vector<Snippet> quoted_snippets(const std::string& markdown) {
  const auto ls = lines_of(markdown);
  std::vector<Snippet> out;
  for (std::size_t i = 0; i < ls.size(); ++i) {
    if (trim(ls[i]) != "```cpp") continue;
    Snippet s;
    s.doc_line = i + 1;
    std::size_t j = i + 1;
    for (; j < ls.size() && trim(ls[j]) != "```"; ++j) s.lines.push_back(ls[j]);
    std::size_t k = j + 1;
    while (k < ls.size() && trim(ls[k]).empty()) ++k;
    const std::string tag = "*(from `";
    if (k < ls.size() && trim(ls[k]).rfind(tag, 0) == 0) {
      const std::string t = trim(ls[k]);
      const auto e = t.find('`', tag.size());
      if (e != std::string::npos) {
        s.file = t.substr(tag.size(), e - tag.size());
        out.push_back(std::move(s));
      }
    }
    i = j;
  }
  return out;
}

/// The first snippet line (trimmed) not found in `program` after the previous one; "" if all are.
std::string first_missing_line(const Snippet& s, const std::string& program) {
  std::vector<std::string> prog;
  for (const auto& l : lines_of(program)) prog.push_back(trim(l));
  std::size_t at = 0;
  for (const auto& raw : s.lines) {
    const std::string l = trim(raw);
    if (l.empty()) continue;
    const auto it = std::find(prog.begin() + static_cast<std::ptrdiff_t>(at), prog.end(), l);
    if (it == prog.end()) return l;
    at = static_cast<std::size_t>(it - prog.begin()) + 1;
  }
  return "";
}

}  // namespace

TEST_CASE("docs: every snippet quoted from a program is in that program, in order", "[docs]") {
  const fs::path root = MGVAE_SOURCE_DIR;
  std::size_t checked = 0;
  for (const auto& entry : fs::directory_iterator(root / "docs")) {
    if (entry.path().extension() != ".md") continue;
    for (const Snippet& s : quoted_snippets(read_all(entry.path()))) {
      const fs::path program = root / s.file;
      INFO(entry.path().filename().string() << ":" << s.doc_line << " quotes " << s.file);
      REQUIRE(fs::exists(program));
      CHECK(first_missing_line(s, read_all(program)) == "");
      ++checked;
    }
  }
  CHECK(checked >= 10);  // getting-started.md and tutorial-mgvae.md quote their programs
}

TEST_CASE("docs: the snippet check fails on a line the program does not have, or out of order", "[docs]") {
  const std::string program = "int a = 1;\nint b = 2;\n  int c = a + b;\n";
  const auto ok = quoted_snippets("```cpp\nint a = 1;\n\nint c = a + b;\n```\n*(from `x.cpp`)*\n");
  REQUIRE(ok.size() == 1);
  CHECK(ok[0].file == "x.cpp");
  CHECK(first_missing_line(ok[0], program) == "");
  const auto bad = quoted_snippets("```cpp\nint a = 1;\nint d = 4;\n```\n\n*(from `x.cpp`)*\n");
  REQUIRE(bad.size() == 1);
  CHECK(first_missing_line(bad[0], program) == "int d = 4;");
  const auto swapped = quoted_snippets("```cpp\nint b = 2;\nint a = 1;\n```\n*(from `x.cpp`)*\n");
  CHECK(first_missing_line(swapped[0], program) == "int a = 1;");
  CHECK(quoted_snippets("```cpp\nint a = 1;\n```\nno source line\n").empty());
}
