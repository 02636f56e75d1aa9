import { match } from "ts-pattern";
import {
  castIsExact,
  type FixedType,
  frac,
  maxMantissa,
  minMantissa,
  quantize,
  typeForRange,
} from "../fixed/index.js";
import { isLinear, type LinearForm, type LinearLayer, linearForm } from "./linear.js";
import type { Layer, ModelIR, TypeOrExact } from "./types.js";
import { type LayerShapes, validateModel } from "./validate.js";

/** Per-element mantissa intervals of a tensor, at the tensor type's frac. */
export interface Intervals {
  readonly lo: readonly bigint[];
  readonly hi: readonly bigint[];
}

/** What range analysis knows about one linear layer. */
export interface LinearAnalysis {
  readonly form: LinearForm;
  /** frac of the exact product input * weight. */
  readonly exactProductFrac: number;
  /** Declared product type, or the exact one when declared "exact". */
  readonly product: FixedType;
  readonly productLo: bigint;
  readonly productHi: bigint;
  /** frac of the exact sum of (cast) products and bias. */
  readonly sumFrac: number;
  /** Per-row interval of the exact sum at sumFrac. */
  readonly sum: Intervals;
  /** A bound on |partial sum| at sumFrac in any summation order. */
  readonly sumAbsBound: bigint;
  /** Declared accumulator, or the narrowest exact one when declared "exact". */
  readonly accum: FixedType;
  /** The narrowest type holding every sum exactly. */
  readonly neededAccum: FixedType;
}

export interface LayerAnalysis extends LayerShapes {
  readonly layer: Layer;
  readonly index: number;
  readonly input: Intervals;
  readonly output: Intervals;
  readonly linear?: LinearAnalysis;
}

export interface RangeWarning {
  readonly layer: string;
  readonly index: number;
  readonly what: "product" | "accum";
  readonly declared: FixedType;
  readonly needed: FixedType;
  readonly message: string;
}

export interface ModelAnalysis {
  readonly layers: readonly LayerAnalysis[];
  readonly warnings: readonly RangeWarning[];
  /** Largest magnitude of any integer the evaluator handles; <= 2^53 - 1 allows plain numbers. */
  readonly maxAbs: bigint;
}

/** Interval of a cast: rounding is monotone; overflow may widen the result to the whole type. */
export function castInterval(lo: bigint, hi: bigint, fromFrac: number, to: FixedType): [bigint, bigint] {
  // Rounding alone: the same frac, signed and wide enough that nothing overflows.
  const wide: FixedType = {
    ...to,
    signed: true,
    width: to.width + 4096,
    int: to.int + 4096,
    overflow: "SAT",
  };
  const rlo = quantize(lo, fromFrac, wide);
  const rhi = quantize(hi, fromFrac, wide);
  const min = minMantissa(to);
  const max = maxMantissa(to);
  if (rlo >= min && rhi <= max) return [rlo, rhi];
  const clamp = (v: bigint) => (v < min ? min : v > max ? max : v);
  return (
    match(to.overflow)
      .with("SAT", (): [bigint, bigint] => [clamp(rlo), clamp(rhi)])
      // Only values below the minimum go to -max; the minimum itself, when reached, stays.
      .with("SAT_SYM", (): [bigint, bigint] => {
        const symLo = to.signed ? min + 1n : min;
        const lo = rlo > max ? max : rlo >= min ? rlo : rhi >= min ? min : symLo;
        const hi = rhi < min ? symLo : clamp(rhi);
        // -max can exceed the largest in-range result (width 1: -max = 0).
        return [lo, rlo < min && symLo > hi ? symLo : hi];
      })
      // Overflowed values go to zero; the in-range part, if any, stays.
      .with("SAT_ZERO", (): [bigint, bigint] => {
        const inLo = rlo > min ? rlo : min;
        const inHi = rhi < max ? rhi : max;
        if (inLo > inHi) return [0n, 0n];
        return [inLo < 0n ? inLo : 0n, inHi > 0n ? inHi : 0n];
      })
      .with("WRAP", (): [bigint, bigint] => [min, max])
      .exhaustive()
  );
}

const abs = (v: bigint) => (v < 0n ? -v : v);
const big = (v: number) => BigInt(v);

/**
 * Exact range analysis: from the input type and the integer weights, the min and max of
 * every element, product and sum. Inputs are taken to vary independently over their
 * intervals, so for each output the bounds are attained (they are exact, not estimates).
 */
