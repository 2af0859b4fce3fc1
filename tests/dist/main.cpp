// The runner of the distributed tests: joins the MPI job, runs the doctest cases on every rank
// (each rank checks its own results), and returns non-zero if any case failed on this rank, so
// mpirun fails. Launched by ctest as `mpirun -np N dist_tests` (tests/dist/CMakeLists.txt).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <ember/dist/process_group.hpp>

int main(int argc, char** argv) {
  ember::dist::init();
  doctest::Context context(argc, argv);
  const int failed = context.run();
  if (failed) ember::dist::abort("a test case failed on this rank (see above)");
  ember::dist::finalize();
  return 0;
}
