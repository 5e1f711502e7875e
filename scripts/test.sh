#!/usr/bin/env bash
# Sets up and runs every test: the banned-call lint (scripts/lint.sh), the
# checks written in node once bootstrap has installed it (no function over
# 70 lines: scripts/funclen.mjs; no file of src/ over 800 lines:
# scripts/filelen.mjs; every path the docs name exists:
# scripts/docpaths.mjs; no files of src/ include or call each other in a
# cycle: scripts/cycles.mjs, calls from build/'s objects), the format
# check (scripts/format.sh --check: every C file as .clang-format has it),
# clang-tidy over src/ (scripts/tidy.sh, .clang-tidy), unit tests (ctest)
# in a normal and an ASan+UBSan build, the unit tests
# that run threads under ThreadSanitizer (build-tsan/; the store tests also
# on PostgreSQL), the end-to-end suite against the sanitized binary, the
# browser tests in Debian's Chromium, 30 s of the chaos run
# (tests/chaos/chaos.mjs, docs/RELIABILITY.md) against the sanitized binary,
# and a short run of every fuzz target (scripts/fuzz.sh short, 15 s each).
# A throw-away PostgreSQL cluster (scripts/pg_cluster.sh, stopped on exit
# even when a test fails) runs the store contract tests and the end-to-end
# suite a second time on PostgreSQL (each test stack gets a database of its
# own).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== lint (banned calls in src/; the node checks too when node is in)"
bash scripts/lint.sh --self-test
bash scripts/lint.sh
WITH_BROWSER=1 WITH_FUZZ=1 WITH_PG=1 WITH_TIDY=1 ASAN=1 TSAN=1 \
  bash scripts/bootstrap.sh

echo "== node checks: function and file lengths, doc paths, include and call cycles"
node scripts/funclen.mjs --self-test
node scripts/funclen.mjs
node scripts/filelen.mjs --self-test
node scripts/filelen.mjs
node scripts/docpaths.mjs --self-test
node scripts/docpaths.mjs
node scripts/cycles.mjs --self-test
node scripts/cycles.mjs
node scripts/cycles.mjs --calls build

echo "== format (scripts/format.sh --check, .clang-format)"
bash scripts/format.sh --check

echo "== clang-tidy (src/, build/compile_commands.json)"
bash scripts/tidy.sh

eval "$(bash scripts/pg_cluster.sh start)"
trap 'bash scripts/pg_cluster.sh stop "$CD_PG_DIR"' EXIT
export CD_TEST_PG_URL="$CD_PG_URL"

# detect_stack_use_after_return: a pointer to a returned function's local
# (a label, a buffer) read later is an error, not a silent garbage value.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

echo "== unit tests (ctest)"
(cd build && ctest --output-on-failure --timeout 300)
echo "== unit tests under ASan+UBSan (ctest)"
(cd build-asan && ctest --output-on-failure --timeout 300)

# A data race or a lock-order inversion fails the test at once; only
# third-party code is suppressed (tests/tsan.supp).
# The store contract tests run on SQLite and, with CD_TEST_PG_URL, on
# PostgreSQL as well.
echo "== threaded unit tests under ThreadSanitizer (ctest)"
tsan="halt_on_error=1:second_deadlock_stack=1"
tsan+=":suppressions=$PWD/tests/tsan.supp"
(cd build-tsan && TSAN_OPTIONS="$tsan" ctest --output-on-failure --timeout 300)

echo "== end-to-end tests (node --test, ASan+UBSan binary)"
CREDITD_BIN="$PWD/build-asan/creditd" node --test --test-concurrency=1 tests/e2e/

echo "== end-to-end tests on PostgreSQL (node --test, ASan+UBSan binary)"
CD_E2E_PG_URL="$CD_PG_URL" CREDITD_BIN="$PWD/build-asan/creditd" \
  node --test --test-concurrency=1 tests/e2e/

echo "== browser tests (playwright-core + /usr/bin/chromium)"
CREDITD_BIN="$PWD/build/creditd" node --test --test-concurrency=1 tests/browser/

echo "== chaos run (30 s of mixed load, kill -9 every 2-5 s; ASan+UBSan binary)"
CREDITD_BIN="$PWD/build-asan/creditd" timeout 600 node tests/chaos/chaos.mjs --seconds 30

echo "== fuzz targets, a short bounded run each (libFuzzer, ASan+UBSan)"
bash scripts/fuzz.sh short
