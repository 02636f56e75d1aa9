import {
  type FixedType,
  fixedType,
  maxMantissa,
  minMantissa,
  OVERFLOW_MODES,
  ROUNDING_MODES,
} from "../../src/fixed/index.js";
import type { IntTensor, IntVector, Layer, ModelIR, TypeOrExact } from "../../src/ir/index.js";
import { type Rng, rng } from "../../src/util/rng.js";

export interface RandomModelOptions {
  /** Allow types wider than 53 bits (exercises the BigInt kernels). */
  readonly wide?: boolean;
  /** Probability that a linear layer declares narrow product/accumulator types. */
  readonly narrowTypes?: number;
}

function randomType(r: Rng, maxWidth: number, signed?: boolean): FixedType {
  const width = r.int(2, maxWidth);
  return fixedType(
    signed ?? r.next() < 0.5,
    width,
    r.int(-2, width + 3),
    r.pick(ROUNDING_MODES),
    r.pick(OVERFLOW_MODES),
  );
}

/** Values over the whole type range, with zeros and both extremes over-represented. */
function randomValues(r: Rng, n: number, t: FixedType): number[] {
  const lo = Number(minMantissa(t));
  const hi = Number(maxMantissa(t));
  return Array.from({ length: n }, () => {
    const u = r.next();
    if (u < 0.3) return 0;
    if (u < 0.38) return hi;
    if (u < 0.46) return lo;
    return r.int(lo, hi);
  });
}

function tensor(r: Rng, shape: number[], maxWidth: number): IntTensor {
  const type = randomType(r, maxWidth, true);
  return {
    type,
    shape,
    values: randomValues(
      r,
      shape.reduce((a, b) => a * b, 1),
      type,
    ),
  };
}
function vector(r: Rng, n: number, maxWidth: number): IntVector {
  const type = randomType(r, maxWidth, true);
  return { type, values: randomValues(r, n, type) };
}

function linearTypes(r: Rng, o: RandomModelOptions, maxWidth: number) {
  const narrow = (): TypeOrExact => (r.next() < (o.narrowTypes ?? 0.3) ? randomType(r, 20) : "exact");
  return { product: narrow(), accum: narrow(), output: randomType(r, maxWidth) };
}

/** A random chain of layers over a flat or image input; every op, mode and sign appears. */
export function randomModel(seed: number, o: RandomModelOptions = {}): ModelIR {
  const r = rng(seed);
  const maxWidth = o.wide ? 70 : 16;
  const image = r.next() < 0.6;
  let shape: number[] = image ? [r.int(2, 7), r.int(2, 7), r.int(1, 3)] : [r.int(1, 24)];
  const input = { shape: [...shape], type: randomType(r, o.wide ? 40 : 12) };
  const layers: Layer[] = [];
  const depth = r.int(1, 5);
  for (let i = 0; i < depth; i++) {
    const name = `l${i}`;
    if (shape.length === 3) {
      const [h, w, c] = shape;
      const choice = r.int(0, 5);
      if (choice <= 1) {
        const kernel: [number, number] = [r.int(1, Math.min(3, h)), r.int(1, Math.min(3, w))];
        const stride: [number, number] = [r.int(1, 2), r.int(1, 2)];
        const padding = r.pick(["valid", "same"] as const);
        const filters = r.int(1, 3);
        const oh =
          padding === "same" ? Math.ceil(h / stride[0]) : Math.floor((h - kernel[0]) / stride[0]) + 1;
        const ow =
          padding === "same" ? Math.ceil(w / stride[1]) : Math.floor((w - kernel[1]) / stride[1]) + 1;
        layers.push({
          op: "conv2d",
          name,
          filters,
          kernel,
          stride,
          padding,
          weights: tensor(r, [kernel[0], kernel[1], c, filters], 10),
          bias: r.next() < 0.6 ? vector(r, filters, 10) : undefined,
          ...linearTypes(r, o, maxWidth),
        });
        shape = [oh, ow, filters];
      } else if (choice === 2 && h >= 2 && w >= 2) {
        const pool = r.pick([
          [2, 2],
          [1, 2],
          [2, 1],
        ] as [number, number][]);
        layers.push({
          op: "avgpool2d",
          name,
          pool,
          stride: pool,
          accum: "exact",
          output: randomType(r, maxWidth),
        });
        shape = [Math.floor(h / pool[0]), Math.floor(w / pool[1]), c];
      } else if (choice === 3) {
        layers.push({
          op: "batchnorm",
          name,
          scale: vector(r, c, 8),
          shift: vector(r, c, 10),
          ...linearTypes(r, o, maxWidth),
        });
      } else if (choice === 4) {
        layers.push({ op: r.pick(["relu", "cast"] as const), name, output: randomType(r, maxWidth) });
      } else {
        layers.push({ op: "flatten", name });
        shape = [h * w * c];
      }
    } else {
      const choice = r.int(0, 3);
      if (choice <= 1) {
        const units = r.int(1, 8);
        layers.push({
          op: "dense",
          name,
          units,
          weights: tensor(r, [shape[0], units], 12),
          bias: r.next() < 0.6 ? vector(r, units, 12) : undefined,
          ...linearTypes(r, o, maxWidth),
        });
        shape = [units];
      } else if (choice === 2) {
        layers.push({
          op: "batchnorm",
          name,
          scale: vector(r, shape[0], 8),
          shift: vector(r, shape[0], 10),
          ...linearTypes(r, o, maxWidth),
        });
      } else {
        layers.push({ op: r.pick(["relu", "cast"] as const), name, output: randomType(r, maxWidth) });
      }
    }
  }
  return { format: "distill-ir", version: 1, name: `random-${seed}`, input, layers };
}

/** Random input mantissas over the whole input range, with both extremes over-represented. */
export function randomInputs(model: ModelIR, events: number, seed: number): Float64Array {
  const r = rng(seed ^ 0x5bd1e995);
  const n = model.input.shape.reduce((a, b) => a * b, 1) * events;
  return Float64Array.from(randomValues(r, n, model.input.type));
}
