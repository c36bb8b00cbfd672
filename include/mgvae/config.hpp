#pragma once
/// @file config.hpp
/// Version macros and portability switches shared by every mgvae header.

#define MGVAE_VERSION_MAJOR 0
#define MGVAE_VERSION_MINOR 1
#define MGVAE_VERSION_PATCH 0

/// Marks scalar functions usable from both host and CUDA device code.
#if defined(__CUDACC__)
#define MGVAE_HD __host__ __device__
#else
#define MGVAE_HD
#endif

/// Internal invariant check (never used for user input: those throw typed exceptions).
#include <cassert>
#define MGVAE_ASSERT(x) assert(x)
