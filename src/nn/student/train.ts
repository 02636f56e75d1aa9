import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { validateConfig } from "../../config/load.js";
import { type StudentConfig, studentSchema } from "../../config/student.js";
import type { DatasetFingerprint } from "../../data/fingerprint.js";
import { checkScoresMatch, readScores, scoreColumn } from "../../data/scores.js";
import { frac, parseFixedType } from "../../fixed/index.js";
import { evaluate, type ModelIR, writeModel } from "../../ir/index.js";
import { writeFileAtomic } from "../../util/atomic.js";
import { UserError } from "../../util/errors.js";
import type { BackendName } from "../backend.js";
import { type EventStream, inMemory } from "../train/data.js";
import { type Engine, localEngine, workerEngine } from "../train/engine.js";
import { type FitResult, fit } from "../train/loop.js";
import type { ModelSpec } from "../train/runtime.js";
import { type DeployedLinear, deployedWeights } from "./exact.js";
import { studentToIR } from "./export.js";
import {
  type BatchNormStats,
  batchNormStatistics,
  frozenFilterHook,
  initialStudentParams,
  reviveDeadStart,
  type StudentModel,
  studentModel,
} from "./model.js";
import { idleUnits, pruningHook } from "./prune.js";
import { saveStudentLayersModel } from "./tfjs.js";

/** Quantization-aware training (default) or post-training quantization of a float student. */
export type StudentMode = "qat" | "ptq";

export class StudentError extends UserError {
  override readonly name = "StudentError";
}

export interface StudentTrainOptions {
  readonly config: StudentConfig;
  readonly data: EventStream;
  /** One regression target per event of `data` (the teacher's score), in the student's output units. */
  readonly targets: Float32Array;
  readonly fingerprint: DatasetFingerprint;
  /** The run's student folder: `model/student.json`, `student.ir.json`, `checkpoint/`, `history.json`. */
  readonly dir: string;
  /** Seed of the validation split and the shuffling (and of the initial weights, without `initSeed`). */
  readonly seed: number;
  /** Seed of the initial weights when it differs from `seed`: one start among several (starts.ts). */
  readonly initSeed?: number;
  readonly backend: BackendName;
  /** Data-parallel worker threads; 0 trains on this thread. */
  readonly workers: number;
  readonly mode?: StudentMode;
  readonly resume?: boolean;
  readonly shuffleBuffer?: number;
  /** What the log lines name this training (default `student NAME`). */
  readonly label?: string;
  readonly log?: (line: string) => void;
}

export interface WeightCounts {
  readonly totalWeights: number;
  readonly nonZeroWeights: number;
  /** Sum over non-zero kernel and bias integers of their quantizer's bits. */
  readonly weightBits: number;
}

export interface TrainedStudent extends FitResult, WeightCounts {
  readonly model: StudentModel;
  readonly bnStats: BatchNormStats;
  readonly deployed: readonly (DeployedLinear | undefined)[];
  readonly ir: ModelIR;
  readonly irFile: string;
  readonly modelDir: string;
}

export function studentTag(
  config: StudentConfig,
  seed: number,
  mode: StudentMode,
  data: DatasetFingerprint,
  targets: Float32Array,
  initSeed = seed,
): string {
  // A start seeded as the split adds nothing: its tag is the single-start one.
  const init = initSeed === seed ? {} : { initSeed };
  return createHash("sha256")
    .update(JSON.stringify({ kind: "student", config, seed, mode, data, ...init }))
    .update(new Uint8Array(targets.buffer, targets.byteOffset, targets.byteLength))
    .digest("hex");
}

/**
 * Trains a student on per-event targets with the shared training loop (pruning through the
 * loop's afterUpdate hook), freezes batch-norm statistics over the data, and writes the model
 * (`dir/model/student.json`) and its bit-exact model IR (`dir/student.ir.json`).
 */
