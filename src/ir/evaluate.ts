import { match } from "ts-pattern";
import {
  arrayQuantizer,
  castIsExact,
  type FixedType,
  frac,
  maxMantissa,
  minMantissa,
  numberQuantizer,
  quantize,
} from "../fixed/index.js";
import { IrError } from "./errors.js";
import { analyzeModel, type LinearAnalysis, type ModelAnalysis } from "./range.js";
import type { Conv2dLayer, ModelIR } from "./types.js";
import { padBefore, size } from "./validate.js";

/**
 * The bit-exact integer evaluator: the reference every other representation is checked
 * against. Tensors are integer mantissas. Each linear layer computes, per output element,
 * exact products input * weight, casts each to the product type, sums them exactly with the
 * bias, casts the sum to the accumulator type and then to the output type (README, "Model IR").
 *
 * Two kernels implement these semantics: one on plain numbers, used when range analysis
 * proves that no integer reaches 2^53, and one on BigInt for everything else.
 */
export interface CompiledModel {
  readonly model: ModelIR;
  readonly analysis: ModelAnalysis;
  readonly inputSize: number;
  readonly outputSize: number;
  readonly outputShape: readonly number[];
  readonly outputType: FixedType;
  /** True when every intermediate fits a double exactly and the fast kernels run. */
  readonly exactInNumbers: boolean;
  readonly steps: readonly Step[];
}

interface Step {
  readonly number: (x: Float64Array, n: number) => Float64Array;
  readonly bigint: (x: readonly bigint[], n: number) => bigint[];
}

const SAFE = 2n ** 53n - 1n;

export function compileModel(model: ModelIR): CompiledModel {
  const analysis = analyzeModel(model);
  const steps = analysis.layers.map((a): Step => {
    const rows = size(a.outShape);
    const inFrac = frac(a.inType);
    if (a.linear) {
      const conv = a.layer.op === "conv2d" ? convGeometry(a.layer, a.inShape, a.outShape) : undefined;
      return linearStep(a.linear, rows, a.outType, conv);
    }
    return match(a.layer)
      .with({ op: "relu" }, (l) => elementwise(rows, inFrac, l.output, true))
      .with({ op: "cast" }, (l) => elementwise(rows, inFrac, l.output, false))
      .with({ op: "reshape" }, { op: "flatten" }, () => ({
        number: (x: Float64Array) => x,
        bigint: (x: readonly bigint[]) => [...x],
      }))
      .otherwise((l) => {
        throw new Error(`unreachable: ${l.op} has no linear analysis`);
      });
  });
  const last = analysis.layers[analysis.layers.length - 1];
  return {
    model,
    analysis,
    inputSize: size(model.input.shape),
    outputSize: size(last.outShape),
    outputShape: last.outShape,
    outputType: last.outType,
    exactInNumbers: analysis.maxAbs <= SAFE,
    steps,
  };
}

function elementwise(rows: number, inFrac: number, out: FixedType, relu: boolean): Step {
  const cast = arrayQuantizer(inFrac, out, relu);
  return {
    number: (x, n) => {
      const y = new Float64Array(n * rows);
      cast(x, y, 0, y.length);
      return y;
    },
    bigint: (x) => x.map((v) => quantize(relu && v < 0n ? 0n : v, inFrac, out)),
  };
}

/** A convolution's geometry and its non-zero taps, for the structured number kernel. */
interface ConvGeometry {
  readonly filters: number;
  readonly ow: number;
  /** Per tap: filter, weight mantissa, first input index (at oy0, ox0), output ranges. */
  readonly o: Int32Array;
  readonly w: Float64Array;
  readonly oy0: Int32Array;
  readonly oy1: Int32Array;
  readonly ox0: Int32Array;
  readonly ox1: Int32Array;
  readonly in0: Int32Array;
  /** Input index steps per output row and per output column. */
  readonly rowStep: number;
  readonly colStep: number;
}

