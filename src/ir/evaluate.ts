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
  /** Values per event out of this step. */
  readonly rows: number;
  /**
   * Writes n events' outputs, n * rows values, to the start of y (which may be longer).
   * Absent for a reshape or flatten: the values pass through as they are.
   */
  readonly number?: (x: Float64Array, n: number, y: Float64Array) => void;
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
        rows,
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
    rows,
    number: (x, n, y) => cast(x, y, 0, n * rows),
    bigint: (x) => x.map((v) => quantize(relu && v < 0n ? 0n : v, inFrac, out)),
  };
}

/**
 * A convolution's geometry for the scatter kernel: for each input position, the taps that
 * carry it into an output, as the output's first index and the tap's first weight index.
 */
interface ConvGeometry {
  readonly filters: number;
  readonly channels: number;
  readonly positions: number;
  /** Input position p's taps are entries tapStart[p] .. tapStart[p + 1] - 1. */
  readonly tapStart: Int32Array;
  readonly outBase: Int32Array;
  readonly weightBase: Int32Array;
  readonly weights: Float64Array;
}

function convGeometry(l: Conv2dLayer, inShape: readonly number[], outShape: readonly number[]): ConvGeometry {
  const [h, w, c] = inShape;
  const [oh, ow, f] = outShape;
  const [kh, kw] = l.kernel;
  const [sh, sw] = l.stride;
  const py = padBefore(h, kh, sh, l.padding);
  const px = padBefore(w, kw, sw, l.padding);
  const tapStart = new Int32Array(h * w + 1);
  const outBase: number[] = [];
  const weightBase: number[] = [];
  // Input (y, x) meets output (oy, ox) through tap (dy, dx) when oy * sh + dy - py = y.
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      for (let dy = 0; dy < kh; dy++)
        for (let dx = 0; dx < kw; dx++) {
          const ty = y + py - dy;
          const tx = x + px - dx;
          if (ty < 0 || tx < 0 || ty % sh !== 0 || tx % sw !== 0) continue;
          const oy = ty / sh;
          const ox = tx / sw;
          if (oy >= oh || ox >= ow) continue;
          outBase.push((oy * ow + ox) * f);
          weightBase.push((dy * kw + dx) * c * f);
        }
      tapStart[y * w + x + 1] = outBase.length;
    }
  return {
    filters: f,
    channels: c,
    positions: h * w,
    tapStart,
    outBase: Int32Array.from(outBase),
    weightBase: Int32Array.from(weightBase),
    weights: Float64Array.from(l.weights.values),
  };
}

/**
 * Convolution by scattering: each non-zero input adds its products with every tap it meets
 * into the outputs those taps reach. Calorimeter images are mostly zeros (about 60 % of the
 * regions of a zero-bias event), and a zero adds nothing, so it is skipped. Integer sums below
 * 2^53 are exact in any order, so no bit depends on the order of the additions.
 */
