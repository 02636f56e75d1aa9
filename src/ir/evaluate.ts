import { match } from "ts-pattern";
import {
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
import type { ModelIR } from "./types.js";
import { size } from "./validate.js";

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
    if (a.linear) return linearStep(a.linear, rows, a.outType);
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
  const q = numberQuantizer(inFrac, out);
  return {
    number: (x, n) => {
      const y = new Float64Array(n * rows);
      for (let i = 0; i < y.length; i++) y[i] = q(relu && x[i] < 0 ? 0 : x[i]);
      return y;
    },
    bigint: (x) => x.map((v) => quantize(relu && v < 0n ? 0n : v, inFrac, out)),
  };
}

function linearStep(a: LinearAnalysis, rows: number, out: FixedType): Step {
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
  const toAccum = numberQuantizer(sumFrac, accum);
  const toOut = accumIsExact ? numberQuantizer(sumFrac, out) : numberQuantizer(frac(accum), out);
  const finish = accumIsExact ? toOut : (v: number) => toOut(toAccum(v));
  let number: (x: Float64Array, n: number) => Float64Array;
  if (!productIsExact) {
    number = (x, n) => {
      const y = new Float64Array(n * rows);
      for (let e = 0; e < n; e++) {
        const xb = e * inputs;
        for (let r = 0; r < rows; r++) {
          let s = bias[r];
          for (let k = rowPtr[r]; k < rowPtr[r + 1]; k++)
            s += castProduct(x[xb + col[k]] * rawWeight[k]) * productScale;
          y[e * rows + r] = finish(s);
        }
      }
      return y;
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
        for (let r = 0; r < rows; r++) y[e * rows + r] = finish(sums[r]);
      }
      return y;
    };
  } else {
    number = (x, n) => {
      const y = new Float64Array(n * rows);
      for (let e = 0; e < n; e++) {
        const xb = e * inputs;
        for (let r = 0; r < rows; r++) {
          let s = bias[r];
          for (let k = rowPtr[r]; k < rowPtr[r + 1]; k++) s += x[xb + col[k]] * weight[k];
          y[e * rows + r] = finish(s);
        }
      }
      return y;
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
