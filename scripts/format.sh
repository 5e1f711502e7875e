#!/usr/bin/env bash
# clang-format (.clang-format) over the C sources: src/, tests/unit/ and
# tests/fuzz/, generated files ("do not edit" in their first lines, e.g.
# src/sandbox/shapes_gen.c) left out. Debian's clang-format package
# (bootstrap.sh WITH_FUZZ=1 or WITH_TIDY=1 brings it with clang).
#   bash scripts/format.sh [file-or-dir...]           formats in place
#   bash scripts/format.sh --check [file-or-dir...]   lists each file whose
#     formatting differs, with how many lines would change, and exits 1
#     when there is one (0 when every file is formatted)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null ||
  { echo "format: clang-format is missing (apt-get install clang-format)" >&2; exit 1; }
check=0
if [ "${1:-}" = --check ]; then check=1; shift; fi
[ $# -gt 0 ] || set -- src tests/unit tests/fuzz

files=()
while IFS= read -r -d '' f; do
  head -n 12 "$f" | grep -qi 'do not edit' || files+=("$f")
done < <(find "$@" -type f \( -name '*.c' -o -name '*.h' \) -print0 | sort -z)
[ ${#files[@]} -gt 0 ] || { echo "format: no C files in $*" >&2; exit 1; }

if [ $check = 0 ]; then
  clang-format --style=file -i "${files[@]}"
  echo "format: ${#files[@]} files formatted"
  exit 0
fi
bad=0 lines=0
for f in "${files[@]}"; do
  # Lines removed plus lines added (diff -U0 without its two headers).
  n=$(clang-format --style=file "$f" | diff -U0 "$f" - | tail -n +3 |
        grep -c '^[-+]' || true)
  if [ "$n" -gt 0 ]; then
    echo "$f: $n lines differ"
    bad=$((bad + 1)) lines=$((lines + n))
  fi
done
if [ $bad -gt 0 ]; then
  echo "format: $bad of ${#files[@]} files differ from .clang-format" \
       "($lines lines; bash scripts/format.sh formats them)" >&2
  exit 1
fi
echo "format: ${#files[@]} files, all formatted"
