#!/usr/bin/env bash
# The GPU check: builds ember with CUDA, runs the CPU/CUDA agreement suite, compute-sanitizer on
# a short test, the GPU benchmarks and the PyTorch peer, and prints compare.py's table.
#
#   tools/gpu-check.sh OUT_DIR [SHARED_BENCH_DIR]
#
# Run from anywhere on a machine with a GPU and the CUDA toolkit (nvcc on PATH or in
# /usr/local/cuda/bin). SHARED_BENCH_DIR holds torch_peer.py and compare.py (default: the first
# of shared/bench, shared-bench and ../shared/bench next to the repository). Every step's log
# goes to OUT_DIR (NN-step.log) with a summary in OUT_DIR/summary.txt. A failing step does not
# stop the later ones; the script exits non-zero at the end if any step failed. Each step has a
# time limit so that the whole run fits in 10 minutes.
set -euo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: tools/gpu-check.sh OUT_DIR [SHARED_BENCH_DIR]" >&2
  exit 2
fi
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mkdir -p "$1"
OUT="$(cd "$1" && pwd)"
SHARED="${2:-}"
if [[ -z "$SHARED" ]]; then
  for d in "$REPO/shared/bench" "$REPO/shared-bench" "$REPO/../shared/bench"; do
    if [[ -f "$d/torch_peer.py" ]]; then SHARED="$d"; break; fi
  done
fi
BUILD="$REPO/build-cuda"
PYTHON="${PYTHON:-python3}"
export PATH="$PATH:/usr/local/cuda/bin:/usr/local/cuda/compute-sanitizer"
START=$SECONDS
BUDGET="${GPU_CHECK_BUDGET:-570}"  # seconds for all steps together
FAILED=()
STEP=0

# step NAME LIMIT_SECONDS COMMAND...: runs COMMAND with a time limit, output to its log.
step() {
  local name="$1" limit="$2"
  shift 2
  # Never past the whole run's budget (BUDGET seconds): a late step gets what is left.
  local left=$((BUDGET - (SECONDS - START)))
  ((left < 10)) && left=10
  ((limit > left)) && limit=$left
  STEP=$((STEP + 1))
  local log
  log="$OUT/$(printf '%02d' "$STEP")-$name.log"
  echo "== $name (limit ${limit}s, at $((SECONDS - START))s)" | tee -a "$OUT/summary.txt"
  local rc=0
  (cd "$REPO" && timeout --kill-after=10 "$limit" "$@") >"$log" 2>&1 || rc=$?
  if [[ $rc -eq 0 ]]; then
    echo "   ok" | tee -a "$OUT/summary.txt"
  else
    [[ $rc -eq 124 || $rc -eq 137 ]] && echo "   TIMED OUT" | tee -a "$OUT/summary.txt"
    echo "   FAILED (exit $rc), last lines of $log:" | tee -a "$OUT/summary.txt"
    tail -n 20 "$log" | sed 's/^/   | /' | tee -a "$OUT/summary.txt"
    FAILED+=("$name")
  fi
  return 0
}

: >"$OUT/summary.txt"
step device 20 bash -c 'nvidia-smi && nvcc --version'
# What the build needs besides CUDA (tools/setup.sh installs it on Debian): reported up front so
# that a configure failure on a bare GPU image is explained.
step prerequisites 10 bash -c 'miss=0
  for f in cblas.h doctest/doctest.h benchmark/benchmark.h zlib.h; do
    if ! find /usr/include /usr/local/include -path "*/$f" -print -quit 2>/dev/null | grep -q .; then
      echo "missing header: $f"; miss=1
    fi
  done
  exit $miss'
step configure 60 cmake -S . -B "$BUILD" -DEMBER_CUDA=ON -DCMAKE_BUILD_TYPE=Release \
  -DEMBER_BUILD_EXAMPLES=OFF
step build 300 cmake --build "$BUILD" -j16 --target ember_cuda_tests bench_core bench_conv \
  bench_models bench_graph bench_spectral
# The agreement suite: exit 77 (no device) is a failure here, where a GPU is expected.
step cuda-tests 60 "$BUILD/tests/cuda/ember_cuda_tests"
step sanitizer 60 compute-sanitizer --tool memcheck --error-exitcode 1 \
  "$BUILD/tests/cuda/ember_cuda_tests" --test-case='*copies*,*reductions*'
# Every reference workload of WORKLOADS.md at gpu size (the "<workload>/cuda" benchmarks).
step bench 150 bash -c "bench/run --size gpu --build-dir '$BUILD' --threads 16 --repetitions 3 \
  > '$OUT/ours.jsonl'"
if [[ -n "$SHARED" ]]; then
  step torch-peer 150 bash -c "'$PYTHON' '$SHARED/torch_peer.py' --size gpu --device cuda \
    > '$OUT/peer.jsonl'"
  step compare 20 "$PYTHON" "$SHARED/compare.py" "$OUT/ours.jsonl" "$OUT/peer.jsonl"
  cat "$OUT"/*-compare.log
else
  echo "== torch-peer: no SHARED_BENCH_DIR with torch_peer.py found" | tee -a "$OUT/summary.txt"
  FAILED+=("torch-peer")
fi

echo "== done in $((SECONDS - START))s" | tee -a "$OUT/summary.txt"
if [[ ${#FAILED[@]} -gt 0 ]]; then
  echo "FAILED steps: ${FAILED[*]}" | tee -a "$OUT/summary.txt"
  exit 1
fi
echo "all steps passed" | tee -a "$OUT/summary.txt"
