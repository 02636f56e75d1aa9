import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DesignReportError, readDesignReport, writeDesignReport } from "../../src/rtl/report.js";
import { denseFixture, u10 } from "../support/rtl-fixtures.js";

const fixture = denseFixture({ inputs: 252, units: 1, input: u10 });
const report = { ...fixture.report, model: { name: "m", sha256: "ab".repeat(32) } };

function written(edit?: (j: any) => void): string {
  const dir = mkdtempSync(join(tmpdir(), "distill-report-"));
  writeDesignReport(dir, report);
  if (edit) {
    const j = JSON.parse(readFileSync(join(dir, "report.json"), "utf8"));
    edit(j);
    writeFileSync(join(dir, "report.json"), JSON.stringify(j));
  }
  return dir;
}

describe("report.json", () => {
  it("round-trips, with types written as ap_fixed strings", () => {
    const dir = written();
    expect(JSON.parse(readFileSync(join(dir, "report.json"), "utf8")).input.type).toBe("ap_ufixed<10,10>");
    expect(readDesignReport(dir)).toEqual(report);
  });

  const cases: [string, (j: any) => void, RegExp][] = [
    [
      "a wrong format",
      (j) => (j.format = "distill-ir"),
      /format: found "distill-ir", expected .*distill-rtl/,
    ],
    ["a missing latency", (j) => delete j.latency_cycles, /latency_cycles: found nothing, expected/],
    [
      "an unknown family",
      (j) => (j.target.family = "xcu"),
      /target\.family: found "xcu", expected .*xc7.*xcup/,
    ],
    [
      "a width that contradicts the type",
      (j) => (j.input.width = 12),
      /input\.width: found 12, expected 10, the width of ap_ufixed<10,10>/,
    ],
    [
      "an element count that contradicts the shape",
      (j) => (j.output.elements = 2),
      /output\.elements: found 2, expected 1, the product of shape \[1\]/,
    ],
    [
      "a bad fixed-point type",
      (j) => (j.output.type = "ap_fixed<0,1>"),
      /output\.type: found "ap_fixed<0,1>"/,
    ],
    [
      "a path as a file name",
      (j) => (j.files.verilog = ["../x.v"]),
      /files\.verilog\[0\]: found "\.\.\/x\.v"/,
    ],
  ];
  for (const [what, edit, message] of cases) {
    it(`rejects ${what} naming the file and field`, () => {
      const dir = written(edit);
      expect(() => readDesignReport(dir)).toThrow(DesignReportError);
      expect(() => readDesignReport(dir)).toThrow(message);
      expect(() => readDesignReport(dir)).toThrow(`${join(dir, "report.json")}: `);
    });
  }

  it("says when a directory has no report.json", () => {
    const dir = mkdtempSync(join(tmpdir(), "distill-report-"));
    expect(() => readDesignReport(dir)).toThrow(
      /report\.json: \(root\): found "ENOENT", expected a readable report\.json/,
    );
  });
});
