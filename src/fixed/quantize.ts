import { match } from "ts-pattern";
import { type FixedType, frac, maxMantissa, minMantissa, type RoundingMode } from "./types.js";

/**
 * Casts the mantissa `m` of a value with `fromFrac` fractional bits to `to`, following
 * `ap_fixed` semantics: first drop fractional bits with `to.round`, then fit the rounded
 * integer into `to.width` bits with `to.overflow`. Exact for every input.
 */
export function quantize(m: bigint, fromFrac: number, to: FixedType): bigint {
  const shift = fromFrac - frac(to);
  let q: bigint;
  if (shift <= 0) {
    q = m << BigInt(-shift);
  } else {
    const d = BigInt(shift);
    q = m >> d; // arithmetic shift: floor division by 2^d
    const rem = m - (q << d); // 0 <= rem < 2^d
    const half = 1n << (d - 1n);
    if (roundsUp(to.round, rem !== 0n, rem === half, rem > half, m < 0n, (q & 1n) === 1n)) q += 1n;
  }
  const lo = minMantissa(to);
  const hi = maxMantissa(to);
  if (q >= lo && q <= hi) return q;
  switch (to.overflow) {
    case "WRAP":
      return to.signed ? BigInt.asIntN(to.width, q) : BigInt.asUintN(to.width, q);
    case "SAT":
      return q > hi ? hi : lo;
    case "SAT_SYM":
      return q > hi ? hi : to.signed ? -hi : lo;
    case "SAT_ZERO":
      return 0n;
    default:
      return unreachable(to.overflow);
  }
}

/**
 * Whether rounding adds one to the floor quotient. `inexact`: some dropped bit is set;
 * `tie`: the dropped part is exactly one half; `above`: more than one half;
 * `negative`: the source value is negative; `odd`: the floor quotient is odd.
 * A plain switch rather than a pattern match: this runs once per value in hot loops.
 */
function roundsUp(
  mode: RoundingMode,
  inexact: boolean,
  tie: boolean,
  above: boolean,
  negative: boolean,
  odd: boolean,
): boolean {
  switch (mode) {
    case "TRN":
      return false;
    case "TRN_ZERO":
      return negative && inexact;
    case "RND":
      return above || tie;
    case "RND_ZERO":
      return above || (tie && negative);
    case "RND_MIN_INF":
      return above;
    case "RND_INF":
      return above || (tie && !negative);
    case "RND_CONV":
      return above || (tie && odd);
    default:
      return unreachable(mode);
  }
}

function unreachable(x: never): never {
  throw new Error(`unhandled mode ${String(x)}`);
}

/**
 * The same cast as `quantize`, specialised for the evaluators' hot loops on plain numbers.
 * Valid when |m|, the shifted mantissa and the target range are all below 2^53; callers
 * establish that with range analysis and fall back to `quantize` otherwise.
 */
export function numberQuantizer(fromFrac: number, to: FixedType): (m: number) => number {
  const shift = fromFrac - frac(to);
  const lo = Number(minMantissa(to));
  const hi = Number(maxMantissa(to));
  const modulus = 2 ** to.width;
  // Overflow handling, chosen once per cast.
  const overflow: (q: number) => number = match(to.overflow)
    .with("WRAP", () => (q: number) => {
      const r = ((q % modulus) + modulus) % modulus;
      return to.signed && r > hi ? r - modulus : r;
    })
    .with("SAT", () => (q: number) => (q > hi ? hi : lo))
    // lo + 1 is -hi for signed types, written so that width 1 gives 0 rather than -0.
    .with("SAT_SYM", () => (q: number) => (q > hi ? hi : to.signed ? lo + 1 : lo))
    .with("SAT_ZERO", () => () => 0)
    .exhaustive();
  if (shift <= 0) {
    const scale = 2 ** -shift;
    return (m) => {
      const q = m * scale;
      return q >= lo && q <= hi ? q : overflow(q);
    };
  }
  const div = 2 ** shift;
  // Multiplying by a power of two is exact, and cheaper than dividing.
  const inverse = 2 ** -shift;
  const half = div / 2;
  const mode = to.round;
  if (mode === "TRN") {
    return (m) => {
      const q = Math.floor(m * inverse);
      return q >= lo && q <= hi ? q : overflow(q);
    };
  }
  return (m) => {
    let q = Math.floor(m * inverse);
    const rem = m - q * div;
    if (rem !== 0 && roundsUp(mode, true, rem === half, rem > half, m < 0, (q & 1) !== 0)) q += 1;
    return q >= lo && q <= hi ? q : overflow(q);
  };
}

