#!/usr/bin/env bash
# Runs the unit tests once per OpenBLAS core type that this CPU can execute, so that a result
# which holds only for one of OpenBLAS's kernels fails here rather than on a user's machine.
#
#   tools/blas_coretypes.sh [BUILD_DIR]     default: build (configured and built if needed)
#
# OpenBLAS (Debian's build is DYNAMIC_ARCH) picks its kernels for the CPU at run time, and
# OPENBLAS_CORETYPE forces a choice. Each kernel family rounds GEMM sums in its own order, so
# this runs: the core OpenBLAS picks by itself, then every listed core type whose instructions
# the CPU has (a core type needing instructions the CPU lacks would die on an illegal
# instruction). The list spans OpenBLAS's x86-64 kernel families: SSE3, SSE4.2, AVX, AVX2/FMA
# (Haswell and Zen kernels), AVX-512 and AVX-512 BF16. Exit status: non-zero if any run fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build=${1:-build}

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$build" -j2 --target ember_unit_tests

# core type -> the /proc/cpuinfo flags its kernels need
declare -A needs=(
  [Prescott]="pni"
  [Nehalem]="sse4_2"
  [Sandybridge]="avx"
  [Haswell]="avx2 fma"
  [Zen]="avx2 fma"
  [SkylakeX]="avx512f avx512cd avx512bw avx512dq avx512vl"
  [Cooperlake]="avx512f avx512cd avx512bw avx512dq avx512vl avx512_bf16"
)
order=(Prescott Nehalem Sandybridge Haswell Zen SkylakeX Cooperlake)

flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
runnable() {
  local f
  for f in ${needs[$1]}; do
    [[ "$flags" == *" $f "* ]] || return 1
  done
}

# The core OpenBLAS actually uses under a setting (it falls back to its own choice for a name
# it does not know), read from the library the tests link.
corename() {
  python3 - <<'EOF'
import ctypes
lib = ctypes.CDLL("libopenblas.so.0")
lib.openblas_get_corename.restype = ctypes.c_char_p
print(lib.openblas_get_corename().decode())
EOF
}

run_with() {  # label, then env assignments
  local label=$1
  shift
  local core
  core=$(env -u OPENBLAS_CORETYPE "$@" bash -c "$(declare -f corename); corename")
  echo "== blas_coretypes: $label (OpenBLAS core: $core)"
  if env -u OPENBLAS_CORETYPE "$@" ctest --test-dir "$build" -L unit -j2 --output-on-failure; then
    results+=("$label ($core): passed")
  else
    results+=("$label ($core): FAILED")
    failed=1
  fi
}

results=()
failed=0
run_with "its own choice"
[ "$(uname -m)" = x86_64 ] || order=()
for core in "${order[@]}"; do
  if runnable "$core"; then
    run_with "$core" OPENBLAS_CORETYPE="$core"
  else
    results+=("$core: not run (the CPU lacks: ${needs[$core]})")
  fi
done

echo "== blas_coretypes: summary"
printf '  %s\n' "${results[@]}"
exit "$failed"
