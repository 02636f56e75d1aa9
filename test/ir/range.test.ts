import { describe, expect, it } from "vitest";
import { formatFixedType, parseFixedType } from "../../src/fixed/index.js";
import { analyzeModel, type ModelIR, readModel } from "../../src/ir/index.js";

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
