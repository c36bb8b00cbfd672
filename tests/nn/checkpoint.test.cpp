#include "mgvae/nn/checkpoint.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "mgvae/nn/mlp.hpp"
#include "support/catch.hpp"

using namespace mgvae;
namespace fs = std::filesystem;

namespace {
// A fresh directory under the system temp dir, removed at the end of the test.
struct TempDir {
  fs::path dir;
  TempDir() {
    dir = fs::temp_directory_path() / ("mgvae_ckpt_" + std::to_string(static_cast<long long>(::getpid())) + "_" +
                                       std::to_string(counter()++));
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string file(const std::string& name) const { return (dir / name).string(); }
  static int& counter() {
    static int c = 0;
    return c;
  }
};

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void spit(const std::string& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}
// A file with the given JSON header (padded to 8) and `data_bytes` zero bytes of data.
std::string raw_file(std::string header, std::size_t data_bytes) {
  while (header.size() % 8) header += ' ';
  std::string f(8, '\0');
  std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) f[static_cast<std::size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xFF);
  return f + header + std::string(data_bytes, '\0');
}
// Runs load_safetensors<double> on the bytes and returns the ParseError (fails if none).
ParseError parse_error_of(const TempDir& td, const std::string& bytes, const std::string& name = "bad.safetensors") {
  const std::string p = td.file(name);
  spit(p, bytes);
  try {
    (void)nn::load_safetensors<double>(p);
  } catch (const ParseError& e) {
    return e;
  }
  FAIL("no ParseError for " << name);
  throw std::logic_error("unreachable");
}
bool no_temp_files(const fs::path& dir) {
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().find(".tmp.") != std::string::npos) return false;
  return true;
}
}  // namespace

TEMPLATE_TEST_CASE("safetensors round trip with metadata", "[nn][checkpoint]", float, double) {
  using T = TestType;
  TempDir td;
  const std::string p = td.file("t.safetensors");
  const std::vector<std::pair<std::string, Tensor<T>>> ts = {
      {"zeta", Tensor<T>::randn({3, 4}, CounterRng(1))},
      {"alpha", Tensor<T>::from({2}, {T(1.5), T(-0.25)})},
      {"scalar", Tensor<T>::scalar(T(7))},
      {"empty", Tensor<T>::zeros({0, 3})},
      {"strided \"name\"\n", Tensor<T>::randn({4, 3}, CounterRng(2)).transpose(0, 1)},  // non-contiguous, odd name
  };
  const std::map<std::string, std::string> meta = {{"epoch", "12"}, {"note", "héllo \"quoted\"\t\\"}};
  nn::save_safetensors(p, ts, meta);
  CHECK(no_temp_files(td.dir));
  const auto back = nn::load_safetensors<T>(p);
  REQUIRE(back.size() == ts.size());
  for (std::size_t i = 1; i < back.size(); ++i) CHECK(back[i - 1].first < back[i].first);  // name order
  for (const auto& entry : ts) {
    const std::string& name = entry.first;
    const Tensor<T>& t = entry.second;
    const auto it = std::find_if(back.begin(), back.end(), [&](const auto& q) { return q.first == name; });
    REQUIRE(it != back.end());
    CHECK(it->second.shape() == t.shape());
    CHECK(it->second.to_vector() == t.to_vector());  // bit exact
    CHECK_FALSE(it->second.arena_backed());
  }
  CHECK(nn::read_safetensors_metadata(p) == meta);

  // Layout: header length is a multiple of 8, JSON starts with '{', first tensor in name order
  // ("alpha") begins the data section as little-endian values.
  const std::string bytes = slurp(p);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
  CHECK(n % 8 == 0);
  CHECK(bytes[8] == '{');
  CHECK(bytes.find(std::is_same_v<T, float> ? "\"F32\"" : "\"F64\"") != std::string::npos);
  T first{};
  std::memcpy(&first, bytes.data() + 8 + n, sizeof(T));  // little-endian host
  CHECK(first == T(1.5));

  // The other precision reads it too (converted).
  using U = std::conditional_t<std::is_same_v<T, float>, double, float>;
  const auto other = nn::load_safetensors<U>(p);
  CHECK(other[0].second(1) == U(-0.25));
}

