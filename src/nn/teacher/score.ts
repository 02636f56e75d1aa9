import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import { TEACHER_INPUT_SHAPE } from "../../config/teacher.js";
import type { Dataset } from "../../data/dataset.js";
import { type DatasetFingerprint, fingerprinter } from "../../data/fingerprint.js";
import { N_REGIONS } from "../../data/geometry.js";
import { DEFAULT_CHUNK, type EventSource } from "../../data/io/source.js";
import { type ScoresFile, writeScores } from "../../data/scores.js";
import {
  type FixedType,
  FixedTypeError,
  formatFixedType,
  frac,
  maxMantissa,
  minMantissa,
  quantize,
} from "../../fixed/index.js";
import { UserError } from "../../util/errors.js";

/**
 * Teacher scoring: the per-event reconstruction error of the autoencoder and the integer
 * distillation target the student learns, plus per-label region maps for the report.
 *
 * Units: the MSE is the mean over the 252 regions of (reconstruction - input)^2 in the
 * model's own units (counts x input scale), the quantity the teacher was trained to
 * minimise; with CICADA's scale of 1 these are counts^2. The target is ln(MSE) x 32,
 * computed in float64 from the float32 MSE, then cast exactly to the target type.
 */
export class ScoringError extends UserError {
  override readonly name = "ScoringError";
}

/** One forward pass over a batch, by whichever engine (tfjs, ONNX Runtime). */
export interface TeacherInference {
  /** e.g. `tfjs (wasm)` or `onnxruntime-node 1.30.0 (cpu, 2 threads)`. */
  readonly engine: string;
  /**
   * `x`: n x 252 scaled inputs (row-major phi, eta). Returns the reconstruction in the same
   * layout and the per-event MSE computed by the engine itself.
   */
  run(x: Float32Array, n: number): Promise<{ reconstruction: Float32Array; mse: Float32Array }>;
  dispose(): Promise<void>;
}

/** The model input for counts: counts x scale as float32. */
export function scaleCounts(et: Uint16Array, scale: number): Float32Array {
  const x = new Float32Array(et.length);
  for (let i = 0; i < et.length; i++) x[i] = et[i] * scale;
  return x;
}

/** A finite double as an exact binary fraction m x 2^-frac (every double is one). */
function exactBinary(v: number): { m: bigint; frac: number } {
  let m = v;
  let f = 0;
  // Doubling is exact until m is an integer, which happens within 1074 steps.
  while (!Number.isInteger(m)) {
    m *= 2;
    f++;
  }
  return { m: BigInt(m), frac: f };
}

/**
 * Casts a real number to `type` with its rounding and overflow modes, exactly (the double
 * is taken at its exact binary value). Infinities are beyond every value of the type:
 * -inf gives the type's lower saturation value and +inf its upper one under SAT and
 * SAT_SYM, 0 under SAT_ZERO; under WRAP, where wrapping an infinity means nothing, they give
 * the minimum and the maximum. NaN has no cast and throws.
 */
export function castToFixed(v: number, type: FixedType): bigint {
  if (Number.isNaN(v)) throw new ScoringError(`cannot cast NaN to ${formatFixedType(type)}`);
  if (v === Number.NEGATIVE_INFINITY || v === Number.POSITIVE_INFINITY) {
    const below = v < 0;
    if (type.overflow === "WRAP") return below ? minMantissa(type) : maxMantissa(type);
    return quantize(below ? minMantissa(type) - 1n : maxMantissa(type) + 1n, frac(type), type);
  }
  const { m, frac: f } = exactBinary(v);
  return quantize(m, f, type);
}

/** The real value of a mantissa of `type` (exact for widths up to 53 bits). */
export function fixedValue(mantissa: bigint, type: FixedType): number {
  return Number(mantissa) * 2 ** -frac(type);
}

/** The distillation target scale: ln(MSE) x 32 (CICADA's). */
export const TARGET_LOG_FACTOR = 32;

/**
 * The distillation target's mantissa for one MSE: ln(mse) x 32 cast to `type`. An MSE of 0
 * (a perfect reconstruction) has ln = -inf and so takes the type's lower saturation value:
 * 0 for the default ap_ufixed<16,8,AP_RND_CONV,AP_SAT> (see `castToFixed`). A negative or NaN
 * MSE cannot come from a working model and throws.
 */
