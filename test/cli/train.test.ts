import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { defaultGeneratorConfig, generate, readScores, writeChunks } from "../../src/data/index.js";
import { tinyTeacher } from "../nn/train/support.js";

const root = mkdtempSync(join(tmpdir(), "distill-cli-train-"));
const bg = join(root, "bg.h5");
const test = join(root, "test.h5");
const config = join(root, "tiny.json");
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
  writeFileSync(config, JSON.stringify(tinyTeacher({ epochs: 3, batchSize: 32 })));
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
