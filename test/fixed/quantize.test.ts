import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  arrayQuantizer,
  castIsExact,
  type FixedType,
  fixedType,
  frac,
  maxMantissa,
  minMantissa,
  numberQuantizer,
  OVERFLOW_MODES,
  quantize,
  ROUNDING_MODES,
  sfixed,
  ufixed,
} from "../../src/fixed/index.js";
import { referenceCast } from "./reference.js";

function allSmallTargets(): FixedType[] {
  const out: FixedType[] = [];
  for (const signed of [true, false])
    for (let width = 1; width <= 4; width++)
      for (let int = -2; int <= 6; int++)
        for (const round of ROUNDING_MODES)
          for (const overflow of OVERFLOW_MODES) out.push(fixedType(signed, width, int, round, overflow));
  return out;
}

describe("quantize: every mode on every value of small widths", () => {
  const targets = allSmallTargets();
  for (const fromFrac of [-2, 0, 1, 3, 5]) {
    it(`agrees with the rational reference from frac ${fromFrac}`, () => {
      let checked = 0;
      for (const to of targets) {
        const fast = numberQuantizer(fromFrac, to);
        for (let m = -40n; m <= 40n; m++) {
          const want = referenceCast(m, fromFrac, to);
          const got = quantize(m, fromFrac, to);
          if (got !== want || fast(Number(m)) !== Number(want)) {
            throw new Error(
              `cast of ${m}*2^-${fromFrac} to ${JSON.stringify(to)}: reference ${want}, quantize ${got}, number ${fast(Number(m))}`,
            );
          }
          checked++;
        }
        // The array form, plain and with a ReLU in front, over the same 81 mantissas.
        const src = Float64Array.from({ length: 81 }, (_, i) => i - 40);
        for (const relu of [false, true]) {
          const dst = new Float64Array(83).fill(7);
          arrayQuantizer(fromFrac, to, relu)(src, dst, 1, 80);
          const want = Array.from(src, (m, i) =>
            i >= 1 && i < 80 ? Number(referenceCast(BigInt(relu && m < 0 ? 0 : m), fromFrac, to)) : 7,
          );
          expect(Array.from(dst.subarray(0, 81), (v) => v + 0)).toEqual(want.map((v) => v + 0));
        }
      }
      expect(checked).toBe(targets.length * 81);
    });
  }
});

describe("quantize: documented examples", () => {
  it("rounds ties the way each mode says", () => {
    // 2.5 and -2.5 (mantissa +-5 at frac 1) cast to integers.
    const cast = (v: bigint, round: FixedType["round"]) => quantize(v, 1, sfixed(8, 8, round, "SAT"));
    expect([5n, -5n].map((v) => cast(v, "TRN"))).toEqual([2n, -3n]);
    expect([5n, -5n].map((v) => cast(v, "TRN_ZERO"))).toEqual([2n, -2n]);
    expect([5n, -5n].map((v) => cast(v, "RND"))).toEqual([3n, -2n]);
    expect([5n, -5n].map((v) => cast(v, "RND_ZERO"))).toEqual([2n, -2n]);
    expect([5n, -5n].map((v) => cast(v, "RND_MIN_INF"))).toEqual([2n, -3n]);
    expect([5n, -5n].map((v) => cast(v, "RND_INF"))).toEqual([3n, -3n]);
    expect([5n, -5n].map((v) => cast(v, "RND_CONV"))).toEqual([2n, -2n]);
    expect([7n, -7n].map((v) => cast(v, "RND_CONV"))).toEqual([4n, -4n]);
  });

  it("handles overflow as each mode says", () => {
    const t = (overflow: FixedType["overflow"]) => sfixed(4, 4, "TRN", overflow);
    expect(quantize(9n, 0, t("WRAP"))).toBe(-7n);
    expect(quantize(9n, 0, t("SAT"))).toBe(7n);
    expect(quantize(-9n, 0, t("SAT"))).toBe(-8n);
    expect(quantize(-9n, 0, t("SAT_SYM"))).toBe(-7n);
    // The most negative value is in range, so SAT_SYM keeps it (as ap_fixed does).
    expect(quantize(-8n, 0, t("SAT_SYM"))).toBe(-8n);
    expect(quantize(9n, 0, t("SAT_ZERO"))).toBe(0n);
    expect(quantize(-3n, 0, ufixed(4, 4, "TRN", "SAT"))).toBe(0n);
    expect(quantize(-3n, 0, ufixed(4, 4, "TRN", "WRAP"))).toBe(13n);
  });

  it("handles rounding that carries into overflow", () => {
    // 7.75 -> ap_fixed<4,4,RND,SAT>: rounds to 8, which saturates to 7; with WRAP it becomes -8.
    expect(quantize(31n, 2, sfixed(4, 4, "RND", "SAT"))).toBe(7n);
    expect(quantize(31n, 2, sfixed(4, 4, "RND", "WRAP"))).toBe(-8n);
  });

  it("supports negative frac and int beyond width", () => {
    // ap_fixed<4,6>: LSB is 4, range -32..28.
    const t = sfixed(4, 6, "RND_CONV", "SAT");
    expect(frac(t)).toBe(-2);
    expect(quantize(10n, 0, t)).toBe(2n); // 10/4 = 2.5 -> 2 (even)
    expect(quantize(14n, 0, t)).toBe(4n); // 3.5 -> 4, in range (max mantissa 7)
    expect(quantize(100n, 0, t)).toBe(7n);
    // ap_ufixed<4,-2>: values 0 .. 15/64
    const u = ufixed(4, -2, "TRN", "SAT");
    expect(frac(u)).toBe(6);
    expect(quantize(1n, 2, u)).toBe(15n);
  });
});

