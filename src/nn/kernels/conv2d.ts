import * as tf from "@tensorflow/tfjs-core";
import { heap } from "./heap.js";
import { type Scratch, type WasmBackend, withScratch } from "./wasm.js";

/**
 * Gradients of a 2-D convolution (NHWC, dilation 1, any stride and padding), built from the
 * wasm backend's XNNPACK convolution so they run at the speed of the forward pass:
 *
 * - filter gradient: "batch as channels". dW[i,j,c,f] = sum over n, oh, ow of
 *   x[n, oh*sh+i-pt, ow*sw+j-pl, c] * dy[n,oh,ow,f] is itself a convolution of x laid out as
 *   [C,H,W,N] (C images with N channels) with dy laid out as a [OH,OW,N,F] filter dilated by the
 *   stride; at stride 1 with x smaller than dy, dy is the input and x the filter instead.
 * - input gradient: a stride-1 convolution of dy (dilated by the stride) with the spatially
 *   flipped filter whose in/out channels are swapped.
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
  const { top, left } = info.padInfo;
  if (c === 1 || f === 1) return singleChannelFilterGrad(backend, x, dy, info);
  // Pack the smaller operand as the convolution's filter: XNNPACK repacks its filter on every
  // call, which costs more than the product when the filter is large.
  const dyAsInput =
    sh === 1 && sw === 1 && x.shape.reduce((p, d) => p * d, 1) < dy.shape.reduce((p, d) => p * d, 1);
  if (dyAsInput) {
    const swapped = dyInputFilterGrad(backend, x, dy, info);
    if (swapped) return swapped;
  }
  return withScratch(backend, (s) => {
    // Rows the dilated dy filter spans; pad x so that exactly fh (fw) output rows (cols) result,
    // dropping x rows that no output reads (those only happen with "valid"-like paddings).
    const spanH = (oh - 1) * sh + 1;
    const spanW = (ow - 1) * sw + 1;
    const bottom = Math.max(0, fh - 1 + spanH - top - h);
    const right = Math.max(0, fw - 1 + spanW - left - w);
    const xt = s.transpose(x, [3, 1, 2, 0]); // [C,H,W,N]
    const dyt = s.transpose(dy, [1, 2, 0, 3]); // [OH,OW,N,F]
    const g = conv(s, xt, dyt, [top, bottom, left, right], [sh, sw]); // [C, >=fh, >=fw, F]
    const gc = crop(s, g, [0, 0], [fh, fw]);
    const out = s.transpose(gc, [1, 2, 0, 3]); // [fh,fw,C,F]
    if (out.shape.join() !== [fh, fw, c, f].join() || n !== dy.shape[0]) {
      throw new Error(
        `Conv2DBackpropFilter on wasm: made shape [${out.shape}], expected [${fh},${fw},${c},${f}]`,
      );
    }
    return out;
  });
}

/**
 * The filter gradient when x or dy has one channel (the teacher's first and last layers).
 * As a convolution its product has a single output channel, which XNNPACK runs at a tenth of
 * its usual speed. Instead, the one-channel operand is unfolded into its fh*fw shifted copies,
 * a [fh*fw, M] matrix (M = every position it is read at), and multiplied by the other operand
 * as an [M, channels] matrix: one plain matrix product with a small output.
 *
 * - c = 1: row (i,j) holds x[n, oh*sh+i-top, ow*sw+j-left] for every (n,oh,ow) (0 outside x),
 *   and dW[i,j,0,:] = row . dy[(n,oh,ow), :].
 * - f = 1: row (i,j) holds, for every (n,y,x) of the input, the dy entry that reads x[n,y,x]
 *   through tap (i,j): dy[n, (y-i+top)/sh, (x-j+left)/sw] when that is a whole position inside
 *   dy, else 0; and dW[i,j,:,0] = row . x[(n,y,x), :].
 */