TEST_CASE("save_safetensors is atomic: a failing save throws and leaves nothing behind", "[nn][checkpoint]") {
  TempDir td;
  const std::vector<std::pair<std::string, Tensor<double>>> ts = {{"w", Tensor<double>::ones({2})}};
  const std::string bad = td.file("no/such/dir/x.safetensors");
  CHECK_THROWS_AS(nn::save_safetensors(bad, ts), std::system_error);
  CHECK_FALSE(fs::exists(bad));
  CHECK_FALSE(fs::exists(td.dir / "no"));
  CHECK(fs::is_empty(td.dir));
  // Overwriting an existing file replaces it whole; no temporary remains.
  const std::string p = td.file("w.safetensors");
  nn::save_safetensors(p, ts);
  nn::save_safetensors<double>(p, {{"w", Tensor<double>::full({3}, 2.0)}});
  CHECK(nn::load_safetensors<double>(p)[0].second.shape() == Shape{3});
  CHECK(no_temp_files(td.dir));
  // Saving onto a path that is a directory fails in rename; the temporary is removed.
  fs::create_directories(td.dir / "isdir");
  CHECK_THROWS_AS(nn::save_safetensors(td.file("isdir"), ts), std::system_error);
  CHECK(no_temp_files(td.dir));
}

TEST_CASE("save_safetensors rejects bad names", "[nn][checkpoint]") {
  TempDir td;
  const std::string p = td.file("x.safetensors");
  CHECK_THROWS_AS(nn::save_safetensors<double>(p, {{"a", Tensor<double>::ones({1})}, {"a", Tensor<double>::ones({1})}}),
                  std::invalid_argument);
  CHECK_THROWS_AS(nn::save_safetensors<double>(p, {{"", Tensor<double>::ones({1})}}), std::invalid_argument);
  CHECK_THROWS_AS(nn::save_safetensors<double>(p, {{"__metadata__", Tensor<double>::ones({1})}}), std::invalid_argument);
  CHECK_THROWS_AS(nn::save_safetensors<double>(p, {{"u", Tensor<double>()}}), std::invalid_argument);
  CHECK_FALSE(fs::exists(p));
}

TEST_CASE("truncated files give ParseError with the file name and byte offset", "[nn][checkpoint]") {
  TempDir td;
  const std::string p = td.file("good.safetensors");
  nn::save_safetensors<double>(p, {{"a", Tensor<double>::randn({4, 4}, CounterRng(1))}, {"b", Tensor<double>::ones({3})}});
  const std::string good = slurp(p);
  // Cut in the data section: the last tensor runs past the end.
  {
    const ParseError e = parse_error_of(td, good.substr(0, good.size() - 5), "cut_data.safetensors");
    const std::string m = e.what();
    CHECK(m.find("cut_data.safetensors") != std::string::npos);
    CHECK(m.find("at byte " + std::to_string(good.size() - 5)) != std::string::npos);
    CHECK(e.line() == static_cast<std::int64_t>(good.size() - 5));
    CHECK(e.file() == td.file("cut_data.safetensors"));
  }
  // Cut in the header: the header length runs past the end of the file.
  {
    const ParseError e = parse_error_of(td, good.substr(0, 20), "cut_header.safetensors");
    const std::string m = e.what();
    CHECK(m.find("cut_header.safetensors") != std::string::npos);
    CHECK(m.find("header length") != std::string::npos);
    CHECK(m.find("at byte 0") != std::string::npos);
  }
  // Shorter than the 8-byte length.
  CHECK(std::string(parse_error_of(td, good.substr(0, 5)).what()).find("at byte 5") != std::string::npos);
  CHECK(std::string(parse_error_of(td, "").what()).find("at byte 0") != std::string::npos);
  // Extra bytes after the last tensor are not allowed either.
  CHECK(std::string(parse_error_of(td, good + "xyz").what()).find("cover") != std::string::npos);
  // Missing file.
  CHECK_THROWS_AS(nn::load_safetensors<double>(td.file("missing.safetensors")), ParseError);
  CHECK_THROWS_AS(nn::read_safetensors_metadata(td.file("missing.safetensors")), ParseError);
}

