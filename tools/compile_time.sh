#!/usr/bin/env bash
# Measures how long a user's translation unit takes to compile, with and without the extern
# template declarations of ember_instances (EMBER_EXTERN_TEMPLATES, which the CMake target
# ember::ember sets), and the same program written with libtorch
# (tests/compile_time/train_mlp_libtorch.cpp; needs Debian's libtorch-dev, which
# `tools/setup.sh --with-torch` installs). Prints user+sys CPU seconds (not wall time: shared
# machines are loaded), each measured RUNS times, then ember's medians as ratios to libtorch's.
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

measure() {  # label, source, compiler flags...
  local label=$1 source=$2
  shift 2
  : > "$tmp/$label.all"
  for ((i = 1; i <= runs; i++)); do
    /usr/bin/time -f "%U %S" -o "$tmp/time" "$cxx" "${flags[@]}" "$@" -c "$source" -o "$tmp/out.o"
    awk -v label="$label" -v run="$i" '{ printf "%-26s run %d: %6.2f s CPU (user %.2f + sys %.2f)\n", label, run, $1 + $2, $1, $2 }' "$tmp/time"
    awk '{ print $1 + $2 }' "$tmp/time" >> "$tmp/$label.all"
  done
}
median() { sort -g "$tmp/$1.all" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "$cxx ${flags[*]} -c $(realpath --relative-to="$root" "$src")"
measure header-only "$src" -std=c++20 -fopenmp -I"$root/include"
measure extern-templates "$src" -std=c++20 -fopenmp -I"$root/include" -DEMBER_EXTERN_TEMPLATES

torch_include=/usr/include/torch/csrc/api/include
if [ -d "$torch_include" ]; then
  measure libtorch "$root/tests/compile_time/train_mlp_libtorch.cpp" -std=c++17 -I"$torch_include"
  awk -v h="$(median header-only)" -v e="$(median extern-templates)" -v t="$(median libtorch)" 'BEGIN {
    printf "medians: header-only %.2f s, extern templates %.2f s, libtorch %.2f s\n", h, e, t
    printf "ratio to libtorch: header-only %.2f (target <= 1.0), through ember::ember %.2f (target <= 0.2)\n", h / t, e / t }'
else
  echo "libtorch: not measured (no $torch_include; tools/setup.sh --with-torch installs libtorch-dev)"
fi
