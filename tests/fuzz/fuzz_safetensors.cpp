// Fuzz harness: nn/checkpoint.hpp load_safetensors<float|double> and read_safetensors_metadata
// (the checkpoint format every trainer writes).
#include "fuzz_support.hpp"
#include "mgvae/nn/checkpoint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  mgvae::fuzz::TempDir dir;
  const std::string p = dir.write("ckpt.safetensors", in);
  mgvae::fuzz::expect_typed([&] { (void)mgvae::nn::load_safetensors<float>(p); });
  mgvae::fuzz::expect_typed([&] { (void)mgvae::nn::load_safetensors<double>(p); });
  mgvae::fuzz::expect_typed([&] { (void)mgvae::nn::read_safetensors_metadata(p); });
  return 0;
}
