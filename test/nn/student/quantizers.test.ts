import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { formatFixedType, quantize } from "../../../src/fixed/index.js";
import { selectBackend } from "../../../src/nn/backend.js";
import { QUANTIZE_STE } from "../../../src/nn/kernels/index.js";
import {
  autoPo2,
  compositeQuantizer,
  type QuantizerSpec,
  quantizeMantissa,
  quantizerFixedType,
  quantizerGrid,
  roundHalfEven,
  tfQuantizer,
} from "../../../src/nn/quant/quantizers.js";
import { po2Ints } from "../../../src/nn/student/exact.js";
import { rng } from "../../../src/util/rng.js";

const bits = (b: number, i: number, symmetric: 0 | 1 = 0, keepNegative: 0 | 1 = 1): QuantizerSpec => ({
  quantizer: "quantized_bits",
  bits: b,
  integer: i,
  symmetric,
  keepNegative,
});
const relu = (b: number, i: number): QuantizerSpec => ({ quantizer: "quantized_relu", bits: b, integer: i });
/** Quantizers of every kind and sign convention that the tests sweep. */
const SPECS = [
  bits(8, 1),
  bits(12, 3),
  bits(4, 0, 1),
  bits(6, 2, 0, 0),
  relu(10, 6),
  relu(16, 8),
  relu(4, 0),
];

/** QKeras' formula written out: m_i * clip(round(x * m / m_i), lo, hi) / m (alpha = 1). */
function qkerasBits(x: number, b: number, i: number, symmetric: number, keepNegative: number): number {
  const unsigned = b - keepNegative;
  const m = 2 ** unsigned;
  const mi = 2 ** i;
  const p = (x * m) / mi;
  const lo = keepNegative * (-m + symmetric);
  return (mi * Math.min(m - 1, Math.max(lo, roundHalfEven(p)))) / m;
}
function qkerasRelu(x: number, b: number, i: number): number {
  const m = 2 ** b;
  const mi = 2 ** i;
  const p = (Math.max(0, x) * m) / mi;
  return (mi * Math.min(m - 1, Math.max(0, roundHalfEven(p)))) / m;
}

