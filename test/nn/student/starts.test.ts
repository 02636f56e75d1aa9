import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readJsonConfig } from "../../../src/config/load.js";
import { type StudentConfig, studentSchema } from "../../../src/config/student.js";
import { fingerprintCounts } from "../../../src/data/fingerprint.js";
import { defaultGeneratorConfig, generate } from "../../../src/data/generator/index.js";
import { openEvents, writeEvents } from "../../../src/data/io/index.js";
import { tailSlope, topEvents } from "../../../src/eval/agreement.js";
import { frac } from "../../../src/fixed/index.js";
import { compileModel, readModel } from "../../../src/ir/index.js";
import { selectBackend } from "../../../src/nn/backend.js";
import {
  bestStart,
  readSelectionTail,
  type StartRecord,
  type StartsLog,
  startDir,
  trainStudentStarts,
} from "../../../src/nn/student/starts.js";
import { studentScores, trainStudent } from "../../../src/nn/student/train.js";
import { CheckpointError } from "../../../src/nn/train/checkpoint.js";
import { memoryStream } from "../../../src/nn/train/data.js";
import type { EpochRecord } from "../../../src/nn/train/loop.js";

const gen = defaultGeneratorConfig();
const events = generate(gen, ["background", "monojet"], 1200, 21);
const held = generate(gen, ["background", "monojet"], 1500, 22);
/** A target a small student learns in a few epochs: a saturating function of the total ET. */
const synthetic = (d: { et: Uint16Array; count: number }) =>
  Float32Array.from({ length: d.count }, (_, e) => {
    let s = 0;
    for (let i = 0; i < 252; i++) s += d.et[e * 252 + i];
    return Math.min(200, Math.sqrt(s) * 2);
  });
const targets = synthetic(events);
const heldTeacher = synthetic(held);

function config(): StudentConfig {
  const c = readJsonConfig("configs/student-v1.json", studentSchema);
  return {
    ...c,
    training: {
      ...c.training,
      batchSize: 128,
      epochs: 3,
      earlyStopping: undefined,
      optimizer: { ...c.training.optimizer, learningRate: 0.05 },
    },
    pruning: undefined,
  };
}

