/**
 * Co-simulation throughput and Verilator build time on a design of realistic width: 252
 * 10-bit inputs (a 2,520-bit bus) into a 252-16 dense layer, as registered products and a
 * registered adder tree per unit (about 8,000 registers, latency 9). The design is the test
 * fixture that stands in for `emit-rtl` output on this branch; scripts/bench/rtl.ts measures
 * emitted models with the same functions. Prints JSON lines:
 * - verilator_build_s: a build into an empty cache;
 * - cosim_events_per_s: cosimModel end to end (random events, IR evaluator, packing, simulation, compare);
 * - cosim_sim_events_per_s: the simulator alone on pre-packed input records.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { ufixed } from "../../src/fixed/index.js";
import { cosimModel, modelVectors } from "../../src/sim/cosim.js";
import { buildSimulator } from "../../src/sim/verilator.js";
import { denseFixture, writeFixture } from "../../test/support/rtl-fixtures.js";

const work = mkdtempSync(join(tmpdir(), "distill-bench-cosim-"));
try {
  const fixture = denseFixture({ inputs: 252, units: 16, input: ufixed(10, 10), top: "bench_252x16" });
  const dir = writeFixture(join(work, "design"), fixture);
  const cacheRoot = join(work, "cache");
  const context = {
    model: "dense-252x16-fixture",
    in_bits: 2520,
    out_bits: fixture.report.output.elements * fixture.report.output.width,
    latency_cycles: fixture.report.latency_cycles,
    machine: cpus()[0]?.model ?? "unknown",
    node: process.version,
  };
  const line = (metric: string, value: number, unit: string, extra: object = {}) =>
    console.log(JSON.stringify({ bench: "rtl", metric, value, unit, ...extra, ...context }));

  const build = await buildSimulator({
    files: [join(dir, "bench_252x16.v")],
    top: "bench_252x16",
    inBits: 2520,
    outBits: context.out_bits,
    cacheRoot,
  });
  line("verilator_build_s", Number(build.seconds.toFixed(1)), "s");

  const events = 300_000;
  const runs: number[] = [];
  for (let k = 0; k < 3; k++) {
    const r = await cosimModel(dir, { randomEvents: events, seed: k + 1, cacheRoot });
    if (!r.ok) throw new Error(`bench design failed co-simulation: ${r.problems.join("; ")}`);
    runs.push(r.eventsPerSecond);
  }
  runs.sort((a, b) => a - b);
  line("cosim_events_per_s", Math.round(runs[1]), "events/s", { events, runs: 3 });

  const vectors = modelVectors(fixture.model, fixture.report, 100_000);
  const input = join(work, "in.bin");
  writeFileSync(input, vectors.inputs);
  const t0 = performance.now();
  execFileSync(build.binary, ["--input", input], { stdio: ["ignore", "ignore", "pipe"], maxBuffer: 1 << 20 });
  line("cosim_sim_events_per_s", Math.round(vectors.count / ((performance.now() - t0) / 1000)), "events/s", {
    events: vectors.count,
  });
} finally {
  rmSync(work, { recursive: true, force: true });
}
