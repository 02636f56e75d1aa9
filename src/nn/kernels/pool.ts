import * as tf from "@tensorflow/tfjs-core";
import { scalar } from "./resize.js";
import type { WasmBackend } from "./wasm.js";
import { withScratch } from "./wasm.js";

/**
 * Gradient of average pooling. When windows tile the input exactly (pool == stride, no
 * padding, sizes divisible: the teacher's AveragePooling2D), every input pixel receives
 * dy / (ph*pw) of its one window: a nearest-neighbour upsampling of dy, which XNNPACK runs
 * several times faster than wasm's own AvgPoolGrad loop. Other configurations go to wasm's
 * kernel.
 */
export function tilingAvgPoolGrad(original: tf.KernelFunc): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const a = attrs as unknown as {
      filterSize: number | [number, number];
      strides: number | [number, number];
      pad: "valid" | "same" | number;
      dimRoundingMode?: "floor" | "round" | "ceil";
    };
    const info = tf.backend_util.computePool2DInfo(
      input.shape as [number, number, number, number],
      a.filterSize,
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
    );
    const { filterHeight: ph, filterWidth: pw, strideHeight: sh, strideWidth: sw } = info;
    const tiles =
      ph === sh &&
      pw === sw &&
      info.padInfo.top === 0 &&
      info.padInfo.left === 0 &&
      info.outHeight * sh === info.inHeight &&
      info.outWidth * sw === info.inWidth;
    if (!tiles) return original({ inputs, backend, attrs });
    return withScratch(backend as WasmBackend, (s) => {
      const up = s.run(
        "ResizeNearestNeighbor",
        { images: dy },
        { size: [info.inHeight, info.inWidth], alignCorners: false, halfPixelCenters: false },
      );
      return s.run("Multiply", { a: up, b: scalar(s, 1 / (ph * pw)) });
    });
  };
}
