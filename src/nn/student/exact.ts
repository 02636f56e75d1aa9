import * as tf from "@tensorflow/tfjs-core";
import { toQuantizerSpec } from "../../config/student.js";
import { type FixedType, fixedType, frac, maxMantissa, minMantissa } from "../../fixed/index.js";
import { UserError } from "../../util/errors.js";
import {
  autoPo2,
  type Po2Quantized,
  quantizeMantissa,
  quantizerFixedType,
  quantizerGrid,
} from "../quant/quantizers.js";
import {
  type BatchNormStats,
  conv2dAsMatMul,
  effectiveWeights,
  layerVars,
  paramTensors,
  type StudentModel,
} from "./model.js";

/**
 * The integers a trained student deploys, and a provably exact forward pass over them.
 *
 * `deployedWeights` quantizes each linear layer's kernel and bias (batch norm folded with the
 * frozen statistics) exactly as the training graph's quantizers do in inference mode.
 *
 * `exactForward` computes the quantized graph's output mantissas without trusting float32 sums:
 * every layer input (integer mantissas) is split into k-bit digits, x = sum_j d_j 2^(kj), with k
 * chosen so that |d_j| * sum_i |w_i| < 2^24 for every output. Each digit's matMul or conv2d on
 * the backend then only ever forms integers below 2^24, which float32 holds exactly in any
 * summation order; the digit results are recombined, the bias added and the activations
 * rounded in float64 (exact below 2^53, which is checked).
 */
export class StudentExportError extends UserError {
  override readonly name = "StudentExportError";
}

export interface IntArray {
  readonly type: FixedType;
  readonly shape: readonly number[];
  /** Integer mantissas, row-major. */
  readonly values: Float64Array;
  /** Bits per weight as trained, where the type is wider (auto_po2: the integers before their channel's shift). */
  readonly bits?: number;
}

export interface DeployedLinear {
  readonly kernel: IntArray;
  readonly bias?: IntArray;
}

export function deployedWeights(
  m: StudentModel,
  params: Float32Array,
  bn: BatchNormStats,
): (DeployedLinear | undefined)[] {
  let out: (DeployedLinear | undefined)[] = [];
  tf.tidy(() => {
    const vars = layerVars(m, paramTensors(m, params));
    out = m.config.layers.map((l, i): DeployedLinear | undefined => {
      if (l.type !== "qdense" && l.type !== "qdense_batchnorm" && l.type !== "qconv2d") return undefined;
      const w = effectiveWeights(l, i, vars[i], undefined, bn);
      const ints = (t: tf.Tensor, q: typeof l.kernelQuantizer): IntArray => {
        const spec = toQuantizerSpec(q);
        if (spec.quantizer === "quantized_bits" && spec.alpha === "auto_po2") {
          return po2Ints(autoPo2(t.dataSync(), t.shape, spec.bits, spec.integer), t.shape, spec.bits);
        }
        const g = quantizerGrid(spec);
        return {
          type: quantizerFixedType(spec),
          shape: t.shape,
          values: Float64Array.from(t.dataSync(), (v) => quantizeMantissa(g, v)),
        };
      };
      const kernel = ints(w.kernel, l.kernelQuantizer);
      return w.bias && l.biasQuantizer ? { kernel, bias: ints(w.bias, l.biasQuantizer) } : { kernel };
    });
  });
  return out;
}

/**
 * auto_po2 weights as mantissas of one fixed-point type: the finest channel's exponent sets the
 * fractional bits, and coarser channels' integers are shifted up to it, so every value
 * z * 2^exponent is exact. Channels whose integers are all zero do not widen the type.
 */
export function po2Ints(q: Po2Quantized, shape: readonly number[], bits: number): IntArray {
  const used = new Uint8Array(q.channels);
  for (let i = 0; i < q.z.length; i++) if (q.z[i] !== 0) used[i % q.channels] = 1;
  let f = Number.NEGATIVE_INFINITY;
  for (let c = 0; c < q.channels; c++) if (used[c]) f = Math.max(f, -q.exponent[c]);
  if (!Number.isFinite(f)) f = 0;
  const values = Float64Array.from(q.z, (z, i) => (z === 0 ? 0 : z * 2 ** (q.exponent[i % q.channels] + f)));
  let max = 1;
  for (const v of values) max = Math.max(max, Math.abs(v));
  const width = Math.ceil(Math.log2(max + 1)) + 1;
  return { type: fixedType(true, width, width - f, "RND_CONV", "SAT"), shape, values, bits };
}

interface State {
  /** Mantissas, n x size, row-major per event. */
  readonly values: Float64Array;
  readonly frac: number;
  /** Bounds of every mantissa (from the types, not from the data). */
  readonly lo: number;
  readonly hi: number;
  readonly shape: readonly number[];
}

const F32_EXACT = 2 ** 24;
const F64_EXACT = 2 ** 53;

/** Largest over outputs of the sum of |w| feeding it (kernel's last axis is the output). */
function maxColumnAbsSum(k: IntArray): number {
  const outs = k.shape[k.shape.length - 1];
  const sums = new Float64Array(outs);
  for (let i = 0; i < k.values.length; i++) sums[i % outs] += Math.abs(k.values[i]);
  return sums.reduce((a, b) => Math.max(a, b), 0);
}

