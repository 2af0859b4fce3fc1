// The doctest runner for ember_tests: every tests/test_*.cpp is linked into one executable.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
