import type { FixedType } from "../fixed/index.js";

/**
 * Model IR, version 1: a quantized network as a chain of integer layers. Each layer reads
 * the previous layer's output (the first reads the model input). Shapes exclude the batch
 * dimension and are channels-last. Weights, biases, scales and shifts are integer mantissas
 * of their FixedType. See README "Model IR" for the arithmetic each op performs.
 */
export const IR_FORMAT = "distill-ir";
export const IR_VERSION = 1;

/** "exact": the type is inferred by range analysis so that the cast never changes a value. */
export type TypeOrExact = FixedType | "exact";

export interface IntTensor {
  readonly type: FixedType;
  readonly shape: readonly number[];
  /** Row-major integer mantissas (safe integers). */
  readonly values: readonly number[];
}

export interface IntVector {
  readonly type: FixedType;
  readonly values: readonly number[];
}

interface LinearTypes {
  /** Type each exact product is cast to before summation. */
  readonly product: TypeOrExact;
  /** Type the exact sum (products plus bias) is cast to. */
  readonly accum: TypeOrExact;
  readonly output: FixedType;
}

export interface DenseLayer extends LinearTypes {
  readonly op: "dense";
  readonly name: string;
  readonly units: number;
  /** Shape [inputs, units] (Keras layout). */
  readonly weights: IntTensor;
  readonly bias?: IntVector;
}

export interface Conv2dLayer extends LinearTypes {
  readonly op: "conv2d";
  readonly name: string;
  readonly filters: number;
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly padding: "valid" | "same";
  /** Shape [kh, kw, cin, filters] (Keras layout). */
  readonly weights: IntTensor;
  readonly bias?: IntVector;
}

export interface AvgPool2dLayer {
  readonly op: "avgpool2d";
  readonly name: string;
  /** Pool area must be a power of two so that the mean is exact. */
  readonly pool: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly accum: TypeOrExact;
  readonly output: FixedType;
}

/** Batch normalisation folded to y = x * scale[c] + shift[c] over the last axis. */
export interface BatchNormLayer extends LinearTypes {
  readonly op: "batchnorm";
  readonly name: string;
  readonly scale: IntVector;
  readonly shift: IntVector;
}

export interface ReluLayer {
  readonly op: "relu";
  readonly name: string;
  readonly output: FixedType;
}

export interface CastLayer {
  readonly op: "cast";
  readonly name: string;
  readonly output: FixedType;
}

export interface ReshapeLayer {
  readonly op: "reshape";
  readonly name: string;
  readonly shape: readonly number[];
}

export interface FlattenLayer {
  readonly op: "flatten";
  readonly name: string;
}

export type Layer =
  | DenseLayer
  | Conv2dLayer
  | AvgPool2dLayer
  | BatchNormLayer
  | ReluLayer
  | CastLayer
  | ReshapeLayer
  | FlattenLayer;

export type LayerOp = Layer["op"];

export interface ModelIR {
  readonly format: typeof IR_FORMAT;
  readonly version: typeof IR_VERSION;
  readonly name: string;
  /** Free-form provenance: what produced this file. */
  readonly source?: string;
  readonly input: { readonly shape: readonly number[]; readonly type: FixedType };
  readonly layers: readonly Layer[];
}