describe("best of several starts by tail slope", () => {
  const root = mkdtempSync(join(tmpdir(), "starts-"));
  const heldFile = join(root, "held.h5");
  beforeAll(async () => {
    await selectBackend("wasm");
    await writeEvents(heldFile, held);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const base = {
    data: memoryStream(events),
    targets,
    fingerprint: fingerprintCounts(events.et, events.count),
    seed: 3,
    backend: "wasm" as const,
    workers: 0,
  };

  it("reads the k events a held-out file's teacher scores highest, highest first", async () => {
    const src = await openEvents(heldFile);
    try {
      const tail = await readSelectionTail(src, heldTeacher, 150);
      const top = topEvents(heldTeacher, 150);
      expect(tail.count).toBe(150);
      expect(tail.from).toBe(held.count);
      expect(Array.from(tail.teacher)).toEqual(top.map((i) => heldTeacher[i]));
      for (const [j, i] of top.entries()) {
        expect(tail.et.subarray(j * 252, (j + 1) * 252)).toEqual(held.et.subarray(i * 252, (i + 1) * 252));
      }
      await expect(readSelectionTail(src, heldTeacher.subarray(1), 150)).rejects.toThrow(
        /found 2999 teacher scores for 3000 events/,
      );
      await expect(readSelectionTail(src, heldTeacher, 3001)).rejects.toThrow(
        /a tail of 3001 events: expected an integer from 2 to the file's 3000 events/,
      );
    } finally {
      src.close();
    }
  });

  it("trains K starts, keeps the steepest on the tail, and on resume trains none again", async () => {
    const src = await openEvents(heldFile);
    const selection = await readSelectionTail(src, heldTeacher, 150);
    src.close();
    const dir = join(root, "starts");
    const train = (lines: string[]) =>
      trainStudentStarts({
        ...base,
        config: config(),
        dir,
        starts: 3,
        selection,
        resume: true,
        log: (l) => lines.push(l),
      });
    const lines: string[] = [];
    const r = await train(lines);
    const log = JSON.parse(readFileSync(join(dir, "starts.json"), "utf8")) as StartsLog;
    expect(log.starts.map((s) => [s.start, s.initSeed])).toEqual([
      [1, 3],
      [2, 4],
      [3, 5],
    ]);
    // Each slope is the one measured on the whole held-out file, from the start's own IR.
    const irs = [1, 2, 3].map((s) => readFileSync(join(startDir(dir, s), "student.ir.json"), "utf8"));
    for (const [k, s] of log.starts.entries()) {
      const ir = readModel(join(startDir(dir, s.start), "student.ir.json"));
      const scale = 2 ** -frac(compileModel(ir).outputType);
      const scores = Float64Array.from(studentScores(ir, held), (v) => v * scale);
      expect(s.tailSlope, `start ${k + 1}`).toBe(tailSlope(heldTeacher, scores, 150));
    }
    expect(new Set(irs).size).toBe(3);
    const slopes = log.starts.map((s) => s.tailSlope as number);
    const argmax = slopes.indexOf(Math.max(...slopes)) + 1;
    expect(log.chosen).toBe(argmax);
    expect(r.chosen).toBe(argmax);
    expect(readFileSync(join(dir, "student.ir.json"), "utf8")).toBe(irs[argmax - 1]);
    expect(readFileSync(join(dir, "model", "student.json"), "utf8")).toBe(
      readFileSync(join(startDir(dir, argmax), "model", "student.json"), "utf8"),
    );
    expect(r.irFile).toBe(join(dir, "student.ir.json"));
    expect(r.history.length).toBe(3);

    // Start 1 is the single training of the same seed, bit for bit.
    const single = await trainStudent({ ...base, config: config(), dir: join(root, "single") });
    expect(readFileSync(single.irFile, "utf8")).toBe(irs[0]);

    // Resumed: every start is read back, none trained.
    const again: string[] = [];
    const r2 = await train(again);
    expect(again.filter((l) => / epoch \d+\/\d+/.test(l))).toEqual([]);
    expect(again.filter((l) => l.includes("trained before"))).toHaveLength(3);
    expect(r2.chosen).toBe(argmax);
    expect(r2.starts).toEqual(r.starts);
    expect(lines.filter((l) => / epoch 3\/3/.test(l))).toHaveLength(3);

    // Two at a time on worker threads: the same starts, files and choice as one after another.
    const dir2 = join(root, "parallel");
    const plines: string[] = [];
    const p = await trainStudentStarts({
      ...base,
      config: config(),
      dir: dir2,
      starts: 3,
      selection,
      parallel: 2,
      log: (l) => plines.push(l),
    });
    expect(plines).toContain("student cicada-v1: training 3 starts, 2 at a time on worker threads");
    expect(plines.filter((l) => /^student cicada-v1 start \d\/3 epoch 3\/3/.test(l))).toHaveLength(3);
    expect(p.chosen).toBe(argmax);
    expect(p.starts).toEqual(r.starts);
    expect(readFileSync(join(dir2, "starts.json"), "utf8")).toBe(
      readFileSync(join(dir, "starts.json"), "utf8"),
    );
    const losses = (d: string) =>
      (JSON.parse(readFileSync(join(d, "history.json"), "utf8")) as EpochRecord[]).map((e) => [
        e.trainLoss,
        e.validationLoss,
      ]);
    for (const s of [1, 2, 3]) {
      for (const f of ["student.ir.json", join("model", "student.json"), join("model", "weights.bin")]) {
        expect(readFileSync(join(startDir(dir2, s), f)), `start ${s} ${f}`).toEqual(
          readFileSync(join(startDir(dir, s), f)),
        );
      }
      expect(losses(startDir(dir2, s))).toEqual(losses(startDir(dir, s)));
    }
  }, 180_000);

  it("stops every start's worker at the first failure and keeps the error's kind", async () => {
    const selection = {
      et: held.et.slice(0, 20 * 252),
      count: 20,
      teacher: heldTeacher.slice(0, 20),
      source: "held",
      from: 20,
    };
    const run = (dir: string) =>
      trainStudentStarts({ ...base, config: config(), dir, starts: 2, selection, parallel: 2, resume: true });
    // A file where start 2's folder should be.
    const blocked = join(root, "blocked");
    mkdirSync(join(blocked, "starts"), { recursive: true });
    writeFileSync(join(blocked, "starts", "2"), "not a folder");
    await expect(run(blocked)).rejects.toThrow(/ENOTDIR|EEXIST/);
    // A checkpoint that cannot be read stays a CheckpointError, so `distill run` can start afresh.
    const broken = join(root, "broken");
    mkdirSync(join(broken, "starts", "1", "checkpoint"), { recursive: true });
    writeFileSync(join(broken, "starts", "1", "checkpoint", "state.json"), "{");
    await expect(run(broken)).rejects.toBeInstanceOf(CheckpointError);
  }, 120_000);

  it("keeps the largest slope, undefined slopes last and ties to the earlier start", () => {
    const rec = (start: number, tailSlope: number | null): StartRecord => ({
      start,
      initSeed: start,
      tag: "",
      tailSlope,
      bestEpoch: 1,
      validationLoss: 1,
      totalWeights: 1,
      nonZeroWeights: 1,
      weightBits: 1,
    });
    expect(bestStart([rec(1, null), rec(2, 0.5), rec(3, 1.5), rec(4, 1.5)]).start).toBe(3);
    expect(bestStart([rec(1, null), rec(2, null)]).start).toBe(1);
    expect(bestStart([rec(1, -2), rec(2, null)]).start).toBe(1);
    expect(() => bestStart([])).toThrow(/no starts/);
  });

  it("refuses fewer than two starts", async () => {
    const selection = {
      et: new Uint16Array(504),
      count: 2,
      teacher: new Float32Array(2),
      source: "x",
      from: 2,
    };
    await expect(
      trainStudentStarts({ ...base, config: config(), dir: join(root, "one"), starts: 1, selection }),
    ).rejects.toThrow(/starts: found 1, expected an integer of at least 2/);
  });
});
