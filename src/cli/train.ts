import { availableParallelism } from "node:os";
import { join } from "node:path";
import type { CommandModule } from "yargs";
import { loadStudentConfig } from "../config/student.js";
import { loadTeacherConfig } from "../config/teacher.js";
import {
  type Dataset,
  type DatasetFingerprint,
  fingerprintCounts,
  fingerprintEvents,
  fingerprinter,
  openEvents,
  readEvents,
  readScores,
  scoreColumn,
} from "../data/index.js";
import { DEFAULT_CHUNK } from "../data/io/source.js";
import { evaluateScores } from "../eval/index.js";
import { frac } from "../fixed/index.js";
import { compileModel } from "../ir/index.js";
import { BACKENDS, type BackendName, describeBackend, selectBackend } from "../nn/backend.js";
import { type ScanOver, scanBits } from "../nn/student/scan.js";
import { readSelectionTailFile, type StudentStarts, trainStudentStarts } from "../nn/student/starts.js";
import { readTargets, studentScores, type TrainedStudent, trainStudent } from "../nn/student/train.js";
import { teacherTargets } from "../nn/teacher/targets.js";
import { trainTeacher } from "../nn/teacher/train.js";
import { appendStream, type EventStream } from "../nn/train/data.js";
import { defaultWorkers } from "../nn/train/engine.js";
import { UserError } from "../util/errors.js";
import { table } from "./table.js";

interface TrainArgs {
  teacher: string;
  outliers?: string;
  "outliers-min-score"?: number;
  student?: string[];
  mode: "qat" | "ptq";
  "scan-bits"?: string;
  "scan-over": ScanOver;
  data: string;
  dataset?: string;
  out: string;
  seed: number;
  backend?: BackendName;
  workers?: number;
  resume: boolean;
  epochs?: number;
  eval?: string;
  starts?: number;
  select?: string;
  "select-tail": number;
  "parallel-starts"?: number;
}

const log = (line: string) => console.error(line);

/** `2..16` or `4,6,8` as a list of bit widths. */
export function parseBitRange(text: string): number[] {
  const range = /^(\d+)\.\.(\d+)$/.exec(text);
  const list = range
    ? Array.from(
        { length: Math.max(0, Number(range[2]) - Number(range[1]) + 1) },
        (_, i) => Number(range[1]) + i,
      )
    : text.split(",").map((s) => Number(s.trim()));
  if (list.length === 0 || list.some((b) => !Number.isInteger(b) || b < 2 || b > 24)) {
    throw new UserError(
      `--scan-bits: found "${text}", expected a range such as 2..16 or a list such as 4,6,8 (2 to 24)`,
    );
  }
  return list;
}

/** AUC and efficiency at 3 kHz of every model per signal of the labelled --eval events. */
function printSignals(events: Dataset, scores: Record<string, ArrayLike<number>>): void {
  const m = evaluateScores({
    scores,
    ...(events.labels ? { labels: events.labels } : {}),
    ...(events.labelNames ? { labelNames: events.labelNames } : {}),
  });
  const at3 = m.rates_khz.indexOf(3);
  const models = Object.keys(scores);
  const rows = Object.entries(m.signals).map(([name, s]) => [
    name,
    String(s.events),
    ...models.flatMap((k) => [
      s.models[k].auc.toFixed(4),
      at3 >= 0 ? `${(s.models[k].efficiency[at3] * 100).toFixed(2)}%` : "-",
    ]),
  ]);
  if (rows.length === 0) {
    console.log("--eval: no signal events (labels other than background) to compute an AUC on");
    return;
  }
  console.log(table(["signal", "events", ...models.flatMap((k) => [`${k} AUC`, `${k} eff. 3 kHz`])], rows));
}

