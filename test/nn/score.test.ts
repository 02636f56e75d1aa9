import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { type TeacherConfig, teacherSchema } from "../../src/config/teacher.js";
import {
  checkScoresMatch,
  Dataset,
  defaultGeneratorConfig,
  type EventSource,
  fingerprintCounts,
  generate,
  N_REGIONS,
  readScores,
} from "../../src/data/index.js";
import { FixedTypeError, parseFixedType } from "../../src/fixed/index.js";
import { selectBackend } from "../../src/nn/backend.js";
import { buildTeacher } from "../../src/nn/teacher/model.js";
import {
  castToFixed,
  fixedValue,
  ScoringError,
  scoreEvents,
  teacherTarget,
  tfjsInference,
  writeTeacherScores,
} from "../../src/nn/teacher/score.js";

const U = parseFixedType("ap_ufixed<16,8,AP_RND_CONV,AP_SAT>");
const S = parseFixedType("ap_fixed<16,8,AP_RND_CONV,AP_SAT>");

describe("distillation target ln(MSE) x 32", () => {
  it("casts hand-computed cases to ap_ufixed<16,8,AP_RND_CONV,AP_SAT>", () => {
    expect(teacherTarget(1, U)).toBe(0n);
    // ln 2 x 32 x 2^8 = 5678.26...
    expect(teacherTarget(2, U)).toBe(5678n);
    expect(fixedValue(5678n, U)).toBe(22.1796875);
    // ln(e) = 1 in doubles: 32 x 256 = 8192
    expect(teacherTarget(Math.E, U)).toBe(8192n);
    // ln(1000) x 32 x 256 = 56588.33...
    expect(teacherTarget(1000, U)).toBe(56588n);
  });

  it("saturates: below 1 (negative logs) and MSE = 0 (ln = -inf) give 0, large MSEs the maximum", () => {
    expect(teacherTarget(0.5, U)).toBe(0n);
    expect(teacherTarget(0, U)).toBe(0n);
    expect(teacherTarget(Number.MIN_VALUE, U)).toBe(0n);
    // ln(1e6) x 32 = 442.1 > 255.996
    expect(teacherTarget(1e6, U)).toBe(65535n);
    expect(teacherTarget(Number.POSITIVE_INFINITY, U)).toBe(65535n);
  });

  it("defines MSE = 0 for every overflow mode of a signed type", () => {
    expect(teacherTarget(0.5, S)).toBe(-5678n);
    expect(teacherTarget(0, S)).toBe(-32768n);
    expect(teacherTarget(0, parseFixedType("ap_fixed<16,8,AP_RND_CONV,AP_SAT_SYM>"))).toBe(-32767n);
    expect(teacherTarget(0, parseFixedType("ap_fixed<16,8,AP_RND_CONV,AP_SAT_ZERO>"))).toBe(0n);
    // Wrapping an infinity means nothing: WRAP takes the minimum too.
    expect(teacherTarget(0, parseFixedType("ap_fixed<16,8>"))).toBe(-32768n);
    expect(teacherTarget(2, parseFixedType("ap_fixed<16,8>"))).toBe(5678n);
  });

  it("refuses a NaN or negative MSE", () => {
    expect(() => teacherTarget(Number.NaN, U)).toThrow(ScoringError);
    expect(() => teacherTarget(-1, U)).toThrow(/not a non-negative number/);
  });

  it("casts the exact binary value of a double with the type's rounding and overflow", () => {
    expect(castToFixed(2.5 / 256, U)).toBe(2n); // tie to even
    expect(castToFixed(3.5 / 256, U)).toBe(4n);
    expect(castToFixed(2.5 / 256, parseFixedType("ap_ufixed<16,8,AP_RND,AP_SAT>"))).toBe(3n);
    expect(castToFixed(2.99 / 256, parseFixedType("ap_ufixed<16,8>"))).toBe(2n);
    expect(castToFixed(1 + 2 ** -40, parseFixedType("ap_ufixed<64,8>"))).toBe((1n << 56n) + (1n << 16n));
    expect(castToFixed(17.5, parseFixedType("ap_ufixed<8,4>"))).toBe(24n); // 280 mod 256
  });
});

const small: TeacherConfig = teacherSchema.parse({
  name: "small",
  input: { scale: 0.5 },
  layers: [
    { type: "conv2d", filters: 4, kernel: [3, 3], activation: "relu" },
    { type: "avgpool2d", pool: [2, 2] },
    { type: "flatten" },
    { type: "dense", units: 8, activation: "relu" },
    { type: "dense", units: 252 },
    { type: "reshape", shape: [18, 14, 1] },
  ],
  training: { batchSize: 32, epochs: 1, validationFraction: 0.2 },
  target: { type: "ap_ufixed<16,8,AP_RND_CONV,AP_SAT>" },
});

/** A dataset as a streamed source (the same interface as a file). */
function memorySource(d: Dataset): EventSource {
  return {
    file: "memory",
    format: "h5",
    count: d.count,
    description: "in memory",
    clipped: 0,
    async *chunks(size = 8192) {
      for (let s = 0; s < d.count; s += size) yield d.slice(s, s + size);
    },
    close() {},
  };
}

