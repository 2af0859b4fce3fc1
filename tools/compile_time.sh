#!/usr/bin/env bash
# Measures how long a user's translation unit takes to compile, with and without the extern
# template declarations of ember_instances (EMBER_EXTERN_TEMPLATES, which the CMake target
# ember::ember sets). Prints user+sys CPU seconds (not wall time: shared machines are loaded),
# each measured RUNS times.
#
#   tools/compile_time.sh [SOURCE]        default: tests/compile_time/train_mlp.cpp
#   CXX=clang++ CXXFLAGS="-O3" RUNS=3 tools/compile_time.sh
#
# Compile only (-c): link with ember_instances to run the extern-templates object.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
src=${1:-$root/tests/compile_time/train_mlp.cpp}
cxx=${CXX:-g++}
read -r -a flags <<< "${CXXFLAGS:--O2}"
runs=${RUNS:-2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

measure() {  # label, extra flags...
  local label=$1
  shift
  for ((i = 1; i <= runs; i++)); do
    /usr/bin/time -f "%U %S" -o "$tmp/time" \
      "$cxx" -std=c++20 -fopenmp "${flags[@]}" -I"$root/include" "$@" -c "$src" -o "$tmp/out.o"
    awk -v label="$label" -v run="$i" '{ printf "%-26s run %d: %6.2f s CPU (user %.2f + sys %.2f)\n", label, run, $1 + $2, $1, $2 }' "$tmp/time"
  done
}

echo "$cxx ${flags[*]} -c $(realpath --relative-to="$root" "$src")"
measure "header-only"
measure "-DEMBER_EXTERN_TEMPLATES" -DEMBER_EXTERN_TEMPLATES
