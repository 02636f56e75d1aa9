#!/usr/bin/env bash
# The test command (npm test): set-up when missing, then types, format and lint, build, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx tsc -p tsconfig.json --noEmit
npx biome check .
bash scripts/build-kernels.sh
npx tsc -p tsconfig.build.json
npx vitest run "$@"
