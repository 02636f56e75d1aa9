import { z } from "zod";
import { type FixedType, FixedTypeError, formatFixedType, parseFixedType } from "../fixed/index.js";
import { IrError, type JsonPath } from "./errors.js";
import { IR_FORMAT, IR_VERSION, type ModelIR, type TypeOrExact } from "./types.js";

function parseTypeIn(ctx: z.core.$RefinementCtx, text: string): FixedType {
  try {
    return parseFixedType(text);
  } catch (e) {
    ctx.addIssue({ code: "custom", message: e instanceof FixedTypeError ? e.message : String(e) });
    return z.NEVER;
  }
}

/** A fixed-point type written as an `ap_fixed` string in the JSON. */
const fixedTypeString = z.string().transform((text, ctx) => parseTypeIn(ctx, text));
const typeOrExact = z
  .string()
  .transform((text, ctx): TypeOrExact => (text === "exact" ? "exact" : parseTypeIn(ctx, text)));
const int = z.number().int().refine(Number.isSafeInteger, "a safe integer (|v| < 2^53)");
const positive = z.number().int().min(1);
const pair = z.tuple([positive, positive]);
const shape = z.array(positive).min(1);
const name = z.string().min(1);

const intTensor = z.strictObject({ type: fixedTypeString, shape, values: z.array(int) });
const intVector = z.strictObject({ type: fixedTypeString, values: z.array(int) });
const linearTypes = {
  product: typeOrExact.default("exact"),
  accum: typeOrExact.default("exact"),
  output: fixedTypeString,
};

const layer = z.discriminatedUnion("op", [
  z.strictObject({
    op: z.literal("dense"),
    name,
    units: positive,
    weights: intTensor,
    bias: intVector.optional(),
    ...linearTypes,
  }),
  z.strictObject({
    op: z.literal("conv2d"),
    name,
    filters: positive,
    kernel: pair,
    stride: pair.default([1, 1]),
    padding: z.enum(["valid", "same"]).default("valid"),
    weights: intTensor,
    bias: intVector.optional(),
    ...linearTypes,
  }),
  z.strictObject({
    op: z.literal("avgpool2d"),
    name,
    pool: pair,
    stride: pair.optional(),
    accum: typeOrExact.default("exact"),
    output: fixedTypeString,
  }),
  z.strictObject({
    op: z.literal("batchnorm"),
    name,
    scale: intVector,
    shift: intVector,
    ...linearTypes,
  }),
  z.strictObject({ op: z.literal("relu"), name, output: fixedTypeString }),
  z.strictObject({ op: z.literal("cast"), name, output: fixedTypeString }),
  z.strictObject({ op: z.literal("reshape"), name, shape }),
  z.strictObject({ op: z.literal("flatten"), name }),
]);

const model = z.strictObject({
  format: z.literal(IR_FORMAT),
  version: z.literal(IR_VERSION),
  name,
  source: z.string().optional(),
  input: z.strictObject({ shape, type: fixedTypeString }),
  layers: z.array(layer).min(1),
});

function valueAt(root: unknown, path: JsonPath): unknown {
  let v: unknown = root;
  for (const p of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string | number, unknown>)[p];
  }
  return v;
}

function expectation(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "invalid_type":
      return issue.expected === "int" ? "an integer" : `a value of type ${issue.expected}`;
    case "invalid_value":
      return `one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "unrecognized_keys":
      return `no unknown field (found ${issue.keys.map((k) => JSON.stringify(k)).join(", ")})`;
    case "invalid_union":
      return "an op among dense, conv2d, avgpool2d, batchnorm, relu, cast, reshape, flatten";
    case "too_small":
      return issue.origin === "array"
        ? `at least ${issue.minimum} element(s)`
        : `a value >= ${issue.minimum}`;
    case "too_big":
      return issue.origin === "array" ? `at most ${issue.maximum} element(s)` : `a value <= ${issue.maximum}`;
    default:
      return issue.message;
  }
}

/** Structural validation of parsed JSON; semantic checks (shapes, ranges) live in validate.ts. */
export function parseModelJson(raw: unknown): ModelIR {
  const result = model.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue.path as JsonPath;
    if (issue.code === "invalid_type" && issue.expected === "int") {
      throw new IrError(path, valueAt(raw, path), "an integer mantissa");
    }
    throw new IrError(path, valueAt(raw, path), expectation(issue));
  }
  const m = result.data;
  return {
    ...m,
    layers: m.layers.map((l) =>
      l.op === "avgpool2d" ? { ...l, stride: l.stride ?? l.pool } : l,
    ) as ModelIR["layers"],
  };
}

/** The JSON form of a model, with types printed as ap_fixed strings. */
export function modelToJson(m: ModelIR): unknown {
  return JSON.parse(
    JSON.stringify(m, (_key, value) =>
      value !== null && typeof value === "object" && "overflow" in value && "round" in value
        ? formatFixedType(value)
        : value,
    ),
  );
}
