import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import type { DatasetFingerprint } from "../../data/fingerprint.js";
import { N_REGIONS } from "../../data/geometry.js";
import { openEvents } from "../../data/io/index.js";
import { DEFAULT_CHUNK, type EventSource } from "../../data/io/source.js";
import { tailSlope, topEvents } from "../../eval/agreement.js";
import { frac } from "../../fixed/index.js";
import { compileModel, type ModelIR, readModel } from "../../ir/index.js";
import { writeFileAtomic } from "../../util/atomic.js";
import { workerEntry } from "../../util/worker.js";
import { CheckpointError } from "../train/checkpoint.js";
import type { EventStream } from "../train/data.js";
import type { EpochRecord } from "../train/loop.js";
import type { StartReply, StartRequest, StartResult } from "./start-worker.js";
import {
  readTargets,
  StudentError,
  type StudentTrainOptions,
  studentScores,
  studentTag,
  type TrainedStudent,
  trainStudent,
  type WeightCounts,
} from "./train.js";

/**
 * Best of several starts. How well a student keeps the teacher's efficiency at the trigger's
 * working point depends on its initial weights far more than its validation loss shows (README,
 * conv-v1: 7 of 48 starts kept it on every signal). Each start trains from other initial
 * weights on the same split and shuffling; the start kept is the one whose score rises most
 * steeply across the teacher's tail on held-out zero-bias events (`tailSlope`). Every conv-v1
 * start that kept the efficiency was steep there, but only half of the steep ones did.
 */

/** The events a held-out zero-bias set's teacher scores highest: what starts are judged on. */
export interface SelectionTail {
  /** The events, highest teacher score first (252 counts each). */
  readonly et: Uint16Array;
  readonly count: number;
  /** The teacher's scores of those events, in the student's output units. */
  readonly teacher: Float32Array;
  /** The file they were chosen from, and how many events it holds. */
  readonly source: string;
  readonly from: number;
}

/**
 * Reads the `k` events of `source` with the highest `teacher` scores (one per event of the
 * file, e.g. from `readTargets`), streaming: only those events are kept in memory.
 */
export async function readSelectionTail(
  source: EventSource,
  teacher: Float32Array,
  k: number,
): Promise<SelectionTail> {
  if (teacher.length !== source.count) {
    throw new StudentError(
      `${source.file}: found ${teacher.length} teacher scores for ${source.count} events, expected one per event`,
    );
  }
  if (!Number.isInteger(k) || k < 2 || k > source.count) {
    throw new StudentError(
      `${source.file}: a tail of ${k} events: expected an integer from 2 to the file's ${source.count} events`,
    );
  }
  const top = topEvents(teacher, k);
  const position = new Map(top.map((event, j) => [event, j]));
  const et = new Uint16Array(k * 252);
  let at = 0;
  for await (const chunk of source.chunks()) {
    for (let e = 0; e < chunk.count; e++) {
      const j = position.get(at + e);
      if (j !== undefined) et.set(chunk.et.subarray(e * 252, (e + 1) * 252), j * 252);
    }
    at += chunk.count;
  }
  if (at !== source.count) {
    throw new StudentError(`${source.file}: read ${at} events, expected ${source.count}`);
  }
  return {
    et,
    count: k,
    teacher: Float32Array.from(top, (i) => teacher[i]),
    source: source.file,
    from: source.count,
  };
}

/**
 * `readSelectionTail` of an event file and the teacher's scores of it (a scores file checked
 * against the file's `fingerprint`, as `readTargets` does).
 */
export async function readSelectionTailFile(
  file: string,
  scoresFile: string,
  fingerprint: DatasetFingerprint,
  k: number,
  dataset?: string,
): Promise<SelectionTail> {
  const teacher = await readTargets(scoresFile, fingerprint, file);
  const src = await openEvents(file, dataset ? { dataset } : {});
  try {
    return await readSelectionTail(src, teacher, k);
  } finally {
    src.close();
  }
}

export interface StartRecord extends WeightCounts {
  /** 1..K; start 1's initial weights come from the training seed itself. */
  readonly start: number;
  readonly initSeed: number;
  /** The start's training tag (config, seeds, mode, data and targets): it is reused only when equal. */
  readonly tag: string;
  /** Slope of the student on the teacher over the selection tail; null when undefined (NaN). */
  readonly tailSlope: number | null;
  readonly bestEpoch: number;
  readonly validationLoss: number | null;
}

