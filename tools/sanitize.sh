#!/usr/bin/env bash
# Builds and runs ember's test suite under sanitizers.
#
#   tools/sanitize.sh asan   # AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer):
#                            # every tests/test_*.cpp (or the names in ASAN_TESTS), each built
#                            # with g++ -O0 in build-asan/, then run. This is what .ci/run runs.
#   tools/sanitize.sh tsan   # ThreadSanitizer on the tests of the parallel kernels, built with
#                            # clang + LLVM's libomp and its Archer tool (libarcher.so), which
#                            # tells TSan about OpenMP's synchronisation. Objects in build-tsan/.
#
# Environment: JOBS (parallel compile jobs, default 2), TSAN_TESTS (test files for tsan,
# default below). Needs clang-14, libomp-14-dev, libclang-rt-14-dev and
# libopenblas-pthread-dev for tsan (tools/setup.sh installs them).
#
# Suppressions: none for asan/ubsan. For tsan, OpenBLAS is linked in its pthread variant with
# OPENBLAS_NUM_THREADS=1 instead of the OpenMP variant: the OpenMP one would load GCC's libgomp
# next to LLVM's libomp (two OpenMP runtimes in one process), and OpenBLAS itself is not
# instrumented, so its threads could only produce false reports. Every ember loop still runs
# on OpenMP threads (OMP_NUM_THREADS=2) under TSan. TSAN_OPTIONS=ignore_noninstrumented_modules=1
# (as Archer asks): libomp's own internals (its pthread_mutex_init in a worker racing the
# first lock on the main thread) are not instrumented, and without the option TSan reports
# them as races although Archer's annotations already order every user access.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

mode="${1:-}"
jobs="${JOBS:-2}"
case "$mode" in
  asan)
    # Each test file is compiled on its own with ASan + UBSan against the headers only, at -O0:
    # the whole suite then builds in about 4 minutes on 2 cores and runs in under a minute,
    # where -O1 took about 25 minutes to build (template instantiation dominates, and -O0
    # skips the optimiser's work on it). An ASan build of the instances library is not used:
    # it alone would take longer than all of this. -O0 loses no checks (the sanitizers
    # instrument every access; optimisation can only remove some).
    flags=(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
    if [ -n "${ASAN_TESTS:-}" ]; then
      tests=(${ASAN_TESTS})
    else
      tests=($(cd tests && ls test_*.cpp | sed 's/\.cpp$//'))
    fi
    blas_inc=/usr/include/x86_64-linux-gnu/openblas-openmp
    blas_dir=/usr/lib/x86_64-linux-gnu/openblas-openmp
    out=build-asan
    mkdir -p "$out"
    cflags=(-std=c++20 -O0 -g -fopenmp "${flags[@]}" -Iinclude -I"$blas_inc"
            "-DEMBER_SOURCE_DIR=\"$PWD\"")
    ldflags=("${flags[@]}" -fopenmp -L"$blas_dir" -Wl,-rpath,"$blas_dir" -lopenblas -lz)
    [ -f "$out/main.o" ] || g++ "${cflags[@]}" -c tests/main.cpp -o "$out/main.o"
    build_one() {
      echo "sanitize.sh: building $out/$1"
      g++ "${cflags[@]}" "tests/$1.cpp" "$out/main.o" -o "$out/$1" "${ldflags[@]}"
    }
    pids=()
    build_status=0
    for t in "${tests[@]}"; do
      build_one "$t" &
      pids+=($!)
      if ((${#pids[@]} >= jobs)); then
        wait "${pids[0]}" || build_status=1
        pids=("${pids[@]:1}")
      fi
    done
    for p in "${pids[@]}"; do wait "$p" || build_status=1; done
    [ "$build_status" = 0 ] || { echo "sanitize.sh: a test failed to build" >&2; exit 1; }
    status=0
    for t in "${tests[@]}"; do
      echo "sanitize.sh: asan $t"
      if ! ASAN_OPTIONS="detect_leaks=1:strict_string_checks=1:check_initialization_order=1" \
           UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" OMP_NUM_THREADS=2 \
           "$out/$t" --no-intro=true; then
        status=1
      fi
    done
    exit $status
    ;;
  tsan)
    CXX="${CXX_TSAN:-$(command -v clang++-14 || command -v clang++)}"
    archer="$(ls /usr/lib/llvm-14/lib/libarcher.so 2>/dev/null || true)"
    if [ -z "$archer" ]; then
      echo "sanitize.sh: libarcher.so (libomp-14-dev) not found; TSan cannot see OpenMP" >&2
      exit 1
    fi
    blas_dir=/usr/lib/x86_64-linux-gnu/openblas-pthread
    tests=(${TSAN_TESTS:-test_core test_reduce test_indexing test_optim test_determinism
           test_activation test_unary test_softmax_layernorm test_conv})
    out=build-tsan
    mkdir -p "$out"
    cflags=(-std=c++20 -O0 -g -fno-omit-frame-pointer -fsanitize=thread -fopenmp
            -Iinclude -I/usr/include/x86_64-linux-gnu/openblas-pthread
            "-DEMBER_SOURCE_DIR=\"$PWD\"")
    ldflags=(-fsanitize=thread -fopenmp -L"$blas_dir" -Wl,-rpath,"$blas_dir" -lopenblas -lz)
    if [ ! -f "$out/main.o" ]; then
      "$CXX" "${cflags[@]}" -c tests/main.cpp -o "$out/main.o"
    fi
    status=0
    for t in "${tests[@]}"; do
      if [ ! -x "$out/$t" ] || [ -n "$(find include "tests/$t.cpp" -newer "$out/$t" -name '*.?pp' -print -quit)" ]; then
        echo "sanitize.sh: building $out/$t"
        if ! "$CXX" "${cflags[@]}" "tests/$t.cpp" "$out/main.o" -o "$out/$t" "${ldflags[@]}"; then
          echo "sanitize.sh: cannot build $t with $CXX" >&2
          status=1
          continue
        fi
      fi
      echo "sanitize.sh: tsan $t"
      if ! OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=1 OMP_TOOL_LIBRARIES="$archer" \
           TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1" \
           "$out/$t" --no-intro=true; then
        status=1
      fi
    done
    exit $status
    ;;
  *)
    echo "usage: tools/sanitize.sh asan|tsan" >&2
    exit 2
    ;;
esac
