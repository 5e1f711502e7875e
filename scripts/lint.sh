#!/usr/bin/env bash
# A cheap lint for calls banned in src/ (issue 12): atoi, atol (no error
# report: use cd_parse_int64 or strtol with its end pointer), sprintf,
# vsprintf, strcpy, strcat, gets (unbounded: use snprintf, cd_strlcpy,
# cd_buf). In src/api/ and src/http/ also any CD_STORE_* name: a billing
# entry point answers 0, or -1 with a struct cd_error, so no store code
# reaches the HTTP layers (issue 12). Comments are skipped. Prints
# file:line: what for each hit and exits 1 when there is one, 0 otherwise. Run without arguments it also
# runs the checks written in node when node is installed: no function over
# 70 lines (scripts/funclen.mjs), no file of src/ over 800 lines
# (scripts/filelen.mjs) and every path docs/ARCHITECTURE.md and
# README.md name exists (scripts/docpaths.mjs). On a clean machine lint
# runs before bootstrap installs node; scripts/test.sh runs them again
# after bootstrap.
#   bash scripts/lint.sh [dir-or-file...]   (default: src/)
#   bash scripts/lint.sh --self-test        (proves a hit fails the lint)
set -euo pipefail
cd "$(dirname "$0")/.."
BANNED='atoi|atol|sprintf|vsprintf|strcpy|strcat|gets'
STORE='CD_STORE_[A-Za-z0-9_]*'

lint() {
  # Blank out /* ... */ (also across lines) and // comments, keep line
  # numbers, then look for a banned name used as a call, and in a file
  # under src/api/ or src/http/ for a store code.
  find "$@" -type f \( -name '*.c' -o -name '*.h' \) -print0 | sort -z |
    xargs -0 -r awk -v re="(^|[^A-Za-z0-9_.>])(${BANNED})[ \t]*\\(" \
      -v store="(^|[^A-Za-z0-9_])${STORE}" '
      FNR == 1 { inc = 0; upper = FILENAME ~ /(^|\/)src\/(api|http)\// }
      {
        line = $0; out = ""
        while (length(line) > 0) {
          if (inc) {
            e = index(line, "*/")
            if (!e) { line = ""; break }
            line = substr(line, e + 2); inc = 0
          } else {
            s = index(line, "/*"); d = index(line, "//")
            if (d && (!s || d < s)) { out = out substr(line, 1, d - 1); line = ""; break }
            if (!s) { out = out line; line = ""; break }
            out = out substr(line, 1, s - 1); line = substr(line, s + 2); inc = 1
          }
        }
        if (match(out, re)) {
          call = substr(out, RSTART, RLENGTH); sub(/^[^A-Za-z_]/, "", call)
          printf "%s:%d: banned call %s\n", FILENAME, FNR, call; bad = 1
        }
        if (upper && match(out, store)) {
          code = substr(out, RSTART, RLENGTH); sub(/^[^A-Za-z_]/, "", code)
          printf "%s:%d: store code %s above billing\n", FILENAME, FNR, code
          bad = 1
        }
      }
      END { exit bad }'
}

if [ "${1:-}" = --self-test ]; then
  t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
  printf '/* atoi(x) in a comment, sprintf( too */\nint f(void) { return snprintf(0, 0, "x") + fgets_ok(); } // strcpy(a)\n' >"$t/ok.c"
  lint "$t" >/dev/null || { echo "lint self-test: a clean file was flagged" >&2; exit 1; }
  printf 'int g(const char *s)\n{\n    return atoi (s);\n}\n' >"$t/bad.c"
  out=$(lint "$t" || true)
  [ "$out" = "$t/bad.c:3: banned call atoi (" ] ||
    { echo "lint self-test: expected a hit on bad.c:3, got: $out" >&2; exit 1; }
  rm "$t/bad.c"; mkdir -p "$t/src/api" "$t/src/billing"
  printf '/* CD_STORE_OK in a comment */\nint h(int rc)\n{\n    return rc != CD_STORE_NOT_FOUND;\n}\n' >"$t/src/api/h.c"
  cp "$t/src/api/h.c" "$t/src/billing/h.c"
  out=$(lint "$t" || true)
  [ "$out" = "$t/src/api/h.c:4: store code CD_STORE_NOT_FOUND above billing" ] ||
    { echo "lint self-test: expected a store code hit on src/api/h.c:4 only, got: $out" >&2; exit 1; }
  echo "lint self-test: ok"
  if command -v node >/dev/null; then
    node scripts/funclen.mjs --self-test
    node scripts/filelen.mjs --self-test
    node scripts/docpaths.mjs --self-test
  fi
  exit 0
fi

node_checks=0
[ $# -gt 0 ] || { set -- src; node_checks=1; }
rc=0
if ! lint "$@"; then
  echo "lint: banned calls or store codes found (see scripts/lint.sh)" >&2
  rc=1
fi
if [ "$node_checks" = 1 ]; then
  if command -v node >/dev/null; then
    node scripts/funclen.mjs || rc=1
    node scripts/filelen.mjs || rc=1
    node scripts/docpaths.mjs || rc=1
  else
    echo "lint: node not found: function and file lengths and doc paths not checked" >&2
  fi
fi
exit "$rc"
