import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

// The CLI runs from source through tsx so that tests never see a stale build.
const cli = (...args: string[]) =>
  spawnSync("node", ["--import", "tsx", "src/cli/main.ts", ...args], { encoding: "utf8" });

function broken(edit: (m: Record<string, unknown> & { layers: Record<string, unknown>[] }) => void): string {
  const m = JSON.parse(readFileSync("data/models/v1-tiny.ir.json", "utf8"));
  edit(m);
  const file = join(mkdtempSync(join(tmpdir(), "distill-")), "broken.ir.json");
  writeFileSync(file, JSON.stringify(m));
  return file;
}

describe("distill inspect", () => {
  it("prints the layer table of both examples", () => {
    const out = execFileSync(
      "node",
      ["--import", "tsx", "src/cli/main.ts", "inspect", "data/models/conv-tiny.ir.json"],
      {
        encoding: "utf8",
      },
    );
    expect(out).toMatch(/conv\s+conv2d\s+\[2,2,2\]\s+ap_fixed<11,9>/);
    expect(out).toMatch(/12 parameters, 10 non-zero/);
    expect(cli("inspect", "data/models/v1-tiny.ir.json").stdout).toMatch(/dense2\s+dense\s+\[1\]/);
  });

  const cases: [string, (m: any) => void, RegExp][] = [
    [
      "a missing field",
      (m) => delete m.layers[0].units,
      /layers\[0\]\.units: found nothing, expected a value of type number/,
    ],
    [
      "a wrong weight shape",
      (m) => (m.layers[0].weights.shape = [3, 2]),
      /layers\[0\]\.weights\.shape: found \[3,2\], expected \[4, 2\]/,
    ],
    [
      "a non-integer weight",
      (m) => (m.layers[0].weights.values[5] = 2.5),
      /layers\[0\]\.weights\.values\[5\]: found 2\.5, expected an integer mantissa/,
    ],
    [
      "an unknown rounding mode",
      (m) => (m.layers[1].output = "ap_ufixed<10,6,AP_ROUND,AP_SAT>"),
      /layers\[1\]\.output: found "ap_ufixed<10,6,AP_ROUND,AP_SAT>", expected .*unknown rounding mode "AP_ROUND"/,
    ],
    [
      "a weight outside its type",
      (m) => (m.layers[0].weights.values[0] = 300),
      /layers\[0\]\.weights\.values\[0\]: found 300, expected a mantissa in -128\.\.127/,
    ],
    [
      "an unknown op",
      (m) => (m.layers[1].op = "gelu"),
      /layers\[1\]\.op: found "gelu", expected an op among dense/,
    ],
    [
      "a dense layer on an image",
      (m) => (m.input.shape = [2, 2, 1]),
      /layers\[0\]\.op: found "dense", expected an input of rank 1 for dense.*add a flatten layer/,
    ],
  ];
  for (const [what, edit, message] of cases) {
    it(`rejects ${what} with the file, JSON path, value and expectation`, () => {
      const file = broken(edit);
      const r = cli("inspect", file);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`distill: ${file}: `);
      expect(r.stderr).toMatch(message);
    });
  }

  it("rejects invalid JSON with its line", () => {
    const file = join(mkdtempSync(join(tmpdir(), "distill-")), "bad.ir.json");
    writeFileSync(file, '{\n  "format": "distill-ir",\n  "version": 1,,\n}');
    const r = cli("inspect", file);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/invalid JSON at line 3/);
  });

  it("lists only working commands and prints its version", () => {
    const help = cli("--help").stdout;
    expect(help).toMatch(/distill inspect <model>/);
    expect(cli("--version").stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
