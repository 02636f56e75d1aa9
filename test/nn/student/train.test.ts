import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readJsonConfig } from "../../../src/config/load.js";
import { type StudentConfig, studentSchema } from "../../../src/config/student.js";
import { fingerprintCounts } from "../../../src/data/fingerprint.js";
import { defaultGeneratorConfig, generate } from "../../../src/data/generator/index.js";
import { writeScores } from "../../../src/data/scores.js";
import { frac, parseFixedType } from "../../../src/fixed/index.js";
import { compileModel, readModel } from "../../../src/ir/index.js";
import { selectBackend } from "../../../src/nn/backend.js";
import { exactForward } from "../../../src/nn/student/exact.js";
import {
  foldWithBatchStatistics,
  forward,
  givenFilterParams,
  initialStudentParams,
  paramTensors,
  predict,
  reviveDeadStart,
  studentInput,
  studentModel,
} from "../../../src/nn/student/model.js";
import {
  idleUnits,
  kernelRanges,
  pruneKernels,
  pruningHook,
  sparsityAt,
} from "../../../src/nn/student/prune.js";
import { loadStudentLayersModel } from "../../../src/nn/student/tfjs.js";
import { loadStudent, readTargets, studentScores, trainStudent } from "../../../src/nn/student/train.js";
import { memoryStream } from "../../../src/nn/train/data.js";
import { rng } from "../../../src/util/rng.js";

const events = generate(defaultGeneratorConfig(), ["background", "dijetResonance"], 1500, 11);
/** Synthetic targets the student can learn: a saturating function of the event's total ET. */
const targets = Float32Array.from({ length: events.count }, (_, e) => {
  let s = 0;
  for (let i = 0; i < 252; i++) s += events.et[e * 252 + i];
  return Math.min(200, Math.sqrt(s) * 2);
});

function v1(over: Partial<StudentConfig> = {}): StudentConfig {
  const c = readJsonConfig("configs/student-v1.json", studentSchema);
  return {
    ...c,
    training: {
      ...c.training,
      batchSize: 128,
      epochs: 6,
      earlyStopping: undefined,
      optimizer: { ...c.training.optimizer, learningRate: 0.05 },
    },
    pruning: undefined,
    ...over,
  };
}