export async function trainStudent(o: StudentTrainOptions): Promise<TrainedStudent> {
  if (o.targets.length !== o.data.count) {
    throw new StudentError(
      `found ${o.targets.length} targets for ${o.data.count} events, expected one per event`,
    );
  }
  const mode = o.mode ?? "qat";
  const m = studentModel(o.config);
  // Students are fast enough that decoding the file every epoch would dominate: keep the
  // events in memory when they fit in 1 GiB (4 million events).
  const data = await inMemory(o.data, 1 << 30);
  mkdirSync(o.dir, { recursive: true });
  const spec: ModelSpec = { kind: "student", config: o.config, seed: o.seed, quantize: mode === "qat" };
  const engine: Engine =
    o.workers > 0 ? await workerEngine(spec, o.backend, o.workers) : await localEngine(spec);
  let result: FitResult;
  // Pruning first, then the frozen filters back to their given values (they are not pruned).
  const prune = pruningHook(m);
  const freeze = frozenFilterHook(m);
  const afterUpdate =
    prune && freeze
      ? (params: Float32Array, epoch: number) => {
          prune(params, epoch);
          freeze(params);
        }
      : (prune ?? freeze);
  const initSeed = o.initSeed ?? o.seed;
  const seeds =
    initSeed === o.seed ? `seed ${o.seed}` : `seed ${o.seed}, initial weights from seed ${initSeed}`;
  /** Saved beside `seed` only when it differs. */
  const initField = initSeed === o.seed ? {} : { initSeed };
  const label = o.label ?? `student ${o.config.name}`;
  const initialParams = initialStudentParams(m, initSeed);
  for await (const first of data.chunks(1024)) {
    const flipped = reviveDeadStart(m, initialParams, first.et, first.count, mode === "qat");
    if (flipped !== undefined) {
      o.log?.(
        `${label}: with ${seeds} the output starts at 0 for every one of the first ${first.count} events, where the final quantized_relu passes no gradient; starting with the signs of layers[${flipped}]'s initial weights flipped`,
      );
    }
    break;
  }
  try {
    result = await fit(engine, data, {
      training: o.config.training,
      seed: o.seed,
      shuffleBuffer: o.shuffleBuffer ?? 1 << 20,
      targets: o.targets,
      checkpointDir: join(o.dir, "checkpoint"),
      resume: o.resume ?? false,
      tag: studentTag(o.config, o.seed, mode, o.fingerprint, o.targets, initSeed),
      label,
      initialParams,
      ...(afterUpdate ? { afterUpdate } : {}),
      ...(o.log ? { log: o.log } : {}),
    });
  } finally {
    await engine.dispose();
  }
  const bnStats = await batchNormStatistics(m, result.params, data, mode === "qat");
  const deployed = deployedWeights(m, result.params, bnStats);
  for (const u of idleUnits(o.config, deployed)) {
    o.log?.(
      `student ${o.config.name}: ${u.idle.length} of the ${u.units} units of layers[${u.layer}] feed nothing (their weights in layers[${u.next}] are all zero${o.config.pruning ? "; pruning.layers can leave that layer unpruned" : ""})`,
    );
  }
  const ir = studentToIR(m, deployed, o.config.name, `distill student ${o.config.name} (${mode}, ${seeds})`);
  const modelDir = join(o.dir, "model");
  saveStudent(modelDir, {
    config: o.config,
    params: result.params,
    bnStats,
    mode,
    seed: o.seed,
    ...initField,
    dataset: o.fingerprint,
  });
  await saveStudentLayersModel(modelDir, m, result.params, bnStats, {
    name: o.config.name,
    mode,
    seed: o.seed,
    ...initField,
    input: "counts x 2^-frac(input.type), shaped input.shape",
  });
  const irFile = join(o.dir, "student.ir.json");
  writeModel(irFile, ir);
  writeFileAtomic(join(o.dir, "history.json"), `${JSON.stringify(result.history, null, 1)}\n`);
  return { ...result, ...weightCounts(deployed), model: m, bnStats, deployed, ir, irFile, modelDir };
}