export interface StartsLog {
  readonly format: "distill-starts";
  readonly version: 1;
  readonly selection: {
    readonly source: string;
    readonly from: number;
    readonly tail: number;
    readonly hash: string;
  };
  readonly starts: readonly StartRecord[];
  /** The start kept (its files are copied into the student's folder); absent while training. */
  readonly chosen?: number;
}

export interface StartsOptions extends StudentTrainOptions {
  /** How many starts to train (at least 2). */
  readonly starts: number;
  readonly selection: SelectionTail;
  /**
   * How many starts train at once, each on a worker thread of its own (default 1: one after
   * another on this thread, with `workers` data-parallel threads each). The starts and the one
   * kept do not depend on it.
   */
  readonly parallel?: number;
}

export interface StudentStarts extends WeightCounts {
  readonly ir: ModelIR;
  /** `dir/student.ir.json`: the chosen start's. */
  readonly irFile: string;
  readonly modelDir: string;
  readonly history: readonly EpochRecord[];
  readonly bestEpoch: number;
  readonly starts: readonly StartRecord[];
  readonly chosen: number;
}

const STARTS_FILE = "starts.json";

/**
 * Trains `starts` students that differ only in their initial weights (seeds `seed`,
 * `seed + 1`, ...), each in `dir/starts/<n>/`, and keeps the one with the largest tail slope on
 * `selection`: its model, IR and history are copied into `dir`, as a single training would
 * leave them. `dir/starts.json` records every start as it finishes; with `resume`, starts it
 * records with the same tag are not trained again, and an unfinished one continues from its
 * last epoch.
 */
