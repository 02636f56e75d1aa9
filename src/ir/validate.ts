import { match } from "ts-pattern";
import { type FixedType, maxMantissa, minMantissa } from "../fixed/index.js";
import { IrError } from "./errors.js";
import type { IntTensor, IntVector, Layer, ModelIR } from "./types.js";

/** What a layer sees and produces; the tensor type is the FixedType of the mantissas. */
export interface LayerShapes {
  readonly inShape: readonly number[];
  readonly outShape: readonly number[];
  readonly inType: FixedType;
  readonly outType: FixedType;
}

export const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Output size of a 2-D window sweep (TensorFlow conventions). */
export function windowOut(inSize: number, k: number, s: number, padding: "valid" | "same"): number {
  return padding === "same" ? Math.ceil(inSize / s) : Math.floor((inSize - k) / s) + 1;
}

/** Padding before the first element for "same" (TensorFlow: the smaller half goes first). */
export function padBefore(inSize: number, k: number, s: number, padding: "valid" | "same"): number {
  if (padding === "valid") return 0;
  const out = Math.ceil(inSize / s);
  return Math.floor(Math.max((out - 1) * s + k - inSize, 0) / 2);
}

function checkValues(values: readonly number[], type: FixedType, path: (string | number)[]): void {
  const lo = Number(minMantissa(type));
  const hi = Number(maxMantissa(type));
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < lo || v > hi) {
      throw new IrError([...path, "values", i], v, `a mantissa in ${lo}..${hi} for its type`);
    }
  }
}

function checkTensor(t: IntTensor, want: readonly number[], path: (string | number)[]): void {
  if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])) {
    throw new IrError([...path, "shape"], t.shape, `[${want.join(", ")}]`);
  }
  if (t.values.length !== size(want)) {
    throw new IrError(
      [...path, "values"],
      `${t.values.length} values`,
      `${size(want)} values (shape [${want}])`,
    );
  }
  checkValues(t.values, t.type, path);
}

function checkVector(v: IntVector, n: number, path: (string | number)[]): void {
  if (v.values.length !== n)
    throw new IrError([...path, "values"], `${v.values.length} values`, `${n} values`);
  checkValues(v.values, v.type, path);
}

/**
 * Checks that every layer fits the tensor it receives and that every integer is inside its
 * type; returns each layer's input and output shapes and types.
 */
export function validateModel(model: ModelIR): LayerShapes[] {
  const names = new Set<string>();
  let shape = model.input.shape;
  let type = model.input.type;
  return model.layers.map((layer, i) => {
    const at = (...p: (string | number)[]) => ["layers", i, ...p];
    if (names.has(layer.name)) throw new IrError(at("name"), layer.name, "a name no other layer has");
    names.add(layer.name);
    const outShape = layerOutShape(layer, shape, at);
    const outType = "output" in layer ? layer.output : type;
    const result = { inShape: shape, outShape, inType: type, outType };
    shape = outShape;
    type = outType;
    return result;
  });
}

function needRank(
  layer: Layer,
  inShape: readonly number[],
  rank: number,
  at: (...p: string[]) => unknown[],
): void {
  if (inShape.length !== rank) {
    const hint = rank === 1 ? "; add a flatten layer before it" : "; add a reshape layer before it";
    throw new IrError(
      at("op") as (string | number)[],
      layer.op,
      `an input of rank ${rank} for ${layer.op}, but the input has shape [${inShape.join(", ")}]${hint}`,
    );
  }
}

function layerOutShape(
  layer: Layer,
  inShape: readonly number[],
  at: (...p: (string | number)[]) => (string | number)[],
): readonly number[] {
  return match(layer)
    .with({ op: "dense" }, (l) => {
      needRank(l, inShape, 1, at);
      checkTensor(l.weights, [inShape[0], l.units], at("weights"));
      if (l.bias) checkVector(l.bias, l.units, at("bias"));
      return [l.units];
    })
    .with({ op: "conv2d" }, (l) => {
      needRank(l, inShape, 3, at);
      const [h, w, c] = inShape;
      checkTensor(l.weights, [l.kernel[0], l.kernel[1], c, l.filters], at("weights"));
      if (l.bias) checkVector(l.bias, l.filters, at("bias"));
      const oh = windowOut(h, l.kernel[0], l.stride[0], l.padding);
      const ow = windowOut(w, l.kernel[1], l.stride[1], l.padding);
      if (oh < 1 || ow < 1)
        throw new IrError(at("kernel"), l.kernel, `a kernel no larger than the input ${h}x${w}`);
      return [oh, ow, l.filters];
    })
    .with({ op: "avgpool2d" }, (l) => {
      needRank(l, inShape, 3, at);
      const area = l.pool[0] * l.pool[1];
      if ((area & (area - 1)) !== 0) {
        throw new IrError(at("pool"), l.pool, "a pool whose area is a power of two (so the mean is exact)");
      }
      const oh = windowOut(inShape[0], l.pool[0], l.stride[0], "valid");
      const ow = windowOut(inShape[1], l.pool[1], l.stride[1], "valid");
      if (oh < 1 || ow < 1) throw new IrError(at("pool"), l.pool, `a pool no larger than the input`);
      return [oh, ow, inShape[2]];
    })
    .with({ op: "batchnorm" }, (l) => {
      const c = inShape[inShape.length - 1];
      checkVector(l.scale, c, at("scale"));
      checkVector(l.shift, c, at("shift"));
      return inShape;
    })
    .with({ op: "relu" }, { op: "cast" }, () => inShape)
    .with({ op: "reshape" }, (l) => {
      if (size(l.shape) !== size(inShape)) {
        throw new IrError(at("shape"), l.shape, `a shape of ${size(inShape)} elements (input [${inShape}])`);
      }
      return l.shape;
    })
    .with({ op: "flatten" }, () => [size(inShape)])
    .exhaustive();
}
