import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import type { PipelineConfig } from "./config/pipeline.js";
import { loadStudentConfig } from "./config/student.js";
import { loadTarget } from "./config/target.js";
import { loadTeacherConfig } from "./config/teacher.js";
import {
  type Dataset,
  type DatasetFingerprint,
  defaultGeneratorConfig,
  fingerprintEvents,
  generateChunks,
  openEvents,
  readEvents,
  readScores,
  type SampleName,
  writeChunks,
  writeScores,
} from "./data/index.js";
import { allowedEvents, type EvalMetrics, evaluateScoresFile, workingPointNotes } from "./eval/index.js";
import { frac } from "./fixed/index.js";
import { compileModel, readModel } from "./ir/index.js";
import { type BackendName, describeBackend, selectBackend } from "./nn/backend.js";
import {
  readSelectionTailFile,
  type SelectionTail,
  type StudentStarts,
  trainStudentStarts,
} from "./nn/student/starts.js";
import { readTargets, studentScores, type TrainedStudent, trainStudent } from "./nn/student/train.js";
import { teacherTargets } from "./nn/teacher/targets.js";
import { trainTeacher } from "./nn/teacher/train.js";
import { CheckpointError } from "./nn/train/checkpoint.js";
import { defaultWorkers } from "./nn/train/engine.js";
import { pipelineStages, type ReportInput, reportSummary, writeReport } from "./report/index.js";
import { generateRtl, writeRtl } from "./rtl/emit.js";
import { readDesignReport } from "./rtl/report.js";
import { cosimModel } from "./sim/cosim.js";
import { synthesizeDesign } from "./synth/index.js";
import { writeFileAtomic } from "./util/atomic.js";
import { UserError } from "./util/errors.js";

/**
 * The whole chain as one function: data, teacher, targets, students, RTL, co-simulation,
 * synthesis estimate, evaluation and report, each step writing into one run folder. A step
 * is skipped when `run.json` records it finished with the same inputs (a hash of its config
 * and of the steps it reads) and its outputs are still there; a crash loses at most the step
 * in progress (and the teacher and students resume from their last finished epoch).
 */
export const STEPS = [
  "data",
  "teacher",
  "targets",
  "students",
  "rtl",
  "cosim",
  "synth",
  "eval",
  "report",
] as const;
export type StepName = (typeof STEPS)[number];

export class PipelineError extends UserError {
  override readonly name = "PipelineError";
}

/** How a student was chosen among its starts (`select` in the pipeline config). */
export interface StudentSelection {
  /** The start kept (1-based). */
  readonly chosen: number;
  /** Each start's tail slope (null when undefined). */
  readonly tailSlopes: readonly (number | null)[];
  readonly tail: number;
  readonly from: number;
}

interface StepRecord {
  readonly key: string;
  readonly seconds: number;
  readonly finished: string;
  readonly result: unknown;
}

export interface RunFile {
  readonly format: "distill-run";
  readonly version: 1;
  readonly configFile: string;
  readonly config: PipelineConfig;
  readonly seed: number;
  readonly versions: Record<string, string>;
  backend?: string;
  steps: Record<string, StepRecord>;
}

export interface RunOptions {
  /** Redo this step and every later one even if their inputs did not change. */
  readonly from?: StepName;
  readonly log?: (line: string) => void;
}

export interface RunResult {
  readonly dir: string;
  readonly run: RunFile;
  readonly summary: string;
  readonly metricsFile: string;
  readonly reportFile: string;
}

const hash = (v: unknown) => createHash("sha256").update(JSON.stringify(v)).digest("hex").slice(0, 16);
const fileHash = (f: string) => createHash("sha256").update(readFileSync(f)).digest("hex").slice(0, 16);

