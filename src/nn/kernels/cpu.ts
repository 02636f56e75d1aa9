import * as tf from "@tensorflow/tfjs-core";
import { scatterNearestGrad } from "./resize.js";

/** The parts of tfjs-backend-cpu's MathBackendCPU (4.22) our CPU kernels use. */
export interface CpuBackend {
  readonly data: { get(dataId: tf.DataId): { values: tf.backend_util.BackendValues } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

/**
 * tfjs-backend-cpu 4.22's ResizeNearestNeighborGrad offsets dy by the *images'* batch stride,
 * so every event after the first of a batch gets a wrong gradient (UpSampling2D trains wrongly
 * on the CPU backend). This replacement scatters dy directly.
 */
function resizeNearestNeighborGradCpu({
  inputs,
  backend,
  attrs,
}: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { images, dy } = inputs as { images: tf.TensorInfo; dy: tf.TensorInfo };
  const b = backend as unknown as CpuBackend;
  const dx = new Float32Array(images.shape.reduce((p, d) => p * d, 1));
  const g = b.data.get(dy.dataId).values;
  scatterNearestGrad(
    g instanceof Float32Array ? g : Float32Array.from(g as ArrayLike<number>),
    dx,
    images.shape,
    [dy.shape[1], dy.shape[2]],
    Boolean(attrs?.alignCorners),
  );
  return b.makeTensorInfo(images.shape, "float32", dx);
}

/**
 * Replaces CPU-backend kernels that compute wrong results. Call after
 * `@tensorflow/tfjs-backend-cpu` is imported; safe to call more than once.
 */
export function registerCpuKernelFixes(): void {
  const existing = tf.getKernel(tf.ResizeNearestNeighborGrad, "cpu");
  if (existing?.kernelFunc === resizeNearestNeighborGradCpu) return;
  if (existing) tf.unregisterKernel(tf.ResizeNearestNeighborGrad, "cpu");
  tf.registerKernel({
    kernelName: tf.ResizeNearestNeighborGrad,
    backendName: "cpu",
    kernelFunc: resizeNearestNeighborGradCpu as tf.KernelFunc,
  });
}
