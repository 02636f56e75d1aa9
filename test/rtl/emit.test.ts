import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadTarget } from "../../src/config/target.js";
import { readModel } from "../../src/ir/index.js";
import { generateRtl, writeRtl } from "../../src/rtl/emit.js";
import { runTestbench } from "../../src/sim/verilator.js";
import { synthesizeDesign } from "../../src/synth/run.js";

const target = loadTarget("virtex7-2");

describe("an emitted design outside Verilator's harness", () => {
  const dir = mkdtempSync(join(tmpdir(), "distill-emit-"));
  const design = generateRtl(readModel("data/models/v1-tiny.ir.json"), { target });
  const report = writeRtl(dir, design, { target }, 300);

  it("passes its own self-checking testbench", async () => {
    const files = [...report.files.verilog, report.files.testbench!].map((f) => join(dir, f));
    const { stdout } = await runTestbench(files, `tb_${report.top}`, dir);
    expect(stdout).toMatch(/PASS 300 events/);
  }, 120_000);

  it("synthesises with Yosys for Virtex-7 into LUTs and carry chains, no DSPs", async () => {
    const { result, note } = await synthesizeDesign(dir, "auto");
    expect(note).toMatch(/vivado is not on PATH/);
    expect(result.dsps).toBe(0);
    expect(result.carry).toBeGreaterThan(0);
    expect(result.luts).toBeGreaterThan(0);
    // Flip-flops: the report counts data and valid registers the synthesis keeps or trims.
    expect(result.ffs).toBeLessThanOrEqual(report.stats.registers);
  }, 120_000);

  it("reports the schedule's latency and counts", () => {
    expect(report.latency_cycles).toBe(design.schedule.latency);
    expect(report.latency_ns).toBeCloseTo(design.schedule.latency * 6.25, 6);
    expect(report.stats.adders).toBeGreaterThan(0);
  });
});
