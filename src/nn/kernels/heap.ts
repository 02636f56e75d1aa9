import type * as tf from "@tensorflow/tfjs-core";
import type { WasmBackend } from "./wasm.js";

/** The parts of tfjs-backend-wasm's BackendWasm (4.22) that kernels written in JavaScript use. */
export interface HeapBackend extends WasmBackend {
  makeOutput(
    shape: number[],
    dtype: tf.DataType,
    memoryOffset?: number,
    values?: Float32Array,
  ): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
  /** One more reference to a tensor's buffer: it is freed when every holder has disposed it. */
  incRef(dataId: tf.DataId): void;
}

export const heap = (b: WasmBackend) => b as HeapBackend;
