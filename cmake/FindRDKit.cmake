# FindRDKit.cmake
# Debian's librdkit-dev (2022.09.3) installs no CMake config, so this module builds imported
# targets by hand.
#
#   find_package(RDKit [REQUIRED] [COMPONENTS SmilesParse GraphMol ...])
#
# Without COMPONENTS it looks for the default set below. For every component <Name> found
# (/usr/lib/libRDKit<Name>.so) it creates the IMPORTED target RDKit::<Name>, whose
# INTERFACE_INCLUDE_DIRECTORIES is the RDKit include dir (/usr/include/rdkit) and which links
# Boost::headers (the RDKit headers include Boost). Optional default components
# (SubstructMatch, FileParsers, ChemTransforms, DataStructs) are used when present.
#
# Result variables: RDKit_FOUND, RDKit_INCLUDE_DIR, RDKit_LIBRARIES (the imported targets),
# RDKit_<Name>_FOUND, RDKit_<Name>_LIBRARY.
# Hints: RDKit_ROOT / RDBASE (prefix), RDKit_INCLUDE_DIR, RDKit_<Name>_LIBRARY (cache).
include(FindPackageHandleStandardArgs)

set(_rdkit_default_components SmilesParse GraphMol RDGeneral Descriptors MolDraw2D Depictor Fingerprints
    SubstructMatch)
set(_rdkit_optional_components FileParsers ChemTransforms DataStructs RDGeometryLib)
if(RDKit_FIND_COMPONENTS)
  set(_rdkit_components ${RDKit_FIND_COMPONENTS})
else()
  set(_rdkit_components ${_rdkit_default_components})
  foreach(_c IN LISTS _rdkit_default_components)
    set(RDKit_FIND_REQUIRED_${_c} TRUE)
  endforeach()
  list(APPEND _rdkit_components ${_rdkit_optional_components})
endif()

set(_rdkit_hints "")
foreach(_h IN ITEMS "${RDKit_ROOT}" "$ENV{RDKit_ROOT}" "$ENV{RDBASE}")
  if(_h)
    list(APPEND _rdkit_hints "${_h}")
  endif()
endforeach()

find_path(RDKit_INCLUDE_DIR NAMES GraphMol/ROMol.h
          HINTS ${_rdkit_hints}
          PATH_SUFFIXES include/rdkit rdkit Code
          PATHS /usr/include /usr/local/include)
mark_as_advanced(RDKit_INCLUDE_DIR)

# RDKit's headers need Boost (headers only).
if(NOT TARGET Boost::headers)
  find_package(Boost 1.74 QUIET)
endif()
set(RDKit_Boost_headers "")
if(TARGET Boost::headers)
  set(RDKit_Boost_headers Boost::headers)
endif()

set(RDKit_LIBRARIES "")
foreach(_c IN LISTS _rdkit_components)
  find_library(RDKit_${_c}_LIBRARY NAMES RDKit${_c}
               HINTS ${_rdkit_hints}
               PATH_SUFFIXES lib lib64
               PATHS /usr/lib /usr/local/lib)
  mark_as_advanced(RDKit_${_c}_LIBRARY)
  if(RDKit_${_c}_LIBRARY AND RDKit_INCLUDE_DIR)
    set(RDKit_${_c}_FOUND TRUE)
    if(NOT TARGET RDKit::${_c})
      add_library(RDKit::${_c} SHARED IMPORTED)
      set_target_properties(RDKit::${_c} PROPERTIES
        IMPORTED_LOCATION "${RDKit_${_c}_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${RDKit_INCLUDE_DIR}")
      if(TARGET Boost::headers)
        set_property(TARGET RDKit::${_c} APPEND PROPERTY INTERFACE_LINK_LIBRARIES Boost::headers)
      endif()
    endif()
    list(APPEND RDKit_LIBRARIES RDKit::${_c})
  else()
    set(RDKit_${_c}_FOUND FALSE)
  endif()
endforeach()

find_package_handle_standard_args(RDKit
  REQUIRED_VARS RDKit_INCLUDE_DIR RDKit_Boost_headers
  HANDLE_COMPONENTS)
if(NOT RDKit_FOUND)
  set(RDKit_LIBRARIES "")
endif()
unset(_rdkit_components)
unset(_rdkit_hints)
