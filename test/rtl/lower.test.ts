import { describe, expect, it } from "vitest";
import { evaluateBigInt, readModel } from "../../src/ir/index.js";
import { csd } from "../../src/rtl/csd.js";
import { lowerModel } from "../../src/rtl/lower.js";
import { evaluateNetlist } from "../../src/rtl/netlist.js";
import { randomInputs, randomModel } from "../support/random-model.js";

describe("canonical signed digits", () => {
  it("represent every integer with no two adjacent non-zero digits", () => {
    for (let v = -5000n; v <= 5000n; v++) {
      const d = csd(v);
      expect(d.reduce((s, x) => s + (x.neg ? -1n : 1n) * (1n << BigInt(x.shift)), 0n)).toBe(v);
      for (let i = 1; i < d.length; i++) expect(d[i].shift - d[i - 1].shift).toBeGreaterThan(1);
    }
  });
});

function check(model: Parameters<typeof lowerModel>[0], events: number, seed: number) {
  const { netlist } = lowerModel(model);
  const inputs = randomInputs(model, events, seed);
  const expected = evaluateBigInt(model, inputs);
  const n = netlist.inputCount;
  const m = netlist.outputs.length;
  for (let e = 0; e < events; e++) {
    const got = evaluateNetlist(netlist, inputs.slice(e * n, (e + 1) * n));
    expect(got, `event ${e}`).toEqual(expected.slice(e * m, (e + 1) * m));
  }
}

describe("lowering to the netlist", () => {
  it("matches the model IR evaluator on the example models", () => {
    for (const f of ["v1-tiny", "conv-tiny"]) check(readModel(`data/models/${f}.ir.json`), 50, 1);
  });
  it("matches the model IR evaluator on 300 random models, every op and mode", () => {
    for (let seed = 1; seed <= 300; seed++) check(randomModel(seed), 20, seed);
  });
  it("matches on wide random models (BigInt widths)", () => {
    for (let seed = 1; seed <= 40; seed++) check(randomModel(seed, { wide: true }), 10, seed);
  });
});
