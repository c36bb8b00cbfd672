#pragma once
/// @file zinc.hpp
/// Readers for the ZINC files in shared/data (README section 3):
///   zinc250k/zinc250k.tsv.gz     gzip TSV, header "smiles\tlogP\tqed\tSAS", 249,455 rows
///   zinc250k/gdss_test_idx.txt   one 0-based row index per line
///   zinc12k_bgnn/{train,val,test}.tsv  TSV, header
///        "smiles\tlogP\tSAS\tcycle\tpenalized_logP\tpenalized_logP_normalized"
///   zinc12k_bgnn/*.index         one line of comma-separated 0-based indices
/// Files are read through zlib, so plain and gzip files both work. Errors are
/// mgvae::ParseError(file, line, msg) with a 1-based line (0 = the whole file); a file that cannot
/// be opened gives mgvae::IoError (a ParseError naming the system error text).
/// Use load_molecule_dataset (qm9.hpp) with AtomVocab::zinc() to get graphs, or zinc_train_pool +
/// sample_molecules for a seeded random training subset (examples/molecule_generation --dataset zinc).
#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "mgvae/core/error.hpp"
#include "mgvae/core/rng.hpp"
#include "mgvae/data/molecules/qm9.hpp"

namespace mgvae::data {

/// A SMILES table: the SMILES column plus numeric columns (column-major).
struct SmilesTable {
  std::vector<std::string> columns;             ///< numeric column names (header without "smiles")
  std::vector<std::string> smiles;              ///< one per row
  std::vector<std::vector<double>> values;      ///< values[c][row]
  std::int64_t rows() const { return static_cast<std::int64_t>(smiles.size()); }
  /// Column by name; throws std::invalid_argument if absent.
  const std::vector<double>& column(const std::string& name) const {
    for (std::size_t c = 0; c < columns.size(); ++c)
      if (columns[c] == name) return values[c];
    throw std::invalid_argument("SmilesTable::column: no column '" + name + "'");
  }
};

inline const std::vector<std::string>& zinc250k_header() {
  static const std::vector<std::string> h = {"smiles", "logP", "qed", "SAS"};
  return h;
}
inline const std::vector<std::string>& zinc12k_bgnn_header() {
  static const std::vector<std::string> h = {"smiles", "logP", "SAS", "cycle", "penalized_logP",
                                             "penalized_logP_normalized"};
  return h;
}

namespace detail {

/// Line reader over zlib (reads gzip and plain files alike); strips "\n" and "\r".
class GzLines {
 public:
  explicit GzLines(const std::string& path) : path_(path), f_(gzopen(path.c_str(), "rb")) {
    if (!f_ || is_directory_path(path)) {
      const IoError e = open_error(path);
      if (f_) gzclose(f_);
      throw e;
    }
    gzbuffer(f_, 1 << 17);
  }
  GzLines(const GzLines&) = delete;
  GzLines& operator=(const GzLines&) = delete;
  ~GzLines() {
    if (f_) gzclose(f_);
  }
  bool next(std::string& line) {
    line.clear();
    char buf[4096];
    bool any = false;
    while (gzgets(f_, buf, sizeof buf)) {
      any = true;
      line += buf;
      if (!line.empty() && line.back() == '\n') break;
    }
    if (!any) {
      int err = 0;
      gzerror(f_, &err);
      if (err != Z_OK && err != Z_STREAM_END) throw ParseError(path_, line_ + 1, "read error (corrupt gzip?)");
      return false;
    }
    ++line_;
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    return true;
  }
  std::int64_t line_number() const { return line_; }

