import * as tf from "@tensorflow/tfjs-core";
// Loading tfjs-layers registers tfjs-core's gradient kernels, which training through these needs.
import "@tensorflow/tfjs-layers";
import { type FixedType, fixedType } from "../../fixed/index.js";
import { QUANTIZE_STE } from "../kernels/quantize.js";
import { type QuantizerGrid, type QuantizerSpec, quantizerGrid, quantizerName } from "./grid.js";

/**
 * QKeras quantizers with their exact fixed-point meaning. QKeras computes (alpha = 1):
 *
 *   quantized_bits(bits, integer, symmetric, keep_negative):
 *     f = bits - keep_negative - integer
 *     q(x) = clip(round(x * 2^f), keep_negative * (-2^(bits-1) + symmetric), 2^(bits-keep_negative) - 1) * 2^-f
 *   quantized_relu(bits, integer):
 *     f = bits - integer
 *     q(x) = clip(round(relu(x) * 2^f), 0, 2^bits - 1) * 2^-f
 *
 * with `round` = tf.round (half to even) and gradients passed straight through the rounding
 * and stopped where the clip is active. So quantized_bits(b, i, 0, 1) == ap_fixed<b, i+1,
 * RND_CONV, SAT>, symmetric = 1 gives SAT_SYM (the most negative mantissa is -(2^(b-1) - 1)),
 * keep_negative = 0 gives ap_ufixed<b, i, RND_CONV, SAT>; quantized_relu(b, i) ==
 * ap_ufixed<b, i, RND_CONV, SAT>.
 *
 * Weights may instead use alpha = "auto_po2" (`autoPo2` below): a power-of-two scale per output
 * channel, chosen from the weights themselves. Its values are not on one grid, so
 * `quantizerGrid` and `quantizerFixedType` do not apply; the export gives such a tensor a type
 * wide enough for every channel (student/exact.ts).
 */
export type { QuantizerGrid, QuantizerSpec } from "./grid.js";
export { quantizerGrid, quantizerName } from "./grid.js";

/** The ap_fixed type holding exactly the quantizer's outputs. */
export function quantizerFixedType(q: QuantizerSpec): FixedType {
  if (q.quantizer === "quantized_bits" && q.alpha) {
    throw new Error(`${quantizerName(q)} has a scale per channel, not one fixed-point type`);
  }
  if (q.quantizer === "quantized_relu") return fixedType(false, q.bits, q.integer, "RND_CONV", "SAT");
  if (!q.keepNegative) return fixedType(false, q.bits, q.integer, "RND_CONV", "SAT");
  return fixedType(true, q.bits, q.integer + 1, "RND_CONV", q.symmetric ? "SAT_SYM" : "SAT");
}

/** Half-to-even rounding of a double (as tf.round and numpy.round do). */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** The QKeras formula on one double: the quantized value's mantissa. */
export function quantizeMantissa(q: QuantizerGrid, x: number): number {
  const v = q.relu && x < 0 ? 0 : x;
  const r = roundHalfEven(v * 2 ** q.frac);
  return r < q.lo ? q.lo : r > q.hi ? q.hi : r;
}

/**
 * The quantizer as a differentiable TensorFlow.js function (straight-through estimator).
 * Scaling by powers of two, rounding and clipping are exact in float32, so the output is
 * exactly mantissa * 2^-frac for mantissas up to 24 bits.
 */
export function tfQuantizer(q: QuantizerSpec): (x: tf.Tensor) => tf.Tensor {
  if (q.quantizer === "quantized_bits" && q.alpha === "auto_po2") return tfAutoPo2(q.bits, q.integer);
  const g = quantizerGrid(q);
  const scale = 2 ** g.frac;
  const inv = 2 ** -g.frac;
  const attrs = { scale, inv, lo: g.lo, hi: g.hi, relu: g.relu };
  // One kernel for value and mask where we have it (wasm, cpu: kernels/quantize.ts), else tfjs ops.
  const fused = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const [value, mask] = tf
      .engine()
      .runKernel(QUANTIZE_STE, { x }, attrs as unknown as tf.NamedAttrMap) as unknown as tf.Tensor[];
    save([mask]);
    return {
      value,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => tf.mul(dy as tf.Tensor, saved[0]),
    };
  }) as (x: tf.Tensor) => tf.Tensor;
  const composite = compositeQuantizer(q);
  return (x) => (tf.getKernel(QUANTIZE_STE, tf.getBackend()) ? fused(x) : composite(x));
}

