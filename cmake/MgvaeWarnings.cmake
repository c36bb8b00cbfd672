# mgvae_set_warnings(<interface-target>)
# Warnings for the project's own executables. -Wno-maybe-uninitialized: g++ 12 + Eigen +
# -march=native floods the log with false positives from avx512fintrin.h (TOOLCHAIN.md gotcha 3).
function(mgvae_set_warnings target)
  target_compile_options(${target} INTERFACE
    "$<$<COMPILE_LANGUAGE:CXX>:-Wall;-Wextra>"
    "$<$<AND:$<COMPILE_LANGUAGE:CXX>,$<CXX_COMPILER_ID:GNU>>:-Wno-maybe-uninitialized>")
endfunction()
