import type * as tf from "@tensorflow/tfjs-core";
import { heap } from "./heap.js";
import type { WasmBackend } from "./wasm.js";

/**
 * Sum over leading axes, as the bias gradients need (dy summed over batch and pixels, per
 * channel). wasm's Sum first transposes the reduced axes to the end, a full copy in its slow
 * transpose; here the rows are added in place in one pass. Sums over other axes, or of other
 * types, go to wasm's kernel.
 */
export function leadingAxesSum(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { x } = inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = attrs as { axis: number | number[]; keepDims: boolean };
    const rank = x.shape.length;
    const axes = [...new Set((Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + rank : a)))].sort(
      (a, b) => a - b,
    );
    const leading = axes.length > 0 && axes.every((a, i) => a === i);
    if (x.dtype !== "float32" || !leading) return original(args);
    const rows = x.shape.slice(0, axes.length).reduce((p, d) => p * d, 1);
    const kept = x.shape.slice(axes.length);
    const cols = kept.reduce((p, d) => p * d, 1);
    const b = heap(backend as WasmBackend);
    const out = b.makeOutput(keepDims ? [...axes.map(() => 1), ...kept] : kept, "float32");
    const src = b.typedArrayFromHeap(x);
    const acc = new Float64Array(cols);
    // Four rows per pass (added in double precision): a quarter of the accumulator traffic.
    const c2 = 2 * cols;
    const c3 = 3 * cols;
    let r = 0;
    let o = 0;
    for (; r + 4 <= rows; r += 4, o += 4 * cols) {
      for (let c = 0; c < cols; c++) {
        const i = o + c;
        acc[c] += src[i] + src[i + cols] + src[i + c2] + src[i + c3];
      }
    }
    for (; r < rows; r++, o += cols) {
      for (let c = 0; c < cols; c++) acc[c] += src[o + c];
    }
    b.typedArrayFromHeap(out).set(acc);
    return out;
  };
}