/** The same quantizer made of tfjs ops, for backends without our kernel. */
export function compositeQuantizer(q: QuantizerSpec): (x: tf.Tensor) => tf.Tensor {
  const g = quantizerGrid(q);
  const scale = 2 ** g.frac;
  const inv = 2 ** -g.frac;
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const r = tf.round(tf.mul(g.relu ? tf.relu(x) : x, scale));
    const value = tf.mul(tf.clipByValue(r, g.lo, g.hi), inv);
    save([x, r]);
    return {
      value,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [sx, sr] = saved;
        let pass = tf.logicalAnd(tf.greaterEqual(sr, g.lo), tf.lessEqual(sr, g.hi));
        if (g.relu) pass = tf.logicalAnd(pass, tf.greater(sx, 0));
        return tf.mul(dy as tf.Tensor, tf.cast(pass, "float32"));
      },
    };
  }) as (x: tf.Tensor) => tf.Tensor;
}

/** A weight tensor under quantized_bits(bits, integer, alpha="auto_po2"). */
export interface Po2Quantized {
  /** Integers in [-(2^(bits-1) - 1), 2^(bits-1) - 1], row-major like the input. */
  readonly z: Float64Array;
  /** Per channel c: value = z * 2^exponent[c] (the integer bits included). */
  readonly exponent: Int32Array;
  /** Element i belongs to channel i % channels. */
  readonly channels: number;
}

/** Keras' K.epsilon(), which QKeras adds before each division and logarithm. */
const KERAS_EPSILON = 1e-7;

/**
 * QKeras quantized_bits(bits, integer, alpha="auto_po2") (keep_negative = 1; symmetric is
 * implied), per channel: the last axis of a kernel, the whole tensor when it is 1-D. With
 * x' = x / 2^integer, levels = 2^bits - 1 and zmax = 2^(bits-1) - 1:
 *
 *   s = po2((max x' - min x') / levels), po2(v) = 2^round(log2(v + eps))
 *   5 times: z = sign(x') * min(floor(|x'| / s + 0.5), zmax)
 *            s = po2(mean(x' z) / (mean(z z) + eps))
 *   value = 2^integer * s * z
 *
 * (z from the fifth pass, s from the update after it, as QKeras returns them). QKeras computes
 * this in float32 TensorFlow ops; here it runs in float64, so where log2 lands within rounding
 * error of a half-integer the two may choose neighbouring scales. Training and export both call
 * this one function, so the deployed integers are the trained ones.
 */
export function autoPo2(
  values: ArrayLike<number>,
  shape: readonly number[],
  bits: number,
  integer: number,
): Po2Quantized {
  const channels = shape.length > 1 ? shape[shape.length - 1] : 1;
  const perChannel = values.length / channels;
  const levels = 2 ** bits - 1;
  const zmax = 2 ** (bits - 1) - 1;
  const mi = 2 ** integer;
  const po2 = (v: number) => roundHalfEven(Math.log(v + KERAS_EPSILON) / Math.LN2);
  const z = new Float64Array(values.length);
  const exponent = new Int32Array(channels);
  for (let c = 0; c < channels; c++) {
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let i = c; i < values.length; i += channels) {
      const v = values[i] / mi;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    let e = po2((hi - lo) / levels);
    for (let pass = 0; pass < 5; pass++) {
      const s = 2 ** e;
      let xz = 0;
      let zz = 0;
      for (let i = c; i < values.length; i += channels) {
        const v = values[i] / mi;
        const q = Math.min(Math.floor(Math.abs(v) / s + 0.5), zmax);
        const zi = v < 0 ? 0 - q : v > 0 ? q : 0; // never -0
        z[i] = zi;
        xz += v * zi;
        zz += zi * zi;
      }
      e = po2(xz / perChannel / (zz / perChannel + KERAS_EPSILON));
    }
    exponent[c] = e + integer;
  }
  return { z, exponent, channels };
}

/** The auto_po2 quantizer as a differentiable function: its values forward, dy straight back. */
function tfAutoPo2(bits: number, integer: number): (x: tf.Tensor) => tf.Tensor {
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor;
    const { z, exponent, channels } = autoPo2(x.dataSync(), x.shape, bits, integer);
    // z * 2^e is exact in float32 (|z| < 2^23).
    const v = Float32Array.from(z, (zi, i) => zi * 2 ** exponent[i % channels]);
    return {
      value: tf.tensor(v, x.shape),
      gradFunc: (dy: tf.Tensor | tf.Tensor[]) => dy as tf.Tensor,
    };
  }) as (x: tf.Tensor) => tf.Tensor;
}
