// Fuzz harness: data/linqs.hpp load_linqs (a LINQS citation data set: <prefix>.content and
// <prefix>.cites). The input is the content file, a line "@@cites@@", then the cites file.
#include "fuzz_support.hpp"
#include "mgvae/data/linqs.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto [content, cites] = mgvae::fuzz::split_at(in, "@@cites@@\n");
  mgvae::fuzz::TempDir dir;
  dir.write("g.content", content);
  dir.write("g.cites", cites);
  mgvae::fuzz::expect_typed([&] {
    const mgvae::data::CitationData d = mgvae::data::load_linqs(dir.path(), "g");
    (void)d;
  });
  return 0;
}
