import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  defaultGeneratorConfig,
  generate,
  readScores,
  scoreColumn,
  writeChunks,
} from "../../src/data/index.js";
import { frac, parseFixedType } from "../../src/fixed/index.js";
import { tinyTeacher } from "../nn/train/support.js";

const root = mkdtempSync(join(tmpdir(), "distill-cli-train-"));
const bg = join(root, "bg.h5");
const test = join(root, "test.h5");
const outliers = join(root, "outliers.h5");
const held = join(root, "held.h5");
const config = join(root, "tiny.json");
const student = join(root, "student.json");
const args = (out: string, ...more: string[]) => [
  "--import",
  "tsx",
  "src/cli/main.ts",
  "train",
  "--teacher",
  config,
  "--data",
  bg,
  "-o",
  out,
  "--backend",
  "wasm",
  "--workers",
  "0",
  ...more,
];
const cli = (out: string, ...more: string[]) =>
  spawnSync(process.execPath, args(out, ...more), { encoding: "utf8" });

beforeAll(async () => {
  const gen = defaultGeneratorConfig();
  await writeChunks(bg, [generate(gen, ["background"], 800, 5)]);
  await writeChunks(test, [generate(gen, ["background", "monojet"], 300, 6)]);
  await writeChunks(outliers, [generate(gen, ["llp"], 100, 7)]);
  await writeChunks(held, [generate(gen, ["background"], 600, 8)]);
  // Inputs in counts: the MSE exceeds 1, so the zero-bias scores (ln(MSE) * 32, floored at 0)
  // spread out and the students regress something other than a constant.
  writeFileSync(
    config,
    JSON.stringify({ ...tinyTeacher({ epochs: 3, batchSize: 32 }), input: { scale: 1 } }),
  );
  const q = (bits: number, integer: number) => ({ quantizer: "quantized_bits", bits, integer });
  writeFileSync(
    student,
    JSON.stringify({
      name: "tiny-student",
      layers: [
        { type: "qdense", units: 3, kernelQuantizer: q(6, 0), biasQuantizer: q(8, 4) },
        { type: "qactivation", activation: { quantizer: "quantized_relu", bits: 10, integer: 8 } },
        { type: "qdense", units: 1, useBias: false, kernelQuantizer: q(8, 3) },
        { type: "qactivation", activation: { quantizer: "quantized_relu", bits: 16, integer: 8 } },
      ],
      training: {
        optimizer: { type: "adam", learningRate: 0.01 },
        batchSize: 32,
        epochs: 3,
        validationFraction: 0.2,
      },
    }),
  );
});