export async function trainStudentStarts(o: StartsOptions): Promise<StudentStarts> {
  if (!Number.isInteger(o.starts) || o.starts < 2) {
    throw new StudentError(`starts: found ${o.starts}, expected an integer of at least 2`);
  }
  if (o.selection.count < 2) {
    throw new StudentError(
      `${o.selection.source}: a selection tail of ${o.selection.count} events, expected at least 2`,
    );
  }
  const mode = o.mode ?? "qat";
  const log = o.log ?? (() => {});
  const name = o.config.name;
  const logFile = join(o.dir, STARTS_FILE);
  mkdirSync(o.dir, { recursive: true });
  const previous = o.resume ? readStartsLog(logFile) : undefined;
  const selection = {
    source: o.selection.source,
    from: o.selection.from,
    tail: o.selection.count,
    hash: createHash("sha256")
      .update(new Uint8Array(o.selection.et.buffer, o.selection.et.byteOffset, o.selection.et.byteLength))
      .update(
        new Uint8Array(
          o.selection.teacher.buffer,
          o.selection.teacher.byteOffset,
          o.selection.teacher.byteLength,
        ),
      )
      .digest("hex")
      .slice(0, 16),
  };
  const records = new Map<number, StartRecord>();
  const write = (chosen?: number) => {
    const json: StartsLog = {
      format: "distill-starts",
      version: 1,
      selection,
      starts: [...records.values()].sort((a, b) => a.start - b.start),
      ...(chosen !== undefined ? { chosen } : {}),
    };
    writeFileAtomic(logFile, `${JSON.stringify(json, null, 1)}\n`);
  };
  /** Judges a trained start on the selection tail and records it. */
  const finish = (trained: Omit<StartRecord, "tailSlope">, ir: ModelIR) => {
    const scale = 2 ** -frac(compileModel(ir).outputType);
    const scores = Float64Array.from(studentScores(ir, o.selection), (v) => v * scale);
    const slope = tailSlope(o.selection.teacher, scores, o.selection.count);
    records.set(trained.start, { ...trained, tailSlope: Number.isFinite(slope) ? slope : null });
    write();
    log(
      `student ${name} start ${trained.start}/${o.starts}: tail slope ${Number.isFinite(slope) ? slope.toFixed(3) : "undefined (constant teacher tail)"} over the teacher's top ${o.selection.count} of ${o.selection.from} events of ${o.selection.source}; validation loss ${trained.validationLoss?.toPrecision(5) ?? "-"}`,
    );
  };
  const todo: PlannedStart[] = [];
  for (let start = 1; start <= o.starts; start++) {
    const dir = startDir(o.dir, start);
    const initSeed = o.seed + start - 1;
    const tag = studentTag(o.config, o.seed, mode, o.fingerprint, o.targets, initSeed);
    const irFile = join(dir, "student.ir.json");
    const done = previous?.starts.find((r) => r.start === start && r.tag === tag);
    if (done && existsSync(irFile)) {
      log(`student ${name} start ${start}/${o.starts}: trained before (${irFile})`);
      finish(done, readModel(irFile));
    } else {
      todo.push({ start, dir, initSeed, tag, irFile, label: `student ${name} start ${start}/${o.starts}` });
    }
  }
  const parallel = Math.min(o.parallel ?? 1, todo.length);
  const shared = parallel > 1 ? await sharedEvents(o.data) : undefined;
  if (parallel > 1 && !shared) {
    log(`student ${name}: the training events exceed 1 GiB, so the starts train one after another`);
  }
  if (shared) {
    log(`student ${name}: training ${todo.length} starts, ${parallel} at a time on worker threads`);
    await trainInWorkers(todo, parallel, {
      base: { config: o.config, seed: o.seed, backend: o.backend, mode, resume: o.resume ?? false },
      fingerprint: o.fingerprint,
      targets: o.targets,
      events: shared,
      ...(o.shuffleBuffer !== undefined ? { shuffleBuffer: o.shuffleBuffer } : {}),
      log,
      started: (p) => log(`${p.label}: initial weights from seed ${p.initSeed}`),
      done: (p, r) => finish({ start: p.start, initSeed: p.initSeed, tag: p.tag, ...r }, readModel(p.irFile)),
    });
  } else {
    for (const p of todo) {
      log(`${p.label}: initial weights from seed ${p.initSeed}`);
      const t = await trainStudent({ ...o, dir: p.dir, initSeed: p.initSeed, label: p.label });
      finish({ start: p.start, initSeed: p.initSeed, tag: p.tag, ...startResult(t) }, t.ir);
    }
  }
  const starts = [...records.values()].sort((a, b) => a.start - b.start);
  const chosen = bestStart(starts);
  const from = startDir(o.dir, chosen.start);
  copyInto(join(from, "student.ir.json"), join(o.dir, "student.ir.json"));
  copyInto(join(from, "history.json"), join(o.dir, "history.json"));
  const modelDir = join(o.dir, "model");
  mkdirSync(modelDir, { recursive: true });
  for (const f of readdirSync(join(from, "model"))) {
    if (statSync(join(from, "model", f)).isFile()) copyInto(join(from, "model", f), join(modelDir, f));
  }
  write(chosen.start);
  log(
    `student ${name}: kept start ${chosen.start} of ${o.starts} (tail slopes ${starts.map((r) => r.tailSlope?.toFixed(3) ?? "-").join(", ")})`,
  );
  const irFile = join(o.dir, "student.ir.json");
  return {
    ir: readModel(irFile),
    irFile,
    modelDir,
    history: JSON.parse(readFileSync(join(o.dir, "history.json"), "utf8")) as EpochRecord[],
    bestEpoch: chosen.bestEpoch,
    totalWeights: chosen.totalWeights,
    nonZeroWeights: chosen.nonZeroWeights,
    weightBits: chosen.weightBits,
    starts,
    chosen: chosen.start,
  };
}

/** What a start's record keeps of its training. */
export function startResult(t: TrainedStudent): StartResult {
  const best = t.history[t.bestEpoch - 1];
  return {
    bestEpoch: t.bestEpoch,
    validationLoss: best && Number.isFinite(best.validationLoss) ? best.validationLoss : null,
    totalWeights: t.totalWeights,
    nonZeroWeights: t.nonZeroWeights,
    weightBits: t.weightBits,
  };
}

/** The start with the largest tail slope (undefined slopes last; ties to the earlier start). */
export function bestStart(records: readonly StartRecord[]): StartRecord {
  if (records.length === 0) throw new RangeError("no starts to choose from");
  let best = records[0];
  for (const r of records) {
    if (r.tailSlope !== null && (best.tailSlope === null || r.tailSlope > best.tailSlope)) best = r;
  }
  return best;
}

