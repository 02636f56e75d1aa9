import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readEvents } from "../../src/data/index.js";

// The CLI runs from source through tsx so that tests never see a stale build.
const cli = (...args: string[]) =>
  spawnSync("node", ["--import", "tsx", "src/cli/main.ts", ...args], { encoding: "utf8" });

describe("distill data", () => {
  const dir = mkdtempSync(join(tmpdir(), "distill-cli-"));

  it("generates, inspects and converts labelled events", async () => {
    const h5 = join(dir, "g.h5");
    const gen = cli(
      "data",
      "generate",
      "-o",
      h5,
      "--samples",
      "background,monojet",
      "-n",
      "300",
      "--seed",
      "5",
    );
    expect(gen.status).toBe(0);
    expect(gen.stdout).toMatch(/g\.h5: 600 events \(background, monojet; seed 5\)/);
    const info = cli("data", "inspect", h5);
    expect(info.status).toBe(0);
    expect(info.stdout).toMatch(/HDF5 dataset "CaloRegions" \(600, 18, 14\) <H/);
    expect(info.stdout).toMatch(/events\s+600 of 18 x 14 regions/);
    expect(info.stdout).toMatch(/occupancy\s+\d+\.\d+ % of regions non-zero/);
    expect(info.stdout).toMatch(/0\s+background\s+300\n4\s+monojet\s+300/);
    const npy = join(dir, "g.npy");
    const conv = cli("data", "convert", h5, npy);
    expect(conv.stdout).toMatch(/-> .*g\.npy: 600 events/);
    expect((await readEvents(npy)).et).toEqual((await readEvents(h5)).et);
  });

  it("reports bad input in one line with exit code 1, and clips with --saturate", () => {
    const file = join(dir, "events.npy");
    const header = "{'descr': '<u2', 'fortran_order': False, 'shape': (1, 252), }";
    const padded = `${header + " ".repeat(63 - ((10 + header.length) % 64))}\n`;
    const pre = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, padded.length, 0]);
    const data = new Uint16Array(252);
    data[3 * 14 + 7] = 1100;
    writeFileSync(file, Buffer.concat([pre, Buffer.from(padded), Buffer.from(data.buffer)]));
    const r = cli("data", "inspect", file);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(
      `distill: ${file}: event 0, region (phi 3, eta 7): found 1100, expected 0..1023 (use --saturate to clip)`,
    );
    const ok = cli("data", "convert", "--saturate", file, join(dir, "clipped.h5"));
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/1 events; 1 values above 1023 clipped to 1023/);
    const missing = cli("data", "inspect", "data/samples/h5py-gzip.h5", "--dataset", "Regions");
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/found no dataset "Regions", expected .*"CaloRegions", "Labels", "nPV"/);
  });

  it("rejects an unknown sample", () => {
    const r = cli("data", "generate", "-o", join(dir, "x.h5"), "--samples", "zprime");
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown sample "zprime"/);
  });
});
