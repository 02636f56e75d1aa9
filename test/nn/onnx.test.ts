import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { beforeAll, describe, expect, it } from "vitest";
import { loadTeacherConfig, type TeacherConfig, teacherSchema } from "../../src/config/teacher.js";
import { defaultGeneratorConfig, generate, openEvents, writeEvents } from "../../src/data/index.js";
import { parseFixedType } from "../../src/fixed/index.js";
import { selectBackend } from "../../src/nn/backend.js";
import {
  exportTeacherOnnx,
  OnnxExportError,
  readOnnxTeacherMetadata,
  teacherToOnnx,
} from "../../src/nn/onnx/export.js";
import { decodeModel, encodeModel } from "../../src/nn/onnx/proto.js";
import { ortInference } from "../../src/nn/onnx/score.js";
import { buildTeacher } from "../../src/nn/teacher/model.js";
import { scaleCounts, scoreEvents, tfjsInference } from "../../src/nn/teacher/score.js";

const events = generate(defaultGeneratorConfig(), ["background", "monojet", "hotRegion"], 100, 11);
const dir = mkdtempSync(join(tmpdir(), "distill-onnx-"));

/**
 * Every layer kind and the awkward cases: strided "same" (uneven pads), valid, max pooling,
 * channel counts padded to 16 (10 and 12, the padding channels of a sigmoid conv at 0.5).
 */
const awkward: TeacherConfig = teacherSchema.parse({
  name: "awkward",
  input: { scale: 0.25 },
  layers: [
    { type: "conv2d", filters: 10, kernel: [3, 3], strides: [2, 2], padding: "same", activation: "tanh" },
    { type: "conv2d", filters: 12, kernel: [3, 2], padding: "valid", activation: "sigmoid" },
    { type: "maxpool2d", pool: [2, 2] },
    { type: "flatten" },
    { type: "dense", units: 16, activation: "sigmoid" },
    { type: "dense", units: 630 },
    { type: "reshape", shape: [9, 7, 10] },
    { type: "activation", activation: "relu" },
    { type: "upsample2d", size: [2, 2] },
    { type: "avgpool2d", pool: [1, 1] },
    { type: "conv2d", filters: 1, kernel: [3, 3], padding: "same" },
  ],
  training: { batchSize: 32, epochs: 1, validationFraction: 0.2 },
  target: { type: "ap_ufixed<16,8,AP_RND_CONV,AP_SAT>" },
});

function maxRelative(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), 1e-6));
  }
  return worst;
}

/** Largest difference relative to the largest value (for tensors with values near zero). */
function maxScaled(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let top = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    top = Math.max(top, Math.abs(b[i]));
  }
  expect(top).toBeGreaterThan(0);
  return diff / top;
}

async function compare(model: tfl.LayersModel, scale: number) {
  const bytes = encodeModel(
    teacherToOnnx(model, { inputScale: scale, targetType: "ap_ufixed<16,8>", name: "t" }),
  );
  const ort = await ortInference(bytes, { threads: 1, batch: 37 });
  const ref = tfjsInference(model);
  const x = scaleCounts(events.et, scale);
  const [a, b] = [await ort.run(x, events.count), await ref.run(x, events.count)];
  await ort.dispose();
  return { ort: a, tfjs: b };
}