function packageVersion(name: string): string {
  try {
    const url = new URL(`../node_modules/${name}/package.json`, import.meta.url);
    return (JSON.parse(readFileSync(url, "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

function versions(): Record<string, string> {
  const own = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return {
    distill: own.version,
    node: process.versions.node,
    "@tensorflow/tfjs-core": packageVersion("@tensorflow/tfjs-core"),
    "onnxruntime-node": packageVersion("onnxruntime-node"),
  };
}

async function* concatChunks(parts: Iterable<Iterable<Dataset>>): AsyncGenerator<Dataset> {
  for (const p of parts) yield* p;
}

async function fingerprintFile(file: string, dataset?: string): Promise<DatasetFingerprint> {
  const src = await openEvents(file, dataset ? { dataset } : {});
  try {
    return await fingerprintEvents(src);
  } finally {
    src.close();
  }
}

/** Runs (or resumes) the pipeline of `config` in `dir`. */
export async function runPipeline(
  config: PipelineConfig,
  configFile: string,
  dir: string,
  o: RunOptions = {},
): Promise<RunResult> {
  const log = o.log ?? (() => {});
  mkdirSync(dir, { recursive: true });
  const runFile = join(dir, "run.json");
  const previous = existsSync(runFile) ? (JSON.parse(readFileSync(runFile, "utf8")) as RunFile) : undefined;
  const run: RunFile = {
    format: "distill-run",
    version: 1,
    configFile: resolve(configFile),
    config,
    seed: config.seed,
    versions: versions(),
    steps: { ...(previous?.steps ?? {}) },
  };
  const save = () => writeFileAtomic(runFile, `${JSON.stringify(run, null, 2)}\n`);
  const forceFrom = o.from ? STEPS.indexOf(o.from) : STEPS.length;

  let backend: BackendName | undefined;
  const startBackend = async () => {
    if (backend) return backend;
    const choice = await selectBackend(config.backend);
    log(describeBackend(choice));
    backend = choice.name;
    run.backend = backend;
    return backend;
  };
  const workersFor = (batch: number, b: BackendName) => {
    if (config.workers !== undefined) return config.workers;
    if (b === "tensorflow" || b === "tensorflow-gpu") return 0;
    const n = defaultWorkers(batch);
    return n > 1 ? n : 0;
  };

  /** Runs a step unless run.json has it with the same key and its outputs exist. */
  async function step<R>(
    name: StepName,
    detail: string,
    inputs: unknown,
    outputs: string[],
    fn: () => Promise<R>,
  ) {
    const key = hash({ name, detail, inputs });
    const id = detail ? `${name}:${detail}` : name;
    const done = run.steps[id];
    if (STEPS.indexOf(name) < forceFrom && done?.key === key && outputs.every((f) => existsSync(f))) {
      log(`[${id}] up to date (finished ${done.finished})`);
      return done.result as R;
    }
    log(`[${id}] running`);
    const t0 = performance.now();
    delete run.steps[id];
    save();
    const result = await fn();
    const seconds = (performance.now() - t0) / 1000;
    run.steps[id] = { key, seconds, finished: new Date().toISOString(), result };
    save();
    log(`[${id}] done in ${seconds.toFixed(1)} s`);
    return result;
  }

  // 1. Data.
  const dataDir = join(dir, "data");
  const data = await step("data", "", config.data, [], async () => {
    if ("files" in config.data) {
      const f = config.data.files;
      return {
        train: f.train,
        test: f.test,
        dataset: f.dataset,
        trainFingerprint: await fingerprintFile(f.train, f.dataset),
        testFingerprint: await fingerprintFile(f.test, f.dataset),
        ...(f.select !== undefined
          ? { select: f.select, selectFingerprint: await fingerprintFile(f.select, f.dataset) }
          : {}),
      };
    }
    const g = config.data.generate;
    const gen = defaultGeneratorConfig();
    mkdirSync(dataDir, { recursive: true });
    const train = join(dataDir, "train.h5");
    const test = join(dataDir, "test.h5");
    await writeChunks(train, generateChunks(gen, "background", g.trainEvents, g.seed));
    // The test set uses other seeds than the training set: no event is in both.
    const samples = ["background", ...g.signals] as SampleName[];
    await writeChunks(
      test,
      concatChunks(
        samples.map((s) =>
          generateChunks(
            gen,
            s,
            s === "background" ? g.testBackgroundEvents : g.testSignalEvents,
            g.seed + 1000,
          ),
        ),
      ),
    );
    let held: { select?: string; selectFingerprint?: DatasetFingerprint } = {};
    if (g.selectionEvents !== undefined) {
      // Zero-bias events of a third seed: neither trained on nor setting any threshold.
      const select = join(dataDir, "select.h5");
      await writeChunks(select, generateChunks(gen, "background", g.selectionEvents, g.seed + 2000));
      held = { select, selectFingerprint: await fingerprintFile(select) };
    }
    return {
      train,
      test,
      dataset: undefined as string | undefined,
      trainFingerprint: await fingerprintFile(train),
      testFingerprint: await fingerprintFile(test),
      ...held,
    };
  });
  const dataset = data.dataset;
  const open = (f: string) => openEvents(f, dataset ? { dataset } : {});

  // 2. Teacher.
  const teacherDir = join(dir, "teacher");
  const teacherConfig = loadTeacherConfig(config.teacher.config);
  if (config.teacher.epochs) teacherConfig.training.epochs = config.teacher.epochs;
  const teacher = await step(
    "teacher",
    "",
    { teacherConfig, seed: config.seed, data: data.trainFingerprint },
    [join(teacherDir, "model", "model.json")],
    async () => {
      const b = await startBackend();
      const workers = workersFor(teacherConfig.training.batchSize, b);
      const source = await open(data.train);
      try {
        const train = (resume: boolean) =>
          trainTeacher({
            config: teacherConfig,
            data: source,
            fingerprint: data.trainFingerprint,
            dir: teacherDir,
            seed: config.seed,
            backend: b,
            workers,
            resume,
            log,
          });
        const t = await train(true).catch((e: unknown) => {
          if (!(e instanceof CheckpointError)) throw e;
          log(`teacher: not resuming (${e.message}); starting afresh`);
          rmSync(join(teacherDir, "checkpoint"), { recursive: true, force: true });
          return train(false);
        });
        t.model.dispose();
        return { modelDir: t.modelDir, bestEpoch: t.bestEpoch, history: t.history, workers, backend: b };
      } finally {
        source.close();
      }
    },
  );

  // 3. Targets: the teacher in ONNX, scored with ONNX Runtime on the training and test events.
  const onnxFile = join(teacherDir, "teacher.onnx");
  const trainScores = join(teacherDir, "train-scores.h5");
  const testScores = join(teacherDir, "test-scores.h5");
  const selectScores = join(teacherDir, "select-scores.h5");
  await step(
    "targets",
    "",
    { teacher: fileHash(join(teacher.modelDir, "weights.bin")), data },
    [onnxFile, trainScores, testScores, ...(data.select ? [selectScores] : [])],
    async () => {
      await startBackend();
      const r = await teacherTargets(
        teacher.modelDir,
        teacherDir,
        [
          { name: "train", data: data.train },
          { name: "test", data: data.test },
          ...(data.select ? [{ name: "select", data: data.select }] : []),
        ],
        dataset,
        log,
      );
      return { onnxFile, targetType: r.targetType, seconds: r.scores.map((x) => x.seconds) };
    },
  );

  // 4. Students.
  const students: {
    name: string;
    irFile: string;
    nonZeroWeights: number;
    weightBits: number;
    selection?: StudentSelection;
  }[] = [];
  for (const s of config.students) {
    const studentConfig = loadStudentConfig(s.config);
    if (s.epochs) studentConfig.training.epochs = s.epochs;
    if (s.batchSize) studentConfig.training.batchSize = s.batchSize;
    const sdir = join(dir, "student", studentConfig.name);
    const select = s.select;
    if (select && !data.select) {
      throw new PipelineError(
        `${configFile}: students: ${studentConfig.name} has select but the run has no selection events`,
      );
    }
    const r = await step(
      "students",
      studentConfig.name,
      {
        studentConfig,
        mode: s.mode,
        seed: config.seed,
        targets: fileHash(trainScores),
        ...(select ? { select, selectScores: fileHash(selectScores) } : {}),
      },
      [join(sdir, "student.ir.json")],
      async () => {
        const b = await startBackend();
        const targetValues = await readTargets(trainScores, data.trainFingerprint, data.train);
        const source = await open(data.train);
        try {
          const options = (resume: boolean) => ({
            config: studentConfig,
            data: source,
            targets: targetValues,
            fingerprint: data.trainFingerprint,
            dir: sdir,
            seed: config.seed,
            backend: b,
            // Students are small: worker threads cost more in messaging than they save
            // (scripts/bench/student.ts: v1 76,000 events/s on one thread, 44,000 on two).
            workers: config.workers ?? 0,
            mode: s.mode,
            resume,
            log,
          });
          const afresh =
            <T>(retry: () => Promise<T>) =>
            (e: unknown) => {
              if (!(e instanceof CheckpointError)) throw e;
              log(`student ${studentConfig.name}: not resuming (${e.message}); starting afresh`);
              rmSync(join(sdir, "checkpoint"), { recursive: true, force: true });
              rmSync(join(sdir, "starts"), { recursive: true, force: true });
              return retry();
            };
          let tail: SelectionTail | undefined;
          if (select && data.select && data.selectFingerprint) {
            tail = await readSelectionTailFile(
              data.select,
              selectScores,
              data.selectFingerprint,
              select.tail,
              dataset,
            );
          }
          const train = (resume: boolean): Promise<TrainedStudent | StudentStarts> =>
            select && tail
              ? trainStudentStarts({
                  ...options(resume),
                  starts: select.starts,
                  selection: tail,
                  // One start per core at a time; which start is kept does not depend on it.
                  parallel: availableParallelism(),
                })
              : trainStudent(options(resume));
          const t = await train(true).catch(afresh(() => train(false)));
          return {
            name: studentConfig.name,
            irFile: t.irFile,
            nonZeroWeights: t.nonZeroWeights,
            weightBits: t.weightBits,
            history: t.history,
            ...("chosen" in t && tail
              ? {
                  selection: {
                    chosen: t.chosen,
                    tailSlopes: t.starts.map((x) => x.tailSlope),
                    tail: tail.count,
                    from: tail.from,
                  },
                }
              : {}),
          };
        } finally {
          source.close();
        }
      },
    );
    students.push(r);
  }
  const deployName = config.deploy ?? students[0].name;
  const deployed = students.find((s) => s.name === deployName);
  if (!deployed) {
    throw new PipelineError(
      `${configFile}: deploy: found "${deployName}", expected one of the students' names (${students.map((s) => s.name).join(", ")})`,
    );
  }

  // 5. RTL of the deployed student.
  const rtlDir = join(dir, "rtl");
  const hw = config.hardware;
  const emitOptions = {
    target: loadTarget(hw.target),
    ...(hw.clockMhz ? { clockMhz: hw.clockMhz } : {}),
    latencyBudgetBx: hw.latencyBudgetBx,
  };
  const rtl = await step(
    "rtl",
    "",
    { ir: fileHash(deployed.irFile), hw },
    [join(rtlDir, "report.json")],
    async () => {
      const design = generateRtl(readModel(deployed.irFile), emitOptions);
      const report = writeRtl(rtlDir, design, emitOptions);
      return { report, stages: pipelineStages(design.netlist, design.schedule) };
    },
  );

  // 6. Co-simulation of every test event.
  const cosim = await step(
    "cosim",
    "",
    { rtl: fileHash(join(rtlDir, "report.json")), test: data.testFingerprint },
    [],
    async () => {
      const src = await open(data.test);
      try {
        async function* events() {
          for await (const chunk of src.chunks())
            for (let e = 0; e < chunk.count; e++) yield chunk.et.subarray(e * 252, (e + 1) * 252);
        }
        const r = await cosimModel(rtlDir, { inputs: events() });
        return {
          events: r.events,
          mismatches: r.mismatches.length,
          ok: r.ok,
          latency: r.latency,
          problems: r.problems,
          eventsPerSecond: r.eventsPerSecond,
        };
      } finally {
        src.close();
      }
    },
  );

  // 7. Synthesis estimate.
  const synth = await step(
    "synth",
    "",
    { rtl: fileHash(join(rtlDir, "report.json")), tool: hw.synth },
    [],
    async () => {
      const { result, note } = await synthesizeDesign(rtlDir, hw.synth);
      if (note) log(note);
      return result;
    },
  );

  // 8. Evaluation: teacher and students on the test events.
  const reportsDir = join(dir, "reports");
  const scoresFile = join(reportsDir, "scores.h5");
  const columns: Record<string, string> = { teacher: "teacher_score" };
  for (const s of students) columns[s.name] = `student_${s.name}`;
  const evalKey = {
    test: fileHash(testScores),
    students: students.map((s) => fileHash(s.irFile)),
    evaluation: config.evaluation,
  };
  await step("eval", "", evalKey, [scoresFile], async () => {
    const teacherScores = await readScores(testScores);
    const events = await readEvents(data.test, dataset ? { dataset } : {});
    const cols = { ...teacherScores.columns };
    for (const s of students) {
      const ir = readModel(s.irFile);
      const scale = 2 ** -frac(compileModel(ir).outputType);
      const mantissas = studentScores(ir, events);
      cols[`student_${s.name}`] = {
        values: Float64Array.from(mantissas, (m) => m * scale),
        description: `student ${s.name} score (bit-exact model IR evaluation)`,
      };
    }
    mkdirSync(reportsDir, { recursive: true });
    await writeScores(scoresFile, { ...teacherScores, columns: cols });
    return { scoresFile };
  });

  // 9. Report (always rewritten: it is cheap and names the run's current state).
  const evaluated = await evaluateScoresFile(scoresFile, {
    data: data.test,
    ...(dataset ? { dataset } : {}),
    // "student" is the deployed one (agreement is measured against it); the others by name.
    columns: Object.fromEntries([
      ["teacher", "teacher_score"],
      ["student", `student_${deployed.name}`],
      ...students.filter((x) => x !== deployed).map((x) => [x.name, `student_${x.name}`]),
    ]),
    rateMhz: config.evaluation.zeroBiasRateMhz,
    ratesKhz: config.evaluation.ratesKhz,
  });
  const designReport = readDesignReport(rtlDir);
  const input: ReportInput = {
    title: `distill run ${config.name}`,
    subtitle: `${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC; seed ${config.seed}; teacher on ${teacher.backend}; deployed student ${deployed.name}`,
    evaluation: { events: evaluated.events, metrics: evaluated.metrics },
    design: designReport,
    resources: { ...synth, tool: synth.tool },
    pipeline: rtl.stages,
    cosim: {
      events: cosim.events,
      mismatches: cosim.mismatches,
      ok: cosim.ok,
      detail:
        cosim.problems.join("; ") || `latency ${cosim.latency.min}..${cosim.latency.max} cycles observed`,
    },
  };
  const files = await writeReport(dir, input);
  const summaryFigures = reportSummary(input);
  save();
  return {
    dir,
    run,
    summary: formatSummary(summaryFigures, evaluated.metrics, deployed.name, students),
    metricsFile: join(reportsDir, "metrics.json"),
    reportFile: files.find((f) => f.endsWith(".html")) ?? join(reportsDir, "report.html"),
  };
}

function formatSummary(
  s: ReturnType<typeof reportSummary>,
  m: EvalMetrics,
  deployed: string,
  students: readonly { name: string; selection?: StudentSelection }[],
): string {
  const lines: string[] = [];
  for (const { name, selection: sel } of students) {
    if (!sel) continue;
    const slopes = sel.tailSlopes.map((x) => (x === null ? "-" : x.toFixed(2)));
    lines.push(
      `${name}: kept start ${sel.chosen} of ${slopes.length}, tail slope ${slopes[sel.chosen - 1]} (starts ${slopes.join(", ")}; teacher's top ${sel.tail} of ${sel.from} held-out zero-bias events)`,
    );
  }
  const rates = m.rates_khz;
  if (s.efficiency) {
    const models = [...new Set(Object.values(s.efficiency).flatMap((e) => Object.keys(e)))];
    // How many background events lie above each threshold: the statistics each column rests on.
    const depth = rates.map((r) => allowedEvents(r, m.background_events, m.rate_mhz));
    lines.push(
      `efficiency at ${rates.map((r) => `${r} kHz`).join(" / ")} (thresholds from ${m.background_events} background events, ${depth.join(" / ")} above them)`,
    );
    for (const [signal, per] of Object.entries(s.efficiency)) {
      const cells = models.map(
        (m) =>
          `${m === "student" ? `${deployed} (deployed)` : m} ${(per[m] ?? []).map((e) => (e * 100).toFixed(1)).join("/")}%`,
      );
      lines.push(`  ${signal.padEnd(18)} ${cells.join("   ")}`);
    }
    for (const note of workingPointNotes(m, (n) => (n === "student" ? `${deployed} (deployed)` : n))) {
      lines.push(`  note: ${note}`);
    }
  }
  if (s.latency) {
    const l = s.latency;
    lines.push(
      `latency ${l.cycles} cycles = ${l.ns.toFixed(1)} ns = ${l.bx.toFixed(2)} BX (budget ${l.budget_bx} BX): ${l.pass ? "PASS" : "FAIL"}`,
    );
  }
  if (s.resources) {
    const r = Object.entries(s.resources)
      .map(([k, v]) => `${k} ${v.used}${v.percent !== null ? ` (${v.percent.toFixed(2)}%)` : ""}`)
      .join(", ");
    lines.push(`resources (${s.resources_tool ?? "estimate"}): ${r}`);
  }
  if (s.cosim) {
    lines.push(
      `co-simulation: ${s.cosim.ok ? "OK" : "FAIL"}, ${s.cosim.events} events, ${s.cosim.mismatches} mismatches`,
    );
  }
  return lines.join("\n");
}
