#!/usr/bin/env bash
# Sets up (installs what is missing, builds) and runs `creditd demo`:
# SQLite in a temp folder, the server and the built-in Stripe sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec ./build/creditd demo "$@"
