#!/usr/bin/env bash
# The main job (npm start): set-up when missing, build, then the whole chain with the default
# pipeline (configs/pipeline.json): generated data, teacher, targets, students, RTL,
# co-simulation, synthesis estimate, evaluation and report, in runs/default (or $DISTILL_RUN).
# Extra arguments go to `distill run`, e.g. `npm start -- --quick`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx tsc -p tsconfig.build.json
node dist/cli/main.js run configs/pipeline.json -o "${DISTILL_RUN:-runs/default}" "$@"
