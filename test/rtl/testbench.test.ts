import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readDesignReport } from "../../src/rtl/report.js";
import { recordsToHex, writeTestbench } from "../../src/rtl/testbench.js";
import { runTestbench } from "../../src/sim/verilator.js";
import { denseFixture, s8, writeFixture } from "../support/rtl-fixtures.js";

/** Writes the testbench beside a fixture design and runs it with Verilator's timing scheduler. */
async function runFor(bug: boolean, reportLatencyOffset = 0): Promise<string> {
  const f = denseFixture({ inputs: 5, units: 3, input: s8, bug, reportLatencyOffset });
  const dir = writeFixture(mkdtempSync(join(tmpdir(), "distill-tb-")), f);
  const files = writeTestbench(dir, readDesignReport(dir), f.model, 300, 5);
  expect(files).toEqual({
    testbench: "tb_dense_fx.v",
    vectors: ["tb_dense_fx_in.hex", "tb_dense_fx_out.hex"],
  });
  expect(readFileSync(join(dir, files.vectors[0]), "utf8").split("\n").slice(0, 3)).toEqual([
    "8080808080",
    "0000000000",
    "7f7f7f7f7f",
  ]);
  const { stdout } = await runTestbench(
    [join(dir, files.testbench), join(dir, "dense_fx.v")],
    "tb_dense_fx",
    dir,
  );
  return stdout;
}

describe("self-checking testbench", () => {
  it("writes one hex word per event, most significant digit first", () => {
    // Two 10-bit records: 0x3ff and 0x001, little-endian in 2 bytes each.
    expect(recordsToHex(Uint8Array.from([0xff, 0x03, 0x01, 0x00]), 2, 10)).toBe("3ff\n001\n");
  });

  it("prints PASS on a correct design", async () => {
    const out = await runFor(false);
    expect(out).toMatch(/^PASS 300 events$/m);
    expect(out).not.toMatch(/MISMATCH|FAIL/);
  });

  it("prints the mismatches and FAIL on a broken design", async () => {
    const out = await runFor(true);
    // Vector 2 is all-maximum: the bug adds 1 to output 0 (the least significant 10 hex digits' end).
    expect(out).toMatch(/^MISMATCH event 2: input 7f7f7f7f7f expected [0-9a-f]+ got [0-9a-f]+$/m);
    expect(out).toMatch(/^FAIL \d+ of 300 events differ$/m);
    expect(out).not.toMatch(/PASS/);
  });

  it("fails on a latency other than the report's", async () => {
    expect(await runFor(false, 1)).toMatch(
      /^FAIL latency: first output 4 cycles after its input, expected 5$/m,
    );
  });
});