/** Whether every mantissa in [lo, hi] at `fromFrac` passes through the cast to `to` unchanged in value. */
export function castIsExact(lo: bigint, hi: bigint, fromFrac: number, to: FixedType): boolean {
  const shift = fromFrac - frac(to);
  if (shift > 0) return false;
  const s = BigInt(-shift);
  return lo << s >= minMantissa(to) && hi << s <= maxMantissa(to);
}

/**
 * `numberQuantizer` over a range of an array, in place or into another: for i in
 * [from, to), dst[i] = cast(relu ? max(src[i], 0) : src[i]). The loops are written out per
 * case (plain scaling, truncation, ties-to-even) with no call per element: a call through a
 * closure whose code is shared by every layer's cast cannot be inlined once the layers' casts
 * differ, and then costs more than the arithmetic. Other rounding modes call the scalar cast.
 * The relu is written without a branch, (x + |x|) / 2 (exact on integers below 2^53): about
 * half of a ReLU layer's inputs are negative, in no pattern the branch predictor can learn,
 * and the mispredictions made the branching form several times slower.
 */
export function arrayQuantizer(
  fromFrac: number,
  to: FixedType,
  relu = false,
): (src: Float64Array, dst: Float64Array, from: number, end: number) => void {
  const scalar = numberQuantizer(fromFrac, to);
  const shift = fromFrac - frac(to);
  const lo = Number(minMantissa(to));
  const hi = Number(maxMantissa(to));
  // 1 keeps x, 0.5 makes (x + |x|) * 0.5 = max(x, 0); the factor on |x| selects the form.
  const keep = relu ? 0.5 : 1;
  const absWeight = relu ? 0.5 : 0;
  if (shift <= 0) {
    const scale = 2 ** -shift;
    return (src, dst, from, end) => {
      for (let i = from; i < end; i++) {
        const v = src[i] * keep + Math.abs(src[i]) * absWeight;
        const q = v * scale;
        dst[i] = q >= lo && q <= hi ? q : scalar(v);
      }
    };
  }
  const div = 2 ** shift;
  // Multiplying by a power of two is exact, and cheaper than dividing.
  const inverse = 2 ** -shift;
  const half = div / 2;
  if (to.round === "TRN") {
    return (src, dst, from, end) => {
      for (let i = from; i < end; i++) {
        const v = src[i] * keep + Math.abs(src[i]) * absWeight;
        const q = Math.floor(v * inverse);
        dst[i] = q >= lo && q <= hi ? q : scalar(v);
      }
    };
  }
  if (to.round === "RND_CONV") {
    return (src, dst, from, end) => {
      for (let i = from; i < end; i++) {
        const v = src[i] * keep + Math.abs(src[i]) * absWeight;
        let q = Math.floor(v * inverse);
        const rem = v - q * div;
        // q & 1 keeps the parity of any integer below 2^53 (ToInt32 is modulo 2^32).
        if (rem > half || (rem === half && (q & 1) !== 0)) q += 1;
        dst[i] = q >= lo && q <= hi ? q : scalar(v);
      }
    };
  }
  return (src, dst, from, end) => {
    for (let i = from; i < end; i++) dst[i] = scalar(src[i] * keep + Math.abs(src[i]) * absWeight);
  };
}
