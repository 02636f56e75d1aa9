import type * as tf from "@tensorflow/tfjs-core";
import { heap } from "./heap.js";
import type { WasmBackend } from "./wasm.js";

/**
 * Identity, and Cast to the type a tensor already has, without a copy. wasm's kernels copy the
 * whole buffer, and training runs them on every activation: tfjs-layers casts layer inputs to
 * float32 and the gradient of a cast is a clone. Tensors are immutable, so the output can share
 * the input's buffer under one more reference, as the CPU backend's Identity does.
 */
function share(backend: tf.KernelBackend, x: tf.TensorInfo): tf.TensorInfo {
  heap(backend as WasmBackend).incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

export function sharingIdentity(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    return x.dtype === "string" ? original(args) : share(args.backend as tf.KernelBackend, x);
  };
}

export function sharingCast(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { dtype } = args.attrs as { dtype: tf.DataType };
    return x.dtype === dtype && dtype !== "string"
      ? share(args.backend as tf.KernelBackend, x)
      : original(args);
  };
}
