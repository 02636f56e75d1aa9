import { toQuantizerSpec } from "../../config/student.js";
import { type FixedType, fixedType, frac, maxMantissa, minMantissa, signedBits } from "../../fixed/index.js";
import {
  analyzeModel,
  IR_FORMAT,
  IR_VERSION,
  type Layer,
  type ModelIR,
  resolveExactTypes,
} from "../../ir/index.js";
import { quantizerFixedType } from "../quant/quantizers.js";
import { type DeployedLinear, StudentExportError } from "./exact.js";
import type { StudentModel } from "./model.js";

/**
 * The deployed student as a model IR: each linear layer carries its quantized kernel and bias
 * mantissas and an output type wide enough to hold every sum exactly (the cast to it never
 * changes a value); each qactivation becomes a relu (quantized_relu) or a cast (quantized_bits)
 * to the quantizer's ap_fixed type, which rounds half to even and saturates as QKeras does.
 * Product and accumulator types are resolved by range analysis, so every type is explicit.
 */
export function studentToIR(
  m: StudentModel,
  deployed: readonly (DeployedLinear | undefined)[],
  name: string,
  source = "distill student export",
): ModelIR {
  const layers: Layer[] = [];
  let type: FixedType = m.inputType;
  m.config.layers.forEach((l, i) => {
    const lname = `${l.type}_${i}`;
    switch (l.type) {
      case "qdense":
      case "qdense_batchnorm":
      case "qconv2d": {
        const d = deployed[i];
        if (!d) throw new StudentExportError(`layers[${i}]: no deployed weights`);
        const out = exactSumType(type, d);
        const weights = {
          type: d.kernel.type,
          shape: [...d.kernel.shape],
          values: Array.from(d.kernel.values),
        };
        const bias = d.bias ? { bias: { type: d.bias.type, values: Array.from(d.bias.values) } } : {};
        if (l.type === "qconv2d") {
          layers.push({
            op: "conv2d",
            name: lname,
            filters: l.filters,
            kernel: l.kernel,
            stride: l.strides,
            padding: l.padding,
            weights,
            ...bias,
            product: "exact",
            accum: "exact",
            output: out,
          });
        } else {
          layers.push({
            op: "dense",
            name: lname,
            units: l.units,
            weights,
            ...bias,
            product: "exact",
            accum: "exact",
            output: out,
          });
        }
        type = out;
        break;
      }
      case "qactivation": {
        const spec = toQuantizerSpec(l.activation);
        type = quantizerFixedType(spec);
        layers.push({ op: spec.quantizer === "quantized_relu" ? "relu" : "cast", name: lname, output: type });
        break;
      }
      case "avgpool2d": {
        const extra = Math.log2(l.pool[0] * l.pool[1]);
        type = fixedType(type.signed, type.width + extra, type.int, "TRN", "WRAP");
        layers.push({
          op: "avgpool2d",
          name: lname,
          pool: l.pool,
          stride: l.pool,
          accum: "exact",
          output: type,
        });
        break;
      }
      case "flatten":
        layers.push({ op: "flatten", name: lname });
        break;
      case "reshape":
        layers.push({ op: "reshape", name: lname, shape: l.shape });
        break;
    }
  });
  const model: ModelIR = {
    format: IR_FORMAT,
    version: IR_VERSION,
    name,
    source,
    input: { shape: [...m.config.input.shape], type: m.inputType },
    layers,
  };
  const resolved = resolveExactTypes(model);
  const warnings = analyzeModel(resolved).warnings;
  if (warnings.length > 0) throw new StudentExportError(`export: ${warnings[0].message}`);
  return resolved;
}

/** A signed type at the exact sum's frac holding input * kernel sums plus bias for any input. */
function exactSumType(input: FixedType, d: DeployedLinear): FixedType {
  const outs = d.kernel.shape[d.kernel.shape.length - 1];
  const col = new Float64Array(outs);
  for (let i = 0; i < d.kernel.values.length; i++) col[i % outs] += Math.abs(d.kernel.values[i]);
  const maxX = BigInt(Math.max(Math.abs(Number(minMantissa(input))), Number(maxMantissa(input))));
  const prodFrac = frac(input) + frac(d.kernel.type);
  const bFrac = d.bias ? frac(d.bias.type) : prodFrac;
  const sumFrac = Math.max(prodFrac, bFrac);
  let bound = 0n;
  for (let o = 0; o < outs; o++) {
    const b = d.bias ? BigInt(Math.abs(d.bias.values[o])) << BigInt(sumFrac - bFrac) : 0n;
    const s = ((maxX * BigInt(col[o])) << BigInt(sumFrac - prodFrac)) + b;
    if (s > bound) bound = s;
  }
  const width = Math.max(2, signedBits(bound), signedBits(-bound));
  return fixedType(true, width, width - sumFrac, "TRN", "WRAP");
}