function convGeometry(l: Conv2dLayer, inShape: readonly number[], outShape: readonly number[]): ConvGeometry {
  const [h, w, c] = inShape;
  const [oh, ow, f] = outShape;
  const [kh, kw] = l.kernel;
  const [sh, sw] = l.stride;
  const py = padBefore(h, kh, sh, l.padding);
  const px = padBefore(w, kw, sw, l.padding);
  const taps: number[][] = [];
  // Output positions whose tap lands inside the image: 0 <= o * s + d - p < size.
  const first = (d: number, p: number, s: number) => Math.max(0, Math.ceil((p - d) / s));
  const last = (d: number, p: number, s: number, size: number, out: number) =>
    Math.min(out - 1, Math.floor((size - 1 + p - d) / s));
  for (let dy = 0; dy < kh; dy++)
    for (let dx = 0; dx < kw; dx++)
      for (let ci = 0; ci < c; ci++)
        for (let o = 0; o < f; o++) {
          const wv = l.weights.values[((dy * kw + dx) * c + ci) * f + o];
          const y0 = first(dy, py, sh);
          const y1 = last(dy, py, sh, h, oh);
          const x0 = first(dx, px, sw);
          const x1 = last(dx, px, sw, w, ow);
          if (wv === 0 || y0 > y1 || x0 > x1) continue;
          taps.push([o, wv, y0, y1, x0, x1, ((y0 * sh + dy - py) * w + (x0 * sw + dx - px)) * c + ci]);
        }
  const col = (k: number) => Int32Array.from(taps, (t) => t[k]);
  return {
    filters: f,
    ow,
    o: col(0),
    w: Float64Array.from(taps, (t) => t[1]),
    oy0: col(2),
    oy1: col(3),
    ox0: col(4),
    ox1: col(5),
    in0: col(6),
    rowStep: sh * w * c,
    colStep: sw * c,
  };
}

/**
 * Convolution by taps: each non-zero weight multiplies a strided window of the input into the
 * outputs it reaches, instead of gathering every output's inputs through the sparse form's
 * column indices. Integer sums below 2^53 are exact in any order, so the bits do not change.
 */
function convNumberKernel(
  g: ConvGeometry,
  rows: number,
  inputs: number,
  weightScale: number,
  bias: Float64Array,
  finish: (y: Float64Array) => Float64Array,
): (x: Float64Array, n: number) => Float64Array {
  const { filters, ow, o, oy0, oy1, ox0, ox1, in0, rowStep, colStep } = g;
  const w = Float64Array.from(g.w, (v) => v * weightScale);
  const taps = w.length;
  const acc = new Float64Array(rows);
  return (x, n) => {
    const y = new Float64Array(n * rows);
    for (let e = 0; e < n; e++) {
      acc.set(bias);
      const xb = e * inputs;
      for (let t = 0; t < taps; t++) {
        const wt = w[t];
        const cols = ox1[t] - ox0[t] + 1;
        let xr = xb + in0[t];
        for (let oy = oy0[t]; oy <= oy1[t]; oy++, xr += rowStep) {
          let a = (oy * ow + ox0[t]) * filters + o[t];
          let xi = xr;
          for (let k = 0; k < cols; k++, a += filters, xi += colStep) acc[a] += wt * x[xi];
        }
      }
      y.set(acc, e * rows);
    }
    return finish(y);
  };
}

