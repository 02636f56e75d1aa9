import type * as tf from "@tensorflow/tfjs-core";
import { heap } from "./heap.js";
import type { WasmBackend } from "./wasm.js";

/**
 * `shape` and `perm` with every run of input axes that stay adjacent and in order in the
 * output merged into one axis, and axes of size 1 dropped: the smallest equivalent transpose.
 */
export function mergeAxes(
  shape: readonly number[],
  perm: readonly number[],
): { shape: number[]; perm: number[] } {
  const kept = perm.filter((a) => shape[a] !== 1);
  // Runs of consecutive input axes in output order.
  const runs: number[][] = [];
  for (const a of kept) {
    const last = runs[runs.length - 1];
    if (last && last[last.length - 1] + 1 === a) last.push(a);
    else runs.push([a]);
  }
  // Number the runs by their position in the input.
  const byInput = [...runs].sort((x, y) => x[0] - y[0]);
  return {
    shape: byInput.map((r) => r.reduce((p, a) => p * shape[a], 1)),
    perm: runs.map((r) => byInput.indexOf(r)),
  };
}

const TILE = 32;

/**
 * out = transpose(x, perm) for typed arrays, tiled so that both the reads and the writes stay
 * within a few cache lines: the output's last axis and the input's last axis are walked in
 * TILE x TILE blocks; when both are the same axis, rows are copied whole.
 */
export function transposeArray(
  x: Float32Array | Int32Array | Uint8Array,
  out: Float32Array | Int32Array | Uint8Array,
  shape0: readonly number[],
  perm0: readonly number[],
): void {
  const { shape, perm } = mergeAxes(shape0, perm0);
  const r = shape.length;
  if (r <= 1) {
    out.set(x);
    return;
  }
  const inStride = new Array<number>(r);
  inStride[r - 1] = 1;
  for (let i = r - 2; i >= 0; i--) inStride[i] = inStride[i + 1] * shape[i + 1];
  const outShape = perm.map((a) => shape[a]);
  const outStride = new Array<number>(r);
  outStride[r - 1] = 1;
  for (let i = r - 2; i >= 0; i--) outStride[i] = outStride[i + 1] * outShape[i + 1];
  // Stride in the output of each input axis.
  const outStrideOfIn = new Array<number>(r);
  perm.forEach((a, k) => {
    outStrideOfIn[a] = outStride[k];
  });
  const a = perm[r - 1]; // input axis that is contiguous in the output
  const b = r - 1; // input axis that is contiguous in the input
  const outer = [...Array(r).keys()].filter((i) => i !== a && i !== b);
  if (a === b) {
    // Whole rows move: copy them.
    const row = shape[b];
    const copyRows = (depth: number, inBase: number, outBase: number) => {
      if (depth === outer.length) {
        if (row >= 64) out.set(x.subarray(inBase, inBase + row), outBase);
        else for (let i = 0; i < row; i++) out[outBase + i] = x[inBase + i];
        return;
      }
      const ax = outer[depth];
      for (let i = 0; i < shape[ax]; i++)
        copyRows(depth + 1, inBase + i * inStride[ax], outBase + i * outStrideOfIn[ax]);
    };
    copyRows(0, 0, 0);
    return;
  }
  const na = shape[a];
  const nb = shape[b];
  const sa = inStride[a];
  const sbOut = outStrideOfIn[b];
  const walk = (depth: number, inBase: number, outBase: number) => {
    if (depth < outer.length) {
      const ax = outer[depth];
      for (let i = 0; i < shape[ax]; i++)
        walk(depth + 1, inBase + i * inStride[ax], outBase + i * outStrideOfIn[ax]);
      return;
    }
    for (let a0 = 0; a0 < na; a0 += TILE) {
      const a1 = Math.min(na, a0 + TILE);
      for (let b0 = 0; b0 < nb; b0 += TILE) {
        const b1 = Math.min(nb, b0 + TILE);
        for (let j = b0; j < b1; j++) {
          let o = outBase + j * sbOut + a0;
          let p = inBase + a0 * sa + j;
          for (let i = a0; i < a1; i++) {
            out[o++] = x[p];
            p += sa;
          }
        }
      }
    }
  };
  walk(0, 0, 0);
}

/** The Transpose kernel on the wasm heap, in JavaScript: several times faster than wasm's. */
export function transposeKernel({
  inputs,
  backend,
  attrs,
}: {
  inputs: tf.NamedTensorInfoMap;
  backend: WasmBackend;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const { x } = inputs as { x: tf.TensorInfo };
  const perm = (attrs as { perm: number[] }).perm;
  const b = heap(backend);
  const out = b.makeOutput(
    perm.map((a) => x.shape[a]),
    x.dtype,
  );
  // Views only after the allocation: growing the heap detaches older views.
  transposeArray(b.typedArrayFromHeap(x), b.typedArrayFromHeap(out), x.shape, perm);
  return out;
}
