#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz (docs/FUZZING.md), built with
# Debian's clang into build-fuzz/ (CD_FUZZ=ON: ASan + UBSan, asserts on).
#
#   bash scripts/fuzz.sh short [target...]   each target FUZZ_SECONDS (15) s
#   bash scripts/fuzz.sh long [target...]    each target FUZZ_RUNS (10^7) runs
#                                            (FUZZ_MAX_SECONDS: stop sooner)
#   bash scripts/fuzz.sh repro <target> <input file>...
#   bash scripts/fuzz.sh list
#
# Every run starts from the seed corpus tests/fuzz/corpus/<target>/ (read
# only: new inputs go to build-fuzz/corpus/<target>/) with the dictionary
# tests/fuzz/dict/<target>.dict. A crash, leak, sanitizer report, timeout
# (FUZZ_TIMEOUT, 10 s per input) or broken property fails the run and
# leaves its input in build-fuzz/artifacts/ (see "repro"). long prints one
# line per target: executions, exec/s, seconds (also appended to
# build-fuzz/long-results.txt). Temp files go to /dev/shm when writable.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGETS=(signature form webhook helpers time money config static url)
OUT=${FUZZ_OUT:-build-fuzz} # FUZZ_NO_BUILD=1: run the binaries already there
mode=${1:-short}
shift || true

build() {
  [ "${FUZZ_NO_BUILD:-0}" = 1 ] && return 0
  command -v clang >/dev/null || {
    echo "fuzz: clang is missing (WITH_FUZZ=1 bash scripts/bootstrap.sh)" >&2
    exit 1
  }
  if [ ! -f "$OUT/CMakeCache.txt" ]; then
    CC=clang cmake -S . -B "$OUT" -DCD_FUZZ=ON \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  cmake --build "$OUT" -j"${FUZZ_JOBS:-2}" 2>&1 |
    grep -vE '^\[ *[0-9]+%\]|^-- ' || true
  for t in "${TARGETS[@]}"; do test -x "$OUT/fuzz_$t"; done
}

if [ -d /dev/shm ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# run <target> <libFuzzer flags...>: fuzzes one target; its exit status.
run() {
  local t=$1; shift
  local dict=() seeds=tests/fuzz/corpus/$t
  [ -f "tests/fuzz/dict/$t.dict" ] && dict=(-dict="tests/fuzz/dict/$t.dict")
  mkdir -p "$OUT/corpus/$t" "$OUT/artifacts"
  "$OUT/fuzz_$t" "${dict[@]}" -timeout="${FUZZ_TIMEOUT:-10}" \
    -artifact_prefix="$OUT/artifacts/$t-" -print_final_stats=1 "$@" \
    "$OUT/corpus/$t" "$seeds"
}

pick() { # the targets named, or all
  if [ $# -gt 0 ]; then echo "$@"; else echo "${TARGETS[@]}"; fi
}

case $mode in
list)
  echo "${TARGETS[@]}"
  ;;
short)
  build
  failed=()
  for t in $(pick "$@"); do
    log="$OUT/short-$t.log"
    if run "$t" -max_total_time="${FUZZ_SECONDS:-15}" >"$log" 2>&1; then
      echo "fuzz $t: ok, $(grep -m1 number_of_executed_units "$log" |
        awk '{print $2}') runs"
    else
      echo "fuzz $t: FAILED (log $log)"
      grep -E 'ERROR|property failed|SUMMARY|Test unit written' "$log" |
        head -8 || true
      failed+=("$t")
    fi
  done
  [ ${#failed[@]} -eq 0 ] || { echo "fuzz: failed: ${failed[*]}"; exit 1; }
  ;;
long)
  build
  failed=()
  for t in $(pick "$@"); do
    log="$OUT/long-$t.log"
    start=$(date +%s)
    rc=0
    limit=()
    [ -n "${FUZZ_MAX_SECONDS:-}" ] && limit=(-max_total_time="$FUZZ_MAX_SECONDS")
    run "$t" -runs="${FUZZ_RUNS:-10000000}" "${limit[@]}" >"$log" 2>&1 || rc=$?
    secs=$(($(date +%s) - start))
    runs=$(grep -m1 number_of_executed_units "$log" | awk '{print $2}')
    rate=$(grep -m1 average_exec_per_sec "$log" | awk '{print $2}')
    line="$t runs=${runs:-?} exec/s=${rate:-?} seconds=$secs rc=$rc"
    echo "$line"
    echo "$(date -u +%FT%TZ) $line" >>"$OUT/long-results.txt"
    [ "$rc" = 0 ] || failed+=("$t")
  done
  [ ${#failed[@]} -eq 0 ] || { echo "fuzz: failed: ${failed[*]}"; exit 1; }
  ;;
repro)
  [ $# -ge 2 ] || { echo "usage: fuzz.sh repro <target> <input>..." >&2; exit 2; }
  build
  t=$1; shift
  "$OUT/fuzz_$t" "$@"
  ;;
*)
  echo "usage: fuzz.sh short|long [target...] | repro <target> <input>... | list" >&2
  exit 2
  ;;
esac
