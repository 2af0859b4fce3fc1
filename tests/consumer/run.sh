#!/usr/bin/env bash
# The consumer_find_package test: install an ember build into a scratch prefix, then
# configure, build and run tests/consumer against it with find_package(ember).
#
#   run.sh BUILD_DIR WORK_DIR [CXX_COMPILER] [CMAKE]
set -euo pipefail

build=$1
work=$2
cxx=${3:-}
cmake=${4:-cmake}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

rm -rf "$work"
mkdir -p "$work"
prefix="$work/prefix"

echo "== install $build into $prefix"
"$cmake" --install "$build" --prefix "$prefix" --component ember

echo "== configure the consumer project"
args=(-S "$here" -B "$work/build" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=$prefix")
if [ -n "$cxx" ]; then
  args+=("-DCMAKE_CXX_COMPILER=$cxx")
fi
"$cmake" "${args[@]}"
# Make sure it found the ember we just installed, not another one on the system.
found=$(sed -n 's/^ember_DIR:PATH=//p' "$work/build/CMakeCache.txt")
case "$found" in
  "$prefix"/*) echo "== found ember in $found" ;;
  *) echo "error: the consumer found ember in '$found', not under $prefix" >&2; exit 1 ;;
esac

echo "== build"
"$cmake" --build "$work/build"

echo "== run"
"$work/build/ember_consumer"