 private:
  std::string path_;
  gzFile f_;
  std::int64_t line_ = 0;
};

inline std::vector<std::string> split_char(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t b = 0;
  while (true) {
    const auto e = s.find(sep, b);
    out.push_back(s.substr(b, e == std::string::npos ? std::string::npos : e - b));
    if (e == std::string::npos) break;
    b = e + 1;
  }
  return out;
}

}  // namespace detail

/// Reads a TSV whose first column is SMILES and whose other columns are numbers. When
/// `expected_header` is non-empty the header must equal it. Wrong field count, a bad or non-finite
/// number, an empty SMILES or an empty file -> ParseError(file, line).
inline SmilesTable read_smiles_tsv(const std::string& path, const std::vector<std::string>& expected_header = {}) {
  detail::GzLines in(path);
  std::string line;
  if (!in.next(line)) throw ParseError(path, 0, "empty file");
  const auto header = detail::split_char(line, '\t');
  if (!expected_header.empty() && header != expected_header) {
    std::string want;
    for (const auto& h : expected_header) want += (want.empty() ? "" : "\\t") + h;
    throw ParseError(path, 1, "unexpected header (want '" + want + "')");
  }
  if (header.empty() || header[0] != "smiles") throw ParseError(path, 1, "first column must be 'smiles'");
  SmilesTable t;
  t.columns.assign(header.begin() + 1, header.end());
  t.values.resize(t.columns.size());
  while (in.next(line)) {
    const auto ln = in.line_number();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const auto f = detail::split_char(line, '\t');
    if (f.size() != header.size())
      throw ParseError(path, ln, "expected " + std::to_string(header.size()) + " fields, got " + std::to_string(f.size()));
    if (f[0].empty()) throw ParseError(path, ln, "empty SMILES");
    t.smiles.push_back(f[0]);
    for (std::size_t c = 1; c < f.size(); ++c) {
      char* end = nullptr;
      const double v = f[c].empty() ? 0.0 : std::strtod(f[c].c_str(), &end);
      if (f[c].empty() || end != f[c].c_str() + f[c].size())
        throw ParseError(path, ln, "bad number '" + f[c] + "' in column '" + header[c] + "'");
      if (!std::isfinite(v)) throw ParseError(path, ln, "non-finite value in column '" + header[c] + "'");
      t.values[c - 1].push_back(v);
    }
  }
  return t;
}

/// zinc250k/zinc250k.tsv.gz (columns logP, qed, SAS).
inline SmilesTable read_zinc250k(const std::string& path) { return read_smiles_tsv(path, zinc250k_header()); }

/// zinc12k_bgnn/{train,val,test}.tsv (columns logP, SAS, cycle, penalized_logP, penalized_logP_normalized).
inline SmilesTable read_zinc12k_bgnn(const std::string& path) { return read_smiles_tsv(path, zinc12k_bgnn_header()); }

/// Index file with integers separated by commas and/or newlines (zinc12k *.index: one line of
/// comma-separated ints; gdss_test_idx.txt: one per line). Negative or garbage -> ParseError.
inline std::vector<std::int64_t> read_index_file(const std::string& path) {
  detail::GzLines in(path);
  std::string line;
  std::vector<std::int64_t> out;
  while (in.next(line)) {
    for (auto tok : detail::split_char(line, ',')) {
      tok = detail::trim_ws(tok);
      if (tok.empty()) continue;
      std::int64_t v = -1;
      const auto r = std::from_chars(tok.data(), tok.data() + tok.size(), v);
      if (r.ec != std::errc() || r.ptr != tok.data() + tok.size() || v < 0)
        throw ParseError(path, in.line_number(), "bad index '" + tok + "'");
      out.push_back(v);
    }
  }
  return out;
}

/// Training pool of ZINC-250k under the GDSS/MoFlow split: every row r in [0, rows) that is not in
/// `test_idx` (gdss_test_idx.txt), ascending. Repeated test indices are harmless; one outside
/// [0, rows) -> std::invalid_argument.
inline std::vector<std::int64_t> zinc_train_pool(std::int64_t rows, const std::vector<std::int64_t>& test_idx) {
  if (rows < 0) throw std::invalid_argument("zinc_train_pool: rows must be >= 0");
  std::vector<char> test(static_cast<std::size_t>(rows), 0);
  for (const auto r : test_idx) {
    if (r < 0 || r >= rows)
      throw std::invalid_argument("zinc_train_pool: test index " + std::to_string(r) + " outside [0, " +
                                  std::to_string(rows) + ")");
    test[static_cast<std::size_t>(r)] = 1;
  }
  std::vector<std::int64_t> pool;
  pool.reserve(static_cast<std::size_t>(rows));
  for (std::int64_t r = 0; r < rows; ++r)
    if (!test[static_cast<std::size_t>(r)]) pool.push_back(r);
  return pool;
}

/// A seeded random subset of a SMILES list (sample_molecules) with the skipped rows by reason.
struct SampledMolecules {
  MoleculeDataset data;             ///< kept graphs in draw order; data.source_row = row in the SMILES list
  std::int64_t examined = 0;        ///< rows converted (kept + skipped)
  std::int64_t out_of_vocab = 0;    ///< skipped: an atom (element or formal charge) outside the vocabulary
  std::int64_t too_many_atoms = 0;  ///< skipped: more than max_atoms heavy atoms (checked before the vocabulary)
  std::int64_t other = 0;           ///< skipped: unparsable, sanitization or kekulization failure, bad row
  std::int64_t skipped() const { return out_of_vocab + too_many_atoms + other; }
};

/// Draws up to `count` molecules at random from the rows `pool` of `smiles`: a Fisher–Yates shuffle of
/// `pool` with CounterRng(seed, stream) (for i = |pool| … 2: swap(p[i−1], p[next_below(i)])), then the
/// shuffled rows are converted in order with smiles_to_graph(vocab, max_atoms) until `count` are kept or
/// the pool is exhausted; rows that fail are skipped, logged in data.skipped ("<row>: <reason>") and
/// counted by reason. The same arguments give the same result. The stream default 0x5348 is the one of
/// the QM9 subset in examples/molecule_generation.
inline SampledMolecules sample_molecules(const std::vector<std::string>& smiles, std::vector<std::int64_t> pool,
                                         const AtomVocab& vocab, std::int64_t max_atoms, std::int64_t count,
                                         std::uint64_t seed, std::uint64_t stream = 0x5348) {
  CounterRng sh(seed, stream);
  for (std::size_t i = pool.size(); i > 1; --i) std::swap(pool[i - 1], pool[sh.next_below(i)]);
  SampledMolecules out;
  for (std::size_t k = 0; k < pool.size() && static_cast<std::int64_t>(out.data.graphs.size()) < count; ++k) {
    const std::int64_t r = pool[k];
    ++out.examined;
    if (r < 0 || r >= static_cast<std::int64_t>(smiles.size())) {
      ++out.other;
      out.data.skipped.push_back(std::to_string(r) + ": row out of range");
      continue;
    }
    std::string why;
    auto g = smiles_to_graph(smiles[static_cast<std::size_t>(r)], vocab, max_atoms, false, &why);
    if (!g) {
      if (why.find("not in the vocabulary") != std::string::npos) ++out.out_of_vocab;
      else if (why.rfind("too many atoms", 0) == 0) ++out.too_many_atoms;
      else ++out.other;
      out.data.skipped.push_back(std::to_string(r) + ": " + why);
      continue;
    }
    out.data.graphs.push_back(std::move(*g));
    out.data.smiles.push_back(smiles[static_cast<std::size_t>(r)]);
    out.data.source_row.push_back(r);
  }
  return out;
}

}  // namespace mgvae::data