describe("ONNX export", () => {
  beforeAll(async () => {
    await selectBackend();
  });

  it("reproduces the CICADA teacher's reconstruction and MSE in ONNX Runtime (rel 1e-4)", async () => {
    const config = loadTeacherConfig("configs/cae.json");
    const model = buildTeacher(config, 7);
    const { ort, tfjs } = await compare(model, config.input.scale);
    expect(tfjs.mse.some((v) => v > 0)).toBe(true);
    expect(maxRelative(ort.mse, tfjs.mse)).toBeLessThan(1e-4);
    // The reconstruction is not all zeros, so the comparison sees the layout of every layer.
    expect(tfjs.reconstruction.filter((v) => v > 0).length).toBeGreaterThan(events.count * 10);
    expect(maxScaled(ort.reconstruction, tfjs.reconstruction)).toBeLessThan(1e-5);
    model.dispose();
  });

  it("handles strided same padding, valid convs, max pooling, sigmoid and tanh, and an input scale", async () => {
    const model = buildTeacher(awkward, 3);
    const { ort, tfjs } = await compare(model, awkward.input.scale);
    expect(maxRelative(ort.mse, tfjs.mse)).toBeLessThan(1e-4);
    expect(maxScaled(ort.reconstruction, tfjs.reconstruction)).toBeLessThan(1e-5);
    model.dispose();
  });

  it("averages over the valid pixels only under same-padded average pooling, as TensorFlow does", async () => {
    const input = tfl.input({ shape: [18, 14, 1] });
    const pooled = tfl.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: "same" }).apply(input);
    const up = tfl.layers.upSampling2d({ size: [2, 2] }).apply(pooled);
    const model = tfl.model({ inputs: input, outputs: up as tfl.SymbolicTensor });
    const { ort, tfjs } = await compare(model, 1);
    expect(maxScaled(ort.reconstruction, tfjs.reconstruction)).toBeLessThan(1e-5);
    expect(maxRelative(ort.mse, tfjs.mse)).toBeLessThan(1e-4);
  });

  it("scores a file through ONNX Runtime exactly as through tfjs, up to the float MSE", async () => {
    const config = loadTeacherConfig("configs/cae.json");
    const model = buildTeacher(config, 7);
    const file = join(dir, "teacher.onnx");
    exportTeacherOnnx(model, { inputScale: 1, targetType: config.target.type, name: config.name }, file);
    expect(readOnnxTeacherMetadata(file)).toEqual({
      inputScale: 1,
      targetType: config.target.type,
      name: config.name,
    });
    const h5 = join(dir, "events.h5");
    await writeEvents(h5, events);
    const type = parseFixedType(config.target.type);
    const run = async (infer: Awaited<ReturnType<typeof ortInference>>) => {
      const src = await openEvents(h5);
      try {
        return await scoreEvents(src, infer, { scale: 1, targetType: type, chunk: 64 });
      } finally {
        src.close();
      }
    };
    const ort = await run(await ortInference(file));
    const ref = await run(tfjsInference(model));
    expect(ort.fingerprint).toEqual(ref.fingerprint);
    expect(maxRelative(ort.mse, ref.mse)).toBeLessThan(1e-4);
    // ln(MSE) x 32 moves by < 32e-4 for a relative 1e-4: at most one step of 1/256.
    for (let i = 0; i < events.count; i++)
      expect(Math.abs(ort.target[i] - ref.target[i])).toBeLessThanOrEqual(1);
    expect(Object.keys(ort.errorMaps)).toEqual(["background", "hotRegion", "monojet"]);
    expect(maxScaled(ort.errorMaps.hotRegion, ref.errorMaps.hotRegion)).toBeLessThan(1e-4);
    expect(ort.engine).toMatch(/^onnxruntime-node .*\(cpu, \d+ threads\)$/);
    model.dispose();
  });

  it("writes the ONNX fields ONNX Runtime relies on: opset 13, a free batch dimension, the metadata", () => {
    const model = buildTeacher(awkward, 1);
    const m = decodeModel(
      encodeModel(teacherToOnnx(model, { inputScale: 0.25, targetType: "x", name: "awkward" })),
    );
    expect(m.opset_import).toEqual([{ domain: "", version: 13 }]);
    expect(m.graph.input.map((i) => i.name)).toEqual(["counts_scaled"]);
    expect(m.graph.output.map((i) => i.name)).toEqual(["reconstruction", "mse"]);
    expect(m.graph.input[0].type.tensor_type.shape.dim).toEqual([
      { dim_param: "N" },
      { dim_value: 18 },
      { dim_value: 14 },
      { dim_value: 1 },
    ]);
    const ops = new Set(m.graph.node.map((n) => n.op_type));
    for (const op of [
      "Conv",
      "MaxPool",
      "AveragePool",
      "Gemm",
      "Reshape",
      "Resize",
      "Transpose",
      "Flatten",
      "Pad",
      "Slice",
    ])
      expect(ops).toContain(op);
    expect(m.metadata_props).toContainEqual({ key: "distill.inputScale", value: "0.25" });
    model.dispose();
  });

  it("refuses layers it cannot express and files that are not exported teachers", () => {
    const input = tfl.input({ shape: [18, 14, 1] });
    const out = tfl.layers.batchNormalization().apply(input) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: out });
    expect(() => teacherToOnnx(model, { inputScale: 1, targetType: "", name: "" })).toThrow(
      /BatchNormalization\): no ONNX export for this layer/,
    );
    const bad = join(dir, "bad.onnx");
    writeFileSync(bad, "not a protobuf at all");
    expect(() => readOnnxTeacherMetadata(bad)).toThrow(OnnxExportError);
    tf.disposeVariables();
  });
});
