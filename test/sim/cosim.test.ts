import { existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { minMantissa } from "../../src/fixed/index.js";
import { type CosimBlock, cosimModel, cosimulate, randomInputChunks } from "../../src/sim/cosim.js";
import { packRecords } from "../../src/sim/records.js";
import { buildSimulator, VerilatorError } from "../../src/sim/verilator.js";
import { denseFixture, s8, u10, writeFixture } from "../support/rtl-fixtures.js";
import { testCacheRoot } from "../support/verilator-cache.js";

const root = mkdtempSync(join(tmpdir(), "distill-cosim-"));
const small = denseFixture({ inputs: 5, units: 3, input: s8 });
const smallDir = join(root, "small");
const cacheRoot = testCacheRoot;

beforeAll(() => {
  writeFixture(smallDir, small);
});

describe("cosimModel", () => {
  it("finds no mismatch on a correct design, with the reported latency", async () => {
    const r = await cosimModel(smallDir, { randomEvents: 3000, cacheRoot });
    expect(r.mismatches).toEqual([]);
    expect(r.problems).toEqual([]);
    expect(r.events).toBe(3000);
    expect(r.latency).toEqual({ expected: 4, min: 4, max: 4 });
    expect(r.ok).toBe(true);
  });

  it("reports the first differing events with index, inputs, expected and actual, then stops", async () => {
    const dir = writeFixture(join(root, "bug"), denseFixture({ inputs: 5, units: 3, input: s8, bug: true }));
    const r = await cosimModel(dir, { randomEvents: 5000, maxMismatches: 3, cacheRoot });
    expect(r.ok).toBe(false);
    expect(r.stoppedEarly).toBe(true);
    expect(r.mismatches).toHaveLength(3);
    // Events 0, 1, 2 are all-minimum, all-zero and all-maximum; the bug fires on a maximal element 0.
    const [first, ...rest] = r.mismatches;
    expect(first.index).toBe(2);
    expect(first.inputs).toEqual([127n, 127n, 127n, 127n, 127n]);
    expect(first.actual[0] - first.expected[0]).toBe(1n);
    expect(first.actual.slice(1)).toEqual(first.expected.slice(1));
    for (const m of rest) {
      expect(m.index).toBeGreaterThan(2);
      expect(m.inputs[0]).toBe(127n);
    }
    expect(r.events).toBeLessThan(5000);
  });

  it("catches a report.json whose latency is wrong", async () => {
    const dir = writeFixture(
      join(root, "late"),
      denseFixture({ inputs: 5, units: 3, input: s8, reportLatencyOffset: 1 }),
    );
    const r = await cosimModel(dir, { randomEvents: 100, cacheRoot });
    expect(r.mismatches).toEqual([]);
    expect(r.problems).toEqual(["latency is 4 cycles, report.json says 5"]);
    expect(r.ok).toBe(false);
  });

  it("keeps results with random bubbles, and bubbles expose a broken valid path", async () => {
    const good = await cosimModel(smallDir, { randomEvents: 2000, bubbles: 400, seed: 3, cacheRoot });
    expect(good.ok).toBe(true);
    expect(good.latency).toEqual({ expected: 4, min: 4, max: 4 });
    // P(idle cycle) = 0.4 per draw: about 2000 * 0.4 / 0.6 idle cycles, beside reset and flush.
    expect(good.cycles).toBeGreaterThan(2000 + 1000);
    const dir = writeFixture(
      join(root, "sticky"),
      denseFixture({ inputs: 5, units: 3, input: s8, stickyValid: true }),
    );
    expect((await cosimModel(dir, { randomEvents: 500, cacheRoot })).ok).toBe(true);
    const bad = await cosimModel(dir, { randomEvents: 500, bubbles: 400, cacheRoot });
    expect(bad.ok).toBe(false);
  });

  it("runs given events from an async iterable", async () => {
    async function* events() {
      for (let i = 0; i < 1000; i++)
        yield Int8Array.from({ length: 5 }, (_, k) => ((i * 7 + k * 31) % 256) - 128);
    }
    const r = await cosimModel(smallDir, { inputs: events(), blockEvents: 300, cacheRoot });
    expect(r.ok).toBe(true);
    expect(r.events).toBe(1000);
  });

  it("stops the simulator and rethrows when an event is outside the input type", async () => {
    function* events() {
      for (let i = 0; i < 10_000; i++) yield [1, 2, 3, 4, i === 9000 ? 128 : 5];
    }
    await expect(cosimModel(smallDir, { inputs: events(), blockEvents: 1000, cacheRoot })).rejects.toThrow(
      /found 128, expected an integer mantissa in -128\.\.127/,
    );
  });

  it("rejects a model that does not match the design's buses", async () => {
    const other = denseFixture({ inputs: 4, units: 3, input: s8 }).model;
    await expect(cosimModel(smallDir, { model: other, cacheRoot })).rejects.toThrow(
      /report\.json: input is 5 x ap_fixed<8,8>, model dense_fx-model takes 4 x ap_fixed<8,8>/,
    );
  });
});

describe("cosimulate on a wide bus", () => {
  // 252 x 10-bit unsigned inputs (a 2,520-bit bus) and 4 outputs of 17 bits (a 68-bit bus).
  const wide = denseFixture({ inputs: 252, units: 4, input: u10, top: "wide_fx", seed: 11 });
  const dir = join(root, "wide");
  beforeAll(() => {
    writeFixture(dir, wide);
  });

  it("matches expected outputs computed independently of the IR evaluator", async () => {
    expect(wide.report.input.width * 252).toBe(2520);
    expect(wide.report.output.width * 4).toBeGreaterThan(64);
    const n = 2000;
    const inputs = new Float64Array(n * 252);
    for (let i = 0; i < inputs.length; i++) inputs[i] = (i * 2654435761) % 1024;
    inputs.fill(1023, 252, 504);
    const outputs = new Float64Array(n * 4);
    for (let e = 0; e < n; e++)
      for (let u = 0; u < 4; u++) {
        let s = 0;
        for (let i = 0; i < 252; i++) s += inputs[e * 252 + i] * wide.weights[i * 4 + u];
        outputs[e * 4 + u] = s;
      }
    const blocks: CosimBlock[] = [0, 700, 1400].map((first) => {
      const count = Math.min(700, n - first);
      return {
        count,
        inputs: packRecords(inputs.subarray(first * 252, (first + count) * 252), count, wide.report.input),
        expected: packRecords(outputs.subarray(first * 4, (first + count) * 4), count, wide.report.output),
      };
    });
    const r = await cosimulate(dir, blocks, { cacheRoot });
    expect(r.mismatches).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.events).toBe(n);
  });

  it("agrees with the model IR evaluator on random events spanning the input range", async () => {
    const r = await cosimModel(dir, { randomEvents: 3000, cacheRoot });
    expect(r.mismatches).toEqual([]);
    expect(r.ok).toBe(true);
  });
});

