import { describe, expect, it } from "vitest";
import {
  formatFixedType,
  OVERFLOW_MODES,
  parseFixedType,
  quantizedBitsType,
  quantizedReluType,
  ROUNDING_MODES,
  sfixed,
  ufixed,
} from "../../src/fixed/index.js";

describe("ap_fixed strings", () => {
  it("parses the hls4ml spellings", () => {
    expect(parseFixedType("ap_fixed<16,6,AP_RND_CONV,AP_SAT>")).toEqual(sfixed(16, 6, "RND_CONV", "SAT"));
    expect(parseFixedType("ap_ufixed<10,6>")).toEqual(ufixed(10, 6));
    expect(parseFixedType(" ap_fixed< 8 , -2 , RND >")).toEqual(sfixed(8, -2, "RND"));
    expect(parseFixedType("ap_fixed<8,3,AP_TRN,AP_SAT_SYM,0>")).toEqual(sfixed(8, 3, "TRN", "SAT_SYM"));
    expect(parseFixedType("ap_int<8>")).toEqual(sfixed(8, 8));
    expect(parseFixedType("ap_uint<10>")).toEqual(ufixed(10, 10));
  });

  it("round-trips every mode", () => {
    for (const round of ROUNDING_MODES)
      for (const overflow of OVERFLOW_MODES)
        for (const t of [sfixed(12, 4, round, overflow), ufixed(64, 70, round, overflow)]) {
          expect(parseFixedType(formatFixedType(t))).toEqual(t);
        }
    expect(formatFixedType(ufixed(10, 6))).toBe("ap_ufixed<10,6>");
    expect(formatFixedType(sfixed(16, 8, "RND_CONV", "SAT"))).toBe("ap_fixed<16,8,AP_RND_CONV,AP_SAT>");
  });

  it("names what is wrong", () => {
    expect(() => parseFixedType("fixed<8,3>")).toThrow(/expected ap_fixed<W,I/);
    expect(() => parseFixedType("ap_fixed<8,3,AP_ROUND>")).toThrow(/unknown rounding mode "AP_ROUND"/);
    expect(() => parseFixedType("ap_fixed<8,3,AP_RND,AP_CLAMP>")).toThrow(/unknown overflow mode "AP_CLAMP"/);
    expect(() => parseFixedType("ap_fixed<0,3>")).toThrow(/width must be an integer/);
    expect(() => parseFixedType("ap_fixed<8.5,3>")).toThrow(/width must be an integer, found "8.5"/);
    expect(() => parseFixedType("ap_fixed<8,3,AP_RND,AP_SAT,2>")).toThrow(/saturation bits/);
  });
});

describe("QKeras mapping", () => {
  it("maps quantized_bits and quantized_relu as DESIGN.md states", () => {
    expect(quantizedBitsType(8, 0)).toEqual(sfixed(8, 1, "RND_CONV", "SAT"));
    expect(quantizedBitsType(12, 3, false)).toEqual(ufixed(12, 3, "RND_CONV", "SAT"));
    expect(quantizedReluType(10, 6)).toEqual(ufixed(10, 6, "RND_CONV", "SAT"));
  });
});
