/**
 * Model IR evaluator throughput on one core, on random 10-bit inputs, in batches of 8,192
 * events as `distill run` scores its test set: a CICADA-v1-like 252-16-1 dense model with
 * random 8-bit weights (30% zeros), and a conv-v1-like model (3x3 convolution with 4 filters
 * over the 18x14 image, 2x2 average pooling, dense 8 -> 1). Prints JSON lines. The conv model
 * runs a second time on generated zero-bias events: about 60 % of their regions read zero,
 * which the evaluator's convolution skips, so random inputs understate its speed there.
 */
import { cpus } from "node:os";
import { defaultGeneratorConfig, generate } from "../../src/data/generator/index.js";
import { quantizedBitsType, quantizedReluType, ufixed } from "../../src/fixed/index.js";
import { compileModel, evaluate, type ModelIR } from "../../src/ir/index.js";
import { rng } from "../../src/util/rng.js";

const r = rng(2026);
const w = (n: number) => Array.from({ length: n }, () => (r.next() < 0.3 ? 0 : r.int(-128, 127)));
const w4 = (n: number) => Array.from({ length: n }, () => r.int(-8, 7));
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

const conv: ModelIR = {
  format: "distill-ir",
  version: 1,
  name: "bench-conv3x3x4",
  input: { shape: [18, 14, 1], type: ufixed(10, 10) },
  layers: [
    {
      op: "conv2d",
      name: "c1",
      filters: 4,
      kernel: [3, 3],
      stride: [1, 1],
      padding: "same",
      weights: { type: quantizedBitsType(4, 1), shape: [3, 3, 1, 4], values: w4(36) },
      bias: { type: quantizedBitsType(10, 7), values: w4(4) },
      product: "exact",
      accum: "exact",
      output: quantizedBitsType(18, 14),
    },
    { op: "relu", name: "r1", output: quantizedReluType(10, 8) },
    {
      op: "avgpool2d",
      name: "p1",
      pool: [2, 2],
      stride: [2, 2],
      accum: "exact",
      output: quantizedReluType(12, 8),
    },
    { op: "flatten", name: "f1" },
    {
      op: "dense",
      name: "d1",
      units: 8,
      weights: { type: quantizedBitsType(8, 1), shape: [252, 8], values: w(252 * 8) },
      bias: { type: quantizedBitsType(8, 3), values: w(8) },
      product: "exact",
      accum: "exact",
      output: quantizedBitsType(24, 16),
    },
    { op: "relu", name: "r2", output: quantizedReluType(10, 6) },
    {
      op: "dense",
      name: "d2",
      units: 1,
      weights: { type: quantizedBitsType(12, 3), shape: [8, 1], values: w(8) },
      product: "exact",
      accum: "exact",
      output: quantizedBitsType(24, 14),
    },
    { op: "relu", name: "score", output: quantizedReluType(16, 8) },
  ],
};

const events = 100_000;
const random = new Uint16Array(events * 252);
for (let i = 0; i < random.length; i++) random[i] = r.int(0, 1023);
const zeroBias = generate(defaultGeneratorConfig(), ["background"], events, 2026).et;
const BATCH = 8192;
const cases = [
  { m: model, input: random, inputs: "random" },
  { m: conv, input: random, inputs: "random" },
  { m: conv, input: zeroBias, inputs: "zero-bias" },
];
for (const { m, input, inputs } of cases) {
  const compiled = compileModel(m);
  const run = () => {
    for (let s = 0; s < events; s += BATCH) {
      evaluate(compiled, input.subarray(s * 252, Math.min(events, s + BATCH) * 252));
    }
  };
  evaluate(compiled, input.subarray(0, 252 * 5000)); // warm-up (JIT)
  const runs: number[] = [];
  for (let k = 0; k < 5; k++) {
    const t0 = process.hrtime.bigint();
    run();
    runs.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  runs.sort((a, b) => a - b);
  const context = {
    model: m.name,
    inputs,
    events,
    batch: BATCH,
    machine: cpus()[0]?.model ?? "unknown",
    node: process.version,
  };
  console.log(
    JSON.stringify({
      bench: "ir-eval",
      metric: "ir_eval_events_per_s",
      value: Math.round(events / runs[2]),
      unit: "events/s",
      ...context,
    }),
  );
}
