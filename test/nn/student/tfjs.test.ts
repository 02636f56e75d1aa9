import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadStudentConfig } from "../../../src/config/student.js";
import { defaultGeneratorConfig, generate } from "../../../src/data/generator/index.js";
import { selectBackend } from "../../../src/nn/backend.js";
import {
  type BatchNormStats,
  initialStudentParams,
  predict,
  studentInput,
  studentModel,
} from "../../../src/nn/student/model.js";
import { loadStudentLayersModel, saveStudentLayersModel } from "../../../src/nn/student/tfjs.js";
import { rng } from "../../../src/util/rng.js";

const dir = mkdtempSync(join(tmpdir(), "student-tfjs-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("a student saved as a TensorFlow.js layers model", () => {
  it("is loadable after importing the package entry, which registers its layer class", async () => {
    const distill = await import("../../../src/index.js");
    expect(typeof distill.student.loadStudentLayersModel).toBe("function");
    const registered = tf.serialization.SerializationMap.getMap().classNameMap;
    expect(Object.keys(registered)).toContain("DistillQuantized");
  });

  beforeAll(async () => {
    await selectBackend("wasm");
  });
  const events = generate(defaultGeneratorConfig(), ["background", "monojet"], 100, 5);

  it("loads back and predicts exactly what the training graph predicts in inference mode", async () => {
    const configs = ["student-v1", "student-v2", "student-conv"].map((n) =>
      loadStudentConfig(`configs/${n}.json`),
    );
    // And v1 with power-of-two scales on every kernel.
    const po2 = loadStudentConfig("configs/student-v1.json");
    for (const l of po2.layers) if ("kernelQuantizer" in l) l.kernelQuantizer.alpha = "auto_po2";
    configs.push({ ...po2, name: "v1-po2" });
    for (const [k, c] of configs.entries()) {
      const m = studentModel(c);
      // Initial weights scaled up so that quantized outputs are not all zero.
      const params = initialStudentParams(m, 10 + k).map((v) => v * 4);
      const r = rng(k);
      const bn: Record<number, { mean: number[]; variance: number[] }> = {};
      c.layers.forEach((l, i) => {
        if (l.type === "qdense_batchnorm") {
          bn[i] = {
            mean: Array.from({ length: l.units }, () => (r.next() - 0.3) * 20),
            variance: Array.from({ length: l.units }, () => 1 + r.next() * 100),
          };
        }
      });
      const out = join(dir, c.name);
      await saveStudentLayersModel(out, m, params, bn as BatchNormStats, { name: c.name });
      const json = JSON.parse(readFileSync(join(out, "model.json"), "utf8"));
      expect(json.format).toBe("layers-model");
      expect(json.userDefinedMetadata.distill).toMatchObject({ kind: "student", name: c.name });
      const { model } = await loadStudentLayersModel(out);
      try {
        const expected = predict(m, params, bn, events.et, events.count);
        const got = tf.tidy(() =>
          (model.predict(studentInput(m, events.et, events.count)) as tf.Tensor).dataSync(),
        );
        expect(Array.from(got)).toEqual(Array.from(expected));
        // Not a constant: the comparison covers varied outputs.
        expect(new Set(expected).size).toBeGreaterThan(5);
        // The trained parameters plus each batch-norm layer's frozen mean and variance.
        const frozen = c.layers.reduce((n, l) => n + (l.type === "qdense_batchnorm" ? 2 * l.units : 0), 0);
        expect(model.countParams()).toBe(m.paramCount + frozen);
      } finally {
        model.dispose();
      }
    }
  });
});