export const trainCommand: CommandModule<object, TrainArgs> = {
  command: "train",
  describe:
    "Train the teacher autoencoder on zero-bias events, its distillation targets, then quantized students",
  builder: (y) =>
    y
      .option("teacher", {
        type: "string",
        demandOption: true,
        describe: "teacher config (JSON), e.g. configs/cae.json",
      })
      .option("student", {
        type: "string",
        array: true,
        describe: "student config(s) (JSON), e.g. configs/student-v1.json; trained on the teacher's targets",
      })
      .option("mode", {
        type: "string",
        choices: ["qat", "ptq"] as const,
        default: "qat" as const,
        describe: "students: quantization-aware training, or post-training quantization of a float student",
      })
      .option("outliers", {
        type: "string",
        describe:
          "students: outlier exposure, events (e.g. signal-like or faulty) scored by the teacher and added to the students' training events",
      })
      .option("outliers-min-score", {
        type: "number",
        describe:
          "students: keep only the --outliers events the teacher scores above this (e.g. the tail of many zero-bias events)",
      })
      .option("scan-bits", {
        type: "string",
        describe: "students: train one per bit width (e.g. 2..16) and report agreement and weight counts",
      })
      .option("scan-over", {
        type: "string",
        choices: ["weights", "activations", "both"] as const,
        default: "both" as const,
        describe: "what --scan-bits varies",
      })
      .option("data", {
        type: "string",
        demandOption: true,
        describe: "zero-bias training events (HDF5, .npy, PNG folder, link words)",
      })
      .option("dataset", { type: "string", describe: "HDF5 dataset name (default CaloRegions)" })
      .option("out", { alias: "o", type: "string", default: "runs/train", describe: "run folder" })
      .option("seed", { type: "number", default: 1, describe: "seed of initialisation, split and shuffling" })
      .option("backend", {
        type: "string",
        choices: BACKENDS,
        describe: "force a TensorFlow.js backend (default: the best available)",
      })
      .option("workers", {
        type: "number",
        describe: "data-parallel worker threads (default: one per core for wasm and cpu, 0 for native)",
      })
      .option("resume", {
        type: "boolean",
        default: false,
        describe: "continue from the last finished epoch's checkpoint in the run folder",
      })
      .option("epochs", { type: "number", describe: "override the teacher config's epoch count" })
      .option("starts", {
        type: "number",
        describe:
          "students: train K starts from different initial weights and keep the one that follows the teacher's tail on --select best",
      })
      .option("select", {
        type: "string",
        describe:
          "students: held-out zero-bias events (not the training or test events) the teacher scores; --starts are judged on its tail",
      })
      .option("select-tail", {
        type: "number",
        default: 1000,
        describe: "how many of the --select events the teacher scores highest the starts are judged on",
      })
      .option("parallel-starts", {
        type: "number",
        describe:
          "how many --starts train at once, one worker thread each (default: the machine's cores; the result does not depend on it)",
      })
      .option("eval", {
        type: "string",
        describe: "labelled events (background and signals): the AUC of each model per signal is printed",
      }),
  handler: async (args) => {
    const config = loadTeacherConfig(args.teacher);
    const studentConfigs = (args.student ?? []).map((f) => loadStudentConfig(f));
    const scan = args["scan-bits"] !== undefined ? parseBitRange(args["scan-bits"]) : undefined;
    if (scan && studentConfigs.length === 0) throw new UserError("--scan-bits: name a --student to scan");
    if (args.outliers !== undefined && studentConfigs.length === 0) {
      throw new UserError("--outliers: the outlier events are for students; name a --student");
    }
    const minScore = args["outliers-min-score"];
    if (minScore !== undefined && args.outliers === undefined) {
      throw new UserError("--outliers-min-score: it selects --outliers events; give --outliers FILE");
    }
    if (minScore !== undefined && !Number.isFinite(minScore)) {
      throw new UserError(`--outliers-min-score: found ${minScore}, expected a number (a teacher score)`);
    }
    const starts = args.starts;
    if (starts !== undefined) {
      if (!Number.isInteger(starts) || starts < 2) {
        throw new UserError(`--starts: found ${starts}, expected an integer of at least 2`);
      }
      if (studentConfigs.length === 0)
        throw new UserError("--starts: the starts are students'; name a --student");
      if (scan)
        throw new UserError("--starts: a --scan-bits run trains one student per bit width; drop one of them");
      if (args.select === undefined) {
        throw new UserError(
          "--starts: the starts are judged on held-out zero-bias events; give --select FILE (e.g. 500,000 events)",
        );
      }
    } else if (args.select !== undefined) {
      throw new UserError("--select: the held-out events choose among --starts; give --starts K (2 or more)");
    }
    const parallelStarts = args["parallel-starts"] ?? availableParallelism();
    if (!Number.isInteger(parallelStarts) || parallelStarts < 1) {
      throw new UserError(`--parallel-starts: found ${parallelStarts}, expected a positive integer`);
    }
    if (args["parallel-starts"] !== undefined && starts === undefined) {
      throw new UserError("--parallel-starts: it trains --starts at once; give --starts K (2 or more)");
    }
    const tailSize = args["select-tail"];
    if (!Number.isInteger(tailSize) || tailSize < 2) {
      throw new UserError(`--select-tail: found ${tailSize}, expected an integer of at least 2`);
    }
    if (args.epochs !== undefined) {
      if (!Number.isInteger(args.epochs) || args.epochs < 1) {
        throw new UserError(`--epochs: found ${args.epochs}, expected a positive integer`);
      }
      config.training.epochs = args.epochs;
    }
    const choice = await selectBackend(args.backend);
    log(describeBackend(choice));
    const native = choice.name === "tensorflow" || choice.name === "tensorflow-gpu";
    // One worker thread only adds messaging to what this thread does alone.
    const workersFor = (batch: number) => {
      const parallel = defaultWorkers(batch);
      return args.workers ?? (native || parallel < 2 ? 0 : parallel);
    };
    if (args.workers !== undefined && (!Number.isInteger(args.workers) || args.workers < 0)) {
      throw new UserError(`--workers: found ${args.workers}, expected 0 or a positive integer`);
    }
    const source = await openEvents(args.data, { dataset: args.dataset });
    try {
      log(`data ${source.description}`);
      const fingerprint = await fingerprintEvents(source);
      const heldOut = args.select
        ? await checkHeldOut(args.select, args.dataset, tailSize, fingerprint)
        : undefined;
      const workers = workersFor(config.training.batchSize);
      log(
        `training on ${workers === 0 ? "this thread" : `${workers} worker thread${workers > 1 ? "s" : ""}`}`,
      );
      const dir = join(args.out, "teacher");
      const t = await trainTeacher({
        config,
        data: source,
        fingerprint,
        dir,
        seed: args.seed,
        backend: choice.name,
        workers,
        resume: args.resume,
        log,
      });
      const best = t.history[t.bestEpoch - 1];
      log(
        `teacher saved to ${t.modelDir} (epoch ${t.bestEpoch}, validation loss ${best?.validationLoss.toPrecision(5)})`,
      );
      t.model.dispose();
      const scored = [
        { name: "train", data: args.data },
        ...(args.eval ? [{ name: "eval", data: args.eval }] : []),
        ...(args.outliers ? [{ name: "outliers", data: args.outliers }] : []),
        ...(args.select ? [{ name: "select", data: args.select }] : []),
      ];
      const targets = await teacherTargets(t.modelDir, dir, scored, args.dataset, log);
      /** The scores file of one of the `scored` inputs, by name. */
      const scoresFile = (name: string) => targets.scores[scored.findIndex((x) => x.name === name)].file;
      const selection =
        args.select && heldOut
          ? await readSelectionTailFile(args.select, scoresFile("select"), heldOut, tailSize, args.dataset)
          : undefined;
      const targetFile = scoresFile("train");
      console.log(`distillation targets (${targets.targetType}): ${targetFile}`);

      const evalEvents = args.eval ? await readEvents(args.eval, { dataset: args.dataset }) : undefined;
      const scores: Record<string, ArrayLike<number>> = {};
      if (evalEvents) {
        const s = await readScores(scoresFile("eval"));
        scores.teacher = scoreColumn(s, "teacher_score", scoresFile("eval")).values as Float64Array;
      }
      const zeroBiasTargets =
        studentConfigs.length > 0
          ? await readTargets(targetFile, fingerprint, args.data)
          : new Float32Array(0);
      // Outlier exposure: the outlier events with their teacher scores follow the zero-bias ones.
      const student = args.outliers
        ? await withOutliers(
            source,
            fingerprint,
            zeroBiasTargets,
            args.outliers,
            scoresFile("outliers"),
            args.dataset,
            minScore,
          )
        : { data: source as EventStream, targets: zeroBiasTargets, fingerprint, offered: 0 };
      if (args.outliers) {
        const added = student.data.count - source.count;
        log(
          minScore === undefined
            ? `outlier exposure: ${added} events of ${args.outliers} added to the students' ${source.count}`
            : `outlier exposure: ${added} of the ${student.offered} events of ${args.outliers} (teacher score above ${minScore}) added to the students' ${source.count}`,
        );
      }
      for (const [i, sc] of studentConfigs.entries()) {
        const sdir = join(args.out, "student", sc.name);
        // Students are small: worker threads cost more in messaging than they save.
        const sworkers = args.workers ?? 0;
        if (scan) {
          const evaluation = evalEvents
            ? { et: evalEvents.et, count: evalEvents.count, targets: Float32Array.from(scores.teacher) }
            : { et: new Uint16Array(0), count: 0, targets: new Float32Array(0) };
          if (!evalEvents) throw new UserError("--scan-bits: give --eval events to measure the agreement on");
          const points = await scanBits({
            config: sc,
            data: student.data,
            targets: student.targets,
            fingerprint: student.fingerprint,
            evaluation,
            dir: join(sdir, "scan"),
            bits: scan,
            over: args["scan-over"],
            seed: args.seed,
            backend: choice.name,
            workers: sworkers,
            log,
          });
          console.log(
            `bit scan of ${sc.name} over ${args["scan-over"]} (agreement with the teacher on ${args.eval})`,
          );
          console.log(
            table(
              ["bits", "pearson", "non-zero weights", "weight bits", "model IR"],
              points.map((p) => [
                String(p.bits),
                p.pearson.toFixed(4),
                `${p.nonZeroWeights}/${p.totalWeights}`,
                String(p.weightBits),
                p.irFile,
              ]),
            ),
          );
          continue;
        }
        const options = {
          config: sc,
          data: student.data,
          targets: student.targets,
          fingerprint: student.fingerprint,
          dir: sdir,
          seed: args.seed,
          backend: choice.name,
          workers: sworkers,
          mode: args.mode,
          resume: args.resume,
          log,
        };
        let s: TrainedStudent | StudentStarts;
        if (starts !== undefined && selection) {
          const r = await trainStudentStarts({ ...options, starts, selection, parallel: parallelStarts });
          console.log(
            `starts of ${sc.name}, judged on the teacher's top ${selection.count} of the ${selection.from} events of ${args.select}`,
          );
          console.log(
            table(
              ["start", "init seed", "validation loss", "tail slope", ""],
              r.starts.map((x) => [
                String(x.start),
                String(x.initSeed),
                x.validationLoss?.toPrecision(5) ?? "-",
                x.tailSlope?.toFixed(4) ?? "-",
                x.start === r.chosen ? "kept" : "",
              ]),
            ),
          );
          s = r;
        } else {
          s = await trainStudent(options);
        }
        console.log(
          `student ${sc.name} (${args.mode}, ${args.student?.[i]}): ${s.nonZeroWeights}/${s.totalWeights} non-zero weights, ${s.weightBits} weight bits -> ${s.irFile}`,
        );
        if (evalEvents) {
          const scale = 2 ** -frac(compileModel(s.ir).outputType);
          scores[sc.name] = Float64Array.from(studentScores(s.ir, evalEvents), (v) => v * scale);
        }
      }
      if (evalEvents) printSignals(evalEvents, scores);
    } finally {
      source.close();
    }
  },
};