function linearStep(a: LinearAnalysis, rows: number, out: FixedType, conv?: ConvGeometry): Step {
  const { form, sumFrac, accum, product, exactProductFrac } = a;
  const { rowPtr, col, inputs } = form;
  const productFrac = frac(product);
  const productIsExact = castIsExact(a.productLo, a.productHi, exactProductFrac, product);
  const sumLo = a.sum.lo.reduce((m, v) => (v < m ? v : m), a.sum.lo[0] ?? 0n);
  const sumHi = a.sum.hi.reduce((m, v) => (v > m ? v : m), a.sum.hi[0] ?? 0n);
  const accumIsExact = castIsExact(sumLo, sumHi, sumFrac, accum);
  const biasScale = 2 ** (sumFrac - form.biasFrac);
  const bias = new Float64Array(rows);
  if (form.bias) for (let r = 0; r < rows; r++) bias[r] = form.bias[r] * biasScale;

  // Number kernel. With an exact product cast, the shift to sumFrac folds into the weights.
  const weight = Float64Array.from(
    form.weight,
    (w) => w * 2 ** (sumFrac - (productIsExact ? exactProductFrac : productFrac)),
  );
  const castProduct = numberQuantizer(exactProductFrac, product);
  const rawWeight = form.weight;
  const productScale = 2 ** (sumFrac - productFrac);
  // The kernels below write exact sums; `finish` then casts them in place (to the accumulator
  // type, unless that is exact, and to the output type), one array pass each.
  const toAccum = arrayQuantizer(sumFrac, accum);
  const toOut = accumIsExact ? arrayQuantizer(sumFrac, out) : arrayQuantizer(frac(accum), out);
  const finish = (y: Float64Array): Float64Array => {
    if (!accumIsExact) toAccum(y, y, 0, y.length);
    toOut(y, y, 0, y.length);
    return y;
  };
  let number: (x: Float64Array, n: number) => Float64Array;
  if (productIsExact && conv) {
    number = convNumberKernel(conv, rows, inputs, 2 ** (sumFrac - exactProductFrac), bias, finish);
  } else if (!productIsExact) {
    number = (x, n) => {
      const y = new Float64Array(n * rows);
      for (let e = 0; e < n; e++) {
        const xb = e * inputs;
        for (let r = 0; r < rows; r++) {
          let s = bias[r];
          for (let k = rowPtr[r]; k < rowPtr[r + 1]; k++)
            s += castProduct(x[xb + col[k]] * rawWeight[k]) * productScale;
          y[e * rows + r] = s;
        }
      }
      return finish(y);
    };
  } else if (weight.length * 4 >= rows * inputs) {
    // Mostly non-zero (dense layers): rows in groups of eight with weights interleaved, so
    // each input is loaded once per group and the eight sums are independent chains.
    // Integer sums below 2^53 are exact in any order, so no bit depends on this layout.
    const G = 8;
    const groups = Math.ceil(rows / G);
    const packed = new Float64Array(groups * G * inputs);
    for (let r = 0; r < rows; r++) {
      const base = Math.floor(r / G) * G * inputs + (r % G);
      for (let k = rowPtr[r]; k < rowPtr[r + 1]; k++) packed[base + col[k] * G] = weight[k];
    }
    const sums = new Float64Array(groups * G);
    const biasPadded = new Float64Array(groups * G);
    biasPadded.set(bias);
    number = (x, n) => {
      const y = new Float64Array(n * rows);
      for (let e = 0; e < n; e++) {
        const xb = e * inputs;
        for (let g = 0; g < groups; g++) {
          const o = G * g;
          let s0 = biasPadded[o];
          let s1 = biasPadded[o + 1];
          let s2 = biasPadded[o + 2];
          let s3 = biasPadded[o + 3];
          let s4 = biasPadded[o + 4];
          let s5 = biasPadded[o + 5];
          let s6 = biasPadded[o + 6];
          let s7 = biasPadded[o + 7];
          let w = o * inputs;
          for (let i = 0; i < inputs; i++, w += G) {
            const v = x[xb + i];
            s0 += v * packed[w];
            s1 += v * packed[w + 1];
            s2 += v * packed[w + 2];
            s3 += v * packed[w + 3];
            s4 += v * packed[w + 4];
            s5 += v * packed[w + 5];
            s6 += v * packed[w + 6];
            s7 += v * packed[w + 7];
          }
          sums[o] = s0;
          sums[o + 1] = s1;
          sums[o + 2] = s2;
          sums[o + 3] = s3;
          sums[o + 4] = s4;
          sums[o + 5] = s5;
          sums[o + 6] = s6;
          sums[o + 7] = s7;
        }
        for (let r = 0; r < rows; r++) y[e * rows + r] = sums[r];
      }
      return finish(y);
    };
  } else {
    number = (x, n) => {
      const y = new Float64Array(n * rows);
      for (let e = 0; e < n; e++) {
        const xb = e * inputs;
        for (let r = 0; r < rows; r++) {
          let s = bias[r];
          for (let k = rowPtr[r]; k < rowPtr[r + 1]; k++) s += x[xb + col[k]] * weight[k];
          y[e * rows + r] = s;
        }
      }
      return finish(y);
    };
  }

  const bigWeight = Array.from(form.weight, (w) => BigInt(w));
  const bigBias = Array.from({ length: rows }, (_, r) =>
    form.bias ? BigInt(form.bias[r]) << BigInt(sumFrac - form.biasFrac) : 0n,
  );
  const pShift = BigInt(sumFrac - productFrac);
  const bigint = (x: readonly bigint[], n: number): bigint[] => {
    const y: bigint[] = new Array(n * rows);
    for (let e = 0; e < n; e++) {
      for (let r = 0; r < rows; r++) {
        let s = bigBias[r];
        for (let k = rowPtr[r]; k < rowPtr[r + 1]; k++) {
          s += quantize(x[e * inputs + col[k]] * bigWeight[k], exactProductFrac, product) << pShift;
        }
        y[e * rows + r] = quantize(quantize(s, sumFrac, accum), frac(accum), out);
      }
    }
    return y;
  };
  return { number, bigint };
}