function linearExact(
  s: State,
  n: number,
  d: DeployedLinear,
  apply: (x: tf.Tensor, w: tf.Tensor) => tf.Tensor,
  outShape: readonly number[],
): State {
  const col = maxColumnAbsSum(d.kernel);
  const maxX = Math.max(Math.abs(s.lo), Math.abs(s.hi));
  // Digit width k: (2^k - 1) * col < 2^24; the top digit may be negative and is bounded separately.
  let k = 1;
  while (k < 24 && (2 ** (k + 1) - 1) * col < F32_EXACT) k++;
  if ((2 ** k - 1) * col >= F32_EXACT) {
    throw new StudentExportError(
      `a layer's weights sum to ${col} in magnitude for one output; the exact forward needs less than 2^23`,
    );
  }
  let parts = 1;
  while (Math.ceil(maxX / 2 ** (k * (parts - 1))) * col >= F32_EXACT) parts++;
  const wFrac = frac(d.kernel.type);
  const prodFrac = s.frac + wFrac;
  const bFrac = d.bias ? frac(d.bias.type) : prodFrac;
  const sumFrac = Math.max(prodFrac, bFrac);
  const pScale = 2 ** (sumFrac - prodFrac);
  const bScale = 2 ** (sumFrac - bFrac);
  const bMax = d.bias ? d.bias.values.reduce((a, v) => Math.max(a, Math.abs(v)), 0) : 0;
  if (maxX * col * pScale + bMax * bScale >= F64_EXACT) {
    throw new StudentExportError(
      "a layer's accumulator needs more than 53 bits; the exact forward cannot hold it",
    );
  }
  const outSize = outShape.reduce((a, b) => a * b, 1);
  const acc = new Float64Array(n * outSize);
  const inSize = s.shape.reduce((a, b) => a * b, 1);
  tf.tidy(() => {
    const w = tf.tensor(Float32Array.from(d.kernel.values), [...d.kernel.shape]);
    for (let j = 0; j < parts; j++) {
      const base = 2 ** (k * j);
      const digits = new Float32Array(n * inSize);
      for (let i = 0; i < digits.length; i++) {
        const q = Math.floor(s.values[i] / base);
        digits[i] = j === parts - 1 ? q : q - Math.floor(q / 2 ** k) * 2 ** k;
      }
      const p = apply(tf.tensor(digits, [n, ...s.shape]), w).dataSync();
      for (let i = 0; i < acc.length; i++) acc[i] += p[i] * base;
    }
  });
  const channels = outShape[outShape.length - 1];
  for (let i = 0; i < acc.length; i++) {
    acc[i] = acc[i] * pScale + (d.bias ? d.bias.values[i % channels] * bScale : 0);
  }
  const bound = maxX * col * pScale + bMax * bScale;
  return { values: acc, frac: sumFrac, lo: -bound, hi: bound, shape: outShape };
}

/** Output mantissas of the quantized student for `n` events of counts (input mantissas). */
export function exactForward(
  m: StudentModel,
  deployed: readonly (DeployedLinear | undefined)[],
  counts: Uint16Array,
  n: number,
  trace?: { readonly frac: number; readonly values: Float64Array }[],
): Float64Array {
  let s: State = {
    values: Float64Array.from(counts.subarray(0, n * 252)),
    frac: frac(m.inputType),
    lo: Number(minMantissa(m.inputType)),
    hi: Number(maxMantissa(m.inputType)),
    shape: m.config.input.shape,
  };
  m.config.layers.forEach((l, i) => {
    const outShape = m.shapes[i];
    switch (l.type) {
      case "qdense":
      case "qdense_batchnorm":
        s = linearExact(
          s,
          n,
          deployed[i]!,
          (x, w) => tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D),
          outShape,
        );
        break;
      case "qconv2d":
        s = linearExact(
          s,
          n,
          deployed[i]!,
          (x, w) => conv2dAsMatMul(x as tf.Tensor4D, w as tf.Tensor4D, l.strides, l.padding),
          outShape,
        );
        break;
      case "qactivation": {
        const g = quantizerGrid(toQuantizerSpec(l.activation));
        const scale = 2 ** -s.frac;
        const values = Float64Array.from(s.values, (v) => quantizeMantissa(g, v * scale));
        s = { values, frac: g.frac, lo: g.lo, hi: g.hi, shape: outShape };
        break;
      }
      case "avgpool2d": {
        // The mean of `area` values is their sum with log2(area) more fractional bits.
        const [h, w, c] = s.shape;
        const [ph, pw] = l.pool;
        const [oh, ow] = outShape;
        const values = new Float64Array(n * oh * ow * c);
        let o = 0;
        for (let e = 0; e < n; e++) {
          const base = e * h * w * c;
          for (let y = 0; y < oh; y++)
            for (let x = 0; x < ow; x++)
              for (let ch = 0; ch < c; ch++) {
                let sum = 0;
                for (let dy = 0; dy < ph; dy++)
                  for (let dx = 0; dx < pw; dx++)
                    sum += s.values[base + ((y * ph + dy) * w + x * pw + dx) * c + ch];
                values[o++] = sum;
              }
        }
        const area = ph * pw;
        s = { values, frac: s.frac + Math.log2(area), lo: s.lo * area, hi: s.hi * area, shape: outShape };
        break;
      }
      case "flatten":
      case "reshape":
        s = { ...s, shape: outShape };
        break;
    }
    trace?.push({ frac: s.frac, values: s.values });
  });
  return s.values;
}
