import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { describe, expect, it } from "vitest";
import { tinyTeacher } from "../nn/train/support.js";
import { testCacheBase } from "../support/verilator-cache.js";

const root = mkdtempSync(join(tmpdir(), "distill-run-"));
const q = (bits: number, integer: number) => ({ quantizer: "quantized_bits", bits, integer });
// The deployed student (s2) scales its first kernel per channel by powers of two (auto_po2), so
// that path too runs from training to Verilator.
const student = (name: string, units: number, alpha: number | string = 1) => ({
  name,
  layers: [
    { type: "qdense", units, kernelQuantizer: { ...q(4, 0), alpha }, biasQuantizer: q(6, 3) },
    { type: "qactivation", activation: { quantizer: "quantized_relu", bits: 6, integer: 4 } },
    { type: "qdense", units: 1, useBias: false, kernelQuantizer: q(6, 3) },
    { type: "qactivation", activation: { quantizer: "quantized_relu", bits: 16, integer: 8 } },
  ],
  training: {
    optimizer: { type: "adam", learningRate: 0.01 },
    batchSize: 128,
    epochs: 2,
    validationFraction: 0.2,
  },
});
// Inputs in counts (scale 1), so that the tiny teacher's MSE exceeds 1 and its scores
// (ln(MSE) * 32, floored at 0) spread out instead of all being 0.
writeFileSync(
  join(root, "teacher.json"),
  JSON.stringify({ ...tinyTeacher({ epochs: 1, batchSize: 64 }), input: { scale: 1 } }),
);
writeFileSync(join(root, "s1.json"), JSON.stringify(student("s1", 2)));
writeFileSync(join(root, "s2.json"), JSON.stringify(student("s2", 3, "auto_po2")));
const config = join(root, "pipeline.json");
writeFileSync(
  config,
  JSON.stringify({
    name: "tiny",
    seed: 3,
    data: {
      generate: {
        trainEvents: 600,
        testBackgroundEvents: 400,
        testSignalEvents: 60,
        signals: ["monojet", "hotRegion"],
        selectionEvents: 500,
      },
    },
    teacher: { config: "teacher.json" },
    // s1 is the better of two starts on the held-out events' tail.
    students: [{ config: "s1.json", select: { starts: 2, tail: 40 } }, { config: "s2.json" }],
    deploy: "s2",
    backend: "wasm",
    workers: 0,
    hardware: { synth: "yosys" },
  }),
);
const env = {
  ...process.env,
  DISTILL_CACHE: testCacheBase,
  PATH: (process.env.PATH ?? "")
    .split(delimiter)
    .filter((d) => !existsSync(join(d, "vivado")))
    .join(delimiter),
};
const run = (...args: string[]) =>
  spawnSync(
    process.execPath,
    ["--import", "tsx", "src/cli/main.ts", "run", config, "-o", join(root, "out"), ...args],
    {
      encoding: "utf8",
      env,
    },
  );

describe("distill run", () => {
  it("runs the chain, prints the summary, and on a second run redoes only what --from names", () => {
    const first = run();
    expect(first.status, first.stderr).toBe(0);
    for (const step of [
      "data",
      "teacher",
      "targets",
      "students:s1",
      "students:s2",
      "rtl",
      "cosim",
      "synth",
      "eval",
    ]) {
      expect(first.stderr).toContain(`[${step}] done in `);
    }
    expect(first.stdout).toMatch(
      /^ {2}monojet\s+teacher [\d.]+\/[\d.]+\/[\d.]+%\s+s2 \(deployed\) [\d.]+\/[\d.]+\/[\d.]+%\s+s1 /m,
    );
    // 400 background events are too few for any of 1, 3, 10 kHz: the summary says so.
    expect(first.stdout).toMatch(
      /^efficiency at 1 kHz \/ 3 kHz \/ 10 kHz \(thresholds from 400 background events, 0 \/ 0 \/ 0 above them\)$/m,
    );
    expect(first.stdout).toMatch(/^latency \d+ cycles = [\d.]+ ns = [\d.]+ BX \(budget 8 BX\): PASS$/m);
    expect(first.stdout).toMatch(/^co-simulation: OK, 520 events, 0 mismatches$/m);
    const kept = first.stdout.match(
      /^s1: kept start ([12]) of 2, tail slope (-?[\d.]+) \(starts (-?[\d.]+), (-?[\d.]+); teacher's top 40 of 500 held-out zero-bias events\)$/m,
    );
    expect(kept, first.stdout).not.toBeNull();
    const [, chosen, slope, ...slopes] = kept ?? [];
    expect(slope).toBe(slopes[Number(chosen) - 1]);
    expect(Number(slope)).toBe(Math.max(...slopes.map(Number)));
    expect(first.stdout).toMatch(/^resources \(yosys\): luts \d+ \([\d.]+%\)/m);
    const out = join(root, "out");
    for (const f of [
      "run.json",
      "reports/report.html",
      "reports/metrics.json",
      "rtl/report.json",
      "student/s2/student.ir.json",
      "student/s1/starts/2/student.ir.json",
      "teacher/select-scores.h5",
      "teacher/teacher.onnx",
    ]) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    const runJson = JSON.parse(readFileSync(join(out, "run.json"), "utf8"));
    expect(runJson.seed).toBe(3);
    expect(runJson.backend).toBe("wasm");
    expect(Object.keys(runJson.versions)).toContain("@tensorflow/tfjs-core");
    const metrics = JSON.parse(readFileSync(join(out, "reports", "metrics.json"), "utf8"));
    expect(metrics.summary.cosim.ok).toBe(true);
    const starts = JSON.parse(readFileSync(join(out, "student/s1/starts.json"), "utf8"));
    expect(starts.chosen).toBe(Number(chosen));
    expect(readFileSync(join(out, "student/s1/student.ir.json"), "utf8")).toBe(
      readFileSync(join(out, `student/s1/starts/${chosen}/student.ir.json`), "utf8"),
    );

    const second = run("--from", "synth");
    expect(second.status, second.stderr).toBe(0);
    for (const step of ["data", "teacher", "targets", "students:s1", "students:s2", "rtl", "cosim"]) {
      expect(second.stderr).toContain(`[${step}] up to date`);
    }
    expect(second.stderr).toContain("[synth] done in ");
    expect(second.stderr).toContain("[eval] done in ");
    expect(second.stdout).toBe(
      first.stdout.replace(/\(\d+ s\)/, (m) => second.stdout.match(/\(\d+ s\)/)?.[0] ?? m),
    );
  }, 600_000);
});
