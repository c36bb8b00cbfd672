# mgvae_add_header_check()
# Header self-containment (after CUB's CubHeaderTesting.cmake): every include/mgvae/**/*.hpp gets
# its own TU that includes it twice (the second include checks the include guard / #pragma once).
# The TUs form the OBJECT library mgvae_header_check, built as part of ALL.
# Left out: kernels/cuda/ (nvcc only). The chemistry headers (anything under an rdkit/ or
# molecules/ folder, named *molecule*, and the facade mgvae/chem.hpp) need RDKit and zlib: they
# form a second OBJECT library, mgvae_header_check_chem, only when both are found.
function(mgvae_add_header_check)
  set(inc "${PROJECT_SOURCE_DIR}/include")
  file(GLOB_RECURSE headers CONFIGURE_DEPENDS RELATIVE "${inc}" "${inc}/mgvae/*.hpp")
  list(FILTER headers EXCLUDE REGEX "(^|/)kernels/cuda/")
  set(chem_regex "(^|/)rdkit/|molecule[^/]*$|(^|/)molecules/|^mgvae/chem\\.hpp$")
  set(chem_headers ${headers})
  list(FILTER chem_headers INCLUDE REGEX "${chem_regex}")
  list(FILTER headers EXCLUDE REGEX "${chem_regex}")
  list(SORT headers)
  list(SORT chem_headers)
  if(NOT headers)
    message(STATUS "mgvae: no headers for the header check")
    return()
  endif()
  _mgvae_header_check_tus(sources ${headers})
  add_library(mgvae_header_check OBJECT ${sources})
  target_link_libraries(mgvae_header_check PRIVATE mgvae mgvae_project_flags)
  list(LENGTH headers n)
  message(STATUS "mgvae: header check covers ${n} headers")

  if(chem_headers)
    find_package(RDKit QUIET COMPONENTS SmilesParse GraphMol RDGeneral Descriptors Fingerprints SubstructMatch
                 ChemTransforms DataStructs)
    find_package(ZLIB QUIET)
    list(LENGTH chem_headers nc)
    if(RDKit_FOUND AND ZLIB_FOUND)
      _mgvae_header_check_tus(chem_sources ${chem_headers})
      add_library(mgvae_header_check_chem OBJECT ${chem_sources})
      target_link_libraries(mgvae_header_check_chem PRIVATE mgvae mgvae_project_flags ${RDKit_LIBRARIES} ZLIB::ZLIB)
      message(STATUS "mgvae: header check covers ${nc} chemistry headers (RDKit)")
    else()
      message(STATUS "mgvae: header check skips ${nc} chemistry headers (RDKit or zlib not found)")
    endif()
  endif()
endfunction()

# _mgvae_header_check_tus(<out-var> <header>...): one generated TU per header.
function(_mgvae_header_check_tus out)
  set(sources "")
  foreach(h IN LISTS ARGN)
    string(MAKE_C_IDENTIFIER "${h}" id)
    set(tu "${PROJECT_BINARY_DIR}/header_check/${id}.cpp")
    file(CONFIGURE OUTPUT "${tu}" CONTENT "#include <${h}>\n#include <${h}>\n" @ONLY)
    list(APPEND sources "${tu}")
  endforeach()
  set(${out} ${sources} PARENT_SCOPE)
endfunction()