describe("QKeras quantizers", () => {
  beforeAll(async () => {
    await selectBackend("wasm");
  });

  it("round half to even like tf.round", () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.49, -2.51].map((v) => roundHalfEven(v) + 0)).toEqual([
      0, 2, 2, 0, -2, -2, 2, -3,
    ]);
    expect(Array.from(tf.round([0.5, 1.5, 2.5, -0.5, -1.5, -2.5]).dataSync(), (v) => v + 0)).toEqual([
      0, 2, 2, 0, -2, -2,
    ]);
  });

  it("quantized_bits on hand cases: range, ties, saturation, symmetric, unsigned", () => {
    const g = quantizerGrid(bits(8, 1));
    // 8 bits, 1 integer bit + sign: step 2^-6, range [-2, 2 - 2^-6].
    expect(g).toEqual({ frac: 6, lo: -128, hi: 127, relu: false });
    expect(quantizeMantissa(g, 0.5)).toBe(32);
    expect(quantizeMantissa(g, 3)).toBe(127);
    expect(quantizeMantissa(g, -3)).toBe(-128);
    expect(quantizeMantissa(g, 1.5 / 64)).toBe(2); // tie 1.5 -> 2
    expect(quantizeMantissa(g, 2.5 / 64)).toBe(2); // tie 2.5 -> 2
    expect(quantizeMantissa(quantizerGrid(bits(8, 1, 1)), -3)).toBe(-127);
    expect(quantizerGrid(bits(6, 2, 0, 0))).toEqual({ frac: 4, lo: 0, hi: 63, relu: false });
    expect(quantizeMantissa(quantizerGrid(bits(6, 2, 0, 0)), -1)).toBe(0);
    expect(quantizeMantissa(quantizerGrid(relu(10, 6)), 100)).toBe(1023);
    expect(quantizeMantissa(quantizerGrid(relu(10, 6)), -5)).toBe(0);
    expect(quantizeMantissa(quantizerGrid(relu(10, 6)), 1 / 32)).toBe(0); // tie 0.5 -> 0
    expect(quantizeMantissa(quantizerGrid(relu(10, 6)), 3 / 32)).toBe(2); // tie 1.5 -> 2
  });

  it("map to the documented ap_fixed types", () => {
    expect(formatFixedType(quantizerFixedType(bits(8, 1)))).toBe("ap_fixed<8,2,AP_RND_CONV,AP_SAT>");
    expect(formatFixedType(quantizerFixedType(bits(8, 1, 1)))).toBe("ap_fixed<8,2,AP_RND_CONV,AP_SAT_SYM>");
    expect(formatFixedType(quantizerFixedType(bits(6, 2, 0, 0)))).toBe("ap_ufixed<6,2,AP_RND_CONV,AP_SAT>");
    expect(formatFixedType(quantizerFixedType(relu(10, 6)))).toBe("ap_ufixed<10,6,AP_RND_CONV,AP_SAT>");
  });

  it("agree with QKeras' formulas, the ap_fixed cast and the tfjs graph on random values", () => {
    const r = rng(9);
    for (const q of [...SPECS, bits(3, -1)]) {
      const g = quantizerGrid(q);
      const type = quantizerFixedType(q);
      // Values on and between grid points, inside and outside the range (exact in float32).
      const xs = Float32Array.from(
        { length: 4000 },
        () => (r.int(-3 * 2 ** 12, 3 * 2 ** 12) / 2 ** 12) * 2 ** (g.hi > 200 ? 3 : 0),
      );
      const graph = tf.tidy(() => tfQuantizer(q)(tf.tensor1d(xs)).dataSync());
      xs.forEach((x, k) => {
        const m = quantizeMantissa(g, x);
        const formula =
          q.quantizer === "quantized_relu"
            ? qkerasRelu(x, q.bits, q.integer)
            : qkerasBits(x, q.bits, q.integer, q.symmetric, q.keepNegative);
        expect(m * 2 ** -g.frac + 0).toBe(formula + 0);
        expect(graph[k] + 0).toBe(formula + 0);
        if (!(q.quantizer === "quantized_bits" && q.symmetric)) {
          // The ap_fixed cast of the exact value (x has 12 fractional bits here).
          const v = q.quantizer === "quantized_relu" ? Math.max(0, x) : x;
          expect(Number(quantize(BigInt(v * 2 ** 15), 15, type))).toBe(m + 0);
        }
      });
    }
  });

  it("pass gradients straight through, and stop them where the clip is active", () => {
    const x = tf.tensor1d([-3, -0.01, 0.3, 1.9, 2.5, 0.01]);
    const gBits = tf.grad((t: tf.Tensor) => tf.sum(tfQuantizer(bits(8, 1))(t)))(x);
    expect(Array.from(gBits.dataSync())).toEqual([0, 1, 1, 1, 0, 1]);
    const gRelu = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tfQuantizer(relu(4, 1))(t), 3)))(x);
    // quantized_relu(4,1): range [0, 1.875]; 1.9 rounds to the top (in range), 2.5 is clipped.
    expect(Array.from(gRelu.dataSync())).toEqual([0, 0, 3, 3, 0, 3]);
  });

  it("as one kernel on wasm and cpu, equal the composite tfjs graph in values and gradients", async () => {
    const r = rng(21);
    // 4001 values (the SIMD loop's scalar tail runs too): ties, grid points, far outside, -0.
    const sample = (frac: number) =>
      Float32Array.from({ length: 4001 }, (_, k) =>
        k === 0
          ? -0
          : k % 3 === 0
            ? (r.int(-3000, 3000) + 0.5) * 2 ** -frac
            : (r.next() - 0.5) * 2 ** r.int(-8, 12),
      );
    for (const backend of ["wasm", "cpu"] as const) {
      await selectBackend(backend);
      for (const q of SPECS) {
        const xs = sample(quantizerGrid(q).frac);
        const dy = tf.tensor1d(Float32Array.from(xs, () => r.next() - 0.5));
        const fused = tf.tidy(() => {
          const x = tf.variable(tf.tensor1d(xs));
          const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tfQuantizer(q)(t), dy)))(x);
          return { y: tfQuantizer(q)(x).dataSync(), g: g.dataSync() };
        });
        const plain = tf.tidy(() => {
          const x = tf.tensor1d(xs);
          const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(compositeQuantizer(q)(t), dy)))(x);
          return { y: compositeQuantizer(q)(x).dataSync(), g: g.dataSync() };
        });
        expect(Array.from(fused.y, (v) => v + 0)).toEqual(Array.from(plain.y, (v) => v + 0));
        expect(Array.from(fused.g, (v) => v + 0)).toEqual(Array.from(plain.g, (v) => v + 0));
        dy.dispose();
      }
      // The fused kernel is what runs: one kernel forward.
      const profile = await tf.profile(() => tfQuantizer(relu(10, 6))(tf.tensor1d([0.3, 7])));
      expect(profile.kernels.map((k) => k.name)).toContain(QUANTIZE_STE);
      expect(profile.kernels.map((k) => k.name)).not.toContain("Round");
    }
    await selectBackend("wasm");
  });
});

