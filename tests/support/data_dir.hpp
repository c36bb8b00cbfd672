#pragma once
// Where the data-dependent tests find ../shared/data: the environment variable MGVAE_DATA_DIR,
// else MGVAE_DEFAULT_DATA_DIR (set by tests/CMakeLists.txt to <source>/../shared/data).
#include <cstdlib>
#include <string>

#ifndef MGVAE_DEFAULT_DATA_DIR
#define MGVAE_DEFAULT_DATA_DIR "../shared/data"
#endif

inline std::string mgvae_test_data_dir() {
  if (const char* env = std::getenv("MGVAE_DATA_DIR"); env != nullptr && *env != '\0') return env;
  return MGVAE_DEFAULT_DATA_DIR;
}
