#!/usr/bin/env bash
# Installs what creditd needs on Debian when it is missing (apt-get, npm ci)
# and builds it into build/ (and build-asan/ with ASAN=1; build-tsan/ with
# TSAN=1: ThreadSanitizer, only the unit tests that run threads; WITH_FUZZ=1
# adds clang for scripts/fuzz.sh, which builds build-fuzz/ itself;
# WITH_TIDY=1 adds clang-tidy for scripts/tidy.sh). Idempotent: a second run
# installs nothing and only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(build-essential cmake pkg-config libmicrohttpd-dev libcurl4-openssl-dev
      libjansson-dev libssl-dev libsodium-dev libsqlite3-dev libpq-dev
      libcmocka-dev nodejs npm jq curl)
[ "${WITH_BROWSER:-0}" = 1 ] && PKGS+=(chromium)
[ "${WITH_BENCH:-0}" = 1 ] && PKGS+=(wrk nginx-light linux-perf)
# libFuzzer and its sanitizer runtimes come with Debian's clang (fuzz.sh).
[ "${WITH_FUZZ:-0}" = 1 ] && PKGS+=(clang)
[ "${WITH_TIDY:-0}" = 1 ] && PKGS+=(clang-tidy)
# The PostgreSQL server, for scripts/pg_cluster.sh (scripts/test.sh).
[ "${WITH_PG:-0}" = 1 ] && PKGS+=(postgresql)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
# node and npm may come from elsewhere than Debian's packages; accept them.
if command -v node >/dev/null && command -v npm >/dev/null; then
  tmp=()
  for p in "${missing[@]}"; do [ "$p" = nodejs ] || [ "$p" = npm ] || tmp+=("$p"); done
  missing=("${tmp[@]+"${tmp[@]}"}")
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "bootstrap: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

# A failed configure or build stops bootstrap (exit 1) with the compiler's
# output; a creditd binary left over from an earlier build never passes for
# a fresh one. On success only the lines that are not progress are shown.
build() { # dir, extra cmake args...
  local dir=$1; shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  local log="$dir/bootstrap-build.log"
  if ! cmake --build "$dir" -j"${BUILD_JOBS:-$(nproc)}" >"$log" 2>&1; then
    grep -vE '^\[ *[0-9]+%\]' "$log" >&2 || true
    echo "bootstrap: the build in $dir failed (full output: $log)" >&2
    return 1
  fi
  grep -vE '^\[ *[0-9]+%\]|^-- ' "$log" || true
  [ "$dir" = build-tsan ] || test -x "$dir/creditd"
}
build build
if [ "${ASAN:-0}" = 1 ]; then build build-asan -DCD_SANITIZE=ON; fi
if [ "${TSAN:-0}" = 1 ]; then build build-tsan -DCD_TSAN=ON; fi
exit 0