TEST_CASE("corrupted headers give ParseError", "[nn][checkpoint]") {
  TempDir td;
  auto msg = [&](const std::string& header, std::size_t data) { return std::string(parse_error_of(td, raw_file(header, data)).what()); };
  // Bad JSON: the position is reported as an absolute byte offset (header starts at byte 8).
  CHECK(msg(R"({"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]})", 8).find("JSON") != std::string::npos);
  CHECK(msg(R"({"a" {"dtype":"F64"}})", 8).find("at byte 13") != std::string::npos);
  CHECK(msg(R"({"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},})", 8).find("JSON") != std::string::npos);
  CHECK(msg(R"({"a":1,"a":2})", 0).find("duplicate") != std::string::npos);
  CHECK(msg(R"([1,2])", 0).find("'{'") != std::string::npos);
  CHECK(msg("{\"a\":\"\x01\"}", 0).find("control") != std::string::npos);
  CHECK(msg(std::string(70, '[') , 0).find("start with") != std::string::npos);
  CHECK(msg("{\"x\":" + std::string(70, '[') + std::string(70, ']') + "}", 0).find("nesting") != std::string::npos);
  // Unknown / unsupported dtype.
  CHECK(msg(R"({"a":{"dtype":"Q7","shape":[1],"data_offsets":[0,8]}})", 8).find("dtype") != std::string::npos);
  CHECK(msg(R"({"a":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}})", 8).find("F16") != std::string::npos);
  // shape × dtype size ≠ byte range.
  CHECK(msg(R"({"a":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}})", 8).find("needs 16 bytes") != std::string::npos);
  // Offsets out of range, reversed, overlapping, with a gap.
  CHECK(msg(R"({"a":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}})", 8).find("past the end") != std::string::npos);
  CHECK(msg(R"({"a":{"dtype":"F64","shape":[0],"data_offsets":[8,0]}})", 8).find("reversed") != std::string::npos);
  CHECK(msg(R"({"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"b":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})", 16)
            .find("overlap") != std::string::npos);
  CHECK(msg(R"({"a":{"dtype":"F64","shape":[1],"data_offsets":[8,16]}})", 16).find("gap") != std::string::npos);
  // Missing fields, wrong types, negative or fractional dimensions.
  CHECK(msg(R"({"a":{"dtype":"F64","shape":[1]}})", 8).find("data_offsets") != std::string::npos);
  CHECK(msg(R"({"a":{"dtype":"F64","shape":[-1],"data_offsets":[0,8]}})", 8).find("non-negative") != std::string::npos);
  CHECK(msg(R"({"a":{"dtype":"F64","shape":[1.5],"data_offsets":[0,8]}})", 8).find("non-negative") != std::string::npos);
  CHECK(msg(R"({"a":{"dtype":"F64","shape":[99999999999999999999],"data_offsets":[0,8]}})", 8).find("non-negative") != std::string::npos);
  CHECK(msg(R"({"__metadata__":{"k":1}})", 0).find("not a string") != std::string::npos);
  // A valid hand-made file with escapes in names and metadata parses.
  const std::string p = td.file("ok.safetensors");
  spit(p, raw_file(R"({"__metadata__":{"k\u00e9":"v\n"},"a\"b":{"dtype":"F32","shape":[],"data_offsets":[0,4]}})", 4));
  const auto ok = nn::load_safetensors<double>(p);
  REQUIRE(ok.size() == 1);
  CHECK(ok[0].first == "a\"b");
  CHECK(ok[0].second.shape() == Shape{});
  CHECK(nn::read_safetensors_metadata(p).at("k\xc3\xa9") == "v\n");
}