function checkInputs(c: CompiledModel, inputs: ArrayLike<number | bigint>): number {
  if (inputs.length % c.inputSize !== 0) {
    throw new IrError(
      ["input"],
      `${inputs.length} values`,
      `a multiple of ${c.inputSize} (one event is [${c.model.input.shape}])`,
    );
  }
  const lo = minMantissa(c.model.input.type);
  const hi = maxMantissa(c.model.input.type);
  const nlo = Number(lo);
  const nhi = Number(hi);
  let i = 0;
  if (
    ArrayBuffer.isView(inputs) &&
    !(inputs instanceof BigInt64Array) &&
    !(inputs instanceof BigUint64Array)
  ) {
    // Typed arrays of numbers: one tight check, then the detailed one only if it fails.
    const a = inputs as unknown as ArrayLike<number>;
    while (i < a.length && a[i] >= nlo && a[i] <= nhi && a[i] === Math.floor(a[i])) i++;
  }
  for (; i < inputs.length; i++) {
    const v = inputs[i];
    const ok =
      typeof v === "bigint" ? v >= lo && v <= hi : Number.isInteger(v) && v >= Number(lo) && v <= Number(hi);
    if (!ok) {
      throw new IrError(
        ["input", Math.floor(i / c.inputSize), i % c.inputSize],
        typeof v === "bigint" ? v.toString() : v,
        `an integer mantissa in ${lo}..${hi}`,
      );
    }
  }
  return inputs.length / c.inputSize;
}

const compiled = new WeakMap<ModelIR, CompiledModel>();
function compiledOf(m: ModelIR | CompiledModel): CompiledModel {
  if ("steps" in m) return m;
  let c = compiled.get(m);
  if (!c) {
    c = compileModel(m);
    compiled.set(m, c);
  }
  return c;
}

/**
 * Evaluates a batch: `inputs` holds N events of input mantissas back to back; returns the
 * N x outputSize output mantissas. Every layer's output too when `trace` is given.
 */
export function evaluate(
  model: ModelIR | CompiledModel,
  inputs: ArrayLike<number>,
  trace?: Float64Array[],
): Float64Array {
  const c = compiledOf(model);
  const n = checkInputs(c, inputs);
  if (c.outputType.width > 53) {
    throw new IrError(
      ["layers", c.steps.length - 1, "output"],
      c.outputType.width,
      "an output of at most 53 bits; use evaluateBigInt",
    );
  }
  if (!c.exactInNumbers) {
    const out = evaluateBigInt(c, inputs);
    return Float64Array.from(out, Number);
  }
  // new Float64Array(arrayLike) copies element-wise without the iterator protocol of .from().
  let x = inputs instanceof Float64Array ? inputs : new Float64Array(inputs as ArrayLike<number>);
  for (const step of c.steps) {
    x = step.number(x, n);
    trace?.push(x);
  }
  return x;
}

/** The same semantics on BigInt throughout, for any width. */
export function evaluateBigInt(
  model: ModelIR | CompiledModel,
  inputs: ArrayLike<number | bigint>,
  trace?: bigint[][],
): bigint[] {
  const c = compiledOf(model);
  const n = checkInputs(c, inputs);
  let x: bigint[] = Array.from({ length: inputs.length }, (_, i) => BigInt(inputs[i]));
  for (const step of c.steps) {
    x = step.bigint(x, n);
    trace?.push(x);
  }
  return x;
}
