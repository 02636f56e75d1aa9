/**
 * Student QAT training throughput: CICADA v1 and v2 (configs/student-v*.json) at batch 1024,
 * gradients plus the Adam update per batch, on each backend with 0 (this thread) and 2
 * data-parallel workers, on generated background events with synthetic targets. Also the
 * exact export path (exact forward and IR evaluator) on the same events. Prints JSON lines.
 * Peers (Debian's PyTorch training the same float students on 2 threads, batch 1024), as the
 * issue quotes them: about 290,000 events/s for v1 and 175,000 for v2; with an optimised BLAS
 * 2,000,000 and 800,000. Unless --no-peer, ../shared/peers/torch_bench.py --quick also runs here,
 * side by side, and the ratio to it is printed.
 *
 * With --run DIR (a `distill run` folder, e.g. runs/default), also the quality figures of its
 * students against its teacher on the run's test events: Pearson correlation on background and
 * on signal events, the share of teacher-triggered events each student also triggers at 3 kHz,
 * per-signal AUC and efficiency at 3 kHz, each student/teacher efficiency ratio, and
 * eff_3khz_student_over_teacher_min (the smallest ratio over the physics signals the teacher
 * triggers on). Each ratio carries lo68/hi68 and lo95/hi95: percentiles over BENCH_BOOTSTRAP
 * (200) bootstrap redraws of the background (both thresholds) and signal events, i.e. how far
 * another test sample of the same size could move it. tail_slope_background is the student's
 * least-squares slope on the teacher over the BENCH_TAIL (1,000) background events the teacher
 * scores highest: students that flatten there lost signal efficiency in our measurements.
 * A run's test set holds tens of thousands of background events, so its 3 kHz threshold (a
 * false-positive rate of 1e-4) rests on a handful of them: --background FILE sets every model's
 * threshold from FILE's zero-bias events instead, scored here by the run's teacher (ONNX) and
 * students (model IR), e.g. 300,000 events from `distill data generate --samples background`.
 *
 *   [BENCH_BATCHES=200] node --import tsx scripts/bench/student.ts [--no-peer]
 *       [--run DIR [--background FILE]]
 */
import { existsSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { loadStudentConfig } from "../../src/config/student.js";
import { defaultGeneratorConfig, generate } from "../../src/data/generator/index.js";
import { openEvents, readEvents } from "../../src/data/io/index.js";
import { readScores } from "../../src/data/scores.js";
import { pearson, tailSlope } from "../../src/eval/agreement.js";
import { bootstrapEfficiencyRatios } from "../../src/eval/bootstrap.js";
import { evaluateScoresFile } from "../../src/eval/file.js";
import { BACKGROUND_LABEL } from "../../src/eval/metrics.js";
import { efficiency, thresholdAtRate } from "../../src/eval/rate.js";
import { frac } from "../../src/fixed/index.js";
import { compileModel, evaluate, readModel } from "../../src/ir/index.js";
import { type BackendName, selectBackend } from "../../src/nn/backend.js";
import { applyUpdate, newOptimizerState } from "../../src/nn/optim.js";
import { deployedWeights, exactForward } from "../../src/nn/student/exact.js";
import { studentToIR } from "../../src/nn/student/export.js";
import { batchNormStatistics, initialStudentParams, studentModel } from "../../src/nn/student/model.js";
import { studentScores } from "../../src/nn/student/train.js";
import { openTeacher } from "../../src/nn/teacher/open.js";
import { scoreEvents } from "../../src/nn/teacher/score.js";
import { memoryStream } from "../../src/nn/train/data.js";
import { localEngine, workerEngine } from "../../src/nn/train/engine.js";
import { runTorchPeer } from "./lib/peer.js";

const BATCH = 1024;
const BATCHES = Number(process.env.BENCH_BATCHES ?? 200);
const TAIL_EVENTS = Number(process.env.BENCH_TAIL ?? 1000);
const PEERS: Record<string, { torch2: number; torchBlas: number }> = {
  v1: { torch2: 290_000, torchBlas: 2_000_000 },
  v2: { torch2: 175_000, torchBlas: 800_000 },
};
const machine = `${cpus().length}x ${cpus()[0]?.model ?? "cpu"}`;
const events = generate(defaultGeneratorConfig(), ["background"], BATCH * 4, 99);
const targets = Float32Array.from({ length: events.count }, (_, e) => {
  let s = 0;
  for (let i = 0; i < 252; i++) s += events.et[e * 252 + i];
  return Math.sqrt(s);
});
const print = (o: Record<string, unknown>) => console.log(JSON.stringify({ bench: "student", ...o }));

const best: Record<string, number> = {};
for (const backend of ["wasm", "cpu"] as BackendName[]) {
  await selectBackend(backend);
  for (const name of ["v1", "v2"]) {
    const config = loadStudentConfig(`configs/student-${name}.json`);
    for (const workers of [0, 2]) {
      const spec = { kind: "student" as const, config, seed: 1, quantize: true };
      const engine = workers > 0 ? await workerEngine(spec, backend, workers) : await localEngine(spec);
      try {
        const params = await engine.initialParams();
        const grads = new Float32Array(params.length);
        const opt = newOptimizerState(config.training.optimizer, params.length);
        const batch = (k: number) => {
          const s = (k % 4) * BATCH;
          return {
            count: BATCH,
            x: events.et.slice(s * 252, (s + BATCH) * 252),
            y: targets.slice(s, s + BATCH),
          };
        };
        // V8 and the wasm tiers take some tens of steps to settle; time the steady state.
        for (let k = 0; k < 50; k++) await engine.gradients(params, batch(k), grads);
        const t0 = performance.now();
        for (let k = 0; k < BATCHES; k++) {
          await engine.gradients(params, batch(k), grads);
          applyUpdate(config.training.optimizer, opt, params, grads, 1e-3);
        }
        const rate = (BATCHES * BATCH) / ((performance.now() - t0) / 1000);
        best[name] = Math.max(best[name] ?? 0, rate);
        print({
          metric: `${name}_train_events_per_s`,
          value: Math.round(rate),
          unit: "events/s",
          model: config.name,
          backend,
          workers,
          batch: BATCH,
          ratio_to_torch_2_threads: +(rate / PEERS[name].torch2).toFixed(4),
          ratio_to_torch_blas: +(rate / PEERS[name].torchBlas).toFixed(4),
          machine,
        });
      } finally {
        await engine.dispose();
      }
    }
  }
}

// The export path on the last backend: exact forward (split digits) and the IR evaluator.
for (const name of ["v1", "v2"]) {
  const config = loadStudentConfig(`configs/student-${name}.json`);
  const m = studentModel(config);
  const params = initialStudentParams(m, 1);
  const stats = await batchNormStatistics(m, params, memoryStream(events));
  const deployed = deployedWeights(m, params, stats);
  const ir = studentToIR(m, deployed, config.name);
  let t0 = performance.now();
  const exact = exactForward(m, deployed, events.et, events.count);
  const exactRate = events.count / ((performance.now() - t0) / 1000);
  t0 = performance.now();
  const viaIr = evaluate(ir, events.et);
  const irRate = events.count / ((performance.now() - t0) / 1000);
  const same = exact.every((v, i) => v === viaIr[i]);
  print({
    metric: `${name}_exact_forward_events_per_s`,
    value: Math.round(exactRate),
    unit: "events/s",
    model: config.name,
    backend: "cpu",
    bit_exact_vs_ir: same,
    machine,
  });
  print({
    metric: `${name}_ir_eval_events_per_s`,
    value: Math.round(irRate),
    unit: "events/s",
    model: config.name,
    machine,
  });
}

if (!process.argv.includes("--no-peer")) {
  const p = runTorchPeer();
  for (const [name, torch] of [
    ["v1", p?.studentV1],
    ["v2", p?.studentV2],
  ] as const) {
    if (torch === undefined) continue;
    const context = { peer: "torch_bench.py --quick", contended: p?.contended ?? null, machine };
    print({
      metric: `torch_${name}_train_events_per_s`,
      value: Math.round(torch),
      unit: "events/s",
      ...context,
    });
    print({
      metric: `${name}_train_ratio_to_torch`,
      value: +(best[name] / torch).toFixed(3),
      unit: "ratio",
      ...context,
    });
  }
}

const runAt = process.argv.indexOf("--run");
const backgroundAt = process.argv.indexOf("--background");
if (runAt > 0) {
  await runQuality(
    process.argv[runAt + 1] ?? "runs/default",
    backgroundAt > 0 ? process.argv[backgroundAt + 1] : undefined,
  );
}

/** Every model's scores (teacher and the run's students, in score units) for a file's events. */
async function scoreBackground(dir: string, file: string, models: readonly string[]) {
  const teacher = await openTeacher(join(dir, "teacher", "teacher.onnx"), "ort");
  const out: Record<string, Float64Array> = {};
  try {
    const t = await scoreEvents(await openEvents(file), teacher.infer, {
      scale: teacher.scale,
      targetType: teacher.targetType,
    });
    out.teacher = t.score;
  } finally {
    await teacher.infer.dispose();
  }
  const events = await readEvents(file);
  for (const model of models) {
    const ir = readModel(join(dir, "student", model, "student.ir.json"));
    const scale = 2 ** -frac(compileModel(ir).outputType);
    out[model] = studentScores(ir, events).map((v) => v * scale);
  }
  return out;
}

/**
 * Student-teacher agreement and efficiencies of a `distill run` folder's test events, with
 * thresholds from the test background or from `backgroundFile`'s events.
 */
async function runQuality(dir: string, backgroundFile?: string): Promise<void> {
  const scoresFile = join(dir, "reports", "scores.h5");
  const data = join(dir, "data", "test.h5");
  if (!existsSync(scoresFile) || !existsSync(data)) {
    throw new Error(`--run ${dir}: expected ${scoresFile} and ${data} (run \`distill run\` first)`);
  }
  const names = Object.keys((await readScores(scoresFile)).columns).filter((c) => c.startsWith("student_"));
  const columns: Record<string, string> = { teacher: "teacher_score" };
  for (const c of names) columns[c.slice("student_".length)] = c;
  const { events, metrics } = await evaluateScoresFile(scoresFile, { data, columns, ratesKhz: [3] });
  const labels = events.labels;
  const labelNames = events.labelNames ?? [];
  if (!labels) throw new Error(`--run ${dir}: the test events carry no labels`);
  const background = labelNames.indexOf(BACKGROUND_LABEL);
  const faults = new Set(Object.entries(metrics.signals).flatMap(([n, m]) => (m.fault ? [n] : [])));
  const pick = (v: ArrayLike<number>, keep: (label: number) => boolean) =>
    Float64Array.from({ length: v.length }, (_, i) => i)
      .filter((i) => keep(labels[i]))
      .map((i) => v[i]);
  const isSignal = (l: number) => l !== background && !faults.has(labelNames[l]);
  const teacher = events.scores.teacher;
  const students = Object.keys(columns).filter((m) => m !== "teacher");
  const extra = backgroundFile ? await scoreBackground(dir, backgroundFile, students) : undefined;
  const byModel = (keep: (l: number) => boolean, from?: Record<string, Float64Array>) =>
    Object.fromEntries(Object.keys(columns).map((m) => [m, from ? from[m] : pick(events.scores[m], keep)]));
  // Each model's background that sets its threshold: the test background, or FILE's events.
  const thresholdBackground = byModel((l) => l === background, extra);
  const threshold: Record<string, number> = {};
  for (const model of Object.keys(columns)) {
    threshold[model] = thresholdAtRate(thresholdBackground[model], 3).threshold;
  }
  const triggered = (model: string) => {
    const v = events.scores[model];
    return Uint8Array.from({ length: v.length }, (_, i) => (v[i] > threshold[model] ? 1 : 0));
  };
  const teacherTriggered = triggered("teacher");
  const context = {
    run: dir,
    rate_khz: 3,
    thresholds_from: backgroundFile ?? "test background",
    background_events: thresholdBackground.teacher.length,
    machine,
  };
  const signalIndex = new Map(labelNames.map((n, l) => [n, l]));
  const efficiencyOf = (model: string, signal: string) =>
    efficiency(
      pick(events.scores[model], (l) => l === signalIndex.get(signal)),
      threshold[model],
    );
  // How much of each ratio is the test sample's own statistics: a bootstrap over background
  // (both thresholds) and signal events (BENCH_BOOTSTRAP resamples, 200 by default).
  const physics = Object.entries(metrics.signals)
    .filter(([n, m]) => !m.fault && efficiencyOf("teacher", n) > 0)
    .map(([n]) => n);
  const intervals = bootstrapEfficiencyRatios(
    {
      background: thresholdBackground,
      signals: Object.fromEntries(physics.map((n) => [n, byModel((l) => l === signalIndex.get(n))])),
    },
    "teacher",
    students,
    3,
    { resamples: Number(process.env.BENCH_BOOTSTRAP ?? 200) },
  );
  const interval = (i: { lo68: number; hi68: number; lo95: number; hi95: number }) => ({
    lo68: +i.lo68.toFixed(4),
    hi68: +i.hi68.toFixed(4),
    lo95: +i.lo95.toFixed(4),
    hi95: +i.hi95.toFixed(4),
  });
  const bgOf = (v: ArrayLike<number>) => pick(v, (l) => l === background);
  const sigOf = (v: ArrayLike<number>) => pick(v, isSignal);
  const teacherBackground = bgOf(teacher);
  const teacherSignal = sigOf(teacher);
  for (const model of students) {
    const student = events.scores[model];
    const st = triggered(model);
    let both = 0;
    let byTeacher = 0;
    for (let i = 0; i < st.length; i++) {
      byTeacher += teacherTriggered[i];
      both += teacherTriggered[i] & st[i];
    }
    print({
      metric: "pearson_background",
      model,
      value: +pearson(teacherBackground, bgOf(student)).toFixed(4),
      ...context,
    });
    print({
      metric: "pearson_signal",
      model,
      value: +pearson(teacherSignal, sigOf(student)).toFixed(4),
      ...context,
    });
    print({
      metric: "trigger_overlap_3khz",
      model,
      value: +(both / Math.max(1, byTeacher)).toFixed(4),
      ...context,
    });
    // On the threshold background: does the student still rise across the teacher's tail?
    const tail = Math.min(TAIL_EVENTS, thresholdBackground.teacher.length);
    print({
      metric: "tail_slope_background",
      model,
      value: +tailSlope(thresholdBackground.teacher, thresholdBackground[model], tail).toFixed(4),
      tail_events: tail,
      ...context,
    });
    let worst = Number.POSITIVE_INFINITY;
    for (const [signal, m] of Object.entries(metrics.signals)) {
      const t = m.models.teacher;
      const s = m.models[model];
      print({
        metric: "auc",
        signal,
        model,
        value: +s.auc.toFixed(4),
        teacher: +t.auc.toFixed(4),
        ...context,
      });
      const eS = efficiencyOf(model, signal);
      const eT = efficiencyOf("teacher", signal);
      print({
        metric: "eff_3khz",
        signal,
        model,
        value: +eS.toFixed(4),
        teacher: +eT.toFixed(4),
        ...context,
      });
      const ri = intervals[model][signal];
      if (ri) {
        print({
          metric: "eff_3khz_ratio",
          signal,
          model,
          value: +(eS / eT).toFixed(4),
          ...interval(ri),
          ...context,
        });
      }
      if (!m.fault && eT > 0) worst = Math.min(worst, eS / eT);
    }
    print({
      metric: "eff_3khz_student_over_teacher_min",
      model,
      value: +worst.toFixed(4),
      ...interval(intervals[model].min),
      ...context,
    });
  }
}