describe("auto_po2 (per-channel power-of-two scales)", () => {
  const po2 = (b: number, i: number): QuantizerSpec => ({
    quantizer: "quantized_bits",
    bits: b,
    integer: i,
    symmetric: 1,
    keepNegative: 1,
    alpha: "auto_po2",
  });

  it("follows QKeras' iteration per output channel (worked by hand)", () => {
    // Kernel [3, 2], bits 4 (levels 15, |z| <= 7). Channel 0 = [0.5, -0.25, 0.125]: the range
    // 0.75 / 15 gives 2^-4; |x| / 2^-4 = 8, 4, 2, so z = 7 (clipped), -4, 2, and
    // sum(xz) / sum(zz) = 4.75 / 69 keeps 2^-4. Channel 1 = [3, -1, 0]: 4 / 15 gives 2^-2 and
    // z = 7, -4, 0; 25 / 65 moves the scale to 2^-1, where z = 6, -2, 0 and 20 / 40 stays.
    const q = autoPo2([0.5, 3, -0.25, -1, 0.125, 0], [3, 2], 4, 0);
    expect(Array.from(q.z)).toEqual([7, 6, -4, -2, 2, 0]);
    expect(Array.from(q.exponent)).toEqual([-4, -1]);
    expect(q.channels).toBe(2);
    // integer = 1 only moves the exponents; a 1-D tensor (a bias) has one scale.
    const q1 = autoPo2([1, 6, -0.5, -2, 0.25, 0], [3, 2], 4, 1);
    expect(Array.from(q1.z)).toEqual(Array.from(q.z));
    expect(Array.from(q1.exponent)).toEqual([-3, 0]);
    const b = autoPo2([0.5, -0.25, 0.125], [3], 4, 0);
    expect(Array.from(b.exponent)).toEqual([-4]);
    expect(Array.from(b.z)).toEqual([7, -4, 2]);
  });

  it("keeps integers within the symmetric range and exports them exactly in one type", () => {
    const r = rng(5);
    const shape = [9, 8];
    // Channels of very different magnitudes, one all zero, ties and negatives.
    const x = Float32Array.from({ length: 72 }, (_, i) =>
      i % 8 === 3 ? 0 : (r.next() - 0.5) * 2 ** ((i % 8) - 4) * (i % 5 === 0 ? 3 : 1),
    );
    for (const b of [2, 4, 8, 12]) {
      const q = autoPo2(x, shape, b, 0);
      const zmax = 2 ** (b - 1) - 1;
      for (const z of q.z) expect(Math.abs(z) <= zmax && Number.isInteger(z)).toBe(true);
      const ints = po2Ints(q, shape, b);
      expect(ints.bits).toBe(b);
      expect(ints.type.signed).toBe(true);
      const f = ints.type.width - ints.type.int;
      for (let i = 0; i < x.length; i++) {
        const value = q.z[i] * 2 ** q.exponent[i % 8];
        expect(ints.values[i] * 2 ** -f).toBe(value);
        expect(Number.isInteger(ints.values[i])).toBe(true);
        expect(Math.abs(ints.values[i])).toBeLessThan(2 ** (ints.type.width - 1));
      }
      // The all-zero channel (exponent -23) does not widen the type.
      expect(q.exponent[3]).toBe(-23);
      expect(f).toBeLessThan(23);
    }
    // Weights near zero quantize to zero, as pruned ones must.
    expect(autoPo2([0, 0.5, 0.001], [3], 4, 0).z[0]).toBe(0);
  });

  it("trains through a straight-through gradient and forwards autoPo2's values", () => {
    const xs = Float32Array.from({ length: 24 }, (_, i) => Math.sin(i) * (1 + (i % 3)));
    const dy = tf.tensor2d(
      Float32Array.from({ length: 24 }, (_, i) => i - 7),
      [8, 3],
    );
    const { y, g } = tf.tidy(() => {
      const x = tf.tensor2d(xs, [8, 3]);
      const q = tfQuantizer(po2(6, 1));
      const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(q(t), dy)))(x);
      return { y: q(x).dataSync(), g: grad.dataSync() };
    });
    const ref = autoPo2(xs, [8, 3], 6, 1);
    expect(Array.from(y)).toEqual(Array.from(ref.z, (z, i) => z * 2 ** ref.exponent[i % 3]));
    expect(Array.from(g)).toEqual(Array.from(dy.dataSync()));
    dy.dispose();
  });
});
