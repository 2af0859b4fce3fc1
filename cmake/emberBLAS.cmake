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

# Prefer the OpenMP build of OpenBLAS: ember's own loops use OpenMP, and with the pthread build
# two thread pools (OpenMP's spinning workers and OpenBLAS's) fight over the cores, which on a
# 2-core machine made small GEMMs an order of magnitude slower. Debian installs the variants
# side by side (libopenblas-openmp-dev); the build RPATH makes the loader pick the one we link.
find_path(EMBER_CBLAS_INCLUDE_DIR cblas.h
  PATHS /usr/include/x86_64-linux-gnu/openblas-openmp /usr/include/aarch64-linux-gnu/openblas-openmp
  NO_DEFAULT_PATH)
find_library(EMBER_OPENBLAS_LIBRARY openblas
  PATHS /usr/lib/x86_64-linux-gnu/openblas-openmp /usr/lib/aarch64-linux-gnu/openblas-openmp
  NO_DEFAULT_PATH)

# Otherwise any OpenBLAS (Debian ships an OpenBLASConfig.cmake that names a variant's folders).
find_package(OpenBLAS CONFIG QUIET)
find_path(EMBER_CBLAS_INCLUDE_DIR cblas.h
  HINTS ${OpenBLAS_INCLUDE_DIRS}
  PATH_SUFFIXES openblas-openmp openblas-pthread openblas-serial openblas
  DOC "Folder holding OpenBLAS's cblas.h")
set(_ember_openblas_hint_dirs)
foreach(_lib IN LISTS OpenBLAS_LIBRARIES)
  get_filename_component(_dir "${_lib}" DIRECTORY)
  list(APPEND _ember_openblas_hint_dirs "${_dir}")
endforeach()
find_library(EMBER_OPENBLAS_LIBRARY
  NAMES openblas openblasp openblaso
  HINTS ${_ember_openblas_hint_dirs}
  PATH_SUFFIXES openblas-openmp openblas-pthread openblas-serial
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
