import * as tf from "@tensorflow/tfjs-core";
import { filterGradient } from "./native.js";
import { type Scratch, type WasmBackend, withScratch } from "./wasm.js";

/**
 * Gradients of a 2-D convolution (NHWC, dilation 1, any stride and padding):
 *
 * - filter gradient: our cache-blocked SIMD kernel (native/gradients.c). XNNPACK could run it
 *   as a convolution of x laid out [C,H,W,N] with dy as a [OH,OW,N,F] filter, but that sums
 *   over the whole batch per output tile and runs at a third of the forward pass's speed.
 * - input gradient: a stride-1 convolution of dy (dilated by the stride) with the spatially
 *   flipped filter whose in/out channels are swapped, on the wasm backend's XNNPACK, at the
 *   speed of the forward pass.
 */

type ConvAttrs = {
  readonly strides: number | [number, number];
  readonly pad: "valid" | "same" | number | ExplicitPadding;
  readonly dataFormat: "NHWC" | "NCHW";
  readonly dimRoundingMode?: "floor" | "round" | "ceil";
};
type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];

/** A convolution these kernels do not handle (only NHWC is); names the kernel. */
export class UnsupportedKernelConfig extends Error {
  override readonly name = "UnsupportedKernelConfig";
}

function convInfo(
  kernel: string,
  xShape: number[],
  filterShape: number[],
  a: ConvAttrs,
): tf.backend_util.Conv2DInfo {
  if (a.dataFormat !== "NHWC") {
    throw new UnsupportedKernelConfig(
      `${kernel} on wasm: dataFormat ${a.dataFormat} is not supported, expected NHWC`,
    );
  }
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
    false,
    "channelsLast",
  );
}

function conv(
  s: Scratch,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  pads: [number, number, number, number],
  dilations: [number, number],
): tf.TensorInfo {
  const [top, bottom, left, right] = pads;
  return s.run("Conv2D", { x, filter }, {
    strides: [1, 1],
    pad: [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ],
    dataFormat: "NHWC",
    dilations,
    dimRoundingMode: "floor",
  } as unknown as tf.NamedAttrMap);
}

/** `x[:, rows, cols, :]` of a 4-D tensor, or `x` itself when nothing is cut. */
function crop(s: Scratch, x: tf.TensorInfo, begin: [number, number], size: [number, number]): tf.TensorInfo {
  const [n, h, w, c] = x.shape;
  if (begin[0] === 0 && begin[1] === 0 && size[0] === h && size[1] === w) return x;
  return s.run("Slice", { x }, { begin: [0, begin[0], begin[1], 0], size: [n, size[0], size[1], c] });
}

export function conv2dBackpropFilter({
  inputs,
  backend,
  attrs,
}: {
  inputs: tf.NamedTensorInfoMap;
  backend: WasmBackend;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const a = attrs as unknown as ConvAttrs & { filterShape: number[] };
  const info = convInfo("Conv2DBackpropFilter", x.shape, a.filterShape, a);
  if (dy.shape.join() !== [info.batchSize, info.outHeight, info.outWidth, info.outChannels].join()) {
    throw new Error(
      `Conv2DBackpropFilter on wasm: dy has shape [${dy.shape}], expected [${info.batchSize},${info.outHeight},${info.outWidth},${info.outChannels}]`,
    );
  }
  return filterGradient(backend, x, dy, {
    n: info.batchSize,
    h: info.inHeight,
    w: info.inWidth,
    c: info.inChannels,
    oh: info.outHeight,
    ow: info.outWidth,
    f: info.outChannels,
    fh: info.filterHeight,
    fw: info.filterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    pt: info.padInfo.top,
    pl: info.padInfo.left,
  });
}

export function conv2dBackpropInput({
  inputs,
  backend,
  attrs,
}: {
  inputs: tf.NamedTensorInfoMap;
  backend: WasmBackend;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const a = attrs as unknown as ConvAttrs & { inputShape: number[] };
  const info = convInfo("Conv2DBackpropInput", a.inputShape, filter.shape, a);
  const {
    batchSize: n,
    inHeight: h,
    inWidth: w,
    inChannels: c,
    outHeight: oh,
    outWidth: ow,
    outChannels: f,
  } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  return withScratch(backend, (s) => {
    // dy dilated by the stride, with sh-1 (sw-1) trailing zero rows (cols) that are part of
    // the bottom (right) padding below.
    let d = dy;
    if (sh > 1 || sw > 1) {
      const padded = s.run("PadV2", { x: s.reshape(dy, [n, oh, 1, ow, 1, f]) }, {
        paddings: [
          [0, 0],
          [0, 0],
          [0, sh - 1],
          [0, 0],
          [0, sw - 1],
          [0, 0],
        ],
        constantValue: 0,
      } as unknown as tf.NamedAttrMap);
      d = s.reshape(padded, [n, oh * sh, ow * sw, f]);
    }
    // Full correlation with the flipped filter: pad fh-1-top before; whatever makes h rows after.
    let top = fh - 1 - info.padInfo.top;
    let left = fw - 1 - info.padInfo.left;
    let bottom = h + fh - 1 - top - d.shape[1];
    let right = w + fw - 1 - left - d.shape[2];
    // Negative paddings (explicit paddings wider than the filter, or strides beyond the
    // filter size) mean rows of dy that reach no input: cut them off.
    const cutTop = Math.max(0, -top);
    const cutLeft = Math.max(0, -left);
    const keepH = d.shape[1] - cutTop - Math.max(0, -bottom);
    const keepW = d.shape[2] - cutLeft - Math.max(0, -right);
    d = crop(s, d, [cutTop, cutLeft], [keepH, keepW]);
    top = Math.max(0, top);
    left = Math.max(0, left);
    bottom = Math.max(0, bottom);
    right = Math.max(0, right);
    const flipped = s.transpose(s.run("Reverse", { x: filter }, { dims: [0, 1] }), [0, 1, 3, 2]); // [fh,fw,F,C]
    const out = conv(s, d, flipped, [top, bottom, left, right], [1, 1]);
    if (out.shape.join() !== [n, h, w, c].join()) {
      throw new Error(
        `Conv2DBackpropInput on wasm: made shape [${out.shape}], expected [${n},${h},${w},${c}]`,
      );
    }
    return out;
  });
}
