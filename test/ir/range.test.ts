import { describe, expect, it } from "vitest";
import {
  fixedType,
  formatFixedType,
  OVERFLOW_MODES,
  parseFixedType,
  quantize,
  ROUNDING_MODES,
} from "../../src/fixed/index.js";
import { analyzeModel, castInterval, type ModelIR, readModel } from "../../src/ir/index.js";

describe("range analysis", () => {
  it("infers the narrowest exact accumulator from the weights", () => {
    const a = analyzeModel(readModel("data/models/v1-tiny.ir.json"));
    const dense1 = a.layers[0].linear!;
    // Inputs 0..1023 (frac 0), weights at frac 7: neuron 0 spans 1023*-128 + 3*32 .. 1023*(64+32) + 96.
    expect(dense1.sum.lo[0]).toBe(-130944n + 96n);
    expect(dense1.sum.hi[0]).toBe(98208n + 96n);
    expect(formatFixedType(dense1.accum)).toBe("ap_fixed<19,12>");
    expect(a.warnings).toEqual([]);
  });

  it("warns with layer, declared type and needed width when an accumulator can overflow", () => {
    const m = readModel("data/models/v1-tiny.ir.json");
    const narrow: ModelIR = {
      ...m,
      layers: m.layers.map((l) =>
        l.name === "dense1" ? { ...l, accum: parseFixedType("ap_fixed<12,5>") } : l,
      ),
    };
    const a = analyzeModel(narrow);
    expect(a.warnings).toHaveLength(1);
    expect(a.warnings[0].message).toMatch(
      /layer 0 "dense1": declared accum type ap_fixed<12,5> can overflow or round; exact values need 19 bits/,
    );
  });
});

describe("cast intervals", () => {
  it("bound the image of every source interval exactly, for every mode (small widths, exhaustive)", () => {
    for (const overflow of OVERFLOW_MODES)
      for (const round of ROUNDING_MODES)
        for (const signed of [false, true])
          for (let width = 1; width <= 4; width++)
            for (const fromFrac of [0, 2]) {
              const to = fixedType(signed, width, width - 1, round, overflow);
              for (let lo = -20n; lo <= 20n; lo += 3n)
                for (let hi = lo; hi <= 24n; hi += 5n) {
                  let min: bigint | undefined;
                  let max: bigint | undefined;
                  for (let v = lo; v <= hi; v++) {
                    const q = quantize(v, fromFrac, to);
                    if (min === undefined || q < min) min = q;
                    if (max === undefined || q > max) max = q;
                  }
                  const [clo, chi] = castInterval(lo, hi, fromFrac, to);
                  // Sound always; exact unless WRAP (bounded by the whole type) or a left shift
                  // (whose image skips values, so an in-range end may not be reached).
                  if (overflow === "WRAP" || fromFrac < 1) {
                    expect(clo <= min! && chi >= max!).toBe(true);
                  } else {
                    expect([clo, chi], `${formatFixedType(to)} [${lo}, ${hi}]@${fromFrac}`).toEqual([
                      min,
                      max,
                    ]);
                  }
                }
            }
  });
});
