/**
 * A small seeded PRNG (mulberry32): the same seed gives the same sequence on every machine.
 * `next` is uniform in [0, 1), `u32` uniform over 32-bit integers, `int(lo, hi)` uniform over
 * the integers lo..hi inclusive.
 *
 * `normal`, `exponential` and `poisson` call Math.log / Math.sqrt / Math.cos / Math.exp.
 * V8 implements these with the same port of fdlibm on every platform (not the C library), so
 * a given Node version produces the same doubles on every machine.
 */
export function rng(seed: number) {
  let s = seed >>> 0;
  const u32 = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  /** Fills `out[0..n)` with the next n words: the same sequence as n calls of u32, in one tight loop. */
  const fill = (out: Uint32Array, n: number) => {
    let t = s;
    for (let i = 0; i < n; i++) {
      t = (t + 0x6d2b79f5) >>> 0;
      let x = t;
      x = Math.imul(x ^ (x >>> 15), x | 1);
      x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
      out[i] = x ^ (x >>> 14);
    }
    s = t;
  };
  const next = () => u32() / 4294967296;
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
  /** Standard normal by Box-Muller (one pair per call; the second value is discarded). */
  const normal = () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  const exponential = (mean: number) => -mean * Math.log(1 - next());
  /**
   * Poisson by inversion of the CDF below a mean of 30 (exact); above, the normal
   * approximation round(mean + sqrt(mean) z) clipped at 0, whose shape differs from the
   * Poisson by under 1% of the peak there and which costs one draw instead of ~mean.
   */
  const poisson = (mean: number) => {
    if (mean >= 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * normal()));
    let p = Math.exp(-mean);
    let cdf = p;
    let k = 0;
    const u = next();
    while (u > cdf && p > 0) {
      k++;
      p *= mean / k;
      cdf += p;
    }
    return k;
  };
  return { next, u32, fill, int, pick, normal, exponential, poisson };
}
export type Rng = ReturnType<typeof rng>;

/** Mixes a seed with a stream number so that derived streams are unrelated (murmur3 finaliser). */
export function deriveSeed(seed: number, stream: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(stream + 1, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
