import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ConfigError, readJsonConfig } from "../../../src/config/load.js";
import { studentSchema } from "../../../src/config/student.js";
import { fingerprintCounts } from "../../../src/data/fingerprint.js";
import { defaultGeneratorConfig, generate } from "../../../src/data/generator/index.js";
import { selectBackend } from "../../../src/nn/backend.js";
import { configWithBits, pearson, scanBits } from "../../../src/nn/student/scan.js";
import { memoryStream } from "../../../src/nn/train/data.js";

const events = generate(defaultGeneratorConfig(), ["background", "dijetResonance"], 500, 13);
const targets = Float32Array.from({ length: events.count }, (_, e) => {
  let s = 0;
  for (let i = 0; i < 252; i++) s += events.et[e * 252 + i];
  return Math.min(200, Math.sqrt(s) * 2);
});
const base = readJsonConfig("configs/student-v1.json", studentSchema);
const config = {
  ...base,
  pruning: undefined,
  training: {
    ...base.training,
    batchSize: 128,
    epochs: 8,
    earlyStopping: undefined,
    optimizer: { ...base.training.optimizer, learningRate: 0.05 },
  },
};

describe("bit-width scan", () => {
  beforeAll(async () => {
    await selectBackend("wasm");
  });

  it("sets the chosen quantizers' widths and caps their integer bits", () => {
    const w = configWithBits(config, 3, "weights");
    expect(w.layers[0]).toMatchObject({
      kernelQuantizer: { bits: 3, integer: 1 },
      biasQuantizer: { bits: 3, integer: 2 },
    });
    expect(w.layers[1]).toMatchObject({ activation: { bits: 10, integer: 6 } });
    const a = configWithBits(config, 4, "activations");
    expect(a.layers[0]).toMatchObject({ kernelQuantizer: { bits: 8 } });
    expect(a.layers[1]).toMatchObject({ activation: { bits: 4, integer: 4 } });
  });

  it("computes Pearson correlation", () => {
    expect(pearson([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12);
    expect(pearson([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 12);
    expect(pearson([1, 1, 1], [3, 2, 1])).toBe(0);
  });

  it("trains, exports and scores one student per width, reporting agreement and weight cost", async () => {
    const dir = mkdtempSync(join(tmpdir(), "scan-"));
    try {
      const points = await scanBits({
        config,
        data: memoryStream(events),
        targets,
        fingerprint: fingerprintCounts(events.et, events.count),
        evaluation: { et: events.et, count: events.count, targets },
        dir,
        bits: [3, 8],
        over: "weights",
        seed: 2,
        backend: "wasm",
        workers: 0,
      });
      expect(points.map((p) => p.bits)).toEqual([3, 8]);
      for (const p of points) {
        expect(p.totalWeights).toBe(252 * 16 + 16 + 16);
        expect(p.nonZeroWeights).toBeLessThanOrEqual(p.totalWeights);
        expect(p.weightBits).toBe(p.nonZeroWeights * p.bits);
        expect(Number.isFinite(p.pearson)).toBe(true);
      }
      expect(points[1].pearson).toBeGreaterThan(0.5);
      await expect(
        scanBits({
          ...{ config, data: memoryStream(events), targets },
          fingerprint: fingerprintCounts(events.et, events.count),
          evaluation: { et: events.et, count: events.count, targets },
          dir,
          bits: [1],
          over: "both",
          seed: 2,
          backend: "wasm",
          workers: 0,
        }),
      ).rejects.toThrow(ConfigError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("scans auto_po2 kernels, counting each weight at its quantizer's bits", async () => {
    const dir = mkdtempSync(join(tmpdir(), "scan-po2-"));
    try {
      const po2 = {
        ...config,
        training: { ...config.training, epochs: 2 },
        layers: config.layers.map((l) =>
          "kernelQuantizer" in l ? { ...l, kernelQuantizer: { ...l.kernelQuantizer, alpha: "auto_po2" } } : l,
        ),
      };
      const points = await scanBits({
        config: studentSchema.parse(po2),
        data: memoryStream(events),
        targets,
        fingerprint: fingerprintCounts(events.et, events.count),
        evaluation: { et: events.et, count: events.count, targets },
        dir,
        bits: [4],
        over: "weights",
        seed: 2,
        backend: "wasm",
        workers: 0,
      });
      // Kernels count 4 bits each even where their exported type is wider; biases have no po2.
      expect(points[0].weightBits).toBe(points[0].nonZeroWeights * 4);
      expect(Number.isFinite(points[0].pearson)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
