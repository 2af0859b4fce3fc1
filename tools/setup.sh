#!/usr/bin/env bash
# Installs everything ember needs to build, test and run its examples on Debian 12, from apt.
#
#   tools/setup.sh               # compiler, CMake, OpenBLAS, OpenMPI, doctest, Google Benchmark, data
#                                # (then data/install.sh: the examples' offline data)
#   tools/setup.sh --with-torch  # also python3-torch (the peer of ../shared/bench/torch_peer.py)
#                                # and libtorch-dev (the yardstick of tools/compile_time.sh)
#
# Always included (cheap, and .ci/run uses them): clang-14 with its sanitizer and libFuzzer
# runtimes (libclang-rt-14-dev) for tools/sanitize.sh and tools/fuzz.sh, LLVM's libomp with
# the Archer TSan tool (libomp-14-dev) and OpenBLAS's pthread variant for tools/sanitize.sh tsan.
#
# Idempotent: packages already installed are skipped, and when nothing is missing it neither
# updates the package lists nor calls apt-get; data/install.sh likewise fetches only missing
# datasets. Runs as root (or through sudo if available).
set -euo pipefail
data_step="$(dirname "${BASH_SOURCE[0]}")/../data/install.sh"

packages=(
  g++ cmake make
  libopenblas-openmp-dev zlib1g-dev libomp-dev
  libstb-dev doctest-dev libbenchmark-dev
  python3 python3-numpy
  dataset-fashion-mnist ffmpeg
  pkg-config libplplot-dev plplot-driver-cairo
  clang-14 libclang-rt-14-dev libomp-14-dev libopenblas-pthread-dev
  libopenmpi-dev openmpi-bin
)

for arg in "$@"; do
  case "$arg" in
    --with-torch) packages+=(python3-torch libtorch-dev) ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [ "$status" != "install ok installed" ]; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup.sh: all ${#packages[@]} packages already installed"
  exec "$data_step"
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "setup.sh: must run as root to install: ${missing[*]}" >&2
  exit 1
fi

echo "setup.sh: installing ${missing[*]}"
"${as_root[@]}" apt-get update
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends "${missing[@]}"
echo "setup.sh: done"
exec "$data_step"
