// QM9 / ZINC readers (data/molecules/qm9.hpp, zinc.hpp) on small fixtures written to temp files.
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "mgvae/data/molecules/qm9.hpp"
#include "mgvae/data/molecules/zinc.hpp"
#include "support/catch.hpp"

using namespace mgvae::data;

namespace {
struct TempFile {
  std::string path;
  TempFile(const std::string& name, const std::string& content, bool gz = false)
      : path((std::filesystem::temp_directory_path() / ("mgvae_mol_" + name)).string()) {
    if (gz) {
      gzFile f = gzopen(path.c_str(), "wb");
      gzwrite(f, content.data(), static_cast<unsigned>(content.size()));
      gzclose(f);
    } else {
      std::ofstream(path, std::ios::binary) << content;
    }
  }
  ~TempFile() { std::remove(path.c_str()); }
};

template <class F>
void check_parse_error(F&& f, const std::string& path, std::int64_t line) {
  try {
    f();
    FAIL("no ParseError");
  } catch (const mgvae::ParseError& e) {
    INFO(e.what());
    CHECK(e.file() == path);
    CHECK(e.line() == line);
    CHECK(std::string(e.what()).find(path) != std::string::npos);
  }
}
}  // namespace

TEST_CASE("QM9 count-line readers", "[molecules][readers]") {
  TempFile sm("smiles", "3\nC\nCC extra\r\nCO\n\n");
  CHECK(read_qm9_smiles(sm.path) == std::vector<std::string>{"C", "CC", "CO"});
  TempFile tg("target", "2\n-1.5\n2e-3\n");
  CHECK(read_qm9_target(tg.path) == std::vector<double>{-1.5, 2e-3});
  TempFile sp("split", "3\n2\n0\n1\n");
  CHECK(read_qm9_split(sp.path, 3) == std::vector<std::int64_t>{2, 0, 1});

  TempFile trunc("trunc", "4\nC\nCC\n");
  check_parse_error([&] { read_qm9_smiles(trunc.path); }, trunc.path, 4);
  // A huge count with few lines is a truncation error, not a huge allocation (found by fuzzing).
  TempFile huge("huge", "653834942\nC\nCC\n");
  check_parse_error([&] { read_qm9_smiles(huge.path); }, huge.path, 4);
  TempFile extra("extra", "1\nC\nCC\n");
  check_parse_error([&] { read_qm9_smiles(extra.path); }, extra.path, 3);
  TempFile badcount("badcount", "x3\nC\n");
  check_parse_error([&] { read_qm9_smiles(badcount.path); }, badcount.path, 1);
  TempFile empty("empty", "");
  check_parse_error([&] { read_qm9_smiles(empty.path); }, empty.path, 0);
  check_parse_error([&] { read_qm9_smiles("/nonexistent/SMILES"); }, "/nonexistent/SMILES", 0);
  TempFile nan("nan", "3\n1.0\nnan\n2\n");
  check_parse_error([&] { read_qm9_target(nan.path); }, nan.path, 3);
  TempFile garbage("garbage", "2\n1.0\n1.0x\n");
  check_parse_error([&] { read_qm9_target(garbage.path); }, garbage.path, 3);
  TempFile blank("blank", "2\n\nCC\n");
  check_parse_error([&] { read_qm9_smiles(blank.path); }, blank.path, 2);
  TempFile neg("neg", "2\n0\n-1\n");
  check_parse_error([&] { read_qm9_split(neg.path); }, neg.path, 3);
  check_parse_error([&] { read_qm9_split(sp.path, 2); }, sp.path, 2);  // 2 >= 2 rows
}

TEST_CASE("ZINC TSV readers (plain and gzip)", "[molecules][readers]") {
  TempFile z("z250k.tsv.gz", "smiles\tlogP\tqed\tSAS\nCCO\t-0.0014\t0.4068\t1.98\nc1ccccc1\t1.6866\t0.4426\t1.0\n", true);
  const auto t = read_zinc250k(z.path);
  CHECK(t.rows() == 2);
  CHECK(t.smiles[1] == "c1ccccc1");
  CHECK(t.column("qed")[0] == 0.4068);
  CHECK(t.column("SAS")[1] == 1.0);
  CHECK_THROWS_AS(t.column("nope"), std::invalid_argument);

  TempFile b("bgnn.tsv",
             "smiles\tlogP\tSAS\tcycle\tpenalized_logP\tpenalized_logP_normalized\r\nCCO\t1\t2\t0\t-1\t0.5\r\n");
  const auto tb = read_zinc12k_bgnn(b.path);
  CHECK(tb.rows() == 1);
  CHECK(tb.column("penalized_logP_normalized")[0] == 0.5);

  TempFile hdr("hdr.tsv", "smiles\tlogp\tqed\tSAS\nCCO\t1\t2\t3\n");
  check_parse_error([&] { read_zinc250k(hdr.path); }, hdr.path, 1);
  TempFile fields("fields.tsv.gz", "smiles\tlogP\tqed\tSAS\nCCO\t1\t2\t3\nCC\t1\t2\n", true);
  check_parse_error([&] { read_zinc250k(fields.path); }, fields.path, 3);
  TempFile num("num.tsv", "smiles\tlogP\tqed\tSAS\nCCO\t1\tabc\t3\n");
  check_parse_error([&] { read_zinc250k(num.path); }, num.path, 2);
  TempFile inf("inf.tsv", "smiles\tlogP\tqed\tSAS\nCCO\t1\t2\t3\nCC\tinf\t2\t3\n");
  check_parse_error([&] { read_zinc250k(inf.path); }, inf.path, 3);
  check_parse_error([&] { read_zinc250k("/nonexistent/z.tsv.gz"); }, "/nonexistent/z.tsv.gz", 0);

  TempFile idx("idx", "3,1,4,1,5\n");
  CHECK(read_index_file(idx.path) == std::vector<std::int64_t>{3, 1, 4, 1, 5});
  TempFile idx2("idx2", "7\n8\n");
  CHECK(read_index_file(idx2.path) == std::vector<std::int64_t>{7, 8});
  TempFile idxbad("idxbad", "1,2\n3,x\n");
  check_parse_error([&] { read_index_file(idxbad.path); }, idxbad.path, 2);

  const auto d = load_molecule_dataset(t.smiles, AtomVocab::zinc(), 38);
  CHECK(d.graphs.size() == 2);
}