describe("random events", () => {
  it("start with the minimum, zero and maximum events and stay in range", () => {
    const [chunk] = randomInputChunks(s8, 5, 1000, 1, 1000);
    const v = chunk.values as Float64Array;
    expect([...v.subarray(0, 15)]).toEqual([
      ...Array(5).fill(-128),
      ...Array(5).fill(0),
      ...Array(5).fill(127),
    ]);
    expect(Math.min(...v)).toBe(-128);
    expect(Math.max(...v)).toBe(127);
    expect(new Set(v).size).toBe(256);
  });

  it("cover types wider than a double with BigInt", () => {
    const t = { ...s8, width: 70, int: 70 };
    const chunks = [...randomInputChunks(t, 3, 50, 2, 20)];
    expect(chunks.map((c) => c.count)).toEqual([20, 20, 10]);
    const all = chunks.flatMap((c) => [...(c.values as bigint[])]);
    expect(all.slice(0, 3)).toEqual([minMantissa(t), minMantissa(t), minMantissa(t)]);
    expect(all.every((x) => x >= minMantissa(t) && x < 2n ** 69n)).toBe(true);
    expect(all.some((x) => x > 2n ** 60n || x < -(2n ** 60n))).toBe(true);
  });
});

describe("Verilator builds", () => {
  it("are cached by content: the second build is a hit and leaves no temporary directory", async () => {
    const cache = mkdtempSync(join(tmpdir(), "distill-vcache-"));
    const o = {
      files: [join(smallDir, "dense_fx.v")],
      top: "dense_fx",
      inBits: 40,
      outBits: 36,
      cacheRoot: cache,
    };
    const first = await buildSimulator(o);
    const second = await buildSimulator(o);
    expect(first.cached).toBe(false);
    expect(second.cached).toBe(true);
    expect(second.binary).toBe(first.binary);
    expect(second.seconds).toBeLessThan(first.seconds / 4);
    expect(readdirSync(cache)).toEqual([first.hash]);
  });

  it("fail with Verilator's message and leave no cache entry", async () => {
    const cache = mkdtempSync(join(tmpdir(), "distill-vcache-"));
    const file = join(root, "broken.v");
    writeFileSync(file, "module broken(input wire clk);\n  assign nothing = clk\nendmodule\n");
    const build = buildSimulator({ files: [file], top: "broken", inBits: 1, outBits: 1, cacheRoot: cache });
    await expect(build).rejects.toThrow(VerilatorError);
    await expect(build).rejects.toThrow(/broken\.v:3/);
    expect(existsSync(cache) ? readdirSync(cache) : []).toEqual([]);
  });
});
