#!/usr/bin/env bash
# Builds ember's libFuzzer harnesses (fuzz/fuzz_*.cpp) with clang and runs them.
#
#   tools/fuzz.sh                  # build, then fuzz every harness for 600 s (one after another)
#   tools/fuzz.sh --seconds N      # ... for N seconds each
#   tools/fuzz.sh --jobs J         # run J harnesses at the same time (default 1)
#   tools/fuzz.sh --corpus-only    # build, then run each harness over fuzz/corpus/<name> and
#                                  # fuzz/regressions/<name> only (seconds; what CI runs)
#   tools/fuzz.sh --only NAME      # one harness (safetensors, idx, image, json, args, graph_tool, y4m)
#
# Harnesses are built with -fsanitize=fuzzer,address,undefined into build-fuzz/. Fuzzing starts
# from a copy of the seed corpus in build-fuzz/corpus/<name> (new inputs land there, not in the
# repo); crashes are written to build-fuzz/crashes/<name>/. A crash found by fuzzing belongs in
# fuzz/regressions/<name>/ once fixed, so --corpus-only keeps checking it. Needs clang-14 and
# libclang-rt-14-dev (tools/setup.sh installs them).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=600
jobs=1
corpus_only=0
only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --seconds=*) seconds="${1#*=}"; shift ;;
    --jobs) jobs="$2"; shift 2 ;;
    --jobs=*) jobs="${1#*=}"; shift ;;
    --corpus-only) corpus_only=1; shift ;;
    --only) only="$2"; shift 2 ;;
    --only=*) only="${1#*=}"; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fuzz.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done

CXX="${CXX_FUZZ:-$(command -v clang++-14 || command -v clang++ || true)}"
if [ -z "$CXX" ]; then
  echo "fuzz.sh: clang++ not found: run tools/setup.sh" >&2
  exit 1
fi

names=(safetensors idx image json args graph_tool y4m)
[ -n "$only" ] && names=("$only")
out=build-fuzz
mkdir -p "$out"

# -O1 -g: fast enough to fuzz, readable stack traces. No -fopenmp: the harnessed code is serial.
# The one suppression: -fno-sanitize=nonnull-attribute. stb_image v2.27 (Debian 12's libstb)
# calls memcpy(NULL, src, 0) for a zero-length PNG chunk (stbi__getn from
# stbi__parse_png_file); it copies nothing, but UBSan's nonnull check stops the fuzzer there
# on almost every PNG mutation. Every other UBSan and ASan check stays on and fatal.
flags=(-std=c++20 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
       -fno-sanitize=nonnull-attribute -fno-sanitize-recover=all -Iinclude)
for n in "${names[@]}"; do
  src="fuzz/fuzz_${n}.cpp"
  bin="$out/fuzz_${n}"
  if [ ! -x "$bin" ] || [ -n "$(find include fuzz/fuzz_${n}.cpp examples/fashion_mnist/options.hpp \
        -newer "$bin" -name '*.?pp' -print -quit)" ]; then
    echo "fuzz.sh: building $bin"
    "$CXX" "${flags[@]}" "$src" -o "$bin" -lz
  fi
done

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

if [ "$corpus_only" = 1 ]; then
  status=0
  for n in "${names[@]}"; do
    files=()
    for d in "fuzz/corpus/$n" "fuzz/regressions/$n"; do
      [ -d "$d" ] && while IFS= read -r -d '' f; do files+=("$f"); done \
        < <(find "$d" -type f ! -name '.gitkeep' ! -name 'README*' -print0 | sort -z)
    done
    if "$out/fuzz_${n}" -rss_limit_mb=4096 "${files[@]}" >"$out/corpus_${n}.log" 2>&1; then
      echo "fuzz.sh: $n: ${#files[@]} inputs OK"
    else
      echo "fuzz.sh: $n: FAILED on its corpus/regressions, see $out/corpus_${n}.log" >&2
      tail -n 40 "$out/corpus_${n}.log" >&2
      status=1
    fi
  done
  exit $status
fi


run_one() {
  local n="$1"
  local corpus="$out/corpus/$n" crashes="$out/crashes/$n"
  mkdir -p "$corpus" "$crashes"
  cp -n fuzz/corpus/"$n"/* "$corpus"/ 2>/dev/null || true
  [ -d "fuzz/regressions/$n" ] && cp -n fuzz/regressions/"$n"/* "$corpus"/ 2>/dev/null || true
  local rc=0
  "$out/fuzz_${n}" -max_total_time="$seconds" -rss_limit_mb=4096 -max_len=65536 \
    -artifact_prefix="$crashes/" -print_final_stats=1 "$corpus" >"$out/fuzz_${n}.log" 2>&1 || rc=$?
  local execs
  execs=$(grep -E '^stat::number_of_executed_units' "$out/fuzz_${n}.log" | awk '{print $2}' | tail -1)
  if [ $rc -eq 0 ]; then
    echo "fuzz.sh: $n: ${execs:-?} executions in ${seconds}s, no crash"
  else
    echo "fuzz.sh: $n: CRASH after ${execs:-?} executions (rc $rc), see $out/fuzz_${n}.log and $crashes/" >&2
  fi
  return $rc
}

status=0
pids=()
for n in "${names[@]}"; do
  run_one "$n" &
  pids+=($!)
  if [ ${#pids[@]} -ge "$jobs" ]; then
    wait "${pids[0]}" || status=1
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p" || status=1; done
exit $status