function convNumberKernel(
  g: ConvGeometry,
  rows: number,
  inputs: number,
  weightScale: number,
  bias: Float64Array,
  finish: (y: Float64Array, length: number) => void,
): (x: Float64Array, n: number, y: Float64Array) => void {
  const { filters, channels, positions, tapStart, outBase, weightBase } = g;
  const w = Float64Array.from(g.weights, (v) => v * weightScale);
  return (x, n, y) => {
    for (let e = 0; e < n; e++) {
      const xb = e * inputs;
      const yb = e * rows;
      y.set(bias, yb);
      for (let p = 0; p < positions; p++) {
        for (let ci = 0; ci < channels; ci++) {
          const v = x[xb + p * channels + ci];
          if (v === 0) continue;
          for (let j = tapStart[p]; j < tapStart[p + 1]; j++) {
            const o = yb + outBase[j];
            const wb = weightBase[j] + ci * filters;
            for (let k = 0; k < filters; k++) y[o + k] += v * w[wb + k];
          }
        }
      }
    }
    finish(y, n * rows);
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
  const finish = (y: Float64Array, length: number): void => {
    if (!accumIsExact) toAccum(y, y, 0, length);
    toOut(y, y, 0, length);
  };
  let number: (x: Float64Array, n: number, y: Float64Array) => void;
  if (productIsExact && conv) {
    number = convNumberKernel(conv, rows, inputs, 2 ** (sumFrac - exactProductFrac), bias, finish);
  } else if (!productIsExact) {
    number = (x, n, y) => {
      for (let e = 0; e < n; e++) {
        const xb = e * inputs;
        for (let r = 0; r < rows; r++) {
          let s = bias[r];
          for (let k = rowPtr[r]; k < rowPtr[r + 1]; k++)
            s += castProduct(x[xb + col[k]] * rawWeight[k]) * productScale;
          y[e * rows + r] = s;
        }
      }
      finish(y, n * rows);
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
    number = (x, n, y) => {
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
      finish(y, n * rows);
    };
  } else {
    number = (x, n, y) => {
      for (let e = 0; e < n; e++) {
        const xb = e * inputs;
        for (let r = 0; r < rows; r++) {
          let s = bias[r];
          for (let k = rowPtr[r]; k < rowPtr[r + 1]; k++) s += x[xb + col[k]] * weight[k];
          y[e * rows + r] = s;
        }
      }
      finish(y, n * rows);
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
  return { rows, number, bigint };
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
  if (trace) {
    // Every layer's whole output is kept, so each step writes a fresh array.
    let x = toFloat64(inputs, 0, inputs.length);
    for (const step of c.steps) {
      if (step.number) {
        const y = new Float64Array(n * step.rows);
        step.number(x, n, y);
        x = y;
      }
      trace.push(x);
    }
    return x;
  }
  // A few events at a time through every layer, in buffers kept with the compiled model: the
  // intermediates stay in the cache, and no array is allocated (and zeroed) per layer. Each
  // event's arithmetic is the same whatever the batch, so no bit depends on CHUNK.
  const out = new Float64Array(n * c.outputSize);
  const buffers = scratchOf(c);
  for (let e0 = 0; e0 < n; e0 += CHUNK) {
    const m = Math.min(CHUNK, n - e0);
    let x = toFloat64(inputs, e0 * c.inputSize, m * c.inputSize, buffers.input);
    c.steps.forEach((step, i) => {
      if (!step.number) return;
      step.number(x, m, buffers.steps[i]);
      x = buffers.steps[i];
    });
    out.set(x.subarray(0, m * c.outputSize), e0 * c.outputSize);
  }
  return out;
}

/** Events per pass through the layers in `evaluate`. */
const CHUNK = 64;

interface Scratch {
  readonly input: Float64Array;
  readonly steps: readonly Float64Array[];
}
const scratch = new WeakMap<CompiledModel, Scratch>();
function scratchOf(c: CompiledModel): Scratch {
  let s = scratch.get(c);
  if (!s) {
    s = {
      input: new Float64Array(CHUNK * c.inputSize),
      steps: c.steps.map((step) => new Float64Array(step.number ? CHUNK * step.rows : 0)),
    };
    scratch.set(c, s);
  }
  return s;
}

/**
 * inputs[from, from + length) as doubles: a view of the array itself when it already is one,
 * else a copy (into `into` when given, which must be long enough).
 */
function toFloat64(
  inputs: ArrayLike<number>,
  from: number,
  length: number,
  into?: Float64Array,
): Float64Array {
  if (inputs instanceof Float64Array) return inputs.subarray(from, from + length);
  const dst = into ?? new Float64Array(length);
  if (ArrayBuffer.isView(inputs) && !(inputs instanceof DataView)) {
    dst.set((inputs as unknown as Float64Array).subarray(from, from + length));
  } else {
    for (let i = 0; i < length; i++) dst[i] = inputs[from + i];
  }
  return dst.subarray(0, length);
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
