/**
 * Student-shaped models with random weights for the RTL benchmarks: CICADA v1 (dense
 * 252-16-1) and v2 (2x2 stride-2 convolution with 4 filters, then v1's head), with 8-bit
 * weights (30% zeros) or 2-bit weights. Types follow QKeras: quantized_bits(bits, 0) weights,
 * quantized_relu(10, 6) hidden activations, quantized_relu(16, 8) score.
 */
import { quantizedBitsType, quantizedReluType, sfixed, ufixed } from "../../../src/fixed/index.js";
import type { Layer, ModelIR } from "../../../src/ir/index.js";
import { rng } from "../../../src/util/rng.js";

export interface BenchModel {
  readonly name: string;
  readonly model: ModelIR;
}

function head(r: ReturnType<typeof rng>, bits: number): Layer[] {
  const w = (n: number, b: number) => {
    const hi = 2 ** (b - 1) - 1;
    return Array.from({ length: n }, () => (r.next() < 0.3 ? 0 : r.int(-hi - 1, hi) || 1));
  };
  return [
    {
      op: "dense",
      name: "dense1",
      units: 16,
      weights: { type: quantizedBitsType(bits, 0), shape: [252, 16], values: w(252 * 16, bits) },
      bias: { type: quantizedBitsType(bits, 5), values: w(16, bits) },
      product: "exact",
      accum: "exact",
      output: sfixed(32, 22),
    },
    { op: "relu", name: "relu1", output: quantizedReluType(10, 6) },
    {
      op: "dense",
      name: "dense2",
      units: 1,
      weights: { type: quantizedBitsType(12, 0), shape: [16, 1], values: w(16, 12) },
      product: "exact",
      accum: "exact",
      output: sfixed(32, 20),
    },
    { op: "relu", name: "score", output: quantizedReluType(16, 8) },
  ];
}

export function benchModels(): BenchModel[] {
  const out: BenchModel[] = [];
  for (const bits of [8, 2]) {
    const r = rng(2026 + bits);
    out.push({
      name: `cicada-v1-w${bits}`,
      model: {
        format: "distill-ir",
        version: 1,
        name: `cicada_v1_w${bits}`,
        source: `random ${bits}-bit weights, 30% zeros (scripts/bench/models.ts)`,
        input: { shape: [252], type: ufixed(10, 10) },
        layers: head(r, bits),
      },
    });
  }
  for (const bits of [8, 2]) {
    const r = rng(3026 + bits);
    const hi = 2 ** (bits - 1) - 1;
    const conv = Array.from({ length: 2 * 2 * 4 }, () => (r.next() < 0.3 ? 0 : r.int(-hi - 1, hi) || 1));
    out.push({
      name: `cicada-v2-w${bits}`,
      model: {
        format: "distill-ir",
        version: 1,
        name: `cicada_v2_w${bits}`,
        source: `random ${bits}-bit weights, 30% zeros (scripts/bench/models.ts)`,
        input: { shape: [18, 14, 1], type: ufixed(10, 10) },
        layers: [
          {
            op: "conv2d",
            name: "conv",
            filters: 4,
            kernel: [2, 2],
            stride: [2, 2],
            padding: "valid",
            weights: { type: quantizedBitsType(bits, 0), shape: [2, 2, 1, 4], values: conv },
            product: "exact",
            accum: "exact",
            output: sfixed(32, 22),
          },
          { op: "relu", name: "relu0", output: quantizedReluType(10, 6) },
          { op: "flatten", name: "flatten" },
          ...head(r, bits),
        ],
      },
    });
  }
  return out;
}
