// Fuzz harness: the RDKit-free molecule file readers: data/qm9_files.hpp (read_qm9_smiles,
// read_qm9_target, read_count_lines) and data/molecules/zinc.hpp read_smiles_tsv (the ZINC TSV
// tables, plain or gzip), on the same bytes.
#include "fuzz_support.hpp"
#include "mgvae/data/molecules/zinc.hpp"
#include "mgvae/data/qm9_files.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  mgvae::fuzz::TempDir dir;
  const std::string p = dir.write("mol.txt", in);
  mgvae::fuzz::expect_typed([&] { (void)mgvae::data::read_qm9_smiles(p); });
  mgvae::fuzz::expect_typed([&] { (void)mgvae::data::read_qm9_target(p); });
  mgvae::fuzz::expect_typed([&] { (void)mgvae::data::read_count_lines(p); });
  mgvae::fuzz::expect_typed([&] { (void)mgvae::data::read_smiles_tsv(p); });
  return 0;
}