/**
 * Checks the `--select` events before any training: other events than the training ones, and
 * at least `k` of them.
 */
async function checkHeldOut(
  file: string,
  dataset: string | undefined,
  k: number,
  training: DatasetFingerprint,
): Promise<DatasetFingerprint> {
  const src = await openEvents(file, { dataset });
  try {
    const fingerprint = await fingerprintEvents(src);
    if (fingerprint.sha256 === training.sha256) {
      throw new UserError(`--select: ${file} holds the training events; give events held out of training`);
    }
    if (k > src.count) {
      throw new UserError(`--select-tail: found ${k}, expected at most the ${src.count} events of ${file}`);
    }
    return fingerprint;
  } finally {
    src.close();
  }
}

/**
 * The students' training events with outlier exposure: the zero-bias stream, then the events
 * of `file` (read into memory; with `minScore`, those the teacher scores above it), with the
 * teacher's targets of both, and the fingerprint of the combined events in that order.
 */
async function withOutliers(
  source: EventStream,
  fingerprint: DatasetFingerprint,
  zeroBiasTargets: Float32Array,
  file: string,
  scoresFile: string,
  dataset: string | undefined,
  minScore?: number,
): Promise<{ data: EventStream; targets: Float32Array; fingerprint: DatasetFingerprint; offered: number }> {
  const all = await readEvents(file, { dataset });
  if (all.count === 0) throw new UserError(`--outliers: ${file} holds no events`);
  const allTargets = await readTargets(scoresFile, fingerprintCounts(all.et, all.count), file);
  let outliers = all;
  let outlierTargets = allTargets;
  if (minScore !== undefined) {
    const keep: number[] = [];
    for (let i = 0; i < all.count; i++) if (allTargets[i] > minScore) keep.push(i);
    outliers = all.take(keep);
    outlierTargets = Float32Array.from(keep, (i) => allTargets[i]);
  }
  const data = appendStream(source, outliers);
  const f = fingerprinter();
  for await (const c of data.chunks(DEFAULT_CHUNK)) f.update(c.et, c.count);
  const combined = f.digest();
  if (combined.events !== fingerprint.events + outliers.count) {
    throw new UserError(`--outliers: the training events changed while reading them`);
  }
  const targets = new Float32Array(zeroBiasTargets.length + outlierTargets.length);
  targets.set(zeroBiasTargets);
  targets.set(outlierTargets, zeroBiasTargets.length);
  return { data, targets, fingerprint: combined, offered: all.count };
}
