// The one place that knows whether this build has MPI (EMBER_WITH_MPI, set by the CMake option
// EMBER_MPI): <mpi.h>, MPI return codes turned into ember::Error, and the element types. In a
// build without MPI it declares only no_mpi(), the error that says how to get it.
#pragma once

#include <ember/core/error.hpp>
#include <string>
#include <type_traits>

#ifdef EMBER_WITH_MPI
// The C API only: OpenMPI's and MPICH's deprecated C++ bindings would drag in their warnings.
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>
#endif

namespace ember::dist {

inline constexpr bool kHaveMpi =
#ifdef EMBER_WITH_MPI
    true;
#else
    false;
#endif

[[noreturn]] inline void no_mpi(const char* op) {
  fail("ember::dist::", op,
       ": this build of ember has no MPI; install OpenMPI (apt-get install "
       "libopenmpi-dev openmpi-bin) and configure with -DEMBER_MPI=ON");
}

#ifdef EMBER_WITH_MPI

// Communicators return errors instead of aborting (MPI_ERRORS_RETURN); this throws them.
inline void check_mpi(int rc, const char* op, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  fail("ember::dist::", op, ": ", call, " failed: ", std::string(text, size_t(len)));
}

template <class T>
MPI_Datatype mpi_type() {
  if constexpr (std::is_same_v<T, float>)
    return MPI_FLOAT;
  else if constexpr (std::is_same_v<T, double>)
    return MPI_DOUBLE;
  else
    static_assert(sizeof(T) == 0, "ember::dist: collectives take float or double tensors");
}

#endif

}  // namespace ember::dist
