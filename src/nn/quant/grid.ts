/**
 * The quantizers' spec, grid and name without TensorFlow.js, so that config checks can use
 * them without loading it (`quantizers.ts` has the semantics and re-exports these).
 */
export type QuantizerSpec =
  | {
      readonly quantizer: "quantized_bits";
      readonly bits: number;
      readonly integer: number;
      readonly symmetric: 0 | 1;
      readonly keepNegative: 0 | 1;
      /** Per-channel power-of-two scales (weights only); absent for alpha = 1. */
      readonly alpha?: "auto_po2";
    }
  | { readonly quantizer: "quantized_relu"; readonly bits: number; readonly integer: number };

/** The quantizer's grid: value = mantissa * 2^-frac, mantissa in [lo, hi]. */
export interface QuantizerGrid {
  readonly frac: number;
  readonly lo: number;
  readonly hi: number;
  readonly relu: boolean;
}

export function quantizerGrid(q: QuantizerSpec): QuantizerGrid {
  if (q.quantizer === "quantized_bits" && q.alpha) {
    throw new Error(`${quantizerName(q)} has a scale per channel, not one grid`);
  }
  if (q.quantizer === "quantized_relu") {
    return { frac: q.bits - q.integer, lo: 0, hi: 2 ** q.bits - 1, relu: true };
  }
  return {
    frac: q.bits - q.keepNegative - q.integer,
    lo: q.keepNegative ? -(2 ** (q.bits - 1)) + q.symmetric : 0,
    hi: 2 ** (q.bits - q.keepNegative) - 1,
    relu: false,
  };
}

/** QKeras-style name, e.g. "quantized_bits(8,1,0,1)" or "quantized_bits(8,1,1,1,alpha='auto_po2')". */
export function quantizerName(q: QuantizerSpec): string {
  if (q.quantizer === "quantized_relu") return `quantized_relu(${q.bits},${q.integer})`;
  return q.alpha
    ? `quantized_bits(${q.bits},${q.integer},1,${q.keepNegative},alpha='${q.alpha}')`
    : `quantized_bits(${q.bits},${q.integer},${q.symmetric},${q.keepNegative})`;
}
