import * as tf from "@tensorflow/tfjs-core";
// Loading tfjs-layers registers tfjs-core's gradient kernels, which training through these needs.
import "@tensorflow/tfjs-layers";
import { type FixedType, fixedType } from "../../fixed/index.js";
import { QUANTIZE_STE } from "../kernels/quantize.js";

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
 * ap_ufixed<b, i, RND_CONV, SAT>. Only alpha = 1 is supported: "auto_po2" per-channel scales
 * are rejected by the config schema (they would need a per-channel scale op in the model IR).
 */
export type QuantizerSpec =
  | {
      readonly quantizer: "quantized_bits";
      readonly bits: number;
      readonly integer: number;
      readonly symmetric: 0 | 1;
      readonly keepNegative: 0 | 1;
    }
  | { readonly quantizer: "quantized_relu"; readonly bits: number; readonly integer: number };

/** The quantizer's grid: value = mantissa * 2^-frac, mantissa in [lo, hi]. */
export interface QuantizerGrid {
  readonly frac: number;
  readonly lo: number;
  readonly hi: number;
  readonly relu: boolean;
}

export function quantizerGrid(q: QuantizerSpec): QuantizerGrid {
  if (q.quantizer === "quantized_relu") {
    return { frac: q.bits - q.integer, lo: 0, hi: 2 ** q.bits - 1, relu: true };
  }
  return {
    frac: q.bits - q.keepNegative - q.integer,
    lo: q.keepNegative ? -(2 ** (q.bits - 1)) + q.symmetric : 0,
    hi: 2 ** (q.bits - q.keepNegative) - 1,
    relu: false,
  };
}

/** The ap_fixed type holding exactly the quantizer's outputs. */
export function quantizerFixedType(q: QuantizerSpec): FixedType {
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

/** QKeras-style name, e.g. "quantized_bits(8,1,0,1)". */
export function quantizerName(q: QuantizerSpec): string {
  return q.quantizer === "quantized_relu"
    ? `quantized_relu(${q.bits},${q.integer})`
    : `quantized_bits(${q.bits},${q.integer},${q.symmetric},${q.keepNegative})`;
}
