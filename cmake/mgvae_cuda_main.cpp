// Catch2 main for tests/**/*.test.cu: exits 77 (ctest "Skipped") when no CUDA device is usable.
#if __has_include(<catch2/catch_session.hpp>)
#include <catch2/catch_session.hpp>
#else
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#endif

#include <cuda_runtime.h>

#include <iostream>

int main(int argc, char* argv[]) {
  int n = 0;
  const cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess || n == 0) {
    std::cout << "SKIPPED: no CUDA device (" << (err != cudaSuccess ? cudaGetErrorString(err) : "0 devices")
              << ")\n";
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