export function analyzeModel(model: ModelIR): ModelAnalysis {
  const shapes = validateModel(model);
  const n = shapes.length > 0 ? shapes[0].inShape.reduce((a, b) => a * b, 1) : 0;
  let current: Intervals = {
    lo: new Array(n).fill(minMantissa(model.input.type)),
    hi: new Array(n).fill(maxMantissa(model.input.type)),
  };
  let maxAbs =
    maxMantissa(model.input.type) > abs(minMantissa(model.input.type))
      ? maxMantissa(model.input.type)
      : abs(minMantissa(model.input.type));
  const warnings: RangeWarning[] = [];
  const layers = model.layers.map((layer, index) => {
    const s = shapes[index];
    const input = current;
    const inFrac = frac(s.inType);
    let output: Intervals;
    let linear: LinearAnalysis | undefined;
    if (isLinear(layer)) {
      linear = analyzeLinear(layer, s, input);
      const out = mapIntervals(linear.sum, (lo, hi) => {
        const [alo, ahi] = castInterval(lo, hi, linear!.sumFrac, linear!.accum);
        return castInterval(alo, ahi, frac(linear!.accum), s.outType);
      });
      output = out;
      for (const v of [linear.sumAbsBound, linear.productLo, linear.productHi])
        if (abs(v) > maxAbs) maxAbs = abs(v);
      const product = declaredProduct(layer);
      if (
        product !== "exact" &&
        !castIsExact(linear.productLo, linear.productHi, linear.exactProductFrac, product)
      ) {
        const needed = typeForRange(linear.productLo, linear.productHi, linear.exactProductFrac);
        warnings.push(warning(layer, index, "product", product, needed));
      }
      if (
        layer.accum !== "exact" &&
        !castIsExact(minOf(linear.sum.lo), maxOf(linear.sum.hi), linear.sumFrac, layer.accum)
      ) {
        warnings.push(warning(layer, index, "accum", layer.accum, linear.neededAccum));
      }
    } else {
      output = match(layer)
        .with({ op: "relu" }, (l) =>
          mapIntervals(input, (lo, hi) =>
            castInterval(lo > 0n ? lo : 0n, hi > 0n ? hi : 0n, inFrac, l.output),
          ),
        )
        .with({ op: "cast" }, (l) => mapIntervals(input, (lo, hi) => castInterval(lo, hi, inFrac, l.output)))
        .with({ op: "reshape" }, { op: "flatten" }, () => input)
        .otherwise(() => {
          throw new Error(`unreachable: ${layer.op} is linear`);
        });
    }
    for (const v of [minOf(output.lo), maxOf(output.hi)]) if (abs(v) > maxAbs) maxAbs = abs(v);
    current = output;
    return { ...s, layer, index, input, output, linear };
  });
  return { layers, warnings, maxAbs };
}

/** The declared product type; average pooling multiplies by an exact power of two. */
export function declaredProduct(layer: LinearLayer): TypeOrExact {
  return layer.op === "avgpool2d" ? "exact" : layer.product;
}

function warning(
  layer: Layer,
  index: number,
  what: "product" | "accum",
  declared: FixedType,
  needed: FixedType,
) {
  const message =
    `layer ${index} "${layer.name}": declared ${what} type ap_${declared.signed ? "" : "u"}fixed<${declared.width},${declared.int}> ` +
    `can overflow or round; exact values need ${needed.width} bits (ap_${needed.signed ? "" : "u"}fixed<${needed.width},${needed.int}>)`;
  return { layer: layer.name, index, what, declared, needed, message };
}

function minOf(v: readonly bigint[]): bigint {
  let m = v[0];
  for (const x of v) if (x < m) m = x;
  return m;
}
function maxOf(v: readonly bigint[]): bigint {
  let m = v[0];
  for (const x of v) if (x > m) m = x;
  return m;
}

function mapIntervals(v: Intervals, f: (lo: bigint, hi: bigint) => [bigint, bigint]): Intervals {
  const lo: bigint[] = [];
  const hi: bigint[] = [];
  for (let i = 0; i < v.lo.length; i++) {
    const [a, b] = f(v.lo[i], v.hi[i]);
    lo.push(a);
    hi.push(b);
  }
  return { lo, hi };
}

function analyzeLinear(layer: LinearLayer, s: LayerShapes, input: Intervals): LinearAnalysis {
  const form = linearForm(layer, s.inShape);
  const exactProductFrac = frac(s.inType) + form.weightFrac;
  // Product interval per entry, and over the whole layer.
  const pLo: bigint[] = new Array(form.col.length);
  const pHi: bigint[] = new Array(form.col.length);
  let productLo = 0n;
  let productHi = 0n;
  for (let k = 0; k < form.col.length; k++) {
    const w = big(form.weight[k]);
    const a = input.lo[form.col[k]] * w;
    const b = input.hi[form.col[k]] * w;
    pLo[k] = a < b ? a : b;
    pHi[k] = a < b ? b : a;
    if (k === 0 || pLo[k] < productLo) productLo = pLo[k];
    if (k === 0 || pHi[k] > productHi) productHi = pHi[k];
  }
  const declared = declaredProduct(layer);
  const productType = declared !== "exact" ? declared : typeForRange(productLo, productHi, exactProductFrac);
  const productFrac = frac(productType);
  // Products after their cast, at productFrac.
  const castLo: bigint[] = new Array(pLo.length);
  const castHi: bigint[] = new Array(pHi.length);
  for (let k = 0; k < pLo.length; k++)
    [castLo[k], castHi[k]] = castInterval(pLo[k], pHi[k], exactProductFrac, productType);
  const sumFrac = form.bias ? Math.max(productFrac, form.biasFrac) : productFrac;
  const pShift = BigInt(sumFrac - productFrac);
  const bShift = BigInt(sumFrac - form.biasFrac);
  const lo: bigint[] = [];
  const hi: bigint[] = [];
  let sumAbsBound = 0n;
  for (let r = 0; r < form.rows; r++) {
    const b = form.bias ? big(form.bias[r]) << bShift : 0n;
    let l = b;
    let h = b;
    let bound = abs(b);
    for (let k = form.rowPtr[r]; k < form.rowPtr[r + 1]; k++) {
      l += castLo[k] << pShift;
      h += castHi[k] << pShift;
      const m = abs(castLo[k]) > abs(castHi[k]) ? abs(castLo[k]) : abs(castHi[k]);
      bound += m << pShift;
    }
    lo.push(l);
    hi.push(h);
    if (bound > sumAbsBound) sumAbsBound = bound;
  }
  const neededAccum = typeForRange(lo.length ? minOf(lo) : 0n, hi.length ? maxOf(hi) : 0n, sumFrac);
  const accum = layer.accum !== "exact" ? layer.accum : neededAccum;
  return {
    form,
    exactProductFrac,
    product: productType,
    productLo,
    productHi,
    sumFrac,
    sum: { lo, hi },
    sumAbsBound,
    accum,
    neededAccum,
  };
}
