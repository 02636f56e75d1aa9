import { join } from "node:path";
import { validateConfig } from "../../config/load.js";
import type { QuantizerConfig, StudentConfig, StudentLayer } from "../../config/student.js";
import { checkStudentConfig, studentSchema } from "../../config/student.js";
import type { DatasetFingerprint } from "../../data/fingerprint.js";
import { pearson as correlation } from "../../eval/agreement.js";
import type { BackendName } from "../backend.js";
import type { EventStream } from "../train/data.js";
import { studentScores, trainStudent } from "./train.js";

/**
 * Bit-width scan: the same student trained (QAT) with every weight and/or activation quantizer
 * set to each bit width, reporting per width the agreement with the teacher (Pearson correlation
 * of the exported student's scores with the targets on evaluation events) and the cost in
 * non-zero weights and total weight bits. Integer bits are kept, capped at what the width allows.
 */
export type ScanOver = "weights" | "activations" | "both";

export interface ScanOptions {
  readonly config: StudentConfig;
  readonly data: EventStream;
  readonly targets: Float32Array;
  readonly fingerprint: DatasetFingerprint;
  /** Events and teacher targets the agreement is measured on. */
  readonly evaluation: { readonly et: Uint16Array; readonly count: number; readonly targets: Float32Array };
  /** Each width trains in `dir/bits-B`. */
  readonly dir: string;
  readonly bits: readonly number[];
  readonly over: ScanOver;
  readonly seed: number;
  readonly backend: BackendName;
  readonly workers: number;
  readonly log?: (line: string) => void;
}

export interface ScanPoint {
  readonly bits: number;
  readonly pearson: number;
  readonly nonZeroWeights: number;
  readonly totalWeights: number;
  readonly weightBits: number;
  readonly irFile: string;
}

function withBits(q: QuantizerConfig, bits: number): QuantizerConfig {
  if (q.quantizer === "quantized_relu") return { ...q, bits, integer: Math.min(q.integer, bits) };
  return { ...q, bits, integer: Math.min(q.integer, bits - q.keepNegative) };
}

/** The config with the chosen quantizers set to `bits`. */
export function configWithBits(config: StudentConfig, bits: number, over: ScanOver): StudentConfig {
  const weights = over !== "activations";
  const activations = over !== "weights";
  const layers = config.layers.map((l): StudentLayer => {
    if ((l.type === "qdense" || l.type === "qdense_batchnorm" || l.type === "qconv2d") && weights) {
      const kernelQuantizer = withBits(l.kernelQuantizer, bits) as typeof l.kernelQuantizer;
      return l.biasQuantizer
        ? { ...l, kernelQuantizer, biasQuantizer: withBits(l.biasQuantizer, bits) as typeof l.biasQuantizer }
        : { ...l, kernelQuantizer };
    }
    if (l.type === "qactivation" && activations) return { ...l, activation: withBits(l.activation, bits) };
    return l;
  });
  return { ...config, name: `${config.name}-${over}-${bits}b`, layers } as StudentConfig;
}

/** Pearson correlation as the scan reports it: 0 where it is undefined (a constant student). */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const r = correlation(a, b);
  return Number.isNaN(r) ? 0 : r;
}

export async function scanBits(o: ScanOptions): Promise<ScanPoint[]> {
  const points: ScanPoint[] = [];
  for (const bits of o.bits) {
    const label = `${o.config.name} scanned to ${bits} bits`;
    const config = validateConfig(label, configWithBits(o.config, bits, o.over), studentSchema);
    checkStudentConfig(config, label);
    const r = await trainStudent({
      config,
      data: o.data,
      targets: o.targets,
      fingerprint: o.fingerprint,
      dir: join(o.dir, `bits-${bits}`),
      seed: o.seed,
      backend: o.backend,
      workers: o.workers,
      ...(o.log ? { log: o.log } : {}),
    });
    const scores = studentScores(r.ir, o.evaluation);
    const point: ScanPoint = {
      bits,
      pearson: pearson(scores, o.evaluation.targets),
      nonZeroWeights: r.nonZeroWeights,
      totalWeights: r.totalWeights,
      weightBits: r.weightBits,
      irFile: r.irFile,
    };
    o.log?.(
      `scan ${o.over} ${bits} bits: pearson ${point.pearson.toFixed(4)}, ${point.nonZeroWeights}/${point.totalWeights} non-zero weights, ${point.weightBits} weight bits`,
    );
    points.push(point);
  }
  return points;
}
