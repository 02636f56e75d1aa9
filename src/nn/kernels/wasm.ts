import * as tf from "@tensorflow/tfjs-core";
import { transposeKernel } from "./transpose.js";

/**
 * Calls into the wasm backend's own kernels from inside our kernels. We call the registered
 * kernel functions directly rather than `engine.runKernel`, so intermediates never reach the
 * engine's bookkeeping or the gradient tape: each kernel owns what it makes and frees it with
 * `Scratch.dispose`.
 */
export type WasmBackend = tf.KernelBackend;

export class Scratch {
  private readonly made: tf.TensorInfo[] = [];

  constructor(readonly backend: WasmBackend) {}

  /** Runs the wasm kernel `name`; the result is freed by `dispose` unless `keep` is called on it. */
  run(name: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap = {}): tf.TensorInfo {
    const kernel = tf.getKernel(name, "wasm");
    if (!kernel)
      throw new Error(`wasm kernel ${name} is not registered (is @tensorflow/tfjs-backend-wasm loaded?)`);
    const out = kernel.kernelFunc({ inputs, attrs, backend: this.backend }) as tf.TensorInfo;
    this.made.push(out);
    return out;
  }

  reshape(x: tf.TensorInfo, shape: readonly number[]): tf.TensorInfo {
    return this.run("Reshape", { x }, { shape: [...shape] });
  }

  /** Our tiled transpose (see transpose.ts), not wasm's, which is several times slower. */
  transpose(x: tf.TensorInfo, perm: readonly number[]): tf.TensorInfo {
    return this.adopt(transposeKernel({ inputs: { x }, backend: this.backend, attrs: { perm: [...perm] } }));
  }

  /** Frees `t` with the rest: for outputs of kernel functions called without `run`. */
  adopt(t: tf.TensorInfo): tf.TensorInfo {
    this.made.push(t);
    return t;
  }

  /** Removes `t` from what `dispose` frees: it becomes the kernel's output. */
  keep(t: tf.TensorInfo): tf.TensorInfo {
    const i = this.made.lastIndexOf(t);
    if (i >= 0) this.made.splice(i, 1);
    return t;
  }

  dispose(): void {
    for (const t of this.made) this.backend.disposeData(t.dataId);
    this.made.length = 0;
  }
}

/** Runs `f` with a scratch list, frees every intermediate and returns `f`'s kept result. */
export function withScratch(backend: WasmBackend, f: (s: Scratch) => tf.TensorInfo): tf.TensorInfo {
  const s = new Scratch(backend);
  try {
    return s.keep(f(s));
  } finally {
    s.dispose();
  }
}
