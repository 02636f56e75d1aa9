import type { StudentConfig } from "../../config/student.js";
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
