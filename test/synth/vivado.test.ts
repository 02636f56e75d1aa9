import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { readDesignReport } from "../../src/rtl/report.js";
import { writeVivadoFiles } from "../../src/rtl/vivado.js";
import { SynthError } from "../../src/synth/counts.js";
import {
  parseVivadoTimingSummary,
  parseVivadoUtilization,
  synthVivado,
  vivadoOnPath,
} from "../../src/synth/vivado.js";
import { denseFixture, u10, writeFixture } from "../support/rtl-fixtures.js";

const fixture = (name: string) => readFileSync(new URL(`fixtures/${name}`, import.meta.url), "utf8");

describe("Vivado report parsers", () => {
  it("read used LUT, register and DSP sites and the primitive counts from report_utilization", () => {
    const { counts, cells } = parseVivadoUtilization(fixture("utilization.rpt"));
    expect(counts).toEqual({ luts: 5123, ffs: 3301, carry: 812, dsps: 2, srls: 36 });
    expect(cells.LUT6).toBe(1040);
    expect(cells.FDRE).toBe(3301);
  });

  it("read UltraScale's CLB rows and CARRY8", () => {
    const text = fixture("utilization.rpt")
      .replace("| Slice LUTs     ", "| CLB LUTs       ")
      .replace("| Slice Registers", "| CLB Registers  ")
      .replace("| CARRY4  ", "| CARRY8  ");
    expect(parseVivadoUtilization(text).counts).toMatchObject({ luts: 5123, ffs: 3301, carry: 812 });
  });

  it("read WNS, TNS and WHS from report_timing_summary", () => {
    expect(parseVivadoTimingSummary(fixture("timing_summary.rpt"))).toEqual({
      wnsNs: -0.213,
      tnsNs: -1.532,
      whsNs: 0.052,
    });
  });

  it("reject text that is not such a report", () => {
    expect(() => parseVivadoUtilization("Vivado% \nERROR: [Common 17-69] Command failed")).toThrow(
      SynthError,
    );
    expect(() => parseVivadoTimingSummary(fixture("utilization.rpt"))).toThrow(
      /no Design Timing Summary header/,
    );
  });
});

describe("the Vivado runner", () => {
  it("finds vivado on PATH, runs build.tcl in the design directory and parses its reports", async () => {
    // A stand-in vivado that checks its arguments and writes the fixture reports where build.tcl would.
    const bin = mkdtempSync(join(tmpdir(), "distill-fakevivado-"));
    const fixtures = fileURLToPath(new URL("fixtures", import.meta.url));
    writeFileSync(
      join(bin, "vivado"),
      `#!/bin/sh\n[ "$*" = "-mode batch -nojournal -nolog -source build.tcl" ] || exit 3\n[ -f build.tcl ] || exit 4\nmkdir -p reports && cp ${fixtures}/*.rpt reports/\n`,
    );
    chmodSync(join(bin, "vivado"), 0o755);
    const f = denseFixture({ inputs: 4, units: 1, input: u10 });
    const dir = writeFixture(mkdtempSync(join(tmpdir(), "distill-viv-")), f);
    const names = writeVivadoFiles(dir, readDesignReport(dir));
    expect(names).toEqual({ tcl: "build.tcl", xdc: "constraints.xdc" });
    expect(readFileSync(join(dir, "constraints.xdc"), "utf8")).toContain("create_clock -period 6.250");
    const report = { ...readDesignReport(dir), files: { ...f.report.files, ...names } };
    const path = process.env.PATH;
    try {
      process.env.PATH = `${bin}:${path}`;
      expect(vivadoOnPath()).toBe(join(bin, "vivado"));
      const r = await synthVivado(dir, report);
      expect(r).toMatchObject({ tool: "vivado", target: "xc7vx690tffg1927-2", luts: 5123, wnsNs: -0.213 });
      process.env.PATH = bin.replace(/fakevivado/, "nowhere");
      expect(vivadoOnPath()).toBeUndefined();
    } finally {
      process.env.PATH = path;
    }
  });
});
