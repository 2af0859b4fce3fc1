# Finds OpenBLAS and its <cblas.h> and defines the imported target ember::cblas.
#
# Used both by ember's own build and by the installed emberConfig.cmake, so a project that
# does find_package(ember) gets the same BLAS. Debian puts the header in a per-variant folder
# (/usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h, plus an alternatives symlink
# /usr/include/x86_64-linux-gnu/cblas.h); other systems use /usr/include/cblas.h or
# /usr/include/openblas/cblas.h. Override with -DEMBER_CBLAS_INCLUDE_DIR=... and
# -DEMBER_OPENBLAS_LIBRARY=... if needed.
if(TARGET ember::cblas)
  return()
endif()

# Debian ships an OpenBLASConfig.cmake that names the variant's folders; use it as a hint.
find_package(OpenBLAS CONFIG QUIET)

find_path(EMBER_CBLAS_INCLUDE_DIR cblas.h
  HINTS ${OpenBLAS_INCLUDE_DIRS}
  PATH_SUFFIXES openblas-pthread openblas-openmp openblas-serial openblas
  DOC "Folder holding OpenBLAS's cblas.h")

set(_ember_openblas_hint_dirs)
foreach(_lib IN LISTS OpenBLAS_LIBRARIES)
  get_filename_component(_dir "${_lib}" DIRECTORY)
  list(APPEND _ember_openblas_hint_dirs "${_dir}")
endforeach()
find_library(EMBER_OPENBLAS_LIBRARY
  NAMES openblas openblasp openblaso
  HINTS ${_ember_openblas_hint_dirs}
  PATH_SUFFIXES openblas-pthread openblas-openmp openblas-serial
  DOC "OpenBLAS library")
unset(_ember_openblas_hint_dirs)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(emberBLAS
  REQUIRED_VARS EMBER_OPENBLAS_LIBRARY EMBER_CBLAS_INCLUDE_DIR
  REASON_FAILURE_MESSAGE "install OpenBLAS (Debian: apt-get install libopenblas-dev, or run tools/setup.sh)")

if(emberBLAS_FOUND)
  add_library(ember::cblas INTERFACE IMPORTED)
  set_target_properties(ember::cblas PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${EMBER_CBLAS_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "${EMBER_OPENBLAS_LIBRARY}")
endif()
