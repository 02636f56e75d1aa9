import type * as tf from "@tensorflow/tfjs-core";
import { heap } from "./heap.js";
import { type Scratch, type WasmBackend, withScratch } from "./wasm.js";

/** A float32 scalar on the wasm heap, freed with the scratch list. */
export function scalar(s: Scratch, value: number): tf.TensorInfo {
  return s.adopt(heap(s.backend).makeOutput([], "float32", undefined, Float32Array.of(value)));
}

/**
 * Gradient of nearest-neighbour resizing (what UpSampling2D runs), with the CPU backend's
 * semantics: output pixel (r, c) came from input pixel (floor(r * inH/outH), floor(c * inW/outW)),
 * or the rounded ratio of the (size - 1)s with `alignCorners`; `halfPixelCenters` does not
 * change the gradient in tfjs. It replaces wasm's own kernel, a scalar loop about five times
 * slower at the teacher's shapes.
 *
 * Upsampling by whole factors without `alignCorners` (UpSampling2D) is a sum over sh x sw
 * blocks: XNNPACK's average pool times sh*sw. Other ratios scatter dy in one pass over it.
 */
export function resizeNearestNeighborGrad({
  inputs,
  backend,
  attrs,
}: {
  inputs: tf.NamedTensorInfoMap;
  backend: WasmBackend;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const { images, dy } = inputs as { images: tf.TensorInfo; dy: tf.TensorInfo };
  const alignCorners = Boolean(attrs?.alignCorners);
  const [n, inH, inW, c] = images.shape;
  const [, outH, outW] = dy.shape;
  if (!alignCorners && outH % inH === 0 && outW % inW === 0) {
    const sh = outH / inH;
    const sw = outW / inW;
    return withScratch(backend, (s) => {
      const mean = s.run("AvgPool", { x: dy }, {
        filterSize: [sh, sw],
        strides: [sh, sw],
        pad: "valid",
        dimRoundingMode: "floor",
      } as unknown as tf.NamedAttrMap);
      return sh * sw === 1 ? mean : s.run("Multiply", { a: mean, b: scalar(s, sh * sw) });
    });
  }
  const b = heap(backend);
  const dx = b.makeOutput([n, inH, inW, c], "float32");
  // Views only after every allocation: growing the heap detaches older views.
  scatterNearestGrad(
    b.typedArrayFromHeap(dy),
    b.typedArrayFromHeap(dx),
    images.shape,
    [outH, outW],
    alignCorners,
  );
  return dx;
}

/**
 * dx = 0, then each dy pixel added to the input pixel it was copied from (see above): the
 * adjoint of nearest-neighbour resizing without half-pixel centers.
 */
export function scatterNearestGrad(
  dy: Float32Array,
  dx: Float32Array,
  imagesShape: readonly number[],
  [outH, outW]: readonly [number, number],
  alignCorners: boolean,
): void {
  const [n, inH, inW, c] = imagesShape;
  dx.fill(0);
  const scaleH = alignCorners && outH > 1 ? (inH - 1) / (outH - 1) : inH / outH;
  const scaleW = alignCorners && outW > 1 ? (inW - 1) / (outW - 1) : inW / outW;
  const source = (i: number, scale: number, size: number) =>
    Math.min(size - 1, alignCorners ? Math.round(i * scale) : Math.floor(i * scale));
  const srcCol = Int32Array.from({ length: outW }, (_, j) => source(j, scaleW, inW));
  let k = 0;
  for (let bi = 0; bi < n; bi++) {
    for (let r = 0; r < outH; r++) {
      const rowBase = (bi * inH + source(r, scaleH, inH)) * inW;
      for (let col = 0; col < outW; col++) {
        const o = (rowBase + srcCol[col]) * c;
        for (let d = 0; d < c; d++) dx[o + d] += dy[k++];
      }
    }
  }
}
