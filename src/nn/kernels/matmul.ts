import type * as tf from "@tensorflow/tfjs-core";
import { transposedProduct } from "./native.js";
import { type Scratch, type WasmBackend, withScratch } from "./wasm.js";

/**
 * Matrix products with a transposed operand. wasm's BatchMatMul and _FusedMatMul hand the
 * plain product to XNNPACK but compute transposed ones in a scalar loop, ten to twenty times
 * slower; the gradients of every dense layer are such products. Transposing the operand first
 * (a cheap copy) and running the plain product is much faster. A single a^T b, a dense layer's
 * weight gradient, goes to our own kernel (native.ts) instead, which reduces over K in
 * cache-sized blocks.
 */
export function transposingMatMul(original: tf.KernelFunc): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
    if (!transposeA && !transposeB) return original({ inputs, backend, attrs });
    const { a, b, bias } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo; bias?: tf.TensorInfo };
    const act = (attrs?.activation as string | undefined) ?? "linear";
    const rank = a.shape.length;
    if (transposeA && !transposeB && !bias && act === "linear" && (rank === 2 || rank === 3)) {
      // One a^T b (a dense layer's weight gradient; tf.matMul passes rank 2 or 3): our
      // cache-blocked kernel.
      const [batchA, k, m] = rank === 3 ? a.shape : [1, ...a.shape];
      const [batchB, kb, n] = b.shape.length === 3 ? b.shape : [1, ...b.shape];
      if (batchA === 1 && batchB === 1 && k === kb && b.shape.length === rank) {
        return transposedProduct(backend as WasmBackend, a, b, k, m, n, rank === 3 ? [1, m, n] : [m, n]);
      }
    }
    return withScratch(backend as WasmBackend, (s) => {
      const plain = { ...inputs, a: transposeA ? swapLast(s, a) : a, b: transposeB ? swapLast(s, b) : b };
      return original({
        inputs: plain,
        backend,
        attrs: { ...attrs, transposeA: false, transposeB: false },
      }) as tf.TensorInfo;
    });
  };
}

function swapLast(s: Scratch, t: tf.TensorInfo): tf.TensorInfo {
  const perm = t.shape.map((_, i) => i);
  const r = perm.length;
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return s.transpose(t, perm);
}

/** The activations of `_FusedMatMul`, as the wasm kernels that apply them. */
const ACTIVATION: Record<
  string,
  (s: Scratch, x: tf.TensorInfo, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap) => tf.TensorInfo
> = {
  linear: (_s, x) => x,
  relu: (s, x) => s.run("Relu", { x }),
  relu6: (s, x) => s.run("Relu6", { x }),
  elu: (s, x) => s.run("Elu", { x }),
  sigmoid: (s, x) => s.run("Sigmoid", { x }),
  leakyrelu: (s, x, _i, a) =>
    s.run("LeakyRelu", { x }, { alpha: (a.leakyreluAlpha as number | undefined) ?? 0.2 }),
  prelu: (s, x, i) => s.run("Prelu", { x, alpha: i.preluActivationWeights as tf.TensorInfo }),
};

/**
 * wasm's `_FusedMatMul` adds the bias at the wrong positions when the batch dimension is above 1
 * (tfjs-backend-wasm 4.22). There we run the plain product and then the bias and activation as
 * separate kernels; batch 1 (what dense layers use) keeps the fused kernel.
 */
export function batchSafeFusedMatMul(fused: tf.KernelFunc): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { a, b, bias } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo; bias?: tf.TensorInfo };
    const batch = Math.max(a.shape.length > 2 ? a.shape[0] : 1, b.shape.length > 2 ? b.shape[0] : 1);
    if (!bias || batch === 1) return fused({ inputs, backend, attrs });
    const activation = (attrs?.activation as string | undefined) ?? "linear";
    const apply = ACTIVATION[activation];
    if (!apply) throw new Error(`_FusedMatMul on wasm: activation ${activation} is not supported`);
    return withScratch(backend as WasmBackend, (s) => {
      const product = fused({
        inputs: { a, b },
        backend,
        attrs: { ...attrs, activation: "linear" },
      }) as tf.TensorInfo;
      s.adopt(product);
      return apply(s, s.run("Add", { a: product, b: bias }), inputs, attrs ?? {});
    });
  };
}