describe("student training", () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), "student-"));
    dirs.push(d);
    return d;
  };
  beforeAll(async () => {
    await selectBackend("wasm");
  });
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const base = {
    data: memoryStream(events),
    targets,
    fingerprint: fingerprintCounts(events.et, events.count),
    seed: 3,
    backend: "wasm" as const,
    workers: 0,
  };

  it("QAT lowers the loss and exports an IR equal to the quantized graph on every event", async () => {
    const dir = tmp();
    const r = await trainStudent({ ...base, config: v1(), dir });
    const h = r.history;
    expect(h[h.length - 1].trainLoss).toBeLessThan(h[0].trainLoss * 0.5);
    const ir = readModel(r.irFile);
    const viaIr = studentScores(ir, events);
    const exact = exactForward(r.model, r.deployed, events.et, events.count);
    expect(Array.from(viaIr)).toEqual(Array.from(exact));
    expect(new Set(viaIr).size).toBeGreaterThan(20);
    // The float32 training graph itself (frozen statistics) gives the same mantissas on every
    // event: a trained v1's sums stay within float32's 24 bits on these events.
    const graph = predict(r.model, r.params, r.bnStats, events.et, events.count);
    const scale = 2 ** frac(compileModel(ir).outputType);
    expect(Array.from(graph, (v) => v * scale)).toEqual(Array.from(viaIr));
    const saved = loadStudent(r.modelDir);
    expect(saved.params).toEqual(r.params);
    expect(saved.bnStats).toEqual(r.bnStats);
    // The same folder holds it as a TensorFlow.js layers model, which predicts the same numbers.
    const { model, metadata } = await loadStudentLayersModel(r.modelDir);
    expect(metadata).toMatchObject({ kind: "student", name: "cicada-v1", mode: "qat", seed: 3 });
    const viaTfjs = tf.tidy(() =>
      (model.predict(studentInput(r.model, events.et, events.count)) as tf.Tensor).dataSync(),
    );
    model.dispose();
    expect(Array.from(viaTfjs)).toEqual(Array.from(graph));
  });

  it("starts given filters from their values, keeps the frozen ones there, and exports them exactly", async () => {
    const c = readJsonConfig("configs/student-conv-bank.json", studentSchema);
    const config: StudentConfig = {
      ...c,
      training: { ...c.training, batchSize: 128, epochs: 3, earlyStopping: undefined },
    };
    const m = studentModel(config);
    const given = givenFilterParams(m);
    expect(given).toHaveLength(4 * 10); // four filters: nine taps and a bias each
    const init = initialStudentParams(m, base.seed);
    for (const g of given) expect(init[g.index]).toBe(g.value);
    const r = await trainStudent({ ...base, config, dir: tmp() });
    const frozen = given.filter((g) => !g.trainable);
    expect(frozen).toHaveLength(20);
    for (const g of frozen) expect(r.params[g.index]).toBe(g.value);
    const moved = given.filter((g) => g.trainable && r.params[g.index] !== g.value);
    expect(moved.length).toBeGreaterThan(5);
    // The export holds the frozen filters' values exactly: mantissa = value x 2^frac.
    const conv = r.ir.layers[0] as unknown as {
      weights: { type: string; values: number[] };
      bias: { values: number[] };
    };
    const layer = config.layers[0];
    if (layer.type !== "qconv2d" || !layer.initialFilters) throw new Error("conv-bank starts with a qconv2d");
    const q = layer.kernelQuantizer;
    const f = q.bits - q.keepNegative - q.integer;
    for (const filter of layer.initialFilters.filter((x) => !x.trainable)) {
      filter.kernel.forEach((v, j) => {
        expect(conv.weights.values[j * 4 + filter.filter]).toBe(v * 2 ** f);
      });
      expect(conv.bias.values[filter.filter]).toBe(0);
    }
    const viaIr = studentScores(r.ir, events);
    expect(Array.from(viaIr)).toEqual(Array.from(exactForward(r.model, r.deployed, events.et, events.count)));
    expect(new Set(viaIr).size).toBeGreaterThan(20);
  });

  it("prunes kernels to the target sparsity with exact zeros in the export", async () => {
    const dir = tmp();
    const config = v1({ pruning: { sparsity: 0.5, startEpoch: 1, endEpoch: 4, power: 3 } });
    const r = await trainStudent({ ...base, config, dir });
    const dense = r.ir.layers[0] as unknown as { weights: { values: number[] } };
    const zeros = dense.weights.values.filter((v) => v === 0).length;
    expect(zeros).toBeGreaterThanOrEqual(dense.weights.values.length / 2);
    const head = r.ir.layers[2] as unknown as { weights: { values: number[] } };
    expect(head.weights.values.filter((v) => v === 0).length).toBeGreaterThanOrEqual(8);
    expect(r.nonZeroWeights).toBeLessThan(r.totalWeights * 0.55);
  });

  it("revives a start whose output is 0 for every event, which otherwise never learns", async () => {
    // Two hidden units and a bias-free output: with some seeds both output weights start
    // negative, so the final quantized_relu gives 0 for every event and passes no gradient.
    const c = v1();
    const config: StudentConfig = {
      ...c,
      name: "tiny",
      layers: c.layers.map((l, i) => (i === 0 && l.type === "qdense_batchnorm" ? { ...l, units: 2 } : l)),
    };
    const m = studentModel(config);
    const n = 512;
    const maxOutput = (p: Float32Array) =>
      tf.tidy(
        () =>
          tf
            .max(
              forward(m, paramTensors(m, p), studentInput(m, events.et, n), { quantize: true, bn: "batch" }),
            )
            .dataSync()[0],
      );
    const seeds = Array.from({ length: 40 }, (_, i) => i + 1);
    const dead = seeds.find((s) => maxOutput(initialStudentParams(m, s)) <= 0);
    const live = seeds.find((s) => maxOutput(initialStudentParams(m, s)) > 0);
    if (dead === undefined || live === undefined)
      throw new Error("expected both dead and live starts among 40 seeds");

    const p = initialStudentParams(m, dead);
    expect(reviveDeadStart(m, p, events.et, n, true)).toBe(2);
    expect(maxOutput(p)).toBeGreaterThan(0);
    const untouched = initialStudentParams(m, live);
    expect(reviveDeadStart(m, untouched, events.et, n, true)).toBeUndefined();
    expect(untouched).toEqual(initialStudentParams(m, live));

    const lines: string[] = [];
    const r = await trainStudent({ ...base, config, dir: tmp(), seed: dead, log: (l) => lines.push(l) });
    const h = r.history;
    expect(h[h.length - 1].trainLoss).toBeLessThan(h[0].trainLoss * 0.5);
    expect(new Set(studentScores(r.ir, events)).size).toBeGreaterThan(20);
    expect(lines.filter((l) => l.includes("starts at 0 for every one of the first"))).toHaveLength(1);
  });

  it("PTQ trains the float model and quantizes it afterwards, still bit-exact", async () => {
    const dir = tmp();
    const r = await trainStudent({ ...base, config: v1(), dir, mode: "ptq" });
    const viaIr = studentScores(r.ir, events);
    expect(Array.from(viaIr)).toEqual(Array.from(exactForward(r.model, r.deployed, events.et, events.count)));
    expect(r.history[r.history.length - 1].trainLoss).toBeLessThan(r.history[0].trainLoss);
  });
});

