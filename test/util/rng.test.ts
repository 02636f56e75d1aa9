import { describe, expect, it } from "vitest";
import { deriveSeed, rng } from "../../src/util/rng.js";

describe("seeded PRNG", () => {
  it("fill gives the same words as successive u32 calls and continues the stream", () => {
    const a = rng(17);
    const b = rng(17);
    const words = new Uint32Array(100);
    a.fill(words, 100);
    expect([...words]).toEqual(Array.from({ length: 100 }, () => b.u32()));
    expect(a.u32()).toBe(b.u32());
  });

  it("draws Poisson counts with the right mean and variance on both sides of the method switch", () => {
    for (const mean of [0.2, 4, 50]) {
      const r = rng(3);
      const xs = Array.from({ length: 20000 }, () => r.poisson(mean));
      const m = xs.reduce((s, x) => s + x, 0) / xs.length;
      const v = xs.reduce((s, x) => s + (x - m) ** 2, 0) / xs.length;
      expect(Math.abs(m - mean)).toBeLessThan(0.05 * mean + 0.01);
      expect(Math.abs(v - mean)).toBeLessThan(0.1 * mean + 0.01);
    }
  });

  it("derives unrelated streams for neighbouring seeds and streams", () => {
    const seeds = new Set([0, 1, 2].flatMap((s) => [0, 1, 2].map((k) => deriveSeed(s, k))));
    expect(seeds.size).toBe(9);
  });
});