describe("quantize: wide types (property tests)", () => {
  const modes = fc.record({
    round: fc.constantFrom(...ROUNDING_MODES),
    overflow: fc.constantFrom(...OVERFLOW_MODES),
  });
  const wideType = fc
    .record({
      signed: fc.boolean(),
      width: fc.integer({ min: 1, max: 64 }),
      int: fc.integer({ min: -20, max: 90 }),
    })
    .chain((t) => modes.map((mo) => fixedType(t.signed, t.width, t.int, mo.round, mo.overflow)));
  const mantissa = fc.bigInt({ min: -(1n << 130n), max: 1n << 130n });

  it("matches the rational reference up to 64-bit targets and 130-bit sources", () => {
    fc.assert(
      fc.property(mantissa, fc.integer({ min: -30, max: 100 }), wideType, (m, fromFrac, to) => {
        expect(quantize(m, fromFrac, to)).toBe(referenceCast(m, fromFrac, to));
      }),
      { numRuns: 20_000 },
    );
  });

  it("always lands inside the target range", () => {
    fc.assert(
      fc.property(mantissa, fc.integer({ min: -30, max: 100 }), wideType, (m, fromFrac, to) => {
        const q = quantize(m, fromFrac, to);
        expect(q >= minMantissa(to) && q <= maxMantissa(to)).toBe(true);
      }),
      { numRuns: 5_000 },
    );
  });

  it("the number specialisation equals quantize while values stay below 2^53", () => {
    const safeType = fc
      .record({
        signed: fc.boolean(),
        width: fc.integer({ min: 1, max: 40 }),
        int: fc.integer({ min: -8, max: 40 }),
      })
      .chain((t) => modes.map((mo) => fixedType(t.signed, t.width, t.int, mo.round, mo.overflow)));
    fc.assert(
      fc.property(
        fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
        fc.integer({ min: 0, max: 12 }),
        safeType,
        (m, fromFrac, to) => {
          fc.pre(Math.abs(m) * 2 ** Math.max(0, frac(to) - fromFrac) < 2 ** 53);
          expect(numberQuantizer(fromFrac, to)(m)).toBe(Number(quantize(BigInt(m), fromFrac, to)));
        },
      ),
      { numRuns: 20_000 },
    );
  });
});

describe("castIsExact", () => {
  it("is true exactly when every value in the range survives the cast", () => {
    const to = sfixed(6, 3, "RND", "SAT");
    expect(castIsExact(-32n, 31n, 3, to)).toBe(true);
    expect(castIsExact(-33n, 31n, 3, to)).toBe(false);
    expect(castIsExact(-8n, 7n, 1, to)).toBe(true);
    expect(castIsExact(-8n, 7n, 4, to)).toBe(false);
  });
});
