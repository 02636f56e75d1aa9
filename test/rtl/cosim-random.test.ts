import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadTarget } from "../../src/config/target.js";
import { generateRtl } from "../../src/rtl/emit.js";
import { cosimulate } from "../../src/sim/cosim.js";
import { lintVerilog } from "../../src/sim/verilator.js";
import { writeBundle } from "../support/bundle.js";
import { randomModel } from "../support/random-model.js";

const target = loadTarget("virtex7-2");
const MODELS = 120;
const GROUPS = 4;

// 120 random models (every op, rounding and overflow mode, signed and unsigned inputs, conv
// and dense, zero and extreme weights) emitted to Verilog and run in Verilator against the
// model IR evaluator, 300 events each over the full input range. Bit-exact or it fails.
describe("random models in Verilator", () => {
  const per = MODELS / GROUPS;
  for (let g = 0; g < GROUPS; g++) {
    it(`group ${g + 1}/${GROUPS}: ${per} designs lint clean and match the evaluator on every bit`, async () => {
      const designs = Array.from({ length: per }, (_, i) => {
        const seed = 1000 + g * per + i;
        return generateRtl(randomModel(seed), { target, top: `m${seed}` });
      });
      const dir = mkdtempSync(join(tmpdir(), `distill-bundle${g}-`));
      const bundle = writeBundle(dir, designs, 300, 77 + g);
      const warnings = await lintVerilog(
        bundle.report.files.verilog.map((f) => join(dir, f)),
        "bundle_top",
      );
      expect(warnings.map((w) => `${w.code} ${w.file}:${w.line} ${w.message}`)).toEqual([]);
      const r = await cosimulate(dir, [bundle.block], { bubbles: g === 0 ? 200 : 0 });
      expect(r.problems).toEqual([]);
      expect(r.mismatches).toEqual([]);
      expect(r.events).toBe(300);
    }, 300_000);
  }
});