describe("targets from a scores file", () => {
  it("reads teacher scores of the same events and refuses another dataset's", async () => {
    const dir = mkdtempSync(join(tmpdir(), "student-scores-"));
    try {
      const fp = fingerprintCounts(events.et, events.count);
      const file = join(dir, "scores.h5");
      const mantissas = Int32Array.from(targets, (t) => Math.round(t * 256));
      await writeScores(file, {
        dataset: fp,
        columns: {
          teacher_score: { values: Float64Array.from(targets) },
          teacher_target: { values: mantissas, fixedType: "ap_ufixed<16,8,AP_RND_CONV,AP_SAT>" },
        },
      });
      expect(Array.from(await readTargets(file, fp, "events.h5"))).toEqual(Array.from(targets));
      const fromMantissas = await readTargets(file, fp, "events.h5", "teacher_target");
      expect(fromMantissas[7]).toBe(mantissas[7] / 256);
      const other = fingerprintCounts(events.et.subarray(0, 252 * 10), 10);
      await expect(readTargets(file, other, "other.h5")).rejects.toThrow(
        /scores of 3000 events .* expected scores of the 10 events of other\.h5/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("pruning schedule", () => {
  it("is zero before the start, polynomial, and reaches the target at the end", () => {
    const p = { sparsity: 0.5, startEpoch: 5, endEpoch: 10, power: 3 };
    expect(sparsityAt(p, 4)).toBe(0);
    expect(sparsityAt(p, 5)).toBeCloseTo(0.5 * (1 - 0.8 ** 3), 12);
    expect(sparsityAt(p, 9)).toBe(0.5);
    expect(sparsityAt(p, 20)).toBe(0.5);
  });
  it("zeroes the smallest magnitudes of each kernel only", () => {
    const m = studentModel(v1());
    const params = Float32Array.from({ length: m.paramCount }, (_, i) => ((i * 7919) % 1000) - 500 || 1);
    const before = params.slice();
    const ranges = kernelRanges(m);
    pruneKernels(params, ranges, 0.25);
    for (const [s, e] of ranges) {
      const kept = Array.from(params.subarray(s, e)).filter((v) => v !== 0);
      expect(kept.length).toBe(e - s - Math.floor(0.25 * (e - s)));
      const smallestKept = Math.min(...kept.map(Math.abs));
      const dropped = Array.from(before.subarray(s, e)).filter((_, i) => params[s + i] === 0);
      expect(Math.max(...dropped.map(Math.abs))).toBeLessThanOrEqual(smallestKept);
    }
    // Biases, gammas and betas untouched.
    let inKernel = 0;
    for (let i = 0; i < params.length; i++) {
      if (ranges.some(([s, e]) => i >= s && i < e)) inKernel++;
      else expect(params[i]).toBe(before[i]);
    }
    expect(inKernel).toBe(252 * 16 + 16);
  });
  it("finds the hidden units whose weights in the next dense layer are all zero", () => {
    const c = v1();
    const type = parseFixedType("ap_fixed<8,2>");
    const arr = (shape: number[], f: (i: number) => number) => ({
      kernel: { type, shape, values: Float64Array.from({ length: shape[0] * shape[1] }, (_, i) => f(i)) },
    });
    const first = arr([252, 16], () => 1);
    const all = arr([16, 1], () => 2);
    expect(idleUnits(c, [first, undefined, all, undefined])).toEqual([]);
    const some = arr([16, 1], (j) => (j === 3 || j === 7 ? 0 : -1));
    expect(idleUnits(c, [first, undefined, some, undefined])).toEqual([
      { layer: 0, units: 16, idle: [3, 7], next: 2 },
    ]);
  });
  it("prunes only the kernels of the layers pruning.layers lists, and refuses other layers", () => {
    const base = v1();
    const pruning = { sparsity: 0.5, startEpoch: 1, endEpoch: 3, power: 3 };
    const m = studentModel({ ...base, pruning: { ...pruning, layers: [0] } });
    const all = kernelRanges(studentModel({ ...base, pruning }));
    expect(all.length).toBe(2);
    expect(kernelRanges(m)).toEqual([all[0]]);
    const params = Float32Array.from({ length: m.paramCount }, (_, i) => (i % 97) + 1);
    pruningHook(m)?.(params, 5);
    const [s0, e0] = all[0];
    const [s1, e1] = all[1];
    expect(params.subarray(s0, e0).filter((v) => v === 0).length).toBe((e0 - s0) / 2);
    expect(params.subarray(s1, e1).every((v) => v !== 0)).toBe(true);
    for (const [layers, what] of [
      [[1], "found 1 \\(qactivation\\)"],
      [[9], "found 9 \\(there are 4 layers\\)"],
    ] as const) {
      expect(() => studentModel({ ...base, pruning: { ...pruning, layers: [...layers] } }, "s.json")).toThrow(
        new RegExp(`s.json: pruning.layers\\[0\\]: ${what}, expected the index of a qdense`),
      );
    }
  });
});

describe("batch-norm fold with batch statistics", () => {
  it("equals the fold composed of tfjs ops, in values and in the gradients of all five inputs", async () => {
    await selectBackend("wasm");
    const r = rng(17);
    const rand = (shape: number[], scale: number, offset = 0) =>
      tf.tensor(
        Float32Array.from(
          { length: shape.reduce((a, b) => a * b, 1) },
          () => offset + (r.next() - 0.5) * scale,
        ),
        shape,
      );
    const [n, rows, u, eps] = [37, 11, 5, 1e-3];
    const inputs = [rand([n, u], 20, 3), rand([rows, u], 2), rand([u], 4), rand([u], 1, 1), rand([u], 2)];
    const wDy = rand([rows, u], 1);
    const bDy = rand([u], 1);
    const composite = (z: tf.Tensor, w: tf.Tensor, b: tf.Tensor, g: tf.Tensor, e: tf.Tensor) => {
      const m = tf.moments(z, 0);
      const s = tf.div(g, tf.sqrt(tf.add(m.variance, eps)));
      return [tf.mul(w, s), tf.add(e, tf.mul(tf.sub(b, m.mean), s))];
    };
    const fused = (z: tf.Tensor, w: tf.Tensor, b: tf.Tensor, g: tf.Tensor, e: tf.Tensor) =>
      foldWithBatchStatistics(z as tf.Tensor2D, w, b, g, e, eps);
    const run = (f: typeof composite) => {
      const loss = (...t: tf.Tensor[]) => {
        const [w, b] = f(t[0], t[1], t[2], t[3], t[4]);
        return tf.add(tf.sum(tf.mul(w, wDy)), tf.sum(tf.mul(b, bDy))) as tf.Scalar;
      };
      const values = f(inputs[0], inputs[1], inputs[2], inputs[3], inputs[4]).map((t) =>
        Array.from(t.dataSync()),
      );
      const grads = tf
        .grads(loss)(inputs)
        .map((t) => Array.from(t.dataSync()));
      return [...values, ...grads];
    };
    const want = run(composite);
    const got = run(fused);
    want.forEach((w, k) => {
      const scale = Math.max(...w.map(Math.abs), 1e-6);
      const err = Math.max(...w.map((v, i) => Math.abs(v - got[k][i])));
      expect(err / scale, `output ${k}`).toBeLessThan(1e-4);
    });
  });
});
