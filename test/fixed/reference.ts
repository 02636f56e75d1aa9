import type { FixedType } from "../../src/fixed/index.js";

/**
 * An independent definition of the `ap_fixed` cast, written from the vendor's documented
 * semantics in terms of exact rationals: the value is the fraction num/den, rounding picks
 * between the two neighbouring grid points by comparing distances, overflow follows the
 * mode descriptions. It shares no code with src/fixed.
 */
export function referenceCast(m: bigint, fromFrac: number, to: FixedType): bigint {
  const toFrac = to.width - to.int;
  // Value in units of the target LSB: y = m * 2^(toFrac - fromFrac) = num / den.
  const e = toFrac - fromFrac;
  const num = e >= 0 ? m * 2n ** BigInt(e) : m;
  const den = e >= 0 ? 1n : 2n ** BigInt(-e);
  const down = floorDiv(num, den);
  const up = num % den === 0n ? down : down + 1n;
  let q: bigint;
  if (down === up) {
    q = down;
  } else {
    // Compare y - down with up - y, i.e. 2*num with (down + up) * den.
    const twice = 2n * num;
    const mid = (down + up) * den;
    const nearest = twice < mid ? down : twice > mid ? up : undefined;
    const negative = num < 0n;
    const towardZero = negative ? up : down;
    const awayFromZero = negative ? down : up;
    switch (to.round) {
      case "TRN":
        q = down;
        break;
      case "TRN_ZERO":
        q = towardZero;
        break;
      case "RND":
        q = nearest ?? up;
        break;
      case "RND_ZERO":
        q = nearest ?? towardZero;
        break;
      case "RND_MIN_INF":
        q = nearest ?? down;
        break;
      case "RND_INF":
        q = nearest ?? awayFromZero;
        break;
      case "RND_CONV":
        q = nearest ?? (down % 2n === 0n ? down : up);
        break;
    }
  }
  const max = to.signed ? 2n ** BigInt(to.width - 1) - 1n : 2n ** BigInt(to.width) - 1n;
  const min = to.signed ? -(2n ** BigInt(to.width - 1)) : 0n;
  if (q >= min && q <= max) return q;
  switch (to.overflow) {
    case "SAT":
      return q > max ? max : min;
    case "SAT_ZERO":
      return 0n;
    case "SAT_SYM":
      if (q > max) return max;
      return to.signed ? -max : 0n;
    case "WRAP": {
      const span = 2n ** BigInt(to.width);
      let r = ((q % span) + span) % span;
      if (r > max) r -= span;
      return r;
    }
  }
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}