function singleChannelFilterGrad(
  backend: WasmBackend,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const hb = heap(backend);
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
  const { top, left } = info.padInfo;
  const taps = fh * fw;
  return withScratch(backend, (s) => {
    if (c === 1) {
      const m = n * oh * ow;
      const rows = s.adopt(hb.makeOutput([1, taps, m], "float32"));
      // Views after every allocation: growing the wasm memory detaches older ones.
      const rv = hb.typedArrayFromHeap(rows);
      const xv = hb.typedArrayFromHeap(x);
      for (let i = 0; i < fh; i++) {
        for (let j = 0; j < fw; j++) {
          let d = (i * fw + j) * m;
          for (let b = 0; b < n; b++) {
            for (let y = 0; y < oh; y++, d += ow) {
              const r = y * sh + i - top;
              if (r < 0 || r >= h) {
                rv.fill(0, d, d + ow);
                continue;
              }
              const src = (b * h + r) * w;
              for (let u = 0; u < ow; u++) {
                const col = u * sw + j - left;
                rv[d + u] = col >= 0 && col < w ? xv[src + col] : 0;
              }
            }
          }
        }
      }
      const g = s.run(
        "BatchMatMul",
        { a: rows, b: s.reshape(dy, [1, m, f]) },
        {
          transposeA: false,
          transposeB: false,
        },
      ); // [1, taps, f]
      return s.reshape(g, [fh, fw, 1, f]);
    }
    const m = n * h * w;
    const rows = s.adopt(hb.makeOutput([1, taps, m], "float32"));
    const rv = hb.typedArrayFromHeap(rows);
    const dv = hb.typedArrayFromHeap(dy);
    for (let i = 0; i < fh; i++) {
      for (let j = 0; j < fw; j++) {
        let d = (i * fw + j) * m;
        for (let b = 0; b < n; b++) {
          for (let y = 0; y < h; y++, d += w) {
            const r = y - i + top;
            const oy = r / sh;
            if (r < 0 || r % sh !== 0 || oy >= oh) {
              rv.fill(0, d, d + w);
              continue;
            }
            const src = (b * oh + oy) * ow;
            for (let u = 0; u < w; u++) {
              const col = u - j + left;
              const ox = col / sw;
              rv[d + u] = col >= 0 && col % sw === 0 && ox < ow ? dv[src + ox] : 0;
            }
          }
        }
      }
    }
    const g = s.run(
      "BatchMatMul",
      { a: rows, b: s.reshape(x, [1, m, c]) },
      {
        transposeA: false,
        transposeB: false,
      },
    ); // [1, taps, c]
    return s.reshape(g, [fh, fw, c, 1]);
  });
}

/**
 * The filter gradient for stride 1 with the roles swapped: dy laid out as [F,OH,OW,N] is the
 * input and x as [H,W,N,C] the filter, so the packed operand is x. With dy padded by
 * fh-1-top rows before, output row u is filter row i = fh-1-u: the result comes out flipped.
 * Returns undefined for paddings this layout cannot express (wider than the filter).
 */
function dyInputFilterGrad(
  backend: WasmBackend,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo | undefined {
  const { inHeight: h, inWidth: w, outHeight: oh, outWidth: ow, filterHeight: fh, filterWidth: fw } = info;
  const top = fh - 1 - info.padInfo.top;
  const left = fw - 1 - info.padInfo.left;
  const bottom = fh - 1 + h - oh - top;
  const right = fw - 1 + w - ow - left;
  if (Math.min(top, left, bottom, right) < 0) return undefined;
  return withScratch(backend, (s) => {
    const dyt = s.transpose(dy, [3, 1, 2, 0]); // [F,OH,OW,N]
    const xt = s.transpose(x, [1, 2, 0, 3]); // [H,W,N,C]
    const g = conv(s, dyt, xt, [top, bottom, left, right], [1, 1]); // [F,fh,fw,C], flipped
    const flipped = s.run("Reverse", { x: g }, { dims: [1, 2] });
    return s.transpose(flipped, [1, 2, 3, 0]); // [fh,fw,C,F]
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
