/**
 * The RTL generator on CICADA-shaped students (scripts/bench/lib/models.ts): emission time,
 * latency, adders and registers from the emitter; LUT/FF/CARRY/DSP from Yosys synth_xilinx
 * (xc7); Verilator build time and co-simulation throughput against the model IR evaluator.
 * Prints one JSON line per figure. `--quick` skips Yosys (minutes per design in WebAssembly).
 */
import { mkdtempSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { loadTarget } from "../../src/config/target.js";
import { generateRtl, writeRtl } from "../../src/rtl/emit.js";
import { cosimModel } from "../../src/sim/cosim.js";
import { synthesizeDesign } from "../../src/synth/run.js";
import { benchModels } from "./lib/models.js";

const quick = process.argv.includes("--quick");
const only = process.argv.find((a) => a.startsWith("--model="))?.slice(8);
const target = loadTarget("virtex7-2");
const machine = cpus()[0]?.model ?? "unknown";
const cache = mkdtempSync(join(tmpdir(), "distill-bench-cache-"));

for (const { name, model } of benchModels()) {
  if (only && name !== only) continue;
  const context = { model: name, target: target.name, machine, node: process.version };
  const line = (metric: string, value: number, unit: string, extra: object = {}) =>
    console.log(JSON.stringify({ bench: "rtl", metric, value, unit, ...context, ...extra }));
  const design = generateRtl(model, { target });
  const dir = mkdtempSync(join(tmpdir(), `distill-bench-${name}-`));
  const report = writeRtl(dir, design, { target }, 200);
  line("emit_s", report.emit_s ?? 0, "s");
  line("latency_cycles", report.latency_cycles, "cycles", {
    latency_ns: report.latency_ns,
    latency_bx: report.latency_bx,
  });
  line("clock_mhz", report.clock_mhz, "MHz");
  line("adders", report.stats.adders, "adders", { shared_patterns: report.shared_patterns });
  line("registers", report.stats.registers, "flip-flops");
  line("luts_estimate", report.stats.luts_estimate, "LUTs");
  const events = 300_000;
  const sim = await cosimModel(dir, { randomEvents: events, cacheRoot: cache });
  if (!sim.ok)
    throw new Error(`${name}: co-simulation failed: ${JSON.stringify(sim.mismatches[0] ?? sim.problems)}`);
  line("verilator_build_s", Number(sim.build.seconds.toFixed(2)), "s");
  line("cosim_events_per_s", Math.round(sim.eventsPerSecond), "events/s", { events, mismatches: 0 });
  if (quick) continue;
  const { result } = await synthesizeDesign(dir, "yosys");
  const synth = { tool: "yosys synth_xilinx -family xc7", synth_s: Number(result.seconds.toFixed(1)) };
  line("luts", result.luts, "LUTs", synth);
  line("ffs", result.ffs, "flip-flops", synth);
  line("carry", result.carry, "CARRY4", synth);
  line("dsps", result.dsps, "DSP48E1", synth);
}
