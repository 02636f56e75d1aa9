import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { countXilinxCells } from "../../src/synth/counts.js";
import { synthYosys } from "../../src/synth/yosys.js";
import { denseFixture, u10 } from "../support/rtl-fixtures.js";

const dir = mkdtempSync(join(tmpdir(), "distill-yosys-"));
const f = denseFixture({ inputs: 6, units: 2, input: u10 });
const file = join(dir, "dense_fx.v");
writeFileSync(file, f.verilog);

describe("Yosys synth_xilinx", () => {
  it("counts primitives by kind", () => {
    expect(
      countXilinxCells({
        LUT1: 1,
        LUT6: 2,
        INV: 1,
        SRL16E: 3,
        FDRE: 4,
        FDSE: 1,
        CARRY4: 5,
        DSP48E1: 6,
        BUFG: 1,
      }),
    ).toEqual({ luts: 7, ffs: 5, carry: 5, dsps: 6, srls: 3 });
  });

  for (const [family, dsp] of [
    ["xc7", "DSP48E1"],
    ["xcup", "DSP48E2"],
  ] as const) {
    it(`synthesises a small pipelined design for ${family}`, async () => {
      const r = await synthYosys({ files: [file], top: "dense_fx", family });
      expect(r.tool).toBe("yosys");
      expect(r.luts).toBeGreaterThan(0);
      // At least the output registers and the valid pipeline.
      expect(r.ffs).toBeGreaterThanOrEqual(2 * f.report.output.width + f.report.latency_cycles);
      expect(r.carry).toBeGreaterThan(0);
      expect(r.cells.CARRY4).toBe(r.carry);
      // The fixture multiplies by constants, which Yosys maps to the family's DSP slice.
      expect(r.cells[dsp]).toBe(r.dsps);
      expect(r.dsps).toBeGreaterThan(0);
      // Out of context: no I/O or clock buffers.
      expect(r.cells.IBUF).toBeUndefined();
      expect(r.cells.BUFG).toBeUndefined();
    });
  }
});