TEST_CASE("save_checkpoint / load_checkpoint restore a module in place", "[nn][checkpoint]") {
  TempDir td;
  const std::string p = td.file("mlp.safetensors");
  CounterRng r1(1), r2(2);
  nn::MLP<double> a({3, 5, 2}, r1), b({3, 5, 2}, r2);
  nn::save_checkpoint(a, p, {{"seed", "1"}});
  Var<double> w_handle = b.layers()[0]->weight();  // a copy taken before loading
  const auto meta = nn::load_checkpoint(b, p);
  CHECK(meta.at("seed") == "1");
  for (std::size_t i = 0; i < a.parameters().size(); ++i)
    CHECK(a.parameters()[i].value().to_vector() == b.parameters()[i].value().to_vector());
  CHECK(w_handle.value().to_vector() == a.layers()[0]->weight().value().to_vector());  // same storage, updated
  // A float model loads the double checkpoint (converted).
  CounterRng r3(3);
  nn::MLP<float> f({3, 5, 2}, r3);
  nn::load_checkpoint(f, p);
  CHECK(f.layers()[1]->weight().value()(4, 1) == static_cast<float>(a.layers()[1]->weight().value()(4, 1)));
  // Mismatches name the parameter and change nothing.
  CounterRng r4(4);
  nn::MLP<double> wider({3, 6, 2}, r4), deeper({3, 5, 5, 2}, r4);
  const auto before = wider.parameters()[0].value().to_vector();
  try {
    nn::load_checkpoint(wider, p);
    FAIL("no exception");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).find("fc0.weight") != std::string::npos);
  }
  CHECK(wider.parameters()[0].value().to_vector() == before);
  try {
    nn::load_checkpoint(deeper, p);
    FAIL("no exception");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).find("fc1.weight") != std::string::npos);  // shape [5,5] vs [5,2]
  }
  nn::Module<double> extra_param;
  CounterRng r5(5);
  extra_param.register_module("inner", std::make_shared<nn::MLP<double>>(std::vector<std::int64_t>{3, 5, 2}, r5));
  CHECK_THROWS_AS(nn::load_checkpoint(extra_param, p), std::invalid_argument);  // "inner.fc0.weight" missing
  nn::Linear<double> small(3, 5, r5);
  try {
    nn::load_checkpoint(small, p);
    FAIL("no exception");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).find("'weight' is missing") != std::string::npos);
  }
}

TEST_CASE("an independent Python reader agrees with the file (skipped without /usr/bin/python3)", "[nn][checkpoint][python]") {
#ifdef MGVAE_SOURCE_DIR
  const fs::path script = fs::path(MGVAE_SOURCE_DIR) / "tests" / "support" / "read_safetensors.py";
#else
  const fs::path script = fs::path(__FILE__).parent_path().parent_path() / "support" / "read_safetensors.py";
#endif
  if (!fs::exists("/usr/bin/python3") || !fs::exists(script)) {
    WARN("skipped: needs /usr/bin/python3 and " << script.string());
    return;
  }
  TempDir td;
  const std::string p = td.file("py.safetensors"), out = td.file("py.txt");
  const Tensor<float> a = Tensor<float>::randn({3, 5}, CounterRng(4));
  const Tensor<float> b = Tensor<float>::from({2}, {0.5f, -2.0f});
  nn::save_safetensors<float>(p, {{"w.b", b}, {"w.a", a}, {"s", Tensor<float>::scalar(3.0f)}}, {{"epoch", "3"}});
  const std::string cmd = "/usr/bin/python3 '" + script.string() + "' '" + p + "' > '" + out + "' 2>&1";
  const int rc = std::system(cmd.c_str());
  const std::string text = slurp(out);
  INFO(cmd << "\n" << text);
  REQUIRE(rc == 0);
  std::istringstream lines(text);
  std::string line;
  std::map<std::string, std::pair<std::string, double>> seen;
  std::map<std::string, std::string> meta;
  while (std::getline(lines, line)) {
    std::vector<std::string> f;
    std::string cell;
    std::istringstream ls(line);
    while (std::getline(ls, cell, '\t')) f.push_back(cell);
    if (f.size() == 5 && f[0] == "tensor") seen[f[1]] = {f[3], std::stod(f[4])};
    if (f.size() == 3 && f[0] == "meta") meta[f[1]] = f[2];
  }
  REQUIRE(seen.size() == 3);
  double sa = 0;
  for (float v : a.to_vector()) sa += v;
  CHECK(seen["w.a"].first == "3,5");
  CHECK(seen["w.a"].second == Approx(sa).epsilon(1e-12));
  CHECK(seen["w.b"].second == Approx(-1.5));
  CHECK(seen["s"].first.empty());
  CHECK(seen["s"].second == Approx(3.0));
  CHECK(meta["epoch"] == "3");
  CHECK(text.find("safetensors-module\t") != std::string::npos);  // "ok" or "absent"
  // And it rejects a corrupted file.
  spit(p, raw_file(R"({"a":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}})", 8));
  CHECK(std::system(cmd.c_str()) != 0);
}
