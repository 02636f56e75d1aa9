import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { harnessSource, recordBytes, verilatorPortType } from "../../src/sim/harness.js";
import { packRecords, unpackRecord } from "../../src/sim/records.js";

describe("bus records", () => {
  it("pack element 0 into the least significant bits, little-endian", () => {
    const l = { elements: 3, width: 10, signed: true };
    const bytes = packRecords([1, -1, 512 - 1024], 1, l);
    // 1 | 0x3ff << 10 | 0x200 << 20 = 0x200ffc01: 30 bits in 4 bytes.
    expect([...bytes]).toEqual([0x01, 0xfc, 0x0f, 0x20]);
    expect(unpackRecord(bytes, 0, l)).toEqual([1n, -1n, -512n]);
  });

  it("round-trip through numbers and BigInt for widths 1..70, signed and unsigned", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 70 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 4 }),
        fc.infiniteStream(fc.bigInt({ min: 0n, max: 2n ** 70n - 1n })),
        (width, signed, elements, count, stream) => {
          const l = { elements, width, signed };
          const span = 1n << BigInt(width);
          const values = [...stream.take(elements * count)].map((r) => {
            const v = r % span;
            return signed && v >= span / 2n ? v - span : v;
          });
          const packed = packRecords(values, count, l);
          expect(packed.length).toBe(count * recordBytes(elements * width));
          if (width <= 52) expect(packRecords(values.map(Number), count, l)).toEqual(packed);
          for (let e = 0; e < count; e++) {
            expect(unpackRecord(packed, e * recordBytes(elements * width), l)).toEqual(
              values.slice(e * elements, (e + 1) * elements),
            );
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("harness source", () => {
  it("uses Verilator's port type for each width and masks the top word", () => {
    expect([1, 8, 9, 16, 17, 32, 33, 64, 65, 2520].map(verilatorPortType)).toEqual([
      "CData",
      "CData",
      "SData",
      "SData",
      "IData",
      "IData",
      "QData",
      "QData",
      "VlWide<3>",
      "VlWide<79>",
    ]);
    const wide = harnessSource({ inBits: 2520, outBits: 68 });
    // 2520 = 78 * 32 + 24: the top input word keeps 24 bits; 68 = 2 * 32 + 4 for the output.
    expect(wide).toContain("top->in_data[78] = last & 0xffffffULL;");
    expect(wide).toContain("uint32_t last = top->out_data[2] & 0xfULL;");
    expect(harnessSource({ inBits: 40, outBits: 36 })).toContain("static_cast<QData>(v & 0xffffffffffULL)");
  });
});