export function teacherTarget(mse: number, type: FixedType): bigint {
  if (!(mse >= 0))
    throw new ScoringError(`teacher MSE ${mse} is not a non-negative number (a diverged model?)`);
  return castToFixed(Math.log(mse) * TARGET_LOG_FACTOR, type);
}

/** The integer column type that holds every mantissa of `type`. */
function targetColumn(type: FixedType, n: number): Uint16Array | Int32Array {
  if (!type.signed && type.width <= 16) return new Uint16Array(n);
  if (type.width <= (type.signed ? 32 : 31)) return new Int32Array(n);
  throw new FixedTypeError(
    `target type ${formatFixedType(type)} is wider than a scores column holds (at most 32 bits signed, 31 unsigned)`,
  );
}

export interface ScoreOptions {
  /** The model's input scale (counts x scale is what it sees). */
  readonly scale: number;
  readonly targetType: FixedType;
  /** Events per forward pass and per read; default 8192. */
  readonly chunk?: number;
  /** Called after every chunk with the events done and the total. */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface TeacherScores {
  readonly fingerprint: DatasetFingerprint;
  /** Per-event MSE (float32, model units). */
  readonly mse: Float32Array;
  /** Per-event target value (the fixed-point number as a double). */
  readonly score: Float64Array;
  /** Per-event target mantissa. */
  readonly target: Uint16Array | Int32Array;
  /** LABEL -> mean over that label's events of each region's squared error (model units). */
  readonly errorMaps: Readonly<Record<string, Float32Array>>;
  /** LABEL -> mean over that label's events of each region's input (counts x scale). */
  readonly inputMaps: Readonly<Record<string, Float32Array>>;
  readonly engine: string;
  readonly seconds: number;
}

/** The label of event i of a chunk, usable as an HDF5 name; `all` for unlabelled data. */
function labelOf(chunk: Dataset, i: number): string {
  if (!chunk.labels) return "all";
  const k = chunk.labels[i];
  const name = chunk.labelNames?.[k] ?? `label${k}`;
  return name.replace(/[^A-Za-z0-9_.+-]/g, "_");
}

class MapSums {
  readonly error = new Map<string, { err: Float64Array; input: Float64Array; events: number }>();

  add(label: string, x: Float32Array, y: Float32Array, offset: number): void {
    let s = this.error.get(label);
    if (!s) {
      s = { err: new Float64Array(N_REGIONS), input: new Float64Array(N_REGIONS), events: 0 };
      this.error.set(label, s);
    }
    for (let r = 0; r < N_REGIONS; r++) {
      const d = y[offset + r] - x[offset + r];
      s.err[r] += d * d;
      s.input[r] += x[offset + r];
    }
    s.events++;
  }

  means(which: "err" | "input"): Record<string, Float32Array> {
    const out: Record<string, Float32Array> = {};
    for (const [label, s] of [...this.error].sort(([a], [b]) => a.localeCompare(b))) {
      out[label] = Float32Array.from(s[which], (v) => v / s.events);
    }
    return out;
  }
}

/**
 * Scores every event of a source with `infer`, chunk by chunk (one chunk in memory at a
 * time besides the per-event columns), hashing the events on the way for the fingerprint.
 */
export async function scoreEvents(
  source: EventSource,
  infer: TeacherInference,
  o: ScoreOptions,
): Promise<TeacherScores> {
  const chunkSize = o.chunk ?? DEFAULT_CHUNK;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) {
    throw new ScoringError(`--chunk: found ${chunkSize}, expected a positive integer`);
  }
  const total = source.count;
  const mse = new Float32Array(total);
  const score = new Float64Array(total);
  const target = targetColumn(o.targetType, total);
  const maps = new MapSums();
  const fp = fingerprinter();
  const start = performance.now();
  let done = 0;
  for await (const chunk of source.chunks(chunkSize)) {
    if (done + chunk.count > total) {
      throw new ScoringError(`${source.file}: more events than the ${total} the file declares`);
    }
    fp.update(chunk.et, chunk.count);
    const x = scaleCounts(chunk.et, o.scale);
    const out = await infer.run(x, chunk.count);
    for (let i = 0; i < chunk.count; i++) {
      const m = out.mse[i];
      mse[done + i] = m;
      const t = teacherTarget(m, o.targetType);
      target[done + i] = Number(t);
      score[done + i] = fixedValue(t, o.targetType);
      maps.add(labelOf(chunk, i), x, out.reconstruction, i * N_REGIONS);
    }
    done += chunk.count;
    o.onProgress?.(done, total);
  }
  if (done !== total) {
    throw new ScoringError(`${source.file}: read ${done} events, expected the ${total} the file declares`);
  }
  return {
    fingerprint: fp.digest(),
    mse,
    score,
    target,
    errorMaps: maps.means("err"),
    inputMaps: maps.means("input"),
    engine: infer.engine,
    seconds: (performance.now() - start) / 1000,
  };
}