describe("scoring a dataset", () => {
  const events = generate(defaultGeneratorConfig(), ["background", "monojet"], 150, 4);

  beforeAll(async () => {
    await selectBackend();
  });

  it("gives each event its MSE, target and score, and per-label mean error and input maps", async () => {
    const model = buildTeacher(small, 5);
    const progress: number[] = [];
    const s = await scoreEvents(memorySource(events), tfjsInference(model), {
      scale: 0.5,
      targetType: U,
      chunk: 64,
      onProgress: (done, total) => {
        expect(total).toBe(300);
        progress.push(done);
      },
    });
    expect(progress).toEqual([64, 128, 192, 256, 300]);
    expect(s.fingerprint).toEqual(fingerprintCounts(events.et, events.count));
    expect(s.target).toBeInstanceOf(Uint16Array);
    // The MSE against an independent computation from the model's prediction.
    const x = Float32Array.from(events.et, (v) => v * 0.5);
    const y = (model.predict(tf.tensor4d(x, [300, 18, 14, 1])) as tf.Tensor).dataSync();
    const byLabel = new Map<string, { mse: number; n: number; input: Float64Array }>();
    for (let e = 0; e < 300; e++) {
      let sum = 0;
      for (let r = 0; r < N_REGIONS; r++) sum += (y[e * N_REGIONS + r] - x[e * N_REGIONS + r]) ** 2;
      expect(Math.abs(s.mse[e] - sum / N_REGIONS) / (sum / N_REGIONS)).toBeLessThan(1e-5);
      expect(s.target[e]).toBe(Number(teacherTarget(s.mse[e], U)));
      expect(s.score[e]).toBe(s.target[e] / 256);
      const label = events.labelNames![events.labels![e]];
      const b = byLabel.get(label) ?? { mse: 0, n: 0, input: new Float64Array(N_REGIONS) };
      b.mse += s.mse[e];
      b.n++;
      for (let r = 0; r < N_REGIONS; r++) b.input[r] += x[e * N_REGIONS + r];
      byLabel.set(label, b);
    }
    expect(new Set(s.score).size).toBeGreaterThan(50);
    expect(Object.keys(s.errorMaps)).toEqual(["background", "monojet"]);
    for (const [label, b] of byLabel) {
      // The mean error map averaged over the regions is the label's mean MSE.
      const mapMean = s.errorMaps[label].reduce((a, v) => a + v, 0) / N_REGIONS;
      expect(Math.abs(mapMean - b.mse / b.n) / (b.mse / b.n)).toBeLessThan(1e-4);
      for (let r = 0; r < N_REGIONS; r++) expect(s.inputMaps[label][r]).toBeCloseTo(b.input[r] / b.n, 4);
    }
    model.dispose();
  });

  it("runs a chunk in batches that give the outputs of one pass over the chunk", async () => {
    const model = buildTeacher(small, 5);
    const x = Float32Array.from(events.et.subarray(0, 50 * N_REGIONS), (v) => v * 0.5);
    const whole = await tfjsInference(model, { batch: 50 }).run(x, 50);
    const parts = await tfjsInference(model, { batch: 7 }).run(x, 50);
    expect(parts.mse.length).toBe(50);
    for (let i = 0; i < 50; i++) expect(parts.mse[i]).toBeCloseTo(whole.mse[i], 3);
    for (let i = 0; i < x.length; i++)
      expect(parts.reconstruction[i]).toBeCloseTo(whole.reconstruction[i], 4);
    model.dispose();
  });

  it("labels unlabelled events `all`", async () => {
    const model = buildTeacher(small, 5);
    const bare = new Dataset({ et: events.et.slice(0, 20 * N_REGIONS), source: "bare" });
    const s = await scoreEvents(memorySource(bare), tfjsInference(model), { scale: 0.5, targetType: U });
    expect(Object.keys(s.errorMaps)).toEqual(["all"]);
    expect(Object.keys(s.inputMaps)).toEqual(["all"]);
    model.dispose();
  });

  it("round-trips through a scores file tied to the dataset", async () => {
    const model = buildTeacher(small, 6);
    const s = await scoreEvents(memorySource(events), tfjsInference(model), { scale: 0.5, targetType: U });
    const file = join(mkdtempSync(join(tmpdir(), "distill-score-")), "s.h5");
    await writeTeacherScores(file, s, U, "events.h5");
    const back = await readScores(file);
    expect(back.dataset).toEqual({ ...fingerprintCounts(events.et, events.count), file: "events.h5" });
    expect(back.columns.teacher_mse.values).toEqual(s.mse);
    expect(back.columns.teacher_score.values).toEqual(s.score);
    expect(back.columns.teacher_target.values).toEqual(s.target);
    expect(back.columns.teacher_target.fixedType).toBe("ap_ufixed<16,8,AP_RND_CONV,AP_SAT>");
    expect(back.columns.teacher_mse.description).toMatch(/tfjs \(wasm\)/);
    expect(back.maps?.error.monojet).toEqual(s.errorMaps.monojet);
    expect(back.maps?.input.background).toEqual(s.inputMaps.background);
    expect(() =>
      checkScoresMatch(back, fingerprintCounts(events.et, events.count), file, "e.h5"),
    ).not.toThrow();
    const other = events.et.slice();
    other[5] += 1;
    expect(() => checkScoresMatch(back, fingerprintCounts(other, events.count), file, "e.h5")).toThrow(
      /expected scores of the 300 events of e\.h5/,
    );
    model.dispose();
  });

  it("stores signed targets as Int32 and refuses types wider than a column or a bad chunk size", async () => {
    const model = buildTeacher(small, 5);
    const few = memorySource(events.slice(0, 10));
    const signed = await scoreEvents(few, tfjsInference(model), { scale: 0.5, targetType: S });
    expect(signed.target).toBeInstanceOf(Int32Array);
    await expect(
      scoreEvents(few, tfjsInference(model), { scale: 0.5, targetType: parseFixedType("ap_fixed<40,20>") }),
    ).rejects.toThrow(FixedTypeError);
    await expect(
      scoreEvents(few, tfjsInference(model), { scale: 0.5, targetType: U, chunk: 0 }),
    ).rejects.toThrow(/--chunk: found 0, expected a positive integer/);
    model.dispose();
  });
});
