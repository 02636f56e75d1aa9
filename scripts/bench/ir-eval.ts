/**
 * Model IR evaluator throughput on one core: a CICADA-v1-like 252-16-1 dense model with
 * random 8-bit weights (30% zeros) on random 10-bit inputs. Prints JSON lines.
 */
import { cpus } from "node:os";
import { quantizedBitsType, quantizedReluType, ufixed } from "../../src/fixed/index.js";
import { compileModel, evaluate, type ModelIR } from "../../src/ir/index.js";
import { rng } from "../../src/util/rng.js";

const r = rng(2026);
const w = (n: number) => Array.from({ length: n }, () => (r.next() < 0.3 ? 0 : r.int(-128, 127)));
const model: ModelIR = {
  format: "distill-ir",
  version: 1,
  name: "bench-252-16-1",
  input: { shape: [252], type: ufixed(10, 10) },
  layers: [
    {
      op: "dense",
      name: "d1",
      units: 16,
      weights: { type: quantizedBitsType(8, 0), shape: [252, 16], values: w(252 * 16) },
      bias: { type: quantizedBitsType(8, 5), values: w(16) },
      product: "exact",
      accum: "exact",
      output: quantizedReluType(18, 12),
    },
    { op: "relu", name: "r1", output: quantizedReluType(10, 6) },
    {
      op: "dense",
      name: "d2",
      units: 1,
      weights: { type: quantizedBitsType(8, 0), shape: [16, 1], values: w(16) },
      product: "exact",
      accum: "exact",
      output: quantizedBitsType(20, 11),
    },
    { op: "relu", name: "score", output: quantizedReluType(16, 8) },
  ],
};

const events = 100_000;
const input = new Uint16Array(events * 252);
for (let i = 0; i < input.length; i++) input[i] = r.int(0, 1023);
const compiled = compileModel(model);
evaluate(compiled, input.subarray(0, 252 * 5000)); // warm-up (JIT)
const runs: number[] = [];
for (let k = 0; k < 5; k++) {
  const t0 = process.hrtime.bigint();
  evaluate(compiled, input);
  runs.push(Number(process.hrtime.bigint() - t0) / 1e9);
}
runs.sort((a, b) => a - b);
const context = { model: model.name, events, machine: cpus()[0]?.model ?? "unknown", node: process.version };
console.log(
  JSON.stringify({
    bench: "ir-eval",
    metric: "ir_eval_events_per_s",
    value: Math.round(events / runs[2]),
    unit: "events/s",
    ...context,
  }),
);
