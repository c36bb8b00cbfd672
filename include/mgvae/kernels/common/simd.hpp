#pragma once
/// @file simd.hpp
/// A minimal portable SIMD vector for the CPU micro-kernels: GCC/Clang vector extensions sized to
/// the widest ISA enabled at compile time (64 bytes with AVX-512, 32 with AVX, 16 otherwise), so no
/// -Wpsabi ABI notes appear and the same code compiles without -march=native (it is then slower).
/// Loads and stores go through memcpy: unaligned, aliasing-safe, sanitizer-friendly.
#include <cstdint>
#include <cstring>

namespace mgvae::kernels::simd {

#if defined(__AVX512F__)
inline constexpr int kBytes = 64;
#elif defined(__AVX__)
inline constexpr int kBytes = 32;
#else
inline constexpr int kBytes = 16;
#endif

template <class T>
struct Vec {
  typedef T type __attribute__((vector_size(kBytes)));
  static constexpr int W = kBytes / static_cast<int>(sizeof(T));  ///< lanes
};

template <class T>
using vec_t = typename Vec<T>::type;

template <class T>
inline vec_t<T> load(const T* p) {
  vec_t<T> v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
template <class T>
inline void store(T* p, const vec_t<T>& v) {
  std::memcpy(p, &v, sizeof(v));
}
template <class T>
inline vec_t<T> zero() {
  vec_t<T> v;
  std::memset(&v, 0, sizeof(v));
  return v;
}
/// Forces `v` into a register at this point, so the compiler does not re-load it from memory as a
/// folded FMA operand once per use (GCC otherwise issues RI loads per vector in the micro-kernels).
template <class T>
inline void keep_in_register(vec_t<T>& v) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  asm("" : "+x"(v));
#else
  (void)v;
#endif
}

template <class T>
inline T hsum(const vec_t<T>& v) {
  T s = 0;
  for (int k = 0; k < Vec<T>::W; ++k) s += v[k];
  return s;
}

}  // namespace mgvae::kernels::simd
