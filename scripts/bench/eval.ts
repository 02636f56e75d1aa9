/**
 * Evaluation and report speed on one core: evaluateScores on 1,000,000 events (900,000
 * background and 100,000 signal, teacher and student scores correlated, so thresholds, AUCs
 * by Mann-Whitney, Pearson, Spearman with tie-averaged ranks and trigger overlaps), then
 * writeReport of 100,000 of those events (ROC, histograms, scatter, 4 heatmaps, PNG and HTML)
 * into a temporary folder. Prints JSON lines.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { N_REGIONS } from "../../src/data/index.js";
import { evaluateScores } from "../../src/eval/index.js";
import { writeReport } from "../../src/report/index.js";
import { rng } from "../../src/util/rng.js";

const machine = cpus()[0]?.model ?? "unknown";
const print = (metric: string, value: number, unit: string, context: Record<string, unknown>) =>
  console.log(
    JSON.stringify({ bench: "eval", metric, value, unit, ...context, machine, node: process.version }),
  );

function scored(n: number, seed: number) {
  const r = rng(seed);
  const labels = new Int32Array(n);
  const teacher = new Float32Array(n);
  const student = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 10 === 9 ? 1 : 0;
    const t = r.normal() + (labels[i] ? 2 : 0);
    teacher[i] = t;
    // A student is a quantized, noisier copy: integer mantissas of 1/16.
    student[i] = Math.round(16 * (t + 0.3 * r.normal()));
  }
  return { labels, teacher, student };
}

const n = 1_000_000;
const s = scored(n, 1);
const events = {
  scores: { teacher: s.teacher, student: s.student },
  labels: s.labels,
  labelNames: ["background", "signal"],
};
evaluateScores({
  ...events,
  scores: { teacher: s.teacher.subarray(0, 1000), student: s.student.subarray(0, 1000) },
  labels: s.labels.subarray(0, 1000),
});
const t0 = performance.now();
evaluateScores(events);
const sec = (performance.now() - t0) / 1000;
print("eval_events_per_s", Math.round(n / sec), "events/s", { events: n, models: 2 });

const m = 100_000;
const small = {
  scores: { teacher: s.teacher.subarray(0, m), student: s.student.subarray(0, m) },
  labels: s.labels.subarray(0, m),
  labelNames: ["background", "signal"],
  inputMaps: {
    background: Float32Array.from({ length: N_REGIONS }, (_, i) => i % 14),
    signal: Float32Array.from({ length: N_REGIONS }, (_, i) => Math.floor(i / 14)),
  },
  errorMaps: {
    background: Float32Array.from({ length: N_REGIONS }, () => 1),
    signal: Float32Array.from({ length: N_REGIONS }, (_, i) => (i === 40 ? 5 : 1)),
  },
};
const dir = mkdtempSync(join(tmpdir(), "distill-bench-eval-"));
const t1 = performance.now();
await writeReport(dir, { evaluation: { events: small, metrics: evaluateScores(small) } });
print("report_s", Number(((performance.now() - t1) / 1000).toFixed(2)), "s", { events: m, plots: 7 });
rmSync(dir, { recursive: true, force: true });
