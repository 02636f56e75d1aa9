#!/usr/bin/env bash
# The main job (npm start). The chain grows issue by issue; today: generate calorimeter
# events, inspect the example model, emit it to Verilog, co-simulate the design in Verilator
# on random events and on the generated events, and count its cells with Yosys.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx tsc -p tsconfig.build.json
out=${DISTILL_RUN:-runs/start}
mkdir -p "$out"
distill() { node dist/cli/main.js "$@"; }
distill data generate -o "$out/events.h5" --samples background,dijetResonance,monojet -n 2000
distill data inspect "$out/events.h5"
echo
distill inspect data/models/v1-tiny.ir.json
echo
distill emit-rtl data/models/v1-tiny.ir.json -o "$out/rtl"
distill cosim "$out/rtl" --events 100000 --bubbles
distill synth "$out/rtl"
