import type { StudentConfig } from "../../config/student.js";
import type { DeployedLinear } from "./exact.js";
import type { StudentModel } from "./model.js";

/**
 * Magnitude pruning of the kernels (of every layer, or of those `pruning.layers` lists): after
 * every update in epoch `e`, each pruned kernel keeps only its
 * largest-magnitude weights, the rest set to exactly 0 (so they quantize, fold and export as 0).
 * The target sparsity follows a polynomial schedule (as TensorFlow Model Optimization's
 * PolynomialDecay): 0 before `startEpoch`, then s * (1 - (1 - t)^power) with t rising linearly
 * to 1 at the last epoch before `endEpoch`.
 */
export type PruningConfig = NonNullable<StudentConfig["pruning"]>;

export function sparsityAt(p: PruningConfig, epoch: number): number {
  if (epoch < p.startEpoch) return 0;
  const t = Math.min(1, (epoch - p.startEpoch + 1) / (p.endEpoch - p.startEpoch));
  return p.sparsity * (1 - (1 - t) ** p.power);
}

/** [start, end) in the flat parameter array of each kernel that pruning acts on (`pruning.layers`, or all). */
export function kernelRanges(m: StudentModel): [number, number][] {
  const only = m.config.pruning?.layers;
  const out: [number, number][] = [];
  let at = 0;
  for (const p of m.params) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    if (p.role === "kernel" && (!only || only.includes(p.layer))) out.push([at, at + n]);
    at += n;
  }
  return out;
}

/** Zeroes the floor(sparsity * n) smallest-magnitude weights of each kernel (ties: lower index first). */
export function pruneKernels(
  params: Float32Array,
  ranges: readonly [number, number][],
  sparsity: number,
): void {
  if (sparsity <= 0) return;
  for (const [start, end] of ranges) {
    const n = end - start;
    const drop = Math.floor(sparsity * n);
    if (drop === 0) continue;
    const order = Array.from({ length: n }, (_, i) => i);
    order.sort((a, b) => Math.abs(params[start + a]) - Math.abs(params[start + b]) || a - b);
    for (let k = 0; k < drop; k++) params[start + order[k]] = 0;
  }
}

/** The `afterUpdate` hook of the training loop for a config's pruning, or undefined without one. */
export function pruningHook(m: StudentModel): ((params: Float32Array, epoch: number) => void) | undefined {
  const p = m.config.pruning;
  if (!p) return undefined;
  const ranges = kernelRanges(m);
  return (params, epoch) => pruneKernels(params, ranges, sparsityAt(p, epoch));
}

/** Hidden units of a dense layer whose outgoing weights in the next dense layer are all zero. */
export interface IdleUnits {
  readonly layer: number;
  readonly units: number;
  /** The unit indices that feed nothing. */
  readonly idle: readonly number[];
  /** The layer whose kernel rows of those units are all zero. */
  readonly next: number;
}

/**
 * Dense layers followed (through activations only) by another dense layer, and the units of
 * the first whose row in the second's kernel is all zero: dead hardware and lost capacity,
 * e.g. after pruning a small output layer.
 */
export function idleUnits(
  config: StudentConfig,
  deployed: readonly (DeployedLinear | undefined)[],
): IdleUnits[] {
  const out: IdleUnits[] = [];
  const layers = config.layers;
  layers.forEach((l, i) => {
    if (l.type !== "qdense" && l.type !== "qdense_batchnorm") return;
    let k = i + 1;
    while (k < layers.length && layers[k].type === "qactivation") k++;
    const next = layers[k];
    const kernel = deployed[k]?.kernel;
    if (!next || (next.type !== "qdense" && next.type !== "qdense_batchnorm") || !kernel) return;
    const outs = next.units;
    const idle: number[] = [];
    for (let j = 0; j < l.units; j++) {
      let zero = true;
      for (let v = 0; v < outs && zero; v++) zero = kernel.values[j * outs + v] === 0;
      if (zero) idle.push(j);
    }
    if (idle.length > 0) out.push({ layer: i, units: l.units, idle, next: k });
  });
  return out;
}