/** The scores file of a scoring run: columns teacher_mse, teacher_score, teacher_target. */
export function teacherScoresFile(s: TeacherScores, targetType: FixedType, datasetFile?: string): ScoresFile {
  const type = formatFixedType(targetType);
  return {
    dataset: { ...s.fingerprint, ...(datasetFile !== undefined ? { file: datasetFile } : {}) },
    columns: {
      teacher_mse: {
        values: s.mse,
        description: `teacher reconstruction MSE over the 252 regions, model units (counts x input scale)^2; ${s.engine}`,
      },
      teacher_score: { values: s.score, description: `ln(teacher_mse) x 32 as ${type}, as a real number` },
      teacher_target: {
        values: s.target,
        description: "ln(teacher_mse) x 32 as the integer mantissa of fixed_type (the distillation target)",
        fixedType: type,
      },
    },
    maps: { error: s.errorMaps, input: s.inputMaps },
  };
}

export async function writeTeacherScores(
  file: string,
  s: TeacherScores,
  targetType: FixedType,
  datasetFile?: string,
): Promise<void> {
  await writeScores(file, teacherScoresFile(s, targetType, datasetFile));
}

/**
 * Events per forward pass. A chunk is run in batches of this size: the activations of 256
 * events (about 8 MB for the CICADA teacher) stay in cache, while 8192 events stream 250 MB
 * through memory per layer; measured on ONNX Runtime and tfjs-wasm alike, the small batches
 * do 15-100 % more events per CPU second.
 */
export const INFER_BATCH = 256;

type Outputs = { reconstruction: Float32Array; mse: Float32Array };

/** Runs `n` events through `pass` in batches of `batch`, gathering the outputs. */
export async function runInBatches(
  x: Float32Array,
  n: number,
  batch: number,
  pass: (x: Float32Array, m: number) => Promise<Outputs>,
): Promise<Outputs> {
  if (n <= batch) return pass(x, n);
  const reconstruction = new Float32Array(n * N_REGIONS);
  const mse = new Float32Array(n);
  for (let s = 0; s < n; s += batch) {
    const m = Math.min(batch, n - s);
    const out = await pass(x.subarray(s * N_REGIONS, (s + m) * N_REGIONS), m);
    reconstruction.set(out.reconstruction, s * N_REGIONS);
    mse.set(out.mse, s);
  }
  return { reconstruction, mse };
}

/** Teacher inference with TensorFlow.js on the active backend. */
export function tfjsInference(
  model: tfl.LayersModel,
  opts: { readonly batch?: number } = {},
): TeacherInference {
  const pass = async (x: Float32Array, n: number): Promise<Outputs> => {
    const [y, mse] = tf.tidy(() => {
      const xt = tf.tensor4d(x, [n, ...TEACHER_INPUT_SHAPE]);
      const yt = model.apply(xt) as tf.Tensor;
      return [yt, tf.mean(tf.squaredDifference(yt, xt), [1, 2, 3])];
    });
    const [reconstruction, m] = await Promise.all([y.data(), mse.data()]);
    tf.dispose([y, mse]);
    return { reconstruction: reconstruction as Float32Array, mse: m as Float32Array };
  };
  return {
    engine: `tfjs (${tf.getBackend()})`,
    run: (x, n) => runInBatches(x, n, opts.batch ?? INFER_BATCH, pass),
    async dispose() {},
  };
}
