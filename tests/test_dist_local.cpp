// ember::dist outside an MPI job: without MPI in the build, init() throws an error naming the
// CMake option; with it, group() before init() says to call init(). (The collectives and DDP
// are tested under mpirun by tests/dist/.)
#include <doctest/doctest.h>

#include <ember/dist/process_group.hpp>

using namespace ember;

TEST_CASE("dist without a process group says how to get one") {
  CHECK_FALSE(dist::is_initialized());
#ifdef EMBER_WITH_MPI
  CHECK_THROWS_WITH_AS(dist::group(), doctest::Contains("call ember::dist::init() first"), Error);
#else
  CHECK_THROWS_WITH_AS(dist::init(), doctest::Contains("-DEMBER_MPI=ON"), Error);
  CHECK_THROWS_WITH_AS(dist::group(), doctest::Contains("-DEMBER_MPI=ON"), Error);
#endif
}
