import { describe, expect, it } from "vitest";
import { fixedType, frac } from "../../src/fixed/index.js";
import type { Layer, ModelIR } from "../../src/ir/index.js";
import {
  compileModel,
  evaluate,
  evaluateBigInt,
  modelToJson,
  parseModel,
  resolveExactTypes,
} from "../../src/ir/index.js";
import { naiveEvaluate } from "../support/naive-eval.js";
import { randomInputs, randomModel } from "../support/random-model.js";

describe("evaluator on random models against the naive reference", () => {
  it("agrees bit for bit on 300 random models with narrow types (number kernels)", () => {
    let numberKernels = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const model = randomModel(seed);
      const c = compileModel(model);
      if (c.exactInNumbers) numberKernels++;
      const events = 6;
      const x = randomInputs(model, events, seed);
      const got = evaluate(c, x);
      const big = evaluateBigInt(c, x);
      for (let e = 0; e < events; e++) {
        const want = naiveEvaluate(model, Array.from(x.subarray(e * c.inputSize, (e + 1) * c.inputSize)));
        const slice = Array.from(got.subarray(e * c.outputSize, (e + 1) * c.outputSize), BigInt);
        if (
          slice.join() !== want.join() ||
          big.slice(e * c.outputSize, (e + 1) * c.outputSize).join() !== want.join()
        ) {
          throw new Error(
            `seed ${seed} event ${e}: evaluate ${slice}, bigint ${big.slice(e * c.outputSize, (e + 1) * c.outputSize)}, naive ${want}`,
          );
        }
      }
    }
    expect(numberKernels).toBe(300);
  });

  it("agrees on random models with types wider than 53 bits (BigInt kernels)", () => {
    let bigKernels = 0;
    for (let seed = 1000; seed < 1060; seed++) {
      const model = randomModel(seed, { wide: true });
      const c = compileModel(model);
      if (!c.exactInNumbers) bigKernels++;
      const x = randomInputs(model, 3, seed);
      const got = evaluateBigInt(c, x);
      for (let e = 0; e < 3; e++) {
        const want = naiveEvaluate(model, Array.from(x.subarray(e * c.inputSize, (e + 1) * c.inputSize)));
        expect(got.slice(e * c.outputSize, (e + 1) * c.outputSize)).toEqual(want);
      }
    }
    expect(bigKernels).toBeGreaterThan(5);
  });

  it("resolving exact types and a JSON round trip change no output bit", () => {
    for (let seed = 1; seed <= 60; seed++) {
      const model = randomModel(seed);
      const resolved = parseModel(JSON.stringify(modelToJson(resolveExactTypes(model))));
      expect(resolved.layers.every((l) => !("accum" in l) || l.accum !== "exact")).toBe(true);
      const x = randomInputs(model, 4, seed);
      expect(Array.from(evaluate(resolved, x))).toEqual(Array.from(evaluate(model, x)));
    }
  });

  it("agrees on batches that span several of evaluate's internal chunks, and with trace on", () => {
    for (let seed = 2000; seed < 2040; seed++) {
      const model = randomModel(seed);
      const c = compileModel(model);
      const events = 150; // two chunks of 64 and a partial one
      const x = randomInputs(model, events, seed);
      const got = evaluate(c, x);
      const trace: Float64Array[] = [];
      expect(Array.from(evaluate(c, x, trace))).toEqual(Array.from(got));
      expect(trace).toHaveLength(model.layers.length);
      for (let e = 0; e < events; e += 7) {
        const want = naiveEvaluate(model, Array.from(x.subarray(e * c.inputSize, (e + 1) * c.inputSize)));
        expect(Array.from(got.subarray(e * c.outputSize, (e + 1) * c.outputSize), BigInt)).toEqual(want);
      }
    }
  });

  it("agrees when products are truncated a few fractional bits short of exact, as QKeras exports them", () => {
    // QKeras-style product types: the exact product type with 1-3 fractional bits dropped,
    // truncating, with the same integer bits, so no product overflows.
    let truncated = 0;
    for (let seed = 3000; seed < 3200; seed++) {
      const exact = resolveExactTypes(randomModel(seed, { narrowTypes: 0 }));
      const layers = exact.layers.map((l, i): Layer => {
        if (!("product" in l) || l.product === "exact") return l;
        const p = l.product;
        const drop = Math.min(1 + ((seed + i) % 3), frac(p), p.width - 1);
        if (drop <= 0) return l;
        truncated++;
        return { ...l, product: fixedType(p.signed, p.width - drop, p.int, "TRN", "WRAP") } as Layer;
      });
      const model: ModelIR = { ...exact, layers };
      const c = compileModel(model);
      const events = 70;
      const x = randomInputs(model, events, seed);
      const got = evaluate(c, x);
      for (let e = 0; e < events; e++) {
        const want = naiveEvaluate(model, Array.from(x.subarray(e * c.inputSize, (e + 1) * c.inputSize)));
        const slice = Array.from(got.subarray(e * c.outputSize, (e + 1) * c.outputSize), BigInt);
        if (slice.join() !== want.join())
          throw new Error(`seed ${seed} event ${e}: evaluate ${slice}, naive ${want}`);
      }
    }
    expect(truncated).toBeGreaterThan(100);
  });
});
