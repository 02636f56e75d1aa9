import * as tf from "@tensorflow/tfjs-core";
import { roundHalfEven } from "../quant/quantizers.js";
import type { CpuBackend } from "./cpu.js";
import { type QuantizeAttrs, quantizeSte } from "./native.js";
import type { WasmBackend } from "./wasm.js";

/**
 * A QKeras quantizer's forward pass and its straight-through mask as one kernel with two
 * outputs [y, mask] (formula in native/quantize.c). Composed of tfjs ops the same quantizer
 * takes a dozen kernels per call, forward and backward; students call it five to seven times
 * per step on tensors of a few thousand to a quarter million elements.
 */
export const QUANTIZE_STE = "DistillQuantizeSte";

function wasmQuantize({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo[] {
  const { x } = inputs as { x: tf.TensorInfo };
  return quantizeSte(backend as WasmBackend, x, attrs as unknown as QuantizeAttrs);
}

function cpuQuantize({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo[] {
  const { x } = inputs as { x: tf.TensorInfo };
  const { scale, inv, lo, hi, relu } = attrs as unknown as QuantizeAttrs;
  const b = backend as unknown as CpuBackend;
  const xs = b.data.get(x.dataId).values as Float32Array;
  const y = new Float32Array(xs.length);
  const mask = new Float32Array(xs.length);
  for (let i = 0; i < xs.length; i++) {
    const v = relu && !(xs[i] > 0) ? 0 : xs[i];
    // v * scale is exact (a power of two); Math.fround keeps the float32 product's value.
    const r = roundHalfEven(Math.fround(v * scale));
    y[i] = (r < lo ? lo : r > hi ? hi : r) * inv;
    mask[i] = r >= lo && r <= hi && (!relu || xs[i] > 0) ? 1 : 0;
  }
  return [b.makeTensorInfo([...x.shape], "float32", y), b.makeTensorInfo([...x.shape], "float32", mask)];
}

/** Registers the kernel for `backend` ("wasm" or "cpu"); safe to call more than once. */
export function registerQuantizeKernel(backend: "wasm" | "cpu"): void {
  if (tf.getKernel(QUANTIZE_STE, backend)) return;
  tf.registerKernel({
    kernelName: QUANTIZE_STE,
    backendName: backend,
    kernelFunc: (backend === "wasm" ? wasmQuantize : cpuQuantize) as unknown as tf.KernelFunc,
  });
}
