#!/usr/bin/env bash
# The main job (npm start). The chain grows issue by issue; today it is the model IR:
# inspect both example models with range analysis.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx tsc -p tsconfig.build.json
for m in data/models/v1-tiny.ir.json data/models/conv-tiny.ir.json; do
  node dist/cli/main.js inspect "$m"
  echo
done
