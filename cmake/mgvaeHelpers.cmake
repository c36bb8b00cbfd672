# Helpers for projects that use mgvae (included by mgvaeConfig.cmake and by mgvae's own build).
#
#   mgvae_precompile_headers(<target>)
#     Precompiles <mgvae/mgvae.hpp> for <target> (CMake precompiled headers). With mgvae::prebuilt
#     linked as well, a translation unit that includes the library and trains a model compiles in a
#     few seconds (docs/getting-started.md, "Faster builds").
include_guard(GLOBAL)

function(mgvae_precompile_headers target)
  if(NOT TARGET ${target})
    message(FATAL_ERROR "mgvae_precompile_headers: '${target}' is not a target")
  endif()
  target_precompile_headers(${target} PRIVATE <mgvae/mgvae.hpp>)
endfunction()
