import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { describe, expect, it } from "vitest";
import { denseFixture, s8, writeFixture } from "../support/rtl-fixtures.js";
import { testCacheBase } from "../support/verilator-cache.js";

const root = mkdtempSync(join(tmpdir(), "distill-cli-rtl-"));
// The Verilator cache the test files share; PATH without any vivado, so that `synth` takes
// its Yosys path on every machine.
const env = {
  ...process.env,
  DISTILL_CACHE: testCacheBase,
  PATH: (process.env.PATH ?? "")
    .split(delimiter)
    .filter((d) => !existsSync(join(d, "vivado")))
    .join(delimiter),
};
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { encoding: "utf8", env });

describe("distill cosim", () => {
  it("prints a one-line summary and exits 0 when the design matches its model", () => {
    const dir = writeFixture(join(root, "good"), denseFixture({ inputs: 5, units: 3, input: s8 }));
    const r = cli("cosim", dir, "--events", "5000", "--bubbles");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(
      /^OK: 5000 events, 0 mismatches, \d+ events\/s, latency 4 cycles \(report\.json 4\), build [\d.]+ s( \(cached\))?$/m,
    );
  });

  it("prints each mismatch and exits 1", () => {
    const dir = writeFixture(join(root, "bug"), denseFixture({ inputs: 5, units: 3, input: s8, bug: true }));
    const r = cli("cosim", dir, "--events", "5000", "--max-mismatches", "2");
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^mismatch at event 2: inputs \[127, 127, 127, 127, 127\]$/m);
    expect(r.stdout.match(/^mismatch at event/gm)).toHaveLength(2);
    expect(r.stdout).toMatch(/^FAIL: \d+ events \(stopped early\), 2 mismatches/m);
  });

  it("names the file and field of a broken report.json", () => {
    const r = cli("cosim", root);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `distill: ${join(root, "report.json")}: (root): found "ENOENT", expected a readable report.json (is this an emitted design directory?)\n`,
    );
  });
});

describe("distill synth", () => {
  it("says Vivado is not on PATH and prints Yosys' LUT, FF, CARRY and DSP counts", () => {
    const dir = writeFixture(join(root, "synth"), denseFixture({ inputs: 3, units: 1, input: s8 }));
    const r = cli("synth", dir);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^vivado is not on PATH; Yosys synth_xilinx estimate/m);
    expect(r.stdout).toMatch(
      /^yosys xc7: LUT [1-9]\d* \(SRL \d+\), FF [1-9]\d*, CARRY [1-9]\d*, DSP \d+ \([\d.]+ s\)$/m,
    );
  });
});