describe("distill train --teacher", () => {
  it("trains, writes the distillation targets and prints the AUC of each signal", () => {
    const out = join(root, "run");
    const r = cli(out, "--eval", test);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^backend wasm$/m);
    expect(r.stderr).toMatch(/teacher epoch 3\/3: loss [\d.]+, validation/);
    expect(r.stdout).toMatch(/distillation targets \(ap_ufixed<16,8,AP_RND_CONV,AP_SAT>\)/);
    const auc = Number(/^monojet\s+300\s+([\d.]+)/m.exec(r.stdout)?.[1]);
    expect(auc).toBeGreaterThan(0.9);
    expect(existsSync(join(out, "teacher", "teacher.onnx"))).toBe(true);
  }, 120_000);

  it("loses at most the current epoch when killed, and a resumed run ends where an uninterrupted one does", async () => {
    const whole = join(root, "whole");
    expect(cli(whole).status).toBe(0);
    const killed = join(root, "killed");
    const child = spawn(process.execPath, args(killed), { stdio: "ignore" });
    const state = join(killed, "teacher", "checkpoint", "state.json");
    // Kill it as soon as the first epoch's checkpoint is on disk, in the middle of epoch 2.
    await new Promise<void>((resolve, reject) => {
      const poll = setInterval(() => {
        if (existsSync(state)) {
          clearInterval(poll);
          child.kill("SIGKILL");
          resolve();
        }
      }, 20);
      child.on("exit", () => {
        clearInterval(poll);
        reject(new Error("training ended before it could be killed"));
      });
    });
    expect(existsSync(join(killed, "teacher", "model", "model.json"))).toBe(false);
    const r = cli(killed, "--resume");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/resuming after epoch [12] from /);
    const weights = (d: string) => readFileSync(join(d, "teacher", "model", "weights.bin"));
    expect(weights(killed).equals(weights(whole))).toBe(true);
    const a = await readScores(join(whole, "teacher", "train-scores.h5"));
    const b = await readScores(join(killed, "teacher", "train-scores.h5"));
    expect(b.columns.teacher_target.values).toEqual(a.columns.teacher_target.values);
  }, 180_000);

  it("distils students from the teacher's targets and compares them on the --eval events", async () => {
    const out = join(root, "run");
    const r = cli(out, "--resume", "--eval", test, "--student", student);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^student tiny-student \(qat, .*student\.json\): \d+\/762 non-zero weights, \d+ weight bits -> .*student\.ir\.json$/m,
    );
    expect(r.stdout).toMatch(
      /^signal\s+events\s+teacher AUC\s+teacher eff\. 3 kHz\s+tiny-student AUC\s+tiny-student eff\. 3 kHz$/m,
    );
    const monojet = r.stdout.match(/^monojet\s+300\s+[\d.]+\s+[\d.]+%\s+([\d.]+)\s+[\d.]+%$/m);
    expect(monojet, r.stdout).not.toBeNull();
    // The student learned the teacher's ranking (a constant student would give 0.5).
    expect(Number(monojet?.[1])).toBeGreaterThan(0.8);
    expect(existsSync(join(out, "student", "tiny-student", "student.ir.json"))).toBe(true);

    const scan = cli(out, "--resume", "--eval", test, "--student", student, "--scan-bits", "3,6");
    expect(scan.status, scan.stderr).toBe(0);
    expect(scan.stdout).toMatch(/^3\s+-?[\d.]+\s+\d+\/762\s+\d+\s/m);
    expect(scan.stdout).toMatch(/^6\s+-?[\d.]+\s+\d+\/762\s+\d+\s/m);

    // Outlier exposure: the teacher scores the outliers; the student trains on 800 + 100 events.
    // (In a run folder of its own: the first student's checkpoint rightly refuses other data.)
    const exposedOut = join(root, "run-exposed");
    cpSync(join(out, "teacher"), join(exposedOut, "teacher"), { recursive: true });
    const exposed = cli(exposedOut, "--resume", "--student", student, "--outliers", outliers);
    expect(exposed.status, exposed.stderr).toBe(0);
    expect(exposed.stderr).toContain(
      `outlier exposure: 100 events of ${outliers} added to the students' 800`,
    );
    const saved = JSON.parse(
      readFileSync(join(exposedOut, "student", "tiny-student", "model", "student.json"), "utf8"),
    ) as { dataset: { events: number } };
    expect(saved.dataset.events).toBe(900);
    expect((await readScores(join(exposedOut, "teacher", "outliers-scores.h5"))).dataset.events).toBe(100);
    // Only the outliers the teacher scores above a threshold (here their median).
    const col = scoreColumn(
      await readScores(join(exposedOut, "teacher", "outliers-scores.h5")),
      "teacher_score",
      "outliers-scores.h5",
    );
    const unit = col.fixedType ? 2 ** -frac(parseFixedType(col.fixedType)) : 1;
    const outlierScores = Float64Array.from(col.values as ArrayLike<number>, (v) => v * unit).sort();
    const cut = outlierScores[50];
    const above = outlierScores.filter((v) => v > cut).length;
    expect(above).toBeGreaterThan(0);
    expect(above).toBeLessThan(100);
    const selectedOut = join(root, "run-selected");
    cpSync(join(out, "teacher"), join(selectedOut, "teacher"), { recursive: true });
    const selected = cli(
      selectedOut,
      "--resume",
      "--student",
      student,
      "--outliers",
      outliers,
      "--outliers-min-score",
      String(cut),
    );
    expect(selected.status, selected.stderr).toBe(0);
    expect(selected.stderr).toContain(
      `outlier exposure: ${above} of the 100 events of ${outliers} (teacher score above ${cut}) added to the students' 800`,
    );
    const selectedSaved = JSON.parse(
      readFileSync(join(selectedOut, "student", "tiny-student", "model", "student.json"), "utf8"),
    ) as { dataset: { events: number } };
    expect(selectedSaved.dataset.events).toBe(800 + above);
    expect(cli(out, "--resume", "--student", student, "--outliers-min-score", "60").stderr.trim()).toBe(
      "distill: --outliers-min-score: it selects --outliers events; give --outliers FILE",
    );
    expect(cli(out, "--resume", "--outliers", outliers).stderr.trim()).toBe(
      "distill: --outliers: the outlier events are for students; name a --student",
    );
    expect(cli(out, "--resume", "--student", student, "--scan-bits", "1..3").stderr.trim()).toBe(
      'distill: --scan-bits: found "1..3", expected a range such as 2..16 or a list such as 4,6,8 (2 to 24)',
    );
  }, 240_000);

  it("keeps the best of --starts by the tail slope on the --select events", () => {
    const out = join(root, "run-starts");
    const run = (...more: string[]) => cli(out, ...more);
    const r = run(
      "--student",
      student,
      "--starts",
      "3",
      "--select",
      held,
      "--select-tail",
      "50",
      "--parallel-starts",
      "2",
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain("student tiny-student: training 3 starts, 2 at a time on worker threads");
    expect(r.stdout).toContain(
      `starts of tiny-student, judged on the teacher's top 50 of the 600 events of ${held}`,
    );
    const rows = [...r.stdout.matchAll(/^([123])\s+(\d+)\s+[\d.]+\s+(-?[\d.]+)\s*(kept)?$/gm)];
    expect(rows.map((m) => [m[1], m[2]])).toEqual([
      ["1", "1"],
      ["2", "2"],
      ["3", "3"],
    ]);
    const slopes = rows.map((m) => Number(m[3]));
    expect(rows.filter((m) => m[4]).map((m) => Number(m[3]))).toEqual([Math.max(...slopes)]);
    const log = JSON.parse(readFileSync(join(out, "student", "tiny-student", "starts.json"), "utf8"));
    expect(log.selection).toMatchObject({ source: held, from: 600, tail: 50 });
    expect(existsSync(join(out, "teacher", "select-scores.h5"))).toBe(true);

    // The error is the last line (the backend and data lines come first for the last two).
    const refused = (...more: string[]) =>
      run("--resume", ...more)
        .stderr.trim()
        .split("\n")
        .pop();
    expect(refused("--student", student, "--starts", "3")).toBe(
      "distill: --starts: the starts are judged on held-out zero-bias events; give --select FILE (e.g. 500,000 events)",
    );
    expect(refused("--student", student, "--select", held)).toBe(
      "distill: --select: the held-out events choose among --starts; give --starts K (2 or more)",
    );
    expect(refused("--student", student, "--starts", "1", "--select", held)).toBe(
      "distill: --starts: found 1, expected an integer of at least 2",
    );
    expect(refused("--student", student, "--starts", "2", "--select", bg)).toBe(
      `distill: --select: ${bg} holds the training events; give events held out of training`,
    );
    expect(refused("--student", student, "--starts", "2", "--select", held, "--select-tail", "601")).toBe(
      `distill: --select-tail: found 601, expected at most the 600 events of ${held}`,
    );
    expect(refused("--student", student, "--starts", "2", "--select", held, "--parallel-starts", "0")).toBe(
      "distill: --parallel-starts: found 0, expected a positive integer",
    );
    expect(refused("--student", student, "--parallel-starts", "2")).toBe(
      "distill: --parallel-starts: it trains --starts at once; give --starts K (2 or more)",
    );
  }, 240_000);

  it("names the flag and the expectation on bad input", () => {
    const r = cli(join(root, "bad"), "--epochs", "0");
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe("distill: --epochs: found 0, expected a positive integer");
    const m = spawnSync(
      process.execPath,
      args(join(root, "bad2")).map((a) => (a === bg ? join(root, "nope.h5") : a)),
      {
        encoding: "utf8",
      },
    );
    expect(m.status).toBe(1);
    expect(m.stderr).toMatch(/nope\.h5/);
  });
});
