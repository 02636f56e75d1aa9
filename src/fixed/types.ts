import { UserError } from "../util/errors.js";
/**
 * Fixed-point types with the conventions of Xilinx/AMD `ap_fixed` (as used by hls4ml):
 * `int` counts integer bits including the sign bit, `frac = width - int` may be negative
 * or exceed `width`. A value is an integer mantissa `m` meaning `m * 2^-frac`.
 */

export const ROUNDING_MODES = [
  "TRN",
  "RND",
  "RND_CONV",
  "RND_ZERO",
  "RND_INF",
  "RND_MIN_INF",
  "TRN_ZERO",
] as const;
export type RoundingMode = (typeof ROUNDING_MODES)[number];

export const OVERFLOW_MODES = ["WRAP", "SAT", "SAT_SYM", "SAT_ZERO"] as const;
export type OverflowMode = (typeof OVERFLOW_MODES)[number];

export interface FixedType {
  readonly signed: boolean;
  readonly width: number;
  readonly int: number;
  readonly round: RoundingMode;
  readonly overflow: OverflowMode;
}

/** Widest type the project accepts; the evaluators use BigInt past 53 bits. */
export const MAX_WIDTH = 1024;

export class FixedTypeError extends UserError {
  override readonly name = "FixedTypeError";
}

export function fixedType(
  signed: boolean,
  width: number,
  int: number,
  round: RoundingMode = "TRN",
  overflow: OverflowMode = "WRAP",
): FixedType {
  const t = { signed, width, int, round, overflow };
  const problem = fixedTypeProblem(t);
  if (problem) throw new FixedTypeError(problem);
  return t;
}

/** `ap_fixed<width, int, round, overflow>` */
export function sfixed(width: number, int: number, round?: RoundingMode, overflow?: OverflowMode): FixedType {
  return fixedType(true, width, int, round, overflow);
}

/** `ap_ufixed<width, int, round, overflow>` */
export function ufixed(width: number, int: number, round?: RoundingMode, overflow?: OverflowMode): FixedType {
  return fixedType(false, width, int, round, overflow);
}

/** Returns a sentence describing what is wrong with `t`, or undefined when it is a valid type. */
export function fixedTypeProblem(t: FixedType): string | undefined {
  if (!Number.isInteger(t.width) || t.width < 1 || t.width > MAX_WIDTH) {
    return `width must be an integer in 1..${MAX_WIDTH}, found ${t.width}`;
  }
  if (!Number.isInteger(t.int) || Math.abs(t.int) > 4 * MAX_WIDTH) {
    return `int must be an integer, found ${t.int}`;
  }
  if (!(ROUNDING_MODES as readonly string[]).includes(t.round)) {
    return `rounding mode must be one of ${ROUNDING_MODES.join(", ")}, found ${String(t.round)}`;
  }
  if (!(OVERFLOW_MODES as readonly string[]).includes(t.overflow)) {
    return `overflow mode must be one of ${OVERFLOW_MODES.join(", ")}, found ${String(t.overflow)}`;
  }
  return undefined;
}

export function frac(t: FixedType): number {
  return t.width - t.int;
}

/** Smallest mantissa the type holds. */
export function minMantissa(t: FixedType): bigint {
  return t.signed ? -(1n << BigInt(t.width - 1)) : 0n;
}

/** Largest mantissa the type holds. */
export function maxMantissa(t: FixedType): bigint {
  return t.signed ? (1n << BigInt(t.width - 1)) - 1n : (1n << BigInt(t.width)) - 1n;
}

/** The narrowest type with the given fractional bits whose range covers mantissas [lo, hi]. */
export function typeForRange(
  lo: bigint,
  hi: bigint,
  fracBits: number,
  round: RoundingMode = "TRN",
  overflow: OverflowMode = "WRAP",
): FixedType {
  const signed = lo < 0n;
  const width = Math.max(1, signed ? Math.max(signedBits(lo), signedBits(hi)) : unsignedBits(hi));
  return fixedType(signed, width, width - fracBits, round, overflow);
}

/** Bits of a two's-complement number needed to hold v (including the sign bit). */
export function signedBits(v: bigint): number {
  return v < 0n ? (-v - 1n).toString(2).length + 1 : v === 0n ? 1 : v.toString(2).length + 1;
}

/** Bits of an unsigned number needed to hold v >= 0. */
export function unsignedBits(v: bigint): number {
  if (v < 0n) throw new FixedTypeError(`unsignedBits of a negative value ${v}`);
  return v === 0n ? 1 : v.toString(2).length;
}
