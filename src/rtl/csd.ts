/** One non-zero digit of a signed-digit number: value (neg ? -1 : 1) * 2^shift. */
export interface Digit {
  readonly shift: number;
  readonly neg: boolean;
}

/**
 * The canonical signed-digit form of an integer: digits in {-1, 0, 1} with no two adjacent
 * non-zero digits. It has the fewest non-zero digits of any signed binary form (on average
 * a third of the bits), so a constant multiplication costs the fewest additions.
 */
export function csd(value: bigint): Digit[] {
  const digits: Digit[] = [];
  let v = value;
  let shift = 0;
  while (v !== 0n) {
    if ((v & 1n) === 1n) {
      // v mod 4 == 3 takes -1 so that the next bit becomes zero: ...11 -> ...(1)0(-1).
      const neg = (v & 3n) === 3n;
      digits.push({ shift, neg });
      v -= neg ? -1n : 1n;
    }
    v >>= 1n;
    shift++;
  }
  return digits;
}
