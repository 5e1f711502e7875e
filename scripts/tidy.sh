#!/usr/bin/env bash
# clang-tidy over src/ with the checks of .clang-tidy, on the compile
# commands of build/ (CMake writes build/compile_commands.json; run
# scripts/bootstrap.sh first, WITH_TIDY=1 installs clang-tidy). Prints each
# finding; exits 1 when one is an error-level check (WarningsAsErrors in
# .clang-tidy), 0 otherwise.
#   bash scripts/tidy.sh [file.c...]   (default: every .c under src/)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-tidy >/dev/null ||
  { echo "tidy: clang-tidy is missing (WITH_TIDY=1 bash scripts/bootstrap.sh)" >&2; exit 1; }
[ -f build/compile_commands.json ] ||
  { echo "tidy: no build/compile_commands.json (bash scripts/bootstrap.sh)" >&2; exit 1; }
if [ $# -gt 0 ]; then files=("$@"); else mapfile -t files < <(find src -name '*.c' | sort); fi
# Two at a time (the machine is shared); "N warnings generated" is noise.
if printf '%s\0' "${files[@]}" |
     xargs -0 -P "${TIDY_JOBS:-2}" -n 8 clang-tidy -p build --quiet 2> >(grep -v 'warnings\? \(and [0-9]* errors\? \)\?generated\.' >&2); then
  echo "tidy: ${#files[@]} files, no error-level finding"
else
  echo "tidy: error-level findings above (.clang-tidy)" >&2
  exit 1
fi
