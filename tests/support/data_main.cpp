// Catch2 main for tests/needs_data/: exits 77 (ctest "Skipped") when the data directory is missing.
#if __has_include(<catch2/catch_session.hpp>)
#include <catch2/catch_session.hpp>
#else
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#endif

#include <filesystem>
#include <iostream>
#include <system_error>

#include "support/data_dir.hpp"

int main(int argc, char* argv[]) {
  const std::string dir = mgvae_test_data_dir();
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    std::cout << "SKIPPED: data directory " << dir << " not found (set MGVAE_DATA_DIR)\n";
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
