#!/usr/bin/env bash
# Runs every benchmark (npm run bench); each prints JSON lines on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2
for b in scripts/bench/*.ts; do node --import tsx "$b"; done
