import { beforeAll, describe, expect, it } from "vitest";
import { readJsonConfig } from "../../../src/config/load.js";
import { type StudentConfig, studentSchema } from "../../../src/config/student.js";
import { defaultGeneratorConfig, generate } from "../../../src/data/generator/index.js";
import { type FixedType, frac } from "../../../src/fixed/index.js";
import { evaluate, parseModel } from "../../../src/ir/index.js";
import { modelToJson } from "../../../src/ir/schema.js";
import { selectBackend } from "../../../src/nn/backend.js";
import { deployedWeights, exactForward } from "../../../src/nn/student/exact.js";
import { studentToIR } from "../../../src/nn/student/export.js";
import { type BatchNormStats, predict, studentModel } from "../../../src/nn/student/model.js";
import { rng } from "../../../src/util/rng.js";

const bitsQ = (bits: number, integer: number, symmetric = 0) => ({
  quantizer: "quantized_bits",
  bits,
  integer,
  symmetric,
});
const reluQ = (bits: number, integer: number) => ({ quantizer: "quantized_relu", bits, integer });
const training = { batchSize: 64, epochs: 1, validationFraction: 0.1 };

/** Random students of every layer kind, with weights spread over their quantizers' ranges. */
function randomConfigs(): StudentConfig[] {
  const raw = [
    readJsonConfig("configs/student-v1.json", studentSchema),
    readJsonConfig("configs/student-v2.json", studentSchema),
    readJsonConfig("configs/student-deep.json", studentSchema),
    readJsonConfig("configs/student-conv.json", studentSchema),
    {
      name: "conv-same-pool",
      input: { shape: [18, 14, 1] },
      layers: [
        {
          type: "qconv2d",
          filters: 3,
          kernel: [3, 3],
          padding: "same",
          kernelQuantizer: bitsQ(6, 0, 1),
          biasQuantizer: bitsQ(8, 4),
        },
        { type: "qactivation", activation: bitsQ(9, 5) },
        { type: "avgpool2d", pool: [2, 2] },
        { type: "flatten" },
        { type: "qdense", units: 5, kernelQuantizer: bitsQ(7, 1), biasQuantizer: bitsQ(6, 2) },
        { type: "qactivation", activation: reluQ(8, 4) },
        { type: "qdense", units: 1, useBias: false, kernelQuantizer: bitsQ(10, 2) },
        { type: "qactivation", activation: bitsQ(14, 7) },
      ],
      training,
    },
    {
      // Per-channel power-of-two scales on every kernel and bias (QKeras alpha="auto_po2").
      name: "po2-conv-bn",
      input: { shape: [18, 14, 1] },
      layers: [
        {
          type: "qconv2d",
          filters: 4,
          kernel: [3, 3],
          padding: "same",
          kernelQuantizer: { ...bitsQ(5, 1), alpha: "auto_po2" },
          biasQuantizer: { ...bitsQ(8, 6), alpha: "auto_po2" },
        },
        { type: "qactivation", activation: reluQ(10, 8) },
        { type: "avgpool2d", pool: [2, 2] },
        { type: "flatten" },
        {
          type: "qdense_batchnorm",
          units: 6,
          kernelQuantizer: { ...bitsQ(6, 0), alpha: "auto_po2" },
          biasQuantizer: bitsQ(8, 3),
        },
        { type: "qactivation", activation: reluQ(10, 6) },
        { type: "qdense", units: 1, useBias: false, kernelQuantizer: { ...bitsQ(8, 2), alpha: "auto_po2" } },
        { type: "qactivation", activation: reluQ(16, 8) },
      ],
      training,
    },
    {
      name: "wide-dense",
      layers: [
        { type: "qdense", units: 8, kernelQuantizer: bitsQ(16, 2), biasQuantizer: bitsQ(16, 10) },
        { type: "qactivation", activation: { ...bitsQ(16, 12), keepNegative: 0 } },
        { type: "qdense", units: 1, kernelQuantizer: bitsQ(12, 4), biasQuantizer: bitsQ(4, 3) },
        { type: "qactivation", activation: reluQ(12, 9) },
      ],
      training,
    },
  ];
  return raw.map((r) => studentSchema.parse(r));
}

