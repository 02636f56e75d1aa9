import { describe, expect, it } from "vitest";
import { evaluate, evaluateBigInt, readModel } from "../../src/ir/index.js";

const v1 = readModel("data/models/v1-tiny.ir.json");
const conv = readModel("data/models/conv-tiny.ir.json");

describe("evaluator on the hand-written examples (values worked out by hand)", () => {
  it("v1-tiny: dense+bias, relu with RND_CONV and SAT, 12-bit head", () => {
    // x = [10, 20, 3, 7]:
    //  neuron 0: 10*64 + 3*-128 + 7*32 = 480 (frac 7) + bias 3 (frac 2) = 576 -> frac 6: 288 (4.5)
    //  neuron 1: 10*-32 + 20*16 + 3*127 = 381 (frac 7) + bias -8 (frac 2) = 125 -> TRN: 62 (0.96875)
    //  relu to ap_ufixed<10,6> (frac 4): 288 -> 72; 62 -> 15.5, a tie, to even -> 16
    //  head: 72*300 + 16*-77 = 20368 (frac 12) -> frac 8: 1273 (4.97265625)
    // x = [0, 0, 100, 0]: neuron 1 saturates at 1023; head -78771 (frac 12) -> floor -4924 -> relu 0
    // x = [50, 0, 0, 0]: neuron 0 = 3296 -> 1648 -> 412; neuron 1 < 0 -> 0; head 123600 -> 7725
    const x = [10, 20, 3, 7, 0, 0, 100, 0, 50, 0, 0, 0];
    const trace: Float64Array[] = [];
    expect(Array.from(evaluate(v1, x, trace))).toEqual([1273, 0, 7725]);
    expect(Array.from(trace[0])).toEqual([288, 62, -6352, 6222, 1648, -928]);
    expect(Array.from(trace[1])).toEqual([72, 16, 0, 1023, 412, 0]);
    expect(Array.from(trace[2])).toEqual([1273, -4924, 7725]);
    expect(evaluateBigInt(v1, x)).toEqual([1273n, 0n, 7725n]);
  });

  it("conv-tiny: stride-2 convolution with RND output, relu, average pool, head", () => {
    // Image 1..16 row-major. Filter 0 (a + 2b - d + 4), filter 1 (-2a + 3c + d - 4) on the four
    // 2x2 patches, frac 2: [3, 15], [7, 19], [19, 31], [23, 35]; RND to frac 1: [2, 8], [4, 10], [10, 16], [12, 18].
    // Pool: (2+4+10+12)/4 = 3.5 -> 14 at frac 2; (8+10+16+18)/4 = 6.5 -> 26.
    // Head: 14*5 + 26*-3 = -8 (frac 5) -> frac 4: -4 (-0.25).
    const x = Array.from({ length: 16 }, (_, i) => i + 1);
    const trace: Float64Array[] = [];
    expect(Array.from(evaluate(conv, x, trace))).toEqual([-4]);
    expect(Array.from(trace[0])).toEqual([2, 8, 4, 10, 10, 16, 12, 18]);
    expect(Array.from(trace[2])).toEqual([14, 26]);
  });

  it("rejects inputs outside the input type with the event and element", () => {
    expect(() => evaluate(v1, [1, 2, 3, 4, 5, 6, 1024, 0])).toThrow(
      /input\[1\]\[2\]: found 1024, expected an integer mantissa in 0..1023/,
    );
    expect(() => evaluate(v1, [1, 2, 3])).toThrow(/found "3 values", expected a multiple of 4/);
    expect(() => evaluate(v1, [1, 2, 3, 0.5])).toThrow(/input\[0\]\[3\]: found 0.5/);
  });
});