export const startDir = (dir: string, start: number) => join(dir, "starts", String(start));

function copyInto(from: string, to: string): void {
  writeFileAtomic(to, readFileSync(from));
}

function readStartsLog(file: string): StartsLog | undefined {
  if (!existsSync(file)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new StudentError(
      `${file}: not JSON (${(e as Error).message}); delete it to train every start again`,
    );
  }
  const log = raw as Partial<StartsLog>;
  if (log.format !== "distill-starts" || !Array.isArray(log.starts)) {
    throw new StudentError(`${file}: format: expected a "distill-starts" log of the starts trained`);
  }
  return log as StartsLog;
}

interface PlannedStart {
  readonly start: number;
  readonly dir: string;
  readonly initSeed: number;
  readonly tag: string;
  readonly irFile: string;
  readonly label: string;
}

/** The training events copied once into shared memory, or undefined past 1 GiB. */
async function sharedEvents(data: EventStream): Promise<Uint16Array | undefined> {
  const bytes = data.count * N_REGIONS * 2;
  if (bytes > 1 << 30) return undefined;
  const et = new Uint16Array(new SharedArrayBuffer(bytes));
  let at = 0;
  for await (const chunk of data.chunks(DEFAULT_CHUNK)) {
    if (at + chunk.count > data.count) break;
    et.set(chunk.et, at * N_REGIONS);
    at += chunk.count;
  }
  if (at !== data.count) {
    throw new StudentError(`the training events: read ${at}, expected ${data.count}`);
  }
  return et;
}

interface WorkerJob {
  readonly base: Pick<StartRequest, "config" | "seed" | "backend" | "mode" | "resume">;
  readonly fingerprint: StartRequest["fingerprint"];
  readonly targets: Float32Array;
  readonly events: Uint16Array;
  readonly shuffleBuffer?: number;
  readonly log: (line: string) => void;
  readonly started: (p: PlannedStart) => void;
  readonly done: (p: PlannedStart, r: StartResult) => void;
}

/**
 * Trains the planned starts on `n` worker threads, each taking the next start when it is free.
 * The first failure stops every worker and is thrown (a checkpoint that cannot be resumed stays
 * a CheckpointError, a user's mistake stays a UserError).
 */
async function trainInWorkers(todo: readonly PlannedStart[], n: number, job: WorkerJob): Promise<void> {
  const { url, execArgv } = workerEntry(import.meta.url, "start-worker");
  const workers: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let next = 0;
      let running = 0;
      let failed = false;
      const fail = (e: Error) => {
        if (failed) return;
        failed = true;
        reject(e);
      };
      const give = (w: Worker) => {
        if (failed) return;
        if (next >= todo.length) {
          if (running === 0) resolve();
          return;
        }
        const p = todo[next++];
        running++;
        job.started(p);
        const request: StartRequest = {
          type: "train",
          ...job.base,
          start: p.start,
          initSeed: p.initSeed,
          dir: p.dir,
          fingerprint: job.fingerprint,
          label: p.label,
          et: job.events,
          targets: job.targets,
          ...(job.shuffleBuffer !== undefined ? { shuffleBuffer: job.shuffleBuffer } : {}),
        };
        w.postMessage(request);
      };
      for (let k = 0; k < n; k++) {
        const w = new Worker(url, { execArgv });
        workers.push(w);
        w.on("message", (m: StartReply) => {
          if (m.type === "log") job.log(m.line);
          else if (m.type === "error") fail(workerError(m));
          else {
            running--;
            try {
              job.done(todo.find((p) => p.start === m.start)!, m.result);
            } catch (e) {
              fail(e instanceof Error ? e : new Error(String(e)));
              return;
            }
            give(w);
          }
        });
        w.on("error", fail);
        w.on("exit", (code) => {
          if (code !== 0) fail(new Error(`a start's worker thread exited with code ${code}`));
        });
      }
      for (const w of workers) give(w);
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

function workerError(m: Extract<StartReply, { type: "error" }>): Error {
  if (m.name === "CheckpointError") return new CheckpointError(m.message);
  if (m.user) return new StudentError(m.message);
  const e = new Error(m.message);
  e.name = m.name;
  return e;
}