/** Parameters drawn so that some sums are large (beyond float32's 24 bits) and activations vary. */
function randomParams(n: number, seed: number, scale: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (2 * r.next() - 1) * scale);
}

/** Kernel output channel c scaled by 2^(c mod 4 - 2): channels of different magnitudes. */
function spreadChannels(m: ReturnType<typeof studentModel>, params: Float32Array): void {
  let at = 0;
  for (const p of m.params) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    const channels = p.shape[p.shape.length - 1];
    if (p.role === "kernel") for (let i = 0; i < n; i++) params[at + i] *= 2 ** (((i % channels) % 4) - 2);
    at += n;
  }
}

function randomStats(c: StudentConfig, seed: number): BatchNormStats {
  const r = rng(seed);
  const out: Record<number, { mean: number[]; variance: number[] }> = {};
  c.layers.forEach((l, i) => {
    if (l.type === "qdense_batchnorm") {
      out[i] = {
        mean: Array.from({ length: l.units }, () => (r.next() - 0.5) * 200),
        variance: Array.from({ length: l.units }, () => 1 + r.next() * 5000),
      };
    }
  });
  return out;
}

describe("bit-exact export: IR evaluator == quantized training graph", () => {
  beforeAll(async () => {
    await selectBackend("wasm");
  });
  const generated = generate(defaultGeneratorConfig(), ["background", "dijetResonance"], 200, 7);
  // Plus dense events (uniform counts, and all at 1023): dot products far past float32's 24 bits.
  const r = rng(3);
  const dense = Uint16Array.from({ length: 40 * 252 }, (_, i) => (i < 252 ? 1023 : r.int(0, 1023)));
  const events = { count: generated.count + 40, et: new Uint16Array([...generated.et, ...dense]) };

  it("agrees on every output mantissa of random students and generated events", () => {
    const agree: number[] = [];
    const distinct: number[] = [];
    const total: number[] = [];
    for (const [k, c] of randomConfigs().entries()) {
      for (const scale of [0.2, 1, 4]) {
        const m = studentModel(c);
        const params = randomParams(m.paramCount, 100 * k + scale, scale);
        if (c.name.startsWith("po2")) spreadChannels(m, params);
        const stats = randomStats(c, k);
        const deployed = deployedWeights(m, params, stats);
        if (c.name.startsWith("po2")) {
          // The channels' scales differ, so some exported kernel is wider than its quantizer.
          expect(deployed.some((d) => d && d.kernel.type.width > (d.kernel.bits ?? 99))).toBe(true);
        }
        const ir = parseModel(JSON.stringify(modelToJson(studentToIR(m, deployed, c.name))));
        const exact = exactForward(m, deployed, events.et, events.count);
        const viaIr = evaluate(ir, events.et);
        expect(viaIr.length).toBe(events.count);
        for (let e = 0; e < events.count; e++) {
          if (exact[e] !== viaIr[e])
            throw new Error(`${c.name} scale ${scale}: event ${e}: ${exact[e]} != ${viaIr[e]}`);
        }
        // Outputs must not all be one saturated value, or the comparison would prove little.
        distinct[k] = Math.max(distinct[k] ?? 0, new Set(viaIr).size);
        // The float32 training graph in inference mode gives the same numbers wherever it is exact.
        const f = predict(m, params, stats, events.et, events.count);
        const last = ir.layers[ir.layers.length - 1] as { output: FixedType };
        for (let e = 0; e < generated.count; e++)
          if (f[e] * 2 ** frac(last.output) === exact[e]) agree[k] = (agree[k] ?? 0) + 1;
        total[k] = (total[k] ?? 0) + generated.count;
      }
    }
    // Per student, so that one whose deployed weights differ from the trained ones shows.
    for (const [k, t] of total.entries()) expect((agree[k] ?? 0) / t).toBeGreaterThan(0.9);
    // Outputs not all one saturated value, or the comparison would prove little.
    for (const d of distinct) expect(d).toBeGreaterThan(10);
  });
});
