// Fuzz harness: data/graph_list.hpp read_graph_list (the graph-list format of ../shared/data) and
// read_index_file (split index files), on the same bytes.
#include "fuzz_support.hpp"
#include "mgvae/data/graph_list.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  mgvae::fuzz::TempDir dir;
  const std::string p = dir.write("graphs.txt", in);
  mgvae::fuzz::expect_typed([&] {
    mgvae::CleanupReport report;
    const auto graphs = mgvae::data::read_graph_list(p, &report);
    (void)graphs;
  });
  mgvae::fuzz::expect_typed([&] { (void)mgvae::data::read_index_file(p, 1000); });
  return 0;
}