export function weightCounts(deployed: readonly (DeployedLinear | undefined)[]): WeightCounts {
  let totalWeights = 0;
  let nonZeroWeights = 0;
  let weightBits = 0;
  for (const d of deployed) {
    if (!d) continue;
    for (const a of d.bias ? [d.kernel, d.bias] : [d.kernel]) {
      totalWeights += a.values.length;
      for (const v of a.values) {
        if (v !== 0) {
          nonZeroWeights++;
          weightBits += a.bits ?? a.type.width;
        }
      }
    }
  }
  return { totalWeights, nonZeroWeights, weightBits };
}

export interface SavedStudent {
  readonly config: StudentConfig;
  readonly params: Float32Array;
  readonly bnStats: BatchNormStats;
  readonly mode: StudentMode;
  readonly seed: number;
  /** The initial weights' seed, when not `seed`. */
  readonly initSeed?: number;
  readonly dataset: DatasetFingerprint;
}

const STUDENT_FILE = "student.json";
const STUDENT_FORMAT = "distill-student";

/** The trained float parameters with config and frozen statistics, as one JSON file. */
export function saveStudent(dir: string, s: SavedStudent): void {
  mkdirSync(dir, { recursive: true });
  const json = { format: STUDENT_FORMAT, version: 1, ...s, params: Array.from(s.params) };
  writeFileAtomic(join(dir, STUDENT_FILE), `${JSON.stringify(json)}\n`);
}

export function loadStudent(dir: string): SavedStudent {
  const file = join(dir, STUDENT_FILE);
  if (!existsSync(file)) throw new StudentError(`${dir}: no ${STUDENT_FILE} (not a saved student folder)`);
  const raw = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  if (raw.format !== STUDENT_FORMAT) {
    throw new StudentError(
      `${file}: format: found ${JSON.stringify(raw.format)}, expected "${STUDENT_FORMAT}"`,
    );
  }
  const config = validateConfig(`${file} (config)`, raw.config, studentSchema);
  const params = Float32Array.from(raw.params as number[]);
  const m = studentModel(config, `${file} (config)`);
  if (params.length !== m.paramCount) {
    throw new StudentError(`${file}: params: found ${params.length} values, expected ${m.paramCount}`);
  }
  return {
    config,
    params,
    bnStats: raw.bnStats as BatchNormStats,
    mode: raw.mode as StudentMode,
    seed: raw.seed as number,
    ...(typeof raw.initSeed === "number" ? { initSeed: raw.initSeed } : {}),
    dataset: raw.dataset as DatasetFingerprint,
  };
}

/** The student's score mantissas for events (252 counts each) via the bit-exact IR evaluator. */
export function studentScores(
  ir: ModelIR,
  events: { readonly et: Uint16Array; readonly count: number },
): Float64Array {
  const out = new Float64Array(events.count);
  const B = 8192;
  for (let s = 0; s < events.count; s += B) {
    const e = Math.min(events.count, s + B);
    out.set(evaluate(ir, events.et.subarray(s * 252, e * 252)), s);
  }
  return out;
}

/**
 * Regression targets from a scores file: `teacher_score` (float) as is, or `teacher_target`
 * mantissas scaled by their fixed type. Refuses scores of other events than the dataset's.
 */
export async function readTargets(
  scoresFile: string,
  dataset: DatasetFingerprint,
  datasetFile: string,
  column = "teacher_score",
): Promise<Float32Array> {
  const s = await readScores(scoresFile);
  checkScoresMatch(s, dataset, scoresFile, datasetFile);
  const col = scoreColumn(s, column, scoresFile);
  const scale = col.fixedType ? 2 ** -frac(parseFixedType(col.fixedType)) : 1;
  return Float32Array.from(col.values as ArrayLike<number>, (v) => v * scale);
}
