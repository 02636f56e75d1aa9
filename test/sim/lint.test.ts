import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lintVerilog, VerilatorError } from "../../src/sim/verilator.js";
import { denseFixture, s8, u10 } from "../support/rtl-fixtures.js";

const dir = mkdtempSync(join(tmpdir(), "distill-lint-"));
function file(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

describe("lintVerilog (verilator --lint-only -Wall)", () => {
  it("finds nothing in clean designs", async () => {
    for (const [name, f] of [
      ["dense_fx", denseFixture({ inputs: 5, units: 3, input: s8 })],
      ["wide_fx", denseFixture({ inputs: 40, units: 3, input: u10, top: "wide_fx" })],
    ] as const) {
      expect(await lintVerilog([file(`${name}.v`, f.verilog)])).toEqual([]);
    }
  });

  it("reports each warning with its code, file, line and message", async () => {
    const sloppy = file(
      "sloppy.v",
      [
        "module sloppy (input wire clk, input wire [7:0] a, output reg [3:0] y);",
        "  always @(posedge clk) y <= a;",
        "endmodule",
        "",
      ].join("\n"),
    );
    const warnings = await lintVerilog([sloppy]);
    expect(warnings.map((w) => w.code)).toContain("WIDTH");
    const width = warnings.find((w) => w.code === "WIDTH")!;
    expect(width).toMatchObject({ file: sloppy, line: 2 });
    expect(width.message).toMatch(/8 bits/);
  });

  it("throws on a syntax error", async () => {
    await expect(lintVerilog([file("bad.v", "module bad(;\nendmodule\n")])).rejects.toThrow(VerilatorError);
  });
});
