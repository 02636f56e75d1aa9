import { describe, expect, it } from "vitest";
import { bootstrapEfficiencyRatios } from "../../src/eval/index.js";
import { rng } from "../../src/util/rng.js";

/** Background N(0,1) and a signal N(3,1) for the reference; the model adds noise of width `noise`. */
function sample(nBg: number, nSig: number, noise: number, seed: number) {
  const r = rng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - r.next())) * Math.cos(2 * Math.PI * r.next());
  const ref = Float64Array.from({ length: nBg }, gauss);
  const sig = Float64Array.from({ length: nSig }, () => 3 + gauss());
  const jitter = (v: Float64Array) => v.map((x) => x + noise * gauss());
  return {
    background: { ref, same: ref, noisy: jitter(ref) },
    signals: { s: { ref: sig, same: sig, noisy: jitter(sig) } },
  };
}

describe("bootstrap of efficiency ratios", () => {
  it("gives exactly 1 for a model identical to the reference, and an interval around the ratio otherwise", () => {
    const input = sample(10_000, 1_000, 0.5, 1);
    // 30 kHz at 28.61 MHz: the top 10 of 10,000 background events.
    const r = bootstrapEfficiencyRatios(input, "ref", ["same", "noisy"], 30, { resamples: 60 });
    expect(r.same.s).toEqual({ value: 1, lo68: 1, hi68: 1, lo95: 1, hi95: 1 });
    expect(r.same.min.value).toBe(1);
    const n = r.noisy.s;
    expect(n.lo95).toBeLessThanOrEqual(n.lo68);
    expect(n.lo68).toBeLessThan(n.hi68);
    expect(n.hi68).toBeLessThanOrEqual(n.hi95);
    expect(n.value).toBeGreaterThan(n.lo95);
    expect(n.value).toBeLessThan(n.hi95);
    expect(r.noisy.min).toEqual(n);
    // Same seed, same numbers.
    expect(bootstrapEfficiencyRatios(input, "ref", ["noisy"], 30, { resamples: 60 }).noisy.s).toEqual(n);
  });

  it("narrows as the sample grows", () => {
    const width = (nBg: number, nSig: number) => {
      const r = bootstrapEfficiencyRatios(sample(nBg, nSig, 0.5, 2), "ref", ["noisy"], 10, {
        resamples: 100,
      });
      return r.noisy.s.hi68 - r.noisy.s.lo68;
    };
    // 100 kHz: the top 0.35 %, 14 or 140 background events.
    expect(width(40_000, 4_000)).toBeLessThan(0.6 * width(4_000, 400));
  });
});
