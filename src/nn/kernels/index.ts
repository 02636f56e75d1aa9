import * as tf from "@tensorflow/tfjs-core";

import { conv2dBackpropFilter, conv2dBackpropInput } from "./conv2d.js";
import { batchSafeFusedMatMul, transposingMatMul } from "./matmul.js";
import { tilingAvgPoolGrad } from "./pool.js";
import { leadingAxesSum } from "./reduce.js";
import { resizeNearestNeighborGrad } from "./resize.js";
import { sharingCast, sharingIdentity } from "./share.js";

export { registerCpuKernelFixes } from "./cpu.js";
export { nativeModule } from "./native.js";
export { QUANTIZE_STE, registerQuantizeKernel } from "./quantize.js";

/**
 * The kernels we provide for the wasm backend: missing ones, and faster versions of slow ones.
 * A wrapper receives wasm's own kernel function to delegate to.
 */
const KERNELS: readonly {
  readonly kernelName: string;
  readonly make: (original: tf.KernelFunc | undefined) => tf.KernelFunc;
}[] = [
  { kernelName: tf.Conv2DBackpropFilter, make: () => conv2dBackpropFilter as unknown as tf.KernelFunc },
  { kernelName: tf.Conv2DBackpropInput, make: () => conv2dBackpropInput as unknown as tf.KernelFunc },
  { kernelName: tf.AvgPoolGrad, make: (o) => tilingAvgPoolGrad(required(tf.AvgPoolGrad, o)) },
  {
    kernelName: tf.ResizeNearestNeighborGrad,
    make: () => resizeNearestNeighborGrad as unknown as tf.KernelFunc,
  },
  { kernelName: tf.Sum, make: (o) => leadingAxesSum(required(tf.Sum, o)) },
  { kernelName: tf.Identity, make: (o) => sharingIdentity(required(tf.Identity, o)) },
  { kernelName: tf.Cast, make: (o) => sharingCast(required(tf.Cast, o)) },
  { kernelName: tf.BatchMatMul, make: (o) => transposingMatMul(required(tf.BatchMatMul, o)) },
  {
    kernelName: tf._FusedMatMul,
    make: (o) => transposingMatMul(batchSafeFusedMatMul(required(tf._FusedMatMul, o))),
  },
];

export const WASM_KERNEL_NAMES: readonly string[] = KERNELS.map((k) => k.kernelName);

function required(name: string, original: tf.KernelFunc | undefined): tf.KernelFunc {
  if (!original) throw new Error(`wasm kernel ${name} is missing: load @tensorflow/tfjs-backend-wasm first`);
  return original;
}

/** Our registered kernel functions, so that registering twice changes nothing. */
const ours = new Set<tf.KernelFunc>();

/**
 * Registers our training kernels for the wasm backend, wrapping or replacing wasm's own
 * versions. Call after `@tensorflow/tfjs-backend-wasm` is imported (its kernels register on
 * import). Safe to call more than once.
 */
export function registerWasmKernels(): void {
  for (const k of KERNELS) {
    const existing = tf.getKernel(k.kernelName, "wasm");
    if (existing && ours.has(existing.kernelFunc)) continue;
    const kernelFunc = k.make(existing?.kernelFunc);
    ours.add(kernelFunc);
    if (existing) tf.unregisterKernel(k.kernelName, "wasm");
    // Keep wasm's setup function: its cwrap bindings must still be made when the backend starts.
    tf.registerKernel({
      kernelName: k.kernelName,
      backendName: "wasm",
      kernelFunc,
      ...(existing?.setupFunc ? { setupFunc: existing.setupFunc } : {}),
    });
  }
}
