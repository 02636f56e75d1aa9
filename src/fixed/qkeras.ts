import { type FixedType, fixedType } from "./types.js";

/**
 * QKeras `quantized_bits(bits, integer, keep_negative)` with alpha = 1 and symmetric = 0:
 * `bits` total bits of which `integer` are integer bits *excluding* the sign, rounding
 * half to even (tf.round) and clipping to the representable range.
 */
export function quantizedBitsType(bits: number, integer: number, keepNegative = true): FixedType {
  return keepNegative
    ? fixedType(true, bits, integer + 1, "RND_CONV", "SAT")
    : fixedType(false, bits, integer, "RND_CONV", "SAT");
}

/** QKeras `quantized_relu(bits, integer)`: unsigned, rounding half to even, clipping. */
export function quantizedReluType(bits: number, integer: number): FixedType {
  return fixedType(false, bits, integer, "RND_CONV", "SAT");
}
