# The smoke test of one example (ember_add_example): runs the binary with --quick into a fresh
# output folder, then checks that metrics.json holds a verdict and that each named metric is a
# number within its range. Called as
#   cmake -DEXE=<binary> -DOUT=<folder> -DARGS=<extra flags;...> -DCHECKS=<name;lo;hi;...>
#         -P run_example_smoke.cmake
# A missing dataset makes the example exit non-zero with the setup command in its message,
# which fails this test (it never skips).
string(REPLACE "|" ";" ARGS "${ARGS}")
string(REPLACE "|" ";" CHECKS "${CHECKS}")
file(REMOVE_RECURSE "${OUT}")
execute_process(COMMAND "${EXE}" --quick --out "${OUT}" ${ARGS} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${EXE} --quick exited with status ${rc} (its message is above)")
endif()

foreach(file metrics.json report.md)
  if(NOT EXISTS "${OUT}/${file}")
    message(FATAL_ERROR "${EXE} --quick wrote no ${OUT}/${file}")
  endif()
endforeach()
file(READ "${OUT}/metrics.json" json)
string(JSON verdict ERROR_VARIABLE err GET "${json}" verdict)
if(err OR NOT verdict MATCHES "^claim: (reproduced|NOT reproduced) — ")
  message(FATAL_ERROR "metrics.json: no verdict line (${err}${verdict})")
endif()

list(LENGTH CHECKS n)
math(EXPR remainder "${n} % 3")
if(NOT remainder EQUAL 0)
  message(FATAL_ERROR "CHECKS must be triples name;lo;hi, got '${CHECKS}'")
endif()
while(CHECKS)
  list(POP_FRONT CHECKS name lo hi)
  string(JSON value ERROR_VARIABLE err GET "${json}" metrics ${name})
  string(JSON type ERROR_VARIABLE err2 TYPE "${json}" metrics ${name})
  if(err OR NOT type STREQUAL "NUMBER")
    message(FATAL_ERROR "metrics.json: metric '${name}' missing or not a number (${err}${type})")
  endif()
  if(value LESS lo OR value GREATER hi)
    message(FATAL_ERROR "metrics.json: ${name} = ${value}, expected within [${lo}, ${hi}]")
  endif()
  message(STATUS "${name} = ${value} (within [${lo}, ${hi}])")
endwhile()
message(STATUS "${verdict}")
